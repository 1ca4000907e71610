r"""Spontaneous symmetry breaking of the generative dynamics, symbolically (Raya & Ambrogioni,
*Spontaneous symmetry breaking in generative diffusion models*, arXiv 2305.19693, NeurIPS 2023).

Time is the package's OU time :math:`t`: :math:`x_t = e^{-t}x_0 + \sqrt{\Delta_t}z`,
:math:`\Delta_t = 1-e^{-2t}`. The paper's :math:`\theta` is the signal scale
:math:`\theta = e^{-t} = \sqrt{\bar\alpha}` of :func:`diffphase.theory.conventions.theta`
(so :math:`x_t = \theta x_0 + \sqrt{1-\theta^2}\,z`); :math:`\theta` runs from 0 (pure noise)
to 1 (data) along the generative dynamics.

In reverse time the generative SDE is :math:`dx = [x + 2\nabla\log P_t(x)]\,d\tau + \sqrt2\,dW`
(:mod:`diffphase.numerics.sde`); its drift is :math:`-\nabla U` with the *potential*
:math:`U(x,t) = -|x|^2/2 - 2\log P_t(x)`. Its fixed points are the zeros of the drift.

* Two points :math:`\pm1` (one dimension): :math:`U = -x^2/2 + x^2/\Delta -
  2\log\cosh(\theta x/\Delta)`; fixed points :math:`(1+\theta^2)x^* =
  2\theta\tanh(\theta x^*/(1-\theta^2))`; the centre loses stability at
  :math:`\theta_c^2 = \sqrt2-1`, a supercritical pitchfork.
* Two Gaussians :math:`\pm m` of spread :math:`\sigma`: the same along :math:`\hat m`, with the
  overlap potential of :mod:`diffphase.theory.gaussian_mixture` (the two points are its case
  :math:`|m|=1`, :math:`\sigma=0`).
* General data: the centre's curvature along the top eigenvector involves the data variance
  :math:`\Lambda` there; when all data points have the same norm (two points, any centred set
  on a sphere) it is exactly :math:`\Lambda`, the centre loses stability at
  :math:`\theta^4 + 2\Lambda\theta^2 - 1 = 0`, :math:`t_U = \tfrac12\operatorname{arsinh}\Lambda
  = t_S + \tfrac12\log\big(1+\sqrt{1+\Lambda^{-2}}\big)`, an :math:`O(1)` shift from the
  speciation time :math:`t_S = \tfrac12\log\Lambda` that tends to :math:`\tfrac12\log 2` at
  large :math:`\Lambda`.

Functions return sympy objects; :func:`derivation` lists the computed steps. Numbers come from
:mod:`diffphase.numerics.symmetry`.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from . import gaussian_mixture as _gm
from .conventions import t
from .derivation import Derivation, Step

__all__ = [
    "t",
    "x",
    "th",
    "Lam",
    "two_point_potential",
    "two_point_drift",
    "fixed_point_equation",
    "centre_curvature",
    "stability_polynomial",
    "critical_theta",
    "critical_time",
    "pitchfork_amplitude",
    "instability_theta",
    "instability_time",
    "instability_shift",
    "centre_hessian",
    "derivation",
]

#: Position (projection on the symmetry axis).
x = sp.Symbol("x", real=True)
#: Signal scale :math:`\theta = e^{-t}\in(0,1)`.
th = sp.Symbol("theta", positive=True)
#: Variance of the data along the top eigenvector (top eigenvalue of the covariance).
Lam = _gm.Lam
_a = sp.Symbol("a", positive=True)


def _in_theta(expr: sp.Expr) -> sp.Expr:
    """Rewrite an expression of OU time in :math:`\\theta = e^{-t}`."""
    return expr.subs(t, -sp.log(th))


def _tanh_form(expr: sp.Expr) -> sp.Expr:
    """Write sinh(u)/cosh(u) as tanh(u)."""
    for s in expr.atoms(sp.sinh):
        expr = expr.subs(s, sp.tanh(s.args[0]) * sp.cosh(s.args[0]))
    return expr


@lru_cache(maxsize=None)
def _potential() -> sp.Expr:
    return _in_theta(_gm.overlap_potential(x, _a, 0, t))


@lru_cache(maxsize=None)
def _drift() -> sp.Expr:
    return _tanh_form(-sp.diff(_potential(), x))


@lru_cache(maxsize=None)
def _fixed_point_equation() -> sp.Eq:
    expr = sp.expand(_drift() * (1 - th**2))
    lin = expr.coeff(x)  # coefficient of the term linear in x (the tanh term is not)
    rest = expr - lin * x
    (th_atom,) = rest.atoms(sp.tanh)
    return sp.Eq(sp.factor(-lin) * x, sp.cancel(rest.coeff(th_atom)) * th_atom)


@lru_cache(maxsize=None)
def _curvature() -> sp.Expr:
    return sp.factor(sp.cancel(sp.diff(_potential(), x, 2).subs(x, 0)))


def two_point_potential(xx=x, theta=th, a=1) -> sp.Expr:
    r"""Potential :math:`U(x) = -x^2/2 + x^2/\Delta - 2\log\cosh(a\theta x/\Delta)`,
    :math:`\Delta = 1-\theta^2`, of the data :math:`\pm a` (one dimension), up to a constant.

    It is :func:`diffphase.theory.gaussian_mixture.overlap_potential` at :math:`|m| = a`,
    :math:`\sigma = 0`, written in :math:`\theta`.
    """
    return _potential().subs({th: theta, x: xx, _a: a}, simultaneous=True)


def two_point_drift(xx=x, theta=th, a=1) -> sp.Expr:
    r"""Reverse-time drift :math:`x + 2\partial_x\log P_t = -\partial_xU` for the data
    :math:`\pm a`."""
    return _drift().subs({th: theta, x: xx, _a: a}, simultaneous=True)


def fixed_point_equation(theta=th, a=1) -> sp.Eq:
    r"""Fixed points of :func:`two_point_drift`: :math:`(1+\theta^2)x^* =
    2a\theta\tanh(a\theta x^*/(1-\theta^2))` (the drift times :math:`1-\theta^2`, rearranged)."""
    return _fixed_point_equation().subs({th: theta, _a: a}, simultaneous=True)


def centre_curvature(theta=th, a=1) -> sp.Expr:
    r""":math:`U''(0) = -1 + 2/\Delta - 2a^2\theta^2/\Delta^2`; the centre is stable where it
    is positive."""
    return _curvature().subs({th: theta, _a: a}, simultaneous=True)


def stability_polynomial(theta=th, lam=Lam) -> sp.Expr:
    r""":math:`-\Delta^2\,U''(0) = \theta^4 + 2\Lambda\theta^2 - 1` for data of variance
    :math:`\Lambda = a^2` on :math:`\pm a`: the centre is unstable where it is positive."""
    poly = sp.expand(sp.cancel(-_curvature() * (1 - th**2) ** 2))
    return poly.subs(_a**2, lam).subs(th, theta)


@lru_cache(maxsize=None)
def critical_theta() -> sp.Expr:
    r""":math:`\theta_c = \sqrt{\sqrt2-1}` for the two points :math:`\pm1`: the positive root
    of :func:`stability_polynomial` at :math:`\Lambda=1`."""
    roots = sp.solve(sp.Eq(stability_polynomial(th, 1), 0), th)
    return sp.simplify(roots[0])


@lru_cache(maxsize=None)
def critical_time() -> sp.Expr:
    r""":math:`t_c = -\log\theta_c = \tfrac12\log(1+\sqrt2)` (OU time)."""
    return sp.simplify(-sp.log(critical_theta()))


@lru_cache(maxsize=None)
def _pitchfork() -> sp.Expr:
    eq = fixed_point_equation(th)
    ser = sp.series(eq.rhs - eq.lhs, x, 0, 5).removeO()
    c1, c3 = ser.coeff(x, 1), ser.coeff(x, 3)
    return sp.factor(sp.simplify(-c1 / c3))


def pitchfork_amplitude(theta=th) -> sp.Expr:
    r"""Leading-order non-central fixed point near :math:`\theta_c` (two points :math:`\pm1`):
    :math:`x^{*2} \simeq -c_1/c_3` from the cubic expansion of the fixed-point equation,
    :math:`x^{*2} = \tfrac32(1-\theta^2)^2(\theta^4+2\theta^2-1)/\theta^4`
    (mean-field exponent :math:`\tfrac12`)."""
    return _pitchfork().subs(th, theta)


@lru_cache(maxsize=None)
def instability_theta(lam=Lam) -> sp.Expr:
    r""":math:`\theta_U^2 = \sqrt{\Lambda^2+1}-\Lambda`, root of :func:`stability_polynomial`
    (as :math:`\theta`)."""
    u = sp.Symbol("u", positive=True)
    roots = sp.solve(stability_polynomial(sp.sqrt(u), lam), u)
    return sp.sqrt(roots[0])


def instability_time(lam=Lam) -> sp.Expr:
    r"""OU time at which the centre loses stability, :math:`t_U = \tfrac12\log(\Lambda +
    \sqrt{\Lambda^2+1}) = \tfrac12\operatorname{arsinh}\Lambda`.

    This is :func:`diffphase.theory.gaussian_mixture.instability_time` at
    :math:`|m|^2 = \Lambda`, :math:`\sigma = 0` (imported, not re-derived)."""
    return _gm.instability_time(sp.sqrt(lam), 0)


@lru_cache(maxsize=None)
def instability_shift(lam=Lam) -> sp.Expr:
    r""":math:`t_U - t_S = \tfrac12\log\big(1+\sqrt{1+\Lambda^{-2}}\big)`, with
    :math:`t_S = \tfrac12\log\Lambda` of
    :func:`diffphase.theory.gaussian_mixture.speciation_time`."""
    diff = sp.expand_log(instability_time(lam) - _gm.speciation_time(lam), force=True)
    return sp.simplify(sp.logcombine(diff, force=True))


@lru_cache(maxsize=None)
def centre_hessian(theta=th) -> sp.Expr:
    r"""Curvature of :math:`\log P_t` at the centre along a unit vector :math:`e`:
    :math:`-1/\Delta + \theta^2\Lambda_w/\Delta^2`, with :math:`\Lambda_w` the variance along
    :math:`e` of the data reweighted by :math:`e^{-\theta^2|x_0|^2/2\Delta}` (obtained by
    differentiating :math:`\log P_t(ke) = -k^2/2\Delta + C(\theta k/\Delta)`, :math:`C` the
    cumulant generating function of :math:`e\cdot x_0` under the reweighted data)."""
    k = sp.Symbol("k", real=True)
    C = sp.Function("C")
    D = 1 - th**2
    logp = -k**2 / (2 * D) + C(th * k / D)
    hess = sp.diff(logp, k, 2).subs(k, 0)
    lw = sp.Symbol(r"\Lambda_w", positive=True)
    hess = hess.replace(lambda e: isinstance(e, sp.Subs) or isinstance(e, sp.Derivative), lambda e: lw)
    return sp.simplify(hess).subs(th, theta)


@lru_cache(maxsize=1)
def derivation() -> Derivation:
    r"""The computed derivation of the symmetry breaking of the generative dynamics.

    Returns
    -------
    Derivation
        Named steps: ``potential``, ``drift``, ``fixed_points``, ``curvature``,
        ``polynomial``, ``theta_c``, ``t_c``, ``pitchfork``, ``mixture``,
        ``mixture_fixed_points``, ``hessian``,
        ``drift_jacobian``, ``theta_U``, ``t_U``, ``shift``, ``shift_limit``.
    """
    steps: list[Step] = []
    U = sp.Function("U")
    pot = two_point_potential()
    steps.append(Step(
        "Two data points ±1, θ = e^{-t}: the reverse-time drift x + 2∂ₓlog P_t is −∂ₓU with the "
        "potential (the overlap potential of the Gaussian-mixture page at |m| = 1, σ = 0, in θ)",
        sp.Eq(U(x), pot), "potential"))
    steps.append(Step("The generative drift.",
                      sp.Eq(sp.Symbol("f(x)"), two_point_drift()), "drift"))
    fp = fixed_point_equation()
    steps.append(Step("Fixed points: the drift times 1 − θ² vanishes, i.e.", fp, "fixed_points"))
    curv = centre_curvature()
    steps.append(Step("Curvature of U at the symmetric centre x = 0.",
                      sp.Eq(sp.Symbol("U''(0)"), curv), "curvature"))
    poly = stability_polynomial(th, 1)
    steps.append(Step("Multiplying by −(1 − θ²)²: the centre is unstable where this is positive.",
                      sp.Eq(sp.Symbol(r"-(1-\theta^2)^2 U''(0)"), poly), "polynomial"))
    thc = critical_theta()
    steps.append(Step("Its positive root is the critical signal scale, θ_c² = √2 − 1.",
                      sp.Eq(sp.Symbol(r"\theta_c"), thc), "theta_c"))
    steps.append(Step("In OU time (t = −log θ).",
                      sp.Eq(sp.Symbol("t_c"), critical_time()), "t_c"))
    steps.append(Step(
        "Expanding the fixed-point equation to third order in x: for θ > θ_c two new fixed "
        "points branch off the centre (supercritical pitchfork, mean-field exponent ½),",
        sp.Eq(sp.Symbol("x^{*2}"), pitchfork_amplitude()), "pitchfork"))
    q, mm = _gm.q, sp.Symbol("|m|", positive=True)
    V = sp.Function("V")
    Vm = _gm.overlap_potential(q, mm, _gm.sigma, t)
    steps.append(Step(
        "Two Gaussians ±m of spread σ: along q = m̂·x the same construction gives the overlap "
        "potential of the Gaussian-mixture page; its centre loses stability at t_U of that page.",
        sp.Eq(V(q, t), Vm), "mixture"))
    fm = sp.expand(_tanh_form(-sp.diff(Vm, q)))
    lin = fm.coeff(q)
    (tq,) = (fm - lin * q).atoms(sp.tanh)
    steps.append(Step(
        "Its fixed points along m̂ (Γ_t = Δ_t + σ²e^{-2t}; σ = 0, |m| = 1 gives the two points):",
        sp.Eq(sp.factor(-lin) * q, sp.factor((fm - lin * q).coeff(tq)) * tq), "mixture_fixed_points"))
    hess = centre_hessian()
    steps.append(Step(
        "General centred data: along a unit vector e the curvature of log P_t at the centre "
        "involves Λ_w, the variance along e of the data reweighted by exp(−θ²|x₀|²/2Δ); "
        "Λ_w = Λ exactly when every data point has the same norm.",
        sp.Eq(sp.Symbol(r"\partial_e^2\log P_t(0)"), hess), "hessian"))
    lw = sp.Symbol(r"\Lambda_w", positive=True)
    jac = sp.factor(sp.together(1 + 2 * hess.subs(lw, Lam)))
    steps.append(Step(
        "The drift's Jacobian along the top eigenvector (Λ_w = Λ); it changes sign at the roots "
        "of θ⁴ + 2Λθ² − 1.",
        sp.Eq(sp.Symbol(r"\partial_e f(0)"), jac), "drift_jacobian"))
    steps.append(Step("Instability signal scale.",
                      sp.Eq(sp.Symbol(r"\theta_U"), instability_theta()), "theta_U"))
    steps.append(Step(
        "Instability time, identical to the Gaussian-mixture t_U at |m|² = Λ, σ = 0.",
        sp.Eq(sp.Symbol("t_U"), instability_time()), "t_U"))
    shift = instability_shift()
    steps.append(Step("Its distance from the speciation time t_S = ½ log Λ.",
                      sp.Eq(sp.Symbol("t_U - t_S"), shift), "shift"))
    lim = sp.limit(shift, Lam, sp.oo)
    steps.append(Step("For large Λ the shift tends to a constant.",
                      sp.Eq(sp.Symbol(r"\lim_{\Lambda\to\infty}(t_U - t_S)"), lim), "shift_limit"))
    return Derivation("Symmetry breaking of the generative dynamics", steps)
