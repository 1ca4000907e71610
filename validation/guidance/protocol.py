r"""The measurements of ``negative_guidance`` (:func:`guidance_point`: the trained network and
the exact mixture denoisers, dynamic and constant guidance over a scale grid) and of
``negative_guidance_digits`` (:func:`digits_guidance_point`: the trained network on digits,
classifier labels and classifier-feature :math:`\mathrm{MMD}^2`); see
:mod:`diffphase.validation.guidance`."""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics import information as info
from diffphase.numerics.gaussian_mixture import GaussianMixture

from ..information.networks import mixture_classes, train_class_conditional, train_digits_conditional
from .metrics import front_dominance, paired_differences, sample_metrics
from .tolerances import TOLERANCES

__all__ = ["guidance_point", "digits_guidance_point"]


def _dominance(runs_dyn, runs_const, unwanted, weights, seed) -> dict:
    """Quality and balance dominance of the dynamic runs over the constant ones."""
    pdiff = paired_differences(runs_dyn, runs_const, unwanted, weights, seed=seed)
    fx = np.array([m["unwanted"] for m, _ in runs_dyn])
    bx = np.array([m["unwanted"] for m, _ in runs_const])
    slack = -TOLERANCES["guidance.dominance"]
    out = {}
    for plane, key in (("quality", "mmd2"), ("balance", "balance_kl")):
        fy = np.array([m[key] for m, _ in runs_dyn])
        by = np.array([m[key] for m, _ in runs_const])
        r = front_dominance(fx, fy, bx, by, pdiff["u"][1], pdiff["mmd2" if plane == "quality" else "kl"][1],
                            slack=slack)
        out[plane] = {"S": r["S"], "G": r["G"], "best": r["best"]}
    return out


def guidance_point(*, mixture: dict, n_train: int, train: dict, unwanted: int, scales: list, n_samples: int,
                   grid: dict, seed: int, device: str, cache_dir: str, progress: bool = False) -> dict:
    r"""The ``negative_guidance`` measurement (:mod:`diffphase.validation.guidance`); JSON-able, OU time.

    Returns
    -------
    dict
        For ``"model"`` and ``"exact"`` and each mode (``"dynamic"``, ``"constant"``): lists over
        ``scales`` of the :func:`guidance_metrics`; the unguided (:math:`\lambda = 0`) metrics;
        ``{who}_dominance``: the quality and balance planes' :func:`front_dominance` statistics
        of dynamic over constant guidance (paired s.e. of :func:`paired_differences`); the
        MMD² floor (a fresh sample of the remaining classes against the reference).
    """
    from diffphase.numerics import process, stats

    gc = mixture_classes(mixture)
    c = int(unwanted)
    net, hist = train_class_conditional(gc, n_train, train, seed, device, cache_dir, progress,
                                        f"class-conditional K={gc.K}")
    times = process.time_grid(float(grid["t_max"]), float(grid["t_end"]), int(grid["n_steps"]), grid.get("kind", "log"))
    others = [y for y in range(gc.K) if y != c]
    rest = GaussianMixture(gc.means[others], gc.variances[others], gc.weights[others])
    reference, _ = rest.sample(n_samples, seed=seed + 10)
    fresh, _ = rest.sample(n_samples, seed=seed + 11)
    bandwidth = stats.median_bandwidth(reference, seed=seed)
    floor = stats.mmd2(fresh, reference, bandwidth)
    krr_m = stats.gaussian_kernel(reference, reference, bandwidth)
    nr = reference.shape[0]
    krr = float((krr_m.sum() - np.trace(krr_m)) / (nr * (nr - 1)))
    krr_rows = (krr_m.sum(1) - np.diag(krr_m)) / (nr - 1)
    del krr_m
    x0 = np.random.default_rng(seed + 1).standard_normal((n_samples, gc.d))
    den = {"model": net.guidance_denoisers(c), "exact": info.mixture_denoisers(gc, c)}
    prior = float(gc.weights[c])

    def run(fn, scale, mode="dynamic"):
        g = info.negative_guidance_sample(fn, x0, times, float(scale), mode=mode, prior=prior, seed=seed + 2)
        x = g.x
        m, v = sample_metrics(gc.posterior(x, 1e-3).argmax(1), x, c, gc.weights, reference, bandwidth, krr)
        gr = krr_rows - v["c"]
        m["mmd2_se"] = math.sqrt(max(4.0 * v["g"].var(ddof=1) / n_samples + 4.0 * gr.var(ddof=1) / nr, 0.0))
        m["median_distance"] = float(np.median(np.min(np.linalg.norm(x[:, None, :] - gc.means[None], axis=2), axis=1)))
        return m, v

    out = {"scales": [float(s) for s in scales], "unwanted_class": c, "bandwidth": bandwidth,
           "mmd2_floor": float(floor.mmd2), "mmd2_floor_se": float(floor.stderr), "weights": gc.weights}
    for who, fn in den.items():
        base, _ = run(fn, 0.0)
        out[f"{who}_unguided"] = base
        runs = {mode: [run(fn, s, mode) for s in scales] for mode in ("dynamic", "constant")}
        for mode in runs:
            out[f"{who}_{mode}"] = [m for m, _ in runs[mode]]
        out[f"{who}_dominance"] = _dominance(runs["dynamic"], runs["constant"], c, gc.weights, seed)
    out["unguided_tv"] = float(0.5 * np.abs(np.asarray(out["model_unguided"]["class_shares"]) - gc.weights).sum())
    out.update(final_loss=float(hist.smoothed()[-1]), train_seconds=hist.seconds, from_cache=hist.from_cache)
    return out


