"""Symmetry breaking and Gaussian late initialization, against independent references."""

import math

import numpy as np
import pytest
from scipy import optimize
from scipy.special import logsumexp

from diffphase.numerics import conventions as cv
from diffphase.numerics import gaussian_mixture as gmn
from diffphase.numerics import sde
from diffphase.numerics import symmetry as sb
from diffphase.numerics.empirical import EmpiricalScore


def test_critical_theta_closed_form():
    assert abs(sb.critical_theta() - math.sqrt(math.sqrt(2) - 1)) < 1e-15
    for lam in (0.1, 1.0, 7.0, 1e8):
        th = sb.critical_theta(lam)
        assert abs(th**4 + 2 * lam * th**2 - 1) < 1e-14
        assert abs(cv.time_from_theta(th) - sb.instability_time(lam)) < 1e-12


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
    assert abs(t_star - sb.instability_time(lam)) < 1e-6
    assert abs(t_star - 0.5 * math.log(lam) - 0.5 * math.log(1 + math.sqrt(1 + lam**-2))) < 1e-6


def test_instability_time_relates_to_the_gaussian_mixture_one():
    # σ → 0 limit of the two-class mixture ±m (|m|² = μ̃² d): the same t_U
    for d, mu in ((1, 1.0), (16, 0.5), (1024, 1.0)):
        assert abs(gmn.instability_time(d, mu, 1e-9) - sb.instability_time(mu * mu * d)) < 1e-12
    # the curvature of the numerical potential at the centre changes sign at t_U
    for a, sig in ((1.0, 0.0), (3.0, 0.0), (2.0, 0.5)):
        curv = lambda t: (sb.potential(1e-3, t, a, sig) - 2 * sb.potential(0.0, t, a, sig)  # noqa: E731
                          + sb.potential(-1e-3, t, a, sig)) / 1e-6
        t_star = optimize.brentq(curv, 1e-3, 6.0, xtol=1e-12)
        if sig == 0:
            assert abs(t_star - sb.instability_time(a * a)) < 1e-5
        else:
            assert abs(t_star - gmn.instability_time(1, a, sig)) < 1e-5


def test_fixed_points_solve_the_equation_and_bifurcate_at_t_U():
    tU = sb.instability_time(1.0)
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
    tU = gmn.instability_time(1, a, sig)
    for t in (0.05, 0.5, tU - 1e-3, tU + 1e-3, 3.0):
        fp = sb.fixed_points(t, a, sig)
        th = cv.theta(t)
        g = cv.delta(t) + sig * sig * th * th
        res = (2 - g) * fp - 2 * a * th * np.tanh(a * th * fp / g)
        assert np.abs(res).max() < 1e-12
        assert np.allclose(sb.drift(fp, t, a, sig), 0, atol=1e-12)
        assert (fp.size == 3) == (t < tU)


def test_bifurcation_diagram_stability():
    tU = sb.instability_time(4.0)
    times = np.array([0.1, 0.5, tU - 0.01, tU + 0.01, 2.0])
    b = sb.bifurcation_diagram(times, a=2.0)
    before = times < tU
    assert np.all(np.isnan(b.branches[~before][:, [0, 2]]))
    assert np.all(b.stable[~before, 1]) and not np.any(b.stable[before, 1])
    assert np.all(b.stable[before][:, [0, 2]])
    assert np.allclose(b.branches[before, 0], -b.branches[before, 2])


def test_late_gaussian_moments_of_noised_mixture():
    mix = gmn.IsotropicMixture(np.array([[2.0, 0.0, 1.0], [-1.0, 1.0, 0.0]]), [0.5, 1.0], [0.3, 0.7])
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
    t0 = sb.instability_time(float(np.linalg.eigvalsh(cov)[-1]))
    x0 = sb.sample_late_gaussian(20_000, t0, mean, cov, seed=2)
    out = sde.sample(score, x0, sde.time_grid(t0, 1e-3, 200), seed=3)
    assert np.all(np.abs(out.mean(0) - mean) < 4 * np.sqrt(np.diag(cov) / 20_000) + 0.02)


@pytest.mark.parametrize("call, name", [
    (lambda: sb.critical_theta(0.0), "top_eigenvalue"),
    (lambda: sb.instability_time(-1.0), "top_eigenvalue"),
    (lambda: sb.instability_time(float("nan")), "top_eigenvalue"),
    (lambda: sb.fixed_points(-0.1), "t"),
    (lambda: sb.fixed_points(0.0), "t"),
    (lambda: sb.potential(0.1, 1.0, a=0.0), "a"),
    (lambda: sb.drift(0.1, 1.0, sigma=-1.0), "sigma"),
    (lambda: sb.bifurcation_diagram([[0.1]]), "times"),
    (lambda: sb.late_gaussian(1.0, [0.0, 0.0], np.eye(3)), "covariance"),
    (lambda: sb.late_gaussian(1.0, [0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]]), "covariance"),
    (lambda: sb.late_gaussian(1.0, [[0.0]], np.eye(1)), "mean"),
    (lambda: sb.sample_late_gaussian(0, 1.0, [0.0], np.eye(1)), "n"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
