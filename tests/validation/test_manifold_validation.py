"""The ``manifold`` validation experiment: the autograd Jacobian of a score against finite
differences and against the analytic empirical-score Jacobian, the level-1/2 reading against
closed forms and numerics.manifold, the reading of the authors' spectrum (loss levels on
synthetic fractions, subspace states, a population score), and a tiny end-to-end run giving
every verdict with its kind and source (the quick configuration runs in the slow test)."""

import math

import numpy as np
import pytest
import torch

from diffphase.numerics import conventions as cv
from diffphase.numerics import manifold as mf
from diffphase.validation import manifold as vm
from diffphase.validation.manifold.jacobian import _empirical_jacobians
from diffphase.validation.manifold.protocol import ORIGIN_FRAMES
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
    _, counts, o = vm.surviving_subspace(_empirical_jacobians(X, x, t), t, U)
    assert np.array_equal(counts, ref.counts)
    # the empirical posterior lives in the tangent plane: projections add up to the count
    assert np.allclose(o.sum(axis=1), counts, atol=1e-9)


def test_loss_level_of_synthetic_fractions():
    """Fractions linear in log sigma^2 cross 1/2 at a known level; kept at the smallest noise is
    a bound (censored); never kept is NaN; the lowest upward crossing is the one reported."""
    noise = 0.2 * 2.0 ** -np.arange(8)
    x = np.log(noise)
    f = np.clip(0.5 + (x - math.log(0.01)) / 2.0, 0.0, 1.0)            # crosses 1/2 at 0.01
    level, cens = vm.loss_level(noise, f)
    assert math.isclose(level, math.log(0.01), rel_tol=1e-12) and not cens
    assert vm.loss_level(noise, np.ones(8)) == (float(x.min()), True)
    lvl, cens = vm.loss_level(noise, np.zeros(8))
    assert math.isnan(lvl) and not cens
    # kept in a middle window only (hidden at large noise, memorized at small): the lower edge
    g = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 0.75, 0.25, 0.0])
    assert math.isclose(vm.loss_level(noise, g)[0], 0.5 * (x[5] + x[6]), rel_tol=1e-12)
    # per-point booleans give the same as their mean, in any order of the grid
    kept = np.zeros((8, 4), dtype=bool)
    kept[:5] = True
    kept[5, :3] = True
    kept[6, :1] = True
    o = np.random.default_rng(0).permutation(8)
    assert vm.loss_level(noise[o], kept[o]) == vm.loss_level(noise, kept.mean(axis=1))
    assert math.isclose(vm.loss_level(noise, kept)[0], 0.5 * (x[5] + x[6]), rel_tol=1e-12)


def test_subspace_states_count_points_and_their_binomial_errors():
    r = {"A": np.array([[0.1, 0.2, 0.9, 0.6]]), "B": np.array([[0.1, 0.8, 0.3, 0.9]])}
    k = np.array([[6, 2, 4, 0]])
    st = vm.subspace_states(r, k)
    assert st["A"][0].tolist() == [0.5] and st["B"][0].tolist() == [0.5]
    assert st["one"][0].tolist() == [0.5]                   # points 2 and 3 keep exactly one
    assert st["none"][0].tolist() == [0.25]
    assert np.allclose(st["none"][1], math.sqrt(0.25 * 0.75 / 4))
    with pytest.raises(ValueError, match="one shape"):
        vm.subspace_states(r, np.zeros((2, 4)))


def test_spectrum_data_reads_a_population_score_as_keeping_both_subspaces():
    """The exact score of a Gaussian population on the authors' axes (variances 1, 0.09, 1e-4;
    not projected on the sphere): along a subspace the response is about tau/(tau + v), so at
    tau = 0.02 both subspaces are kept at every point and the dimension estimate is
    d1 + d2 = 7 (the rank-one part of the probes moves it by at most one); at tau = 0.5 the
    low-variance subspace is hidden by the noise."""
    D, d1, d2 = 10, 2, 5
    v = np.array([1.0] * d1 + [0.09] * d2 + [1e-4] * (D - d1 - d2))

    def score(x, t):
        return -x / (cv.theta(t) ** 2 * v + cv.delta(t))

    x0 = np.random.default_rng(0).standard_normal((6, D)) * np.sqrt(v)
    Q = mf.orthogonal_probes(6, D, seed=1)
    out = vm.spectrum_data(score, x0, [0.02, 0.5], Q, d1=d1, d2=d2)
    assert out["k"].shape == (2, 6) and out["spectrum"].shape == (2, D - 1) and out["gaps"].shape == (2, 6, 3)
    assert np.all(out["r"]["A"][0] < 0.1) and np.all(out["r"]["B"][0] < 0.5)
    assert np.all(np.abs(out["k"][0] - (d1 + d2)) <= 1)
    assert np.all(out["r"]["B"][1] > 0.5) and np.all(out["r"]["A"][1] < 0.5)


