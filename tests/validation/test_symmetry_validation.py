"""The ``late_start`` experiment (Raya & Ambrogioni's two claims) in tiny configurations.

References: the DDPM schedule's own step times (strided grid), a hand-computed parabola
vertex (best start time), the exact mixture score sampled with many steps (quality curves:
statistically at the data), exact draws of the reverse dynamics (plain-start curve), a curve
analysed by hand (knee, flatness, degradation, onset), and binomial errors (class balance).
Statistical checks state their false-failure rate.
"""

import json
import math

import numpy as np
import pytest
import torch

from diffphase.numerics import gaussian_mixture as gm
from diffphase.numerics import symmetry as sb
from diffphase.numerics import stats
from diffphase.numerics.conventions import DiscreteSchedule
from diffphase.validation import symmetry as S
from diffphase.validation import validate as V

SCHED = {"T": 1000, "beta_min": 1e-4, "beta_max": 2e-2}


def test_strided_grid_hits_the_schedule_steps():
    sch = DiscreteSchedule.linear(1000, 1e-4, 2e-2)
    g = S.strided_grid(float(sch.times[800]), 4, SCHED)
    assert np.allclose(g, sch.time(np.array([800, 600, 400, 200, 0])), rtol=1e-12, atol=1e-14)
    g = S.strided_grid(1.234, 7, SCHED)
    assert g[0] == 1.234 and g[-1] == 0.0 and np.all(np.diff(g) < 0) and g.size == 8
    # equal strides of the fractional step index
    k = sch.fractional_step(g)
    assert np.allclose(np.diff(k), -k[0] / 7, rtol=1e-9)
    with pytest.raises(ValueError, match="t_start"):
        S.strided_grid(6.0, 4, SCHED)  # beyond t_T of the schedule (5.03)
    with pytest.raises(ValueError, match="n_steps"):
        S.strided_grid(1.0, 0, SCHED)


