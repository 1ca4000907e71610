"""The memorization experiment: the sample classifier on point sets whose answer is known by
construction and against a brute-force implementation of its rule, the scales, the reading of
crossings and peaks, a tiny end-to-end run, and (slow) the quick configuration."""

import math

import numpy as np
import pytest

from diffphase.validation import memorization as M
from diffphase.validation import validate as V
from diffphase.validation.memorization import analysis as A

MEM, SPU, GEN = M.MEMORIZED, M.SPURIOUS, M.GENERALIZED


def _brute_force(samples, train, dm, ds, k):
    """The rule of classify_samples written out with O(N^2) loops (independent reference)."""
    x, a = np.asarray(samples, float), np.asarray(train, float)
    n = len(x)
    near = np.array([min(np.linalg.norm(xi - aj) for aj in a) for xi in x])
    mem = near <= dm
    rest = [i for i in range(n) if not mem[i]]
    core = {i for i in rest if sum(np.linalg.norm(x[i] - x[j]) <= ds for j in rest) >= k}
    labels = []
    for i in range(n):
        if mem[i]:
            labels.append(MEM)
        elif i in core or any(np.linalg.norm(x[i] - x[j]) <= ds for j in core):
            labels.append(SPU)
        else:
            labels.append(GEN)
    # spurious states: connected components of the core set under "within ds"
    comps, seen = 0, set()
    for i in core:
        if i in seen:
            continue
        comps += 1
        stack = [i]
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            stack += [v for v in core if v not in seen and np.linalg.norm(x[u] - x[v]) <= ds]
    return np.array(labels), comps


def test_constructed_sets():
    train = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    rng = np.random.default_rng(0)
    memorized = train[[0, 0, 1, 2]] + 0.01 * rng.standard_normal((4, 2))          # 4 on training points
    cluster_a = np.array([5.0, 5.0]) + 0.02 * rng.standard_normal((5, 2))         # a new attractor (5)
    cluster_b = np.array([-6.0, 2.0]) + 0.02 * rng.standard_normal((3, 2))        # another (3 = k)
    pair = np.array([[3.0, -7.0], [3.0, -7.05]])                                   # only 2 < k: generalized
    lonely = np.array([[20.0, 20.0], [-15.0, -9.0]])                               # generalized
    samples = np.concatenate([memorized, cluster_a, cluster_b, pair, lonely])
    c = M.classify_samples(samples, train, delta_m=0.1, delta_s=0.1, min_cluster=3)
    assert c.labels.tolist() == [MEM] * 4 + [SPU] * 8 + [GEN] * 4
    assert c.n_states == 2
    assert c.fractions == pytest.approx({"memorized": 4 / 16, "spurious": 8 / 16, "generalized": 4 / 16})
    assert c.stderr["spurious"] == pytest.approx(math.sqrt(0.5 * 0.5 / 16))
    # with k = 6 neither cluster is dense enough
    c6 = M.classify_samples(samples, train, delta_m=0.1, delta_s=0.1, min_cluster=6)
    assert c6.labels.tolist() == [MEM] * 4 + [GEN] * 12 and c6.n_states == 0


def test_memorized_samples_do_not_make_clusters_and_radii_are_inclusive():
    train = np.array([[0.0], [100.0]])
    # two non-memorized samples next to three memorized ones: the cluster has only 2 members
    samples = np.array([[0.0], [0.05], [-0.05], [0.3], [0.35]])
    c = M.classify_samples(samples, train, delta_m=0.1, delta_s=0.4, min_cluster=3)
    assert c.labels.tolist() == [MEM, MEM, MEM, GEN, GEN]
    # a sample at exactly delta_m is memorized; pairs at exactly delta_s are neighbours
    c = M.classify_samples(np.array([[0.5], [50.0], [50.25], [50.5]]), train, delta_m=0.5, delta_s=0.25, min_cluster=3)
    assert c.labels.tolist() == [MEM, SPU, SPU, SPU]


def test_border_samples_join_the_cluster():
    train = np.array([[0.0, 0.0]])
    core = np.array([[5.0, 5.0], [5.0, 5.05], [5.05, 5.0], [5.05, 5.05]])
    border = np.array([[5.0, 5.14]])  # within 0.1 of (5, 5.05) and of `far` only: 3 members < k = 4
    far = np.array([[5.0, 5.22]])     # within 0.1 of the border sample, not of a core one
    c = M.classify_samples(np.concatenate([core, border, far]), train, 0.1, 0.1, min_cluster=4)
    assert c.labels.tolist() == [SPU] * 5 + [GEN]
    assert c.n_states == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    train = rng.standard_normal((12, 2))
    centres = rng.standard_normal((4, 2)) * 1.5
    samples = np.concatenate([train[rng.integers(0, 12, 15)] + 0.05 * rng.standard_normal((15, 2)),
                              centres[rng.integers(0, 4, 30)] + 0.08 * rng.standard_normal((30, 2)),
                              rng.standard_normal((25, 2)) * 2])
    for dm, ds, k in ((0.1, 0.15, 3), (0.2, 0.1, 2), (0.05, 0.3, 5)):
        c = M.classify_samples(samples, train, dm, ds, k)
        labels, comps = _brute_force(samples, train, dm, ds, k)
        assert c.labels.tolist() == labels.tolist()
        assert c.n_states == comps
        assert sum(c.fractions.values()) == pytest.approx(1.0)


