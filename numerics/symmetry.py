r"""Symmetry breaking of the generative dynamics and Gaussian late initialization, numerically
(Raya & Ambrogioni, arXiv 2305.19693, NeurIPS 2023).

Time is OU time :math:`t\ge0` (:math:`x_t = e^{-t}x_0 + \sqrt{\Delta_t}z`,
:math:`\Delta_t = 1-e^{-2t}`). :math:`\theta` always means the paper's signal scale
:math:`\theta = e^{-t} = \sqrt{\bar\alpha}`, exactly :func:`diffphase.numerics.conventions.theta`.
The formulas are derived in :mod:`diffphase.theory.symmetry`.

The generative (reverse-time) SDE :math:`dx = [x + 2\nabla\log P_t]\,d\tau + \sqrt2\,dW` has
drift :math:`-\nabla U`. For the data :math:`\pm a` in one dimension (or the two-class mixture
:math:`\pm m` with spread :math:`\sigma`, projected on :math:`\hat m`, :math:`a = |m|`):

* :func:`potential`, :func:`drift` — :math:`U(x,t)` and :math:`-\partial_xU` (closed forms);
* :func:`fixed_points`, :func:`bifurcation_diagram` — the central and the two symmetric
  fixed points (Brent root, absolute error :math:`\le 10^{-13}`) and their stability;
* :func:`critical_theta` — :math:`\theta_c = \sqrt{\sqrt2-1}` for :math:`\pm1`, and
  :math:`\theta_U = (\sqrt{\Lambda^2+1}-\Lambda)^{1/2}` for a top eigenvalue :math:`\Lambda`;
* :func:`instability_time` — :math:`t_U = \tfrac12\operatorname{arsinh}\Lambda`;
* :func:`late_gaussian`, :func:`sample_late_gaussian` — the Gaussian late initialization.

Examples
--------
>>> from diffphase.numerics import symmetry as sb
>>> round(sb.critical_theta(), 12)            # sqrt(sqrt(2) - 1)
0.643594252906
>>> round(sb.instability_time(1.0), 10)       # -log(theta_c) for the points ±1
0.4406867935
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import conventions as cv
from ._checks import check_int, check_real, check_times

__all__ = [
    "critical_theta",
    "instability_time",
    "potential",
    "drift",
    "centre_curvature",
    "fixed_points",
    "Bifurcation",
    "bifurcation_diagram",
    "late_gaussian",
    "sample_late_gaussian",
]


def _ret(x):
    return float(x) if np.ndim(x) == 0 else x


def _check_lam(top_eigenvalue):
    return check_real("top_eigenvalue", top_eigenvalue, low=0.0, low_open=True)


def critical_theta(top_eigenvalue=1.0) -> float:
    r"""Signal scale :math:`\theta = e^{-t}` at which the centre of the generative dynamics
    loses stability.

    :math:`\theta_c^2 = \sqrt{\Lambda^2+1} - \Lambda`, the positive root of
    :math:`\theta^4 + 2\Lambda\theta^2 - 1`; for the two points :math:`\pm1`
    (:math:`\Lambda = 1`, the default) :math:`\theta_c = \sqrt{\sqrt2-1}\approx0.6436` (Raya &
    Ambrogioni). Exact when every data point has the same norm, see :func:`instability_time`.
    Computed as :math:`1/\sqrt{\Lambda+\sqrt{\Lambda^2+1}}` (no cancellation).

    Parameters
    ----------
    top_eigenvalue : float
        :math:`\Lambda > 0`, the data variance along the top eigenvector.

    Returns
    -------
    float
        :math:`\theta_c\in(0,1)`; the time is ``conventions.time_from_theta(theta_c)``.

    Examples
    --------
    >>> import math
    >>> abs(critical_theta() - math.sqrt(math.sqrt(2) - 1)) < 1e-15
    True
    """
    lam = _check_lam(top_eigenvalue)
    return 1.0 / math.sqrt(lam + math.hypot(lam, 1.0))


def instability_time(top_eigenvalue) -> float:
    r"""OU time :math:`t_U` at which the central fixed point of the generative dynamics loses
    stability along the top eigenvector.

    .. math:: t_U = -\log\theta_c = \tfrac12\log\big(\Lambda + \sqrt{\Lambda^2+1}\big)
              = t_S + \tfrac12\log\big(1 + \sqrt{1+\Lambda^{-2}}\big),

    with :math:`t_S = \tfrac12\log\Lambda` the speciation time of Biroli et al.; the shift tends
    to :math:`\tfrac12\log2` at large :math:`\Lambda`. Exact for centred data whose points all
    have the same norm (two points :math:`\pm a` with :math:`\Lambda = a^2`, points on a
    sphere); for other data :math:`\Lambda` is replaced by the reweighted variance of
    :func:`diffphase.theory.symmetry.centre_hessian` (e.g. the two-class mixture with
    :math:`\sigma = 1` gives :math:`\tfrac12\log 2|m|^2`,
    :func:`diffphase.numerics.gaussian_mixture.instability_time`).

    Parameters
    ----------
    top_eigenvalue : float
        :math:`\Lambda > 0`.

    Returns
    -------
    float
        :math:`t_U` (OU time), exact to a few ulp.

    Examples
    --------
    >>> round(instability_time(1e6) - 0.5 * math.log(1e6), 8)   # -> ½ log 2
    0.34657359
    """
    lam = _check_lam(top_eigenvalue)
    return 0.5 * math.asinh(lam)


def _check_pair(a, sigma):
    a = check_real("a", a, low=0.0, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0)
    return a, sigma


def _gam(t, sigma):
    th = cv.theta(t)
    return cv.delta(t) + sigma * sigma * th * th, th


def potential(x, t, a=1.0, sigma=0.0):
    r"""Potential :math:`U(x,t) = -\tfrac{x^2}{2} + \tfrac{x^2}{\Gamma_t} -
    2\log\cosh\tfrac{a\theta x}{\Gamma_t}` of the generative drift, up to an
    :math:`x`-independent constant.

    Data :math:`\pm a` (``sigma = 0``) or the mixture :math:`\pm m` of spread ``sigma``
    projected on :math:`\hat m` (``a`` :math:`=|m|`); :math:`\theta = e^{-t}`,
    :math:`\Gamma_t = \Delta_t + \sigma^2\theta^2`. OU time ``t > 0`` (``t >= 0`` if
    ``sigma > 0``).

    Examples
    --------
    >>> float(potential(0.0, 0.5))
    0.0
    """
    a, sigma = _check_pair(a, sigma)
    t = float(check_times(t, positive=sigma == 0))
    x = np.asarray(x, dtype=np.float64)
    g, th = _gam(t, sigma)
    u = np.abs(a * th * x / g)
    logcosh = u + np.log1p(np.exp(-2.0 * u)) - math.log(2.0)
    return _ret(-0.5 * x * x + x * x / g - 2.0 * logcosh)


def drift(x, t, a=1.0, sigma=0.0):
    r"""Generative drift :math:`-\partial_xU = x - 2x/\Gamma_t +
    (2a\theta/\Gamma_t)\tanh(a\theta x/\Gamma_t)` (arguments as in :func:`potential`).

    Examples
    --------
    >>> float(drift(0.0, 1.0))
    0.0
    """
    a, sigma = _check_pair(a, sigma)
    t = float(check_times(t, positive=sigma == 0))
    x = np.asarray(x, dtype=np.float64)
    g, th = _gam(t, sigma)
    return _ret(x - 2.0 * x / g + 2.0 * a * th / g * np.tanh(a * th * x / g))


def centre_curvature(t, a=1.0, sigma=0.0):
    r""":math:`U''(0,t) = -1 + 2/\Gamma_t - 2a^2\theta^2/\Gamma_t^2`; the centre is stable
    where it is positive.

    Examples
    --------
    >>> centre_curvature(1.0) > 0 > centre_curvature(0.2)
    True
    """
    a, sigma = _check_pair(a, sigma)
    t = check_times(t, positive=sigma == 0)
    g, th = _gam(t, sigma)
    return _ret(-1.0 + 2.0 / g - 2.0 * (a * th / g) ** 2)


def fixed_points(t, a=1.0, sigma=0.0) -> np.ndarray:
    r"""Fixed points of the generative drift at OU time ``t``.

    Solves :math:`(2 - \Gamma_t)x = 2a\theta\tanh(a\theta x/\Gamma_t)` (for ``sigma = 0``:
    :math:`(1+\theta^2)x = 2a\theta\tanh(a\theta x/(1-\theta^2))`). The centre 0 is always a
    fixed point; when :func:`centre_curvature` is negative there are two more,
    :math:`\pm x^*`, found by Brent's method on :math:`(0, 2a\theta/(2-\Gamma_t)]` to an
    absolute error :math:`\le 10^{-13}`.

    Returns
    -------
    ndarray
        Sorted fixed points: ``[0.0]`` or ``[-x*, 0.0, x*]``.

    Examples
    --------
    >>> fixed_points(2.0).tolist()
    [0.0]
    >>> xs = fixed_points(0.05)
    >>> len(xs), round(float(xs[-1]), 6)
    (3, 0.998751)
    """
    a, sigma = _check_pair(a, sigma)
    t = float(check_times(t, positive=sigma == 0))
    g, th = _gam(t, sigma)
    if -1.0 + 2.0 / g - 2.0 * (a * th / g) ** 2 >= 0 or g >= 2.0:
        return np.array([0.0])
    c = 2.0 - g
    hi = 2.0 * a * th / c

    def f(x):
        return 2.0 * a * th * math.tanh(a * th * x / g) - c * x

    lo = hi * 1e-300
    if f(lo) <= 0:  # numerically at the bifurcation: the branch has zero amplitude
        return np.array([0.0])
    xs = optimize.brentq(f, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500)
    return np.array([-xs, 0.0, xs])


@dataclass(frozen=True)
class Bifurcation:
    r"""Fixed-point branches of the generative drift versus OU time.

    Attributes
    ----------
    times : ndarray, shape (T,)
    branches : ndarray, shape (T, 3)
        Columns ``[-x*, 0, +x*]``; NaN where the symmetric branches do not exist.
    stable : ndarray of bool, shape (T, 3)
        Linear stability of each branch (the drift's derivative is negative).
    """

    times: np.ndarray
    branches: np.ndarray
    stable: np.ndarray


def bifurcation_diagram(times, a=1.0, sigma=0.0) -> Bifurcation:
    r"""Pitchfork diagram: :func:`fixed_points` and their stability on a grid of OU times.

    Stability from the drift's derivative :math:`1 - 2/\Gamma_t +
    (2a^2\theta^2/\Gamma_t^2)\,\mathrm{sech}^2(a\theta x/\Gamma_t)` at each branch.

    Examples
    --------
    >>> b = bifurcation_diagram([0.1, 1.0])
    >>> b.stable.tolist()
    [[True, False, True], [False, True, False]]
    """
    a, sigma = _check_pair(a, sigma)
    ts = check_times(times, "times", positive=sigma == 0)
    if ts.ndim != 1:
        raise ValueError(f"times must be 1-d, got shape {ts.shape}")
    br = np.full((ts.size, 3), np.nan)
    st = np.zeros((ts.size, 3), dtype=bool)
    for i, tt in enumerate(ts):
        fp = fixed_points(tt, a, sigma)
        g, th = _gam(float(tt), sigma)
        slope = lambda x: 1.0 - 2.0 / g + 2.0 * (a * th / g) ** 2 / np.cosh(a * th * x / g) ** 2  # noqa: E731
        cols = [1] if fp.size == 1 else [0, 1, 2]
        for c, xv in zip(cols, fp):
            br[i, c] = xv
            st[i, c] = slope(xv) < 0
    return Bifurcation(ts, br, st)


def _check_mean_cov(mean, covariance):
    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim != 1 or mean.size < 1 or not np.all(np.isfinite(mean)):
        raise ValueError(f"mean must be a finite 1-d array of length d >= 1, got shape {mean.shape}")
    d = mean.size
    cov = np.asarray(covariance, dtype=np.float64)
    if cov.shape != (d, d) or not np.all(np.isfinite(cov)):
        raise ValueError(f"covariance must be a finite ({d}, {d}) array, got shape {cov.shape}")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(cov).max())):
        raise ValueError("covariance must be symmetric")
    w = np.linalg.eigvalsh(cov)
    if w[0] < -1e-10 * max(1.0, abs(w[-1])):
        raise ValueError(f"covariance must be positive semi-definite, smallest eigenvalue {w[0]}")
    return mean, cov


def late_gaussian(t, mean, covariance):
    r"""Moments of the noised data at OU time ``t``: mean :math:`e^{-t}\mu` and covariance
    :math:`e^{-2t}\Sigma + \Delta_tI` (exact moments of :math:`x_t`; the Gaussian with these
    moments is the late initialization of Raya & Ambrogioni).

    Parameters
    ----------
    t : float
        OU time ``>= 0``.
    mean : array_like, shape (d,)
        Data mean :math:`\mu`.
    covariance : array_like, shape (d, d)
        Data covariance :math:`\Sigma` (symmetric positive semi-definite).

    Returns
    -------
    (ndarray (d,), ndarray (d, d))

    Examples
    --------
    >>> m, C = late_gaussian(0.5, [1.0, 0.0], [[2.0, 0.0], [0.0, 1.0]])
    >>> bool(np.allclose(C[1, 1], 1.0))      # unit data variance is preserved
    True
    """
    t = float(check_times(t))
    mean, cov = _check_mean_cov(mean, covariance)
    th = cv.theta(t)
    c = th * th * cov
    c[np.diag_indices(mean.size)] += cv.delta(t)
    return th * mean, c


def sample_late_gaussian(n, t, mean, covariance, seed=None) -> np.ndarray:
    r"""Draw ``n`` states from the Gaussian late initialization at OU time ``t``.

    :math:`x = e^{-t}\mu + L\xi`, :math:`LL^T = e^{-2t}\Sigma + \Delta_tI` (symmetric square
    root by ``eigh``, valid for singular :math:`\Sigma`). Pass the result as ``x_init`` of
    :func:`diffphase.numerics.sde.sample` with a grid starting at ``t``; choose ``t`` a little
    above :func:`instability_time` of the data's top eigenvalue.

    Parameters
    ----------
    n : int
        Number of states, ``>= 1``.
    t, mean, covariance
        As in :func:`late_gaussian`.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray, shape (n, d)

    Examples
    --------
    >>> x = sample_late_gaussian(4, 1.0, [0.0, 0.0], np.eye(2), seed=0)
    >>> x.shape
    (4, 2)
    """
    n = check_int("n", n, minimum=1)
    m, c = late_gaussian(t, mean, covariance)
    w, V = np.linalg.eigh(c)
    root = V * np.sqrt(np.clip(w, 0.0, None))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return m + rng.standard_normal((n, m.size)) @ root.T
