r"""Verdicts, experiment results and the report of ``diffphase validate``, written atomically.

The one place where validation code writes report files:

* :func:`save_figure` writes a PNG to a temporary file beside the target and renames it;
* :func:`write_json` does the same for JSON (numpy arrays and scalars become lists/floats);
* :func:`write_report` assembles ``results.json``, ``report.md`` and ``report.html`` from the
  :class:`ExperimentResult` of every experiment.

An interrupted run therefore never leaves a half-written file: a reader sees the previous
version or the new one.

A :class:`Verdict` compares one measured number with its prediction at a tolerance fixed in
the experiment's code *before* the measurement (the experiments keep their tolerances in a
module-level ``TOLERANCES`` table). The rule is

.. math:: |\,\text{measured} - \text{predicted}\,| \le \text{tol} \quad (\text{rule "abs"}),
   \qquad |\,\text{measured} - \text{predicted}\,| \le \text{tol}\cdot|\text{predicted}|
   \quad (\text{rule "rel"}),

or ``"max"`` (``measured <= tol``; ``predicted`` is ignored) and ``"min"``
(``measured >= tol``) for one-sided checks. Times are OU times.

Every verdict also says what it tests: its *kind* (a paper's ``claim``, an exact
``reference``, a ``precondition`` on the trained model, or an ``exploratory`` prediction of
this package) and its *source* (:mod:`diffphase.validation.claims`). A claim or reference
whose required precondition failed is INCONCLUSIVE. A run passes when every claim,
reference and precondition passes; exploratory verdicts are reported in their own table and
count only with ``strict=True``.

Examples
--------
>>> v = Verdict.check("t_S crossing vs 1/2 log Lambda", measured=2.05, predicted=2.087,
...                   tolerance=0.1, rule="rel", stderr=0.03, kind="claim",
...                   source="biroli.speciation")
>>> v.passed, round(v.deviation, 4), v.source[:36]
(True, -0.0177, 'Biroli, Bonnaire, de Bortoli & Mézar')
>>> pre = Verdict.check("classifier accuracy", 0.7, None, 0.9, "min", kind="precondition",
...                     source="the clone ends are labelled by this classifier", key="accuracy")
>>> claim = Verdict.check("t_S", 2.05, 2.087, 0.1, "rel", kind="claim", source="biroli.speciation",
...                       requires=["accuracy"])
>>> [v.outcome for v in ExperimentResult("x", "", "quick", verdicts=[pre, claim]).verdicts]
['FAIL', 'INCONCLUSIVE']
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .train import atomic_write_text

__all__ = [
    "Verdict",
    "ExperimentResult",
    "save_figure",
    "write_json",
    "read_json",
    "to_jsonable",
    "resolve_outcomes",
    "summary",
    "summary_line",
    "render_markdown",
    "render_html",
    "write_report",
    "digest",
    "write_digest",
]

RULES = ("abs", "rel", "max", "min")


def save_figure(fig, path, dpi: int = 120) -> Path:
    """Write the matplotlib figure ``fig`` as a PNG at ``path`` atomically and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or pathlib.Path
        Target file; its parent folders are created.
    dpi : int
        Resolution.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    tmp.replace(path)
    return path


