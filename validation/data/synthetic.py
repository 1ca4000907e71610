"""Synthetic data in raw coordinates: Gaussian mixtures and linear manifolds."""

from __future__ import annotations

import numpy as np

from diffphase.numerics.checks import check_int, check_real
from diffphase.numerics.gaussian_mixture import GaussianMixture

from .dataset import Dataset, unnormalized_dataset

__all__ = ["gaussian_mixture", "two_class_mixture", "linear_manifold"]


def gaussian_mixture(n: int, means, sigma=1.0, weights=None, seed: int = 0) -> Dataset:
    r"""Samples of an isotropic K-class Gaussian mixture.

    .. math:: P_0(x) = \sum_{k=1}^K w_k\, \mathcal N(x;\, m_k, \sigma_k^2 I_d).

    Labels are the component indices ``k`` (0-based). The data is not normalized.

    Parameters
    ----------
    n : int
        Number of samples, ``n >= 1``.
    means : array_like, shape (K, d)
        Component means :math:`m_k`, finite, ``K >= 1``, ``d >= 1``.
    sigma : float or array_like of shape (K,)
        Component standard deviations :math:`\sigma_k > 0` (one for all, or one per class).
    weights : array_like of shape (K,), optional
        Mixture weights :math:`w_k \ge 0` (normalized to sum 1; must not all be 0).
        Default uniform.
    seed : int
        Seed of the numpy generator (``>= 0``); equal seeds give equal samples.

    Returns
    -------
    Dataset
        ``meta`` holds ``means`` (K, d), ``sigma`` (K,), ``weights`` (K,).
    """
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    mix = GaussianMixture.from_std(means, sigma, weights)  # validates means, sigma, weights
    x, labels = mix.sample(n, seed=seed)
    m, s, w = mix.means, mix.sigmas, mix.weights
    return unnormalized_dataset(x, labels, "gaussian_mixture",
                         {"means": m.copy(), "sigma": np.array(s), "weights": w, "seed": seed})


def two_class_mixture(n: int, d: int, mu: float = 1.0, sigma: float = 1.0, seed: int = 0,
                      direction=None) -> Dataset:
    r"""The symmetric two-class mixture of the speciation/collapse analysis,

    .. math:: P_0 = \tfrac12\mathcal N(m, \sigma^2 I_d) + \tfrac12\mathcal N(-m, \sigma^2 I_d),
       \qquad m = \tilde\mu\sqrt d\, u,\ |u| = 1,

    so :math:`|m|^2 = \tilde\mu^2 d`. With the default ``direction`` :math:`u = (1,\dots,1)/\sqrt d`,
    i.e. :math:`m = \tilde\mu(1,\dots,1)`. Label 1 is the component :math:`+m`, label 0 the
    component :math:`-m`, so the class is the sign of the projection :math:`x\cdot m`.

    Parameters
    ----------
    n : int
        Number of samples, ``n >= 1``.
    d : int
        Dimension, ``d >= 1``.
    mu : float
        Mean scale :math:`\tilde\mu \ge 0`.
    sigma : float
        Class standard deviation :math:`\sigma > 0`.
    seed : int
        Seed (``>= 0``).
    direction : array_like of shape (d,), optional
        Direction of :math:`m` (normalized here; must be non-zero).

    Returns
    -------
    Dataset
        ``meta`` holds ``m`` (d,), ``mu``, ``sigma``, plus the :func:`gaussian_mixture` entries.
    """
    d = check_int("d", d, minimum=1)
    mu = check_real("mu", mu, low=0)
    sigma = check_real("sigma", sigma, low=0, low_open=True)
    if direction is None:
        u = np.ones(d) / np.sqrt(d)
    else:
        u = np.asarray(direction, dtype=np.float64)
        if u.shape != (d,) or not np.all(np.isfinite(u)) or np.linalg.norm(u) == 0:
            raise ValueError(f"direction must be a finite non-zero vector of shape ({d},)")
        u = u / np.linalg.norm(u)
    m = mu * np.sqrt(d) * u
    ds = gaussian_mixture(n, np.stack([-m, m]), sigma=sigma, seed=seed)
    ds.name = "two_class_mixture"
    ds.meta.update({"m": m, "mu": mu, "sigma_scalar": sigma})
    return ds


