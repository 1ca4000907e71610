"""The documentation: built offline with warnings as errors, derivations rendered from
``derivation()``, no script/style/font/image from the network.

``test_docs_build`` builds the whole site (notebooks rendered without executing them) into a
temporary folder with ``-W --keep-going`` (about 20-30 s on two cores);
``test_docs_build_with_notebooks`` (slow) also executes the theory notebooks with a fresh
cache, as ``sphinx-build`` does by default. Both need the ``docs`` extra
(``pip install -e ".[docs]"``) and are skipped without Sphinx.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="docs extra not installed: pip install -e '.[docs]'")
pytest.importorskip("myst_nb", reason="docs extra not installed: pip install -e '.[docs]'")
pytest.importorskip("numpydoc", reason="docs extra not installed: pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import diffphase_docs  # noqa: E402  (the docs' own Sphinx extension)

#: page -> theory module whose derivation() it renders
DERIVATION_PAGES = {
    "conventions.html": "diffphase.theory.conventions",
    "models/gaussian_mixture.html": "diffphase.theory.gaussian_mixture",
    "models/rhm.html": "diffphase.theory.rhm",
    "models/symmetry.html": "diffphase.theory.symmetry",
    "models/information.html": "diffphase.theory.information",
    "models/hopfield.html": "diffphase.theory.hopfield",
    "models/manifold.html": "diffphase.theory.manifold",
}


def html_encode(text: str) -> str:
    """How docutils' HTML writer escapes text (``&``, ``<``, ``>``, ``"``, ``@``)."""
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("@", "&#64;")):
        text = text.replace(a, b)
    return text


_SMART = {"\u2013": "--", "\u2014": "---", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
          "\u2026": "..."}


def unsmart(text: str) -> str:
    """Undo docutils' SmartQuotes (dashes, curly quotes, ellipsis) for comparisons."""
    for a, b in _SMART.items():
        text = text.replace(a, b)
    return text


def sphinx_build(outdir: Path, *extra: str, srcdir: Path = DOCS) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(srcdir),
           str(outdir / "html"), "-d", str(outdir / "doctrees"), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)


def check_build(proc: subprocess.CompletedProcess) -> None:
    warnings = [ln for ln in proc.stderr.splitlines()
                if re.search(r"(WARNING|ERROR|CRITICAL|UserWarning|Unknown section)\b", ln)
                and "Kernel is running over TCP" not in ln]
    assert proc.returncode == 0 and not warnings, (
        f"sphinx-build failed (exit {proc.returncode}):\n" + "\n".join(warnings) + "\n" + proc.stderr[-4000:])


class _Assets(HTMLParser):
    """Collect every URL a page loads (scripts, stylesheets, images, frames, media)."""

    def __init__(self):
        super().__init__()
        self.loaded: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
            self.loaded.append(a["src"])
        elif tag == "link" and a.get("href") and a.get("rel") not in ("index", "search", "next", "prev"):
            self.loaded.append(a["href"])
        elif tag in ("img", "iframe", "source", "audio", "video", "embed") and a.get("src"):
            self.loaded.append(a["src"])
        elif tag == "object" and a.get("data"):
            self.loaded.append(a["data"])


def is_external(url: str) -> bool:
    return bool(re.match(r"^\s*(https?:)?//", url, re.I))


def check_offline(html_dir: Path) -> None:
    pages = sorted(html_dir.rglob("*.html"))
    assert len(pages) > 10
    mathjax_pages = 0
    for page in pages:
        parser = _Assets()
        text = page.read_text(encoding="utf-8")
        parser.feed(text)
        external = [u for u in parser.loaded if is_external(u)]
        assert not external, f"{page.relative_to(html_dir)} loads {external}"
        assert not re.search(r"@import\s+(url\()?['\"]?(https?:)?//", text), page
        for src in parser.scripts:  # every local script exists in the build
            target = (page.parent / src.split("?")[0]).resolve()
            assert target.is_file(), f"{page.relative_to(html_dir)}: missing {src}"
        mathjax_pages += any(s.split("?")[0].endswith(diffphase_docs.MATHJAX_ENTRY) for s in parser.scripts)
    assert mathjax_pages >= len(DERIVATION_PAGES)
    for css in (html_dir / "_static").glob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css.read_text(encoding="utf-8")), css
        assert not re.search(r"@import\s+['\"]?(https?:)?//", css.read_text(encoding="utf-8")), css
    fonts = html_dir / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert len(list(fonts.glob("*.woff"))) >= 20


