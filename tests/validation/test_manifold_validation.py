"""The ``manifold`` validation experiment: the autograd Jacobian of a score against finite
differences and against the analytic empirical-score Jacobian, the surviving-direction reading
against closed forms and numerics.manifold, the threshold analysis on synthetic curves, and a
tiny end-to-end run (the quick configuration runs in the slow test)."""

import math

import numpy as np
import pytest
import torch

from diffphase.numerics import conventions as cv
from diffphase.numerics import manifold as mf
from diffphase.validation import manifold as vm
from diffphase.validation.models import MLPDenoiser, score_function


class _EmpiricalEps(torch.nn.Module):
    """eps(x, t) = -sqrt(Delta_t) * (exact empirical score of X), written in torch here (an
    independent implementation of the score whose Jacobian numerics.manifold gives in closed
    form)."""

    def __init__(self, X):
        super().__init__()
        self.register_buffer("X", torch.as_tensor(X, dtype=torch.float64))

    def forward(self, x, t):
        x = x.double()
        theta = torch.exp(-t.double())[:, None]
        delta = -torch.expm1(-2 * t.double())[:, None]
        d2 = ((x[:, None, :] - theta[:, :, None] * self.X[None]) ** 2).sum(-1)
        w = torch.softmax(-d2 / (2 * delta), dim=1)
        score = (theta * (w @ self.X) - x) / delta
        return (-torch.sqrt(delta) * score).float()


def test_score_jacobian_matches_finite_differences_of_the_score():
    torch.manual_seed(0)
    model = MLPDenoiser(3, hidden=16, depth=1).double()
    x = np.random.default_rng(0).standard_normal((5, 3))
    t = 0.3
    J = vm.score_jacobian(model.float(), x, t)
    score = score_function(model.float())
    h = 1e-2
    num = np.stack([(score(x + h * e, t) - score(x - h * e, t)) / (2 * h) for e in np.eye(3)], axis=2)
    # float32 network: central differences with h = 1e-2 are accurate to ~1e-3 relative
    assert np.max(np.abs(num - J)) < 2e-3 * max(1.0, np.abs(J).max())


def test_score_jacobian_of_the_empirical_score_is_the_analytic_one():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((12, 3))
    t = 0.15
    x = cv.theta(t) * X[:6] + math.sqrt(cv.delta(t)) * rng.standard_normal((6, 3))
    J = vm.score_jacobian(_EmpiricalEps(X), x, t)
    ev_auto = np.linalg.eigvalsh(0.5 * (J + J.transpose(0, 2, 1)))
    ev_exact = mf.jacobian_spectrum(X, x, t)
    # float32 output of the wrapper: relative 1e-5 of the largest |eigenvalue| ~ 1/Delta
    assert np.max(np.abs(ev_auto - ev_exact)) < 1e-4 / cv.delta(t)


def test_population_jacobian_keeps_exactly_the_directions_above_the_noise():
    """Gaussian population on a plane: the score's Jacobian is -(theta^2 Sigma + Delta I)^-1 in
    closed form; direction i survives iff sigma_i^2 >= tau, and the surviving subspace is
    spanned by those u_i."""
    D, v = 5, np.array([3.0, 0.2, 0.01])
    U = np.linalg.qr(np.random.default_rng(2).standard_normal((D, 3)))[0]
    t = cv.time_from_ve_variance(0.1)
    cov = (U * v) @ U.T
    J = -np.linalg.inv(cv.theta(t) ** 2 * cov + cv.delta(t) * np.eye(D))[None]
    scaled, counts, o = vm.surviving_subspace(J, t, U)
    assert counts[0] == mf.population_surviving(v, t) == 2
    assert np.allclose(o[0], [1.0, 1.0, 0.0], atol=1e-10)
    assert np.allclose(np.sort(scaled[0])[-3:], np.sort(-1.0 / (1.0 + v * cv.snr(t))), rtol=1e-10)


