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
* :func:`equal_norm_instability_time` — :math:`t_U = \tfrac12\operatorname{arsinh}\Lambda` for data
  whose points all have the same norm;
* :func:`late_gaussian`, :func:`sample_late_gaussian` — the Gaussian late initialization;
* :func:`second_derivative_knee` — the critical start time read off a quality-vs-start-time
  curve at the maximum of its second derivative (the authors' reading of their FID curves);
* :func:`excess_z`, :func:`flatness` — how far a curve's points lie above its latest start, in
  standard errors, and the largest such excess above the knee;
* :func:`mixture_posterior_sample` — the exact reverse dynamics of an isotropic Gaussian
  mixture from a state at time :math:`t` to :math:`t = 0` (a draw of :math:`p(x_0\mid x_t)`).

Examples
--------
>>> from diffphase.numerics import symmetry as sb
>>> round(sb.critical_theta(), 12)            # sqrt(sqrt(2) - 1)
0.643594252906
>>> round(sb.equal_norm_instability_time(1.0), 10)   # -log(theta_c) for the points ±1
0.4406867935
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import conventions as cv
from .checks import check_array, check_int, check_real, check_times

__all__ = [
    "critical_theta",
    "equal_norm_instability_time",
    "potential",
    "drift",
    "centre_curvature",
    "fixed_points",
    "Bifurcation",
    "bifurcation_diagram",
    "late_gaussian",
    "sample_late_gaussian",
    "second_derivative_knee",
    "excess_z",
    "flatness",
    "mixture_posterior_sample",
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
    Ambrogioni). Exact when every data point has the same norm, see :func:`equal_norm_instability_time`.
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


def equal_norm_instability_time(top_eigenvalue) -> float:
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
    :func:`diffphase.numerics.gaussian_mixture.two_class_instability_time`).

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
    >>> round(equal_norm_instability_time(1e6) - 0.5 * math.log(1e6), 8)   # -> ½ log 2
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
    x = check_array("x", x)
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
    x = check_array("x", x)
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
    mean = check_array("mean", mean)
    if mean.ndim != 1 or mean.size < 1 or not np.all(np.isfinite(mean)):
        raise ValueError(f"mean must be a finite 1-d array of length d >= 1, got shape {mean.shape}")
    d = mean.size
    cov = check_array("covariance", covariance)
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
    :func:`diffphase.numerics.sde.sample` with a grid starting at ``t``. Raya & Ambrogioni
    start it at the critical time read off the quality curve of a plain :math:`\mathcal N(0, I)`
    start (:func:`second_derivative_knee`; DDPM step 400 of 1000 on CelebA64, OU time
    :math:`\approx0.8`), not at :func:`equal_norm_instability_time`.

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


def _check_curve(x, y, se=None, min_points=2):
    x = check_array("x", x)
    y = check_array("y", y)
    if x.ndim != 1 or x.size < min_points or not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise ValueError(f"x must be a strictly increasing 1-d array of at least {min_points} finite values")
    if y.shape != x.shape or not np.all(np.isfinite(y)):
        raise ValueError(f"y must be a finite array of shape {x.shape}")
    if se is None:
        return x, y
    se = check_array("se", se)
    if se.shape != x.shape or not np.all(np.isfinite(se)) or np.any(se < 0):
        raise ValueError(f"se must be a finite array of shape {x.shape} with se >= 0")
    return x, y, se


def second_derivative_knee(x, y):
    r"""Knee of a curve: the grid point where its second derivative is largest.

    Raya & Ambrogioni read the critical start time off the curve of FID against the start
    step of a sampler started from :math:`\mathcal N(0, I)`, at "the maximum of the second
    derivative of the FID curve" (caption of their late-start figure); their public code
    computes the curve on the grid of start steps 50, 100, 200, ..., 1000 and neither smooths
    nor interpolates it. Here the second derivative at each interior grid point is the
    three-point finite difference on a (possibly non-uniform) grid,

    .. math:: y''_j = \frac{2}{x_{j+1}-x_{j-1}}\Big(\frac{y_{j+1}-y_j}{x_{j+1}-x_j}
              - \frac{y_j-y_{j-1}}{x_j-x_{j-1}}\Big),

    exact for quadratics, without smoothing, and the knee is :math:`x_{j^*}`,
    :math:`j^* = \arg\max_j y''_j` (first index on ties). For a quality curve that is flat at
    large start times and degrades below a critical one it marks where the degradation sets
    in. The variable ``x`` is whatever the curve is plotted against: the authors use the
    DDPM step index (convert to OU time with
    :class:`~diffphase.numerics.conventions.DiscreteSchedule`).

    Parameters
    ----------
    x : array_like, shape (K,)
        Strictly increasing grid, ``K >= 3``.
    y : array_like, shape (K,)
        Finite curve values.

    Returns
    -------
    (float, int, ndarray)
        The knee :math:`x_{j^*}`, its index :math:`j^*` (``1 <= j* <= K-2``), and
        :math:`y''` at every grid point (NaN at the two ends).

    Examples
    --------
    >>> x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> y = [3.0, 2.0, 1.0, 0.0, 0.0, 0.0]        # a hinge at x = 3
    >>> second_derivative_knee(x, y)[:2]
    (3.0, 3)
    """
    x, y = _check_curve(x, y, min_points=3)
    h = np.diff(x)
    slope = np.diff(y) / h
    d2 = np.full(x.size, np.nan)
    d2[1:-1] = 2.0 * np.diff(slope) / (x[2:] - x[:-2])
    j = 1 + int(np.argmax(d2[1:-1]))
    return float(x[j]), j, d2


