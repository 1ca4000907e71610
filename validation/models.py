r"""Denoisers and the adapter that turns a trained denoiser into a score in OU time.

Both networks predict the noise :math:`\hat\varepsilon(x_t, t)` of the forward process

.. math:: x_t = e^{-t}x_0 + \sqrt{\Delta_t}\,z,\qquad \Delta_t = 1-e^{-2t},

with ``t`` the package's Ornstein--Uhlenbeck time (:mod:`diffphase.numerics.conventions`). By
Tweedie's formula the score of the noised density is

.. math:: \nabla_x\log P_t(x) = -\,\mathbb E[z\mid x_t = x]/\sqrt{\Delta_t}
          \approx -\hat\varepsilon(x, t)/\sqrt{\Delta_t},

which :func:`score_function` returns as a plain callable ``score(x, t)``, so the samplers of
:mod:`diffphase.numerics.sde` run a trained model exactly as they run an exact score.

Networks
    :class:`MLPDenoiser` for vectors ``(B, d)``; :class:`UNetDenoiser` for single-channel
    images (8×8, 28×28, any size divisible by ``2**(levels-1)``) given as ``(B, C*H*W)`` or
    ``(B, C, H, W)``. Both are conditioned on ``t`` through :class:`TimeEmbedding`.
    :class:`TreeDenoiser` is the discrete counterpart for token sequences on a tree (the
    Random Hierarchy Model): it predicts the clean-token distribution, not a noise, and is
    trained by the discrete objectives of :mod:`diffphase.validation.train`.
:func:`build_model`
    Rebuilds a network from its ``spec`` dictionary (stored in every checkpoint).
"""

from __future__ import annotations

import math
import threading
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from diffphase.numerics._checks import check_int, check_real, check_times

__all__ = [
    "TimeEmbedding",
    "MLPDenoiser",
    "UNetDenoiser",
    "TreeDenoiser",
    "build_model",
    "score_function",
    "ClassConditional",
    "noise_feature",
    "denoiser_flops",
]


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


def _broadcast_t(t, batch: int, device) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=torch.float32, device=device)
    if t.ndim == 0:
        t = t.expand(batch)
    if t.shape != (batch,):
        raise ValueError(f"t must be a scalar or have shape ({batch},), got {tuple(t.shape)}")
    return t


def _labels(y, batch: int, num_classes: int, device) -> torch.Tensor:
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


class _ResMLPBlock(nn.Module):
    def __init__(self, hidden: int, emb: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, hidden)
        self.temb = nn.Linear(emb, hidden)
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, h, e):
        u = self.fc1(F.silu(self.norm(h))) + self.temb(e)
        return h + self.fc2(F.silu(u))


