r"""Dynamic negative guidance vs plain negative prompting on a trained class-conditional DDPM.

The experiment ``negative_guidance`` of ``diffphase validate`` judges the claim of Koulischer
et al. (arXiv 2410.14398, ICLR 2025, abstract) that "DNG leads to higher safety, preservation
of class balance and image quality when compared with baseline methods" (claim
``koulischer.dng``), on the baseline of their code, negative prompting (NP). One class
:math:`c` of a K-class Gaussian mixture is unwanted. Sampling uses the guided denoiser

.. math:: \tilde D = D - w\,(D_c - D),\qquad w = \lambda\frac{p_t}{1-p_t}\ \text{(dynamic, DNG)}
          \quad\text{or}\quad w = \lambda\ \text{(constant: NP)},

with :math:`p_t` the posterior of :math:`c` tracked online along the chain (sampler
:func:`diffphase.numerics.information.negative_guidance_sample`; the authors' code tracks it
the same way, with temperature 1, no offset and the clip :math:`p_{max} = 0.99` by default).
For every scale :math:`\lambda` of a grid and both modes, with the trained network
(:class:`~diffphase.validation.models.ClassConditional`, the network of
:mod:`diffphase.validation.information`) and with the exact mixture denoisers
(:func:`~diffphase.numerics.information.mixture_denoisers`: what the method does when the
denoisers are perfect), all runs on the same initial noise and sampler noise, it measures, as
the authors' code does on CIFAR-10 (fraction of forbidden images, KL divergence of the class
distribution to the target, FID to the data without the removed class):

* safety: the fraction :math:`u` of samples in the unwanted class (exact-posterior label);
* balance: :math:`\mathrm{KL}(\text{target}\,\|\,\text{obtained}) = \sum_{y\ne c}w_y\log(w_y/f_y)`,
  :math:`w_y` the prior weights renormalized over the remaining classes and :math:`f_y` the
  fraction of *all* samples labelled :math:`y` (floored at :math:`1/n`);
* quality: the unbiased Gaussian-kernel :math:`\mathrm{MMD}^2` of
  :mod:`diffphase.numerics.two_sample` to samples of the remaining classes (bandwidth by the
  median heuristic on that reference).

The claim is judged as **dominance over the λ grid** (:func:`front_dominance`): every NP point
:math:`(u_j, m_j)` has a DNG point that is not worse in safety nor in quality (nor, in the
second plane, in balance) beyond 3 standard errors of the paired difference, and at least one
NP point is beaten in quality by more than 3 standard errors by a DNG point that is not worse
in safety. The standard errors are those of *paired* differences (same noise in every run):
for :math:`u` the per-sample indicator differences, for :math:`\mathrm{MMD}^2` the first-order
Hoeffding projection of the difference of the two U-statistics against the same reference, for
the KL a paired bootstrap over samples. OU time throughout.
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics import information as info

from .engine.experiment import Experiment, denoiser_cost
from .information import (CLASSIFIER_DIGITS, MIXTURE_FULL, MIXTURE_QUICK, TRAIN_DIGITS, TRAIN_FULL, TRAIN_QUICK,
                          mixture_classes, train_class_conditional, train_digits_conditional)
from .engine.io import save_figure

__all__ = ["TOLERANCES", "EXPERIMENTS", "guidance_metrics", "front_dominance", "paired_differences",
           "guidance_point", "run_negative_guidance", "cost_negative_guidance", "digits_guidance_point",
           "run_negative_guidance_digits"]

#: Tolerances of the verdicts, fixed before measuring:
#:
#: ``guidance.dominance``  (min) :math:`S = \min_j\max_i\min(z^u_{ij}, z^q_{ij})`, the worst NP
#:     point's best DNG match, :math:`z` the paired difference NP − DNG in units of its s.e.
#:     (positive: DNG better), :math:`q` the MMD² (quality plane) or the balance KL (balance
#:     plane): at least −3, "within errors" at 3 s.e. (a DNG point exactly as good as an NP
#:     point fails a coordinate with probability 0.13 %).
#: ``guidance.gain``  (min) :math:`G = \max_{(i,j):z^u_{ij}\ge0} z^m_{ij}`: "higher" quality,
#:     some NP point beaten in MMD² by 3 s.e. by a DNG point at least as safe (in the point
#:     estimates); at least 3 (one-sided 0.13 % per pair; ≤ 3 % over the 16 pairs of the quick
#:     grid). (The first version admitted DNG points up to 3 s.e. *less* safe; the
#:     identical-front test showed that a single steep front then has a "gain" over itself.)
#: ``guidance.unguided``  (max, precondition) total variation between the class shares of the
#:     trained model's unguided samples and the mixture weights: binomial noise ~0.015 at 2000
#:     samples plus the trained network's error in the class weights (2–4 points in the first
#:     trial trainings of the quick network); 0.05.
#: ``guidance.model_vs_exact``  (abs, reference) unwanted fraction, trained model vs exact
#:     denoisers, dynamic guidance at ``check_scale``: 0.03.
#: ``guidance_digits.classifier``  (min, precondition) held-out accuracy of the clean classifier
#:     that labels the samples and gives the features: 0.95.
#: ``guidance_digits.unguided``  (max, precondition) TV of the unguided digit shares vs the
#:     training frequencies: ten shares of ~100 samples each (~0.05 of noise); 0.10.
#: ``guidance_digits.excess``  (max, claim) fraction of the unwanted digit under DNG at
#:     ``check_scale`` minus the classifier's own false-positive rate for that digit on real
#:     held-out digits of the other classes (its ceiling: a perfect removal still shows it):
#:     0.02, three combined s.e. (binomial s.e. ~0.005 at 1000 samples, ~0.005 for the rate
#:     on ~320 held-out digits). Before: an absolute 0.05.
#:
#: The digits leg uses ``guidance.dominance`` and ``guidance.gain`` too.
TOLERANCES = {
    "guidance.dominance": -3.0,
    "guidance.gain": 3.0,
    "guidance.unguided": 0.05,
    "guidance.model_vs_exact": 0.03,
    "guidance_digits.classifier": 0.95,
    "guidance_digits.unguided": 0.10,
    "guidance_digits.excess": 0.02,
}

#: Bootstrap replicates of the paired balance differences.
N_BOOT = 200


def _kl_balance(labels, unwanted: int, weights) -> float:
    """Authors' balance metric: KL(target || obtained) over the remaining classes, obtained =
    fraction of all samples labelled y, floored at 1/n."""
    n = labels.size
    w = np.asarray(weights, dtype=np.float64).copy()
    w[unwanted] = 0.0
    w = w / w.sum()
    f = np.maximum(np.bincount(labels, minlength=w.size), 1) / n
    live = w > 0
    return float(np.sum(w[live] * np.log(w[live] / f[live])))


def _parts(labels, feats, unwanted: int, weights, reference, bandwidth: float, krr: float | None = None):
    """Metrics of one run and the per-sample vectors of its paired standard errors."""
    from diffphase.numerics import two_sample

    labels = np.asarray(labels).astype(np.int64)
    feats = np.asarray(feats, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    n, nr = labels.size, reference.shape[0]
    frac = float(np.mean(labels == unwanted))
    K = len(weights)
    others = [y for y in range(K) if y != unwanted]
    kept = labels[labels != unwanted]
    w = np.asarray(weights, dtype=np.float64)[others]
    w = w / w.sum()
    shares = np.array([np.mean(kept == y) for y in others]) if kept.size else np.full(len(others), np.nan)
    kxx = two_sample.gaussian_kernel(feats, feats, bandwidth)
    kxr = two_sample.gaussian_kernel(feats, reference, bandwidth)
    if krr is None:
        krr_m = two_sample.gaussian_kernel(reference, reference, bandwidth)
        krr = float((krr_m.sum() - np.trace(krr_m)) / (nr * (nr - 1)))
    a = (kxx.sum(1) - np.diag(kxx)) / (n - 1)
    b = kxr.mean(1)
    c = kxr.mean(0)
    mmd2 = float(a.mean() + krr - 2 * b.mean())
    g = a - b
    metrics = {"unwanted": frac, "unwanted_se": math.sqrt(max(frac * (1 - frac), 1.0 / n) / n),
               "balance_tv": float(0.5 * np.abs(shares - w).sum()), "balance_kl": _kl_balance(labels, unwanted, weights),
               "shares": shares, "class_shares": np.bincount(labels, minlength=K) / n, "mmd2": mmd2}
    vectors = {"labels": labels, "g": g, "c": c}
    return metrics, vectors


def _mmd_se(metrics_vectors, reference, bandwidth):
    """First-order s.e. of one run's MMD² (as numerics.two_sample.mmd2)."""
    from diffphase.numerics import two_sample

    g, c = metrics_vectors["g"], metrics_vectors["c"]
    krr = two_sample.gaussian_kernel(reference, reference, bandwidth)
    nr = krr.shape[0]
    gr = (krr.sum(1) - np.diag(krr)) / (nr - 1) - c
    return math.sqrt(max(4.0 * g.var(ddof=1) / g.size + 4.0 * gr.var(ddof=1) / nr, 0.0))


