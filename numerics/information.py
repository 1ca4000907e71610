r"""Class information along the diffusion: the Bayes posterior :math:`p(y\mid x_t)`, the
conditional entropy :math:`H(Y\mid X_t)`, its rate, per-class profiles and the online Bayes
classifier (Handke, Koulischer, Raya & Ambrogioni, arXiv 2506.10433; Koulischer et al.,
arXiv 2410.14398).

Time is OU time :math:`t\ge0` (:math:`x_t = e^{-t}x_0 + \sqrt{\Delta_t}z`,
:math:`\Delta_t = 1-e^{-2t}`, :math:`\theta = e^{-t}`); entropies are in nats. The formulas are
derived in :mod:`diffphase.theory.information`.

Isotropic mixture :math:`\sum_y\pi_y\mathcal N(\mu_y, v_yI_d)` (``means`` (K, d),
``variances`` :math:`v_y\ge0`, ``weights`` :math:`\pi_y`): class :math:`y` noised is
:math:`\mathcal N(\theta\mu_y, \Gamma_yI)`, :math:`\Gamma_y = \Delta_t + v_y\theta^2`, and

.. math:: p(y\mid x_t) = \frac{\pi_y\mathcal N(x_t;\theta\mu_y,\Gamma_y I)}
          {\sum_j\pi_j\mathcal N(x_t;\theta\mu_j,\Gamma_j I)},\qquad
          H(Y\mid X_t) = -\mathbb E\sum_y p(y\mid X_t)\log p(y\mid X_t),

.. math:: \frac{dH(Y\mid X_t)}{dt} = \mathbb E_{y,x_t}\big|\nabla\log p_t(x_t\mid y)
          - \nabla\log p_t(x_t)\big|^2 \;\ge 0

(a de Bruijn identity for the label; the rate of information transfer in the generative
direction, which runs from large to small :math:`t`).

Solvers:

* **quadrature** when the problem is one-dimensional: ``d = 1``, or equal variances with all
  means on one line (e.g. two classes in any ``d``; the posterior depends only on the
  projection, exactly). Composite 20-point Gauss--Legendre on panels of half a class
  standard deviation, over :math:`\pm12` standard deviations of every class;
  absolute error :math:`\le10^{-10}` (checked against mpmath at 15--20 digits).
* **Monte Carlo** otherwise: stratified by class (:math:`n\pi_y` draws each), returning the
  estimate and its standard error (:func:`class_entropy_monte_carlo`); with equal variances
  it samples in the span of the means only.

Examples
--------
>>> import numpy as np
>>> from diffphase.numerics import information as info
>>> means = np.array([[-1.0], [1.0]])
>>> round(info.class_entropy(20.0, means, [0.1, 0.1]), 12)     # noise: H = log 2
0.69314718056
>>> round(info.class_entropy(0.0, means, [0.01, 0.01]), 12)    # separated data: H = 0
0.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from scipy import optimize
from scipy.special import logsumexp

from . import conventions as cv
from . import process
from .checks import check_array, check_data, check_int, check_real, check_times
from .gaussian_mixture import GaussianMixture

__all__ = [
    "ClassModel",
    "LabelledPoints",
    "posterior",
    "class_entropy",
    "class_entropy_monte_carlo",
    "entropy_rate",
    "class_profiles",
    "class_entropy_rates",
    "information_transfer_window",
    "empirical_posterior",
    "empirical_class_entropy",
    "OnlinePosterior",
    "online_posterior",
    "KERNELS",
    "GuidedSamples",
    "mixture_denoisers",
    "negative_guidance_sample",
]

KERNELS = ("exponential", "euler_maruyama", "exact")


def _ret(x):
    return float(x) if np.ndim(x) == 0 else x


# ---------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------
@runtime_checkable
class ClassModel(Protocol):
    r"""What :func:`online_posterior` needs of a model of labelled classes.

    :class:`~diffphase.numerics.gaussian_mixture.GaussianMixture` (exact Gaussian classes),
    :class:`LabelledPoints` (a finite labelled data set) and a trained class-conditional
    network (:class:`diffphase.validation.models.ClassConditional`) are class models. Beyond
    this protocol :func:`online_posterior` uses ``posterior(x, t)`` (shape (B, K)) when no
    initial posterior is given, ``class_scores(x, t)`` (shape (B, K, d)) for
    ``kernel="euler_maruyama"``, and ``posterior_variances(t)`` for ``kernel="exact"``. OU time.
    """

    @property
    def K(self) -> int:
        """Number of classes."""

    @property
    def d(self) -> int:
        """Dimension."""

    def class_denoisers(self, x, t) -> np.ndarray:
        r"""Class-conditional denoisers :math:`E[x_0\mid x_t = x, y]`, shape (B, K, d)."""


class LabelledPoints:
    r"""A finite labelled data set :math:`\{(a_i, y_i)\}`: the noised empirical measure
    :math:`\frac1n\sum_i\mathcal N(\theta a_i,\Delta_tI)` and its exact class posterior
    :math:`p(y\mid x_t) = \sum_{i:y_i=y}w_i(x_t)`, :math:`w = \mathrm{softmax}_i
    [-|x_t-\theta a_i|^2/2\Delta_t]`.

    Parameters
    ----------
    data : array_like, shape (n, d)
    labels : array_like of int, shape (n,)
        Values in ``0 .. n_classes - 1``.
    n_classes : int, optional
        Defaults to ``labels.max() + 1``.

    Examples
    --------
    >>> lp = LabelledPoints([[1.0], [-1.0]], [0, 1])
    >>> lp.posterior(np.array([[0.0]]), 0.3).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, data, labels, n_classes=None):
        X = check_data(data, "data", min_rows=1, dtype=np.float64)
        y = np.asarray(labels)
        if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer) or np.any(y < 0):
            raise ValueError(f"labels must be non-negative integers of shape ({X.shape[0]},)")
        K = int(y.max()) + 1 if n_classes is None else check_int("n_classes", n_classes, minimum=1)
        if np.any(y >= K):
            raise ValueError(f"labels must be < n_classes = {K}")
        self.data, self.labels, self._K = X, y.astype(np.int64), K
        self.weights = np.bincount(self.labels, minlength=K) / X.shape[0]

    @property
    def K(self) -> int:
        """Number of classes."""
        return self._K

    @property
    def d(self) -> int:
        """Dimension."""
        return self.data.shape[1]

    def _logw(self, x, t):
        t = float(check_times(t, positive=True))
        x = check_array("x", x)
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ValueError(f"x must have shape (B, {self.d}), got {x.shape}")
        D = cv.delta(t)
        d2 = ((x[:, None, :] - cv.theta(t) * self.data[None]) ** 2).sum(-1)
        return -d2 / (2 * D), t

    def posterior(self, x, t) -> np.ndarray:
        r"""Exact posterior of the labels under the noised empirical measure, (B, K)."""
        lw, _ = self._logw(x, t)
        w = np.exp(lw - logsumexp(lw, axis=1, keepdims=True))
        out = np.zeros((w.shape[0], self.K))
        np.add.at(out.T, self.labels, w.T)
        return out

    def class_denoisers(self, x, t) -> np.ndarray:
        r"""Class-conditional empirical denoisers :math:`\sum_{i:y_i=y}w_i a_i/\sum_{i:y_i=y}w_i`,
        shape (B, K, d) (zeros for an empty class)."""
        lw, _ = self._logw(x, t)
        out = np.zeros((lw.shape[0], self.K, self.d))
        for k in range(self.K):
            sel = self.labels == k
            if np.any(sel):
                lk = lw[:, sel]  # softmax within the class (its own maximum subtracted)
                wk = np.exp(lk - lk.max(axis=1, keepdims=True))
                out[:, k] = (wk @ self.data[sel]) / wk.sum(axis=1, keepdims=True)
        return out

    def class_scores(self, x, t) -> np.ndarray:
        r""":math:`\nabla\log p_t(x\mid y) = (\theta D_y(x) - x)/\Delta_t`, shape (B, K, d)."""
        x = check_array("x", x)
        t = float(check_times(t, positive=True))
        return process.score_from_denoiser(x[:, None, :], self.class_denoisers(x, t), t)

    def score(self, x, t) -> np.ndarray:
        r"""Empirical score :math:`\nabla\log P_t(x)`, shape (B, d)."""
        return np.einsum("bk,bkd->bd", self.posterior(x, t), self.class_scores(x, t))

    def posterior_variances(self, t) -> None:  # not Gaussian: no exact kernel
        return None




