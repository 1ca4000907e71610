"""Symmetry breaking and Gaussian late initialization, against independent references."""

import math

import numpy as np
import pytest
from scipy import optimize
from scipy.special import logsumexp

from diffphase.numerics import conventions as cv
from diffphase.numerics import gaussian_mixture as gmn
from diffphase.numerics import process
from diffphase.numerics import sde
from diffphase.numerics import symmetry as sb
from diffphase.numerics.empirical import EmpiricalScore


def test_critical_theta_closed_form():
    assert abs(sb.critical_theta() - math.sqrt(math.sqrt(2) - 1)) < 1e-15
    for lam in (0.1, 1.0, 7.0, 1e8):
        th = sb.critical_theta(lam)
        assert abs(th**4 + 2 * lam * th**2 - 1) < 1e-14
        assert abs(cv.time_from_theta(th) - sb.equal_norm_instability_time(lam)) < 1e-12


def _drift_slope_at_centre(t, points, weights=None):
    """Top eigenvalue of the Jacobian at 0 of x + 2 ∇log P_t for a point set, by central
    differences of the empirical score (an independent route: no closed form)."""
    if weights is None:
        score = EmpiricalScore(points)
        s = lambda x: score(x, t)  # noqa: E731
    else:
        th, D = cv.theta(t), cv.delta(t)
        logw = np.log(weights)

        def s(x):
            d2 = ((x[:, None, :] - th * points[None]) ** 2).sum(-1)
            w = np.exp(logw - d2 / (2 * D) - logsumexp(logw - d2 / (2 * D), axis=1, keepdims=True))
            return (th * w @ points - x) / D
    d = points.shape[1]
    h = 1e-5
    E = np.eye(d) * h
    J = (E + 2 * s(E) - (-E + 2 * s(-E))) / (2 * h)  # column i: derivative along e_i
    return float(np.linalg.eigvalsh(0.5 * (J + J.T))[-1])


def test_critical_theta_is_where_the_dynamics_destabilises():
    """Direct numerical stability check of the generative drift of the data ±1."""
    pts = np.array([[1.0], [-1.0]])
    t_star = optimize.brentq(lambda t: _drift_slope_at_centre(t, pts), 0.05, 3.0, xtol=1e-12)
    assert abs(cv.theta(t_star) - sb.critical_theta()) < 1e-7
    # and the frozen-time dynamics: a small perturbation grows after θ_c and decays before
    for dth, grows in ((0.02, True), (-0.02, False)):
        t = cv.time_from_theta(sb.critical_theta() + dth)
        xv = 1e-4
        for _ in range(2000):
            xv += 0.01 * sb.drift(xv, t)
        assert (abs(xv) > 1e-3) == grows


def test_instability_time_vs_curvature_sign_change_for_points_on_a_circle():
    """Four points ±a e1, ±a e2 with weights 0.35/0.15: all of norm a, top eigenvalue
    Λ = 0.7 a²; the central curvature changes sign at ½ arsinh Λ."""
    a = 2.0
    pts = np.array([[a, 0], [-a, 0], [0, a], [0, -a]])
    w = np.array([0.35, 0.35, 0.15, 0.15])
    lam = 0.7 * a * a
    t_star = optimize.brentq(lambda t: _drift_slope_at_centre(t, pts, w), 0.05, 5.0, xtol=1e-12)
    assert abs(t_star - sb.equal_norm_instability_time(lam)) < 1e-6
    assert abs(t_star - 0.5 * math.log(lam) - 0.5 * math.log(1 + math.sqrt(1 + lam**-2))) < 1e-6


