r"""The verdicts of :mod:`diffphase.validation.memorization`: the ``run`` function, which
sweeps :func:`~diffphase.validation.memorization.memorization_point` over the training-set
sizes, reads the curves (:mod:`~diffphase.validation.memorization.analysis`), judges them with
:data:`~diffphase.validation.memorization.tolerances.TOLERANCES` and draws the figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import math

import numpy as np

from .analysis import fraction_curve, summarize
from .figure import plot_memorization
from .protocol import memorization_point, sampler_stop_time
from .tolerances import SCALES, TOLERANCES

if TYPE_CHECKING:
    from ..engine.verdicts import ExperimentResult

__all__ = ["run_memorization"]


def run_memorization(config: dict, ctx) -> "ExperimentResult":
    r"""``memorization``: the sweep over ``config["K"]`` (:func:`memorization_point`, through
    :meth:`~diffphase.validation.engine.experiment.RunContext.sweep`), the crossings, the collapse
    prediction, verdicts with :data:`TOLERANCES` and the figure."""
    from ..engine.executor import spawn_seeds
    from ..engine.verdicts import ExperimentResult, Verdict

    ks = sorted(int(k) for k in config["K"])
    if len(ks) < 3 or ks[0] < 2:
        raise ValueError(f"config['K'] needs at least 3 sizes >= 2, got {config['K']}")
    t_end = sampler_stop_time(config)
    seeds = spawn_seeds(int(config["seed"]), len(ks))
    common = {k: config[k] for k in ("d", "sigma", "train", "sampler", "n_samples", "entropy_samples")}
    items = [dict(common, K=k, pool_size=ks[-1], t_end=t_end, scales=dict(SCALES), data_seed=int(config["seed"]),
                  seed=s % (2**31 - 1), device=ctx.device, cache_dir=str(ctx.cache_dir),
                  progress=ctx.progress and ctx.executor == "serial") for k, s in zip(ks, seeds)]
    points = ctx.sweep([f"K{k}" for k in ks], memorization_point, items)
    s = summarize(points, config)
    tol = TOLERANCES
    d = int(config["d"])
    f_mod, se_mod = fraction_curve(points, "model", "memorized")
    fin = s["logK_collapse_finite"]
    verdicts = [
        Verdict.check(
            "load log K/d at the 1/2-crossing of the empirical-score memorized fraction vs alpha_c(t_end)",
            s["alpha_empirical"], s["alpha_c"], tol["memorization.load"], "rel", stderr=s["alpha_empirical_se"],
            kind="claim", source="biroli.collapse",
            note=f"K_emp = {math.exp(s['logK_empirical']):.1f} vs K_c = exp(d alpha_c) = {s['K_c']:.1f} at "
                 f"t_end = {t_end:.4f}; finite-K excess entropy t_C(X_K) = t_end at K = "
                 f"{math.exp(fin) if math.isfinite(fin) else math.nan:.1f}"),
        Verdict.check(
            "empirical-score sampler vs forward reference: max |z| of the memorized fractions over K",
            float(np.max(s["sampler_z"])), None, tol["memorization.sampler"], "max", kind="reference",
            source="the empirical-score sampler (numerics.sde) against the forward reference: samples of the "
                   "exact noised empirical law at t_end, classified with the same rule",
            note=f"{config['sampler']['n_steps']} log-spaced exponential-integrator steps, {config['n_samples']} "
                 f"samples each"),
        Verdict.check(
            f"trained-model memorized fraction at the smallest K = {ks[0]}", float(f_mod[0]), None,
            tol["memorization.model_small"], "min", stderr=float(se_mod[0]), kind="claim",
            source="pham.memorization"),
        Verdict.check(
            f"trained-model memorized fraction at the largest K = {ks[-1]}", float(f_mod[-1]), None,
            tol["memorization.model_large"], "max", stderr=float(se_mod[-1]), kind="claim",
            source="pham.generalization"),
        Verdict.check(
            "ratio of the trained model's 1/2-crossing K to the empirical score's",
            math.exp(s["logK_model"] - s["logK_empirical"]), None, tol["memorization.model_vs_empirical"], "max",
            stderr=math.exp(s["logK_model"] - s["logK_empirical"])
            * math.hypot(s["logK_model_se"], s["logK_empirical_se"]), kind="exploratory",
            source="diffphase's expectation that a network of finite capacity memorizes no more than the "
                   "empirical score it approximates (not stated in the papers)",
            note=f"K_model = {math.exp(s['logK_model']):.1f}, K_emp = {math.exp(s['logK_empirical']):.1f}"),
        Verdict.check(
            "log(K_peak / K_model): spurious-fraction peak vs the model's memorization crossover",
            s["logK_peak"] - s["logK_model"], 0.0, tol["memorization.peak"], "abs",
            stderr=math.hypot(s["logK_peak_se"], s["logK_model_se"]), kind="claim", source="pham.spurious",
            note=f"K_peak = {math.exp(s['logK_peak']):.1f}; tolerance log 3"),
        Verdict.check(
            "spurious-fraction peak above its larger end value, in standard errors",
            s["peak_height"] / s["peak_height_se"] if s["peak_height_se"] > 0 else math.nan, None,
            tol["memorization.peak_height"], "min", kind="claim", source="pham.spurious",
            note=f"peak - end = {s['peak_height']:.3f} ± {s['peak_height_se']:.3f} (binomial; clusters make it "
                 f"an underestimate)"),
    ]
    fig = plot_memorization(points, s, ctx.figure_path(), config)
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts,
                            numbers={"summary": s, "points": points, "scales": dict(SCALES), "d": d},
                            figures=[fig.name])
