r"""Exact inference on the RHM tree: belief propagation and exact posterior sampling.

Given leaf evidence :math:`\nu_i(b) = p(x_{t,i}\mid x_{0,i}=b)` (an array ``(n, d, v)``, e.g.
from :mod:`diffphase.numerics.rhm.noise`; noise level and time do not enter here), the
posterior over the whole tree is computed exactly by the upward (inside) recursion

.. math:: U_l(a) = \frac1m \sum_{r=1}^m \prod_{i=1}^s U_{l+1,i}(R_l[a,r,i]),
          \qquad U_L = \nu,

and the downward recursion on the joint posterior of a node and its rule,

.. math:: P(a, r\mid x_t) = P_l(a)\,\frac{\prod_i U_{l+1,i}(R_l[a,r,i])}{\sum_{r'}\prod_i U_{l+1,i}(R_l[a,r',i])},
          \qquad P_{l+1,i}(b) = \sum_{(a,r):\,R_l[a,r,i]=b} P(a,r\mid x_t),

starting from :math:`P_0(c)\propto U_0(c)/n_c` (uniform class prior). This is the
:math:`\nu^\uparrow\nu^\downarrow` marginal (upward times downward messages) written without the explicit
downward messages. The log-evidence is
:math:`\log p(x_t) = \log \sum_c U_0(c)/n_c = \log\sum_{x_0}P(x_0)\prod_i\nu_i(x_{0,i})`.
An exact posterior sample draws the class from :math:`P_0`, then top-down every node's rule
with probability :math:`\propto\prod_i U_{l+1,i}(R_l[a,r,i])`.

Numerics. The fast path works in the linear domain with every message rescaled to maximum 1
after each level (the logs of the scales are accumulated per sample), in the requested
``dtype``, in batch chunks of bounded memory, level by level with row gathers in a layout
where each node's children are contiguous blocks, using the available CPU threads. With
numba installed (a core dependency) numba kernels fuse each level's gathers,
products, sums and rescaling in cache-sized column blocks (compiled on first use, cached on
disk); otherwise torch kernels do it, computing the product of the children's messages for
every rule once on the way up and reusing it on the way down. A sample for which any
message becomes identically zero -- evidence that contradicts the grammar, or an underflow
for extremely peaked evidence in float32 -- or whose marginals cannot be normalized
(float32 underflow or overflow), is recomputed exactly in the log domain in float64. If its
evidence has probability zero under the model (it *contradicts the rules*), the posterior
does not exist; then

* ``consistent`` is ``False`` for that sample,
* ``log_evidence`` is ``-numpy.finfo(float64).max`` (a finite stand-in for :math:`-\infty`),
* the marginals and posterior samples are those of the **prior** (the evidence is ignored).

No NaN or inf is ever returned.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import torch

from ..checks import check_rng
from .model import RHM, check_rhm

__all__ = ["BPResult", "belief_propagation", "posterior_sample", "NEG_LOG_EVIDENCE"]

#: log-evidence reported for evidence that contradicts the grammar (stands for -inf).
NEG_LOG_EVIDENCE = -np.finfo(np.float64).max

# working-set target per batch chunk (bytes) and columns per gather block of the torch kernels
# (long blocks: on a slow CPU the cost of launching a torch op outweighs cache misses)
_CHUNK_BYTES = 24 * 2**20
_BLOCK_COLS = 4096
# torch kernels: keep the rule products of the upward pass for the downward pass of the
# marginals (m * A * s**l values per level and sample) instead of recomputing them; without
# such a store (sampling) shorter blocks, whose temporaries stay in the cache, are faster
_KEEP_PRODUCTS = True
_BLOCK_COLS_NO_STORE = 1024


#: use the numba kernels of :mod:`._bp_numba` for the linear-domain path when numba is
#: installed (a core dependency); otherwise, or if False, the torch kernels
_USE_NUMBA = True
_NUMBA_KERNELS = []  # [module or None] once looked up


def _numba_kernels():
    """The numba kernel module, or None if numba is not installed or ``_USE_NUMBA`` is off."""
    if not _USE_NUMBA:
        return None
    if not _NUMBA_KERNELS:
        try:
            from . import _bp_numba
        except ImportError:
            _bp_numba = None
        _NUMBA_KERNELS.append(_bp_numba)
    return _NUMBA_KERNELS[0]


class BPResult(NamedTuple):
    """Result of :func:`belief_propagation`.

    Attributes
    ----------
    marginals : list of ndarray
        ``L + 1`` arrays, root first; ``marginals[l]`` has shape ``(n, s**l, A_l)``
        (``A_0 = n_classes``, else ``v``): the exact posterior :math:`P(x_{l,j}=a\\mid x_t)`.
    log_evidence : ndarray, shape (n,), float64
        :math:`\\log p(x_t)` under the model (``NEG_LOG_EVIDENCE`` if ``not consistent``).
    consistent : ndarray, shape (n,), bool
        ``False`` where the evidence contradicts the grammar (then prior marginals).
    """

    marginals: list
    log_evidence: np.ndarray
    consistent: np.ndarray


def _check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _check_evidence(rhm, evidence):
    check_rhm(rhm)
    ev = np.asarray(evidence)
    if ev.ndim != 3 or ev.shape[1:] != (rhm.d, rhm.v):
        raise ValueError(f"evidence must have shape (n, d={rhm.d}, v={rhm.v}), got {ev.shape}")
    if ev.shape[0] < 1:
        raise ValueError("evidence must hold at least one sample (n >= 1)")
    if not (np.issubdtype(ev.dtype, np.floating) or np.issubdtype(ev.dtype, np.integer)):
        raise ValueError("evidence must be a real array")
    return ev


class _Engine:
    """Tree recursions for one RHM in one arithmetic (``log``: log domain; else linear).

    Storage layout of level ``l``: an ``(A_l, s**l * nc)`` tensor whose column
    ``rev_l(j) * nc + sample`` holds node ``j`` of a sample, where ``rev_l`` reverses the ``l``
    base-``s`` digits of ``j``. Then child ``i`` of the storage columns of level ``l`` is the
    ``i``-th contiguous block of columns of level ``l + 1``, and one level is processed in
    blocks of contiguous columns (at most ``_BLOCK_COLS`` for the torch kernels; the numba
    kernels of :mod:`._bp_numba` choose their own). The buffers of a thread are allocated
    once and reused for all its batch chunks.
    """

    def __init__(self, rhm: RHM, dtype, log: bool):
        self.rhm = rhm
        self.np_dtype = np.dtype(dtype)
        self.dtype = torch.float64 if self.np_dtype == np.float64 else torch.float32
        self.log = log
        s = rhm.s
        # per level, per child i: flat rule index list in r-major order (r * A + a)
        self.idx = []
        for R in rhm.rules:
            self.idx.append([torch.from_numpy(np.ascontiguousarray(R[:, :, i].T).ravel())
                             for i in range(s)])
        self.sizes = [rhm.n_symbols(l) for l in range(rhm.L + 1)]
        self._revs = {}
        self._rows = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._smallest = float(np.nextafter(self.np_dtype.type(0), self.np_dtype.type(1)))
        self._tiny = float(np.finfo(self.np_dtype).tiny)  # smallest normal number
        self.R_flat = [torch.from_numpy(R.reshape(R.shape[0], -1)) for R in rhm.rules]
        self.nb = None if log else _numba_kernels()
        if self.nb is not None:  # (s, m*A) rule index, r-major, for the numba kernels
            self.idx_np = [np.ascontiguousarray(np.stack([i.numpy() for i in ix]))
                           for ix in self.idx]

    # ---- layout helpers --------------------------------------------------------------
    def _rev(self, level):
        with self._lock:
            if level not in self._revs:
                s = self.rhm.s
                j = np.arange(s**level)
                r = np.zeros_like(j)
                for _ in range(level):
                    r = r * s + j % s
                    j = j // s
                self._revs[level] = torch.from_numpy(r)
            return self._revs[level]

    def _row_index(self, level, nc):
        """Natural row ``sample * s**l + j`` of every storage column ``rev(j) * nc + sample``
        (a ``(s**l * nc,)`` index tensor)."""
        key = (level, nc)
        rev = self._rev(level)
        with self._lock:
            if key not in self._rows:
                N = self.rhm.s**level
                k = torch.arange(N * nc)
                self._rows[key] = (k % nc) * N + rev[k // nc]
            return self._rows[key]

    def to_natural(self, x_sto, level, nc):
        """(s**l * nc,) storage -> (nc, s**l) natural."""
        N = self.rhm.s**level
        y = x_sto.reshape(N, nc).T
        return y.index_select(1, self._rev(level)) if level > 1 else y

    def to_storage_index(self, x_nat, level, nc):
        """(nc, s**l) natural -> (s**l * nc,) storage."""
        y = x_nat.index_select(1, self._rev(level)) if level > 1 else x_nat
        return y.T.reshape(-1)

    # ---- per-thread buffers ----------------------------------------------------------
    def _work(self, nc, products=False):
        """This thread's buffers for chunks of up to ``nc`` samples, with the product store
        of every level if ``products`` (allocated on first use, reused by the thread's later
        chunks: no allocation and no page faults per chunk; numpy allocates them, which lets
        large buffers use transparent huge pages)."""
        wk = getattr(self._local, "wk", None)
        if wk is None or wk["nc"] < nc or wk["W"] != _BLOCK_COLS:
            rhm = self.rhm
            s, m, L, W = rhm.s, rhm.m, rhm.L, _BLOCK_COLS
            A = max(self.sizes)
            nm = A * nc * s ** (L if self.nb is not None else L - 1)
            wk = {
                "nc": nc, "W": W, "G": None,
                "U": [self._empty(self.sizes[l] * nc * s**l) for l in range(L + 1)],
                "LS": [self._empty(nc * s**l) for l in range(L + 1)],
                "M": [self._empty(nm), self._empty(nm)],
                "g": None,
                "t": self._empty(A * m * W),
                "pb": self._empty(A * W),
                "rt": self._empty(A * W),
                "tb": self._empty(A * W),
                "T": self._empty(A * nc * s**L),
                "tot": self._empty(nc * s**L),
                "ones": torch.ones((1, m), dtype=self.dtype),
            }
            self._local.wk = wk
        if not products and wk["g"] is None and wk["G"] is None and self.nb is None:
            wk["g"] = self._empty(max(self.sizes) * self.rhm.m * wk["W"])
        if products and wk["G"] is None:
            # products of the children of every rule, level by level (upward, reused downward)
            wk["G"] = [self._empty(self.rhm.m * self.sizes[l] * wk["nc"] * self.rhm.s**l)
                       for l in range(self.rhm.L)]
        return wk

    def _empty(self, n):
        return torch.from_numpy(np.empty(n, dtype=self.np_dtype))

    # ---- block kernels ---------------------------------------------------------------
    def _gather_products(self, children, level, c0, c1, wk, store=None):
        """(m*A_l, c1-c0): prod_i U_child_i(R[a, r, i]) (or the sum of logs), r-major, in
        the block's part of ``store`` (the product store of ``level``) or a block buffer."""
        idx = self.idx[level]
        w = c1 - c0
        k = idx[0].numel()
        g = (wk["g"][: k * w] if store is None else store[c0 * k:c1 * k]).view(k, w)
        torch.index_select(children[:, 0, c0:c1], 0, idx[0], out=g)
        if self.rhm.s > 1:
            t = wk["t"][: k * w].view(k, w)
            for i in range(1, self.rhm.s):
                torch.index_select(children[:, i, c0:c1], 0, idx[i], out=t)
                if self.log:
                    g.add_(t)
                else:
                    g.mul_(t)
        return g

    def _normalize(self, P, log_scale, dim):
        """Rescale ``P`` in place to maximum 1 (log: 0) along ``dim``; write the log of the
        scale into ``log_scale`` (``-inf`` where everything vanishes: a dead message)."""
        mx = P.amax(dim, keepdim=True)
        if self.log:
            log_scale.copy_(mx.view(-1))
            P.sub_(mx.masked_fill_(torch.isneginf(mx), 0.0))
        else:
            torch.log(mx.view(-1), out=log_scale)
            P.div_(mx.clamp_(min=self._smallest))  # only 0 (dead) changes: 0 / tiny = 0

    # ---- upward ----------------------------------------------------------------------
    def upward(self, ev_chunk, keep_products=False):
        """Inside messages of every level for one batch chunk (and, if ``keep_products``,
        the products of every rule in this thread's product store, for :meth:`marginals`).

        Returns U (list, level -> (A_l, s**l * nc) storage, each column rescaled to max 1),
        LS (list, level -> (s**l * nc,) log of the column scales; views of this thread's
        buffers), the per-sample log-evidence (float64) and the per-sample dead flag.
        """
        rhm = self.rhm
        s, m, L = rhm.s, rhm.m, rhm.L
        nc = ev_chunk.shape[0]
        x = torch.as_tensor(ev_chunk)
        lo, hi = torch.aminmax(x)
        if not (bool(lo >= 0) and bool(torch.isfinite(hi))):  # NaN fails both comparisons
            raise ValueError("evidence must be finite and >= 0 (a likelihood)")
        wk = self._work(nc, products=keep_products and _KEEP_PRODUCTS and self.nb is None)
        W = wk["W"] if wk["G"] is not None else min(wk["W"], _BLOCK_COLS_NO_STORE)
        U = [wk["U"][l][: self.sizes[l] * nc * s**l].view(self.sizes[l], nc * s**l)
             for l in range(L + 1)]
        LS = [wk["LS"][l][: nc * s**l] for l in range(L + 1)]
        if self.nb is not None:
            xn = np.asarray(ev_chunk)
            if xn.dtype not in (np.float32, np.float64):
                xn = xn.astype(self.np_dtype)
            self.nb.leaves_in(xn, self._rev(L).numpy(), U[L].numpy(), LS[L].numpy())
            for level in range(L - 1, -1, -1):
                self.nb.up_level(U[level + 1].numpy(), self.idx_np[level], U[level].numpy(),
                                 LS[level].numpy(), self._tiny)
            return self._finish_upward(U, LS, nc)
        # leaves: natural rows -> storage columns (block by block through a small buffer)
        xf = x.reshape(nc * rhm.d, rhm.v)
        ridx = self._row_index(L, nc)
        X = U[L]
        rows = wk["tb"] if x.dtype == self.dtype else None
        for c0 in range(0, nc * rhm.d, W):
            c1 = min(nc * rhm.d, c0 + W)
            if rows is None:
                blk = xf.index_select(0, ridx[c0:c1])
            else:
                blk = rows[: (c1 - c0) * rhm.v].view(c1 - c0, rhm.v)
                torch.index_select(xf, 0, ridx[c0:c1], out=blk)
            X[:, c0:c1] = blk.T
        if self.log:
            X.log_()
        self._normalize(X, LS[L], 0)
        pbuf = wk["pb"]
        for level in range(L - 1, -1, -1):
            A, An = self.sizes[level], self.sizes[level + 1]
            B = nc * s**level
            children = U[level + 1].view(An, s, B)
            P = U[level]
            for c0 in range(0, B, W):
                c1 = min(B, c0 + W)
                w = c1 - c0
                g = self._gather_products(children, level, c0, c1, wk,
                                          None if wk["G"] is None else wk["G"][level])
                pb = pbuf[: A * w].view(A, w)
                if self.log:
                    torch.logsumexp(g.view(m, A, w), 0, out=pb)
                else:  # sum over the m rules as a (1, m) x (m, A*w) product: one fast pass
                    torch.mm(wk["ones"], g.view(m, A * w), out=pb.view(1, A * w))
                self._normalize(pb, LS[level][c0:c1], 0)
                P[:, c0:c1] = pb
        return self._finish_upward(U, LS, nc)

    def _finish_upward(self, U, LS, nc):
        """(U, LS, per-sample log-evidence, per-sample dead flag) from the rescaled inside
        messages and the logs of their scales."""
        rhm = self.rhm
        s, m, L = rhm.s, rhm.m, rhm.L
        acc = torch.zeros(nc, dtype=torch.float64)
        for l in range(L + 1):
            acc += LS[l].view(-1, nc).sum(0, dtype=torch.float64)
        dead_s = torch.isneginf(acc)
        # root: P(x_t) = (1/n_c) sum_c U_0(c) * exp(acc) * m^{-internal nodes}
        if self.log:
            root = torch.logsumexp(U[0].to(torch.float64), 0)
            dead_s |= torch.isneginf(root)
        else:
            tot = U[0].to(torch.float64).sum(0)
            dead_s |= tot <= 0
            root = torch.log(tot)
        n_internal = (s**L - 1) // (s - 1)
        logev = torch.where(dead_s, 0.0, acc + root) - np.log(rhm.n_classes) - n_internal * np.log(m)
        return U, LS, logev, dead_s

    def root_posterior(self, U0):
        """(A_0, nc) posterior of the class (uniform prior), linear domain."""
        if self.log:
            return torch.softmax(U0, 0)
        tot = U0.sum(0, keepdim=True)
        return U0 / torch.where(tot > 0, tot, 1.0)

    # ---- downward: marginals ---------------------------------------------------------
    def _col_index(self, level, nc):
        """Storage column ``rev(j) * nc + sample`` of every natural row ``sample * s**l + j``."""
        key = ("c", level, nc)
        rev = self._rev(level)
        with self._lock:
            if key not in self._rows:
                N = self.rhm.s**level
                r = torch.arange(N * nc)
                self._rows[key] = rev[r % N] * nc + r // N
            return self._rows[key]

    def _write(self, T, level, nc, arr, rows):
        """``arr[rows]`` = natural layout of the transposed storage ``T`` ((s**l * nc, A),
        row = storage column): one gather of contiguous rows of length A."""
        target = arr[rows]
        cidx = self._col_index(level, nc)
        if target.dtype == self.np_dtype and target.flags.c_contiguous and target.flags.writeable:
            torch.index_select(T, 0, cidx, out=torch.from_numpy(target).view(-1, T.shape[1]))
        else:
            target[...] = T.index_select(0, cidx).numpy().reshape(target.shape)

    def marginals(self, U, nc, out, rows):
        """Write the marginals of every level into ``out[l][rows]`` (natural layout).

        Returns the per-sample flag of a marginal that could not be normalized (all zero or
        not finite, possible only in float32 for extreme evidence): such samples must be
        recomputed exactly.
        """
        rhm = self.rhm
        s, m, L = rhm.s, rhm.m, rhm.L
        wk = self._work(nc)
        W = wk["W"] if wk["G"] is not None else min(wk["W"], _BLOCK_COLS_NO_STORE)
        M = self.root_posterior(U[0])
        self._write(M.T.contiguous(), 0, nc, out[0], rows)
        if self.nb is not None:
            return self._marginals_numba(U, M.numpy(), nc, out, rows, wk)
        ok = torch.ones(nc, dtype=torch.bool)
        for level in range(L):
            A, An = self.sizes[level], self.sizes[level + 1]
            B = nc * s**level
            children = U[level + 1].view(An, s, B)
            Ul = U[level]
            idx = self.idx[level]
            Mn = None if level + 1 == L else wk["M"][level % 2][: An * s * B].view(An, s * B)
            T = wk["T"][: s * B * An].view(s * B, An)  # transposed child marginals
            tot = wk["tot"][: s * B].view(s, B)
            for c0 in range(0, B, W):
                c1 = min(B, c0 + W)
                w = c1 - c0
                if wk["G"] is None:
                    g = self._gather_products(children, level, c0, c1, wk).view(m, A, w)
                else:  # stored by the upward pass
                    g = wk["G"][level][c0 * m * A:c1 * m * A].view(m, A, w)
                # ratio P_l(a) / U_l(a): U is normalized per column, so the child marginals
                # below are off by a per-column constant, removed by their normalization; a
                # symbol with U_l(a) = 0 has P_l(a) = 0 and gets ratio 0 (0/0 -> 0)
                rt = wk["rt"][: A * w].view(A, w)
                if self.log:
                    u = Ul[:, c0:c1]
                    torch.log(M[:, c0:c1], out=rt)
                    rt.sub_(u).masked_fill_(torch.isneginf(u), float("-inf"))
                    g.add_(rt).exp_()
                else:
                    torch.div(M[:, c0:c1], Ul[:, c0:c1], out=rt).nan_to_num_(0.0)
                    g.mul_(rt)
                g = g.view(m * A, w)
                for i in range(s):
                    buf = wk["pb"][: An * w].view(An, w)
                    buf.zero_()
                    buf.index_add_(0, idx[i], g)
                    t = tot[i, c0:c1]
                    torch.sum(buf, 0, out=t)
                    buf.div_(t)
                    if Mn is not None:
                        Mn[:, i * B + c0:i * B + c1] = buf
                    T[i * B + c0:i * B + c1].copy_(buf.T)
            self._write(T, level + 1, nc, out[level + 1], rows)
            # a column whose total is 0, inf or NaN could not be normalized
            tot = tot.view(s, -1, nc)
            ok &= ((tot > 0) & (tot < float("inf"))).all(0).all(0)
            M = Mn
        return ~ok

    def _marginals_numba(self, U, M, nc, out, rows, wk):
        """:meth:`marginals` below the root with the numba kernels."""
        s, L = self.rhm.s, self.rhm.L
        bad = np.zeros(nc, dtype=bool)
        for level in range(L):
            An = self.sizes[level + 1]
            B = nc * s**level
            Mn = wk["M"][level % 2][: An * s * B].numpy().reshape(An, s * B)
            bad_cols = np.zeros(s * B, dtype=bool)
            self.nb.down_level(U[level + 1].numpy(), self.idx_np[level], U[level].numpy(), M,
                               Mn, bad_cols, self._tiny)
            target = out[level + 1][rows]
            if target.dtype == self.np_dtype and target.flags.c_contiguous and target.flags.writeable:
                self.nb.to_natural(Mn, self._rev(level + 1).numpy(), target)
            else:
                tmp = np.empty(target.shape, dtype=self.np_dtype)
                self.nb.to_natural(Mn, self._rev(level + 1).numpy(), tmp)
                target[...] = tmp
            bad |= bad_cols.reshape(-1, nc).any(0)
            M = Mn
        return torch.from_numpy(bad)

    # ---- downward: sampling ----------------------------------------------------------
    def sample(self, U, nc, uniforms, out, rows):
        """Exact posterior sample; ``uniforms[l]`` is (nc, s**l) natural U(0,1) draws
        (index 0: the class, l >= 1: the rule of the nodes of level l - 1)."""
        rhm = self.rhm
        s, m, L = rhm.s, rhm.m, rhm.L
        P = self.root_posterior(U[0]).to(torch.float64)
        cum = P.cumsum(0)
        u = torch.from_numpy(uniforms[0]).reshape(nc)
        a = (cum < (u * cum[-1])[None, :]).sum(0).clamp_(max=self.sizes[0] - 1)
        out[0][rows] = a.reshape(nc, 1).numpy()
        for level in range(L):
            B = nc * s**level
            children = U[level + 1].view(self.sizes[level + 1], s, B)
            Rsel = self.R_flat[level].index_select(0, a)  # (B, m * s)
            RT = Rsel.T.contiguous().view(m, s, B)  # RT[r, i, c] = R[a_c, r, i]
            w = None
            for i in range(s):
                gi = torch.gather(children[:, i, :], 0, RT[:, i, :])  # (m, B)
                w = gi if w is None else (w.add_(gi) if self.log else w.mul_(gi))
            if self.log:
                mx = w.amax(0, keepdim=True)
                w = torch.exp(w - torch.where(torch.isneginf(mx), torch.zeros_like(mx), mx))
            cum = w.to(torch.float64).cumsum_(0)
            u = self.to_storage_index(torch.from_numpy(uniforms[level + 1]), level, nc)
            r = (cum < (u * cum[-1])[None, :]).sum(0).clamp_(max=m - 1)
            # a[i * B + c] = R[a_c, r_c, i]: the storage of level l + 1 is (i_{l+1}, parent)
            a = RT.view(m, s * B).gather(0, r.repeat(s)[None, :]).view(-1)
            out[level + 1][rows] = self.to_natural(a, level + 1, nc).numpy()


