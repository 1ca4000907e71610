"""Symbolic identities of the symmetry-breaking theory, checked by sympy (no float spot checks)."""

import pytest
import sympy as sp

from diffphase.theory import gaussian_mixture as gm
from diffphase.theory import symmetry as sb

x, th, Lam, t = sb.x, sb.th, sb.Lam, sb.t


@pytest.fixture(scope="module")
def deriv():
    return sb.derivation()


def test_drift_is_x_plus_twice_the_score_of_two_points():
    # independent route: the exact two-class score of the Gaussian-mixture theory at σ = 0
    # (itself tested there to be the gradient of the log marginal)
    S = gm.score_two_class(sp.Matrix([x]), sp.Matrix([1]), 0, t)[0]
    drift_th = (x + 2 * S).subs(t, -sp.log(th))
    assert sp.simplify(drift_th - sb.two_point_drift()) == 0


def test_potential_is_the_overlap_potential_at_unit_mean_zero_spread():
    V = gm.overlap_potential(x, 1, 0, t).subs(t, -sp.log(th))
    assert sp.simplify(V - sb.two_point_potential()) == 0


def test_fixed_point_equation_is_the_drift_times_one_minus_theta_squared():
    eq = sb.fixed_point_equation()
    assert sp.simplify((eq.rhs - eq.lhs) - sb.two_point_drift() * (1 - th**2)) == 0
    # and it is the published form (1+θ²)x = 2θ tanh(θx/(1−θ²))
    published = 2 * th * sp.tanh(th * x / (1 - th**2)) - (1 + th**2) * x
    assert sp.simplify((eq.rhs - eq.lhs - published).rewrite(sp.exp)) == 0


def test_critical_theta_from_the_stability_condition():
    thc = sb.critical_theta()
    assert sp.simplify(thc**2 - (sp.sqrt(2) - 1)) == 0
    # the curvature of U at the centre vanishes there and changes sign (positive = stable before)
    curv = sb.centre_curvature()
    assert sp.simplify(curv.subs(th, thc)) == 0
    dcurv = sp.simplify(sp.diff(curv, th).subs(th, thc))
    assert dcurv.is_negative
    # the only root in (0, 1)
    roots = sp.solveset(sb.stability_polynomial(th, 1), th, sp.Interval.open(0, 1))
    assert roots == sp.FiniteSet(thc)
    assert sp.simplify(sp.exp(-2 * sb.critical_time()) - (sp.sqrt(2) - 1)) == 0


def test_pitchfork_branch_solves_the_cubic_fixed_point_equation():
    amp = sb.pitchfork_amplitude()
    eq = sb.fixed_point_equation()
    F = sp.series(eq.rhs - eq.lhs, x, 0, 5).removeO()
    # x*² = amp is the non-zero root of F/x truncated at cubic order
    assert sp.simplify(sp.expand(F / x).subs(x**2, amp)) == 0
    assert sp.simplify(amp.subs(th, sb.critical_theta())) == 0
    assert amp.subs(th, sp.Rational(9, 10)).is_positive and amp.subs(th, sp.Rational(1, 2)).is_negative


def test_instability_time_general_lambda():
    tU = sb.instability_time()
    assert sp.simplify(tU - sp.asinh(Lam).rewrite(sp.log) / 2) == 0
    # reused from the Gaussian-mixture theory: |m|² = Λ, σ = 0
    assert sp.simplify(tU - gm.instability_time(sp.sqrt(Lam), 0)) == 0
    # Λ = 1 is the two-point result
    assert sp.simplify(tU.subs(Lam, 1) - sb.critical_time()) == 0
    # θ_U is a root of the stability polynomial and equals e^{-t_U}
    thU = sb.instability_theta()
    assert sp.simplify(sb.stability_polynomial(thU, Lam)) == 0
    assert sp.simplify(sp.exp(-tU) - thU) == 0


def test_instability_shift_from_speciation_time():
    shift = sb.instability_shift()
    expected = sp.log(1 + sp.sqrt(1 + Lam**-2)) / 2
    assert sp.expand(sp.radsimp(sp.exp(2 * shift)) - sp.radsimp(sp.exp(2 * expected))) == 0
    assert sp.limit(shift, Lam, sp.oo) == sp.log(2) / 2
    assert sp.limit(shift - sp.log(2) / 2, Lam, sp.oo) == 0


def test_centre_hessian_reduces_to_the_two_point_marginal():
    # for ±1 the reweighted variance is 1 (all points have norm 1)
    P = gm.marginal_two_class(sp.Matrix([x]), sp.Matrix([1]), 0, t)
    hess = sp.diff(sp.log(P), x, 2).subs(x, 0).subs(t, -sp.log(th))
    lw = sp.Symbol(r"\Lambda_w", positive=True)
    assert sp.simplify(hess - sb.centre_hessian().subs(lw, 1)) == 0


def test_stability_polynomial_for_amplitude_a_has_lambda_a_squared():
    a = sp.Symbol("a", positive=True)
    curv = sb.centre_curvature(th, a)
    assert sp.simplify(-curv * (1 - th**2) ** 2 - sb.stability_polynomial(th, a**2)) == 0


def test_derivation_steps_are_the_functions(deriv):
    assert deriv["theta_c"].rhs == sb.critical_theta()
    assert deriv["fixed_points"] == sb.fixed_point_equation()
    assert deriv["pitchfork"].rhs == sb.pitchfork_amplitude()
    assert deriv["shift_limit"].rhs == sp.log(2) / 2
    assert sp.simplify(deriv["t_U"].rhs - sb.instability_time()) == 0
    jac = deriv["drift_jacobian"].rhs
    assert sp.simplify(jac.subs(th, sb.instability_theta())) == 0
    assert len(deriv) == 16 and "θ_c" in deriv.to_markdown()


def test_mixture_fixed_points_reduce_to_two_points(deriv):
    eq = deriv["mixture_fixed_points"]
    q, m = gm.q, sp.Symbol("|m|", positive=True)
    F = (eq.rhs - eq.lhs).subs({gm.sigma: 0, m: 1, q: x}).subs(t, -sp.log(th))
    two = sb.fixed_point_equation()
    # the same equation up to the positive factor 1/(1 - θ²)
    assert sp.simplify(F * (1 - th**2) - (two.rhs - two.lhs)) == 0
    # and it is the drift of the overlap potential: −∂V/∂q = 0
    V = gm.overlap_potential(q, m, gm.sigma, t)
    assert sp.simplify((-sp.diff(V, q) - (eq.rhs - eq.lhs)).rewrite(sp.exp)) == 0