def check_derivations(html_dir: Path) -> None:
    for page, module in DERIVATION_PAGES.items():
        text = unsmart((html_dir / page).read_text(encoding="utf-8"))
        _, deriv = diffphase_docs.load_derivation(module)
        assert text.count("derivation-step") == len(deriv), page
        pos = 0
        for step in deriv:  # every step, in order, its sentence then its sympy LaTeX
            i = text.find(unsmart(html_encode(step.text)), pos)
            assert i >= 0, f"{page}: step text missing: {step.text!r}"
            j = text.find(r"\[" + html_encode(step.latex()) + r"\]", i)
            assert j >= 0, f"{page}: LaTeX of step {step.name or step.text!r} missing"
            pos = j
        assert unsmart(html_encode(deriv.title)) in text


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    proc = sphinx_build(out, "-D", "nb_execution_mode=off")
    check_build(proc)
    return out / "html"


def test_docs_build(built_docs):
    """-W build succeeds; derivations rendered from derivation(); nothing loaded from the net."""
    check_derivations(built_docs)
    check_offline(built_docs)
    for page in ("index.html", "getting_started.html", "api/theory.html", "api/numerics.html",
                 "api/validation.html", "notebooks/tour.html", "notebooks/gaussian_mixture.html",
                 "notebooks/rhm.html"):
        assert (built_docs / page).is_file(), page


def test_conventions_table(built_docs):
    """The table on the conventions page carries the computed formulas and numbers."""
    text = unsmart((built_docs / "conventions.html").read_text(encoding="utf-8"))
    assert "conventions-table" in text
    rows = diffphase_docs.conventions_rows(1.0)
    assert len(rows) == 10
    for name, symbol, of_t, t_of, value, code in rows:
        for cell in (unsmart(html_encode(name)), html_encode(of_t), html_encode(t_of), html_encode(value)):
            assert cell in text, cell


def test_api_reference(built_docs):
    """Every public module is documented, with its public functions."""
    theory = (built_docs / "api/theory.html").read_text(encoding="utf-8")
    numerics = (built_docs / "api/numerics.html").read_text(encoding="utf-8")
    validation = (built_docs / "api/validation.html").read_text(encoding="utf-8")
    for anchor, text in [
        ("diffphase.theory.gaussian_mixture.speciation_time", theory),
        ("diffphase.theory.rhm.mean_field_map", theory),
        ("diffphase.theory.derivation.Derivation", theory),
        ("diffphase.numerics.conventions.DiscreteSchedule", numerics),
        ("diffphase.numerics.gaussian_mixture.clone_agreement", numerics),
        ("diffphase.numerics.sde.clone_agreement_simulation", numerics),
        ("diffphase.numerics.empirical.EmpiricalScore", numerics),
        ("diffphase.numerics.rhm.mean_field.critical_noise", numerics),
        ("diffphase.numerics.rhm.bp.belief_propagation", numerics),
        ("diffphase.validation.cli.main", validation),
        ("diffphase.validation.regimes.theory_summary", validation),
    ]:
        assert f'id="{anchor}"' in text, anchor
    # numpydoc turned "Parameters" sections into field lists
    assert "Parameters" in numerics and 'class="field-list' in numerics
    # module docstring headings became rubrics, not lost
    assert "Noise convention" in theory


