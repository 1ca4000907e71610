"""Tests of the discrete-diffusion leg of the RHM (diffphase.validation.rhm), of the discrete
objectives of the shared training loop and of the TreeDenoiser.

References are independent of the code under test: exact belief propagation and exact
posterior sampling (diffphase.numerics.rhm), enumeration of tiny grammars, closed forms
(cross-entropy of uniform logits = log v, slopes of straight lines), and cache keys computed
by the training code before the discrete objectives existed. Statistical tests state their
false-failure rate.
"""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from diffphase.numerics.rhm import RHM, class_curves, get_process, posterior_sample
from diffphase.validation import rhm as R
from diffphase.validation.rhm.protocol import _crossing
from diffphase.validation.rhm.samplers import _uniform_levels, _uniform_reverse
from diffphase.validation.models import TreeDenoiser, build_model, denoiser_flops
from diffphase.validation.engine.config import config_key
from diffphase.validation.train import TrainConfig, sample_times, train
from diffphase.validation.train.objectives import _discrete_loss


# ---------------------------------------------------------------------------------------------
# training loop: Gaussian keys unchanged, discrete objectives
# ---------------------------------------------------------------------------------------------
def test_gaussian_cache_keys_unchanged():
    # keys computed with validation/train.py of commit 13b4a59 (before the objective field)
    assert config_key({"kind": "denoiser", "config": TrainConfig()}) == \
        "29d9c98bbe505591ec07dca3993a0b4aba6aa1b966517777f1cfb97d5111d558"
    cfg = TrainConfig(model="unet", steps=10, t_distribution="log_uniform", time_sampling="discrete")
    assert config_key({"kind": "denoiser", "config": cfg}) == \
        "6486c00d3869037c79814e26de2290b5c4ad067471129960afcbc10c61e20654"
    assert "objective" not in TrainConfig().hashed_dict()
    assert TrainConfig(model="tree", objective="masking").hashed_dict()["objective"] == "masking"


@pytest.mark.parametrize("kw, word", [
    ({"objective": "absorbing"}, "objective"),
    ({"model": "tree"}, "discrete"),
    ({"objective": "masking"}, "discrete"),
    ({"t_distribution": "eps"}, "t_distribution"),
])
def test_config_errors(kw, word):
    with pytest.raises(ValueError, match=word):
        TrainConfig(**kw).validate()


def test_discrete_data_errors():
    cfg = TrainConfig(model="tree", objective="masking", steps=1, model_kwargs={"vocab": 4})
    with pytest.raises(ValueError, match="integer tokens"):
        train(cfg, np.random.rand(8, 4), device="cpu", use_cache=False, progress=False)
    with pytest.raises(ValueError, match="vocabulary"):
        train(TrainConfig(model="tree", objective="masking", steps=1), np.zeros((8, 4), dtype=np.int64),
              device="cpu", use_cache=False, progress=False)


def test_noise_level_times_uniform_in_eps():
    # eps = 1 - e^{-2t} must be uniform on [eps(t_min), eps(t_max)]: KS test, false-failure rate 1e-3
    cfg = TrainConfig(t_distribution="noise_level", t_min=0.01, t_max=3.0)
    t = sample_times(20000, cfg, torch.Generator().manual_seed(1)).numpy()
    assert t.min() >= 0.01 - 1e-12 and t.max() <= 3.0 + 1e-12
    ea, eb = 1 - math.exp(-0.02), 1 - math.exp(-6.0)
    eps = 1 - np.exp(-2 * t)
    assert stats.kstest(eps, stats.uniform(loc=ea, scale=eb - ea).cdf).pvalue > 1e-3


class _Uniform(torch.nn.Module):
    def __init__(self, v):
        super().__init__()
        self.v = v

    def forward(self, x, t):
        return torch.zeros(x.shape + (self.v,))