def test_surviving_subspace_counts_like_numerics_surviving_directions():
    rng = np.random.default_rng(3)
    v = np.array([4.0, 0.5])
    U = np.linalg.qr(rng.standard_normal((4, 2)))[0]
    X = (rng.standard_normal((60, 2)) * np.sqrt(v)) @ U.T
    t = cv.time_from_ve_variance(0.05)
    ref = mf.surviving_directions(X, t, 40, seed=7)
    # the same query points as surviving_directions (its documented draw)
    r = np.random.default_rng(7)
    idx = r.integers(0, 60, size=40)
    x = cv.theta(t) * X[idx] + math.sqrt(cv.delta(t)) * r.standard_normal((40, 4))
    _, counts, o = vm.surviving_subspace(vm._empirical_jacobians(X, x, t), t, U)
    assert np.array_equal(counts, ref.counts)
    # the empirical posterior lives in the tangent plane: projections add up to the count
    assert np.allclose(o.sum(axis=1), counts, atol=1e-9)


def test_analysis_finds_crossings_of_synthetic_curves():
    """Fractions exactly linear in log N cross 1/2 at known sizes (the monotone fit is exact)."""
    sizes = [4, 16, 64, 256, 1024]
    logn = np.log(sizes)

    def lin(center):
        return np.clip(0.5 + (logn - math.log(center)) / 4.0, 0.0, 1.0)

    def summ(i):
        return {"at_least": [lin(30)[i], lin(200)[i], 0.0, 0.0], "at_least_se": [0.01] * 4,
                "overlap": [lin(100)[i], lin(40)[i], 0.0], "overlap_se": [0.01] * 3}

    points = [{"n_train": n, "model": summ(i), "empirical": summ(i), "empirical_sets": summ(i)}
              for i, n in enumerate(sizes)]
    v = [4.0, 0.5, 0.001]
    t = cv.time_from_ve_variance(0.05)
    a = vm._analyse(points, v, t, seed=0)
    assert a["k_pop"] == 2 and list(a["tangent"]) == [0, 1]
    assert np.allclose(a["steps_pred"], [11.0**1.5, 81.0**1.5])   # (1 + sigma^2/tau)^(k/2), k = 3
    for who in ("model", "empirical", "empirical_sets"):
        assert np.allclose(np.exp(a[who]["log_step"]), [30.0, 200.0], rtol=1e-9)
        assert np.allclose(np.exp(a[who]["log_half"]), [100.0, 40.0], rtol=1e-9)


def test_bad_input():
    with pytest.raises(ValueError, match="x must be"):
        vm.score_jacobian(MLPDenoiser(2, hidden=4, depth=1), np.ones(2), 0.1)
    with pytest.raises(ValueError, match="t must be > 0"):
        vm.score_jacobian(MLPDenoiser(2, hidden=4, depth=1), np.ones((1, 2)), 0.0)
    with pytest.raises(ValueError, match="basis"):
        vm.surviving_subspace(np.zeros((1, 3, 3)), 0.1, np.eye(2))
    with pytest.raises(ValueError, match="level"):
        vm.surviving_subspace(np.zeros((1, 2, 2)), 0.1, np.eye(2), level=1.0)
    with pytest.raises(ValueError, match="n_train"):
        vm.manifold_point(n_train=1, dim=3, variances=[1.0], t=0.1, train={}, n_queries=4, n_sets=1,
                          level=0.5, seed=0, device="cpu", cache_dir=None)


_TINY = {"dim": 3, "variances": [4.0, 0.5], "sizes": [4, 40, 400], "n_queries": 32, "n_sets": 2, "sample_steps": 10,
         "train": {"model": "mlp", "model_kwargs": {"hidden": 16, "depth": 1}, "steps": 60, "batch_size": 32,
                   "lr": 2e-3, "t_max": 3.0, "t_distribution": "log_uniform", "checkpoint_every": 1000}}


