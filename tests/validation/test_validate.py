"""The ``diffphase validate`` driver: resume, verdicts, exit status, executors.

Driver behaviour is tested with small registered fake experiments (they run in
milliseconds); the real experiments run in tiny configurations (seconds) to check that they
produce every file and number, and the speciation experiment once in a small configuration
whose trained model must lie inside a stated band around the theory.
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from diffphase.validation import validate as V
from diffphase.validation.cli import main
from diffphase.validation.engine.experiment import Experiment
from diffphase.validation.engine.io import read_json, to_jsonable
from diffphase.validation.engine.machine import cpu_kernels, cpu_model
from diffphase.validation.engine.verdicts import ExperimentResult, Verdict

CALLS = []


def _fake_run(config, ctx):
    CALLS.append(ctx.name)
    a = ctx.stage("a", lambda x: {"x": x * 2}, x=config["x"])
    b = ctx.sweep(["b0", "b1"], _square, [{"x": 1}, {"x": config["x"]}])
    value = a["x"] + b[1]["y"]
    return ExperimentResult(ctx.name, "", ctx.mode, verdicts=[
        Verdict.check("value", value, config["expect"], 0.5, "abs", kind="reference", source="fake reference")],
        numbers={"value": value})


def _kinds_run(config, ctx):
    """An experiment whose verdicts pass or fail as ``config`` says, one per kind."""
    ok = config["ok"]
    return ExperimentResult(ctx.name, "", ctx.mode, verdicts=[
        Verdict.check("model good enough", 1.0 if ok["precondition"] else 0.0, None, 0.5, "min",
                      kind="precondition", source="fake precondition", key="pre"),
        Verdict.check("the paper's claim", 1.0 if ok["claim"] else 0.0, None, 0.5, "min", kind="claim",
                      source="biroli.speciation", requires=["pre"]),
        Verdict.check("exact reference", 1.0 if ok["reference"] else 0.0, None, 0.5, "min", kind="reference",
                      source="fake reference"),
        Verdict.check("our own prediction", 1.0 if ok["exploratory"] else 0.0, None, 0.5, "min",
                      kind="exploratory", source="a formula of diffphase")])


def _square(x):
    CALLS.append(("square", x))
    return {"y": x * x}


@pytest.fixture
def fakes():
    added = []
    for name, exp in (("fake_ok", 3), ("fake_bad", 0)):
        V.register(Experiment(name=name, title=name, run=_fake_run, quick={"x": 1, "expect": exp},
                              full={"x": 2, "expect": 8}, modes=()))
        added.append(name)
    V.register(Experiment(name="fake_missing", title="missing", run=_fake_run, quick={"x": 1, "expect": 0},
                          full={}, modes=(), requires=lambda: "fake data is not installed"))
    added.append("fake_missing")
    CALLS.clear()
    yield added
    for name in added:
        V.EXPERIMENTS.pop(name, None)


def test_runs_resumes_and_reports(fakes, tmp_path):
    run = V.run_validation("quick", only=["fake_ok", "fake_missing"], out=tmp_path, progress=False)
    assert run.passed and run.reused == []
    assert [r.status for r in run.results] == ["done", "skipped"]
    assert run.results[0].numbers["value"] == 3
    assert CALLS == ["fake_ok", ("square", 1), ("square", 1)]
    for f in ("results.json", "report.md", "report.html", "fake_ok/result.json"):
        assert (tmp_path / f).exists()
    CALLS.clear()
    again = V.run_validation("quick", only=["fake_ok", "fake_missing"], out=tmp_path, progress=False)
    assert CALLS == [] and again.reused == ["fake_ok", "fake_missing"]
    assert _measured(again.results[0].numbers) == _measured(run.results[0].numbers)
    # a changed configuration is recomputed (and the stale stages are dropped)
    changed = V.run_validation("quick", only="fake_ok", out=tmp_path, progress=False, configs={"fake_ok": {"x": 2}})
    assert CALLS[0] == "fake_ok" and changed.results[0].numbers["value"] == 8
    assert len(list((tmp_path / "fake_ok").glob("stages-*"))) == 1


def test_interrupted_experiment_reuses_its_stored_stages(fakes, tmp_path):
    def boom(config, ctx):
        ctx.stage("a", lambda x: {"x": x * 2}, x=config["x"])
        ctx.sweep(["b0"], _square, [{"x": 1}])
        raise KeyboardInterrupt

    exp = V.EXPERIMENTS["fake_ok"]
    V.EXPERIMENTS["fake_ok"] = Experiment(**{**exp.__dict__, "run": boom})
    with pytest.raises(KeyboardInterrupt):
        V.run_validation("quick", only="fake_ok", out=tmp_path, progress=False)
    assert not (tmp_path / "fake_ok" / "result.json").exists()
    V.EXPERIMENTS["fake_ok"] = exp
    CALLS.clear()
    run = V.run_validation("quick", only="fake_ok", out=tmp_path, progress=False)
    assert CALLS == ["fake_ok", ("square", 1)]  # stage a and sweep item b0 were not recomputed
    assert run.results[0].numbers["value"] == 3


def test_failing_verdict_fails_the_run_and_the_exit_status(fakes, tmp_path, capsys):
    run = V.run_validation("quick", only=["fake_ok", "fake_bad"], out=tmp_path, progress=False)
    assert not run.passed
    assert "**FAIL:** 1/2 judged verdicts pass" in (tmp_path / "report.md").read_text()
    assert main(["validate", "--only", "fake_ok", "--out", str(tmp_path), "--no-progress"]) == 0
    assert main(["validate", "--only", "fake_bad", "--out", str(tmp_path), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "FAIL         reference    fake_bad: value: measured 3, predicted 0" in out
    # both experiments were reused from the run above: the time printed is this run's alone
    assert re.search(r"mode quick, this run \d+ s; report: ", out)


ALL_OK = {"precondition": True, "claim": True, "reference": True, "exploratory": True}


@pytest.mark.parametrize("failing,exit_status,strict_status", [
    (None, 0, 0),
    ("exploratory", 0, 1),      # an exploratory disagreement never fails the run, unless --strict
    ("claim", 1, 1),
    ("reference", 1, 1),
    ("precondition", 1, 1),     # and its claim is INCONCLUSIVE
])
def test_exit_status_follows_the_kinds(tmp_path, capsys, failing, exit_status, strict_status):
    ok = dict(ALL_OK, **({failing: False} if failing else {}))
    V.register(Experiment(name="fake_kinds", title="kinds", run=_kinds_run, quick={"ok": ok}, full={}, modes=()))
    try:
        args = ["validate", "--only", "fake_kinds", "--no-progress"]
        assert main(args + ["--out", str(tmp_path / "a")]) == exit_status
        assert main(args + ["--out", str(tmp_path / "b"), "--strict"]) == strict_status
        payload = json.loads((tmp_path / "a" / "results.json").read_text())
        rows = payload["experiments"][0]["verdicts"]
        assert [r["kind"] for r in rows] == ["precondition", "claim", "reference", "exploratory"]
        assert all(r["source"] for r in rows)
        claim = rows[1]
        assert claim["claim"] == "biroli.speciation" and "arXiv:2402.18491" in claim["source"]
        expected = "INCONCLUSIVE" if failing == "precondition" else ("FAIL" if failing == "claim" else "PASS")
        assert claim["outcome"] == expected
        assert payload["passed"] is (exit_status == 0)
        md = (tmp_path / "a" / "report.md").read_text()
        assert "## Predictions of diffphase not stated in the papers" in md
        assert ("DISAGREES" if failing == "exploratory" else "AGREES") in md
        out = capsys.readouterr().out
        if failing == "precondition":
            assert "INCONCLUSIVE claim        fake_kinds: the paper's claim" in out
    finally:
        V.EXPERIMENTS.pop("fake_kinds", None)


def test_bad_arguments_are_clear_errors(fakes, tmp_path, capsys):
    assert main(["validate", "--only", "nonexistent", "--out", str(tmp_path)]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown key"):
        V.run_validation("quick", only="fake_ok", out=tmp_path, configs={"fake_ok": {"nope": 1}})
    with pytest.raises(ValueError, match="mode"):
        V.run_validation("medium", out=tmp_path)
    import torch
    if not torch.cuda.is_available():
        assert main(["validate", "--device", "cuda", "--out", str(tmp_path)]) == 2
        assert "CUDA is not available" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["validate", "--quick", "--full"])
    assert main(["validate", "--only", "fake_ok", "--jobs", "0", "--out", str(tmp_path)]) == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err


def test_jobs_default_every_core_for_standard_only():
    from diffphase.validation.cli import _default_jobs, build_parser

    parse = build_parser().parse_args
    assert _default_jobs(parse(["validate", "--standard"])) == (os.cpu_count() or 1)
    assert _default_jobs(parse(["validate"])) == 1 and _default_jobs(parse(["validate", "--full"])) == 1
    assert _default_jobs(parse(["validate", "--standard", "--jobs", "3"])) == 3
    with pytest.raises(SystemExit):  # --jobs and --export belong to validate only
        parse(["analyze", "--jobs", "2"])


def test_default_experiment_sets():
    # the regimes experiments first (BUILTIN_MODULES order); other modules' follow
    assert V.default_names("quick")[:3] == ["speciation_gm", "speciation_digits", "collapse"]
    assert "memorization" in V.default_names("quick")
    assert "speciation_fashion" in V.default_names("full")


# --------------------------------------------------------------------------------------
# the real experiments in tiny configurations
# --------------------------------------------------------------------------------------
TINY_TRAIN = {"model": "mlp", "model_kwargs": {"hidden": 32, "depth": 1}, "steps": 40, "batch_size": 64,
              "lr": 2e-3, "t_max": 6.0, "checkpoint_every": 20}
TINY_CLONES = {"t_max": 6.0, "t_end": 1e-3, "n_steps": 20, "grid": "uniform", "batch_pairs": 100}
TINY = {
    "speciation_gm": {"dims": [8, 12], "n_train": 400, "train": TINY_TRAIN, "n_pairs": 60, "exact_pairs": 60,
                      "clones": TINY_CLONES},
    "speciation_digits": {"train": TINY_TRAIN, "classifier": {"steps": 20, "arch": "mlp"}, "n_pairs": 60,
                          "clones": TINY_CLONES},
    "collapse": {"d": 4, "n_train": 16, "train": TINY_TRAIN, "n_pairs": 60, "n_samples": 60,
                 "entropy_samples": 200, "clones": dict(TINY_CLONES, grid="log")},
}


def _measured(numbers):
    """The numbers of a result without wall times and cache flags (which legitimately differ)."""
    if isinstance(numbers, dict):
        return {k: _measured(v) for k, v in numbers.items() if k not in ("train_seconds", "from_cache")}
    if isinstance(numbers, list):
        return [_measured(v) for v in numbers]
    return numbers


def test_real_experiments_produce_every_file_and_number(tmp_path):
    run = V.run_validation("quick", only=list(TINY), out=tmp_path, configs=TINY, progress=False)
    names = [r.name for r in run.results]
    assert names == ["speciation_gm", "speciation_digits", "collapse"]
    for r in run.results:
        assert r.status == "done" and r.verdicts and r.figures
        assert (tmp_path / r.figures[0]).stat().st_size > 10_000  # a real PNG
        for v in r.verdicts:
            assert v.tolerance > 0
            assert v.kind in ("claim", "reference", "precondition", "exploratory") and v.source
            assert v.outcome in ("PASS", "FAIL", "INCONCLUSIVE", "AGREES", "DISAGREES")
    assert {v.claim for r in run.results for v in r.verdicts if v.kind == "claim"} == {
        "biroli.speciation", "biroli.phi_curve", "biroli.collapse"}
    # verdicts that use clones state the grid and its discretization-error estimate
    clone_verdicts = [v for r in run.results for v in r.verdicts if "crossing" in v.name or "t_S of" in v.name]
    assert clone_verdicts and all("estimated discretization bias" in v.note for v in clone_verdicts)
    gm = run.results[0].numbers["points"]
    assert [p["d"] for p in gm] == [8, 12]
    assert gm[0]["grid_model"]["settings"]["n_steps"] == TINY_CLONES["n_steps"]
    for p in gm:
        assert p["t_S"] == pytest.approx(0.5 * np.log(p["d"] + 1.0))
        assert len(p["phi_model"]) == len(p["phi_exact"]) == len(p["phi_quad"]) == 7
    # image speciation has its reference leg: clones of the exact empirical score of the pair
    dig = run.results[1].numbers["points"][0]
    assert len(dig["phi_exact"]) == len(dig["phi_model"]) and dig["exact_pairs"] == 1000 and dig["pool"] == 1
    assert all(0.0 <= f <= 1.0 for f in dig["phi_exact"])
    names_dig = [v.name for v in run.results[1].verdicts]
    assert any(n.startswith("t_S of exact empirical-score clones") for n in names_dig)
    col = run.results[2].numbers["point"]
    assert 0 < col["t_C"] < 10 and 0 <= col["memorized"]["empirical"]["fraction"] <= 1
    payload = json.loads((tmp_path / "results.json").read_text())
    assert [e["name"] for e in payload["experiments"]] == names
    # seeded: the same configuration in another folder gives the same numbers
    again = V.run_validation("quick", only="speciation_gm", out=tmp_path / "again", configs=TINY, progress=False,
                             cache_dir=tmp_path / "cache2")
    assert _measured(again.results[0].numbers) == _measured(run.results[0].numbers)


def test_image_speciation_chooses_its_classifier_by_cross_validation(tmp_path):
    """With ``classifier_candidates`` the labelling classifier is the one of highest
    cross-validated accuracy on the training split; the choice and the fold accuracies are stored
    and named in the precondition's note; the report's table names the commit and a rerun says
    which experiments it reused."""
    from diffphase.validation.classifier_selection import select_classifier
    from diffphase.validation.regimes.protocol import _image_dataset

    cfg = dict(TINY["speciation_digits"], exact_pairs=0, classifier_candidates=[{"hidden": 4}, {"hidden": 64}],
               classifier_folds=3)
    run = V.run_validation("quick", only="speciation_digits", out=tmp_path, configs={"speciation_digits": cfg},
                           progress=False)
    r = run.results[0]
    p = r.numbers["points"][0]
    sel = p["classifier_selection"]
    assert sel["folds"] == 3 and sel["candidates"] == cfg["classifier_candidates"] and len(sel["cv_accuracy"]) == 2
    assert sel["chosen"] == int(np.argmax(sel["cv_accuracy"]))
    # the selection repeated by hand on the pair's 80 % training split (the held-out 20 % not given)
    import torch

    from diffphase.validation.engine.executor import spawn_seeds

    seed = spawn_seeds(0, 1)[0] % (2**31 - 1)
    ds = _image_dataset("digits", 0)
    sub = ds.subset(torch.cat([torch.nonzero(ds.labels == c).flatten() for c in (0, 1)]))
    sub.labels = (sub.labels == 1).long()
    tr, _ = sub.split(0.2, seed=seed)
    again = select_classifier({**cfg["classifier"], "seed": seed}, cfg["classifier_candidates"], tr, folds=3,
                              seed=seed, use_cache=False)
    assert again.as_dict() == sel
    pre = [v for v in r.verdicts if v.kind == "precondition"][0]
    assert "3-fold cross-validation on the training 80 % only" in pre.note and "took no part" in pre.note
    assert f"chosen {cfg['classifier_candidates'][sel['chosen']]}" in pre.note
    md = (tmp_path / "report.md").read_text()
    assert "| time (wall, CPU) | commit |" in md
    # a rerun reuses the stored result and says so in the header
    V.run_validation("quick", only="speciation_digits", out=tmp_path, configs={"speciation_digits": cfg},
                     progress=False)
    md = (tmp_path / "report.md").read_text()
    assert "- reused from an earlier run: speciation_digits" in md
    assert re.search(r"mode quick, this run \d+ s", md)  # not the time of the reused experiment
    with pytest.raises(ValueError, match="classifier_folds"):
        V.run_validation("quick", only="speciation_digits", out=tmp_path / "bad", progress=False,
                         configs={"speciation_digits": dict(cfg, classifier_folds=1)})


def test_image_speciation_takes_a_classifier_fixed_per_pair(tmp_path):
    """``pair_classifiers`` fixes each pair's classifier overrides in advance (the standard
    tier's frozen cross-validation outcome): the labelling classifier is the one trained by hand
    with those overrides on the pair's 80 % split (same held-out accuracy), the override is
    stored, the precondition's note names it and its source; a wrong length or both ways of
    choosing at once are refused."""
    from diffphase.validation.classifier import ClassifierConfig, train_classifier
    from diffphase.validation.engine.executor import spawn_seeds
    from diffphase.validation.regimes import pair_images

    cfg = dict(TINY["speciation_digits"], exact_pairs=0, pair_classifiers=[{"hidden": 4}],
               pair_classifiers_source="chosen by a test")
    run = V.run_validation("quick", only="speciation_digits", out=tmp_path, configs={"speciation_digits": cfg},
                           progress=False)
    r = run.results[0]
    p = r.numbers["points"][0]
    assert p["classifier_override"] == {"hidden": 4} and "classifier_selection" not in p
    seed = spawn_seeds(0, 1)[0] % (2**31 - 1)
    _, tr, te = pair_images("digits", (0, 1), None, 1, seed)
    _, info = train_classifier(ClassifierConfig(**{**cfg["classifier"], "seed": seed, "hidden": 4}), tr, te,
                               use_cache=False)
    assert p["classifier_accuracy"] == info.test_accuracy
    pre = [v for v in r.verdicts if v.kind == "precondition"][0]
    assert "fixed for this pair: {'hidden': 4}, chosen by a test" in pre.note
    with pytest.raises(ValueError, match="one entry per pair"):
        V.run_validation("quick", only="speciation_digits", out=tmp_path / "bad", progress=False,
                         configs={"speciation_digits": dict(cfg, pair_classifiers=[{}, {}])})
    with pytest.raises(ValueError, match="not both"):
        V.run_validation("quick", only="speciation_digits", out=tmp_path / "bad2", progress=False,
                         configs={"speciation_digits": dict(cfg, classifier_candidates=[{}, {"hidden": 8}])})


def test_concurrent_jobs_give_the_serial_numbers_in_report_order(tmp_path):
    """``jobs=2`` runs the experiments in worker processes, most expensive first; the results,
    their order in the report and the resume are those of the serial run."""
    names = ["speciation_gm", "collapse"]
    serial = V.run_validation("quick", only=names, out=tmp_path / "serial", configs=TINY, progress=False)
    lines = []
    both = V.run_validation("quick", only=names, out=tmp_path / "jobs", configs=TINY, progress=True, jobs=2,
                            log=lines.append)
    assert [r.name for r in both.results] == names
    for a, b in zip(serial.results, both.results):
        # as stored (NaN == NaN as text: a tiny model may not cross the level)
        assert json.dumps(_measured(to_jsonable(a.numbers)), sort_keys=True) == \
            json.dumps(_measured(to_jsonable(b.numbers)), sort_keys=True)
        assert [v.outcome for v in a.verdicts] == [v.outcome for v in b.verdicts]
        assert b.cpu_seconds > 0 and b.seconds > 0
    assert any(line.startswith("running 2 experiments, 2 at a time") for line in lines)
    payload = json.loads((tmp_path / "jobs" / "results.json").read_text())
    assert [e["name"] for e in payload["experiments"]] == names and payload["header"]["jobs"] == 2
    # the processor and torch's kernel level, on which the last bits of every number depend
    assert payload["header"]["cpu"] == cpu_model() and payload["header"]["cpu_kernels"] == cpu_kernels()
    again = V.run_validation("quick", only=names, out=tmp_path / "jobs", configs=TINY, progress=False, jobs=2)
    assert again.reused == names
    from diffphase.validation.engine.report import export_report

    shipped = export_report(tmp_path / "jobs", tmp_path / "shipped")
    figures = [f for r in both.results for f in r.figures]
    assert figures and set(figures) <= set(shipped["files"])
    for f in figures:
        assert (tmp_path / "shipped" / f).read_bytes() == (tmp_path / "jobs" / f).read_bytes()
    with pytest.raises(ValueError, match="jobs"):
        V.run_validation("quick", only=names, out=tmp_path / "bad", jobs=0)


def test_export_ships_report_figures_and_compact_json(fakes, tmp_path, capsys):
    from diffphase.validation.engine.report import export_report

    with pytest.raises(FileNotFoundError, match="no results.json"):
        export_report(tmp_path / "nothing", tmp_path / "dest")
    out, dest = tmp_path / "run", tmp_path / "dest"
    dest.mkdir()
    (dest / "stale.png").write_bytes(b"old")
    (dest / "keep.txt").write_text("not ours")
    code = main(["validate", "--only", "fake_ok", "--out", str(out), "--export", str(dest), "--no-progress"])
    assert code == 0 and "exported 2 files" in capsys.readouterr().out
    assert sorted(p.name for p in dest.iterdir()) == ["keep.txt", "report.md", "results.json"]
    shipped, full = (dest / "results.json").read_text(), (out / "results.json").read_text()
    assert json.loads(shipped) == json.loads(full) and len(shipped) < len(full) and "\n" not in shipped
    assert (dest / "report.md").read_text() == (out / "report.md").read_text()


def test_kill_9_mid_experiment_resumes_without_recomputing(tmp_path):
    """A subprocess is killed with SIGKILL after its first sweep item is stored; the rerun
    loads that item (file untouched) and finishes with the same numbers as an uninterrupted run."""
    out = tmp_path / "run"
    cfg = {"speciation_gm": dict(TINY["speciation_gm"], train=dict(TINY_TRAIN, steps=400))}
    script = textwrap.dedent(f"""
        import torch; torch.set_num_threads(1)
        from diffphase.validation.validate import run_validation
        run_validation("quick", only="speciation_gm", out={str(out)!r}, configs={cfg!r}, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 300
    first = None
    while time.time() < deadline and proc.poll() is None:
        found = list(out.glob("speciation_gm/stages-*/d8.json"))
        if found:
            first = found[0]
            break
        time.sleep(0.05)
    assert first is not None, "the subprocess did not store its first stage in time"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "speciation_gm" / "result.json").exists()
    before = (first.stat().st_mtime_ns, first.read_bytes())
    run = V.run_validation("quick", only="speciation_gm", out=out, configs=cfg, progress=False)
    assert (first.stat().st_mtime_ns, first.read_bytes()) == before
    ref = V.run_validation("quick", only="speciation_gm", out=tmp_path / "ref", configs=cfg, progress=False)
    assert _measured(run.results[0].numbers) == _measured(ref.results[0].numbers)
    assert not list(out.rglob("*.tmp"))


