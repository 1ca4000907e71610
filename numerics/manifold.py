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
* :func:`score_jacobian`, :func:`jacobian_spectrum` — the Jacobian of the empirical score,
  :math:`\nabla_xS^e = -I/\Delta_t + (e^{-2t}/\Delta_t^2)\,\mathrm{Cov}_w(a)` (analytic: the
  Jacobian of the softmax-weighted mean is the weighted covariance);
  :func:`surviving_directions` counts the tangent ones;
* the authors' protocol (Achilli et al., arXiv 2410.08727, their code): :func:`orthogonal_probes`,
  :func:`probe_score_matrix` (scores at :math:`x_0+\sigma q_j`), :func:`normalized_spectrum`
  (largest singular value dropped, the rest over their maximum), and this package's reading of
  it: :func:`direction_response`, :func:`tangent_group_basis`, :func:`dimension_estimate`,
  :func:`spectral_gaps`.

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
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from . import conventions as cv
from . import process
from .checks import check_array, check_data, check_int, check_real, check_times

__all__ = [
    "critical_times",
    "critical_log_sizes",
    "critical_sizes",
    "collapse_time",
    "collapse_size",
    "ScoreJacobian",
    "score_jacobian",
    "jacobian_spectrum",
    "SurvivingDirections",
    "surviving_directions",
    "population_surviving",
]


def _check_variances(variances) -> np.ndarray:
    v = check_array("variances", variances)
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

    These thresholds are this package's reconstruction, not a formula of Achilli et al. (arXiv
    2410.08727). Measured on the exact empirical score (:func:`surviving_directions`): the
    *number* of tangent directions that survive follows them within a factor of a few in
    :math:`n`; *which* directions survive does not (the empirical score keeps all directions
    about equally). Read the per-direction order as the reconstruction's claim, not as a
    measured fact; :mod:`diffphase.validation.manifold` measures the paper's claim with the
    authors' protocol instead (:func:`probe_score_matrix`).

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


@dataclass(frozen=True)
class ScoreJacobian:
    r"""The Jacobian of the empirical score at query points (:func:`score_jacobian`).

    Attributes
    ----------
    eigenvalues : ndarray, shape (B, d)
        Eigenvalues of :math:`\nabla_xS^e`, ascending (most negative first).
    posterior_covariance : ndarray, shape (B, d, d)
        :math:`\mathrm{Cov}_w(a)`, the covariance of the training points under the posterior
        weights (symmetrized).
    """

    eigenvalues: np.ndarray
    posterior_covariance: np.ndarray = field(repr=False)


def score_jacobian(X, x, t) -> ScoreJacobian:
    r"""The Jacobian of the empirical score of ``X`` at the points ``x``: its eigenvalues and the
    posterior covariance that gives it.

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

    Returns
    -------
    ScoreJacobian

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    >>> jac = score_jacobian(X, np.zeros((1, 2)), 1.0)
    >>> bool(np.isclose(jac.eigenvalues[0, 0], -1 / (1 - np.exp(-2.0))))   # normal direction: -1/Delta
    True
    >>> jac.posterior_covariance[0].round(12).tolist()                     # the two points, weight 1/2
    [[1.0, 0.0], [0.0, 0.0]]
    """
    X = check_data(X, "X", min_rows=2, dtype=np.float64)
    x = check_array("x", x)
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
    return ScoreJacobian(np.linalg.eigvalsh(J), cov)


def jacobian_spectrum(X, x, t):
    r"""Eigenvalues of the Jacobian of the empirical score of ``X`` at the points ``x``,
    ascending, shape (B, d): the ``eigenvalues`` of :func:`score_jacobian` (formula there).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    >>> ev = jacobian_spectrum(X, np.zeros((1, 2)), 1.0)
    >>> bool(np.isclose(ev[0, 0], -1 / (1 - np.exp(-2.0))))   # normal direction: -1/Delta
    True
    """
    return score_jacobian(X, x, t).eigenvalues


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
    x = process.noise(X[idx], t, generator=rng)
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


