r"""Training data, clean-token posteriors and reverse samplers of ``rhm_discrete``
(:mod:`diffphase.validation.rhm`).

* data: :func:`rhm_dataset`, the leaves of an RHM as a training set;
* posteriors ``posterior(x, eps) -> p(x_0 | x)``: a trained network (:func:`model_posterior`)
  and exact belief propagation (:func:`bp_posterior`, the Bayes-optimal denoiser);
* reverse processes (:func:`regenerate`, :func:`generate`): masking (one token revealed per
  step) and uniform diffusion (the process's β schedule), described in the docstring of
  :mod:`diffphase.validation.rhm`.

Noise levels :math:`\varepsilon = 1-e^{-2t}` at OU time ``t``
(:func:`diffphase.numerics.conventions.noise_level`).
"""

from __future__ import annotations

import numpy as np

from diffphase.numerics import conventions as cv
from diffphase.numerics.checks import check_int, check_real
from diffphase.numerics.rhm import RHM, NoiseProcess, belief_propagation, get_process

__all__ = ["rhm_dataset", "model_posterior", "bp_posterior", "regenerate", "generate"]


# --------------------------------------------------------------------------------------
# data, denoisers as posteriors
# --------------------------------------------------------------------------------------
def rhm_dataset(rhm: RHM, n: int, seed: int):
    """``n`` data of ``rhm`` as a training set for the discrete objectives of
    :func:`~diffphase.validation.train.train`.

    Parameters
    ----------
    rhm : RHM
    n : int
        Number of data (``>= 1``), drawn by :meth:`~diffphase.numerics.rhm.RHM.sample`.
    seed : int
        Seed of the draw.

    Returns
    -------
    Dataset
        ``data``: the leaves, int64 ``(n, d)``; ``labels``: the classes; ``meta``:
        ``{"vocab": v, "m", "s", "L", "rules_seed"}``.
    """
    import torch

    from ..data import Dataset

    n = check_int("n", n, minimum=1)
    leaves, levels = rhm.sample(n, seed=seed)
    d = rhm.d
    return Dataset(torch.from_numpy(leaves), torch.from_numpy(levels[0][:, 0]), torch.zeros(d), torch.ones(d),
                   None, "rhm", {"vocab": rhm.v, "m": rhm.m, "s": rhm.s, "L": rhm.L, "rules_seed": rhm.seed})


def model_posterior(model, t_min: float = 1e-3, t_max: float = 5.0, device=None, batch_size: int = 8192):
    r"""The predicted clean-token law of a trained :class:`~diffphase.validation.models.TreeDenoiser`
    as a function ``posterior(x, eps) -> p`` of numpy arrays.

    ``p[n, i, a]`` :math:`=\hat p(x_{0,i}=a\mid x)` = softmax of the logits, the network fed
    with the OU time :math:`t = -\tfrac12\log(1-\varepsilon)` of each row's noise level
    ``eps`` (:func:`~diffphase.numerics.conventions.time_from_noise_level`), clipped to the
    training range ``[t_min, t_max]``.

    Parameters
    ----------
    model : torch.nn.Module
        ``model(x_long, t) -> logits (B, d, v)``.
    t_min, t_max : float
        OU-time range of the training (``0 < t_min < t_max``).
    device : str or torch.device, optional
        Default: the model's device.
    batch_size : int
        Rows per forward pass.

    Returns
    -------
    callable
        ``posterior(x (n, d) int, eps float or (n,)) -> ndarray (n, d, v) float64``.
    """
    import torch

    t_min = check_real("t_min", t_min, low=0, low_open=True)
    t_max = check_real("t_max", t_max, low=t_min, low_open=True)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if device is None:
        device = next(model.parameters()).device
    model = model.to(device).eval()
    e_lo, e_hi = cv.noise_level(t_min), cv.noise_level(t_max)

    def posterior(x, eps):
        x = np.asarray(x)
        e = np.broadcast_to(np.asarray(eps, dtype=np.float64), (x.shape[0],))
        t = torch.from_numpy(np.asarray(cv.time_from_noise_level(np.clip(e, e_lo, e_hi)), dtype=np.float64)
                             .reshape(-1))
        out = []
        with torch.no_grad():
            for i in range(0, x.shape[0], batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size], dtype=np.int64)).to(device)
                logits = model(xb, t[i:i + batch_size].float().to(device)).double()
                out.append(torch.softmax(logits, dim=-1).cpu().numpy())
        return np.concatenate(out, axis=0)

    return posterior


def bp_posterior(rhm: RHM, process):
    r"""The Bayes-optimal denoiser: ``posterior(x, eps)`` = exact leaf marginals
    :math:`p(x_{0,i}=a\mid x_t = x)` by belief propagation with the evidence of ``process`` at
    level ``eps`` (:func:`~diffphase.numerics.rhm.belief_propagation`). ``eps`` may differ per
    row (rows are grouped by level)."""
    proc = get_process(process, rhm.v)

    def posterior(x, eps):
        x = np.asarray(x)
        e = np.broadcast_to(np.asarray(eps, dtype=np.float64), (x.shape[0],))
        out = np.empty(x.shape + (rhm.v,))
        for level in np.unique(e):
            rows = np.flatnonzero(e == level)
            res = belief_propagation(rhm, proc.evidence(x[rows], float(level)))
            out[rows] = res.marginals[-1]
        return out

    return posterior


