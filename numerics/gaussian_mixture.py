r"""Speciation and collapse of Gaussian mixtures, numerically.

Time is OU time :math:`t\ge0` (:math:`x_t = e^{-t}x_0 + \sqrt{\Delta_t}z`,
:math:`\Delta_t = 1-e^{-2t}`). The formulas are derived in
:mod:`diffphase.theory.gaussian_mixture`; here they are evaluated in double precision with the
accuracy stated in each docstring.

Two-class mixture :math:`\tfrac12\mathcal N(m,\sigma^2I_d)+\tfrac12\mathcal N(-m,\sigma^2I_d)`,
:math:`|m| = \tilde\mu\sqrt d` (parameters ``d``, ``mu`` :math:`=\tilde\mu`, ``sigma``):

* :func:`speciation_time` — :math:`t_S = \tfrac12\log\Lambda`, :math:`\Lambda = \tilde\mu^2d+\sigma^2`;
* :func:`clone_agreement` — :math:`\phi(t)` by adaptive quadrature (abs. error :math:`\le10^{-10}`);
* :func:`collapse_time`, :func:`critical_load`, :func:`excess_entropy` — closed forms at large
  :math:`d`; with ``finite_size=True`` the label-information term :math:`-I(Y;X_t)/d`
  (:func:`label_information`, quadrature, abs. error :math:`\le10^{-10}`) that the large-
  :math:`d` forms drop; :func:`label_information_mixture` for :math:`K` equal-variance classes;
* :func:`speciation_time_from_curve` — the 0.775 crossing of a measured :math:`\phi(t)`;
* :class:`GaussianMixture` — a :math:`K`-class isotropic mixture (class variances) with its
  exact noised score, posterior, class scores and denoisers, and sampler (the exact-score
  reference for :mod:`diffphase.numerics.sde`, a class model of
  :func:`diffphase.numerics.information.online_posterior`).

Examples
--------
>>> from diffphase.numerics import gaussian_mixture as gm
>>> round(gm.speciation_time(1024), 6)         # ½ log(1024 + 1)
3.466224
>>> round(float(gm.clone_agreement(20.0, 1024)), 6)  # long before speciation: ½
0.5
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

from . import conventions as cv
from .checks import check_array, check_int, check_real, check_times
from .stats import crossing

__all__ = [
    "speciation_time",
    "two_class_instability_time",
    "clone_agreement",
    "collapse_time",
    "critical_load",
    "excess_entropy",
    "label_information",
    "label_information_mixture",
    "speciation_time_from_curve",
    "GaussianMixture",
]


def _ret(x):
    return float(x) if np.ndim(x) == 0 else x


def _check_model(d, mu, sigma):
    d = check_int("d", d, minimum=1)
    mu = check_real("mu", mu, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    return d, mu, sigma


def speciation_time(d, mu=1.0, sigma=1.0) -> float:
    r"""Speciation time :math:`t_S = \tfrac12\log\Lambda` of the two-class mixture.

    :math:`\Lambda = \tilde\mu^2 d + \sigma^2` is the top eigenvalue of the population
    covariance :math:`mm^T + \sigma^2I`, and :math:`t_S` solves :math:`\Lambda e^{-2t}=1`
    (Biroli et al. 2024). OU time.

    Parameters
    ----------
    d : int
        Dimension, ``d >= 1``.
    mu : float
        Mean scale :math:`\tilde\mu \ge 0` (:math:`|m| = \tilde\mu\sqrt d`).
    sigma : float
        Class standard deviation, ``> 0``.

    Returns
    -------
    float
        :math:`t_S` (may be negative when :math:`\Lambda<1`: no speciation in forward time).
    """
    d, mu, sigma = _check_model(d, mu, sigma)
    return 0.5 * math.log(mu * mu * d + sigma * sigma)


def two_class_instability_time(d, mu=1.0, sigma=1.0) -> float:
    r"""OU time :math:`t_U` at which the centre of the two-class mixture's overlap potential
    :math:`V(q,t) = -q^2/2 + q^2/\Gamma_t - 2\log\cosh(aq/\Gamma_t)` becomes unstable.

    With :math:`u = e^{-2t}`: :math:`(\sigma^2-1)^2u^2 + 2|m|^2u - 1 = 0`; :math:`t_U =
    -\tfrac12\log u_+`. For :math:`\sigma=1`, :math:`t_U = \tfrac12\log(2\tilde\mu^2 d)`; at large
    :math:`d`, :math:`t_U - t_S \to \tfrac12\log 2`.

    Raises
    ------
    ValueError
        If ``mu == 0`` (no instability).
    """
    d, mu, sigma = _check_model(d, mu, sigma)
    if mu == 0:
        raise ValueError("mu must be > 0 for the centre to lose stability, got 0")
    m2 = mu * mu * d
    c = (sigma * sigma - 1.0) ** 2
    if c == 0:
        u = 1.0 / (2.0 * m2)
    else:  # stable form of (-m2 + sqrt(m2^2 + c)) / c
        u = 1.0 / (m2 + math.sqrt(m2 * m2 + c))
    return -0.5 * math.log(u)


def _signal_to_noise(t, d, mu, sigma):
    r""":math:`h_t = |m|^2e^{-2t}/\Gamma_t = |m|^2/(e^{2t}-1+\sigma^2)`."""
    return mu * mu * d / (cv.ve_variance(t) + sigma * sigma)


def _gauss_sech2(z: float, h: float, s: float) -> float:
    """N(z; 0, 1) · sech²(h + s z), s = √h, evaluated in the log domain."""
    w = abs(h + s * z)
    log_sech2 = 2.0 * math.log(2.0) - 2.0 * w - 2.0 * math.log1p(math.exp(-2.0 * w))
    return math.exp(log_sech2 - 0.5 * z * z - 0.5 * math.log(2.0 * math.pi))


def _mean_sech2(h: float) -> float:
    r""":math:`\mathbb E_z\,\mathrm{sech}^2(h+\sqrt h z)`, :math:`z\sim\mathcal N(0,1)`, by
    adaptive quadrature over :math:`z\in[-40, 40]` with break points at the Gaussian's centre
    and at the sech² peak :math:`z_0=-\sqrt h` (width :math:`1/\sqrt h`)."""
    if h == 0.0:
        return 1.0
    if h > 1500.0:  # the integrand is < 1e-300 everywhere: 0 to double precision
        return 0.0
    s = math.sqrt(h)
    z0 = -s
    width = 1.0 / s
    pts = {z0, z0 - 5 * width, z0 + 5 * width, z0 - 20 * width, z0 + 20 * width, 0.0, -4.0, 4.0, -10.0, 10.0}
    pts = sorted(p for p in pts if -40.0 < p < 40.0)
    val, _ = integrate.quad(_gauss_sech2, -40.0, 40.0, args=(h, s), points=pts, limit=500,
                            epsabs=1e-14, epsrel=1e-12)
    return val


def clone_agreement(t, d, mu=1.0, sigma=1.0):
    r"""Clone agreement :math:`\phi(t)` of the two-class mixture with the exact score.

    Probability that two copies of a backward trajectory, branched at OU time :math:`t` and
    finished with independent noise, end in the same class:

    .. math::
        \phi(t) = \frac12\int dy\,\frac{G_+^2+G_-^2}{G_++G_-}
                = 1 - \frac12\,\mathbb E_z\,\mathrm{sech}^2\!\big(h_t+\sqrt{h_t}\,z\big),
        \qquad h_t = \frac{\tilde\mu^2 d\,e^{-2t}}{\Gamma_t},\;
        \Gamma_t = \Delta_t + \sigma^2e^{-2t},

    :math:`G_\pm` the densities of :math:`\mathcal N(\pm|m|e^{-t},\Gamma_t)`. The Gaussian
    average is computed by adaptive quadrature in :math:`z` with break points at both features
    of the integrand and a stable log-integrand; absolute error :math:`\le 10^{-10}` (checked against mpmath at 30 digits on
    the original integral).

    Parameters
    ----------
    t : float or array_like
        OU times, finite and ``>= 0``.
    d, mu, sigma
        As in :func:`speciation_time`.

    Returns
    -------
    float or ndarray
        :math:`\phi(t)\in[\tfrac12, 1]`, same shape as ``t``.
    """
    t = check_times(t)
    d, mu, sigma = _check_model(d, mu, sigma)
    h = _signal_to_noise(t, d, mu, sigma)
    uniq, inv = np.unique(h, return_inverse=True)
    vals = np.array([_mean_sech2(float(v)) for v in uniq])
    phi = 1.0 - 0.5 * vals[inv].reshape(t.shape)
    return _ret(phi)


def _gauss_log1p_tanh(z: float, h: float, s: float) -> float:
    """N(z; 0, 1) · log(1 + tanh(h + s z)) = N(z) · [log 2 - softplus(-2(h + s z))], stably."""
    w = -2.0 * (h + s * z)
    softplus = w + math.log1p(math.exp(-w)) if w > 0 else math.log1p(math.exp(w))
    return (math.log(2.0) - softplus) * math.exp(-0.5 * z * z - 0.5 * math.log(2.0 * math.pi))


def _mean_log1p_tanh(h: float) -> float:
    r""":math:`\mathbb E_z\log(1+\tanh(h+\sqrt h z))` by adaptive quadrature over
    :math:`z\in[-40,40]` with break points at the Gaussian's centre and at :math:`z_0=-\sqrt h`,
    where the integrand's log changes slope."""
    if h == 0.0:
        return 0.0
    s = math.sqrt(h)
    z0 = -s
    width = 1.0 / s
    pts = {z0, z0 - 5 * width, z0 + 5 * width, 0.0, -4.0, 4.0, -10.0, 10.0}
    pts = sorted(p for p in pts if -40.0 < p < 40.0)
    val, _ = integrate.quad(_gauss_log1p_tanh, -40.0, 40.0, args=(h, s), points=pts, limit=500,
                            epsabs=1e-14, epsrel=1e-12)
    return min(max(val, 0.0), math.log(2.0))


