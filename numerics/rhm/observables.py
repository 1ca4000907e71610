r"""Forward--backward experiments on the RHM with the exact posterior (Sclocchi, Favero, Levi,
Wyart, arXiv 2410.13770).

A clean datum :math:`x_0` (with its tree) is noised to :math:`x_t` at noise level
:math:`\varepsilon` (:math:`t=-\tfrac12\log(1-\varepsilon)`, the package's OU time), then a new
datum :math:`\hat x_0\sim p(x_0\mid x_t)` is drawn exactly with belief propagation. At each
level :math:`l` the probability that a latent is unchanged is

.. math:: P_l(\varepsilon) = \mathbb E\,\frac1{s^l}\sum_j \mathbf 1[\hat x_{l,j} = x_{l,j}]
          = \mathbb E\,\frac1{s^l}\sum_j P(x_{l,j}=x^{\text{true}}_{l,j}\mid x_t),

estimated either from posterior samples (first form) or, with less variance, from the exact
marginals (second form, "Rao--Blackwellized"). The token change indicators
:math:`\sigma_i = \mathbf 1[\hat x_{0,i}\ne x_{0,i}]` give the connected correlation
:math:`C(r)` and the susceptibility :math:`\chi=\sum_r C(r)` (:func:`change_correlations`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import check_array, check_int, check_rng
from .bp import belief_propagation, posterior_sample
from .model import check_rhm
from .noise import get_process

__all__ = ["ForwardBackwardResult", "forward_backward", "change_correlations", "class_curves"]

_ROWS_PER_CALL = 2048


@dataclass
class ForwardBackwardResult:
    """Result of :func:`forward_backward` (levels root first, index ``l = 0..L``).

    Attributes
    ----------
    process : str
    noise : float
        Noise level :math:`\\varepsilon` (probability a token is not kept).
    time : float
        OU time :math:`-\\tfrac12\\log(1-\\varepsilon)` (``inf`` at 1).
    p_unchanged, stderr : ndarray, shape (L+1,)
        :math:`P_l` from posterior samples and its standard error (the spread of the
        per-datum averages over the ``n_samples`` independent data, divided by
        :math:`\\sqrt{n_\\text{samples}}`).
    p_marginal, stderr_marginal : ndarray, shape (L+1,) or None
        :math:`P_l` from the exact marginals (true value's posterior probability), same
        error convention; ``None`` if not requested.
    changed : ndarray, shape (n_samples, n_trajectories, d), bool
        :math:`\\sigma_i`: token ``i`` of trajectory ``k`` differs from the clean datum.
    level_changed : list of ndarray
        Per level ``l``, (n_samples, n_trajectories, s**l) bool: latent changed.
    """

    process: str
    noise: float
    time: float
    p_unchanged: np.ndarray
    stderr: np.ndarray
    p_marginal: np.ndarray | None
    stderr_marginal: np.ndarray | None
    changed: np.ndarray = field(repr=False)
    level_changed: list = field(repr=False)


def _mean_se(per_sample):
    """Mean over axis 0 and its standard error (ddof=1; 0 for a single sample)."""
    n = per_sample.shape[0]
    mean = per_sample.mean(0)
    se = per_sample.std(0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
    return mean, se


def forward_backward(rhm, process, noise, n_samples, n_trajectories=1, seed=None,
                     marginals=True, dtype=np.float64) -> ForwardBackwardResult:
    r"""Forward--backward experiment with the exact posterior at noise level ``noise``.

    Draws ``n_samples`` data from ``rhm``, noises each once with ``process`` at level
    :math:`\varepsilon` = ``noise``, then draws ``n_trajectories`` exact posterior samples
    per noisy datum and compares every level of their trees with the true tree.

    Parameters
    ----------
    rhm : RHM
    process : str or NoiseProcess
        ``"epsilon"``, ``"masking"`` or ``"uniform"`` (see :mod:`.noise`).
    noise : float
        Noise level :math:`\varepsilon\in[0,1]`; OU time :math:`-\tfrac12\log(1-\varepsilon)`.
    n_samples : int
        Independent clean data (``>= 1``; ``>= 2`` for standard errors).
    n_trajectories : int
        Posterior samples per noisy datum (``>= 1``).
    seed : int or None
        Seed of the numpy Generator (data, noise and posterior draws derive from it).
    marginals : bool
        Also compute the lower-variance estimate from the exact marginals.
    dtype : {numpy.float64, numpy.float32}
        BP precision.

    Returns
    -------
    ForwardBackwardResult

    Examples
    --------
    >>> from diffphase.numerics.rhm import RHM
    >>> rhm = RHM(v=8, m=2, s=2, L=3, seed=0)
    >>> res = forward_backward(rhm, "masking", 0.3, n_samples=50, n_trajectories=2, seed=1)
    >>> res.p_unchanged.shape, res.changed.shape
    ((4,), (50, 2, 8))
    >>> bool(res.p_marginal[-1] >= 0.7)  # a kept token is never changed
    True
    """
    check_rhm(rhm)
    proc = get_process(process, rhm.v)
    eps = proc.check_level(noise)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    n_traj = check_int("n_trajectories", n_trajectories, minimum=1)
    rng = check_rng(seed)
    s_data, s_noise, s_post = (int(x) for x in rng.integers(0, 2**62, size=3))
    leaves, levels = rhm.sample(n_samples, seed=s_data)
    xt = proc.noise(leaves, eps, seed=s_noise)
    L = rhm.L
    same = np.zeros((n_samples, L + 1))
    same_marg = np.zeros((n_samples, L + 1)) if marginals else None
    changed = np.empty((n_samples, n_traj, rhm.d), dtype=bool)
    level_changed = [np.empty((n_samples, n_traj, rhm.s**l), dtype=bool) for l in range(L + 1)]
    per_call = max(1, _ROWS_PER_CALL // n_traj)
    post_rng = np.random.default_rng(s_post)
    for start in range(0, n_samples, per_call):
        rows = slice(start, min(n_samples, start + per_call))
        k = rows.stop - rows.start
        ev = proc.evidence(xt[rows], eps, dtype=dtype)
        if marginals:
            res = belief_propagation(rhm, ev, dtype=dtype)
            for l in range(L + 1):
                truth = levels[l][rows]
                p_true = np.take_along_axis(res.marginals[l], truth[..., None], axis=-1)[..., 0]
                same_marg[rows, l] = p_true.mean(1)
            del res
        ev_rep = np.repeat(ev, n_traj, axis=0)
        del ev
        _, post = posterior_sample(rhm, ev_rep, seed=int(post_rng.integers(0, 2**62)), dtype=dtype)
        for l in range(L + 1):
            diff = post[l].reshape(k, n_traj, -1) != levels[l][rows][:, None, :]
            level_changed[l][rows] = diff
            same[rows, l] = 1.0 - diff.mean(axis=(1, 2))
        changed[rows] = level_changed[L][rows]
    p, se = _mean_se(same)
    pm, sem = _mean_se(same_marg) if marginals else (None, None)
    return ForwardBackwardResult(proc.name, eps, proc.time(eps), p, se, pm, sem, changed,
                                 level_changed)


def change_correlations(changed):
    r"""Connected correlation of token changes and the susceptibility.

    With :math:`\sigma_i\in\{0,1\}` the change indicator of token ``i`` and
    :math:`\langle\cdot\rangle` the average over all data and trajectories,

    .. math:: C(r) = \frac1{d-r}\sum_{i=0}^{d-r-1}\Big(\langle\sigma_i\sigma_{i+r}\rangle
              - \langle\sigma_i\rangle\langle\sigma_{i+r}\rangle\Big),\qquad
              \chi = \sum_{r=0}^{d-1} C(r),

    (open boundaries; :math:`C(0)` is the mean variance). Computed with zero-padded FFTs.

    Parameters
    ----------
    changed : array_like, shape (..., d), or ForwardBackwardResult
        Change indicators; all leading axes are pooled into the average.

    Returns
    -------
    C : ndarray, shape (d,)
        :math:`C(r)` for :math:`r = 0..d-1`.
    chi : float
        :math:`\chi`.

    Examples
    --------
    >>> import numpy as np
    >>> sigma = np.array([[1, 1, 0, 0], [0, 0, 1, 1]])
    >>> C, chi = change_correlations(sigma)
    >>> C.round(3).tolist(), round(chi, 3)
    ([0.25, 0.083, -0.25, -0.25], -0.167)
    """
    if isinstance(changed, ForwardBackwardResult):
        changed = changed.changed
    x = np.asarray(changed)
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError("changed must have shape (..., d) with d >= 1")
    d = x.shape[-1]
    x = x.reshape(-1, d).astype(np.float64)
    if x.shape[0] < 1:
        raise ValueError("changed must hold at least one sequence")
    if not np.all(np.isfinite(x)):
        raise ValueError("changed must be finite")
    n_fft = 1 << int(np.ceil(np.log2(2 * d)))
    fx = np.fft.rfft(x, n_fft, axis=1)
    raw = np.fft.irfft((fx * np.conj(fx)).sum(0), n_fft)[:d] / x.shape[0]
    mu = x.mean(0)
    fm = np.fft.rfft(mu, n_fft)
    mm = np.fft.irfft(fm * np.conj(fm), n_fft)[:d]
    C = (raw - mm) / (d - np.arange(d))
    return C, float(C.sum())


def class_curves(rhm, process, noises, n_samples, seed=None, dtype=np.float64):
    r"""Exact-BP probability that each level's latent is kept, over a grid of noise levels.

    For each :math:`\varepsilon` the Rao--Blackwellized estimate
    :math:`P_l(\varepsilon)=\mathbb E\,\frac1{s^l}\sum_j P(x_{l,j}=x^{\rm true}_{l,j}\mid x_t)`
    over ``n_samples`` data (the same data at every noise level: common random numbers).

    Returns
    -------
    p, stderr : ndarray, shape (len(noises), L+1)
        Root (class) first.
    """
    check_rhm(rhm)
    proc = get_process(process, rhm.v)
    noises = np.atleast_1d(check_array("noises", noises))
    for e in noises:
        proc.check_level(e)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    rng = check_rng(seed)
    s_data, s_noise = (int(x) for x in rng.integers(0, 2**62, size=2))
    leaves, levels = rhm.sample(n_samples, seed=s_data)
    p = np.empty((noises.size, rhm.L + 1))
    se = np.empty_like(p)
    for k, eps in enumerate(noises):
        xt = proc.noise(leaves, eps, seed=s_noise)
        per = np.empty((n_samples, rhm.L + 1))
        for start in range(0, n_samples, _ROWS_PER_CALL):
            rows = slice(start, min(n_samples, start + _ROWS_PER_CALL))
            res = belief_propagation(rhm, proc.evidence(xt[rows], eps, dtype=dtype), dtype=dtype)
            for l in range(rhm.L + 1):
                pt = np.take_along_axis(res.marginals[l], levels[l][rows][..., None], -1)[..., 0]
                per[rows, l] = pt.mean(1)
        p[k], se[k] = _mean_se(per)
    return p, se