def to_jsonable(obj):
    """``obj`` with numpy/torch arrays and scalars turned into lists and Python numbers,
    dataclasses into dicts and paths into strings; non-finite floats become the strings
    ``"nan"``, ``"inf"``, ``"-inf"`` (JSON has no such numbers)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch tensor
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        if math.isfinite(x):
            return x
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return obj


def write_json(obj, path) -> Path:
    """Write ``to_jsonable(obj)`` as indented JSON at ``path`` atomically (temporary file in
    the same folder, fsync, rename). Returns the path."""
    return atomic_write_text(json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n", path)


_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _restore(obj):
    if isinstance(obj, dict):
        return {k: _restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v) for v in obj]
    if isinstance(obj, str) and obj in _SPECIAL:
        return _SPECIAL[obj]
    return obj


def read_json(path):
    """Read a JSON file written by :func:`write_json` (the strings ``"nan"``, ``"inf"``,
    ``"-inf"`` become floats again)."""
    with open(path, encoding="utf-8") as fh:
        return _restore(json.load(fh))


@dataclass(frozen=True)
class Verdict:
    r"""One measured number against its prediction, with what it tests and where that is written.

    Attributes
    ----------
    name : str
        What is compared, e.g. ``"t_S (phi = 0.775 crossing) vs 1/2 log Lambda, d=64"``.
    measured : float
    predicted : float or None
        ``None`` for the one-sided rules ``"max"``/``"min"``.
    tolerance : float
        Stated in the experiment's code before measuring.
    rule : {"abs", "rel", "max", "min"}
        See the module docstring.
    passed : bool
        The rule holds (before preconditions are taken into account; see :attr:`outcome`).
    kind : {"claim", "reference", "precondition", "exploratory"}
        What the verdict tests (:data:`~diffphase.validation.claims.KINDS`).
    source : str
        Where the statement is written: for a claim, the citation of its
        :class:`~diffphase.validation.claims.Claim` (authors, arXiv id, place, statement); for
        the other kinds, the exact reference, the claim a precondition guards, or the formula
        of this package that an exploratory verdict compares with.
    claim : str
        The :data:`~diffphase.validation.claims.CLAIMS` id of a claim (``""`` for other kinds).
    key : str
        Identifier inside its experiment (default: ``name``); ``requires`` refers to it.
    requires : tuple of str
        Keys of the precondition verdicts of the same experiment that this verdict depends on.
    stderr : float or None
        Standard error of ``measured`` (reported, not used by the rule).
    unit : str
        e.g. ``"OU time"``.
    note : str
        Where the prediction and the tolerance come from.
    outcome : str
        Set by :class:`ExperimentResult`: ``"PASS"``/``"FAIL"`` (claim, reference,
        precondition), ``"AGREES"``/``"DISAGREES"`` (exploratory), or ``"INCONCLUSIVE"`` when a
        required precondition failed. Empty on a verdict outside a result.
    """

    name: str
    measured: float
    predicted: float | None
    tolerance: float
    rule: str
    passed: bool
    kind: str = "claim"
    source: str = ""
    claim: str = ""
    key: str = ""
    requires: tuple = ()
    stderr: float | None = None
    unit: str = ""
    note: str = ""
    outcome: str = ""

    @classmethod
    def check(cls, name: str, measured: float, predicted: float | None, tolerance: float, rule: str = "abs",
              *, kind: str, source: str, stderr: float | None = None, unit: str = "", note: str = "",
              key: str | None = None, requires=()) -> "Verdict":
        """Apply ``rule`` and return the verdict. A non-finite ``measured`` fails.

        Parameters
        ----------
        name, measured, predicted, tolerance, rule, stderr, unit, note
            See the class attributes.
        kind : {"claim", "reference", "precondition", "exploratory"}
            Required: what the verdict tests.
        source : str
            Required. For ``kind="claim"``, the id of a registered claim
            (:data:`~diffphase.validation.claims.CLAIMS`, e.g. ``"biroli.speciation"``), whose
            citation becomes the verdict's source; for the other kinds, a non-empty sentence
            naming the reference, the guarded claim or this package's own formula.
        key : str, optional
            Identifier inside the experiment (default ``name``).
        requires : sequence of str
            Keys of precondition verdicts of the same experiment.

        Raises
        ------
        ValueError
            If ``rule`` is not one of ``"abs"``, ``"rel"``, ``"max"``, ``"min"``, if the
            tolerance is negative or not finite, if a two-sided rule has no prediction, if
            ``kind`` is unknown or ``source`` empty.
        KeyError
            If a claim's ``source`` is not a registered claim id.
        """
        from .claims import KINDS, claim as lookup

        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"source must be a non-empty string (kind {kind!r}), got {source!r}")
        claim_id = ""
        if kind == "claim":
            claim_id, source = source, lookup(source).citation()
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
        tolerance = float(tolerance)
        if not math.isfinite(tolerance) or (rule in ("abs", "rel") and tolerance < 0):
            raise ValueError(f"tolerance must be finite (and >= 0 for rule {rule!r}), got {tolerance}")
        measured = float(measured)
        if rule in ("abs", "rel"):
            if predicted is None or not math.isfinite(float(predicted)):
                raise ValueError(f"rule {rule!r} needs a finite prediction, got {predicted!r}")
            predicted = float(predicted)
            bound = tolerance if rule == "abs" else tolerance * abs(predicted)
            passed = math.isfinite(measured) and abs(measured - predicted) <= bound
        elif rule == "max":
            passed = math.isfinite(measured) and measured <= tolerance
        else:
            passed = math.isfinite(measured) and measured >= tolerance
        requires = (requires,) if isinstance(requires, str) else tuple(str(r) for r in requires)
        return cls(name=name, measured=measured, predicted=None if predicted is None else float(predicted),
                   tolerance=tolerance, rule=rule, passed=bool(passed), kind=kind, source=source, claim=claim_id,
                   key=name if key is None else str(key), requires=requires,
                   stderr=None if stderr is None else float(stderr), unit=unit, note=note)

    @property
    def deviation(self) -> float:
        """``measured - predicted`` (rule ``"abs"``), ``measured/predicted - 1`` (``"rel"``),
        ``nan`` for one-sided rules."""
        if self.predicted is None or self.rule in ("max", "min"):
            return math.nan
        if self.rule == "rel":
            return self.measured / self.predicted - 1.0 if self.predicted != 0 else math.nan
        return self.measured - self.predicted

    @property
    def judged(self) -> bool:
        """True for the kinds that decide the exit status (claim, reference, precondition)."""
        return self.kind != "exploratory"

    def tolerance_text(self) -> str:
        """The rule in words, e.g. ``"|Δ| ≤ 10% of predicted"``."""
        return {"abs": f"|Δ| ≤ {self.tolerance:g}", "rel": f"|Δ| ≤ {100 * self.tolerance:g}% of predicted",
                "max": f"≤ {self.tolerance:g}", "min": f"≥ {self.tolerance:g}"}[self.rule]

    @classmethod
    def from_dict(cls, d: dict) -> "Verdict":
        """Rebuild a verdict from :func:`to_jsonable` output."""
        def num(x):
            return None if x is None else float(x)
        return cls(name=d["name"], measured=float(d["measured"]), predicted=num(d.get("predicted")),
                   tolerance=float(d["tolerance"]), rule=d["rule"], passed=bool(d["passed"]),
                   kind=d["kind"], source=d["source"], claim=d.get("claim", ""), key=d.get("key") or d["name"],
                   requires=tuple(d.get("requires", ())), stderr=num(d.get("stderr")), unit=d.get("unit", ""),
                   note=d.get("note", ""), outcome=d.get("outcome", ""))


def resolve_outcomes(verdicts) -> list:
    """The verdicts with :attr:`Verdict.outcome` set.

    A verdict whose ``requires`` names a precondition that did not pass is ``"INCONCLUSIVE"``;
    otherwise a judged verdict is ``"PASS"``/``"FAIL"`` and an exploratory one
    ``"AGREES"``/``"DISAGREES"``.

    Raises
    ------
    ValueError
        If two verdicts share a key, or ``requires`` names a key that is not a precondition of
        the same list.
    """
    verdicts = list(verdicts)
    keys = [v.key for v in verdicts]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"verdict keys must be unique within an experiment; repeated: {dup}")
    pre = {v.key: v.passed for v in verdicts if v.kind == "precondition"}
    out = []
    for v in verdicts:
        bad = [r for r in v.requires if r not in pre]
        if bad:
            raise ValueError(f"verdict {v.key!r} requires {bad}, which are not preconditions of its experiment "
                             f"(preconditions: {sorted(pre)})")
        if not all(pre[r] for r in v.requires):
            outcome = "INCONCLUSIVE"
        elif v.kind == "exploratory":
            outcome = "AGREES" if v.passed else "DISAGREES"
        else:
            outcome = "PASS" if v.passed else "FAIL"
        out.append(dataclasses.replace(v, outcome=outcome))
    return out


@dataclass
class ExperimentResult:
    """What one experiment of ``diffphase validate`` produced.

    Attributes
    ----------
    name, title : str
    mode : str
        ``"quick"`` or ``"full"``.
    status : {"done", "skipped"}
        ``"skipped"`` when a requirement is missing (e.g. Fashion-MNIST not installed); a
        skipped experiment has no verdicts and does not fail the run.
    verdicts : list of Verdict
        Their outcomes are resolved on construction (:func:`resolve_outcomes`).
    numbers : dict
        Every measured and predicted number (arrays as lists), for ``results.json``.
    figures : list of str
        PNG file names, relative to the report folder.
    config : dict
        The configuration that produced the result.
    key : str
        Hash of ``config`` (and the engine version): a rerun reuses the result when it matches.
    seconds : float
        Wall time of the run that produced it.
    message : str
        Why it was skipped, or remarks for the report.
    """

    name: str
    title: str
    mode: str
    status: str = "done"
    verdicts: list = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    key: str = ""
    seconds: float = 0.0
    message: str = ""

    def __post_init__(self):
        self.verdicts = resolve_outcomes(self.verdicts)

    @property
    def passed(self) -> bool:
        """True when every judged verdict (claim, reference, precondition) has outcome PASS
        (vacuously for a skipped experiment); exploratory verdicts do not count."""
        return all(v.outcome == "PASS" for v in self.verdicts if v.judged)

    @property
    def passed_strict(self) -> bool:
        """:attr:`passed`, and every exploratory prediction AGREES (``--strict``)."""
        return self.passed and all(v.outcome == "AGREES" for v in self.verdicts if not v.judged)

    @classmethod
    def from_dict(cls, d: dict) -> "ExperimentResult":
        """Rebuild a result from its JSON form."""
        kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d}
        kw["verdicts"] = [Verdict.from_dict(v) for v in d.get("verdicts", [])]
        return cls(**kw)


def _fmt(x, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def _measured_text(v: Verdict) -> str:
    return _fmt(v.measured) + ("" if v.stderr is None else f" ± {_fmt(v.stderr, 2)}")


def _source_text(v: Verdict) -> str:
    """Short form of a verdict's source for the tables: for a claim, its id, arXiv id and place."""
    if v.kind == "claim" and v.claim:
        from .claims import CLAIMS

        c = CLAIMS.get(v.claim)
        if c is not None:
            return f"{v.claim} (arXiv:{c.paper.arxiv}, {c.place})"
    return v.source