def test_best_start_time_vertex_edges_and_bootstrap():
    t = [0.5, 1.0, 1.5, 2.0, 3.0]
    # exact parabola 1e-3 + (t - 1.2)^2 sampled on the grid: the vertex is recovered
    y = [1e-3 + (x - 1.2) ** 2 for x in t]
    best, se = S.best_start_time(t, y, np.zeros(5))
    assert best == pytest.approx(1.2, abs=1e-12) and se < 1e-12
    # minimum at the end of the grid: the grid point, no extrapolation
    assert S.best_start_time(t, [0.1, 0.2, 0.3, 0.4, 0.5], np.zeros(5))[0] == 0.5
    # noisy estimates: the bootstrap error grows with the errors
    _, se_small = S.best_start_time(t, y, np.full(5, 0.01), seed=1)
    _, se_big = S.best_start_time(t, y, np.full(5, 0.3), seed=1)
    assert 0 < se_small < se_big
    with pytest.raises(ValueError, match="t0s"):
        S.best_start_time([1.0, 1.0], [0.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="stderr"):
        S.best_start_time([1.0, 2.0], [0.0, 0.0], [-1.0, 0.0])


def test_quality_curves_with_the_exact_score():
    """Exact score of a d=2 two-class mixture (weight 0.7). With 60 steps from a late start at
    1.5 t_U the sampler is at the data: |MMD²| within 4 s.e. plus 1e-3 of discretization, and
    the class fraction within 4 binomial s.e. of 0.7 (false failure < 1e-4); two steps from pure
    noise are far off (the statistic resolves a bad sampler)."""
    m = np.array([2.0, 1.0])
    mix = gm.GaussianMixture.from_std(np.stack([-m, m]), 0.5, [0.3, 0.7])
    X, _ = mix.sample(20000, seed=0)
    ref, _ = mix.sample(600, seed=1)
    mean, cov = X.mean(0), np.cov(X, rowvar=False)
    t_u = sb.equal_norm_instability_time(np.linalg.eigvalsh(cov)[-1])
    h = stats.median_bandwidth(ref)
    labels = lambda x: np.argmax(mix.posterior(x, 0.0), axis=1)  # noqa: E731
    c = S.quality_curves(mix.score, mean=mean, cov=cov, t0s=[0.5 * t_u, 1.5 * t_u], budgets=[2, 60], schedule=SCHED,
                         n_samples=600, reference=ref, bandwidth=h, features=lambda x: x, labels=labels, n_classes=2,
                         seed=3)
    assert np.shape(c["late_mmd2"]) == (2, 2) and np.shape(c["late_fractions"]) == (2, 2, 2)
    assert c["t_max"] == pytest.approx(DiscreteSchedule.linear().times[-1])
    good, se = c["late_mmd2"][1][1], c["late_se"][1][1]
    assert abs(good) <= 4 * se + 1e-3
    assert abs(c["late_fractions"][1][1][1] - 0.7) <= 4 * math.sqrt(0.21 / 600)
    assert c["noise_mmd2"][0] > good + 5 * c["noise_se"][0]
    with pytest.raises(ValueError, match="t0s"):
        S.quality_curves(mix.score, mean=mean, cov=cov, t0s=[6.0], budgets=[2], schedule=SCHED, n_samples=10,
                         reference=ref, bandwidth=h, features=lambda x: x, labels=labels, n_classes=2)


def test_late_start_class_balance_against_quadrature():
    """1-d mixture: E_Gauss[p(+ | x)] by Monte Carlo vs adaptive quadrature of the Gaussian
    density times the exact posterior; within 4 Monte Carlo s.e. (false failure 6e-5 each)."""
    from scipy import integrate

    mix = gm.GaussianMixture.from_std(np.array([[-2.0], [2.0]]), 0.6, [0.3, 0.7])
    X, _ = mix.sample(50000, seed=0)
    mean, cov = X.mean(0), np.cov(X, rowvar=False).reshape(1, 1)
    t0s = [0.2, 0.8, 2.0]
    b, se = S.late_start_class_balance(mix.posterior, t0s, mean, cov, n=40000, seed=1)
    for t0, bk, sk in zip(t0s, b, se):
        m, C = sb.late_gaussian(t0, mean, cov)
        sd = math.sqrt(C[0, 0])
        f = lambda x: (math.exp(-0.5 * ((x - m[0]) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))  # noqa: E731
                       * mix.posterior(np.array([[x]]), t0)[0, 1])
        ref = integrate.quad(f, m[0] - 12 * sd, m[0] + 12 * sd, epsabs=1e-12, limit=200)[0]
        assert abs(bk[1] - ref) <= 4 * sk[1]
        assert bk.sum() == pytest.approx(1.0)
    # the late start is exact in class balance far above the instability, not below it
    assert abs(b[2][1] - 0.7) < 0.01 and b[0][1] < 0.68


def test_plain_start_curve_with_the_exact_score_matches_the_exact_dynamics():
    """d = 2 mixture, plain N(0, I) starts at DDPM steps 100, 300, 600, 1000, every 10th step:
    the exact-score sampler's MMD² agrees with that of exact draws of the reverse dynamics
    within 4 combined s.e. at every start (first-order s.e., conservative near P = Q; false
    failure <= 4 x 6e-5), class fractions within 4 binomial s.e.; the earliest start is far
    from the data (a plain start at t = 0.05 is wrong) and the latest is at it."""
    m = np.array([2.0, 1.0])
    mix = gm.GaussianMixture.from_std(np.stack([-m, m]), 0.5, [0.3, 0.7])
    ref, _ = mix.sample(500, seed=1)
    h = stats.median_bandwidth(ref)
    labels = lambda x: np.argmax(mix.posterior(x, 0.0), axis=1)  # noqa: E731
    kw = dict(starts=[100, 300, 600, 1000], schedule=SCHED, n_samples=500, reference=ref, bandwidth=h, labels=labels,
              n_classes=2)
    pc = S.plain_start_curve(mix.score, dim=2, stride=10, features=lambda x: x, seed=3, **kw)
    ed = S.exact_dynamics_curve(mix, seed=4, **kw)
    assert pc["n_steps"] == [10, 30, 60, 100] and pc["t0s"] == ed["t0s"]
    z = (np.asarray(pc["mmd2"]) - ed["mmd2"]) / np.hypot(pc["se"], ed["se"])
    assert np.all(np.abs(z) <= 4), z
    f_se = np.sqrt(2 * 0.25 / 500)
    assert np.all(np.abs(np.asarray(pc["fractions"])[:, 1] - np.asarray(ed["fractions"])[:, 1]) <= 4 * f_se)
    assert ed["mmd2"][0] > 10 * ed["se"][0] and abs(ed["mmd2"][-1]) < 4 * ed["se"][-1] + 1e-3
    with pytest.raises(ValueError, match="starts"):
        S.plain_start_curve(mix.score, dim=2, stride=10, features=lambda x: x, **dict(kw, starts=[100, 100, 300]))
    with pytest.raises(ValueError, match="stride"):
        S.plain_start_curve(mix.score, dim=2, stride=0, features=lambda x: x, **kw)


def test_analyse_plain_curve_by_hand():
    """A curve on the authors' grid: steep below step 400, a small excess at 500, flat above.
    Second differences by hand (comments): the largest is at step 400; flatness is the excess at
    500 (the largest above the knee), degradation the excess at 300 (just below it)."""
    ks = [50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    sch = DiscreteSchedule.linear(1000, 1e-4, 2e-2)
    y = np.array([190, 175, 120, 60, 23, 11, 1, 0, 0, 0, 0], dtype=float)
    se = np.full(11, 3.0)
    curve = {"starts": ks, "t0s": [float(sch.times[k]) for k in ks], "mmd2": y, "se": se}
    a = S.analyse_plain_curve(curve, 3.5, n_boot=50)
    # second differences (uniform spacing 100 from 100 on): at 200: (175-240+60)/1e4 = -5e-4;
    # at 300: (120-120+23)/1e4 = 2.3e-3; at 400: (60-46+11)/1e4 = 2.5e-3; at 500: (23-22+1)/1e4
    assert a["knee_step"] == 400 and a["second_derivative"][4] == pytest.approx(25 / 1e4)
    assert a["t_knee"] == pytest.approx(float(sch.times[400]))
    assert a["flat"] == pytest.approx(11 / math.sqrt(18)) and a["flat_index"] == 5
    assert a["degrade"] == pytest.approx(60 / math.sqrt(18)) and a["degrade_t0"] == curve["t0s"][3]
    # onset: 11/sqrt(18) = 2.6 <= 3.5 but 23/sqrt(18) = 5.4 > 3.5, so the flat part starts at 500
    assert a["onset_index"] == 5 and a["t_onset"] == curve["t0s"][5]
    assert 0 <= a["knee_boot_share"] <= 1 and a["knee_boot"][0] <= a["knee_boot"][2]


_TINY_MLP = {"model": "mlp", "model_kwargs": {"hidden": 32, "depth": 1}, "steps": 60, "batch_size": 64, "lr": 2e-3,
             "t_max": 6.0, "checkpoint_every": 60}


def _tiny_config(digits=False):
    plain = {"starts": [50, 200, 400, 700, 1000], "stride": 50, "n_samples": 100}
    return {"mixture": {"d": 2, "lam": 5.0, "sigma": 0.5, "weight": 0.7, "n_train": 500, "n_ref": 150,
                        "n_samples": 150, "train": _TINY_MLP, "plain": plain},
            "digits": ({"train": _TINY_MLP, "classifier": {"steps": 10, "channels": 4, "hidden": 16},
                        "test_fraction": 0.3, "n_samples": 60, "plain": plain} if digits else None),
            "budgets": [2, 4], "t0_factors": [0.5, 1.0, 2.0], "schedule": SCHED, "seed": 0}


def test_tiny_run_writes_verdicts_numbers_and_figure(tmp_path):
    run = V.run_validation("quick", only=["late_start"], out=tmp_path, cache_dir=tmp_path / "cache",
                           progress=False, configs={"late_start": _tiny_config(digits=True)})
    (res,) = run.results
    assert res.status == "done" and len(res.verdicts) == 32
    assert (tmp_path / "late_start.png").exists()
    # every verdict says what it tests: kind, source; claims are the paper's registered claims
    kinds = [v.kind for v in res.verdicts]
    assert kinds.count("claim") == 18 and kinds.count("reference") == 1 and kinds.count("precondition") == 3
    assert kinds.count("exploratory") == 10
    for v in res.verdicts:
        assert v.source
        if v.kind == "claim":
            assert v.claim in ("raya.early_irrelevant", "raya.late_init") and "2305.19693" in v.source
    pre = {v.key for v in res.verdicts if v.kind == "precondition"}
    assert pre == {"model_fit", "model_balance", "classifier"}
    assert {r for v in res.verdicts for r in v.requires} == pre
    # the digits claims all require the classifier; the exact-score claims require nothing
    assert all("classifier" in v.requires for v in res.verdicts if v.kind == "claim" and "digits" in v.name)
    assert all(not v.requires for v in res.verdicts if "exact" in v.name and v.kind == "claim")
    saved = json.loads((tmp_path / "late_start" / "result.json").read_text())
    p, q = saved["numbers"]["mixture"], saved["numbers"]["digits"]
    assert p["t_U"] == pytest.approx(sb.equal_norm_instability_time(p["Lambda"]))
    assert p["t_S"] == pytest.approx(0.5 * math.log(p["Lambda"]))
    assert abs(p["Lambda"] - 5.0) < 0.5  # training-set eigenvalue near the chosen one
    for c in (p["exact"], p["model"], q["model"]):
        assert len(c["t_best"]) == 2 and np.shape(c["late_mmd2"]) == (2, 3)
        assert min(c["t0s"]) <= c["t_best"][0] <= max(c["t0s"])
        pc = c["plain"]
        assert pc["n_steps"] == [1, 4, 8, 14, 20] and len(pc["mmd2"]) == 5
        assert pc["analysis"]["t_knee"] in pc["t0s"][1:-1] and c["fresh"]["knee"]["t0"] == pc["analysis"]["t_knee"]
    assert q["d"] == 64 and len(q["train_fractions"]) == 10
    # rerun: the finished result is reused
    again = V.run_validation("quick", only=["late_start"], out=tmp_path, cache_dir=tmp_path / "cache",
                             progress=False, configs={"late_start": _tiny_config(digits=True)})
    assert again.reused == ["late_start"]


def test_plan_and_bad_config():
    rows = V.plan("full", only=["late_start"])
    assert rows[0]["train_flops"] > 0 and rows[0]["sample_flops"] > 0
    with pytest.raises(ValueError, match="weight"):
        S.mixture_point(d=2, lam=5.0, sigma=0.5, weight=1.0, n_train=10, n_ref=10, n_samples=10, train=_TINY_MLP,
                        budgets=[2], t0_factors=[1.0], plain=_tiny_config()["mixture"]["plain"], schedule=SCHED,
                        seed=0, device="cpu", cache_dir=None)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured in the quick run: raya.early_irrelevant fails as operationalized "
                   "by the authors' knee: the maximum of the second derivative of the plain-start MMD² curve is at "
                   "DDPM step 300 (t = 0.46) for the exact score and the model, and the curve still degrades above "
                   "it (excess z 5.6 and 6.2 at step 400, t = 0.82; flat only from t ~ 1.3-1.8) "
                   "(docs/models/symmetry.md)")
def test_quick_configuration_passes(tmp_path):
    """Every judged verdict (claim, reference, precondition) of the quick run passes;
    exploratory ones are reported, not judged."""
    run = V.run_validation("quick", only=["late_start"], out=tmp_path, cache_dir=tmp_path, progress=False)
    failed = [v.name for r in run.results for v in r.verdicts if v.judged and v.outcome != "PASS"]
    assert not failed, failed
