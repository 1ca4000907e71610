"""Symbolic identities of the RHM mean-field theory (diffphase.theory.rhm).

Independent references: THEORY.md's [recon] formula typed here, brute-force enumeration of
tuples and of rule assignments for tiny models, sympy limits and derivatives computed here.
"""

import itertools
from fractions import Fraction

import pytest
import sympy as sp

from diffphase.theory import rhm
from diffphase.theory.derivation import Derivation

v, m, s, p, f, w, eps = rhm.v, rhm.m, rhm.s, rhm.p, rhm.f, rhm.w, rhm.eps


def recon_F(S=s):
    """THEORY.md §1 [recon] map, typed independently."""
    a = (1 - p**S) / (v**S - 1)
    return (p**S + (m - 1) * a) / (p**S + (m * v - 1) * a)


def test_map_equals_theory_md_recon_formula():
    assert sp.simplify(rhm.mean_field_map()(p) - recon_F()) == 0
    for S in (2, 3, 4):
        assert sp.simplify(rhm.mean_field_map(S)(p) - recon_F(S)) == 0


def test_trivial_fixed_points_symbolic_s():
    F = rhm.mean_field_map()
    assert sp.simplify(F(1 / v) - 1 / v) == 0
    assert sp.simplify(F(1) - 1) == 0
    assert rhm.fixed_points() == [1 / v, 1]


def test_wrong_tuple_weight_by_enumeration():
    # brute force over all tuples of a tiny vocabulary, symbolic p
    for V, S in ((3, 2), (2, 3), (4, 2)):
        true = (0,) * S
        nu = lambda c: p if c == 0 else (1 - p) / (V - 1)  # noqa: E731
        total = sum(sp.prod([nu(c) for c in t]) for t in itertools.product(range(V), repeat=S)
                    if t != true)
        expected = total / (V**S - 1)
        got = rhm.wrong_tuple_weight().subs({s: S, v: V})
        assert sp.simplify(got - expected) == 0


def test_average_weights_by_enumerating_rule_sets():
    """Exact expectation of the upward BP weights over all rule sets of a tiny model
    (v=3, s=2, m=2): the true parent owns the true tuple (0,0) and one more rule; the other
    rules are the remaining tuples drawn without replacement."""
    V, S, M = 3, 2, 2
    P = Fraction(2, 5)
    Q = (1 - P) / (V - 1)
    nu = lambda c: P if c == 0 else Q  # noqa: E731
    weight = lambda t: nu(t[0]) * nu(t[1])  # noqa: E731
    others = [t for t in itertools.product(range(V), repeat=S) if t != (0, 0)]
    n_draw = (M - 1) + (V - 1) * M
    sum_true = sum_wrong = Fraction(0)
    count = 0
    for seq in itertools.permutations(others, n_draw):
        sum_true += weight((0, 0)) + sum(weight(t) for t in seq[: M - 1])
        sum_wrong += sum(weight(t) for t in seq[M - 1: M - 1 + M])  # parent 1
        count += 1
    Wt, Ww = rhm.average_weights()
    sub = {s: S, v: V, m: M, p: sp.Rational(2, 5)}
    assert sp.Rational(sum_true / count) == sp.nsimplify(Wt.subs(sub))
    assert sp.Rational(sum_wrong / count) == sp.nsimplify(Ww.subs(sub))


def test_phi_composes_to_F():
    Phi = rhm.parent_mass()
    for S in (2, 3):
        assert sp.simplify(Phi(p**S).subs(s, S) - recon_F(S)) == 0


def test_fixed_point_polynomial_factors():
    for S in (2, 3, 4):
        G = rhm.fixed_point_polynomial(S)
        K = rhm.reduced_fixed_point_polynomial(S).as_expr()
        assert sp.expand(G - (1 - p) * (v * p - 1) * K) == 0
        assert sp.degree(K, p) == S - 1
        # G has the sign of F(p) - p (checked at a numeric point)
        sub = {v: 10, m: 3, p: sp.Rational(1, 2)}
        assert sp.sign(G.subs(sub)) == sp.sign((recon_F(S) - p).subs(sub))


def test_slopes_at_trivial_fixed_points():
    dF = sp.diff(recon_F(), p)
    assert sp.simplify(rhm.map_slope(1) - m * s * (v - 1) / (v**s - 1)) == 0
    assert sp.simplify(rhm.map_slope(1 / v) - s * (v - 1) * v ** (s - 1) / (m * (v**s - 1))) == 0
    for S, V, M in ((2, 32, 8), (3, 8, 6)):
        sub = {s: S, v: V, m: M}
        assert sp.nsimplify(rhm.map_slope(1).subs(sub)) == sp.limit(dF.subs(sub), p, 1)
    conds = rhm.existence_conditions()
    sub = {s: 2, v: 32, m: 8}
    assert bool(conds["stable_1"].subs(sub)) and bool(conds["stable_1_over_v"].subs(sub))
    assert not bool(conds["stable_1_over_v"].subs({s: 2, v: 32, m: 1}))  # m = 1: no transition
    assert not bool(conds["stable_1"].subs({s: 2, v: 32, m: 17}))  # m >= (v+1)/2