def guidance_metrics(x, gc: info.GaussianClasses, unwanted: int, reference, bandwidth: float) -> dict:
    r"""Metrics of guided samples ``x`` (B, d) of the mixture ``gc``.

    Returns ``unwanted`` (fraction labelled :math:`c` by the exact posterior at
    :math:`t = 10^{-3}`, with its binomial s.e.), ``balance_kl`` (the authors' balance metric,
    module docstring), ``balance_tv`` (total variation between the other classes' shares and
    :math:`\pi_y/\sum_{y'\ne c}\pi_{y'}`), ``class_shares`` (all K classes), ``mmd2``/``mmd2_se``
    (unbiased :math:`\mathrm{MMD}^2` to ``reference``, samples of the remaining classes, with
    the first-order s.e. of :func:`diffphase.numerics.two_sample.mmd2`) and ``median_distance``
    (median distance to the nearest class mean)."""
    x = np.asarray(x, dtype=np.float64)
    out, vec = _parts(gc.posterior(x, 1e-3).argmax(1), x, unwanted, gc.weights, reference, bandwidth)
    out["mmd2_se"] = _mmd_se(vec, np.asarray(reference, dtype=np.float64), bandwidth)
    out["median_distance"] = float(np.median(np.min(np.linalg.norm(x[:, None, :] - gc.means[None], axis=2), axis=1)))
    return out


