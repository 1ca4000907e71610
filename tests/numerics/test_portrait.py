"""The phase portrait and its streaming kernel against independent computations on small data:
eigenvalues by numpy.linalg.eigvalsh, the excess entropy, t_C and H(Y|X_t) by a direct
O(B n d) evaluation with the same Monte Carlo draws (and scipy's brentq for the roots),
class-pair times by hand, DDPM steps from the schedule's own alpha-bar."""

import json
import math

import numpy as np
import pytest
from scipy import optimize
from scipy.special import logsumexp

from diffphase.numerics import empirical as em
from diffphase.numerics import manifold
from diffphase.numerics import portrait as pt


# --------------------------------------------------------------------------------------
# independent references
# --------------------------------------------------------------------------------------
def _draws(n, d, B, seed):
    """The Monte Carlo draws of NoisedQueries / excess_entropy, reproduced with numpy."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=B), rng.standard_normal((B, d))


def _log_weights(X, idx, z, t):
    """u[b, mu] = -|x_b - e^-t a_mu|^2 / 2 Delta with x_b = e^-t a_{idx_b} + sqrt(Delta) z_b."""
    th, D = math.exp(-t), -math.expm1(-2 * t)
    x = th * X[idx] + math.sqrt(D) * z
    return -((x[:, None, :] - th * X[None]) ** 2).sum(-1) / (2 * D)


def _brute_f(X, idx, z, t, leave_one_out=True):
    """Per-sample excess entropy, direct: 1/2 + (1/d) log sum_mu exp(u)."""
    u = _log_weights(X, idx, z, t)
    if leave_one_out:
        u[np.arange(len(idx)), idx] = -np.inf
    return 0.5 + logsumexp(u, axis=1) / X.shape[1]


def _brute_H(X, y, idx, z, t):
    """Per-sample entropy of the empirical class posterior (own point included)."""
    u = _log_weights(X, idx, z, t)
    K = y.max() + 1
    lc = np.stack([logsumexp(np.where(y[None] == k, u, -np.inf), axis=1) for k in range(K)], axis=1)
    logp = lc - logsumexp(lc, axis=1, keepdims=True)
    p = np.exp(logp)
    return -np.where(p > 0, p * logp, 0.0).sum(1)


def _brute_root(X, idx, z):
    """Last upward zero of the mean leave-one-out excess entropy: scan a log grid, then brentq."""
    grid = np.geomspace(1e-3, 10, 60)
    f = np.array([_brute_f(X, idx, z, t).mean() for t in grid])
    k = np.nonzero((f[:-1] < 0) & (f[1:] >= 0))[0][-1]
    return optimize.brentq(lambda t: _brute_f(X, idx, z, t).mean(), grid[k], grid[k + 1], xtol=1e-12)


def _schedule_steps():
    """OU times of the linear-beta T = 1000 DDPM steps from the schedule's own alpha-bar."""
    betas = np.linspace(1e-4, 2e-2, 1000)
    alpha_bar = np.concatenate([[1.0], np.cumprod(1.0 - betas)])
    return -0.5 * np.log(alpha_bar)


@pytest.fixture(scope="module")
def labelled():
    rng = np.random.default_rng(7)
    means = np.array([[6.0, 0, 0, 0, 0], [0, 5.0, 0, 0, 0], [-5.0, -5.0, 0, 0, 0]])  # separated classes
    y = rng.integers(0, 3, 360)
    X = means[y] + rng.standard_normal((360, 5)) * np.array([1.0, 0.8, 0.6, 0.5, 0.3])
    return X + 5.0, y  # an offset: nothing may depend on it


@pytest.fixture(scope="module")
def labelled_portrait(labelled):
    X, y = labelled
    return pt.portrait(X, y, n_samples=200, levels=3, seed=3, n_directions=5)