def _model(means, variances, weights):
    return GaussianMixture(means, variances, weights)


def posterior(x, t, means, variances, weights=None) -> np.ndarray:
    r"""Closed-form Bayes posterior :math:`p(y\mid x_t = x)` of the isotropic mixture.

    Parameters
    ----------
    x : array_like, shape (B, d)
    t : float
        OU time (``> 0`` if some variance is 0).
    means, variances, weights
        As in :class:`~diffphase.numerics.gaussian_mixture.GaussianMixture`.

    Returns
    -------
    ndarray, shape (B, K)

    Examples
    --------
    >>> posterior([[0.0]], 1.0, [[-1.0], [1.0]], 1.0, [0.25, 0.75]).round(12).tolist()
    [[0.25, 0.75]]
    """
    return _model(means, variances, weights).posterior(x, t)


# ---------------------------------------------------------------------------------------
# reduction to one dimension and the integrands
# ---------------------------------------------------------------------------------------
def _line(model: GaussianMixture):
    """Coordinates of the means on one line when the problem is exactly one-dimensional
    (``d = 1``, or equal variances and collinear means); ``None`` otherwise."""
    if model.d == 1:
        return model.means[:, 0].copy()
    if not np.all(model.variances == model.variances[0]):
        return None
    diff = model.means - model.means[0]
    if model.K == 1:
        return np.zeros(1)
    u, s, vt = np.linalg.svd(diff, full_matrices=False)
    scale = max(s[0], 1e-300)
    if s.size > 1 and s[1] > 1e-12 * scale:
        return None
    return diff @ vt[0]


def _pointwise(xv, c, g, lw, th):
    """Per point (rows of the 1-d array xv): log joint (B,K), posterior (B,K),
    class-score gaps s_y - s (B,K)."""
    lj = lw - 0.5 * np.log(2 * math.pi * g) - (xv[:, None] - th * c) ** 2 / (2 * g)
    L = logsumexp(lj, axis=1, keepdims=True)
    p = np.exp(lj - L)
    sy = -(xv[:, None] - th * c) / g
    gap = sy - (p * sy).sum(1, keepdims=True)
    return lj, p, gap


