"""class_information and negative_guidance experiments: the claim statistics on closed forms and
constructed fronts with known answers, the measurement pipelines driven by an exact
class-conditional network (so the expected values are the theory's, from
``diffphase.numerics.information``), the paired standard errors against brute-force repetition,
tiny end-to-end runs of all four experiments (every verdict with its kind and source), and
(slow) the quick configurations through ``diffphase validate``.

Statistical checks use 4 standard errors (false failure ~6e-5 each) unless stated."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from diffphase.numerics import conventions as cv
from diffphase.numerics import information as info
from diffphase.numerics.gaussian_mixture import GaussianMixture
from diffphase.validation import guidance, information
from diffphase.validation.guidance import protocol as guidance_protocol
from diffphase.validation.guidance.metrics import sample_metrics
from diffphase.validation.information import protocol as information_protocol
from diffphase.validation.information.transfer import half_time, peak_time
from diffphase.validation.models import ClassConditional

MIX = {"K": 3, "d": 4, "radius": 2.0, "sigmas": [0.6, 0.35, 0.2], "weights": [0.5, 0.3, 0.2]}
#: the quick geometry (a close pair and a far class) in d = 4
PAIR_FAR = {"K": 3, "d": 4, "means": [[-1.5, 0.0], [1.5, 0.0], [0.0, 7.0]], "sigmas": [0.35, 0.25, 0.6],
            "weights": [0.4, 0.3, 0.3]}


@pytest.fixture
def exact_training(monkeypatch, exact_eps_net):
    """Replace training by the exact network of the mixture (the pipelines are then checked
    against the theory with no model error)."""

    class _Hist:
        seconds, from_cache = 0.0, False

        @staticmethod
        def smoothed():
            return np.array([0.0])

    def fake(gc, n_train, train, seed, device, cache_dir, progress, desc):
        return ClassConditional(exact_eps_net(gc)), _Hist()

    monkeypatch.setattr(information_protocol, "train_class_conditional", fake)
    monkeypatch.setattr(guidance_protocol, "train_class_conditional", fake)


# ---------------------------------------------------------------------------------------
# claim statistics on closed forms
# ---------------------------------------------------------------------------------------
TAU = 0.3


def _bump_entropy(t):
    """H(t) = log 2 (1 - e^{-t/tau})^2: rate maximal at t = tau log 2, interior."""
    return math.log(2) * (1 - np.exp(-np.asarray(t) / TAU)) ** 2


def test_transfer_statistics_on_a_closed_form_entropy():
    t = np.geomspace(5.0, 0.01, 241)
    H = _bump_entropy(t)
    nodes = np.arange(0, 241, 6)
    tf = 0.05
    rng = np.random.default_rng(0)
    sigma = 2e-4
    boot = H + sigma * rng.standard_normal((200, t.size))
    s = information.transfer_statistics(t, H, boot, nodes, tf)
    # dH/dt = 2 log2 u (1 - u) / tau with u = e^{-t/tau}: maximal at u = 1/2
    assert s["interior"] and abs(s["peak_time"] / (TAU * math.log(2)) - 1) < 0.03
    assert abs(s["peak_rate"] - math.log(2) / (2 * TAU)) < 0.01 * math.log(2) / (2 * TAU)
    # share of the drop in [t_end, t_f], closed form (H(t_f) interpolated linearly in log t)
    share = (_bump_entropy(tf) - H[-1]) / (H[0] - H[-1])
    assert abs(s["final_share"] - share) < 0.01 * share
    # middle of the transfer: (1 - u)^2 = H(t_max)/(2 log 2)
    half = -TAU * math.log(1 - math.sqrt(H[0] / (2 * math.log(2))))
    assert abs(s["half_time"] / half - 1) < 1e-3
    # independent noise sigma per grid time: the s.e. of a node rate is sigma sqrt(2)/dt
    dt = t[nodes][:-1] - t[nodes][1:]
    np.testing.assert_allclose(s["rate_se"], sigma * math.sqrt(2) / dt, rtol=0.25)
    # z at the last node: closed-form node rates, s.e. of a difference of independent rates
    tn = t[nodes]
    r = (_bump_entropy(tn[:-1]) - _bump_entropy(tn[1:])) / dt
    k = int(np.argmax(r))
    z_last = (r[k] - r[-1]) / math.hypot(sigma * math.sqrt(2) / dt[k], sigma * math.sqrt(2) / dt[-1])
    assert s["peak_index"] == k and abs(s["z_last"] / z_last - 1) < 0.25
    assert s["z_interior"] == min(s["z_first"], s["z_last"]) > 3
    # without replicates: the same point estimates, no errors
    s0 = information.transfer_statistics(t, H, None, nodes, tf)
    assert s0["peak_time"] == s["peak_time"] and math.isnan(s0["z_interior"])


def test_transfer_statistics_maximum_at_the_end_is_not_interior():
    """H = log2 tanh(t/tau): the rate log2 sech^2(t/tau)/tau is largest at the smallest time,
    so the claim's statistic must report no interior maximum (z = 0) and a large final share."""
    t = np.geomspace(5.0, 0.01, 121)
    H = math.log(2) * np.tanh(t / TAU)
    rng = np.random.default_rng(1)
    s = information.transfer_statistics(t, H, H + 1e-4 * rng.standard_normal((50, t.size)), None, 0.05)
    assert not s["interior"] and s["peak_index"] == len(s["rate"]) - 1
    assert s["z_interior"] == 0.0 and s["z_last"] == 0.0
    share = (math.tanh(0.05 / TAU) - math.tanh(0.01 / TAU)) / (math.tanh(5 / TAU) - math.tanh(0.01 / TAU))
    assert abs(s["final_share"] - share) < 0.01 * share and s["final_share"] > 0.1


