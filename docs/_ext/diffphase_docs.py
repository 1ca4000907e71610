"""Sphinx extension of the diffphase documentation.

Directives
----------
``derivation``
    ``.. derivation:: diffphase.theory.gaussian_mixture`` imports the module, calls its
    ``derivation()`` and renders every step (sentence + display equation) at build time, so the
    equations on the page are the ones sympy computes, never retyped. Each named step gets an
    anchor ``derivation-<module>-<step name>``.
``conventions-table``
    The one table of time and noise conventions, every cell computed at build time from
    :mod:`diffphase.theory.conventions` (symbolic) and :mod:`diffphase.numerics.conventions`
    (numbers).
``validate-plan``
    FLOPs and estimated GPU time of every experiment of ``diffphase validate``.
``claims-table``
    Every claim of :mod:`diffphase.validation.claims` with the experiments that judge it and
    its outcome in the measured quick run shipped in ``_static/validation/quick-verdicts.json``.

Offline math
------------
Math is typeset in the browser by MathJax 3, served from the site itself: the MathJax files
of the ``sphinx-mathjax-offline`` distribution (a PyPI package that vendors MathJax 3.2.2) are
copied into ``_static/mathjax`` of the HTML output and ``mathjax_path`` points there. Nothing
is fetched at build time or when a page is read.

Docstrings
----------
Module docstrings may carry numpydoc-style underlined headings ("Noise convention" over a line
of dashes); docutils does not allow section titles inside autodoc content, so they are turned
into rubrics before the docstring is parsed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: Relative path of the MathJax entry point inside ``_static``.
MATHJAX_ENTRY = "mathjax/tex-chtml.js"
#: Parts of the MathJax distribution copied to the site (the tex-chtml component, the TeX
#: extensions it may autoload, the CHTML fonts, the menu and its accessibility modules).
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y", "sre",
                 "adaptors")
#: Distributions that vendor the MathJax 3 files, with the folder holding ``tex-chtml.js``.
MATHJAX_SOURCES = (("sphinx-mathjax-offline", "sphinx-mathjax-offline/static/mathjax"),)


def slug(text: str) -> str:
    """Anchor-safe form of ``text`` (lower case, runs of other characters as one dash)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --------------------------------------------------------------------------------------
# derivation
# --------------------------------------------------------------------------------------
def load_derivation(module_name: str):
    """Import ``module_name`` and return its ``derivation()`` (a ``Derivation``)."""
    from diffphase.theory.derivation import Derivation

    module = importlib.import_module(module_name)
    func = getattr(module, "derivation", None)
    if not callable(func):
        raise ValueError(f"{module_name} has no derivation() function")
    result = func()
    if not isinstance(result, Derivation):
        raise ValueError(f"{module_name}.derivation() returned {type(result).__name__}, not a Derivation")
    return module, result


class DerivationDirective(SphinxDirective):
    """Render ``<module>.derivation()``: its title as a rubric, then one enumerated item per
    step, the step's sentence followed by its equation (``sympy.latex``) as display math.

    Options: ``:no-title:`` omits the rubric.
    """

    required_arguments = 1
    optional_arguments = 0
    has_content = False
    option_spec = {"no-title": directives.flag}

    def run(self):
        name = self.arguments[0]
        try:
            module, deriv = load_derivation(name)
        except Exception as exc:  # import error, bad return: one clear build warning
            raise self.error(f"derivation: cannot render {name}: {type(exc).__name__}: {exc}") from exc
        source = inspect.getsourcefile(module)
        if source:
            self.env.note_dependency(source)
        base = "derivation-" + slug(name.rsplit(".", 1)[-1])
        container = nodes.container(classes=["derivation"])
        container["ids"].append(base)
        if "no-title" not in self.options:
            container += nodes.rubric(deriv.title, deriv.title)
        enum = nodes.enumerated_list(enumtype="arabic", prefix="", suffix=".")
        for step in deriv:
            item = nodes.list_item()
            if step.name:
                item["ids"].append(f"{base}-{slug(step.name)}")
            item += nodes.paragraph(step.text, step.text)
            latex = step.latex()
            item += nodes.math_block(latex, latex, docname=self.env.docname, number=None,
                                     label=None, nowrap=False, classes=["derivation-step"])
            enum += item
        container += enum
        return [container]


