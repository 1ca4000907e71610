r"""Class information along the diffusion, symbolically (Handke, Koulischer, Raya & Ambrogioni,
arXiv 2506.10433; the online classifier as in Koulischer et al., arXiv 2410.14398).

Time is the package's OU time :math:`t`: :math:`x_t = e^{-t}x_0 + \sqrt{\Delta_t}z`,
:math:`\Delta_t = 1-e^{-2t}`, :math:`\theta = e^{-t}`. Classes :math:`y` with weights
:math:`\pi_y`; class :math:`y` is :math:`\mathcal N(\mu_y, v_y)` (one dimension here; an
isotropic class in :math:`d` dimensions factorises the same way).

* Each noised class is :math:`\mathcal N(\theta\mu_y, \Gamma_y)`,
  :math:`\Gamma_y = \Delta_t + v_y\theta^2`, and solves the OU Fokker--Planck equation
  :math:`\partial_tp = \partial_x(xp) + \partial_x^2p`.
* The Bayes posterior :math:`p(y\mid x_t) = \pi_yp_t(x_t\mid y)/p_t(x_t)`; its log-odds are
  quadratic in :math:`x_t` (linear for equal spreads) and tend to :math:`\log\pi_1/\pi_2`.
* The conditional entropy :math:`H(Y\mid X_t) = -\sum_y\pi_y\int p_t(x\mid y)\log p(y\mid x)dx`
  obeys a de Bruijn identity for the label,

  .. math:: \frac{dH(Y\mid X_t)}{dt} = \sum_y\pi_y\int p_t(x\mid y)\,
            \big(\partial_x\log p_t(x\mid y) - \partial_x\log p_t(x)\big)^2dx \;\ge0,

  derived here from the Fokker--Planck equation for arbitrary class densities (the
  integrand of :math:`dH/dt` differs from this one by a total derivative).
* The online Bayes update :math:`\log p(y\mid x_s) = \log p(y\mid x_t) +
  \log q_y(x_s\mid x_t) + \mathrm{const}` is exact with the class-conditional reverse kernel
  :math:`q_y`, which for a Gaussian class is Gaussian with the exponential integrator's mean
  and an extra variance :math:`c^2\,v_y\Delta_t/\Gamma_y`.

Functions return sympy objects; :func:`derivation` lists the computed steps. Numbers come from
:mod:`diffphase.numerics.information`.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from .conventions import delta as _delta
from .conventions import t
from .derivation import Derivation, Step

__all__ = [
    "t",
    "x",
    "mu1",
    "mu2",
    "v1",
    "v2",
    "pi1",
    "pi2",
    "class_variance",
    "class_density",
    "fokker_planck_residual",
    "posterior",
    "log_odds",
    "conditional_entropy_integral",
    "entropy_rate_integrand",
    "entropy_flux",
    "score_gap",
    "reverse_kernel",
    "online_update_residual",
    "derivation",
]

#: Position.
x = sp.Symbol("x", real=True)
#: Class means.
mu1, mu2 = sp.symbols("mu_1 mu_2", real=True)
#: Class variances.
v1, v2 = sp.symbols("v_1 v_2", nonnegative=True)
#: Class weights.
pi1, pi2 = sp.symbols("pi_1 pi_2", positive=True)
_s = sp.Symbol("s", positive=True)     # earlier OU time of a backward step (s < t)
_xs = sp.Symbol("x_s", real=True)
_xt = sp.Symbol("x_t", real=True)
_tht, _ths = sp.symbols(r"\theta_t \theta_s", positive=True)


def class_variance(v=v1, time=t) -> sp.Expr:
    r""":math:`\Gamma_y = \Delta_t + v_ye^{-2t}`, the variance of a noised class."""
    return _delta(time) + v * sp.exp(-2 * time)


@lru_cache(maxsize=None)
def class_density(xx=x, mu=mu1, v=v1, time=t) -> sp.Expr:
    r""":math:`p_t(x\mid y) = \mathcal N(x; e^{-t}\mu_y, \Gamma_y)`."""
    g = class_variance(v, time)
    return sp.exp(-(xx - sp.exp(-time) * mu) ** 2 / (2 * g)) / sp.sqrt(2 * sp.pi * g)


def fokker_planck_residual(p: sp.Expr, xx=x, time=t) -> sp.Expr:
    r""":math:`\partial_tp - \partial_x(xp) - \partial_x^2p` (zero for a solution of the OU
    Fokker--Planck equation with noise variance :math:`2\,dt`)."""
    return sp.diff(p, time) - sp.diff(xx * p, xx) - sp.diff(p, xx, 2)


@lru_cache(maxsize=None)
def posterior(xx=x, time=t) -> sp.Expr:
    r"""Bayes posterior of class 1 of two, :math:`\pi_1p_1/(\pi_1p_1+\pi_2p_2)`."""
    a = pi1 * class_density(xx, mu1, v1, time)
    b = pi2 * class_density(xx, mu2, v2, time)
    return a / (a + b)


@lru_cache(maxsize=None)
def log_odds(xx=x, time=t) -> sp.Expr:
    r""":math:`\log\frac{p(1\mid x)}{p(2\mid x)} = \log\frac{\pi_1}{\pi_2}
    - \tfrac12\log\frac{\Gamma_1}{\Gamma_2} - \frac{(x-\theta\mu_1)^2}{2\Gamma_1}
    + \frac{(x-\theta\mu_2)^2}{2\Gamma_2}`."""
    ratio = pi1 * class_density(xx, mu1, v1, time) / (pi2 * class_density(xx, mu2, v2, time))
    return sp.expand(sp.expand_log(sp.log(ratio), force=True))


@lru_cache(maxsize=None)
def conditional_entropy_integral(time=t) -> sp.Expr:
    r""":math:`H(Y\mid X_t) = -\sum_y\pi_y\int p_t(x\mid y)\log\frac{\pi_yp_t(x\mid y)}{p_t(x)}\,dx`
    for two Gaussian classes (unevaluated ``Integral``; the log argument is
    :math:`p(y\mid x)`)."""
    p1 = class_density(x, mu1, v1, time)
    p2 = class_density(x, mu2, v2, time)
    pm = pi1 * p1 + pi2 * p2
    integrand = -(pi1 * p1 * sp.log(pi1 * p1 / pm) + pi2 * p2 * sp.log(pi2 * p2 / pm))
    return sp.Integral(integrand, (x, -sp.oo, sp.oo))


def _generic(n=2):
    """Generic class densities p_y(x, t) and weights."""
    ps = [sp.Function(f"p_{k + 1}", positive=True)(x, t) for k in range(n)]
    ws = [pi1, pi2][:n]
    return ps, ws


def entropy_rate_integrand(ps=None, ws=None) -> sp.Expr:
    r""":math:`\sum_y\pi_yp_y\,(\partial_x\log p_y - \partial_x\log p)^2`,
    :math:`p = \sum_y\pi_yp_y` (generic densities by default)."""
    if ps is None:
        ps, ws = _generic()
    p = sum(w * q for w, q in zip(ws, ps))
    return sum(w * q * (sp.diff(q, x) / q - sp.diff(p, x) / p) ** 2 for w, q in zip(ws, ps))


def entropy_flux(ps=None, ws=None) -> sp.Expr:
    r"""Probability-current term :math:`J = \sum_y\pi_y(xp_y + \partial_xp_y)
    \log(\pi_yp_y/p)`; :math:`\partial_t h = \text{rate integrand} - \partial_xJ` for the
    integrand :math:`h = -\sum_y\pi_yp_y\log(\pi_yp_y/p)` of :math:`H(Y\mid X_t)`."""
    if ps is None:
        ps, ws = _generic()
    p = sum(w * q for w, q in zip(ws, ps))
    return sum(w * (x * q + sp.diff(q, x)) * sp.log(w * q / p) for w, q in zip(ws, ps))


@lru_cache(maxsize=None)
def score_gap(xx=x, time=t) -> sp.Expr:
    r""":math:`\partial_x\log p_t(x\mid 1) - \partial_x\log p_t(x)` for two Gaussian classes."""
    p1 = class_density(xx, mu1, v1, time)
    p2 = class_density(xx, mu2, v2, time)
    return sp.diff(sp.log(p1), xx) - sp.diff(sp.log(pi1 * p1 + pi2 * p2), xx)


@lru_cache(maxsize=None)
def reverse_kernel(mu=mu1, v=v1):
    r"""Exact class-conditional reverse kernel :math:`q_y(x_s\mid x_t) =
    \mathcal N(x_s; m, \varsigma^2)` of a Gaussian class, :math:`s<t`, in
    :math:`\theta_t = e^{-t}`, :math:`\theta_s = e^{-s}`.

    :math:`m = c\,D_y + c_x x_t` with the class denoiser
    :math:`D_y = \mu_y + v_y\theta_t(x_t-\theta_t\mu_y)/\Gamma_y(t)` and
    :math:`c = \theta_s(1-\theta_t^2/\theta_s^2)/\Delta_t`,
    :math:`c_x = (\theta_t/\theta_s)\Delta_s/\Delta_t` (the exponential integrator of
    :mod:`diffphase.numerics.sde`; :math:`\theta_t/\theta_s = e^{-(t-s)}`);
    :math:`\varsigma^2 = \Delta_s(1-\theta_t^2/\theta_s^2)/\Delta_t + c^2v_y\Delta_t/\Gamma_y(t)`.

    Returns
    -------
    (sympy.Expr, sympy.Expr)
        Mean and variance.
    """
    Dt, Ds = 1 - _tht**2, 1 - _ths**2
    one_minus = 1 - _tht**2 / _ths**2  # 1 - e^{-2h}, h = t - s
    Gt = Dt + v * _tht**2
    den = mu + v * _tht * (_xt - _tht * mu) / Gt
    c = _ths * one_minus / Dt
    cx = (_tht / _ths) * Ds / Dt  # e^{-h} = θ_t/θ_s
    return c * den + cx * _xt, Ds * one_minus / Dt + c**2 * v * Dt / Gt


def _log_gauss(z, mean, var):
    return -(z - mean) ** 2 / (2 * var) - sp.log(2 * sp.pi * var) / 2


@lru_cache(maxsize=None)
def online_update_residual(mu=mu1, v=v1) -> sp.Expr:
    r""":math:`\log p_s(x_s\mid y) - \log p_t(x_t\mid y) - \log q_y(x_s\mid x_t)` for a Gaussian
    class: it does not depend on the class (:math:`\mu_y`, :math:`v_y`), so the online update
    with :math:`q_y` reproduces Bayes' rule at :math:`x_s` exactly."""
    m, var = reverse_kernel(mu, v)
    ls = _log_gauss(_xs, _ths * mu, 1 - _ths**2 + v * _ths**2)
    lt = _log_gauss(_xt, _tht * mu, 1 - _tht**2 + v * _tht**2)
    return ls - lt - _log_gauss(_xs, m, var)