_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


def _quad_1d(t, c, v, w, what):
    """Composite 20-point Gauss--Legendre quadrature of the chosen integrand (1-d model).

    Panels of half a class standard deviation cover the union of the windows :math:`\\theta c_y \\pm 12\\sqrt{\\Gamma_y}` (outside them every class density is
    below :math:`e^{-72}`); the integrand is analytic, so each panel converges geometrically.
    """
    th = cv.theta(t)
    g = cv.delta(t) + v * th * th
    with np.errstate(divide="ignore"):
        lw = np.log(w)
    live = w > 0
    centres, sd = th * c[live], np.sqrt(g[live])
    # each window is cut into 48 panels of half its own standard deviation; a narrower class
    # inside a wider window adds its own finer cuts (its posterior transitions lie within
    # its window: its density relative to a wider class decays like a Gaussian of its width)
    cuts = [np.linspace(m - 12 * s_, m + 12 * s_, 49) for m, s_ in zip(centres, sd)]
    edges = np.unique(np.concatenate(cuts))
    a, b = edges[:-1], edges[1:]
    mid = 0.5 * (a + b)
    keep = np.any(np.abs(mid[:, None] - centres[None]) < 12 * sd[None], axis=1)
    a, b = a[keep], b[keep]
    half = 0.5 * (b - a)
    xs = (0.5 * (a + b))[:, None] + half[:, None] * _GL_X[None]
    wq = (half[:, None] * _GL_W[None]).ravel()
    xs = xs.ravel()
    lj, p, gap = _pointwise(xs, c, g, lw, th)
    if what.startswith("entropy"):
        with np.errstate(invalid="ignore"):
            lp = lj - logsumexp(lj, axis=1, keepdims=True)
            h = -np.where(p > 0, p * lp, 0.0).sum(1)
        f = np.exp(lj) * h[:, None]          # pi_y N_y(x) h(x)
    else:
        f = np.exp(lj) * gap * gap           # pi_y N_y(x) |s_y - s|^2
    cols = wq @ f                            # per class, times pi_y
    if what.endswith("s"):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(live, cols / w, np.nan)
    return float(cols.sum())


def _mc(t, model: GaussianMixture, n_samples, seed, what):
    """Stratified Monte Carlo: returns (estimate (K+1,), stderr (K+1,)); entry 0 is the
    total, entries 1.. the per-class expectations."""
    rng = np.random.default_rng(seed)
    sub = None  # the same model in the span of the mean differences, when exact
    means, d = model.means, model.d
    if np.all(model.variances == model.variances[0]) and model.K > 1:
        # exact reduction to the span of the mean differences (r <= K-1 dimensions)
        diff = model.means - model.means[0]
        _, s, vt = np.linalg.svd(diff, full_matrices=False)
        r = int(np.sum(s > 1e-12 * max(s[0], 1e-300)))
        if r < d:
            means, d = diff @ vt[:r].T if r > 0 else np.zeros((model.K, 1)), max(r, 1)
            sub = GaussianMixture(means, model.variances, model.weights)
    m = sub if sub is not None else model
    th, g = cv.theta(t), m.gammas(t)
    est = np.zeros(m.K + 1)
    var = np.zeros(m.K + 1)
    for k in range(m.K):
        if m.weights[k] == 0:
            est[k + 1] = var[k + 1] = np.nan
            continue
        nk = max(int(math.ceil(n_samples * m.weights[k])), 2)
        x = th * m.means[k] + math.sqrt(g[k]) * rng.standard_normal((nk, d))
        lj = m.log_joint(x, t)
        L = logsumexp(lj, axis=1, keepdims=True)
        lp = lj - L
        if what.startswith("entropy"):
            with np.errstate(invalid="ignore"):
                vals = -np.where(lp > -np.inf, np.exp(lp) * lp, 0.0).sum(1)
        else:
            p = np.exp(lp)
            sy = m.class_scores(x, t)
            s = np.einsum("bk,bkd->bd", p, sy)
            vals = ((sy[:, k] - s) ** 2).sum(1)
        est[k + 1] = vals.mean()
        var[k + 1] = vals.var(ddof=1) / nk
        est[0] += m.weights[k] * est[k + 1]
        var[0] += m.weights[k] ** 2 * var[k + 1]
    return est, np.sqrt(var)


def _dispatch(t, means, variances, weights, what, n_samples, seed):
    model = _model(means, variances, weights)
    n_samples = check_int("n_samples", n_samples, minimum=2)
    ts = check_times(t, positive=bool(np.any(model.variances == 0)))
    c = _line(model)
    out = []
    for tt in ts.ravel():
        tt = float(tt)
        if c is not None:
            out.append(_quad_1d(tt, c, model.variances, model.weights, what))
        else:
            est, _ = _mc(tt, model, n_samples, seed, what)
            out.append(est[0] if not what.endswith("s") else est[1:])
    arr = np.array(out)
    if what.endswith("s"):
        return arr.reshape(ts.shape + (model.K,))
    return _ret(arr.reshape(ts.shape))


