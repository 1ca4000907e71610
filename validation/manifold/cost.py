"""The cost model of the ``manifold`` experiment (:func:`cost_manifold`, for
:func:`~diffphase.validation.validate.plan`)."""

from __future__ import annotations

from ..engine.config import Cost
from ..train import denoiser_cost

__all__ = ["cost_manifold"]


def cost_manifold(config: dict) -> Cost:
    """FLOPs of :func:`~diffphase.validation.manifold.verdicts.run_manifold`: one training per
    size of ``sizes``; the spectra cost ``dim`` forward passes per training point and noise
    level (the exact empirical score, numpy, is not counted).

    Parameters
    ----------
    config : dict
        The experiment's configuration (``train``, ``dim``, ``sizes``, ``noise``, ``n_points``).

    Returns
    -------
    Cost
        ``len(sizes)`` trainings, and ``len(sizes) * count * n_points * dim`` forward rows in
        ``len(sizes) * count`` calls (``count`` noise levels).
    """
    c = denoiser_cost(config["train"], int(config["dim"]))
    n, d = len(config["sizes"]), int(config["dim"])
    per = int(config["noise"]["count"]) * int(config["n_points"]) * d
    return c.training * n + c.sampling(n * per, n * int(config["noise"]["count"]))
