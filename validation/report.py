"""Figures and report files, written atomically.

The one place where validation code writes a figure: :func:`save_figure` writes to a
temporary file beside the target and renames it, so an interrupted run never leaves a
half-written PNG. (Tables, verdicts and the ``diffphase validate`` report will live here
too.)
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["save_figure"]


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
