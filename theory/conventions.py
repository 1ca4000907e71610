r"""The one time convention of diffphase, symbolically.

Every public function of the package takes and returns the Ornstein--Uhlenbeck (OU) time
:math:`t \in [0, \infty)` of Biroli, Bonnaire, de Bortoli & Mézard (arXiv 2402.18491):

.. math::

    dx = -x\,dt + dB,\quad \langle dB_i dB_j\rangle = 2\delta_{ij}dt
    \;\Rightarrow\;
    x_t = e^{-t}x_0 + \sqrt{\Delta_t}\,z,\quad \Delta_t = 1 - e^{-2t}.

This module gives the other conventions of the literature as sympy functions of :math:`t`
and their inverses:

================================  ==================================  ======================================
quantity                          as a function of OU time            inverse
================================  ==================================  ======================================
DDPM :math:`\bar\alpha`           :math:`e^{-2t}`                     :math:`-\tfrac12\log\bar\alpha`
:math:`\theta=\sqrt{\bar\alpha}`  :math:`e^{-t}`                      :math:`-\log\theta`
VE variance :math:`\sigma^2`      :math:`e^{2t}-1`                    :math:`\tfrac12\log(1+\sigma^2)`
SNR                               :math:`e^{-2t}/\Delta_t`            :math:`\tfrac12\log(1+1/\mathrm{SNR})`
discrete noise level              :math:`\varepsilon = 1-\bar\alpha`  :math:`-\tfrac12\log(1-\varepsilon)`
================================  ==================================  ======================================

The discrete noise level is the probability that a token is *not* kept (uniform discrete
diffusion keeps a token with probability :math:`\bar\alpha`; masking masks it with
probability :math:`\varepsilon`).
"""

from __future__ import annotations

import sympy as sp

from .derivation import Derivation, Step

__all__ = [
    "t",
    "alpha_bar",
    "theta",
    "delta",
    "ve_variance",
    "snr",
    "noise_level",
    "time_from",
    "linear_schedule_alpha_bar",
    "cosine_schedule_time",
    "derivation",
]

#: OU time, the package's one time variable.
t = sp.Symbol("t", nonnegative=True)
_s = sp.Symbol("s", nonnegative=True)


def alpha_bar(time=t) -> sp.Expr:
    r"""DDPM :math:`\bar\alpha = e^{-2t}` (OU time ``time``)."""
    return sp.exp(-2 * time)


def theta(time=t) -> sp.Expr:
    r"""Signal scale :math:`\theta = \sqrt{\bar\alpha} = e^{-t}` (OU time)."""
    return sp.exp(-time)


def delta(time=t) -> sp.Expr:
    r"""Noise variance :math:`\Delta_t = 1 - e^{-2t}` (OU time)."""
    return 1 - sp.exp(-2 * time)


def ve_variance(time=t) -> sp.Expr:
    r"""Variance-exploding noise variance :math:`\sigma^2 = e^{2t} - 1 = \Delta_t/\theta^2`."""
    return sp.exp(2 * time) - 1


def snr(time=t) -> sp.Expr:
    r"""Signal-to-noise ratio :math:`e^{-2t}/\Delta_t` (OU time)."""
    return sp.exp(-2 * time) / delta(time)


def noise_level(time=t) -> sp.Expr:
    r"""Discrete noise level :math:`\varepsilon = 1 - \bar\alpha = \Delta_t` (OU time)."""
    return 1 - alpha_bar(time)


def time_from(kind: str, value: sp.Expr) -> sp.Expr:
    r"""OU time as a sympy expression of another convention's variable.

    Parameters
    ----------
    kind : {"alpha_bar", "theta", "ve_variance", "snr", "noise_level"}
        The convention ``value`` is expressed in.
    value : sympy.Expr
        The value (a symbol or an expression).

    Returns
    -------
    sympy.Expr
        :math:`t` such that the convention's function of :math:`t` equals ``value``.

    Examples
    --------
    >>> import sympy as sp
    >>> a = sp.Symbol("a", positive=True)
    >>> time_from("alpha_bar", a)
    -log(a)/2
    """
    inverses = {
        "alpha_bar": lambda v: -sp.log(v) / 2,
        "theta": lambda v: -sp.log(v),
        "ve_variance": lambda v: sp.log(1 + v) / 2,
        "snr": lambda v: sp.log(1 + 1 / v) / 2,
        "noise_level": lambda v: -sp.log(1 - v) / 2,
    }
    if kind not in inverses:
        raise ValueError(f"kind must be one of {sorted(inverses)}, got {kind!r}")
    return inverses[kind](value)


