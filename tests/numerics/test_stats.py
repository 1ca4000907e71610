"""Crossing times of measured curves, extremum locations and their bootstrap errors, level
crossings, the nonparametric bootstrap (the MMD tests are in test_stats_mmd.py).

Statistical tests state their false-failure rate over random seeds."""

import math

import numpy as np
import pytest

from diffphase.numerics import stats
from diffphase.numerics.stats import crossing, extremum


def _phi(t):
    """A smooth decreasing agreement curve from 1 to 1/2 (the shape of phi(t))."""
    return 0.5 + 0.5 / (1.0 + np.exp(3.0 * (t - 2.0)))


# ---------------------------------------------------------------------------------------
# crossings
# ---------------------------------------------------------------------------------------
def test_crossing_of_exact_points_is_the_interpolated_root():
    t = np.linspace(1.0, 3.0, 41)
    c = crossing(t, _phi(t), 0.775, stderr=np.zeros_like(t))
    # the exact root of _phi = 0.775 is 2 + log(0.5/0.275 - 1)/3; linear interpolation on a
    # grid of spacing 0.05 is accurate to O(h^2 phi''/phi') ~ 1e-3
    exact = 2.0 + math.log(0.5 / 0.275 - 1.0) / 3.0
    assert c.t == pytest.approx(exact, abs=2e-3)
    assert c.stderr == 0.0 and c.found


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
            c = crossing(t, y, 0.775, stderr=se, seed=rep)
            tc = c.t
            boot.append(c.stderr)
        else:
            tc = crossing(t, y, 0.775, weights=1 / np.maximum(se ** 2, 1e-12)).t
        crossings.append(tc)
    spread = np.std(crossings, ddof=1)
    assert np.mean(boot) == pytest.approx(spread, rel=0.2)


