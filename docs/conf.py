"""Sphinx configuration of the diffphase documentation.

Build (offline, warnings as errors), from the repository root:

    sphinx-build -W --keep-going -b html docs docs/_build/html

Nothing is fetched: no intersphinx, MathJax served from the site (see _ext/diffphase_docs.py),
notebooks executed locally with a cache in docs/_build/.jupyter_cache.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # notebooks and the extension never need a display

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "diffphase"
author = "the diffphase developers"
copyright = "2026, the diffphase developers"
try:
    from importlib.metadata import version as _version

    release = _version("diffphase")
except Exception:  # pragma: no cover - docs built from a tree that is not installed
    release = "unknown"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
    "diffphase_docs",
]

# MyST pages and MyST-Markdown notebooks (stored without outputs).
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

exclude_patterns = ["_build", "README.md", "**/.ipynb_checkpoints", ".jupyter_cache"]
templates_path: list[str] = []

# Notebooks: executed at build time, cached by the hash of their code cells; a cell error or a
# cell running over 120 s fails the build (tests/test_docs.py checks each whole notebook < 120 s).
nb_execution_mode = "cache"
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_execution_timeout = 120
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_render_markdown_format = "myst"  # text/markdown outputs (Derivation._repr_markdown_) with math

# API reference: autodoc + numpydoc.
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
autoclass_content = "class"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# Math: MathJax 3 from _static/mathjax (set by diffphase_docs; no CDN).
mathjax3_config = {"tex": {"macros": {}}, "options": {"enableMenu": True}}

html_theme = "alabaster"
html_title = f"diffphase {release}"
html_static_path = ["_static"]
html_css_files = ["diffphase.css"]
html_theme_options = {
    "description": "Statistical physics of generative diffusion",
    "fixed_sidebar": False,
    "page_width": "1200px",
    "sidebar_width": "240px",
    "show_powered_by": False,  # no external link in the footer
}
html_show_sphinx = False
html_show_sourcelink = False
suppress_warnings: list[str] = []