def test_s2_closed_form():
    c = rhm.critical_point_s2()
    F2 = recon_F(2)
    assert sp.simplify(F2.subs(p, c["p_star"]) - c["p_star"]) == 0
    assert sp.simplify(c["p_star"] - (m - 1) / (v - m)) == 0
    assert sp.simplify(c["eps_star"] - (1 - c["p_star"]) / (1 - 1 / v)) == 0
    slope = sp.diff(F2, p).subs(p, c["p_star"])
    assert sp.simplify(slope - c["slope"]) == 0
    # v = 32, m = 8: p* = 7/24, eps* = 68/93 (exact rationals)
    sub = {v: 32, m: 8}
    assert c["p_star"].subs(sub) == sp.Rational(7, 24)
    assert c["eps_star"].subs(sub) == sp.Rational(68, 93)
    assert sp.simplify(c["nu"] - sp.log(2) / sp.log(c["slope"])) == 0


def test_large_v_limit_is_sympy_limit():
    for S in (2, 3):
        direct = sp.limit(recon_F(S).subs(m, f * v ** (S - 1)), v, sp.oo)
        assert sp.simplify(rhm.large_v_map(S)(p) - direct) == 0
        assert sp.simplify(direct - p**S / (p**S + f * (1 - p**S))) == 0
    big = rhm.large_v_critical_s2()
    assert sp.simplify(big["p_star"] - f / (1 - f)) == 0
    assert sp.simplify(big["slope"] - 2 * (1 - f)) == 0
    # consistent with the finite-v closed form at m = f v, v -> oo
    c = rhm.critical_point_s2()
    assert sp.simplify(sp.limit(c["p_star"].subs(m, f * v), v, sp.oo) - big["p_star"]) == 0
    assert sp.simplify(sp.limit(c["slope"].subs(m, f * v), v, sp.oo) - big["slope"]) == 0


def test_levels_width_exponent_consistent():
    lam, d, L = rhm.lam, sp.Symbol("delta", positive=True), sp.Symbol("L", positive=True)
    ell = rhm.levels_to_decide(d)
    # lambda**ell * delta = 1 (deviation grown to order one)
    assert sp.simplify(sp.expand_log(lam**ell * d, force=True)) == 1
    # blocks s**ell = delta**(-nu)
    nu = rhm.correlation_exponent()
    assert sp.simplify(sp.expand_log(sp.log(s**ell) - sp.log(d ** (-nu)), force=True)) == 0
    assert sp.simplify(rhm.transition_width(L) * lam**L) == 1


def test_leaf_laws():
    p0 = 1 - eps * (1 - 1 / v)
    for proc in rhm.PROCESSES:
        law = rhm.leaf_law(proc)
        assert sp.simplify(sum(q for q, _ in law) - 1) == 0
    assert sp.simplify(rhm.leaf_mean_mass("masking") - p0) == 0
    assert sp.simplify(rhm.leaf_mean_mass("uniform") - (p0**2 + (1 - p0) ** 2 / (v - 1))) == 0
    with pytest.raises(ValueError, match="process"):
        rhm.leaf_law("gaussian")


@pytest.mark.parametrize("proc", ["masking", "uniform"])
def test_leaf_resolved_limits_and_jensen(proc):
    r = rhm.leaf_resolved_mass(proc, 2)
    assert sp.simplify(r.subs(eps, 0)) == 1
    assert sp.simplify(r.subs(eps, 1) - 1 / v) == 0
    F2 = recon_F(2)
    mean0 = rhm.leaf_mean_mass(proc)
    for e in (sp.Rational(1, 10), sp.Rational(1, 2), sp.Rational(4, 5)):
        sub = {v: 32, m: 8, eps: e}
        lhs = r.subs(sub)
        rhs = F2.subs(p, mean0.subs(sub)).subs(sub)
        assert lhs < rhs  # strict Jensen for a non-degenerate leaf law


def test_phi_concave():
    c = rhm.phi_curvature()
    for S, V, M in ((2, 32, 8), (3, 8, 6), (2, 5, 2)):
        for wv in (sp.Rational(1, 100), sp.Rational(1, 2), 1):
            assert c["second_derivative"].subs({s: S, v: V, m: M, w: wv}) < 0
    # m = v**(s-1): beta = 1, Phi linear
    assert sp.simplify(c["second_derivative"].subs({s: 2, m: v})) == 0


def test_derivation_steps():
    d = rhm.derivation()
    assert isinstance(d, Derivation) and len(d) >= 20
    for st in d:
        assert isinstance(st.equation, sp.Basic)
    assert sp.simplify(d["F"].rhs - recon_F()) == 0
    assert d["p_star_s2"].rhs == rhm.critical_point_s2()["p_star"]
    assert d["fixed_1"].rhs == 1
    assert "$$" in d.to_markdown()