# --------------------------------------------------------------------------------------
# the streaming kernel (numerics.empirical additions)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk", [None, 7, 64])
def test_noised_queries_excess_entropy_direct(chunk):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((250, 6)) * 1.4
    times = [0.02, 0.3, 1.0, 4.0]
    q = em.NoisedQueries(em.EmpiricalScore(X, chunk_size=chunk), n_samples=70, seed=5)
    idx, z = _draws(250, 6, 70, 5)
    np.testing.assert_array_equal(q.idx, idx)
    ls = q.log_sums(times)
    for j, t in enumerate(times):
        np.testing.assert_allclose(ls.excess_entropy_samples(True)[j], _brute_f(X, idx, z, t), rtol=0, atol=1e-12)
        np.testing.assert_allclose(ls.excess_entropy_samples(False)[j], _brute_f(X, idx, z, t, False),
                                   rtol=0, atol=1e-12)
    # the same estimator as excess_entropy (same draws), both inclusive and leave-one-out
    ref = em.excess_entropy(X, times, n_samples=70, seed=5, leave_one_out=True)
    np.testing.assert_allclose(q.excess_entropy(times).f, ref.f, atol=1e-12)
    np.testing.assert_allclose(q.excess_entropy(times).stderr, ref.stderr, atol=1e-12)


def test_noised_queries_float32():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 8))
    q = em.NoisedQueries(em.EmpiricalScore(X, dtype=np.float32, chunk_size=64), n_samples=100, seed=2)
    idx, z = _draws(300, 8, 100, 2)
    got = q.log_sums([0.05, 0.5, 2.0]).excess_entropy_samples()
    for j, t in enumerate([0.05, 0.5, 2.0]):
        ref = _brute_f(X, idx, z.astype(np.float32).astype(np.float64), t)
        assert np.abs(got[j] - ref).max() < 2e-6   # float32 logits: relative 1e-7 of |logits| / d


@pytest.mark.parametrize("sort", [True, False])
@pytest.mark.parametrize("threads", [1, 2])
def test_noised_queries_class_entropy_direct(sort, threads):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 4)) + 2.0 * rng.integers(0, 2, (200, 1))
    y = rng.integers(0, 4, 200)
    if sort:
        o = np.argsort(y, kind="stable")
        X, y = X[o], y[o]
    q = em.NoisedQueries(em.EmpiricalScore(X, chunk_size=33), n_samples=130, seed=4)
    idx, z = _draws(200, 4, 130, 4)
    ls = q.log_sums([0.05, 0.4, 1.5, 6.0], labels=y, threads=threads)
    H = ls.class_entropy_samples()
    for j, t in enumerate([0.05, 0.4, 1.5, 6.0]):
        np.testing.assert_allclose(H[j], _brute_H(X, y, idx, z, t), atol=1e-11)
    # per-class sums add up to the total
    np.testing.assert_allclose(np.logaddexp.reduce(ls.classes, axis=2), ls.other, atol=1e-11)
    # at large t the posterior is the class frequencies
    p = np.bincount(y, minlength=4) / 200
    assert abs(H[-1].mean() - float(-(p * np.log(p)).sum())) < 1e-3


def test_noised_queries_bad_input():
    eng = em.EmpiricalScore(np.random.default_rng(0).standard_normal((20, 3)))
    with pytest.raises(ValueError, match="engine"):
        em.NoisedQueries(np.zeros((20, 3)))
    q = em.NoisedQueries(eng, n_samples=5)
    with pytest.raises(ValueError, match="t must be > 0"):
        q.log_sums([0.0, 1.0])
    with pytest.raises(ValueError, match="labels"):
        q.log_sums([1.0], labels=np.zeros(19, dtype=int))
    with pytest.raises(ValueError, match="class entropy needs labels"):
        q.log_sums([1.0]).class_entropy_samples()


def test_top_eigenvalues_against_eigvalsh():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1500, 300)) * np.linspace(3, 0.5, 300)
    ref = np.linalg.eigvalsh(np.cov(X.T, bias=True))[::-1]
    for method in ("covariance", "gram", "lanczos", "auto"):
        np.testing.assert_allclose(em.top_eigenvalues(X, 5, method=method), ref[:5], rtol=1e-9)
    np.testing.assert_allclose(em.top_eigenvalues(X, 1)[0], em.top_eigenvalue(X), rtol=1e-9)
    np.testing.assert_allclose(em.symmetric_top_eigenvalues(np.cov(X.T, bias=True), 7), ref[:7], rtol=1e-9)
    np.testing.assert_allclose(em.covariance(X.astype(np.float32)), np.cov(X.T, bias=True), rtol=0,
                               atol=2e-5 * ref[0])