def class_entropy(t, means, variances, weights=None, *, n_samples=200_000, seed=0):
    r"""Conditional entropy :math:`H(Y\mid X_t)` (nats) of the class of an isotropic mixture.

    .. math:: H(Y\mid X_t) = -\sum_y\pi_y\int\mathcal N(x;\theta\mu_y,\Gamma_yI)
              \log p(y\mid x)\,dx,\quad \theta = e^{-t},\ \Gamma_y = \Delta_t + v_y\theta^2 .

    It decreases from :math:`H(Y) = -\sum\pi_y\log\pi_y` at :math:`t\to\infty` to 0 at
    :math:`t=0` for separated classes.

    Parameters
    ----------
    t : float or array_like
        OU time(s) ``>= 0`` (``> 0`` if some variance is 0).
    means : array_like, shape (K, d)
    variances : float or array_like, shape (K,)
        Class variances :math:`v_y\ge0`.
    weights : array_like, shape (K,), optional
        Class probabilities (uniform by default).
    n_samples, seed
        Monte Carlo size and seed, used only when the problem is not one-dimensional (module
        docstring); :func:`class_entropy_monte_carlo` also returns the standard error.

    Returns
    -------
    float or ndarray
        Same shape as ``t``. Quadrature: absolute error :math:`\le10^{-10}`.

    Examples
    --------
    >>> h = class_entropy([0.1, 1.0, 3.0], [[-2.0], [2.0]], 1.0)
    >>> bool(np.all(np.diff(h) > 0))
    True
    """
    return _dispatch(t, means, variances, weights, "entropy", n_samples, seed)


def class_entropy_monte_carlo(t, means, variances, weights=None, *, n_samples=200_000, seed=0):
    r"""Monte Carlo estimate of :func:`class_entropy` at one OU time, in any dimension.

    Draws :math:`\lceil n\pi_y\rceil` points from every noised class and averages the
    posterior entropy :math:`-\sum_j p(j\mid x)\log p(j\mid x)`.

    Returns
    -------
    (float, float)
        Estimate and its standard error (stratified).

    Examples
    --------
    >>> h, se = class_entropy_monte_carlo(1.0, [[-1.0, 0.0], [1.0, 0.0]], 1.0, n_samples=4000)
    >>> 0 < se < 0.01
    True
    """
    model = _model(means, variances, weights)
    n_samples = check_int("n_samples", n_samples, minimum=2)
    t = float(check_times(t, positive=bool(np.any(model.variances == 0))))
    est, se = _mc(t, model, n_samples, seed, "entropy")
    return float(est[0]), float(se[0])


def entropy_rate(t, means, variances, weights=None, *, n_samples=200_000, seed=0):
    r"""Entropy rate :math:`dH(Y\mid X_t)/dt\ge0` (nats per unit OU time).

    .. math:: \frac{dH}{dt} = \sum_y\pi_y\,\mathbb E_{x\sim p_t(\cdot\mid y)}
              \Big|\nabla\log p_t(x\mid y) - \nabla\log p_t(x)\Big|^2,
              \quad \nabla\log p_t(x\mid y) = -\frac{x-\theta\mu_y}{\Gamma_y},

    (:mod:`diffphase.theory.information`), evaluated like :func:`class_entropy`. Its peak
    locates the maximal information transfer (:func:`information_transfer_window`).

    Examples
    --------
    >>> r = entropy_rate(0.5, [[-1.0], [1.0]], 0.2)
    >>> h = class_entropy([0.5 - 1e-4, 0.5 + 1e-4], [[-1.0], [1.0]], 0.2)
    >>> bool(abs(r - (h[1] - h[0]) / 2e-4) < 1e-6)
    True
    """
    return _dispatch(t, means, variances, weights, "rate", n_samples, seed)


def class_profiles(t, means, variances, weights=None, *, n_samples=200_000, seed=0):
    r"""Per-class profiles: the expected posterior entropy of points of class :math:`y`,
    :math:`H_y(t) = \mathbb E_{x\sim p_t(\cdot\mid y)}[-\sum_j p(j\mid x)\log p(j\mid x)]`, and
    the per-class rate
    :math:`r_y(t) = \mathbb E_{x\sim p_t(\cdot\mid y)}|\nabla\log p_t(x\mid y)-\nabla\log p_t(x)|^2
    = -\tfrac{d}{dt}\mathrm{KL}(p_t(\cdot\mid y)\,\|\,p_t)`.

    :math:`\sum_y\pi_yH_y = H(Y\mid X_t)` and :math:`\sum_y\pi_yr_y = dH/dt`. Classes that
    differ in weight or spread have different profiles (their decisions fall at different
    times).

    Returns
    -------
    (ndarray, ndarray)
        ``entropy`` and ``rate``, each of shape ``t.shape + (K,)`` (NaN for zero-weight
        classes).

    Examples
    --------
    >>> H, r = class_profiles(1.0, [[-1.0], [1.0]], [0.1, 1.0])
    >>> H.shape, bool(H[0] > H[1])      # the narrow class sits inside the wide one
    ((2,), True)
    """
    H = _dispatch(t, means, variances, weights, "entropys", n_samples, seed)
    r = _dispatch(t, means, variances, weights, "rates", n_samples, seed)
    return H, r