def test_transfer_statistics_bad_input():
    t = np.geomspace(5.0, 0.01, 20)
    H = _bump_entropy(t)
    with pytest.raises(ValueError, match="decreasing"):
        information.transfer_statistics(t[::-1], H)
    with pytest.raises(ValueError, match="H must"):
        information.transfer_statistics(t, H[:-1])
    with pytest.raises(ValueError, match="H_boot"):
        information.transfer_statistics(t, H, H[None])
    with pytest.raises(ValueError, match="nodes"):
        information.transfer_statistics(t, H, None, [0, 5, 3])
    with pytest.raises(ValueError, match="t_final"):
        information.transfer_statistics(t, H, None, None, 7.0)


def test_peak_separation_known_values():
    times, se = np.array([0.3, 0.36, 1.2]), np.array([0.05, 0.04, 0.03])
    s = information.peak_separation(times, se)
    z = {(a, b): abs(math.log(times[a] / times[b])) / math.hypot(se[a], se[b]) for a, b in ((0, 1), (0, 2), (1, 2))}
    best = max(z, key=z.get)                                   # (1, 2): 24.1 against (0, 2): 23.8
    assert s["pair"] == best == (1, 2) and abs(s["z_max"] - z[best]) < 1e-12
    assert abs(s["ratio"] - 1.2 / 0.36) < 1e-12 and abs(s["ratio_extreme"] - 4.0) < 1e-12
    assert abs(s["z"][0, 1] - z[(0, 1)]) < 1e-12 and abs(s["z"][2, 0] - z[(0, 2)]) < 1e-12
    # Bonferroni over K(K-1)/2 pairs at family-wise 0.27 %, two-sided
    for K, z in ((3, 3.3200541), (10, 4.0128108)):
        assert abs(information.peak_separation(np.linspace(0.2, 1, K), np.full(K, 0.1))["threshold"] - z) < 1e-3
        assert abs(norm.sf(z) * K * (K - 1) - 0.0027) < 1e-6
    # a missing class is skipped; all missing gives NaN
    s = information.peak_separation([0.3, np.nan, 0.9], [0.1, np.nan, 0.1])
    assert s["pair"] == (0, 2)
    assert math.isnan(information.peak_separation([np.nan, 0.3], [0.1, 0.1])["z_max"])
    with pytest.raises(ValueError, match="fwer"):
        information.peak_separation(times, se, fwer=1.5)


def test_ddpm_final_stage_time():
    betas = np.linspace(1e-4, 0.02, 1000)
    abar = 1.0
    for b in betas[:100]:
        abar *= 1 - b
    assert abs(information.ddpm_final_stage_time() - float(cv.time_from_alpha_bar(abar))) < 1e-12
    assert information.ddpm_final_stage_time(0.5) > information.ddpm_final_stage_time(0.1)
    with pytest.raises(ValueError, match="fraction"):
        information.ddpm_final_stage_time(0.0)


