"""Verdicts, JSON round trips and the report files."""

import json
import math

import pytest

from diffphase.validation.claims import CLAIMS, KINDS
from diffphase.validation.engine.io import read_json, write_json
from diffphase.validation.engine.report import render_markdown, write_report
from diffphase.validation.engine.verdicts import ExperimentResult, Verdict, resolve_outcomes

REF = {"kind": "reference", "source": "an exact reference"}


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
    assert Verdict.check("q", measured, predicted, tol, rule, **REF).passed is expected


@pytest.mark.parametrize("rule", ["abs", "rel", "max", "min"])
def test_non_finite_measurement_fails(rule):
    pred = None if rule in ("max", "min") else 1.0
    assert not Verdict.check("q", math.nan, pred, 1.0, rule, **REF).passed
    assert not Verdict.check("q", math.inf, pred, 1.0, rule, **REF).passed


def test_verdict_bad_arguments():
    with pytest.raises(ValueError, match="rule"):
        Verdict.check("q", 1.0, 1.0, 0.1, "relative", **REF)
    with pytest.raises(ValueError, match="tolerance"):
        Verdict.check("q", 1.0, 1.0, -0.1, "abs", **REF)
    with pytest.raises(ValueError, match="prediction"):
        Verdict.check("q", 1.0, None, 0.1, "rel", **REF)
    with pytest.raises(ValueError, match="kind must be one of"):
        Verdict.check("q", 1.0, 1.0, 0.1, "abs", kind="guess", source="x")
    with pytest.raises(ValueError, match="source must be a non-empty"):
        Verdict.check("q", 1.0, 1.0, 0.1, "abs", kind="reference", source=" ")
    with pytest.raises(KeyError, match="unknown claim 'nobody.said_this'"):
        Verdict.check("q", 1.0, 1.0, 0.1, "abs", kind="claim", source="nobody.said_this")
    with pytest.raises(TypeError):  # kind and source are required
        Verdict.check("q", 1.0, 1.0, 0.1, "abs")


def test_claim_verdict_carries_its_citation():
    v = Verdict.check("t_S", 1.0, 1.0, 0.1, "rel", kind="claim", source="biroli.speciation")
    assert v.claim == "biroli.speciation" and v.kind == "claim"
    assert "arXiv:2402.18491" in v.source and "spectral analysis of the correlation matrix" in v.source


def test_claims_registry_is_complete():
    # every claim names its paper's arXiv id, a place and the experiments that test it
    for c in CLAIMS.values():
        assert c.paper.arxiv and c.place and c.statement and c.tested_by, c.id
        assert c.id.split(".")[0] == c.paper.key
    # the eight papers of the issue "judge claims" each have at least one claim
    papers = {c.paper.arxiv for c in CLAIMS.values()}
    assert {"2402.18491", "2402.16991", "2502.12089", "2505.21777", "2410.08727", "2305.19693", "2506.10433",
            "2410.14398"} <= papers
    assert KINDS == ("claim", "reference", "precondition", "exploratory")


def _v(key, passed, kind, requires=()):
    source = "biroli.speciation" if kind == "claim" else f"{kind} source"
    return Verdict.check(key, 0.0 if passed else 1.0, None, 0.5, "max", kind=kind, source=source, key=key,
                         requires=requires)


def test_outcomes_precondition_makes_its_claims_inconclusive():
    vs = resolve_outcomes([_v("pre_ok", True, "precondition"), _v("pre_bad", False, "precondition"),
                           _v("c1", True, "claim", ["pre_ok"]), _v("c2", True, "claim", ["pre_bad"]),
                           _v("c3", False, "claim", ["pre_ok", "pre_bad"]), _v("r", False, "reference"),
                           _v("e1", False, "exploratory"), _v("e2", True, "exploratory", ["pre_bad"])])
    assert [v.outcome for v in vs] == ["PASS", "FAIL", "PASS", "INCONCLUSIVE", "INCONCLUSIVE", "FAIL",
                                       "DISAGREES", "INCONCLUSIVE"]


def test_outcomes_reject_bad_references_to_preconditions():
    with pytest.raises(ValueError, match="not preconditions"):
        resolve_outcomes([_v("r", True, "reference"), _v("c", True, "claim", ["r"])])
    with pytest.raises(ValueError, match="not preconditions"):
        resolve_outcomes([_v("c", True, "claim", ["missing"])])
    with pytest.raises(ValueError, match="unique"):
        resolve_outcomes([_v("a", True, "claim"), _v("a", True, "reference")])


