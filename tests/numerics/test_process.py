"""The process core against independent references: noising moments by Monte Carlo,
parametrizations against closed-form Gaussian scores and posterior means, bridge coefficients
against the Gaussian conditional of the joint covariance, the strided grid against the
schedule's own alpha-bar, discrete noising statistics.

Statistical tests use fixed seeds and z-tests at |z| < 5 (two-sided false-failure rate
5.7e-7 per comparison over random seeds) or p-values above P_MIN = 1e-6.
"""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from diffphase.numerics import conventions as cv
from diffphase.numerics import process as P

Z_MAX = 5.0
P_MIN = 1e-6


def _stationary_cov(times):
    """Covariance of the stationary OU process (x_0 ~ N(0, 1)): cov(x_a, x_b) = e^{-|a - b|}."""
    t = np.asarray(times, dtype=np.float64)
    return np.exp(-np.abs(t[:, None] - t[None, :]))


# ---------------------------------------------------------------------------------------
# noising
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_noise_moments_by_monte_carlo(library):
    """Given x_0, x_t has mean e^{-t} x_0 and variance Delta_t in every coordinate (one time
    per row and one for all rows)."""
    n, t_rows = 200_000, np.array([0.05, 0.7, 3.0])
    x0 = np.array([[2.0, -1.0], [0.5, 3.0], [-4.0, 1.0]])
    X0 = np.repeat(x0, n, axis=0)
    T = np.repeat(t_rows, n)
    if library == "numpy":
        xt = P.noise(X0, T, generator=np.random.default_rng(0))
    else:
        gen = torch.Generator().manual_seed(0)
        xt = P.noise(torch.as_tensor(X0), torch.as_tensor(T), generator=gen).numpy()
    for i, t in enumerate(t_rows):
        rows = xt[i * n:(i + 1) * n]
        mean, var = rows.mean(0), rows.var(0, ddof=1)
        z_mean = (mean - math.exp(-t) * x0[i]) / math.sqrt(cv.delta(t) / n)
        z_var = (var - cv.delta(t)) / (cv.delta(t) * math.sqrt(2.0 / (n - 1)))
        assert np.all(np.abs(z_mean) < Z_MAX) and np.all(np.abs(z_var) < Z_MAX), (t, z_mean, z_var)


def test_noise_with_given_noise_composes_as_the_ou_semigroup():
    """Noising to s then running the OU transition from s to t is noising to t: with
    x_s = e^{-s}x_0 + sqrt(Delta_s) z1 and x_t = e^{-h} x_s + sqrt(Delta_h) z2, the noise of x_t
    is (e^{-h} sqrt(Delta_s) z1 + sqrt(Delta_h) z2)/sqrt(Delta_t)."""
    rng = np.random.default_rng(1)
    x0, z1, z2 = rng.standard_normal((3, 5, 4))
    s, t = 0.3, 1.1
    h = t - s
    xs = P.noise(x0, s, z1)
    two_steps = P.noise(xs, h, z2)
    z = (math.exp(-h) * math.sqrt(cv.delta(s)) * z1 + math.sqrt(cv.delta(h)) * z2) / math.sqrt(cv.delta(t))
    np.testing.assert_allclose(two_steps, P.noise(x0, t, z), rtol=1e-13, atol=1e-13)
    assert np.array_equal(P.noise(x0, 0.0, z1), x0)                  # t = 0: no noise


