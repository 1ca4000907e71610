r"""The measurements of ``late_start``: few-step quality curves from pure
noise and late Gaussian starts, the plain-start curve against the DDPM start step, the exact
reverse dynamics, the class balance of the late start under the exact dynamics, and the fresh
comparisons at the smallest budget. The strided DDPM grid is
:func:`diffphase.numerics.process.strided_grid` (re-exported here).

All times are OU times (:mod:`diffphase.numerics.conventions`).
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics.process import strided_grid

from .analysis import best_start_time

__all__ = ["strided_grid", "quality_curves", "plain_start_curve", "exact_dynamics_curve",
           "late_start_class_balance", "best_and_fresh"]


def _schedule(schedule: dict):
    from diffphase.numerics.conventions import DiscreteSchedule

    return DiscreteSchedule.linear(int(schedule["T"]), float(schedule["beta_min"]), float(schedule["beta_max"]))


def _run_sampler(score, x_init, t_start, n_steps, schedule, seed):
    from diffphase.numerics import sde

    return np.asarray(sde.sample(score, x_init, strided_grid(t_start, n_steps, schedule), seed=seed),
                      dtype=np.float64)


def _start_states(kind, n, t_start, mean, cov, dtype, rng):
    from diffphase.numerics import symmetry as sb

    if kind == "noise":
        x = rng.standard_normal((n, mean.size))
    else:
        x = sb.sample_late_gaussian(n, t_start, mean, cov, seed=rng)
    return x.astype(dtype)


def _evaluate(samples, features, reference, bandwidth, labels, n_classes):
    from diffphase.numerics import stats

    r = stats.mmd2(features(samples), reference, bandwidth)
    counts = np.bincount(labels(samples), minlength=n_classes)[:n_classes]
    return r.mmd2, r.stderr, counts / samples.shape[0]


def quality_curves(score, *, mean, cov, t0s, budgets, schedule: dict, n_samples: int, reference,
                   bandwidth: float, features, labels, n_classes: int, dtype=np.float64, seed: int = 0) -> dict:
    r"""Sample quality of a sampler against the step budget, from pure noise and late starts.

    For every budget :math:`N` in ``budgets``: ``n_samples`` states drawn from
    :math:`\mathcal N(0, I)` at :math:`t_{max} = t_T` of the schedule (pure noise), and for
    every :math:`t_0` in ``t0s`` from the late Gaussian at :math:`t_0` (moments ``mean``,
    ``cov`` of the clean data, :func:`~diffphase.numerics.symmetry.sample_late_gaussian`),
    integrated with :func:`~diffphase.numerics.sde.sample` (exponential integrator, the DDPM
    ancestral step) on :func:`strided_grid` of :math:`N` steps down to :math:`t = 0`.
    Each run has its own seed (independent runs). OU time.

    Parameters
    ----------
    score : callable
        ``score(x, t)``.
    mean, cov : ndarray
        Data mean (d,) and covariance (d, d).
    t0s : array_like
        Late start times, increasing, in ``(0, t_T]``.
    budgets : list of int
        Numbers of sampler steps.
    schedule : dict
        Linear-:math:`\beta` schedule of :func:`strided_grid`.
    n_samples : int
    reference : ndarray (n_ref, f)
        Held-out data in feature space.
    bandwidth : float
        Gaussian-kernel width (e.g. median heuristic of ``reference``).
    features : callable
        Samples (n, d) → feature vectors (n, f) where the MMD is taken (identity for vectors).
    labels : callable
        Samples → integer class labels in ``[0, n_classes)``.
    n_classes : int
    dtype : numpy dtype
        Dtype of the sampler states (float32 for networks).
    seed : int

    Returns
    -------
    dict
        ``t0s``, ``budgets``; ``late_mmd2``/``late_se`` (B, K); ``late_fractions`` (B, K, C);
        ``noise_mmd2``/``noise_se`` (B,); ``noise_fractions`` (B, C).
    """
    t0s = [float(t) for t in t0s]
    t_max = float(_schedule(schedule).times[-1])
    if any(not (0.0 < t <= t_max) for t in t0s):
        raise ValueError(f"t0s must lie in (0, t_T] = (0, {t_max:.4g}], got {t0s}")
    B, K = len(budgets), len(t0s)
    late = np.zeros((B, K)), np.zeros((B, K)), np.zeros((B, K, n_classes))
    noise = np.zeros(B), np.zeros(B), np.zeros((B, n_classes))
    seeds = iter(np.random.SeedSequence(seed).spawn(B * (K + 1)))
    for b, n_steps in enumerate(budgets):
        for k, t0 in enumerate([t_max] + t0s):
            init_ss, noise_ss = next(seeds).spawn(2)
            kind = "noise" if k == 0 else "late"
            x0 = _start_states(kind, n_samples, t0, mean, cov, dtype, np.random.default_rng(init_ss))
            xs = _run_sampler(score, x0, t0, int(n_steps), schedule, noise_ss)
            m, s, f = _evaluate(xs, features, reference, bandwidth, labels, n_classes)
            if k == 0:
                noise[0][b], noise[1][b], noise[2][b] = m, s, f
            else:
                late[0][b, k - 1], late[1][b, k - 1], late[2][b, k - 1] = m, s, f
    return {"t0s": t0s, "t_max": t_max, "budgets": [int(n) for n in budgets], "late_mmd2": late[0], "late_se": late[1],
            "late_fractions": late[2], "noise_mmd2": noise[0], "noise_se": noise[1], "noise_fractions": noise[2]}


def _start_grid(starts, schedule):
    sch = _schedule(schedule)
    ks = [int(k) for k in starts]
    if len(ks) < 3 or any(not (1 <= k <= sch.T) for k in ks) or any(b <= a for a, b in zip(ks, ks[1:])):
        raise ValueError(f"starts must be >= 3 strictly increasing DDPM steps in [1, {sch.T}], got {list(starts)}")
    return ks, [float(sch.times[k]) for k in ks]


def _curve(draw, t0s, features, reference, bandwidth, labels, n_classes, seed):
    """MMD², its error and class fractions of ``draw(t0, seed_sequence)`` at every start."""
    out = np.zeros(len(t0s)), np.zeros(len(t0s)), np.zeros((len(t0s), n_classes))
    for j, (t0, ss) in enumerate(zip(t0s, np.random.SeedSequence(seed).spawn(len(t0s)))):
        m, s, f = _evaluate(draw(t0, ss), features, reference, bandwidth, labels, n_classes)
        out[0][j], out[1][j], out[2][j] = m, s, f
    return out


def plain_start_curve(score, *, dim: int, starts, stride: int, schedule: dict, n_samples: int, reference,
                      bandwidth: float, features, labels, n_classes: int, dtype=np.float64, seed: int = 0) -> dict:
    r"""Quality of a many-step sampler started from :math:`\mathcal N(0, I)` at DDPM step
    :math:`k_0`, against :math:`k_0` (the authors' late-start FID curve).

    For every :math:`k_0` in ``starts``: ``n_samples`` states drawn from :math:`\mathcal N(0, I_d)`
    (not the noised data's law) at the OU time :math:`t_0 = t_{k_0}` of the linear-:math:`\beta`
    schedule, integrated with :func:`~diffphase.numerics.sde.sample` on
    :func:`strided_grid` with :math:`\lceil k_0/\mathrm{stride}\rceil` steps, i.e. every
    ``stride``-th DDPM step down to 0 (``stride = 1``: every step, the authors' DDPM sampler).
    Each start has its own seeds. OU time.

    Parameters
    ----------
    score : callable
        ``score(x, t)``.
    dim : int
        Dimension :math:`d` of the states.
    starts : list of int
        Strictly increasing DDPM steps in ``[1, T]``, at least 3 (the authors: 50, 100, 200,
        ..., 1000).
    stride : int
        ``>= 1``.
    schedule : dict
        ``{"T", "beta_min", "beta_max"}`` of :func:`strided_grid`.
    n_samples : int
    reference, bandwidth, features, labels, n_classes, dtype, seed
        As in :func:`quality_curves`.

    Returns
    -------
    dict
        ``starts``, ``t0s`` (OU times), ``n_steps``, ``stride``, ``n_samples``; ``mmd2``,
        ``se`` (K,); ``fractions`` (K, C).
    """
    from diffphase.numerics.checks import check_int

    ks, t0s = _start_grid(starts, schedule)
    stride = check_int("stride", stride, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    n_steps = {t0: -(-k // stride) for k, t0 in zip(ks, t0s)}

    def draw(t0, ss):
        init_ss, noise_ss = ss.spawn(2)
        x0 = np.random.default_rng(init_ss).standard_normal((n_samples, dim)).astype(dtype)
        return _run_sampler(score, x0, t0, n_steps[t0], schedule, noise_ss)

    m, s, f = _curve(draw, t0s, features, reference, bandwidth, labels, n_classes, seed)
    return {"starts": ks, "t0s": t0s, "n_steps": [n_steps[t] for t in t0s], "stride": stride,
            "n_samples": int(n_samples), "mmd2": m, "se": s, "fractions": f}


def exact_dynamics_curve(mixture, *, starts, schedule: dict, n_samples: int, reference, bandwidth: float, labels,
                         n_classes: int, seed: int = 0) -> dict:
    r""":func:`plain_start_curve` without discretization: the exact reverse dynamics of an
    isotropic mixture from :math:`\mathcal N(0, I)` at :math:`t_0 = t_{k_0}`.

    Draws :math:`x\sim\mathcal N(0, I)` and then :math:`x_0\sim p(x_0\mid x_{t_0} = x)`
    (:func:`~diffphase.numerics.symmetry.mixture_posterior_sample`): the law a sampler with
    infinitely many steps and the exact score produces. The reference against which the
    many-step budget of :func:`plain_start_curve` is checked. OU time.

    Returns
    -------
    dict
        ``starts``, ``t0s``, ``mmd2``, ``se``, ``fractions`` as :func:`plain_start_curve`.
    """
    from diffphase.numerics import symmetry as sb

    ks, t0s = _start_grid(starts, schedule)

    def draw(t0, ss):
        rng = np.random.default_rng(ss)
        return sb.mixture_posterior_sample(mixture, rng.standard_normal((n_samples, mixture.d)), t0, seed=rng)[0]

    m, s, f = _curve(draw, t0s, lambda x: np.asarray(x, dtype=np.float64), reference, bandwidth, labels,
                     n_classes, seed)
    return {"starts": ks, "t0s": t0s, "mmd2": m, "se": s, "fractions": f}


def late_start_class_balance(posterior, t0s, mean, cov, n: int = 100000, seed: int = 0) -> tuple:
    r"""Class balance of the late start under the *exact* dynamics (infinitely many steps).

    The exact reverse dynamics from :math:`t_0` to 0 draws :math:`x_0` from the posterior
    :math:`p(x_0\mid x_{t_0})`, so a start from the late Gaussian :math:`G_{t_0}` ends in class
    :math:`k` with probability

    .. math:: b_k(t_0) = \mathbb E_{x\sim G_{t_0}}\,p(k\mid x_{t_0} = x),

    estimated here by Monte Carlo over ``n`` draws of
    :func:`~diffphase.numerics.symmetry.sample_late_gaussian`. It equals the data's class
    weights when the late Gaussian is exact; its deviation is the Gaussian approximation's
    error alone, without the sampler's discretization. OU time.

    Parameters
    ----------
    posterior : callable
        ``posterior(x, t)`` → (B, K) class probabilities at OU time ``t`` (e.g.
        :meth:`~diffphase.numerics.gaussian_mixture.GaussianMixture.posterior`).
    t0s : array_like
        Start times.
    mean, cov : ndarray
        Moments of the clean data (those of the late Gaussian).
    n : int
        Monte Carlo draws per start time.
    seed : int

    Returns
    -------
    (ndarray (T, K), ndarray (T, K))
        :math:`b_k(t_0)` and its Monte Carlo standard error.
    """
    from diffphase.numerics import symmetry as sb

    vals, errs = [], []
    for i, t0 in enumerate(t0s):
        x = sb.sample_late_gaussian(n, float(t0), mean, cov, seed=seed + i)
        p = np.asarray(posterior(x, float(t0)))
        vals.append(p.mean(axis=0))
        errs.append(p.std(axis=0, ddof=1) / math.sqrt(n))
    return np.array(vals), np.array(errs)


def best_and_fresh(score, curves, *, mean, cov, schedule, n_samples, reference2, bandwidth, features, labels,
                   n_classes, dtype, seed, t_knee=None) -> dict:
    r"""Best start time per budget; then fresh late runs (at t0* of the smallest budget and, if
    given, at the knee ``t_knee`` of the plain-start curve) and a pure-noise run, all at the
    smallest budget and measured against a second held-out set.

    The best start time of budget :math:`b` is :func:`best_start_time` of the curve
    ``curves["late_mmd2"][b]`` (seed ``seed + b``). The improvement factor is
    :math:`\mathrm{MMD}^2_{noise} / \max(\mathrm{MMD}^2_{late}, s_{late})` of the fresh runs
    (NaN when the floor is not positive). OU time.

    Parameters
    ----------
    score : callable
        ``score(x, t)``.
    curves : dict
        Output of :func:`quality_curves`.
    mean, cov : ndarray
        Data mean and covariance (the late Gaussian's moments).
    schedule : dict
        Linear-:math:`\beta` schedule of :func:`strided_grid`.
    n_samples : int
    reference2 : ndarray (n_ref, f)
        The held-out set of the fresh runs, in feature space.
    bandwidth, features, labels, n_classes, dtype
        As in :func:`quality_curves`.
    seed : int
    t_knee : float, optional
        OU time of the knee of the plain-start curve (:func:`analyse_plain_curve`).

    Returns
    -------
    dict
        ``t_best``, ``t_best_se`` (per budget); ``fresh`` (``{kind: {"t0", "mmd2", "se",
        "fractions"}}`` for ``"late"``, ``"noise"`` and, with ``t_knee``, ``"knee"``);
        ``improvement`` and, with ``t_knee``, ``improvement_knee``.
    """
    best = [best_start_time(curves["t0s"], curves["late_mmd2"][b], curves["late_se"][b], seed=seed + b)
            for b in range(len(curves["budgets"]))]
    t_best = best[0][0]
    n_min = curves["budgets"][0]
    runs = list(zip(("late", "noise"), (t_best, curves["t_max"]), np.random.SeedSequence(seed + 1000).spawn(2)))
    if t_knee is not None:
        runs.append(("knee", float(t_knee), np.random.SeedSequence(seed + 2000)))
    fresh = {}
    for kind, t0, ss in runs:
        init_ss, noise_ss = ss.spawn(2)
        x0 = _start_states("noise" if kind == "noise" else "late", n_samples, t0, mean, cov, dtype,
                           np.random.default_rng(init_ss))
        xs = _run_sampler(score, x0, t0, n_min, schedule, noise_ss)
        m, s, f = _evaluate(xs, features, reference2, bandwidth, labels, n_classes)
        fresh[kind] = {"t0": t0, "mmd2": m, "se": s, "fractions": f}

    def ratio(kind):
        floor = max(fresh[kind]["mmd2"], fresh[kind]["se"])
        return fresh["noise"]["mmd2"] / floor if floor > 0 else math.nan

    out = {"t_best": [b[0] for b in best], "t_best_se": [b[1] for b in best], "fresh": fresh,
           "improvement": ratio("late")}
    if t_knee is not None:
        out["improvement_knee"] = ratio("knee")
    return out