def test_exit_rule_of_an_experiment():
    def res(*vs):
        return ExperimentResult("e", "", "quick", verdicts=list(vs))

    assert res(_v("c", True, "claim"), _v("e", False, "exploratory")).passed           # exploratory never counts
    assert not res(_v("c", True, "claim"), _v("e", False, "exploratory")).passed_strict  # ... unless strict
    assert res(_v("c", True, "claim"), _v("e", True, "exploratory")).passed_strict
    assert not res(_v("c", False, "claim")).passed
    assert not res(_v("r", False, "reference")).passed
    # a failed precondition fails the run and makes its claim INCONCLUSIVE, not PASS
    r = res(_v("p", False, "precondition"), _v("c", True, "claim", ["p"]))
    assert not r.passed and r.verdicts[1].outcome == "INCONCLUSIVE"


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
    ok = ExperimentResult("e1", "First", "quick", verdicts=[
        Verdict.check("t_S", 1.0, 1.02, 0.05, "rel", stderr=0.01, kind="claim", source="biroli.speciation"),
        Verdict.check("order", 0.1, None, 0.5, "min", kind="exploratory", source="a formula of diffphase")],
        figures=["e1.png"], config={"n": 1})
    bad = ExperimentResult("e2", "Second", "quick", verdicts=[
        Verdict.check("band", 0.3, None, 0.1, "max", kind="reference", source="quadrature of phi")])
    skipped = ExperimentResult("e3", "Third", "quick", status="skipped", message="data not installed")
    return ok, bad, skipped


def test_report_files_and_table(tmp_path):
    ok, bad, skipped = _results()
    files = write_report([ok, bad, skipped], tmp_path, mode="quick", seconds=12.0, header={"device": "cpu"})
    assert set(files) == {"results.json", "report.md", "report.html"}
    md = files["report.md"].read_text()
    assert md.startswith("# diffphase validate report")
    assert "**FAIL:** 1/2 judged verdicts pass (claims 1/1, references 0/1); 0 inconclusive; exploratory " \
           "predictions: 0/1 agree" in md
    assert ("| e1 | claim | t_S | 1 ± 0.01 | 1.02 | \\|Δ\\| ≤ 5% of predicted | PASS | biroli.speciation "
            "(arXiv:2402.18491, abstract; Figs. 2 and 4 (level φ = 0.775)) |") in md
    assert "| e2 | reference | band | 0.3 | — | ≤ 0.1 | FAIL | quadrature of phi |" in md
    # the exploratory row sits in its own table, after the judged ones
    expl = md.index("## Predictions of diffphase not stated in the papers")
    assert md.index("| e1 | order | 0.1 | — | ≥ 0.5 | DISAGREES | a formula of diffphase |") > expl
    assert "| biroli.speciation | Biroli, Bonnaire, de Bortoli & Mézard, arXiv:2402.18491" in md
    assert "*Skipped*: data not installed" in md and "![e1](e1.png)" in md
    html = files["report.html"].read_text()
    assert "<td class='FAIL'>FAIL</td>" in html and "<img src='e1.png'" in html
    payload = read_json(files["results.json"])
    assert payload["passed"] is False and len(payload["experiments"]) == 3
    rows = [v for e in payload["experiments"] for v in e["verdicts"]]
    assert [(v["kind"], v["outcome"]) for v in rows] == [("claim", "PASS"), ("exploratory", "DISAGREES"),
                                                          ("reference", "FAIL")]
    assert all(v["source"] for v in rows)
    assert payload["claims"][0]["id"] == "biroli.speciation" and payload["claims"][0]["arxiv"] == "2402.18491"
    assert payload["summary"]["judged"] == 2 and payload["summary"]["exploratory"] == 1
    again = [ExperimentResult.from_dict(e) for e in payload["experiments"]]
    assert [r.passed for r in again] == [True, False, True]
    assert again[0].verdicts == ok.verdicts


def test_all_pass_summary():
    ok, _, skipped = _results()
    assert "**PASS:** 1/1 judged verdicts pass" in render_markdown([ok, skipped], mode="full")
    assert "**FAIL:** 1/1 judged verdicts pass" in render_markdown([ok, skipped], mode="full", strict=True)
