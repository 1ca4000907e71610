"""Manifold thresholds: inverses, the isotropic limit, and the exact empirical-score reference
(Jacobian spectrum counted against the thresholds)."""

import math

import numpy as np
import pytest
import sympy as sp

from diffphase.numerics import conventions as cv
from diffphase.numerics import gaussian_mixture as gm
from diffphase.numerics import manifold as mf
from diffphase.theory import manifold as tmf


def test_critical_times_and_sizes_are_inverses():
    v = np.array([9.0, 2.0, 0.5, 0.01])
    for n in (10, 1000, 10**6):
        tc = mf.critical_times(v, n)
        assert np.allclose(mf.critical_sizes(v, tc), n, rtol=1e-12)
    # and the other way: the size of each direction at its own critical time is n, per time
    t = np.array([0.2, 0.4, 0.6, 0.8])
    logs = np.array([mf.critical_log_sizes(v, ti)[i] for i, ti in enumerate(t)])
    assert np.allclose(mf.critical_log_sizes(v, t), logs, rtol=1e-13)
    assert np.all(np.diff(mf.critical_times(v, 1000)) < 0)  # higher variance: lost first


def test_single_variance_matches_isotropic_collapse_time():
    for n, k, sigma in [(1000, 5, 1.0), (50, 20, 2.0), (10**6, 3, 0.3)]:
        tc = mf.critical_times([sigma**2] * k, n)
        ref = gm.collapse_time(n, k, sigma)
        assert np.allclose(tc, ref, rtol=1e-13)
        assert math.isclose(mf.collapse_time([sigma**2] * k, n), ref, rel_tol=1e-10)
        assert math.isclose(mf.collapse_size([sigma**2] * k, ref), n, rel_tol=1e-9)


def test_critical_times_against_sympy_and_ve_conversion():
    f = sp.lambdify((tmf.sigma2, tmf.n, tmf.k), tmf.critical_time(), "mpmath")
    tau_f = sp.lambdify((tmf.sigma2, tmf.n, tmf.k), tmf.critical_noise(), "mpmath")
    v = [3.0, 0.7]
    tc = mf.critical_times(v, 500)
    for i, s2 in enumerate(v):
        assert math.isclose(tc[i], float(f(s2, 500, 2)), rel_tol=1e-12)
        assert math.isclose(cv.ve_variance(tc[i]), float(tau_f(s2, 500, 2)), rel_tol=1e-12)


def test_collapse_is_bracketed_by_per_direction_times():
    rng = np.random.default_rng(3)
    for _ in range(5):
        v = rng.uniform(0.05, 5.0, size=6)
        n = int(rng.integers(10, 10**5))
        tc = mf.critical_times(v, n)
        t_c = mf.collapse_time(v, n)
        assert tc.min() - 1e-12 <= t_c <= tc.max() + 1e-12
        tau = cv.ve_variance(t_c)  # root of the collapse condition
        assert abs(0.5 * np.sum(np.log1p(v / tau)) - math.log(n)) < 1e-10


def test_jacobian_is_derivative_of_empirical_score():
    from diffphase.numerics.empirical import empirical_score

    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    x = rng.standard_normal((1, 3))
    t = 0.4
    _, cov = mf.jacobian_spectrum(X, x, t, return_posterior=True)
    J = (cv.theta(t) ** 2 / cv.delta(t) ** 2) * cov[0] - np.eye(3) / cv.delta(t)
    h = 1e-6
    num = np.stack([(empirical_score(X, x + h * e, t) - empirical_score(X, x - h * e, t))[0] / (2 * h)
                    for e in np.eye(3)], axis=1)
    assert np.max(np.abs(num - J)) < 1e-6


def _manifold_data(rng, N, v, D=7):
    U = np.linalg.qr(rng.standard_normal((D, len(v))))[0]
    return (rng.standard_normal((N, len(v))) * np.sqrt(v)) @ U.T


def test_surviving_directions_follow_per_direction_thresholds():
    """Exact reference: k = 4 tangent directions in D = 7, VE noise tau = 0.05. The population
    has 3 tangent directions at this noise (variances > tau); the per-direction sizes are
    N_c = (6561, 441, 36) for them. At N between the thresholds (geometric midpoints) the
    median count over 64 noised training points is within 1 of the predicted count, and exact
    far from every threshold. Measured (seed 0): N = 6, 126, 1700, 30000 -> 0, 1, 2-3, 3; the
    largest-variance direction survives from N ~ 2000, a factor ~3 below its N_c."""
    v = np.array([4.0, 1.0, 0.25, 0.01])
    t = cv.time_from_ve_variance(0.05)
    assert mf.population_surviving(v, t) == 3
    Nc = mf.critical_sizes(v, t)
    assert np.allclose(Nc[:3], [6561.0, 441.0, 36.0])
    rng = np.random.default_rng(0)
    medians = []
    for N in (6, 126, 1700, 30000):
        predicted = int(np.sum(N > Nc[:3]))
        got = mf.surviving_directions(_manifold_data(rng, N, v), t, 64, seed=1).median
        medians.append(got)
        assert abs(got - predicted) <= 1, (N, got, predicted)
    assert medians[0] == 0 and medians[-1] == 3
    assert np.all(np.diff(medians) >= 0)
    # the whole-data collapse size lies between the thresholds
    assert Nc[2] < mf.collapse_size(v, t) < Nc[0]


def test_bad_input():
    with pytest.raises(ValueError, match="variances"):
        mf.critical_times([1.0, -1.0], 10)
    with pytest.raises(ValueError, match="n must be >= 2"):
        mf.critical_times([1.0], 1)
    with pytest.raises(ValueError, match="t must be > 0"):
        mf.critical_sizes([1.0], 0.0)
    with pytest.raises(ValueError, match="level"):
        mf.surviving_directions(np.ones((3, 2)) * np.arange(3)[:, None], 0.5, level=1.5)
    with pytest.raises(ValueError, match="x must have shape"):
        mf.jacobian_spectrum(np.eye(3), np.ones((2, 2)), 0.5)