# --------------------------------------------------------------------------------------
# reverse processes
# --------------------------------------------------------------------------------------
def _draw(p, u):
    """Inverse-CDF draws from the rows of ``p`` (..., v) with uniforms ``u`` (...)."""
    c = np.cumsum(p, axis=-1)
    return np.minimum((c < u[..., None] * c[..., -1:]).sum(-1), p.shape[-1] - 1)


def _reveal(posterior, x, v, rng):
    """Masking reverse process: reveal the masked tokens (``== v``) one per step in random order."""
    x = x.copy()
    n, d = x.shape
    masked = x == v
    while True:
        k = masked.sum(1)
        rows = np.flatnonzero(k > 0)
        if rows.size == 0:
            return x
        p = posterior(x[rows], k[rows] / d)
        j = np.floor(rng.random(rows.size) * k[rows]).astype(np.int64)  # which masked token
        pos = np.argmax(np.cumsum(masked[rows], axis=1) > j[:, None], axis=1)
        x[rows, pos] = _draw(p[np.arange(rows.size), pos], rng.random(rows.size))
        masked[rows, pos] = False


def _uniform_levels(proc, eps):
    """Noise levels of the uniform reverse chain: ``eps``, then the schedule's levels below it, down to 0."""
    levels = cv.noise_level(proc.schedule.times)  # 1 - alpha_bar_k, k = 0..T (as NoiseProcess.level_at_step)
    below = levels[levels < eps][::-1]
    return np.concatenate([[eps], below])


def _uniform_reverse(posterior, proc, x, eps, rng):
    """Uniform-diffusion reverse chain from level ``eps`` to 0 (docstring of :mod:`diffphase.validation.rhm`)."""
    v = proc.v
    x = x.copy()
    grid = _uniform_levels(proc, eps)
    for e, e2 in zip(grid[:-1], grid[1:]):
        p = posterior(x, e)
        onehot = np.zeros(p.shape)
        np.put_along_axis(onehot, x[..., None], 1.0, axis=-1)
        w = p / ((1.0 - e) * onehot + e / v)            # p(a | x) / q(x | a; e)
        r = (1.0 - e2) * w + (e2 / v) * w.sum(-1, keepdims=True)   # sum_a w(a) q(b | a; e2)
        alpha = (1.0 - e) / (1.0 - e2)                   # keep probability from e2 to e
        q = r * (alpha * onehot + (1.0 - alpha) / v)     # times q(x | b; e2 -> e)
        x = _draw(q, rng.random(x.shape))
    return x


def regenerate(posterior, process, xt, eps, seed=None):
    r"""Run the reverse process from noised tokens ``xt`` at level ``eps`` down to clean tokens.

    Parameters
    ----------
    posterior : callable
        ``posterior(x, eps) -> (n, d, v)`` clean-token law (:func:`model_posterior` or
        :func:`bp_posterior`).
    process : NoiseProcess
        :class:`~diffphase.numerics.rhm.Masking` (reveal one token per step, exact for an
        exact posterior) or :class:`~diffphase.numerics.rhm.UniformDiffusion` (the process's
        β schedule from ``eps`` to 0); see the docstring of :mod:`diffphase.validation.rhm`.
        :math:`\varepsilon = 1-e^{-2t}`, ``t`` the OU time.
    xt : array_like, shape (n, d), int
        Noised tokens (mask symbol ``v`` for masking).
    eps : float
        Their noise level in [0, 1].
    seed : int or None
        Seed of the numpy Generator of the draws.

    Returns
    -------
    ndarray, shape (n, d), int64
    """
    if not isinstance(process, NoiseProcess):
        raise ValueError("process must be a NoiseProcess, e.g. diffphase.numerics.rhm.get_process('masking', v)")
    proc, v = process, process.v
    eps = proc.check_level(eps)
    x = proc._check_tokens(xt, "xt", allow_mask=proc.name == "masking")
    rng = np.random.default_rng(seed)
    if proc.name == "masking":
        return _reveal(posterior, x, v, rng)
    if proc.name == "uniform":
        return _uniform_reverse(posterior, proc, x, eps, rng)
    raise ValueError(f"process must be 'masking' or 'uniform', got {proc.name!r}")


def generate(posterior, process, n: int, d: int, seed=None):
    r"""Samples from pure noise by :func:`regenerate` from level :math:`\varepsilon = 1`
    (OU time :math:`t=\infty`): every token masked, or uniform tokens.

    Parameters
    ----------
    posterior : callable
        As in :func:`regenerate`.
    process : NoiseProcess
        :class:`~diffphase.numerics.rhm.Masking` or :class:`~diffphase.numerics.rhm.UniformDiffusion`.
    n, d : int
        Number of samples and their length (``>= 1``).
    seed : int or None
        Seed of the numpy Generator.

    Returns
    -------
    ndarray, shape (n, d), int64
    """
    n = check_int("n", n, minimum=1)
    d = check_int("d", d, minimum=1)
    rng = np.random.default_rng(seed)
    s_noise, s_rev = (int(s) for s in rng.integers(0, 2**62, size=2))
    x0 = np.zeros((n, d), dtype=np.int64)
    return regenerate(posterior, process, process.noise(x0, 1.0, seed=s_noise), 1.0, seed=s_rev)