def digits_guidance_point(*, train: dict, classifier: dict, unwanted: int, scales: list, n_samples: int, grid: dict,
                          seed: int, device: str, cache_dir: str, progress: bool = False) -> dict:
    r"""The digits leg of ``negative_guidance``: the class-conditional MLP DDPM of
    :func:`~diffphase.validation.information.train_digits_conditional`, guided away from digit
    ``unwanted``, dynamic and constant, over ``scales``. Labels from a clean classifier trained
    by the package; quality is the unbiased MMD² between the classifier's penultimate features
    (:func:`~diffphase.validation.classifier.penultimate_features`) of the samples and of the
    held-out real digits of the other classes; balance the KL of :mod:`diffphase.validation.guidance` against
    the training frequencies. The classifier's ceiling is its false-positive rate for the
    unwanted digit on those held-out digits (``classifier_fpr``). OU time; JSON-able."""
    from diffphase.numerics import process, stats

    from ..classifier import ClassifierConfig, penultimate_features, predict, train_classifier

    net, hist, ds = train_digits_conditional(train, seed, device, cache_dir, progress)
    c = int(unwanted)
    cfg = ClassifierConfig(**classifier)
    clf, clf_info = train_classifier(cfg, ds, device=device, cache_dir=cache_dir, progress=progress)
    _, test = ds.split(cfg.test_fraction, cfg.split_seed)
    keep = test.labels.numpy() != c
    real_others = test.data.numpy()[keep]
    fpr = float(np.mean(predict(clf, real_others) == c))
    ref = np.asarray(penultimate_features(clf, real_others), dtype=np.float64)
    h = stats.median_bandwidth(ref, seed=seed)
    nr = ref.shape[0]
    krr_m = stats.gaussian_kernel(ref, ref, h)
    krr = float((krr_m.sum() - np.trace(krr_m)) / (nr * (nr - 1)))
    krr_rows = (krr_m.sum(1) - np.diag(krr_m)) / (nr - 1)
    freq = np.bincount(ds.labels.numpy(), minlength=net.K) / len(ds)
    times = process.time_grid(float(grid["t_max"]), float(grid["t_end"]), int(grid["n_steps"]), grid.get("kind", "log"))
    x0 = np.random.default_rng(seed + 1).standard_normal((n_samples, net.d))
    den = net.guidance_denoisers(c)

    def run(scale, mode="dynamic"):
        x = np.asarray(info.negative_guidance_sample(den, x0, times, float(scale), mode=mode, prior=float(freq[c]),
                                                     seed=seed + 2).x, dtype=np.float32)
        m, v = sample_metrics(predict(clf, x), penultimate_features(clf, x), c, freq, ref, h, krr)
        gr = krr_rows - v["c"]
        m["mmd2_se"] = math.sqrt(max(4.0 * v["g"].var(ddof=1) / n_samples + 4.0 * gr.var(ddof=1) / nr, 0.0))
        return m, v

    out = {"scales": [float(v) for v in scales], "unwanted_class": c, "bandwidth": h,
           "classifier_accuracy": clf_info.test_accuracy, "weights": freq, "classifier_fpr": fpr,
           "classifier_fpr_se": math.sqrt(max(fpr * (1 - fpr), 1.0 / nr) / nr), "n_reference": nr}
    out["model_unguided"], _ = run(0.0)
    runs = {mode: [run(v, mode) for v in scales] for mode in ("dynamic", "constant")}
    for mode in runs:
        out[f"model_{mode}"] = [m for m, _ in runs[mode]]
    out["model_dominance"] = _dominance(runs["dynamic"], runs["constant"], c, freq, seed)
    out["unguided_tv"] = float(0.5 * np.abs(np.asarray(out["model_unguided"]["class_shares"]) - freq).sum())
    out.update(final_loss=float(hist.smoothed()[-1]), train_seconds=hist.seconds, from_cache=hist.from_cache)
    return out
