"""The label-information term of the excess entropy (finite-d collapse) against independent
references: mpmath quadrature of the original integral, full-space Monte Carlo with the exact
posterior, the paper's empirical estimator, and the authors' saved curves."""

import math

import mpmath as mp
import numpy as np
import pytest

from diffphase.numerics import empirical
from diffphase.numerics import gaussian_mixture as gm


def _info_mpmath(quad, t, d, mu, sigma):
    """I(Y;X_t) = ½ Σ± ∫ G± log(2G±/(G₊+G₋)) dy at 30 digits (the + term twice, by symmetry)."""
    return quad(lambda g: g(1) * mp.log(2 * g(1) / (g(1) + g(-1))), t, d, mu, sigma)


@pytest.mark.parametrize("d, mu, sigma", [(256, 1.0, 1.0), (64, 1.0, 1.0), (16, 0.3, 0.5), (1, 2.0, 0.1),
                                          (1024, 1.0, 3.0)])
def test_label_information_matches_mpmath_to_1e10(d, mu, sigma, two_class_quad):
    ts = np.array([0.0, 1e-3, 0.4, 1.5, 2.5, 3.0, 4.2, 6.0, 11.0])
    got = gm.label_information(ts, d, mu, sigma)
    ref = np.array([_info_mpmath(two_class_quad, t, d, mu, sigma) for t in ts])
    assert np.max(np.abs(got - ref)) <= 1e-10
    assert np.all(np.diff(got) <= 1e-15) and got[0] <= math.log(2) + 1e-15  # from log 2 down to 0


def test_k_class_monte_carlo_reduces_to_the_two_class_quadrature():
    """Two symmetric classes: the span reduction is one-dimensional; 4 standard errors per
    point (false-failure rate < 4e-4 over the 6 points)."""
    d, ts = 32, np.array([0.5, 1.0, 1.5, 1.8, 2.2, 3.0])
    m = np.full(d, 1.0)
    val, se = gm.label_information_mixture(ts, np.stack([m, -m]), 1.0, n_samples=40000, seed=1)
    ref = gm.label_information(ts, d, 1.0, 1.0)
    assert np.all(np.abs(val - ref) <= 4 * se + 1e-12), (val, ref, se)


def test_k_class_monte_carlo_against_full_space_posterior():
    """Three unequal classes in d = 5: the reduction to the span of the means against a direct
    Monte Carlo in the full space with the exact posterior of GaussianMixture (independent
    samples and code path): I = E log p(y|x)/π_y. 4 combined standard errors per time."""
    rng = np.random.default_rng(7)
    means = rng.normal(size=(3, 5)) * 1.5
    w = np.array([0.5, 0.3, 0.2])
    mix = gm.GaussianMixture.from_std(means, 0.7, w)
    ts = np.array([0.2, 0.6, 1.2])
    val, se = gm.label_information_mixture(ts, means, 0.7, w, n_samples=30000, seed=2)
    n = 60000
    for t, v, s in zip(ts, val, se):
        x0, y = mix.sample(n, seed=3)
        xt = math.exp(-t) * x0 + math.sqrt(-math.expm1(-2 * t)) * np.random.default_rng(4).standard_normal(x0.shape)
        post = mix.posterior(xt, t)
        terms = np.log(post[np.arange(n), y]) - np.log(w[y])
        ref, ref_se = terms.mean(), terms.std(ddof=1) / math.sqrt(n)
        assert abs(v - ref) <= 4 * math.hypot(s, ref_se), (t, v, ref, s, ref_se)


def _f_mpmath(quad, t, n, d, mu, sigma):
    """Finite-d excess entropy α + ½log(Δ/Γ) − I/d with I from the mpmath integral."""
    with mp.workdps(30):
        t = mp.mpf(t)
        D = -mp.expm1(-2 * t)
        G = D + mp.mpf(sigma) ** 2 * mp.e ** (-2 * t)
        return float(mp.log(n) / d + mp.log(D / G) / 2 - mp.mpf(_info_mpmath(quad, float(t), d, mu, sigma)) / d)


@pytest.mark.parametrize("n, d, sigma", [(20000, 256, 1.0), (5000, 64, 1.0), (100, 8, 0.5)])
def test_finite_size_collapse_time_is_the_root_and_later(n, d, sigma, two_class_quad):
    t_fin = gm.collapse_time(n, d, sigma, finite_size=True, mu=1.0)
    t_inf = gm.collapse_time(n, d, sigma)
    assert abs(_f_mpmath(two_class_quad, t_fin, n, d, 1.0, sigma)) <= 1e-9
    assert t_fin > t_inf
    f = gm.excess_entropy(np.array([t_inf, t_fin]), n, d, sigma, finite_size=True, mu=1.0)
    assert f[0] < 0 and abs(f[1]) < 1e-9
    # the correction to f is at most log 2 / d
    ts = np.linspace(0.05, 6, 50)
    gap = gm.excess_entropy(ts, n, d, sigma) - gm.excess_entropy(ts, n, d, sigma, finite_size=True, mu=1.0)
    assert np.all(gap >= 0) and np.all(gap <= math.log(2) / d + 1e-15)


def test_finite_size_needs_mu():
    with pytest.raises(ValueError, match="needs mu"):
        gm.excess_entropy(1.0, 100, 8, finite_size=True)
    with pytest.raises(ValueError, match="needs mu"):
        gm.collapse_time(100, 8, finite_size=True)
    with pytest.raises(ValueError, match="at least 2 classes"):
        gm.label_information_mixture(1.0, np.ones((1, 3)))