def test_instability_time_relates_to_the_gaussian_mixture_one():
    # σ → 0 limit of the two-class mixture ±m (|m|² = μ̃² d): the same t_U
    for d, mu in ((1, 1.0), (16, 0.5), (1024, 1.0)):
        assert abs(gmn.two_class_instability_time(d, mu, 1e-9) - sb.equal_norm_instability_time(mu * mu * d)) < 1e-12
    # the curvature of the numerical potential at the centre changes sign at t_U
    for a, sig in ((1.0, 0.0), (3.0, 0.0), (2.0, 0.5)):
        curv = lambda t: (sb.potential(1e-3, t, a, sig) - 2 * sb.potential(0.0, t, a, sig)  # noqa: E731
                          + sb.potential(-1e-3, t, a, sig)) / 1e-6
        t_star = optimize.brentq(curv, 1e-3, 6.0, xtol=1e-12)
        if sig == 0:
            assert abs(t_star - sb.equal_norm_instability_time(a * a)) < 1e-5
        else:
            assert abs(t_star - gmn.two_class_instability_time(1, a, sig)) < 1e-5


def test_fixed_points_solve_the_equation_and_bifurcate_at_t_U():
    tU = sb.equal_norm_instability_time(1.0)
    for t in np.linspace(0.02, 2 * tU, 40):
        fp = sb.fixed_points(t)
        th = cv.theta(t)
        res = (1 + th * th) * fp - 2 * th * np.tanh(th * fp / (1 - th * th))
        assert np.abs(res).max() < 1e-13
        assert (fp.size == 3) == (t < tU - 1e-12)
    # pitchfork amplitude near θ_c: x*² ≈ 3Δ²(θ⁴+2θ²−1)/(2θ⁴) (theory.symmetry.pitchfork_amplitude)
    for eps in (1e-2, 1e-3):
        th = sb.critical_theta() + eps
        xs = sb.fixed_points(cv.time_from_theta(th))[-1]
        amp = 1.5 * (1 - th * th) ** 2 * (th**4 + 2 * th * th - 1) / th**4
        assert abs(xs * xs / amp - 1) < 20 * eps


def test_mixture_fixed_points():
    a, sig = 2.0, 0.7
    tU = gmn.two_class_instability_time(1, a, sig)
    for t in (0.05, 0.5, tU - 1e-3, tU + 1e-3, 3.0):
        fp = sb.fixed_points(t, a, sig)
        th = cv.theta(t)
        g = cv.delta(t) + sig * sig * th * th
        res = (2 - g) * fp - 2 * a * th * np.tanh(a * th * fp / g)
        assert np.abs(res).max() < 1e-12
        assert np.allclose(sb.drift(fp, t, a, sig), 0, atol=1e-12)
        assert (fp.size == 3) == (t < tU)


def test_bifurcation_diagram_stability():
    tU = sb.equal_norm_instability_time(4.0)
    times = np.array([0.1, 0.5, tU - 0.01, tU + 0.01, 2.0])
    b = sb.bifurcation_diagram(times, a=2.0)
    before = times < tU
    assert np.all(np.isnan(b.branches[~before][:, [0, 2]]))
    assert np.all(b.stable[~before, 1]) and not np.any(b.stable[before, 1])
    assert np.all(b.stable[before][:, [0, 2]])
    assert np.allclose(b.branches[before, 0], -b.branches[before, 2])


def test_late_gaussian_moments_of_noised_mixture():
    mix = gmn.GaussianMixture.from_std(np.array([[2.0, 0.0, 1.0], [-1.0, 1.0, 0.0]]), [0.5, 1.0], [0.3, 0.7])
    t = 0.8
    mean = mix.weights @ mix.means
    m_t, C_t = sb.late_gaussian(t, mean, mix.covariance())
    x0, _ = mix.sample(200_000, seed=3)
    rng = np.random.default_rng(4)
    xt = cv.theta(t) * x0 + math.sqrt(cv.delta(t)) * rng.standard_normal(x0.shape)
    n = xt.shape[0]
    se_mean = np.sqrt(np.diag(C_t) / n)
    assert np.all(np.abs(xt.mean(0) - m_t) < 4 * se_mean)  # 4 s.e.: false failure ~6e-5 each
    emp = np.cov(xt.T)
    se_cov = np.sqrt((C_t**2 + np.outer(np.diag(C_t), np.diag(C_t))) / n)  # Gaussian approx.
    assert np.all(np.abs(emp - C_t) < 5 * se_cov)