class MLPDenoiser(nn.Module):
    r"""Residual MLP predicting the noise :math:`\hat\varepsilon(x_t, t)` of vector data.

    ``x -> Linear(d, H)``, then ``depth`` residual blocks
    :math:`h \leftarrow h + W_2\,\mathrm{SiLU}(W_1\mathrm{SiLU}(\mathrm{LN}(h)) + A\,e(t))`,
    then ``LayerNorm -> SiLU -> Linear(H, d)``; :math:`e(t)` is the :class:`TimeEmbedding` of
    the OU time ``t``. With ``skip=True`` (default) the network learns a correction to the
    noise prediction of a standard-normal data distribution,

    .. math:: \hat\varepsilon(x_t, t) = \sqrt{\Delta_t}\,x_t + F_\theta(x_t, t),
       \qquad \Delta_t = 1 - e^{-2t},

    (:math:`\mathbb E[z\mid x_t] = \sqrt{\Delta_t}\,x_t` when :math:`x_0\sim\mathcal N(0, I)`),
    so that the linear response to every input direction is right from the start. Without it
    the LayerNorm'd network can neglect a single direction of large amplitude: trained on the
    d = 128 two-class mixture (2000 steps), the response of the score along the mean
    direction was a constant -0.076 at every t instead of -1 at large t, and the model
    speciated far too early.

    Parameters
    ----------
    dim : int
        Data dimension ``d >= 1``.
    hidden : int
        Width ``H >= 1`` (default 128).
    depth : int
        Number of residual blocks, ``>= 1`` (default 3).
    time_dim : int
        Size of the sinusoidal time features (even, default 64).
    skip : bool
        Add the standard-normal prediction :math:`\sqrt{\Delta_t}\,x_t` (default True).
    num_classes : int
        ``K >= 0``. With ``K > 0`` the network is class-conditional: a learned embedding of the
        label :math:`y\in\{0,\dots,K-1\}`, or of the null label ``K`` (unconditional), is added
        to the time embedding, :math:`e = e(t) + E_y`; trained with label dropout
        (:attr:`~diffphase.validation.train.TrainConfig.label_dropout`) the same network
        predicts :math:`\hat\varepsilon(x_t,t\mid y)` and :math:`\hat\varepsilon(x_t,t)`
        (see :class:`ClassConditional`). Default 0 (unconditional; not in the ``spec``).
    """

    def __init__(self, dim: int, hidden: int = 128, depth: int = 3, time_dim: int = 64, skip: bool = True,
                 num_classes: int = 0):
        super().__init__()
        if not isinstance(skip, bool):
            raise ValueError(f"skip must be True or False, got {skip!r}")
        self.spec = {"name": "mlp", "dim": check_int("dim", dim, minimum=1),
                     "hidden": check_int("hidden", hidden, minimum=1),
                     "depth": check_int("depth", depth, minimum=1),
                     "time_dim": check_int("time_dim", time_dim, minimum=2), "skip": skip}
        self.num_classes = check_int("num_classes", num_classes, minimum=0)
        if self.num_classes:
            self.spec["num_classes"] = self.num_classes
            self.label = nn.Embedding(self.num_classes + 1, hidden)
        self.dim = dim
        self.skip = skip
        self.embed = TimeEmbedding(time_dim, hidden)
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(_ResMLPBlock(hidden, hidden) for _ in range(depth))
        self.out_norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, t, y=None) -> torch.Tensor:
        """Predicted noise :math:`\\hat\\varepsilon(x, t)` (or :math:`\\hat\\varepsilon(x, t\\mid y)`).

        Parameters
        ----------
        x : torch.Tensor, shape (B, d)
            Noised data :math:`x_t`.
        t : float or torch.Tensor of shape (B,)
            OU time(s) > 0.
        y : int or torch.Tensor of shape (B,), optional
            Labels in ``[0, num_classes]`` (``num_classes``: unconditional) of a
            class-conditional network; default unconditional. Not accepted by an
            unconditional network.

        Returns
        -------
        torch.Tensor, shape (B, d)
        """
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (B, {self.dim}), got {tuple(x.shape)}")
        tt = _broadcast_t(t, x.shape[0], x.device)
        e = self.embed(tt)
        if self.num_classes:
            e = e + self.label(_labels(y, x.shape[0], self.num_classes, x.device))
        elif y is not None:
            raise ValueError("y given to an unconditional network (num_classes = 0)")
        h = self.inp(x)
        for blk in self.blocks:
            h = blk(h, e)
        out = self.out(F.silu(self.out_norm(h)))
        if self.skip:
            out = out + torch.sqrt(-torch.expm1(-2.0 * tt.to(x.dtype)))[:, None] * x
        return out


def _groups(ch: int) -> int:
    for g in (8, 4, 2, 1):
        if ch % g == 0:
            return g
    return 1


