r"""Slopes of the forward--backward curves of ``rhm_discrete`` (:mod:`diffphase.validation.rhm`)
at the class crossing: weighted least-squares slopes (:func:`local_slope`), the root/leaf
ratio (:func:`slope_ratio`), and the growth of the slopes with depth (:func:`slope_growth`,
:func:`sharpening`). Noise levels :math:`\varepsilon = 1-e^{-2t}` at OU time ``t``.
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics.checks import check_real

from .tolerances import SLOPE_WINDOW

__all__ = ["local_slope", "slope_ratio", "slope_growth", "sharpening"]


def local_slope(noises, p, se, center, half_width=SLOPE_WINDOW):
    r"""Weighted least-squares slope :math:`dP/d\varepsilon` of a curve over the grid points
    with :math:`|\varepsilon-\varepsilon_c|\le` ``half_width`` (weights :math:`1/\sigma^2`,
    :math:`\sigma` = ``se`` floored at 1e-4), and its standard error
    :math:`(\sum_k w_k(\varepsilon_k-\bar\varepsilon)^2)^{-1/2}` (points independent).
    Noise levels :math:`\varepsilon = 1-e^{-2t}`.

    Parameters
    ----------
    noises, p, se : array_like, shape (k,)
        Grid, curve, standard errors.
    center : float
        :math:`\varepsilon_c` (e.g. the class crossing).
    half_width : float
        Window half-width (> 0).

    Returns
    -------
    (float, float)
        Slope and standard error; ``nan`` with fewer than 3 points in the window.
    """
    half_width = check_real("half_width", half_width, low=0, low_open=True)
    x, y, se = (np.asarray(a, dtype=np.float64) for a in (noises, p, se))
    if not (x.shape == y.shape == se.shape and x.ndim == 1):
        raise ValueError(f"noises, p and se must be 1-d arrays of one length, got {x.shape}, {y.shape}, {se.shape}")
    if not math.isfinite(center):
        return math.nan, math.nan
    sel = np.abs(x - center) <= half_width + 1e-12
    if sel.sum() < 3:
        return math.nan, math.nan
    w = 1.0 / np.maximum(se[sel], 1e-4) ** 2
    xs, ys = x[sel], y[sel]
    xm = np.sum(w * xs) / w.sum()
    sxx = np.sum(w * (xs - xm) ** 2)
    slope = np.sum(w * (xs - xm) * ys) / sxx
    return float(slope), float(math.sqrt(1.0 / sxx))



def slope_growth(a, a_se, b, b_se):
    r"""Relative growth :math:`g = |b|/|a| - 1` of a slope from ``a`` (shallower hierarchy) to
    ``b`` (deeper), and its standard error by error propagation (independent estimates),
    :math:`\sigma_g = |b/a|\sqrt{(\sigma_a/a)^2+(\sigma_b/b)^2}`. ``nan`` if ``a`` is 0 or
    anything is not finite."""
    vals = [float(x) for x in (a, a_se, b, b_se)]
    if not all(math.isfinite(x) for x in vals) or vals[0] == 0 or vals[2] == 0:
        return math.nan, math.nan
    a, a_se, b, b_se = vals
    r = abs(b / a)
    return float(r - 1.0), float(r * math.sqrt((a_se / a) ** 2 + (b_se / b) ** 2))


def sharpening(noises, shallow, deep, eps_shallow, eps_deep, half_width=SLOPE_WINDOW) -> dict:
    r"""Does the class transition sharpen with depth while the leaves do not?

    From the per-level curves of a shallower and a deeper hierarchy (same grid of noise
    levels :math:`\varepsilon = 1-e^{-2t}`, root first, leaves last), with
    :math:`\varepsilon_{1/2}` the class crossing of each:

    * root: :math:`S_0 = |dP_0/d\varepsilon|` at each hierarchy's own crossing
      (:func:`local_slope`), growth :math:`g_0 = S_0^{\rm deep}/S_0^{\rm shallow} - 1`;
    * leaves: :math:`S_L = |dP_L/d\varepsilon|` of both leaf curves at the **same** noise
      level, the deeper crossing (the crossing moves with depth, and the leaf curve is not
      straight, so slopes at different levels would differ without any change of the
      curve), growth :math:`g_L = S_L^{\rm deep}/S_L^{\rm shallow} - 1`.

    The claim (Sclocchi, Favero & Wyart, arXiv 2402.16991) is :math:`g_0 > 0`, :math:`g_L\approx 0`.

    Parameters
    ----------
    noises : array_like, shape (k,)
    shallow, deep : tuple of (p, se)
        Curves ``(k, L+1)`` and standard errors of the two hierarchies.
    eps_shallow, eps_deep : float
        Their class crossings.
    half_width : float
        Slope window.

    Returns
    -------
    dict
        ``root_shallow``, ``root_deep``, ``leaf_shallow``, ``leaf_deep`` (slope magnitudes) with
        ``*_se``; ``root_growth``, ``leaf_growth`` with ``*_se``; ``eps_leaf`` (where the leaf
        slopes are taken).
    """
    (p1, s1), (p2, s2) = ((np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64))
                          for p, q in (shallow, deep))
    out = {"eps_leaf": float(eps_deep)}
    for name, (p, se), eps, col in (("root_shallow", (p1, s1), eps_shallow, 0), ("root_deep", (p2, s2), eps_deep, 0),
                                    ("leaf_shallow", (p1, s1), eps_deep, -1), ("leaf_deep", (p2, s2), eps_deep, -1)):
        a, a_se = local_slope(noises, p[:, col], se[:, col], eps, half_width)
        out[name], out[name + "_se"] = abs(a), a_se
    out["root_growth"], out["root_growth_se"] = slope_growth(out["root_shallow"], out["root_shallow_se"],
                                                             out["root_deep"], out["root_deep_se"])
    out["leaf_growth"], out["leaf_growth_se"] = slope_growth(out["leaf_shallow"], out["leaf_shallow_se"],
                                                             out["leaf_deep"], out["leaf_deep_se"])
    return out



def slope_ratio(noises, p_root, se_root, p_leaf, se_leaf, center, half_width=SLOPE_WINDOW):
    r"""Ratio of the least-squares slopes :math:`(dP_0/d\varepsilon)/(dP_L/d\varepsilon)` of the
    root and leaf curves over :math:`|\varepsilon-\varepsilon_c|\le` ``half_width``, and its
    standard error by error propagation (the two slopes taken as independent).

    Returns
    -------
    (float, float)
    """
    a, sa = local_slope(noises, p_root, se_root, center, half_width)
    b, sb = local_slope(noises, p_leaf, se_leaf, center, half_width)
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return math.nan, math.nan
    r = a / b
    return float(r), float(abs(r) * math.sqrt((sa / a) ** 2 + (sb / b) ** 2))

