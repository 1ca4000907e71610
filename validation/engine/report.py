r"""The report of ``diffphase validate``: ``report.md``, ``report.html`` and ``results.json``,
written atomically, and the digest of a run that the documentation ships.

:func:`write_report` assembles the files from the
:class:`~diffphase.validation.engine.verdicts.ExperimentResult` of every experiment: a summary
line, the experiments with their verdict counts and wall times, the judged verdicts (kind,
measured ± standard error, predicted, tolerance, outcome, source), the exploratory predictions
in their own table, the claims tested with their papers and places, and one section per
experiment with its figure, notes and configuration.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

from .io import atomic_write_text, read_json, to_jsonable, write_json
from .verdicts import Verdict

__all__ = ["REUSED", "summary", "summary_line", "render_markdown", "render_html", "write_report", "digest", "write_digest",
           "export_report"]


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
        from ..claims import CLAIMS

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
    from ..claims import KINDS

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


#: The header key that lists the experiments a run reused from an earlier run into the same folder.
REUSED = "reused from an earlier run"


def _partial(header: dict | None) -> bool:
    """Whether a report's header lists experiments reused from an earlier run."""
    return bool((header or {}).get(REUSED))


def summary_line(results, *, mode: str, seconds: float | None = None, strict: bool = False,
                 partial: bool = False) -> str:
    """One line: status, judged verdicts passing per kind, inconclusive, exploratory agreements;
    ``seconds`` is the wall time of the run, called "this run" when ``partial`` (some
    experiments were reused from an earlier run, so it is not the report's whole time)."""
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
            f"mode {mode}" + (f", {'this run ' if partial else ''}{seconds:.0f} s" if seconds is not None else ""))
    return text


def _claim_rows(results):
    """``(claim, [(experiment, outcome), ...])`` for every claim judged in ``results``."""
    from ..claims import CLAIMS

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


def _result_status(r) -> str:
    """The line under an experiment's heading in the report."""
    return f"{'all judged verdicts pass' if r.passed else 'some judged verdicts do not pass'}; {r.seconds:.0f} s."


def render_markdown(results, *, mode: str, seconds: float | None = None, header: dict | None = None,
                    strict: bool = False) -> str:
    """The text of ``report.md``: the summary line; a table of experiments (verdict counts, wall
    and CPU time, the commit that computed each); the judged verdicts (experiment, kind, quantity, measured ± standard error,
    predicted, tolerance, outcome, source); the predictions of diffphase not stated in the
    papers (exploratory); the claims tested, with their papers and places; then one section
    per experiment with its figure, notes and configuration."""
    results = list(results)

    def cell(c):
        return str(c).replace("|", "\\|").replace("\n", " ")

    lines = ["# diffphase validate report", "", "**" + summary_line(results, mode=mode, seconds=seconds, strict=strict,
                                                                     partial=_partial(header)).replace(":", ":**", 1) + "."]
    for k, v in (header or {}).items():
        lines.append(f"- {k}: {v}")
    lines += ["", "## Experiments", "", "| experiment | status | judged verdicts passing | exploratory agreeing | "
              "time (wall, CPU) | commit |", "|---|---|---|---|---|---|"]
    for r in results:
        j = [v for v in r.verdicts if v.judged]
        e = [v for v in r.verdicts if not v.judged]
        status = r.status if r.status == "skipped" else ("PASS" if r.passed else "FAIL")
        lines.append(f"| {r.name} | {status} | {sum(v.outcome == 'PASS' for v in j)}/{len(j)} | "
                     f"{sum(v.outcome == 'AGREES' for v in e)}/{len(e)} | {r.seconds:.0f} s, {r.cpu_seconds:.0f} s | "
                     f"{cell((r.commit or '—')[:12])} |")
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
        lines += [_result_status(r), *(["", r.message] if r.message else [])]
        lines += [x for fig in r.figures for x in ("", f"![{r.name}]({fig})")]
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
    line = summary_line(results, mode=mode, seconds=seconds, strict=strict,
                        partial=_partial(header)).split(":", 1)[1]
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
        out += [f"<p>{esc(x)}</p>" for x in (_result_status(r), r.message) if x]
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


def export_report(report_dir, dest) -> dict:
    """Copy a finished report for shipping (the documentation's measured results): ``report.md``,
    every figure the experiments name, and ``results.json`` without indentation (about a third
    of the size; the same content).

    ``dest`` is emptied of earlier exports first (only the files an export writes: ``*.png``,
    ``report.md``, ``results.json``).

    Parameters
    ----------
    report_dir : str or Path
        A report folder written by ``diffphase validate`` (holds ``results.json``).
    dest : str or Path
        Destination folder (created).

    Returns
    -------
    dict
        ``{"files": [names], "bytes": total size}``.

    Raises
    ------
    FileNotFoundError
        When ``report_dir`` has no ``results.json`` or a named figure is missing.

    Examples
    --------
    ``export_report("std-report", "docs/_static/validation/standard")`` after
    ``diffphase validate --standard --out std-report``.
    """
    import shutil

    src, dest = Path(report_dir), Path(dest)
    if not (src / "results.json").exists():
        raise FileNotFoundError(f"report_dir {str(src)!r} has no results.json: run diffphase validate --out there "
                                "first")
    payload = read_json(src / "results.json")
    figures = [f for e in payload["experiments"] for f in e.get("figures", [])]
    missing = [f for f in figures if not (src / f).exists()]
    if missing:
        raise FileNotFoundError(f"figures named in {src / 'results.json'} are missing: {missing}")
    dest.mkdir(parents=True, exist_ok=True)
    for old in [*dest.glob("*.png"), dest / "report.md", dest / "results.json"]:
        if old.exists():
            old.unlink()
    for f in ["report.md", *figures]:
        shutil.copyfile(src / f, dest / f)
    text = json.dumps(json.loads((src / "results.json").read_text(encoding="utf-8")), separators=(",", ":"),
                      ensure_ascii=False)
    atomic_write_text(text, dest / "results.json")
    names = ["report.md", *figures, "results.json"]
    return {"files": names, "bytes": sum((dest / n).stat().st_size for n in names)}
