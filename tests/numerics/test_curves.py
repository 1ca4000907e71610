"""Crossing times of measured curves and their bootstrap errors."""

import math

import numpy as np
import pytest

from diffphase.numerics.curves import crossing_time, crossing_time_stderr


def _phi(t):
    """A smooth decreasing agreement curve from 1 to 1/2 (the shape of phi(t))."""
    return 0.5 + 0.5 / (1.0 + np.exp(3.0 * (t - 2.0)))


def test_crossing_of_exact_points_is_the_interpolated_root():
    t = np.linspace(1.0, 3.0, 41)
    tc, se = crossing_time_stderr(t, _phi(t), np.zeros_like(t), 0.775)
    # the exact root of _phi = 0.775 is 2 + log(0.5/0.275 - 1)/3; linear interpolation on a
    # grid of spacing 0.05 is accurate to O(h^2 phi''/phi') ~ 1e-3
    exact = 2.0 + math.log(0.5 / 0.275 - 1.0) / 3.0
    assert tc == pytest.approx(exact, abs=2e-3)
    assert se == 0.0


def test_bootstrap_error_matches_the_spread_of_repeated_measurements():
    """Binomial clone counts at 7 branching times, N = 1000 pairs each, repeated 400 times:
    the bootstrap standard error of one measurement must match the standard deviation of the
    crossing over the repetitions. The std of 400 draws has a relative error of ~3.5 % and the
    mean of 20 bootstrap errors (400 replicates each) ~2 %, so the 20 % band is more than 5
    combined standard errors from a correct estimator (false-failure rate < 1e-6)."""
    rng = np.random.default_rng(0)
    t = np.array([1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6])
    p = _phi(t)
    n = 1000
    crossings, boot = [], []
    for rep in range(400):
        y = rng.binomial(n, p) / n
        se = np.sqrt(y * (1 - y) / n)
        if rep < 20:
            tc, s = crossing_time_stderr(t, y, se, 0.775, seed=rep)
            boot.append(s)
        else:
            tc = crossing_time(t, y, 0.775, weights=1 / np.maximum(se ** 2, 1e-12))
        crossings.append(tc)
    spread = np.std(crossings, ddof=1)
    assert np.mean(boot) == pytest.approx(spread, rel=0.2)


def test_bad_inputs_name_the_parameter():
    t = [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="stderr"):
        crossing_time_stderr(t, [0.9, 0.7, 0.5], [0.1, -0.1, 0.1], 0.8)
    with pytest.raises(ValueError, match="n_boot"):
        crossing_time_stderr(t, [0.9, 0.7, 0.5], [0.1, 0.1, 0.1], 0.8, n_boot=1)
    with pytest.raises(ValueError, match="does not cross"):
        crossing_time_stderr(t, [0.9, 0.7, 0.5], [0.1, 0.1, 0.1], 0.3)


def test_unresolvable_crossing_reports_infinite_error():
    """Errors so large that most replicates do not cross inside the grid: the error is inf,
    not a number that looks meaningful."""
    t = [1.0, 2.0, 3.0]
    tc, se = crossing_time_stderr(t, [0.80, 0.78, 0.76], [0.3, 0.3, 0.3], 0.775, seed=1)
    assert 2.0 <= tc <= 3.0
    assert se == math.inf
