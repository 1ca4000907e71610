"""Empirical score, entropy estimator and collapse time against brute force and theory."""

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from diffphase.numerics import empirical as em
from diffphase.numerics import gaussian_mixture as gm


def _brute(X, x, t):
    """Direct O(B n d) evaluation of the empirical score and log-density (float64)."""
    th, D = math.exp(-t), 1 - math.exp(-2 * t)
    logits = -((x[:, None, :] - th * X[None]) ** 2).sum(-1) / (2 * D)
    w = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    score = -x / D + th / D * (w @ X)
    logp = logsumexp(logits, axis=1) - math.log(len(X)) - 0.5 * X.shape[1] * math.log(2 * math.pi * D)
    return score, logp, logits


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    return rng.standard_normal((300, 6)) * 1.5, rng.standard_normal((11, 6))


@pytest.mark.parametrize("t", [1e-3, 0.1, 1.0, 6.0])
@pytest.mark.parametrize("chunk", [None, 1, 37, 1000])
def test_score_and_log_density_float64(data, t, chunk):
    X, x = data
    ref_s, ref_lp, _ = _brute(X, x, t)
    eng = em.EmpiricalScore(X, dtype=np.float64, chunk_size=chunk)
    np.testing.assert_allclose(eng(x, t), ref_s, rtol=1e-10, atol=1e-10 * np.abs(ref_s).max())
    np.testing.assert_allclose(eng.log_density(x, t), ref_lp, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(em.empirical_score(X, x, t, chunk_size=chunk), ref_s,
                               rtol=1e-10, atol=1e-10 * np.abs(ref_s).max())


@pytest.mark.parametrize("t", [0.1, 1.0])
def test_score_float32(data, t):
    X, x = data
    ref_s, _, _ = _brute(X, x, t)
    got = em.empirical_score(X, x, t, dtype=np.float32, chunk_size=50)
    assert got.dtype == np.float32
    assert np.abs(got - ref_s).max() <= 1e-5 * np.abs(ref_s).max()


def test_leave_one_out_log_density(data):
    X, x = data
    t = 0.3
    _, _, logits = _brute(X, x, t)
    excl = np.arange(len(x)) * 7
    logits[np.arange(len(x)), excl] = -np.inf
    D = 1 - math.exp(-2 * t)
    ref = logsumexp(logits, axis=1) - math.log(len(X) - 1) - 3 * math.log(2 * math.pi * D)
    got = em.EmpiricalScore(X, chunk_size=64).log_density(x, t, exclude=excl)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_score_is_gradient_of_log_density(data):
    X, x = data
    eng = em.EmpiricalScore(X)
    t, eps = 0.5, 1e-6
    num = np.stack([(eng.log_density(x + eps * e, t) - eng.log_density(x - eps * e, t)) / (2 * eps)
                    for e in np.eye(6)], axis=1)
    np.testing.assert_allclose(eng(x, t), num, rtol=1e-6, atol=1e-6)


def test_nearest_by_brute_force(data):
    X, x = data
    idx, dist = em.EmpiricalScore(X, chunk_size=29).nearest(x)
    d2 = ((x[:, None, :] - X[None]) ** 2).sum(-1)
    assert np.array_equal(idx, d2.argmin(1))
    np.testing.assert_allclose(dist, np.sqrt(d2.min(1)), rtol=1e-10)


def test_no_nan_far_away_and_tiny_t(data):
    X, _ = data
    eng = em.EmpiricalScore(X)
    x = np.full((3, 6), 1e4)
    for t in (1e-8, 1e-3, 30.0):
        assert np.all(np.isfinite(eng(x, t)))
        assert np.all(np.isfinite(eng.log_density(x, t)))


def test_top_eigenvalue_dense_and_lanczos_agree_with_numpy():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3000, 300)) * np.linspace(0.5, 2.0, 300) + 3.0
    ref = np.linalg.eigvalsh(np.cov(X.T, bias=True))[-1]
    assert math.isclose(em.top_eigenvalue(X, method="dense"), ref, rel_tol=1e-12)
    assert math.isclose(em.top_eigenvalue(X, method="lanczos"), ref, rel_tol=1e-8)
    assert math.isclose(em.top_eigenvalue(X.astype(np.float32), method="lanczos"), ref, rel_tol=1e-5)