def test_dask_executor_gives_the_same_results_as_serial(tmp_path):
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    serial = V.run_validation("quick", only="speciation_gm", out=tmp_path / "serial", configs=TINY, progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask = V.run_validation("quick", only="speciation_gm", out=tmp_path / "dask", configs=TINY, progress=False,
                                executor=client, threads_per_worker=1)
    assert _measured(dask.results[0].numbers) == _measured(serial.results[0].numbers)


def test_trained_model_phi_is_monotone_and_inside_the_band_around_theory(tmp_path):
    """A small MLP trained for 600 steps on the d=16 mixture (seconds): its clone agreement
    must increase as the branching time decreases, up to noise (each consecutive difference
    >= -3 combined standard errors: false-failure rate < 0.6 % over the 4 differences), and lie
    within 0.1 of the quadrature phi at every branching time (0.1 = 4 binomial standard
    errors at 400 pairs; the model error measured in development was 0.04)."""
    from diffphase.validation.regimes import speciation_gm_point

    p = speciation_gm_point(
        d=16, n_train=4000, mu=1.0, sigma=1.0,
        train={"model": "mlp", "model_kwargs": {"hidden": 64, "depth": 2}, "steps": 600, "batch_size": 128,
               "lr": 3e-3, "t_max": 6.0},
        n_pairs=400, exact_pairs=400, branch=[0.6, 0.8, 1.0, 1.2, 1.4],
        clones={"t_max": 6.0, "t_end": 1e-3, "n_steps": 60, "grid": "uniform", "batch_pairs": 400},
        seed=3, device="cpu", cache_dir=str(tmp_path), progress=False)
    phi, se = np.asarray(p["phi_model"]), np.asarray(p["se_model"])  # branch times decreasing
    rises = np.diff(phi)
    assert np.all(rises >= -3 * np.sqrt(se[1:] ** 2 + se[:-1] ** 2)), (phi, se)
    assert np.max(np.abs(phi - np.asarray(p["phi_quad"]))) <= 0.1, (phi, p["phi_quad"])
    assert phi[0] < 0.7 and phi[-1] > 0.85  # it does go through the transition


def _fake_fashion(directory, rng):
    """Idx files in the Fashion-MNIST layout: classes 1 and 9 light up different halves."""
    import struct

    def write(path, arr):
        arr = np.asarray(arr, dtype=np.uint8)
        path.write_bytes(bytes([0, 0, 0x08, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
                         + arr.tobytes())

    for prefix, n in (("train", 80), ("t10k", 20)):
        y = np.tile([1, 9], n // 2)
        x = rng.integers(0, 60, (n, 28, 28))
        x[y == 1, :14] += 180
        x[y == 9, 14:] += 180
        write(directory / f"{prefix}-images-idx3-ubyte", x)
        write(directory / f"{prefix}-labels-idx1-ubyte", y)


def test_fashion_experiment_skips_without_data_and_runs_with_it(tmp_path, monkeypatch):
    from diffphase.validation import data as D

    monkeypatch.setattr(D.images, "FASHION_MNIST_DIRS", ())
    monkeypatch.delenv("DIFFPHASE_FASHION_MNIST", raising=False)
    tiny = {"train": dict(TINY_TRAIN, model="unet", model_kwargs={"channels": 8}, steps=10),
            "classifier": {"steps": 10, "arch": "mlp"}, "n_pairs": 40, "clones": TINY_CLONES}
    run = V.run_validation("quick", only="speciation_fashion", out=tmp_path / "a", configs={"speciation_fashion": tiny},
                           progress=False)
    assert run.passed and run.results[0].status == "skipped"
    assert "dataset-fashion-mnist" in run.results[0].message
    fake = tmp_path / "fashion"
    fake.mkdir()
    _fake_fashion(fake, np.random.default_rng(0))
    monkeypatch.setenv("DIFFPHASE_FASHION_MNIST", str(fake))
    run = V.run_validation("quick", only="speciation_fashion", out=tmp_path / "b", configs={"speciation_fashion": tiny},
                           progress=False)
    r = run.results[0]
    assert r.status == "done" and [v.kind for v in r.verdicts] == ["precondition", "claim"]
    p = r.numbers["points"][0]
    assert p["pair"] == [1, 9] and p["n"] == 80 and p["d"] == 784 and p["classifier_accuracy"] > 0.9


def test_version_and_thread_default(capsys, monkeypatch):
    """`diffphase --version` prints the installed version; every command runs with one torch
    thread (restored afterwards)."""
    import importlib.metadata

    import torch

    from diffphase.validation import cli

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"diffphase {importlib.metadata.version('diffphase')}"
    seen = []
    monkeypatch.setattr(cli, "_run_theory_gm", lambda args: seen.append(torch.get_num_threads()) or 0)
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert cli.main(["theory", "gm"]) == 0 and seen == [1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)


def test_dispatch_starts_a_task_after_the_experiments_it_reuses_and_fills_the_free_slot():
    """``_dispatch`` (the scheduler of ``jobs > 1``): a task whose ``after`` experiment is running
    is held back, and the free slot goes to the next task in order; it starts once that
    experiment has ended. Errors stop new starts; a cycle of ``after`` is an error."""
    import concurrent.futures as cf
    import threading
    import time

    events, lock = [], threading.Lock()
    gate = {name: threading.Event() for name in "abcd"}

    def work(name):
        with lock:
            events.append(("start", name))
        assert gate[name].wait(10)
        with lock:
            events.append(("end", name))
        return name

    order = [{"name": n} for n in "abcd"]          # b reuses a's network; a runs longest
    after = {"a": (), "b": ("a", "not-in-this-run"), "c": (), "d": ()}.__getitem__
    with cf.ThreadPoolExecutor(2) as pool:
        runner = threading.Thread(target=V._dispatch, args=(order, 2, lambda t: pool.submit(work, t["name"]), after,
                                                            lambda f: f.result(), print))
        runner.start()
        for name in "cda":                          # c ends first, then d, then a
            deadline = time.time() + 10
            while ("start", name) not in events:
                assert time.time() < deadline
                time.sleep(0.001)
            gate[name].set()
            while ("end", name) not in events:
                assert time.time() < deadline
                time.sleep(0.001)
        gate["b"].set()
        runner.join(10)
    starts = [n for kind, n in events if kind == "start"]
    assert starts == ["a", "c", "d", "b"]           # b waited for a; c and d took the free slot
    assert events.index(("start", "b")) > events.index(("end", "a"))

    with pytest.raises(ValueError, match="wait on each other"):
        V._dispatch([{"name": "x"}, {"name": "y"}], 2, lambda t: None,
                    {"x": ("y",), "y": ("x",)}.__getitem__, lambda f: None, print)

    def fail(f):
        raise RuntimeError("boom")

    started = []
    with cf.ThreadPoolExecutor(1) as pool, pytest.raises(RuntimeError, match="boom"):
        V._dispatch([{"name": "x"}, {"name": "y"}], 1, lambda t: started.append(t["name"]) or pool.submit(int),
                    lambda n: (), fail, lambda msg: None)
    assert started == ["x"]                         # y is not started after x failed


def test_class_information_digits_runs_after_the_network_it_reuses():
    """The registry states the shared network: the two digits experiments train the same
    class-conditional MLP in every mode that has both."""
    exp = V.EXPERIMENTS["class_information_digits"]
    assert exp.after == ("negative_guidance_digits",)
    for mode in ("standard", "full"):
        assert exp.config(mode)["train"] == V.EXPERIMENTS["negative_guidance_digits"].config(mode)["train"]