# --------------------------------------------------------------------------------------------
# The authors' protocol: spectrum of the score at a point probed by an orthogonal frame
# --------------------------------------------------------------------------------------------
#
# Achilli et al. (arXiv 2410.08727; their code, beatriceachilli/losing-dimensions) read the
# local dimension of a trained score from the singular values of a D x D matrix: the scores at
# the D points x0 + sigma q_j (q_j the rows of a Haar-random orthogonal matrix, sigma the
# variance-exploding noise scale of the time at which the score is read; x0 a fresh draw of the
# data law for their trained network, a zero test point for their empirical-score figure, training
# points in diffphase.validation.manifold's verdicts), the
# largest singular value dropped (it carries the common part s(x0) of the rows), the rest
# divided by their maximum. In OU time the same points are e^{-t}(x0 + sigma q_j) =
# e^{-t} x0 + sqrt(Delta_t) q_j, and every overall factor cancels in the normalisation.

__all__ += [
    "orthogonal_probes",
    "probe_score_matrix",
    "normalized_spectrum",
    "direction_response",
    "tangent_group_basis",
    "dimension_estimate",
    "spectral_gaps",
]


def orthogonal_probes(n: int, d: int, seed=None) -> np.ndarray:
    r"""``n`` independent Haar-random orthogonal ``d x d`` matrices (rows orthonormal).

    QR decomposition of a standard Gaussian matrix with the signs of :math:`\mathrm{diag}\,R`
    moved into :math:`Q` (Mezzadri's recipe), which makes :math:`Q` Haar-distributed on
    :math:`O(d)` (the distribution of ``scipy.stats.ortho_group``, used by the authors).

    Parameters
    ----------
    n : int
        Number of matrices, ``>= 1``.
    d : int
        Dimension, ``>= 1``.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray, shape (n, d, d)

    Examples
    --------
    >>> Q = orthogonal_probes(2, 3, seed=0)
    >>> bool(np.allclose(Q @ Q.transpose(0, 2, 1), np.eye(3)))
    True
    """
    n = check_int("n", n, minimum=1)
    d = check_int("d", d, minimum=1)
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((n, d, d)))
    sign = np.sign(np.diagonal(r, axis1=1, axis2=2))
    sign[sign == 0] = 1.0
    return q * sign[:, None, :]