def class_entropy_rates(t, means, variances, weights=None, *, n_samples=200_000, seed=0, rel_step=1e-3):
    r"""Per-class entropy rates :math:`dH_y/dt`, the time derivative of the per-class profile
    :math:`H_y(t)` of :func:`class_profiles` (nats per unit OU time).

    :math:`H_y(t)` is the mean posterior entropy along paths that end in class :math:`y`
    (the noised class :math:`p_t(\cdot\mid y)`), so :math:`dH_y/dt` is the entropy rate that
    class-conditional generation, or unconditional paths grouped by their final class, shows.
    It differs from the per-class score-gap rate :math:`r_y` of :func:`class_profiles`, but
    both average to the total: :math:`\sum_y\pi_y\,dH_y/dt = \sum_y\pi_yr_y = dH/dt`.

    Central difference in :math:`\log t`,

    .. math:: \frac{dH_y}{dt}(t) \approx \frac{H_y(te^{h}) - H_y(te^{-h})}{t\,(e^{h}-e^{-h})},
              \qquad h = \text{rel\_step},

    with truncation error :math:`O(h^2)`; :math:`H_y` by quadrature when the problem is
    one-dimensional, else by Monte Carlo with the same ``seed`` at both times (common random
    numbers: the draws :math:`\theta\mu_y + \sqrt{\Gamma_y}z` move smoothly with :math:`t`,
    so the difference carries no extra sampling noise of order :math:`1/h`).

    Parameters
    ----------
    t : float or array_like
        OU time(s), ``> 0``.
    means, variances, weights, n_samples, seed
        As in :func:`class_entropy`.
    rel_step : float
        :math:`h`, in (0, 0.1].

    Returns
    -------
    ndarray
        Shape ``t.shape + (K,)`` (NaN for zero-weight classes).

    Examples
    --------
    >>> means = [[-1.0], [1.0]]
    >>> r = class_entropy_rates(0.5, means, 0.2)
    >>> bool(abs(0.5 * r.sum() - entropy_rate(0.5, means, 0.2)) < 1e-6)   # equal weights
    True
    """
    h = check_real("rel_step", rel_step, low=0.0, high=0.1, low_open=True)
    ts = check_times(t, positive=True)
    up = _dispatch(ts * math.exp(h), means, variances, weights, "entropys", n_samples, seed)
    down = _dispatch(ts * math.exp(-h), means, variances, weights, "entropys", n_samples, seed)
    return (up - down) / (ts * (math.exp(h) - math.exp(-h)))[..., None]


def information_transfer_window(means, variances, weights=None, *, fraction=0.5, t_min=1e-3,
                                t_max=8.0, n_grid=81):
    r"""Time window of maximal information transfer: the peak of :func:`entropy_rate` and the
    interval where the rate exceeds ``fraction`` of its peak.

    A log-spaced grid of ``n_grid`` OU times in ``[t_min, t_max]`` brackets the peak, refined by
    a bounded scalar minimisation (tolerance :math:`10^{-8}`); the ends are Brent roots of
    rate − fraction·peak. One-dimensional problems only (quadrature; see module docstring).

    Returns
    -------
    (float, float, float)
        ``(t_peak, t_low, t_high)`` in OU time (``t_low``/``t_high`` clipped to the grid).

    Examples
    --------
    >>> tp, lo, hi = information_transfer_window([[-2.0], [2.0]], 0.1)
    >>> bool(lo < tp < hi)
    True
    """
    model = _model(means, variances, weights)
    if _line(model) is None:
        raise ValueError("information_transfer_window needs a one-dimensional problem (d = 1, or "
                         "equal variances and collinear means)")
    fraction = check_real("fraction", fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    t_min = check_real("t_min", t_min, low=0.0, low_open=True)
    t_max = check_real("t_max", t_max, low=t_min, low_open=True)
    n_grid = check_int("n_grid", n_grid, minimum=5)
    rate = lambda s: entropy_rate(s, model.means, model.variances, model.weights)  # noqa: E731
    grid = np.geomspace(t_min, t_max, n_grid)
    vals = np.array([rate(s) for s in grid])
    i = int(np.argmax(vals))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, n_grid - 1)]
    res = optimize.minimize_scalar(lambda s: -rate(s), bounds=(a, b), method="bounded",
                                   options={"xatol": 1e-8})
    tp = float(res.x) if -res.fun >= vals[i] else float(grid[i])
    peak = rate(tp)
    level = fraction * peak
    f = lambda s: rate(s) - level  # noqa: E731
    below = np.nonzero(vals[: i + 1] < level)[0]
    lo = float(optimize.brentq(f, grid[below[-1]], tp, xtol=1e-10)) if below.size else float(t_min)
    above = np.nonzero(vals[i:] < level)[0]
    hi = float(optimize.brentq(f, tp, grid[i + above[0]], xtol=1e-10)) if above.size else float(t_max)
    return tp, lo, hi


# ---------------------------------------------------------------------------------------
# finite labelled data
# ---------------------------------------------------------------------------------------
def empirical_posterior(x, t, data, labels, n_classes=None) -> np.ndarray:
    r"""Class posterior under the noised empirical measure of a labelled data set
    (:class:`LabelledPoints`), shape (B, K); OU time ``t > 0``.

    Examples
    --------
    >>> empirical_posterior([[0.5]], 1.0, [[1.0], [-1.0], [3.0]], [0, 1, 0]).shape
    (1, 2)
    """
    return LabelledPoints(data, labels, n_classes).posterior(x, t)