def label_information(t, d, mu=1.0, sigma=1.0):
    r"""Mutual information :math:`I(Y;X_t)` (nats) between the class and the noised state of the
    two-class mixture, exact at every :math:`d`.

    .. math::
        I(Y;X_t) = \frac12\sum_\pm\int dy\,G_\pm\log\frac{2G_\pm}{G_++G_-}
                 = \mathbb E_z\log\big(1+\tanh(h_t+\sqrt{h_t}\,z)\big),\qquad
        h_t = \frac{\tilde\mu^2d\,e^{-2t}}{\Gamma_t},

    :math:`G_\pm` the densities of :math:`\mathcal N(\pm|m|e^{-t},\Gamma_t)`,
    :math:`\Gamma_t = \Delta_t+\sigma^2e^{-2t}` (derivation steps ``info_ratio`` and ``info_h``
    of :func:`diffphase.theory.gaussian_mixture.derivation`). It goes from :math:`\log 2` at
    :math:`t = 0` (large :math:`h`) to 0 as :math:`t\to\infty`. Adaptive quadrature in
    :math:`z` with a stable integrand; absolute error :math:`\le 10^{-10}` (tested against
    mpmath on the :math:`y` integral). OU time.

    Parameters
    ----------
    t, d, mu, sigma
        As in :func:`clone_agreement`.

    Returns
    -------
    float or ndarray
        :math:`I\in[0,\log 2]`, same shape as ``t``.

    Examples
    --------
    >>> round(float(label_information(0.0, 64)), 6)      # h = 64: the class is certain
    0.693147
    >>> float(label_information(30.0, 64)) < 1e-20
    True
    """
    t = check_times(t)
    d, mu, sigma = _check_model(d, mu, sigma)
    h = _signal_to_noise(t, d, mu, sigma)
    uniq, inv = np.unique(h, return_inverse=True)
    vals = np.array([_mean_log1p_tanh(float(v)) for v in uniq])
    return _ret(vals[inv].reshape(t.shape))


