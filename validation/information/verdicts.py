"""The verdicts of ``class_information`` and ``class_information_digits``
(:mod:`diffphase.validation.information`): the run functions of the two experiments, judging
the measurements of :mod:`~diffphase.validation.information.protocol` with the tolerances of
:data:`~diffphase.validation.information.TOLERANCES`."""

from __future__ import annotations

import math

import numpy as np

from .figure import plot_class_information, plot_class_information_digits
from .protocol import digits_information_point, information_point
from .tolerances import TOLERANCES

__all__ = ["run_class_information", "run_class_information_digits"]


def _rel_check(name, measured, predicted, tolerance, **kw):
    """``Verdict.check(..., rule="rel")`` that fails (rather than raising) when the prediction
    is undefined: a curve that never crosses half of its start has no midpoint."""
    from ..engine.verdicts import Verdict

    if predicted is None or not math.isfinite(float(predicted)):
        kw["note"] = ("prediction undefined (NaN); " + kw.get("note", "")).rstrip("; ")
        return Verdict.check(name, math.nan, 1.0, tolerance, "rel", **kw)
    return Verdict.check(name, measured, predicted, tolerance, "rel", **kw)


_SOURCE_EXACT = "the exact mixture posterior (numerics.information: quadrature / Monte Carlo of H(Y|X_t))"


def _claim_verdicts(p: dict, requires_rate, requires_class, label: str, theory_note: dict) -> list:
    """The three claim verdicts (interior maximum, vanishing final stage, per-class profiles)."""
    from ..engine.verdicts import Verdict

    tol = TOLERANCES
    m, sep, sepp = p["model"], p["separation"], p["separation_peaks"]

    def r3(key):
        return np.round(np.asarray(p[key], dtype=float), 3).tolist()

    return [
        Verdict.check(f"{label}: maximum of dH/dt is interior (min over both ends of (peak - end rate)/s.e.)",
                      m["z_interior"], None, tol["information.interior_z"], "min", unit="s.e.", kind="claim",
                      source="handke.intermediate", key="interior", requires=requires_rate,
                      note=f"maximum at node {m['peak_index']} of {len(m['rate'])} (t = {m['peak_time']:.3f}); "
                           f"z first {m['z_first']:.1f}, last {m['z_last']:.1f}{theory_note.get('interior', '')}"),
        Verdict.check(f"{label}: share of the class information transferred in the final stage (last 10 % of the "
                      f"steps of a 1000-step DDPM schedule, t <= {m['t_final']:.4f})",
                      m["final_share"], None, tol["information.final_share"], "max", stderr=m["final_share_se"],
                      kind="claim", source="handke.intermediate", key="final_stage", requires=requires_rate,
                      note=f"final-stage mean rate / peak rate {m['final_ratio']:.3f} ± {m['final_ratio_se']:.3f} "
                           f"(reported){theory_note.get('final', '')}"),
        Verdict.check(f"{label}: per-class entropy-rate profiles differ (largest pairwise |log t_a - log t_b| / s.e. "
                      f"of the classes' transfer midpoints)", sep["z_max"], None, sep["threshold"], "min",
                      unit="s.e.", kind="claim", source="handke.class_profiles", key="class_profiles",
                      requires=requires_class,
                      note=f"classes {tuple(sep['pair'])}: midpoints differ by a factor {sep['ratio']:.2f}; threshold "
                           f"= Bonferroni z at family-wise 0.27 %; midpoints {r3('half_y_model')}; rate peaks "
                           f"{r3('peak_y_model')} (largest z {sepp['z_max']:.1f}, reported)"
                           f"{theory_note.get('class', '')}"),
    ]


