"""Class information: quadrature vs mpmath and Monte Carlo, limits, the entropy rate, the
finite-data posterior and the online Bayes classifier vs the closed form.

Statistical tests use 4 standard errors: a false-failure rate of about 6e-5 per comparison."""

import math

import mpmath as mp
import numpy as np
import pytest

from diffphase.numerics import conventions as cv
from diffphase.numerics import information as info
from diffphase.numerics import process
from diffphase.numerics import sde
from diffphase.numerics.gaussian_mixture import GaussianMixture

MEANS3 = np.array([[-1.5], [0.3], [2.0]])
VARS3 = np.array([0.2, 1.0, 0.05])
W3 = np.array([0.5, 0.3, 0.2])


def _mp_entropy(t, means, variances, weights, dps=20):
    """H(Y|X_t) by mpmath: per class, a Gaussian expectation in z = (x - θμ_k)/√Γ_k, with
    tanh-sinh quadrature split at ±12 standard deviations (in steps of three) of every class,
    so that narrow classes inside wide ones are resolved."""
    with mp.workdps(dps):
        t = mp.mpf(t)
        th = mp.e ** (-t)
        gam = [1 - th**2 + mp.mpf(v) * th**2 for v in variances]
        mu = [mp.mpf(m) for m in means]
        w = [mp.mpf(x) for x in weights]

        def h(x):
            lj = [mp.log(w[j]) - mp.log(2 * mp.pi * gam[j]) / 2 - (x - th * mu[j]) ** 2 / (2 * gam[j])
                  for j in range(len(w))]
            L = mp.log(mp.fsum(mp.e**l for l in lj))
            return -mp.fsum(mp.e ** (l - L) * (l - L) for l in lj)

        tot = 0
        for k in range(len(w)):
            pts = {-14.0, 14.0}
            for j in range(len(w)):
                zc = (th * mu[j] - th * mu[k]) / mp.sqrt(gam[k])
                sc = mp.sqrt(gam[j] / gam[k])
                pts |= {float(zc + q * sc) for q in range(-12, 13, 3) if -14 < zc + q * sc < 14}
            f = lambda z: mp.npdf(z) * h(th * mu[k] + mp.sqrt(gam[k]) * z)  # noqa: E731
            tot += w[k] * mp.quad(f, sorted(pts))
        return tot


@pytest.mark.slow
@pytest.mark.parametrize("t", [0.05, 0.6, 2.0])
def test_quadrature_vs_mpmath(t):
    ref = _mp_entropy(t, MEANS3[:, 0], VARS3, W3)
    got = info.class_entropy(t, MEANS3, VARS3, W3)
    assert abs(got - float(ref)) < 1e-10


@pytest.mark.parametrize("t", [0.0, 0.5])
def test_quadrature_vs_mpmath_narrow_class_inside_wide_one(t):
    """Spread ratio 100 (at t = 0): the narrow class's posterior transitions sit within a few
    of its own standard deviations, inside the wide class's panels."""
    m, v, w = [0.0, 0.3], [1e-4, 1.0], [0.3, 0.7]
    ref = _mp_entropy(t, m, v, w, dps=15)
    assert abs(info.class_entropy(t, np.array(m)[:, None], v, w) - float(ref)) < 1e-10


@pytest.mark.slow
def test_entropy_rate_vs_mpmath_derivative():
    t = 0.4
    with mp.workdps(20):
        ref = mp.diff(lambda s: _mp_entropy(s, MEANS3[:, 0], VARS3, W3, dps=20), mp.mpf(t), h=mp.mpf("1e-6"))
    r = info.entropy_rate(t, MEANS3, VARS3, W3)
    assert abs(r - float(ref)) < 1e-8


def test_entropy_rate_vs_finite_differences():
    ts = np.linspace(0.05, 3.0, 12)
    h = 1e-4
    fd = (info.class_entropy(ts + h, MEANS3, VARS3, W3) - info.class_entropy(ts - h, MEANS3, VARS3, W3)) / (2 * h)
    rates = info.entropy_rate(ts, MEANS3, VARS3, W3)
    assert np.all(rates > 0)
    assert np.max(np.abs(rates - fd)) < 1e-6  # O(h²) truncation ~1e-8, rounding ~1e-12/h