def label_information_mixture(t, means, sigma=1.0, weights=None, n_samples: int = 20000, seed=0):
    r"""Mutual information :math:`I(Y;X_t)` of a :math:`K`-class isotropic mixture whose classes
    share one variance, by Monte Carlo in the span of the means.

    For :math:`P_0 = \sum_k\pi_k\mathcal N(\mu_k,\sigma^2 I_d)` the posterior of the class
    depends on :math:`x_t` only through its projection on the span of the means (rank
    :math:`r\le K`): the log-posterior is
    :math:`\log\pi_k + (e^{-t}\mu_k\cdot x - \tfrac12e^{-2t}|\mu_k|^2)/\Gamma_t` up to a
    constant, :math:`\Gamma_t = \Delta_t + \sigma^2e^{-2t}`. Hence

    .. math:: I(Y;X_t) = \sum_k\pi_k\,\mathbb E_{z\sim\mathcal N(0,I_r)}
              \log\frac{p(k\mid e^{-t}\mu_k+\sqrt{\Gamma_t}\,Qz)}{\pi_k},

    an :math:`r`-dimensional average (:math:`Q` an orthonormal basis of the span), estimated
    with ``n_samples`` draws per class and common random numbers across times. For two
    symmetric classes it reduces to :func:`label_information`. With unequal variances the
    posterior depends on :math:`|x_t|^2` too and this reduction does not hold. OU time.

    Parameters
    ----------
    t : float or array_like
        OU times ``>= 0``.
    means : array_like, shape (K, d)
        Class means, ``K >= 2``.
    sigma : float
        The common standard deviation ``> 0``.
    weights : array_like, shape (K,), optional
        Class probabilities (normalised here); uniform by default.
    n_samples : int
        Monte Carlo draws per class (``>= 2``).
    seed : int or numpy.random.Generator

    Returns
    -------
    (ndarray, ndarray)
        :math:`I(t)` and its standard error, each of the shape of ``t``.
    """
    t = check_times(t)
    mix = GaussianMixture.from_std(means, sigma, weights)
    if mix.K < 2:
        raise ValueError(f"means must hold at least 2 classes, got {mix.K}")
    n_samples = check_int("n_samples", n_samples, minimum=2)
    u, sv, vt = np.linalg.svd(mix.means, full_matrices=False)
    r = int(np.sum(sv > 1e-12 * max(sv.max(), 1e-300)))
    if r == 0:
        return np.zeros(t.shape), np.zeros(t.shape)
    Q = vt[:r]                                   # (r, d) orthonormal rows
    m = mix.means @ Q.T                          # (K, r): means in the span
    w = mix.weights
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((mix.K, n_samples, r))
    sig2 = float(mix.sigmas[0]) ** 2
    flat = t.ravel()
    val, se = np.empty(flat.size), np.empty(flat.size)
    for i, ti in enumerate(flat):
        th, gam = math.exp(-ti), cv.delta(ti) + sig2 * math.exp(-2.0 * ti)
        per_class = np.empty((mix.K, n_samples))
        for k in range(mix.K):
            x = th * m[k] + math.sqrt(gam) * z[k]                      # (n, r)
            logits = np.log(np.maximum(w, 1e-300)) + (th * x @ m.T - 0.5 * th * th * np.sum(m * m, 1)) / gam
            logp = logits[:, k] - np.logaddexp.reduce(logits, axis=1)
            per_class[k] = logp - math.log(max(w[k], 1e-300))
        means_k = per_class.mean(1)
        val[i] = float(np.dot(w, means_k))
        se[i] = float(math.sqrt(np.sum(w**2 * per_class.var(1, ddof=1) / n_samples)))
    return val.reshape(t.shape), se.reshape(t.shape)


