r"""Noise processes on the leaves of the RHM, with one interface.

Every process has a noise level :math:`\varepsilon\in[0,1]` with the same meaning: the
probability that a token is *not kept*, :math:`\varepsilon = 1-\bar\alpha`. Its time on the
package's Ornstein--Uhlenbeck axis is :math:`t = -\tfrac12\log(1-\varepsilon)` (see
:func:`diffphase.numerics.conventions.time_from_noise_level`; :math:`\varepsilon=1` is
:math:`t=\infty`). A discrete :math:`\beta` schedule gives :math:`\varepsilon_k = 1-\bar\alpha_k`
at step ``k``, :math:`\bar\alpha_k=\prod_{j\le k}(1-\beta_j)`, the one-shot law of ``k`` steps
of the per-step chain (keep with probability :math:`1-\beta_j`).

The leaf *evidence* is the likelihood :math:`\nu_i(b) = p(x_{t,i}\mid x_{0,i}=b)`, an array
``(n, d, v)`` for :func:`diffphase.numerics.rhm.bp.belief_propagation`:

* :class:`EpsilonProcess` (the mean-field process): :math:`\nu_i(b)=(1-\varepsilon)\delta_{b,x_{0,i}}+\varepsilon/v`,
  centred on the clean token; the "noisy data" is the clean data itself (all the noise is in
  the evidence), so :meth:`~NoiseProcess.noise` returns a copy of the leaves.
* :class:`Masking`: each token is replaced by the mask symbol ``MASK = v`` with probability
  :math:`\varepsilon`; :math:`\nu(b)=\varepsilon` for a masked token and
  :math:`(1-\varepsilon)\delta_{b,x_{t,i}}` otherwise.
* :class:`UniformDiffusion`: each token is kept with probability :math:`1-\varepsilon`, else
  resampled uniformly over the ``v`` symbols:
  :math:`\nu(b)=(1-\varepsilon)\delta_{b,x_{t,i}}+\varepsilon/v`.

Examples
--------
>>> import numpy as np
>>> p = get_process("masking", v=4)
>>> x = np.zeros((2, 8), dtype=np.int64)
>>> xt = p.noise(x, 0.5, seed=0)
>>> ev = p.evidence(xt, 0.5)
>>> ev.shape
(2, 8, 4)
>>> round(p.time(0.75), 6)  # -1/2 log(1 - 0.75)
0.693147
"""

from __future__ import annotations

import numpy as np

from .. import conventions as cv
from ..checks import check_array, check_int, check_real, check_rng
from ..process import discrete_noise

__all__ = ["NoiseProcess", "EpsilonProcess", "Masking", "UniformDiffusion", "get_process", "PROCESSES"]


def _default_schedule():
    # the linear schedule of the authors' later code (Sclocchi, Favero, Levi, Wyart, arXiv 2410.13770): beta 1e-3 .. 0.1, T = 200
    return cv.DiscreteSchedule.linear(200, 1e-3, 0.1)