@pytest.mark.parametrize("objective", ["masking", "uniform"])
def test_discrete_loss_of_uniform_logits_is_log_v(objective):
    x0 = torch.randint(0, 5, (64, 8), generator=torch.Generator().manual_seed(0))
    t = torch.full((64,), 0.4, dtype=torch.float64)
    loss = _discrete_loss(_Uniform(5), x0, t, torch.Generator().manual_seed(1), objective, 5, torch.device("cpu"))
    assert float(loss) == pytest.approx(math.log(5), rel=1e-6)


def test_discrete_training_reproducible_resumable_and_learns(tmp_path, monkeypatch):
    from diffphase.validation.engine import progress as T

    rhm = RHM(4, 2, 2, 2, seed=0)
    ds = R.rhm_dataset(rhm, 512, seed=1)
    cfg = TrainConfig(model="tree", objective="masking", model_kwargs={"hidden": 16}, steps=300, batch_size=64,
                      lr=1e-2, t_distribution="noise_level", checkpoint_every=150, warmup_steps=10)
    m1, h1 = train(cfg, ds, device="cpu", use_cache=False, progress=False)
    m2, h2 = train(cfg, ds, device="cpu", use_cache=False, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    # interrupt a cached run after its first checkpoint (step 150), then resume it: same
    # losses and weights, bit for bit, as the uninterrupted run
    real_update = T.Progress.update

    def interrupt(self, step, loss, lr):
        if step == 170:
            raise KeyboardInterrupt
        real_update(self, step, loss, lr)

    monkeypatch.setattr(T.Progress, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, ds, device="cpu", cache_dir=tmp_path, progress=True)
    monkeypatch.setattr(T.Progress, "update", real_update)
    m3, h3 = train(cfg, ds, device="cpu", cache_dir=tmp_path, progress=False)
    assert h3.resumed_from == 150
    assert np.array_equal(h3.losses, h1.losses)
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m3.state_dict().values()))
    # uniform logits give log 4 = 1.386; the trained loss must be well below
    assert h1.smoothed(50)[-1] < 1.2
    m4, h4 = train(cfg, ds, device="cpu", cache_dir=tmp_path, progress=False)
    assert h4.from_cache and h4.key == h1.key


# ---------------------------------------------------------------------------------------------
# TreeDenoiser
# ---------------------------------------------------------------------------------------------
def test_tree_denoiser_shapes_and_errors():
    m = build_model({"name": "tree", "vocab": 8, "length": 16, "hidden": 8})
    x = torch.randint(0, 9, (3, 16))
    out = m(x, torch.full((3,), 0.3))
    assert out.shape == (3, 16, 8)
    assert build_model(m.spec).spec == m.spec
    with pytest.raises(ValueError, match="integer"):
        m(x.float(), 0.3)
    with pytest.raises(ValueError, match="power of s"):
        TreeDenoiser(vocab=8, length=12)
    with pytest.raises(ValueError, match="shape"):
        m(x[:, :8], 0.3)
    f = denoiser_flops(m.spec)
    assert f["train"] > f["forward"] > 0


def test_tree_denoiser_follows_the_tree():
    # with the second merge (pairs -> quadruples) removed, leaf 0 sees only its sibling leaf 1:
    # the up-pass is the only route between subtrees, so a leaf outside the pair has no effect
    torch.manual_seed(0)
    m = TreeDenoiser(vocab=4, length=8, hidden=8).eval()
    with torch.no_grad():
        m.merge[1].weight.zero_()
        m.merge[1].bias.zero_()
        x = torch.zeros(1, 8, dtype=torch.long)
        y = x.clone()
        y[0, 5] = 3
        z = x.clone()
        z[0, 1] = 3
        a, b, c = m(x, 0.5), m(y, 0.5), m(z, 0.5)
    assert torch.allclose(a[0, 0], b[0, 0])
    assert not torch.allclose(a[0, 0], c[0, 0])


