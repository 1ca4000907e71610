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

Examples
--------
>>> v = Verdict.check("t_S crossing vs 1/2 log Lambda", measured=2.05, predicted=2.087,
...                   tolerance=0.1, rule="rel", stderr=0.03)
>>> v.passed, round(v.deviation, 4)
(True, -0.0177)
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
    "render_markdown",
    "render_html",
    "write_report",
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
    r"""One measured number against its prediction.

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
    stderr : float or None
        Standard error of ``measured`` (reported, not used by the rule).
    passed : bool
    unit : str
        e.g. ``"OU time"``.
    note : str
        Where the prediction and the tolerance come from.
    """

    name: str
    measured: float
    predicted: float | None
    tolerance: float
    rule: str
    passed: bool
    stderr: float | None = None
    unit: str = ""
    note: str = ""

    @classmethod
    def check(cls, name: str, measured: float, predicted: float | None, tolerance: float, rule: str = "abs",
              stderr: float | None = None, unit: str = "", note: str = "") -> "Verdict":
        """Apply ``rule`` and return the verdict. A non-finite ``measured`` fails.

        Raises
        ------
        ValueError
            If ``rule`` is not one of ``"abs"``, ``"rel"``, ``"max"``, ``"min"``, if the
            tolerance is negative or not finite, or if a two-sided rule has no prediction.
        """
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
        return cls(name=name, measured=measured, predicted=None if predicted is None else float(predicted),
                   tolerance=tolerance, rule=rule, passed=bool(passed),
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
                   stderr=num(d.get("stderr")), unit=d.get("unit", ""), note=d.get("note", ""))


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

    @property
    def passed(self) -> bool:
        """True when every verdict passed (vacuously for a skipped experiment)."""
        return all(v.passed for v in self.verdicts)

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


def _verdict_rows(results):
    for r in results:
        for v in r.verdicts:
            meas = _fmt(v.measured) + ("" if v.stderr is None else f" ± {_fmt(v.stderr, 2)}")
            yield [r.name, v.name, meas, _fmt(v.predicted), v.tolerance_text(), "PASS" if v.passed else "FAIL"]


def render_markdown(results, *, mode: str, seconds: float | None = None, header: dict | None = None) -> str:
    """The text of ``report.md``: a summary line, the verdict table (experiment, quantity,
    measured ± standard error, predicted, tolerance, verdict), then one section per experiment
    with its figure, message and configuration."""
    results = list(results)
    n_v = sum(len(r.verdicts) for r in results)
    n_pass = sum(v.passed for r in results for v in r.verdicts)
    lines = ["# diffphase validate report", ""]
    status = "PASS" if all(r.passed for r in results) else "FAIL"
    lines.append(f"**{status}**: {n_pass}/{n_v} verdicts pass, mode `{mode}`"
                 + (f", {seconds:.0f} s" if seconds is not None else "") + ".")
    for k, v in (header or {}).items():
        lines.append(f"- {k}: {v}")
    lines += ["", "| experiment | quantity | measured | predicted | tolerance | verdict |",
              "|---|---|---|---|---|---|"]
    for row in _verdict_rows(results):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    for r in results:
        lines += ["", f"## {r.title} (`{r.name}`)", ""]
        if r.status == "skipped":
            lines.append(f"*Skipped*: {r.message}")
            continue
        lines.append(f"{'all verdicts pass' if r.passed else 'some verdicts FAIL'}; {r.seconds:.0f} s.")
        if r.message:
            lines += ["", r.message]
        for fig in r.figures:
            lines += ["", f"![{r.name}]({fig})"]
        for v in r.verdicts:
            if v.note:
                lines.append(f"- *{v.name}*: {v.note}")
        lines += ["", "<details><summary>configuration</summary>", "", "```json",
                  json.dumps(to_jsonable(r.config), indent=1), "```", "", "</details>"]
    return "\n".join(lines) + "\n"


def render_html(results, *, mode: str, seconds: float | None = None, header: dict | None = None) -> str:
    """The text of ``report.html``: the same content as :func:`render_markdown`, self-contained
    (figures referenced by relative path, no external style or script)."""
    results = list(results)
    esc = html.escape
    n_v = sum(len(r.verdicts) for r in results)
    n_pass = sum(v.passed for r in results for v in r.verdicts)
    status = "PASS" if all(r.passed for r in results) else "FAIL"
    out = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'><title>diffphase validate</title>",
           "<style>body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:collapse}"
           "td,th{border:1px solid #999;padding:2px 6px}.PASS{color:#070}.FAIL{color:#b00;font-weight:bold}"
           "img{max-width:100%}</style></head><body>",
           "<h1>diffphase validate report</h1>",
           f"<p><b class='{status}'>{status}</b>: {n_pass}/{n_v} verdicts pass, mode <code>{esc(mode)}</code>"
           + (f", {seconds:.0f} s" if seconds is not None else "") + ".</p>"]
    if header:
        out.append("<ul>" + "".join(f"<li>{esc(str(k))}: {esc(str(v))}</li>" for k, v in header.items()) + "</ul>")
    out.append("<table><tr><th>experiment</th><th>quantity</th><th>measured</th><th>predicted</th>"
               "<th>tolerance</th><th>verdict</th></tr>")
    for row in _verdict_rows(results):
        cells = "".join(f"<td>{esc(c)}</td>" for c in row[:-1])
        out.append(f"<tr>{cells}<td class='{row[-1]}'>{row[-1]}</td></tr>")
    out.append("</table>")
    for r in results:
        out.append(f"<h2>{esc(r.title)} (<code>{esc(r.name)}</code>)</h2>")
        if r.status == "skipped":
            out.append(f"<p><i>Skipped</i>: {esc(r.message)}</p>")
            continue
        out.append(f"<p>{'all verdicts pass' if r.passed else 'some verdicts FAIL'}; {r.seconds:.0f} s.</p>")
        if r.message:
            out.append(f"<p>{esc(r.message)}</p>")
        for fig in r.figures:
            out.append(f"<p><img src='{esc(fig)}' alt='{esc(r.name)}'></p>")
        notes = [v for v in r.verdicts if v.note]
        if notes:
            out.append("<ul>" + "".join(f"<li><i>{esc(v.name)}</i>: {esc(v.note)}</li>" for v in notes) + "</ul>")
        out.append("<details><summary>configuration</summary><pre>"
                   + esc(json.dumps(to_jsonable(r.config), indent=1)) + "</pre></details>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report(results, out_dir, *, mode: str, seconds: float | None = None, header: dict | None = None) -> dict:
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

    Returns
    -------
    dict
        ``{"results.json": path, "report.md": path, "report.html": path}``.
    """
    results = list(results)
    out_dir = Path(out_dir)
    payload = {"mode": mode, "passed": all(r.passed for r in results), "seconds": seconds,
               "header": header or {}, "experiments": [to_jsonable(r) for r in results]}
    return {
        "results.json": write_json(payload, out_dir / "results.json"),
        "report.md": atomic_write_text(render_markdown(results, mode=mode, seconds=seconds, header=header),
                                  out_dir / "report.md"),
        "report.html": atomic_write_text(render_html(results, mode=mode, seconds=seconds, header=header),
                                    out_dir / "report.html"),
    }
