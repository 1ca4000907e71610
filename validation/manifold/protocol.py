r"""Selective loss of tangent subspaces, measured with the protocol of Achilli et al. (the
``manifold`` experiment).

Achilli et al. (arXiv 2410.08727, abstract) claim that "different tangent subspaces are lost
due to memorization effects at different critical times and dataset sizes", giving "a
selective loss of dimensionality where some prominent features of the data are memorized
without a full collapse on any individual training point". This module measures that claim
with their protocol (their public code, ``beatriceachilli/losing-dimensions``, synthetic
experiments):

Data
    :math:`D` coordinates of standard deviations 1 (the first :math:`d_1`, subspace ``A``),
    0.3 (the next :math:`d_2`, subspace ``B``) and 0.01 (the rest), each sample divided by
    its norm (projected on the unit sphere) — :func:`~diffphase.validation.data.linear_manifold`
    with ``basis = I`` and ``project_to_sphere=True``. Their size sweep uses :math:`D = 30`,
    :math:`d_1 = 2`, :math:`d_2 = 5` and :math:`N` = 250, 500, 20 000.
Spectrum
    At a point :math:`x_0` and a noise level (variance-exploding :math:`\sigma^2 =
    e^{2t}-1`, OU time ``t``), the scores at the :math:`D` points :math:`x_0+\sigma q_j`
    (:math:`q_j` the rows of a Haar-random orthogonal matrix; in OU coordinates
    :math:`e^{-t}x_0+\sqrt{\Delta_t}q_j`) form a :math:`D\times D` matrix
    (:func:`~diffphase.numerics.manifold.probe_score_matrix`); its largest singular value is
    dropped and the rest divided by their maximum
    (:func:`~diffphase.numerics.manifold.normalized_spectrum`). Read for the trained model's
    score :math:`-\hat\varepsilon/\sqrt{\Delta_t}` and for the exact empirical score of the
    same training set. Where: this package reads both at training points :math:`x_0`; the
    authors' analysis script reads a trained network at one fresh draw of the data
    distribution, and their empirical-score figure at a zero test point, the data mean, which
    :func:`origin_reading` reproduces (a diagnostic, not a verdict: there the reading does not
    depend on :math:`N`, see ``docs/models/manifold.md``).
Reading (this package's)
    A direction the score contracts like a normal direction has normalised value near 1; a
    kept tangent direction of variance :math:`v` has about :math:`\sigma^2/(\sigma^2+v)`. The
    dimension estimate counts the values :math:`\le 1/2`
    (:func:`~diffphase.numerics.manifold.dimension_estimate`); the gaps at the subspace sizes
    are :func:`~diffphase.numerics.manifold.spectral_gaps`. Per subspace ``g`` the RMS
    normalised value along its directions tangent to the sphere at :math:`x_0`
    (:func:`~diffphase.numerics.manifold.direction_response`,
    :func:`~diffphase.numerics.manifold.tangent_group_basis`) says whether the score keeps
    ``g`` (:math:`\le 1/2`) at that point; the fractions of training points keeping ``A``,
    ``B``, exactly one of them, and no direction at all are read against the noise level.

Verdicts (:data:`TOLERANCES`, written before measuring): the claim ``achilli.selective`` on
the trained models (the two subspaces lost at noise levels a factor :math:`\ge 2` apart; a
majority of training points keeping exactly one subspace at a noise level where the
population keeps both), the same statistics on the exact empirical score as a reference, a
precondition that the trained model memorizes at the smallest ``N``, and, exploratory, the
order of the losses ("under some conditions, subspaces of higher variance are lost first")
and the authors' per-subspace critical noise :math:`\sigma^2_{c,g} = s_g^2/2\log N`, :math:`s_g`
the generating standard deviation (theory cell of their notebook, a large-dimension result).

All times are OU times (:mod:`diffphase.numerics.conventions`); noise levels are quoted as
the variance-exploding :math:`\sigma^2 = e^{2t}-1` of the paper.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from diffphase.numerics import conventions as cv
from diffphase.numerics import manifold as mf
from diffphase.numerics._checks import check_int, check_real, check_times

from .engine.experiment import Experiment, denoiser_cost
from .engine.io import save_figure

__all__ = [
    "TOLERANCES",
    "LEVEL",
    "EXPERIMENTS",
    "noise_grid",
    "spectrum_data",
    "origin_reading",
    "manifold_point",
    "subspace_states",
    "loss_level",
    "run_manifold",
    "cost_manifold",
    "score_jacobian",
    "surviving_subspace",
]

#: Tolerances of the verdicts of the authors' protocol (Achilli et al., arXiv 2410.08727;
#: their code), written before any trained model of it was measured. Per training point ``x0`` and noise level, the
#: normalised spectrum of the score matrix at ``x0 + sigma Q`` (largest singular value dropped,
#: the rest divided by their maximum); a variance group ``g`` (the high-variance subspace
#: ``A``, the low-variance one ``B``) is *kept* at ``x0`` when the RMS normalised singular
#: value along its directions tangent to the sphere at ``x0`` is ``<= 1/2`` (the level-1/2
#: criterion of :data:`LEVEL`: the population keeps a direction of variance ``v`` iff ``sigma^2 <= v``).
#: ``f_g(sigma^2)`` is the fraction of the ``n_points`` training points keeping ``g``; the
#: loss level ``sigma^2_g`` is where ``f_g`` falls through 1/2 as the noise decreases (the
#: lowest upward crossing on the grid, linear in ``log sigma^2``; still kept at the smallest
#: noise: the grid's end, a bound), with a bootstrap over training points.
#:
#: ``manifold.separation``  (min, in :math:`\log\sigma^2`) claim, at the largest ``N`` of
#:     the sweep: :math:`|\log\sigma^2_A-\log\sigma^2_B|`, "lost at different critical
#:     times". :math:`\log 2`: two steps of the grid (ratio :math:`\sqrt2`); the
#:     interpolated crossing of a binomial fraction of 32 points on that grid has a bootstrap
#:     error of about 0.15-0.25, so a simultaneous loss (0 +/- s.e.) passes with probability
#:     well under 1 %.
#: ``manifold.selective``  (min, fraction) claim, at the largest ``N``: the largest fraction,
#:     over noise levels of the resolved window :math:`\sigma^2 \le v_{\min}/2` (where the
#:     population keeps every tangent group with margin, so a lost group is memorized, not
#:     hidden by the noise), of training points keeping exactly one of the two groups
#:     ("selective loss ... without a full collapse"). A majority, 1/2; binomial s.e. of 32
#:     points <= 0.09.
#: ``manifold.collapse``  (min, fraction) precondition: at the smallest ``N`` and the smallest
#:     noise level, the fraction of training points whose normalised spectrum has no value
#:     ``<= 1/2`` (fully contracted Jacobian: the model memorizes). A majority, 1/2; guards the
#:     claims, which read a loss of a subspace as memorization.
#: ``manifold.order``  (min, in :math:`\log\sigma^2`) exploratory:
#:     :math:`\log(\sigma^2_A/\sigma^2_B)` at the largest ``N``, "under some conditions, subspaces of higher variance
#:     are lost first" (conditions not derived here): at least :math:`\log 2`, a resolved order.
#: ``manifold.threshold``  (max, in :math:`\log\sigma^2`) exploratory: at the largest ``N``,
#:     :math:`\max_g|\log\sigma^2_g-\log(s_g^2/2\log N)|`, the authors' per-subspace critical
#:     noise (theory cell of their notebook, a large-dimension result) with ``s_g`` the
#:     *generating* standard deviation of group ``g`` (1 and 0.3: the notebook's ``scales``,
#:     which it uses unchanged for the data projected on the sphere): a factor 4. (Until the
#:     comparison with the authors' notebook, this verdict used the per-coordinate variance
#:     of the projected training data, 0.35 and 0.059, which is not the notebook's input; the
#:     statistic was corrected to the notebook's input, the tolerance is unchanged.)
#: ``manifold.memorizes_at_claim``  (min, fraction) precondition of the trained-model claims:
#:     at the largest ``N`` and the smallest noise level, the fraction of training points that
#:     have lost at least one of the two subspaces. A model that keeps both everywhere has not
#:     memorized anything at that ``N``, so the claim (subspaces lost *to memorization* at
#:     different sizes) cannot be read there: a majority, 1/2. Added after the first quick run
#:     of this protocol, in which the trained ``N = 256`` model kept both subspaces down to the
#:     smallest noise (its claim verdicts then read FAIL; they now read INCONCLUSIVE, and the
#:     run still fails through this precondition).
TOLERANCES = {
    "manifold.separation": math.log(2.0),
    "manifold.selective": 0.5,
    "manifold.collapse": 0.5,
    "manifold.memorizes_at_claim": 0.5,
    "manifold.order": math.log(2.0),
    "manifold.threshold": math.log(4.0),
}

#: Level of the normalised spectrum at or below which a direction counts as kept (the
#: criterion of :func:`~diffphase.numerics.manifold.surviving_directions`).
LEVEL = 0.5

#: The two tangent subspaces of the authors' data, by name: ``A`` the high-variance one
#: (standard deviation 1), ``B`` the low-variance one (0.3).
SUBSPACES = ("A", "B")

#: The authors' empirical-score figure (last cell of their notebook ``plots_synthetic_theory``)
#: drops this many largest singular values before normalising by the maximum of the rest
#: (their ``in_idx = 6``).
ORIGIN_DROP = 6

#: Frames read at the data mean per noise level (the authors average 5); the reading there
#: barely depends on the frame.
ORIGIN_FRAMES = 8


def noise_grid(largest: float, ratio: float, count: int) -> np.ndarray:
    r"""Variance-exploding noise levels :math:`\sigma^2_k = \sigma^2_{\max}\,r^{-k}`,
    :math:`k = 0..n-1`, descending (OU time :math:`t_k = \tfrac12\log(1+\sigma^2_k)`).

    Parameters
    ----------
    largest : float
        :math:`\sigma^2_{\max} > 0`.
    ratio : float
        :math:`r > 1`.
    count : int
        ``n >= 2``.

    Returns
    -------
    ndarray, shape (n,)
    """
    largest = check_real("largest", largest, low=0.0, low_open=True)
    ratio = check_real("ratio", ratio, low=1.0, low_open=True)
    count = check_int("count", count, minimum=2)
    return largest * ratio ** (-np.arange(count, dtype=np.float64))


def _groups(dim: int, d1: int, d2: int) -> dict:
    return {"A": list(range(d1)), "B": list(range(d1, d1 + d2))}


def _gap_indices(d1: int, d2: int) -> list:
    # subspace sizes of the sphere-projected data: A with the scale direction it drives (d1),
    # B within the sphere (d2 - 1), both (d1 + d2 - 1; the radial direction is lost)
    return [d1, d2 - 1, d1 + d2 - 1]


def spectrum_data(score, x0, noise, probes, *, d1: int, d2: int, level: float = LEVEL) -> dict:
    r"""The authors' spectrum of one score at training points, over noise levels, and this
    package's reading of it.

    For each noise level :math:`\sigma^2` (OU time :math:`t = \tfrac12\log(1+\sigma^2)`):
    the matrix :math:`M` of :func:`~diffphase.numerics.manifold.probe_score_matrix` at every
    point of ``x0`` with its frame in ``probes``, its normalised spectrum :math:`\hat s`
    (:func:`~diffphase.numerics.manifold.normalized_spectrum`), the dimension estimate
    :math:`\#\{\hat s\le\text{level}\}`, the gaps above the :math:`d_1`, :math:`d_2-1` and
    :math:`d_1+d_2-1` smallest values (:func:`~diffphase.numerics.manifold.spectral_gaps`), and
    per subspace the RMS normalised value :math:`r_g` along its directions tangent to the
    sphere at the point (:func:`~diffphase.numerics.manifold.direction_response` on
    :func:`~diffphase.numerics.manifold.tangent_group_basis`).

    Parameters
    ----------
    score : callable
        ``score(x, t)`` -> (B, D) numpy, OU time.
    x0 : array_like, shape (P, D)
        Training points.
    noise : array_like, shape (n,)
        Variance-exploding noise levels :math:`\sigma^2 > 0`.
    probes : array_like, shape (P, D, D)
        Orthogonal frames (:func:`~diffphase.numerics.manifold.orthogonal_probes`), the same at
        every noise level.
    d1, d2 : int
        Sizes of the subspaces ``A`` (coordinates ``0..d1-1``) and ``B`` (the next ``d2``),
        each ``>= 2``.
    level : float
        Level of a kept direction, in (0, 1).

    Returns
    -------
    dict
        ``r`` ({"A", "B"} -> (n, P)), ``k`` (n, P) ints, ``spectrum`` (n, D-1) the median over
        points (descending), ``gaps`` (n, P, 3), ``gap_indices``.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim != 2 or not np.all(np.isfinite(x0)):
        raise ValueError(f"x0 must be a finite array of shape (P, D), got shape {x0.shape}")
    D = x0.shape[1]
    d1 = check_int("d1", d1, minimum=2)
    d2 = check_int("d2", d2, minimum=2, maximum=D - d1)
    noise = np.asarray(noise, dtype=np.float64)
    if noise.ndim != 1 or noise.size < 1 or not np.all(np.isfinite(noise)) or np.any(noise <= 0):
        raise ValueError("noise must be a non-empty 1-d array of variances > 0")
    bases = {g: mf.tangent_group_basis(x0, idx) for g, idx in _groups(D, d1, d2).items()}
    gi = _gap_indices(d1, d2)
    out = {"r": {g: [] for g in SUBSPACES}, "k": [], "spectrum": [], "gaps": [], "gap_indices": gi}
    for s2 in noise:
        t = float(cv.time_from_ve_variance(float(s2)))
        M = mf.probe_score_matrix(score, x0, t, probes)
        spec = mf.normalized_spectrum(M)
        out["k"].append(mf.dimension_estimate(spec, level))
        out["spectrum"].append(np.median(spec, axis=0))
        out["gaps"].append(mf.spectral_gaps(spec, gi))
        for g in SUBSPACES:
            out["r"][g].append(mf.direction_response(M, bases[g]))
    out["k"] = np.asarray(out["k"], dtype=np.int64)
    out["spectrum"] = np.asarray(out["spectrum"])
    out["gaps"] = np.asarray(out["gaps"])
    out["r"] = {g: np.asarray(v) for g, v in out["r"].items()}
    return out


