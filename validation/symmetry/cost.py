r"""The cost of ``late_start`` for :func:`~diffphase.validation.validate.plan`."""

from __future__ import annotations

from ..engine.config import Cost

__all__ = ["cost_late_start"]


def cost_late_start(config: dict) -> Cost:
    """FLOPs of :func:`run_late_start` (see :func:`~diffphase.validation.validate.plan`): training,
    and one network evaluation per sample and step for every start (pure noise and each
    :math:`t_0`) and budget, the fresh runs, and the plain-start curve; the classifier and the
    exact score are not counted."""
    from ..train import denoiser_cost

    legs = [(config["mixture"], int(config["mixture"]["d"]), None)]
    if config.get("digits"):
        legs.append((config["digits"], 64, (1, 8, 8)))
    # sampler steps per sample; each step is one batched network call (n_samples <= 8192)
    steps_per_sample = (len(config["t0_factors"]) + 1) * sum(config["budgets"]) + 3 * min(config["budgets"])
    parts = []
    for leg, dim, shape in legs:
        c = denoiser_cost(leg["train"], dim, shape if leg["train"]["model"] == "unet" else None)
        plain = sum(-(-int(k) // int(leg["plain"]["stride"])) for k in leg["plain"]["starts"])
        rows = leg["n_samples"] * steps_per_sample + leg["plain"]["n_samples"] * plain
        parts.append(c.training + c.sampling(rows, steps_per_sample + plain))
    return sum(parts, Cost())
