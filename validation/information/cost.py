"""Cost models of ``class_information`` and ``class_information_digits``
(:mod:`diffphase.validation.information`), for ``diffphase validate --plan``."""

from __future__ import annotations

from ..engine.config import Cost
from ..train import denoiser_cost

__all__ = ["cost_class_information", "cost_class_information_digits"]


def cost_class_information(config: dict) -> Cost:
    """FLOPs of :func:`~diffphase.validation.information.run_class_information` (training, the
    sampler, and the K class predictions per step of the online classifier)."""
    K = int(config["mixture"]["K"])
    c = denoiser_cost(config["train"], int(config["mixture"]["d"]), num_classes=K)
    steps = int(config["grid"]["n_steps"])
    return c.training + c.sampling(config["n_paths"] * steps * (1 + K), steps * (1 + K))


def cost_class_information_digits(config: dict) -> Cost:
    """FLOPs of :func:`~diffphase.validation.information.run_class_information_digits`
    (classifier training not counted)."""
    c = denoiser_cost(config["train"], 64, num_classes=10)
    steps = int(config["grid"]["n_steps"])
    return c.training + c.sampling(config["n_paths"] * steps * 11, steps * 11)