def test_half_time_and_peak_time_closed_forms():
    """half_time: a curve linear in log t crosses half of its start at a known time (linear
    interpolation in log t is then exact); peak_time: the vertex of a parabola in log t between
    grid points, and the grid point when the maximum is at an end."""
    t = np.geomspace(8.0, 0.01, 97)
    H = np.log(t / 0.01)                        # H(t_0)/2 is reached at log t = (log 8 + log 0.01)/2
    assert half_time(t, H) == pytest.approx(math.sqrt(8.0 * 0.01), rel=1e-10)
    assert math.isnan(half_time(t, np.ones(t.size)))  # never falls to half
    mid = np.geomspace(0.01, 10.0, 40)
    vertex = 0.2345                             # not a grid point
    assert peak_time(mid, 1.0 - (np.log(mid) - math.log(vertex)) ** 2) == pytest.approx(vertex, rel=1e-10)
    assert peak_time(mid, -mid) == mid[0]
    with pytest.raises(ValueError, match="H must"):
        half_time(t, H[:-1])
    with pytest.raises(ValueError, match="times must"):
        half_time(t[:1], H[:1])
    with pytest.raises(ValueError, match="rate must"):
        peak_time(mid, mid[:-1])


# ---------------------------------------------------------------------------------------
# pipelines with the exact network
# ---------------------------------------------------------------------------------------
def test_information_pipeline_with_exact_network_matches_theory(exact_training):
    p = information.information_point(mixture=MIX, n_train=10, train={}, n_paths=600,
                                      grid={"t_max": 5.0, "t_end": 0.01, "n_steps": 80, "kind": "log"},
                                      theory_samples=20000, n_boot=30, rate_nodes=16, seed=0, device="cpu",
                                      cache_dir="", progress=False)
    # path average of 600 paths: s.e. <= 0.02 nats; 0.06 is 3 s.e.
    assert p["max_entropy_error"] < 0.06
    # the online classifier with exact denoisers = exact posterior up to the sampler's step
    assert np.max(np.abs(np.asarray(p["H_online"]) - np.asarray(p["H_exact_path"]))) < 0.03
    assert abs(p["peak_model"] - p["peak_theory"]) < 0.15 * p["peak_theory"]
    assert abs(p["half_model"] / p["half_theory"] - 1) < 4 * p["half_model_se"] / p["half_theory"] + 0.05
    assert p["decision_agreement"] > 0.98
    # final-class fractions follow the weights (binomial, 4 s.d.: false failure < 1e-4 each)
    for frac, w in zip(p["class_fractions_exact"], MIX["weights"]):
        assert abs(frac - w) < 4 * math.sqrt(w * (1 - w) / 600)


def test_per_class_profiles_pipeline_against_theory(exact_training):
    """A close pair and a far class: the pipeline's per-class transfer midpoints against the
    midpoints of numerics.information.class_profiles (4 s.e. plus 10 % for the 60-step sampler
    and online classifier), and the far class's profile separated from the pair's."""
    p = information.information_point(mixture=PAIR_FAR, n_train=10, train={}, n_paths=600,
                                      grid={"t_max": 6.0, "t_end": 0.01, "n_steps": 60, "kind": "log"},
                                      theory_samples=10000, n_boot=40, rate_nodes=14, seed=0, device="cpu",
                                      cache_dir="", progress=False)
    gc = information.mixture_classes(PAIR_FAR)
    tt = np.geomspace(6.0, 0.01, 200)
    Hy, _ = info.class_profiles(tt, gc.means, gc.variances, gc.weights, n_samples=20000, seed=9)
    theory = np.array([half_time(tt, h) for h in np.asarray(Hy).T])
    model, lse = np.asarray(p["half_y_model"]), np.asarray(p["log_half_y_se"])
    assert np.all(np.abs(np.log(model / theory)) < 4 * lse + 0.10)
    # the theory orders them: the far class (2) is decided first, a factor ~1.5 before the pair
    assert theory[2] > 1.3 * max(theory[:2])
    sep = p["separation"]
    assert sep["z_max"] > sep["threshold"] and 2 in sep["pair"]
    # the final stage carries almost nothing
    assert p["model"]["final_share"] < 0.01 and p["theory"]["final_share"] < 0.01