def summary(results, *, strict: bool = False) -> dict:
    """Counts of a run: verdicts by kind and outcome, and whether it passes.

    Parameters
    ----------
    results : sequence of ExperimentResult
    strict : bool
        Count exploratory disagreements as failures (``--strict``).

    Returns
    -------
    dict
        ``passed`` (bool), ``judged``/``judged_pass`` (claim, reference and precondition
        verdicts, and those with outcome PASS), ``by_kind`` (``{kind: {outcome: count}}``),
        ``inconclusive``, ``exploratory``/``exploratory_agree``, ``strict``.
    """
    from .claims import KINDS

    vs = [v for r in results for v in r.verdicts]
    by_kind = {k: {} for k in KINDS}
    for v in vs:
        by_kind[v.kind][v.outcome] = by_kind[v.kind].get(v.outcome, 0) + 1
    judged = [v for v in vs if v.judged]
    expl = [v for v in vs if not v.judged]
    passed = all(r.passed_strict if strict else r.passed for r in results)
    return {"passed": passed, "strict": strict, "judged": len(judged),
            "judged_pass": sum(v.outcome == "PASS" for v in judged),
            "inconclusive": sum(v.outcome == "INCONCLUSIVE" for v in vs), "by_kind": by_kind,
            "exploratory": len(expl), "exploratory_agree": sum(v.outcome == "AGREES" for v in expl)}


