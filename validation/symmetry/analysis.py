r"""Reading the curves of ``late_start``: the best start time on a grid of start times, and the
knee, flatness and degradation of a plain-start curve.

All times are OU times (:mod:`diffphase.numerics.conventions`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["best_start_time", "analyse_plain_curve"]


def best_start_time(t0s, mmd2, stderr, n_boot: int = 400, seed=0) -> tuple[float, float]:
    r"""Best start time :math:`t_0^* = \arg\min_{t_0}\widehat{\mathrm{MMD}}{}^2(t_0)` on a grid,
    with a bootstrap standard error.

    The grid minimum is refined by the vertex of the parabola through it and its two
    neighbours (clipped to the neighbours; the grid point itself at an end of the grid or when
    the three points are not convex). The error is the standard deviation of the refined
    argmin over ``n_boot`` parametric resamples :math:`\mathrm{MMD}^2_k + s_k\xi_k`
    (independent samplers per start time, so independent :math:`\xi_k`). OU time.

    Parameters
    ----------
    t0s : array_like, shape (K,)
        Start times, strictly increasing, ``K >= 2``.
    mmd2, stderr : array_like, shape (K,)
        Estimates and their standard errors (``>= 0``).
    n_boot : int
        Bootstrap resamples (``>= 2``).
    seed : int

    Returns
    -------
    (float, float)
        :math:`t_0^*` and its bootstrap standard error.

    Examples
    --------
    >>> t, se = best_start_time([1.0, 2.0, 3.0, 4.0], [0.5, 0.1, 0.2, 0.6], [0.0, 0.0, 0.0, 0.0])
    >>> round(t, 6), round(se, 9)          # vertex of the parabola through the three lowest
    (2.3, 0.0)
    """
    from diffphase.numerics.checks import check_int

    t = np.asarray(t0s, dtype=np.float64)
    y = np.asarray(mmd2, dtype=np.float64)
    s = np.asarray(stderr, dtype=np.float64)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t)):
        raise ValueError("t0s must be a strictly increasing 1-d grid of at least 2 finite OU times")
    if y.shape != t.shape or s.shape != t.shape or not np.all(np.isfinite(y)) or np.any(~(s >= 0)):
        raise ValueError(f"mmd2 and stderr must be finite arrays of shape {t.shape}, stderr >= 0")
    n_boot = check_int("n_boot", n_boot, minimum=2)

    def argmin(v):
        k = int(np.argmin(v))
        if k == 0 or k == v.size - 1:
            return float(t[k])
        a, b, _ = np.polyfit(t[k - 1:k + 2], v[k - 1:k + 2], 2)
        if a <= 0:
            return float(t[k])
        return float(np.clip(-b / (2 * a), t[k - 1], t[k + 1]))

    rng = np.random.default_rng(seed)
    boot = [argmin(y + s * rng.standard_normal(y.size)) for _ in range(n_boot)]
    return argmin(y), float(np.std(boot, ddof=1))


def analyse_plain_curve(curve: dict, z_flat: float, n_boot: int = 400, seed: int = 0) -> dict:
    r"""Knee, flatness above it and degradation below it of a :func:`plain_start_curve`.

    * knee: :func:`~diffphase.numerics.symmetry.second_derivative_knee` of MMD² against the
      DDPM start step (the authors' axis), :math:`j^*`; its OU time :math:`t_{knee}`;
    * ``flat``: :func:`~diffphase.numerics.symmetry.flatness` over the starts strictly above
      the knee (NaN when the knee is the second-latest start: nothing to compare);
    * ``degrade``: the excess z of the start just below the knee over the latest start
      (:func:`~diffphase.numerics.symmetry.excess_z`);
    * ``onset``: OU time of the earliest start from which every start up to the latest has
      excess z at most ``z_flat`` (where the curve becomes flat, whatever the knee says);
    * ``knee_boot``: knee OU times of ``n_boot`` parametric resamples
      :math:`Q_j + s_j\xi_j` (16th, 50th, 84th percentiles) and the share of resamples that
      put the knee at the measured grid point.

    Returns
    -------
    dict
    """
    from diffphase.numerics import symmetry as sb

    ks = np.asarray(curve["starts"], dtype=np.float64)
    t0s = np.asarray(curve["t0s"], dtype=np.float64)
    y = np.asarray(curve["mmd2"], dtype=np.float64)
    se = np.asarray(curve["se"], dtype=np.float64)
    _, j, d2 = sb.second_derivative_knee(ks, y)
    z = sb.excess_z(y, se)
    flat, j_flat = sb.flatness(y, se, j + 1) if j + 1 <= y.size - 2 else (math.nan, -1)
    ok = z[:-1] <= z_flat
    i = y.size - 1
    while i > 0 and ok[i - 1]:
        i -= 1
    rng = np.random.default_rng(seed)
    boot = np.array([sb.second_derivative_knee(ks, y + se * rng.standard_normal(y.size))[1] for _ in range(n_boot)])
    return {"knee_index": j, "knee_step": int(ks[j]), "t_knee": float(t0s[j]), "second_derivative": d2,
            "z": z, "flat": flat, "flat_index": j_flat, "degrade": float(z[j - 1]), "degrade_t0": float(t0s[j - 1]),
            "onset_index": i, "t_onset": float(t0s[i]),
            "knee_boot": [float(np.percentile(t0s[boot], q)) for q in (16, 50, 84)],
            "knee_boot_share": float(np.mean(boot == j))}
