r"""Memorization on a linear manifold, numerically: per-direction thresholds, the
latent-subspace collapse, and the Jacobian spectrum of the empirical score.

Formulas derived in :mod:`diffphase.theory.manifold`. Data: :math:`N` points on a
:math:`k`-dimensional linear subspace with tangent variances :math:`\sigma_i^2`. All times are
OU times (:math:`x_t = e^{-t}x_0+\sqrt{\Delta_t}z`); the variance-exploding noise
:math:`\tau = e^{2t}-1` of the manifold paper is converted with
:mod:`diffphase.numerics.conventions`.

* :func:`critical_times` — per-direction :math:`t_{c,i} = \tfrac12\log\big(1+\sigma_i^2/(N^{2/k}-1)\big)`;
* :func:`critical_sizes` — per-direction :math:`N_{c,i}(t) = (1+\sigma_i^2/\tau)^{k/2}`
  (:func:`critical_log_sizes` for the logarithm); the two are inverses;
* :func:`collapse_time`, :func:`collapse_size` — the latent-subspace collapse,
  :math:`\sum_i\tfrac12\log(1+\sigma_i^2/\tau) = \log N` (Brent's method, relative error
  :math:`\le10^{-12}`);
* :func:`jacobian_spectrum` — eigenvalues of the Jacobian of the empirical score,
  :math:`\nabla_xS^e = -I/\Delta_t + (e^{-2t}/\Delta_t^2)\,\mathrm{Cov}_w(a)` (analytic: the
  Jacobian of the softmax-weighted mean is the weighted covariance);
  :func:`surviving_directions` counts the tangent ones.

Examples
--------
>>> import numpy as np
>>> from diffphase.numerics import manifold
>>> tc = manifold.critical_times([4.0, 1.0], 1000)
>>> bool(tc[0] > tc[1])          # the higher-variance direction is lost first
True
>>> np.allclose(manifold.critical_sizes([4.0, 1.0], tc), 1000)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import conventions as cv
from ._checks import check_data, check_int, check_real, check_times

__all__ = [
    "critical_times",
    "critical_log_sizes",
    "critical_sizes",
    "collapse_time",
    "collapse_size",
    "jacobian_spectrum",
    "SurvivingDirections",
    "surviving_directions",
    "population_surviving",
]


def _check_variances(variances) -> np.ndarray:
    v = np.asarray(variances, dtype=np.float64)
    if v.ndim != 1 or v.size < 1:
        raise ValueError(f"variances must be a non-empty 1-d sequence, got shape {v.shape}")
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("variances must be finite and > 0 (tangent directions; normal directions "
                         "carry no variance and no information)")
    return v


def _check_n(n) -> int:
    return check_int("n", n, minimum=2)


def critical_times(variances, n) -> np.ndarray:
    r"""Per-direction critical OU times of :math:`n` points with tangent variances
    :math:`\sigma_i^2` (:math:`k` = ``len(variances)``):

    .. math:: \tau_{c,i} = \frac{\sigma_i^2}{e^{2\alpha}-1},\quad \alpha = \frac{\log n}{k},\qquad
              t_{c,i} = \tfrac12\log(1+\tau_{c,i}),

    the time at which direction :math:`i` carries :math:`\alpha` nats about the training point
    (:mod:`diffphase.theory.manifold`). Higher variance, later... in OU time: larger
    :math:`t_{c,i}`, i.e. lost first in the backward dynamics. With all variances equal to
    :math:`\sigma^2` every :math:`t_{c,i}` is
    :func:`diffphase.numerics.gaussian_mixture.collapse_time` ``(n, k, sigma)``.
    Closed form (``expm1``/``log1p``), relative error :math:`\sim10^{-15}`.

    Measured (:mod:`diffphase.validation.manifold`): the *number* of tangent directions that
    survive follows these thresholds within a factor of a few in :math:`n`, on the exact
    empirical score and on trained DDPMs; *which* directions survive does not (the empirical
    score keeps all directions about equally, trained models keep the higher-variance one
    first). Read the per-direction order as the reconstructed theory's claim, not as a
    measured fact.

    Parameters
    ----------
    variances : array_like, shape (k,)
        Tangent variances, ``> 0``.
    n : int
        Number of training points, ``>= 2``.

    Returns
    -------
    ndarray, shape (k,)
    """
    v = _check_variances(variances)
    n = _check_n(n)
    alpha = math.log(n) / v.size
    return np.asarray(cv.time_from_ve_variance(v / math.expm1(2.0 * alpha)))


def critical_log_sizes(variances, t) -> np.ndarray:
    r"""Per-direction :math:`\log N_{c,i}(t) = \tfrac k2\log\big(1+\sigma_i^2e^{-2t}/\Delta_t\big)`
    at OU time ``t > 0`` (scalar; :math:`k` = ``len(variances)``). Direction :math:`i` survives
    at time :math:`t` iff :math:`\log N > \log N_{c,i}(t)`."""
    v = _check_variances(variances)
    t = check_times(t, positive=True)
    if t.ndim == 0:
        return 0.5 * v.size * np.log1p(v * cv.snr(float(t)))
    if t.shape != v.shape:
        raise ValueError(f"t must be a scalar or have the shape of variances {v.shape}, got {t.shape}")
    return 0.5 * v.size * np.log1p(v * np.asarray(cv.snr(t)))


def critical_sizes(variances, t) -> np.ndarray:
    r"""Per-direction critical data sizes :math:`N_{c,i}(t) = (1+\sigma_i^2/\tau)^{k/2}`,
    :math:`\tau = e^{2t}-1` (OU time ``t > 0``, a scalar or one time per direction). The
    inverse of :func:`critical_times`: ``critical_sizes(v, critical_times(v, n)) == n``.
    Overflows to ``inf`` beyond :math:`10^{308}`; use :func:`critical_log_sizes` there.

    Examples
    --------
    >>> import numpy as np
    >>> float(critical_sizes([1.0], np.log(2.0) / 2)[0])   # tau = 1: (1 + 1)^(1/2)
    1.414213562373095
    """
    with np.errstate(over="ignore"):
        return np.exp(critical_log_sizes(variances, t))


def collapse_time(variances, n) -> float:
    r"""Latent-subspace collapse time: the OU time :math:`t_C` at which
    :math:`\sum_i\tfrac12\log(1+\sigma_i^2/\tau) = \log n`, :math:`\tau = e^{2t}-1`.

    The REM condensation of the empirical score on a :math:`k`-dimensional linear manifold
    (only tangent directions enter). Solved for :math:`\log\tau` by Brent's method (the sum is
    decreasing in :math:`\tau`), relative error :math:`\le10^{-12}`; it lies between the
    smallest and the largest of :func:`critical_times`.
    """
    v = _check_variances(variances)
    logn = math.log(_check_n(n))
    f = lambda s: 0.5 * float(np.sum(np.log1p(v * math.exp(-s)))) - logn  # noqa: E731  (s = log tau)
    lo, hi = math.log(v.min()) - 2 * logn - 5.0, math.log(v.max()) + 5.0
    while f(lo) < 0:
        lo -= 10.0
    while f(hi) > 0:
        hi += 10.0
    s = optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-14)
    return float(cv.time_from_ve_variance(math.exp(s)))


def collapse_size(variances, t) -> float:
    r"""Data size :math:`N_C(t) = \prod_i(1+\sigma_i^2/\tau)^{1/2}` at which the empirical score
    collapses at OU time ``t > 0`` (inverse of :func:`collapse_time`)."""
    v = _check_variances(variances)
    t = float(check_times(t, positive=True))
    return float(np.exp(0.5 * np.sum(np.log1p(v * cv.snr(t)))))


def jacobian_spectrum(X, x, t, *, return_posterior=False):
    r"""Eigenvalues of the Jacobian of the empirical score of ``X`` at the points ``x``.

    With weights :math:`w_\mu\propto\exp(-|x-e^{-t}a^\mu|^2/2\Delta_t)`
    (:mod:`diffphase.numerics.empirical`), the score is
    :math:`S^e = (e^{-t}\bar a_w - x)/\Delta_t` and its Jacobian is exactly

    .. math:: \nabla_x S^e = -\frac{I}{\Delta_t} + \frac{e^{-2t}}{\Delta_t^2}\,
              \mathrm{Cov}_w(a),\qquad \mathrm{Cov}_w(a) = \sum_\mu w_\mu(a^\mu-\bar a_w)(a^\mu-\bar a_w)^T,

    symmetric with eigenvalues in :math:`[-1/\Delta_t, \dots]`. Cost :math:`O(Bnd + Bnd^2)`
    (meant for small :math:`d`).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Training points.
    x : array_like, shape (B, d)
        Query points.
    t : float
        OU time ``> 0``.
    return_posterior : bool
        Also return the posterior covariances, shape (B, d, d).

    Returns
    -------
    ndarray, shape (B, d)
        Eigenvalues in ascending order (most negative first).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    >>> ev = jacobian_spectrum(X, np.zeros((1, 2)), 1.0)
    >>> bool(np.isclose(ev[0, 0], -1 / (1 - np.exp(-2.0))))   # normal direction: -1/Delta
    True
    """
    X = check_data(X, "X", min_rows=2, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != X.shape[1]:
        raise ValueError(f"x must have shape (B, {X.shape[1]}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    t = check_times(t, positive=True)
    if t.ndim != 0:
        raise ValueError("t must be a scalar OU time > 0")
    theta, delta = cv.theta(float(t)), cv.delta(float(t))
    sq = np.einsum("ij,ij->i", X, X)
    logits = (theta * (x @ X.T) - 0.5 * theta * theta * sq[None, :]) / delta
    logits -= logits.max(axis=1, keepdims=True)
    w = np.exp(logits)
    w /= w.sum(axis=1, keepdims=True)
    mean = w @ X
    cov = np.einsum("bn,ni,nj->bij", w, X, X) - np.einsum("bi,bj->bij", mean, mean)
    cov = 0.5 * (cov + cov.transpose(0, 2, 1))
    J = (theta * theta / delta**2) * cov - np.eye(X.shape[1])[None] / delta
    ev = np.linalg.eigvalsh(J)
    return (ev, cov) if return_posterior else ev


@dataclass(frozen=True)
class SurvivingDirections:
    r"""Count of tangent directions of the empirical score at one time.

    Attributes
    ----------
    t : float
        OU time.
    counts : ndarray of int
        Per query point, the number of Jacobian eigenvalues with
        :math:`\Delta_t\lambda \ge -1 + \text{level}` (posterior variance at least ``level`` of
        the noise variance in VE units).
    median : float
        Median of ``counts``.
    level : float
    """

    t: float
    counts: np.ndarray
    median: float
    level: float


def surviving_directions(X, t, n_queries=64, seed=None, *, level=0.5) -> SurvivingDirections:
    r"""Number of tangent (surviving) directions of the empirical score of ``X`` at OU time ``t``.

    Query points are noised training points, :math:`x = e^{-t}a^\nu + \sqrt{\Delta_t}z` — the
    exact marginal of the backward dynamics driven by the empirical score. An eigenvalue
    :math:`\lambda` of :func:`jacobian_spectrum` counts as tangent if
    :math:`\Delta_t\lambda\ge -1+\text{level}`, i.e. if the posterior variance
    :math:`e^{-2t}c/\Delta_t` removes at least ``level`` of the noise. For the population
    (infinitely many data) direction :math:`i` passes at ``level = 1/2`` iff
    :math:`\sigma_i^2 > \tau` (:func:`population_surviving`); with :math:`N` data all of them
    are lost once :math:`N \ll` :func:`collapse_size`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    t : float
        OU time ``> 0``.
    n_queries : int
    seed : int or numpy.random.Generator, optional
    level : float
        In ``(0, 1)``.
    """
    X = check_data(X, "X", min_rows=2, dtype=np.float64)
    n_queries = check_int("n_queries", n_queries, minimum=1)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    t = float(check_times(t, positive=True))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, X.shape[0], size=n_queries)
    x = cv.theta(t) * X[idx] + math.sqrt(cv.delta(t)) * rng.standard_normal((n_queries, X.shape[1]))
    ev = jacobian_spectrum(X, x, t)
    counts = np.sum(cv.delta(t) * ev >= -1.0 + level, axis=1)
    return SurvivingDirections(t, counts, float(np.median(counts)), level)


def population_surviving(variances, t, *, level=0.5) -> int:
    r"""Tangent directions of the *population* score at OU time ``t``: the number of
    :math:`i` with :math:`\beta_t\sigma_i^2/(1+\beta_t\sigma_i^2)\ge\text{level}`,
    :math:`\beta_t = e^{-2t}/\Delta_t` (for ``level = 1/2``: :math:`\sigma_i^2\ge\tau`)."""
    v = _check_variances(variances)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    b = cv.snr(float(check_times(t, positive=True)))
    return int(np.sum(b * v / (1.0 + b * v) >= level))