def _check_load(n, d):
    n = check_int("n", n, minimum=2)
    d = check_int("d", d, minimum=1)
    return math.log(n) / d


def collapse_time(n, d, sigma=1.0, *, finite_size: bool = False, mu=None) -> float:
    r"""Collapse time of :math:`n` points drawn from the mixture in dimension :math:`d`.

    .. math:: t_C = \tfrac12\log\!\Big(1 + \frac{\sigma^2}{e^{2\alpha}-1}\Big),
              \qquad \alpha = \frac{\log n}{d},

    the root of :func:`excess_entropy` (large-:math:`d` theory, Biroli et al. 2024; independent
    of :math:`\tilde\mu`). With ``finite_size=True``, the root of the finite-:math:`d` excess
    entropy :math:`\alpha - \alpha_c(t) - I(Y;X_t)/d` instead (Brent's method to
    :math:`10^{-12}`; it needs ``mu``). The label term only lowers :math:`f`, and :math:`f` is
    increasing in :math:`t`, so the finite-size :math:`t_C` is the later of the two. OU time.

    Parameters
    ----------
    n : int
        Number of training points, ``>= 2``.
    d : int
        Dimension, ``>= 1``.
    sigma : float
        Class standard deviation, ``> 0``.
    finite_size : bool
        Include the label-information term.
    mu : float, optional
        Mean scale :math:`\tilde\mu\ge0`; required with ``finite_size=True``.

    Examples
    --------
    >>> round(collapse_time(20000, 256), 4), round(collapse_time(20000, 256, finite_size=True, mu=1.0), 4)
    (1.2988, 1.3337)
    """
    alpha = _check_load(n, d)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    t_c = 0.5 * math.log1p(sigma * sigma / math.expm1(2.0 * alpha))
    if not finite_size:
        return t_c
    if mu is None:
        raise ValueError("collapse_time(finite_size=True) needs mu, the mean scale of the mixture (>= 0)")
    from scipy.optimize import brentq

    def f(x):
        return float(excess_entropy(x, n, d, sigma, finite_size=True, mu=mu))

    hi = max(2.0 * t_c, 1.0)
    while f(hi) <= 0.0:  # f -> alpha > 0 as t -> inf
        hi *= 2.0
    return float(brentq(f, t_c, hi, xtol=1e-12))


