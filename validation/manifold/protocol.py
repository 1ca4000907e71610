r"""The protocol of the ``manifold`` experiment: the authors' score spectrum at training points
(Achilli et al., arXiv 2410.08727) and this package's reading of it per subspace, one training-set
size per sweep item (:func:`manifold_point`).

All times are OU times (:mod:`diffphase.numerics.conventions`); noise levels are the
variance-exploding :math:`\sigma^2 = e^{2t}-1` of the paper.
"""

from __future__ import annotations

import numpy as np

from diffphase.numerics import conventions as cv
from diffphase.numerics import manifold as mf
from diffphase.numerics.checks import check_int, check_real

__all__ = ["LEVEL", "SUBSPACES", "ORIGIN_DROP", "ORIGIN_FRAMES", "noise_grid", "gap_indices", "spectrum_data",
           "origin_reading", "full_stds", "manifold_point"]

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


def gap_indices(d1: int, d2: int) -> list:
    r"""Where the spectral gaps of :func:`spectrum_data` are read: the subspace sizes of the
    sphere-projected data, :math:`[d_1,\ d_2-1,\ d_1+d_2-1]`.

    Parameters
    ----------
    d1, d2 : int
        Sizes of the subspaces ``A`` and ``B`` (not checked here).

    Returns
    -------
    list of int
    """
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
    gi = gap_indices(d1, d2)
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


def full_stds(dim: int, d1: int, d2: int, stds) -> np.ndarray:
    r"""Per-coordinate generating standard deviations of the authors' data: ``stds[0]`` on the
    first ``d1`` coordinates (``A``), ``stds[1]`` on the next ``d2`` (``B``), ``stds[2]`` on the
    remaining ``dim - d1 - d2``.

    Parameters
    ----------
    dim, d1, d2 : int
        Dimension and subspace sizes (not checked here).
    stds : array_like, shape (3,)
        Standard deviations ``> 0``.

    Returns
    -------
    ndarray, shape (dim,)

    Raises
    ------
    ValueError
        If ``stds`` is not three finite values ``> 0``.
    """
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

    from ..data import linear_manifold

    n_train = check_int("n_train", n_train, minimum=2)
    dim = check_int("dim", dim, minimum=5)
    d1 = check_int("d1", d1, minimum=2)
    d2 = check_int("d2", d2, minimum=2, maximum=dim - d1 - 1)
    n_points = check_int("n_points", n_points, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    full = full_stds(dim, d1, d2, stds)
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
        from ..models import score_function
        from ..train import TrainConfig
        from ..train import train as train_model

        cfg = TrainConfig(**{**train, "seed": int(seed)})
        model, hist = train_model(cfg, ds, device=device, cache_dir=cache_dir, progress=progress,
                                  desc=f"manifold N={n_train}")
        sm = score_function(model, device=device)
        out["model"] = spectrum_data(lambda x, t: sm(x, t), x0, noise, probes, d1=d1, d2=d2)
        out["model"]["origin"] = origin_reading(lambda x, t: sm(x, t), noise, frames, d1=d1, d2=d2, drop=drop)
        out["final_loss"] = float(hist.smoothed()[-1])
        out["train_seconds"] = hist.seconds
    return out