def summary_line(results, *, mode: str, seconds: float | None = None, strict: bool = False) -> str:
    """One line: status, judged verdicts passing per kind, inconclusive, exploratory agreements."""
    s = summary(results, strict=strict)
    parts = []
    for kind in ("claim", "reference", "precondition"):
        counts = s["by_kind"][kind]
        n = sum(counts.values())
        if n:
            parts.append(f"{kind}s {counts.get('PASS', 0)}/{n}")
    text = (f"{'PASS' if s['passed'] else 'FAIL'}: {s['judged_pass']}/{s['judged']} judged verdicts pass "
            f"({', '.join(parts) or 'none'}); {s['inconclusive']} inconclusive; exploratory predictions: "
            f"{s['exploratory_agree']}/{s['exploratory']} agree{' (strict: they count)' if strict else ''}; "
            f"mode {mode}" + (f", {seconds:.0f} s" if seconds is not None else ""))
    return text


def _claim_rows(results):
    """``(claim, [(experiment, outcome), ...])`` for every claim judged in ``results``."""
    from .claims import CLAIMS

    seen: dict = {}
    for r in results:
        for v in r.verdicts:
            if v.kind == "claim" and v.claim in CLAIMS:
                seen.setdefault(v.claim, []).append((r.name, v.outcome))
    return [(CLAIMS[k], seen[k]) for k in CLAIMS if k in seen]


