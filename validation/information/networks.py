"""The Gaussian classes of a configuration and the class-conditional networks of
``class_information`` and ``negative_guidance`` (:mod:`diffphase.validation.information`,
:mod:`diffphase.validation.guidance`): trained, or loaded from the cache."""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics.gaussian_mixture import GaussianMixture

__all__ = ["mixture_classes", "train_class_conditional", "train_digits_conditional"]


def mixture_classes(mixture: dict) -> GaussianMixture:
    r"""The :class:`~diffphase.numerics.gaussian_mixture.GaussianMixture` of a configuration's
    ``mixture`` block.

    Means: ``means`` (K rows of at most ``d`` coordinates, padded with zeros) when given,
    else ``K`` points on a circle of radius ``radius`` in the first two of ``d`` coordinates
    (class :math:`k` at angle :math:`2\pi k/K`); class standard deviations ``sigmas`` and
    weights ``weights`` (uniform when absent).

    Raises
    ------
    ValueError
        If ``d < 2`` or ``K < 2``, or ``means`` does not have ``K`` rows of at most ``d``
        coordinates.
    """
    K, d = int(mixture["K"]), int(mixture["d"])
    if d < 2 or K < 2:
        raise ValueError(f"mixture needs d >= 2 and K >= 2, got d={d}, K={K}")
    means = np.zeros((K, d))
    if mixture.get("means") is not None:
        m = np.asarray(mixture["means"], dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != K or m.shape[1] > d:
            raise ValueError(f"mixture means must have K={K} rows of at most d={d} coordinates, got shape {m.shape}")
        means[:, :m.shape[1]] = m
    else:
        R = float(mixture["radius"])
        ang = 2 * math.pi * np.arange(K) / K
        means[:, 0], means[:, 1] = R * np.cos(ang), R * np.sin(ang)
    sig = np.asarray(mixture["sigmas"], dtype=np.float64)
    return GaussianMixture(means, sig**2, mixture.get("weights"))


def train_class_conditional(gc: GaussianMixture, n_train: int, train: dict, seed: int, device, cache_dir,
                            progress: bool, desc: str):
    """Train (or load from the cache) the class-conditional denoiser of a mixture; returns
    ``(ClassConditional, history)``."""
    from ..data import gaussian_mixture
    from ..models import ClassConditional
    from ..train import TrainConfig, train as train_fn

    ds = gaussian_mixture(n_train, gc.means, np.sqrt(gc.variances), gc.weights, seed=seed)
    kw = dict(train)
    kw["model_kwargs"] = dict(kw.get("model_kwargs", {}), num_classes=gc.K)
    cfg = TrainConfig(**{**kw, "seed": int(seed)})
    model, hist = train_fn(cfg, ds, device=device, cache_dir=cache_dir, progress=progress, desc=desc)
    return ClassConditional(model, device=device), hist



def train_digits_conditional(train: dict, seed: int, device, cache_dir, progress: bool):
    """The class-conditional MLP denoiser of scikit-learn digits (normalized to [-1, 1], ten
    classes), trained or loaded from the cache; returns ``(ClassConditional, history, data)``."""
    from ..data import digits
    from ..models import ClassConditional
    from ..train import TrainConfig, train as train_fn

    ds = digits()
    kw = dict(train)
    kw["model_kwargs"] = dict(kw.get("model_kwargs", {}), num_classes=ds.num_classes)
    cfg = TrainConfig(**{**kw, "seed": int(seed)})
    model, hist = train_fn(cfg, ds, device=device, cache_dir=cache_dir, progress=progress,
                           desc="class-conditional digits")
    return ClassConditional(model, device=device), hist, ds

