"""Forward-backward observables vs exact expectations computed by brute force.

Monte Carlo estimates are compared with the exact value at 4.5 standard errors: with the
central limit theorem the false-failure rate is about 7e-6 per comparison (fixed seeds make
each outcome deterministic)."""

import itertools

import numpy as np
import pytest

from diffphase.numerics.rhm import RHM, change_correlations, class_curves, forward_backward

Z = 4.5


def exact_masking_curve(rhm, eps):
    """E over data and mask patterns of the mean posterior probability of the true latent,
    per level, by explicit enumeration (independent of the BP code)."""
    leaves, levels = rhm.enumerate()
    n, d = leaves.shape
    out = np.zeros(rhm.L + 1)
    for mask in itertools.product([0, 1], repeat=d):
        mask = np.array(mask, dtype=bool)
        pm = eps ** mask.sum() * (1 - eps) ** (d - mask.sum())
        # data compatible with the unmasked tokens of datum k: same visible tokens
        vis = leaves[:, ~mask]
        key = {}
        for k, row in enumerate(map(tuple, vis)):
            key.setdefault(row, []).append(k)
        for k in range(n):
            group = key[tuple(vis[k])]  # posterior: uniform over the compatible data
            for l in range(rhm.L + 1):
                agree = (levels[l][group] == levels[l][k]).mean(0)  # per node
                out[l] += pm / n * agree.mean()
    return out


@pytest.mark.parametrize("eps", [0.35, 0.7])
def test_forward_backward_matches_exact_expectation(eps):
    rhm = RHM(3, 2, 2, 2, seed=2)
    exact = exact_masking_curve(rhm, eps)
    res = forward_backward(rhm, "masking", eps, n_samples=3000, n_trajectories=2, seed=5)
    assert res.time == pytest.approx(-0.5 * np.log(1 - eps))
    assert np.all(res.stderr > 0) and np.all(res.stderr_marginal > 0)
    assert np.all(np.abs(res.p_marginal - exact) < Z * res.stderr_marginal)
    assert np.all(np.abs(res.p_unchanged - exact) < Z * res.stderr)
    # the sampled change indicators are the leaves of the sampled trees
    np.testing.assert_array_equal(res.changed, res.level_changed[-1])
    assert res.changed.mean() == pytest.approx(1 - res.p_unchanged[-1])


def test_class_curves_match_exact_expectation():
    rhm = RHM(3, 2, 2, 2, seed=2)
    eps = np.array([0.2, 0.6])
    p, se = class_curves(rhm, "masking", eps, n_samples=3000, seed=8)
    for k, e in enumerate(eps):
        exact = exact_masking_curve(rhm, e)
        assert np.all(np.abs(p[k] - exact) < Z * se[k])


def test_forward_backward_limits():
    rhm = RHM(6, 2, 2, 3, seed=0)
    clean = forward_backward(rhm, "masking", 0.0, n_samples=20, n_trajectories=3, seed=1)
    np.testing.assert_array_equal(clean.p_unchanged, 1.0)
    np.testing.assert_allclose(clean.p_marginal, 1.0, atol=1e-12)
    assert not clean.changed.any()
    full = forward_backward(rhm, "masking", 1.0, n_samples=20, n_trajectories=3, seed=1)
    # everything masked: the class posterior is the uniform prior
    assert full.p_marginal[0] == pytest.approx(1 / rhm.n_classes, abs=1e-12)
    assert full.time == np.inf
    a = forward_backward(rhm, "uniform", 0.5, n_samples=10, n_trajectories=2, seed=4)
    b = forward_backward(rhm, "uniform", 0.5, n_samples=10, n_trajectories=2, seed=4)
    np.testing.assert_array_equal(a.changed, b.changed)


def test_forward_backward_validation():
    rhm = RHM(4, 2, 2, 2)
    with pytest.raises(ValueError, match="n_samples"):
        forward_backward(rhm, "masking", 0.5, n_samples=0)
    with pytest.raises(ValueError, match="n_trajectories"):
        forward_backward(rhm, "masking", 0.5, n_samples=2, n_trajectories=0)
    with pytest.raises(ValueError, match="noise level"):
        forward_backward(rhm, "masking", 1.5, n_samples=2)
    with pytest.raises(ValueError, match="process"):
        forward_backward(rhm, "blur", 0.5, n_samples=2)


def test_change_correlations_against_direct_sum():
    rng = np.random.default_rng(3)
    x = (rng.random((200, 3, 16)) < np.linspace(0.1, 0.8, 16)).astype(int)
    x[:, :, 5] = x[:, :, 4]  # some real correlation
    C, chi = change_correlations(x)
    flat = x.reshape(-1, 16).astype(float)
    mu = flat.mean(0)
    d = 16
    ref = np.array([np.mean([np.mean(flat[:, i] * flat[:, i + r]) - mu[i] * mu[i + r]
                             for i in range(d - r)]) for r in range(d)])
    np.testing.assert_allclose(C, ref, atol=1e-12)
    assert chi == pytest.approx(ref.sum(), abs=1e-12)
    assert C[1] > 0.005  # the planted correlation at distance 1 is seen


def test_change_correlations_validation():
    with pytest.raises(ValueError, match="changed"):
        change_correlations(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="finite"):
        change_correlations(np.array([[np.nan, 1.0]]))