def critical_load(t, sigma=1.0):
    r"""Critical load :math:`\alpha_c(t) = \tfrac12\log(1+\sigma^2e^{-2t}/\Delta_t)
    = \tfrac12\log\!\big(1 + \sigma^2/(e^{2t}-1)\big)`.

    At OU time :math:`t`, a data set of load :math:`\alpha = \log n/d` has collapsed iff
    :math:`\alpha < \alpha_c(t)`. Returns ``inf`` at ``t = 0``.
    """
    t = check_times(t)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    with np.errstate(divide="ignore"):
        out = np.where(t > 0, 0.5 * np.log1p(sigma * sigma / np.expm1(2.0 * np.maximum(t, 1e-300))), np.inf)
    return _ret(out)


def excess_entropy(t, n, d, sigma=1.0, *, condensed=False, finite_size: bool = False, mu=None):
    r"""Excess entropy per dimension of :math:`n` mixture points.

    .. math:: f(t) = s_{sep} - s = \alpha + \tfrac12\log\frac{\Delta_t}{\Gamma_t}
              = \alpha - \alpha_c(t),\qquad \alpha=\frac{\log n}{d}

    at large :math:`d` (Biroli et al. 2024). With ``finite_size=True`` the exact population
    entropy :math:`s = \tfrac12\log(2\pi e\Gamma_t) + I(Y;X_t)/d` is used instead, so

    .. math:: f_d(t) = \alpha + \tfrac12\log\frac{\Delta_t}{\Gamma_t} - \frac{I(Y;X_t)}{d},

    :math:`I` the label information of :func:`label_information` (which needs ``mu``). The
    term is at most :math:`\log 2/d`, i.e. :math:`\log 2/\log n` of :math:`\alpha`.

    This is the uncondensed branch: it is negative for :math:`t < t_C`. With
    ``condensed=True`` return the physical value :math:`\max(f, 0)` (below :math:`t_C` the
    empirical distribution is condensed on the training points and :math:`s = s_{sep}`).
    OU time; ``-inf`` at ``t = 0`` on the uncondensed branch.

    Parameters
    ----------
    t : float or array_like
        OU times ``>= 0``.
    n, d, sigma
        As in :func:`collapse_time`.
    condensed : bool
        Return :math:`\max(f, 0)`.
    finite_size : bool
        Include :math:`-I(Y;X_t)/d`.
    mu : float, optional
        Mean scale :math:`\tilde\mu\ge0`; required with ``finite_size=True``.
    """
    alpha = _check_load(n, d)
    ac = critical_load(t, sigma)
    f = alpha - np.asarray(ac)
    if finite_size:
        if mu is None:
            raise ValueError("excess_entropy(finite_size=True) needs mu, the mean scale of the mixture (>= 0)")
        f = f - np.asarray(label_information(t, d, mu, sigma)) / d
    if condensed:
        f = np.maximum(f, 0.0)
    return _ret(f)