@pytest.mark.slow
def test_docs_build_with_notebooks(tmp_path):
    """The default build: notebooks executed (fresh cache, 120 s budget each), figures in."""
    proc = sphinx_build(tmp_path, "-D", f"nb_execution_cache_path={tmp_path / 'cache'}")
    check_build(proc)
    html_dir = tmp_path / "html"
    check_derivations(html_dir)
    check_offline(html_dir)
    # solver numbers checked against independent values: t_S = 1/2 log 1025; eps* = 68/93;
    # theta_c = sqrt(sqrt 2 - 1) and t_c = 1/2 log(1 + sqrt 2) (closed forms, 15 and 14 digits);
    # alpha_c = 0.1379 (Amit, Gutfreund & Sompolinsky 1987)
    for page, module, number in [
        ("notebooks/gaussian_mixture.html", "diffphase.theory.gaussian_mixture", "3.466223946"),
        ("notebooks/rhm.html", "diffphase.theory.rhm", "0.731182795699"),
        ("notebooks/symmetry.html", "diffphase.theory.symmetry", "0.44068679350977"),
        ("notebooks/symmetry.html", "diffphase.theory.symmetry", "0.643594252905583"),
        ("notebooks/hopfield.html", "diffphase.theory.hopfield", "0.1379"),
        ("notebooks/information.html", "diffphase.theory.information", None),
        ("notebooks/manifold.html", "diffphase.theory.manifold", None),
    ]:
        text = (html_dir / page).read_text(encoding="utf-8")
        _, deriv = diffphase_docs.load_derivation(module)
        assert html_encode(deriv.steps[-1].latex()) in text, page  # the derivation output
        assert number is None or number in text, page                # a solver number
        assert re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', text), page  # the figure
        ran = re.search(r"notebook ran in ([0-9.]+) s", text)
        assert ran and float(ran.group(1)) < 120.0, (page, ran and ran.group(0))  # the 2-minute budget
    tour = (html_dir / "notebooks/tour.html").read_text(encoding="utf-8")
    assert "t_S" in tour and "wrote" in tour and "eps*" in tour                 # the CLI's output
    assert re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', tour)           # its figure


# --------------------------------------------------------------------------------------
# the extension itself
# --------------------------------------------------------------------------------------
def test_load_derivation_errors():
    with pytest.raises(ValueError, match="no derivation"):
        diffphase_docs.load_derivation("diffphase.theory.derivation")
    with pytest.raises(ImportError):
        diffphase_docs.load_derivation("diffphase.theory.no_such_model")


def test_headings_to_rubrics():
    lines = ["Summary.", "", "Noise convention", "----------------", "text", "",
             "Not a heading", "---", "  indented", "  ----------"]
    out = diffphase_docs.headings_to_rubrics(lines)
    assert out[:5] == ["Summary.", "", ".. rubric:: Noise convention", "", "text"]
    assert "Not a heading" in out and "---" in out          # underline shorter than the title
    assert "  indented" in out and "  ----------" in out    # indented: not a heading


def test_conventions_rows_values():
    import math

    rows = {r[0]: r for r in diffphase_docs.conventions_rows(0.5)}
    assert rows["DDPM cumulative signal fraction"][4] == f"{math.exp(-1.0):.6g}"
    assert rows["signal-to-noise ratio"][4] == f"{1 / math.expm1(1.0):.6g}"
    assert rows["DDPM cumulative signal fraction"][2] == r"e^{- 2 t}"


def test_mathjax_is_vendored():
    """The MathJax entry point and its fonts come from an installed distribution."""
    src = diffphase_docs.mathjax_source()
    assert (src / "tex-chtml.js").is_file()
    assert 'VERSION="3.' in (src / "tex-chtml.js").read_text(encoding="utf-8", errors="replace")  # MathJax 3
    importlib.metadata.distribution("sphinx-mathjax-offline")


