r"""The metrics of guided samples and the dominance statistics of ``negative_guidance``
(:mod:`diffphase.validation.guidance`): safety (unwanted fraction), balance (the authors' KL and
a total variation), quality (unbiased :math:`\mathrm{MMD}^2` to the remaining data), their paired
standard errors between runs on the same noise (:func:`paired_differences`), and the dominance
of one front of points over another within errors (:func:`front_dominance`).
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics.gaussian_mixture import GaussianMixture

__all__ = ["N_BOOT", "sample_metrics", "guidance_metrics", "paired_differences", "front_dominance"]

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


def sample_metrics(labels, feats, unwanted: int, weights, reference, bandwidth: float, krr: float | None = None):
    r"""Metrics of one run of ``n`` samples and the per-sample vectors of its paired standard
    errors (:func:`paired_differences`).

    Safety: the fraction :math:`u` of ``labels`` equal to ``unwanted`` (:math:`c`), binomial
    s.e. :math:`\sqrt{\max(u(1-u), 1/n)/n}`. Balance: ``balance_kl`` (the authors' KL of
    :mod:`diffphase.validation.guidance`) and ``balance_tv``, the total variation between the
    shares of the kept classes among the kept samples and
    :math:`\pi_y/\sum_{y'\ne c}\pi_{y'}`. Quality: the unbiased Gaussian-kernel
    :math:`\mathrm{MMD}^2` of the features :math:`x` to the reference :math:`R`,

    .. math:: \mathrm{MMD}^2 = \overline{a} + \overline{k(R,R)} - 2\,\overline{b},\qquad
              a_k = \frac{1}{n-1}\sum_{l\ne k}k(x_k,x_l),\quad b_k = \overline{k(x_k,R)},

    with :math:`\overline{k(R,R)}` the off-diagonal mean (``krr``, computed when not given).

    Parameters
    ----------
    labels : array_like of int, shape (n,)
        Class of every sample, ``n >= 2``.
    feats : array_like, shape (n, F)
        Samples (or their features) for the MMD².
    unwanted : int
        The unwanted class, in ``[0, K)``.
    weights : array_like, shape (K,)
        Target class weights.
    reference : array_like, shape (n_R, F)
        Reference samples of the remaining classes, ``n_R >= 2``.
    bandwidth : float
        Gaussian-kernel bandwidth, > 0.
    krr : float, optional
        Off-diagonal mean of the reference's kernel matrix (shared by runs against the same
        reference).

    Returns
    -------
    metrics : dict
        ``unwanted``, ``unwanted_se``, ``balance_tv``, ``balance_kl``, ``shares`` (kept classes
        among the kept samples), ``class_shares`` (all K classes), ``mmd2``.
    vectors : dict
        ``labels``; ``g`` (:math:`a_k - b_k`, shape (n,)) and ``c``
        (:math:`\overline{k(x,r)}` per reference point, shape (n_R,)), the first-order
        projections of the MMD².

    Raises
    ------
    ValueError
        If the shapes disagree, ``n < 2``, ``n_R < 2``, ``bandwidth <= 0`` or ``unwanted`` is
        not a class.
    """
    from diffphase.numerics import stats

    labels = np.asarray(labels).astype(np.int64)
    feats = np.asarray(feats, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if labels.ndim != 1 or labels.size < 2:
        raise ValueError(f"labels must be 1-d with at least 2 samples, got shape {labels.shape}")
    if feats.ndim != 2 or feats.shape[0] != labels.size:
        raise ValueError(f"feats must have shape ({labels.size}, F), got {feats.shape}")
    if reference.ndim != 2 or reference.shape[0] < 2 or reference.shape[1] != feats.shape[1]:
        raise ValueError(f"reference must have shape (n_R >= 2, {feats.shape[1]}), got {reference.shape}")
    if not float(bandwidth) > 0:
        raise ValueError(f"bandwidth must be > 0, got {bandwidth}")
    if not 0 <= int(unwanted) < len(weights):
        raise ValueError(f"unwanted must be a class in [0, {len(weights)}), got {unwanted}")
    n, nr = labels.size, reference.shape[0]
    frac = float(np.mean(labels == unwanted))
    K = len(weights)
    others = [y for y in range(K) if y != unwanted]
    kept = labels[labels != unwanted]
    w = np.asarray(weights, dtype=np.float64)[others]
    w = w / w.sum()
    shares = np.array([np.mean(kept == y) for y in others]) if kept.size else np.full(len(others), np.nan)
    kxx = stats.gaussian_kernel(feats, feats, bandwidth)
    kxr = stats.gaussian_kernel(feats, reference, bandwidth)
    if krr is None:
        krr_m = stats.gaussian_kernel(reference, reference, bandwidth)
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
    """First-order s.e. of one run's MMD² (as numerics.stats.mmd2)."""
    from diffphase.numerics import stats

    g, c = metrics_vectors["g"], metrics_vectors["c"]
    krr = stats.gaussian_kernel(reference, reference, bandwidth)
    nr = krr.shape[0]
    gr = (krr.sum(1) - np.diag(krr)) / (nr - 1) - c
    return math.sqrt(max(4.0 * g.var(ddof=1) / g.size + 4.0 * gr.var(ddof=1) / nr, 0.0))


def guidance_metrics(x, gc: GaussianMixture, unwanted: int, reference, bandwidth: float) -> dict:
    r"""Metrics of guided samples ``x`` (B, d) of the mixture ``gc``.

    Returns ``unwanted`` (fraction labelled :math:`c` by the exact posterior at
    :math:`t = 10^{-3}`, with its binomial s.e.), ``balance_kl`` (the authors' balance metric,
    :mod:`diffphase.validation.guidance`), ``balance_tv`` (total variation between the other classes' shares and
    :math:`\pi_y/\sum_{y'\ne c}\pi_{y'}`), ``class_shares`` (all K classes), ``mmd2``/``mmd2_se``
    (unbiased :math:`\mathrm{MMD}^2` to ``reference``, samples of the remaining classes, with
    the first-order s.e. of :func:`diffphase.numerics.stats.mmd2`) and ``median_distance``
    (median distance to the nearest class mean)."""
    x = np.asarray(x, dtype=np.float64)
    out, vec = sample_metrics(gc.posterior(x, 1e-3).argmax(1), x, unwanted, gc.weights, reference, bandwidth)
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
        Runs as returned by :func:`sample_metrics` (labels, ``g``, ``c``).
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
    from diffphase.numerics.checks import check_int

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
