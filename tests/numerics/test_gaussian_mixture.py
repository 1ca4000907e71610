"""Gaussian-mixture numerics against independent references (mpmath, sympy, brute force)."""

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from scipy import optimize

from diffphase.numerics import gaussian_mixture as gm
from diffphase.theory import gaussian_mixture as tgm


@pytest.mark.parametrize("d, mu, sigma", [(256, 1.0, 1.0), (4096, 1.0, 1.0), (16, 0.3, 0.5), (1, 2.0, 0.1), (1024, 1.0, 3.0)])
def test_clone_agreement_matches_mpmath_to_1e10(d, mu, sigma, two_class_quad):
    """φ(t) against the original integral ½ ∫ (G₊² + G₋²)/(G₊ + G₋) dy at 30 digits."""
    ts = np.array([0.0, 1e-3, 0.4, 1.5, 3.0, 4.2, 6.0, 11.0])
    got = gm.clone_agreement(ts, d, mu, sigma)
    phi = lambda g: (g(1) ** 2 + g(-1) ** 2) / (g(1) + g(-1)) / 2  # noqa: E731
    ref = np.array([two_class_quad(phi, t, d, mu, sigma) for t in ts])
    assert np.max(np.abs(got - ref)) <= 1e-10


def test_clone_agreement_limits_and_monotonicity():
    ts = np.linspace(0, 12, 200)
    phi = gm.clone_agreement(ts, 1024)
    assert np.all(np.diff(phi) <= 1e-15)  # decreasing in t
    assert abs(phi[-1] - 0.5) < 1e-6 and phi[0] > 1 - 1e-12
    assert gm.clone_agreement(3.0, 10, mu=0.0) == 0.5  # no signal: chance agreement


def test_speciation_time_is_half_log_of_the_covariance_top_eigenvalue():
    mix = gm.GaussianMixture.two_class(64, mu=0.7, sigma=1.3)
    lam = np.linalg.eigvalsh(mix.covariance())[-1]
    assert math.isclose(gm.speciation_time(64, 0.7, 1.3), 0.5 * math.log(lam), rel_tol=1e-12)
    assert math.isclose(mix.top_eigenvalue(), lam, rel_tol=1e-12)


def test_phi_at_speciation_time_near_paper_level():
    # Biroli et al. read t_S where phi = 0.775; at large d phi(t_S) tends to that level.
    vals = [float(gm.clone_agreement(gm.speciation_time(d), d)) for d in (1024, 4096, 2**16)]
    assert all(abs(v - 0.775) < 0.01 for v in vals)


def test_instability_time_against_root_of_curvature():
    for d, mu, sigma in [(100, 1.0, 1.0), (50, 0.5, 2.0), (300, 1.2, 0.4)]:
        m2 = mu * mu * d
        gamma = lambda t: -math.expm1(-2 * t) + sigma**2 * math.exp(-2 * t)  # noqa: E731
        curv = lambda t: -1 + 2 / gamma(t) - 2 * m2 * math.exp(-2 * t) / gamma(t) ** 2  # noqa: E731
        root = optimize.brentq(curv, 1e-6, 30, xtol=1e-14)
        assert math.isclose(gm.two_class_instability_time(d, mu, sigma), root, rel_tol=1e-10)


def test_collapse_quantities_against_sympy_and_root_finding():
    tc_expr = sp.lambdify((tgm.alpha, tgm.sigma), tgm.collapse_time(), "mpmath")
    f_expr = sp.lambdify((tgm.t, tgm.alpha, tgm.sigma), tgm.excess_entropy(), "mpmath")
    for n, d, sigma in [(20000, 100, 1.0), (50, 1000, 2.0), (10**6, 10, 0.5)]:
        alpha = math.log(n) / d
        tc = gm.collapse_time(n, d, sigma)
        assert math.isclose(tc, float(tc_expr(mp.mpf(alpha), sigma)), rel_tol=1e-12)
        root = float(mp.findroot(lambda s: f_expr(s, mp.mpf(alpha), sigma), (tc * 0.5, tc * 2), solver="illinois"))
        assert math.isclose(tc, root, rel_tol=1e-10)
        assert abs(gm.excess_entropy(tc, n, d, sigma)) < 1e-12
        assert math.isclose(gm.critical_load(tc, sigma), alpha, rel_tol=1e-12)
    assert gm.critical_load(0.0) == math.inf
    assert gm.excess_entropy(0.0, 100, 10) == -math.inf
    assert gm.excess_entropy(0.01, 100, 10, condensed=True) == 0.0