# --------------------------------------------------------------------------------------
# conventions table
# --------------------------------------------------------------------------------------
def conventions_rows(at: float = 1.0):
    """Rows of the conventions table, computed: ``(name, symbol, of_t, t_of, value, code)``.

    ``symbol``, ``of_t`` and ``t_of`` are LaTeX strings from :mod:`diffphase.theory.conventions`;
    ``value`` is the number at OU time ``at`` from :mod:`diffphase.numerics.conventions`;
    ``code`` names the numerics functions.
    """
    import sympy as sp

    from diffphase.numerics import conventions as ncv
    from diffphase.numerics.rhm import get_process
    from diffphase.theory import conventions as tcv

    t = tcv.t
    L = sp.latex
    abar, th, sig2, rho, eps = sp.symbols(r"\bar{\alpha} theta sigma^2 SNR varepsilon", positive=True)
    k, T, u = sp.symbols("k T u", positive=True)
    bmin, bmax = sp.symbols(r"\beta_{\min} \beta_{\max}", positive=True)
    lin = ncv.DiscreteSchedule.linear(1000, 1e-4, 2e-2)
    cos = ncv.DiscreteSchedule.cosine(1000, 0.008)
    rhm_sched = get_process("masking", v=2).schedule
    lin_abar = tcv.linear_schedule_alpha_bar(k, T, bmin, bmax)
    fmt = "{:.6g}".format
    rows = [
        ("OU time (the package's)", L(t), L(t), L(t), fmt(at), "—"),
        ("noise variance", r"\Delta_t", L(tcv.delta()), L(tcv.time_from("noise_level", sp.Symbol(r"\Delta_t"))),
         fmt(ncv.delta(at)), "delta"),
        (r"DDPM cumulative signal fraction", L(abar), L(tcv.alpha_bar()), L(tcv.time_from("alpha_bar", abar)),
         fmt(ncv.alpha_bar(at)), "alpha_bar, time_from_alpha_bar"),
        ("signal scale (Ambrogioni-group papers)", L(th), L(tcv.theta()), L(tcv.time_from("theta", th)),
         fmt(ncv.theta(at)), "theta, time_from_theta"),
        ("variance-exploding noise variance", L(sig2), L(tcv.ve_variance()), L(tcv.time_from("ve_variance", sig2)),
         fmt(ncv.ve_variance(at)), "ve_variance, time_from_ve_variance"),
        ("signal-to-noise ratio", L(rho), L(tcv.snr()), L(tcv.time_from("snr", rho)),
         fmt(ncv.snr(at)), "snr, time_from_snr"),
        ("DDPM step, linear schedule (T = 1000, β from 1e-4 to 2e-2)",
         L(k), r"\bar\alpha_k = " + L(lin_abar), r"t_k = -\tfrac{1}{2}\log\bar\alpha_k",
         f"k = {lin.step(at)}", "DiscreteSchedule.linear(...).step / .time"),
        ("DDPM step, cosine schedule (T = 1000, s = 0.008)",
         L(k), r"u = k/T", r"t(u) = " + L(tcv.cosine_schedule_time(u, sp.Symbol("s", positive=True))),
         f"k = {cos.step(at)}", "DiscreteSchedule.cosine(...).step / .time"),
        ("RHM noise level (every process): probability that a token is not kept",
         L(eps), L(tcv.noise_level()), L(tcv.time_from("noise_level", eps)),
         fmt(ncv.noise_level(at)), "noise_level, time_from_noise_level"),
        (f"RHM diffusion step (default schedule: linear, T = {rhm_sched.T}, β from "
         f"{rhm_sched.betas[0]:g} to {rhm_sched.betas[-1]:g})",
         L(k), r"\varepsilon_k = 1-\bar\alpha_k", r"t_k = -\tfrac{1}{2}\log\bar\alpha_k",
         f"k = {rhm_sched.step(at)}", "NoiseProcess.level_at_step"),
    ]
    return rows