def test_bad_input():
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="delta_m"):
        M.classify_samples(x, x, -0.1, 0.1)
    with pytest.raises(ValueError, match="delta_s"):
        M.classify_samples(x, x, 0.1, math.inf)
    with pytest.raises(ValueError, match="min_cluster"):
        M.classify_samples(x, x, 0.1, 0.1, min_cluster=1)
    with pytest.raises(ValueError, match="train must have d = 2"):
        M.classify_samples(x, np.zeros((3, 3)), 0.1, 0.1)
    with pytest.raises(ValueError, match="samples must be finite"):
        M.classify_samples(np.full((2, 2), np.nan), x, 0.1, 0.1)
    with pytest.raises(ValueError, match="train must have n >= 2"):
        M.training_scale([[0.0, 1.0]])
    with pytest.raises(ValueError, match="n_train"):
        M.cluster_size(100, 0)


def test_training_scale_and_null_rate():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 3))
    brute = np.median([np.sort(np.linalg.norm(X - xi, axis=1))[1] for xi in X])
    assert M.training_scale(X) == pytest.approx(brute, rel=1e-12)
    # the scale's claim: a fresh sample lies within c r_K of a training point with probability
    # ~ log 2 c^d (locally Poisson points); checked within 35 % at d = 2, c = 0.5, where the
    # Monte Carlo error is ~2 % and the density's variation over the ball is the approximation
    d, c, K = 2, 0.5, 400
    fr = []
    for s in range(5):
        g = np.random.default_rng(10 + s)
        X = g.standard_normal((K, d))
        fresh = g.standard_normal((4000, d))
        cl = M.classify_samples(fresh, X, c * M.training_scale(X), 0.0, 2)
        fr.append(cl.fractions["memorized"])
    assert np.mean(fr) == pytest.approx(math.log(2) * c**d, rel=0.35)


def test_cluster_size():
    assert M.cluster_size(1000, 6) == 17
    assert M.cluster_size(1000, 100) == 3
    assert M.cluster_size(1000, 100, fraction=0.5, minimum=2) == 5


def test_crossing_peak_and_prediction_helpers():
    x = np.log([4.0, 10.0, 25.0, 63.0, 160.0])
    y = 0.5 - (x - 3.0) ** 2 / 10
    # an exact parabola: the vertex at log K = 3 is recovered from the three points around it
    peak, se = A._peak_logk(x, y, np.zeros_like(y), seed=0, n_boot=10)
    assert peak == pytest.approx(3.0, abs=1e-9) and se == 0.0
    f = np.array([1.0, 0.8, 0.4, 0.1, 0.0])
    lk, _ = A._crossing_logk(x, f, np.full(5, 0.01), seed=0)
    assert lk == pytest.approx(x[1] + 0.3 / 0.4 * (x[2] - x[1]))
    assert math.isnan(A._crossing_logk(x, np.full(5, 0.9), np.full(5, 0.01), seed=0)[0])
    pts = [{"K": k, "t_C": t} for k, t in zip([4, 10, 25, 63], [0.4, 0.2, 0.1, 0.05])]
    assert A._predicted_crossover(pts, 0.15) == pytest.approx(math.log(10) + 0.5 * math.log(2.5))
    assert math.isnan(A._predicted_crossover(pts, 0.01))


def test_tiny_run_end_to_end(tmp_path):
    cfg = {"d": 2, "sigma": 1.0, "design_K": 20, "K": [4, 16, 64],
           "train": {"model": "mlp", "model_kwargs": {"hidden": 16, "depth": 1}, "steps": 60, "batch_size": 64,
                     "t_min": 1e-3, "t_max": 5.0, "checkpoint_every": 1000},
           "sampler": {"t_max": 5.0, "n_steps": 20}, "n_samples": 200, "entropy_samples": 100, "seed": 0}
    run = V.run_validation("quick", only=["memorization"], out=tmp_path / "out", cache_dir=tmp_path / "cache",
                           executor="serial", configs={"memorization": cfg}, progress=False)
    (res,) = run.results
    assert (tmp_path / "out" / "memorization.png").exists()
    assert len(res.verdicts) == 7
    pts = res.numbers["points"]
    assert [p["K"] for p in pts] == [4, 16, 64]
    for p in pts:
        for label in ("model", "empirical", "forward", "null"):
            assert sum(p["classes"][label]["fractions"].values()) == pytest.approx(1.0)
    s = res.numbers["summary"]
    # the prediction: K_c = exp(d alpha_c(t_end)) with t_end the large-d collapse time of design_K points
    assert s["K_c"] == pytest.approx(20.0, rel=1e-9)
    # the exact empirical score at 20 steps still memorizes at K = 4 (t_C >> t_end) and the
    # forward reference does too
    assert pts[0]["classes"]["empirical"]["fractions"]["memorized"] > 0.8
    assert pts[0]["classes"]["forward"]["fractions"]["memorized"] > 0.8
    # a rerun reuses the stored sweep items
    again = V.run_validation("quick", only=["memorization"], out=tmp_path / "out", cache_dir=tmp_path / "cache",
                             executor="serial", configs={"memorization": cfg}, progress=False)
    assert again.results[0].numbers["summary"]["logK_empirical"] == s["logK_empirical"] or (
        math.isnan(s["logK_empirical"]))


def test_plan():
    (row,) = V.plan("full", only=["memorization"])
    assert row["name"] == "memorization" and row["gpu_seconds"] > 0
    assert M.cost_memorization(M.EXPERIMENTS[0].config("full")).train_steps == 16 * 30000


@pytest.mark.slow
def test_quick_configuration_passes(tmp_path):
    run = V.run_validation("quick", only=["memorization"], out=tmp_path, cache_dir=tmp_path, executor="serial",
                           progress=False)
    (res,) = run.results
    failed = [f"{v.name}: {v.measured}" for v in res.verdicts if not v.passed]
    assert not failed, failed
