r"""Configurations of ``late_start`` (:mod:`diffphase.validation.symmetry`): the quick and full
runs as frozen dataclasses whose fields are the configuration keys.

Examples
--------
>>> QUICK_LATE_START.budgets, QUICK_LATE_START.digits is None, FULL_LATE_START.mixture["d"]
((5, 10, 20, 50), True, 32)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LateStartConfig", "QUICK_LATE_START", "STANDARD_LATE_START", "FULL_LATE_START"]


@dataclass(frozen=True)
class LateStartConfig:
    r"""Configuration of ``late_start`` (:func:`~diffphase.validation.symmetry.run_late_start`).

    Attributes
    ----------
    mixture : dict
        The mixture leg, keyword arguments of
        :func:`~diffphase.validation.symmetry.mixture_point`: ``d``, ``lam``
        (:math:`\Lambda`), ``sigma``, ``weight`` (:math:`w`), ``n_train``, ``n_ref``,
        ``n_samples``, ``train`` (:class:`~diffphase.validation.train.TrainConfig` keywords) and
        ``plain`` (``{"starts", "stride", "n_samples"}`` of the plain-start curve).
    digits : dict or None
        The digits leg (:func:`~diffphase.validation.symmetry.digits_point`): ``train``,
        ``classifier``, ``test_fraction``, ``n_samples``, ``plain``; ``None`` skips it.
    budgets : tuple of int
        Sampler step budgets of the few-step samplers, smallest first.
    t0_factors : tuple of float
        Late start times as multiples of :math:`t_U`.
    schedule : dict
        ``{"T", "beta_min", "beta_max"}`` of the linear-:math:`\beta` DDPM schedule.
    seed : int
    """

    mixture: dict
    digits: dict | None
    budgets: tuple
    t0_factors: tuple
    schedule: dict
    seed: int


_SCHEDULE = {"T": 1000, "beta_min": 1e-4, "beta_max": 2e-2}
#: The authors' grid of start steps of the late-start FID curve (their ``fast_sampler.py``).
_PLAIN_STARTS = [50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
_T0_FACTORS = (0.25, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 2.75)
_MLP_QUICK = {"model": "mlp", "model_kwargs": {"hidden": 128, "depth": 3}, "steps": 1500, "batch_size": 256,
              "lr": 2e-3, "t_max": 6.0, "t_min": 1e-3, "checkpoint_every": 500}
_MLP_FULL = {"model": "mlp", "model_kwargs": {"hidden": 512, "depth": 4}, "steps": 40000, "batch_size": 512,
             "lr": 1e-3, "t_max": 6.0, "t_min": 1e-4, "checkpoint_every": 2000}

#: ``diffphase validate --quick``: the mixture leg only, :math:`d = 8`.
QUICK_LATE_START = LateStartConfig(
    mixture={"d": 8, "lam": 16.0, "sigma": 1.0, "weight": 0.7, "n_train": 20000, "n_ref": 2000, "n_samples": 1000,
             "train": _MLP_QUICK, "plain": {"starts": _PLAIN_STARTS, "stride": 5, "n_samples": 2000}},
    digits=None, budgets=(5, 10, 20, 50), t0_factors=_T0_FACTORS, schedule=_SCHEDULE, seed=0)

#: ``diffphase validate --full``: the mixture leg at :math:`d = 32` and the digits leg.
FULL_LATE_START = LateStartConfig(
    mixture={"d": 32, "lam": 16.0, "sigma": 1.0, "weight": 0.7, "n_train": 100000, "n_ref": 5000, "n_samples": 5000,
             "train": _MLP_FULL, "plain": {"starts": _PLAIN_STARTS, "stride": 1, "n_samples": 5000}},
    digits={"train": dict(_MLP_FULL, steps=30000, batch_size=256), "classifier": {"steps": 1500},
            "test_fraction": 0.3, "n_samples": 2000,
            "plain": {"starts": _PLAIN_STARTS, "stride": 1, "n_samples": 2000}},
    budgets=(5, 10, 20, 50, 100), t0_factors=_T0_FACTORS, schedule=_SCHEDULE, seed=0)

_MLP_STANDARD = dict(_MLP_QUICK, model_kwargs={"hidden": 256, "depth": 3}, steps=4000)

#: ``diffphase validate --standard``: the mixture leg at :math:`d = 16` and the digits leg (MLP,
#: 6000 steps), budgets 5, 10, 20, 50.
STANDARD_LATE_START = LateStartConfig(
    mixture={"d": 16, "lam": 16.0, "sigma": 1.0, "weight": 0.7, "n_train": 20000, "n_ref": 2000, "n_samples": 2000,
             "train": _MLP_STANDARD, "plain": {"starts": _PLAIN_STARTS, "stride": 5, "n_samples": 2000}},
    digits={"train": dict(_MLP_STANDARD, steps=6000), "classifier": {"steps": 600},
            "test_fraction": 0.3, "n_samples": 1000,
            "plain": {"starts": _PLAIN_STARTS, "stride": 5, "n_samples": 1000}},
    budgets=(5, 10, 20, 50), t0_factors=_T0_FACTORS, schedule=_SCHEDULE, seed=0)
