r"""The cost model of :mod:`diffphase.validation.memorization` (FLOPs, optimizer steps and
sampler calls of a configuration, for :func:`~diffphase.validation.validate.plan`).
"""

from __future__ import annotations

from ..engine.config import Cost
from ..train import denoiser_cost

__all__ = ["cost_memorization"]


def cost_memorization(config: dict) -> Cost:
    """FLOPs of :func:`run_memorization` (see :func:`~diffphase.validation.validate.plan`):
    one training per ``K`` and ``n_samples`` model samples of ``sampler["n_steps"] + 1`` score
    evaluations (the empirical-score runs and the excess entropy are not counted)."""

    parts = []
    for _ in config["K"]:
        c = denoiser_cost(config["train"], int(config["d"]))
        steps = int(config["sampler"]["n_steps"]) + 1
        parts.append(c.training + c.sampling(config["n_samples"] * steps, steps))
    return sum(parts, Cost())
