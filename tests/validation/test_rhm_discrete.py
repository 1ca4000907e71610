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
from diffphase.validation.models import TreeDenoiser, build_model, denoiser_flops
from diffphase.validation.train import TrainConfig, _discrete_loss, config_key, sample_times, train


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
    from diffphase.validation import train as T

    rhm = RHM(4, 2, 2, 2, seed=0)
    ds = R.rhm_dataset(rhm, 512, seed=1)
    cfg = TrainConfig(model="tree", objective="masking", model_kwargs={"hidden": 16}, steps=300, batch_size=64,
                      lr=1e-2, t_distribution="noise_level", checkpoint_every=150, warmup_steps=10)
    m1, h1 = train(cfg, ds, device="cpu", use_cache=False, progress=False)
    m2, h2 = train(cfg, ds, device="cpu", use_cache=False, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    # interrupt a cached run after its first checkpoint (step 150), then resume it: same
    # losses and weights, bit for bit, as the uninterrupted run
    real_update = T._Progress.update

    def interrupt(self, step, loss, lr):
        if step == 170:
            raise KeyboardInterrupt
        real_update(self, step, loss, lr)

    monkeypatch.setattr(T._Progress, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, ds, device="cpu", cache_dir=tmp_path, progress=True)
    monkeypatch.setattr(T._Progress, "update", real_update)
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
    grid = R._uniform_levels(proc, 0.4)
    assert grid[0] == 0.4 and grid[-1] == 0.0 and np.all(np.diff(grid) < 0)
    draws = R._uniform_reverse(lambda x, e: np.broadcast_to(p, x.shape + (3,)), proc, np.zeros((3000, 1), np.int64),
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


def test_experiment_registered_and_plan():
    from diffphase.validation.validate import EXPERIMENTS, plan

    exp = EXPERIMENTS["rhm_discrete"]
    for mode in ("quick", "full"):
        c = exp.cost(exp.config(mode))
        assert c["train_flops"] > 0 and c["sample_flops"] > 0 and c["train_steps"] > 0
    assert plan is not None


def test_point_end_to_end_tiny(tmp_path):
    p = R.rhm_discrete_point(process="masking", v=4, m=2, s=2, L=2, n_train=256,
                             train={"model_kwargs": {"hidden": 8}, "steps": 20, "batch_size": 32,
                                    "t_distribution": "noise_level", "warmup_steps": 2},
                             noises=[0.2, 0.5, 0.8], n_fb=20, n_exact=50, n_gen=20, rules_seed=0, seed=0,
                             device="cpu", cache_dir=str(tmp_path))
    assert np.asarray(p["model"]["p"]).shape == (3, 3)
    assert 0.0 <= p["gen_valid"] <= 1.0 and 0.0 <= p["gen_copies"] <= 1.0
    assert np.asarray(p["mf_root"]).shape == (3,)


@pytest.mark.slow
def test_quick_configuration(tmp_path):
    # Measured quick run (docs/models/rhm.md): the transition verdict passes (0.606 vs 0.649),
    # rule validity misses its 0.9 by one standard error (0.899) and the slope ratio meets its
    # 1.3 by 0.01 (exact BP itself gives 1.40 at L = 4, m = 2). This test asserts what is not
    # marginal: the sampler and protocol check, the transition, no copies; and that every
    # verdict reports a finite measurement.
    from diffphase.validation.validate import run_validation

    run = run_validation("quick", only=["rhm_discrete"], out=tmp_path / "out", cache_dir=tmp_path / "cache")
    verdicts = {v.name.split(" (")[0]: v for r in run.results for v in r.verdicts}
    assert len(verdicts) == 5
    for key in ("class transition, exact BP marginals through the sampler vs exact BP",
                "class transition, trained model vs exact BP",
                "generated samples equal to a training datum"):
        assert verdicts[key].passed, (key, verdicts[key].measured)
    assert all(math.isfinite(v.measured) for v in verdicts.values())
    assert verdicts["generated samples obeying the rules at every level"].measured > 0.85
    assert (tmp_path / "out" / "rhm_discrete.png").exists()