def excess_z(y, se, ref=-1):
    r"""Excess of every point of a curve over a reference point, in standard errors.

    .. math:: z_j = \frac{y_j - y_r}{\sqrt{s_j^2 + s_r^2}},

    for independent estimates :math:`y_j \pm s_j` (e.g. MMD² of independent sampler runs);
    :math:`z_r = 0`. With ``y`` a distance to the data, :math:`z_j > 0` means point :math:`j` is
    worse than the reference. If both errors are zero, :math:`z_j = \pm\infty` or 0.

    Parameters
    ----------
    y, se : array_like, shape (K,)
        Estimates and their standard errors (``>= 0``).
    ref : int
        Index of the reference point (default the last: the latest start).

    Returns
    -------
    ndarray, shape (K,)

    Examples
    --------
    >>> excess_z([0.5, 0.2, 0.1], [0.3, 0.0, 0.4]).tolist()
    [0.8, 0.25, 0.0]
    """
    y = check_array("y", y)
    x = np.arange(y.size, dtype=np.float64)
    _, y, se = _check_curve(x, y, se, min_points=1)
    r = int(ref)
    if not -y.size <= r < y.size:
        raise ValueError(f"ref must index the curve (length {y.size}), got {ref}")
    r %= y.size
    num = y - y[r]
    den = np.sqrt(se**2 + se[r] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.sign(num) * np.inf)
    z = np.where(num == 0, 0.0, z)
    z[r] = 0.0
    return z


def flatness(y, se, first: int):
    r"""Largest excess over the latest point among the points ``first, ..., K-2``.

    :math:`F = \max_{\mathrm{first}\le j\le K-2} z_j` with :math:`z_j` of :func:`excess_z`
    (reference: the last point, the latest start). Used with ``first = j* + 1``, the points
    strictly above the knee of :func:`second_derivative_knee`: the curve is flat there when
    :math:`F` stays below a threshold :math:`z_c`. For independent Gaussian errors of the
    stated sizes and a flat curve, :math:`P(F > z_c) \le m\,(1-\Phi(z_c))` with
    :math:`m = K-1-\mathrm{first}` comparisons (Bonferroni; the shared reference correlates
    them positively, which only lowers it).

    Parameters
    ----------
    y, se : array_like, shape (K,)
    first : int
        First index compared, ``0 <= first <= K-2``.

    Returns
    -------
    (float, int)
        :math:`F` and the index where it is attained.

    Examples
    --------
    >>> flatness([9.0, 0.3, 0.1, 0.0], [1.0, 0.1, 0.1, 0.1], first=1)[1]
    1
    """
    z = excess_z(y, se)
    first = check_int("first", first, minimum=0)
    if first > z.size - 2:
        raise ValueError(f"first must be <= K-2 = {z.size - 2} (at least one point below the latest), got {first}")
    k = first + int(np.argmax(z[first:-1]))
    return float(z[k]), k


def mixture_posterior_sample(mixture, x, t, seed=None):
    r"""Draw :math:`x_0 \sim p(x_0\mid x_t = x)` for an isotropic Gaussian mixture: the end
    point at :math:`t = 0` of the exact reverse dynamics started from ``x`` at OU time ``t``.

    For :math:`P_0 = \sum_k\pi_k\mathcal N(\mu_k, \sigma_k^2I)` and
    :math:`x_t = \theta x_0 + \sqrt{\Delta_t}\,z` (:math:`\theta = e^{-t}`), the class is drawn
    from :math:`p(k\mid x_t)` (``mixture.posterior``) and then

    .. math:: x_0\mid x_t, k \sim \mathcal N\Big(\frac{\Delta_t\mu_k + \theta\sigma_k^2x_t}
              {\Gamma_k},\ \frac{\sigma_k^2\Delta_t}{\Gamma_k}I\Big),\qquad
              \Gamma_k = \Delta_t + \theta^2\sigma_k^2.

    The reverse SDE integrated exactly (infinitely many steps) from any initial law :math:`q`
    at :math:`t` ends in :math:`\int q(x)\,p(x_0\mid x_t = x)\,dx`, so with ``x`` drawn from
    :math:`\mathcal N(0, I)` this samples what a sampler started from pure noise at :math:`t`
    produces without discretization error.

    Parameters
    ----------
    mixture : diffphase.numerics.gaussian_mixture.GaussianMixture
    x : array_like, shape (B, d)
    t : float
        OU time ``>= 0`` (at ``t = 0`` the draw is ``x`` itself).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    (ndarray (B, d), ndarray (B,) of int)
        The clean draws and their classes.

    Examples
    --------
    >>> from diffphase.numerics.gaussian_mixture import GaussianMixture
    >>> mix = GaussianMixture.from_std([[-2.0], [2.0]], 0.5, [0.3, 0.7])
    >>> x0, k = mixture_posterior_sample(mix, np.zeros((3, 1)), 8.0, seed=0)
    >>> x0.shape, k.shape
    ((3, 1), (3,))
    """
    t = float(check_times(t))
    x = check_array("x", x)
    if x.ndim != 2 or x.shape[1] != mixture.d:
        raise ValueError(f"x must have shape (B, {mixture.d}), got {x.shape}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    p = mixture.posterior(x, t)
    k = np.minimum((rng.random(x.shape[0])[:, None] > np.cumsum(p, axis=1)).sum(axis=1), mixture.K - 1)
    th, dl = cv.theta(t), cv.delta(t)
    s2 = mixture.sigmas[k][:, None] ** 2
    gam = dl + th * th * s2
    mean = (dl * mixture.means[k] + th * s2 * x) / gam
    return mean + np.sqrt(s2 * dl / gam) * rng.standard_normal(x.shape), k