def _note_sources(env, modules) -> None:
    """Rebuild the page when the source of any of ``modules`` changes."""
    for mod in modules:
        src = inspect.getsourcefile(importlib.import_module(mod))
        if src:
            env.note_dependency(src)


def _table(css_class: str, header, widths):
    """A docutils table with a header row; returns ``(table, tbody)`` for the caller's rows."""
    table = nodes.table(classes=[css_class])
    tgroup = nodes.tgroup(cols=len(header))
    table += tgroup
    for width in widths:
        tgroup += nodes.colspec(colwidth=width)
    thead = nodes.thead()
    tgroup += thead
    thead += ConventionsTableDirective._row([nodes.paragraph(h, h) for h in header])
    tbody = nodes.tbody()
    tgroup += tbody
    return table, tbody


class ConventionsTableDirective(SphinxDirective):
    """The conventions table, every cell computed (see :func:`conventions_rows`).

    Option ``:at:`` the OU time of the value column (default 1).
    """

    has_content = False
    option_spec = {"at": directives.unchanged}

    def run(self):
        at = float(self.options.get("at", 1.0))
        try:
            rows = conventions_rows(at)
        except Exception as exc:
            raise self.error(f"conventions-table: {type(exc).__name__}: {exc}") from exc
        _note_sources(self.env, ("diffphase.theory.conventions", "diffphase.numerics.conventions"))
        header = ("convention (diffphase.numerics.conventions)", "symbol", "as a function of OU time",
                  "OU time from it", f"at t = {at:g}")
        table, tbody = _table("conventions-table", header, (24, 6, 26, 26, 8))
        for name, symbol, of_t, t_of, value, code in rows:
            first = nodes.paragraph(name, name)
            if code != "—":
                first += nodes.Text(" ")
                first += nodes.literal(code, code, classes=["conventions-code"])
            cells = [first, self._math(symbol), self._math(of_t), self._math(t_of),
                     nodes.paragraph(value, value)]
            tbody += self._row(cells)
        return [table]

    @staticmethod
    def _math(latex: str):
        return nodes.paragraph("", "", nodes.math(latex, latex))

    @staticmethod
    def _row(cells):
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell
            row += entry
        return row


class ValidatePlanDirective(SphinxDirective):
    """Table of :func:`diffphase.validation.validate.plan` for ``quick`` and ``full``: FLOPs,
    training steps and the estimated GPU time of every experiment, computed at build time."""

    has_content = False

    def run(self):
        try:
            from diffphase.validation.validate import plan

            rows = [(mode, r) for mode in ("quick", "full") for r in plan(mode)]
        except Exception as exc:
            raise self.error(f"validate-plan: {type(exc).__name__}: {exc}") from exc
        _note_sources(self.env, ("diffphase.validation.validate", "diffphase.validation.regimes"))
        header = ("mode", "experiment", "training FLOPs", "sampling FLOPs", "training steps", "GPU estimate")
        table, tbody = _table("validate-plan", header, (6, 18, 12, 12, 10, 12))
        for mode, r in rows:
            if r["total_flops"] is None:
                cells = [mode, r["name"], "—", "—", "—", "—"]
            else:
                cells = [mode, r["name"], f"{r['train_flops']:.2e}", f"{r['sample_flops']:.2e}",
                         f"{r['train_steps']:d}", f"{r['gpu_seconds'] / 60:.1f} min"]
            tbody += ConventionsTableDirective._row([nodes.paragraph(c, c) for c in cells])
        return [table]


