r"""Backward (generative) samplers in OU time for any score, and the cloning protocol.

Forward process: :math:`dx = -x\,dt + dB`, :math:`\langle dB_idB_j\rangle = 2\delta_{ij}dt`, so
:math:`x_t = e^{-t}x_0 + \sqrt{\Delta_t}z`. Its time reversal, run from large :math:`t` down to
:math:`0`, is (Biroli et al. 2024)

.. math:: -dx = [x + 2\nabla\log P_t(x)]\,dt + d\eta .

A *score* is any callable ``score(x, t)`` taking an array of shape (B, d) and a scalar OU time
and returning an array of the same shape: the exact mixture score
(:meth:`diffphase.numerics.gaussian_mixture.GaussianMixture.score`), the empirical score
(:class:`diffphase.numerics.empirical.EmpiricalScore`) or a trained network (through the
adapter of :mod:`diffphase.validation.models`). Arrays may be numpy arrays or torch tensors;
the samplers only use arithmetic and draw their noise with a generator of the same library.

Two steppers from :math:`t` to :math:`s<t` (:math:`h = t-s`):

``"euler_maruyama"``
    :math:`x \leftarrow x + h\,[x + 2S(x,t)] + \sqrt{2h}\,\xi` (strong order 1/2).
``"exponential"``
    The exponential integrator that holds the denoiser :math:`D = (x + \Delta_tS)/e^{-t}`
    (Tweedie) fixed over the step and integrates the rest exactly: :math:`x_s` is drawn from
    the Gaussian bridge :math:`q(x_s\mid x_t, x_0 = D)`,

    .. math:: x_s = \frac{e^{-s}(1-e^{-2h})}{\Delta_t}D + \frac{e^{-h}\Delta_s}{\Delta_t}x
              + \sqrt{\frac{\Delta_s(1-e^{-2h})}{\Delta_t}}\,\xi .

    It is the DDPM ancestral step in OU time (SDE-DPM-Solver-1 with data prediction): weakly
    first order like Euler--Maruyama, and exact for any step size when the data is a single
    point (tests check both).

Both steppers, the bridge and the time grids live in :mod:`diffphase.numerics.process`
(:func:`~diffphase.numerics.process.step`, :func:`~diffphase.numerics.process.bridge`,
:func:`~diffphase.numerics.process.time_grid`); this module runs them along a grid.

The cloning protocol (:func:`clone_agreement_simulation`) runs one trajectory from noise down
to a branching time, duplicates it, finishes both copies with independent noise and compares
their labels (class, or training point for :math:`\phi_C`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from . import process
from .checks import check_array, check_int, check_times

__all__ = [
    "sample",
    "SamplePath",
    "sample_path",
    "sample_levels",
    "CloneResult",
    "clone_agreement_simulation",
    "clone_score_evaluations",
]



def _check_state(x_init):
    if not (process.is_torch(x_init) or isinstance(x_init, np.ndarray)) or x_init.ndim != 2:
        shape = tuple(x_init.shape) if hasattr(x_init, "shape") else x_init
        raise ValueError(f"x_init must have shape (B, d) (a numpy array or torch tensor), got {shape!r:.80}")


def _concat(parts):
    if process.is_torch(parts[0]):
        import torch

        return torch.cat(parts, dim=0)
    return np.concatenate(parts, axis=0)


def _integrate(score, x_init, times, method, seed, save_times):
    """The loop of :func:`sample` and :func:`sample_path`: final state and ``{t: state}``."""
    method = process.check_method(method)
    g = process.check_grid(times)
    _check_state(x_init)
    wanted = set()
    if save_times is not None:
        for s in np.atleast_1d(check_array("save_times", save_times)):
            hits = np.nonzero(np.isclose(g, s, rtol=0, atol=1e-12))[0]
            if hits.size == 0:
                raise ValueError(f"save_times must be grid times; {s} is not in times")
            wanted.add(int(hits[0]))
    noise = process.Normals(seed, x_init)
    x = x_init
    saved = {}
    if 0 in wanted:
        saved[float(g[0])] = x
    for k in range(g.size - 1):
        x = process.step(method, score, x, float(g[k]), float(g[k + 1]), noise)
        if k + 1 in wanted:
            saved[float(g[k + 1])] = x
    return x, saved


def sample(score: Callable, x_init, times, *, method: str = "exponential", seed=None):
    r"""Integrate the backward SDE from ``x_init`` at ``times[0]`` down to ``times[-1]``.

    Parameters
    ----------
    score : callable
        ``score(x, t)`` → :math:`\nabla\log P_t(x)`, OU time.
    x_init : ndarray or torch.Tensor, shape (B, d)
        States at ``times[0]`` (for large ``times[0]``, standard normal draws).
    times : array_like
        Strictly decreasing OU times (see :func:`~diffphase.numerics.process.time_grid`).
    method : {"exponential", "euler_maruyama"}
        Stepper (module docstring).
    seed : int or numpy.random.SeedSequence, optional
        Seed of the noise.

    Returns
    -------
    same type as ``x_init``
        States at ``times[-1]`` (:func:`sample_path` also keeps intermediate states).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.5, -0.5]])                  # a single data point
    >>> score = lambda x, t: -(x - np.exp(-t) * a) / (1 - np.exp(-2 * t))
    >>> x0 = np.random.default_rng(0).standard_normal((4, 2))
    >>> out = sample(score, x0, process.time_grid(6.0, 1e-4, 50), seed=1)
    >>> bool(np.allclose(out, a, atol=0.05))
    True
    """
    return _integrate(score, x_init, times, method, seed, None)[0]


@dataclass(frozen=True)
class SamplePath:
    r"""A trajectory of the backward SDE (:func:`sample_path`).

    Attributes
    ----------
    x : ndarray or torch.Tensor, shape (B, d)
        States at the last grid time.
    times : ndarray, shape (T,)
        The saved OU times, decreasing (the generative direction).
    states : list
        The states at ``times``, each of the type and shape of ``x``.
    """

    x: object
    times: np.ndarray
    states: list = field(repr=False)

    def as_dict(self) -> dict:
        """``{t: state}`` (the trajectory format of
        :func:`~diffphase.numerics.information.online_posterior`, which also takes the path
        itself)."""
        return {float(t): s for t, s in zip(self.times, self.states)}


def sample_path(score: Callable, x_init, times, *, save_times=None, method: str = "exponential",
                seed=None) -> SamplePath:
    r"""Integrate the backward SDE like :func:`sample` and keep the states at ``save_times``.

    Parameters
    ----------
    score, x_init, times, method, seed
        As in :func:`sample`; the same ``seed`` gives the same trajectory.
    save_times : array_like, optional
        Grid times whose states to keep (default: every grid time).

    Returns
    -------
    SamplePath

    Examples
    --------
    >>> import numpy as np
    >>> score = lambda x, t: -x                          # standard normal data: P_t = N(0, I)
    >>> g = process.time_grid(2.0, 0.1, 4)
    >>> path = sample_path(score, np.zeros((3, 1)), g, seed=0)
    >>> path.times.shape, len(path.states), bool(np.array_equal(path.x, path.states[-1]))
    ((5,), 5, True)
    """
    g = process.check_grid(times)
    x, saved = _integrate(score, x_init, g, method, seed, g if save_times is None else save_times)
    ts = sorted(saved, reverse=True)
    return SamplePath(x, np.array(ts), [saved[t] for t in ts])


class _Coarse:
    """A coarser copy of a trajectory on a sub-grid, driven by the same Brownian path.

    ``advance(x_fine_noise, t, s)`` is called for every fine step; it accumulates the fine
    step's additive noise (propagated by the fine steps' linear parts, see
    :func:`~diffphase.numerics.process.step_noise`) and, when ``s`` is a point of the coarse grid, takes one coarse
    step from the last coarse point with the accumulated noise."""

    def __init__(self, method, score, x, t0):
        self.method, self.score, self.x, self.t0, self.acc = method, score, x, float(t0), None

    def advance(self, noise_value, t: float, s: float, at_coarse_point: bool):
        prop = process.step_noise(self.method, t, s).propagator
        if noise_value is not None:
            self.acc = noise_value if self.acc is None else prop * self.acc + noise_value
        elif self.acc is not None:
            self.acc = prop * self.acc
        if at_coarse_point:
            out = process.step_mean(self.method, self.score, self.x, self.t0, s)
            self.x = out if self.acc is None else out + self.acc
            self.t0, self.acc = float(s), None


def sample_levels(score: Callable, x_init, times, factors=(1, 2), *, method: str = "exponential",
                  seed=None) -> dict:
    r"""Integrate the backward SDE on the grid ``times`` and on its sub-grids ``times[::f]``,
    all driven by one Brownian path (coupled noise).

    The fine grid is stepped with :func:`sample`'s steppers; a sub-grid takes one step per
    ``f`` fine steps with the noise of those fine steps combined exactly (Brownian increments
    add for Euler--Maruyama; for the exponential integrator the fine noises are propagated by
    the steps' linear parts, :func:`~diffphase.numerics.process.step_noise`). Differences between levels then
    measure the discretization error with far less variance than independent runs: the weak
    error of the fine grid is estimated by :math:`\mathbb E[g(x^{(1)}) - g(x^{(2)})]/(2^p-1)`
    (Richardson, weak order :math:`p`).

    Parameters
    ----------
    score : callable
        ``score(x, t)`` (OU time).
    x_init : ndarray or torch.Tensor, shape (B, d)
        States at ``times[0]``.
    times : array_like
        Strictly decreasing OU times; ``len(times) - 1`` must be divisible by every factor.
    factors : sequence of int
        Sub-grid strides (``>= 1``; 1 is the fine grid itself).
    method : {"exponential", "euler_maruyama"}
    seed : int or numpy.random.SeedSequence, optional
        The fine grid's result equals :func:`sample` with the same ``seed``.

    Returns
    -------
    dict
        ``{f: states at times[-1]}`` for each factor.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.5, -0.5]])                  # one data point: the integrator is exact
    >>> score = lambda x, t: -(x - np.exp(-t) * a) / (1 - np.exp(-2 * t))
    >>> x0 = np.random.default_rng(0).standard_normal((3, 2))
    >>> out = sample_levels(score, x0, process.time_grid(6.0, 0.5, 8), factors=(1, 4), seed=2)
    >>> bool(np.allclose(out[1], out[4]))           # same path, same exact answer
    True
    """
    method = process.check_method(method)
    g = process.check_grid(times)
    _check_state(x_init)
    factors = [check_int("factors", f, minimum=1) for f in factors]
    n = g.size - 1
    bad = [f for f in factors if n % f]
    if bad:
        raise ValueError(f"the grid has {n} steps, not divisible by factors {bad}; choose n_steps as a multiple")
    noise = process.Normals(seed, x_init)
    x = x_init
    coarse = {f: _Coarse(method, score, x_init, g[0]) for f in factors if f > 1}
    for k in range(n):
        t, s_ = float(g[k]), float(g[k + 1])
        std = process.step_noise(method, t, s_).std
        nv = std * noise(x) if std > 0 else None
        out = process.step_mean(method, score, x, t, s_)
        x = out if nv is None else out + nv
        for f, c in coarse.items():
            c.advance(nv, t, s_, (k + 1) % f == 0)
    return {f: (x if f == 1 else coarse[f].x) for f in factors}


@dataclass(frozen=True)
class CloneResult:
    r"""Outcome of :func:`clone_agreement_simulation`.

    Attributes
    ----------
    times : ndarray, shape (G,)
        Branching OU times (decreasing).
    agreement : dict
        ``{label_name: ndarray (G,)}``, the fraction of pairs whose two ends have equal
        labels (:math:`\phi(t)` for class labels, :math:`\phi_C(t)` for training points).
    stderr : dict
        Binomial standard errors :math:`\sqrt{\phi(1-\phi)/N}` (``N`` pairs; a pair is one
        independent trial, so the error is exact for the binomial count).
    n_pairs : int
    labels : dict
        ``{label_name: ndarray (G, n_pairs, 2)}``, the labels of both ends of every pair.
    bias, bias_stderr : dict or None
        ``{label_name: ndarray (G,)}``: the discretization-error estimate of ``agreement`` and
        its standard error — the agreement of the same pairs on a coarser grid (every other
        step, the branching times kept) driven by the same Brownian path, minus the agreement
        on the grid: for a first-order integrator, :math:`\phi_h = \phi + Ch` and
        :math:`\phi_{2h} = \phi + 2Ch`, so this Richardson estimate is the grid's bias
        :math:`Ch`. ``None`` when ``error_estimate=False``.
    settings : dict
        The integration settings (``t_max``, ``t_end``, ``n_steps``, ``grid``, ``method``, the
        number of steps of the merged grid and of the coarse one).
    """

    times: np.ndarray
    agreement: dict
    stderr: dict
    n_pairs: int
    labels: dict = field(repr=False)
    bias: dict | None = None
    bias_stderr: dict | None = None
    settings: dict = field(default_factory=dict)

    def bias_within(self, fraction: float = 1.0, name: str | None = None) -> bool:
        r"""Whether the estimated discretization bias is below ``fraction`` of the binomial
        standard error at every branching time, with room for its own error:
        :math:`|b| + 2\,\mathrm{se}(b) \le \text{fraction}\cdot\sqrt{\phi(1-\phi)/N}`.

        Raises
        ------
        ValueError
            If the result has no error estimate.
        """
        if self.bias is None:
            raise ValueError("this result has no discretization-error estimate (error_estimate=False)")
        names = [name] if name is not None else list(self.bias)
        return all(bool(np.all(np.abs(self.bias[n]) + 2 * self.bias_stderr[n]
                                  <= fraction * np.maximum(self.stderr[n], 0.5 / math.sqrt(self.n_pairs))))
                   for n in names)


def _clone_grid(branch_times, t_max: float, t_end: float, n_steps: int, grid: str):
    """The cloning protocol's grid: ``n_steps`` steps of kind ``grid`` with the branching times
    inserted (decreasing), the branching times (decreasing), and ``{grid index: branch index}``."""
    base = process.time_grid(t_max, t_end, n_steps, grid)
    bt = np.unique(check_times(branch_times, "branch_times"))[::-1]
    if bt.size == 0 or bt[0] >= t_max or bt[-1] <= t_end:
        raise ValueError(f"branch_times must lie in (t_end, t_max) = ({t_end}, {t_max})")
    g = np.unique(np.concatenate([base, bt]))[::-1]
    return g, bt, {int(np.nonzero(g == b)[0][0]): i for i, b in enumerate(bt)}


def _coarse_points(g, base, branch_at) -> np.ndarray:
    """Boolean mask of the merged grid ``g``: the coarse grid keeps every other point of the
    base grid (both ends included) and every branching time."""
    keep = np.zeros(g.size, dtype=bool)
    keep[0] = keep[-1] = True
    keep[list(branch_at)] = True
    even = set(np.round(base[::2], 15).tolist())
    keep |= np.array([round(float(x), 15) in even for x in g])
    return keep


def clone_agreement_simulation(
    score: Callable,
    x_init: Callable,
    branch_times,
    n_pairs: int,
    classify: Mapping[str, Callable] | Callable,
    *,
    t_max: float = 10.0,
    t_end: float = 1e-3,
    n_steps: int = 2000,
    grid: str = "uniform",
    method: str = "exponential",
    seed=0,
    batch_pairs: int = 512,
    error_estimate: bool = True,
) -> CloneResult:
    r"""Cloning protocol of Biroli et al. (2024) for any score.

    For each of ``n_pairs`` independent parents: draw :math:`x_{t_{max}}` with ``x_init``,
    integrate the backward SDE; at every branching time :math:`t_b` duplicate the state and
    finish both copies down to ``t_end`` with independent noise; label both ends with each
    classifier. Returns the fraction of pairs with equal labels at every :math:`t_b`.

    All parents and the active copies move together on one grid (``n_steps`` steps of kind
    ``grid`` with the branching times inserted), so each grid step is one score call per
    batch of ``batch_pairs`` parents.

    Parameters
    ----------
    score : callable
        ``score(x, t)`` (OU time).
    x_init : callable
        ``x_init(n, rng)`` → states of shape (n, d) at ``t_max`` (``rng`` a numpy Generator);
        e.g. ``lambda n, rng: rng.standard_normal((n, d))``.
    branch_times : array_like
        OU times in ``(t_end, t_max)``.
    n_pairs : int
        Number of clone pairs per branching time (``>= 1``).
    classify : callable or dict of callables
        ``labels = classify(x_end)``, integer labels of shape (B,); a dict gives several
        labelings at once, e.g. ``{"class": ..., "training_point": ...}``.
    t_max, t_end, n_steps, grid, method
        Integration settings (:func:`~diffphase.numerics.process.time_grid`, :func:`sample`). The defaults (2000 uniform
        steps of the exponential integrator from ``t_max = 10``, step 0.005) keep the
        discretization bias of :math:`\phi` below the binomial error of 10 000 pairs on the
        two-class mixture at ``d = 256`` (measured with the coupled estimate: at most
        0.0023 ± 0.0007 over :math:`t/t_S\in[0.9, 1.3]`, against a binomial error of
        0.0034-0.0049); 200 log-spaced steps, the former default, are biased by
        0.0034-0.0082 (:math:`\phi` too high), as large as that error. Check a run with
        :meth:`CloneResult.bias_within`.
    seed : int
        Seed; results are reproducible for a given seed and ``batch_pairs``.
    batch_pairs : int
        Parents simulated together.
    error_estimate : bool
        Also run every pair on a coarser grid (every other step, the branching times kept)
        with the same Brownian path and report the difference as the grid's discretization
        error (:attr:`CloneResult.bias`); costs about half as many score calls again. The
        results on the grid itself do not depend on this flag.

    Returns
    -------
    CloneResult
    """
    method = process.check_method(method)
    n_pairs = check_int("n_pairs", n_pairs, minimum=1)
    batch_pairs = check_int("batch_pairs", batch_pairs, minimum=1)
    g, bt, branch_at = _clone_grid(branch_times, t_max, t_end, n_steps, grid)
    is_coarse = _coarse_points(g, process.time_grid(t_max, t_end, n_steps, grid), branch_at)
    classifiers = dict(classify) if isinstance(classify, Mapping) else {"label": classify}
    G = bt.size
    labels = {name: np.zeros((G, n_pairs, 2), dtype=np.int64) for name in classifiers}
    coarse_labels = {name: np.zeros((G, n_pairs, 2), dtype=np.int64) for name in classifiers}
    seeds = np.random.SeedSequence(seed).spawn((n_pairs + batch_pairs - 1) // batch_pairs)
    last_branch = max(branch_at)

    def layout(k, par, chi):
        parts = ([par] if k < last_branch else []) + ([chi] if chi is not None else [])
        return _concat(parts) if len(parts) > 1 else parts[0]

    def split(k, state, chi, B):  # -> (parent, children) after the step from g[k]
        if k < last_branch:
            return state[:B], (state[B:] if chi is not None else None)
        return None, state

    for chunk, ss in enumerate(seeds):
        lo = chunk * batch_pairs
        hi = min(lo + batch_pairs, n_pairs)
        B = hi - lo
        init_ss, noise_ss = ss.spawn(2)
        parent = x_init(B, np.random.default_rng(init_ss))
        if parent.ndim != 2 or parent.shape[0] != B:
            raise ValueError(f"x_init(n, rng) must return shape (n, d), got {tuple(parent.shape)}")
        noise = process.Normals(noise_ss, parent)
        children = None  # rows: [branch0 copyA (B), branch0 copyB (B), branch1 copyA, ...]
        c_parent, c_children, coarse = parent, None, None  # the same pairs on the coarse grid
        for k in range(g.size - 1):
            if k in branch_at:
                children = _concat([parent, parent]) if children is None else _concat([children, parent, parent])
                if error_estimate:
                    c_children = (_concat([c_parent, c_parent]) if c_children is None
                                  else _concat([c_children, c_parent, c_parent]))
            x = layout(k, parent, children)
            t, s_ = float(g[k]), float(g[k + 1])
            std = process.step_noise(method, t, s_).std
            nv = std * noise(x) if std > 0 else None
            out = process.step_mean(method, score, x, t, s_)
            parent, children = split(k, out if nv is None else out + nv, children, B)
            if error_estimate:
                if coarse is None:  # at a coarse point: start a coarse step with this layout
                    coarse = _Coarse(method, score, layout(k, c_parent, c_children), t)
                coarse.advance(nv, t, s_, bool(is_coarse[k + 1]))
                if is_coarse[k + 1]:
                    c_parent, c_children = split(k, coarse.x, c_children, B)
                    coarse = None
        for name, fn in classifiers.items():
            lab = np.asarray(_to_numpy(fn(children))).astype(np.int64).reshape(G, 2, B)
            labels[name][:, lo:hi, :] = np.transpose(lab, (0, 2, 1))
            if error_estimate:
                lab = np.asarray(_to_numpy(fn(c_children))).astype(np.int64).reshape(G, 2, B)
                coarse_labels[name][:, lo:hi, :] = np.transpose(lab, (0, 2, 1))
    agreement = {n: (lab[..., 0] == lab[..., 1]).mean(axis=1) for n, lab in labels.items()}
    stderr = {n: np.sqrt(a * (1 - a) / n_pairs) for n, a in agreement.items()}
    settings = {"t_max": float(t_max), "t_end": float(t_end), "n_steps": int(n_steps), "grid": grid,
                "method": method, "merged_steps": int(g.size - 1), "coarse_steps": int(is_coarse.sum() - 1)}
    bias = bias_se = None
    if error_estimate:
        bias, bias_se = {}, {}
        for n in labels:
            # weak order 1: phi_h = phi + C h, phi_2h = phi + 2 C h, so the bias C h of the
            # grid is phi_2h - phi_h (Richardson)
            diff = ((coarse_labels[n][..., 0] == coarse_labels[n][..., 1]).astype(np.float64)
                    - (labels[n][..., 0] == labels[n][..., 1]))
            bias[n] = diff.mean(axis=1)
            bias_se[n] = diff.std(axis=1, ddof=1) / math.sqrt(n_pairs) if n_pairs > 1 else np.full(G, np.nan)
    return CloneResult(bt, agreement, stderr, n_pairs, labels, bias, bias_se, settings)


def clone_score_evaluations(branch_times, n_pairs: int, *, t_max: float = 10.0, t_end: float = 1e-3,
                            n_steps: int = 2000, grid: str = "uniform", error_estimate: bool = True) -> int:
    r"""Number of single-row score evaluations :func:`clone_agreement_simulation` makes.

    On the merged grid :math:`g_0 > g_1 > \dots` (``n_steps`` steps of kind ``grid`` with the
    ``G`` branching times inserted), step ``k`` moves the ``N`` parents while a branching
    time is still ahead and :math:`2N` copies for every branching time already passed:

    .. math:: E = N\sum_k \big(\mathbb 1[k < k_{last}] + 2\,\#\{b: k_b \le k\}\big),

    plus the same sum over the steps of the coarse grid when ``error_estimate`` is on.
    Multiply by the forward cost of the network for the sampling cost of a trained model.

    Examples
    --------
    >>> clone_score_evaluations([1.0], 10, t_max=2.0, t_end=0.5, n_steps=3, grid="uniform",
    ...                         error_estimate=False)
    40
    """
    n_pairs = check_int("n_pairs", n_pairs, minimum=1)
    g, _, branch_at = _clone_grid(branch_times, t_max, t_end, n_steps, grid)
    at = sorted(branch_at)
    last = at[-1]

    def rows(k):
        return (1 if k < last else 0) + 2 * sum(1 for a in at if a <= k)

    total = sum(rows(k) for k in range(g.size - 1))
    if error_estimate:
        keep = _coarse_points(g, process.time_grid(t_max, t_end, n_steps, grid), branch_at)
        total += sum(rows(k) for k in np.nonzero(keep)[0][:-1])
    return int(total * n_pairs)


def _to_numpy(x):
    if process.is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)
