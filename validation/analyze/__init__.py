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

import sys
import time
from pathlib import Path

from diffphase.numerics import portrait as pt

from .figures import regimes_figure, spectrum_figure
from .inputs import DATASETS, AnalysisData, load_analysis_data
from .render import FILES, render_html, render_markdown, write_report

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