def test_sample_late_gaussian_moments_and_use_with_sampler():
    cov = np.array([[3.0, 1.0], [1.0, 1.0]])
    mean = np.array([1.0, -2.0])
    t = 0.6
    m_t, C_t = sb.late_gaussian(t, mean, cov)
    x = sb.sample_late_gaussian(100_000, t, mean, cov, seed=0)
    n = x.shape[0]
    assert np.all(np.abs(x.mean(0) - m_t) < 4 * np.sqrt(np.diag(C_t) / n))
    se_cov = np.sqrt((C_t**2 + np.outer(np.diag(C_t), np.diag(C_t))) / n)
    assert np.all(np.abs(np.cov(x.T) - C_t) < 5 * se_cov)
    # singular covariance is fine (data on a line)
    xs = sb.sample_late_gaussian(10, 0.1, [0.0, 0.0], [[1.0, 1.0], [1.0, 1.0]], seed=1)
    assert np.all(np.isfinite(xs))
    # Gaussian data: the late Gaussian is the exact noised law, so the sampler started from it
    # at t_U with the exact score returns the data law (exponential integrator, 200 steps)
    mu, S = mean, cov
    def score(xx, tt):
        m2, c2 = sb.late_gaussian(tt, mu, S)
        return -(xx - m2) @ np.linalg.inv(c2)
    t0 = sb.equal_norm_instability_time(float(np.linalg.eigvalsh(cov)[-1]))
    x0 = sb.sample_late_gaussian(20_000, t0, mean, cov, seed=2)
    out = sde.sample(score, x0, process.time_grid(t0, 1e-3, 200), seed=3)
    assert np.all(np.abs(out.mean(0) - mean) < 4 * np.sqrt(np.diag(cov) / 20_000) + 0.02)


# ---- the knee of a quality-vs-start curve, flatness, exact reverse dynamics ----------------
AUTHORS_GRID = [50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]


def test_knee_of_a_hinge_on_the_authors_grid():
    """y = a max(0, 400 - k): the second derivative is a point mass at k = 400; the three-point
    difference on the non-uniform grid is a * 2/(500 - 300) there and 0 elsewhere."""
    a = 0.37
    x = np.array(AUTHORS_GRID, dtype=float)
    y = a * np.maximum(0.0, 400.0 - x)
    knee, j, d2 = sb.second_derivative_knee(x, y)
    assert knee == 400.0 and j == 4
    assert d2[4] == pytest.approx(2 * a / 200.0, rel=1e-12)
    assert np.all(np.abs(np.delete(d2[1:-1], 3)) < 1e-15) and np.isnan(d2[0]) and np.isnan(d2[-1])


@pytest.mark.parametrize("delta", [0.2, 0.45, 0.55, 0.8])
def test_knee_of_a_hinge_between_grid_points_is_the_nearest_point(delta):
    """Hinge at x_c = 5 + delta on the unit grid: y''_5 = a (1 - delta), y''_6 = a delta
    (hand computation), so the knee is the grid point nearest x_c."""
    a = 2.0
    x = np.arange(11.0)
    y = a * np.maximum(0.0, 5.0 + delta - x)
    knee, j, d2 = sb.second_derivative_knee(x, y)
    assert d2[5] == pytest.approx(a * (1 - delta), abs=1e-12) and d2[6] == pytest.approx(a * delta, abs=1e-12)
    assert knee == round(5.0 + delta)


