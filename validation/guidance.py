r"""Dynamic negative guidance vs plain negative prompting on a trained class-conditional DDPM.

The experiment ``negative_guidance`` of ``diffphase validate`` (Koulischer et al., arXiv
2410.14398, ICLR 2025; sampler in
:func:`diffphase.numerics.information.negative_guidance_sample`). One class :math:`c` of a
K-class Gaussian mixture is unwanted. Sampling uses the guided denoiser

.. math:: \tilde D = D - w\,(D_c - D),\qquad w = \lambda\frac{p_t}{1-p_t}\ \text{(dynamic)}
          \quad\text{or}\quad w = \lambda\ \text{(constant: plain negative prompting)},

with :math:`p_t` the posterior of :math:`c` tracked online along the chain. For every scale
:math:`\lambda` of a grid and both modes, with the trained network
(:class:`~diffphase.validation.models.ClassConditional`, the network of
:mod:`diffphase.validation.information`) and with the exact mixture denoisers
(:func:`~diffphase.numerics.information.mixture_denoisers`, the reference of what the method
does when the denoisers are perfect), it measures

* how often the unwanted class still appears (exact-posterior label of the final sample);
* the balance of the remaining classes: total-variation distance between their shares and
  the renormalized prior weights;
* the distance of the samples to the data distribution of the remaining classes: the
  unbiased Gaussian-kernel :math:`\mathrm{MMD}^2` of :mod:`diffphase.numerics.two_sample`
  (bandwidth by the median heuristic on the reference sample).

OU time throughout.
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics import information as info

from .experiment import Experiment, denoiser_cost
from .information import (CLASSIFIER_DIGITS, MIXTURE_FULL, MIXTURE_QUICK, TRAIN_DIGITS, TRAIN_FULL, TRAIN_QUICK,
                          mixture_classes, train_class_conditional, train_digits_conditional)
from .report import save_figure

__all__ = ["TOLERANCES", "EXPERIMENTS", "guidance_metrics", "guidance_point", "run_negative_guidance",
           "cost_negative_guidance", "digits_guidance_point", "run_negative_guidance_digits"]

#: Tolerances of the verdicts, fixed before measuring:
#:
#: ``guidance.removal``  (max) fraction of trained-model samples still in the unwanted class
#:     under dynamic guidance at the scale ``check_scale``: 0.03 (unguided: its weight).
#: ``guidance.quality_ratio``  (min) MMD² to the remaining classes' data of plain negative
#:     prompting divided by that of dynamic guidance, both at ``check_scale``, trained model:
#:     the paper's claim is that a constant negative scale strong enough to remove the class
#:     pushes samples off the data while the posterior-weighted one does not; at least 3.
#: ``guidance.balance``  (max) total-variation distance between the remaining classes' shares
#:     under dynamic guidance (trained model, ``check_scale``) and their renormalized weights:
#:     binomial noise ~0.01 at 2000 samples plus model error; 0.06.
#: ``guidance_digits.*``  digits (labels and features from a clean classifier trained by the
#:     package): unwanted fraction ≤ 0.05 (the classifier's own error is ~2 %); MMD² in
#:     classifier-feature space of constant / dynamic guidance ≥ 2 (a feature space blurs
#:     differences that the data space shows); TV of the other nine digits' shares vs their
#:     training frequencies ≤ 0.10 (nine shares of ~200 samples each: ~0.05 of noise).
#: ``guidance.model_vs_exact``  (abs) unwanted fraction, trained model vs exact denoisers,
#:     dynamic guidance at ``check_scale``: 0.03.
TOLERANCES = {
    "guidance_digits.removal": 0.05,
    "guidance_digits.quality_ratio": 2.0,
    "guidance_digits.balance": 0.10,
    "guidance.removal": 0.03,
    "guidance.quality_ratio": 3.0,
    "guidance.balance": 0.06,
    "guidance.model_vs_exact": 0.03,
}


def _metrics(labels, feats, unwanted: int, weights, reference, bandwidth: float) -> dict:
    """Unwanted fraction (binomial s.e.), total variation of the other classes' shares against
    ``weights`` renormalized over them, and the unbiased MMD² of ``feats`` to ``reference``."""
    from diffphase.numerics import two_sample

    labels = np.asarray(labels)
    n = labels.size
    frac = float(np.mean(labels == unwanted))
    others = [y for y in range(len(weights)) if y != unwanted]
    kept = labels[labels != unwanted]
    w = np.asarray(weights, dtype=np.float64)[others]
    w = w / w.sum()
    shares = np.array([np.mean(kept == y) for y in others]) if kept.size else np.full(len(others), np.nan)
    res = two_sample.mmd2(feats, reference, bandwidth)
    return {"unwanted": frac, "unwanted_se": math.sqrt(max(frac * (1 - frac), 1.0 / n) / n),
            "balance_tv": float(0.5 * np.abs(shares - w).sum()), "shares": shares,
            "mmd2": float(res.mmd2), "mmd2_se": float(res.stderr)}


def guidance_metrics(x, gc: info.GaussianClasses, unwanted: int, reference, bandwidth: float) -> dict:
    r"""Metrics of guided samples ``x`` (B, d) of the mixture ``gc``.

    Returns ``unwanted`` (fraction labelled :math:`c` by the exact posterior at
    :math:`t = 10^{-3}`, with its binomial s.e.), ``balance_tv`` (total variation between the
    other classes' shares and :math:`\pi_y/\sum_{y'\ne c}\pi_{y'}`), ``mmd2``/``mmd2_se``
    (unbiased :math:`\mathrm{MMD}^2` to ``reference``, samples of the remaining classes) and
    ``median_distance`` (median distance to the nearest class mean)."""
    x = np.asarray(x, dtype=np.float64)
    out = _metrics(gc.posterior(x, 1e-3).argmax(1), x, unwanted, gc.weights, reference, bandwidth)
    out["median_distance"] = float(np.median(np.min(np.linalg.norm(x[:, None, :] - gc.means[None], axis=2), axis=1)))
    return out


def guidance_point(*, mixture: dict, n_train: int, train: dict, unwanted: int, scales: list, n_samples: int,
                   grid: dict, seed: int, device: str, cache_dir: str, progress: bool = False) -> dict:
    r"""The ``negative_guidance`` measurement (module docstring); JSON-able.

    Returns
    -------
    dict
        For ``"model"`` and ``"exact"`` and each mode (``"dynamic"``, ``"constant"``): lists over
        ``scales`` of the :func:`guidance_metrics`; the unguided (:math:`\lambda = 0`) metrics;
        the MMD² floor (a fresh sample of the remaining classes against the reference).
    """
    from diffphase.numerics import sde, two_sample

    gc = mixture_classes(mixture)
    c = int(unwanted)
    net, hist = train_class_conditional(gc, n_train, train, seed, device, cache_dir, progress,
                                   f"class-conditional K={gc.K}")
    times = sde.time_grid(float(grid["t_max"]), float(grid["t_end"]), int(grid["n_steps"]), grid.get("kind", "log"))
    others = [y for y in range(gc.K) if y != c]
    rest = info.GaussianClasses(gc.means[others], gc.variances[others], gc.weights[others])
    reference, _ = rest.sample(n_samples, seed=seed + 10)
    fresh, _ = rest.sample(n_samples, seed=seed + 11)
    bandwidth = two_sample.median_bandwidth(reference, seed=seed)
    floor = two_sample.mmd2(fresh, reference, bandwidth)
    x0 = np.random.default_rng(seed + 1).standard_normal((n_samples, gc.d))
    den = {"model": net.guidance_denoisers(c), "exact": info.mixture_denoisers(gc, c)}
    prior = float(gc.weights[c])
    out = {"scales": [float(s) for s in scales], "unwanted_class": c, "bandwidth": bandwidth,
           "mmd2_floor": float(floor.mmd2), "mmd2_floor_se": float(floor.stderr), "weights": gc.weights}
    for who, fn in den.items():
        base = info.negative_guidance_sample(fn, x0, times, 0.0, prior=prior, seed=seed + 2)
        out[f"{who}_unguided"] = guidance_metrics(base.x, gc, c, reference, bandwidth)
        for mode in ("dynamic", "constant"):
            rows = []
            for s in scales:
                g = info.negative_guidance_sample(fn, x0, times, float(s), mode=mode, prior=prior, seed=seed + 2)
                rows.append(guidance_metrics(g.x, gc, c, reference, bandwidth))
            out[f"{who}_{mode}"] = rows
    out.update(final_loss=float(hist.smoothed()[-1]), train_seconds=hist.seconds, from_cache=hist.from_cache)
    return out


def _plot(p: dict, check_scale: float, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 3.8))
    sc = np.asarray(p["scales"])
    for who, ls in (("model", "-"), ("exact", "--")):
        for mode, col in (("dynamic", "C0"), ("constant", "C3")):
            rows = p[f"{who}_{mode}"]
            u = np.array([r["unwanted"] for r in rows])
            use = np.array([r["unwanted_se"] for r in rows])
            m = np.array([r["mmd2"] for r in rows])
            mse = np.array([r["mmd2_se"] for r in rows])
            label = f"{mode}, {'trained' if who == 'model' else 'exact denoisers'}"
            a1.errorbar(u, np.maximum(m, 1e-6), xerr=3 * use, yerr=3 * mse, fmt="o" + ls, ms=3, color=col,
                        alpha=1.0 if who == "model" else 0.5, label=label)
            a2.errorbar(sc, u, yerr=3 * use, fmt="o" + ls, ms=3, color=col, alpha=1.0 if who == "model" else 0.5,
                        label=label)
            a3.plot(sc, [r["balance_tv"] for r in rows], "o" + ls, ms=3, color=col,
                    alpha=1.0 if who == "model" else 0.5, label=label)
    a1.axhline(max(p["mmd2_floor"], 1e-6), color="gray", ls=":", lw=1, label="MMD² of fresh data (floor)")
    a1.set_yscale("log")
    a1.set_xlabel("fraction of samples in the unwanted class")
    a1.set_ylabel("MMD² to the remaining classes")
    a1.set_title("trade-off over guidance scales (error bars 3 s.e.)", fontsize=9)
    a1.legend(fontsize=6)
    a2.axvline(check_scale, color="gray", ls=":", lw=1)
    a2.set_xscale("log")
    for ax in (a2, a3):
        ax.set_xscale("log")
        ax.set_xticks(sc)
        ax.set_xticklabels([f"{v:g}" for v in sc])
        ax.minorticks_off()
    a2.set_xlabel(r"guidance scale $\lambda$")
    a2.set_ylabel("unwanted fraction")
    a2.legend(fontsize=6)
    a3.set_xscale("log")
    a3.set_xlabel(r"guidance scale $\lambda$")
    a3.set_ylabel("TV of remaining class shares")
    a3.axvline(check_scale, color="gray", ls=":", lw=1)
    fig.suptitle(f"Negative guidance away from class {p['unwanted_class']}", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _at_scale(p: dict, config: dict):
    """The trained model's dynamic and constant rows at ``config["check_scale"]`` and the MMD²
    ratio constant / dynamic with its first-order standard error."""
    s = float(config["check_scale"])
    if s not in p["scales"]:
        raise ValueError(f"check_scale must be one of scales {p['scales']}, got {s}")
    k = p["scales"].index(s)
    dyn, const = p["model_dynamic"][k], p["model_constant"][k]
    ratio = const["mmd2"] / max(dyn["mmd2"], 1e-12)
    ratio_se = ratio * math.hypot(const["mmd2_se"] / max(abs(const["mmd2"]), 1e-12),
                                  dyn["mmd2_se"] / max(abs(dyn["mmd2"]), 1e-12))
    return s, k, dyn, const, ratio, ratio_se


def run_negative_guidance(config: dict, ctx) -> "ExperimentResult":
    r"""``negative_guidance``: :func:`guidance_point` with verdicts from :data:`TOLERANCES` at
    ``config["check_scale"]`` (one of ``config["scales"]``)."""
    from .report import ExperimentResult, Verdict

    kw = {k: config[k] for k in ("mixture", "n_train", "train", "unwanted", "scales", "n_samples", "grid")}
    p = ctx.stage("point", guidance_point, **kw, seed=int(config["seed"]), device=ctx.device,
                  cache_dir=str(ctx.cache_dir), progress=ctx.progress)
    s, k, dyn, const, ratio, ratio_se = _at_scale(p, config)
    exact_dyn = p["exact_dynamic"][k]
    tol = TOLERANCES
    verdicts = [
        Verdict.check(f"unwanted-class fraction, dynamic guidance, trained model, lambda={s:g}", dyn["unwanted"], None,
                      tol["guidance.removal"], "max", stderr=dyn["unwanted_se"], kind="claim", source="koulischer.dng",
                      note=f"unguided: {p['model_unguided']['unwanted']:.3f} (class weight "
                           f"{p['weights'][p['unwanted_class']]:.2f}); constant scale: {const['unwanted']:.3f}"),
        Verdict.check(f"MMD² to the data, constant / dynamic guidance, trained model, lambda={s:g}", ratio, None,
                      tol["guidance.quality_ratio"], "min", stderr=ratio_se, kind="claim", source="koulischer.dng",
                      note=f"MMD² dynamic {dyn['mmd2']:.3g} ± {dyn['mmd2_se']:.2g}, constant {const['mmd2']:.3g} "
                           f"± {const['mmd2_se']:.2g}, floor {p['mmd2_floor']:.2g}"),
        Verdict.check(f"balance of the remaining classes (TV), dynamic guidance, trained model, lambda={s:g}",
                      dyn["balance_tv"], None, tol["guidance.balance"], "max", kind="claim", source="koulischer.dng",
                      note=f"shares {np.round(dyn['shares'], 3).tolist()}"),
        Verdict.check(f"unwanted fraction, trained model vs exact denoisers, dynamic, lambda={s:g}",
                      dyn["unwanted"], exact_dyn["unwanted"], tol["guidance.model_vs_exact"], "abs",
                      stderr=dyn["unwanted_se"], kind="reference",
                      source="dynamic guidance with the trained denoisers against the exact mixture denoisers"),
    ]
    fig = _plot(p, s, ctx.figure_path())
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers={"point": p},
                            figures=[fig.name])


def cost_negative_guidance(config: dict) -> dict:
    """FLOPs of :func:`run_negative_guidance` (two network calls per step: unconditional and
    unwanted-class). The training is shared with ``class_information`` through the cache but
    counted in both plans: the plan does not know what is cached."""
    f, run = denoiser_cost(config["train"], int(config["mixture"]["d"]), num_classes=int(config["mixture"]["K"]))
    steps = int(config["grid"]["n_steps"])
    runs = 1 + 2 * len(config["scales"])
    return {"train_flops": run["train_flops"], "sample_flops": runs * config["n_samples"] * steps * 2 * f["forward"],
            "train_steps": run["steps"], "sampler_calls": runs * steps * 2}


# --------------------------------------------------------------------------------------
# digits: classifier labels and classifier-feature MMD²
# --------------------------------------------------------------------------------------
def digits_guidance_point(*, train: dict, classifier: dict, unwanted: int, scales: list, n_samples: int, grid: dict,
                          seed: int, device: str, cache_dir: str, progress: bool = False) -> dict:
    r"""The digits leg of ``negative_guidance``: the class-conditional MLP DDPM of
    :func:`~diffphase.validation.information.train_digits_conditional`, guided away from digit
    ``unwanted``, dynamic and constant, over ``scales``. Labels from a clean classifier trained
    by the package; quality is the unbiased MMD² between the classifier's penultimate features
    (:func:`~diffphase.validation.classifier.penultimate_features`) of the samples and of the
    held-out real digits of the other classes; balance is the total variation between the
    other digits' shares and their training frequencies. OU time; JSON-able."""
    from diffphase.numerics import sde, two_sample

    from .classifier import ClassifierConfig, penultimate_features, predict, train_classifier

    net, hist, ds = train_digits_conditional(train, seed, device, cache_dir, progress)
    c = int(unwanted)
    cfg = ClassifierConfig(**classifier)
    clf, clf_info = train_classifier(cfg, ds, device=device, cache_dir=cache_dir, progress=progress)
    _, test = ds.split(cfg.test_fraction, cfg.split_seed)
    keep = test.labels.numpy() != c
    ref = penultimate_features(clf, test.data.numpy()[keep])
    h = two_sample.median_bandwidth(ref, seed=seed)
    freq = np.bincount(ds.labels.numpy(), minlength=net.K) / len(ds)
    times = sde.time_grid(float(grid["t_max"]), float(grid["t_end"]), int(grid["n_steps"]), grid.get("kind", "log"))
    x0 = np.random.default_rng(seed + 1).standard_normal((n_samples, net.d))
    den = net.guidance_denoisers(c)

    def metrics(x):
        x = np.asarray(x, dtype=np.float32)
        return _metrics(predict(clf, x), penultimate_features(clf, x), c, freq, ref, h)

    out = {"scales": [float(v) for v in scales], "unwanted_class": c, "bandwidth": h,
           "classifier_accuracy": clf_info.test_accuracy, "weights": freq}
    base = info.negative_guidance_sample(den, x0, times, 0.0, prior=float(freq[c]), seed=seed + 2)
    out["model_unguided"] = metrics(base.x)
    for mode in ("dynamic", "constant"):
        out[f"model_{mode}"] = [metrics(info.negative_guidance_sample(den, x0, times, float(v), mode=mode,
                                                                       prior=float(freq[c]), seed=seed + 2).x)
                                for v in scales]
    out.update(final_loss=float(hist.smoothed()[-1]), train_seconds=hist.seconds, from_cache=hist.from_cache)
    return out


def run_negative_guidance_digits(config: dict, ctx) -> "ExperimentResult":
    r"""``negative_guidance_digits``: :func:`digits_guidance_point` with verdicts from
    :data:`TOLERANCES` at ``config["check_scale"]``."""
    from .report import ExperimentResult, Verdict

    kw = {k: config[k] for k in ("train", "classifier", "unwanted", "scales", "n_samples", "grid")}
    p = ctx.stage("point", digits_guidance_point, **kw, seed=int(config["seed"]), device=ctx.device,
                  cache_dir=str(ctx.cache_dir), progress=ctx.progress)
    s, _, dyn, const, ratio, ratio_se = _at_scale(p, config)
    tol = TOLERANCES
    verdicts = [
        Verdict.check(f"fraction of digit {p['unwanted_class']}, dynamic guidance, lambda={s:g}", dyn["unwanted"],
                      None, tol["guidance_digits.removal"], "max", stderr=dyn["unwanted_se"], kind="claim",
                      source="koulischer.dng",
                      note=f"unguided {p['model_unguided']['unwanted']:.3f}; constant scale {const['unwanted']:.3f}; "
                           f"classifier accuracy {p['classifier_accuracy']:.3f}"),
        Verdict.check(f"classifier-feature MMD², constant / dynamic guidance, lambda={s:g}", ratio, None,
                      tol["guidance_digits.quality_ratio"], "min", stderr=ratio_se, kind="claim",
                      source="koulischer.dng",
                      note=f"dynamic {dyn['mmd2']:.3g} ± {dyn['mmd2_se']:.2g}, constant {const['mmd2']:.3g} ± "
                           f"{const['mmd2_se']:.2g}, unguided {p['model_unguided']['mmd2']:.3g}"),
        Verdict.check(f"balance of the other digits (TV), dynamic guidance, lambda={s:g}", dyn["balance_tv"], None,
                      tol["guidance_digits.balance"], "max", kind="claim", source="koulischer.dng",
                      note=f"unguided {p['model_unguided']['balance_tv']:.3f}"),
    ]
    fig = _plot_digits(p, s, ctx.figure_path())
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers={"point": p},
                            figures=[fig.name])