def run_class_information(config: dict, ctx) -> "ExperimentResult":
    r"""``class_information``: :func:`information_point` with verdicts from :data:`TOLERANCES`."""
    from ..engine.verdicts import ExperimentResult, Verdict

    kw = {k: config[k] for k in ("mixture", "n_train", "train", "n_paths", "grid", "theory_samples", "n_boot",
                                 "rate_nodes")}
    p = ctx.stage("point", information_point, **kw, seed=int(config["seed"]), device=ctx.device,
                  cache_dir=str(ctx.cache_dir), progress=ctx.progress)
    tol = TOLERANCES
    m, th, sept = p["model"], p["theory"], p["separation_theory"]

    def r3(key):
        return np.round(np.asarray(p[key], dtype=float), 3).tolist()

    theory_note = {
        "interior": f"; exact theory: maximum at node {th['peak_index']} of {len(th['rate'])} "
                    f"(interior: {th['interior']})",
        "final": f"; exact theory: share {th['final_share']:.4f}, rate ratio {th['final_ratio']:.3f}",
        "class": f"; exact theory: midpoints {r3('half_y_theory')} (extreme ratio {sept['ratio_extreme']:.2f}), "
                 f"rate peaks {r3('peak_y_theory')}",
    }
    verdicts = [
        Verdict.check("final decisions: online classifier (trained model) = exact posterior",
                      p["decision_agreement"], None, tol["information.decision"], "min", stderr=p["decision_se"],
                      kind="precondition", key="decisions",
                      source="the online classifier on the trained model's own denoisers reads the class that the "
                             "exact posterior gives the generated sample (both claims measure its entropy)"),
        Verdict.check("max_t |H_online(t) - H(Y|X_t)| (online classifier on the trained model's paths vs theory)",
                      p["max_entropy_error"], None, tol["information.entropy"], "max", unit="nats",
                      kind="precondition", key="entropy_curve",
                      source="the trained model's online entropy follows the exact H(Y|X_t), so its rate measures "
                             "the model's information transfer (handke.intermediate)",
                      note=f"{config['n_paths']} paths; theory by Monte Carlo ({config['theory_samples']} draws)"),
        Verdict.check("max over classes and t of |H_y model - H_y theory| (per-class entropy profiles)",
                      p["max_class_entropy_error"], None, tol["information.class_entropy"], "max", unit="nats",
                      kind="precondition", key="class_entropy",
                      source="the trained model's per-class entropy profiles follow the exact ones "
                             "(handke.class_profiles)",
                      note=f"paths per final class {p['class_counts']}; errors {r3('class_entropy_errors')}"),
        *_claim_verdicts(p, ["decisions", "entropy_curve"], ["decisions", "class_entropy"], "trained model",
                         theory_note),
        _rel_check("middle of the information transfer (H = H(t_max)/2), trained model vs theory",
                   p["half_model"], p["half_theory"], tol["information.half"], stderr=p["half_model_se"],
                   unit="OU time", kind="reference", source=_SOURCE_EXACT,
                   note=f"peak of dH/dt (reported): model {p['peak_model']:.3f} ± {p['peak_model_se']:.3f}, "
                        f"theory {p['peak_theory']:.3f} (de Bruijn rate)"),
        Verdict.check("final-stage share of the transfer, trained model vs the same estimator on the exact H(Y|X_t)",
                      m["final_share"], th["final_share"], tol["information.final_share_theory"], "abs",
                      stderr=m["final_share_se"], kind="reference", source=_SOURCE_EXACT),
        Verdict.check("per-class transfer midpoints, max_y |model / theory - 1|", p["max_class_half_deviation"],
                      None, tol["information.class_halves"], "max", kind="reference",
                      source="midpoints of the exact per-class profiles H_y (numerics.information.class_profiles)",
                      note=f"model {r3('half_y_model')}, theory {r3('half_y_theory')}"),
    ]
    fig = plot_class_information(p, ctx.figure_path())
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers={"point": p},
                            figures=[fig.name])



def run_class_information_digits(config: dict, ctx) -> "ExperimentResult":
    r"""``class_information_digits``: :func:`digits_information_point` with verdicts from
    :data:`TOLERANCES`."""
    from ..engine.verdicts import ExperimentResult, Verdict

    kw = {k: config[k] for k in ("train", "classifier", "n_paths", "grid", "n_boot", "rate_nodes")}
    p = ctx.stage("point", digits_information_point, **kw, seed=int(config["seed"]), device=ctx.device,
                  cache_dir=str(ctx.cache_dir), progress=ctx.progress)
    tol = TOLERANCES
    p["model"] = p["online"]
    cl = p["classifier"]
    theory_note = {"interior": f"; noise-conditioned classifier: z = {cl['z_interior']:.1f}",
                   "final": f"; noise-conditioned classifier: share {cl['final_share']:.4f}"}
    verdicts = [
        Verdict.check("clean classifier held-out accuracy", p["clean_classifier_accuracy"], None,
                      tol["information_digits.classifier"], "min", kind="precondition", key="clean_classifier",
                      source="the clean classifier labels the generated digits that group the per-class profiles"),
        Verdict.check("noise-conditioned classifier held-out accuracy at its smallest time",
                      p["noisy_classifier_accuracy"], None, tol["information_digits.classifier"], "min",
                      kind="precondition", key="noisy_classifier",
                      source="the noise-conditioned classifier is the reference entropy of the model's paths"),
        Verdict.check("max_t |H_online - H_noisy classifier| on the trained model's paths", p["max_entropy_gap"],
                      None, tol["information_digits.entropy"], "max", unit="nats", kind="precondition",
                      key="entropy_curve", requires=["noisy_classifier"],
                      source="the online classifier's entropy on the trained model's paths follows an independent "
                             "estimate of H(Y|X_t) (a trained noise-conditioned classifier)"),
        *_claim_verdicts(p, ["entropy_curve"], ["clean_classifier", "entropy_curve"], "digits, trained model",
                         theory_note),
        _rel_check("middle of the information transfer (H = H(t_max)/2), online classifier vs noisy classifier",
                   p["half_online"], p["half_classifier"], tol["information_digits.half"],
                   stderr=p["half_online_se"], unit="OU time", kind="reference",
                   source="the half-entropy time of a trained noise-conditioned classifier on the same states",
                   note=f"peaks of dH/dt: online {p['peak_online']:.3f}, noisy classifier "
                        f"{p['peak_classifier']:.3f}"),
        Verdict.check("final online decision = clean classifier's label, minus that classifier's held-out accuracy",
                      p["decision_gap"], None, -tol["information_digits.decision_gap"], "min",
                      stderr=p["decision_se"], kind="reference",
                      source="the clean classifier's label of the generated digit, bounded by its own held-out "
                             "accuracy on real digits",
                      note=f"agreement {p['decision_agreement']:.3f}; clean classifier held-out accuracy "
                           f"{p['clean_classifier_accuracy']:.3f}"),
    ]
    fig = plot_class_information_digits(p, ctx.figure_path())
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers={"point": p},
                            figures=[fig.name])

