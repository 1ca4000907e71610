r"""The measurements of ``class_information`` (:func:`information_point`: the trained model
on a Gaussian mixture against the exact posterior and the theory) and of
``class_information_digits`` (:func:`digits_information_point`: the trained model on digits
against a noise-conditioned classifier); see :mod:`diffphase.validation.information`."""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics import information as info

from .networks import mixture_classes, train_class_conditional, train_digits_conditional
from .tolerances import TOLERANCES
from .transfer import ddpm_final_stage_time, half_time, peak_separation, peak_time, transfer_statistics

__all__ = ["MIN_CLASS_PATHS", "information_point", "digits_information_point"]

#: Paths a class needs for its profile to be estimated.
MIN_CLASS_PATHS = 20


def _nodes(times: np.ndarray, n_nodes: int) -> np.ndarray:
    """Indices of ``n_nodes`` grid times spread uniformly in log t (the rate is estimated by
    differences between them: on the sampler's own grid the path average is too noisy)."""
    target = np.exp(np.linspace(math.log(times[0]), math.log(times[-1]), n_nodes))
    idx = np.unique([int(np.argmin(np.abs(np.log(times) - math.log(v)))) for v in target])
    return np.sort(idx)


def _entropy(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(-1)


def _bootstrap_means(e: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Path averages of ``e`` (T, n) over the bootstrap index rows ``idx`` (B, n): (B, T)."""
    return np.stack([e[:, i].mean(1) for i in idx])


def _class_statistics(e, groups, K, times, nodes, t_final, n_boot, rng) -> dict:
    """Per-class entropy profiles of paths grouped by ``groups`` (final class per path): mean
    entropy and its bootstrap s.e., the :func:`transfer_statistics` of each class (bootstrap
    within the class), and the :func:`peak_separation` of their transfer midpoints (and,
    reported, of their peak times)."""
    T = times.size
    Hy, Hy_se, stats, counts = [], [], [], []
    for y in range(K):
        sel = np.nonzero(groups == y)[0]
        counts.append(int(sel.size))
        if sel.size < MIN_CLASS_PATHS:
            Hy.append(np.full(T, math.nan))
            Hy_se.append(np.full(T, math.nan))
            stats.append(None)
            continue
        ey = e[:, sel]
        boot = _bootstrap_means(ey, rng.integers(0, sel.size, (n_boot, sel.size)))
        Hy.append(ey.mean(1))
        Hy_se.append(boot.std(0, ddof=1))
        stats.append(transfer_statistics(times, Hy[-1], boot, nodes, t_final))
    nan_rate = np.full(len(nodes) - 1, math.nan)

    def col(key):
        return np.array([s[key] if s else math.nan for s in stats])

    fwer = TOLERANCES["information.class_fwer"]
    return {"class_counts": counts, "Hy_model": Hy, "Hy_model_se": Hy_se,
            "rate_y_model": [s["rate"] if s else nan_rate for s in stats],
            "rate_y_model_se": [s["rate_se"] if s else nan_rate for s in stats],
            "peak_y_model": col("peak_time"), "log_peak_y_se": col("log_peak_se"),
            "half_y_model": col("half_time"), "log_half_y_se": col("log_half_se"),
            "separation": peak_separation(col("half_time"), col("log_half_se"), fwer=fwer),
            "separation_peaks": peak_separation(col("peak_time"), col("log_peak_se"), fwer=fwer)}


def information_point(*, mixture: dict, n_train: int, train: dict, n_paths: int, grid: dict, theory_samples: int,
                      n_boot: int, rate_nodes: int, seed: int, device: str, cache_dir: str,
                      progress: bool = False) -> dict:
    r"""The ``class_information`` measurement (:mod:`diffphase.validation.information`); JSON-able, OU time.

    Returns
    -------
    dict
        ``times`` (sampler grid, decreasing), ``H_online`` / ``H_online_se`` (mean entropy of the
        online classifier on the model's paths, bootstrap s.e.), ``H_exact_path`` (exact
        posterior on the same states), ``H_exact_online`` (online classifier with the exact
        class denoisers on the same paths), ``H_theory``; node rates ``mid``/``rate_online``;
        ``model`` and ``theory``: the :func:`transfer_statistics` of the model's and the
        theory's entropy curves (peak, interior z, final-stage ratio); ``peak_theory`` (de
        Bruijn rate on ``theory_fine``); per-class profiles (paths grouped by their final exact
        class; theory :math:`H_y` and :math:`dH_y/dt`), their peak times and
        :func:`peak_separation`; ``decision_agreement``.
    """
    from diffphase.numerics import process, sde

    gc = mixture_classes(mixture)
    net, hist = train_class_conditional(gc, n_train, train, seed, device, cache_dir, progress,
                                        f"class-conditional K={gc.K}")
    times = process.time_grid(float(grid["t_max"]), float(grid["t_end"]), int(grid["n_steps"]), grid.get("kind", "log"))
    t_final = ddpm_final_stage_time()
    rng = np.random.default_rng(seed + 1)
    x0 = rng.standard_normal((n_paths, gc.d))
    saved = sde.sample_path(net.score, x0, times, seed=seed + 2).as_dict()
    xs = np.stack([np.asarray(saved[float(t)], dtype=np.float64) for t in times])      # (T, B, d)
    online = info.online_posterior(saved, net, initial=gc.weights)
    exact_online = info.online_posterior(saved, gc, initial=gc.weights)
    p_exact = np.stack([gc.posterior(x, float(t)) for x, t in zip(xs, times)])          # (T, B, K)

    e_online = online.entropy                                                          # (T, B)
    H_online = e_online.mean(1)
    H_boot = _bootstrap_means(e_online, rng.integers(0, n_paths, (n_boot, n_paths)))   # (n_boot, T)
    H_theory = np.asarray(info.class_entropy(times, gc.means, gc.variances, gc.weights,
                                             n_samples=theory_samples, seed=seed + 4))
    nodes = _nodes(times, rate_nodes)
    model = transfer_statistics(times, H_online, H_boot, nodes, t_final)
    theory = transfer_statistics(times, H_theory, None, nodes, t_final)
    theory_fine = np.exp(np.linspace(math.log(times[0]), math.log(times[-1]), 100))
    rate_fine = np.asarray(info.entropy_rate(theory_fine, gc.means, gc.variances, gc.weights,
                                             n_samples=theory_samples, seed=seed + 5))
    peak_theory = peak_time(theory_fine[::-1], rate_fine[::-1])
    final_exact = p_exact[-1].argmax(1)
    agreement = float(np.mean(online.posterior[-1].argmax(1) == final_exact))
    # per-class profiles H_y(t): paths of the unconditional sampler that end in class y are
    # distributed as p_t(. | y) at every t, so their mean online entropy estimates H_y(t)
    cls = _class_statistics(e_online, final_exact, gc.K, times, nodes, t_final, n_boot, rng)
    Hy_theory, _ = info.class_profiles(times, gc.means, gc.variances, gc.weights,
                                       n_samples=theory_samples, seed=seed + 6)
    Hy_theory = np.asarray(Hy_theory).T                                               # (K, T)
    rate_y_fine = np.asarray(info.class_entropy_rates(theory_fine, gc.means, gc.variances, gc.weights,
                                                      n_samples=theory_samples, seed=seed + 6)).T   # (K, F)
    peak_y_theory = np.array([peak_time(theory_fine[::-1], r[::-1]) for r in rate_y_fine])
    half_y_theory = np.array([half_time(times, h) for h in Hy_theory])
    class_err = [float(np.max(np.abs(np.asarray(h) - ht))) if np.all(np.isfinite(h)) else math.nan
                 for h, ht in zip(cls["Hy_model"], Hy_theory)]
    half_dev = np.abs(np.asarray(cls["half_y_model"]) / half_y_theory - 1.0)
    return {
        "K": gc.K, "d": gc.d, "weights": gc.weights, "variances": gc.variances, "means": gc.means,
        "times": times, "nodes": nodes, "t_final": t_final, "mid": model["mid"],
        "H_online": H_online, "H_online_se": H_boot.std(0, ddof=1), "H_exact_path": _entropy(p_exact).mean(1),
        "H_exact_online": exact_online.entropy.mean(1), "H_theory": H_theory,
        "rate_online": model["rate"], "rate_online_se": model["rate_se"], "rate_theory_nodes": theory["rate"],
        "model": model, "theory": theory,
        "theory_fine": theory_fine, "rate_theory": rate_fine,
        "peak_model": model["peak_time"], "peak_model_se": model["peak_time_se"], "peak_theory": peak_theory,
        "half_model": model["half_time"], "half_model_se": model["half_time_se"], "half_theory": theory["half_time"],
        "max_entropy_error": float(np.max(np.abs(H_online - H_theory))),
        "decision_agreement": agreement, "decision_se": math.sqrt(max(agreement * (1 - agreement), 1e-12) / n_paths),
        "class_fractions_exact": [c / n_paths for c in cls["class_counts"]],
        **cls, "Hy_theory": Hy_theory, "rate_y_theory": rate_y_fine, "peak_y_theory": peak_y_theory,
        "half_y_theory": half_y_theory,
        "separation_theory": peak_separation(half_y_theory, np.zeros(gc.K) + 1e-12,
                                             fwer=TOLERANCES["information.class_fwer"]),
        "max_class_half_deviation": float(np.nanmax(half_dev)) if np.any(np.isfinite(half_dev)) else math.nan,
        "max_class_entropy_error": float(np.nanmax(class_err)) if np.any(np.isfinite(class_err)) else math.nan,
        "class_entropy_errors": class_err,
        "final_loss": float(hist.smoothed()[-1]), "train_seconds": hist.seconds, "from_cache": hist.from_cache,
    }



def digits_information_point(*, train: dict, classifier: dict, n_paths: int, grid: dict, n_boot: int,
                             rate_nodes: int, seed: int, device: str, cache_dir: str, progress: bool = False) -> dict:
    r"""The digits leg of ``class_information``: the online classifier on a class-conditional
    DDPM's own denoisers along ``n_paths`` trajectories of its unconditional sampler, against a
    trained noise-conditioned classifier :math:`p(y\mid x_t, t)`
    (:class:`~diffphase.validation.classifier.ClassifierConfig` with ``noisy=True``) on the
    same states; final samples labelled by a clean classifier. The claims' statistics
    (:func:`transfer_statistics` of the online entropy; per-class profiles grouped by the
    clean classifier's label, their peak times and :func:`peak_separation`). OU time; JSON-able.
    """
    from diffphase.numerics import process, sde

    from ..classifier import ClassifierConfig, predict, predict_proba, train_classifier

    net, hist, ds = train_digits_conditional(train, seed, device, cache_dir, progress)
    noisy, noisy_info = train_classifier(ClassifierConfig(**{**classifier, "noisy": True}), ds, device=device,
                                         cache_dir=cache_dir, progress=progress)
    clean, clean_info = train_classifier(ClassifierConfig(**classifier), ds, device=device, cache_dir=cache_dir,
                                         progress=progress)
    freq = np.bincount(ds.labels.numpy(), minlength=net.K) / len(ds)
    times = process.time_grid(float(grid["t_max"]), float(grid["t_end"]), int(grid["n_steps"]), grid.get("kind", "log"))
    t_final = ddpm_final_stage_time()
    rng = np.random.default_rng(seed + 1)
    x0 = rng.standard_normal((n_paths, net.d))
    saved = sde.sample_path(net.score, x0, times, seed=seed + 2).as_dict()
    online = info.online_posterior(saved, net, initial=freq)
    p_clf = np.stack([predict_proba(noisy, np.asarray(saved[float(t)], dtype=np.float32), t=float(t))
                      for t in times]).astype(np.float64)
    e_on, e_clf = online.entropy, _entropy(p_clf)
    final = predict(clean, np.asarray(saved[float(times[-1])], dtype=np.float32))
    boot_idx = rng.integers(0, n_paths, (n_boot, n_paths))
    nodes = _nodes(times, rate_nodes)
    out = {"times": times, "nodes": nodes, "t_final": t_final, "n_paths": n_paths, "class_frequencies": freq,
           "noisy_classifier_accuracy": noisy_info.test_accuracy, "clean_classifier_accuracy": clean_info.test_accuracy}
    for name, e in (("online", e_on), ("classifier", e_clf)):
        H = e.mean(1)
        boot = _bootstrap_means(e, boot_idx)
        st = transfer_statistics(times, H, boot, nodes, t_final)
        out[name] = st
        out[f"H_{name}"], out[f"H_{name}_se"] = H, boot.std(0, ddof=1)
        out[f"rate_{name}"], out[f"rate_{name}_se"] = st["rate"], st["rate_se"]
        out[f"peak_{name}"], out[f"peak_{name}_se"] = st["peak_time"], st["peak_time_se"]
        out[f"half_{name}"] = half_time(times, H)
        halves = np.array([half_time(times, b) for b in boot])
        halves = halves[np.isfinite(halves)]
        out[f"half_{name}_se"] = float(np.std(halves, ddof=1)) if halves.size > 1 else math.nan
    out["mid"] = out["online"]["mid"]
    out["tv"] = 0.5 * np.abs(online.posterior - p_clf).sum(-1).mean(1)
    out["max_entropy_gap"] = float(np.max(np.abs(out["H_online"] - out["H_classifier"])))
    agree = float(np.mean(online.posterior[-1].argmax(1) == final))
    out["decision_agreement"], out["decision_se"] = agree, math.sqrt(max(agree * (1 - agree), 1e-12) / n_paths)
    out["decision_gap"] = agree - float(clean_info.test_accuracy)
    out["final_label_fractions"] = np.bincount(final, minlength=net.K) / n_paths
    # per-class entropy profiles (paths grouped by the clean classifier's label)
    out.update(_class_statistics(e_on, final, net.K, times, nodes, t_final, n_boot, rng))
    out["Hy_classifier"] = [e_clf[:, final == y].mean(1) if np.sum(final == y) else np.full(times.size, math.nan)
                            for y in range(net.K)]
    out.update(final_loss=float(hist.smoothed()[-1]), train_seconds=hist.seconds, from_cache=hist.from_cache)
    return out