#: The verdicts of the last measured ``diffphase validate --quick``, shipped with the docs
#: (:func:`diffphase.validation.engine.report.write_digest` of its ``results.json``).
QUICK_VERDICTS = Path(__file__).resolve().parent.parent / "_static" / "validation" / "quick-verdicts.json"


def _measured_cell(claim, digest: dict | None, mode: str) -> str:
    """Outcome of ``claim`` in the measured run ``digest`` of ``mode``, per experiment."""
    from diffphase.validation.validate import EXPERIMENTS

    if digest is None:
        return "not yet run"
    verdicts = {e["name"]: e.get("verdicts", []) for e in digest.get("experiments", [])}
    status = {e["name"]: e.get("status", "done") for e in digest.get("experiments", [])}
    cells = []
    for name in claim.tested_by:
        exp = EXPERIMENTS.get(name)
        if exp is None or not exp.has_mode(mode) or (mode == "quick" and "quick" not in exp.modes):
            cells.append(f"{name}: not in {mode}")
            continue
        vs = [v for v in verdicts.get(name, []) if v.get("claim") == claim.id]
        if not vs:
            cells.append(f"{name}: skipped" if status.get(name) == "skipped" else f"{name}: not in the measured run")
            continue
        outs = [v["outcome"] for v in vs]
        word = "FAIL" if "FAIL" in outs else ("INCONCLUSIVE" if "INCONCLUSIVE" in outs else "PASS")
        cells.append(f"{name}: {word} ({outs.count('PASS')}/{len(outs)})")
    if claim.not_judged:
        return f"reported, not judged: {claim.not_judged}"
    return "; ".join(cells)


def claims_rows(digest: dict, standard: dict | None = None) -> list[tuple]:
    """Rows of the claims table: every claim of :data:`diffphase.validation.claims.CLAIMS` with
    the experiments that judge it, its outcome in the measured quick run ``digest``, in the
    measured standard run ``standard`` (a digest too; ``None``: not run) and its status in
    ``--full``.

    Returns
    -------
    list of tuple
        ``(claim id, "paper, place", statement, experiments, quick, standard, full)``; ``quick``
        is e.g. ``"speciation_gm: PASS (4/4)"``; an experiment without a configuration of that
        mode reads "not in quick".
    """
    from diffphase.validation.claims import CLAIMS
    from diffphase.validation.validate import EXPERIMENTS

    rows = []
    for c in CLAIMS.values():
        full = [name for name in c.tested_by if name in EXPERIMENTS]
        text = f"“{c.statement}”" if c.quoted else f"{c.statement} (paraphrase)"
        rows.append((c.id, f"{c.paper.short()}, {c.place}", text, ", ".join(c.tested_by),
                     _measured_cell(c, digest, "quick"), _measured_cell(c, standard, "standard"),
                     ("in the --full plan (" + ", ".join(full) + "); not yet run: no GPU") if full else "—"))
    return rows


class ClaimsTableDirective(SphinxDirective):
    """The claims judged by ``diffphase validate``, with their outcome in the measured quick
    run shipped as ``_static/validation/quick-verdicts.json`` (:func:`claims_rows`)."""

    has_content = False

    def run(self):
        import json

        try:
            digest = json.loads(QUICK_VERDICTS.read_text(encoding="utf-8"))
            standard = None
            if STANDARD_RESULTS.is_file():
                from diffphase.validation.engine.report import digest as make_digest

                standard = make_digest(json.loads(STANDARD_RESULTS.read_text(encoding="utf-8")))
            rows = claims_rows(digest, standard)
        except Exception as exc:
            raise self.error(f"claims-table: {type(exc).__name__}: {exc}") from exc
        self.env.note_dependency(str(QUICK_VERDICTS))
        self.env.note_dependency(str(STANDARD_RESULTS))
        _note_sources(self.env, ("diffphase.validation.claims",))
        head = digest.get("header", {})
        caption = (f"Quick run of {head.get('started', '?')}, commit {head.get('commit', '?')[:12]}, "
                   f"{head.get('cpus', '?')} CPU cores, torch {head.get('torch', '?')}: "
                   f"{'PASS' if digest.get('passed') else 'FAIL'}, {digest.get('seconds', 0):.0f} s wall.")
        header = ("claim", "paper, place", "statement", "tested by", "quick (measured)", "standard (measured)", "full")
        table, tbody = _table("claims-table", header, (12, 14, 26, 12, 14, 14, 8))
        for row in rows:
            tbody += ConventionsTableDirective._row([nodes.paragraph(c, c) for c in row])
        return [nodes.paragraph(caption, caption), table]