def _ve_empirical_score(X, x, s2):
    """Variance-exploding empirical score of X at x, noise variance s2 (an independent numpy
    implementation: softmax over -|x - a|^2 / 2 s2)."""
    lg = -((x[:, None, :] - X[None]) ** 2).sum(-1) / (2 * s2)
    lg -= lg.max(axis=1, keepdims=True)
    w = np.exp(lg)
    w /= w.sum(axis=1, keepdims=True)
    return (w @ X - x) / s2


def _sphere_data(n, D, d1, d2, seed):
    s = np.r_[np.full(d1, 1.0), np.full(d2, 0.3), np.full(D - d1 - d2, 0.01)]
    x = np.random.default_rng(seed).standard_normal((n, D)) * s
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_origin_reading_against_an_independent_variance_exploding_computation():
    """The authors' reading at their zero test point: the matrix of variance-exploding scores at
    sigma q_j, computed here independently, gives the same ratios and gaps as origin_reading
    on the OU engine (the OU matrix is e^t times the VE one; both quantities are scale free).
    Deterministic; rtol 1e-6."""
    from diffphase.numerics.empirical import EmpiricalScore

    D, d1, d2, drop = 10, 2, 3, 2
    X = _sphere_data(300, D, d1, d2, seed=4)
    Q = mf.orthogonal_probes(3, D, seed=5)
    noise = [0.2, 0.05, 0.01]
    out = vm.origin_reading(EmpiricalScore(X), noise, Q, d1=d1, d2=d2, drop=drop)
    assert out["rho"]["A"].shape == (3, 3) and out["gaps"].shape == (3, 3, 3) and out["gap_indices"] == [2, 3, 5]
    for i, s2 in enumerate(noise):
        for f in range(3):
            M = _ve_empirical_score(X, math.sqrt(s2) * Q[f], s2)
            col = np.linalg.norm(M, axis=0)                      # |M e_i|
            rms = lambda idx: math.sqrt(np.mean(col[idx] ** 2))  # noqa: E731
            normal = list(range(d1 + d2, D))
            assert out["rho"]["A"][i, f] == pytest.approx(rms([0, 1]) / rms(normal), rel=1e-6)
            assert out["rho"]["B"][i, f] == pytest.approx(rms([2, 3, 4]) / rms(normal), rel=1e-6)
            sv = np.linalg.svd(M, compute_uv=False)[drop:]
            u = np.sort(sv / sv.max())
            want = [u[m] - u[m - 1] for m in (2, 3, 5)]
            assert np.allclose(out["gaps"][i, f], want, rtol=1e-6, atol=1e-9)


def test_at_the_mean_of_equal_norm_data_the_score_reads_the_second_moment_at_every_size():
    """Why the reading at the data mean does not measure memorization: for points of equal norm
    the posterior at 0 is uniform, so the Jacobian of the empirical score there is
    (C - sigma^2 I)/sigma^4 (variance-exploding units, C the covariance of the training set)
    for every N. Checked with short probes (h = 1e-4 sqrt(Delta)) against that closed form,
    per axis |J e_i| = |(C - sigma^2 I) e_i| / sigma^4, at N = 40 and N = 4000: the ratios
    rho_g follow the second moment, rtol 1e-3 (finite-difference error O(h))."""
    from diffphase.numerics.empirical import EmpiricalScore

    D, d1, d2 = 9, 2, 3
    for n in (40, 4000):
        X = _sphere_data(n, D, d1, d2, seed=n)
        C = np.cov(X.T, bias=True)
        for s2 in (0.3, 0.05):
            t = cv.time_from_ve_variance(s2)
            h = 1e-4 * math.sqrt(cv.delta(t))
            Q = mf.orthogonal_probes(1, D, seed=2)
            M = mf.probe_score_matrix(EmpiricalScore(X), np.zeros((1, D)), t, Q, scale=h, symmetric=True)[0]
            col = np.linalg.norm(M, axis=0)
            want = np.linalg.norm(C - s2 * np.eye(D), axis=0)
            rho = lambda c, idx: math.sqrt(np.mean(c[idx] ** 2) / np.mean(c[d1 + d2:] ** 2))  # noqa: E731
            for idx in ([0, 1], [2, 3, 4]):
                assert rho(col, idx) == pytest.approx(rho(want, idx), rel=1e-3)


