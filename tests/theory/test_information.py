"""Symbolic identities of the class-information theory, checked by sympy (no float spot checks)."""

import pytest
import sympy as sp

from diffphase.theory import gaussian_mixture as gm
from diffphase.theory import information as inf

x, t = inf.x, inf.t
mu1, mu2, v1, v2, pi1, pi2 = inf.mu1, inf.mu2, inf.v1, inf.v2, inf.pi1, inf.pi2


@pytest.fixture(scope="module")
def deriv():
    return inf.derivation()


def test_posterior_is_bayes_rule_of_the_noised_mixture():
    # the noised mixture from the Gaussian-mixture theory (independent code)
    X = sp.Matrix([x])
    marg = gm.marginal_mixture(X, [sp.Matrix([mu1]), sp.Matrix([mu2])], [sp.sqrt(v1), sp.sqrt(v2)], [pi1, pi2])
    comp1 = pi1 * gm.gaussian_density(X, sp.exp(-t) * sp.Matrix([mu1]), gm.gamma(sp.sqrt(v1)))
    assert sp.simplify(inf.posterior() - comp1 / marg) == 0


def test_log_odds_and_prior_limit(deriv):
    lo = inf.log_odds()
    # the posterior is the logistic function of the log-odds
    E = sp.Symbol("E", positive=True)
    post = inf.posterior()
    assert sp.simplify((post / (1 - post) - sp.exp(lo)).subs(sp.exp(t), E)) == 0
    # quadratic in x with curvature 1/Γ₂ − 1/Γ₁; linear for equal spreads
    assert sp.simplify(sp.diff(lo, x, 2) - (1 / gm.gamma(sp.sqrt(v2)) - 1 / gm.gamma(sp.sqrt(v1)))) == 0
    assert sp.diff(lo.subs(v2, v1), x, 2) == 0 or sp.simplify(sp.diff(lo.subs(v2, v1), x, 2)) == 0
    assert sp.simplify(deriv["prior_limit"].rhs - (sp.log(pi1) - sp.log(pi2))) == 0


def test_class_density_solves_fokker_planck(deriv):
    dens = inf.class_density()
    assert sp.simplify(inf.fokker_planck_residual(dens) / dens) == 0
    assert deriv["fokker_planck"].rhs == 0


@pytest.mark.slow
def test_entropy_rate_identity_for_three_generic_classes():
    """dH/dt = Σ π_y ∫ p_y (∂ log p_y − ∂ log p)² : the integrand of dH/dt differs from the rate
    integrand by ∂ₓJ when every p_y solves the Fokker–Planck equation (K = 3, generic p_y)."""
    ps = [sp.Function(f"q_{k}", positive=True)(x, t) for k in range(3)]
    ws = sp.symbols("w_0:3", positive=True)
    p = sum(w * q for w, q in zip(ws, ps))
    h = -sum(w * q * sp.log(w * q / p) for w, q in zip(ws, ps))  # integrand of H(Y|X_t)
    fp = {sp.Derivative(q, t): sp.diff(x * q, x) + sp.diff(q, x, 2) for q in ps}
    dh = sp.expand_log(sp.diff(h, t), force=True).subs(fp)
    J = sp.expand_log(inf.entropy_flux(ps, ws), force=True)
    rest = dh - inf.entropy_rate_integrand(ps, ws) + sp.diff(J, x)
    assert sp.cancel(sp.together(sp.expand(rest))) == 0


def test_entropy_steps_match_the_gaussian_functions(deriv):
    ps, ws = inf._generic()
    sub = {ps[0]: inf.class_density(x, mu1, v1), ps[1]: inf.class_density(x, mu2, v2)}
    post_generic = deriv["posterior"].rhs.subs(sub)
    assert sp.simplify(post_generic - inf.posterior()) == 0
    # the entropy integrand is −Σ π_y p_y log p(y|x) of the Gaussian classes
    integrand = deriv["entropy"].rhs.function.subs(sub)
    gauss = inf.conditional_entropy_integral().function
    assert sp.simplify(integrand - gauss) == 0
    logs = sorted(gauss.atoms(sp.log), key=sp.default_sort_key)
    assert len(logs) == 2
    post = inf.posterior()
    args = {sp.simplify(lg.args[0] - post) == 0 or sp.simplify(lg.args[0] - (1 - post)) == 0 for lg in logs}
    assert args == {True}
    assert deriv["flux"].rhs == 0


def test_score_gap_is_other_posterior_times_score_difference(deriv):
    s1 = sp.diff(sp.log(inf.class_density(x, mu1, v1)), x)
    s2 = sp.diff(sp.log(inf.class_density(x, mu2, v2)), x)
    w2 = 1 - inf.posterior()
    gap = inf.score_gap()
    E = sp.Symbol("E", positive=True)
    assert sp.simplify((gap - w2 * (s1 - s2)).subs(sp.exp(t), E)) == 0
    shown = deriv["score_gap"].rhs.subs(sp.Symbol("p(2|x)"), 1)
    assert sp.simplify(shown - (s1 - s2)) == 0


def test_reverse_kernel_is_the_gaussian_conditional():
    """Independent route: (x_s, x_t) of a Gaussian class is jointly Gaussian with
    Cov = e^{-(t-s)} Var(x_s); the conditional mean and variance of x_s given x_t."""
    tht, ths, xt = inf._tht, inf._ths, inf._xt
    Gs = 1 - ths**2 + v1 * ths**2
    Gt = 1 - tht**2 + v1 * tht**2
    cov = (tht / ths) * Gs
    mean_ref = ths * mu1 + cov / Gt * (xt - tht * mu1)
    var_ref = Gs - cov**2 / Gt
    m, var = inf.reverse_kernel()
    assert sp.simplify(m - mean_ref) == 0
    assert sp.simplify(var - var_ref) == 0


def test_online_update_is_exact(deriv):
    # the derivation differentiates the residual by μ_y and v_y and cancels: both vanish
    assert deriv["online"].rhs == sp.Tuple(0, 0)
    assert deriv["online"].lhs.atoms(sp.Symbol) == {sp.Symbol(r"\partial_{\mu_y}R"), sp.Symbol(r"\partial_{v_y}R")}
    # and the residual is genuinely the class-independent −log p(x_t | x_s) (x_s-quadratic)
    res = inf.online_update_residual()
    assert sp.cancel(sp.together(sp.diff(res, inf._xs, 3))) == 0
    assert len(deriv) == 11
