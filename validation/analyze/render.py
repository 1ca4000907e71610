"""The report of ``diffphase analyze``: Markdown and HTML texts of a portrait, and the atomic
write of the report folder (:data:`FILES`: everything is made first, written into a temporary
folder beside the target and moved in one by one with ``os.replace``).
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
from pathlib import Path


from diffphase.numerics import portrait as pt

from ..engine.io import atomic_write_text, save_figure, write_json
from .figures import regimes_figure, spectrum_figure

__all__ = ["FILES", "render_markdown", "render_html", "write_report"]

#: The files of a report folder.
FILES = ("report.md", "report.html", "portrait.json", "regimes.png", "spectrum.png")


_CONVENTION = ("Times are OU times t (x_t = e^{-t} x_0 + √Δ_t z, Δ_t = 1 − e^{−2t}); the DDPM step is the "
               f"nearest step k of the linear-β schedule (T = {pt.SCHEDULE.T}, β from 1e-4 to 2e-2), "
               "t_k = −½ log ᾱ_k; the variance-exploding noise level is σ = √(e^{2t} − 1).")

_READING = (
    "Above t_S (and above a class pair's time) the noised data carries no trace of that split; in the backward "
    "dynamics the split is decided around it (speciation, Biroli et al., arXiv 2402.18491). Below t_C(n) a "
    "model that learned the empirical score exactly collapses onto its training points (memorization); "
    "between the two it generalizes. The information window is where the labelled empirical measure loses "
    "its class uncertainty fastest."
)


def render_markdown(p: pt.Portrait, meta: dict) -> str:
    """``report.md``: data, scale, settings, the figures and the portrait's tables and notes."""
    lines = [f"# Phase portrait: {meta['name']}", "",
             f"Data: {meta['description']}; n = {p.n}, d = {p.d}"
             + (f", {len(p.classes)} classes" if p.labelled else "") + ".", "",
             f"Scale: {p.scale}.", "",
             f"Settings: {p.n_samples} Monte Carlo queries per size, {len(p.sizes)} nested sizes, seed {p.seed}; "
             f"computed in {meta['seconds']:.1f} s by diffphase {meta['version']}.", "",
             _CONVENTION, "", _READING, "",
             "![Regimes diagram](regimes.png)", "", "![Spectrum and speciation times](spectrum.png)", "",
             p.to_markdown(header=False)]
    return "\n".join(lines) + "\n"


def render_html(p: pt.Portrait, meta: dict) -> str:
    """``report.html``: a standalone page with the same content as :func:`render_markdown`."""
    e = html.escape
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}"
             "table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #ccc;padding:.2em .5em;"
             "text-align:left}th{background:#f3f3f3}img{max-width:100%}")
    body = [f"<h1>Phase portrait: {e(meta['name'])}</h1>",
            f"<p>Data: {e(meta['description'])}; n = {p.n}, d = {p.d}"
            + (f", {len(p.classes)} classes" if p.labelled else "") + ".</p>",
            f"<p>Scale: {e(p.scale)}.</p>",
            f"<p>Settings: {p.n_samples} Monte Carlo queries per size, {len(p.sizes)} nested sizes, seed {p.seed}; "
            f"computed in {meta['seconds']:.1f} s by diffphase {e(meta['version'])}.</p>",
            f"<p>{e(_CONVENTION)}</p>", f"<p>{e(_READING)}</p>",
            '<p><img src="regimes.png" alt="Regimes diagram"></p>',
            '<p><img src="spectrum.png" alt="Spectrum and speciation times"></p>',
            p._repr_html_()]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Phase portrait: {e(meta['name'])}</title><style>{style}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_report(p: pt.Portrait, out, meta: dict) -> dict:
    """Write :data:`FILES` into the folder ``out``; returns ``{name: path}``.

    Figures and texts are made first, written into a temporary folder beside ``out``, then
    moved in one by one with ``os.replace``; on any error the temporary folder is removed and
    ``out`` is left as it was."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    figs = {"regimes.png": regimes_figure(p, f"Regimes of {meta['name']} (n = {p.n}, d = {p.d})"),
            "spectrum.png": spectrum_figure(p)}
    texts = {"report.md": render_markdown(p, meta), "report.html": render_html(p, meta)}
    payload = {"meta": meta, "portrait": p.to_dict()}
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        for name, fig in figs.items():
            save_figure(fig, tmp / name)
        for name, text in texts.items():
            atomic_write_text(text, tmp / name)
        write_json(payload, tmp / "portrait.json")   # each file with engine.io.FILE_MODE
        out.mkdir(exist_ok=True)
        for name in FILES:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {name: out / name for name in FILES}