def test_bad_input():
    with pytest.raises(ValueError, match="drop"):
        vm.origin_reading(lambda x, t: -x, [0.1], mf.orthogonal_probes(1, 8, seed=0), d1=2, d2=3, drop=3)
    with pytest.raises(ValueError, match="d2"):
        vm.origin_reading(lambda x, t: -x, [0.1], mf.orthogonal_probes(1, 8, seed=0), d1=2, d2=6)
    with pytest.raises(ValueError, match="probes"):
        vm.origin_reading(lambda x, t: -x, [0.1], np.eye(8), d1=2, d2=3)
    with pytest.raises(ValueError, match="x must be"):
        vm.score_jacobian(MLPDenoiser(2, hidden=4, depth=1), np.ones(2), 0.1)
    with pytest.raises(ValueError, match="t must be > 0"):
        vm.score_jacobian(MLPDenoiser(2, hidden=4, depth=1), np.ones((1, 2)), 0.0)
    with pytest.raises(ValueError, match="basis"):
        vm.surviving_subspace(np.zeros((1, 3, 3)), 0.1, np.eye(2))
    with pytest.raises(ValueError, match="level"):
        vm.surviving_subspace(np.zeros((1, 2, 2)), 0.1, np.eye(2), level=1.0)
    with pytest.raises(ValueError, match="n_train"):
        vm.manifold_point(n_train=1, dim=8, d1=2, d2=3, stds=[1, 0.3, 0.01], noise=[0.1], n_points=4, train=None,
                          seed=0)
    with pytest.raises(ValueError, match="stds"):
        vm.manifold_point(n_train=8, dim=8, d1=2, d2=3, stds=[1, 0.3], noise=[0.1], n_points=4, train=None, seed=0)
    with pytest.raises(ValueError, match="noise"):
        vm.spectrum_data(lambda x, t: -x, np.ones((2, 8)), [0.1, -1.0], mf.orthogonal_probes(2, 8, seed=0),
                         d1=2, d2=3)
    with pytest.raises(ValueError, match="ratio"):
        vm.noise_grid(0.2, 1.0, 4)


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
        os.append(vm.surviving_subspace(_empirical_jacobians(X, x, t), t, U)[2])
    o = np.concatenate(os).mean(axis=0)
    assert np.all((o[:3] > 0.2) & (o[:3] < 0.55)), o
    assert o[2] < max(o[0], o[1]), o
    assert o[3] < 0.1, o


_TINY = {"dim": 8, "d1": 2, "d2": 3, "stds": [1.0, 0.3, 0.01], "sizes": [8, 32], "reference_sizes": [200],
         "noise": {"largest": 0.2, "ratio": 2.0, "count": 6}, "n_points": 6, "show_noise": 0.02, "n_boot": 50,
         "seed": 0,
         "train": {"model": "mlp", "model_kwargs": {"hidden": 16, "depth": 1}, "steps": 50, "batch_size": 32,
                   "lr": 2e-3, "t_min": 1e-3, "t_max": 3.0, "t_distribution": "log_uniform", "checkpoint_every": 1000}}