#: The report of the measured ``diffphase validate --standard`` run, shipped with the docs.
STANDARD_RESULTS = Path(__file__).resolve().parent.parent / "_static" / "validation" / "standard" / "results.json"


def _fmt_number(x) -> str:
    if x is None:
        return "—"
    x = float(x)
    return "NaN" if x != x else f"{x:.4g}"


def standard_rows(results: dict) -> tuple[list[tuple], list[tuple]]:
    """Rows of the "Measured results" page from a ``results.json`` of ``diffphase validate``.

    Returns
    -------
    (experiments, verdicts) : two lists of tuples
        ``experiments``: ``(name, status, judged pass / judged, wall minutes, CPU minutes,
        commit)`` per experiment; ``verdicts``: ``(experiment, verdict, kind, measured ± s.e.,
        predicted, rule, outcome)`` per verdict, in the report's order.
    """
    from diffphase.validation.engine.verdicts import Verdict

    exps, rows = [], []
    for e in results.get("experiments", []):
        vs = [Verdict.from_dict(v) for v in e.get("verdicts", [])]
        judged = [v for v in vs if v.judged]
        npass = sum(v.outcome == "PASS" for v in judged)
        exps.append((e["name"], e.get("status", "done"), f"{npass}/{len(judged)}",
                     f"{e.get('seconds', 0.0) / 60:.1f}", f"{e.get('cpu_seconds', 0.0) / 60:.1f}",
                     (e.get("commit") or "?")[:12]))
        for v in vs:
            se = "" if v.stderr is None else f" ± {_fmt_number(v.stderr)}"
            rows.append((e["name"], v.name, v.kind, _fmt_number(v.measured) + se, _fmt_number(v.predicted),
                         v.tolerance_text(), v.outcome))
    return exps, rows


class StandardResultsDirective(SphinxDirective):
    """The measured ``--standard`` run shipped as ``_static/validation/standard/results.json``:
    its machine and commit, the wall and CPU time of each experiment, every verdict
    (:func:`standard_rows`)."""

    has_content = False

    def run(self):
        import json

        try:
            results = json.loads(STANDARD_RESULTS.read_text(encoding="utf-8"))
            exps, rows = standard_rows(results)
        except Exception as exc:
            raise self.error(f"standard-results: {type(exc).__name__}: {exc}") from exc
        self.env.note_dependency(str(STANDARD_RESULTS))
        head = results.get("header", {})
        wall = sum(e.get("seconds", 0.0) for e in results.get("experiments", []))
        cpu = sum(e.get("cpu_seconds", 0.0) for e in results.get("experiments", []))
        caption = (f"diffphase validate --standard, started {head.get('started', '?')}, report assembled at commit "
                   f"{head.get('commit', '?')[:12]}; machine: {head.get('cpus', '?')} CPU cores"
                   + (f" ({head['cpu']}, torch kernels {head.get('cpu_kernels', '?')})" if head.get("cpu") else "")
                   + f", {head.get('platform', '?')}, Python {head.get('python', '?')}, torch {head.get('torch', '?')} "
                   f"on {head.get('device', '?')}, one torch thread per process. Sum over experiments: "
                   f"{wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU.")
        from diffphase.validation.engine.report import REUSED

        if head.get(REUSED):
            caption += (" Reused from an earlier run into the same report folder (its commit in the table): "
                        f"{head[REUSED]}.")
        t1, b1 = _table("standard-experiments", ("experiment", "status", "judged pass", "wall (min)", "CPU (min)",
                                                 "commit"), (22, 10, 12, 10, 10, 14))
        for row in exps:
            b1 += ConventionsTableDirective._row([nodes.paragraph(c, c) for c in row])
        t2, b2 = _table("standard-verdicts", ("experiment", "verdict", "kind", "measured", "predicted", "rule",
                                              "outcome"), (12, 36, 10, 12, 8, 12, 10))
        for row in rows:
            b2 += ConventionsTableDirective._row([nodes.paragraph(c, c) for c in row])
        return [nodes.paragraph(caption, caption), t1, t2]


