"""Optional numba kernels for the linear-domain belief propagation of :mod:`.bp`.

Each kernel does one level of the recursions of :mod:`.bp` for one batch chunk in the storage
layout of :class:`.bp._Engine` (``(A_l, s**l * nc)``, child ``i`` of the storage columns of
level ``l`` is the ``i``-th contiguous block of columns of level ``l + 1``), walking the
columns in blocks that stay in the CPU's first-level caches and fusing what the torch path
does in several passes (gather, product, sum over rules, rescaling; on the way down the
ratio, the scatter to the children, their normalization and the write in natural layout).
The kernels release the GIL, so the thread pool of :mod:`.bp` runs them in parallel.

Importing this module raises ImportError when numba is not installed (``pip install
diffphase``, a core dependency); :mod:`.bp` then uses its torch kernels.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["leaves_in", "up_level", "down_level", "to_natural"]

#: columns per block of the upward and of the downward kernel (what a block touches stays in
#: the L2 cache; long blocks keep the vectorized inner loops long)
UP_BLOCK = 2048
DOWN_BLOCK = 1024

_jit = numba.njit(nogil=True, cache=True)
_u = numba.uint64


@_jit
def leaves_in(x, rev, X, LS):  # pragma: no cover - compiled
    """Leaf evidence ``x`` (nc, N, v) -> level-L storage: ``X[:, rev[j]*nc + i] =
    x[i, j] / max`` and ``LS[...] = log(max)`` (``-inf`` and zeros for an all-zero leaf).
    Walks the nodes in natural order (reads stream through the samples' rows); unsigned
    indices spare numba's negative-index handling."""
    nc, N, v = x.shape
    tmp = np.empty((v, nc), dtype=X.dtype)
    for j in range(N):
        uj = _u(j)
        col = _u(rev[j] * nc)
        for i in range(nc):
            ui = _u(i)
            m = x[ui, uj, _u(0)]
            for a in range(1, v):
                if x[ui, uj, _u(a)] > m:
                    m = x[ui, uj, _u(a)]
            if m > 0:
                LS[col + ui] = math.log(m)
            else:
                LS[col + ui] = -np.inf
                m = 1
            for a in range(v):
                tmp[_u(a), ui] = x[ui, uj, _u(a)] / m
        for a in range(v):
            ua = _u(a)
            for i in range(nc):
                X[ua, col + _u(i)] = tmp[ua, _u(i)]


@_jit
def to_natural(Ms, rev, out):  # pragma: no cover - compiled
    """Storage (A, N*nc) -> natural ``out`` (nc, N, A): ``out[i, j] = Ms[:, rev[j]*nc + i]``
    (writes stream through the samples' rows; unsigned indices as in :func:`leaves_in`)."""
    nc, N, A = out.shape
    tmp = np.empty((A, nc), dtype=out.dtype)
    for j in range(N):
        col = _u(rev[j] * nc)
        for a in range(A):
            ua = _u(a)
            for i in range(nc):
                tmp[ua, _u(i)] = Ms[ua, col + _u(i)]
        uj = _u(j)
        for i in range(nc):
            ui = _u(i)
            for a in range(A):
                out[ui, uj, _u(a)] = tmp[_u(a), ui]


@_jit
def up_level(C, idx, P, LS, tiny):  # pragma: no cover - compiled
    """One upward level: ``P[a, c] = sum_r prod_i C[idx[i, r*A + a], i*B + c]`` rescaled to
    column maximum 1, ``LS[c]`` the log of the scale; a column whose maximum is below
    ``tiny`` (the smallest normal number: zero or underflowed) is dead: ``LS[c] = -inf``
    and zeros.

    C : (A_child, s*B) children storage; idx : (s, m*A) int64, r-major rule index;
    P : (A, B) output; LS : (B,) output.
    """
    s, k = idx.shape
    A, B = P.shape
    mx = np.empty(UP_BLOCK, dtype=P.dtype)
    t = np.empty(UP_BLOCK, dtype=P.dtype)
    for c0 in range(0, B, UP_BLOCK):
        w = min(B - c0, UP_BLOCK)
        P[:, c0:c0 + w] = 0.0
        for q in range(k):
            Pa = P[q % A, c0:c0 + w]
            x = C[idx[0, q], c0:c0 + w]
            if s == 2:
                y = C[idx[1, q], B + c0:B + c0 + w]
                for c in range(w):
                    Pa[c] += x[c] * y[c]
            else:
                for c in range(w):
                    t[c] = x[c]
                for i in range(1, s):
                    y = C[idx[i, q], i * B + c0:i * B + c0 + w]
                    for c in range(w):
                        t[c] *= y[c]
                for c in range(w):
                    Pa[c] += t[c]
        mx[:w] = 0.0
        for a in range(A):
            Pa = P[a, c0:c0 + w]
            for c in range(w):
                if Pa[c] > mx[c]:
                    mx[c] = Pa[c]
        for c in range(w):
            if mx[c] >= tiny:
                LS[c0 + c] = math.log(mx[c])
                mx[c] = 1.0 / mx[c]
            else:  # 0, or subnormal (1 / max would overflow): a dead message
                LS[c0 + c] = -np.inf
                mx[c] = 0.0
        for a in range(A):
            Pa = P[a, c0:c0 + w]
            for c in range(w):
                Pa[c] *= mx[c]


@_jit
def down_level(C, idx, U, M, Mn, bad, tiny):  # pragma: no cover - compiled
    """One downward level: the child marginals
    ``Mn[b, i*B + c] ∝ sum_{(a,r): idx[i, r*A+a] = b} M[a, c] / U[a, c] * prod_j C[idx[j, r*A+a], j*B+c]``
    normalized per column (storage layout of the children). A column whose total is not
    finite or below ``tiny`` (the smallest normal number) sets ``bad[i*B + c]`` (its
    marginal is written as zeros).

    C : (A_child, s*B) normalized inside messages of the children; U, M : (A, B) normalized
    inside message and marginal of the level; Mn : (A_child, s*B) output.
    """
    s, k = idx.shape
    A, B = U.shape
    An = C.shape[0]
    ratio = np.empty((A, DOWN_BLOCK), dtype=U.dtype)
    acc = np.empty((s, An, DOWN_BLOCK), dtype=U.dtype)
    tot = np.empty(DOWN_BLOCK, dtype=U.dtype)
    p = np.empty(DOWN_BLOCK, dtype=U.dtype)
    for c0 in range(0, B, DOWN_BLOCK):
        w = min(B - c0, DOWN_BLOCK)
        for a in range(A):
            u = U[a, c0:c0 + w]
            mm = M[a, c0:c0 + w]
            ra = ratio[a]
            for c in range(w):
                ra[c] = mm[c] / u[c] if u[c] > 0 else 0.0
        acc[:, :, :w] = 0.0
        for q in range(k):
            ra = ratio[q % A]
            if s == 2:
                b0 = idx[0, q]
                b1 = idx[1, q]
                x = C[b0, c0:c0 + w]
                y = C[b1, B + c0:B + c0 + w]
                a0 = acc[0, b0]
                a1 = acc[1, b1]
                for c in range(w):
                    v = x[c] * y[c] * ra[c]
                    a0[c] += v
                    a1[c] += v
            else:
                for c in range(w):
                    p[c] = ra[c]
                for i in range(s):
                    y = C[idx[i, q], i * B + c0:i * B + c0 + w]
                    for c in range(w):
                        p[c] *= y[c]
                for i in range(s):
                    ai = acc[i, idx[i, q]]
                    for c in range(w):
                        ai[c] += p[c]
        for i in range(s):
            tot[:w] = 0.0
            for b in range(An):
                ab = acc[i, b]
                for c in range(w):
                    tot[c] += ab[c]
            for c in range(w):
                t = tot[c]
                if t >= tiny and t < np.inf:
                    tot[c] = 1.0 / t
                else:  # written as zeros
                    bad[i * B + c0 + c] = True
                    tot[c] = 0.0
                    for b in range(An):
                        acc[i, b, c] = 0.0
            for b in range(An):
                ab = acc[i, b]
                for c in range(w):
                    ab[c] *= tot[c]
            for b in range(An):
                Mn[b, i * B + c0:i * B + c0 + w] = acc[i, b, :w]