def probe_score_matrix(score, x0, t, probes, *, scale=None, symmetric: bool = False) -> np.ndarray:
    r"""The authors' score matrix at given points: rows are the score at an orthogonal frame of
    probe points around each point (any points: training points, fresh draws, the data mean).

    One-sided (the authors' synthetic-data protocol), for each point :math:`x_0` with frame
    :math:`Q` (rows :math:`q_j`):

    .. math:: M_{j\cdot} = s\big(e^{-t}x_0 + h\,q_j,\ t\big),\qquad j = 1..d,
              \quad h = \sqrt{\Delta_t}\ \text{(default)},

    the OU image of the variance-exploding points :math:`x_0+\sigma q_j`,
    :math:`\sigma^2 = e^{2t}-1` (:math:`e^{-t}\sigma = \sqrt{\Delta_t}`). Symmetric (their
    image-data option):
    :math:`M_{j\cdot} = [s(e^{-t}x_0+hq_j) - s(e^{-t}x_0-hq_j)]/2h`, which tends to
    :math:`Q\,J^T` (:math:`J = \nabla_x s` at :math:`e^{-t}x_0`) as :math:`h\to0`.

    Parameters
    ----------
    score : callable
        ``score(x, t) -> ndarray`` of shape (B, d) for ``x`` of shape (B, d), OU time ``t``.
    x0 : array_like, shape (P, d)
        Points (clean data; they are scaled by :math:`e^{-t}` here).
    t : float
        OU time ``> 0``.
    probes : array_like, shape (P, d, d)
        One orthogonal frame per point (:func:`orthogonal_probes`).
    scale : float, optional
        Probe distance :math:`h > 0`; default :math:`\sqrt{\Delta_t}`.
    symmetric : bool
        Central difference instead of the one-sided scores.

    Returns
    -------
    ndarray, shape (P, d, d)
        One matrix per point (row ``j``: probe ``j``).
    """
    x0 = check_array("x0", x0)
    if x0.ndim != 2 or not np.all(np.isfinite(x0)):
        raise ValueError(f"x0 must be a finite array of shape (P, d), got shape {x0.shape}")
    P, d = x0.shape
    Q = check_array("probes", probes)
    if Q.shape != (P, d, d) or not np.all(np.isfinite(Q)):
        raise ValueError(f"probes must be finite of shape ({P}, {d}, {d}), got {Q.shape}")
    t = float(check_times(t, positive=True))
    h = math.sqrt(cv.delta(t)) if scale is None else check_real("scale", scale, low=0.0, low_open=True)
    centre = (cv.theta(t) * x0)[:, None, :]
    pts = (centre + h * Q).reshape(P * d, d)
    s_plus = np.asarray(score(pts, t), dtype=np.float64)
    if s_plus.shape != (P * d, d):
        raise ValueError(f"score must return shape ({P * d}, {d}), got {s_plus.shape}")
    if not symmetric:
        return s_plus.reshape(P, d, d)
    s_minus = np.asarray(score((centre - h * Q).reshape(P * d, d), t), dtype=np.float64)
    return ((s_plus - s_minus) / (2.0 * h)).reshape(P, d, d)


def _check_matrices(M) -> np.ndarray:
    M = check_array("M", M)
    if M.ndim == 2:
        M = M[None]
    if M.ndim != 3 or M.shape[1] != M.shape[2] or M.shape[1] < 2 or not np.all(np.isfinite(M)):
        raise ValueError(f"M must be finite of shape (P, d, d) with d >= 2, got {np.shape(M)}")
    return M


def normalized_spectrum(M, *, drop_first: bool = True) -> np.ndarray:
    r"""The authors' normalised spectrum of score matrices.

    With singular values :math:`s_1\ge s_2\ge\dots\ge s_d` of :math:`M`, the largest is dropped
    (it carries the common part :math:`s(x_0)` of the rows) and the rest are divided by their
    maximum: :math:`\hat s_k = s_{k+1}/s_2`, :math:`k = 1..d-1` (``drop_first=False``:
    :math:`s_k/s_1`, :math:`k = 1..d`).

    For a linear (Gaussian) score :math:`s(x) = -A x` probed at :math:`x_0 = 0`,
    :math:`M = -hQA` and the :math:`\hat s_k` are the sorted eigenvalues of :math:`A`
    relative to the largest (the population of a linear manifold: :math:`\hat s_i =
    \tau/(\tau+\sigma_i^2)` along a tangent direction of variance :math:`\sigma_i^2`,
    :math:`\tau = e^{2t}-1`, and 1 along the normal directions).

    Parameters
    ----------
    M : array_like, shape (P, d, d) or (d, d)
    drop_first : bool

    Returns
    -------
    ndarray, shape (P, d - 1) (or (P, d)), descending, the first entry 1.

    Examples
    --------
    >>> A = np.diag([1.0, 0.5, 0.25, 2.0])      # probed at 0: M = -Q A
    >>> Q = orthogonal_probes(1, 4, seed=1)
    >>> normalized_spectrum(-Q @ A).round(6).tolist()
    [[1.0, 0.5, 0.25]]
    """
    M = _check_matrices(M)
    s = np.linalg.svd(M, compute_uv=False)
    if drop_first:
        s = s[:, 1:]
    top = s[:, :1]
    return np.divide(s, top, out=np.ones_like(s), where=top > 0)