def test_noise_torch_agrees_with_numpy_and_keeps_dtype():
    rng = np.random.default_rng(2)
    x0, z = rng.standard_normal((2, 6, 3))
    t = np.array([0.1, 0.2, 0.5, 1.0, 2.0, 4.0])
    ref = P.noise(x0, t, z)
    out = P.noise(torch.as_tensor(x0, dtype=torch.float32), torch.as_tensor(t), torch.as_tensor(z, dtype=torch.float32))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6, atol=1e-6)
    x32 = P.noise(x0.astype(np.float32), 0.4, z.astype(np.float32))
    assert x32.dtype == np.float32


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: P.noise(np.zeros((2, 2)), 0.5), "exactly one of z"),
        (lambda: P.noise(np.zeros((2, 2)), 0.5, np.zeros((2, 2)), generator=np.random.default_rng()),
         "exactly one of z"),
        (lambda: P.noise(np.zeros((2, 2)), -0.1, np.zeros((2, 2))), "t must be >= 0"),
        (lambda: P.noise(np.zeros((2, 2)), [0.1, 0.2, 0.3], np.zeros((2, 2))), "one time per row"),
        (lambda: P.noise(np.zeros((2, 2)), 0.5, np.zeros((2, 3))), "z must have the shape"),
        (lambda: P.noise(np.zeros((2, 2)), 0.5, generator=torch.Generator()), "numpy.random.Generator"),
        (lambda: P.score_from_eps(np.ones((1, 2)), 0.0), "t must be > 0"),
        (lambda: P.bridge(1.0, 1.0), "s must be < 1.0"),
        (lambda: P.bridge(0.0, 0.0), "t must be > 0"),
        (lambda: P.step_mean("rk4", lambda x, t: x, np.zeros((1, 1)), 1.0, 0.5), "method must be"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------------------
# parametrizations
# ---------------------------------------------------------------------------------------
def test_conversions_against_the_gaussian_closed_forms():
    """Data N(0, v I): the exact score is -x/(e^{-2t} v + Delta_t) and the posterior mean is
    e^{-t} v x/(e^{-2t} v + Delta_t) (Gaussian conditioning, not Tweedie's formula)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 3)) * 2.0
    for v in (0.0, 0.3, 4.0):
        for t in (0.01, 0.4, 2.5):
            th2 = math.exp(-2 * t)
            gamma = th2 * v + cv.delta(t)
            score = -x / gamma
            mean = math.exp(-t) * v * x / gamma
            np.testing.assert_allclose(P.denoiser_from_score(x, score, t), mean, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(P.score_from_denoiser(x, mean, t), score, rtol=1e-10, atol=1e-10)
            eps = P.eps_from_score(score, t)
            np.testing.assert_allclose(eps, math.sqrt(cv.delta(t)) * x / gamma, rtol=1e-12)
            np.testing.assert_allclose(P.denoiser_from_eps(x, eps, t), mean, rtol=1e-11, atol=1e-11)
            np.testing.assert_allclose(P.eps_from_denoiser(x, mean, t), eps, rtol=1e-9, atol=1e-9)


def test_conversions_for_one_point_recover_the_point_and_the_noise():
    """A single data point a: the denoiser is a and the noise prediction is the noise itself."""
    rng = np.random.default_rng(4)
    a = np.array([[1.5, -0.5, 2.0]])
    z = rng.standard_normal((5, 3))
    for t in (0.05, 1.0, 3.0):
        x = P.noise(np.repeat(a, 5, 0), t, z)
        score = (math.exp(-t) * a - x) / cv.delta(t)          # exact score of N(e^{-t} a, Delta_t)
        np.testing.assert_allclose(P.denoiser_from_score(x, score, t), np.repeat(a, 5, 0), atol=1e-11)
        np.testing.assert_allclose(P.eps_from_score(score, t), z, atol=1e-11)
        np.testing.assert_allclose(P.score_from_eps(z, t), score, rtol=1e-12, atol=1e-12)


def test_conversions_take_torch_and_per_row_times():
    rng = np.random.default_rng(5)
    x, s = rng.standard_normal((2, 4, 2))
    t = np.array([0.1, 0.5, 1.0, 2.0])
    ref = P.denoiser_from_score(x, s, t)
    assert ref.shape == (4, 2)
    for i, ti in enumerate(t):
        np.testing.assert_allclose(ref[i], P.denoiser_from_score(x[i:i + 1], s[i:i + 1], ti)[0], rtol=1e-15)
    out = P.denoiser_from_score(torch.as_tensor(x), torch.as_tensor(s), torch.as_tensor(t))
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-14)
    back = P.score_from_eps(P.eps_from_score(torch.as_tensor(s), 0.7), 0.7)
    np.testing.assert_allclose(back.numpy(), s, rtol=1e-14)


# ---------------------------------------------------------------------------------------
# bridge and steps
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("t, s", [(1.0, 0.4), (0.05, 0.01), (6.0, 5.5), (2.0, 0.0), (0.3, 0.2999)])
def test_bridge_is_the_gaussian_conditional_of_the_joint_covariance(t, s):
    """q(x_s | x_0, x_t) from the joint covariance of (x_0, x_s, x_t) of the stationary OU
    process: coefficients Sigma_{s,(0,t)} Sigma_{(0,t),(0,t)}^{-1} and the Schur complement.
    (With x_0 standard normal the conditional given x_0 is the same for any law of x_0.)"""
    C = _stationary_cov([0.0, s, t])
    cond = [0, 2]
    A = C[np.ix_(cond, cond)]
    c = C[1, cond]
    coef = np.linalg.solve(A, c)
    var = C[1, 1] - c @ coef
    b = P.bridge(t, s)
    assert b.coef_x0 == pytest.approx(coef[0], rel=1e-9, abs=1e-12)
    assert b.coef_xt == pytest.approx(coef[1], rel=1e-9, abs=1e-12)
    assert b.variance == pytest.approx(var, rel=1e-8, abs=1e-12)
    assert b.std == pytest.approx(math.sqrt(max(var, 0.0)), rel=1e-8, abs=1e-12)


def test_step_noise_composes_over_two_steps():
    """The propagators compose and the variances add (Ito isometry), for both steppers."""
    t, u, s = 2.0, 1.2, 0.3
    for method in P.METHODS:
        a, b, whole = P.step_noise(method, t, u), P.step_noise(method, u, s), P.step_noise(method, t, s)
        assert b.propagator * a.propagator == pytest.approx(whole.propagator, rel=1e-13)
        assert b.propagator**2 * a.std**2 + b.std**2 == pytest.approx(whole.std**2, rel=1e-13)


def test_exponential_step_samples_the_exact_law_for_one_point():
    """Data = one point a: the exact score makes the exponential step the exact bridge, so
    x_s has mean e^{-s} a and variance Delta_s when x_t is drawn exactly (Monte Carlo)."""
    a = np.array([0.7, -1.2])
    score = lambda x, t: (math.exp(-t) * a - x) / cv.delta(t)  # noqa: E731
    rng = np.random.default_rng(6)
    n, t, s = 200_000, 1.5, 0.2
    xt = P.noise(np.broadcast_to(a, (n, 2)), t, generator=rng)
    xs = P.step("exponential", score, xt, t, s, P.Normals(7, xt))
    z_mean = (xs.mean(0) - math.exp(-s) * a) / math.sqrt(cv.delta(s) / n)
    z_var = (xs.var(0, ddof=1) - cv.delta(s)) / (cv.delta(s) * math.sqrt(2.0 / (n - 1)))
    assert np.all(np.abs(z_mean) < Z_MAX) and np.all(np.abs(z_var) < Z_MAX)


def test_normals_are_reproducible_and_follow_the_state_library():
    x = np.zeros((3, 2), dtype=np.float32)
    a, b = P.Normals(5, x)(x), P.Normals(5, x)(x)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    xt = torch.zeros(3, 2, dtype=torch.float64)
    c = P.Normals(5, xt)(xt)
    assert isinstance(c, torch.Tensor) and c.dtype == torch.float64
    assert torch.equal(c, P.Normals(5, xt)(xt))


# ---------------------------------------------------------------------------------------
# discrete noising
# ---------------------------------------------------------------------------------------
def _draw(library, x, eps, kind, vocab, seed):
    if library == "numpy":
        return P.discrete_noise(x, eps, kind=kind, vocab=vocab, generator=np.random.default_rng(seed))
    e = torch.as_tensor(eps) if np.ndim(eps) else eps
    gen = torch.Generator().manual_seed(seed)
    return P.discrete_noise(torch.as_tensor(x), e, kind=kind, vocab=vocab, generator=gen).numpy()


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_masking_statistics(library):
    vocab = 5
    x = np.random.default_rng(8).integers(0, vocab, size=(400, 128))
    eps = np.repeat([0.1, 0.5, 0.9, 0.0], 100)            # one level per row
    xt = _draw(library, x, eps, "masking", vocab, 9)
    masked = xt == vocab
    assert np.all(xt[~masked] == x[~masked])
    for level in (0.1, 0.5, 0.9):
        rows = masked[eps == level]
        assert stats.binomtest(int(rows.sum()), rows.size, level).pvalue > P_MIN
    assert not masked[eps == 0.0].any()


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_uniform_statistics(library):
    vocab = 6
    x = np.random.default_rng(10).integers(0, vocab, size=(300, 256))
    for level in (0.2, 0.7, 1.0):
        xt = _draw(library, x, level, "uniform", vocab, 11)
        changed = xt != x
        # P(change) = eps (1 - 1/v); changed tokens land uniformly on the other v - 1 symbols
        assert stats.binomtest(int(changed.sum()), changed.size, level * (1 - 1 / vocab)).pvalue > P_MIN
        off = ((xt - x) % vocab)[changed]
        assert stats.chisquare(np.bincount(off, minlength=vocab)[1:]).pvalue > P_MIN
        assert xt.min() >= 0 and xt.max() < vocab


def test_discrete_noise_checks():
    x = np.zeros((2, 3), dtype=np.int64)
    g = np.random.default_rng(0)
    with pytest.raises(ValueError, match="kind must be one of"):
        P.discrete_noise(x, 0.5, kind="gaussian", vocab=4, generator=g)
    with pytest.raises(ValueError, match="eps must be noise levels"):
        P.discrete_noise(x, 1.5, kind="masking", vocab=4, generator=g)
    with pytest.raises(ValueError, match="one level per row"):
        P.discrete_noise(x, [0.1, 0.2, 0.3], kind="masking", vocab=4, generator=g)
    with pytest.raises(ValueError, match="vocab must be >= 2"):
        P.discrete_noise(x, 0.5, kind="uniform", vocab=1, generator=g)


# ---------------------------------------------------------------------------------------
# time grids
# ---------------------------------------------------------------------------------------
SCHED = {"T": 1000, "beta_min": 1e-4, "beta_max": 2e-2}


def test_strided_grid_hits_the_schedules_own_steps():
    """From step 800 in 4 strides of 200 steps: the grid is t_800, t_600, ..., t_0 of the
    schedule (t_k = -1/2 log alpha-bar_k, from the cumulative product of 1 - beta)."""
    betas = np.linspace(1e-4, 2e-2, 1000)
    alpha_bar = np.concatenate([[1.0], np.cumprod(1 - betas)])
    t_k = -0.5 * np.log(alpha_bar)
    g = P.strided_grid(float(t_k[800]), 4, SCHED)
    np.testing.assert_allclose(g, t_k[[800, 600, 400, 200, 0]], rtol=1e-10, atol=1e-12)
    sch = cv.DiscreteSchedule.cosine(100)
    g = P.strided_grid(float(sch.times[60]), 3, sch)
    np.testing.assert_allclose(g, sch.times[[60, 40, 20, 0]], rtol=1e-10, atol=1e-12)
    g = P.strided_grid(1.234, 7, SCHED)
    assert g[0] == 1.234 and g[-1] == 0.0 and np.all(np.diff(g) < 0)
    with pytest.raises(ValueError, match="t_start"):
        P.strided_grid(6.0, 4, SCHED)                  # beyond t_T = 5.03
    with pytest.raises(ValueError, match="n_steps"):
        P.strided_grid(1.0, 0, SCHED)
    with pytest.raises(ValueError, match="schedule must be"):
        P.strided_grid(1.0, 4, {"T": 10})


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: P.time_grid(1.0, 2.0, 10), "t_end must be < t_max"),
        (lambda: P.time_grid(1.0, 0.0, 10), "t_end must be > 0 for kind='log'"),
        (lambda: P.time_grid(1.0, 0.1, 0), "n_steps must be >= 1"),
        (lambda: P.time_grid(1.0, 0.1, 5, kind="cubic"), "kind must be"),
        (lambda: P.check_grid([1.0, 2.0]), "strictly decreasing"),
        (lambda: P.grid_from_config({"kind": "log", "t_max": 1.0}), "needs t_end, n_steps"),
        (lambda: P.grid_from_config({"kind": "cubic"}), "config kind must be"),
        (lambda: P.grid_from_config({"kind": "log", "grid": "uniform"}), "differ"),
        (lambda: P.grid_from_config([1.0, 0.5]), "config must be a dict"),
    ],
)
def test_grid_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_time_grids_and_configs():
    g = P.time_grid(8.0, 1e-3, 4, "log")
    np.testing.assert_allclose(g, 8.0 * (1e-3 / 8.0) ** (np.arange(5) / 4), rtol=1e-13)
    np.testing.assert_allclose(P.time_grid(2.0, 0.0, 4, "uniform"), [2.0, 1.5, 1.0, 0.5, 0.0])
    assert np.array_equal(P.grid_from_config({"t_max": 8.0, "t_end": 1e-3, "n_steps": 4}), g)
    assert np.array_equal(P.grid_from_config({"grid": "uniform", "t_max": 2.0, "t_end": 0.0, "n_steps": 4}),
                          P.time_grid(2.0, 0.0, 4, "uniform"))
    cfg = {"kind": "strided", "t_start": 1.0, "n_steps": 5, "schedule": SCHED}
    assert np.array_equal(P.grid_from_config(cfg), P.strided_grid(1.0, 5, SCHED))
