"""Verdicts, JSON round trips and the report files."""

import json
import math

import pytest

from diffphase.validation.report import (ExperimentResult, Verdict, read_json, render_markdown, write_json,
                                         write_report)


@pytest.mark.parametrize("measured,predicted,tol,rule,expected", [
    (1.05, 1.0, 0.1, "abs", True),
    (1.15, 1.0, 0.1, "abs", False),
    (2.1, 2.0, 0.06, "rel", True),     # |0.1| <= 0.06 * 2
    (2.2, 2.0, 0.06, "rel", False),
    (-2.1, -2.0, 0.06, "rel", True),   # relative to |predicted|
    (0.05, None, 0.08, "max", True),
    (0.09, None, 0.08, "max", False),
    (0.6, None, 0.5, "min", True),
    (0.4, None, 0.5, "min", False),
])
def test_verdict_rules(measured, predicted, tol, rule, expected):
    assert Verdict.check("q", measured, predicted, tol, rule).passed is expected


@pytest.mark.parametrize("rule", ["abs", "rel", "max", "min"])
def test_non_finite_measurement_fails(rule):
    pred = None if rule in ("max", "min") else 1.0
    assert not Verdict.check("q", math.nan, pred, 1.0, rule).passed
    assert not Verdict.check("q", math.inf, pred, 1.0, rule).passed


def test_verdict_bad_arguments():
    with pytest.raises(ValueError, match="rule"):
        Verdict.check("q", 1.0, 1.0, 0.1, "relative")
    with pytest.raises(ValueError, match="tolerance"):
        Verdict.check("q", 1.0, 1.0, -0.1, "abs")
    with pytest.raises(ValueError, match="prediction"):
        Verdict.check("q", 1.0, None, 0.1, "rel")


def test_json_round_trip_keeps_non_finite_numbers(tmp_path):
    import numpy as np

    obj = {"a": np.array([1.0, np.nan, np.inf]), "b": np.float32(2.5), "c": np.int64(3), "d": -math.inf}
    path = write_json(obj, tmp_path / "x" / "r.json")
    raw = json.loads(path.read_text())  # strict JSON: no NaN literals
    assert raw["a"] == [1.0, "nan", "inf"]
    back = read_json(path)
    assert back["a"][0] == 1.0 and math.isnan(back["a"][1]) and back["a"][2] == math.inf
    assert back["b"] == 2.5 and back["c"] == 3 and back["d"] == -math.inf
    assert not list(tmp_path.rglob("*.tmp"))


def _results():
    ok = ExperimentResult("e1", "First", "quick", verdicts=[Verdict.check("t_S", 1.0, 1.02, 0.05, "rel", stderr=0.01)],
                          figures=["e1.png"], config={"n": 1})
    bad = ExperimentResult("e2", "Second", "quick", verdicts=[Verdict.check("band", 0.3, None, 0.1, "max")])
    skipped = ExperimentResult("e3", "Third", "quick", status="skipped", message="data not installed")
    return ok, bad, skipped


def test_report_files_and_table(tmp_path):
    ok, bad, skipped = _results()
    files = write_report([ok, bad, skipped], tmp_path, mode="quick", seconds=12.0, header={"device": "cpu"})
    assert set(files) == {"results.json", "report.md", "report.html"}
    md = files["report.md"].read_text()
    assert md.startswith("# diffphase validate report")
    assert "**FAIL**: 1/2 verdicts pass" in md
    assert "| e1 | t_S | 1 ± 0.01 | 1.02 | \\|Δ\\| ≤ 5% of predicted | PASS |" in md
    assert "| e2 | band | 0.3 | — | ≤ 0.1 | FAIL |" in md
    assert "*Skipped*: data not installed" in md and "![e1](e1.png)" in md
    html = files["report.html"].read_text()
    assert "<td class='FAIL'>FAIL</td>" in html and "<img src='e1.png'" in html
    payload = read_json(files["results.json"])
    assert payload["passed"] is False and len(payload["experiments"]) == 3
    again = [ExperimentResult.from_dict(e) for e in payload["experiments"]]
    assert [r.passed for r in again] == [True, False, True]
    assert again[0].verdicts[0] == ok.verdicts[0]


def test_all_pass_summary():
    ok, _, skipped = _results()
    assert "**PASS**: 1/1 verdicts pass" in render_markdown([ok, skipped], mode="full")
