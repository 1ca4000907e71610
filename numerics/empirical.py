r"""The empirical (finite-training-set) score and the collapse of a finite data set.

A data set :math:`\{a^\mu\}_{\mu=1}^n\subset\mathbb R^d` (array ``X`` of shape (n, d)) noised
to OU time :math:`t` has the exact density
:math:`P^e_t(x) = \frac1n\sum_\mu\mathcal N(x; e^{-t}a^\mu, \Delta_t I)`,
:math:`\Delta_t = 1-e^{-2t}`, whose score is the *empirical score* (Biroli et al. 2024)

.. math::
    S^e(x,t) = -\frac{x}{\Delta_t} + \frac{e^{-t}}{\Delta_t}\sum_\mu w_\mu(x)\,a^\mu,
    \qquad w_\mu = \operatorname{softmax}_\mu\Big[-\frac{|x-e^{-t}a^\mu|^2}{2\Delta_t}\Big].

A diffusion model trained to optimality on the :math:`n` points has exactly this score; it
is the finite-size reference for collapse and memorization.

Contents: :class:`EmpiricalScore` (the engine: chunked, streaming log-sum-exp with two
matrix products per chunk, float32 or float64), :func:`empirical_score` (a thin function
over it), :func:`top_eigenvalue` / :func:`speciation_time` (Lanczos on the centred data,
never forming the :math:`d\times d` covariance when that would be costly),
:func:`excess_entropy` (the paper's Monte Carlo estimator, with standard errors) and
:func:`collapse_time` (root of the estimated excess entropy); :func:`covariance` and
:func:`top_eigenvalues` (several leading eigenvalues), and :class:`NoisedQueries`, the
streaming kernel that evaluates the estimator's queries at many times in one pass over the
data (per class when labels are given). All times are OU times.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.sparse.linalg import LinearOperator, eigsh

from . import conventions as cv
from .checks import check_data, check_int, check_real, check_times

__all__ = [
    "EmpiricalScore",
    "empirical_score",
    "top_eigenvalue",
    "speciation_time",
    "ExcessEntropy",
    "excess_entropy",
    "CollapseTime",
    "collapse_time",
    "covariance",
    "symmetric_top_eigenvalues",
    "top_eigenvalues",
    "QueryLogSums",
    "NoisedQueries",
]

_DEFAULT_BLOCK_BYTES = 32 * 2**20  # logits block of at most 32 MiB


class EmpiricalScore:
    r"""Engine for the empirical score of a fixed data set (see the module docstring).

    Holds the data in the working ``dtype`` and the squared norms :math:`|a^\mu|^2`, so that
    repeated calls (a sampler calls it once per step) cost only the two matrix products
    :math:`x A^T` and :math:`w A` per chunk of ``chunk_size`` points: :math:`4nd` flops per
    query point for the score, :math:`2nd` for the log-density.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Training points, finite, ``n >= 2``.
    dtype : {numpy.float32, numpy.float64}
        Working precision (float32 is about twice as fast; its log-sum-exp is accurate to
        about :math:`10^{-6}` relative).
    chunk_size : int, optional
        Points per chunk; by default chosen so that a logits block stays under 32 MiB.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    >>> es = EmpiricalScore(X, dtype=np.float64)
    >>> s = es(np.array([[0.0, 0.0]]), 1.0)   # symmetric point: the two pulls cancel
    >>> np.allclose(s, 0.0)
    True
    """

    def __init__(self, X, dtype=np.float64, chunk_size: int | None = None):
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        self.X = check_data(X, "X", min_rows=2, dtype=dtype)
        self.dtype = dtype
        self.sq_norms = np.einsum("ij,ij->i", self.X, self.X)
        self._floor = self.dtype.type(-80.0 if dtype == np.float32 else -700.0)
        if chunk_size is not None:
            chunk_size = check_int("chunk_size", chunk_size, minimum=1)
        self.chunk_size = chunk_size

    @property
    def n(self) -> int:
        """Number of training points."""
        return self.X.shape[0]

    @property
    def d(self) -> int:
        """Dimension."""
        return self.X.shape[1]

    def _chunk(self, batch: int) -> int:
        if self.chunk_size is not None:
            return self.chunk_size
        per_row = max(batch, 1) * self.dtype.itemsize
        return int(max(256, min(self.n, _DEFAULT_BLOCK_BYTES // per_row)))

    def _check_x(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ValueError(f"x must have shape (B, {self.d}), got {x.shape}")
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if not np.all(np.isfinite(x)):
            raise ValueError("x must be finite")
        return x

    @staticmethod
    def _time(t) -> float:
        t = check_times(t, positive=True)
        if t.ndim != 0:
            raise ValueError("t must be a scalar OU time > 0")
        return float(t)

    def _stream(self, x: np.ndarray, t: float, want_mean: bool, exclude=None):
        """Streaming log-sum-exp over chunks of the data.

        Returns ``(lse, mean)``: ``lse[b] = log Σ_μ exp(ℓ_bμ)`` with the reduced logits
        ``ℓ_bμ = (θ x_b·a_μ − θ²|a_μ|²/2)/Δ`` (the dropped term ``−|x_b|²/2Δ`` is the same
        for every μ) and, if ``want_mean``, ``mean[b] = Σ_μ w_bμ a_μ``. ``exclude[b]`` is a
        point index left out of the sums for query ``b`` (leave-one-out).
        """
        theta = cv.theta(t)
        delta = cv.delta(t)
        B = x.shape[0]
        dt = self.dtype.type
        xs = x * dt(theta / delta)
        run_max = np.full(B, -np.inf, dtype=np.float64)
        run_sum = np.zeros(B, dtype=np.float64)
        acc = np.zeros((B, self.d), dtype=self.dtype) if want_mean else None
        c = self._chunk(B)
        rows = np.arange(B)
        for start in range(0, self.n, c):
            stop = min(start + c, self.n)
            A = self.X[start:stop]
            logits = xs @ A.T
            logits -= (self.sq_norms[start:stop] * dt(0.5 * theta * theta / delta))[None, :]
            if exclude is not None:
                sel = (exclude >= start) & (exclude < stop)
                ex_rows, ex_cols = rows[sel], exclude[sel] - start
                logits[ex_rows, ex_cols] = -np.inf
            cmax = logits.max(axis=1).astype(np.float64)
            new_max = np.maximum(run_max, cmax)
            # rows whose logits are all -inf so far keep a finite reference
            ref = np.where(np.isfinite(new_max), new_max, 0.0)
            scale_old = np.exp(run_max - ref)
            logits -= ref.astype(self.dtype)[:, None]
            # Flush weights below e^floor to e^floor (a normal number): subnormal floats make
            # exp and the matrix product ~100x slower. The change is < n e^floor relative
            # (1e-30 in float32, 1e-300 in float64) and excluded points are reset to 0.
            np.maximum(logits, self._floor, out=logits)
            np.exp(logits, out=logits)
            if exclude is not None:
                logits[ex_rows, ex_cols] = 0.0
            run_sum = run_sum * scale_old + logits.sum(axis=1, dtype=np.float64)
            if want_mean:
                acc *= scale_old.astype(self.dtype)[:, None]
                acc += logits @ A
            run_max = new_max
        with np.errstate(divide="ignore"):
            lse = run_max + np.log(run_sum)
        mean = None
        if want_mean:
            mean = acc / run_sum.astype(self.dtype)[:, None]
        return lse, mean

    def denoiser(self, x, t) -> np.ndarray:
        r"""Posterior mean :math:`\mathbb E[a\mid x_t = x] = \sum_\mu w_\mu(x)a^\mu`, shape
        (B, d), at OU time ``t > 0``."""
        x = self._check_x(x)
        _, mean = self._stream(x, self._time(t), True)
        return mean

    def __call__(self, x, t) -> np.ndarray:
        r"""Empirical score :math:`S^e(x,t)` for ``x`` of shape (B, d) at OU time ``t > 0``."""
        x = self._check_x(x)
        t = self._time(t)
        _, mean = self._stream(x, t, True)
        delta = cv.delta(t)
        return (mean * self.dtype.type(cv.theta(t)) - x) / self.dtype.type(delta)

    score = __call__

    def log_density(self, x, t, exclude=None) -> np.ndarray:
        r""":math:`\log P^e_t(x) = \log\frac1n\sum_\mu\mathcal N(x;e^{-t}a^\mu,\Delta_tI)`,
        shape (B,), in float64, at OU time ``t > 0``.

        With ``exclude`` (integer array of shape (B,)), point ``exclude[b]`` is left out for
        query ``b`` and the average is over the other :math:`n-1` points.
        """
        x = self._check_x(x)
        t = self._time(t)
        if exclude is not None:
            exclude = np.asarray(exclude, dtype=np.int64)
            if exclude.shape != (x.shape[0],) or np.any(exclude < 0) or np.any(exclude >= self.n):
                raise ValueError(f"exclude must be {x.shape[0]} indices in [0, {self.n})")
        lse, _ = self._stream(x, t, False, exclude)
        delta = cv.delta(t)
        x2 = np.einsum("ij,ij->i", x, x, dtype=np.float64)
        count = self.n - (0 if exclude is None else 1)
        return lse - x2 / (2 * delta) - math.log(count) - 0.5 * self.d * math.log(2 * math.pi * delta)

    def nearest(self, x):
        """Index of the nearest training point and the Euclidean distance to it, for each row
        of ``x`` (chunked, exact)."""
        x = self._check_x(x)
        B = x.shape[0]
        best = np.full(B, np.inf)
        idx = np.zeros(B, dtype=np.int64)
        x2 = np.einsum("ij,ij->i", x, x, dtype=np.float64)
        c = self._chunk(B)
        for start in range(0, self.n, c):
            stop = min(start + c, self.n)
            d2 = self.sq_norms[start:stop][None, :] - 2.0 * (x @ self.X[start:stop].T)
            j = np.argmin(d2, axis=1)
            v = d2[np.arange(B), j].astype(np.float64)
            upd = v < best
            best[upd] = v[upd]
            idx[upd] = j[upd] + start
        return idx, np.sqrt(np.maximum(best + x2, 0.0))


def empirical_score(X, x, t, *, dtype=np.float64, chunk_size=None) -> np.ndarray:
    r"""Empirical score of the data set ``X`` at points ``x`` and OU time ``t``.

    .. math:: S^e(x,t) = -\frac{x}{\Delta_t} + \frac{e^{-t}}{\Delta_t}\sum_\mu w_\mu(x)a^\mu,
              \quad w_\mu = \operatorname{softmax}_\mu\Big[-\frac{|x-e^{-t}a^\mu|^2}{2\Delta_t}\Big].

    A thin function over :class:`EmpiricalScore`; build that once when calling repeatedly.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Training points (``n >= 2``, finite).
    x : array_like, shape (B, d)
        Query points.
    t : float
        OU time ``> 0`` (the score is singular at ``t = 0``).
    dtype : {numpy.float64, numpy.float32}
        Working precision.
    chunk_size : int, optional
        Training points per chunk.

    Returns
    -------
    ndarray, shape (B, d)
    """
    return EmpiricalScore(X, dtype=dtype, chunk_size=chunk_size)(x, t)


def _lanczos_top(X, mean, k: int, tol: float) -> np.ndarray:
    r"""The ``k`` largest eigenvalues of the centred covariance by Lanczos (``eigsh``, fixed
    start vector) on the operator :math:`v\mapsto X_c^T(X_cv)/n`, applied without forming the
    covariance or centring ``X`` (two passes over the data per iteration)."""
    n, d = X.shape

    def matvec(v):
        v = np.asarray(v, dtype=np.float64).ravel()
        xv = X @ v.astype(X.dtype) - mean @ v
        return (X.T @ xv.astype(X.dtype) - mean * xv.sum()) / n

    op = LinearOperator((d, d), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(d)
    return np.asarray(eigsh(op, k=k, which="LA", tol=tol, v0=v0, return_eigenvectors=False), dtype=np.float64)


def top_eigenvalue(X, *, method: str = "auto", tol: float = 1e-10) -> float:
    r"""Top eigenvalue :math:`\Lambda` of the centred data covariance
    :math:`C = \frac1n\sum_\mu(a^\mu-\bar a)(a^\mu-\bar a)^T`.

    When forming :math:`C` costs less than :math:`2\cdot10^{10}` flops it is formed and
    diagonalised exactly; otherwise Lanczos (``scipy.sparse.linalg.eigsh``) runs on the
    operator :math:`v\mapsto X_c^T(X_cv)/n` applied without centring or copying ``X``
    (memory :math:`O(n+d)` beyond the data; for :math:`n=70\,000`, :math:`d=3072` a few
    seconds). Relative accuracy ``tol`` (float64 data) or about :math:`10^{-6}` (float32).
    ``method`` forces ``"dense"`` or ``"lanczos"``; ``"auto"`` chooses by the cost above.
    """
    X = check_data(X, "X", min_rows=2)
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(f"method must be 'auto', 'dense' or 'lanczos', got {method!r}")
    n, d = X.shape
    mean = X.mean(axis=0, dtype=np.float64)
    dense = (n * d * d <= 2e10) if method == "auto" else (method == "dense")
    if dense or d <= 2:
        C = np.zeros((d, d))
        step = max(1, int(2**24 // max(d, 1)))
        for s in range(0, n, step):
            B = X[s:s + step].astype(np.float64) - mean
            C += B.T @ B
        C /= n
        return float(np.linalg.eigvalsh(C)[-1])
    return float(_lanczos_top(X, mean, 1, tol)[0])


def speciation_time(X, **kwargs) -> float:
    r"""Speciation time :math:`t_S = \tfrac12\log\Lambda` of a data set (OU time), with
    :math:`\Lambda` the top eigenvalue of its centred covariance (:func:`top_eigenvalue`).

    :math:`t_S` is where the signal variance along the top direction, :math:`e^{-2t}\Lambda`,
    falls to the unit variance of the noise. When :math:`\Lambda < 1` that happens before the
    process starts (:math:`t_S < 0`): the value of the formula is returned with a
    :class:`RuntimeWarning` that names :math:`\Lambda`. Data in [0, 1] (e.g. scikit-learn
    digits divided by 16: :math:`t_S \approx -0.18`) usually want rescaling to [-1, 1] first.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data, ``n >= 2``.
    **kwargs
        Passed to :func:`top_eigenvalue`.

    Returns
    -------
    float
        :math:`\tfrac12\log\Lambda`.

    Warns
    -----
    RuntimeWarning
        If :math:`\Lambda < 1` (then :math:`t_S < 0`).

    Raises
    ------
    ValueError
        If the data have zero variance.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((4000, 3)) * np.array([3.0, 1.0, 1.0])
    >>> bool(abs(speciation_time(X) - np.log(3.0)) < 0.05)
    True
    """
    lam = top_eigenvalue(X, **kwargs)
    if lam <= 0:
        raise ValueError("X has zero variance: the speciation time is undefined")
    t_s = 0.5 * math.log(lam)
    if lam < 1.0:
        warnings.warn(f"the top covariance eigenvalue Lambda = {lam:.6g} is below 1, the variance of the noise: "
                      f"t_S = 1/2 log Lambda = {t_s:.6g} < 0 lies before the process starts (rescale the data, "
                      "e.g. to [-1, 1], to read a speciation time)", RuntimeWarning, stacklevel=2)
    return t_s


@dataclass(frozen=True)
class ExcessEntropy:
    r"""Monte Carlo estimate of the excess entropy :math:`f^e(t)` (per dimension).

    Attributes
    ----------
    t : ndarray
        OU times.
    f : ndarray
        Estimates of :math:`f^e(t)`.
    stderr : ndarray
        Their standard errors (sample standard deviation / :math:`\sqrt{n_{samples}}`).
    alpha : float
        :math:`\log n / d`.
    leave_one_out : bool
        Whether each query's own training point was left out.
    """

    t: np.ndarray
    f: np.ndarray
    stderr: np.ndarray
    alpha: float
    leave_one_out: bool


class _EntropySampler:
    """Fixed query points (common random numbers across times) for the estimator."""

    def __init__(self, engine: EmpiricalScore, n_samples: int, seed):
        rng = np.random.default_rng(seed)
        self.engine = engine
        self.idx = rng.integers(0, engine.n, size=n_samples)
        self.z = rng.standard_normal((n_samples, engine.d)).astype(engine.dtype)

    def values(self, t: float, leave_one_out: bool) -> np.ndarray:
        """Per-sample :math:`\\tfrac12 + \\tfrac1d\\log\\sum_\\mu e^{-|x-\\theta a^\\mu|^2/2\\Delta}`
        (+ the :math:`\\log\\frac{n}{n-1}` of leave-one-out)."""
        e = self.engine
        theta = cv.theta(t)
        delta = cv.delta(t)
        x = e.X[self.idx] * e.dtype.type(theta) + self.z * e.dtype.type(math.sqrt(delta))
        logp = e.log_density(x, t, exclude=self.idx if leave_one_out else None)
        count = e.n - (1 if leave_one_out else 0)
        # f = s_sep - s = alpha + 1/2 + 1/2 log(2 pi Delta) + (1/d) log P(x)
        return (math.log(e.n) / e.d + 0.5 + 0.5 * math.log(2 * math.pi * delta)
                + logp / e.d + (math.log(count / e.n) / e.d if leave_one_out else 0.0))


def excess_entropy(X, t, n_samples: int = 1000, seed=0, *, leave_one_out: bool = False,
                   dtype=np.float64, chunk_size=None) -> ExcessEntropy:
    r"""The paper's estimator of the excess entropy :math:`f^e(t) = s_{sep}(t) - s^e(t)`.

    A training point :math:`a^\nu` is drawn uniformly and noised,
    :math:`x = e^{-t}a^\nu + \sqrt{\Delta_t}z`; then
    :math:`s^e(t) = -\frac1d\mathbb E\log P^e_t(x)` with :math:`\log P^e_t` computed exactly by
    log-sum-exp over all :math:`n` points, and :math:`s_{sep} = \alpha + \tfrac12 +
    \tfrac12\log(2\pi\Delta_t)`, :math:`\alpha = \log n/d` (Biroli et al. 2024). The same
    :math:`(\nu, z)` are used at every time, so the estimate is a smooth function of :math:`t`.

    With ``leave_one_out=True`` the query's own point is left out of the sum (and
    :math:`\log P` is normalised over :math:`n-1` points). The paper's (inclusive) estimator
    is :math:`\gtrsim 0` at every time and tends to 0 below :math:`t_C`; the leave-one-out
    estimator follows the uncondensed branch :math:`\alpha + \tfrac12\log(\Delta_t/\Gamma_t)`
    down to :math:`t_C` and becomes negative below it, which gives :func:`collapse_time` a
    root. Both agree above :math:`t_C` up to :math:`O(e^{-d f})`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    t : float or array_like
        OU times ``> 0``.
    n_samples : int
        Monte Carlo samples (``>= 2``).
    seed : int or numpy.random.Generator
    leave_one_out : bool
    dtype, chunk_size
        As in :class:`EmpiricalScore`.

    Returns
    -------
    ExcessEntropy
    """
    engine = EmpiricalScore(X, dtype=dtype, chunk_size=chunk_size)
    n_samples = check_int("n_samples", n_samples, minimum=2)
    times = check_times(t, positive=True)
    sampler = _EntropySampler(engine, n_samples, seed)
    flat = times.ravel()
    f = np.empty(flat.size)
    se = np.empty(flat.size)
    for i, ti in enumerate(flat):
        v = sampler.values(float(ti), leave_one_out)
        f[i] = v.mean()
        se[i] = v.std(ddof=1) / math.sqrt(n_samples)
    return ExcessEntropy(times, f.reshape(times.shape), se.reshape(times.shape),
                         math.log(engine.n) / engine.d, leave_one_out)


@dataclass(frozen=True)
class CollapseTime:
    r"""Estimated collapse time of a data set.

    Attributes
    ----------
    t_C : float
        Root of the leave-one-out excess entropy (OU time).
    stderr : float
        Delta-method standard error: :math:`\mathrm{se}[f(t_C)]/|f'(t_C)|`.
    curve : ExcessEntropy
        The leave-one-out estimate on the bracketing grid.
    """

    t_C: float
    stderr: float
    curve: ExcessEntropy


def collapse_time(X, n_samples: int = 1000, seed=0, *, t_min: float = 1e-4, t_max: float = 10.0,
                  n_grid: int = 40, dtype=np.float64, chunk_size=None, xtol: float = 1e-8) -> CollapseTime:
    r"""Collapse time :math:`t_C` of a finite data set: the root of its estimated excess
    entropy.

    The leave-one-out estimator of :func:`excess_entropy` (fixed Monte Carlo samples, so a
    smooth deterministic function of :math:`t`) is evaluated on a log-spaced grid of OU times
    in ``[t_min, t_max]``; the last sign change from negative to positive is refined with
    Brent's method to ``xtol``. Above :math:`t_C` the estimate follows :math:`\alpha +
    \tfrac12\log(\Delta_t/\Gamma_t)` for a Gaussian mixture, whose root is the closed form of
    :func:`diffphase.numerics.gaussian_mixture.collapse_time`.

    Raises
    ------
    ValueError
        If the estimate has no sign change on the grid (for instance duplicated rows, which
        never separate), naming the grid range to change.
    """
    t_min = check_real("t_min", t_min, low=0.0, low_open=True)
    t_max = check_real("t_max", t_max, low=t_min, low_open=True)
    n_grid = check_int("n_grid", n_grid, minimum=3)
    engine = EmpiricalScore(X, dtype=dtype, chunk_size=chunk_size)
    n_samples = check_int("n_samples", n_samples, minimum=2)
    sampler = _EntropySampler(engine, n_samples, seed)
    grid = np.geomspace(t_min, t_max, n_grid)
    vals = [sampler.values(float(ti), True) for ti in grid]
    f = np.array([v.mean() for v in vals])
    se = np.array([v.std(ddof=1) / math.sqrt(n_samples) for v in vals])
    curve = ExcessEntropy(grid, f, se, math.log(engine.n) / engine.d, True)
    up = np.nonzero((f[:-1] < 0) & (f[1:] >= 0))[0]
    if up.size == 0:
        raise ValueError(
            f"the leave-one-out excess entropy does not change sign for t in [{t_min}, {t_max}] "
            f"(range {f.min():.3g} to {f.max():.3g}); widen t_min/t_max, or check X for duplicated rows"
        )
    k = int(up[-1])
    fun = lambda s: float(sampler.values(s, True).mean())  # noqa: E731
    root = optimize.brentq(fun, grid[k], grid[k + 1], xtol=xtol)
    v = sampler.values(root, True)
    h = max(1e-6, 1e-4 * root)
    slope = (fun(root + h) - fun(max(root - h, 0.5 * root))) / (root + h - max(root - h, 0.5 * root))
    stderr = float(v.std(ddof=1) / math.sqrt(n_samples) / abs(slope)) if slope != 0 else math.inf
    return CollapseTime(float(root), stderr, curve)


# ---------------------------------------------------------------------------------------
# covariance spectrum (several eigenvalues)
# ---------------------------------------------------------------------------------------
def covariance(X, *, mean=None, chunk_rows: int = 4096) -> np.ndarray:
    r"""Centred covariance :math:`C = \frac1n\sum_\mu(a^\mu-\bar a)(a^\mu-\bar a)^T`, shape
    (d, d), float64.

    Accumulated over blocks of ``chunk_rows`` rows: each block is centred and multiplied in
    the dtype of ``X`` (one matrix product, :math:`2nd^2` flops in all), the blocks are summed
    in float64. For float32 data the relative error of an entry is about
    :math:`\sqrt{\text{chunk\_rows}}\cdot6\cdot10^{-8}`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Finite data, ``n >= 1``.
    mean : array_like, shape (d,), optional
        The centre (default the sample mean :math:`\bar a`).
    chunk_rows : int
        Rows per block.
    """
    X = check_data(X, "X", min_rows=1)
    chunk_rows = check_int("chunk_rows", chunk_rows, minimum=1)
    n, d = X.shape
    mu = X.mean(axis=0, dtype=np.float64) if mean is None else np.asarray(mean, dtype=np.float64)
    if mu.shape != (d,):
        raise ValueError(f"mean must have shape ({d},), got {mu.shape}")
    C = np.zeros((d, d))
    m = mu.astype(X.dtype)
    for s in range(0, n, chunk_rows):
        Bk = X[s:s + chunk_rows] - m
        C += Bk.T @ Bk
    return C / n


def symmetric_top_eigenvalues(C, k: int = 1, *, tol: float = 1e-10) -> np.ndarray:
    r"""The ``k`` largest eigenvalues of a symmetric matrix, in decreasing order.

    Lanczos (``scipy.sparse.linalg.eigsh``, ``which="LA"``, relative accuracy ``tol``) when
    ``k`` is small against the size :math:`d` (:math:`d > 256` and :math:`k < d/4`; one BLAS
    thread, as the matrix-vector products are small); a full ``numpy.linalg.eigvalsh``
    otherwise.
    """
    C = np.asarray(C, dtype=np.float64)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"C must be a square matrix, got shape {C.shape}")
    d = C.shape[0]
    k = check_int("k", k, minimum=1, maximum=d)
    if d > 256 and 4 * k < d:
        v0 = np.random.default_rng(0).standard_normal(d)
        with _one_blas_thread():  # a d x d matvec is too small to share; threads only wait on each other
            vals = eigsh(C, k=k, which="LA", tol=tol, v0=v0, return_eigenvectors=False)
    else:
        vals = np.linalg.eigvalsh(C)[-k:]
    return np.sort(np.asarray(vals, dtype=np.float64))[::-1].copy()


def _one_blas_thread():
    """One BLAS thread for the block (threadpoolctl; a no-op without it). Lanczos on a dense
    matrix of a few thousand rows is several times faster so on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        from contextlib import nullcontext
        return nullcontext()
    return threadpool_limits(1, user_api="blas")


def top_eigenvalues(X, k: int = 1, *, method: str = "auto", tol: float = 1e-10) -> np.ndarray:
    r"""The ``k`` largest eigenvalues :math:`\lambda_1\ge\dots\ge\lambda_k` of the centred data
    covariance :math:`C = \frac1n\sum_\mu(a^\mu-\bar a)(a^\mu-\bar a)^T`.

    ``"covariance"``: :math:`C` is formed by one blocked matrix product (:func:`covariance`,
    :math:`2nd^2` flops, memory :math:`d^2`) and its top eigenvalues found by Lanczos
    (:func:`symmetric_top_eigenvalues`). ``"gram"``: the same with the :math:`n\times n` Gram
    matrix :math:`X_cX_c^T/n`, which has the same non-zero eigenvalues (for :math:`n < d`;
    eigenvalues beyond its rank are 0). ``"lanczos"``: ``eigsh`` on the operator
    :math:`v\mapsto X_c^T(X_cv)/n`, applied without forming :math:`C` or centring ``X`` (two
    passes over the data per iteration; memory :math:`O(n+d)` beyond the data). ``"auto"``
    forms :math:`C` when :math:`d\le4096`, the Gram matrix when :math:`n\le4096`, and uses
    the operator otherwise. With ``k = 1`` all agree with :func:`top_eigenvalue`.

    Returns
    -------
    ndarray, shape (k,)
        Decreasing eigenvalues (float64).
    """
    X = check_data(X, "X", min_rows=2)
    if method not in ("auto", "covariance", "gram", "lanczos"):
        raise ValueError(f"method must be 'auto', 'covariance', 'gram' or 'lanczos', got {method!r}")
    n, d = X.shape
    k = check_int("k", k, minimum=1, maximum=d)
    if method == "auto":
        method = "covariance" if d <= 4096 else ("gram" if n <= 4096 else "lanczos")
    if method == "covariance" or (method == "lanczos" and k >= d - 1):
        return symmetric_top_eigenvalues(covariance(X), k, tol=tol)
    if method == "gram":
        Xc = X - X.mean(axis=0, dtype=np.float64).astype(X.dtype)
        G = (Xc @ Xc.T).astype(np.float64) / n
        vals = symmetric_top_eigenvalues(G, min(k, n), tol=tol)
        return np.concatenate([vals, np.zeros(k - vals.size)])
    return np.sort(_lanczos_top(X, X.mean(axis=0, dtype=np.float64), k, tol))[::-1].copy()


# ---------------------------------------------------------------------------------------
# many times in one pass: the streaming kernel of the excess entropy and class entropy
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueryLogSums:
    r"""Log-sums of the noised empirical measure at fixed queries, for several OU times.

    For query :math:`b` (training point :math:`\nu_b`, noise :math:`z_b`) at time :math:`t`,
    :math:`x_b = e^{-t}a^{\nu_b}+\sqrt{\Delta_t}z_b` and
    :math:`u_{b\mu} = -|x_b-e^{-t}a^\mu|^2/2\Delta_t`.

    Attributes
    ----------
    t : ndarray, shape (m,)
        OU times.
    other : ndarray, shape (m, B)
        :math:`\log\sum_{\mu\ne\nu_b}e^{u_{b\mu}}` (the query's own point left out).
    own : ndarray, shape (B,)
        :math:`u_{b\nu_b} = -|z_b|^2/2` (the same at every time).
    classes : ndarray, shape (m, B, K), or None
        :math:`\log\sum_{\mu\ne\nu_b,\,y_\mu=k}e^{u_{b\mu}}` per class :math:`k`
        (:math:`-\infty` for a class without other points).
    own_class : ndarray, shape (B,), or None
        Label :math:`y_{\nu_b}` of each query's own point.
    n, d : int
        Size and dimension of the data.
    """

    t: np.ndarray
    other: np.ndarray
    own: np.ndarray
    classes: np.ndarray | None
    own_class: np.ndarray | None
    n: int
    d: int

    def excess_entropy_samples(self, leave_one_out: bool = True) -> np.ndarray:
        r"""Per-query excess entropy :math:`f_b(t) = \tfrac12 + \tfrac1d\log\sum_\mu e^{u_{b\mu}}`
        (sum over :math:`\mu\ne\nu_b` if ``leave_one_out``), shape (m, B).

        This is :math:`\alpha + \tfrac12 + \tfrac12\log(2\pi\Delta_t) + \tfrac1d\log P^e_t(x_b)`
        with :math:`P^e_t` normalised over the points summed (the :math:`\log n` terms cancel);
        its mean over queries is the estimator of :func:`excess_entropy`.
        """
        total = self.other if leave_one_out else np.logaddexp(self.other, self.own[None, :])
        return 0.5 + total / self.d

    def class_entropy_samples(self) -> np.ndarray:
        r"""Per-query entropy of the class posterior of the labelled empirical measure,
        :math:`-\sum_k p_k\log p_k`, :math:`p_k\propto\sum_{\mu:y_\mu=k}e^{u_{b\mu}}` (own point
        included), shape (m, B), in nats."""
        if self.classes is None:
            raise ValueError("class entropy needs labels: call log_sums(..., labels=...)")
        lc = self.classes.copy()
        B = lc.shape[1]
        rows = np.arange(B)
        lc[:, rows, self.own_class] = np.logaddexp(lc[:, rows, self.own_class], self.own[None, :])
        lz = np.logaddexp.reduce(lc, axis=2)
        logp = lc - lz[..., None]
        p = np.exp(logp)
        with np.errstate(invalid="ignore"):
            plogp = np.where(p > 0, p * logp, 0.0)
        return -plogp.sum(axis=2)


_ROW_BLOCK = 64  # queries per block of the element-wise work (keeps a block's logits in cache)


def _class_runs(yc: np.ndarray, K: int, dtype):
    """How to sum a chunk's weights per class: ``("runs", starts, classes)`` when the labels
    are sorted (contiguous runs, summed with ``np.add.reduceat``), else ``("onehot", matrix)``."""
    if yc.size < 2 or bool(np.all(yc[1:] >= yc[:-1])):
        starts = np.concatenate([[0], np.flatnonzero(np.diff(yc)) + 1])
        return ("runs", starts, yc[starts])
    onehot = np.zeros((yc.size, K), dtype=dtype)
    onehot[np.arange(yc.size), yc] = 1
    return ("onehot", onehot)


@dataclass
class _PassState:
    """Running maxima and sums of one streaming pass (rows are updated by disjoint blocks)."""

    ca: np.ndarray
    r: np.ndarray
    run_max: np.ndarray
    run_sum: np.ndarray
    csum: np.ndarray | None
    floor: np.floating
    K: int

    def accumulate(self, blk: slice, G1, G2, own, own_col, grouping) -> None:
        dt = G1.dtype.type
        M = np.empty_like(G1)
        rows = np.flatnonzero(own)
        cols = own_col[own]
        for j in range(self.ca.size):
            np.multiply(G2, self.r[j], out=M)
            M += G1
            old = self.run_max[j, blk]
            new = np.maximum(old, M.max(axis=1).astype(np.float64))
            ref = np.where(np.isfinite(new), new, 0.0)
            rescale = np.exp(self.ca[j] * (old - ref))
            M -= ref.astype(M.dtype)[:, None]
            M *= dt(self.ca[j])
            # flush weights below e^floor (subnormals are ~100x slower), as EmpiricalScore does
            np.maximum(M, self.floor, out=M)
            np.exp(M, out=M)
            M[rows, cols] = 0.0
            if grouping is None:
                self.run_sum[j, blk] = self.run_sum[j, blk] * rescale + M.sum(axis=1, dtype=np.float64)
            else:
                if grouping[0] == "runs":
                    part = np.add.reduceat(M, grouping[1], axis=1, dtype=np.float64)
                    cs = np.zeros((M.shape[0], self.K))
                    np.add.at(cs.T, grouping[2], part.T)
                else:
                    cs = (M @ grouping[1]).astype(np.float64)
                self.csum[j, blk] = self.csum[j, blk] * rescale[:, None] + cs
                self.run_sum[j, blk] = self.run_sum[j, blk] * rescale + cs.sum(axis=1)
            self.run_max[j, blk] = new


class NoisedQueries:
    r"""Fixed Monte Carlo queries of the noised empirical measure and a streaming kernel that
    evaluates them at many OU times in one pass over the data.

    Draws :math:`B` = ``n_samples`` training indices :math:`\nu_b` uniformly (with
    replacement) and noise :math:`z_b\sim\mathcal N(0,I_d)` — the same draws, from the same
    ``seed``, as :func:`excess_entropy` — so that
    :math:`x_b(t) = e^{-t}a^{\nu_b}+\sqrt{\Delta_t}z_b` is a smooth function of :math:`t`
    (common random numbers across times).

    Kernel (:meth:`log_sums`): per chunk of training points it forms the two products
    :math:`a^{\nu_b}\cdot a^\mu` and :math:`z_b\cdot a^\mu` with one matrix multiplication of
    :math:`2B` rows (:math:`4Bd` flops per training point), then for every requested time the
    reduced logits :math:`\frac{e^{-2t}}{\Delta_t}\big(a^{\nu_b}\cdot a^\mu - \tfrac12|a^\mu|^2
    + \frac{\sqrt{\Delta_t}}{e^{-t}}z_b\cdot a^\mu\big)` and a streaming log-sum-exp (running
    maximum, weights below :math:`e^{-80}` flushed as in :class:`EmpiricalScore`), per class if
    labels are given. The products are shared by all times, so :math:`m` times cost one
    matrix product plus :math:`m` element-wise passes; a single time costs about as much as
    two calls of :meth:`EmpiricalScore.log_density`.

    Parameters
    ----------
    engine : EmpiricalScore
        The data and working precision.
    n_samples : int
        Number of queries :math:`B\ge2`.
    seed : int or numpy.random.Generator

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((200, 5))
    >>> q = NoisedQueries(EmpiricalScore(X), n_samples=50, seed=1)
    >>> f = q.log_sums([0.5, 2.0]).excess_entropy_samples().mean(axis=1)
    >>> np.allclose(f, excess_entropy(X, [0.5, 2.0], n_samples=50, seed=1, leave_one_out=True).f)
    True
    """

    def __init__(self, engine: EmpiricalScore, n_samples: int = 1000, seed=0):
        if not isinstance(engine, EmpiricalScore):
            raise ValueError("engine must be an EmpiricalScore")
        n_samples = check_int("n_samples", n_samples, minimum=2)
        rng = np.random.default_rng(seed)
        self.engine = engine
        self.idx = rng.integers(0, engine.n, size=n_samples)
        self.z = rng.standard_normal((n_samples, engine.d)).astype(engine.dtype)
        A = engine.X[self.idx]
        self._Q = np.ascontiguousarray(np.concatenate([A, self.z]))
        A64, Z64 = A.astype(np.float64), self.z.astype(np.float64)
        self._a2 = np.einsum("ij,ij->i", A64, A64)
        self._az = np.einsum("ij,ij->i", A64, Z64)
        self._z2 = np.einsum("ij,ij->i", Z64, Z64)

    @property
    def n_samples(self) -> int:
        """Number of queries :math:`B`."""
        return int(self.idx.size)

    def _labels(self, labels, n_classes):
        e = self.engine
        y = np.asarray(labels)
        if y.shape != (e.n,) or not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
            raise ValueError(f"labels must be non-negative integers of shape ({e.n},)")
        K = int(y.max()) + 1 if n_classes is None else check_int("n_classes", n_classes, minimum=1)
        if np.any(y >= K):
            raise ValueError(f"labels must be < n_classes = {K}")
        return y.astype(np.int64), K

    def log_sums(self, times, *, labels=None, n_classes=None, threads: int = 1) -> QueryLogSums:
        r"""One streaming pass over the data at the OU times ``times`` (each ``> 0``).

        Parameters
        ----------
        times : array_like, shape (m,)
        labels : array_like of int, shape (n,), optional
            Class of every training point; adds per-class sums. The pass is fastest when the
            data is sorted by label (classes are then summed over contiguous runs).
        n_classes : int, optional
            Default ``labels.max() + 1``.
        threads : int
            Threads for the element-wise work (numpy releases the GIL; the matrix product
            uses the BLAS threads either way). Results do not depend on it.

        Returns
        -------
        QueryLogSums
        """
        e = self.engine
        ts = check_times(times, positive=True).ravel()
        threads = check_int("threads", threads, minimum=1)
        m, B, n = ts.size, self.n_samples, e.n
        th = np.exp(-ts)
        D = -np.expm1(-2.0 * ts)
        y, K = (None, 0) if labels is None else self._labels(labels, n_classes)
        state = _PassState(
            ca=th * th / D,                     # e^{-2t}/Delta: scale of the reduced logits
            r=(np.sqrt(D) / th).astype(e.dtype),  # weight of z.a relative to a.a
            run_max=np.full((m, B), -np.inf),   # running max of the unscaled logits M
            run_sum=np.zeros((m, B)),
            csum=np.zeros((m, B, K)) if y is not None else None,
            floor=e._floor, K=K)
        c = e._chunk(2 * B)
        blocks = [slice(r0, min(r0 + _ROW_BLOCK, B)) for r0 in range(0, B, _ROW_BLOCK)]
        pool = None
        if threads > 1 and len(blocks) > 1:
            from concurrent.futures import ThreadPoolExecutor
            pool = ThreadPoolExecutor(min(threads, len(blocks)))
        try:
            for start in range(0, n, c):
                stop = min(start + c, n)
                A = e.X[start:stop]
                G = self._Q @ A.T                 # (2B, c): a_nu.a_mu and z.a_mu
                G1, G2 = G[:B], G[B:]
                G1 -= (e.dtype.type(0.5) * e.sq_norms[start:stop])[None, :]
                own = (self.idx >= start) & (self.idx < stop)
                G1[own, self.idx[own] - start] = -np.inf   # the query's own point is left out
                grouping = None if y is None else _class_runs(y[start:stop], K, e.dtype)
                work = [(blk, G1[blk], G2[blk], own[blk], self.idx[blk] - start) for blk in blocks]
                if pool is None:
                    for w in work:
                        state.accumulate(*w, grouping)
                else:
                    for fut in [pool.submit(state.accumulate, *w, grouping) for w in work]:
                        fut.result()
        finally:
            if pool is not None:
                pool.shutdown()
        x2 = ((th * th)[:, None] * self._a2[None, :] + (2.0 * th * np.sqrt(D))[:, None] * self._az[None, :]
              + D[:, None] * self._z2[None, :])
        shift = state.ca[:, None] * state.run_max - x2 / (2.0 * D[:, None])
        with np.errstate(divide="ignore"):
            other = shift + np.log(state.run_sum)
            classes = None if y is None else shift[..., None] + np.log(state.csum)
        return QueryLogSums(ts, other, -0.5 * self._z2, classes,
                            None if y is None else y[self.idx], n, e.d)

    def excess_entropy(self, times, *, leave_one_out: bool = True) -> ExcessEntropy:
        r"""The estimator of :func:`excess_entropy` at ``times`` from one pass (same draws,
        same value up to rounding)."""
        v = self.log_sums(times).excess_entropy_samples(leave_one_out)
        B = self.n_samples
        return ExcessEntropy(np.asarray(check_times(times, positive=True)).ravel(), v.mean(axis=1),
                             v.std(axis=1, ddof=1) / math.sqrt(B), math.log(self.engine.n) / self.engine.d,
                             leave_one_out)
