r"""The Jacobian of a trained score (autograd) and the level-1/2 reading of the previous protocol
of the ``manifold`` experiment, kept as utilities
(:func:`~diffphase.numerics.manifold.surviving_directions` is their reference).

All times are OU times (:mod:`diffphase.numerics.conventions`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from diffphase.numerics import conventions as cv
from diffphase.numerics import manifold as mf
from diffphase.numerics.checks import check_real, check_times

from .protocol import LEVEL

__all__ = ["score_jacobian", "surviving_subspace"]


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
    # the Jacobian is a*Cov - b*I (a > 0): the same eigenvectors as the posterior covariance
    cov = mf.score_jacobian(X, x, t).posterior_covariance
    a = cv.theta(t) ** 2 / cv.delta(t) ** 2
    return a * cov - np.eye(X.shape[1])[None] / cv.delta(t)