# --------------------------------------------------------------------------------------
# module docstrings: underlined headings -> rubrics
# --------------------------------------------------------------------------------------
_UNDERLINE = re.compile(r"^\s*([-=~^\"'`#*+])\1{2,}\s*$")


def headings_to_rubrics(lines: list[str]) -> list[str]:
    """Replace ``Title`` over a line of ``-``/``=``/``~``... by ``.. rubric:: Title``.

    A heading is a non-blank line preceded by a blank line (or the start) and followed by an
    underline at least as long as the title.
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        prev_blank = not out or not out[-1].strip()
        if (line.strip() and prev_blank and _UNDERLINE.match(nxt)
                and len(nxt.strip()) >= len(line.strip()) and not line.startswith(" ")):
            out += [f".. rubric:: {line.strip()}", ""]
            i += 2
            continue
        out.append(line)
        i += 1
    return out


def _process_module_docstring(app, what, name, obj, options, lines):
    if what == "module":
        lines[:] = headings_to_rubrics(lines)


# --------------------------------------------------------------------------------------
# MathJax, offline
# --------------------------------------------------------------------------------------
def mathjax_source() -> Path:
    """Folder of the vendored MathJax 3 files (holding ``tex-chtml.js``)."""
    for dist, folder in MATHJAX_SOURCES:
        try:
            path = Path(importlib.metadata.distribution(dist).locate_file(folder))
        except importlib.metadata.PackageNotFoundError:
            continue
        if (path / "tex-chtml.js").is_file():
            return path
    names = ", ".join(d for d, _ in MATHJAX_SOURCES)
    raise ExtensionError(
        f"MathJax 3 files not found (looked in the distributions: {names}); "
        "install the docs dependencies: pip install -e '.[docs]'"
    )


def copy_mathjax(outdir: Path) -> Path:
    """Copy :data:`MATHJAX_PARTS` to ``outdir/_static/mathjax``; returns that folder."""
    src = mathjax_source()
    dest = Path(outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        s, d = src / part, dest / part
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        elif s.is_file():
            d.parent.mkdir(parents=True, exist_ok=True)
            if not d.exists() or d.stat().st_size != s.stat().st_size:
                shutil.copy2(s, d)
    return dest


def _config_inited(app, config):
    mathjax_source()  # fail early with a clear message when the package is missing
    config.mathjax_path = MATHJAX_ENTRY


def _build_finished(app, exc):
    if exc is None and app.builder.format == "html":
        copy_mathjax(Path(app.outdir))


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")  # for autodoc-process-docstring
    app.setup_extension("sphinx.ext.mathjax")
    app.add_directive("derivation", DerivationDirective)
    app.add_directive("conventions-table", ConventionsTableDirective)
    app.add_directive("validate-plan", ValidatePlanDirective)
    app.add_directive("claims-table", ClaimsTableDirective)
    app.add_directive("standard-results", StandardResultsDirective)
    app.connect("autodoc-process-docstring", _process_module_docstring, priority=400)
    app.connect("config-inited", _config_inited)
    app.connect("build-finished", _build_finished)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
