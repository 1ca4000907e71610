r"""Kernel two-sample statistic: unbiased MMD² with a Gaussian kernel (numpy only).

The maximum mean discrepancy of Gretton et al. (JMLR 13, 2012) between distributions
:math:`P` and :math:`Q` under the Gaussian kernel
:math:`k(x,y) = \exp(-|x-y|^2/2h^2)` is

.. math:: \mathrm{MMD}^2 = \mathbb E\,k(x,x') + \mathbb E\,k(y,y') - 2\,\mathbb E\,k(x,y),
          \qquad x,x'\sim P,\ y,y'\sim Q .

Contents:

* :func:`median_bandwidth` — :math:`h` = median pairwise distance of a reference set (the
  median heuristic);
* :func:`mmd2` — the unbiased U-statistic and its first-order (Hoeffding) standard error;
* :func:`mmd2_permutation_pvalue` — a permutation p-value for :math:`P = Q`;
* :func:`gaussian_mmd2` — the closed form of :math:`\mathrm{MMD}^2` between two Gaussians,
  the exact reference of the tests.

The statistic is used by the trained-model experiments of :mod:`diffphase.validation`
(sample quality of diffusion samplers against held-out data); it does not involve time.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x, y = rng.standard_normal((500, 2)), rng.standard_normal((500, 2)) + [1.0, 0.0]
>>> r = mmd2(x, y, bandwidth=1.0)
>>> exact = gaussian_mmd2([0, 0], np.eye(2), [1, 0], np.eye(2), 1.0)
>>> abs(r.mmd2 - exact) < 4 * r.stderr
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .checks import check_data, check_int, check_real

__all__ = [
    "gaussian_kernel",
    "median_bandwidth",
    "MMDResult",
    "mmd2",
    "mmd2_permutation_pvalue",
    "gaussian_mmd2",
]


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
        mu = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        C = np.atleast_2d(np.asarray(cov, dtype=np.float64))
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