def test_tiny_end_to_end_run_writes_every_number_and_plans(tmp_path):
    from diffphase.validation.validate import plan, run_validation

    run = run_validation("quick", only=["manifold"], out=tmp_path, cache_dir=tmp_path / "cache",
                         configs={"manifold": _TINY}, progress=False)
    (res,) = run.results
    assert (tmp_path / "manifold.png").exists()
    k_pop = 2
    assert len(res.verdicts) == 1 + 2 * k_pop + 2
    pts = res.numbers["points"]
    assert [p["n_train"] for p in pts] == _TINY["sizes"]
    for p in pts:
        for who in ("model", "empirical", "empirical_sets", "model_generated"):
            s = p[who]
            assert 0 <= s["count_mean"] <= _TINY["dim"]
            assert np.all(np.diff(s["at_least"]) <= 1e-12)      # P(count >= m) falls with m
            assert np.array(s["spectrum_q"]).shape == (3, _TINY["dim"])
        # empirical posterior in the tangent plane: projections add up to the mean count
        assert math.isclose(sum(p["empirical"]["overlap"]), p["empirical"]["count_mean"], abs_tol=1e-9)
    (row,) = plan("full", only=["manifold"])
    assert row["train_flops"] > 0 and row["gpu_seconds"] > 0


@pytest.mark.slow
def test_quick_configuration(tmp_path):
    """The quick run. Every verdict must pass except the two ``order`` verdicts: they test
    *which* directions survive, and the per-direction thresholds get that wrong on the exact
    empirical score itself (its tangent projections cross 1/2 together, not higher variance
    last); they are asserted to be measured (finite), and the empirical one to fail, so that
    this test notices when the theory or the reference changes."""
    from diffphase.validation.validate import run_validation

    run = run_validation("quick", only=["manifold"], out=tmp_path, cache_dir=tmp_path, progress=False)
    (res,) = run.results
    order = [v for v in res.verdicts if v.name.startswith("order")]
    others = [v for v in res.verdicts if not v.name.startswith("order")]
    assert len(order) == 2 and len(others) == 5
    assert all(v.passed for v in others), [(v.name, v.measured, v.predicted) for v in others if not v.passed]
    assert all(math.isfinite(v.measured) for v in order)
    assert not [v for v in order if "empirical" in v.name][0].passed


def test_empirical_score_keeps_no_particular_tangent_direction():
    """The measured fact behind the failing ``order`` verdicts, on the exact empirical score of
    the numerics leg's problem (k = 4 in D = 7, variances 4, 1, 0.25, 0.01, tau = 0.05,
    N_c = 6561, 441, 36). At N = 126 the thresholds say only the variance-0.25 direction
    survives (o = (0, 0, 1, 0)); the surviving subspace is instead spread evenly over the three
    population-tangent directions (measured, 3 sets x 256 points: 0.37, 0.38, 0.31, 0.04), its
    total (the mean count, ~1.1) as the thresholds predict. Asserted: each of the three
    projections is between 0.2 and 0.55 and the variance-0.25 one is not the largest. Seeded;
    the standard error of each mean is 0.013 and the smallest margin (0.309 vs 0.38) is 3.9
    standard errors of the difference, so another seed fails with probability ~1e-4."""
    from diffphase.validation.data import linear_manifold

    v = np.array([4.0, 1.0, 0.25, 0.01])
    t = cv.time_from_ve_variance(0.05)
    os = []
    for s in range(3):
        ds = linear_manifold(126, 7, 4, np.sqrt(v), seed=s)
        X, U = ds.data.numpy().astype(np.float64), ds.meta["basis"]
        r = np.random.default_rng(s)
        idx = r.integers(0, 126, size=256)
        x = cv.theta(t) * X[idx] + math.sqrt(cv.delta(t)) * r.standard_normal((256, 7))
        os.append(vm.surviving_subspace(vm._empirical_jacobians(X, x, t), t, U)[2])
    o = np.concatenate(os).mean(axis=0)
    assert np.all((o[:3] > 0.2) & (o[:3] < 0.55)), o
    assert o[2] < max(o[0], o[1]), o
    assert o[3] < 0.1, o