def test_knee_of_a_softplus_is_its_inflection_of_slope():
    """y = w log(1 + exp(-(x - x0)/w)) has y'' = sigma(u)(1 - sigma(u))/w, u = (x - x0)/w,
    maximal at x0; the symmetric three-point difference puts the knee at the grid point nearest
    x0."""
    x0, w = 3.33, 0.7
    x = np.linspace(0.0, 8.0, 81)
    y = w * np.log1p(np.exp(-(x - x0) / w))
    knee, j, d2 = sb.second_derivative_knee(x, y)
    assert knee == pytest.approx(3.3, abs=1e-12)
    # and on a quadratic the difference is exact on any grid
    xs = np.sort(np.random.default_rng(0).uniform(0, 10, 12))
    assert np.allclose(sb.second_derivative_knee(xs, 1.5 * xs**2 - xs)[2][1:-1], 3.0, rtol=1e-9)


def test_excess_z_and_flatness_by_hand():
    y, se = [9.0, 3.0, 0.6, 0.1, 0.2], [1.0, 1.0, 0.3, 0.4, 0.0]
    z = sb.excess_z(y, se)
    assert z.tolist() == pytest.approx([8.8, 2.8, 4.0 / 3.0, -0.25, 0.0])
    assert sb.excess_z(y, se, ref=0)[1] == pytest.approx(-6.0 / math.sqrt(2))
    f, k = sb.flatness(y, se, first=2)
    assert (f, k) == (pytest.approx(4.0 / 3.0), 2)
    with pytest.raises(ValueError, match="first"):
        sb.flatness(y, se, first=4)
    with pytest.raises(ValueError, match="se"):
        sb.excess_z(y, [1.0, -1.0, 0.0, 0.0, 0.0])


def test_flatness_false_failure_rate_on_a_flat_noisy_curve():
    """Monte Carlo: a flat 11-point curve with independent Gaussian errors of known, unequal
    sizes; knee from the noisy curve itself (as in the experiment), then the flatness statistic
    above it. Its false-failure rate P(F > 3.5) is at most 9 (1 - Phi(3.5)) = 2.1e-3
    (Bonferroni, at most 9 comparisons). The assertion allows 3 binomial s.e. over the bound
    (this test's own false failure <= 1.3e-3)."""
    from scipy.stats import norm

    rng = np.random.default_rng(11)
    x = np.array(AUTHORS_GRID, dtype=float)
    n_rep, z_c = 20000, 3.5
    se = rng.uniform(0.5, 2.0, x.size) * 1e-3
    fails, compared = 0, 0
    for _ in range(n_rep):
        y = 0.02 + se * rng.standard_normal(x.size)
        _, j, _ = sb.second_derivative_knee(x, y)
        if j + 1 > x.size - 2:
            continue
        compared += 1
        fails += sb.flatness(y, se, j + 1)[0] > z_c
    bound = 9 * norm.sf(z_c)
    assert compared > n_rep // 2
    assert fails / compared <= bound + 3 * math.sqrt(bound / compared)
    # and it has power: an excess of 6 s.e. right above the first compared point is caught
    y = np.zeros(x.size)
    y[3] = 6 * math.hypot(se[3], se[-1])
    assert sb.flatness(y, se, 3)[0] == pytest.approx(6.0)


def test_mixture_posterior_sample_returns_the_data_law_from_the_noised_law():
    """x_t drawn from the noised mixture, then x_0 ~ p(x_0 | x_t): the draws follow P_0. Means,
    variances and class fractions within 4-5 s.e. of the population (false failure < 1e-3
    over all 10 checks)."""
    mix = gmn.GaussianMixture.from_std(np.array([[2.0, 0.0, 1.0], [-1.0, 1.0, 0.0]]), [0.5, 1.0], [0.3, 0.7])
    t, n = 0.7, 100_000
    x0, _ = mix.sample(n, seed=5)
    rng = np.random.default_rng(6)
    xt = cv.theta(t) * x0 + math.sqrt(cv.delta(t)) * rng.standard_normal(x0.shape)
    y, k = sb.mixture_posterior_sample(mix, xt, t, seed=7)
    C = mix.covariance()
    assert np.all(np.abs(y.mean(0) - mix.weights @ mix.means) < 4 * np.sqrt(np.diag(C) / n))
    sq = (y - y.mean(0)) ** 2  # s.e. of the sample variance from the fourth moment (non-Gaussian law)
    assert np.all(np.abs(y.var(0) - np.diag(C)) < 5 * sq.std(0) / math.sqrt(n))
    assert abs(k.mean() - 0.7) < 4 * math.sqrt(0.21 / n)