def _mixture_data(n, d, seed):
    rng = np.random.default_rng(seed)
    m = np.full(d, 1.0)
    y = rng.choice([-1.0, 1.0], size=n)
    return y[:, None] * m + rng.standard_normal((n, d))


def _empirical_vs_theory(n, d, n_samples, seed):
    """The paper's estimator f^e(t) on n mixture points at times t >= t_C + 0.5 (finite-d t_C)
    against the finite-d and the large-d formulas, in standard errors."""
    X = _mixture_data(n, d, seed)
    t_c = gm.collapse_time(n, d, 1.0, finite_size=True, mu=1.0)
    ts = np.linspace(t_c + 0.5, t_c + 3.0, 11)
    est = empirical.excess_entropy(X, ts, n_samples=n_samples, seed=seed + 1)
    z_fin = (est.f - gm.excess_entropy(ts, n, d, 1.0, finite_size=True, mu=1.0)) / est.stderr
    z_inf = (est.f - gm.excess_entropy(ts, n, d, 1.0)) / est.stderr
    return z_fin, z_inf


def test_empirical_estimator_follows_the_finite_size_excess_entropy_d64():
    """d = 64, n = 5000 (I/d up to 8 % of α): every point within 3 standard errors of the
    finite-d f(t) (11 strongly correlated points: common random numbers across times), while
    the large-d f(t) misses by more than 3 at some of them."""
    z_fin, z_inf = _empirical_vs_theory(5000, 64, 4000, seed=11)
    assert np.max(np.abs(z_fin)) <= 3.0, z_fin
    assert np.max(np.abs(z_inf)) > 3.0, z_inf


@pytest.mark.slow
def test_empirical_estimator_follows_the_finite_size_excess_entropy_d256():
    """The authors' setting, d = 256, n = 20 000."""
    z_fin, z_inf = _empirical_vs_theory(20000, 256, 4000, seed=12)
    assert np.max(np.abs(z_fin)) <= 3.0, z_fin
    assert np.max(np.abs(z_inf)) > 3.0, z_inf


# Literature values: Biroli, Bonnaire, de Bortoli & Mézard's saved Monte Carlo excess entropy of
# the two-class mixture (mu~ = sigma = 1, n = 20 000), file
# Saves/Gaussian_mixtures/Collapse/f(t)_num_GM.npy of github.com/tbonnair/Dynamical-Regimes-of-
# Diffusion-Models (their Fig. 3): times, f/alpha for d = 256, 1024, 4096, and its standard errors
# (5000 x 50 samples per point). Only the points at t >= t_C + 0.5 are kept here.
_SAVED_T = [8.0, 7.608, 7.216, 6.824, 6.432, 6.04, 5.648, 5.256, 4.864, 4.472, 4.08, 3.688, 3.296, 2.904, 2.512,
            2.12, 1.728]
_SAVED = {
    256: ([0.9982239, 0.999945, 0.9958943, 0.999435, 0.995854, 0.9988192, 0.9978228, 0.9956383, 0.9986728,
           0.994993, 0.9922536, 0.9890478, 0.9660062, 0.9325512, 0.8686509, 0.7498074],
          [2.285083e-03, 2.284285e-03, 2.283645e-03, 2.283081e-03, 2.286932e-03, 2.285884e-03, 2.284041e-03,
           2.285133e-03, 2.281696e-03, 2.285932e-03, 2.287537e-03, 2.286083e-03, 2.281190e-03, 2.286963e-03,
           2.284945e-03, 2.285145e-03]),
    1024: ([1.003017, 1.007332, 0.9955914, 1.006553, 0.9952353, 1.001054, 0.9977253, 1.001772, 0.9879259,
            0.9909686, 0.9696183, 0.945177, 0.8868994, 0.7852398, 0.5875919],
           [4.567726e-03, 4.574019e-03, 4.570685e-03, 4.574093e-03, 4.568013e-03, 4.576490e-03, 4.568271e-03,
            4.570947e-03, 4.570104e-03, 4.563898e-03, 4.559039e-03, 4.572220e-03, 4.568917e-03, 4.569313e-03,
            4.569017e-03]),
    4096: ([0.9917133, 1.004871, 1.003021, 1.00434, 1.001139, 0.9916832, 0.9836786, 0.9909478, 0.9543579,
            0.9381782, 0.9100265, 0.8144372, 0.6415165],
           [9.138838e-03, 9.146419e-03, 9.128327e-03, 9.130340e-03, 9.146855e-03, 9.116727e-03, 9.117641e-03,
            9.147319e-03, 9.133147e-03, 9.135100e-03, 9.112216e-03, 9.149037e-03, 9.146472e-03]),
}


@pytest.mark.parametrize("d", [256, 1024, 4096])
def test_finite_size_excess_entropy_against_the_authors_saved_curves(d):
    """Every saved point at t >= t_C + 0.5 within 4 standard errors of the finite-d f(t)/α (a
    correct formula fails this with probability < 0.3 % over the 44 points), while the
    large-d f(t)/α is more than 8 standard errors off at some point (their Fig. 3)."""
    f_saved, se = (np.asarray(v) for v in _SAVED[d])
    t = np.asarray(_SAVED_T[: f_saved.size])
    assert np.all(t >= gm.collapse_time(20000, d) + 0.5)
    alpha = math.log(20000) / d
    z_fin = (f_saved - gm.excess_entropy(t, 20000, d, 1.0, finite_size=True, mu=1.0) / alpha) / se
    z_inf = (f_saved - gm.excess_entropy(t, 20000, d, 1.0) / alpha) / se
    assert np.max(np.abs(z_fin)) <= 4.0, z_fin
    assert np.max(np.abs(z_inf)) > 8.0, z_inf
