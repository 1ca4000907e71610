r"""The loss callbacks of the denoisers, for the engine's loop: noise prediction on real data
(:func:`gaussian_loss`) and the discrete masking / uniform objectives (:func:`discrete_loss`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from diffphase.numerics.conventions import DiscreteSchedule
from diffphase.numerics.process import discrete_noise, noise

from ..data import Dataset
from .config import TrainConfig, sample_times

__all__ = ["gaussian_loss", "discrete_loss", "as_dataset", "as_token_dataset"]


def as_dataset(data, discrete: bool = False) -> Dataset:
    """``data`` as a :class:`~diffphase.validation.data.Dataset`: a Dataset as is, a float array
    ``(n, d)`` wrapped unnormalized, integer tokens for the discrete objectives
    (:func:`as_token_dataset`)."""
    if discrete:
        return as_token_dataset(data)
    if isinstance(data, Dataset):
        return data
    x = torch.as_tensor(np.asarray(data) if not isinstance(data, torch.Tensor) else data).float()
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"data must be a Dataset or an array of shape (n, d), got shape {tuple(x.shape)}")
    d = x.shape[1]
    return Dataset(x.contiguous(), None, torch.zeros(d), torch.ones(d), None, "array")


def as_token_dataset(data) -> Dataset:
    """Integer tokens ``(n, d)`` as a :class:`Dataset` with int64 ``data`` (discrete objectives)."""
    if isinstance(data, Dataset):
        x = data.data
    else:
        x = torch.as_tensor(np.asarray(data) if not isinstance(data, torch.Tensor) else data)
    if x.is_floating_point() or x.is_complex() or x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"data of a discrete objective must be integer tokens of shape (n, d), got "
                         f"{x.dtype} of shape {tuple(x.shape)}")
    if x.min() < 0:
        raise ValueError("data of a discrete objective must be tokens >= 0")
    if isinstance(data, Dataset):
        return data if data.data.dtype == torch.int64 else dataclasses.replace(data, data=x.long())
    d = x.shape[1]
    return Dataset(x.long().contiguous(), None, torch.zeros(d), torch.ones(d), None, "tokens")


def _discrete_loss(model: nn.Module, x0: torch.Tensor, t: torch.Tensor, gen: torch.Generator, objective: str,
                   vocab: int, device: torch.device) -> torch.Tensor:
    """Cross-entropy of the clean tokens ``x0`` (B, d) after noising at OU times ``t`` (see the
    module docstring; the draws come from the CPU generator ``gen``)."""
    eps = -torch.expm1(-2.0 * t)  # noise level 1 - e^{-2t} (conventions.noise_level)
    xt = discrete_noise(x0.cpu(), eps, kind=objective, vocab=vocab, generator=gen)
    weight = (xt == vocab).float() if objective == "masking" else torch.ones(x0.shape)
    logits = model(xt.to(device), t.float().to(device))
    ce = nn.functional.cross_entropy(logits.float().reshape(-1, vocab), x0.reshape(-1), reduction="none")
    weight = weight.to(device).reshape(-1)
    return (ce * weight).sum() / weight.sum().clamp_min(1.0)


def gaussian_loss(x_all: torch.Tensor, config: TrainConfig, device: torch.device, n_classes: int = 0,
                  y_all: torch.Tensor | None = None, schedule: DiscreteSchedule | None = None):
    r"""The loss callback of noise prediction (:func:`~diffphase.validation.engine.loop.fit`):
    :math:`\tfrac1d|\hat\varepsilon_\theta(x_t,t[,y]) - z|^2` with
    :math:`x_t = e^{-t}x_0 + \sqrt{\Delta_t}z`, times from :func:`sample_times`, and, for a
    class-conditional network, each label replaced by the null label ``n_classes`` with
    probability ``config.label_dropout``. Draws, in order: times, noise, label dropout."""

    def loss(model, idx, gen):
        t = sample_times(config.batch_size, config, gen, schedule)
        z = torch.randn((config.batch_size,) + tuple(x_all.shape[1:]), generator=gen).to(device)
        rows = idx.to(device)
        xt = noise(x_all[rows], t, z)
        if n_classes:  # labels, a fraction label_dropout replaced by the null label
            drop = torch.rand(config.batch_size, generator=gen) < config.label_dropout
            y = torch.where(drop.to(device), torch.full_like(y_all[:1], n_classes), y_all[rows])
            pred = model(xt, t.float().to(device), y)
        else:
            pred = model(xt, t.float().to(device))
        return torch.mean((pred.float() - z) ** 2)

    return loss


def discrete_loss(x_all: torch.Tensor, config: TrainConfig, vocab: int, device: torch.device,
                  schedule: DiscreteSchedule | None = None):
    """The loss callback of the discrete objectives (``"masking"``, ``"uniform"``; see the module
    docstring): cross-entropy of the clean tokens after noising at OU times from
    :func:`sample_times`."""

    def loss(model, idx, gen):
        t = sample_times(config.batch_size, config, gen, schedule)
        return _discrete_loss(model, x_all[idx.to(device)], t, gen, config.objective, vocab, device)

    return loss