def test_speciation_time_from_curve_on_exact_curve():
    d = 1024
    ts = np.linspace(0.5, 8, 60)
    phi = gm.clone_agreement(ts, d)
    exact = optimize.brentq(lambda s: gm.clone_agreement(s, d) - 0.775, 0.5, 8, xtol=1e-12)
    assert abs(gm.speciation_time_from_curve(ts, phi) - exact) < 5e-3
    # shuffled and noisy input gives one crossing from the monotone fit
    rng = np.random.default_rng(0)
    perm = rng.permutation(ts.size)
    noisy = phi + rng.normal(0, 0.01, ts.size)
    est = gm.speciation_time_from_curve(ts[perm], noisy[perm])
    assert abs(est - exact) < 0.3
    with pytest.raises(ValueError, match="does not cross"):
        gm.speciation_time_from_curve([0.0, 1.0], [0.6, 0.5])


def test_mixture_score_is_gradient_of_log_density():
    rng = np.random.default_rng(1)
    mix = gm.GaussianMixture.from_std(rng.normal(size=(3, 5)), [0.5, 1.0, 2.0], [0.2, 0.3, 0.5])
    x = rng.normal(size=(4, 5))
    for t in (0.0, 0.05, 0.7, 3.0):
        s = mix.score(x, t)
        eps = 1e-6
        num = np.stack([(mix.log_density(x + eps * e, t) - mix.log_density(x - eps * e, t)) / (2 * eps)
                        for e in np.eye(5)], axis=1)
        np.testing.assert_allclose(s, num, rtol=1e-6, atol=1e-7)


def test_mixture_log_density_by_brute_force():
    rng = np.random.default_rng(2)
    means = rng.normal(size=(2, 3))
    mix = gm.GaussianMixture.from_std(means, [0.7, 1.1], [0.4, 0.6])
    x = rng.normal(size=(6, 3))
    t = 0.4
    th, D = math.exp(-t), 1 - math.exp(-2 * t)
    ref = 0
    for k in range(2):
        v = D + mix.sigmas[k] ** 2 * th**2
        ref = ref + mix.weights[k] * np.exp(-((x - th * means[k]) ** 2).sum(1) / (2 * v)) / (2 * np.pi * v) ** 1.5
    np.testing.assert_allclose(mix.log_density(x, t), np.log(ref), rtol=1e-12)


def test_two_class_score_matches_tanh_formula():
    mix = gm.GaussianMixture.two_class(8, mu=0.8, sigma=1.5)
    x = np.random.default_rng(3).normal(size=(5, 8))
    t = 0.9
    m = mix.means[0]
    G = 1 - math.exp(-2 * t) + 1.5**2 * math.exp(-2 * t)
    mt = m * math.exp(-t)
    ref = mt / G * np.tanh(x @ mt / G)[:, None] - x / G
    np.testing.assert_allclose(mix.score(x, t), ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gm.speciation_time(0), "d must be >= 1"),
        (lambda: gm.speciation_time(10, mu=-1), "mu must be >= 0"),
        (lambda: gm.speciation_time(10, sigma=0), "sigma must be > 0"),
        (lambda: gm.clone_agreement(-1.0, 10), "t must be >= 0"),
        (lambda: gm.clone_agreement([1.0, np.nan], 10), "t must be finite"),
        (lambda: gm.clone_agreement(np.inf, 10), "t must be finite"),
        (lambda: gm.collapse_time(1, 10), "n must be >= 2"),
        (lambda: gm.collapse_time(10, 10, sigma=-1), "sigma must be > 0"),
        (lambda: gm.excess_entropy(1.0, 100, 0), "d must be >= 1"),
        (lambda: gm.critical_load(-2.0), "t must be >= 0"),
        (lambda: gm.two_class_instability_time(10, mu=0.0), "mu must be > 0"),
        (lambda: gm.speciation_time(2.5), "d must be an integer"),
        (lambda: gm.GaussianMixture.from_std([[0.0]], sigmas=-1.0), "sigmas must be"),
        (lambda: gm.GaussianMixture([[0.0]], variances=-1.0), "variances must be"),
        (lambda: gm.GaussianMixture([[0.0], [1.0]], 0.0).posterior(np.zeros((1, 1)), 0.0), "t must be > 0"),
        (lambda: gm.GaussianMixture([[0.0], [1.0]], [1.0, 2.0]).collapse_time(100), "one common variance"),
        (lambda: gm.GaussianMixture.two_class(3).score(np.zeros((2, 4)), 1.0), r"x must have shape \(B, 3\)"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