def test_mixture_posterior_sample_matches_the_reverse_sde_from_one_state():
    """From one state x at t = 1.2, the exact-score reverse SDE (exponential integrator, 400
    steps, 20000 copies) and the posterior sampler both average to the closed-form posterior
    mean sum_k p(k|x) (Delta mu_k + theta s_k^2 x)/Gamma_k, and end in class 1 as often as
    p(1|x): within 4 Monte Carlo s.e. plus 0.02 of discretization for the SDE."""
    mix = gmn.GaussianMixture.from_std(np.array([[-2.0, 0.5], [2.0, 0.0]]), [0.6, 0.8], [0.4, 0.6])
    t = 1.2
    x = np.array([[0.3, -0.2]])
    th, dl = cv.theta(t), cv.delta(t)
    p = mix.posterior(x, t)[0]
    g = dl + th * th * mix.sigmas**2
    post_mean = sum(p[k] * (dl * mix.means[k] + th * mix.sigmas[k] ** 2 * x[0]) / g[k] for k in range(2))
    n = 20000
    xs = np.repeat(x, n, axis=0)
    y, k = sb.mixture_posterior_sample(mix, xs, t, seed=1)
    sd = y.std(0)
    assert np.all(np.abs(y.mean(0) - post_mean) < 4 * sd / math.sqrt(n))
    assert abs(k.mean() - p[1]) < 4 * math.sqrt(p[1] * p[0] / n)
    out = sde.sample(mix.score, xs, process.time_grid(t, 1e-4, 400), seed=2)
    assert np.all(np.abs(out.mean(0) - post_mean) < 4 * out.std(0) / math.sqrt(n) + 0.02)
    assert abs((mix.classify(out) == 1).mean() - p[1]) < 4 * math.sqrt(p[1] * p[0] / n) + 0.01


@pytest.mark.parametrize("call, name", [
    (lambda: sb.critical_theta(0.0), "top_eigenvalue"),
    (lambda: sb.equal_norm_instability_time(-1.0), "top_eigenvalue"),
    (lambda: sb.equal_norm_instability_time(float("nan")), "top_eigenvalue"),
    (lambda: sb.fixed_points(-0.1), "t"),
    (lambda: sb.fixed_points(0.0), "t"),
    (lambda: sb.potential(0.1, 1.0, a=0.0), "a"),
    (lambda: sb.drift(0.1, 1.0, sigma=-1.0), "sigma"),
    (lambda: sb.bifurcation_diagram([[0.1]]), "times"),
    (lambda: sb.late_gaussian(1.0, [0.0, 0.0], np.eye(3)), "covariance"),
    (lambda: sb.late_gaussian(1.0, [0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]]), "covariance"),
    (lambda: sb.late_gaussian(1.0, [[0.0]], np.eye(1)), "mean"),
    (lambda: sb.sample_late_gaussian(0, 1.0, [0.0], np.eye(1)), "n"),
    (lambda: sb.second_derivative_knee([0.0, 1.0], [0.0, 1.0]), "x"),
    (lambda: sb.second_derivative_knee([0.0, 2.0, 1.0], [0.0, 1.0, 2.0]), "x"),
    (lambda: sb.second_derivative_knee([0.0, 1.0, 2.0], [0.0, np.nan, 2.0]), "y"),
    (lambda: sb.excess_z([0.0, 1.0], [0.1, 0.1], ref=2), "ref"),
    (lambda: sb.mixture_posterior_sample(gmn.GaussianMixture.from_std([[1.0], [-1.0]]), np.zeros((2, 2)), 1.0), "x"),
    (lambda: sb.mixture_posterior_sample(gmn.GaussianMixture.from_std([[1.0], [-1.0]]), np.zeros((2, 1)), -1.0), "t"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
