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
    jac = mf.score_jacobian(X, x, t)
    J = (cv.theta(t) ** 2 / cv.delta(t) ** 2) * jac.posterior_covariance[0] - np.eye(3) / cv.delta(t)
    h = 1e-6
    num = np.stack([(empirical_score(X, x + h * e, t) - empirical_score(X, x - h * e, t))[0] / (2 * h)
                    for e in np.eye(3)], axis=1)
    assert np.max(np.abs(num - J)) < 1e-6
    # the eigenvalues are those of the numerical Jacobian (symmetrized)
    np.testing.assert_allclose(jac.eigenvalues[0], np.linalg.eigvalsh(0.5 * (num + num.T)), atol=1e-5)
    np.testing.assert_array_equal(mf.jacobian_spectrum(X, x, t), jac.eigenvalues)


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


# ---------------------------------------------------------------------------------------------
# The authors' protocol: the score at a training point probed by an orthogonal frame
# ---------------------------------------------------------------------------------------------


def _empirical_score_bruteforce(X, x, t):
    """Empirical score written independently: log-sum-exp per query, one training point at a
    time (no shared code with numerics.empirical)."""
    from scipy.special import logsumexp

    th, de = math.exp(-t), -math.expm1(-2 * t)
    out = np.empty_like(x)
    for b in range(x.shape[0]):
        logits = np.array([-np.sum((x[b] - th * a) ** 2) / (2 * de) for a in X])
        w = np.exp(logits - logsumexp(logits))
        out[b] = (th * (w @ X) - x[b]) / de
    return out


def test_orthogonal_probes_are_orthogonal_and_unbiased():
    Q = mf.orthogonal_probes(2000, 3, seed=0)
    assert np.allclose(Q @ Q.transpose(0, 2, 1), np.eye(3), atol=1e-12)
    # Haar on O(3): an entry q has mean 0 and q^2 ~ Beta(1/2, 1), so E q^4 = 1/5 (std of q^4
    # 0.27); 18 000 entries: s.e. 0.004 and 0.002, bounds at 4.6 and 10 s.e.
    assert abs(Q.mean()) < 0.02 and abs(np.mean(Q**4) - 0.2) < 0.02
    assert np.array_equal(Q, mf.orthogonal_probes(2000, 3, seed=0))


def test_spectrum_of_a_linear_score_is_the_population_closed_form():
    """Population of a linear manifold (variances v_i, zero in the normal directions): the score
    is -(theta^2 Sigma + Delta I)^{-1} x. Probed at 0 the normalised spectrum is, in closed form,
    tau/(tau + v_i) along the tangent directions and 1 along the normal ones (tau = e^{2t} - 1),
    whatever the frame."""
    v = np.array([2.0, 0.5, 0.1, 0.0, 0.0])
    t = cv.time_from_ve_variance(0.2)
    A = np.diag(1.0 / (cv.theta(t) ** 2 * v + cv.delta(t)))
    score = lambda x, t_: -x @ A  # noqa: E731
    Q = mf.orthogonal_probes(3, 5, seed=4)
    M = mf.probe_score_matrix(score, np.zeros((3, 5)), t, Q)
    want = np.sort(np.concatenate([[1.0], 0.2 / (0.2 + v[:3])]))[::-1]     # the dropped one is a normal 1
    assert np.allclose(mf.normalized_spectrum(M), want[None], rtol=1e-12)
    # the response along the axes is the same closed form, axis by axis
    for i in range(3):
        assert np.allclose(mf.direction_response(M, np.eye(5)[:, [i]]), 0.2 / (0.2 + v[i]), rtol=1e-12)
    assert np.array_equal(mf.dimension_estimate(mf.normalized_spectrum(M)), [2, 2, 2])   # v >= tau


def test_probe_matrix_of_the_empirical_score_against_an_independent_score():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 4)) * [1.0, 0.5, 0.2, 0.05]
    t = 0.05
    Q = mf.orthogonal_probes(3, 4, seed=2)
    from diffphase.numerics.empirical import EmpiricalScore

    M = mf.probe_score_matrix(EmpiricalScore(X), X[:3], t, Q)
    ref = np.stack([_empirical_score_bruteforce(X, cv.theta(t) * X[p] + math.sqrt(cv.delta(t)) * Q[p], t)
                    for p in range(3)])
    assert np.allclose(M, ref, rtol=1e-10, atol=1e-10)
    assert np.allclose(mf.normalized_spectrum(M), mf.normalized_spectrum(ref), atol=1e-10)