def test_bad_derivation_fails_the_build(tmp_path):
    """A derivation directive that cannot render is a warning, hence a failed -W build."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(DOCS / '_ext')!r})\n"
        "extensions = ['sphinx.ext.mathjax', 'diffphase_docs']\n"
    )
    (src / "index.rst").write_text("Test\n====\n\n.. derivation:: diffphase.theory.no_such_model\n")
    proc = sphinx_build(tmp_path, srcdir=src)
    assert proc.returncode != 0
    assert "derivation: cannot render diffphase.theory.no_such_model" in proc.stderr
    (src / "index.rst").write_text("Test\n====\n\n.. derivation:: diffphase.theory.conventions\n")
    proc = sphinx_build(tmp_path / "ok", srcdir=src)
    check_build(proc)
    text = (tmp_path / "ok" / "html" / "index.html").read_text(encoding="utf-8")
    assert "mathjax/tex-chtml.js" in text and (tmp_path / "ok/html/_static/mathjax/tex-chtml.js").is_file()


def _public_modules():
    """Public modules of the three layers, from the source tree (``theory/`` is
    ``diffphase.theory`` etc., see pyproject's package-dir)."""
    for layer in ("theory", "numerics", "validation"):
        for path in sorted((ROOT / layer).rglob("*.py")):
            parts = path.relative_to(ROOT / layer).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if not any(part.startswith("_") for part in parts):
                yield ".".join(("diffphase", layer) + parts)


def test_every_derivation_has_a_page():
    """Each theory module with derivation() is rendered on a page (the docs grow with models)."""
    import importlib

    with_derivation = {name for name in _public_modules() if name.startswith("diffphase.theory.")
                       and callable(getattr(importlib.import_module(name), "derivation", None))}
    assert with_derivation == set(DERIVATION_PAGES.values())
    for page, module in DERIVATION_PAGES.items():
        source = (DOCS / page).with_suffix(".md").read_text(encoding="utf-8")
        assert f"```{{derivation}} {module}\n" in source, page


def test_every_public_module_in_the_api_reference():
    api = "".join(p.read_text(encoding="utf-8") for p in (DOCS / "api").glob("*.rst"))
    missing = [name for name in _public_modules() if f".. automodule:: {name}\n" not in api]
    assert not missing, f"add to docs/api/*.rst: {missing}"


# --------------------------------------------------------------------------------------
# the claims table and the measured quick run shipped with the docs
# --------------------------------------------------------------------------------------
def test_shipped_quick_verdicts_cover_every_quick_claim():
    """The shipped quick-run digest parses, names a clean commit and a quick run, and holds a
    verdict for every registered claim that a quick-mode experiment tests; every verdict in it
    has a kind, a source and an outcome consistent with its pass flag."""
    import json

    from diffphase.validation.claims import CLAIMS, KINDS
    from diffphase.validation.validate import EXPERIMENTS

    digest = json.loads(diffphase_docs.QUICK_VERDICTS.read_text(encoding="utf-8"))
    assert digest["mode"] == "quick"
    assert re.fullmatch(r"[0-9a-f]{40}", digest["header"]["commit"]), digest["header"]["commit"]
    rows = {(e["name"], v["key"]): v for e in digest["experiments"] for v in e["verdicts"]}
    assert rows
    for v in rows.values():
        assert v["kind"] in KINDS and v["source"].strip()
        if v["outcome"] in ("PASS", "AGREES"):
            assert v["passed"]
    claimed = {v["claim"] for v in rows.values() if v["kind"] == "claim"}
    for c in CLAIMS.values():
        if c.not_judged:  # reported only, with the reason in the registry
            assert c.id not in claimed, c.id
        elif any("quick" in EXPERIMENTS[n].modes for n in c.tested_by if n in EXPERIMENTS):
            assert c.id in claimed, c.id
    # the summary agrees with the rows
    judged = [v for v in rows.values() if v["kind"] != "exploratory"]
    assert digest["summary"]["judged"] == len(judged)
    assert digest["summary"]["judged_pass"] == sum(v["outcome"] == "PASS" for v in judged)
    assert digest["passed"] is all(v["outcome"] == "PASS" for v in judged)


def test_claims_table_rows_and_page(built_docs):
    """Every claim has a row with its place and its quick outcome; the validation page shows
    the table (its caption names the run's commit)."""
    import json

    from diffphase.validation.claims import CLAIMS

    digest = json.loads(diffphase_docs.QUICK_VERDICTS.read_text(encoding="utf-8"))
    rows = diffphase_docs.claims_rows(digest)
    assert [r[0] for r in rows] == list(CLAIMS)
    text = (built_docs / "validation.html").read_text(encoding="utf-8")
    assert "claims-table" in text and digest["header"]["commit"][:12] in text
    for cid, paper, statement, tested, quick, standard, full in rows:
        assert cid in text
        assert quick and any(w in quick for w in ("PASS", "FAIL", "INCONCLUSIVE", "not in quick", "not judged"))
        assert standard


def test_every_package_is_installed():
    """Every folder of a layer holding an __init__.py is listed in pyproject's packages (an
    editable install finds it anyway; a wheel would not)."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for layer in ("theory", "numerics", "validation"):
        for init in (ROOT / layer).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).parts
            found.add(".".join(("diffphase",) + rel))
    assert found <= listed, sorted(found - listed)
