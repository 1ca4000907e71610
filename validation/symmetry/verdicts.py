r"""The verdicts of ``late_start`` (:func:`run_late_start`), judged with :data:`TOLERANCES`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .figure import plot_late_start
from .protocol import digits_point, mixture_point
from .tolerances import TOLERANCES

if TYPE_CHECKING:
    from ..engine.verdicts import ExperimentResult

__all__ = ["run_late_start"]


def _window(p):
    t_u, t_s = p["t_U"], p["t_S"]
    return TOLERANCES["t0.window"] * (t_u - t_s), f"window [t_S, 2 t_U - t_S] = [{t_s:.3f}, {2 * t_u - t_s:.3f}]"


def _window_verdict(Verdict, what, p, c):
    tol, window = _window(p)
    return Verdict.check(
        f"best start time t0* at {c['budgets'][0]} steps, {what}, vs t_U", c["t_best"][0], p["t_U"], tol, "abs",
        stderr=c["t_best_se"][0], unit="OU time", kind="exploratory",
        source="diffphase's window [t_S, 2 t_U - t_S] around the instability time t_U (not the paper's claim: "
               "Raya & Ambrogioni start late Gaussians well below t_S)",
        note=f"{window}; Lambda = {p['Lambda']:.4g}; "
             f"t0* per budget {dict(zip(c['budgets'], np.round(c['t_best'], 3).tolist()))}")


def _improvement_verdict(Verdict, what, c, tol, *, at="late", requires=()):
    f = c["fresh"]
    where = "t0*" if at == "late" else "the knee of the plain-start curve"
    ratio = c["improvement"] if at == "late" else c["improvement_knee"]
    return Verdict.check(
        f"MMD² pure noise / MMD² Gaussian late start at {where}, {c['budgets'][0]} steps, {what}", ratio, None,
        tol, "min", kind="claim", source="raya.late_init", requires=requires,
        note=f"fresh samples: pure noise {f['noise']['mmd2']:.3g} ± {f['noise']['se']:.2g}, late start at "
             f"t0 = {f[at]['t0']:.3f}: {f[at]['mmd2']:.3g} ± {f[at]['se']:.2g} (floored at its s.e.)")


def _balance_verdict(Verdict, what, c, w, se_w, tol, *, at="late", requires=()):
    f = c["fresh"]
    where = "t0*" if at == "late" else "the knee"
    return Verdict.check(
        f"class +m fraction, Gaussian late start at {where}, {c['budgets'][0]} steps, {what}",
        f[at]["fractions"][1], w, tol, "abs", stderr=se_w, kind="claim", source="raya.late_init", requires=requires,
        note=f"mixture weight {w}; late start at t0 = {f[at]['t0']:.3f}; pure-noise start: "
             f"{f['noise']['fractions'][1]:.3f}")


def _plain_verdicts(Verdict, what, p, c, *, requires=()):
    """raya.early_irrelevant on one plain-start curve: flat above the knee, degraded below
    (claims); the knee and the onset of flatness vs t_U (exploratory)."""
    pc = c["plain"]
    a = pc["analysis"]
    tol = TOLERANCES
    t0s = pc["t0s"]
    lo, mid, hi = a["knee_boot"]
    desc = f"plain N(0, I) start, every {pc['stride']}th DDPM step, {what}"
    knee = (f"knee (max of the second derivative vs DDPM step) at step {a['knee_step']}, t = {a['t_knee']:.3f}; "
            f"bootstrap 16/50/84 %: {lo:.3f}/{mid:.3f}/{hi:.3f}, {100 * a['knee_boot_share']:.0f} % at this step; "
            f"t_S = {p['t_S']:.3f}, t_U = {p['t_U']:.3f}")
    above = (f"compared starts t0 = {', '.join(f'{t:.2f}' for t in t0s[a['knee_index'] + 1:-1])} with the latest "
             f"({t0s[-1]:.2f}, MMD² {pc['mmd2'][-1]:.3g} ± {pc['se'][-1]:.2g})")
    wtol, window = _window(p)
    return [
        Verdict.check(f"{desc}: largest excess z of MMD² above the knee over the latest start", a["flat"], None,
                      tol["flat.z"], "max", kind="claim", source="raya.early_irrelevant", requires=requires,
                      note=f"{knee}; {above}; worst at t0 = "
                           f"{t0s[a['flat_index']] if a['flat_index'] >= 0 else math.nan:.3f}"),
        Verdict.check(f"{desc}: excess z of MMD² just below the knee over the latest start", a["degrade"], None,
                      tol["degrade.z"], "min", kind="claim", source="raya.early_irrelevant", requires=requires,
                      note=f"start t0 = {a['degrade_t0']:.3f} (MMD² {pc['mmd2'][a['knee_index'] - 1]:.3g} ± "
                           f"{pc['se'][a['knee_index'] - 1]:.2g}); {knee}"),
        Verdict.check(f"knee of the plain-start curve, {what}, vs t_U", a["t_knee"], p["t_U"], wtol, "abs",
                      stderr=(hi - lo) / 2, unit="OU time", kind="exploratory",
                      source="diffphase's window [t_S, 2 t_U - t_S] around its instability time t_U (the authors "
                             "call the knee 'a rough estimate of the first bifurcation time'; t_U for this data is "
                             "the package's generalization of their theta_c)",
                      note=f"{window}; {knee}"),
        Verdict.check(f"onset of flatness of the plain-start curve, {what}, vs t_U", a["t_onset"], p["t_U"], wtol,
                      "abs", unit="OU time", kind="exploratory",
                      source="diffphase's construction: the earliest start from which every later start is within "
                             "flat.z standard errors of the latest, against the window around t_U",
                      note=window),
    ]


def _many_steps_verdict(Verdict, p):
    pc, ed = p["exact"]["plain"], p["exact_dynamics"]
    z = (np.asarray(pc["mmd2"]) - np.asarray(ed["mmd2"])) / np.hypot(pc["se"], ed["se"])
    j = int(np.argmax(np.abs(z)))
    return Verdict.check(
        f"exact score, every {pc['stride']}th DDPM step vs the exact reverse dynamics: max |z| of MMD² over the "
        f"{len(z)} plain starts", float(np.abs(z[j])), None, TOLERANCES["many_steps.z"], "max", kind="reference",
        source="the many-step sampler with the exact mixture score against exact draws of the reverse dynamics "
               "(posterior sampling, no discretization): the budget of the plain-start curves is large enough",
        note=f"largest at t0 = {pc['t0s'][j]:.3f}: sampler {pc['mmd2'][j]:.3g} ± {pc['se'][j]:.2g}, exact dynamics "
             f"{ed['mmd2'][j]:.3g} ± {ed['se'][j]:.2g}")


def run_late_start(config: dict, ctx) -> "ExperimentResult":
    r"""``late_start``: the mixture leg (:func:`mixture_point`) and, when ``config["digits"]``
    is set, the digits leg (:func:`digits_point`); verdicts with :data:`TOLERANCES`."""
    from ..engine.verdicts import ExperimentResult, Verdict

    tol = TOLERANCES
    common = {"budgets": config["budgets"], "t0_factors": config["t0_factors"], "schedule": config["schedule"],
              "seed": int(config["seed"]), "device": ctx.device, "cache_dir": str(ctx.cache_dir),
              "progress": ctx.progress}
    p = ctx.stage("mixture", mixture_point, **config["mixture"], **common)
    ex, mo = p["exact"], p["model"]
    w, n = p["weight"], p["n_samples"]
    se_w = math.sqrt(w * (1 - w) / n)
    mp = mo["plain"]
    n_plain = int(mp["n_samples"])
    se_wp = math.sqrt(w * (1 - w) / n_plain)
    bal_model = tol["balance.se"] * se_w + tol["balance.model"]
    fit, bal = ["model_fit"], ["model_fit", "model_balance"]
    verdicts = [
        _many_steps_verdict(Verdict, p),
        Verdict.check(f"trained model, plain N(0, I) start at t_T, every {mp['stride']}th DDPM step: MMD² to "
                      "held-out data", mp["mmd2"][-1], None, tol["model_fit"], "max", stderr=mp["se"][-1],
                      kind="precondition", key="model_fit",
                      source="guards the trained-model claims of late_start: a network far from the data could "
                             "show a flat curve or a large improvement for the wrong reason",
                      note=f"exact score at the same setting: {ex['plain']['mmd2'][-1]:.3g} ± "
                           f"{ex['plain']['se'][-1]:.2g}; final training loss {mo.get('final_loss', math.nan):.4g}"),
        Verdict.check(f"trained model, plain N(0, I) start at t_T, every {mp['stride']}th DDPM step: class +m "
                      "fraction", mp["fractions"][-1][1], w, tol["balance.se"] * se_wp + tol["balance.model"], "abs",
                      stderr=se_wp, kind="precondition", key="model_balance",
                      source="guards raya.late_init's balance claim for the trained model: a model that is not "
                             "balanced itself cannot show that the late start keeps the balance",
                      note=f"{n_plain} samples; exact score: {ex['plain']['fractions'][-1][1]:.3f}"),
        *_plain_verdicts(Verdict, "exact mixture score", p, ex),
        *_plain_verdicts(Verdict, "trained model", p, mo, requires=fit),
        _improvement_verdict(Verdict, "exact score", ex, tol["improvement"]),
        _improvement_verdict(Verdict, "trained model", mo, tol["improvement"], requires=fit),
        _improvement_verdict(Verdict, "exact score", ex, tol["improvement"], at="knee"),
        _improvement_verdict(Verdict, "trained model", mo, tol["improvement"], at="knee", requires=fit),
        _balance_verdict(Verdict, "exact score", ex, w, se_w, tol["balance.se"] * se_w),
        _balance_verdict(Verdict, "trained model", mo, w, se_w, bal_model, requires=bal),
        _balance_verdict(Verdict, "exact score", ex, w, se_w, tol["balance.se"] * se_w, at="knee"),
        _balance_verdict(Verdict, "trained model", mo, w, se_w, bal_model, at="knee", requires=bal),
        _window_verdict(Verdict, "exact mixture score", p, ex),
        _window_verdict(Verdict, "trained model", p, mo),
        Verdict.check("smallest best start time over budgets, exact score (>= t_S)", float(np.min(ex["t_best"])),
                      None, tol["t0.floor"] * p["t_S"], "min", unit="OU time", kind="exploratory",
                      source="diffphase's expectation that a late start below t_S never helps",
                      note=f"t_S = 1/2 log Lambda = {p['t_S']:.3f}"),
    ]
    numbers = {"mixture": p}
    q = None
    if config.get("digits"):
        q = ctx.stage("digits", digits_point, **config["digits"], **common)
        c = q["model"]
        pi = np.asarray(q["train_fractions"])
        n_d = q["n_samples"]
        clf = ["classifier"]
        bal_tol = tol["balance.se"] * math.sqrt(0.1 * 0.9 / n_d) + tol["balance_digits"]

        def dev(at):
            return float(np.max(np.abs(np.asarray(c["fresh"][at]["fractions"]) - pi)))

        verdicts += [
            Verdict.check("held-out accuracy of the digits classifier (features and labels of the digits verdicts)",
                          q["classifier_accuracy"], None, tol["classifier"], "min", kind="precondition",
                          key="classifier",
                          source="guards the digits claims of late_start: quality is MMD² in this classifier's "
                                 "feature space and balance is read through its labels"),
            *_plain_verdicts(Verdict, "digits, trained model (classifier features)", q, c, requires=clf),
            _improvement_verdict(Verdict, "digits (classifier features)", c, tol["improvement_digits"],
                                 requires=clf),
            _improvement_verdict(Verdict, "digits (classifier features)", c, tol["improvement_digits"], at="knee",
                                 requires=clf),
            Verdict.check("max |class fraction - training fraction|, digits Gaussian late start at t0*", dev("late"),
                          None, bal_tol, "max", kind="claim", source="raya.late_init", requires=clf,
                          note=f"pure-noise start: {dev('noise'):.3f}"),
            Verdict.check("max |class fraction - training fraction|, digits Gaussian late start at the knee",
                          dev("knee"), None, bal_tol, "max", kind="claim", source="raya.late_init", requires=clf,
                          note=f"t0 = {c['fresh']['knee']['t0']:.3f}"),
            _window_verdict(Verdict, "digits, trained model", q, c),
        ]
        numbers["digits"] = q
    fig = plot_late_start(p, q, ctx.figure_path())
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers=numbers,
                            figures=[fig.name])
