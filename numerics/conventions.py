r"""Numerical time and noise conventions.

All functions take and return the package's Ornstein--Uhlenbeck (OU) time
:math:`t\in[0,\infty)`, :math:`x_t = e^{-t}x_0 + \sqrt{\Delta_t}z`, :math:`\Delta_t = 1-e^{-2t}`
(see :mod:`diffphase.theory.conventions` for the symbolic versions). They are vectorized,
accurate to a few ulp near :math:`t=0` (``expm1``/``log1p``), and raise ``ValueError`` on
values outside their domain.

Examples
--------
>>> import numpy as np
>>> from diffphase.numerics import conventions as cv
>>> round(cv.time_from_alpha_bar(cv.alpha_bar(0.3)), 12)
0.3
>>> sched = cv.DiscreteSchedule.linear(1000, 1e-4, 2e-2)
>>> k = sched.step(sched.times[500])
>>> int(k)
500
"""

from __future__ import annotations

import numpy as np

from .checks import check_array, check_int, check_real, check_times

__all__ = [
    "alpha_bar",
    "theta",
    "delta",
    "ve_variance",
    "snr",
    "noise_level",
    "time_from_alpha_bar",
    "time_from_theta",
    "time_from_ve_variance",
    "time_from_snr",
    "time_from_noise_level",
    "DiscreteSchedule",
]


def _ret(x):
    """Return a Python float for scalar input, the array otherwise."""
    return float(x) if np.ndim(x) == 0 else x


def alpha_bar(t):
    r"""DDPM :math:`\bar\alpha = e^{-2t}` at OU time ``t`` (``t >= 0``)."""
    return _ret(np.exp(-2.0 * check_times(t)))


def theta(t):
    r"""Signal scale :math:`\theta = e^{-t}` at OU time ``t``."""
    return _ret(np.exp(-check_times(t)))


def delta(t):
    r"""Noise variance :math:`\Delta_t = 1 - e^{-2t}` at OU time ``t`` (computed as
    ``-expm1(-2t)``)."""
    return _ret(-np.expm1(-2.0 * check_times(t)))


def ve_variance(t):
    r"""Variance-exploding noise variance :math:`\sigma^2 = e^{2t}-1` at OU time ``t``."""
    return _ret(np.expm1(2.0 * check_times(t)))


def snr(t):
    r"""Signal-to-noise ratio :math:`e^{-2t}/\Delta_t` at OU time ``t > 0``."""
    t = check_times(t, positive=True)
    return _ret(1.0 / np.expm1(2.0 * t))


def noise_level(t):
    r"""Discrete noise level :math:`\varepsilon = 1-\bar\alpha = \Delta_t` at OU time ``t``:
    the probability that a token is not kept."""
    return delta(t)


def _positive_array(name, value, upper=None, upper_open=False):
    arr = check_array(name, value)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite and non-empty")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got min {arr.min()}")
    if upper is not None and (np.any(arr > upper) or (upper_open and np.any(arr == upper))):
        raise ValueError(f"{name} must be {'<' if upper_open else '<='} {upper}, got max {arr.max()}")
    return arr


def time_from_alpha_bar(a):
    r"""OU time :math:`t = -\tfrac12\log\bar\alpha` for :math:`\bar\alpha\in(0,1]`."""
    return _ret(-0.5 * np.log(_positive_array("alpha_bar", a, upper=1.0)))


def time_from_theta(th):
    r"""OU time :math:`t = -\log\theta` for :math:`\theta\in(0,1]`."""
    return _ret(-np.log(_positive_array("theta", th, upper=1.0)))


def time_from_ve_variance(sigma2):
    r"""OU time :math:`t = \tfrac12\log(1+\sigma^2)` for a variance-exploding variance
    :math:`\sigma^2 \ge 0`."""
    arr = check_array("ve_variance", sigma2)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("ve_variance must be finite and >= 0")
    return _ret(0.5 * np.log1p(arr))


def time_from_snr(rho):
    r"""OU time :math:`t = \tfrac12\log(1+1/\mathrm{SNR})` for :math:`\mathrm{SNR} > 0`."""
    return _ret(0.5 * np.log1p(1.0 / _positive_array("snr", rho)))


def time_from_noise_level(eps):
    r"""OU time :math:`t = -\tfrac12\log(1-\varepsilon)` for a discrete noise level
    :math:`\varepsilon\in[0,1)` (probability that a token is not kept)."""
    arr = check_array("noise_level", eps)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr >= 1):
        raise ValueError("noise_level must be in [0, 1) (1 is t = inf)")
    return _ret(-0.5 * np.log1p(-arr))