def _chunk_size(rhm, itemsize):
    per_sample = 3 * itemsize * rhm.v * rhm.d * (1 + 1 / (rhm.s - 1))
    return int(max(1, min(4096, _CHUNK_BYTES // per_sample)))


def _run(rhm, ev, dtype, task, out, uniforms):
    """Process all samples of ``ev`` in batch chunks (in parallel threads, one torch thread
    each); fall back to the log domain (float64) for samples with vanishing messages and to
    the prior for evidence contradicting the grammar."""
    n = ev.shape[0]
    fast = _Engine(rhm, dtype, log=False)
    logev = np.empty(n, dtype=np.float64)
    consistent = np.ones(n, dtype=bool)
    n_threads = max(1, torch.get_num_threads())
    nc_max = min(_chunk_size(rhm, np.dtype(dtype).itemsize), -(-n // n_threads))
    starts = list(range(0, n, nc_max))

    def work(start):
        with torch.no_grad():
            rows = slice(start, min(n, start + nc_max))
            nc = rows.stop - rows.start
            U, _, le, dead = fast.upward(ev[rows], keep_products=task == "marginals")
            logev[rows] = le.numpy()
            if task == "marginals":
                dead = dead | fast.marginals(U, nc, out, rows)
            else:
                fast.sample(U, nc, [u[rows] for u in uniforms], out, rows)
            return start + np.flatnonzero(dead.numpy())

    n_workers = min(len(starts), n_threads)
    # Parallelism over batch chunks in Python threads (torch releases the GIL), each with
    # one intra-op thread: no OpenMP barriers, which are very slow on a busy machine.
    torch.set_num_threads(1)
    try:
        if n_workers > 1:
            with ThreadPoolExecutor(n_workers) as ex:
                redo = list(ex.map(work, starts))
        else:
            redo = [work(s) for s in starts]
        redo = np.concatenate(redo)
        if redo.size:
            with torch.no_grad():
                _redo_exact(rhm, ev, dtype, task, out, uniforms, redo, fast, logev, consistent)
    finally:
        torch.set_num_threads(n_threads)
    return logev, consistent


def _redo_exact(rhm, ev, dtype, task, out, uniforms, redo, fast, logev, consistent):
    """Recompute rows ``redo`` in the log domain (float64); rows whose evidence has zero
    probability get the prior (uniform evidence) and ``consistent = False``."""
    exact = _Engine(rhm, np.float64, log=True)
    k = redo.size
    tmp = [np.empty((k,) + o.shape[1:], dtype=o.dtype) for o in out]
    U, _, le, dead = exact.upward(ev[redo], keep_products=task == "marginals")
    logev[redo] = le.numpy()
    if task == "marginals":
        exact.marginals(U, k, tmp, slice(0, k))
    else:
        exact.sample(U, k, [u[redo] for u in uniforms], tmp, slice(0, k))
    bad = dead.numpy()
    if bad.any():
        kb = int(bad.sum())
        U, _, _, _ = fast.upward(np.ones((kb, rhm.d, rhm.v), dtype=dtype),
                                 keep_products=task == "marginals")
        sub = [np.empty((kb,) + o.shape[1:], dtype=o.dtype) for o in out]
        if task == "marginals":
            fast.marginals(U, kb, sub, slice(0, kb))
        else:
            fast.sample(U, kb, [u[redo[bad]] for u in uniforms], sub, slice(0, kb))
        for t, so in zip(tmp, sub):
            t[bad] = so
        logev[redo[bad]] = NEG_LOG_EVIDENCE
        consistent[redo[bad]] = False
    for o, t in zip(out, tmp):
        o[redo] = t


def belief_propagation(rhm, evidence, dtype=np.float64) -> BPResult:
    r"""Exact posterior marginals of every level of the tree and the log-evidence.

    Computes :math:`P(x_{l,j}=a\mid x_t)` for every level ``l`` (root first) and node ``j``
    by the upward/downward recursions of the module docstring, and
    :math:`\log p(x_t)=\log\sum_{x_0}P(x_0)\prod_i\nu_i(x_{0,i})`. Noise level and time do
    not enter: the evidence carries them (see :mod:`~diffphase.numerics.rhm.noise`).

    Parameters
    ----------
    rhm : RHM
    evidence : array_like, shape (n, d, v)
        Leaf likelihoods :math:`\nu_i(b)\ge 0` (need not be normalized).
    dtype : {numpy.float64, numpy.float32}
        Arithmetic and output precision of the marginals (float32 halves memory and time).

    Returns
    -------
    BPResult
        ``(marginals, log_evidence, consistent)``; for evidence contradicting the grammar
        see the module docstring (prior marginals, ``NEG_LOG_EVIDENCE``, ``False``).

    Examples
    --------
    >>> import numpy as np
    >>> from diffphase.numerics.rhm import RHM, get_process
    >>> rhm = RHM(v=8, m=2, s=2, L=3, seed=0)
    >>> leaves, levels = rhm.sample(4, seed=1)
    >>> ev = get_process("epsilon", rhm.v).evidence(leaves, 0.0)
    >>> res = belief_propagation(rhm, ev)
    >>> [mg.shape for mg in res.marginals]
    [(4, 1, 8), (4, 2, 8), (4, 4, 8), (4, 8, 8)]
    >>> bool((res.marginals[0][:, 0].argmax(1) == levels[0][:, 0]).all())  # noiseless
    True
    >>> np.allclose(res.log_evidence, -np.log(rhm.n_data))
    True
    """
    ev = _check_evidence(rhm, evidence)
    dt = _check_dtype(dtype)
    n = ev.shape[0]
    out = [np.empty((n, rhm.s**l, rhm.n_symbols(l)), dtype=dt) for l in range(rhm.L + 1)]
    logev, consistent = _run(rhm, ev, dt, "marginals", out, None)
    return BPResult(out, logev, consistent)


def posterior_sample(rhm, evidence, seed=None, dtype=np.float64):
    r"""One exact sample of the whole tree from the posterior :math:`P(x_0,\text{tree}\mid x_t)`
    per row of ``evidence``.

    The class is drawn from its marginal, then top-down each node of symbol ``a`` draws its
    rule ``r`` with probability :math:`\propto\prod_i U_{l+1,i}(R_l[a,r,i])` (inside messages
    of the children), by inverse CDF with one uniform per node from ``seed``'s numpy Generator
    (reproducible, independent of the internal batch chunking). Rows whose evidence
    contradicts the grammar get a sample of the prior.

    Parameters
    ----------
    rhm : RHM
    evidence : array_like, shape (n, d, v)
        Leaf likelihoods, as in :func:`belief_propagation`.
    seed : int or None
        Seed of the numpy Generator.
    dtype : {numpy.float64, numpy.float32}
        Precision of the inside messages.

    Returns
    -------
    leaves : ndarray, shape (n, d), int64
    levels : list of ndarray
        ``L + 1`` int64 arrays ``(n, s**l)``, root first (same format as :meth:`RHM.sample`).

    Examples
    --------
    >>> from diffphase.numerics.rhm import RHM, get_process
    >>> rhm = RHM(v=8, m=2, s=2, L=3, seed=0)
    >>> leaves, levels = rhm.sample(3, seed=1)
    >>> ev = get_process("masking", rhm.v).evidence(leaves, 0.0)  # nothing masked
    >>> xs, lv = posterior_sample(rhm, ev, seed=2)
    >>> bool((xs == leaves).all() and (lv[0] == levels[0]).all())
    True
    """
    ev = _check_evidence(rhm, evidence)
    dt = _check_dtype(dtype)
    n = ev.shape[0]
    rng = check_rng(seed)
    uniforms = [rng.random((n, 1))] + [rng.random((n, rhm.s**l)) for l in range(rhm.L)]
    out = [np.empty((n, rhm.s**l), dtype=np.int64) for l in range(rhm.L + 1)]
    _run(rhm, ev, dt, "sample", out, uniforms)
    return out[-1], out