class _ResConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb: int):
        super().__init__()
        self.n1 = nn.GroupNorm(_groups(cin), cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(emb, cout)
        self.n2 = nn.GroupNorm(_groups(cout), cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, h, e):
        u = self.c1(F.silu(self.n1(h))) + self.temb(e)[:, :, None, None]
        u = self.c2(F.silu(self.n2(u)))
        return self.skip(h) + u


class UNetDenoiser(nn.Module):
    r"""Small U-Net predicting the noise :math:`\hat\varepsilon(x_t, t)` of images.

    Levels ``l = 0..L-1`` with ``channels * channel_mult[l]`` channels; each level has
    ``blocks`` residual conv blocks (GroupNorm, SiLU, 3×3 conv, additive time embedding) and,
    except the last, a stride-2 conv down; the decoder mirrors it with nearest-neighbour
    upsampling and skip concatenation. Spatial sizes must be divisible by :math:`2^{L-1}`:
    the default two levels suit 8×8 (8→4) and 28×28 (28→14).

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)``, all >= 1.
    channels : int
        Base width (>= 1, default 32).
    channel_mult : sequence of int
        Width multipliers per level (default ``(1, 2)``; length L >= 1).
    blocks : int
        Residual blocks per level (>= 1, default 1).
    time_dim : int
        Size of the sinusoidal time features (even, default 64).

    Notes
    -----
    ``forward`` accepts flattened input ``(B, C*H*W)`` (returned flattened, so the network is
    a drop-in vector denoiser for :func:`score_function`) or ``(B, C, H, W)``.
    """

    def __init__(self, image_shape, channels: int = 32, channel_mult=(1, 2), blocks: int = 1, time_dim: int = 64):
        super().__init__()
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise ValueError(f"image_shape must be (C, H, W) with positive sizes, got {image_shape}")
        channel_mult = tuple(check_int("channel_mult", m, minimum=1) for m in channel_mult)
        if len(channel_mult) < 1:
            raise ValueError("channel_mult must have at least one level")
        C, H, W = image_shape
        factor = 2 ** (len(channel_mult) - 1)
        if H % factor or W % factor:
            raise ValueError(f"image height and width must be divisible by 2**(levels-1) = {factor}, "
                             f"got {H}x{W}; use fewer levels in channel_mult")
        channels = check_int("channels", channels, minimum=1)
        blocks = check_int("blocks", blocks, minimum=1)
        self.spec = {"name": "unet", "image_shape": list(image_shape), "channels": channels,
                     "channel_mult": list(channel_mult), "blocks": blocks,
                     "time_dim": check_int("time_dim", time_dim, minimum=2)}
        self.image_shape = image_shape
        self.dim = C * H * W
        emb = 4 * channels
        self.embed = TimeEmbedding(time_dim, emb)
        self.inp = nn.Conv2d(C, channels, 3, padding=1)
        widths = [channels * m for m in channel_mult]
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips, cin = [channels], channels
        for lvl, w in enumerate(widths):
            level = nn.ModuleList()
            for _ in range(blocks):
                level.append(_ResConvBlock(cin, w, emb))
                cin = w
                skips.append(cin)
            self.down.append(level)
            if lvl < len(widths) - 1:
                self.downsample.append(nn.Conv2d(cin, cin, 3, stride=2, padding=1))
                skips.append(cin)
        self.mid = _ResConvBlock(cin, cin, emb)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for lvl, w in reversed(list(enumerate(widths))):
            level = nn.ModuleList()
            for _ in range(blocks + 1):
                level.append(_ResConvBlock(cin + skips.pop(), w, emb))
                cin = w
            self.up.append(level)
            if lvl > 0:
                self.upsample.append(nn.Conv2d(cin, cin, 3, padding=1))
        self.out_norm = nn.GroupNorm(_groups(cin), cin)
        self.out = nn.Conv2d(cin, C, 3, padding=1)

    def forward(self, x: torch.Tensor, t) -> torch.Tensor:
        """Predicted noise :math:`\\hat\\varepsilon(x, t)`.

        Parameters
        ----------
        x : torch.Tensor, shape (B, C*H*W) or (B, C, H, W)
            Noised images :math:`x_t`.
        t : float or torch.Tensor of shape (B,)
            OU time(s) > 0.

        Returns
        -------
        torch.Tensor
            Same shape as ``x``.
        """
        flat = x.ndim == 2
        if flat:
            if x.shape[1] != self.dim:
                raise ValueError(f"x must have shape (B, {self.dim}) or (B, {', '.join(map(str, self.image_shape))}),"
                                 f" got {tuple(x.shape)}")
            x = x.reshape(x.shape[0], *self.image_shape)
        elif x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"x must have shape (B, {self.dim}) or (B, {', '.join(map(str, self.image_shape))}),"
                             f" got {tuple(x.shape)}")
        e = self.embed(_broadcast_t(t, x.shape[0], x.device))
        h = self.inp(x)
        hs = [h]
        for lvl, level in enumerate(self.down):
            for blk in level:
                h = blk(h, e)
                hs.append(h)
            if lvl < len(self.downsample):
                h = self.downsample[lvl](h)
                hs.append(h)
        h = self.mid(h, e)
        for i, level in enumerate(self.up):
            for blk in level:
                h = blk(torch.cat([h, hs.pop()], dim=1), e)
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, scale_factor=2, mode="nearest"))
        out = self.out(F.silu(self.out_norm(h)))
        return out.reshape(out.shape[0], -1) if flat else out


