"""Belief propagation and posterior sampling vs brute-force enumeration of the posterior.

The reference enumerates the grammar with its own loop (not RHM.enumerate) and weighs every
datum by its leaf likelihood; marginals must agree to 1e-10 in float64.
"""

import itertools

import numpy as np
import pytest
from scipy import stats

from diffphase.numerics.rhm import (NEG_LOG_EVIDENCE, RHM, belief_propagation, get_process,
                                    posterior_sample)
from diffphase.numerics.rhm import bp as bp_module



@pytest.fixture(autouse=True, params=["torch", "numba"])
def kernels(request, monkeypatch):
    """Every test runs with the torch kernels of the linear-domain path and, when numba is
    installed (the optional ``fast`` extra), with the numba kernels."""
    monkeypatch.setattr(bp_module, "_USE_NUMBA", request.param == "numba")
    if request.param == "numba" and bp_module._numba_kernels() is None:
        pytest.skip("numba is not installed")
    return request.param


# (v, m, s, L, n_classes)
TINY = [
    (3, 2, 2, 2, None),
    (4, 2, 2, 3, None),
    (3, 3, 2, 3, None),
    (4, 3, 2, 2, 2),
    (2, 2, 3, 2, None),
    (3, 2, 3, 2, None),
    (2, 3, 3, 2, None),
]


def brute_force_trees(rhm):
    """All data with their trees, by explicit recursion over rule choices."""
    s = rhm.s
    out = []

    def expand(level, nodes, history):
        if level == rhm.L:
            out.append(history)
            return
        options = [[tuple(rhm.rules[level][a, r]) for r in range(rhm.m)] for a in nodes]
        for choice in itertools.product(*options):
            children = [b for tup in choice for b in tup]
            assert len(children) == len(nodes) * s
            expand(level + 1, children, history + [children])

    for c in range(rhm.n_classes):
        expand(0, [c], [[c]])
    return [[np.array(lv) for lv in tree] for tree in out]


def brute_force_posterior(rhm, trees, evidence_row):
    """Exact marginals at every level and log p(evidence), from explicit sums."""
    leaves = np.array([t[-1] for t in trees])
    like = np.prod(evidence_row[np.arange(rhm.d)[None, :], leaves], axis=1)
    prior = 1.0 / len(trees)
    z = like.sum() * prior
    post = like / like.sum() if like.sum() > 0 else None
    margs = []
    for l in range(rhm.L + 1):
        A = rhm.n_classes if l == 0 else rhm.v
        M = np.zeros((rhm.s**l, A))
        if post is not None:
            for w, t in zip(post, trees):
                M[np.arange(rhm.s**l), t[l]] += w
        margs.append(M)
    return margs, (np.log(z) if z > 0 else -np.inf), post


@pytest.mark.parametrize("params", TINY)
def test_marginals_match_enumeration(params):
    v, m, s, L, nc = params
    rhm = RHM(v, m, s, L, n_classes=nc, seed=11)
    trees = brute_force_trees(rhm)
    assert len(trees) == rhm.n_data
    rng = np.random.default_rng(5)
    n = 6
    ev = rng.random((n, rhm.d, v)) ** 3 + 1e-3  # generic positive evidence
    leaves, _ = rhm.sample(2, seed=3)
    ev[-2:] = get_process("uniform", v).evidence(get_process("uniform", v).noise(leaves, 0.4, seed=1), 0.4)
    res = belief_propagation(rhm, ev)
    assert res.consistent.all()
    for k in range(n):
        margs, logz, _ = brute_force_posterior(rhm, trees, ev[k])
        assert res.log_evidence[k] == pytest.approx(logz, abs=1e-10)
        for l in range(L + 1):
            np.testing.assert_allclose(res.marginals[l][k], margs[l], rtol=0, atol=1e-10)


