"""RHM generator and noise processes: parameter validation, grammar structure, sampling
statistics (chi-square tests with p-value threshold 1e-4 => false-failure rate 1e-4 per test;
seeds are fixed, so the outcome is deterministic)."""

import itertools

import numpy as np
import pytest
from scipy import stats

from diffphase.numerics import conventions as cv
from diffphase.numerics.rhm import RHM, EpsilonProcess, Masking, UniformDiffusion, get_process

P_MIN = 1e-4


# --- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(v=1, m=1, s=2, L=2), "v must be >= 2"),
    (dict(v=4, m=1, s=1, L=2), "s must be >= 2"),
    (dict(v=4, m=2, s=2, L=0), "L must be >= 1"),
    (dict(v=4, m=0, s=2, L=2), "m must be >= 1"),
    (dict(v=4, m=5, s=2, L=2), r"m must be <= v\*\*\(s-1\) = 4"),
    (dict(v=4, m=4, s=2, L=2, n_classes=5), r"n_classes \* m must be <= v\*\*s = 16"),
    (dict(v=4, m=2, s=2, L=2, n_classes=0), "n_classes must be >= 1"),
    (dict(v=4.5, m=2, s=2, L=2), "v must be an integer"),
    (dict(v=4, m=2, s=2, L=2, seed=-3), "seed must be >= 0"),
])
def test_invalid_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RHM(**kwargs)


def test_boundary_parameters_are_valid():
    rhm = RHM(v=3, m=3, s=2, L=1, n_classes=3)  # m = v**(s-1), n_c m = v**s
    assert sorted(map(tuple, rhm.rules[0].reshape(-1, 2))) == list(itertools.product(range(3), repeat=2))


# --- grammar structure -----------------------------------------------------------------------
@pytest.mark.parametrize("v,m,s,L,nc", [(8, 4, 2, 4, None), (5, 3, 3, 3, 2), (32, 8, 2, 3, None)])
def test_rules_shapes_and_unambiguity(v, m, s, L, nc):
    rhm = RHM(v, m, s, L, n_classes=nc, seed=7)
    assert len(rhm.rules) == L and rhm.d == s**L
    assert rhm.rules[0].shape == (nc or v, m, s)
    for R in rhm.rules[1:]:
        assert R.shape == (v, m, s)
    for R in rhm.rules:
        assert R.dtype == np.int64 and R.min() >= 0 and R.max() < v
        tuples = R.reshape(-1, s)
        # every tuple has at most one parent: all A*m rule tuples are distinct
        assert len({tuple(t) for t in tuples}) == tuples.shape[0]
    assert rhm.n_data == (nc or v) * m ** ((s**L - 1) // (s - 1))


def test_rules_depend_on_seed_and_levels_independent():
    a, b = RHM(8, 2, 2, 3, seed=1), RHM(8, 2, 2, 3, seed=1)
    c = RHM(8, 2, 2, 3, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a.rules, b.rules))
    assert not all(np.array_equal(x, y) for x, y in zip(a.rules, c.rules))
    assert not np.array_equal(a.rules[1], a.rules[2])


def test_rule_tuples_uniform_over_seeds():
    """Each of the v**s tuples is drawn as a rule of level 1 with probability v*m/v**s."""
    v, m, s = 3, 2, 2
    n_models = 3000
    counts = np.zeros(v**s)
    for seed in range(n_models):
        R = RHM(v, m, s, 2, seed=seed).rules[1].reshape(-1, s)
        counts[R[:, 0] * v + R[:, 1]] += 1
    # marginal inclusion counts: each Binomial(n_models, 2/3), tested one by one (Bonferroni)
    p_incl = v * m / v**s
    pvals = [stats.binomtest(int(c), n_models, p_incl).pvalue for c in counts]
    assert min(pvals) * len(pvals) > P_MIN