def direction_response(M, directions, *, drop_first: bool = True) -> np.ndarray:
    r"""Root-mean-square normalised singular value of score matrices along given directions.

    With :math:`\tilde M = M - s_1u_1v_1^T` (the authors' dropped component removed; ``drop_first=
    False``: :math:`\tilde M = M`) and :math:`\tilde s` its largest singular value, for the
    orthonormal columns :math:`b_1..b_m` of ``directions``

    .. math:: r = \frac{1}{\tilde s}\Big(\frac1m\sum_{a=1}^m|\tilde M b_a|^2\Big)^{1/2}
              \in [0, 1],

    the spectrum's value "seen" by those directions: for a linear score probed at 0 and a
    direction :math:`b` along an eigenvector of :math:`A`, :math:`r = \hat s` of that
    eigenvalue (:func:`normalized_spectrum`).

    Parameters
    ----------
    M : array_like, shape (P, d, d)
    directions : array_like, shape (d, m) or (P, d, m)
        Orthonormal columns (one set for all matrices, or one per matrix); ``m >= 1``.
    drop_first : bool

    Returns
    -------
    ndarray, shape (P,)

    Examples
    --------
    >>> A = np.diag([1.0, 0.5, 0.25, 2.0])
    >>> Q = orthogonal_probes(1, 4, seed=1)
    >>> direction_response(-Q @ A, np.eye(4)[:, 1:3]).round(6).tolist()   # sqrt((0.5^2+0.25^2)/2)
    [0.395285]
    """
    M = _check_matrices(M)
    P, d, _ = M.shape
    B = check_array("directions", directions)
    if B.ndim == 2:
        B = np.broadcast_to(B, (P,) + B.shape)
    if B.ndim != 3 or B.shape[:2] != (P, d) or B.shape[2] < 1 or not np.all(np.isfinite(B)):
        raise ValueError(f"directions must be finite of shape ({d}, m) or ({P}, {d}, m), got {np.shape(directions)}")
    U, s, Vt = np.linalg.svd(M)
    if drop_first:
        M = M - s[:, 0, None, None] * U[:, :, :1] * Vt[:, None, 0, :]
        top = s[:, 1]
    else:
        top = s[:, 0]
    proj = np.einsum("pij,pjm->pim", M, B)
    rms = np.sqrt(np.einsum("pim,pim->p", proj, proj) / B.shape[2])
    return np.divide(rms, top, out=np.ones_like(rms), where=top > 0)


def tangent_group_basis(x0, coordinates) -> np.ndarray:
    r"""Orthonormal directions of a coordinate group that are orthogonal to a point.

    For data projected on the unit sphere (the authors' normalisation), the group's
    coordinate subspace :math:`G = \mathrm{span}\{e_i: i\in\text{coordinates}\}` loses, at a
    point :math:`x_0`, its radial direction :math:`x_{0,G}/|x_{0,G}|`; the rest,
    :math:`G\cap x_0^\perp` (dimension :math:`|G|-1`), is tangent to the sphere at
    :math:`x_0`. Returned as the columns of an orthonormal basis (Householder reflection of the
    group's axes; with :math:`x_{0,G} = 0` all :math:`|G|` axes minus the first are returned).

    Parameters
    ----------
    x0 : array_like, shape (P, d)
    coordinates : sequence of int
        Indices of the group, ``>= 2`` distinct entries in ``[0, d)``.

    Returns
    -------
    ndarray, shape (P, d, k - 1)
        ``k`` the number of axes of the group.

    Examples
    --------
    >>> B = tangent_group_basis([[0.6, 0.8, 0.0]], [0, 1])
    >>> B[0, :, 0].round(6).tolist()    # the circle's tangent at (0.6, 0.8), up to sign
    [0.8, -0.6, 0.0]
    """
    x0 = check_array("x0", x0)
    if x0.ndim != 2 or not np.all(np.isfinite(x0)):
        raise ValueError(f"x0 must be a finite array of shape (P, d), got shape {x0.shape}")
    P, d = x0.shape
    idx = np.asarray(coordinates)
    if idx.ndim != 1 or idx.size < 2 or not np.issubdtype(idx.dtype, np.integer) \
            or np.unique(idx).size != idx.size or idx.min() < 0 or idx.max() >= d:
        raise ValueError(f"coordinates must be >= 2 distinct integers in [0, {d}), got {coordinates!r}")
    m = idx.size
    g = x0[:, idx]
    norm = np.linalg.norm(g, axis=1)
    e1 = np.zeros(m)
    e1[0] = 1.0
    # Householder H maps e1 to the unit radial direction r; its other columns span r-perp in G
    r = np.where(norm[:, None] > 0, g / np.where(norm > 0, norm, 1.0)[:, None], e1[None])
    v = r - e1[None]
    vn = np.einsum("pi,pi->p", v, v)
    H = np.broadcast_to(np.eye(m), (P, m, m)).copy()
    ok = vn > 1e-30
    H[ok] -= 2.0 * v[ok, :, None] * v[ok, None, :] / vn[ok, None, None]
    out = np.zeros((P, d, m - 1))
    out[:, idx, :] = H[:, :, 1:]
    return out