def test_marginals_float32_close_to_float64(kernels):
    rhm = RHM(5, 3, 2, 4, seed=2)
    assert (bp_module._Engine(rhm, np.float32, log=False).nb is not None) == (kernels == "numba")
    leaves, _ = rhm.sample(20, seed=0)
    p = get_process("uniform", 5)
    ev = p.evidence(p.noise(leaves, 0.5, seed=1), 0.5)
    r64 = belief_propagation(rhm, ev)
    r32 = belief_propagation(rhm, ev.astype(np.float32), dtype=np.float32)
    assert r32.marginals[0].dtype == np.float32
    for a, b in zip(r64.marginals, r32.marginals):
        np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(r64.log_evidence, r32.log_evidence, rtol=1e-5)


def test_chunking_does_not_change_results(monkeypatch):
    rhm = RHM(4, 2, 2, 4, seed=3)
    leaves, _ = rhm.sample(30, seed=0)
    p = get_process("masking", 4)
    ev = p.evidence(p.noise(leaves, 0.6, seed=1), 0.6)
    ref = belief_propagation(rhm, ev)
    ref_s = posterior_sample(rhm, ev, seed=9)
    monkeypatch.setattr(bp_module, "_CHUNK_BYTES", 1)  # one sample per chunk
    monkeypatch.setattr(bp_module, "_BLOCK_COLS", 3)
    res = belief_propagation(rhm, ev)
    for a, b in zip(ref.marginals, res.marginals):
        np.testing.assert_allclose(a, b, atol=1e-13)
    smp = posterior_sample(rhm, ev, seed=9)
    for a, b in zip(ref_s[1], smp[1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("params,seed", [((3, 2, 2, 2, None), 1), ((2, 2, 3, 2, None), 2),
                                         ((4, 2, 2, 3, None), 3)])
def test_posterior_sample_chi_square(params, seed):
    """Sample frequencies of whole data vs exact posterior probabilities.

    Pearson chi-square over data with expected count >= 5 (the rest pooled into one bin);
    the test fails if p < 1e-4, so its false-failure rate is 1e-4 per case (fixed seeds make
    the outcome deterministic).
    """
    v, m, s, L, nc = params
    rhm = RHM(v, m, s, L, n_classes=nc, seed=seed)
    trees = brute_force_trees(rhm)
    rng = np.random.default_rng(seed)
    ev_row = rng.random((rhm.d, v)) ** 2 + 0.05
    _, _, post = brute_force_posterior(rhm, trees, ev_row)
    n_draw = 20000
    leaves, levels = posterior_sample(rhm, np.repeat(ev_row[None], n_draw, axis=0), seed=seed)
    # every sampled tree is a tree of the grammar
    parsed = rhm.parse(leaves)
    for a, b in zip(parsed, levels):
        np.testing.assert_array_equal(a, b)
    index = {tuple(t[-1]): i for i, t in enumerate(trees)}
    counts = np.bincount([index[tuple(x)] for x in leaves], minlength=len(trees))
    expected = post * n_draw
    big = expected >= 5
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    pval = stats.chisquare(obs, exp).pvalue
    assert pval > 1e-4


def test_posterior_sample_reproducible_and_float32():
    rhm = RHM(6, 3, 2, 5, seed=0)
    leaves, _ = rhm.sample(50, seed=1)
    p = get_process("uniform", 6)
    ev = p.evidence(p.noise(leaves, 0.3, seed=2), 0.3)
    a = posterior_sample(rhm, ev, seed=4)
    b = posterior_sample(rhm, ev, seed=4)
    c = posterior_sample(rhm, ev.astype(np.float32), seed=4, dtype=np.float32)
    np.testing.assert_array_equal(a[0], b[0])
    assert (a[0] == c[0]).mean() > 0.99  # float32 inverse-CDF boundaries may differ rarely
    for lv, parsed in zip(a[1], rhm.parse(a[0])):
        np.testing.assert_array_equal(lv, parsed)


# --- stability ---------------------------------------------------------------------------
def test_uniform_evidence_gives_prior():
    rhm = RHM(4, 2, 2, 3, seed=1)
    ev = np.ones((3, rhm.d, rhm.v))
    res = belief_propagation(rhm, ev)
    np.testing.assert_allclose(res.log_evidence, 0.0, atol=1e-12)  # sum_x P(x) * 1
    trees = brute_force_trees(rhm)
    margs, _, _ = brute_force_posterior(rhm, trees, ev[0])
    for l in range(rhm.L + 1):
        np.testing.assert_allclose(res.marginals[l][1], margs[l], atol=1e-12)
    np.testing.assert_allclose(res.marginals[0], 1 / rhm.n_classes, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_peaked_evidence(dtype):
    """One-hot evidence of a datum (zeros elsewhere) and evidence with 1e-300 / 1e-40 tails."""
    rhm = RHM(8, 4, 3, 3, seed=0)
    leaves, levels = rhm.sample(5, seed=2)
    onehot = np.eye(rhm.v)[leaves]
    tiny = np.where(onehot > 0, 1.0, 1e-300 if dtype == np.float64 else 1e-40)
    for ev in (onehot, tiny):
        res = belief_propagation(rhm, ev.astype(dtype), dtype=dtype)
        assert res.consistent.all()
        for l in range(rhm.L + 1):
            assert np.all(np.isfinite(res.marginals[l]))
            np.testing.assert_allclose(res.marginals[l], np.eye(rhm.n_symbols(l))[levels[l]], atol=1e-6)
        np.testing.assert_allclose(res.log_evidence, -np.log(float(rhm.n_data)), rtol=1e-6)
        x, lv = posterior_sample(rhm, ev.astype(dtype), seed=0, dtype=dtype)
        np.testing.assert_array_equal(x, leaves)


def test_underflow_falls_back_to_log_domain():
    """Three sibling leaves peaked (tails 1e-25) on a triple of which no rule matches two
    positions: every product is <= 1e-50 and underflows in float32. The fast path must flag
    the sample and recompute it exactly in the log domain (compared with brute force)."""
    rhm = RHM(8, 2, 3, 2, seed=4)
    trees = brute_force_trees(rhm)
    R = rhm.rules[1].reshape(-1, 3)
    pairs = {(i, j, t[i], t[j]) for t in R for i in range(3) for j in range(i + 1, 3)}
    triple = next(t for t in itertools.product(range(8), repeat=3)
                  if not any((i, j, t[i], t[j]) in pairs for i in range(3) for j in range(i + 1, 3)))
    rng = np.random.default_rng(0)
    ev = rng.random((2, rhm.d, rhm.v)) + 0.1
    ev[:, :3, :] = 1e-25
    ev[:, [0, 1, 2], list(triple)] = 1.0
    fast = bp_module._Engine(rhm, np.float32, log=False)
    assert fast.upward(ev.astype(np.float32))[3].all()  # the fast path does underflow here
    r32 = belief_propagation(rhm, ev.astype(np.float32), dtype=np.float32)
    for k in range(2):
        margs, logz, _ = brute_force_posterior(rhm, trees, ev[k])
        assert np.isfinite(logz) and r32.consistent[k]
        assert r32.log_evidence[k] == pytest.approx(logz, rel=1e-6)
        for l in range(rhm.L + 1):
            np.testing.assert_allclose(r32.marginals[l][k], margs[l], atol=1e-5)
    x, lv = posterior_sample(rhm, ev.astype(np.float32), seed=0, dtype=np.float32)
    for a, b in zip(rhm.parse(x), lv):
        np.testing.assert_array_equal(a, b)


def test_contradicting_evidence():
    """Evidence impossible under the grammar: prior marginals, NEG_LOG_EVIDENCE, flag False,
    no NaN/inf; the other rows of the batch are unaffected."""
    rhm = RHM(4, 2, 2, 3, seed=5)
    trees = brute_force_trees(rhm)
    valid = {tuple(t[-1]) for t in trees}
    bad = next(x for x in itertools.product(range(4), repeat=rhm.d) if x not in valid)
    good_leaves, _ = rhm.sample(2, seed=0)
    p = get_process("uniform", 4)
    ev_good = p.evidence(p.noise(good_leaves, 0.5, seed=0), 0.5)
    ev_bad = np.eye(4)[np.array(bad)][None]
    ev_zero = np.zeros((1, rhm.d, 4))
    ev = np.concatenate([ev_good[:1], ev_bad, ev_zero, ev_good[1:]])
    for dtype in (np.float64, np.float32):
        res = belief_propagation(rhm, ev.astype(dtype), dtype=dtype)
        np.testing.assert_array_equal(res.consistent, [True, False, False, True])
        assert np.all(np.isfinite(res.log_evidence))
        assert res.log_evidence[1] == NEG_LOG_EVIDENCE and res.log_evidence[2] == NEG_LOG_EVIDENCE
        prior, _, _ = brute_force_posterior(rhm, trees, np.ones((rhm.d, 4)))
        alone = belief_propagation(rhm, ev_good.astype(dtype), dtype=dtype)
        for l in range(rhm.L + 1):
            assert np.all(np.isfinite(res.marginals[l]))
            np.testing.assert_allclose(res.marginals[l][1], prior[l], atol=1e-6)
            np.testing.assert_allclose(res.marginals[l][2], prior[l], atol=1e-6)
            np.testing.assert_allclose(res.marginals[l][[0, 3]], alone.marginals[l], atol=1e-6)
        x, lv = posterior_sample(rhm, ev.astype(dtype), seed=1, dtype=dtype)
        for a, b in zip(rhm.parse(x), lv):  # prior samples are valid data
            np.testing.assert_array_equal(a, b)


def test_bad_input():
    rhm = RHM(4, 2, 2, 2, seed=0)
    with pytest.raises(ValueError, match="shape"):
        belief_propagation(rhm, np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=">= 0"):
        belief_propagation(rhm, -np.ones((1, 4, 4)))
    with pytest.raises(ValueError, match="finite"):
        belief_propagation(rhm, np.full((1, 4, 4), np.nan))
    with pytest.raises(ValueError, match="dtype"):
        belief_propagation(rhm, np.ones((1, 4, 4)), dtype=np.int32)
    with pytest.raises(ValueError, match="seed"):
        posterior_sample(rhm, np.ones((1, 4, 4)), seed=-1)
    with pytest.raises(ValueError, match="rhm"):
        belief_propagation("rhm", np.ones((1, 4, 4)))


def test_numba_kernels_flag_marginals_that_cannot_be_normalized(kernels):
    """The numba downward kernel marks columns whose marginal total underflows (below the
    smallest normal number, where its reciprocal would overflow) and writes them as zeros;
    the other columns are normalized."""
    if kernels != "numba":
        pytest.skip("numba kernel")
    from diffphase.numerics.rhm import _bp_numba

    rhm = RHM(4, 2, 2, 2, seed=0)
    idx = np.ascontiguousarray(np.stack([rhm.rules[1][:, :, i].T.ravel() for i in range(2)]))
    B = 3
    C = np.ones((4, 2 * B), dtype=np.float32)
    U = np.ones((4, B), dtype=np.float32)
    M = np.full((4, B), 0.25, dtype=np.float32)
    M[:, 1] = 1e-40  # subnormal: the totals of column 1's children underflow
    Mn = np.full((4, 2 * B), np.nan, dtype=np.float32)
    bad = np.zeros(2 * B, dtype=bool)
    _bp_numba.down_level(C, idx, U, M, Mn, bad, float(np.finfo(np.float32).tiny))
    np.testing.assert_array_equal(bad, [False, True, False, False, True, False])
    np.testing.assert_array_equal(Mn[:, [1, 4]], 0.0)
    np.testing.assert_allclose(Mn[:, [0, 2, 3, 5]].sum(0), 1.0, rtol=1e-6)
