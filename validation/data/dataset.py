"""The :class:`Dataset` every loader returns: data, labels and the normalization applied."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch

from diffphase.numerics.checks import check_int, check_real

__all__ = ["Dataset", "unnormalized_dataset"]


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

    def folds(self, k: int = 5, seed: int = 0) -> list[tuple["Dataset", "Dataset"]]:
        r"""``k`` disjoint validation folds for cross-validation, stratified by class.

        Each class's rows are permuted (``seed``) and dealt round-robin into ``k`` folds, so
        every fold holds :math:`\lfloor n_c/k\rfloor` or :math:`\lceil n_c/k\rceil` rows of
        class :math:`c`; fold :math:`j` is validated on and the other ``k - 1`` train.

        Parameters
        ----------
        k : int
            Number of folds, ``2 <= k <= n``.
        seed : int
            Seed of the permutation (>= 0).

        Returns
        -------
        list of (train, validation) Dataset pairs
            ``k`` pairs; the validation sets partition the dataset.
        """
        n = len(self)
        k = check_int("k", k, minimum=2)
        if k > n:
            raise ValueError(f"k must be at most the number of points n = {n}, got {k}")
        seed = check_int("seed", seed, minimum=0)
        rng = np.random.default_rng(seed)
        lab = np.zeros(n, dtype=np.int64) if self.labels is None else self.labels.numpy()
        fold = np.empty(n, dtype=np.int64)
        offset = 0
        for c in np.unique(lab):
            g = rng.permutation(np.flatnonzero(lab == c))
            fold[g] = (offset + np.arange(g.size)) % k  # continue the deal where the last class stopped
            offset += g.size
        return [(self.subset(np.flatnonzero(fold != j)), self.subset(np.flatnonzero(fold == j))) for j in range(k)]

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


def unnormalized_dataset(x: np.ndarray, labels, name: str, meta: dict) -> Dataset:
    """A :class:`Dataset` of raw coordinates (``mean = 0``, ``scale = 1``): float32 data
    ``(n, d)``, int64 labels or None."""
    d = x.shape[1]
    return Dataset(
        data=torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        labels=None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64)),
        mean=torch.zeros(d, dtype=torch.float32),
        scale=torch.ones(d, dtype=torch.float32),
        image_shape=None, name=name, meta=meta,
    )