class DiscreteSchedule:
    r"""A discrete DDPM :math:`\beta` schedule and its map to OU time.

    Step :math:`k\in\{0,\dots,T\}` has :math:`\bar\alpha_k = \prod_{j\le k}(1-\beta_j)`
    (:math:`\bar\alpha_0 = 1`) and OU time :math:`t_k = -\tfrac12\log\bar\alpha_k`, so
    :math:`x_k = \sqrt{\bar\alpha_k}x_0 + \sqrt{1-\bar\alpha_k}z` is exactly the OU marginal at
    :math:`t_k`.

    Parameters
    ----------
    betas : array_like, shape (T,)
        :math:`\beta_1,\dots,\beta_T`, each in (0, 1).

    Attributes
    ----------
    betas : ndarray, shape (T,)
    alpha_bars : ndarray, shape (T+1,)
        :math:`\bar\alpha_0=1,\dots,\bar\alpha_T`.
    times : ndarray, shape (T+1,)
        OU times :math:`t_0=0 < t_1 < \dots < t_T`.
    """

    def __init__(self, betas):
        betas = check_array("betas", betas)
        if betas.ndim != 1 or betas.size < 1:
            raise ValueError("betas must be a non-empty 1-d array")
        if not np.all(np.isfinite(betas)) or np.any(betas <= 0) or np.any(betas >= 1):
            raise ValueError("betas must lie in (0, 1)")
        self.betas = betas
        log_ab = np.concatenate([[0.0], np.cumsum(np.log1p(-betas))])
        self.alpha_bars = np.exp(log_ab)
        self.times = -0.5 * log_ab

    @property
    def T(self) -> int:
        """Number of steps."""
        return int(self.betas.size)

    @classmethod
    def linear(cls, T: int = 1000, beta_min: float = 1e-4, beta_max: float = 2e-2) -> "DiscreteSchedule":
        r"""Linear schedule :math:`\beta_j = \beta_{\min} + (\beta_{\max}-\beta_{\min})
        \frac{j-1}{T-1}` (Ho et al. 2020 defaults: ``T=1000``, 1e-4 to 2e-2)."""
        T = check_int("T", T, minimum=1)
        beta_min = check_real("beta_min", beta_min, low=0, high=1, low_open=True, high_open=True)
        beta_max = check_real("beta_max", beta_max, low=beta_min, high=1, high_open=True)
        return cls(np.linspace(beta_min, beta_max, T))

    @classmethod
    def cosine(cls, T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> "DiscreteSchedule":
        r"""Cosine schedule (Nichol & Dhariwal 2021): :math:`\bar\alpha(u) = f(u)/f(0)`,
        :math:`f(u) = \cos^2(\tfrac{\pi}{2}\tfrac{u+s}{1+s})`, :math:`u = k/T`, with
        :math:`\beta_k = 1-\bar\alpha(k/T)/\bar\alpha((k-1)/T)` clipped at ``max_beta``."""
        T = check_int("T", T, minimum=1)
        s = check_real("s", s, low=0, low_open=True)
        max_beta = check_real("max_beta", max_beta, low=0, high=1, low_open=True, high_open=True)
        u = np.arange(T + 1) / T
        f = np.cos(0.5 * np.pi * (u + s) / (1 + s)) ** 2
        betas = 1.0 - f[1:] / f[:-1]
        return cls(np.clip(betas, 1e-12, max_beta))

    def time(self, k):
        """OU time of step(s) ``k`` (integers in ``[0, T]``)."""
        k_arr = np.asarray(k)
        if not np.issubdtype(k_arr.dtype, np.integer):
            raise ValueError(f"k must be integer steps in [0, {self.T}]")
        if np.any(k_arr < 0) or np.any(k_arr > self.T):
            raise ValueError(f"k must be in [0, {self.T}], got range [{k_arr.min()}, {k_arr.max()}]")
        return _ret(self.times[k_arr])

    def fractional_step(self, t):
        """Continuous step index at OU time ``t`` by linear interpolation of
        :math:`\\log\\bar\\alpha_k` (``t`` in ``[0, t_T]``)."""
        t = check_times(t)
        if np.any(t > self.times[-1]):
            raise ValueError(f"t must be <= t_T = {self.times[-1]:.6g} for this schedule")
        return _ret(np.interp(t, self.times, np.arange(self.T + 1, dtype=np.float64)))

    def step(self, t):
        """Nearest step index (int) to OU time ``t``."""
        t = check_times(t)
        if np.any(t > self.times[-1]):
            raise ValueError(f"t must be <= t_T = {self.times[-1]:.6g} for this schedule")
        idx = np.searchsorted(self.times, t)
        idx = np.clip(idx, 1, self.T)
        left = self.times[idx - 1]
        right = self.times[idx]
        k = np.where(t - left <= right - t, idx - 1, idx).astype(np.int64)
        return int(k) if np.ndim(k) == 0 else k

    def __repr__(self) -> str:
        return (f"DiscreteSchedule(T={self.T}, beta=[{self.betas[0]:.3g}..{self.betas[-1]:.3g}], "
                f"t_T={self.times[-1]:.4g})")
