r"""The reading of the ``manifold`` experiment's spectra: which training points keep which
subspace (:func:`subspace_states`) and the noise level at which a subspace is lost
(:func:`loss_level`).

Noise levels are the variance-exploding :math:`\sigma^2 = e^{2t}-1` (OU time ``t``).
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics.checks import check_real

from .protocol import LEVEL

__all__ = ["subspace_states", "loss_level"]


def subspace_states(r: dict, k, level: float = LEVEL) -> dict:
    r"""Fractions of training points in each state, per noise level, with binomial errors.

    A subspace ``g`` is kept at a point when :math:`r_g\le\text{level}`. Returned: ``A``,
    ``B`` (kept), ``one`` (exactly one of the two kept), ``none`` (dimension estimate 0: no
    normalised value at or below the level, the score contracts every direction), each a
    pair ``(fraction, stderr)`` of arrays over noise levels,
    :math:`\text{se} = \sqrt{p(1-p)/P}`.

    Parameters
    ----------
    r : dict
        ``{"A": (n, P), "B": (n, P)}`` responses.
    k : array_like, shape (n, P)
        Dimension estimates.
    level : float
    """
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    kA = np.asarray(r["A"], dtype=np.float64) <= level
    kB = np.asarray(r["B"], dtype=np.float64) <= level
    k = np.asarray(k)
    if kA.shape != kB.shape or kA.shape != k.shape or kA.ndim != 2:
        raise ValueError(f"r['A'], r['B'] and k must have one shape (n, P), got {kA.shape}, {kB.shape}, {k.shape}")
    P = kA.shape[1]

    def frac(b):
        p = b.mean(axis=1)
        return p, np.sqrt(p * (1 - p) / P)

    return {"A": frac(kA), "B": frac(kB), "one": frac(kA ^ kB), "none": frac(k == 0)}


def loss_level(noise, kept) -> tuple[float, bool]:
    r"""Noise level at which a subspace is lost as the noise decreases.

    With the fraction :math:`f(\sigma^2)` of training points keeping the subspace, scanned
    from the smallest noise upward, the first level with :math:`f\ge 1/2` and the one below it
    bracket the loss; :math:`\log\sigma^2` is interpolated linearly in :math:`f` to
    :math:`f = 1/2`. Kept already at the smallest level: that level (an upper bound of the loss,
    ``censored``). Never kept: NaN.

    Parameters
    ----------
    noise : array_like, shape (n,)
        Noise levels :math:`\sigma^2 > 0` (any order).
    kept : array_like, shape (n,) or (n, P)
        Fractions, or per-point booleans (averaged over the last axis).

    Returns
    -------
    (float, bool)
        :math:`\log\sigma^2` of the loss, and whether it is censored.

    Examples
    --------
    >>> level, censored = loss_level([0.1, 0.01, 0.001], [1.0, 0.75, 0.25])
    >>> round(float(np.exp(level)), 6), censored     # halfway (in log) between 0.01 and 0.001
    (0.003162, False)
    """
    x = np.log(np.asarray(noise, dtype=np.float64))
    f = np.asarray(kept, dtype=np.float64)
    if f.ndim == 2:
        f = f.mean(axis=1)
    if f.shape != x.shape or x.ndim != 1:
        raise ValueError(f"kept must have shape ({x.size},) or ({x.size}, P), got {np.shape(kept)}")
    o = np.argsort(x)
    x, f = x[o], f[o]
    above = np.nonzero(f >= 0.5)[0]
    if above.size == 0:
        return math.nan, False
    j = int(above[0])
    if j == 0:
        return float(x[0]), True
    return float(x[j - 1] + (0.5 - f[j - 1]) / (f[j] - f[j - 1]) * (x[j] - x[j - 1])), False
