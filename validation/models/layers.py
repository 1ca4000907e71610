"""Pieces the denoisers share: the OU-time feature and embedding, time and label broadcasting,
class conditioning and the standard-normal skip term."""

from __future__ import annotations

import math

import torch
from torch import nn

from diffphase.numerics.checks import check_int, check_real

__all__ = ["noise_feature", "TimeEmbedding", "broadcast_times", "class_labels", "label_embedding", "add_label", "gaussian_skip"]


def noise_feature(t: torch.Tensor) -> torch.Tensor:
    r"""The scalar fed to the time embedding: :math:`c(t) = \tfrac12\log(e^{2t}-1)`, the log of
    the variance-exploding noise scale :math:`\sigma_{VE} = \sqrt{e^{2t}-1}` at OU time ``t``.

    It is monotone in ``t``, :math:`\approx \tfrac12\log 2t` for small ``t`` and :math:`\approx t`
    for large ``t``, so both the near-data and the near-noise regimes are resolved. Computed as
    :math:`t + \tfrac12\log(-\mathrm{expm1}(-2t))`, accurate for all ``t > 0``.

    Parameters
    ----------
    t : torch.Tensor
        OU times, > 0 (values are clamped at 1e-12 to avoid ``-inf``).

    Returns
    -------
    torch.Tensor
        :math:`c(t)`, same shape and dtype.
    """
    t = t.clamp_min(1e-12)
    # log(e^{2t} - 1) = 2t + log(1 - e^{-2t}) = 2t + log(-expm1(-2t)), stable for all t > 0
    return 0.5 * (2.0 * t + torch.log(-torch.expm1(-2.0 * t)))


class TimeEmbedding(nn.Module):
    r"""Sinusoidal embedding of OU time followed by a two-layer MLP.

    .. math:: e(t) = \big(\sin(\omega_j c(t)),\ \cos(\omega_j c(t))\big)_{j=1}^{D/2},\qquad
              \omega_j = \omega_{\min}(\omega_{\max}/\omega_{\min})^{(j-1)/(D/2-1)},

    with :math:`c(t)` from :func:`noise_feature`, then ``Linear -> SiLU -> Linear`` to
    ``out_dim``.

    Parameters
    ----------
    dim : int
        Size ``D`` of the sinusoidal features (even, >= 2).
    out_dim : int
        Output size (>= 1).
    min_freq, max_freq : float
        :math:`\omega_{\min} < \omega_{\max}`, both > 0 (defaults 0.1 and 30).
    """

    def __init__(self, dim: int = 64, out_dim: int = 128, min_freq: float = 0.1, max_freq: float = 30.0):
        super().__init__()
        dim = check_int("dim", dim, minimum=2)
        if dim % 2:
            raise ValueError(f"dim must be even, got {dim}")
        out_dim = check_int("out_dim", out_dim, minimum=1)
        min_freq = check_real("min_freq", min_freq, low=0, low_open=True)
        max_freq = check_real("max_freq", max_freq, low=min_freq, low_open=True)
        half = dim // 2
        freqs = torch.exp(torch.linspace(math.log(min_freq), math.log(max_freq), half, dtype=torch.float64))
        self.register_buffer("freqs", freqs.float(), persistent=False)
        self.mlp = nn.Sequential(nn.Linear(dim, out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """Embed OU times.

        Parameters
        ----------
        t : torch.Tensor, shape (B,)
            OU times > 0.

        Returns
        -------
        torch.Tensor, shape (B, out_dim)
        """
        c = noise_feature(t.float())[:, None] * self.freqs[None, :]
        return self.mlp(torch.cat([torch.sin(c), torch.cos(c)], dim=1))


def broadcast_times(t, batch: int, device) -> torch.Tensor:
    """OU times as a (B,) float32 tensor on ``device``: a scalar is repeated, a vector must have
    length ``batch``."""
    t = torch.as_tensor(t, dtype=torch.float32, device=device)
    if t.ndim == 0:
        t = t.expand(batch)
    if t.shape != (batch,):
        raise ValueError(f"t must be a scalar or have shape ({batch},), got {tuple(t.shape)}")
    return t


def class_labels(y, batch: int, num_classes: int, device) -> torch.Tensor:
    """Labels as a (B,) int64 tensor in [0, num_classes] (None: the null label ``num_classes``)."""
    if y is None:
        return torch.full((batch,), num_classes, dtype=torch.int64, device=device)
    yy = torch.as_tensor(y, device=device)
    if yy.is_floating_point():
        raise ValueError("y must hold integer labels")
    yy = yy.long().expand(batch) if yy.ndim == 0 else yy.long()
    if yy.shape != (batch,):
        raise ValueError(f"y must be an int or have shape ({batch},), got shape {tuple(yy.shape)}")
    if torch.any(yy < 0) or torch.any(yy > num_classes):
        raise ValueError(f"y must be in [0, {num_classes}] ({num_classes} = unconditional)")
    return yy


def label_embedding(num_classes: int, width: int):
    r"""The learned label embedding of a class-conditional denoiser: an
    :class:`torch.nn.Embedding` of ``num_classes + 1`` rows (the last one the null label,
    unconditional), or None when ``num_classes = 0``.

    Parameters
    ----------
    num_classes : int
        ``K >= 0``.
    width : int
        Size of the embedding (that of the time embedding), ``>= 1``.
    """
    num_classes = check_int("num_classes", num_classes, minimum=0)
    return nn.Embedding(num_classes + 1, check_int("width", width, minimum=1)) if num_classes else None


def add_label(e: torch.Tensor, label, y, num_classes: int) -> torch.Tensor:
    r"""Class conditioning: :math:`e = e(t) + E_y` with ``label`` from :func:`label_embedding`
    (``y=None``: the null label ``K``). An unconditional network (``label`` None) returns ``e``
    and refuses labels with a ``ValueError``."""
    if label is not None:
        return e + label(class_labels(y, e.shape[0], num_classes, e.device))
    if y is not None:
        raise ValueError("y given to an unconditional network (num_classes = 0)")
    return e


def gaussian_skip(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    r"""The noise prediction of standard-normal data, :math:`\mathbb E[z\mid x_t] =
    \sqrt{\Delta_t}\,x_t` with :math:`\Delta_t = 1-e^{-2t}` (OU time), for ``x`` of shape
    ``(B, ...)`` and ``t`` of shape ``(B,)``: the term a denoiser with ``skip=True`` learns a
    correction to.

    Examples
    --------
    >>> x = torch.ones(2, 3)
    >>> gaussian_skip(x, torch.tensor([0.5, 2.0]))[:, 0].tolist() == torch.sqrt(-torch.expm1(
    ...     -2 * torch.tensor([0.5, 2.0]))).tolist()
    True
    """
    scale = torch.sqrt(-torch.expm1(-2.0 * t.to(x.dtype)))
    return scale.reshape(-1, *([1] * (x.ndim - 1))) * x