def _plot_digits(p: dict, check_scale: float, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    sc = np.asarray(p["scales"])
    for mode, col in (("dynamic", "C0"), ("constant", "C3")):
        rows = p[f"model_{mode}"]
        u = np.array([r["unwanted"] for r in rows])
        m = np.array([r["mmd2"] for r in rows])
        a1.errorbar(u, m, xerr=3 * np.array([r["unwanted_se"] for r in rows]),
                    yerr=3 * np.array([r["mmd2_se"] for r in rows]), fmt="o-", ms=3, color=col, label=mode)
        a2.plot(sc, u, "o-", color=col, label=f"{mode}: unwanted fraction")
        a2.plot(sc, [r["balance_tv"] for r in rows], "s--", color=col, label=f"{mode}: TV of the other digits")
    ug = p["model_unguided"]
    a1.plot([ug["unwanted"]], [ug["mmd2"]], "k*", ms=9, label="unguided")
    a1.set_xlabel(f"fraction of digit {p['unwanted_class']}")
    a1.set_ylabel("classifier-feature MMD² to the other digits")
    a1.legend(fontsize=7)
    a2.axvline(check_scale, color="gray", ls=":", lw=1)
    a2.set_xscale("log")
    a2.set_xticks(sc)
    a2.set_xticklabels([f"{v:g}" for v in sc])
    a2.minorticks_off()
    a2.set_xlabel(r"guidance scale $\lambda$")
    a2.legend(fontsize=7)
    fig.suptitle(f"Negative guidance away from digit {p['unwanted_class']} (trained class-conditional DDPM)",
                 fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def cost_negative_guidance_digits(config: dict) -> dict:
    """FLOPs of :func:`run_negative_guidance_digits` (training shared with
    ``class_information_digits``; classifier not counted)."""
    f, run = denoiser_cost(config["train"], 64, num_classes=10)
    steps = int(config["grid"]["n_steps"])
    runs = 1 + 2 * len(config["scales"])
    return {"train_flops": run["train_flops"], "sample_flops": runs * config["n_samples"] * steps * 2 * f["forward"],
            "train_steps": run["steps"], "sampler_calls": runs * steps * 2}


EXPERIMENTS = [
    Experiment(
        name="negative_guidance",
        title="Dynamic negative guidance vs constant negative prompting on a trained class-conditional DDPM",
        run=run_negative_guidance,
        cost=cost_negative_guidance,
        quick={"mixture": MIXTURE_QUICK, "n_train": 20000, "train": TRAIN_QUICK, "unwanted": 0,
               "scales": [1.0, 2.0, 4.0], "check_scale": 4.0, "n_samples": 2000,
               "grid": {"t_max": 6.0, "t_end": 1e-3, "n_steps": 100, "kind": "log"}, "seed": 0},
        full={"mixture": MIXTURE_FULL, "n_train": 100000, "train": TRAIN_FULL, "unwanted": 0,
              "scales": [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0], "check_scale": 4.0, "n_samples": 10000,
              "grid": {"t_max": 8.0, "t_end": 1e-3, "n_steps": 400, "kind": "log"}, "seed": 0},
    ),
    Experiment(
        name="negative_guidance_digits",
        title="Dynamic negative guidance on digits: classifier labels and classifier-feature MMD²",
        run=run_negative_guidance_digits,
        cost=cost_negative_guidance_digits,
        quick={"train": dict(TRAIN_DIGITS, steps=6000), "classifier": CLASSIFIER_DIGITS, "unwanted": 8,
               "scales": [1.0, 2.0, 4.0], "check_scale": 2.0, "n_samples": 1000,
               "grid": {"t_max": 6.0, "t_end": 1e-3, "n_steps": 100, "kind": "log"}, "seed": 0},
        full={"train": TRAIN_DIGITS, "classifier": CLASSIFIER_DIGITS, "unwanted": 8,
              "scales": [0.5, 1.0, 2.0, 4.0, 8.0], "check_scale": 2.0, "n_samples": 5000,
              "grid": {"t_max": 6.0, "t_end": 1e-3, "n_steps": 200, "kind": "log"}, "seed": 0},
        modes=("full",),
    ),
]
