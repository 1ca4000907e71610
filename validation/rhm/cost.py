"""The cost model of ``rhm_discrete`` (:mod:`diffphase.validation.rhm`) for
:func:`~diffphase.validation.validate.plan`."""

from __future__ import annotations

from ..engine.config import Cost
from .configs import merged_train
from .protocol import snapshot_steps

__all__ = ["cost_rhm_discrete"]


def cost_rhm_discrete(config: dict) -> Cost:
    """FLOPs of :func:`~diffphase.validation.rhm.run_rhm_discrete` for
    :func:`~diffphase.validation.validate.plan`: training, and the network calls of generation
    (final model and snapshots) and forward--backward (masking: one call per revealed token, at
    most ``d``; uniform: one per schedule step, at most ``T = 200``). Exact BP is not counted
    (CPU, small)."""
    from ..train import denoiser_cost

    parts = []
    n_noise = len(config["noises"])
    for r in config["runs"]:
        d = int(r["s"]) ** int(r["L"])
        train = dict(merged_train(config, r), objective=r["process"])
        train["model_kwargs"] = dict(train.get("model_kwargs", {}), vocab=int(r["v"]), s=int(r["s"]))
        c = denoiser_cost(train, d)
        calls = d if r["process"] == "masking" else 200
        n_snap = len(snapshot_steps(c.steps, config["snapshots"])) - 1
        rows = config["n_gen"] + n_snap * config["n_snap"] + n_noise * config["n_fb"]
        parts.append(c.training + c.sampling(rows * calls, (1 + n_snap + n_noise) * calls))
    return sum(parts, Cost())
