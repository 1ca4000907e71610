"""Symbolic identities of the time conventions (sympy, no floats)."""

import sympy as sp

from diffphase.theory import conventions as tc

t = tc.t


def test_variance_integral_is_delta():
    # the derivation integrates the noise; it must equal the closed form Delta_t
    d = tc.derivation()
    assert sp.simplify(d["Delta"].rhs - tc.delta()) == 0


def test_marginal_variance_from_sde_by_ito():
    # independent route: d/dt Var = -2 Var + 2 (Ito for dx = -x dt + dB, <dB^2> = 2dt), Var(0)=0
    v = sp.Function("v")
    sol = sp.dsolve(sp.Eq(v(t).diff(t), -2 * v(t) + 2), v(t), ics={v(0): 0})
    assert sp.simplify(sol.rhs - tc.delta()) == 0


def test_inverses_round_trip_symbolically():
    x = sp.Symbol("x", positive=True)
    pairs = {
        "alpha_bar": tc.alpha_bar,
        "theta": tc.theta,
        "ve_variance": tc.ve_variance,
        "snr": tc.snr,
        "noise_level": tc.noise_level,
    }
    for kind, fwd in pairs.items():
        back = tc.time_from(kind, fwd(t))
        assert sp.simplify(sp.expand_log(back, force=True) - t) == 0, kind
        assert sp.simplify(fwd(tc.time_from(kind, x)) - x) == 0, kind


def test_relations_between_conventions():
    assert sp.simplify(tc.theta() ** 2 - tc.alpha_bar()) == 0
    assert sp.simplify(tc.ve_variance() - tc.delta() / tc.theta() ** 2) == 0
    assert sp.simplify(tc.snr() - tc.alpha_bar() / tc.delta()) == 0


def test_cosine_schedule_starts_at_zero_and_grows():
    u = sp.Symbol("u", positive=True)
    expr = tc.cosine_schedule_time(u)
    assert sp.simplify(expr.subs(u, 0)) == 0
    assert sp.diff(expr, u).subs(u, sp.Rational(1, 2)).evalf() > 0


def test_time_from_rejects_unknown_kind():
    import pytest

    with pytest.raises(ValueError, match="kind must be one of"):
        tc.time_from("sigma", sp.Symbol("s"))
