"""Unbiased MMD² against a closed form checked by quadrature, and its statistics.

Statistical tests state their false-failure rate (for the fixed seeds they are deterministic;
the rate is what a fresh seed would give).
"""

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.spatial.distance import pdist

from diffphase.numerics import stats as ts


def _rng(seed):
    return np.random.default_rng(seed)


def test_kernel_and_bandwidth_against_brute_force():
    rng = _rng(0)
    X, Y = rng.standard_normal((7, 3)), rng.standard_normal((5, 3))
    K = ts.gaussian_kernel(X, Y, 0.7)
    brute = np.array([[math.exp(-np.sum((x - y) ** 2) / (2 * 0.49)) for y in Y] for x in X])
    assert np.allclose(K, brute, rtol=1e-12, atol=0)
    R = rng.standard_normal((50, 4))
    assert ts.median_bandwidth(R) == pytest.approx(float(np.median(pdist(R))), rel=1e-12)
    sub = ts.median_bandwidth(rng.standard_normal((3000, 2)), max_points=500, seed=1)
    # median distance of two standard normals in 2-d: Rayleigh with scale sqrt(2), median sqrt(2 log 4)
    assert sub == pytest.approx(math.sqrt(2) * math.sqrt(2 * math.log(2)), rel=0.05)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="bandwidth"):
        ts.mmd2(np.zeros((3, 2)), np.ones((3, 2)), 0.0)
    with pytest.raises(ValueError, match="same dimension"):
        ts.mmd2(np.zeros((3, 2)), np.ones((3, 3)), 1.0)
    with pytest.raises(ValueError, match="Y must have n >= 2"):
        ts.mmd2(np.zeros((3, 2)), np.ones((1, 2)), 1.0)
    with pytest.raises(ValueError, match="distinct"):
        ts.median_bandwidth(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="cov_y"):
        ts.gaussian_mmd2([0.0], [[1.0]], [0.0], [[-1.0]], 1.0)
    with pytest.raises(ValueError, match="n_permutations"):
        ts.mmd2_permutation_pvalue(np.zeros((3, 1)), np.ones((3, 1)), 1.0, n_permutations=0)


def _npdf(x, m, s):
    return math.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))


def _gauss_pdf2(x, y, mu, P, det):
    dx, dy = x - mu[0], y - mu[1]
    q = P[0, 0] * dx * dx + 2 * P[0, 1] * dx * dy + P[1, 1] * dy * dy
    return math.exp(-0.5 * q) / (2 * math.pi * math.sqrt(det))


def test_closed_form_against_quadrature_1d_and_2d():
    # 1-d: every expectation E k(x, y) as a double integral over the two Gaussian densities
    h, (m1, s1), (m2, s2) = 0.8, (0.3, 0.9), (-0.5, 1.4)

    def ek(ma, sa, mb, sb):
        f = lambda y, x: (_npdf(x, ma, sa) * _npdf(y, mb, sb)  # noqa: E731
                          * math.exp(-(x - y) ** 2 / (2 * h * h)))
        return integrate.dblquad(f, -12, 12, -12, 12, epsabs=1e-11)[0]

    quad = ek(m1, s1, m1, s1) + ek(m2, s2, m2, s2) - 2 * ek(m1, s1, m2, s2)
    assert ts.gaussian_mmd2([m1], [[s1 * s1]], [m2], [[s2 * s2]], h) == pytest.approx(quad, abs=1e-8)
    # 2-d, correlated covariances: E exp(-|z|^2/2h^2) for the difference z ~ N(mu, C), by cubature
    Cx = np.array([[1.0, 0.6], [0.6, 0.8]])
    Cy = np.array([[0.5, -0.2], [-0.2, 1.5]])
    mx, my = np.array([0.4, -0.3]), np.array([-0.2, 0.5])

    def ez(mu, C):
        P, det = np.linalg.inv(C), np.linalg.det(C)
        f = lambda y, x: _gauss_pdf2(x, y, mu, P, det) * math.exp(-(x * x + y * y) / (2 * h * h))  # noqa: E731
        return integrate.dblquad(f, -9, 9, -9, 9, epsabs=1e-10)[0]

    quad2 = ez(np.zeros(2), 2 * Cx) + ez(np.zeros(2), 2 * Cy) - 2 * ez(mx - my, Cx + Cy)
    assert ts.gaussian_mmd2(mx, Cx, my, Cy, h) == pytest.approx(quad2, abs=1e-7)
    assert ts.gaussian_mmd2(mx, Cx, mx, Cx, h) == pytest.approx(0.0, abs=1e-15)


