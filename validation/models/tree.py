"""The tree-shaped token denoiser of the discrete objectives (Random Hierarchy Model data)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from diffphase.numerics.checks import check_int

from .layers import TimeEmbedding, broadcast_times

__all__ = ["TreeDenoiser"]


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
        e = self.embed(broadcast_times(t, x.shape[0], x.device))
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