@lru_cache(maxsize=1)
def derivation() -> Derivation:
    r"""The computed derivation of the class posterior, the conditional entropy, its rate and
    the online Bayes update.

    Returns
    -------
    Derivation
        Named steps: ``class_density``, ``fokker_planck``, ``posterior``, ``log_odds``,
        ``prior_limit``, ``entropy``, ``flux``, ``rate``, ``score_gap``, ``kernel``,
        ``online``.
    """
    steps: list[Step] = []
    p = sp.Function("p_t")
    y = sp.Symbol("y")
    dens = class_density()
    steps.append(Step("Each noised class is Gaussian with mean e^{-t}μ_y and variance Γ_y = Δ_t + v_y e^{-2t}.",
                      sp.Eq(p(x, y), dens), "class_density"))
    # FP[p]/p through log p (rational in u = e^{-t} after differentiating)
    L = sp.expand_log(sp.log(dens), force=True)
    Lx = sp.diff(L, x)
    fp_over_p = sp.diff(L, t) - 1 - x * Lx - sp.diff(L, x, 2) - Lx**2
    u = sp.Symbol("u", positive=True)
    fp = sp.cancel(sp.together(fp_over_p.subs(t, -sp.log(u))))
    steps.append(Step("It solves the OU Fokker–Planck equation (residual ∂_t p − ∂_x(xp) − ∂²_x p, "
                      "divided by p):", sp.Eq(sp.Symbol("FP[p]/p"), fp), "fokker_planck"))
    ps, ws = _generic()
    pm = sum(w * q for w, q in zip(ws, ps))
    steps.append(Step("Bayes' rule for two classes with weights π₁, π₂ (p_y = p_t(x|y)).",
                      sp.Eq(sp.Symbol("p(1|x)"), ws[0] * ps[0] / pm), "posterior"))
    lo = log_odds()
    steps.append(Step("Its log-odds are quadratic in x (linear when the classes have equal spread).",
                      sp.Eq(sp.Symbol(r"\log\frac{p(1|x)}{p(2|x)}"), lo), "log_odds"))
    lim = sp.limit(lo.subs(t, -sp.log(u)), u, 0)
    steps.append(Step("Long before the decision (t → ∞) the posterior is the prior.",
                      sp.Eq(sp.Symbol(r"\lim_{t\to\infty}\log\frac{p(1|x)}{p(2|x)}"), lim), "prior_limit"))
    H = sp.Function("H")
    h = -sum(w * q * (sp.log(w) + sp.log(q) - sp.log(pm)) for w, q in zip(ws, ps))
    steps.append(Step("Conditional entropy of the label given the noisy state, "
                      "H = −Σ_y π_y ∫ p_y log p(y|x) dx.",
                      sp.Eq(H(t), sp.Integral(-sum(w * q * sp.log(w * q / pm) for w, q in zip(ws, ps)),
                                              (x, -sp.oo, sp.oo))), "entropy"))
    fp_rhs = {sp.Derivative(q, t): sp.diff(x * q, x) + sp.diff(q, x, 2) for q in ps}
    dh = sp.diff(h, t).subs(fp_rhs)
    rate_int = entropy_rate_integrand(ps, ws)
    J = sp.expand_log(entropy_flux(ps, ws), force=True)
    flux = sp.cancel(sp.together(sp.expand(dh - rate_int + sp.diff(J, x))))
    steps.append(Step(
        "For any class densities p_y solving the Fokker–Planck equation, the time derivative of "
        "the integrand h of H is the rate integrand minus a total derivative ∂ₓJ, "
        "J = Σ_y π_y (x p_y + ∂ₓp_y) log(π_y p_y/p); the remainder vanishes:",
        sp.Eq(sp.Symbol(r"\partial_t h - \sum_y\pi_y p_y(\partial_x\log\frac{p_y}{p})^2 + \partial_x J"),
              flux), "flux"))
    steps.append(Step(
        "Integrating over x (J vanishes at ±∞): the entropy rate is the expected squared gap "
        "between the class-conditional and the marginal scores, ≥ 0.",
        sp.Eq(sp.Derivative(H(t), t), sp.Integral(rate_int, (x, -sp.oo, sp.oo))), "rate"))
    s1 = sp.cancel(sp.diff(sp.expand_log(sp.log(class_density(x, mu1, v1)), force=True), x))
    s2 = sp.cancel(sp.diff(sp.expand_log(sp.log(class_density(x, mu2, v2)), force=True), x))
    steps.append(Step(
        "For two Gaussian classes the class scores are −(x − e^{-t}μ_y)/Γ_y, and the score gap "
        "of class 1 is the other class's posterior times their difference:",
        sp.Eq(sp.Symbol(r"\partial_x\log p_t(x|1) - \partial_x\log p_t(x)"),
              sp.Symbol("p(2|x)") * sp.factor(s1 - s2)), "score_gap"))
    m, var = reverse_kernel()
    steps.append(Step(
        "Exact class-conditional reverse kernel from t to s < t (θ_t = e^{-t}, θ_s = e^{-s}): "
        "Gaussian, with the exponential integrator's mean and variance plus c² Var(x₀|x_t, y).",
        sp.Eq(sp.Symbol("q_y(x_s|x_t)"), sp.Function("N")(_xs, sp.factor(sp.cancel(m)), sp.factor(sp.cancel(var)))),
        "kernel"))
    res = online_update_residual()
    # both derivatives are rational: expand the numerator over a common denominator
    dmu = sp.expand(sp.numer(sp.together(sp.diff(res, mu1))))
    dv = sp.expand(sp.numer(sp.together(sp.diff(res, v1))))
    steps.append(Step(
        "Online Bayes update: log p_s(x_s|y) − log p_t(x_t|y) − log q_y(x_s|x_t) does not depend "
        "on the class (the numerators of its derivatives by μ_y and v_y expand to 0), so "
        "log p(y|x_s) = log p(y|x_t) + log q_y(x_s|x_t) + const is exact:",
        sp.Eq(sp.Tuple(sp.Symbol(r"\partial_{\mu_y}R"), sp.Symbol(r"\partial_{v_y}R")), sp.Tuple(dmu, dv)),
        "online"))
    return Derivation("Class information along the diffusion", steps)