def test_symmetric_probes_tend_to_the_analytic_empirical_jacobian():
    """Central differences of the exact empirical score over a frame of tiny radius h give Q J^T,
    so the singular values are |eigenvalues| of the analytic Jacobian (jacobian_spectrum). The
    error is O(h^2) times the third derivative: h = 1e-4 at t = 0.1 leaves a relative 1e-6."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 3)) * [1.0, 0.4, 0.1]
    t = 0.1
    x0 = X[:4] + 0.05 * rng.standard_normal((4, 3))
    from diffphase.numerics.empirical import EmpiricalScore

    Q = mf.orthogonal_probes(4, 3, seed=5)
    M = mf.probe_score_matrix(EmpiricalScore(X), x0, t, Q, scale=1e-4, symmetric=True)
    sv = np.linalg.svd(M, compute_uv=False)
    ev = np.sort(np.abs(mf.jacobian_spectrum(X, cv.theta(t) * x0, t)), axis=1)[:, ::-1]
    assert np.allclose(sv, ev, rtol=1e-6)
    # the authors' normalisation of it: drop the largest, divide by the next
    assert np.allclose(mf.normalized_spectrum(M), ev[:, 1:] / ev[:, 1:2], rtol=1e-6)


def test_tangent_group_basis_is_the_group_minus_its_radial_direction():
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal((5, 7))
    x0 /= np.linalg.norm(x0, axis=1, keepdims=True)
    idx = [1, 2, 4]
    B = mf.tangent_group_basis(x0, idx)
    assert B.shape == (5, 7, 2)
    assert np.allclose(np.einsum("pdi,pdj->pij", B, B), np.eye(2), atol=1e-12)      # orthonormal
    assert np.allclose(np.einsum("pdi,pd->pi", B, x0), 0.0, atol=1e-12)              # tangent
    other = [i for i in range(7) if i not in idx]
    assert np.allclose(B[:, other, :], 0.0)                                          # in the group
    # together with the radial direction of the group it spans the group's coordinates
    r = x0[:, idx] / np.linalg.norm(x0[:, idx], axis=1, keepdims=True)
    full = np.concatenate([B[:, idx, :], r[:, :, None]], axis=2)
    assert np.allclose(np.abs(np.linalg.det(full)), 1.0, atol=1e-12)


def test_gaps_and_dimension_of_a_synthetic_spectrum_with_known_gaps():
    """A spectrum with 2 values near 0.05, 3 near 0.4 and the rest near 1: gaps 0.35 above the
    2 smallest and 0.6 above the 5 smallest, about 0 elsewhere; 5 values <= 1/2."""
    s = np.array([1.0, 0.99, 0.98, 0.97, 0.41, 0.40, 0.39, 0.06, 0.05])
    g = mf.spectral_gaps(s, [0, 1, 2, 3, 4, 5, 6, 8])
    assert np.allclose(g, [0.05, 0.01, 0.33, 0.01, 0.01, 0.56, 0.01, 0.01])
    assert mf.dimension_estimate(s) == 5 and mf.dimension_estimate(s, 0.3) == 2
    both = np.stack([s, np.ones(9)])                                    # a collapsed one: no gap
    assert np.allclose(mf.spectral_gaps(both, [2, 5])[1], 0.0)
    assert mf.dimension_estimate(both).tolist() == [5, 0]


def test_protocol_bad_input():
    with pytest.raises(ValueError, match="probes"):
        mf.probe_score_matrix(lambda x, t: x, np.zeros((2, 3)), 0.1, np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="score must return"):
        mf.probe_score_matrix(lambda x, t: x[:, :2], np.zeros((1, 3)), 0.1, mf.orthogonal_probes(1, 3, seed=0))
    with pytest.raises(ValueError, match="t must be > 0"):
        mf.probe_score_matrix(lambda x, t: x, np.zeros((1, 3)), 0.0, mf.orthogonal_probes(1, 3, seed=0))
    with pytest.raises(ValueError, match="M must be"):
        mf.normalized_spectrum(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="directions"):
        mf.direction_response(np.eye(3)[None], np.eye(4))
    with pytest.raises(ValueError, match="coordinates"):
        mf.tangent_group_basis(np.ones((1, 3)), [0])
    with pytest.raises(ValueError, match="indices"):
        mf.spectral_gaps([1.0, 0.5], [2])
    with pytest.raises(ValueError, match="level"):
        mf.dimension_estimate([1.0, 0.5], 1.0)