def dimension_estimate(spectrum, level: float = 0.5) -> np.ndarray:
    r"""Number of normalised singular values at or below ``level``: the directions the score
    does not contract like a normal direction, :math:`\hat k = \#\{k: \hat s_k\le\text{level}\}`.

    With ``level = 1/2`` this is the criterion of :func:`surviving_directions`
    (:math:`\Delta_t\lambda\ge-\tfrac12`): the population of a linear manifold keeps direction
    :math:`i` iff :math:`\sigma_i^2\ge\tau`.

    Parameters
    ----------
    spectrum : array_like, shape (..., m)
        Normalised spectra (:func:`normalized_spectrum`).
    level : float
        In ``(0, 1)``.

    Returns
    -------
    ndarray of int, shape (...)
    """
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    s = check_array("spectrum", spectrum)
    if s.ndim < 1 or not np.all(np.isfinite(s)):
        raise ValueError("spectrum must be a finite array with a last axis")
    return np.sum(s <= level, axis=-1)


def spectral_gaps(spectrum, indices) -> np.ndarray:
    r"""Gaps of normalised spectra above their ``m`` smallest values, the quantity the authors
    read at the subspace dimensions: with the values ascending,
    :math:`u_1\le u_2\le\dots`, the gap at ``m`` is :math:`g_m = u_{m+1}-u_m` (:math:`g_0 = u_1`).
    A subspace of dimension ``m`` that the score keeps while it contracts every other direction
    opens :math:`g_m`; a fully contracted score has every gap near 0.

    Parameters
    ----------
    spectrum : array_like, shape (..., n)
    indices : sequence of int
        Values of ``m`` in ``[0, n)``.

    Returns
    -------
    ndarray, shape (..., len(indices))

    Examples
    --------
    >>> spectral_gaps([1.0, 0.9, 0.2, 0.1], [0, 1, 2]).round(6).tolist()
    [0.1, 0.1, 0.7]
    """
    s = np.sort(check_array("spectrum", spectrum), axis=-1)
    if s.ndim < 1 or not np.all(np.isfinite(s)):
        raise ValueError("spectrum must be a finite array with a last axis")
    n = s.shape[-1]
    m = np.asarray(indices)
    if m.ndim != 1 or not np.issubdtype(m.dtype, np.integer) or np.any(m < 0) or np.any(m >= n):
        raise ValueError(f"indices must be integers in [0, {n}), got {indices!r}")
    lower = np.concatenate([np.zeros(s.shape[:-1] + (1,)), s], axis=-1)
    return lower[..., m + 1] - lower[..., m]