def test_sample_class_and_rule_choice_uniform():
    rhm = RHM(6, 3, 2, 3, seed=3)
    n = 30000
    leaves, levels = rhm.sample(n, seed=11)
    assert leaves.shape == (n, 8) and leaves.dtype == np.int64 and levels[-1] is leaves
    cls = levels[0][:, 0]
    assert stats.chisquare(np.bincount(cls, minlength=6)).pvalue > P_MIN
    # rule used by the class node: find r with rules[0][class, r] == level-1 pair
    pair = levels[1]
    r = np.argmax((rhm.rules[0][cls] == pair[:, None, :]).all(-1), axis=1)
    assert (rhm.rules[0][cls, r] == pair).all()
    table = np.zeros((6, 3))
    np.add.at(table, (cls, r), 1)
    chi2 = (((table - table.sum(1, keepdims=True) / 3) ** 2) / (table.sum(1, keepdims=True) / 3)).sum()
    assert stats.chi2.sf(chi2, df=6 * 2) > P_MIN
    # the trees are consistent with the rules at every level
    for a, b in zip(rhm.parse(leaves), levels):
        np.testing.assert_array_equal(a, b)


def test_sample_reproducible():
    rhm = RHM(5, 2, 2, 4, seed=0)
    x1, _ = rhm.sample(10, seed=3)
    x2, _ = rhm.sample(10, seed=3)
    x3, _ = rhm.sample(10, seed=4)
    np.testing.assert_array_equal(x1, x2)
    assert not np.array_equal(x1, x3)


@pytest.mark.parametrize("v,m,s,L,nc", [(3, 2, 2, 2, None), (4, 3, 2, 2, 2), (2, 2, 3, 2, None), (3, 2, 2, 3, None)])
def test_enumerate(v, m, s, L, nc):
    rhm = RHM(v, m, s, L, n_classes=nc, seed=5)
    leaves, levels = rhm.enumerate()
    assert leaves.shape == (rhm.n_data, rhm.d)
    assert len({tuple(x) for x in leaves}) == rhm.n_data  # all data distinct
    for a, b in zip(rhm.parse(leaves), levels):
        np.testing.assert_array_equal(a, b)
    # every sampled datum is in the list, and sample frequencies are uniform over it
    index = {tuple(x): i for i, x in enumerate(leaves)}
    n = 40 * rhm.n_data
    sampled, _ = rhm.sample(n, seed=1)
    counts = np.bincount([index[tuple(x)] for x in sampled], minlength=rhm.n_data)
    assert stats.chisquare(counts).pvalue > P_MIN


def test_enumerate_refuses_large_models():
    with pytest.raises(ValueError, match="n_data"):
        RHM(32, 8, 2, 10).enumerate()


def test_from_rules_builds_the_grammar_it_is_given():
    """Rules written by hand (v = 3, s = 2, m = 1, two classes, L = 2): the data are the
    compositions of the rules, and parse inverts them."""
    rules = [np.array([[[0, 1]], [[2, 0]]]),                 # class 0 -> (0, 1), class 1 -> (2, 0)
             np.array([[[1, 1]], [[0, 2]], [[2, 2]]])]       # 0 -> (1, 1), 1 -> (0, 2), 2 -> (2, 2)
    rhm = RHM.from_rules(rules, v=3)
    assert (rhm.v, rhm.m, rhm.s, rhm.L, rhm.n_classes, rhm.seed) == (3, 1, 2, 2, 2, None)
    leaves, levels = rhm.enumerate()
    assert leaves.tolist() == [[1, 1, 0, 2], [2, 2, 1, 1]]
    assert levels[0][:, 0].tolist() == [0, 1]
    for a, b in zip(rhm.parse(leaves), levels):
        np.testing.assert_array_equal(a, b)
    drawn = RHM(4, 2, 2, 3, seed=7)                          # a copy samples the same data
    copy = RHM.from_rules([r.tolist() for r in drawn.rules], v=4)
    np.testing.assert_array_equal(copy.sample(50, seed=2)[0], drawn.sample(50, seed=2)[0])


@pytest.mark.parametrize("rules, v, match", [
    ([np.array([[[0, 1]], [[0, 1]]])], 3, "repeats an s-tuple"),
    ([np.array([[[0, 3]], [[1, 0]]])], 3, r"outside \[0, v = 3\)"),
    ([np.array([[[0, 1]]]), np.array([[[0, 1]], [[1, 0]]])], 3, r"rules\[1\] must have shape \(3, 1, 2\)"),
    ([np.array([[[0.0, 1.0]]])], 3, "integer array"),
    ([np.array([[0, 1]])], 3, "integer array of shape"),
    ([], 3, "non-empty list"),
    ([np.array([[[0, 1]]])], 1, "v must be >= 2"),
    ([np.zeros((1, 5, 2), dtype=int)], 3, r"m must be <= v\*\*\(s-1\) = 3"),
])
def test_from_rules_rejects_bad_rules(rules, v, match):
    with pytest.raises(ValueError, match=match):
        RHM.from_rules(rules, v)