def origin_reading(score, noise, probes, *, d1: int, d2: int, level: float = LEVEL,
                   drop: int = ORIGIN_DROP) -> dict:
    r"""The authors' empirical-score reading at the data mean: the score matrix probed around
    the zero test point of their figure cell, read per subspace and with their gaps.

    For each noise level :math:`\sigma^2` (OU time :math:`t = \tfrac12\log(1+\sigma^2)`) and
    each frame :math:`Q` of ``probes``, :math:`M` is
    :func:`~diffphase.numerics.manifold.probe_score_matrix` at :math:`x_0 = 0` (rows: the
    score at :math:`\sqrt{\Delta_t}\,q_j`, the OU image of the variance-exploding points
    :math:`\sigma q_j`). Returned per frame:

    * the ratio of the RMS responses along a subspace's coordinate axes and along the
      normal axes (coordinates :math:`d_1+d_2..D-1`),
      :math:`\rho_g = \big(\tfrac1{|g|}\sum_{i\in g}|Me_i|^2\big)^{1/2}\big/
      \big(\tfrac1{|n|}\sum_{i\in n}|Me_i|^2\big)^{1/2}`
      (:func:`~diffphase.numerics.manifold.direction_response` without the drop, whose
      normalisation cancels in the ratio). The subspace counts as kept when
      :math:`\rho_g\le` ``level``. Why relative to the normal directions and not to the
      maximum: at the data mean a direction the score no longer contracts has a *larger*
      singular value than the normal ones, so the normalisation by the maximum would count
      the normal directions as kept. For points of equal norm (the sphere) every training
      point is equidistant from 0, the posterior there is uniform, and the Jacobian of the
      empirical score at 0 is :math:`(\mathrm{diag}\,v-\sigma^2I)/\sigma^4` in
      variance-exploding units for a diagonal second moment :math:`v` of the data, at every
      :math:`N`: with probes much shorter than :math:`\sigma`,
      :math:`\rho_g = |v_g-\sigma^2|/\sigma^2`, kept for
      :math:`\tfrac23v_g\le\sigma^2\le2v_g` only;
    * the authors' own quantity: the singular values :math:`s_1\ge\dots\ge s_D`, the
      ``drop`` largest removed, the rest divided by their maximum, and the gaps above its
      :math:`d_1`, :math:`d_2` and :math:`d_1+d_2` smallest values (the dashed lines of their
      figure; :func:`~diffphase.numerics.manifold.spectral_gaps`).

    Parameters
    ----------
    score : callable
        ``score(x, t)`` -> (B, D) numpy, OU time.
    noise : array_like, shape (n,)
        Variance-exploding noise levels :math:`\sigma^2 > 0`.
    probes : array_like, shape (F, D, D)
        Orthogonal frames (:func:`~diffphase.numerics.manifold.orthogonal_probes`).
    d1, d2 : int
        Sizes of ``A`` (coordinates ``0..d1-1``) and ``B`` (the next ``d2``), each ``>= 2``;
        at least one normal coordinate must remain.
    level : float
        Level of a kept subspace, in (0, 1).
    drop : int
        Largest singular values removed before the normalisation, ``0 <= drop <= D - d1 - d2 - 1``.

    Returns
    -------
    dict
        ``rho`` ({"A", "B"} -> (n, F)), ``gaps`` (n, F, 3), ``gap_indices`` ``[d1, d2, d1 + d2]``,
        ``drop``, ``level``.

    Examples
    --------
    >>> import numpy as np
    >>> from diffphase.numerics import manifold as mf
    >>> a = np.r_[2.0, 2.0, 4.0, 4.0, 4.0, 8.0, 8.0, 8.0]   # linear score -a x: rho = a_g / a_normal
    >>> out = origin_reading(lambda x, t: -x * a, [0.1], mf.orthogonal_probes(2, 8, seed=0),
    ...                      d1=2, d2=3, drop=0)
    >>> out["rho"]["A"].round(6).tolist(), out["rho"]["B"].round(6).tolist()
    ([[0.25, 0.25]], [[0.5, 0.5]])
    """
    Q = np.asarray(probes, dtype=np.float64)
    if Q.ndim != 3 or Q.shape[1] != Q.shape[2] or Q.shape[0] < 1:
        raise ValueError(f"probes must have shape (F, D, D), got {Q.shape}")
    F, D = Q.shape[0], Q.shape[1]
    d1 = check_int("d1", d1, minimum=2)
    d2 = check_int("d2", d2, minimum=2, maximum=D - d1 - 1)
    drop = check_int("drop", drop, minimum=0, maximum=D - d1 - d2 - 1)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    noise = np.asarray(noise, dtype=np.float64)
    if noise.ndim != 1 or noise.size < 1 or not np.all(np.isfinite(noise)) or np.any(noise <= 0):
        raise ValueError("noise must be a non-empty 1-d array of variances > 0")
    eye = np.eye(D)
    axes = {"A": eye[:, :d1], "B": eye[:, d1:d1 + d2]}
    normal = eye[:, d1 + d2:]
    gi = [d1, d2, d1 + d2]
    out = {"rho": {g: [] for g in SUBSPACES}, "gaps": [], "gap_indices": gi, "drop": drop, "level": level}
    x0 = np.zeros((F, D))
    for s2 in noise:
        t = float(cv.time_from_ve_variance(float(s2)))
        M = mf.probe_score_matrix(score, x0, t, Q)
        r_n = mf.direction_response(M, normal, drop_first=False)
        for g in SUBSPACES:
            r_g = mf.direction_response(M, axes[g], drop_first=False)
            out["rho"][g].append(np.divide(r_g, r_n, out=np.full_like(r_g, np.inf), where=r_n > 0))
        s = np.linalg.svd(M, compute_uv=False)[:, drop:]
        top = s[:, :1]
        out["gaps"].append(mf.spectral_gaps(np.divide(s, top, out=np.ones_like(s), where=top > 0), gi))
    out["rho"] = {g: np.asarray(v) for g, v in out["rho"].items()}
    out["gaps"] = np.asarray(out["gaps"])
    return out


