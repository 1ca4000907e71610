"""Numerical conventions: round trips, agreement with the sympy forms, schedules, bad input."""

import math

import numpy as np
import pytest
import sympy as sp

from diffphase.numerics import conventions as cv
from diffphase.theory import conventions as tc

T = np.array([0.0, 1e-12, 1e-6, 0.01, 0.3, 1.0, 2.5, 7.0, 20.0])
TP = T[T > 0]


@pytest.mark.parametrize(
    "fwd, back, times",
    [
        (cv.alpha_bar, cv.time_from_alpha_bar, T),
        (cv.theta, cv.time_from_theta, T),
        (cv.ve_variance, cv.time_from_ve_variance, T),
        (cv.snr, cv.time_from_snr, TP),
        (cv.noise_level, cv.time_from_noise_level, T[T < 15]),
    ],
)
def test_round_trip(fwd, back, times):
    # atol: t -> alpha_bar -> t near t = 0 is limited by the rounding of alpha_bar ~ 1
    np.testing.assert_allclose(back(fwd(times)), times, rtol=1e-12, atol=2e-16)


@pytest.mark.parametrize("name", ["alpha_bar", "theta", "delta", "ve_variance", "snr", "noise_level"])
def test_numbers_match_sympy_at_50_digits(name):
    expr = getattr(tc, name)()
    for tv in TP:
        ref = sp.N(expr.subs(tc.t, sp.Rational(repr(float(tv)))), 50)
        got = getattr(cv, name)(tv)
        assert math.isclose(got, float(ref), rel_tol=1e-13), (name, tv)


def test_scalar_in_scalar_out():
    assert isinstance(cv.delta(0.5), float)
    assert cv.delta([0.5, 1.0]).shape == (2,)


def test_linear_schedule_matches_product_formula():
    s = cv.DiscreteSchedule.linear(1000, 1e-4, 2e-2)
    betas = np.array([1e-4 + (2e-2 - 1e-4) * (j - 1) / 999 for j in range(1, 1001)])
    ab = np.cumprod(1 - betas)
    np.testing.assert_allclose(s.alpha_bars[1:], ab, rtol=1e-12)
    np.testing.assert_allclose(s.times, -0.5 * np.log(np.concatenate([[1.0], ab])), rtol=1e-12, atol=0)
    # Ho et al. schedule: alpha_bar_T ~ 4.0e-5, i.e. t_T = 5.06
    assert 5.0 < s.times[-1] < 5.1


def test_cosine_schedule_matches_its_definition():
    T_, s_ = 1000, 0.008
    sched = cv.DiscreteSchedule.cosine(T_, s_)
    u = np.arange(T_ + 1) / T_
    f = np.cos(0.5 * np.pi * (u + s_) / (1 + s_)) ** 2
    ab = f / f[0]
    # exact up to the beta clipping at the last steps
    np.testing.assert_allclose(sched.alpha_bars[:990], ab[:990], rtol=1e-10)
    # and the OU time is the sympy closed form -log cos(...) + log cos(...)
    expr = tc.cosine_schedule_time(sp.Symbol("u"), sp.Rational(8, 1000))
    for k in (1, 100, 500, 900):
        ref = float(sp.N(expr.subs(sp.Symbol("u"), sp.Rational(k, T_)), 30))
        assert math.isclose(sched.times[k], ref, rel_tol=1e-10)


@pytest.mark.parametrize("sched", [cv.DiscreteSchedule.linear(200, 1e-3, 0.1), cv.DiscreteSchedule.cosine(50)])
def test_step_time_round_trip(sched):
    ks = np.arange(sched.T + 1)
    assert np.array_equal(sched.step(sched.time(ks)), ks)
    np.testing.assert_allclose(sched.fractional_step(sched.time(ks)), ks, atol=1e-9)
    # nearest step of a time between two steps
    mid = 0.25 * sched.times[3] + 0.75 * sched.times[4]
    assert sched.step(mid) == 4


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cv.alpha_bar(-0.1), "t must be >= 0"),
        (lambda: cv.delta(np.inf), "t must be finite"),
        (lambda: cv.delta(np.nan), "t must be finite"),
        (lambda: cv.snr(0.0), "t must be > 0"),
        (lambda: cv.time_from_alpha_bar(1.5), "alpha_bar must be <= 1"),
        (lambda: cv.time_from_alpha_bar(0.0), "alpha_bar must be > 0"),
        (lambda: cv.time_from_noise_level(1.0), "noise_level must be in"),
        (lambda: cv.time_from_ve_variance(-1.0), "ve_variance must be"),
        (lambda: cv.DiscreteSchedule.linear(0), "T must be >= 1"),
        (lambda: cv.DiscreteSchedule.linear(10, 0.1, 0.01), "beta_max must be >= 0.1"),
        (lambda: cv.DiscreteSchedule([0.1, 1.0]), "betas must lie in"),
        (lambda: cv.DiscreteSchedule.linear(10).time(11), r"k must be in \[0, 10\]"),
        (lambda: cv.DiscreteSchedule.linear(10).step(100.0), "t must be <="),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