def test_estimate_matches_closed_form():
    """Estimator at n = 1500 in d = 3 vs the closed form: |Δ| <= 4 standard errors
    (false-failure rate 6e-5 if the first-order error is right; the next test checks that)."""
    rng = _rng(1)
    A = rng.standard_normal((3, 3))
    Cx, Cy = np.eye(3) * 0.5 + 0.2 * A @ A.T, np.diag([1.0, 0.7, 1.3])
    mx, my = np.zeros(3), np.array([0.5, 0.0, -0.3])
    X = rng.multivariate_normal(mx, Cx, 1500)
    Y = rng.multivariate_normal(my, Cy, 1200)
    h = 1.3
    r = ts.mmd2(X, Y, h)
    exact = ts.gaussian_mmd2(mx, Cx, my, Cy, h)
    assert exact > 10 * r.stderr  # a real difference, well resolved
    assert abs(r.mmd2 - exact) <= 4 * r.stderr
    assert (r.n_x, r.n_y, r.bandwidth) == (1500, 1200, h)


def _replicates(shift, n, reps, seed, d=2, h=1.0):
    rng = _rng(seed)
    vals, ses = np.empty(reps), np.empty(reps)
    for k in range(reps):
        X = rng.standard_normal((n, d))
        Y = rng.standard_normal((n, d)) + shift
        r = ts.mmd2(X, Y, h)
        vals[k], ses[k] = r.mmd2, r.stderr
    return vals, ses


def test_zero_in_expectation_for_identical_distributions():
    """Mean of 400 replicates at n = 40 within 4 of its standard errors of 0 (two-sided,
    false-failure rate 6e-5); the biased V-statistic would sit far above."""
    vals, _ = _replicates(0.0, 40, 400, seed=2)
    assert abs(vals.mean()) <= 4 * vals.std(ddof=1) / math.sqrt(vals.size)
    # the V-statistic's bias 2(1 - E k(x,x'))/n, E k = det(I + 2I)^{-1/2} = 1/3 (d = 2, h = 1),
    # is resolved by the same replicates: the test can tell unbiased from biased
    bias = 2 * (1 - 1 / 3) / 40
    assert bias > 8 * vals.std(ddof=1) / math.sqrt(vals.size)


def test_scaling_with_n_and_stderr_calibration():
    """Spread of the estimate: ~ n^{-1/2} when P != Q, ~ n^{-1} when P = Q (degenerate
    U-statistic). 300 replicates per size give the standard deviations to ~4 %, their ratio
    to ~6 %; the bands below are > 3.5 of those errors wide (false failure < 1e-3)."""
    shift = np.array([0.8, 0.0])
    v50, _ = _replicates(shift, 50, 300, seed=3)
    v200, se200 = _replicates(shift, 200, 300, seed=4)
    ratio_alt = v50.std(ddof=1) / v200.std(ddof=1)
    assert 1.6 <= ratio_alt <= 2.5, ratio_alt
    # the first-order standard error matches the replicate spread at n = 200 (within 15 %)
    assert se200.mean() == pytest.approx(v200.std(ddof=1), rel=0.15)
    n50, _ = _replicates(0.0, 50, 300, seed=5)
    n200, _ = _replicates(0.0, 200, 300, seed=6)
    ratio_null = n50.std(ddof=1) / n200.std(ddof=1)
    assert 3.2 <= ratio_null <= 5.0, ratio_null


def test_permutation_pvalue_is_valid_and_has_power():
    """Under P = Q, Pr(p <= 0.1) <= 0.1: of 100 replicates at most 20 fall below (binomial
    tail 0.2 %). A shift of 1.5 standard deviations at n = 40 gives the smallest p."""
    rng = _rng(7)
    small = 0
    for _ in range(100):
        X, Y = rng.standard_normal((25, 2)), rng.standard_normal((25, 2))
        small += ts.mmd2_permutation_pvalue(X, Y, 1.0, n_permutations=49, seed=rng) <= 0.1
    assert small <= 20
    X, Y = rng.standard_normal((40, 2)), rng.standard_normal((40, 2)) + [1.5, 0.0]
    assert ts.mmd2_permutation_pvalue(X, Y, 1.0, n_permutations=99, seed=0) == pytest.approx(0.01)