def test_guidance_pipeline_exact_network_equals_exact_denoisers(exact_training):
    p = guidance.guidance_point(mixture=MIX, n_train=10, train={}, unwanted=0, scales=[1.0, 4.0], n_samples=400,
                                grid={"t_max": 5.0, "t_end": 1e-3, "n_steps": 40, "kind": "log"}, seed=0,
                                device="cpu", cache_dir="", progress=False)
    for mode in ("dynamic", "constant"):
        for a, b in zip(p[f"model_{mode}"], p[f"exact_{mode}"]):
            assert abs(a["unwanted"] - b["unwanted"]) <= 2 / 400   # float32 network: a sample may flip
            assert abs(a["mmd2"] - b["mmd2"]) < 0.05 * abs(b["mmd2"]) + 1e-3
    assert p["model_dynamic"][1]["unwanted"] < 0.02
    assert p["model_constant"][1]["mmd2"] > 3 * p["model_dynamic"][1]["mmd2"]
    d = p["model_dominance"]
    assert d["quality"]["S"] >= -3 and d["quality"]["G"] > 3 and d["balance"]["S"] >= -3


# ---------------------------------------------------------------------------------------
# guidance statistics
# ---------------------------------------------------------------------------------------
def test_front_dominance_known_fronts():
    # DNG-like front below an NP-like one: every baseline point matched, large gain
    fu, fm = [0.1, 0.01, 0.0], [0.01, 0.02, 0.05]
    bu, bm = [0.1, 0.01, 0.0], [0.3, 0.6, 0.7]
    r = guidance.front_dominance(fu, fm, bu, bm, 0.01, 0.01)
    # baseline (0, 0.7): front (0, 0.05) ties in u (z = 0) and is 65 s.e. better in m: the gain
    # (front (0.01, 0.02), 68 s.e. better in m but 1 s.e. less safe, does not count)
    assert r["S"] == 0.0 and list(r["best"]) == [2, 2, 2]
    assert abs(r["G"] - (0.7 - 0.05) / 0.01) < 1e-9
    # a baseline point safer than every front point by 5 s.e.: not dominated
    r = guidance.front_dominance([0.05, 0.08], [0.0, 0.0], [0.0], [1.0], 0.01, 0.01)
    assert abs(r["S"] - (-5.0)) < 1e-9 and r["G"] == -math.inf
    # identical fronts: S = 0, G = 0
    r = guidance.front_dominance(bu, bm, bu, bm, 0.01, 0.01)
    assert r["S"] == 0.0 and r["G"] == 0.0
    # per-pair standard errors broadcast
    se = np.full((3, 3), 0.02)
    assert guidance.front_dominance(fu, fm, bu, bm, se, se)["G"] == pytest.approx((0.7 - 0.05) / 0.02)
    with pytest.raises(ValueError, match="se_x"):
        guidance.front_dominance(fu, fm, bu, bm, 0.0, 0.01)
    with pytest.raises(ValueError, match="equal length"):
        guidance.front_dominance(fu, fm[:2], bu, bm, 0.01, 0.01)


def test_paired_mmd_difference_standard_error_vs_repetition():
    """The paired s.e. of MMD²(Y, R) - MMD²(X, R) (Y a perturbation of X sample by sample)
    against the spread of the difference over 400 independent repetitions: within 15 % (the
    spread itself is known to ~4 %; the first-order formula neglects O(1/n) terms)."""
    from diffphase.numerics import stats

    rng = np.random.default_rng(0)
    n, d, h = 150, 2, 1.0
    diffs, ses, useful = [], [], []
    for _ in range(400):
        R = rng.standard_normal((n, d))
        X = rng.standard_normal((n, d))
        Y = X + np.array([0.6, 0.0]) + 0.3 * rng.standard_normal((n, d))
        lx = (X[:, 0] > 1.0).astype(int)
        ly = (Y[:, 0] > 1.0).astype(int)
        a = sample_metrics(lx, X, 1, [0.5, 0.5], R, h)
        b = sample_metrics(ly, Y, 1, [0.5, 0.5], R, h)
        pdiff = guidance.paired_differences([a], [b], 1, [0.5, 0.5], n_boot=20)
        diffs.append(pdiff["mmd2"][0][0, 0])
        ses.append(pdiff["mmd2"][1][0, 0])
        useful.append((pdiff["u"][0][0, 0], pdiff["u"][1][0, 0]))
        # the run's own MMD² is numerics.stats'
        assert abs(a[0]["mmd2"] - stats.mmd2(X, R, h).mmd2) < 1e-12
    assert abs(np.std(diffs, ddof=1) / np.mean(ses) - 1) < 0.15
    u, use = np.array(useful).T
    assert abs(np.std(u, ddof=1) / np.mean(use) - 1) < 0.15


