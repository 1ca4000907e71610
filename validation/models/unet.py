"""The U-Net denoiser of single-channel images."""

from __future__ import annotations


import torch
from torch import nn
from torch.nn import functional as F

from diffphase.numerics.checks import check_int

from .layers import TimeEmbedding, add_label, broadcast_times, gaussian_skip, label_embedding

__all__ = ["UNetDenoiser"]


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
    skip : bool
        Add the noise prediction of standard-normal data, :math:`\sqrt{\Delta_t}\,x_t`
        (:func:`~diffphase.validation.models.layers.gaussian_skip`), so that the network learns
        a correction to it, as :class:`~diffphase.validation.models.MLPDenoiser` does. Default
        False (the networks saved before the option existed).
    num_classes : int
        ``K >= 0``; with ``K > 0`` class-conditional as
        :class:`~diffphase.validation.models.MLPDenoiser`: the label embedding (null label
        ``K``) is added to the time embedding of every block. Default 0.

    Notes
    -----
    ``forward`` accepts flattened input ``(B, C*H*W)`` (returned flattened, so the network is
    a drop-in vector denoiser for :func:`score_function`) or ``(B, C, H, W)``.
    """

    def __init__(self, image_shape, channels: int = 32, channel_mult=(1, 2), blocks: int = 1, time_dim: int = 64,
                 skip: bool = False, num_classes: int = 0):
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
        if not isinstance(skip, bool):
            raise ValueError(f"skip must be True or False, got {skip!r}")
        if skip:
            self.spec["skip"] = True
        self.num_classes = check_int("num_classes", num_classes, minimum=0)
        if self.num_classes:
            self.spec["num_classes"] = self.num_classes
        self.skip = skip
        self.image_shape = image_shape
        self.dim = C * H * W
        emb = 4 * channels
        self.embed = TimeEmbedding(time_dim, emb)
        self.label = label_embedding(self.num_classes, emb)
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

    def forward(self, x: torch.Tensor, t, y=None) -> torch.Tensor:
        """Predicted noise :math:`\\hat\\varepsilon(x, t)` (or :math:`\\hat\\varepsilon(x, t\\mid y)`).

        Parameters
        ----------
        x : torch.Tensor, shape (B, C*H*W) or (B, C, H, W)
            Noised images :math:`x_t`.
        t : float or torch.Tensor of shape (B,)
            OU time(s) > 0.
        y : int or torch.Tensor of shape (B,), optional
            Labels in ``[0, num_classes]`` of a class-conditional network (``num_classes``:
            unconditional; default). Not accepted by an unconditional network.

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
        tt = broadcast_times(t, x.shape[0], x.device)
        e = add_label(self.embed(tt), self.label, y, self.num_classes)
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
        if self.skip:
            out = out + gaussian_skip(x, tt)
        return out.reshape(out.shape[0], -1) if flat else out