def _claim_outcome(outcomes) -> str:
    o = [x for _, x in outcomes]
    if any(x == "FAIL" for x in o):
        return "FAIL"
    if any(x == "INCONCLUSIVE" for x in o):
        return "INCONCLUSIVE"
    return "PASS"


def render_markdown(results, *, mode: str, seconds: float | None = None, header: dict | None = None,
                    strict: bool = False) -> str:
    """The text of ``report.md``: the summary line; a table of experiments (verdict counts and
    wall time); the judged verdicts (experiment, kind, quantity, measured ± standard error,
    predicted, tolerance, outcome, source); the predictions of diffphase not stated in the
    papers (exploratory); the claims tested, with their papers and places; then one section
    per experiment with its figure, notes and configuration."""
    results = list(results)

    def cell(c):
        return str(c).replace("|", "\\|").replace("\n", " ")

    lines = ["# diffphase validate report", "", "**" + summary_line(results, mode=mode, seconds=seconds,
                                                                     strict=strict).replace(":", ":**", 1) + "."]
    for k, v in (header or {}).items():
        lines.append(f"- {k}: {v}")
    lines += ["", "## Experiments", "", "| experiment | status | judged verdicts passing | exploratory agreeing | "
              "time |", "|---|---|---|---|---|"]
    for r in results:
        j = [v for v in r.verdicts if v.judged]
        e = [v for v in r.verdicts if not v.judged]
        status = r.status if r.status == "skipped" else ("PASS" if r.passed else "FAIL")
        lines.append(f"| {r.name} | {status} | {sum(v.outcome == 'PASS' for v in j)}/{len(j)} | "
                     f"{sum(v.outcome == 'AGREES' for v in e)}/{len(e)} | {r.seconds:.0f} s |")
    lines += ["", "## Judged verdicts (claims, references, preconditions)", "",
              "| experiment | kind | quantity | measured | predicted | tolerance | outcome | source |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        for v in r.verdicts:
            if v.judged:
                lines.append("| " + " | ".join(cell(c) for c in (
                    r.name, v.kind, v.name, _measured_text(v), _fmt(v.predicted), v.tolerance_text(), v.outcome,
                    _source_text(v))) + " |")
    expl = [(r, v) for r in results for v in r.verdicts if not v.judged]
    lines += ["", "## Predictions of diffphase not stated in the papers (exploratory)", "",
              "Reported, not judged: they do not enter the exit status (``--strict`` makes them count).", ""]
    if expl:
        lines += ["| experiment | quantity | measured | predicted | tolerance | outcome | formula of diffphase |",
                  "|---|---|---|---|---|---|---|"]
        for r, v in expl:
            lines.append("| " + " | ".join(cell(c) for c in (
                r.name, v.name, _measured_text(v), _fmt(v.predicted), v.tolerance_text(), v.outcome, v.source))
                + " |")
    else:
        lines.append("None in this run.")
    rows = _claim_rows(results)
    lines += ["", "## Claims tested", ""]
    if rows:
        lines += ["| claim | paper, place | statement | outcome (experiments) |", "|---|---|---|---|"]
        for c, outs in rows:
            text = f"“{c.statement}”" if c.quoted else f"{c.statement} (paraphrase)"
            per = ", ".join(f"{n}: {o}" for n, o in outs)
            lines.append("| " + " | ".join(cell(x) for x in (
                c.id, f"{c.paper.short()}, {c.place}", text, f"{_claim_outcome(outs)} ({per})")) + " |")
    else:
        lines.append("No claim was judged in this run.")
    for r in results:
        lines += ["", f"## {r.title} (`{r.name}`)", ""]
        if r.status == "skipped":
            lines.append(f"*Skipped*: {r.message}")
            continue
        lines.append(f"{'all judged verdicts pass' if r.passed else 'some judged verdicts do not pass'}; "
                     f"{r.seconds:.0f} s.")
        if r.message:
            lines += ["", r.message]
        for fig in r.figures:
            lines += ["", f"![{r.name}]({fig})"]
        for v in r.verdicts:
            extra = f" Requires: {', '.join(v.requires)}." if v.requires else ""
            lines.append(f"- *{v.name}* [{v.kind}, {v.outcome}]: {v.note}{' ' if v.note else ''}"
                         f"Source: {v.source}.{extra}")
        lines += ["", "<details><summary>configuration</summary>", "", "```json",
                  json.dumps(to_jsonable(r.config), indent=1), "```", "", "</details>"]
    return "\n".join(lines) + "\n"


def render_html(results, *, mode: str, seconds: float | None = None, header: dict | None = None,
                strict: bool = False) -> str:
    """The text of ``report.html``: the same content as :func:`render_markdown`, self-contained
    (figures referenced by relative path, no external style or script)."""
    results = list(results)
    esc = html.escape
    s = summary(results, strict=strict)
    status = "PASS" if s["passed"] else "FAIL"
    line = summary_line(results, mode=mode, seconds=seconds, strict=strict).split(":", 1)[1]
    out = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'><title>diffphase validate</title>",
           "<style>body{font-family:sans-serif;max-width:80em;margin:auto}table{border-collapse:collapse}"
           "td,th{border:1px solid #999;padding:2px 6px;vertical-align:top}.PASS,.AGREES{color:#070}"
           ".FAIL{color:#b00;font-weight:bold}.INCONCLUSIVE{color:#a60;font-weight:bold}.DISAGREES{color:#a60}"
           "img{max-width:100%}</style></head><body>",
           "<h1>diffphase validate report</h1>", f"<p><b class='{status}'>{status}</b>:{esc(line)}.</p>"]
    if header:
        out.append("<ul>" + "".join(f"<li>{esc(str(k))}: {esc(str(v))}</li>" for k, v in header.items()) + "</ul>")

    def table(head, rows):
        out.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>")
        for row in rows:
            out.append("<tr>" + "".join(
                f"<td class='{esc(c)}'>{esc(c)}</td>" if c in ("PASS", "FAIL", "INCONCLUSIVE", "AGREES", "DISAGREES")
                else f"<td>{esc(str(c))}</td>" for c in row) + "</tr>")
        out.append("</table>")

    out.append("<h2>Experiments</h2>")
    rows = []
    for r in results:
        j = [v for v in r.verdicts if v.judged]
        e = [v for v in r.verdicts if not v.judged]
        rows.append([r.name, r.status if r.status == "skipped" else ("PASS" if r.passed else "FAIL"),
                     f"{sum(v.outcome == 'PASS' for v in j)}/{len(j)}",
                     f"{sum(v.outcome == 'AGREES' for v in e)}/{len(e)}", f"{r.seconds:.0f} s"])
    table(["experiment", "status", "judged verdicts passing", "exploratory agreeing", "time"], rows)
    out.append("<h2>Judged verdicts (claims, references, preconditions)</h2>")
    table(["experiment", "kind", "quantity", "measured", "predicted", "tolerance", "outcome", "source"],
          [[r.name, v.kind, v.name, _measured_text(v), _fmt(v.predicted), v.tolerance_text(), v.outcome,
            _source_text(v)] for r in results for v in r.verdicts if v.judged])
    out.append("<h2>Predictions of diffphase not stated in the papers (exploratory)</h2>"
               "<p>Reported, not judged: they do not enter the exit status (<code>--strict</code> makes them "
               "count).</p>")
    expl = [[r.name, v.name, _measured_text(v), _fmt(v.predicted), v.tolerance_text(), v.outcome, v.source]
            for r in results for v in r.verdicts if not v.judged]
    if expl:
        table(["experiment", "quantity", "measured", "predicted", "tolerance", "outcome", "formula of diffphase"],
              expl)
    else:
        out.append("<p>None in this run.</p>")
    out.append("<h2>Claims tested</h2>")
    crow = [[c.id, f"{c.paper.short()}, {c.place}", f"“{c.statement}”" if c.quoted else
             f"{c.statement} (paraphrase)", _claim_outcome(outs), ", ".join(f"{n}: {o}" for n, o in outs)]
            for c, outs in _claim_rows(results)]
    if crow:
        table(["claim", "paper, place", "statement", "outcome", "experiments"], crow)
    else:
        out.append("<p>No claim was judged in this run.</p>")
    for r in results:
        out.append(f"<h2>{esc(r.title)} (<code>{esc(r.name)}</code>)</h2>")
        if r.status == "skipped":
            out.append(f"<p><i>Skipped</i>: {esc(r.message)}</p>")
            continue
        out.append(f"<p>{'all judged verdicts pass' if r.passed else 'some judged verdicts do not pass'}; "
                   f"{r.seconds:.0f} s.</p>")
        if r.message:
            out.append(f"<p>{esc(r.message)}</p>")
        for fig in r.figures:
            out.append(f"<p><img src='{esc(fig)}' alt='{esc(r.name)}'></p>")
        out.append("<ul>" + "".join(
            f"<li><i>{esc(v.name)}</i> [{esc(v.kind)}, <span class='{esc(v.outcome)}'>{esc(v.outcome)}</span>]: "
            f"{esc(v.note)} Source: {esc(v.source)}."
            + (f" Requires: {esc(', '.join(v.requires))}." if v.requires else "") + "</li>"
            for v in r.verdicts) + "</ul>")
        out.append("<details><summary>configuration</summary><pre>"
                   + esc(json.dumps(to_jsonable(r.config), indent=1)) + "</pre></details>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report(results, out_dir, *, mode: str, seconds: float | None = None, header: dict | None = None,
                 strict: bool = False) -> dict:
    """Write ``results.json``, ``report.md`` and ``report.html`` into ``out_dir`` atomically.

    Parameters
    ----------
    results : sequence of ExperimentResult
    out_dir : str or Path
    mode : str
    seconds : float, optional
        Total wall time, shown in the summary line.
    header : dict, optional
        Extra facts listed under the summary (device, torch version, ...).
    strict : bool
        Exploratory disagreements fail the run (``--strict``).

    Returns
    -------
    dict
        ``{"results.json": path, "report.md": path, "report.html": path}``. ``results.json``
        holds ``passed``, ``strict``, ``summary`` (:func:`summary`), ``claims`` (every claim
        judged: id, arXiv id, place, statement, outcome per experiment) and every experiment
        with its verdicts (each with its ``kind``, ``source``, ``claim``, ``requires`` and
        ``outcome``).
    """
    results = list(results)
    out_dir = Path(out_dir)
    s = summary(results, strict=strict)
    claims = [{"id": c.id, "arxiv": c.paper.arxiv, "paper": c.paper.short(), "place": c.place,
               "statement": c.statement, "quoted": c.quoted, "outcome": _claim_outcome(outs),
               "experiments": [{"experiment": n, "outcome": o} for n, o in outs]}
              for c, outs in _claim_rows(results)]
    payload = {"mode": mode, "passed": s["passed"], "strict": strict, "seconds": seconds, "summary": s,
               "header": header or {}, "claims": claims, "experiments": [to_jsonable(r) for r in results]}
    kw = {"mode": mode, "seconds": seconds, "header": header, "strict": strict}
    return {
        "results.json": write_json(payload, out_dir / "results.json"),
        "report.md": atomic_write_text(render_markdown(results, **kw), out_dir / "report.md"),
        "report.html": atomic_write_text(render_html(results, **kw), out_dir / "report.html"),
    }


