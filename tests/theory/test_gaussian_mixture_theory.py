"""Symbolic identities of the Gaussian-mixture theory: checked by sympy, not by floats."""

import pytest
import sympy as sp

from diffphase.theory import gaussian_mixture as gm

t, alpha, sigma = gm.t, gm.alpha, gm.sigma


def _is_zero(expr) -> bool:
    """Zero after expanding logs; forcing is valid since every log argument here is
    positive for t > 0."""
    E = sp.Symbol("E", positive=True)  # E = e^{2t}
    expr = expr.subs(sp.exp(-2 * t), 1 / E).subs(sp.exp(2 * t), E)
    return sp.simplify(sp.expand_log(sp.simplify(expr), force=True)) == 0


@pytest.fixture(scope="module")
def deriv():
    return gm.derivation()


def test_two_class_score_is_grad_log_marginal():
    x = sp.Matrix(sp.symbols("x1 x2", real=True))
    m = sp.Matrix(sp.symbols("m1 m2", real=True))
    P = gm.marginal_two_class(x, m)
    S = gm.score_two_class(x, m)
    for i, xi in enumerate(x):
        assert sp.simplify((sp.diff(sp.log(P), xi) - S[i]).rewrite(sp.exp)) == 0


def test_mixture_score_is_grad_log_marginal():
    x = sp.Matrix(sp.symbols("x1 x2", real=True))
    means = [sp.Matrix([1, 0]), sp.Matrix([-1, 2])]
    sig = [sp.Rational(1, 2), 2]
    w = [sp.Rational(1, 3), sp.Rational(2, 3)]
    P = gm.marginal_mixture(x, means, sig, w)
    S = gm.score_mixture(x, means, sig, w)
    for i, xi in enumerate(x):
        assert sp.simplify(sp.diff(sp.log(P), xi) - S[i]) == 0


def test_marginal_solves_fokker_planck_1d():
    # dP/dt = d/dx (x P) + d^2P/dx^2 for the OU forward process (noise variance 2 dt)
    x = sp.Matrix([sp.Symbol("x", real=True)])
    m = sp.Matrix([sp.Symbol("m", positive=True)])
    P = gm.marginal_two_class(x, m)
    xs = x[0]
    fp = sp.diff(P, t) - sp.diff(xs * P, xs) - sp.diff(P, xs, 2)
    assert sp.simplify(fp.rewrite(sp.exp)) == 0


def test_collapse_time_is_root_of_excess_entropy():
    f = gm.excess_entropy()
    assert sp.simplify(f.subs(t, gm.collapse_time())) == 0


def test_critical_load_is_root_in_alpha():
    f = gm.excess_entropy()
    assert _is_zero(f.subs(alpha, gm.critical_load()))


def test_derived_steps_match_the_closed_forms(deriv):
    assert sp.simplify(deriv["t_C"].rhs - gm.collapse_time()) == 0
    assert _is_zero(deriv["alpha_c"].rhs - gm.critical_load())
    assert sp.simplify(deriv["t_S"].rhs - sp.log(gm.Lam) / 2) == 0


def test_projected_score_matches_vector_score(deriv):
    # the 1-d score of the derivation is the vector score projected on m-hat (d = 1 case)
    x = sp.Matrix([gm.q])
    mn = sp.Symbol("|m|", positive=True)
    S = gm.score_two_class(x, sp.Matrix([mn]))[0]
    G = sp.Symbol(r"\Gamma_t", positive=True)
    assert sp.simplify(deriv["score"].rhs.subs(G, gm.gamma()) - S) == 0


def test_centre_curvature_vanishes_at_instability_time():
    mn = sp.Symbol("|m|", positive=True)
    for sig in (sp.Integer(1), sp.Integer(2), sp.Rational(1, 3)):
        curv = gm.centre_curvature(mn, sig)
        tu = gm.instability_time(mn, sig)
        assert sp.simplify(curv.subs(t, tu)) == 0, sig


def test_instability_minus_speciation_tends_to_half_log_two():
    mu, d = gm.mu, gm.d
    mn = mu * sp.sqrt(d)
    diff = gm.instability_time(mn, 1) - gm.speciation_time(gm.top_eigenvalue(mu, d, 1))
    assert sp.simplify(sp.limit(diff, d, sp.oo) - sp.log(2) / 2) == 0


def test_top_eigenvalue_of_two_class_covariance():
    m = sp.Matrix(sp.symbols("m1:5", real=True))
    C = m * m.T + sigma**2 * sp.eye(4)
    lam = (m.T * m)[0] + sigma**2
    assert sp.simplify(C * m - lam * m) == sp.zeros(4, 1)
    # and it is the largest: the orthogonal complement has eigenvalue sigma^2 < lam
    v = sp.Matrix([m[1], -m[0], 0, 0])
    assert sp.simplify(C * v - sigma**2 * v) == sp.zeros(4, 1)


def test_speciation_condition_solved():
    assert sp.simplify(gm.speciation_condition().lhs.subs(t, gm.speciation_time()) - 1) == 0


def test_clone_integrand_reduces_to_tanh_form():
    y, a, G = sp.symbols("y a G", positive=True)
    gp = sp.exp(-(y - a) ** 2 / (2 * G))
    gmn = sp.exp(-(y + a) ** 2 / (2 * G))
    lhs = (gp**2 + gmn**2) / (gp + gmn)
    rhs = (gp + gmn) / 2 * (1 + sp.tanh(a * y / G) ** 2)
    assert sp.simplify((lhs - rhs).rewrite(sp.exp)) == 0


def test_posterior_step_is_half_one_plus_tanh(deriv):
    post = deriv["posterior"].rhs
    y = gm.y
    mn = sp.Symbol("|m|", positive=True)
    G = sp.Symbol(r"\Gamma_t", positive=True)
    target = (1 + sp.tanh(mn * sp.exp(-t) * y / G)) / 2
    assert sp.simplify((post - target).rewrite(sp.exp)) == 0


def test_collapse_time_asymptotics():
    assert sp.limit(gm.collapse_time() - gm.collapse_time_small_alpha(), alpha, 0) == 0
    assert sp.limit(gm.collapse_time() / gm.collapse_time_large_alpha(), alpha, sp.oo) == 1


def test_excess_entropy_limits():
    f = gm.excess_entropy()
    # long after noising everything, f -> alpha (population and separated entropies agree)
    assert sp.simplify(sp.limit(f, t, sp.oo) - alpha) == 0
    # at t -> 0 the uncondensed branch diverges to -inf
    assert sp.limit(f, t, 0, "+") == -sp.oo


def test_derivation_renders():
    d = gm.derivation()
    md = d.to_markdown()
    assert md.count("$$") == 2 * len(d)
    assert "t_{C}" in md or "t_C" in md