def linear_schedule_alpha_bar(k, T, beta_min, beta_max) -> sp.Expr:
    r""":math:`\bar\alpha_k = \prod_{j=1}^{k}(1-\beta_j)` for the linear schedule
    :math:`\beta_j = \beta_{\min} + (\beta_{\max}-\beta_{\min})(j-1)/(T-1)`; the OU time of step
    :math:`k` is :math:`-\tfrac12\log\bar\alpha_k`."""
    j = sp.Symbol("j", integer=True, positive=True)
    beta_j = beta_min + (beta_max - beta_min) * (j - 1) / (T - 1)
    return sp.Product(1 - beta_j, (j, 1, k))


def cosine_schedule_time(u, s_offset=sp.Rational(8, 1000)) -> sp.Expr:
    r"""OU time of the cosine schedule (Nichol & Dhariwal 2021) at fraction ``u = k/T``:
    :math:`\bar\alpha(u) = \cos^2\!\big(\tfrac{\pi}{2}\tfrac{u+s}{1+s}\big)/\cos^2\!\big(\tfrac{\pi}{2}
    \tfrac{s}{1+s}\big)`, so :math:`t(u) = -\log\cos(\tfrac{\pi}{2}\tfrac{u+s}{1+s}) +
    \log\cos(\tfrac{\pi}{2}\tfrac{s}{1+s})` (before the usual clipping of :math:`\beta`)."""
    c = lambda v: sp.cos(sp.pi / 2 * (v + s_offset) / (1 + s_offset))  # noqa: E731
    return -sp.log(c(u)) + sp.log(c(0))


def derivation() -> Derivation:
    r"""Derive the OU marginal from the forward SDE (computed with sympy).

    Returns
    -------
    Derivation
        Steps: the SDE; its solution by variation of constants; the variance
        :math:`\int_0^t 2e^{-2(t-s)}ds = \Delta_t`; the conversions to the other conventions.
    """
    x0, z = sp.symbols("x_0 z", real=True)
    x_t = sp.Function("x")(t)
    B = sp.Function("B")
    variance = sp.simplify(sp.integrate(2 * sp.exp(-2 * (t - _s)), (_s, 0, t)))
    mean = sp.exp(-t) * x0
    abar, th, sig2, rho, eps = sp.symbols(r"\bar{\alpha} theta sigma^2 SNR varepsilon", positive=True)
    steps = [
        Step(
            "Forward Ornstein--Uhlenbeck process with noise of variance 2 per unit time.",
            sp.Eq(sp.Derivative(x_t, t), -x_t + sp.Derivative(B(t), t)),
            "sde",
        ),
        Step(
            "Variation of constants gives the mean e^{-t} x_0 and the variance of the noise "
            "integral, computed here.",
            sp.Eq(sp.Symbol(r"\Delta_t"), variance),
            "Delta",
        ),
        Step(
            "Hence the marginal (z standard normal).",
            sp.Eq(x_t, mean + sp.sqrt(variance) * z),
            "marginal",
        ),
        Step("DDPM cumulative signal fraction.", sp.Eq(abar, alpha_bar()), "alpha_bar"),
        Step("Signal scale.", sp.Eq(th, theta()), "theta"),
        Step("Variance-exploding noise variance (x_t / theta = x_0 + sigma z).",
             sp.Eq(sig2, sp.simplify(variance / theta() ** 2)), "ve_variance"),
        Step("Signal-to-noise ratio.", sp.Eq(rho, snr()), "snr"),
        Step("Discrete noise level: probability that a token is not kept.",
             sp.Eq(eps, noise_level()), "noise_level"),
    ]
    return Derivation("Time and noise conventions", steps)