def empirical_class_entropy(t, data, labels, n_classes=None, *, n_samples=20_000, seed=0):
    r""":math:`H(Y\mid X_t)` of a finite labelled data set, by Monte Carlo over the noised
    empirical measure (points :math:`\theta a_i + \sqrt{\Delta_t}z` with :math:`i` uniform).

    Returns
    -------
    (float, float)
        Estimate and standard error (i.i.d. draws).

    Examples
    --------
    >>> h, se = empirical_class_entropy(10.0, [[1.0], [-1.0]], [0, 1], n_samples=1000)
    >>> round(h, 6)
    0.693147
    """
    lp = LabelledPoints(data, labels, n_classes)
    t = float(check_times(t, positive=True))
    n_samples = check_int("n_samples", n_samples, minimum=2)
    rng = np.random.default_rng(seed)
    vals = []
    for lo in range(0, n_samples, 4096):
        m = min(4096, n_samples - lo)
        i = rng.integers(0, lp.data.shape[0], size=m)
        x = process.noise(lp.data[i], t, generator=rng)
        p = lp.posterior(x, t)
        with np.errstate(divide="ignore", invalid="ignore"):
            vals.append(-np.where(p > 0, p * np.log(p), 0.0).sum(1))
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


# ---------------------------------------------------------------------------------------
# online Bayes classifier
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OnlinePosterior:
    r"""Posterior path of :func:`online_posterior`.

    Attributes
    ----------
    times : ndarray, shape (T,)
        OU times of the trajectory (decreasing).
    posterior : ndarray, shape (T, B, K)
        :math:`p(y\mid x_{t_k})` tracked online.
    entropy : ndarray, shape (T, B)
        Its entropy in nats (average over ``B`` to estimate :math:`H(Y\mid X_t)`).
    """

    times: np.ndarray
    posterior: np.ndarray
    entropy: np.ndarray


def _trajectory(trajectory):
    if hasattr(trajectory, "as_dict"):  # a diffphase.numerics.sde.SamplePath
        trajectory = trajectory.as_dict()
    try:
        if isinstance(trajectory, Mapping):
            items = sorted(trajectory.items(), key=lambda kv: -float(kv[0]))
        else:
            items = [(tt, xx) for tt, xx in trajectory]
    except (TypeError, ValueError):
        raise ValueError("trajectory must be a dict {t: x_t} or a sequence of (t, x_t) pairs") from None
    if len(items) < 1:
        raise ValueError("trajectory must contain at least one (t, x_t) pair")
    times = check_times([float(tt) for tt, _ in items], "trajectory times")
    if np.any(np.diff(times) >= 0):
        raise ValueError("trajectory times must be strictly decreasing (generative direction)")
    xs = []
    for _, xx in items:
        xx = np.asarray(xx.detach().cpu().numpy() if hasattr(xx, "detach") else xx, dtype=np.float64)
        xs.append(xx[None] if xx.ndim == 1 else xx)
    if any(x.shape != xs[0].shape or x.ndim != 2 for x in xs):
        raise ValueError("trajectory states must all have the same shape (B, d) or (d,)")
    return times, xs


def _kernel(kernel, model, x, t, s):
    """Class-conditional mean (B, K, d) and variance (K,) of x_s given x_t."""
    h = t - s
    if kernel == "euler_maruyama":
        sy = model.class_scores(x, t)
        mean = x[:, None, :] + h * (x[:, None, :] + 2.0 * sy)
        return mean, np.full(model.K, 2.0 * h)
    b = process.bridge(t, s)
    mean = b.coef_x0 * model.class_denoisers(x, t) + b.coef_xt * x[:, None, :]
    v = np.full(model.K, b.variance)
    if kernel == "exact":
        v = v + b.coef_x0**2 * model.posterior_variances(t)
    return mean, v


