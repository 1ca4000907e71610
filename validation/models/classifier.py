r"""The classifier network of :mod:`diffphase.validation.classifier`: a small CNN or MLP on
normalized data, optionally conditioned on the OU time (a noise-conditioned classifier)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from diffphase.numerics.checks import check_int

from .layers import TimeEmbedding

__all__ = ["Classifier"]


class Classifier(nn.Module):
    r"""A small CNN or MLP mapping normalized data ``(B, d)`` (or images ``(B, C, H, W)``) to
    logits ``(B, num_classes)``.

    Parameters
    ----------
    dim : int
        Data dimension d (>= 1).
    num_classes : int
        Number of classes (>= 2).
    arch : {"cnn", "mlp"}
        Architecture (see :class:`ClassifierConfig`).
    image_shape : tuple of int, optional
        ``(C, H, W)``; required for ``"cnn"``.
    hidden, channels : int
        Widths (see :class:`ClassifierConfig`).
    time_dim : int
        0 (default): a classifier of clean data. ``> 0`` (even): noise-conditioned,
        :math:`p(y\mid x_t, t)`; the :class:`~diffphase.validation.models.TimeEmbedding` of the
        OU time is added to the first head layer, and ``forward`` needs ``t``.
    """

    def __init__(self, dim: int, num_classes: int, arch: str = "cnn", image_shape=None,
                 hidden: int = 128, channels: int = 32, time_dim: int = 0):
        super().__init__()
        dim = check_int("dim", dim, minimum=1)
        num_classes = check_int("num_classes", num_classes, minimum=2)
        if arch not in ("cnn", "mlp"):
            raise ValueError(f"arch must be 'cnn' or 'mlp', got {arch!r}")
        if arch == "cnn" and (image_shape is None or int(np.prod(image_shape)) != dim):
            raise ValueError("arch='cnn' needs image_shape (C, H, W) with C*H*W == dim; use arch='mlp' for vectors")
        self.spec = {"dim": dim, "num_classes": num_classes, "arch": arch,
                     "image_shape": None if image_shape is None else [int(s) for s in image_shape],
                     "hidden": hidden, "channels": channels}
        self.image_shape = None if image_shape is None else tuple(int(s) for s in image_shape)
        self.arch, self.dim = arch, dim
        self.time_dim = check_int("time_dim", time_dim, minimum=0)
        if self.time_dim:
            self.spec["time_dim"] = self.time_dim
            self.embed = TimeEmbedding(self.time_dim, hidden)
        if arch == "cnn":
            c = channels
            self.features = nn.Sequential(
                nn.Conv2d(self.image_shape[0], c, 3, padding=1), nn.SiLU(),
                nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.SiLU(),
                nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1), nn.SiLU(),
                nn.Flatten(),
            )
            C, H, W = self.image_shape
            n_feat = 2 * c * ((H + 3) // 4) * ((W + 3) // 4)
            self.head = nn.Sequential(nn.Linear(n_feat, hidden), nn.SiLU(), nn.Linear(hidden, num_classes))
        else:
            self.features = nn.Identity()
            self.head = nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                      nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor, t=None) -> torch.Tensor:
        """Logits.

        Parameters
        ----------
        x : torch.Tensor, shape (B, d) or (B, C, H, W)
        t : float or torch.Tensor of shape (B,), optional
            OU time(s) > 0 of a noise-conditioned classifier (required then; not accepted
            otherwise).

        Returns
        -------
        torch.Tensor, shape (B, num_classes)
        """
        if self.arch == "cnn":
            if x.ndim == 2:
                x = x.reshape(x.shape[0], *self.image_shape)
        else:
            x = x.reshape(x.shape[0], -1)
        if not self.time_dim:
            if t is not None:
                raise ValueError("t given to a classifier of clean data (time_dim = 0)")
            return self.head(self.features(x))
        if t is None:
            raise ValueError("a noise-conditioned classifier needs the OU time t")
        tt = torch.as_tensor(t, dtype=torch.float32, device=x.device)
        tt = tt.expand(x.shape[0]) if tt.ndim == 0 else tt
        h = self.head[0](self.features(x)) + self.embed(tt)
        return self.head[1:](h)