def test_sample_metrics_shapes_and_bad_input():
    rng = np.random.default_rng(0)
    X, R = rng.standard_normal((20, 2)), rng.standard_normal((30, 2))
    lab = (X[:, 0] > 0).astype(int)
    m, v = sample_metrics(lab, X, 1, [0.5, 0.5], R, 1.0)
    assert v["g"].shape == (20,) and v["c"].shape == (30,) and m["class_shares"].shape == (2,)
    bad = [((lab[:1], X[:1], 1, [0.5, 0.5], R, 1.0), "labels"), ((lab, X[:-1], 1, [0.5, 0.5], R, 1.0), "feats"),
           ((lab, X, 1, [0.5, 0.5], R[:, :1], 1.0), "reference"), ((lab, X, 1, [0.5, 0.5], R, 0.0), "bandwidth"),
           ((lab, X, 2, [0.5, 0.5], R, 1.0), "unwanted")]
    for args, name in bad:
        with pytest.raises(ValueError, match=name):
            sample_metrics(*args)


def test_guidance_metrics_on_constructed_samples():
    gc = information.mixture_classes(MIX)
    rest = GaussianMixture(gc.means[1:], gc.variances[1:], gc.weights[1:])
    ref, _ = rest.sample(1500, seed=1)
    x, _ = rest.sample(1500, seed=2)
    from diffphase.numerics import stats

    h = stats.median_bandwidth(ref)
    m = guidance.guidance_metrics(x, gc, 0, ref, h)
    r = stats.mmd2(x, ref, h)
    assert abs(m["mmd2"] - r.mmd2) < 1e-12 and abs(m["mmd2_se"] - r.stderr) < 1e-12
    assert m["unwanted"] < 0.01          # the classes are 2 apart with s.d. <= 0.6
    assert abs(m["mmd2"]) < 4 * m["mmd2_se"] + 1e-4  # same distribution: |z| < 4 (false failure < 1e-4)
    assert m["balance_tv"] < 4 * math.sqrt(0.6 * 0.4 / 1500)
    # the authors' KL(target || obtained): second order in the share errors, ~ chi2_1 / (2 n)
    assert 0 <= m["balance_kl"] < 16 / (2 * 1500) + 1e-3
    # all samples at the unwanted class's mean: fraction 1, MMD clearly positive, KL at the 1/n floor
    bad = np.repeat(gc.means[:1], 300, axis=0)
    mb = guidance.guidance_metrics(bad, gc, 0, ref, h)
    assert mb["unwanted"] == 1.0 and mb["mmd2"] > 10 * mb["mmd2_se"]
    assert abs(mb["balance_kl"] - (math.log(300) + 0.6 * math.log(0.6) + 0.4 * math.log(0.4))) < 1e-9


def test_mixture_classes_and_checks():
    gc = information.mixture_classes(MIX)
    assert gc.K == 3 and gc.d == 4
    np.testing.assert_allclose(np.linalg.norm(gc.means, axis=1), 2.0)
    gc = information.mixture_classes(PAIR_FAR)
    np.testing.assert_allclose(gc.means[:, :2], PAIR_FAR["means"])
    assert np.all(gc.means[:, 2:] == 0)
    with pytest.raises(ValueError, match="d >= 2"):
        information.mixture_classes(dict(MIX, d=1))
    with pytest.raises(ValueError, match="means"):
        information.mixture_classes(dict(PAIR_FAR, means=[[0.0, 1.0]]))


# ---------------------------------------------------------------------------------------
# end to end: every verdict with its kind and source
# ---------------------------------------------------------------------------------------
EXPECTED = {
    "class_information": {"precondition": {"decisions", "entropy_curve", "class_entropy"},
                          "claim": {"interior": "handke.intermediate", "final_stage": "handke.intermediate",
                                    "class_profiles": "handke.class_profiles"}, "reference": 3},
    "negative_guidance": {"precondition": {"unguided"},
                          "claim": {"quality_dominance": "koulischer.dng", "quality_gain": "koulischer.dng",
                                    "balance_dominance": "koulischer.dng"}, "reference": 1},
    "class_information_digits": {"precondition": {"clean_classifier", "noisy_classifier", "entropy_curve"},
                                 "claim": {"interior": "handke.intermediate", "final_stage": "handke.intermediate",
                                           "class_profiles": "handke.class_profiles"}, "reference": 2},
    "negative_guidance_digits": {"precondition": {"classifier", "unguided"},
                                 "claim": {"quality_dominance": "koulischer.dng", "quality_gain": "koulischer.dng",
                                           "balance_dominance": "koulischer.dng",
                                           "removal_vs_ceiling": "koulischer.dng"}, "reference": 0},
}