class _ChannelNorm(nn.Module):
    """LayerNorm over the channels of a ``(B, C, N)`` tensor, position by position."""

    def __init__(self, ch: int):
        super().__init__()
        self.norm = nn.LayerNorm(ch)

    def forward(self, h):
        return self.norm(h.transpose(1, 2)).transpose(1, 2)


class _TreeBlock(nn.Module):
    """Residual position-wise block with additive noise-level conditioning (1x1 convolutions)."""

    def __init__(self, ch: int, emb: int):
        super().__init__()
        self.norm = _ChannelNorm(ch)
        self.fc1 = nn.Conv1d(ch, ch, 1)
        self.temb = nn.Linear(emb, ch)
        self.fc2 = nn.Conv1d(ch, ch, 1)

    def forward(self, h, e):
        u = self.fc1(F.silu(self.norm(h))) + self.temb(e)[:, :, None]
        return h + self.fc2(F.silu(u))

    def channels_last(self, h, e):
        """The same block on ``h`` of shape ``(B, N, C)`` (matrix products with the 1x1
        convolution weights)."""
        n = self.norm.norm
        u = F.linear(F.silu(F.layer_norm(h, n.normalized_shape, n.weight, n.bias, n.eps)), self.fc1.weight[:, :, 0],
                     self.fc1.bias) + self.temb(e)[:, None, :]
        return h + F.linear(F.silu(u), self.fc2.weight[:, :, 0], self.fc2.bias)