def test_quadrature_vs_monte_carlo_1d():
    t = 0.3
    q = info.class_entropy(t, MEANS3, VARS3, W3)
    mc, se = info.class_entropy_monte_carlo(t, MEANS3, VARS3, W3, n_samples=100_000, seed=11)
    assert se < 3e-3
    assert abs(mc - q) < 4 * se


def _brute_mc(t, model, n, seed, rate=False):
    """Monte Carlo in the full d dimensions with the closed-form posterior (no reduction)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(model.K, size=n, p=model.weights)
    g = model.gammas(t)
    x = cv.theta(t) * model.means[y] + np.sqrt(g[y])[:, None] * rng.standard_normal((n, model.d))
    p = model.posterior(x, t)
    if rate:
        sy = model.class_scores(x, t)
        s = np.einsum("bk,bkd->bd", p, sy)
        v = ((sy[np.arange(n), y] - s) ** 2).sum(1)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = -np.where(p > 0, p * np.log(p), 0.0).sum(1)
    return v.mean(), v.std(ddof=1) / math.sqrt(n)


def test_reduction_to_the_mean_line_in_d_dimensions():
    """Two classes in d = 20 with equal spread: the projected quadrature vs full-d Monte Carlo."""
    rng = np.random.default_rng(0)
    means = rng.standard_normal((2, 20)) * 0.4
    model = GaussianMixture(means, 0.5, [0.3, 0.7])
    for t in (0.2, 0.9):
        q = info.class_entropy(t, means, 0.5, [0.3, 0.7])
        mc, se = _brute_mc(t, model, 60_000, seed=5)
        assert abs(q - mc) < 4 * se
        r = info.entropy_rate(t, means, 0.5, [0.3, 0.7])
        mcr, ser = _brute_mc(t, model, 60_000, seed=6, rate=True)
        assert abs(r - mcr) < 4 * ser


def test_monte_carlo_general_case_vs_brute_force():
    """Unequal spreads in d = 3 (no reduction): class_entropy's Monte Carlo vs the test's."""
    means = np.array([[1.0, 0.0, 0.0], [-0.5, 0.8, 0.0], [0.0, -0.7, 0.5]])
    var, w = [0.1, 0.6, 0.3], [0.2, 0.5, 0.3]
    model = GaussianMixture(means, var, w)
    t = 0.5
    mc, se = info.class_entropy_monte_carlo(t, means, var, w, n_samples=60_000, seed=1)
    ref, se2 = _brute_mc(t, model, 60_000, seed=2)
    assert abs(mc - ref) < 4 * math.hypot(se, se2)
    assert info.class_entropy(t, means, var, w, n_samples=60_000, seed=1) == mc


def test_limits():
    # t = 0, well-separated classes: the label is known
    assert info.class_entropy(0.0, [[-5.0], [5.0]], 0.01) < 1e-12
    assert info.class_entropy(1e-3, [[-5.0], [5.0], [0.0]], 0.0) < 1e-12
    # t -> infinity: the entropy of the weights
    for w in ([0.5, 0.5], [0.1, 0.9], [0.2, 0.3, 0.5]):
        K = len(w)
        means = np.linspace(-2, 2, K)[:, None]
        hy = -sum(p * math.log(p) for p in w)
        assert abs(info.class_entropy(25.0, means, 0.3, w) - hy) < 1e-10
    # monotone decrease towards t = 0 and a positive rate
    ts = np.linspace(0.01, 4, 30)
    h = info.class_entropy(ts, MEANS3, VARS3, W3)
    assert np.all(np.diff(h) > 0)


def test_class_profiles_sum_to_the_totals():
    for t in (0.1, 0.7):
        H, r = info.class_profiles(t, MEANS3, VARS3, W3)
        assert abs(W3 @ H - info.class_entropy(t, MEANS3, VARS3, W3)) < 1e-12
        assert abs(W3 @ r - info.entropy_rate(t, MEANS3, VARS3, W3)) < 1e-12
    # classes that differ only in weight have different profiles
    H, _ = info.class_profiles(0.5, [[-1.0], [1.0]], 0.3, [0.2, 0.8])
    assert H[0] > H[1]


def test_class_entropy_rates_average_to_the_de_bruijn_rate():
    """1-d quadrature: sum_y pi_y dH_y/dt (central differences of the per-class profiles) equals
    the de Bruijn rate (an independent formula: expected squared score gap)."""
    ts = np.array([0.05, 0.3, 1.0, 2.5])
    ry = info.class_entropy_rates(ts, MEANS3, VARS3, W3)
    assert ry.shape == (4, 3)
    # truncation of the central difference in log t: ~h^2 = 1e-6 relative (times a smooth factor)
    np.testing.assert_allclose(ry @ W3, info.entropy_rate(ts, MEANS3, VARS3, W3), rtol=1e-5, atol=1e-9)
    # symmetric classes: each class's rate is the total
    r2 = info.class_entropy_rates(0.4, [[-1.0], [1.0]], 0.2)
    np.testing.assert_allclose(r2, info.entropy_rate(0.4, [[-1.0], [1.0]], 0.2), rtol=1e-6)


def _brute_class_rates(t, model, n, seed, h=1e-3):
    """Per-class dH_y/dt by this test's own Monte Carlo in the full d dimensions: the same
    standard normals at t e^{±h} (common random numbers), per-sample difference quotients;
    returns (mean (K,), s.e. (K,))."""
    rng = np.random.default_rng(seed)
    out, se = [], []
    for y in range(model.K):
        z = rng.standard_normal((n, model.d))
        vals = []
        for tt in (t * math.exp(h), t * math.exp(-h)):
            x = cv.theta(tt) * model.means[y] + math.sqrt(model.gammas(tt)[y]) * z
            p = model.posterior(x, tt)
            with np.errstate(divide="ignore", invalid="ignore"):
                vals.append(-np.where(p > 0, p * np.log(p), 0.0).sum(1))
        q = (vals[0] - vals[1]) / (t * (math.exp(h) - math.exp(-h)))
        out.append(q.mean())
        se.append(q.std(ddof=1) / math.sqrt(n))
    return np.array(out), np.array(se)


def test_class_entropy_rates_monte_carlo_vs_brute_force():
    """Unequal spreads in d = 3 (Monte Carlo branch): per-class rates against the test's own
    common-random-number Monte Carlo, within 4 combined s.e. (false failure ~6e-5 per class)."""
    means = np.array([[1.0, 0.0, 0.0], [-0.5, 0.8, 0.0], [0.0, -0.7, 0.5]])
    var, w = [0.1, 0.6, 0.3], [0.2, 0.5, 0.3]
    model = GaussianMixture(means, var, w)
    t = 0.4
    n = 40_000
    got = info.class_entropy_rates(t, means, var, w, n_samples=n, seed=3)
    # class_entropy_rates draws n * w_y points for class y: its s.e. from the same spread
    ref, se = _brute_class_rates(t, model, n, seed=4)
    se_got = se * np.sqrt(n / np.ceil(n * np.asarray(w)))
    assert np.all(np.abs(got - ref) < 4 * np.hypot(se, se_got))


def test_class_entropy_rates_bad_input():
    with pytest.raises(ValueError, match="rel_step"):
        info.class_entropy_rates(0.5, [[-1.0], [1.0]], 0.2, rel_step=0.5)
    with pytest.raises(ValueError):
        info.class_entropy_rates(0.0, [[-1.0], [1.0]], 0.2)


def test_information_transfer_window():
    means, var = [[-2.0], [2.0]], 0.1
    tp, lo, hi = info.information_transfer_window(means, var)
    r = lambda s: info.entropy_rate(s, means, var)  # noqa: E731
    peak = r(tp)
    for s in np.linspace(0.01, 6, 60):
        assert r(s) <= peak + 1e-12
    assert abs(r(lo) - 0.5 * peak) < 1e-8 and abs(r(hi) - 0.5 * peak) < 1e-8
    assert lo < tp < hi


def test_mixture_posterior_score_and_class_denoisers_against_independent_references():
    """Posterior by Bayes' rule with scipy's normal densities; the score is the posterior
    average of the class scores; the class denoisers are Tweedie's formula applied to the
    class log-density differentiated numerically."""
    from scipy.stats import multivariate_normal

    means = np.array([[1.0, 0.0, 2.0], [-1.0, 0.5, 0.0], [0.0, -1.0, 1.0]])
    var = np.array([0.09, 1.0, 0.36])
    w = np.array([0.2, 0.5, 0.3])
    gc = GaussianMixture(means, var, w)
    x = np.random.default_rng(1).standard_normal((9, 3))
    for t in (0.0, 0.4, 3.0):
        th, D = math.exp(-t), 1 - math.exp(-2 * t)
        dens = np.stack([w[k] * multivariate_normal(th * means[k], (D + var[k] * th * th) * np.eye(3)).pdf(x)
                         for k in range(3)], axis=1)
        np.testing.assert_allclose(info.posterior(x, t, means, var, w), dens / dens.sum(1, keepdims=True),
                                   rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(gc.score(x, t), np.einsum("bk,bkd->bd", gc.posterior(x, t), gc.class_scores(x, t)),
                                   rtol=1e-11, atol=1e-12)
        if t > 0:
            h = 1e-5
            for k in range(3):
                logp = multivariate_normal(th * means[k], (D + var[k] * th * th) * np.eye(3)).logpdf
                grad = np.stack([(logp(x + h * e) - logp(x - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
                np.testing.assert_allclose(gc.class_denoisers(x, t)[:, k], (x + D * grad) / th, rtol=1e-7, atol=1e-7)


def test_empirical_posterior_is_the_point_mass_mixture():
    data = np.array([[1.0, 0.5], [-1.0, 0.2], [0.3, -2.0]])
    labels = np.array([0, 1, 1])
    x = np.random.default_rng(0).standard_normal((7, 2))
    got = info.empirical_posterior(x, 0.4, data, labels)
    # class 1 has two points: the mixture with weights 1/3, 2/3 of point masses at their... the
    # direct formula: sum of softmax weights of the class points
    th, D = cv.theta(0.4), cv.delta(0.4)
    lw = -((x[:, None] - th * data[None]) ** 2).sum(-1) / (2 * D)
    w = np.exp(lw - lw.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    assert np.allclose(got, np.stack([w[:, 0], w[:, 1] + w[:, 2]], 1), atol=1e-14)
    # one point per class: identical to point-mass Gaussian classes
    gc = GaussianMixture(data[:2], 0.0)
    assert np.allclose(info.empirical_posterior(x, 0.4, data[:2], [0, 1]), gc.posterior(x, 0.4), atol=1e-14)
    h, se = info.empirical_class_entropy(0.4, data[:2], [0, 1], n_samples=40_000, seed=3)
    assert abs(h - info.class_entropy(0.4, data[:2], 0.0)) < 4 * se


def _trajectory(model, n_steps, seed=0, t_max=3.0, t_end=0.02, B=64):
    grid = process.time_grid(t_max, t_end, n_steps)
    x0 = np.random.default_rng(seed).standard_normal((B, model.d))
    return grid, sde.sample_path(model.score, x0, grid, seed=seed + 1).as_dict()


def _max_error(model, path, saved):
    return max(np.abs(path.posterior[i] - model.posterior(saved[float(tt)], float(tt))).max()
               for i, tt in enumerate(path.times))


def test_online_exact_kernel_equals_closed_form():
    model = GaussianMixture([[-1.0, 0.5], [1.0, 0.0], [0.0, -1.0]], [0.3, 0.1, 0.5], [0.2, 0.5, 0.3])
    grid, saved = _trajectory(model, 25)
    path = info.online_posterior(saved, model, kernel="exact")
    assert _max_error(model, path, saved) < 1e-9
    # started from the prior instead of the closed form: the update is multiplicative, so the
    # initial odds error is carried unchanged (the log-odds offset is constant along the path)
    path2 = info.online_posterior(saved, model, kernel="exact", initial=model.weights)
    closed = np.stack([model.posterior(saved[float(tt)], float(tt)) for tt in path2.times])
    off = np.log(path2.posterior) - np.log(closed)
    off -= off[..., :1]
    assert np.abs(off - off[:1]).max() < 1e-8 and np.abs(off[0]).max() > 1e-3


@pytest.mark.parametrize("kern", ["exponential", pytest.param("euler_maruyama", marks=pytest.mark.slow)])
def test_online_sampler_kernels_converge_to_closed_form(kern):
    model = GaussianMixture([[-1.0], [1.0]], [0.2, 0.05], [0.4, 0.6])
    errs = {}
    for n in (40, 320):
        grid, saved = _trajectory(model, n, seed=4, B=32)
        errs[n] = _max_error(model, info.online_posterior(saved, model, kernel=kern), saved)
    # weak first-order steppers; measured 0.031 -> 0.014 (exponential) and 0.058 -> 0.017
    # (Euler-Maruyama) on this seed, similar on seeds 3 and 5
    assert errs[320] < 0.025 and errs[320] < errs[40] / 1.5


def test_online_labelled_points():
    # one point per class: the exponential kernel is the exact reverse kernel
    pts = info.LabelledPoints([[-1.0, 0.0], [1.0, 1.0]], [0, 1])
    grid, saved = _trajectory(pts, 20, seed=4)
    assert _max_error(pts, info.online_posterior(saved, pts), saved) < 1e-9
    # several points per class: converges with the step
    rng = np.random.default_rng(7)
    data = np.concatenate([rng.normal(-1, 0.3, (6, 1)), rng.normal(1, 0.3, (6, 1))])
    lp = info.LabelledPoints(data, [0] * 6 + [1] * 6)
    grid, saved = _trajectory(lp, 200, seed=5, B=32)
    assert _max_error(lp, info.online_posterior(list(saved.items()), lp), saved) < 0.05


@pytest.mark.parametrize("call, name", [
    (lambda: info.class_entropy(-1.0, [[0.0], [1.0]], 1.0), "t"),
    (lambda: info.class_entropy(0.0, [[0.0], [1.0]], 0.0), "t"),
    (lambda: info.class_entropy(1.0, [0.0, 1.0], 1.0), "means"),
    (lambda: info.class_entropy(1.0, [[0.0], [1.0]], [1.0, -1.0]), "variances"),
    (lambda: info.class_entropy(1.0, [[0.0], [1.0]], 1.0, [0.5]), "weights"),
    (lambda: info.class_entropy(1.0, [[0.0], [1.0]], 1.0, n_samples=1), "n_samples"),
    (lambda: info.information_transfer_window([[0.0], [1.0]], 1.0, fraction=1.5), "fraction"),
    (lambda: info.empirical_posterior([[0.0]], 1.0, [[0.0], [1.0]], [0, -1]), "labels"),
    (lambda: info.online_posterior([(1.0, np.zeros((2, 1))), (2.0, np.zeros((2, 1)))],
                                   GaussianMixture([[0.0], [1.0]], 1.0)), "decreasing"),
    (lambda: info.online_posterior([(1.0, np.zeros((2, 1)))], GaussianMixture([[0.0]], 1.0),
                                   kernel="rk4"), "kernel"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ---------------------------------------------------------------------------------------
# dynamic negative guidance
# ---------------------------------------------------------------------------------------
def _three_classes():
    return GaussianMixture([[3.0, 0.0], [-1.5, 2.6], [-1.5, -2.6]], 0.1)


def test_negative_guidance_scale_zero_is_the_plain_sampler():
    from diffphase.numerics import sde

    gc = _three_classes()
    grid = process.time_grid(5.0, 1e-3, 80)
    x0 = np.random.default_rng(0).standard_normal((64, 2))
    ref = sde.sample(gc.score, x0, grid, seed=3)
    for mode in ("dynamic", "constant"):
        out = info.negative_guidance_sample(info.mixture_denoisers(gc, 0), x0, grid, 0.0, mode=mode,
                                            prior=1 / 3, seed=3)
        np.testing.assert_allclose(out.x, ref, rtol=0, atol=1e-10)


def test_tracked_posterior_follows_exact_posterior():
    # unguided chain, fine grid: the tracked p (Bayes ratio q_c/q with the Gaussian bridge of the
    # unconditional denoiser) stays close to the exact p(c | x_t) of the mixture

    gc = _three_classes()
    grid = process.time_grid(5.0, 1e-2, 400)
    x0 = np.random.default_rng(1).standard_normal((500, 2))
    out = info.negative_guidance_sample(info.mixture_denoisers(gc, 0), x0, grid, 0.0, prior=1 / 3,
                                        p_max=1 - 1e-9, seed=2)
    exact = gc.posterior(out.x, float(grid[-1]))[:, 0]
    assert np.mean(np.abs(out.p[-1] - exact)) < 0.03
    assert np.mean((out.p[-1] > 0.5) == (exact > 0.5)) > 0.98


def test_dynamic_guidance_removes_class_and_keeps_balance():
    # exact denoisers: the unwanted class almost never appears, the other two keep equal shares.
    # Balance: binomial test at 4 s.d. (false failure < 1e-4)

    gc = _three_classes()
    grid = process.time_grid(5.0, 1e-3, 100)
    n = 2000
    x0 = np.random.default_rng(4).standard_normal((n, 2))
    out = info.negative_guidance_sample(info.mixture_denoisers(gc, 0), x0, grid, 4.0, prior=1 / 3, seed=5)
    label = gc.posterior(out.x, 1e-3).argmax(1)
    assert np.mean(label == 0) < 0.005
    kept = label[label != 0]
    frac1 = np.mean(kept == 1)
    assert abs(frac1 - 0.5) < 4 * math.sqrt(0.25 / kept.size)
    assert np.all(out.weight >= 0) and np.all(out.p <= 0.99)
    # samples stay on the data: distance to the nearest class mean has the chi(2) * sqrt(0.1)
    # median sqrt(0.2 log 2) = 0.372; 2000 draws put the sample median within +-0.02 (4 s.d.)
    dist = np.min(np.linalg.norm(out.x[:, None, :] - gc.means[None], axis=2), axis=1)
    assert abs(np.median(dist) - math.sqrt(0.2 * math.log(2))) < 0.03
    # plain negative prompting at the same scale also removes the class but pushes samples off
    # the data (the failure dynamic guidance was designed to avoid)
    const = info.negative_guidance_sample(info.mixture_denoisers(gc, 0), x0, grid, 4.0, mode="constant",
                                          prior=1 / 3, seed=5)
    dist_c = np.min(np.linalg.norm(const.x[:, None, :] - gc.means[None], axis=2), axis=1)
    assert np.median(dist_c) > 10 * np.median(dist)


def test_negative_guidance_bad_input():
    gc = _three_classes()
    den = info.mixture_denoisers(gc, 0)
    x0 = np.zeros((3, 2))
    with pytest.raises(ValueError, match="mode"):
        info.negative_guidance_sample(den, x0, [2.0, 1.0], 1.0, mode="linear")
    with pytest.raises(ValueError, match="scale"):
        info.negative_guidance_sample(den, x0, [2.0, 1.0], -1.0)
    with pytest.raises(ValueError, match="prior"):
        info.negative_guidance_sample(den, x0, [2.0, 1.0], 1.0, prior=1.0)
    with pytest.raises(ValueError, match="times"):
        info.negative_guidance_sample(den, x0, [1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="unwanted"):
        info.mixture_denoisers(gc, 3)