def test_gram_path_and_large_d_portrait():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((40, 300))
    ref = np.linalg.eigvalsh(np.cov(X.T, bias=True))[::-1]
    got = em.top_eigenvalues(X, 45, method="gram")   # rank 39: the rest are 0
    np.testing.assert_allclose(got[:39], ref[:39], rtol=1e-9)
    assert np.all(got[40:] == 0) and abs(got[39]) < 1e-9
    # d > 4096: spectrum from the Gram matrix, class pairs from each pair's rows
    X = rng.standard_normal((60, 4200)).astype(np.float32)
    X[:30, :3] += 2.0
    y = np.repeat([0, 1, 2], 20)
    p = pt.portrait(X, y, n_samples=30, levels=1, n_spectrum=5)
    s = np.linalg.svd(X.astype(np.float64) - X.mean(0), compute_uv=False) ** 2 / 60
    np.testing.assert_allclose(p.eigenvalues, s[:10], rtol=1e-5)   # n_spectrum is at least n_directions
    for (a, b), lam in zip(p.pairs, p.pair_eigenvalues):
        Xa = X[(y == a) | (y == b)].astype(np.float64)
        assert lam == pytest.approx(np.linalg.svd(Xa - Xa.mean(0), compute_uv=False)[0] ** 2 / len(Xa), rel=1e-5)


# --------------------------------------------------------------------------------------
# root finding
# --------------------------------------------------------------------------------------
def test_bracket_root_against_brentq():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 5))
    idx, z = _draws(300, 5, 150, 11)
    q = em.NoisedQueries(em.EmpiricalScore(X), n_samples=150, seed=11)
    calls = []

    def evaluate(ts):
        calls.append(len(ts))
        return q.log_sums(ts).excess_entropy_samples()

    root = pt.bracket_root(evaluate, guess=2.0)
    ref = _brute_root(X, idx, z)
    assert root.bracket[0] <= ref <= root.bracket[1]
    assert root.bracket[1] / root.bracket[0] - 1 <= 0.02
    assert abs(root.t - ref) <= 2e-4 * ref          # interpolation inside a 2 % bracket
    assert root.passes == len(calls) <= 5   # bracket, one extension, three multisections
    assert 0 < root.stderr < 0.2 * ref
    # a far-off guess is extended to a bracket
    far = pt.bracket_root(evaluate, guess=40.0)
    assert abs(far.t - ref) <= 2e-4 * ref
    # no crossing: a curve that never becomes negative
    none = pt.bracket_root(lambda ts: np.ones((len(ts), 3)) + np.arange(3), guess=1.0, max_passes=3)
    assert math.isnan(none.t) and "no upward zero crossing" in none.message


# --------------------------------------------------------------------------------------
# the portrait, number by number
# --------------------------------------------------------------------------------------
def test_spectrum_and_thresholds(labelled, labelled_portrait):
    X, y = labelled
    p = labelled_portrait
    ref = np.linalg.eigvalsh(np.cov(X.T, bias=True))[::-1]
    np.testing.assert_allclose(p.eigenvalues, ref, rtol=1e-10)
    assert p.Lambda == pytest.approx(ref[0], rel=1e-10)
    assert p.t_S == pytest.approx(0.5 * math.log(ref[0]), rel=1e-10)
    np.testing.assert_allclose(p.direction_times, 0.5 * np.log(ref), rtol=1e-10)
    assert p.alpha == pytest.approx(math.log(360) / 5)
    # thresholds: the manifold reconstruction with all d directions
    np.testing.assert_allclose(p.thresholds, manifold.critical_times(ref, 360), rtol=1e-10)
    assert p.mean_variance == pytest.approx(ref.sum() / 5, rel=1e-10)