def _check_tags(result):
    from diffphase.validation.claims import CLAIMS

    exp = EXPECTED[result.name]
    by_kind = {}
    for v in result.verdicts:
        assert v.source.strip() and v.outcome
        by_kind.setdefault(v.kind, []).append(v)
    assert {v.key for v in by_kind.get("precondition", [])} == exp["precondition"]
    claims = {v.key: v.claim for v in by_kind.get("claim", [])}
    assert claims == exp["claim"]
    for v in by_kind["claim"]:
        assert CLAIMS[v.claim].paper.arxiv in v.source and v.requires
        assert set(v.requires) <= exp["precondition"]
        assert result.name in CLAIMS[v.claim].tested_by
    assert len(by_kind.get("reference", [])) == exp["reference"]
    assert "exploratory" not in by_kind


def test_tiny_end_to_end_runs_tag_every_verdict(tmp_path, exact_training):
    from diffphase.validation.validate import run_validation

    grid = {"t_max": 5.0, "t_end": 0.01, "n_steps": 30, "kind": "log"}
    configs = {
        "class_information": {"mixture": PAIR_FAR, "n_paths": 200, "grid": grid, "theory_samples": 2000,
                              "n_boot": 10, "rate_nodes": 10},
        "negative_guidance": {"mixture": PAIR_FAR, "n_samples": 150, "scales": [1.0, 4.0],
                              "grid": dict(grid, t_end=1e-3)},
    }
    run = run_validation("quick", only=list(configs), out=tmp_path / "out", cache_dir=tmp_path / "cache",
                         executor="serial", progress=False, configs=configs)
    assert [r.name for r in run.results] == list(configs)
    for r in run.results:
        _check_tags(r)


def test_digits_pipelines_run_and_report(tmp_path):
    """Plumbing of the digits legs with tiny networks through ``diffphase validate`` (their numbers
    are meaningless here; the experiments' quick configurations are run by hand, see the
    information page): every verdict tagged."""
    from diffphase.validation.validate import run_validation

    tiny = dict(information.TRAIN_DIGITS, steps=60, model_kwargs={"hidden": 32, "depth": 1}, checkpoint_every=1000)
    grid = {"t_max": 5.0, "t_end": 0.01, "n_steps": 12, "kind": "log"}
    configs = {
        "class_information_digits": {"train": tiny, "classifier": {"steps": 60}, "n_paths": 60, "grid": grid,
                                     "n_boot": 5, "rate_nodes": 6},
        "negative_guidance_digits": {"train": tiny, "classifier": {"steps": 60}, "n_samples": 60,
                                     "scales": [1.0, 2.0], "check_scale": 2.0, "grid": dict(grid, t_end=1e-3)},
    }
    run = run_validation("quick", only=list(configs), out=tmp_path / "out", cache_dir=tmp_path / "cache",
                         executor="serial", progress=False, configs=configs)
    for r in run.results:
        _check_tags(r)
    p = run.results[0].numbers["point"]
    T = len(p["times"])
    assert np.asarray(p["H_online"]).shape == (T,) and np.asarray(p["tv"]).shape == (T,)
    # at t_max both posteriors are near the class frequencies: entropy near log 10
    assert abs(p["H_online"][0] - math.log(10)) < 0.05
    assert 0 <= p["decision_agreement"] <= 1 and abs(sum(p["final_label_fractions"]) - 1) < 1e-12
    g = run.results[1].numbers["point"]
    assert set(g["model_dynamic"][0]) >= {"unwanted", "balance_kl", "mmd2", "mmd2_se"}
    assert 0 <= g["classifier_fpr"] <= 1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["class_information", "negative_guidance"])
def test_quick_configuration_passes(tmp_path, name):
    from diffphase.validation.validate import run_validation

    run = run_validation("quick", only=[name], out=tmp_path / "out", cache_dir=tmp_path / "cache",
                         executor="serial", progress=False)
    failed = [v for r in run.results for v in r.verdicts if not v.passed]
    assert not failed, failed