@pytest.mark.parametrize("s, L", [(2, 4), (3, 2)])
def test_tree_denoiser_equals_its_convolutions(s, L):
    # reference: the network's own Conv1d / ConvTranspose1d modules applied channels-first
    import torch.nn.functional as F

    torch.manual_seed(1)
    m = TreeDenoiser(vocab=5, length=s**L, s=s, hidden=12, blocks=2).eval()
    x = torch.randint(0, 6, (7, s**L), generator=torch.Generator().manual_seed(2))
    t = torch.rand(7, generator=torch.Generator().manual_seed(3)) + 0.01
    with torch.no_grad():
        e = m.embed(t)
        h = m.tokens(x).transpose(1, 2)
        skips = []
        for merge, blks in zip(m.merge, m.up):
            skips.append(h)
            h = merge(h)
            for blk in blks:
                h = blk(h, e)
        for split, join, blks in zip(m.split, m.join, m.down):
            h = join(torch.cat([split(h), skips.pop()], dim=1))
            for blk in blks:
                h = blk(h, e)
        ref = m.out(F.silu(m.out_norm(h))).transpose(1, 2)
        assert torch.allclose(m(x, t), ref, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# samplers with the exact (BP) denoiser
# ---------------------------------------------------------------------------------------------
def _index(leaves, all_leaves):
    codes = {r.tobytes(): i for i, r in enumerate(np.ascontiguousarray(all_leaves))}
    return np.array([codes.get(r.tobytes(), -1) for r in np.ascontiguousarray(leaves)])


def test_masking_generation_with_exact_denoiser_is_the_grammar_uniform():
    # tiny grammar: 4 classes x 2^3 = 32 data, each with probability 1/32. Chi-square test of
    # 3200 generated samples against uniform (false-failure rate 1e-3), all valid.
    rhm = RHM(4, 2, 2, 2, seed=3)
    all_leaves, _ = rhm.enumerate()
    proc = get_process("masking", 4)
    x = R.generate(R.bp_posterior(rhm, proc), proc, 3200, rhm.d, seed=0)
    idx = _index(x, all_leaves)
    assert (idx >= 0).all() and R.rule_validity(rhm, x).all()
    counts = np.bincount(idx, minlength=rhm.n_data)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_masking_regeneration_matches_exact_posterior_sampling():
    # one noisy datum, 4000 regenerations vs 4000 exact posterior samples (BP): two-sample
    # chi-square on the data they produce, false-failure rate 1e-3
    rhm = RHM(4, 2, 2, 2, seed=3)
    all_leaves, _ = rhm.enumerate()
    proc = get_process("masking", 4)
    leaves, _ = rhm.sample(1, seed=5)
    xt = leaves.copy()
    xt[0, [0, 3]] = 4
    x = R.regenerate(R.bp_posterior(rhm, proc), proc, np.repeat(xt, 4000, 0), 0.5, seed=1)
    ref, _ = posterior_sample(rhm, proc.evidence(np.repeat(xt, 4000, 0), 0.5), seed=2)
    a, b = _index(x, all_leaves), _index(ref, all_leaves)
    assert (a >= 0).all()
    ca, cb = np.bincount(a, minlength=rhm.n_data), np.bincount(b, minlength=rhm.n_data)
    keep = (ca + cb) > 0
    assert keep.sum() > 1  # the two masked tokens leave several completions
    assert stats.chi2_contingency(np.stack([ca[keep], cb[keep]])).pvalue > 1e-3


@pytest.mark.parametrize("process", ["masking", "uniform"])
def test_forward_backward_with_exact_denoiser_matches_bp(process):
    # the sampler fed with exact marginals reproduces the exact-BP P_l within 4.5 combined
    # standard errors per point (9 points x 3 levels: false-failure rate below 2e-4)
    rhm = RHM(8, 3, 2, 3, seed=0)
    proc = get_process(process, 8)
    noises = [0.2, 0.45, 0.7]
    fb = R.fb_curves(rhm, proc, R.bp_posterior(rhm, proc), noises, 600, seed=1)
    p, se = class_curves(rhm, proc, noises, 3000, seed=2)
    z = np.abs(fb["p"] - p) / np.sqrt(fb["stderr"] ** 2 + se**2)
    assert z.max() < 4.5, z
    assert fb["valid"].min() > (0.999 if process == "masking" else 0.95)


def test_uniform_step_reduces_to_the_prediction_at_zero():
    # last step of the uniform chain (eps' = 0): the new token is drawn from p_hat itself
    proc = get_process("uniform", 3)
    p = np.array([[[0.2, 0.5, 0.3]]])
    grid = _uniform_levels(proc, 0.4)
    assert grid[0] == 0.4 and grid[-1] == 0.0 and np.all(np.diff(grid) < 0)
    draws = _uniform_reverse(lambda x, e: np.broadcast_to(p, x.shape + (3,)), proc, np.zeros((3000, 1), np.int64),
                             1e-12, np.random.default_rng(0))
    freq = np.bincount(draws.ravel(), minlength=3) / 3000
    # binomial 5 s.e. (false-failure rate ~1e-6 per component)
    assert np.all(np.abs(freq - p[0, 0]) < 5 * np.sqrt(p[0, 0] * (1 - p[0, 0]) / 3000))


def test_regenerate_errors():
    proc = get_process("masking", 4)
    post = R.bp_posterior(RHM(4, 2, 2, 2, seed=0), proc)
    with pytest.raises(ValueError, match="NoiseProcess"):
        R.regenerate(post, "masking", np.zeros((1, 4), np.int64), 0.5)
    with pytest.raises(ValueError, match="eps"):
        R.regenerate(post, proc, np.zeros((1, 4), np.int64), 1.5)
    with pytest.raises(ValueError, match="epsilon"):
        R.regenerate(post, get_process("epsilon", 4), np.zeros((1, 4), np.int64), 0.5)


# ---------------------------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------------------------
def test_rule_validity_agrees_with_parsing():
    rhm = RHM(4, 2, 2, 3, seed=1)
    good, _ = rhm.sample(50, seed=0)
    rand = np.random.default_rng(0).integers(0, 4, (400, 8))
    x = np.concatenate([good, rand])
    valid = R.rule_validity(rhm, x)
    assert valid[:50].all()
    assert np.array_equal(valid, rhm.parse(x)[0][:, 0] >= 0)
    all_leaves, _ = rhm.enumerate()
    assert np.array_equal(valid, _index(x, all_leaves) >= 0)


def test_copy_fraction_and_latents():
    train_x = np.array([[0, 1], [1, 1]])
    assert R.copy_fraction(np.array([[0, 1], [1, 0], [1, 1], [0, 0]]), train_x) == 0.5
    rhm = RHM(4, 2, 2, 2, seed=0)
    leaves, levels = rhm.sample(20, seed=1)
    assert np.array_equal(R.latent_unchanged(rhm, levels, leaves), np.ones((20, 3)))
    other, _ = rhm.sample(20, seed=2)
    same = R.latent_unchanged(rhm, levels, other)
    assert np.array_equal(same[:, 0], (levels[0][:, 0] == rhm.parse(other)[0][:, 0]).astype(float))


def test_slope_ratio_of_lines_and_class_level():
    x = np.linspace(0, 1, 21)
    r, se = R.slope_ratio(x, 1 - 2 * x, np.full(21, 0.01), 1 - 0.5 * x, np.full(21, 0.01), 0.5)
    assert r == pytest.approx(4.0, rel=1e-12) and se > 0
    assert R.class_level(8) == pytest.approx(0.5625)
    assert math.isnan(R.slope_ratio(x, x, x + 0.1, x, x + 0.1, 5.0)[0])


def _levels_by_hand(rhm, x):
    # independent reference: bottom-up with Python sets of the rule tuples (no parse, no BP)
    rules = [{tuple(int(c) for c in t): a for a in range(R_.shape[0]) for t in R_[a]} for R_ in rhm.rules]
    n, L, s = x.shape[0], rhm.L, rhm.s
    samples, nodes, num, den = np.zeros(L), np.zeros(L), np.zeros(L), np.zeros(L)
    for row in x:
        cur = [int(c) for c in row]  # symbols of the current height (None = invalid subtree)
        for h in range(1, L + 1):
            table = rules[L - h]
            nxt = []
            for j in range(len(cur) // s):
                kids = cur[s * j:s * j + s]
                if any(k is None for k in kids):
                    nxt.append(None)
                    continue
                den[h - 1] += 1
                sym = table.get(tuple(kids))
                num[h - 1] += sym is not None
                nxt.append(sym)
            samples[h - 1] += all(c is not None for c in nxt)
            nodes[h - 1] += sum(c is not None for c in nxt) / len(nxt)
            cur = nxt
    return samples / n, nodes / n, num / den


def test_level_validity_against_a_hand_count():
    rhm = RHM(4, 2, 2, 3, seed=1)
    good, levels = rhm.sample(30, seed=0)
    rand = np.random.default_rng(0).integers(0, 4, (300, 8))
    # partly broken data: valid samples with one leaf pair replaced by a tuple that is no rule
    broken = good.copy()
    bad_pair = next(t for t in np.ndindex(4, 4) if t not in {tuple(r) for r in rhm.rules[2].reshape(-1, 2)})
    broken[:10, 2:4] = bad_pair
    x = np.concatenate([good, rand, broken])
    lv = R.level_validity(rhm, x)
    samples, nodes, tuples = _levels_by_hand(rhm, x)
    np.testing.assert_allclose(lv["samples"], samples, atol=1e-12)
    np.testing.assert_allclose(lv["nodes"], nodes, atol=1e-12)
    np.testing.assert_allclose(lv["tuples"], tuples, atol=1e-12)
    # the top height is rule_validity; valid data are valid at every height
    assert np.array_equal(lv["samples"][-1], R.rule_validity(rhm, x).mean())
    assert np.all(R.level_validity(rhm, good)["tuples"] == 1.0)
    # a broken leaf pair: height 1 has 3 of 4 nodes valid, the parent's tuple is not counted
    one = R.level_validity(rhm, broken[:1])
    assert one["samples"].tolist() == [0.0, 0.0, 0.0]
    assert one["nodes"].tolist() == [0.75, 0.5, 0.0]
    assert one["tuples"][0] == 0.75 and one["tuples"][1] == 1.0 and np.isnan(one["tuples"][2])
    assert one["n_tuples"].tolist() == [4, 1, 0]


def test_level_validity_of_random_tuples_is_f():
    # uniform leaves: the height-1 tuples are rules with probability v m / v^s = f (here 0.25);
    # binomial, 5 standard errors with the samples as units (false-failure rate ~1e-6)
    rhm = RHM(8, 2, 2, 3, seed=0)
    x = np.random.default_rng(1).integers(0, 8, (4000, 8))
    lv = R.level_validity(rhm, x)
    f = R.random_tuple_fraction(rhm)
    assert f.tolist() == [0.25, 0.25, 0.25]
    assert abs(lv["tuples"][0] - 0.25) < 5 * lv["tuples_se"][0]
    assert lv["tuples_se"][0] == pytest.approx(math.sqrt(0.25 * 0.75 / (4 * 4000)), rel=0.15)


def test_learning_times_of_synthetic_snapshots():
    f = np.array([0.25, 0.25, 0.25])
    q = np.array([[0.9, 0.5, np.nan], [1.0, 0.8, 0.5], [1.0, 1.0, 0.9]])
    se = np.full_like(q, 0.01)
    lt = R.learning_times(q, se, f)
    np.testing.assert_allclose(lt["tau"], [0.1 / 3, 0.7 / 3, (0.75 + 0.5 + 0.1) / 3])
    assert lt["gap"] == pytest.approx(lt["tau"][2] - lt["tau"][0])
    np.testing.assert_allclose(lt["tau_se"], [math.sqrt(3e-4) / 3, math.sqrt(3e-4) / 3, math.sqrt(2e-4) / 3])
    assert lt["inversions"] == 0 and lt["ordered"]
    # the top level learned first: two significant inversions
    lt2 = R.learning_times(q[:, ::-1], se, f)
    assert lt2["inversions"] == 2 and not lt2["ordered"] and lt2["gap"] < 0
    # a tie within the errors is not an inversion
    lt3 = R.learning_times(np.array([[0.9, 0.905], [0.95, 0.95]]), np.full((2, 2), 0.01), f[:2])
    assert lt3["inversions"] == 0
    with pytest.raises(ValueError, match="tuples"):
        R.learning_times(q, se[:, :2], f)


def test_sharpening_of_straight_lines():
    # curves with known slopes: root -1 (shallow) and -2 (deep), leaves -0.5 for both
    x = np.round(np.linspace(0.1, 0.9, 17), 3)
    se = np.full((17, 3), 0.01)
    shallow = np.stack([1 - x, 1 - 0.7 * x, 1 - 0.5 * x], 1)
    deep = np.stack([1.5 - 2 * x, 1 - 0.7 * x, 1 - 0.5 * x], 1)
    sh = R.sharpening(x, (shallow, se), (deep, se), 0.45, 0.6)
    assert sh["root_shallow"] == pytest.approx(1.0) and sh["root_deep"] == pytest.approx(2.0)
    assert sh["root_growth"] == pytest.approx(1.0) and sh["leaf_growth"] == pytest.approx(0.0, abs=1e-12)
    assert sh["eps_leaf"] == 0.6 and sh["root_growth_se"] > 0
    g, gse = R.slope_growth(-1.0, 0.1, -1.5, 0.1)
    assert g == pytest.approx(0.5) and gse == pytest.approx(1.5 * math.sqrt(0.01 + (0.1 / 1.5) ** 2))
    assert math.isnan(R.slope_growth(0.0, 0.1, 1.0, 0.1)[0])
    assert math.isnan(R.local_slope(x, x, x + 0.01, float("nan"))[0])
    with pytest.raises(ValueError, match="half_width"):
        R.local_slope(x, x, x, 0.5, half_width=0)


def test_exact_bp_class_transition_sharpens_with_depth():
    # exact BP at v = 8, m = 2 (the quick grammar), L = 3 and 5: the root's slope at its crossing
    # grows (by 0.44 ± 0.05 when the quick depths were chosen; asserted > 0.15, five standard
    # errors below), the leaves' slope at one noise level does not grow (asserted < 0.1)
    x = np.round(np.arange(0.3, 0.91, 0.05), 3)
    curves = []
    for L in (3, 5):
        rhm = RHM(8, 2, 2, L, seed=0)
        p, se = class_curves(rhm, "masking", x, 1500, seed=L)
        ec = _crossing(x, p[:, 0], se[:, 0], R.class_level(8), 0)[0]
        curves.append((p, se, ec))
    assert curves[0][2] < curves[1][2]  # the crossing moves toward the mean-field critical noise
    sh = R.sharpening(x, curves[0][:2], curves[1][:2], curves[0][2], curves[1][2])
    assert sh["root_growth"] > 0.15 and sh["root_growth"] > 3 * sh["root_growth_se"]
    assert sh["leaf_growth"] < 0.1


def test_snapshots_of_a_training_run(tmp_path):
    from diffphase.validation.train import load_snapshot

    rhm = RHM(4, 2, 2, 2, seed=0)
    ds = R.rhm_dataset(rhm, 128, seed=1)
    cfg = TrainConfig(model="tree", objective="masking", model_kwargs={"hidden": 8}, steps=30, batch_size=16,
                      t_distribution="noise_level", warmup_steps=2, checkpoint_every=10, snapshot_steps=[5, 20, 30])
    assert cfg.snapshot_steps == (5, 20, 30)
    m1, h1 = train(cfg, ds, device="cpu", use_cache=False, progress=False)
    m2, h2 = train(cfg, ds, device="cpu", cache_dir=tmp_path, progress=False)
    m3, h3 = train(cfg, ds, device="cpu", cache_dir=tmp_path, progress=False)
    assert h3.from_cache and sorted(h1.snapshots) == sorted(h2.snapshots) == sorted(h3.snapshots) == [5, 20, 30]
    x = torch.randint(0, 5, (4, 4), generator=torch.Generator().manual_seed(0))
    for k in (5, 20):
        a, b = load_snapshot(h1.snapshots[k], "cpu"), load_snapshot(h3.snapshots[k], "cpu")
        assert a.step == k and torch.equal(a(x, 0.3), b(x, 0.3))
    # the last snapshot is the returned (EMA) model; an early one is not
    with torch.no_grad():
        assert torch.equal(load_snapshot(h3.snapshots[30], "cpu")(x, 0.3), m1(x, 0.3))
        assert not torch.equal(load_snapshot(h3.snapshots[5], "cpu")(x, 0.3), m1(x, 0.3))
    # the snapshots enter the key (a cached run has them), an empty list does not
    assert h2.key != train(TrainConfig(**{**cfg.__dict__, "snapshot_steps": ()}), ds, device="cpu",
                           use_cache=False, progress=False)[1].key
    assert "snapshot_steps" not in TrainConfig(model="tree", objective="masking", snapshot_steps=[]).hashed_dict()
    for bad, word in (((0,), ">= 1"), ((31,), "<= 30"), ((20, 5), "increasing")):
        with pytest.raises(ValueError, match=word):
            TrainConfig(**{**cfg.__dict__, "snapshot_steps": bad}).validate()
    assert R.snapshot_steps(1000, [0.025, 0.5, 0.5]) == (25, 500, 1000)


def test_experiment_registered_and_plan():
    from diffphase.validation.validate import EXPERIMENTS, plan

    exp = EXPERIMENTS["rhm_discrete"]
    for mode in ("quick", "full"):
        c = exp.cost(exp.config(mode))
        assert c.train_flops > 0 and c.sample_flops > 0 and c.train_steps > 0
    # the quick plan counted by hand from the configuration: two masking runs, L = 4 and 5
    # (d = 16 and 32 tokens), of 3,000 and 6,000 steps at batch 512; per run, 9 snapshots before
    # the end (the fractions 0.025 ... 0.7 give distinct steps) generate 500 samples each, the
    # final model 2,000, and forward--backward regenerates 1,500 data at each of 17 noise
    # levels; the masking sampler calls the network once per token (d calls per batch). FLOPs
    # per row from torch's counter on the TreeDenoiser that training builds.
    row = plan("quick", only=["rhm_discrete"])[0]
    train_flops = sample_flops = 0.0
    for L, steps in ((4, 3000), (5, 6000)):
        d = 2**L
        f = denoiser_flops({"name": "tree", "vocab": 8, "length": d, "mask": True, "s": 2, "hidden": 32, "blocks": 1})
        train_flops += f["train"] * steps * 512
        sample_flops += f["forward"] * (2000 + 9 * 500 + 17 * 1500) * d
    assert row["train_steps"] == 3000 + 6000
    assert row["sampler_calls"] == (1 + 9 + 17) * (16 + 32)
    assert row["train_flops"] == pytest.approx(train_flops, rel=1e-12)
    assert row["sample_flops"] == pytest.approx(sample_flops, rel=1e-12)


def test_point_end_to_end_tiny(tmp_path):
    p = R.rhm_discrete_point(process="masking", v=4, m=2, s=2, L=2, n_train=256,
                             train={"model_kwargs": {"hidden": 8}, "steps": 20, "batch_size": 32,
                                    "t_distribution": "noise_level", "warmup_steps": 2},
                             noises=[0.2, 0.5, 0.8], n_fb=20, n_exact=50, n_gen=20, rules_seed=0, seed=0,
                             device="cpu", cache_dir=str(tmp_path), snapshots=[0.5])
    assert np.asarray(p["model"]["p"]).shape == (3, 3)
    assert 0.0 <= p["gen_valid"] <= 1.0 and 0.0 <= p["gen_copies"] <= 1.0
    assert np.asarray(p["mf_root"]).shape == (3,)
    assert p["snapshot_steps"] == [10, 20] and np.asarray(p["snapshot_levels"]["tuples"]).shape == (2, 2)
    assert p["gen_valid"] == p["gen_levels"]["samples"][-1]


def test_experiment_end_to_end_tiny_every_verdict(tmp_path):
    # two depths of one tiny grammar through diffphase validate: every verdict is produced,
    # with its kind and (for claims) its registered source; nothing is required to pass
    from diffphase.validation.claims import CLAIMS
    from diffphase.validation.validate import run_validation

    cfg = {"runs": [{"process": "masking", "v": 4, "m": 2, "s": 2, "L": L, "n_train": 64, "rules_seed": 0}
                    for L in (2, 3)],
           "train": {"model": "tree", "model_kwargs": {"hidden": 4, "blocks": 1}, "steps": 6, "batch_size": 16,
                     "t_distribution": "noise_level", "warmup_steps": 1},
           "noises": [round(0.3 + 0.05 * k, 2) for k in range(9)], "n_fb": 8, "n_exact": 20, "n_gen": 10,
           "n_snap": 6, "snapshots": [0.5], "seed": 0}
    run = run_validation("quick", only=["rhm_discrete"], out=tmp_path / "out", cache_dir=tmp_path / "cache",
                         configs={"rhm_discrete": cfg}, progress=False)
    vs = [v for r in run.results for v in r.verdicts]
    kinds = {}
    for v in vs:
        kinds.setdefault(v.kind, []).append(v)
        assert v.outcome in ("PASS", "FAIL", "INCONCLUSIVE")
    assert len(kinds["precondition"]) == 4 and len(kinds["reference"]) == 2
    claims = sorted(v.claim for v in kinds["claim"])
    assert claims == sorted(["sclocchi.threshold"] * 2 + ["sclocchi.class_transition"] * 2
                            + ["sclocchi.sharpening"] * 4 + ["favero.level_by_level"] * 2)
    for v in kinds["claim"]:
        assert CLAIMS[v.claim].paper.arxiv in v.source
    # claims on the trained models require the preconditions of their depths; exact-BP ones do not
    pre = {v.key for v in kinds["precondition"]}
    for v in kinds["claim"]:
        assert set(v.requires) <= pre
        assert bool(v.requires) == ("trained" in v.name)
    assert (tmp_path / "out" / "rhm_discrete.png").exists()
    sharp = run.results[0].numbers["sharpening"]
    assert set(sharp["masking, v=4 m=2 s=2"]) == {"exact", "model"}


@pytest.mark.slow
def test_quick_configuration(tmp_path):
    # The quick run (docs/models/rhm.md): two depths (L = 4, 5) of v = 8, m = 2. This test asserts
    # what does not depend on how well the quick models train: the sampler and protocol checks,
    # the exact-BP claims (slope ratio at L = 5, sharpening of the root, not of the leaves), no
    # copies; that every verdict reports a finite measurement; and the figure.
    from diffphase.validation.validate import run_validation

    run = run_validation("quick", only=["rhm_discrete"], out=tmp_path / "out", cache_dir=tmp_path / "cache")
    verdicts = {v.name: v for r in run.results for v in r.verdicts}
    assert len(verdicts) == 16
    heads = ("class transition, exact BP marginals through the sampler vs exact BP",
             "root sharp, leaves smooth: slope ratio at the transition, exact BP",
             "class transition sharpens with depth: root-slope growth, exact BP",
             "leaves do not sharpen: leaf-slope growth at the same noise level, exact BP",
             "generated samples equal to a training datum")
    must = [n for n in verdicts if n.split(" (")[0] in heads]
    assert len(must) == 7
    for name in must:
        assert verdicts[name].passed, (name, verdicts[name].measured)
    assert all(math.isfinite(v.measured) for v in verdicts.values())
    assert (tmp_path / "out" / "rhm_discrete.png").exists()