def test_class_pair_times_by_hand(labelled, labelled_portrait):
    X, y = labelled
    p = labelled_portrait
    assert list(p.classes) == [0, 1, 2] and list(p.class_counts) == list(np.bincount(y))
    assert [tuple(r) for r in p.pairs] == [(0, 1), (0, 2), (1, 2)]
    for (a, b), lam, t in zip(p.pairs, p.pair_eigenvalues, p.pair_times):
        sel = (y == a) | (y == b)
        Xa = X[sel]
        C = (Xa - Xa.mean(0)).T @ (Xa - Xa.mean(0)) / sel.sum()
        by_hand = np.linalg.eigvalsh(C)[-1]
        assert lam == pytest.approx(by_hand, rel=1e-10)
        assert t == pytest.approx(0.5 * math.log(by_hand), rel=1e-10)


def test_class_pairs_lanczos_path_and_string_labels():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((120, 300))
    X[:60, 0] += 4.0
    y = np.array(["cat"] * 60 + ["dog"] * 30 + ["emu"] * 30)
    classes, yi = pt._check_labels(y, 120)
    assert list(classes) == ["cat", "dog", "emu"]
    pairs, vals = pt.class_pair_eigenvalues(X, yi, 3, max_scatter_bytes=0)  # per-pair Lanczos on rows
    pairs2, vals2 = pt.class_pair_eigenvalues(X, yi, 3)                      # scatter matrices
    for (a, b), v, v2 in zip(pairs, vals, vals2):
        sel = (yi == a) | (yi == b)
        ref = np.linalg.eigvalsh(np.cov(X[sel].T, bias=True))[-1]
        assert v == pytest.approx(ref, rel=1e-8) and v2 == pytest.approx(ref, rel=1e-8)


def _sorted_centred(X, y):
    Xc = X - X.mean(0)
    o = np.argsort(y, kind="stable")
    return Xc[o], y[o]


def test_excess_entropy_and_collapse_direct(labelled, labelled_portrait):
    X, y = labelled
    p = labelled_portrait
    Xs, ys = _sorted_centred(X, y)
    n, d = Xs.shape
    # full data: the evaluated curve, point by point, and its root
    idx, z = _draws(n, d, 200, p.query_seeds[0])
    for t, f, se in zip(p.entropy_t, p.entropy_f, p.entropy_stderr):
        v = _brute_f(Xs, idx, z, t)
        assert f == pytest.approx(v.mean(), abs=1e-10)
        assert se == pytest.approx(v.std(ddof=1) / math.sqrt(200), rel=1e-8)
    ref = _brute_root(Xs, idx, z)
    assert p.t_C == pytest.approx(ref, rel=2e-4)
    assert 0 < p.t_C_stderr < 0.1 * p.t_C
    # nested subsample k = 1: rows perm[:n_1] of the sorted data
    assert list(p.sizes) == [360, 180, 90]
    perm = np.random.default_rng(3).permutation(n)
    sub = Xs[perm[:180]]
    idx1, z1 = _draws(180, d, 200, p.query_seeds[1])
    assert p.sizes_t_C[1] == pytest.approx(_brute_root(sub, idx1, z1), rel=2e-4)
    sub2 = Xs[perm[:90]]
    idx2, z2 = _draws(90, d, 200, p.query_seeds[2])
    assert p.sizes_t_C[2] == pytest.approx(_brute_root(sub2, idx2, z2), rel=2e-4)