def test_speciation_time_of_mixture_samples_matches_population():
    d, n = 50, 20000
    X, _ = gm.GaussianMixture.two_class(d).sample(n, seed=0)
    # the top sample eigenvalue fluctuates by ~ Lambda sqrt(2/n): 1 % here; 4 sigma tolerance
    assert abs(em.speciation_time(X) - gm.speciation_time(d)) < 0.5 * 4 * math.sqrt(2 / n)


def test_speciation_time_below_the_noise_variance_warns_with_lambda():
    """Lambda < 1 gives t_S = 1/2 log Lambda < 0 with a warning naming Lambda; Lambda >= 1 is silent."""
    import warnings

    X = np.random.default_rng(2).standard_normal((5000, 4)) * np.array([0.5, 0.2, 0.2, 0.2])
    lam = np.linalg.eigvalsh(np.cov(X.T, bias=True))[-1]                 # about 0.25
    with pytest.warns(RuntimeWarning, match=r"Lambda = 0\.2\d+ is below 1"):
        t = em.speciation_time(X, method="dense")
    assert t == pytest.approx(0.5 * math.log(lam), rel=1e-12) and t < 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert em.speciation_time(X * 4.0, method="dense") > 0            # Lambda about 4


def test_excess_entropy_matches_closed_form_above_collapse():
    # d = 200, n = 20000: alpha = 0.0495, t_C = 1.18. Tolerance: 3 standard errors plus
    # log(2)/d, the most by which the finite-d mixture entropy differs from the large-d
    # formula (the class label carries at most log 2 nats).
    d, n = 200, 20000
    X, _ = gm.GaussianMixture.two_class(d).sample(n, seed=0)
    tc = gm.collapse_time(n, d)
    ts = tc * np.array([1.5, 2.0, 3.0, 5.0])
    est = em.excess_entropy(X, ts, n_samples=600, seed=1, dtype=np.float32)
    theory = gm.excess_entropy(ts, n, d)
    assert np.all(np.abs(est.f - theory) <= 3 * est.stderr + math.log(2) / d)
    # below t_C the paper's estimator is ~0 (condensed) while the theory branch is negative
    low = em.excess_entropy(X, 0.5 * tc, n_samples=200, seed=1, dtype=np.float32)
    assert abs(float(low.f)) < 0.01 and gm.excess_entropy(0.5 * tc, n, d) < -0.1


def test_collapse_time_of_mixture_samples():
    # finite d shifts the root upwards by O(log d / d) (5 % at d = 100): tolerance 12 %
    d, n = 100, 5000
    X, _ = gm.GaussianMixture.two_class(d).sample(n, seed=2)
    res = em.collapse_time(X, n_samples=300, seed=0, n_grid=16, dtype=np.float32, xtol=1e-4)
    tc = gm.collapse_time(n, d)
    assert abs(res.t_C - tc) < 0.12 * tc
    assert 0 < res.stderr < 0.05


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: em.EmpiricalScore(np.zeros((1, 3))), "X must have n >= 2 rows"),
        (lambda: em.EmpiricalScore(np.array([[0.0, np.nan], [1.0, 2.0]])), "X must be finite"),
        (lambda: em.EmpiricalScore(np.zeros(5)), r"X must have shape \(n, d\)"),
        (lambda: em.EmpiricalScore(np.zeros((3, 2)), dtype=np.int32), "dtype must be float32 or float64"),
        (lambda: em.empirical_score(np.eye(3), np.zeros((1, 3)), 0.0), "t must be > 0"),
        (lambda: em.empirical_score(np.eye(3), np.zeros((1, 3)), -1.0), "t must be > 0"),
        (lambda: em.empirical_score(np.eye(3), np.zeros((1, 2)), 1.0), r"x must have shape \(B, 3\)"),
        (lambda: em.empirical_score(np.eye(3), np.zeros((1, 3)), np.nan), "t must be finite"),
        (lambda: em.excess_entropy(np.eye(3), 1.0, n_samples=1), "n_samples must be >= 2"),
        (lambda: em.speciation_time(np.ones((4, 2))), "zero variance"),
        (lambda: em.collapse_time(np.ones((4, 2)), n_samples=10, n_grid=5), "does not change sign"),
        (lambda: em.top_eigenvalue(np.eye(3), method="qr"), "method must be"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
