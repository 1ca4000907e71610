"""The verdicts of ``negative_guidance`` and ``negative_guidance_digits``
(:mod:`diffphase.validation.guidance`): the run functions of the two experiments, judging the
measurements of :mod:`~diffphase.validation.guidance.protocol` with the tolerances of
:data:`~diffphase.validation.guidance.TOLERANCES`."""

from __future__ import annotations

import math

import numpy as np

from .figure import plot_guidance
from .protocol import digits_guidance_point, guidance_point
from .tolerances import TOLERANCES

__all__ = ["run_negative_guidance", "run_negative_guidance_digits"]


def _scale_index(p: dict, config: dict):
    s = float(config["check_scale"])
    if s not in p["scales"]:
        raise ValueError(f"check_scale must be one of scales {p['scales']}, got {s}")
    return s, p["scales"].index(s)


def _claims(p: dict, requires: list, note_exact: str = "") -> list:
    """The dominance verdicts of ``koulischer.dng`` (quality plane S and G, balance plane S)."""
    from ..engine.verdicts import Verdict

    tol = TOLERANCES
    dq, db = p["model_dominance"]["quality"], p["model_dominance"]["balance"]
    sc = p["scales"]

    def pairs(best):
        return ", ".join(f"NP {sc[j]:g} <- DNG {sc[int(i)]:g}" for j, i in enumerate(best))

    return [
        Verdict.check("every NP point has a DNG point not worse in safety and quality (MMD²): min_j max_i "
                      "min(z_u, z_MMD)", dq["S"], None, tol["guidance.dominance"], "min", unit="s.e.", kind="claim",
                      source="koulischer.dng", key="quality_dominance", requires=requires,
                      note=f"lambda grid {sc}; best matches {pairs(dq['best'])}{note_exact}"),
        Verdict.check("some NP point beaten in quality (MMD²) by a DNG point at least as safe: max z_MMD",
                      dq["G"], None, tol["guidance.gain"], "min", unit="s.e.", kind="claim", source="koulischer.dng",
                      key="quality_gain", requires=requires),
        Verdict.check("every NP point has a DNG point not worse in safety and class balance (KL to the target "
                      "shares): min_j max_i min(z_u, z_KL)", db["S"], None, tol["guidance.dominance"], "min",
                      unit="s.e.", kind="claim", source="koulischer.dng", key="balance_dominance", requires=requires,
                      note=f"best matches {pairs(db['best'])}"),
    ]


def run_negative_guidance(config: dict, ctx) -> "ExperimentResult":
    r"""``negative_guidance``: :func:`guidance_point` with verdicts from :data:`TOLERANCES`
    (dominance over ``config["scales"]``; the trained-vs-exact reference at
    ``config["check_scale"]``, one of the scales)."""
    from ..engine.verdicts import ExperimentResult, Verdict

    kw = {k: config[k] for k in ("mixture", "n_train", "train", "unwanted", "scales", "n_samples", "grid")}
    p = ctx.stage("point", guidance_point, **kw, seed=int(config["seed"]), device=ctx.device,
                  cache_dir=str(ctx.cache_dir), progress=ctx.progress)
    s, k = _scale_index(p, config)
    dyn, exact_dyn = p["model_dynamic"][k], p["exact_dynamic"][k]
    tol = TOLERANCES
    ex = p["exact_dominance"]
    note_exact = (f"; exact denoisers: quality S = {ex['quality']['S']:.1f}, G = {ex['quality']['G']:.1f}, "
                  f"balance S = {ex['balance']['S']:.1f}")
    verdicts = [
        Verdict.check("class shares of the trained model's unguided samples vs the mixture weights (TV)",
                      p["unguided_tv"], None, tol["guidance.unguided"], "max", kind="precondition", key="unguided",
                      source="the trained model samples the mixture with its class balance, so that guidance, not "
                             "the model, moves the shares (koulischer.dng)",
                      note=f"shares {np.round(np.asarray(p['model_unguided']['class_shares'], dtype=float), 3).tolist()}"
                           f", weights {np.round(np.asarray(p['weights'], dtype=float), 3).tolist()}"),
        *_claims(p, ["unguided"], note_exact),
        Verdict.check(f"unwanted fraction, trained model vs exact denoisers, dynamic, lambda={s:g}",
                      dyn["unwanted"], exact_dyn["unwanted"], tol["guidance.model_vs_exact"], "abs",
                      stderr=dyn["unwanted_se"], kind="reference",
                      source="dynamic guidance with the trained denoisers against the exact mixture denoisers"),
    ]
    fig = plot_guidance(p, s, ctx.figure_path())
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers={"point": p},
                            figures=[fig.name])


def run_negative_guidance_digits(config: dict, ctx) -> "ExperimentResult":
    r"""``negative_guidance_digits``: :func:`digits_guidance_point` with verdicts from
    :data:`TOLERANCES` (dominance over ``config["scales"]``; the removal against the
    classifier's ceiling at ``config["check_scale"]``)."""
    from ..engine.verdicts import ExperimentResult, Verdict

    kw = {k: config[k] for k in ("train", "classifier", "unwanted", "scales", "n_samples", "grid")}
    p = ctx.stage("point", digits_guidance_point, **kw, seed=int(config["seed"]), device=ctx.device,
                  cache_dir=str(ctx.cache_dir), progress=ctx.progress)
    s, k = _scale_index(p, config)
    dyn, const = p["model_dynamic"][k], p["model_constant"][k]
    tol = TOLERANCES
    req = ["classifier", "unguided"]
    verdicts = [
        Verdict.check("clean classifier held-out accuracy", p["classifier_accuracy"], None,
                      tol["guidance_digits.classifier"], "min", kind="precondition", key="classifier",
                      source="the classifier labels the guided samples and gives the features of the MMD² "
                             "(koulischer.dng)"),
        Verdict.check("digit shares of the trained model's unguided samples vs the training frequencies (TV)",
                      p["unguided_tv"], None, tol["guidance_digits.unguided"], "max", kind="precondition",
                      key="unguided", requires=["classifier"],
                      source="the trained model samples the ten digits with their balance, so that guidance, not the "
                             "model, moves the shares (koulischer.dng)"),
        *_claims(p, req),
        Verdict.check(f"fraction of digit {p['unwanted_class']} under DNG (lambda={s:g}) minus the classifier's "
                      f"false-positive rate for it on real held-out digits", dyn["unwanted"] - p["classifier_fpr"],
                      None, tol["guidance_digits.excess"], "max",
                      stderr=math.hypot(dyn["unwanted_se"], p["classifier_fpr_se"]), kind="claim",
                      source="koulischer.dng", key="removal_vs_ceiling", requires=req,
                      note=f"DNG {dyn['unwanted']:.3f}, classifier false-positive rate {p['classifier_fpr']:.3f} "
                           f"({p['n_reference']} held-out digits); unguided {p['model_unguided']['unwanted']:.3f}; "
                           f"NP {const['unwanted']:.3f}"),
    ]
    fig = plot_guidance(p, s, ctx.figure_path(), what="digit")
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers={"point": p},
                            figures=[fig.name])
