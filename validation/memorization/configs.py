r"""Configurations of ``memorization`` (:mod:`diffphase.validation.memorization`): the quick
and full runs as frozen dataclasses whose fields are the configuration keys (``run`` receives
them as a plain dict; ``configs={"memorization": {key: value}}`` of
:func:`~diffphase.validation.validate.run_validation` overrides fields by these names).

Examples
--------
>>> QUICK_MEMORIZATION.K, FULL_MEMORIZATION.sampler
((4, 10, 25, 63, 160, 400, 1000), {'t_max': 8.0, 'n_steps': 400})
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MemorizationConfig", "QUICK_MEMORIZATION", "STANDARD_MEMORIZATION", "FULL_MEMORIZATION"]


@dataclass(frozen=True)
class MemorizationConfig:
    r"""Configuration of ``memorization``
    (:func:`~diffphase.validation.memorization.run_memorization`).

    Attributes
    ----------
    d : int
        Dimension of the data :math:`\mathcal N(0,\sigma^2 I_d)`.
    sigma : float
        Its standard deviation.
    design_K : int
        The samplers stop at the large-``d`` collapse time of ``design_K`` points
        (:func:`~diffphase.validation.memorization.protocol.sampler_stop_time`), so the
        predicted crossover :math:`K_c` is ``design_K``.
    K : tuple of int
        Training-set sizes (at least 3, each ``>= 2``), one sweep item each; nested (the first
        ``K`` rows of one pool of ``max(K)`` points).
    train : dict
        :class:`~diffphase.validation.train.TrainConfig` keyword arguments of the DDPM.
    sampler : dict
        ``{"t_max", "n_steps"}``: start time (OU) and log-spaced steps down to ``t_end``.
    n_samples : int
        Generated samples per ``K`` and sampler.
    entropy_samples : int
        Monte Carlo samples of the leave-one-out excess entropy (:math:`t_C(X_K)`).
    seed : int
    """

    d: int
    sigma: float
    design_K: int
    K: tuple
    train: dict
    sampler: dict
    n_samples: int
    entropy_samples: int
    seed: int


_TRAIN_QUICK = {"model": "mlp", "model_kwargs": {"hidden": 64, "depth": 2}, "steps": 2000, "batch_size": 128,
                "lr": 2e-3, "t_min": 1e-3, "t_max": 6.0, "checkpoint_every": 1000}
_TRAIN_FULL = {"model": "mlp", "model_kwargs": {"hidden": 256, "depth": 3}, "steps": 30000, "batch_size": 512,
               "lr": 1e-3, "t_min": 1e-4, "t_max": 8.0, "checkpoint_every": 5000}

#: ``diffphase validate --quick``: seven sizes from 4 to 1000 in :math:`d = 4`.
QUICK_MEMORIZATION = MemorizationConfig(
    d=4, sigma=1.0, design_K=100, K=(4, 10, 25, 63, 160, 400, 1000), train=_TRAIN_QUICK,
    sampler={"t_max": 6.0, "n_steps": 100}, n_samples=1000, entropy_samples=500, seed=0)

#: ``diffphase validate --full``: sixteen sizes from 4 to 4000 in :math:`d = 4`.
FULL_MEMORIZATION = MemorizationConfig(
    d=4, sigma=1.0, design_K=100,
    K=(4, 6, 10, 16, 25, 40, 63, 100, 160, 250, 400, 630, 1000, 1600, 2500, 4000),
    train=_TRAIN_FULL, sampler={"t_max": 8.0, "n_steps": 400}, n_samples=5000,
    entropy_samples=2000, seed=0)

#: ``diffphase validate --standard``: seven sizes from 4 to 1000 in :math:`d = 16`, a wider MLP.
STANDARD_MEMORIZATION = MemorizationConfig(
    d=16, sigma=1.0, design_K=100, K=(4, 10, 25, 63, 160, 400, 1000),
    train=dict(_TRAIN_QUICK, model_kwargs={"hidden": 256, "depth": 3}, steps=6000),
    sampler={"t_max": 6.0, "n_steps": 200}, n_samples=2000, entropy_samples=1000, seed=0)