def test_class_entropy_direct(labelled, labelled_portrait):
    X, y = labelled
    p = labelled_portrait
    Xs, ys = _sorted_centred(X, y)
    idx, z = _draws(360, 5, 200, p.query_seeds[0])
    for t, h, se in zip(p.class_entropy_t, p.class_entropy, p.class_entropy_stderr):
        v = _brute_H(Xs, ys, idx, z, t)
        assert h == pytest.approx(v.mean(), abs=1e-10)
        assert se == pytest.approx(v.std(ddof=1) / math.sqrt(200), rel=1e-6, abs=1e-12)
    freq = np.bincount(y) / 360
    assert p.label_entropy == pytest.approx(-(freq * np.log(freq)).sum())
    # steepest descent: maximum of dH/dt over t >= t_C of the direct evaluation on a fine grid,
    # and the contiguous interval around it where the rate exceeds half the maximum
    grid = np.geomspace(p.t_C, p.class_entropy_t[-1], 400)
    Hg = np.array([_brute_H(Xs, ys, idx, z, t).mean() for t in grid])
    rate = np.gradient(Hg, grid)
    i = int(np.argmax(rate))
    assert p.t_info == pytest.approx(grid[i], rel=0.05)
    assert p.info_rate == pytest.approx(rate[i], rel=0.05)
    lo, hi = i, i
    while lo > 0 and rate[lo - 1] >= 0.5 * rate[i]:
        lo -= 1
    while hi < grid.size - 1 and rate[hi + 1] >= 0.5 * rate[i]:
        hi += 1
    assert p.info_window[0] == pytest.approx(grid[lo], rel=0.05)
    assert p.info_window[1] == pytest.approx(grid[hi], rel=0.05)
    assert p.t_C < p.info_window[0] < p.t_info < p.info_window[1]


def test_ddpm_steps_and_ve_sigma(labelled_portrait):
    tk = _schedule_steps()
    rows = labelled_portrait.key_times()
    assert len(rows) >= 6
    for r in rows:
        t = r["t"]
        if 0 <= t <= tk[-1]:
            assert r["step"] == int(np.argmin(np.abs(tk - t)))
            assert r["sigma"] == pytest.approx(math.sqrt(math.exp(2 * t) - 1), rel=1e-12)
    d = labelled_portrait.to_dict()
    for name in ("pair_times", "sizes_t_C", "direction_times", "thresholds"):
        for t, k, s in zip(d[name], d["ddpm_steps"][name], d["ve_sigma"][name]):
            assert k == (int(np.argmin(np.abs(tk - t))) if 0 <= t <= tk[-1] else None)
            assert s == (pytest.approx(math.sqrt(math.expm1(2 * t)), rel=1e-12) if t >= 0 else None)
    assert pt.ddpm_step(tk[-1] + 0.01) is None and pt.ddpm_step(-0.1) is None
    assert pt.ddpm_step(tk[400]) == 400 and pt.ve_sigma(-1.0) is None


def test_scales():
    rng = np.random.default_rng(6)
    raw = rng.integers(0, 256, (300, 10)).astype(np.uint8)
    lam = np.linalg.eigvalsh(np.cov(raw.T.astype(float), bias=True))[-1]
    for scale, factor in (("none", 1.0), ("unit-interval", 1 / 255), ("minus-one-one", 2 / 255)):
        Y, text = pt.apply_scale(raw, scale, value_range=(0, 255))
        assert text.startswith(scale)
        assert np.linalg.eigvalsh(np.cov(Y.T, bias=True))[-1] == pytest.approx(lam * factor**2, rel=1e-10)
    Y, text = pt.apply_scale(raw, "standardize")
    assert abs(Y.mean()) < 1e-12 and Y.std() == pytest.approx(1.0)
    Y, text = pt.apply_scale(raw, "minus-one-one")        # data min/max by default
    assert Y.min() == -1.0 and Y.max() == 1.0 and "minimum and maximum" in text
    with pytest.raises(ValueError, match="scale must be one of none, standardize"):
        pt.apply_scale(raw, "pm1")
    with pytest.raises(ValueError, match="value_range"):
        pt.apply_scale(raw, "unit-interval", value_range=(0, "x"))
    with pytest.raises(ValueError, match="hi > lo"):
        pt.apply_scale(raw, "unit-interval", value_range=(3, 3))


def test_negative_speciation_time_is_explained():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((200, 6)) * 0.3
    p = pt.portrait(X, n_samples=50, levels=2)
    assert p.Lambda < 1 and p.t_S < 0
    text = p.to_markdown()
    assert "never speciates at positive OU time" in text and "1/√Λ" in text
    assert "— (t < 0)" in text and "Scale: none" in text
    assert pt.portrait(X * 10, n_samples=50, levels=2).t_S == pytest.approx(p.t_S + math.log(10), rel=1e-9)


