r"""Statistics of measured curves and samples: crossing times, extremum locations, bootstrap
errors, level crossings, and the kernel two-sample statistic (MMD).

A measured order parameter (clone agreement :math:`\phi(t)`, collapse agreement
:math:`\phi_C(t)`, a memorized fraction, a quality curve) is monotone or unimodal in theory but
noisy in practice; these functions read its critical points with stated errors.

* :func:`crossing` — where the monotone least-squares fit (:func:`monotone_fit`, pool adjacent
  violators) crosses a level, by linear interpolation, so that noise cannot produce several
  crossings; with standard errors of the points, a parametric-bootstrap standard error; an
  explicit policy when there is no crossing (``on_missing="raise"`` or ``"nan"``);
* :func:`extremum` — the location of a curve's maximum or minimum on a grid, refined by the
  vertex of the parabola through the extreme point and its neighbours (:func:`parabola_vertex`),
  with a parametric-bootstrap standard error;
* :func:`parametric_bootstrap` (redraw every point :math:`y_i + s_i\xi_i`) and
  :func:`bootstrap_stderr` (resample i.i.d. rows, :func:`scipy.stats.bootstrap`);
* :func:`level_crossings` — every crossing of a level by a sampled curve, linearly
  interpolated;
* the unbiased Gaussian-kernel MMD² (Gretton et al., JMLR 13, 2012) between distributions
  :math:`P` and :math:`Q`,

  .. math:: \mathrm{MMD}^2 = \mathbb E\,k(x,x') + \mathbb E\,k(y,y') - 2\,\mathbb E\,k(x,y),
            \qquad x,x'\sim P,\ y,y'\sim Q,\quad k(x,y) = e^{-|x-y|^2/2h^2}:

  :func:`gaussian_kernel`, :func:`median_bandwidth` (the median heuristic for :math:`h`),
  :func:`mmd2` (the U-statistic and its first-order standard error),
  :func:`mmd2_permutation_pvalue`, :func:`gaussian_mmd2` (the closed form between two
  Gaussians, the exact reference of the tests).

Nothing here involves time conventions: the abscissa is whatever the caller passes (OU times,
noise levels, :math:`\log K`).

Examples
--------
>>> import numpy as np
>>> c = crossing([0.0, 1.0, 2.0], [0.95, 0.7, 0.5], 0.775)
>>> round(c.t, 12)
0.7
>>> round(extremum([1.0, 2.0, 3.0, 4.0], [0.5, 0.1, 0.2, 0.6], kind="min").location, 6)
2.3
>>> rng = np.random.default_rng(0)
>>> x, y = rng.standard_normal((500, 2)), rng.standard_normal((500, 2)) + [1.0, 0.0]
>>> r = mmd2(x, y, bandwidth=1.0)
>>> exact = gaussian_mmd2([0, 0], np.eye(2), [1, 0], np.eye(2), 1.0)
>>> bool(abs(r.mmd2 - exact) < 4 * r.stderr)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .checks import check_array, check_data, check_int, check_real, check_times

__all__ = [
    "monotone_fit",
    "NoCrossing",
    "Crossing",
    "crossing",
    "parabola_vertex",
    "Extremum",
    "extremum",
    "parametric_bootstrap",
    "bootstrap_stderr",
    "level_crossings",
    "gaussian_kernel",
    "median_bandwidth",
    "MMDResult",
    "mmd2",
    "mmd2_permutation_pvalue",
    "gaussian_mmd2",
]


# ---------------------------------------------------------------------------------------
# crossings of monotone curves
# ---------------------------------------------------------------------------------------
def monotone_fit(y, weights=None, *, decreasing: bool = True) -> np.ndarray:
    r"""Weighted least-squares monotone fit :math:`\min\sum_i w_i(y_i - f_i)^2` subject to
    :math:`f_1\ge f_2\ge\dots` (``decreasing``) or :math:`\le` (pool adjacent violators).

    Examples
    --------
    >>> monotone_fit([3.0, 1.0, 2.0]).tolist()
    [3.0, 1.5, 1.5]
    """
    y = check_array("y", y)
    w = np.ones_like(y) if weights is None else check_array("weights", weights)
    sign = 1.0 if decreasing else -1.0
    vals: list[float] = []
    wts: list[float] = []
    counts: list[int] = []
    for yi, wi in zip(sign * y, w):
        vals.append(float(yi))
        wts.append(float(wi))
        counts.append(1)
        while len(vals) > 1 and vals[-2] < vals[-1]:
            wsum = wts[-2] + wts[-1]
            vals[-2:] = [(vals[-2] * wts[-2] + vals[-1] * wts[-1]) / wsum]
            wts[-2:] = [wsum]
            counts[-2:] = [counts[-2] + counts[-1]]
    return sign * np.repeat(vals, counts)


class NoCrossing(ValueError):
    """The fitted curve does not cross the level inside the abscissa range."""


def _crossing_point(t, y, level, w, decreasing, name):
    """Crossing of the monotone fit of (t, y) sorted by t (inputs already checked)."""
    order = np.argsort(t, kind="stable")
    t, y, w = t[order], y[order], w[order]
    fit = monotone_fit(y, w, decreasing=decreasing)
    s = 1.0 if decreasing else -1.0
    above = s * fit >= s * level
    if not above[0] or above[-1]:
        raise NoCrossing(
            f"{name} does not cross level={level} inside t in [{t[0]:.4g}, {t[-1]:.4g}] "
            f"(fitted {name} from {fit[0]:.4g} to {fit[-1]:.4g}); extend the time grid"
        )
    k = int(np.argmin(above))
    t0, t1, f0, f1 = t[k - 1], t[k], fit[k - 1], fit[k]
    if f0 == f1:
        return float(t0)
    return float(t0 + (f0 - level) * (t1 - t0) / (f0 - f1))


@dataclass(frozen=True)
class Crossing:
    r"""Result of :func:`crossing`.

    Attributes
    ----------
    t : float
        Where the monotone fit crosses the level (NaN when it does not and
        ``on_missing="nan"``).
    stderr : float
        Parametric-bootstrap standard error: 0 when every point is exact, ``inf`` when more
        than 10 % of the replicates do not cross, NaN without ``stderr`` or without a crossing.
    n_replicates : int
        Bootstrap replicates that crossed (0 without a bootstrap).
    """

    t: float
    stderr: float
    n_replicates: int

    @property
    def found(self) -> bool:
        """Whether the fit crosses the level."""
        return math.isfinite(self.t)


def crossing(t, y, level, *, stderr=None, weights=None, decreasing: bool = True, n_boot: int = 400, seed=0,
             on_missing: str = "raise", name: str = "y") -> Crossing:
    r"""Where a measured monotone curve crosses ``level``, with a bootstrap standard error.

    The points are fitted by the weighted monotone least-squares curve (:func:`monotone_fit`)
    and the crossing of the fit is linearly interpolated between the two grid points that
    bracket it, so noise cannot produce several crossings.

    With ``stderr`` (standard errors :math:`s_i` of the points) the fit's weights are
    :math:`1/\max(s_i^2, \epsilon)` and each of ``n_boot`` bootstrap replicates redraws every
    point as :math:`y_i^* = y_i + s_i\xi_i`, :math:`\xi_i\sim\mathcal N(0,1)` independent
    (appropriate for clone agreements, whose points come from independent pairs with binomial
    errors :math:`s_i`), clipped to [0, 1] when ``y`` is in [0, 1], and refits
    (:func:`parametric_bootstrap`); the standard error is the standard deviation of the
    replicate crossings. Replicates that do not cross are dropped; if more than 10 % are
    dropped the error is ``inf``.

    Parameters
    ----------
    t : array_like, shape (k,)
        Abscissae (finite, ``>= 0``; OU times or noise levels), any order, ``k >= 2``.
    y : array_like, shape (k,)
        Measured values (finite).
    level : float
        The level to cross, in (0, 1).
    stderr : array_like, shape (k,), optional
        Standard errors of ``y`` (``>= 0``); gives the bootstrap error and the weights.
    weights : array_like, shape (k,), optional
        Positive weights of the fit when ``stderr`` is not given (e.g. inverse variances).
    decreasing : bool
        Whether ``y`` decreases with ``t`` (clone agreements do).
    n_boot : int
        Bootstrap replicates (``>= 2``).
    seed : int
        Seed of the replicates.
    on_missing : {"raise", "nan"}
        What to do when the fit does not cross ``level`` inside the range: raise
        :class:`NoCrossing` (a ``ValueError``), or return ``Crossing(nan, nan, 0)``. Bad input
        raises ``ValueError`` either way.
    name : str
        Name of ``y`` in error messages.

    Returns
    -------
    Crossing

    Examples
    --------
    >>> c = crossing([1.0, 2.0, 3.0], [0.9, 0.7, 0.5], 0.8, stderr=[0.0, 0.0, 0.0])
    >>> round(c.t, 6), c.stderr
    (1.5, 0.0)
    >>> crossing([1.0, 2.0, 3.0], [0.9, 0.7, 0.5], 0.3, on_missing="nan").found
    False
    """
    if on_missing not in ("raise", "nan"):
        raise ValueError(f"on_missing must be 'raise' or 'nan', got {on_missing!r}")
    t = check_times(t)
    y = check_array(name, y)
    if t.ndim != 1 or y.shape != t.shape or t.size < 2:
        raise ValueError(f"t and {name} must be 1-d of equal length >= 2, got {t.shape} and {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} must be finite")
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    s = None
    if stderr is not None:
        if weights is not None:
            raise ValueError("give stderr or weights, not both (stderr sets the weights)")
        s = check_array("stderr", stderr)
        if s.shape != y.shape or not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError(f"stderr must be finite, >= 0 and of the same shape as {name}")
        n_boot = check_int("n_boot", n_boot, minimum=2)
        w = 1.0 / np.maximum(s * s, max(1e-12, float(np.max(s)) ** 2 * 1e-6))
    else:
        w = np.ones_like(t) if weights is None else check_array("weights", weights)
        if w.shape != t.shape or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("weights must be positive, finite and of the same shape as t")
    try:
        tc = _crossing_point(t, y, level, w, decreasing, name)
    except NoCrossing:
        if on_missing == "nan":
            return Crossing(math.nan, math.nan, 0)
        raise
    if s is None:
        return Crossing(tc, math.nan, 0)
    if not np.any(s > 0):
        return Crossing(tc, 0.0, 0)
    reps = parametric_bootstrap(lambda yb: _crossing_point(t, yb, level, w, decreasing, name), y, s,
                                n_boot=n_boot, seed=seed, bounds=(0.0, 1.0) if np.all((y >= 0) & (y <= 1)) else None)
    reps = reps[np.isfinite(reps)]
    if reps.size < 0.9 * n_boot:
        return Crossing(tc, math.inf, int(reps.size))
    return Crossing(tc, float(np.std(reps, ddof=1)), int(reps.size))


# ---------------------------------------------------------------------------------------
# extremum of a sampled curve
# ---------------------------------------------------------------------------------------
def parabola_vertex(x, y, i: int, kind: str = "max") -> float:
    r"""Abscissa of the extremum of the parabola through points ``i-1, i, i+1``.

    With :math:`y = ax^2 + bx + c` through the three points the vertex is :math:`-b/2a`,
    clipped to :math:`[x_{i-1}, x_{i+1}]`; the grid point :math:`x_i` is returned at an end of
    the grid and when the parabola has no ``kind`` extremum (:math:`a\ge0` for a maximum,
    :math:`a\le0` for a minimum).

    Examples
    --------
    >>> parabola_vertex([0.0, 1.0, 2.0], [0.0, 1.0, 0.5], 1)        # -(x - 7/6)^2 shape
    1.1666666666666667
    """
    if kind not in ("max", "min"):
        raise ValueError(f"kind must be 'max' or 'min', got {kind!r}")
    if i == 0 or i == len(x) - 1:
        return float(x[i])
    x0, x1, x2 = x[i - 1: i + 2]
    y0, y1, y2 = y[i - 1: i + 2]
    den = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den
    b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / den
    if (a >= 0) if kind == "max" else (a <= 0):
        return float(x1)
    return float(np.clip(-b / (2 * a), x0, x2))


@dataclass(frozen=True)
class Extremum:
    r"""Result of :func:`extremum`.

    Attributes
    ----------
    location : float
        Refined abscissa of the extremum.
    index : int
        Grid index of the extreme point.
    stderr : float
        Parametric-bootstrap standard error (NaN without ``stderr``).
    """

    location: float
    index: int
    stderr: float


def extremum(x, y, *, kind: str = "max", stderr=None, n_boot: int = 400, seed=0, bounds=None) -> Extremum:
    r"""Location of the maximum (or minimum) of a sampled curve, with a bootstrap error.

    The extreme grid point :math:`k = \arg\max_j y_j` (or :math:`\arg\min`) is refined by
    :func:`parabola_vertex`. With ``stderr`` the standard error is the standard deviation of
    the refined location over ``n_boot`` parametric replicates :math:`y_j + s_j\xi_j`
    (independent :math:`\xi_j`; clipped to ``bounds``, e.g. (0, 1) for fractions), each with
    its own extreme point (:func:`parametric_bootstrap`).

    Parameters
    ----------
    x : array_like, shape (K,)
        Strictly increasing finite abscissae, ``K >= 2`` (pass :math:`\log t` to refine in
        :math:`\log t`).
    y : array_like, shape (K,)
        Finite values.
    kind : {"max", "min"}
    stderr : array_like, shape (K,), optional
        Standard errors of ``y`` (``>= 0``).
    n_boot : int
        ``>= 2``.
    seed : int
    bounds : (float, float), optional
        Clip of the replicates.

    Returns
    -------
    Extremum

    Examples
    --------
    >>> e = extremum([1.0, 2.0, 3.0, 4.0], [0.5, 0.1, 0.2, 0.6], kind="min", stderr=[0.0] * 4)
    >>> round(e.location, 6), e.index, round(e.stderr, 9)     # vertex through the three lowest
    (2.3, 1, 0.0)
    """
    if kind not in ("max", "min"):
        raise ValueError(f"kind must be 'max' or 'min', got {kind!r}")
    x = check_array("x", x)
    y = check_array("y", y)
    if x.ndim != 1 or x.size < 2 or np.any(np.diff(x) <= 0) or not np.all(np.isfinite(x)):
        raise ValueError("x must be a strictly increasing 1-d grid of at least 2 finite values")
    if y.shape != x.shape or not np.all(np.isfinite(y)):
        raise ValueError(f"y must be finite of shape {x.shape}")
    pick = np.argmax if kind == "max" else np.argmin

    def locate(v):
        return parabola_vertex(x, v, int(pick(v)), kind)

    k = int(pick(y))
    if stderr is None:
        return Extremum(locate(y), k, math.nan)
    s = check_array("stderr", stderr)
    if s.shape != x.shape or np.any(~(s >= 0)) or not np.all(np.isfinite(s)):
        raise ValueError(f"stderr must be finite, >= 0, of shape {x.shape}")
    reps = parametric_bootstrap(locate, y, s, n_boot=check_int("n_boot", n_boot, minimum=2), seed=seed,
                                bounds=bounds)
    return Extremum(locate(y), k, float(np.std(reps, ddof=1)))


# ---------------------------------------------------------------------------------------
# bootstraps
# ---------------------------------------------------------------------------------------
def parametric_bootstrap(statistic: Callable, y, stderr, *, n_boot: int = 400, seed=0, bounds=None) -> np.ndarray:
    r"""Replicates of ``statistic(y*)`` with every point redrawn as
    :math:`y_i^* = y_i + s_i\xi_i`, :math:`\xi_i\sim\mathcal N(0,1)` independent (points
    measured independently, with Gaussian errors :math:`s_i`).

    Parameters
    ----------
    statistic : callable
        ``statistic(y_star) -> float``; a ``ValueError`` it raises makes that replicate NaN.
    y, stderr : array_like, shape (k,)
    n_boot : int
        Replicates, ``>= 1``.
    seed : int or numpy.random.Generator
        The replicates draw ``rng.standard_normal(y.shape)`` in turn.
    bounds : (float, float), optional
        Clip of every replicate (e.g. (0, 1) for fractions).

    Returns
    -------
    ndarray, shape (n_boot,)

    Examples
    --------
    >>> reps = parametric_bootstrap(np.mean, np.zeros(4), np.ones(4), n_boot=4000, seed=1)
    >>> bool(abs(reps.std() - 0.5) < 0.02)             # s.e. of a mean of 4: 1/2
    True
    """
    y = check_array("y", y)
    s = check_array("stderr", stderr)
    if s.shape != y.shape:
        raise ValueError(f"stderr must have the shape of y {y.shape}, got {s.shape}")
    n_boot = check_int("n_boot", n_boot, minimum=1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = np.empty(n_boot)
    for b in range(n_boot):
        yb = y + s * rng.standard_normal(y.shape)
        if bounds is not None:
            yb = np.clip(yb, bounds[0], bounds[1])
        try:
            out[b] = statistic(yb)
        except ValueError:
            out[b] = math.nan
    return out


def bootstrap_stderr(data, statistic: Callable, *, n_resamples: int = 1000, seed=0) -> float:
    r"""Standard error of ``statistic`` over i.i.d. rows of ``data`` by the nonparametric
    bootstrap (:func:`scipy.stats.bootstrap`: rows resampled with replacement).

    Parameters
    ----------
    data : array_like, shape (n, ...)
        ``n >= 2`` independent rows.
    statistic : callable
        ``statistic(rows) -> float`` of an array of rows.
    n_resamples : int
        ``>= 2``.
    seed : int or numpy.random.Generator

    Returns
    -------
    float
        The standard deviation of the resampled statistics.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(400)
    >>> bool(abs(bootstrap_stderr(x, np.mean, seed=1) - 1 / 20) < 0.006)   # sigma / sqrt(n)
    True
    """
    from scipy import stats as _stats

    arr = np.asarray(data)
    if arr.ndim < 1 or arr.shape[0] < 2:
        raise ValueError(f"data must have at least 2 rows, got shape {arr.shape}")
    n_resamples = check_int("n_resamples", n_resamples, minimum=2)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    res = _stats.bootstrap((np.arange(arr.shape[0]),), lambda idx: statistic(arr[idx]), vectorized=False,
                           n_resamples=n_resamples, method="percentile", random_state=rng)
    return float(res.standard_error)


def level_crossings(x, y, level: float = 0.0) -> np.ndarray:
    r"""Every crossing of ``level`` by the piecewise-linear curve through ``(x_i, y_i)``.

    A crossing lies between points :math:`i` and :math:`i+1` when :math:`y_i - L` and
    :math:`y_{i+1} - L` have opposite signs, or when :math:`y_{i+1} = L \ne y_i`; it is at
    :math:`x_i + (L - y_i)(x_{i+1} - x_i)/(y_{i+1} - y_i)`.

    Parameters
    ----------
    x, y : array_like, shape (k,)
        The abscissae in the order of the curve (pass :math:`\log t` to interpolate in
        :math:`\log t`) and the values.
    level : float

    Returns
    -------
    ndarray
        The crossings in the order of the curve (empty if none).

    Examples
    --------
    >>> level_crossings([0.0, 1.0, 2.0, 3.0], [1.0, -1.0, -1.0, 1.0]).tolist()
    [0.5, 2.5]
    """
    x = check_array("x", x)
    d = check_array("y", y) - float(level)
    if x.ndim != 1 or d.shape != x.shape:
        raise ValueError(f"x and y must be 1-d of the same length, got {x.shape} and {d.shape}")
    idx = np.flatnonzero((np.sign(d[:-1]) * np.sign(d[1:]) < 0) | ((d[1:] == 0) & (d[:-1] != 0)))
    return x[idx] - d[idx] * (x[idx + 1] - x[idx]) / (d[idx + 1] - d[idx])


# ---------------------------------------------------------------------------------------
# kernel two-sample statistic (MMD)
# ---------------------------------------------------------------------------------------
def _sq_dists(X, Y):
    d2 = np.einsum("ij,ij->i", X, X)[:, None] + np.einsum("ij,ij->i", Y, Y)[None, :] - 2.0 * (X @ Y.T)
    return np.maximum(d2, 0.0)


def _pair(X, Y):
    X = check_data(X, "X", min_rows=2, dtype=np.float64)
    Y = check_data(Y, "Y", min_rows=2, dtype=np.float64)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same dimension, got {X.shape[1]} and {Y.shape[1]}")
    return X, Y


def _check_h(bandwidth):
    return check_real("bandwidth", bandwidth, low=0.0, low_open=True)


def gaussian_kernel(X, Y, bandwidth: float) -> np.ndarray:
    r"""Kernel matrix :math:`K_{ij} = \exp(-|x_i - y_j|^2 / 2h^2)`.

    Parameters
    ----------
    X : array_like, shape (m, d)
    Y : array_like, shape (n, d)
    bandwidth : float
        :math:`h > 0`.

    Returns
    -------
    ndarray, shape (m, n)

    Examples
    --------
    >>> float(gaussian_kernel([[0.0]], [[2.0]], 2.0)[0, 0]) == math.exp(-0.5)
    True
    """
    X = check_data(X, "X", min_rows=1, dtype=np.float64)
    Y = check_data(Y, "Y", min_rows=1, dtype=np.float64)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same dimension, got {X.shape[1]} and {Y.shape[1]}")
    h = _check_h(bandwidth)
    return np.exp(-_sq_dists(X, Y) / (2.0 * h * h))


def median_bandwidth(reference, max_points: int = 2000, seed=0) -> float:
    r"""Median heuristic: :math:`h = \operatorname{median}_{i<j}|r_i - r_j|` over the reference
    set (a random subset of ``max_points`` rows if it is larger).

    Parameters
    ----------
    reference : array_like, shape (n, d)
        Reference points (e.g. held-out data), ``n >= 2``.
    max_points : int
        Rows used at most (``>= 2``); the subset is drawn without replacement with ``seed``.
    seed : int or numpy.random.Generator

    Returns
    -------
    float
        :math:`h > 0`.

    Examples
    --------
    >>> median_bandwidth([[0.0], [1.0], [3.0]])
    2.0
    """
    R = check_data(reference, "reference", min_rows=2, dtype=np.float64)
    max_points = check_int("max_points", max_points, minimum=2)
    if R.shape[0] > max_points:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        R = R[rng.choice(R.shape[0], max_points, replace=False)]
    iu = np.triu_indices(R.shape[0], k=1)
    h = float(np.median(np.sqrt(_sq_dists(R, R)[iu])))
    if not h > 0:
        raise ValueError("reference must contain distinct points (median pairwise distance is 0)")
    return h


@dataclass(frozen=True)
class MMDResult:
    r"""Result of :func:`mmd2`.

    Attributes
    ----------
    mmd2 : float
        Unbiased estimate of :math:`\mathrm{MMD}^2` (can be negative).
    stderr : float
        First-order standard error (see :func:`mmd2`).
    bandwidth : float
    n_x, n_y : int
    """

    mmd2: float
    stderr: float
    bandwidth: float
    n_x: int
    n_y: int


def _mmd_from_blocks(Kxx, Kyy, Kxy):
    m, n = Kxy.shape
    sxx = Kxx.sum() - np.trace(Kxx)
    syy = Kyy.sum() - np.trace(Kyy)
    return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2.0 * Kxy.sum() / (m * n)


def mmd2(X, Y, bandwidth: float) -> MMDResult:
    r"""Unbiased :math:`\mathrm{MMD}^2` between samples ``X`` of :math:`P` and ``Y`` of :math:`Q`.

    .. math:: \widehat{\mathrm{MMD}}{}^2_u = \frac{1}{m(m-1)}\sum_{i\ne j}k(x_i,x_j)
              + \frac{1}{n(n-1)}\sum_{i\ne j}k(y_i,y_j) - \frac{2}{mn}\sum_{i,j}k(x_i,y_j),

    an unbiased estimate (zero in expectation when :math:`P = Q`). Its standard error is the
    first-order Hoeffding term of the two-sample U-statistic,

    .. math:: \operatorname{Var} \approx \frac{4}{m}\operatorname{Var}_x g_x(x)
              + \frac4n\operatorname{Var}_y g_y(y),\quad
              g_x(x) = \mathbb E_{x'}k(x,x') - \mathbb E_yk(x,y),\
              g_y(y) = \mathbb E_{y'}k(y,y') - \mathbb E_xk(x,y),

    with :math:`g` estimated by leave-one-out row means and its variance by the sample
    variance. It is accurate when :math:`P\ne Q`; when :math:`P = Q` the statistic is
    degenerate (its spread is :math:`O(1/n)`, not :math:`O(1/\sqrt n)`) and this error is only
    an order of magnitude — test :math:`P = Q` with :func:`mmd2_permutation_pvalue`.

    Parameters
    ----------
    X : array_like, shape (m, d)
        ``m >= 2``.
    Y : array_like, shape (n, d)
        ``n >= 2``.
    bandwidth : float
        :math:`h > 0` of :func:`gaussian_kernel` (e.g. :func:`median_bandwidth` of a reference).

    Returns
    -------
    MMDResult
    """
    X, Y = _pair(X, Y)
    h = _check_h(bandwidth)
    Kxx, Kyy, Kxy = (gaussian_kernel(A, B, h) for A, B in ((X, X), (Y, Y), (X, Y)))
    m, n = Kxy.shape
    value = _mmd_from_blocks(Kxx, Kyy, Kxy)
    gx = (Kxx.sum(1) - np.diag(Kxx)) / (m - 1) - Kxy.mean(1)
    gy = (Kyy.sum(1) - np.diag(Kyy)) / (n - 1) - Kxy.mean(0)
    var = 4.0 * gx.var(ddof=1) / m + 4.0 * gy.var(ddof=1) / n
    return MMDResult(float(value), math.sqrt(max(var, 0.0)), h, m, n)


def mmd2_permutation_pvalue(X, Y, bandwidth: float, n_permutations: int = 200, seed=None) -> float:
    r"""Permutation p-value of :math:`\widehat{\mathrm{MMD}}{}^2_u` for the hypothesis :math:`P = Q`.

    The pooled sample is relabelled at random ``n_permutations`` times;
    :math:`p = (1 + \#\{\text{permuted} \ge \text{observed}\})/(1 + \text{n\_permutations})`,
    which is valid (:math:`\Pr(p\le\alpha)\le\alpha` under :math:`P = Q`) for any sample size.
    The kernel matrix of the pooled sample is computed once.

    Parameters
    ----------
    X, Y, bandwidth
        As in :func:`mmd2`.
    n_permutations : int
        ``>= 1``.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    float
        In :math:`(0, 1]`.
    """
    X, Y = _pair(X, Y)
    h = _check_h(bandwidth)
    n_permutations = check_int("n_permutations", n_permutations, minimum=1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    Z = np.concatenate([X, Y])
    K = gaussian_kernel(Z, Z, h)
    m = X.shape[0]

    def stat(idx):
        a, b = idx[:m], idx[m:]
        return _mmd_from_blocks(K[np.ix_(a, a)], K[np.ix_(b, b)], K[np.ix_(a, b)])

    observed = stat(np.arange(Z.shape[0]))
    count = sum(stat(rng.permutation(Z.shape[0])) >= observed for _ in range(n_permutations))
    return (1.0 + count) / (1.0 + n_permutations)


def _gauss_mean_kernel(mu, C, h):
    r""":math:`\mathbb E\exp(-|z|^2/2h^2)`, :math:`z\sim\mathcal N(\mu, C)`."""
    d = mu.size
    A = np.eye(d) + C / (h * h)
    sign, logdet = np.linalg.slogdet(A)
    quad = mu @ np.linalg.solve(C + h * h * np.eye(d), mu)
    return math.exp(-0.5 * logdet - 0.5 * quad)


def gaussian_mmd2(mean_x, cov_x, mean_y, cov_y, bandwidth: float) -> float:
    r"""Exact :math:`\mathrm{MMD}^2` between :math:`\mathcal N(\mu_x,\Sigma_x)` and
    :math:`\mathcal N(\mu_y,\Sigma_y)` under the Gaussian kernel of width :math:`h`.

    For :math:`z\sim\mathcal N(\mu, C)`,
    :math:`\mathbb E\,e^{-|z|^2/2h^2} = \det(I + C/h^2)^{-1/2}\exp[-\tfrac12\mu^T(C+h^2I)^{-1}\mu]`;
    with :math:`x - x'\sim\mathcal N(0, 2\Sigma_x)`, :math:`x - y\sim\mathcal N(\mu_x-\mu_y,
    \Sigma_x+\Sigma_y)`:

    .. math:: \mathrm{MMD}^2 = E(0, 2\Sigma_x) + E(0, 2\Sigma_y) - 2E(\mu_x-\mu_y, \Sigma_x+\Sigma_y).

    Parameters
    ----------
    mean_x, mean_y : array_like, shape (d,)
    cov_x, cov_y : array_like, shape (d, d)
        Symmetric positive semi-definite.
    bandwidth : float
        :math:`h > 0`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(gaussian_mmd2([0.0], [[1.0]], [0.0], [[1.0]], 1.0), 15)
    0.0
    """
    h = _check_h(bandwidth)
    arrs = []
    for name, mean, cov in (("x", mean_x, cov_x), ("y", mean_y, cov_y)):
        mu = np.atleast_1d(check_array(f"mean_{name}", mean))
        C = np.atleast_2d(check_array(f"cov_{name}", cov))
        if mu.ndim != 1 or not np.all(np.isfinite(mu)):
            raise ValueError(f"mean_{name} must be a finite 1-d array, got shape {mu.shape}")
        if C.shape != (mu.size, mu.size) or not np.all(np.isfinite(C)):
            raise ValueError(f"cov_{name} must be a finite ({mu.size}, {mu.size}) array, got shape {C.shape}")
        if not np.allclose(C, C.T, rtol=1e-10, atol=1e-12) or np.linalg.eigvalsh(C)[0] < -1e-10 * max(1.0, abs(C).max()):
            raise ValueError(f"cov_{name} must be symmetric positive semi-definite")
        arrs.append((mu, C))
    (mx, Cx), (my, Cy) = arrs
    if mx.size != my.size:
        raise ValueError(f"mean_x and mean_y must have the same dimension, got {mx.size} and {my.size}")
    zero = np.zeros_like(mx)
    return (_gauss_mean_kernel(zero, 2 * Cx, h) + _gauss_mean_kernel(zero, 2 * Cy, h)
            - 2.0 * _gauss_mean_kernel(mx - my, Cx + Cy, h))