def online_posterior(trajectory, model, *, kernel="exponential", initial=None) -> OnlinePosterior:
    r"""Online Bayes classifier along a generative trajectory.

    Along the backward chain the label is updated with the class-conditional transition
    kernel :math:`q_y(x_s\mid x_t)`:

    .. math:: \log p(y\mid x_s) = \log p(y\mid x_t) + \log q_y(x_s\mid x_t) + \text{const}.

    With the exact kernel this is exact (the forward chain is Markov:
    :math:`p(y\mid x_s, x_t) = p(y\mid x_s)`); with a sampler's Gaussian kernel it is the
    online formula of Handke et al. and Koulischer et al., accurate to the sampler's step.

    Parameters
    ----------
    trajectory : SamplePath, sequence of (t, x) or dict {t: x}
        OU times strictly decreasing; ``x`` of shape (B, d) or (d,). A
        :class:`diffphase.numerics.sde.SamplePath` (:func:`diffphase.numerics.sde.sample_path`)
        works as is.
    model : ClassModel
        A :class:`~diffphase.numerics.gaussian_mixture.GaussianMixture`, a :class:`LabelledPoints`,
        or any class model (:class:`ClassModel`).
        Supplies ``K``, ``d``, ``class_denoisers(x, t)`` (shape (B, K, d)) and, unless
        ``initial`` is given, ``posterior(x, t)`` at the first time. A trained class-conditional
        network wrapped this way (see :mod:`diffphase.validation.information`) runs the same
        classifier on its own predictions (``kernel="euler_maruyama"`` additionally needs
        ``class_scores``).
    kernel : {"exponential", "euler_maruyama", "exact"}
        ``"exponential"``: the Gaussian bridge with the class-conditional denoiser held fixed
        (the DDPM ancestral step of :mod:`diffphase.numerics.sde`); ``"euler_maruyama"``:
        :math:`\mathcal N(x + h[x + 2\nabla\log p_t(x\mid y)], 2h)`; ``"exact"``: the exact
        Gaussian reverse kernel of a
        :class:`~diffphase.numerics.gaussian_mixture.GaussianMixture` class (the bridge plus
        :math:`c^2\,\mathrm{Var}(x_0\mid x_t,y)`), exact for any step. For point-mass classes
        the exponential kernel is already exact.
    initial : array_like, shape (B, K) or (K,), optional
        Posterior at the first time; default ``model.posterior`` there.

    Returns
    -------
    OnlinePosterior

    Examples
    --------
    >>> from diffphase.numerics import sde
    >>> gc = GaussianMixture([[-2.0], [2.0]], 0.0)          # two points
    >>> grid = process.time_grid(3.0, 0.05, 30)
    >>> x0 = np.random.default_rng(0).standard_normal((4, 1))
    >>> traj = sde.sample_path(gc.score, x0, grid, seed=1)
    >>> path = online_posterior(traj, gc)
    >>> exact = gc.posterior(traj.x, float(grid[-1]))
    >>> bool(np.allclose(path.posterior[-1], exact, atol=1e-9))
    True
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if not isinstance(model, ClassModel):
        raise ValueError("model must be a class model: a GaussianMixture, a LabelledPoints, or an object with K, d "
                         "and class_denoisers(x, t) -> (B, K, d) (e.g. a trained class-conditional denoiser)")
    if initial is None and not hasattr(model, "posterior"):
        raise ValueError("initial is required when the model has no posterior(x, t)")
    if kernel == "exact" and not isinstance(model, GaussianMixture):
        raise ValueError("kernel='exact' needs a GaussianMixture model")
    times, xs = _trajectory(trajectory)
    if xs[0].shape[1] != model.d:
        raise ValueError(f"trajectory states must have d = {model.d} columns, got {xs[0].shape[1]}")
    B, K = xs[0].shape[0], model.K
    if initial is None:
        logp = np.log(np.clip(model.posterior(xs[0], times[0]), 1e-300, None))
    else:
        p0 = np.broadcast_to(check_array("initial", initial), (B, K))
        if not np.all(np.isfinite(p0)) or np.any(p0 < 0) or np.any(np.abs(p0.sum(1) - 1) > 1e-8):
            raise ValueError(f"initial must be probabilities of shape (B, K) = ({B}, {K}) summing to 1")
        with np.errstate(divide="ignore"):
            logp = np.log(p0)
    out = np.empty((times.size, B, K))
    out[0] = np.exp(logp - logsumexp(logp, axis=1, keepdims=True))
    for k in range(times.size - 1):
        t, s = float(times[k]), float(times[k + 1])
        mean, var = _kernel(kernel, model, xs[k], t, s)
        d2 = ((xs[k + 1][:, None, :] - mean) ** 2).sum(-1)
        logp = logp - d2 / (2 * var) - 0.5 * model.d * np.log(var)
        logp -= logsumexp(logp, axis=1, keepdims=True)
        out[k + 1] = np.exp(logp)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(out > 0, out * np.log(out), 0.0).sum(-1)
    return OnlinePosterior(times, out, ent)


# ---------------------------------------------------------------------------------------
# dynamic negative guidance
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GuidedSamples:
    r"""Result of :func:`negative_guidance_sample`.

    Attributes
    ----------
    x : ndarray, shape (B, d)
        Samples at the last grid time.
    times : ndarray, shape (T,)
        The OU grid (decreasing).
    p : ndarray, shape (T, B)
        Tracked posterior of the unwanted class at each grid time (constant for
        ``mode="constant"``: the tracker still runs, for diagnostics).
    weight : ndarray, shape (T - 1, B)
        Guidance weight applied at each step.
    """

    x: np.ndarray
    times: np.ndarray
    p: np.ndarray
    weight: np.ndarray


def mixture_denoisers(model: GaussianMixture, unwanted: int):
    r"""Exact denoisers of a :class:`~diffphase.numerics.gaussian_mixture.GaussianMixture` for
    :func:`negative_guidance_sample`: ``f(x, t) -> (D(x, t), D_c(x, t))`` with the unconditional denoiser
    :math:`D = \sum_y p(y\mid x_t)E[x_0\mid x_t,y]` and the unwanted class's
    :math:`D_c = E[x_0\mid x_t, c]` (OU time)."""
    if not isinstance(model, GaussianMixture):
        raise ValueError("model must be a GaussianMixture")
    c = check_int("unwanted", unwanted, minimum=0, maximum=model.K - 1)

    def denoisers(x, t):
        dy = model.class_denoisers(x, t)
        post = model.posterior(x, t)
        return np.einsum("bk,bkd->bd", post, dy), dy[:, c, :]

    return denoisers


def negative_guidance_sample(denoisers, x_init, times, scale, *, mode="dynamic", prior=0.5, p_max=0.99,
                             seed=None) -> GuidedSamples:
    r"""Sample with negative guidance away from one class, dynamic (posterior-weighted) or
    constant (plain negative prompting).

    At each step of the exponential (DDPM-ancestral) sampler of :mod:`diffphase.numerics.sde`
    the unconditional denoiser :math:`D` is replaced by

    .. math:: \tilde D = D - w\,(D_c - D),\qquad
              w = \lambda\,\frac{p_t}{1-p_t}\ \text{(dynamic)},\quad w = \lambda\ \text{(constant)},

    i.e. :math:`\tilde\varepsilon = \varepsilon - w(\varepsilon_c-\varepsilon)` in noise
    prediction (Koulischer et al., arXiv 2410.14398), with :math:`p_t` the posterior of the
    unwanted class tracked online along the chain: after the step :math:`x_t\to x_s`,

    .. math:: p_s = \min\Big(p_t\,\frac{q_c(x_s\mid x_t)}{q(x_s\mid x_t)},\ p_{\max}\Big),

    with :math:`q_c`, :math:`q` the Gaussian bridge kernels of the sampler built from
    :math:`D_c` and :math:`D` (the same means and variance as
    :func:`online_posterior` with ``kernel="exponential"``; :math:`q` stands for the
    unconditional mixture kernel, as in the authors' method). OU time throughout.

    Parameters
    ----------
    denoisers : callable
        ``denoisers(x, t) -> (D, D_c)``, each of shape (B, d) (numpy): the unconditional and the
        unwanted-class denoisers, :math:`E[x_0\mid x_t]` and :math:`E[x_0\mid x_t, c]`. See
        :func:`mixture_denoisers` (exact) and :mod:`diffphase.validation.guidance` (trained).
    x_init : ndarray, shape (B, d)
        States at ``times[0]``.
    times : array_like
        Strictly decreasing OU grid (:func:`diffphase.numerics.process.time_grid`).
    scale : float
        :math:`\lambda \ge 0` (0: unguided sampling).
    mode : {"dynamic", "constant"}
    prior : float or array_like, shape (B,)
        :math:`p` at ``times[0]``, in [0, p_max] (the unwanted class's weight: at large
        :math:`t` the posterior equals the prior).
    p_max : float
        Clip of the tracked posterior, in (0, 1) (keeps :math:`p/(1-p)` finite).
    seed : int, optional
        Seed of the sampler noise.

    Returns
    -------
    GuidedSamples

    Examples
    --------
    >>> from diffphase.numerics import sde
    >>> gc = GaussianMixture([[-2.0], [2.0]], 0.05)
    >>> x0 = np.random.default_rng(0).standard_normal((400, 1))
    >>> out = negative_guidance_sample(mixture_denoisers(gc, 1), x0, process.time_grid(4.0, 1e-3, 60),
    ...                                scale=2.0, seed=1)
    >>> bool(np.mean(out.x[:, 0] > 0) < 0.05)       # the unwanted class (at +2) is avoided
    True
    """
    if mode not in ("dynamic", "constant"):
        raise ValueError(f"mode must be 'dynamic' or 'constant', got {mode!r}")
    lam = check_real("scale", scale, low=0.0)
    pmax = check_real("p_max", p_max, low=0.0, high=1.0, low_open=True, high_open=True)
    g = process.check_grid(times)
    x = check_array("x_init", x_init)
    if x.ndim != 2:
        raise ValueError(f"x_init must have shape (B, d), got {x.shape}")
    B = x.shape[0]
    p = np.broadcast_to(check_array("prior", prior), (B,)).copy()
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > pmax):
        raise ValueError(f"prior must be in [0, p_max = {pmax}]")
    noise = process.Normals(seed, x)
    ps = np.empty((g.size, B))
    ws = np.empty((g.size - 1, B))
    ps[0] = p
    for k in range(g.size - 1):
        t, s_ = float(g[k]), float(g[k + 1])
        d_u, d_c = denoisers(x, t)
        d_u, d_c = np.asarray(d_u, dtype=np.float64), np.asarray(d_c, dtype=np.float64)
        w = lam * p / (1.0 - p) if mode == "dynamic" else np.full(B, lam)
        guided = d_u - w[:, None] * (d_c - d_u)
        score = process.score_from_denoiser(x, guided, t)   # the score whose Tweedie denoiser is `guided`
        x_new = process.step("exponential", lambda _x, _t: score, x, t, s_, noise)
        # online update of p with the sampler's bridge kernels
        b = process.bridge(t, s_)
        if b.variance > 0:
            m_c, m_u = b.coef_x0 * d_c + b.coef_xt * x, b.coef_x0 * d_u + b.coef_xt * x
            log_ratio = -(((x_new - m_c) ** 2).sum(1) - ((x_new - m_u) ** 2).sum(1)) / (2.0 * b.variance)
            with np.errstate(over="ignore"):
                p = np.minimum(p * np.exp(np.minimum(log_ratio, 700.0)), pmax)
        x = x_new
        ps[k + 1] = p
        ws[k] = w
    return GuidedSamples(x, g, ps, ws)
