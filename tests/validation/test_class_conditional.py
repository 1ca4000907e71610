"""Class-conditional denoisers: the ClassConditional wrapper against an exact network, label
dropout training, and input checks."""

import math

import numpy as np
import pytest
import torch

from diffphase.numerics import information as info
from diffphase.numerics import process
from diffphase.numerics.gaussian_mixture import GaussianMixture
from diffphase.validation.data import gaussian_mixture
from diffphase.validation.models import ClassConditional, MLPDenoiser, score_function
from diffphase.validation.train import TrainConfig, train


def _gc():
    return GaussianMixture([[2.0, 0.0, 0.5], [-1.0, 1.5, 0.0], [0.0, -2.0, -0.5]], [0.3, 0.1, 0.05],
                                [0.5, 0.3, 0.2])


def test_wrapper_reproduces_exact_denoisers_and_score(exact_eps_net):
    gc = _gc()
    cc = ClassConditional(exact_eps_net(gc), batch_size=7)
    x = np.random.default_rng(0).standard_normal((20, 3))
    for t in (0.05, 0.5, 2.0):
        np.testing.assert_allclose(cc.class_denoisers(x, t), gc.class_denoisers(x, t), atol=2e-5 * math.exp(t))
        np.testing.assert_allclose(cc.score(x, t), gc.score(x, t), rtol=1e-5, atol=1e-5)
        d_u, d_c = cc.guidance_denoisers(1)(x, t)
        post = gc.posterior(x, t)
        ref_u = np.einsum("bk,bkd->bd", post, gc.class_denoisers(x, t))
        np.testing.assert_allclose(d_u, ref_u, atol=2e-5 * math.exp(t))
        np.testing.assert_allclose(d_c, gc.class_denoisers(x, t)[:, 1], atol=2e-5 * math.exp(t))
    # the online classifier on the wrapper equals the one on the exact mixture
    from diffphase.numerics import sde

    grid = process.time_grid(3.0, 0.05, 20)
    saved = sde.sample_path(gc.score, x, grid, seed=1).as_dict()
    a = info.online_posterior(saved, cc, initial=gc.weights).posterior
    b = info.online_posterior(saved, gc, initial=gc.weights).posterior
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_conditional_training_learns_class_means():
    torch.manual_seed(0)
    ds = gaussian_mixture(4000, [[2.0, 0.0], [-2.0, 0.0]], 0.3, seed=0)
    cfg = TrainConfig(model_kwargs={"num_classes": 2, "hidden": 64, "depth": 2}, steps=400, batch_size=128)
    model, _ = train(cfg, ds, use_cache=False, progress=False)
    cc = ClassConditional(model)
    x = np.zeros((1, 2))
    # E[x0 | x_t = 0, y] = mu_y (1 - v theta^2 / Gamma) ~ mu_y for v = 0.09: within 0.35
    for y, mu in ((0, [2.0, 0.0]), (1, [-2.0, 0.0])):
        assert np.linalg.norm(cc.denoise(x, 0.5, y)[0] - mu) < 0.35
    # unconditional prediction at x = 0 is the symmetric average, near 0
    assert np.linalg.norm(cc.denoise(x, 0.5)[0]) < 0.5
    s0 = score_function(model, label=0)(np.zeros((1, 2), dtype=np.float32), 0.5)
    assert s0[0, 0] > 0  # the class-0 score points toward +2


def test_conditional_input_checks():
    ds = gaussian_mixture(100, [[1.0], [-1.0]], 0.3, seed=0)
    with pytest.raises(ValueError, match="label_dropout"):
        TrainConfig(label_dropout=1.0).validate()
    unlabelled = ds.data.numpy()
    cfg = TrainConfig(model_kwargs={"num_classes": 2, "hidden": 8, "depth": 1}, steps=1)
    with pytest.raises(ValueError, match="labelled data"):
        train(cfg, unlabelled, use_cache=False, progress=False)
    cfg3 = TrainConfig(model_kwargs={"num_classes": 1, "hidden": 8, "depth": 1}, steps=1)
    with pytest.raises(ValueError, match="labels must be in"):
        train(cfg3, ds, use_cache=False, progress=False)
    net = MLPDenoiser(1, hidden=8, depth=1, num_classes=2)
    with pytest.raises(ValueError, match="y must be in"):
        net(torch.zeros(2, 1), 0.5, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="unconditional network"):
        MLPDenoiser(1, hidden=8, depth=1)(torch.zeros(2, 1), 0.5, 0)
    with pytest.raises(ValueError, match="label is only"):
        score_function(MLPDenoiser(1, hidden=8, depth=1), label=0)
    with pytest.raises(ValueError, match="class-conditional"):
        ClassConditional(MLPDenoiser(1, hidden=8, depth=1))
    with pytest.raises(ValueError, match="y"):
        ClassConditional(net).denoise(np.zeros((2, 1)), 0.5, 2)


def test_label_dropout_in_cache_key_only_when_changed():
    assert "label_dropout" not in TrainConfig().hashed_dict()
    assert TrainConfig(label_dropout=0.2).hashed_dict()["label_dropout"] == 0.2