def paired_differences(front: list, base: list, unwanted: int, weights, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    r"""Paired differences base − front of the three metrics and their standard errors, for every
    pair (front run :math:`i`, base run :math:`j`) of runs on the same noise (sample :math:`k`
    of every run shares its initial state and sampler noise).

    * unwanted fraction: :math:`\bar\delta`, s.e. :math:`\mathrm{sd}(\delta)/\sqrt n` of the
      per-sample indicator differences (floored at :math:`1/n`);
    * :math:`\mathrm{MMD}^2` against the same reference :math:`R`: first-order Hoeffding
      projection of the difference of the two U-statistics,
      :math:`\mathrm{Var} \approx \frac4n\mathrm{Var}_k[g^j_k - g^i_k] +
      \frac4{n_R}\mathrm{Var}_r[c^j_r - c^i_r]` with :math:`g_k = \overline{k(x_k,X)} -
      \overline{k(x_k,R)}` and :math:`c_r = \overline{k(X,r)}` (the reference's own term cancels);
    * balance KL: a paired bootstrap over the sample index (``n_boot`` replicates).

    Parameters
    ----------
    front, base : list of (metrics, vectors)
        Runs as returned by the internal ``_parts`` (labels, ``g``, ``c``).
    unwanted : int
    weights : array_like, shape (K,)
    n_boot : int
        Bootstrap replicates (>= 2).
    seed : int

    Returns
    -------
    dict
        ``"u"``, ``"mmd2"``, ``"kl"``: each ``(diff, se)``, arrays of shape (len(front), len(base)).
    """
    from diffphase.numerics._checks import check_int

    n_boot = check_int("n_boot", n_boot, minimum=2)
    nf, nb = len(front), len(base)
    n = front[0][1]["labels"].size
    idx = np.random.default_rng(seed).integers(0, n, (n_boot, n))

    def kl_boot(vec):
        lab = vec["labels"]
        return np.array([_kl_balance(lab[i], unwanted, weights) for i in idx])

    kf = [kl_boot(v) for _, v in front]
    kb = [kl_boot(v) for _, v in base]
    out = {k: (np.zeros((nf, nb)), np.zeros((nf, nb))) for k in ("u", "mmd2", "kl")}
    for i, (mi, vi) in enumerate(front):
        for j, (mj, vj) in enumerate(base):
            d = (vj["labels"] == unwanted).astype(float) - (vi["labels"] == unwanted).astype(float)
            out["u"][0][i, j] = d.mean()
            out["u"][1][i, j] = max(d.std(ddof=1) / math.sqrt(n), 1.0 / n)
            dg, dc = vj["g"] - vi["g"], vj["c"] - vi["c"]
            out["mmd2"][0][i, j] = mj["mmd2"] - mi["mmd2"]
            out["mmd2"][1][i, j] = math.sqrt(max(4 * dg.var(ddof=1) / dg.size + 4 * dc.var(ddof=1) / dc.size, 0.0))
            out["kl"][0][i, j] = mj["balance_kl"] - mi["balance_kl"]
            out["kl"][1][i, j] = max(float(np.std(kb[j] - kf[i], ddof=1)), 1e-12)
    return out


def front_dominance(front_x, front_y, base_x, base_y, se_x, se_y, *, slack: float = 3.0) -> dict:
    r"""Does a front of points (lower is better in both coordinates) dominate a baseline front
    within errors?

    With :math:`z^x_{ij} = (x^{base}_j - x^{front}_i)/s^x_{ij}` and :math:`z^y_{ij}` alike
    (positive: the front point is better),

    .. math:: S = \min_j\max_i\min(z^x_{ij}, z^y_{ij}),\qquad
              G = \max_{(i,j):\,z^x_{ij}\ge0} z^y_{ij}.

    :math:`S \ge -\text{slack}` means every baseline point has a front point that is not worse
    in either coordinate by more than ``slack`` standard errors; :math:`G` is the largest gain
    in :math:`y` of a front point over a baseline point that it matches or beats in :math:`x`
    (:math:`-\infty` when there is none). Two identical fronts give :math:`S = G = 0`.

    Parameters
    ----------
    front_x, front_y : array_like, shape (n_f,)
    base_x, base_y : array_like, shape (n_b,)
    se_x, se_y : array_like, broadcastable to (n_f, n_b)
        Standard errors of the differences base − front (> 0).
    slack : float
        >= 0.

    Returns
    -------
    dict
        ``S``, ``G``, ``best`` (for each baseline point, the front point that attains the max),
        ``z_x``, ``z_y`` (n_f, n_b). ``slack`` only checks its value (the caller compares
        :math:`S` with it).

    Examples
    --------
    >>> r = front_dominance([0.0, 0.1], [0.1, 0.0], [0.1, 0.3], [0.5, 0.3], 0.01, 0.01)
    >>> r["S"] > 0, r["G"] > 3
    (True, True)
    """
    fx, fy = np.asarray(front_x, float).ravel(), np.asarray(front_y, float).ravel()
    bx, by = np.asarray(base_x, float).ravel(), np.asarray(base_y, float).ravel()
    if fx.size == 0 or fx.shape != fy.shape or bx.size == 0 or bx.shape != by.shape:
        raise ValueError("front_x/front_y and base_x/base_y must be non-empty pairs of equal length")
    sx = np.broadcast_to(np.asarray(se_x, float), (fx.size, bx.size))
    sy = np.broadcast_to(np.asarray(se_y, float), (fx.size, bx.size))
    if np.any(~(sx > 0)) or np.any(~(sy > 0)):
        raise ValueError("se_x and se_y must be > 0")
    slack = float(slack)
    if not slack >= 0:
        raise ValueError(f"slack must be >= 0, got {slack}")
    zx = (bx[None, :] - fx[:, None]) / sx
    zy = (by[None, :] - fy[:, None]) / sy
    zmin = np.minimum(zx, zy)
    best = zmin.argmax(0)
    S = float(zmin.max(0).min())
    ok = zx >= 0
    G = float(zy[ok].max()) if ok.any() else -math.inf
    return {"S": S, "G": G, "best": best, "z_x": zx, "z_y": zy}


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
    r"""The ``negative_guidance`` measurement (module docstring); JSON-able, OU time.

    Returns
    -------
    dict
        For ``"model"`` and ``"exact"`` and each mode (``"dynamic"``, ``"constant"``): lists over
        ``scales`` of the :func:`guidance_metrics`; the unguided (:math:`\lambda = 0`) metrics;
        ``{who}_dominance``: the quality and balance planes' :func:`front_dominance` statistics
        of dynamic over constant guidance (paired s.e. of :func:`paired_differences`); the
        MMD² floor (a fresh sample of the remaining classes against the reference).
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
    krr_m = two_sample.gaussian_kernel(reference, reference, bandwidth)
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
        m, v = _parts(gc.posterior(x, 1e-3).argmax(1), x, c, gc.weights, reference, bandwidth, krr)
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


def _plot(p: dict, check_scale: float, path, *, what: str = "class"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    whos = [w for w in ("model", "exact") if f"{w}_dynamic" in p]
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.2))
    sc = np.asarray(p["scales"])
    for who in whos:
        ls, alpha = ("-", 1.0) if who == "model" else ("--", 0.5)
        for mode, col in (("dynamic", "C0"), ("constant", "C3")):
            rows = p[f"{who}_{mode}"]
            u = np.array([r["unwanted"] for r in rows])
            use = np.array([r["unwanted_se"] for r in rows])
            m = np.array([r["mmd2"] for r in rows])
            mse = np.array([r["mmd2_se"] for r in rows])
            kl = np.array([r["balance_kl"] for r in rows])
            name = "DNG" if mode == "dynamic" else "NP"
            label = f"{name}, {'trained' if who == 'model' else 'exact denoisers'}"
            xerr = np.vstack([np.minimum(3 * use, u), 3 * use])       # fractions stay >= 0
            yerr = np.vstack([np.minimum(3 * mse, np.maximum(m, 1e-5) - 1e-5), 3 * mse])
            a1.errorbar(u, np.maximum(m, 1e-5), xerr=xerr, yerr=yerr, fmt="o" + ls, ms=4, color=col,
                        alpha=alpha, label=label)
            a2.errorbar(u, kl, xerr=xerr, fmt="o" + ls, ms=4, color=col, alpha=alpha, label=label)
            a3.plot(sc, u, "o" + ls, ms=3, color=col, alpha=alpha, label=label)
            if who == "model":
                for s_, uu, mm, kk in zip(sc, u, m, kl):
                    a1.annotate(f"{s_:g}", (uu, max(mm, 1e-5)), fontsize=6, color=col, xytext=(3, 3),
                                textcoords="offset points")
                    a2.annotate(f"{s_:g}", (uu, kk), fontsize=6, color=col, xytext=(3, 3), textcoords="offset points")
        ug = p[f"{who}_unguided"]
        if who == "model":
            a1.plot([ug["unwanted"]], [max(ug["mmd2"], 1e-5)], "k*", ms=9, label="unguided (trained)")
            a2.plot([ug["unwanted"]], [ug["balance_kl"]], "k*", ms=9, label="unguided (trained)")
    if "mmd2_floor" in p:
        a1.axhline(max(p["mmd2_floor"], 1e-5), color="gray", ls=":", lw=1, label="MMD² of fresh data")
    dq, db = p["model_dominance"]["quality"], p["model_dominance"]["balance"]
    a1.set_yscale("log")
    a1.set_xscale("symlog", linthresh=1e-3)
    a1.set_xlabel(f"fraction of samples in the unwanted {what} (safety)")
    a1.set_ylabel("MMD² to the remaining data (quality)")
    a1.set_title(f"quality plane: dominance S = {dq['S']:.1f}, gain G = {dq['G']:.1f} s.e. (error bars 3 s.e.)",
                 fontsize=9)
    a2.set_xscale("symlog", linthresh=1e-3)
    a2.set_yscale("log")
    for ax in (a1, a2):
        ax.set_xlim(-1e-4, 1.0)
    a2.set_xlabel(f"fraction of samples in the unwanted {what} (safety)")
    a2.set_ylabel("KL(target || obtained shares) (balance)")
    a2.set_title(f"balance plane: dominance S = {db['S']:.1f} s.e.", fontsize=9)
    a3.axvline(check_scale, color="gray", ls=":", lw=1)
    a3.set_xscale("log")
    a3.set_yscale("symlog", linthresh=1e-3)
    a3.set_ylim(-1e-4, 1.0)
    a3.set_xticks(sc)
    a3.set_xticklabels([f"{v:g}" for v in sc])
    a3.minorticks_off()
    a3.set_xlabel(r"guidance scale $\lambda$")
    a3.set_ylabel("unwanted fraction")
    for ax in (a1, a2, a3):
        ax.legend(fontsize=6)
    fig.suptitle(f"Negative guidance away from {what} {p['unwanted_class']}: DNG (dynamic) vs NP (constant) fronts "
                 f"over the λ grid (labels: λ)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _scale_index(p: dict, config: dict):
    s = float(config["check_scale"])
    if s not in p["scales"]:
        raise ValueError(f"check_scale must be one of scales {p['scales']}, got {s}")
    return s, p["scales"].index(s)


def _claims(p: dict, requires: list, note_exact: str = "") -> list:
    """The dominance verdicts of ``koulischer.dng`` (quality plane S and G, balance plane S)."""
    from .engine.verdicts import Verdict

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
    from .engine.verdicts import ExperimentResult, Verdict

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
    held-out real digits of the other classes; balance the KL of the module docstring against
    the training frequencies. The classifier's ceiling is its false-positive rate for the
    unwanted digit on those held-out digits (``classifier_fpr``). OU time; JSON-able."""
    from diffphase.numerics import sde, two_sample

    from .classifier import ClassifierConfig, penultimate_features, predict, train_classifier

    net, hist, ds = train_digits_conditional(train, seed, device, cache_dir, progress)
    c = int(unwanted)
    cfg = ClassifierConfig(**classifier)
    clf, clf_info = train_classifier(cfg, ds, device=device, cache_dir=cache_dir, progress=progress)
    _, test = ds.split(cfg.test_fraction, cfg.split_seed)
    keep = test.labels.numpy() != c
    real_others = test.data.numpy()[keep]
    fpr = float(np.mean(predict(clf, real_others) == c))
    ref = np.asarray(penultimate_features(clf, real_others), dtype=np.float64)
    h = two_sample.median_bandwidth(ref, seed=seed)
    nr = ref.shape[0]
    krr_m = two_sample.gaussian_kernel(ref, ref, h)
    krr = float((krr_m.sum() - np.trace(krr_m)) / (nr * (nr - 1)))
    krr_rows = (krr_m.sum(1) - np.diag(krr_m)) / (nr - 1)
    freq = np.bincount(ds.labels.numpy(), minlength=net.K) / len(ds)
    times = sde.time_grid(float(grid["t_max"]), float(grid["t_end"]), int(grid["n_steps"]), grid.get("kind", "log"))
    x0 = np.random.default_rng(seed + 1).standard_normal((n_samples, net.d))
    den = net.guidance_denoisers(c)

    def run(scale, mode="dynamic"):
        x = np.asarray(info.negative_guidance_sample(den, x0, times, float(scale), mode=mode, prior=float(freq[c]),
                                                     seed=seed + 2).x, dtype=np.float32)
        m, v = _parts(predict(clf, x), penultimate_features(clf, x), c, freq, ref, h, krr)
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


def run_negative_guidance_digits(config: dict, ctx) -> "ExperimentResult":
    r"""``negative_guidance_digits``: :func:`digits_guidance_point` with verdicts from
    :data:`TOLERANCES` (dominance over ``config["scales"]``; the removal against the
    classifier's ceiling at ``config["check_scale"]``)."""
    from .engine.verdicts import ExperimentResult, Verdict

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
    fig = _plot(p, s, ctx.figure_path(), what="digit")
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers={"point": p},
                            figures=[fig.name])


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
        title="Dynamic negative guidance vs negative prompting: safety, quality and balance fronts over a guidance "
              "scale grid (Koulischer et al.)",
        run=run_negative_guidance,
        cost=cost_negative_guidance,
        quick={"mixture": MIXTURE_QUICK, "n_train": 20000, "train": TRAIN_QUICK, "unwanted": 0,
               "scales": [1.0, 2.0, 4.0, 8.0], "check_scale": 4.0, "n_samples": 2000,
               "grid": {"t_max": 6.0, "t_end": 1e-3, "n_steps": 100, "kind": "log"}, "seed": 0},
        full={"mixture": MIXTURE_FULL, "n_train": 100000, "train": TRAIN_FULL, "unwanted": 0,
              "scales": [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0], "check_scale": 4.0, "n_samples": 10000,
              "grid": {"t_max": 8.0, "t_end": 1e-3, "n_steps": 400, "kind": "log"}, "seed": 0},
    ),
    Experiment(
        name="negative_guidance_digits",
        title="Dynamic negative guidance on digits: safety, quality and balance fronts against the classifier's "
              "own ceiling",
        run=run_negative_guidance_digits,
        cost=cost_negative_guidance_digits,
        quick={"train": dict(TRAIN_DIGITS, steps=6000), "classifier": CLASSIFIER_DIGITS, "unwanted": 8,
               "scales": [0.5, 1.0, 2.0, 4.0, 8.0], "check_scale": 2.0, "n_samples": 1000,
               "grid": {"t_max": 6.0, "t_end": 1e-3, "n_steps": 100, "kind": "log"}, "seed": 0},
        full={"train": TRAIN_DIGITS, "classifier": CLASSIFIER_DIGITS, "unwanted": 8,
              "scales": [0.5, 1.0, 2.0, 4.0, 8.0, 16.0], "check_scale": 2.0, "n_samples": 5000,
              "grid": {"t_max": 6.0, "t_end": 1e-3, "n_steps": 200, "kind": "log"}, "seed": 0},
        modes=("full",),
    ),
]