def linear_manifold(n: int, d: int, k: int, sigmas=1.0, basis=None, offset=None, seed: int = 0,
                    project_to_sphere: bool = False) -> Dataset:
    r"""Gaussian data on a k-dimensional linear subspace of :math:`\mathbb R^d`,

    .. math:: x = b + \sum_{i=1}^k \sigma_i z_i\, u_i, \qquad z_i \sim \mathcal N(0, 1),

    with orthonormal tangent directions :math:`u_1..u_k` (columns of ``basis``), variances
    :math:`\sigma_i^2` along them and zero variance in the :math:`d-k` normal directions.

    Parameters
    ----------
    n : int
        Number of samples, ``n >= 1``.
    d : int
        Ambient dimension, ``d >= 1``.
    k : int
        Manifold dimension, ``1 <= k <= d``.
    sigmas : float or array_like of shape (k,)
        Standard deviations :math:`\sigma_i > 0` along the tangent directions.
    basis : array_like of shape (d, k), optional
        Tangent directions; orthonormalized here (QR), must have rank k. Default: a random
        orthonormal basis drawn from ``seed`` (QR of a Gaussian matrix with sign fixed).
    offset : array_like of shape (d,), optional
        Offset :math:`b` of the affine subspace; default 0.
    seed : int
        Seed (``>= 0``).
    project_to_sphere : bool
        Divide every sample by its norm, :math:`x \leftarrow x/|x|` (the normalisation of the
        synthetic data of Achilli et al., arXiv 2410.08727: the points then lie on the unit
        sphere, a curved manifold). Default False; the same draws either way.

    Returns
    -------
    Dataset
        Unlabelled (``labels=None``); ``meta`` holds ``basis`` (d, k), ``sigmas`` (k,),
        ``offset`` (d,), ``k`` and ``project_to_sphere``.
    """
    n = check_int("n", n, minimum=1)
    d = check_int("d", d, minimum=1)
    k = check_int("k", k, minimum=1, maximum=d)
    seed = check_int("seed", seed, minimum=0)
    s = np.asarray(sigmas, dtype=np.float64)
    if s.ndim == 0:
        s = np.full(k, float(s))
    if s.shape != (k,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"sigmas must be a positive scalar or have shape ({k},) with entries > 0")
    rng = np.random.default_rng(seed)
    if basis is None:
        q, r = np.linalg.qr(rng.standard_normal((d, k)))
        U = q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))
    else:
        B = np.asarray(basis, dtype=np.float64)
        if B.shape != (d, k) or not np.all(np.isfinite(B)):
            raise ValueError(f"basis must be a finite array of shape ({d}, {k})")
        q, r = np.linalg.qr(B)
        if np.min(np.abs(np.diag(r))) < 1e-10 * max(1.0, np.abs(r).max()):
            raise ValueError(f"basis must have rank k = {k}")
        U = q * np.sign(np.diag(r))
    b = np.zeros(d) if offset is None else np.asarray(offset, dtype=np.float64)
    if b.shape != (d,) or not np.all(np.isfinite(b)):
        raise ValueError(f"offset must be a finite array of shape ({d},)")
    if not isinstance(project_to_sphere, bool):
        raise ValueError(f"project_to_sphere must be True or False, got {project_to_sphere!r}")
    z = rng.standard_normal((n, k))
    x = b + (z * s) @ U.T
    meta = {"basis": U, "sigmas": s, "offset": b, "k": k, "seed": seed}
    if project_to_sphere:
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        if np.any(norm == 0):
            raise ValueError("project_to_sphere: a sample is 0 (give a nonzero offset or sigmas)")
        x = x / norm
        meta["project_to_sphere"] = True
    return unnormalized_dataset(x, None, "linear_manifold", meta)


# --------------------------------------------------------------------------------------
# real images
# --------------------------------------------------------------------------------------
