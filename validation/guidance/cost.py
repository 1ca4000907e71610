"""Cost models of ``negative_guidance`` and ``negative_guidance_digits``
(:mod:`diffphase.validation.guidance`), for ``diffphase validate --plan``."""

from __future__ import annotations

from ..engine.config import Cost
from ..train import denoiser_cost

__all__ = ["cost_negative_guidance", "cost_negative_guidance_digits"]


def cost_negative_guidance(config: dict) -> Cost:
    """FLOPs of :func:`~diffphase.validation.guidance.run_negative_guidance` (two network calls
    per step: unconditional and unwanted-class). The training is shared with
    ``class_information`` through the cache but counted in both plans: the plan does not know
    what is cached."""
    c = denoiser_cost(config["train"], int(config["mixture"]["d"]), num_classes=int(config["mixture"]["K"]))
    steps = int(config["grid"]["n_steps"])
    runs = 1 + 2 * len(config["scales"])
    return c.training + c.sampling(runs * config["n_samples"] * steps * 2, runs * steps * 2)


def cost_negative_guidance_digits(config: dict) -> Cost:
    """FLOPs of :func:`~diffphase.validation.guidance.run_negative_guidance_digits` (training
    shared with ``class_information_digits``; classifier not counted)."""
    c = denoiser_cost(config["train"], 64, num_classes=10)
    steps = int(config["grid"]["n_steps"])
    runs = 1 + 2 * len(config["scales"])
    return c.training + c.sampling(runs * config["n_samples"] * steps * 2, runs * steps * 2)
