r"""Files of the engine, written atomically; the cache root; a lock per training run.

Every file the package writes goes through :func:`atomic_write` (temporary file in the same
folder, ``fsync``, ``os.replace``, folder ``fsync``): a kill at any moment leaves the old file
or the new one, never a partial one. On top of it: text (:func:`atomic_write_text`), torch
objects (:func:`atomic_torch_save`), numpy archives (:func:`atomic_savez`), JSON with numpy
arrays and non-finite numbers (:func:`write_json` / :func:`read_json`) and matplotlib figures
(:func:`save_figure`).

Examples
--------
>>> import math, tempfile
>>> from pathlib import Path
>>> d = Path(tempfile.mkdtemp())
>>> p = write_json({"x": [1.0, math.nan]}, d / "r.json")
>>> read_json(p)["x"][1] != read_json(p)["x"][1]      # NaN survives the round trip
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "cache_root",
    "FILE_MODE",
    "atomic_write",
    "atomic_write_text",
    "atomic_torch_save",
    "atomic_savez",
    "to_jsonable",
    "write_json",
    "read_json",
    "save_figure",
    "RunLock",
]


def cache_root(cache_dir=None) -> Path:
    """The package's cache root (trained models, parsed datasets).

    Parameters
    ----------
    cache_dir : str or Path, optional
        Explicit root; wins over the environment.

    Returns
    -------
    Path
        ``cache_dir`` if given, else ``$DIFFPHASE_CACHE``, else ``~/.cache/diffphase``
        (not created here).
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("DIFFPHASE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "diffphase"


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


#: Mode of the files written by :func:`atomic_write`: ``0o666`` minus the process umask (read
#: once, at import), the mode a plain ``open(path, "w")`` would give; the temporary files of
#: :func:`tempfile.mkstemp` are private (``0o600``) until then.
FILE_MODE = _umask_mode()


def atomic_write(path, write) -> Path:
    """Call ``write(fh)`` on a temporary binary file beside ``path``, then rename it over
    ``path`` (flushed and fsync'ed first; the folder fsync'ed after): a crash at any point
    leaves the previous file or the new one. On error the temporary file is removed and the
    exception re-raised. Parent folders are created; the file gets :data:`FILE_MODE`.

    Parameters
    ----------
    path : str or Path
    write : callable
        ``write(fh)`` writes the content to the open binary file ``fh``.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(text: str, path) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_torch_save(obj, path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (:func:`atomic_write`)."""
    import torch

    return atomic_write(path, lambda fh: torch.save(obj, fh))


def atomic_savez(path, **arrays) -> Path:
    """``numpy.savez`` of ``arrays`` to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda fh: np.savez(fh, **arrays))


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
    """Write ``to_jsonable(obj)`` as indented JSON at ``path`` atomically. Returns the path."""
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

    try:
        return atomic_write(path, lambda fh: fig.savefig(fh, dpi=dpi, format="png"))
    finally:
        plt.close(fig)


class RunLock:
    """Exclusive advisory lock (``fcntl.flock``) on ``<run_dir>/.lock`` while a run trains, so
    that two processes asked for the same configuration train it once (the second then finds
    the finished model). Released by the OS if the process dies; a no-op without ``fcntl``
    (Windows) or without a run folder (``run_dir=None``).

    On acquiring the lock, the temporary files of :func:`atomic_write` (``.<name>.*.tmp``) left
    in ``run_dir`` by a process killed while writing are removed: only the holder of the lock
    writes there."""

    def __init__(self, run_dir: Path | None):
        self.run_dir, self.fh = run_dir, None

    def __enter__(self):
        if self.run_dir is None:
            return self
        try:
            import fcntl
        except ImportError:  # pragma: no cover - non-POSIX
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.run_dir / ".lock", "a+b")
        fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX)
        for stale in self.run_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        return self

    def __exit__(self, *exc):
        if self.fh is not None:
            import fcntl
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None
        return False