def _full_stds(dim: int, d1: int, d2: int, stds) -> np.ndarray:
    s = np.asarray(stds, dtype=np.float64)
    if s.shape != (3,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"stds must be three standard deviations > 0 (A, B, the rest), got {stds!r}")
    return np.concatenate([np.full(d1, s[0]), np.full(d2, s[1]), np.full(dim - d1 - d2, s[2])])


def manifold_point(*, n_train: int, dim: int, d1: int, d2: int, stds, noise, n_points: int, train: dict | None,
                   seed: int, device: str = "cpu", cache_dir: str | None = None, progress: bool = False) -> dict:
    r"""One training-set size of the ``manifold`` experiment (a sweep item; module-level so
    that it pickles for process pools and Dask).

    Draws the authors' data (``n_train`` points,
    :func:`~diffphase.validation.data.linear_manifold` with ``basis = I``, standard deviations
    ``stds`` for the first ``d1``, the next ``d2`` and the remaining coordinates, projected on
    the unit sphere, seed ``seed``), picks ``min(n_points, n_train)`` training points and one
    Haar orthogonal frame per point, and reads :func:`spectrum_data` at every noise level for
    the exact empirical score (:class:`~diffphase.numerics.empirical.EmpiricalScore`) and,
    when ``train`` is given, for an MLP DDPM trained on the same set
    (:func:`~diffphase.validation.train.train`; its score
    :func:`~diffphase.validation.models.score_function`); for both also the authors' reading
    at the data mean, :func:`origin_reading` with the first :data:`ORIGIN_FRAMES` frames and
    ``drop = min(ORIGIN_DROP, dim - d1 - d2 - 1)`` (key ``origin`` of each).

    Returns
    -------
    dict
        ``n_train``, ``noise``, ``variance`` (per-coordinate second moment of ``A`` and ``B``
        in the training set), ``empirical`` and ``model`` (None without ``train``) from
        :func:`spectrum_data`, the final training loss and time.
    """
    from diffphase.numerics.empirical import EmpiricalScore

    from .data import linear_manifold

    n_train = check_int("n_train", n_train, minimum=2)
    dim = check_int("dim", dim, minimum=5)
    d1 = check_int("d1", d1, minimum=2)
    d2 = check_int("d2", d2, minimum=2, maximum=dim - d1 - 1)
    n_points = check_int("n_points", n_points, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    full = _full_stds(dim, d1, d2, stds)
    ds = linear_manifold(n_train, dim, dim, full, basis=np.eye(dim), seed=seed, project_to_sphere=True)
    X = ds.data.numpy().astype(np.float64)
    rng = np.random.default_rng([seed, 1])
    idx = np.sort(rng.choice(n_train, size=min(n_points, n_train), replace=False))
    x0 = X[idx]
    probes = mf.orthogonal_probes(len(idx), dim, seed=np.random.default_rng([seed, 2]))
    groups = _groups(dim, d1, d2)
    es = EmpiricalScore(X)
    frames = probes[:ORIGIN_FRAMES]
    out = {"n_train": n_train, "noise": np.asarray(noise, dtype=np.float64), "points": idx,
           "variance": {g: float(np.mean(X[:, c] ** 2)) for g, c in groups.items()},
           "empirical": spectrum_data(es, x0, noise, probes, d1=d1, d2=d2),
           "model": None, "final_loss": None, "train_seconds": None}
    drop = min(ORIGIN_DROP, dim - d1 - d2 - 1)
    out["empirical"]["origin"] = origin_reading(es, noise, frames, d1=d1, d2=d2, drop=drop)
    if train is not None:
        from .models import score_function
        from .train import TrainConfig
        from .train import train as train_model

        cfg = TrainConfig(**{**train, "seed": int(seed)})
        model, hist = train_model(cfg, ds, device=device, cache_dir=cache_dir, progress=progress,
                                  desc=f"manifold N={n_train}")
        sm = score_function(model, device=device)
        out["model"] = spectrum_data(lambda x, t: sm(x, t), x0, noise, probes, d1=d1, d2=d2)
        out["model"]["origin"] = origin_reading(lambda x, t: sm(x, t), noise, frames, d1=d1, d2=d2, drop=drop)
        out["final_loss"] = float(hist.smoothed()[-1])
        out["train_seconds"] = hist.seconds
    return out


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


def _loss_levels(noise, r: dict, n_boot: int, seed: int, level: float = LEVEL) -> dict:
    """Loss levels of both subspaces, their difference, and bootstrap errors over points."""
    kept = {g: np.asarray(r[g], dtype=np.float64) <= level for g in SUBSPACES}
    est = {g: loss_level(noise, kept[g]) for g in SUBSPACES}
    P = kept["A"].shape[1]
    rng = np.random.default_rng(seed)
    reps = {"A": [], "B": [], "diff": []}
    for _ in range(n_boot):
        sel = rng.integers(0, P, size=P)
        la, lb = (loss_level(noise, kept[g][:, sel])[0] for g in SUBSPACES)
        reps["A"].append(la)
        reps["B"].append(lb)
        reps["diff"].append(la - lb)

    def se(v):
        v = np.asarray(v)
        ok = np.isfinite(v)
        return float(np.std(v[ok], ddof=1)) if ok.mean() >= 0.9 and ok.sum() > 1 else math.inf

    return {"A": est["A"][0], "B": est["B"][0], "censored": {g: est[g][1] for g in SUBSPACES},
            "se": {"A": se(reps["A"]), "B": se(reps["B"]), "diff": se(reps["diff"])}}


def _analyse(points: list, n_boot: int, seed: int) -> dict:
    out = {}
    for p in points:
        noise = np.asarray(p["noise"], dtype=np.float64)
        v_min = min(p["variance"].values())
        window = noise <= v_min / 2
        res = {}
        for who in ("model", "empirical"):
            d = p.get(who)
            if d is None:
                continue
            st = subspace_states(d["r"], d["k"])
            ll = _loss_levels(noise, d["r"], n_boot, seed + p["n_train"])
            one, one_se = st["one"]
            if np.any(window):
                j = int(np.flatnonzero(window)[np.argmax(one[window])])
                sel = (float(one[j]), float(one_se[j]), float(noise[j]))
            else:
                sel = (math.nan, math.nan, math.nan)
            res[who] = {"states": st, "loss": ll, "selective": sel,
                        "collapse": (float(st["none"][0][np.argmin(noise)]), float(st["none"][1][np.argmin(noise)]))}
            if d.get("origin") is not None:
                res[who]["origin"] = _origin_summary(noise, d["origin"])
        out[p["n_train"]] = res
    return out


def _origin_summary(noise, o: dict) -> dict:
    """Fractions of frames keeping each subspace at the data mean, median ratios and gaps, and
    the loss levels (:func:`loss_level`: the fraction falls through 1/2 as the noise decreases;
    NaN: never kept)."""
    kept = {g: np.asarray(o["rho"][g]) <= float(o["level"]) for g in SUBSPACES}
    return {"kept": {g: kept[g].mean(axis=1) for g in SUBSPACES},
            "rho": {g: np.median(np.asarray(o["rho"][g]), axis=1) for g in SUBSPACES},
            "gaps": np.median(np.asarray(o["gaps"]), axis=1), "gap_indices": o["gap_indices"],
            "loss": {g: loss_level(noise, kept[g]) for g in SUBSPACES}}


def _predicted_loss(variance: dict, n: int) -> dict:
    # the authors' per-subspace critical noise s_g^2 / (2 log N) (theory cell of their notebook;
    # ``variance`` maps a subspace to the variance put in)
    return {g: math.log(variance[g] / (2.0 * math.log(n))) for g in SUBSPACES}


def _plot(points: list, ana: dict, config: dict, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    D, d1, d2 = int(config["dim"]), int(config["d1"]), int(config["d2"])
    noise = np.asarray(points[0]["noise"], dtype=np.float64)
    j = int(np.argmin(np.abs(np.log(noise / float(config["show_noise"])))))
    s2 = noise[j]
    ns = [p["n_train"] for p in points]
    cmap = plt.get_cmap("viridis")
    col = {n: cmap(i / max(1, len(ns) - 1)) for i, n in enumerate(sorted(ns))}
    gi = _gap_indices(d1, d2)
    fig, axs = plt.subplots(2, 2, figsize=(14, 9.5))
    ax = axs.ravel()
    idx = np.arange(1, D)
    for p in sorted(points, key=lambda q: q["n_train"]):
        n = p["n_train"]
        if p["model"] is not None:
            ax[0].plot(idx, np.asarray(p["model"]["spectrum"])[j], "o-", ms=3, color=col[n], label=f"model N={n}")
        ax[0].plot(idx, np.asarray(p["empirical"]["spectrum"])[j], "s--", ms=2.5, color=col[n], alpha=0.7,
                   label=f"empirical N={n}")
    for m, c in zip(gi, ("C3", "C2", "k")):
        ax[0].axvline(D - 1 - m + 0.5, color=c, ls=":", lw=1)
    ax[0].axhline(LEVEL, color="gray", lw=0.8)
    ax[0].set_xlabel("index of the normalised singular value (descending); dotted: the m smallest to the right")
    ax[0].set_ylabel("normalised singular value (median over points)")
    ax[0].set_title(rf"spectra at $\sigma^2={s2:.3g}$ ($D={D}$, $d_1={d1}$, $d_2={d2}$, on the sphere)", fontsize=9)
    ax[0].set_xlim(max(0.5, D - 1 - (d1 + d2 + 4)), D - 0.5)
    ax[0].legend(fontsize=6, ncol=2)
    nsort = np.array(sorted(ns), dtype=np.float64)
    for who, ls, mk in (("model", "-", "o"), ("empirical", "--", "s")):
        pts = [p for p in sorted(points, key=lambda q: q["n_train"]) if p[who] is not None]
        if not pts:
            continue
        x = np.array([p["n_train"] for p in pts], dtype=np.float64)
        g = np.array([np.median(np.asarray(p[who]["gaps"])[j], axis=0) for p in pts])
        for i, (m, c) in enumerate(zip(gi, ("C3", "C2", "k"))):
            ax[1].plot(x, g[:, i], mk + ls, ms=4, color=c, label=f"{who}, gap above {m} smallest")
        k = [np.asarray(p[who]["k"])[j] for p in pts]
        q = np.array([np.quantile(kk, [0.25, 0.5, 0.75]) for kk in k])
        ax[2].errorbar(x * (1.05 if who == "empirical" else 1.0), q[:, 1], yerr=[q[:, 1] - q[:, 0], q[:, 2] - q[:, 1]],
                       fmt=mk + ls, ms=5, capsize=3, color="C0" if who == "model" else "C2", label=who)
    for a in ax[1:3]:
        a.set_xscale("log")
        a.set_xlabel("training-set size $N$")
        a.set_xlim(nsort.min() / 1.5, nsort.max() * 1.5)
    ax[1].set_ylabel("gap (median over points)")
    ax[1].set_title(rf"spectral gaps at $\sigma^2={s2:.3g}$", fontsize=9)
    ax[1].legend(fontsize=6)
    for m, c in zip(gi, ("C3", "C2", "k")):
        ax[2].axhline(m, color=c, ls=":", lw=1)
    ax[2].set_ylabel(r"dimension estimate $\#\{\hat s\leq 1/2\}$ (median, quartiles)")
    ax[2].set_title(rf"dimension at $\sigma^2={s2:.3g}$ (dotted: {gi[0]} = A, {gi[1]} = B, {gi[2]} = both)",
                    fontsize=9)
    ax[2].legend(fontsize=7)
    trained = [p for p in points if p["model"] is not None]
    shown = []
    if trained:
        shown.append((max(trained, key=lambda q: q["n_train"]), "model", "-"))
    shown.append((max(points, key=lambda q: q["n_train"]), "empirical", "--"))
    for p, who, ls in shown:
        st = ana[p["n_train"]][who]["states"]
        for key, c, lab in (("A", "C3", "keeps A"), ("B", "C2", "keeps B"), ("one", "C1", "exactly one"),
                            ("none", "k", "none (collapsed)")):
            f, e = (np.asarray(v) for v in st[key])
            ax[3].errorbar(noise, f, yerr=2 * e, fmt=ls, color=c, lw=1.3 if who == "model" else 1.0,
                           label=f"{who} N={p['n_train']}: {lab}")
    pe = max(points, key=lambda q: q["n_train"])
    org = ana[pe["n_train"]]["empirical"].get("origin")
    if org is not None:
        for key, c in (("A", "C3"), ("B", "C2")):
            ax[3].plot(noise, org["kept"][key], ":", color=c, lw=2.0,
                       label=f"empirical N={pe['n_train']}, at the data mean (authors' test point): keeps {key}")
    v_min = min(shown[0][0]["variance"].values())
    ax[3].axvspan(noise.min() / 1.2, v_min / 2, color="0.9", zorder=0)
    ax[3].axhline(0.5, color="gray", lw=0.8)
    ax[3].set_ylim(-0.05, 1.05)
    ax[3].set_xscale("log")
    ax[3].set_xlabel(r"noise level $\sigma^2 = e^{2t}-1$ (shaded: $\sigma^2\leq v_{\min}/2$)")
    ax[3].set_ylabel("fraction of training points (dotted: of frames at the data mean; bars 2 s.e.)")
    ax[3].set_title("which subspaces the score keeps", fontsize=9)
    ax[3].legend(fontsize=6, loc="center left")
    fig.tight_layout()
    return save_figure(fig, path)


def _fmt(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.3g}"


def run_manifold(config: dict, ctx) -> "ExperimentResult":
    r"""``manifold``: the authors' spectrum of trained DDPMs and of the exact empirical score
    (:func:`manifold_point` per ``N``), read per subspace against the noise level; verdicts with
    :data:`TOLERANCES`."""
    from .engine.executor import spawn_seeds
    from .engine.verdicts import ExperimentResult, Verdict

    sizes = [int(n) for n in config["sizes"]]
    refs = [int(n) for n in config.get("reference_sizes", [])]
    if not sizes:
        raise ValueError("config['sizes'] must list at least one training-set size")
    if set(sizes) & set(refs) or len(set(sizes + refs)) != len(sizes + refs):
        raise ValueError(f"config['sizes'] {sizes} and config['reference_sizes'] {refs} must be distinct: a trained "
                         "size already reads the exact empirical score of its own training set")
    noise = noise_grid(**config["noise"])
    seeds = spawn_seeds(int(config["seed"]), len(sizes) + len(refs))
    common = {key: config[key] for key in ("dim", "d1", "d2", "stds", "n_points")}
    items = [dict(common, n_train=n, noise=noise, train=config["train"] if i < len(sizes) else None,
                  seed=s % (2**31 - 1), device=ctx.device,
                  cache_dir=str(ctx.cache_dir) if ctx.cache_dir is not None else None,
                  progress=ctx.progress and ctx.executor == "serial")
             for i, (n, s) in enumerate(zip(sizes + refs, seeds))]
    names = [f"N{n}" for n in sizes] + [f"E{n}" for n in refs]
    points = ctx.sweep(names, manifold_point, items)
    ana = _analyse(points, int(config.get("n_boot", 400)), int(config["seed"]))
    trained = sorted((p for p in points if p["model"] is not None), key=lambda q: q["n_train"])
    small, big = trained[0], trained[-1]
    ref = max(points, key=lambda q: q["n_train"])
    tol = TOLERANCES
    verdicts = []
    col = ana[small["n_train"]]["model"]["collapse"]
    verdicts.append(Verdict.check(
        f"fully contracted score at the smallest N = {small['n_train']} and noise {noise.min():.3g} (fraction of "
        "training points with no normalised singular value <= 1/2), trained DDPM",
        col[0], None, tol["manifold.collapse"], "min", stderr=col[1], unit="fraction", kind="precondition",
        key="memorizes",
        source="the trained model memorizes (its score contracts every direction onto the training point) at the "
               "smallest training set: the claims read the loss of a subspace as memorization"))

    def claim_pair(p, who, label, kind, source):
        a = ana[p["n_train"]][who]
        ll = a["loss"]
        sep = abs(ll["A"] - ll["B"]) if math.isfinite(ll["A"]) and math.isfinite(ll["B"]) else math.nan
        cens = [g for g in SUBSPACES if ll["censored"][g]]
        note = (f"loss level sigma^2: A {_fmt(math.exp(ll['A']) if math.isfinite(ll['A']) else math.nan)}, "
                f"B {_fmt(math.exp(ll['B']) if math.isfinite(ll['B']) else math.nan)} (NaN: never kept by a majority)"
                + (f"; kept down to the smallest noise (bound): {', '.join(cens)}" if cens else ""))
        req = ["memorizes", "memorizes at N"] if who == "model" else []
        if who == "model":
            st = a["states"]
            j = int(np.argmin(np.asarray(p["noise"], dtype=np.float64)))
            both = 0.5 * (st["A"][0][j] + st["B"][0][j] - st["one"][0][j])  # keeps A and B
            lost = float(1.0 - both)
            n_pts = int(config["n_points"])
            verdicts.append(Verdict.check(
                f"fraction of training points that lost at least one subspace at the smallest noise "
                f"{float(np.min(p['noise'])):.3g}, {label} N={p['n_train']}",
                lost, None, tol["manifold.memorizes_at_claim"], "min",
                stderr=math.sqrt(max(lost * (1 - lost), 0.0) / n_pts), unit="fraction", kind="precondition",
                key="memorizes at N",
                source="the claim concerns subspaces lost to memorization: at the N where it is read, the trained "
                       "model must have memorized something"))
        verdicts.append(Verdict.check(
            f"subspaces lost at different noise levels: |log sigma^2_A - log sigma^2_B|, {label} N={p['n_train']}",
            sep, None, tol["manifold.separation"], "min", stderr=ll["se"]["diff"], unit="log sigma^2", kind=kind,
            source=source, key=f"separation {who}", requires=req, note=note))
        sel = a["selective"]
        verdicts.append(Verdict.check(
            f"selective loss: largest fraction of training points keeping exactly one subspace at sigma^2 <= "
            f"v_min/2, {label} N={p['n_train']}",
            sel[0], None, tol["manifold.selective"], "min", stderr=sel[1], unit="fraction", kind=kind,
            source=source, key=f"selective {who}", requires=req,
            note=f"at sigma^2 = {_fmt(sel[2])}; v_A = {p['variance']['A']:.3g}, v_B = {p['variance']['B']:.3g}"))

    claim_pair(big, "model", "trained DDPM", "claim", "achilli.selective")
    # the claim is about the generative dynamics: read on the exact empirical score (the optimum
    # of the training objective) it is the paper's claim without network error, as in late_start
    claim_pair(ref, "empirical", "exact empirical score", "claim", "achilli.selective")
    stds = _full_stds(int(config["dim"]), int(config["d1"]), int(config["d2"]), config["stds"])
    generating = {"A": float(stds[0] ** 2), "B": float(stds[int(config["d1"])] ** 2)}
    for p, who, label in ((big, "model", "trained DDPM"), (ref, "empirical", "exact empirical score")):
        ll = ana[p["n_train"]][who]["loss"]
        req = ["memorizes", "memorizes at N"] if who == "model" else []
        verdicts.append(Verdict.check(
            f"order: log(sigma^2_A / sigma^2_B), higher variance lost first, {label} N={p['n_train']}",
            ll["A"] - ll["B"], None, tol["manifold.order"], "min", stderr=ll["se"]["diff"], unit="log sigma^2",
            kind="exploratory", key=f"order {who}", requires=req,
            source="'under some conditions, subspaces of higher variance are lost first' (Achilli et al., "
                   "arXiv 2410.08727, abstract); the conditions are not derived here"))
        pred = _predicted_loss(generating, p["n_train"])
        pred_v = _predicted_loss(p["variance"], p["n_train"])
        dev = [abs(ll[g] - pred[g]) for g in SUBSPACES]
        verdicts.append(Verdict.check(
            f"threshold: max over subspaces |log sigma^2_g - log(s_g^2 / 2 log N)|, {label} N={p['n_train']}",
            max(dev) if all(math.isfinite(x) for x in dev) else math.nan, None, tol["manifold.threshold"], "max",
            unit="log sigma^2", kind="exploratory", key=f"threshold {who}", requires=req,
            source="the authors' per-subspace critical noise s_g^2/(2 log N), s_g the generating standard deviation "
                   "(theory cell of their notebook, which uses it unchanged for the data on the sphere), a "
                   f"large-dimension result applied here at D = {config['dim']}",
            note="predicted sigma^2: " + ", ".join(f"{g} {math.exp(pred[g]):.3g}" for g in SUBSPACES)
                 + "; with the per-coordinate variance of the projected data instead: "
                 + ", ".join(f"{g} {math.exp(pred_v[g]):.3g}" for g in SUBSPACES)))
    fig = _plot(points, ana, config, ctx.figure_path())
    numbers = {"points": points, "analysis": {str(n): a for n, a in ana.items()},
               "noise": noise, "gap_indices": _gap_indices(int(config["d1"]), int(config["d2"]))}
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers=numbers,
                            figures=[fig.name])


def cost_manifold(config: dict) -> dict:
    """FLOPs of :func:`run_manifold`: one training per size of ``sizes``; the spectra cost
    ``dim`` forward passes per training point and noise level (the exact empirical score,
    numpy, is not counted)."""
    f, t = denoiser_cost(config["train"], int(config["dim"]))
    n, d = len(config["sizes"]), int(config["dim"])
    per = int(config["noise"]["count"]) * int(config["n_points"]) * d
    return {"train_flops": n * f["train"] * t["steps"] * t["batch"], "sample_flops": n * per * f["forward"],
            "train_steps": n * t["steps"], "sampler_calls": n * int(config["noise"]["count"])}


# ---------------------------------------------------------------------------------------------
# The Jacobian of a trained score (autograd) and the level-1/2 reading of the previous
# protocol, kept as utilities (numerics.manifold.surviving_directions is their reference)
# ---------------------------------------------------------------------------------------------


def score_jacobian(model, x, t: float, *, device=None) -> np.ndarray:
    r"""Jacobian of a trained denoiser's score at OU time ``t``, by autograd, batched.

    .. math:: J_{b,ij} = \frac{\partial s_i}{\partial x_j}(x_b, t),\qquad
              s(x, t) = -\hat\varepsilon_\theta(x, t)/\sqrt{\Delta_t},\quad \Delta_t = 1-e^{-2t},

    one backward pass per output coordinate over the whole batch (``d`` passes).

    Parameters
    ----------
    model : torch.nn.Module
        A vector denoiser, ``model(x, t)`` returning :math:`\hat\varepsilon` of shape (B, d).
    x : array_like, shape (B, d)
        Points (finite).
    t : float
        OU time ``> 0``.
    device : str or torch.device, optional
        Default: the device of the model's parameters.

    Returns
    -------
    ndarray, shape (B, d, d), float64
        Not symmetrized (a learned score need not be a gradient field).

    Examples
    --------
    >>> import torch
    >>> class Linear(torch.nn.Module):       # eps = sqrt(Delta) x: the score -x of N(0, I)
    ...     def forward(self, x, t):
    ...         return torch.sqrt(-torch.expm1(-2 * t))[:, None] * x
    >>> J = score_jacobian(Linear(), [[0.3, -1.0]], 0.5)
    >>> bool(np.allclose(J[0], -np.eye(2), atol=1e-6))
    True
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"x must be a finite array of shape (B, d), got shape {x.shape}")
    t = float(check_times(t, positive=True))
    if device is None:
        p = next(iter(model.parameters()), None)
        device = p.device if p is not None else torch.device("cpu")
    model = model.to(device).eval()
    xt = torch.tensor(x, dtype=torch.float32, device=device, requires_grad=True)
    tt = torch.full((x.shape[0],), t, dtype=torch.float32, device=device)
    with torch.enable_grad():
        s = -model(xt, tt) / math.sqrt(cv.delta(t))
        rows = [torch.autograd.grad(s[:, i].sum(), xt, retain_graph=i < x.shape[1] - 1)[0]
                for i in range(x.shape[1])]
    return torch.stack(rows, dim=1).detach().cpu().double().numpy()


def surviving_subspace(jacobians, t: float, basis, *, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Surviving directions of score Jacobians and their projections on tangent directions.

    For each (symmetrized) Jacobian :math:`J_b` with eigenpairs :math:`(\lambda, v)`, the
    surviving eigenvectors are those with :math:`\Delta_t\lambda \ge -1+\text{level}` (the
    criterion of :func:`~diffphase.numerics.manifold.surviving_directions`); the projection
    of the surviving subspace on the tangent direction :math:`u_i` (column ``i`` of ``basis``)
    is :math:`o_{b,i} = \sum_{v\ \rm surviving}(u_i\cdot v)^2\in[0,1]`.

    Parameters
    ----------
    jacobians : array_like, shape (B, d, d)
        Score Jacobians at OU time ``t`` (symmetrized here, :math:`(J+J^T)/2`).
    t : float
        OU time ``> 0``.
    basis : array_like, shape (d, k)
        Orthonormal tangent directions.
    level : float
        In ``(0, 1)``.

    Returns
    -------
    scaled : ndarray, shape (B, d)
        :math:`\Delta_t\lambda`, ascending.
    counts : ndarray of int, shape (B,)
    overlaps : ndarray, shape (B, k)

    Examples
    --------
    >>> import numpy as np
    >>> from diffphase.numerics import conventions as cv
    >>> t = 0.1; d = cv.delta(t)
    >>> J = np.diag([-1 / d, -0.2 / d])[None]          # second axis keeps 80 % of the noise
    >>> scaled, counts, o = surviving_subspace(J, t, np.eye(2))
    >>> counts.tolist(), o.round(6).tolist()
    ([1], [[0.0, 1.0]])
    """
    J = np.asarray(jacobians, dtype=np.float64)
    if J.ndim != 3 or J.shape[1] != J.shape[2] or not np.all(np.isfinite(J)):
        raise ValueError(f"jacobians must be finite of shape (B, d, d), got {J.shape}")
    U = np.asarray(basis, dtype=np.float64)
    if U.ndim != 2 or U.shape[0] != J.shape[1]:
        raise ValueError(f"basis must have shape ({J.shape[1]}, k), got {U.shape}")
    t = float(check_times(t, positive=True))
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    w, V = np.linalg.eigh(0.5 * (J + J.transpose(0, 2, 1)))
    scaled = cv.delta(t) * w
    surv = scaled >= -1.0 + level
    proj = np.einsum("dk,bde->bke", U, V) ** 2          # (u_k . v_e)^2
    overlaps = np.einsum("bke,be->bk", proj, surv.astype(np.float64))
    return scaled, surv.sum(axis=1), overlaps


def _empirical_jacobians(X, x, t):
    # the Jacobian is a*Cov - b*I (a > 0): eigenvalues from jacobian_spectrum, and the same
    # eigenvectors as the posterior covariance
    _, cov = mf.jacobian_spectrum(X, x, t, return_posterior=True)
    a = cv.theta(t) ** 2 / cv.delta(t) ** 2
    return a * cov - np.eye(X.shape[1])[None] / cv.delta(t)


_MLP_QUICK = {"model": "mlp", "model_kwargs": {"hidden": 128, "depth": 2}, "steps": 8000, "batch_size": 128,
              "lr": 2e-3, "t_min": 1e-4, "t_max": 3.0, "t_distribution": "log_uniform", "checkpoint_every": 2000}
_MLP_FULL = {"model": "mlp", "model_kwargs": {"hidden": 512, "depth": 4}, "steps": 200000, "batch_size": 128,
             "lr": 5e-4, "t_min": 1e-5, "t_max": 4.0, "t_distribution": "log_uniform", "checkpoint_every": 10000}
# VE noise 0.2 down to 0.0011 in steps of sqrt(2) (the authors read t in [1e-5, 0.8] of their
# VE schedule 0.01 (5000)^t, sigma^2 from 1e-4 to 83)
_NOISE = {"largest": 0.2, "ratio": math.sqrt(2.0), "count": 16}

#: The experiments of this module, registered by :mod:`diffphase.validation.validate`.
EXPERIMENTS = [
    Experiment(
        name="manifold",
        title="Manifold memorization: the authors' score spectrum at training points, subspace by subspace",
        run=run_manifold,
        cost=cost_manifold,
        # the authors' data (D = 30, d1 = 2, d2 = 5, std 1 / 0.3 / 0.01, on the sphere); two
        # trained sizes (their 250 / 500 / 20 000 scaled down: 16 is memorized in 8000 CPU steps;
        # a third trained size does not fit the ~70 s budget on two cores). The claim is read at
        # the larger size, which must be in the memorizing regime (precondition "memorizes at
        # N"): the first quick run used 256, where the model memorized nothing (precondition
        # failed); 64 replaced it. A trained pilot at 64 had shown a selective state before, so
        # the trained-model claim at 64 is not a blind test (docs/models/manifold.md). The exact
        # empirical score is read at every trained size (on its training set) and at 2000 and
        # their 20 000.
        quick={"dim": 30, "d1": 2, "d2": 5, "stds": [1.0, 0.3, 0.01], "sizes": [16, 64],
               "reference_sizes": [2000, 20000], "noise": _NOISE, "n_points": 32, "show_noise": 0.0177,
               "train": _MLP_QUICK, "n_boot": 400, "seed": 0},
        full={"dim": 30, "d1": 2, "d2": 5, "stds": [1.0, 0.3, 0.01], "sizes": [250, 500, 2000, 20000],
              "reference_sizes": [100000], "noise": {"largest": 0.4, "ratio": 2 ** 0.25, "count": 40},
              "n_points": 128, "show_noise": 0.0177, "train": _MLP_FULL, "n_boot": 400, "seed": 0},
    ),
]
