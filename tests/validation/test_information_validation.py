"""class_information and negative_guidance experiments: the measurement pipelines driven by an
exact class-conditional network (so the expected values are the theory's), metric helpers on
constructed samples, and (slow) the quick configurations through ``diffphase validate``."""

import math

import numpy as np
import pytest

from diffphase.numerics import information as info
from diffphase.validation import guidance, information
from diffphase.validation.models import ClassConditional

MIX = {"K": 3, "d": 4, "radius": 2.0, "sigmas": [0.6, 0.35, 0.2], "weights": [0.5, 0.3, 0.2]}


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

    monkeypatch.setattr(information, "train_class_conditional", fake)
    monkeypatch.setattr(guidance, "train_class_conditional", fake)


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
    assert p["decision_agreement"] > 0.98
    # final-class fractions follow the weights (binomial, 4 s.d.: false failure < 1e-4 each)
    for frac, w in zip(p["class_fractions_exact"], MIX["weights"]):
        assert abs(frac - w) < 4 * math.sqrt(w * (1 - w) / 600)


def test_guidance_pipeline_exact_network_equals_exact_denoisers(exact_training):
    p = guidance.guidance_point(mixture=MIX, n_train=10, train={}, unwanted=0, scales=[4.0], n_samples=400,
                                grid={"t_max": 5.0, "t_end": 1e-3, "n_steps": 40, "kind": "log"}, seed=0,
                                device="cpu", cache_dir="", progress=False)
    for mode in ("dynamic", "constant"):
        a, b = p[f"model_{mode}"][0], p[f"exact_{mode}"][0]
        assert abs(a["unwanted"] - b["unwanted"]) <= 2 / 400   # float32 network: a sample may flip
        assert abs(a["mmd2"] - b["mmd2"]) < 0.05 * abs(b["mmd2"]) + 1e-3
    assert p["model_dynamic"][0]["unwanted"] < 0.02
    assert p["model_constant"][0]["mmd2"] > 3 * p["model_dynamic"][0]["mmd2"]


def test_guidance_metrics_on_constructed_samples():
    gc = information.mixture_classes(MIX)
    rest = info.GaussianClasses(gc.means[1:], gc.variances[1:], gc.weights[1:])
    ref, _ = rest.sample(1500, seed=1)
    x, _ = rest.sample(1500, seed=2)
    from diffphase.numerics import two_sample

    h = two_sample.median_bandwidth(ref)
    m = guidance.guidance_metrics(x, gc, 0, ref, h)
    assert m["unwanted"] < 0.01          # the classes are 2 apart with s.d. <= 0.6
    assert abs(m["mmd2"]) < 4 * m["mmd2_se"] + 1e-4  # same distribution: |z| < 4 (false failure < 1e-4)
    assert m["balance_tv"] < 4 * math.sqrt(0.6 * 0.4 / 1500)
    # all samples at the unwanted class's mean: fraction 1, MMD clearly positive
    bad = np.repeat(gc.means[:1], 300, axis=0)
    mb = guidance.guidance_metrics(bad, gc, 0, ref, h)
    assert mb["unwanted"] == 1.0 and mb["mmd2"] > 10 * mb["mmd2_se"]


def test_peak_time_and_nodes():
    t = np.exp(np.linspace(math.log(0.01), math.log(5.0), 40))
    bump = np.exp(-0.5 * ((np.log(t) - math.log(0.37)) / 0.6) ** 2)
    assert abs(information._peak_time(t, bump) - 0.37) < 0.01 * 0.37
    grid = t[::-1]
    idx = information._nodes(grid, 10)
    assert idx[0] == 0 and idx[-1] == grid.size - 1 and np.all(np.diff(idx) > 0)


def test_mixture_classes_and_checks():
    gc = information.mixture_classes(MIX)
    assert gc.K == 3 and gc.d == 4
    np.testing.assert_allclose(np.linalg.norm(gc.means, axis=1), 2.0)
    with pytest.raises(ValueError, match="d >= 2"):
        information.mixture_classes(dict(MIX, d=1))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["class_information", "negative_guidance"])
def test_quick_configuration_passes(tmp_path, name):
    from diffphase.validation.validate import run_validation

    run = run_validation("quick", only=[name], out=tmp_path / "out", cache_dir=tmp_path / "cache",
                         executor="serial", progress=False)
    failed = [v for r in run.results for v in r.verdicts if not v.passed]
    assert not failed, failed


def test_digits_pipelines_run_and_report(tmp_path):
    """Plumbing of the digits legs with tiny networks (their numbers are meaningless here; the
    experiments' quick configurations are run by hand, see the information page)."""
    tiny = dict(information.TRAIN_DIGITS, steps=60, model_kwargs={"hidden": 32, "depth": 1}, checkpoint_every=1000)
    grid = {"t_max": 5.0, "t_end": 0.01, "n_steps": 12, "kind": "log"}
    p = information.digits_information_point(train=tiny, classifier={"steps": 60}, n_paths=40, grid=grid, n_boot=5,
                                             rate_nodes=6, seed=0, device="cpu", cache_dir=str(tmp_path))
    T = len(p["times"])
    assert np.asarray(p["H_online"]).shape == (T,) and np.asarray(p["tv"]).shape == (T,)
    # at t_max both posteriors are near the class frequencies: entropy near log 10
    assert abs(p["H_online"][0] - math.log(10)) < 0.05
    assert 0 <= p["decision_agreement"] <= 1 and abs(sum(p["final_label_fractions"]) - 1) < 1e-12
    g = guidance.digits_guidance_point(train=tiny, classifier={"steps": 60}, unwanted=8, scales=[2.0], n_samples=60,
                                       grid=grid, seed=0, device="cpu", cache_dir=str(tmp_path))
    assert set(g["model_dynamic"][0]) >= {"unwanted", "balance_tv", "mmd2", "mmd2_se"}