def digest(payload: dict) -> dict:
    """The verdicts of a ``results.json`` payload without the curves: what the docs ship.

    Parameters
    ----------
    payload : dict
        The content of ``results.json`` (:func:`write_report`).

    Returns
    -------
    dict
        ``mode``, ``passed``, ``seconds``, ``header`` (device, torch, commit, start time, ...),
        ``summary``, ``claims``, and ``experiments``: per experiment its ``name``, ``status``,
        ``seconds`` and ``verdicts`` (every field of :class:`Verdict`).

    Raises
    ------
    ValueError
        If ``payload`` is not a results payload (no ``experiments`` list).
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("experiments"), list):
        raise ValueError("payload must be the content of a results.json written by write_report")
    exps = [{"name": e["name"], "status": e.get("status", "done"), "seconds": e.get("seconds", 0.0),
             "message": e.get("message", ""), "verdicts": e.get("verdicts", [])} for e in payload["experiments"]]
    return {k: payload.get(k) for k in ("mode", "passed", "strict", "seconds", "header", "summary", "claims")} \
        | {"experiments": exps}


def write_digest(results_json, path) -> Path:
    """Write :func:`digest` of the ``results.json`` at ``results_json`` to ``path`` (atomically).

    Examples
    --------
    ``write_digest("diffphase-report/results.json", "docs/_static/validation/quick-verdicts.json")``
    refreshes the verdicts that the documentation's claims table shows.
    """
    return write_json(digest(read_json(results_json)), path)