class TreeDenoiser(nn.Module):
    r"""Denoiser of token sequences generated on an ``s``-ary tree of depth ``L`` (the Random
    Hierarchy Model): predicts the logits of the clean tokens,
    :math:`\log\hat p(x_{0,i}=a\mid x_t, t)` up to a constant, for every leaf ``i``.

    The architecture follows the tree. Tokens (``vocab`` symbols, plus the mask symbol
    ``vocab`` when ``mask=True``) are embedded in ``hidden`` channels; an upward pass merges
    the ``s`` children of every node with a convolution of kernel ``s`` and stride ``s`` (one
    per level, shared by the nodes of the level, like the rules of the RHM) followed by a
    residual block, up to the root; a downward pass splits every node into its ``s``
    children with a transposed convolution of kernel and stride ``s``, adds the upward
    features of the same level (a skip connection) and applies a residual block, down to the
    leaves, where a linear layer gives ``vocab`` logits. This is the computation graph of
    belief propagation (upward messages, then downward messages combined with upward ones),
    so the exact posterior marginals are within its reach. Every block is conditioned on
    the OU time ``t`` of the noise level, :math:`\varepsilon = 1-e^{-2t}`
    (:func:`diffphase.numerics.conventions.noise_level`), through :class:`TimeEmbedding`.

    Parameters
    ----------
    vocab : int
        Number of token values ``v >= 2``.
    length : int
        Sequence length ``d = s**L`` (``L >= 1``).
    s : int
        Branching factor (``>= 2``).
    hidden : int
        Channels (``>= 1``, default 64).
    blocks : int
        Residual blocks after each merge and each split (``>= 1``, default 1).
    time_dim : int
        Size of the sinusoidal time features (even, default 32).
    mask : bool
        Accept the mask token ``vocab`` in the input (masking diffusion; default True).
    """

    discrete = True

    def __init__(self, vocab: int, length: int, s: int = 2, hidden: int = 64, blocks: int = 1,
                 time_dim: int = 32, mask: bool = True):
        super().__init__()
        vocab = check_int("vocab", vocab, minimum=2)
        s = check_int("s", s, minimum=2)
        length = check_int("length", length, minimum=s)
        depth = round(math.log(length) / math.log(s))
        if s**depth != length:
            raise ValueError(f"length must be a power of s = {s} (d = s**L), got {length}")
        if not isinstance(mask, bool):
            raise ValueError(f"mask must be True or False, got {mask!r}")
        hidden = check_int("hidden", hidden, minimum=1)
        blocks = check_int("blocks", blocks, minimum=1)
        self.spec = {"name": "tree", "vocab": vocab, "length": length, "s": s, "hidden": hidden,
                     "blocks": blocks, "time_dim": check_int("time_dim", time_dim, minimum=2), "mask": mask}
        self.vocab, self.dim, self.s, self.depth, self.mask = vocab, length, s, depth, mask
        self.embed = TimeEmbedding(time_dim, hidden)
        self.tokens = nn.Embedding(vocab + int(mask), hidden)
        self.merge = nn.ModuleList(nn.Conv1d(hidden, hidden, s, stride=s) for _ in range(depth))
        self.up = nn.ModuleList(nn.ModuleList(_TreeBlock(hidden, hidden) for _ in range(blocks))
                                for _ in range(depth))
        self.split = nn.ModuleList(nn.ConvTranspose1d(hidden, hidden, s, stride=s) for _ in range(depth))
        self.join = nn.ModuleList(nn.Conv1d(2 * hidden, hidden, 1) for _ in range(depth))
        self.down = nn.ModuleList(nn.ModuleList(_TreeBlock(hidden, hidden) for _ in range(blocks))
                                  for _ in range(depth))
        self.out_norm = _ChannelNorm(hidden)
        self.out = nn.Conv1d(hidden, vocab, 1)

    def forward(self, x: torch.Tensor, t) -> torch.Tensor:
        """Logits of the clean tokens.

        Parameters
        ----------
        x : torch.Tensor, shape (B, d), integer
            Noised tokens :math:`x_t` in ``[0, vocab]`` (``vocab`` = mask, if ``mask``).
        t : float or torch.Tensor of shape (B,)
            OU time(s) > 0 of the noise level.

        Returns
        -------
        torch.Tensor, shape (B, d, vocab)
        """
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (B, {self.dim}), got {tuple(x.shape)}")
        if x.is_floating_point():
            raise ValueError("x must hold integer tokens")
        e = self.embed(_broadcast_t(t, x.shape[0], x.device))
        # Computed channels-last, (B, nodes, H), as matrix products with the weights of the
        # convolutions (kernel = stride = s, or 1): the same function as applying the
        # Conv1d/ConvTranspose1d modules to (B, H, nodes), about twice as fast on a CPU for
        # these small channel counts.
        h = self.tokens(x.long())  # (B, d, H)
        B, s = h.shape[0], self.s
        skips = []
        for merge, blks in zip(self.merge, self.up):
            skips.append(h)
            # y[b, j, o] = bias[o] + sum_{k, i} W[o, i, k] h[b, s j + k, i]
            w = merge.weight.permute(0, 2, 1).reshape(merge.weight.shape[0], -1)
            h = F.linear(h.reshape(B, h.shape[1] // s, -1), w, merge.bias)
            for blk in blks:
                h = blk.channels_last(h, e)
        for split, join, blks in zip(self.split, self.join, self.down):
            # y[b, s j + k, o] = bias[o] + sum_i W[i, o, k] h[b, j, i]
            w = split.weight.permute(2, 1, 0).reshape(-1, split.weight.shape[0])
            up = F.linear(h, w, split.bias.repeat(s)).reshape(B, h.shape[1] * s, -1)
            h = F.linear(torch.cat([up, skips.pop()], dim=2), join.weight[:, :, 0], join.bias)
            for blk in blks:
                h = blk.channels_last(h, e)
        n = self.out_norm.norm
        h = F.silu(F.layer_norm(h, n.normalized_shape, n.weight, n.bias, n.eps))
        return F.linear(h, self.out.weight[:, :, 0], self.out.bias)


_MODELS = {"mlp": MLPDenoiser, "unet": UNetDenoiser, "tree": TreeDenoiser}


_INIT_LOCK = threading.Lock()


def seeded_init(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Call ``factory()`` with torch's global RNG seeded by ``seed``, restoring the caller's
    RNG state afterwards.

    Parameter initializers of ``torch.nn`` draw from the global RNG; a lock serializes this
    (seed, build, restore) block so that trainings running in threads of one process (a Dask
    ``LocalCluster(processes=False)``, a thread pool) cannot reseed each other's
    initialization. Training itself draws only from private ``torch.Generator`` objects.
    """
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return factory()


def build_model(spec: dict) -> nn.Module:
    """Build an (untrained) denoiser from its ``spec`` dictionary.

    Parameters
    ----------
    spec : dict
        ``"name"`` (``"mlp"``, ``"unet"`` or ``"tree"``) and the constructor's keyword arguments, e.g.
        ``{"name": "mlp", "dim": 2, "hidden": 64}`` or ``{"name": "unet", "image_shape": [1, 8, 8]}``.
        Every model's ``model.spec`` round-trips through this function.

    Returns
    -------
    torch.nn.Module
        A freshly initialized :class:`MLPDenoiser`, :class:`UNetDenoiser` or :class:`TreeDenoiser`.
    """
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in _MODELS:
        raise ValueError(f"spec['name'] must be one of {sorted(_MODELS)}, got {name!r}")
    if name == "mlp" and "skip" not in spec:
        spec["skip"] = False  # saved before the skip term existed (engine version 1)
    return _MODELS[name](**spec)


def score_function(model: nn.Module, device=None, batch_size: int = 8192, label=None) -> Callable:
    r"""Wrap a noise-predicting denoiser as a score :math:`s(x, t) = -\hat\varepsilon(x,t)/\sqrt{\Delta_t}`.

    The returned callable ``score(x, t)`` uses the package's OU time ``t``
    (:math:`\Delta_t = 1-e^{-2t}`) and behaves like an exact score for the samplers of
    :mod:`diffphase.numerics.sde`:

    * ``x`` a numpy array of shape (B, d) (or (d,)) → numpy array of the same shape and float
      dtype (float32 kept, anything else returned as float64);
    * ``x`` a torch tensor (B, d) (or image-shaped for a U-Net) → torch tensor on the input's
      device and dtype;
    * ``t`` a Python float > 0, or an array of shape (B,) of per-sample times > 0.

    Evaluation runs under ``torch.no_grad()`` in eval mode, in chunks of ``batch_size`` rows.

    Parameters
    ----------
    model : torch.nn.Module
        A denoiser whose ``forward(x, t)`` returns :math:`\hat\varepsilon` (e.g. the model
        returned by :func:`diffphase.validation.train.train`).
    device : str or torch.device, optional
        Device to evaluate on; default: the device of the model's parameters. The model is
        moved there.
    batch_size : int
        Rows per forward pass (>= 1).
    label : int, optional
        For a class-conditional network (``num_classes > 0``): the class :math:`y` of the
        conditional score :math:`\nabla\log p_t(x\mid y)`; default the unconditional score.

    Returns
    -------
    callable
        ``score(x, t)``; ``score.model`` is the wrapped model.

    Raises
    ------
    ValueError
        (from the callable) if ``t <= 0``, non-finite, or of the wrong shape.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n_classes = int(getattr(model, "num_classes", 0) or 0)
    if label is not None:
        if not n_classes:
            raise ValueError("label is only for class-conditional networks (num_classes > 0)")
        label = check_int("label", label, minimum=0, maximum=n_classes - 1)
    if device is None:
        try:
            device = next(model.parameters()).device
        except StopIteration:
            device = torch.device("cpu")
    device = torch.device(device)
    model = model.to(device).eval()

    def score(x, t):
        t_arr = check_times(t, positive=True)
        is_np = not isinstance(x, torch.Tensor)
        if is_np:
            x_np = np.asarray(x)
            out_dtype = np.float32 if x_np.dtype == np.float32 else np.float64
            xt = torch.from_numpy(np.ascontiguousarray(x_np, dtype=np.float32))
            in_dtype, in_device = None, None
        else:
            xt, in_dtype, in_device = x, x.dtype, x.device
        single = xt.ndim == 1
        if single:
            xt = xt[None]
        B = xt.shape[0]
        if t_arr.ndim == 0:
            t_all = torch.full((B,), float(t_arr), dtype=torch.float64)
        elif t_arr.shape == (B,):
            t_all = torch.from_numpy(t_arr)
        else:
            raise ValueError(f"t must be a float or have shape ({B},), got shape {t_arr.shape}")
        delta = -torch.expm1(-2.0 * t_all)
        out = torch.empty(xt.shape, dtype=torch.float32, device=device)
        with torch.no_grad():
            for i in range(0, B, batch_size):
                xb = xt[i: i + batch_size].to(device=device, dtype=torch.float32)
                tb = t_all[i: i + batch_size].to(device=device, dtype=torch.float32)
                eps = model(xb, tb) if label is None else model(xb, tb, label)
                inv = (1.0 / torch.sqrt(delta[i: i + batch_size])).to(device=device, dtype=torch.float32)
                shape = (-1,) + (1,) * (eps.ndim - 1)
                out[i: i + batch_size] = -eps.float() * inv.reshape(shape)
        if single:
            out = out[0]
        if is_np:
            return out.cpu().numpy().astype(out_dtype, copy=False)
        return out.to(device=in_device, dtype=in_dtype if in_dtype.is_floating_point else torch.float32)

    score.model = model
    return score


class ClassConditional:
    r"""A trained class-conditional noise predictor seen as denoisers and scores (OU time).

    With :math:`\hat\varepsilon(x,t\mid y)` the network at label :math:`y` (the null label
    ``K`` for the unconditional prediction), :math:`\theta = e^{-t}`,
    :math:`\Delta_t = 1-e^{-2t}`:

    .. math:: \hat D(x,t\mid y) = \frac{x - \sqrt{\Delta_t}\,\hat\varepsilon(x,t\mid y)}{\theta},
              \qquad \hat s(x,t) = -\frac{\hat\varepsilon(x,t)}{\sqrt{\Delta_t}} .

    It has the interface of :class:`diffphase.numerics.information.GaussianClasses` that the
    online classifier (:func:`~diffphase.numerics.information.online_posterior`) and the
    negative-guidance sampler (:func:`~diffphase.numerics.information.negative_guidance_sample`)
    use: ``K``, ``d``, ``class_denoisers(x, t)`` (B, K, d), ``score(x, t)``, plus
    ``denoise(x, t, y=None)`` and ``guidance_denoisers(c)``. Inputs and outputs are numpy
    float64 arrays; evaluation in chunks of ``batch_size`` rows under ``torch.no_grad()``.

    Parameters
    ----------
    model : torch.nn.Module
        A network with ``num_classes > 0`` (e.g. :class:`MLPDenoiser` trained by
        :func:`~diffphase.validation.train.train` on labelled data).
    device : str or torch.device, optional
        Default: the device of the model's parameters.
    batch_size : int
        Rows per forward pass (>= 1).
    """

    def __init__(self, model: nn.Module, device=None, batch_size: int = 8192):
        self.K = int(getattr(model, "num_classes", 0) or 0)
        if self.K < 1:
            raise ValueError("model must be class-conditional (num_classes > 0)")
        self.d = int(model.dim)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        if device is None:
            device = next(model.parameters()).device
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    def _eps(self, x, t: float, y: int) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ValueError(f"x must have shape (B, {self.d}), got {x.shape}")
        out = np.empty_like(x)
        with torch.no_grad():
            for i in range(0, x.shape[0], self.batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(x[i: i + self.batch_size], dtype=np.float32)).to(self.device)
                out[i: i + self.batch_size] = self.model(xb, float(t), int(y)).double().cpu().numpy()
        return out

    def _time(self, t) -> float:
        t_arr = check_times(t, positive=True)
        if t_arr.ndim != 0:
            raise ValueError("t must be a single OU time")
        return float(t_arr)

    def denoise(self, x, t, y=None) -> np.ndarray:
        r""":math:`\hat D(x,t\mid y)` (unconditional for ``y=None``), shape (B, d)."""
        t = self._time(t)
        yy = self.K if y is None else check_int("y", y, minimum=0, maximum=self.K - 1)
        eps = self._eps(x, t, yy)
        delta = -math.expm1(-2.0 * t)
        return (np.asarray(x, dtype=np.float64) - math.sqrt(delta) * eps) * math.exp(t)

    def class_denoisers(self, x, t) -> np.ndarray:
        r""":math:`\hat D(x,t\mid y)` for every class, shape (B, K, d)."""
        return np.stack([self.denoise(x, t, y) for y in range(self.K)], axis=1)

    def score(self, x, t) -> np.ndarray:
        r"""Unconditional score :math:`-\hat\varepsilon(x,t)/\sqrt{\Delta_t}`, shape (B, d)."""
        t = self._time(t)
        return -self._eps(x, t, self.K) / math.sqrt(-math.expm1(-2.0 * t))

    def guidance_denoisers(self, unwanted: int) -> Callable:
        """``f(x, t) -> (D(x, t), D(x, t | unwanted))`` for
        :func:`~diffphase.numerics.information.negative_guidance_sample`."""
        c = check_int("unwanted", unwanted, minimum=0, maximum=self.K - 1)

        def denoisers(x, t):
            return self.denoise(x, t), self.denoise(x, t, c)

        return denoisers


def denoiser_flops(spec: dict, batch: int = 8) -> dict:
    r"""Floating-point operations of a denoiser per sample, counted by torch.

    Runs one forward and one backward pass of :func:`build_model` ``(spec)`` on a random batch
    under :class:`torch.utils.flop_counter.FlopCounterMode` (matrix products and
    convolutions; element-wise operations are not counted, so this is a lower bound dominated
    by the linear layers) and divides by ``batch``.

    Returns
    -------
    dict
        ``{"forward": F, "train": F + B}``: per-sample FLOPs of a forward pass (one score
        evaluation) and of a training step's forward + backward pass.

    Examples
    --------
    >>> f = denoiser_flops({"name": "mlp", "dim": 16, "hidden": 32, "depth": 1})
    >>> f["train"] > 2 * f["forward"] > 0
    True
    """
    from torch.utils.flop_counter import FlopCounterMode

    batch = check_int("batch", batch, minimum=1)
    model = build_model(spec)
    dim = model.dim if hasattr(model, "dim") else int(spec["dim"])
    if getattr(model, "discrete", False):  # token input (TreeDenoiser)
        x = torch.randint(0, model.vocab, (batch, dim), generator=torch.Generator().manual_seed(0))
    else:
        x = torch.randn(batch, dim)
    t = torch.full((batch,), 0.5)
    with FlopCounterMode(display=False) as fwd:
        with torch.no_grad():
            model(x, t)
    with FlopCounterMode(display=False) as both:
        model(x, t).square().mean().backward()
    return {"forward": fwd.get_total_flops() / batch, "train": both.get_total_flops() / batch}