def test_tiny_end_to_end_run_gives_every_verdict_with_kind_and_source(tmp_path):
    from diffphase.validation.claims import CLAIMS
    from diffphase.validation.validate import plan, run_validation

    run = run_validation("quick", only=["manifold"], out=tmp_path, cache_dir=tmp_path / "cache",
                         configs={"manifold": _TINY}, progress=False)
    (res,) = run.results
    assert (tmp_path / "manifold.png").exists()
    kinds = [v.kind for v in res.verdicts]
    assert kinds.count("precondition") == 2 and kinds.count("claim") == 4
    assert kinds.count("reference") == 0 and kinds.count("exploratory") == 4
    keys = {v.key for v in res.verdicts}
    assert {"memorizes", "memorizes at N", "separation model", "selective model", "separation empirical",
            "selective empirical", "order model", "order empirical", "threshold model", "threshold empirical"} == keys
    for v in res.verdicts:
        assert v.source.strip()
        if v.kind == "claim":
            assert v.claim == "achilli.selective"
            assert v.requires == (("memorizes", "memorizes at N") if "model" in v.key else ())
            assert "manifold" in CLAIMS[v.claim].tested_by
    # the trained-model claims are INCONCLUSIVE exactly when one of their preconditions failed
    pre = {v.key: v.passed for v in res.verdicts if v.kind == "precondition"}
    for v in res.verdicts:
        if v.kind == "claim" and "model" in v.key:
            assert (v.outcome == "INCONCLUSIVE") == (not all(pre.values()))
    pts = res.numbers["points"]
    assert [p["n_train"] for p in pts] == [8, 32, 200]
    assert pts[2]["model"] is None and all(pts[i]["model"] is not None for i in (0, 1))
    for p in pts:
        for who in ("model", "empirical"):
            d = p[who]
            if d is None:
                continue
            assert np.asarray(d["k"]).shape == (6, 6)
            spec = np.asarray(d["spectrum"])
            assert spec.shape == (6, 7) and np.allclose(spec[:, 0], 1.0) and np.all(np.diff(spec, axis=1) <= 1e-12)
            for g in ("A", "B"):
                r = np.asarray(d["r"][g])
                assert r.shape == (6, 6) and np.all((r >= 0) & (r <= 1 + 1e-9))
                assert np.asarray(d["origin"]["rho"][g]).shape == (6, min(6, ORIGIN_FRAMES))
            assert d["origin"]["drop"] == 2 and d["origin"]["gap_indices"] == [2, 3, 5]
    (row,) = plan("full", only=["manifold"])
    assert row["train_flops"] > 0 and row["gpu_seconds"] > 0


@pytest.mark.slow
def test_quick_configuration(tmp_path):
    """The quick run (measured, see docs/models/manifold.md): the trained model memorizes at the
    smallest size and has lost a subspace at the larger one (both preconditions pass); at
    N = 64 most training points keep exactly one subspace (A) while B is never kept, so the
    separation of loss levels is undefined (NaN) and fails; on the exact empirical score at
    N = 20 000 the two subspaces are lost at nearly the same noise level (separation below
    log 2) and no noise level has a majority of points keeping exactly one. Asserted so that
    this test notices when the protocol, the model or the reference changes."""
    from diffphase.validation.validate import run_validation

    run = run_validation("quick", only=["manifold"], out=tmp_path, cache_dir=tmp_path, progress=False)
    (res,) = run.results
    v = {x.key: x for x in res.verdicts}
    assert v["memorizes"].passed
    assert v["memorizes at N"].passed
    assert v["selective model"].outcome == "PASS" and not math.isfinite(v["separation model"].measured)
    assert math.isfinite(v["separation empirical"].measured) and v["separation empirical"].measured < math.log(2)
    assert v["selective empirical"].measured < 0.5


def test_linear_manifold_projected_on_the_sphere_is_the_same_draw_divided_by_its_norm():
    from diffphase.validation.data import linear_manifold

    s = [1.0, 1.0, 0.3, 0.3, 0.3, 0.01]
    raw = linear_manifold(50, 6, 6, s, basis=np.eye(6), seed=3).data.numpy().astype(np.float64)
    ds = linear_manifold(50, 6, 6, s, basis=np.eye(6), seed=3, project_to_sphere=True)
    x = ds.data.numpy().astype(np.float64)
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-6)
    assert np.allclose(x, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)
    assert ds.meta["project_to_sphere"] is True
    with pytest.raises(ValueError, match="project_to_sphere"):
        linear_manifold(5, 3, 3, 1.0, seed=0, project_to_sphere=1)