def test_parse_marks_invalid():
    rhm = RHM(4, 2, 2, 2, seed=0)
    valid = {tuple(x) for x in rhm.enumerate()[0]}
    bad = next(x for x in itertools.product(range(4), repeat=4) if x not in valid)
    assert rhm.parse(np.array([bad]))[0][0, 0] == -1
    with pytest.raises(ValueError, match="leaves"):
        rhm.parse(np.array([[0, 1, 2]]))


# --- noise processes ---------------------------------------------------------------------
def test_time_mapping_matches_conventions():
    for name in ("epsilon", "masking", "uniform"):
        p = get_process(name, 8)
        eps = np.array([0.0, 0.1, 0.5, 0.9])
        np.testing.assert_allclose(p.time(eps), cv.time_from_noise_level(eps), rtol=1e-15)
        np.testing.assert_allclose(p.time(eps), -0.5 * np.log1p(-eps), rtol=1e-15)
        assert p.time(1.0) == np.inf
        np.testing.assert_allclose(p.level(p.time(eps)), eps, atol=1e-15)
        k = np.array([0, 10, 200])
        np.testing.assert_allclose(p.level_at_step(k), 1 - p.schedule.alpha_bars[k], atol=1e-14)
        with pytest.raises(ValueError, match="eps"):
            p.time(1.5)


def test_masking_rate_chi_square():
    p = Masking(5)
    x = np.random.default_rng(0).integers(0, 5, size=(200, 256))
    for eps in (0.1, 0.5, 0.9):
        xt = p.noise(x, eps, seed=3)
        masked = xt == 5
        assert np.all(xt[~masked] == x[~masked])
        k, n = int(masked.sum()), masked.size
        assert stats.binomtest(k, n, eps).pvalue > P_MIN
        ev = p.evidence(xt, eps)
        np.testing.assert_allclose(ev[masked], eps)
        np.testing.assert_allclose(ev[~masked], (1 - eps) * np.eye(5)[x[~masked]])


def test_uniform_diffusion_rates_chi_square():
    v = 6
    p = UniformDiffusion(v)
    x = np.random.default_rng(1).integers(0, v, size=(300, 256))
    for eps in (0.2, 0.7):
        xt = p.noise(x, eps, seed=4)
        changed = xt != x
        # P(change) = eps (1 - 1/v)
        assert stats.binomtest(int(changed.sum()), changed.size, eps * (1 - 1 / v)).pvalue > P_MIN
        # changed tokens land uniformly on the other v - 1 symbols: offsets (xt - x) mod v
        off = ((xt - x) % v)[changed]
        assert stats.chisquare(np.bincount(off, minlength=v)[1:]).pvalue > P_MIN
        ev = p.evidence(xt, eps)
        np.testing.assert_allclose(ev, (1 - eps) * np.eye(v)[xt] + eps / v)


def test_epsilon_process():
    p = EpsilonProcess(4)
    x = np.array([[0, 3, 2, 1]])
    xt = p.noise(x, 0.3, seed=0)
    np.testing.assert_array_equal(xt, x)
    np.testing.assert_allclose(p.evidence(xt, 0.3)[0, 1], [0.075, 0.075, 0.075, 0.775])
    assert p.evidence(xt, 0.3, dtype=np.float32).dtype == np.float32


def test_noise_validation():
    p = get_process("masking", 4)
    with pytest.raises(ValueError, match="noise level eps"):
        p.noise(np.zeros((1, 4), dtype=int), -0.1)
    with pytest.raises(ValueError, match="noise level eps"):
        p.evidence(np.zeros((1, 4), dtype=int), 1.2)
    with pytest.raises(ValueError, match="tokens"):
        p.noise(np.full((1, 4), 7), 0.5)
    with pytest.raises(ValueError, match="process must be one of"):
        get_process("gaussian", 4)
    with pytest.raises(ValueError, match="v ="):
        get_process(Masking(5), 4)
    with pytest.raises(ValueError, match="dtype"):
        p.evidence(np.zeros((1, 4), dtype=int), 0.5, dtype=np.int8)