class NoiseProcess:
    """Base class: noise level ``eps`` in [0, 1], the probability that a token is not kept.

    Parameters
    ----------
    v : int
        Vocabulary size of the leaves (``>= 2``).
    schedule : DiscreteSchedule, optional
        :math:`\\beta` schedule used by :meth:`level_at_step` (default: linear, ``T = 200``,
        :math:`\\beta` from 1e-3 to 0.1).
    """

    name = "base"

    def __init__(self, v, schedule=None):
        self.v = check_int("v", v, minimum=2)
        if schedule is None:
            schedule = _default_schedule()
        if not isinstance(schedule, cv.DiscreteSchedule):
            raise ValueError("schedule must be a diffphase.numerics.conventions.DiscreteSchedule")
        self.schedule = schedule

    def __repr__(self) -> str:
        return f"{type(self).__name__}(v={self.v}, schedule={self.schedule!r})"

    # --- noise level <-> time -------------------------------------------------------------
    @staticmethod
    def check_level(eps) -> float:
        """Return ``eps`` as a float after checking ``0 <= eps <= 1``."""
        return check_real("noise level eps", eps, low=0.0, high=1.0)

    def time(self, eps):
        r"""OU time :math:`t=-\tfrac12\log(1-\varepsilon)` of noise level(s) ``eps``
        (``inf`` at :math:`\varepsilon=1`)."""
        arr = check_array("eps", eps)
        if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
            raise ValueError("noise level eps must be in [0, 1]")
        out = np.full(arr.shape, np.inf)
        finite = arr < 1
        if np.any(finite):
            out[finite] = cv.time_from_noise_level(arr[finite])
        return float(out) if out.ndim == 0 else out

    def level(self, t):
        r"""Noise level :math:`\varepsilon = 1-e^{-2t}` at OU time(s) ``t >= 0``."""
        return cv.noise_level(t)

    def level_at_step(self, k):
        r"""Noise level :math:`1-\bar\alpha_k` after ``k`` steps of :attr:`schedule`."""
        return cv.noise_level(self.schedule.time(k))

    # --- data -----------------------------------------------------------------------------
    def _check_tokens(self, x, name, allow_mask=False):
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"{name} must have shape (n, d), got {x.shape}")
        if not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"{name} must be an integer array")
        hi = self.v if allow_mask else self.v - 1
        if x.size and (x.min() < 0 or x.max() > hi):
            raise ValueError(f"{name} must be tokens in [0, {hi}], got [{x.min()}, {x.max()}]")
        return x.astype(np.int64, copy=False)

    def noise(self, leaves, eps, seed=None):
        """Noisy observation ``x_t`` (n, d) int64 of clean ``leaves`` at level ``eps``."""
        raise NotImplementedError

    def evidence(self, observed, eps, dtype=np.float64):
        """Leaf likelihood :math:`\\nu_i(b)=p(x_{t,i}\\mid x_{0,i}=b)`, shape (n, d, v)."""
        raise NotImplementedError

    def noise_and_evidence(self, leaves, eps, seed=None, dtype=np.float64):
        """``(observed, evidence)`` in one call."""
        xt = self.noise(leaves, eps, seed)
        return xt, self.evidence(xt, eps, dtype=dtype)

    def _kept_or_uniform(self, observed, eps, dtype):
        """:math:`(1-\\varepsilon)\\delta_{b,x_i}+\\varepsilon/v` for the tokens ``observed``."""
        eps = self.check_level(eps)
        x = self._check_tokens(observed, "observed")
        return self._soft_onehot(x, 1.0 - eps, eps / self.v, dtype)

    def _soft_onehot(self, x, keep, floor, dtype):
        """``keep * onehot(x) + floor`` of shape (n, d, v) (tokens outside [0, v) get only
        ``floor``)."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        n, d = x.shape
        ev = np.full((n, d, self.v), floor, dtype=dtype)
        ok = x < self.v
        rows, cols = np.nonzero(ok)
        ev[rows, cols, x[rows, cols]] += dtype.type(keep)
        return ev


class EpsilonProcess(NoiseProcess):
    r"""The :math:`\varepsilon`-process of the mean-field theory: leaf message
    :math:`(1-\varepsilon)\delta_{b,x_{0,i}}+\varepsilon/v` centred on the clean token.

    The observation is the clean token itself (:meth:`noise` returns a copy), so the only
    randomness of a forward--backward experiment is the datum and the posterior sample.
    """

    name = "epsilon"

    def noise(self, leaves, eps, seed=None):
        """Return a copy of ``leaves`` (the process is deterministic; see the class)."""
        self.check_level(eps)
        return self._check_tokens(leaves, "leaves").copy()

    def evidence(self, observed, eps, dtype=np.float64):
        r""":math:`\nu_i(b)=(1-\varepsilon)\delta_{b,x_i}+\varepsilon/v`, shape (n, d, v)."""
        return self._kept_or_uniform(observed, eps, dtype)


class UniformDiffusion(NoiseProcess):
    r"""Uniform discrete diffusion: keep each token with probability :math:`1-\varepsilon`,
    otherwise resample it uniformly over ``v`` (it may come back equal)."""

    name = "uniform"

    def noise(self, leaves, eps, seed=None):
        """Keep each token with probability ``1 - eps``, else draw it uniformly in [0, v)."""
        eps = self.check_level(eps)
        x = self._check_tokens(leaves, "leaves")
        return discrete_noise(x, eps, kind="uniform", vocab=self.v, generator=check_rng(seed))

    def evidence(self, observed, eps, dtype=np.float64):
        r""":math:`\nu_i(b)=(1-\varepsilon)\delta_{b,x_{t,i}}+\varepsilon/v`, shape (n, d, v)."""
        return self._kept_or_uniform(observed, eps, dtype)


class Masking(NoiseProcess):
    r"""Masking (absorbing) diffusion: each token becomes ``MASK = v`` with probability
    :math:`\varepsilon`."""

    name = "masking"

    @property
    def mask(self) -> int:
        """The mask token, ``v``."""
        return self.v

    def noise(self, leaves, eps, seed=None):
        """Replace each token by ``MASK = v`` with probability ``eps``."""
        eps = self.check_level(eps)
        x = self._check_tokens(leaves, "leaves")
        return discrete_noise(x, eps, kind="masking", vocab=self.v, generator=check_rng(seed))

    def evidence(self, observed, eps, dtype=np.float64):
        r""":math:`\nu(b)=\varepsilon` for a masked token, :math:`(1-\varepsilon)\delta_{b,x_{t,i}}`
        otherwise, shape (n, d, v)."""
        eps = self.check_level(eps)
        x = self._check_tokens(observed, "observed", allow_mask=True)
        ev = self._soft_onehot(x, 1.0 - eps, 0.0, dtype)
        ev[x == self.v] = eps
        return ev


#: Process names accepted by :func:`get_process`.
PROCESSES = {
    "epsilon": EpsilonProcess,
    "masking": Masking,
    "uniform": UniformDiffusion,
}
_ALIASES = {"eps": "epsilon", "mask": "masking", "absorbing": "masking",
            "uniform_diffusion": "uniform"}


def get_process(process, v, schedule=None) -> NoiseProcess:
    """Return a :class:`NoiseProcess` from a name (``"epsilon"``, ``"masking"``,
    ``"uniform"``) or pass an instance through (its ``v`` must match).

    Examples
    --------
    >>> get_process("uniform", v=8).name
    'uniform'
    """
    if isinstance(process, NoiseProcess):
        if process.v != v:
            raise ValueError(f"process has v = {process.v}, the model has v = {v}")
        return process
    if not isinstance(process, str):
        raise ValueError(f"process must be one of {sorted(PROCESSES)} or a NoiseProcess")
    key = _ALIASES.get(process.lower(), process.lower())
    if key not in PROCESSES:
        raise ValueError(f"process must be one of {sorted(PROCESSES)}, got {process!r}")
    return PROCESSES[key](v, schedule=schedule)