def test_translation_invariance(labelled):
    X, y = labelled
    a = pt.portrait(X, y, n_samples=60, levels=2, seed=1)
    b = pt.portrait(X - 5.0, y, n_samples=60, levels=2, seed=1)
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, rtol=1e-9)
    np.testing.assert_allclose(a.sizes_t_C, b.sizes_t_C, rtol=1e-9)
    np.testing.assert_allclose(a.class_entropy, b.class_entropy, atol=1e-9)


def test_rendering_does_not_dump_arrays(labelled_portrait):
    p = labelled_portrait
    r = repr(p)
    assert r.startswith("Portrait(n=360, d=5, classes=3") and len(r) < 250 and "[" not in r
    md = p.to_markdown()
    for head in ("*Times*", "*Leading directions*", "Collapse time against training-set size",
                 "Class-pair speciation", "Leave-one-out excess entropy", "[reconstruction]"):
        assert head in md
    assert md.count("\n| ") >= 20
    h = p._repr_html_()
    assert h.count("<table>") == 5 and "<details>" in h and "&lt;" not in h.split("<table>")[0][:0] + "x"
    json.dumps(p.to_dict(), allow_nan=True)  # plain Python throughout
    assert p.to_dict()["key_times"][0]["quantity"].startswith("speciation")


def test_deterministic(labelled):
    X, y = labelled
    a = pt.portrait(X, y, n_samples=40, levels=2, seed=9)
    b = pt.portrait(X, y, n_samples=40, levels=2, seed=9)
    assert a.t_C == b.t_C and a.t_info == b.t_info


@pytest.mark.parametrize("X, labels, match", [
    (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), None, "X must be finite; it contains NaN or inf"),
    (np.array([[0.0, np.inf], [1.0, 2.0]]), None, "NaN or inf"),
    (np.ones((1, 3)), None, "n >= 2 rows"),
    (np.ones((5, 3)), None, "X is constant"),
    (np.arange(10.0), None, r"shape \(n, d\)"),
    (np.zeros((4, 2, 2)), None, r"flatten images"),
    (np.array([["a", "b"], ["c", "d"]]), None, "X must hold numbers"),
    (np.random.default_rng(0).standard_normal((6, 2)), [0, 1, 0], "labels must be a 1-d array of length n = 6"),
    (np.random.default_rng(0).standard_normal((6, 2)), [3] * 6, "at least 2 classes"),
    (np.random.default_rng(0).standard_normal((4, 2)), [0.5, 1, 0, 1], "non-integer floats"),
    (np.random.default_rng(0).standard_normal((4, 2)), [[0, 1], [0, 1]], "1-d array"),
])
def test_bad_input(X, labels, match):
    with pytest.raises(ValueError, match=match):
        pt.portrait(X, labels, n_samples=10, levels=1)


def test_bad_parameters():
    X = np.random.default_rng(0).standard_normal((30, 3))
    with pytest.raises(ValueError, match="n_samples must be >= 10"):
        pt.portrait(X, n_samples=3)
    with pytest.raises(ValueError, match="scale must be one of"):
        pt.portrait(X, scale="pm1")
    with pytest.raises(ValueError, match="dtype"):
        pt.portrait(X, dtype=np.int32)


def test_overlapping_classes_window_reaches_t_C():
    # two classes that overlap: the empirical class entropy falls to 0 only by memorization,
    # so the steepest descent above t_C sits at t_C and the portrait says so
    rng = np.random.default_rng(10)
    y = rng.integers(0, 2, 300)
    X = rng.standard_normal((300, 3)) + 0.3 * y[:, None]
    p = pt.portrait(X, y, n_samples=100, levels=1)
    assert p.info_window[0] == pytest.approx(p.t_C, rel=1e-6)
    assert any("Class information and memorization overlap" in s for s in p.notes)