def test_bad_inputs_name_the_parameter():
    t = [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="stderr"):
        crossing(t, [0.9, 0.7, 0.5], 0.8, stderr=[0.1, -0.1, 0.1])
    with pytest.raises(ValueError, match="n_boot"):
        crossing(t, [0.9, 0.7, 0.5], 0.8, stderr=[0.1, 0.1, 0.1], n_boot=1)
    with pytest.raises(stats.NoCrossing, match="does not cross"):
        crossing(t, [0.9, 0.7, 0.5], 0.3, stderr=[0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="on_missing"):
        crossing(t, [0.9, 0.7, 0.5], 0.3, on_missing="zero")
    with pytest.raises(ValueError, match="not both"):
        crossing(t, [0.9, 0.7, 0.5], 0.8, stderr=[0.1] * 3, weights=[1.0] * 3)


def test_missing_crossing_policy():
    """on_missing="nan" turns only a missing crossing into NaN; bad input still raises."""
    t = [1.0, 2.0, 3.0]
    c = crossing(t, [0.9, 0.7, 0.5], 0.3, stderr=[0.1, 0.1, 0.1], on_missing="nan")
    assert math.isnan(c.t) and math.isnan(c.stderr) and not c.found and c.n_replicates == 0
    with pytest.raises(ValueError, match="finite"):
        crossing(t, [0.9, math.nan, 0.5], 0.8, on_missing="nan")
    assert math.isnan(crossing(t, [0.9, 0.7, 0.5], 0.8).stderr)      # no stderr: no error bar


def test_unresolvable_crossing_reports_infinite_error():
    """Errors so large that most replicates do not cross inside the grid: the error is inf,
    not a number that looks meaningful."""
    t = [1.0, 2.0, 3.0]
    c = crossing(t, [0.80, 0.78, 0.76], 0.775, stderr=[0.3, 0.3, 0.3], seed=1)
    assert 2.0 <= c.t <= 3.0
    assert c.stderr == math.inf and c.n_replicates < 360


def test_increasing_curves_and_unsorted_points():
    """An increasing curve y = t/4 crosses 1/2 at t = 2, whatever the order of the points."""
    t = np.array([3.0, 0.0, 1.0, 4.0, 2.5])
    assert crossing(t, t / 4, 0.5, decreasing=False).t == pytest.approx(2.0, abs=1e-12)


# ---------------------------------------------------------------------------------------
# extremum
# ---------------------------------------------------------------------------------------
def test_parabola_vertex_is_exact_for_a_parabola():
    """Three points of y = -(x - 1.3)^2 + 2 on any spacing: the vertex is 1.3 exactly; a convex
    parabola has no maximum (the grid point is returned), but has a minimum at its vertex."""
    x = np.array([0.5, 1.1, 2.4])
    assert stats.parabola_vertex(x, -(x - 1.3) ** 2 + 2, 1) == pytest.approx(1.3, abs=1e-12)
    assert stats.parabola_vertex(x, (x - 1.3) ** 2, 1, kind="max") == 1.1
    assert stats.parabola_vertex(x, (x - 1.3) ** 2, 1, kind="min") == pytest.approx(1.3, abs=1e-12)
    assert stats.parabola_vertex(x, [3.0, 2.0, 1.0], 0) == 0.5           # an end of the grid


def test_extremum_error_matches_the_spread_of_repeated_measurements():
    """A peaked curve measured with Gaussian errors, repeated 400 times: the mean of 20
    bootstrap errors matches the spread of the refined peak location within 20 % (the std
    of 400 draws has a relative error of 3.5 %, the mean of 20 bootstrap errors of 400
    replicates about 2 %: more than 5 combined standard errors, false-failure rate < 1e-6)."""
    rng = np.random.default_rng(2)
    x = np.linspace(-1.0, 1.0, 9)
    truth = np.exp(-((x - 0.1) ** 2) / 0.5)
    s = np.full(x.size, 0.02)
    locs, boot = [], []
    for rep in range(400):
        y = truth + s * rng.standard_normal(x.size)
        e = extremum(x, y, stderr=s if rep < 20 else None, seed=rep)
        locs.append(e.location)
        if rep < 20:
            boot.append(e.stderr)
    assert np.mean(boot) == pytest.approx(np.std(locs, ddof=1), rel=0.2)
    assert abs(np.mean(locs) - 0.1) < 0.02        # the parabola's bias on this grid is ~0.01


def test_extremum_checks_and_bounds():
    with pytest.raises(ValueError, match="strictly increasing"):
        extremum([1.0, 1.0, 2.0], [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="kind"):
        extremum([1.0, 2.0], [0.0, 1.0], kind="peak")
    with pytest.raises(ValueError, match="stderr"):
        extremum([1.0, 2.0], [0.0, 1.0], stderr=[0.1, -0.1])
    e = extremum([0.0, 1.0, 2.0], [0.2, 0.9, 0.3], stderr=[0.5, 0.5, 0.5], bounds=(0.0, 1.0), n_boot=50)
    assert 0.0 <= e.location <= 2.0 and e.index == 1 and e.stderr > 0


# ---------------------------------------------------------------------------------------
# bootstraps and level crossings
# ---------------------------------------------------------------------------------------
def test_parametric_bootstrap_of_a_linear_statistic():
    """The bootstrap of a weighted sum sum_i c_i y_i has standard deviation
    sqrt(sum_i c_i^2 s_i^2); with 20 000 replicates its relative error is 0.5 %, so a 3 %
    band is 6 standard errors (false-failure rate < 1e-8)."""
    c = np.array([1.0, -2.0, 0.5])
    s = np.array([0.1, 0.3, 0.2])
    reps = stats.parametric_bootstrap(lambda v: float(c @ v), np.zeros(3), s, n_boot=20_000, seed=3)
    assert np.std(reps, ddof=1) == pytest.approx(math.sqrt(np.sum(c**2 * s**2)), rel=0.03)
    failing = stats.parametric_bootstrap(lambda v: float(np.sqrt(v[0])) if v[0] >= 0 else math.sqrt(-1.0),
                                         np.zeros(1), np.ones(1), n_boot=200, seed=0)
    assert 0 < np.isnan(failing).sum() < 200                 # failures are NaN, not dropped


def test_bootstrap_stderr_of_a_mean_and_a_median():
    """Mean of n = 400 normals: s.e. 1/20 (the bootstrap estimate has a relative error of
    ~3.5 % from the sample and ~2 % from 1000 resamples: 15 % is > 3.7 sigma, false-failure
    rate < 2e-4); median: sqrt(pi/2)/20."""
    x = np.random.default_rng(5).standard_normal(400)
    assert stats.bootstrap_stderr(x, np.mean, seed=1) == pytest.approx(1 / 20, rel=0.15)
    assert stats.bootstrap_stderr(x, np.median, seed=2) == pytest.approx(math.sqrt(math.pi / 2) / 20, rel=0.25)
    with pytest.raises(ValueError, match="at least 2 rows"):
        stats.bootstrap_stderr([1.0], np.mean)


def test_level_crossings():
    x = np.linspace(0.0, 2 * math.pi, 2001)
    got = stats.level_crossings(x, np.sin(x), 0.5)
    np.testing.assert_allclose(got, [math.pi / 6, 5 * math.pi / 6], atol=1e-6)
    # landing exactly on the level counts once; touching from above and leaving does not recount
    assert stats.level_crossings([0.0, 1.0, 2.0], [1.0, 0.0, -1.0]).tolist() == [1.0]
    assert stats.level_crossings([0.0, 1.0], [1.0, 2.0]).size == 0
    with pytest.raises(ValueError, match="same length"):
        stats.level_crossings([0.0, 1.0], [1.0])