def speciation_time_from_curve(t, phi, level=0.775, weights=None) -> float:
    r"""OU time at which a measured clone-agreement curve crosses ``level``.

    The paper reads :math:`t_S` where :math:`\phi` crosses 0.775 (Biroli et al. 2024). The
    crossing is that of the non-increasing least-squares fit of the points
    (:func:`diffphase.numerics.stats.crossing`), so noise cannot produce several.

    Parameters
    ----------
    t : array_like, shape (k,)
        OU times (finite, ``>= 0``, at least two).
    phi : array_like, shape (k,)
        Measured :math:`\phi(t)`.
    level : float
        Crossing level in (0, 1), default 0.775.
    weights : array_like, optional
        Positive weights of the points (e.g. inverse variances).

    Returns
    -------
    float
        The interpolated crossing time.

    Raises
    ------
    ValueError
        If the fitted curve does not cross ``level`` inside the time range.

    Examples
    --------
    >>> round(speciation_time_from_curve([0.0, 1.0, 2.0], [0.95, 0.7, 0.5]), 12)
    0.7
    """
    return crossing(t, phi, level, weights=weights, name="phi").t


class GaussianMixture:
    r"""A :math:`K`-class isotropic Gaussian mixture, its labelled classes and its exact noised
    score.

    :math:`P_0 = \sum_k \pi_k\mathcal N(\mu_k, v_kI_d)` with class variances :math:`v_k\ge0`
    (:math:`v_k = 0`: a point mass; OU times must then be ``> 0``). At OU time :math:`t`,
    :math:`P_t = \sum_k\pi_k\mathcal N(\theta\mu_k, \Gamma_kI_d)`, :math:`\theta = e^{-t}`,
    :math:`\Gamma_k = \Delta_t + v_k\theta^2`, with class posterior and score

    .. math:: w_k(x) = p(k\mid x_t = x) = \frac{\pi_k\mathcal N(x;\theta\mu_k,\Gamma_kI)}
              {\sum_j\pi_j\mathcal N(x;\theta\mu_j,\Gamma_jI)},\qquad
              \nabla\log P_t(x) = \sum_k w_k(x)\,\frac{\theta\mu_k - x}{\Gamma_k},

    class-conditional scores :math:`-(x-\theta\mu_k)/\Gamma_k` and denoisers
    :math:`E[x_0\mid x_t = x, k] = \mu_k + \frac{v_k\theta}{\Gamma_k}(x - \theta\mu_k)`. It is a
    class model of :func:`diffphase.numerics.information.online_posterior`
    (:class:`~diffphase.numerics.information.ClassModel`) and the exact-score reference of
    :mod:`diffphase.numerics.sde`.

    Parameters
    ----------
    means : array_like, shape (K, d)
    variances : float or array_like, shape (K,)
        Class variances :math:`v_k\ge0` (:meth:`from_std` takes standard deviations).
    weights : array_like, shape (K,), optional
        Class probabilities :math:`\pi_k\ge0` (normalised here, not all 0); uniform by default.

    Examples
    --------
    >>> mix = GaussianMixture.two_class(d=4, mu=1.0, sigma=1.0)
    >>> round(mix.top_eigenvalue(), 12)      # mu^2 d + sigma^2
    5.0
    >>> x = mix.sample(3, seed=0)[0]
    >>> mix.score(x, 0.5).shape
    (3, 4)
    >>> gm = GaussianMixture([[0.0, 1.0], [0.0, -1.0]], 0.25)
    >>> gm.posterior(np.array([[0.0, 0.0]]), 0.5).round(6).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, means, variances=1.0, weights=None):
        self._set(means, weights, variances=variances)

    def _set(self, means, weights, *, variances=None, sigmas=None):
        m = check_array("means", means)
        if m.ndim != 2 or m.shape[0] < 1 or m.shape[1] < 1 or not np.all(np.isfinite(m)):
            raise ValueError(f"means must be a finite array of shape (K, d), K, d >= 1; got shape {m.shape}")
        K = m.shape[0]
        if sigmas is not None:
            sig = check_array("sigmas", sigmas)
            sig = np.full(K, float(sig)) if sig.ndim == 0 else sig
            if sig.shape != (K,):
                raise ValueError(f"sigmas must be a scalar or have shape ({K},), got shape {sig.shape}")
            if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
                raise ValueError("sigmas must be finite and > 0")
            v = sig**2
        else:
            v = check_array("variances", variances)
            v = np.full(K, float(v)) if v.ndim == 0 else v
            if v.shape != (K,) or not np.all(np.isfinite(v)) or np.any(v < 0):
                raise ValueError(f"variances must be finite, >= 0, a scalar or of shape ({K},); got {v!r}")
            sig = np.sqrt(v)
        if weights is None:
            w = np.full(K, 1.0 / K)
        else:
            w = check_array("weights", weights)
            if w.shape != (K,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
                raise ValueError(f"weights must have shape ({K},), be finite, >= 0 and not all 0")
            w = w / w.sum()
        self.means, self.variances, self.weights, self._sigmas = m, v, w, sig

    @classmethod
    def from_std(cls, means, sigmas=1.0, weights=None) -> "GaussianMixture":
        r"""The mixture with class standard deviations :math:`\sigma_k > 0`
        (:math:`v_k = \sigma_k^2`; :attr:`sigmas` returns the given values exactly)."""
        obj = cls.__new__(cls)
        GaussianMixture._set(obj, means, weights, sigmas=sigmas)
        return obj

    @classmethod
    def two_class(cls, d, mu=1.0, sigma=1.0) -> "GaussianMixture":
        r"""The symmetric two-class mixture :math:`\pm m`, :math:`m = \tilde\mu(1,\dots,1)`
        (so :math:`|m| = \tilde\mu\sqrt d`), class standard deviation ``sigma``."""
        d, mu, sigma = _check_model(d, mu, sigma)
        m = np.full(d, mu)
        return cls.from_std(np.stack([m, -m]), sigma)

    @property
    def K(self) -> int:
        """Number of classes."""
        return self.means.shape[0]

    @property
    def d(self) -> int:
        """Dimension."""
        return self.means.shape[1]

    @property
    def sigmas(self) -> np.ndarray:
        r"""Class standard deviations :math:`\sqrt{v_k}`, shape (K,)."""
        return self._sigmas

    # --- population quantities -------------------------------------------------------------
    def covariance(self) -> np.ndarray:
        r"""Population covariance :math:`\sum_k\pi_k(v_k I + \mu_k\mu_k^T) - \bar\mu\bar\mu^T`."""
        mbar = self.weights @ self.means
        c = (self.means * self.weights[:, None]).T @ self.means - np.outer(mbar, mbar)
        c[np.diag_indices(self.d)] += self.weights @ self.variances
        return c

    def top_eigenvalue(self) -> float:
        r"""Top eigenvalue :math:`\Lambda` of :meth:`covariance` (through the :math:`K\times K`
        Gram matrix of the centred means, so it costs :math:`O(K^2d)`)."""
        mbar = self.weights @ self.means
        B = (self.means - mbar) * np.sqrt(self.weights)[:, None]
        gram = B @ B.T
        return float(np.linalg.eigvalsh(gram)[-1] + self.weights @ self.variances)

    def speciation_time(self) -> float:
        r""":math:`t_S = \tfrac12\log\Lambda` (OU time; negative when :math:`\Lambda < 1`)."""
        return 0.5 * math.log(self.top_eigenvalue())

    def collapse_time(self, n) -> float:
        r"""Large-:math:`d` collapse time of ``n`` points drawn from the mixture, the closed form
        of :func:`collapse_time` with the classes' common standard deviation (classes must
        share one variance ``> 0``)."""
        if not np.all(self.variances == self.variances[0]) or self.variances[0] <= 0:
            raise ValueError("collapse_time needs classes of one common variance > 0, got "
                             f"variances {self.variances.tolist()}")
        return collapse_time(n, self.d, float(self.sigmas[0]))

    # --- noised densities ------------------------------------------------------------------
    def _time(self, t) -> float:
        t = check_times(t, positive=bool(np.any(self.variances == 0)))
        if t.ndim != 0:
            raise ValueError("t must be a single OU time")
        return float(t)

    def _check_x(self, x):
        x = check_array("x", x)
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ValueError(f"x must have shape (B, {self.d}), got {x.shape}")
        return x

    def gammas(self, t) -> np.ndarray:
        r""":math:`\Gamma_k = \Delta_t + v_k e^{-2t}`, shape (K,)."""
        t = self._time(t)
        return cv.delta(t) + self.variances * cv.theta(t) ** 2

    def log_joint(self, x, t) -> np.ndarray:
        r""":math:`\log\pi_k + \log\mathcal N(x;\theta\mu_k,\Gamma_kI)`, shape (B, K)
        (:math:`|x-\theta\mu_k|^2` expanded into matrix products, :math:`O(BKd)`)."""
        x = self._check_x(x)
        theta = cv.theta(self._time(t))
        gam = self.gammas(t)
        # |x - theta mu_k|^2 = |x|^2 - 2 theta x.mu_k + theta^2 |mu_k|^2
        x2 = np.einsum("bi,bi->b", x, x)[:, None]
        cross = x @ self.means.T
        m2 = np.einsum("ki,ki->k", self.means, self.means)[None, :]
        dist2 = np.maximum(x2 - 2.0 * theta * cross + theta**2 * m2, 0.0)
        with np.errstate(divide="ignore"):  # a zero-weight class has log-weight -inf
            logw = np.log(self.weights)
        return logw - 0.5 * self.d * np.log(2 * math.pi * gam) - dist2 / (2 * gam)

    def log_density(self, x, t) -> np.ndarray:
        r""":math:`\log P_t(x)` for ``x`` of shape (B, d) at OU time ``t`` (scalar)."""
        logc = self.log_joint(x, t)
        mx = logc.max(axis=1, keepdims=True)
        return (mx + np.log(np.exp(logc - mx).sum(axis=1, keepdims=True)))[:, 0]

    def posterior(self, x, t) -> np.ndarray:
        r"""Class posterior :math:`w_k(x) = p(k\mid x_t = x)`, shape (B, K), OU time ``t``."""
        logc = self.log_joint(x, t)
        logc -= logc.max(axis=1, keepdims=True)
        w = np.exp(logc)
        return w / w.sum(axis=1, keepdims=True)

    def score(self, x, t) -> np.ndarray:
        r"""Exact score :math:`\nabla\log P_t(x)` (formula in the class docstring), ``x`` of
        shape (B, d), OU time ``t >= 0`` (``t = 0`` is the clean mixture): pass it to
        :func:`diffphase.numerics.sde.sample`."""
        x = self._check_x(x)
        w = self.posterior(x, t)
        wg = w / self.gammas(t)[None, :]  # (B, K)
        return cv.theta(self._time(t)) * (wg @ self.means) - x * wg.sum(axis=1, keepdims=True)

    # --- classes ---------------------------------------------------------------------------
    def class_scores(self, x, t) -> np.ndarray:
        r""":math:`\nabla\log p_t(x\mid k) = -(x-\theta\mu_k)/\Gamma_k`, shape (B, K, d)."""
        x = self._check_x(x)
        g = self.gammas(t)
        return -(x[:, None, :] - cv.theta(self._time(t)) * self.means[None]) / g[None, :, None]

    def class_denoisers(self, x, t) -> np.ndarray:
        r""":math:`E[x_0\mid x_t = x, k] = \mu_k + \frac{v_k\theta}{\Gamma_k}(x - \theta\mu_k)`,
        shape (B, K, d)."""
        x = self._check_x(x)
        g = self.gammas(t)
        th = cv.theta(self._time(t))
        return self.means[None] + (self.variances * th / g)[None, :, None] * (x[:, None, :] - th * self.means[None])

    def posterior_variances(self, t) -> np.ndarray:
        r""":math:`\mathrm{Var}(x_0\mid x_t, k) = v_k\Delta_t/\Gamma_k` per coordinate, shape (K,)."""
        return self.variances * cv.delta(self._time(t)) / self.gammas(t)

    def sample(self, n, seed=None):
        """Draw ``n`` clean points; returns ``(x, labels)`` with ``x`` of shape (n, d)."""
        n = check_int("n", n, minimum=1)
        rng = np.random.default_rng(seed)
        labels = rng.choice(self.K, size=n, p=self.weights)
        x = self.means[labels] + self.sigmas[labels, None] * rng.standard_normal((n, self.d))
        return x, labels

    def classify(self, x) -> np.ndarray:
        """Most probable class of clean points ``x`` (posterior at ``t = 0``; classes of
        variance 0 need ``t > 0``, use :meth:`posterior`)."""
        return np.argmax(self.posterior(x, 0.0), axis=1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(K={self.K}, d={self.d})"
