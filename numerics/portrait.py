r"""The phase portrait of a data set: when a diffusion model trained on it speciates, collapses
and transfers class information, from the data alone.

:func:`portrait` turns a data array ``X`` of shape (n, d) (and optional class labels) into a
:class:`Portrait`. Every time is an OU time (:math:`x_t = e^{-t}x_0+\sqrt{\Delta_t}z`,
:math:`\Delta_t = 1-e^{-2t}`) and is also given as the nearest step of the DDPM linear
:math:`\beta` schedule (:data:`SCHEDULE`, :math:`T = 1000`, :math:`\beta` from
:math:`10^{-4}` to :math:`2\cdot10^{-2}`) and as the variance-exploding noise level
:math:`\sigma = \sqrt{e^{2t}-1}`, through :mod:`diffphase.numerics.conventions`.

What it computes (Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491, unless marked):

* **speciation** — the top eigenvalues :math:`\lambda_i` of the centred covariance
  (Lanczos), :math:`\Lambda = \lambda_1`, :math:`t_S = \tfrac12\log\Lambda`, and the
  speciation time :math:`\tfrac12\log\lambda_i` of each leading direction;
* with labels, the **speciation time of every class pair** :math:`(a, b)`:
  :math:`\tfrac12\log\Lambda_{ab}`, :math:`\Lambda_{ab}` the top eigenvalue of the covariance
  of the points of classes :math:`a` and :math:`b` together;
* **collapse** — the leave-one-out excess entropy :math:`f^e(t)` with standard errors
  (:class:`~diffphase.numerics.empirical.NoisedQueries`), its root :math:`t_C`,
  :math:`\alpha = \log n/d`, and :math:`t_C` of nested random subsamples
  :math:`n_k = n/2^k\le n` (how many samples a model needs before it memorizes at time
  :math:`t`). Nothing is extrapolated beyond :math:`n`;
* with labels, the **class entropy** :math:`H(Y\mid X_t)` of the labelled empirical measure
  and the time of its steepest descent (maximum of :math:`dH/dt`, OU time) with the window
  where the rate exceeds half its maximum. It uses the *empirical* posterior, exact for the
  training set and a model of the population only at :math:`t\gg t_C`; below :math:`t_C`
  every noised point betrays its training point and :math:`H\to0`, so the steepest descent
  is searched at :math:`t\ge t_C` only (the portrait says when the window reaches
  :math:`t_C`);
* **per-direction memorization thresholds** (this package's reconstruction, see
  :func:`diffphase.numerics.manifold.critical_times`): direction :math:`i` is resolved below
  :math:`t_{c,i} = \tfrac12\log\big(1+\lambda_i/(e^{2\alpha}-1)\big)`, with
  :math:`\alpha = \log n/d`.

The OU noise has unit variance, so the scale of the data decides :math:`t_S` and
:math:`t_C`: :func:`apply_scale` offers ``"none"``, ``"standardize"``, ``"unit-interval"``
and ``"minus-one-one"``, and the portrait states the scale it was computed at. Translations
change nothing (the data is centred first).

Cost: one covariance (:math:`2nd^2` flops), one Lanczos per class pair, and for each nested
size two or three streaming passes of the excess-entropy kernel over the data
(:math:`4Bd` flops per training point and pass, :math:`B` = ``n_samples``), the times of a
pass bracketed by root finding (multisection), not a dense grid.

Examples
--------
>>> import numpy as np
>>> from diffphase.numerics.portrait import portrait
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((400, 8)) * np.r_[3.0, np.ones(7)]
>>> p = portrait(X, n_samples=200, seed=0)
>>> round(p.Lambda, 1), p.t_S > 0, p.t_C < p.t_S
(7.8, True, True)
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.interpolate import CubicSpline

from . import conventions as cv
from .checks import check_int, check_real
from .empirical import EmpiricalScore, NoisedQueries, covariance, symmetric_top_eigenvalues, top_eigenvalues

__all__ = [
    "SCALES",
    "SCHEDULE",
    "apply_scale",
    "ddpm_step",
    "ve_sigma",
    "class_pair_eigenvalues",
    "memorization_thresholds",
    "nested_sizes",
    "Root",
    "bracket_root",
    "Portrait",
    "portrait",
]

#: Data scalings offered by :func:`apply_scale` (and ``diffphase analyze --scale``).
SCALES = ("none", "standardize", "unit-interval", "minus-one-one")

#: The DDPM schedule every time is also given in: linear :math:`\beta` from
#: :math:`10^{-4}` to :math:`2\cdot10^{-2}`, :math:`T = 1000` (Ho et al. 2020; the schedule of
#: Biroli et al.'s experiments).
SCHEDULE = cv.DiscreteSchedule.linear(1000, 1e-4, 2e-2)


# --------------------------------------------------------------------------------------
# scale and time conversions
# --------------------------------------------------------------------------------------
def apply_scale(X, scale: str = "none", *, value_range=None, dtype=None):
    r"""Rescale data for the portrait; returns ``(Y, description)``.

    * ``"none"``: :math:`y = x`;
    * ``"standardize"``: :math:`y = (x-m)/s` with one global mean :math:`m` and one global
      standard deviation :math:`s` over all entries (the shape of the covariance is kept;
      :func:`diffphase.validation.data.digits`' ``"standard"``);
    * ``"unit-interval"``: :math:`y = (x-lo)/(hi-lo)\in[0,1]`;
    * ``"minus-one-one"``: :math:`y = 2(x-lo)/(hi-lo)-1\in[-1,1]` (the usual diffusion-model
      input range),

    with :math:`[lo, hi]` = ``value_range`` (e.g. the pixel range ``(0, 255)``) or, by
    default, the minimum and maximum of ``X``. A translation changes no quantity of the
    portrait; only the factor matters: it multiplies every covariance eigenvalue by its
    square.

    Parameters
    ----------
    X : array_like, shape (n, d)
    scale : {"none", "standardize", "unit-interval", "minus-one-one"}
    value_range : (float, float), optional
        ``lo < hi``, finite.
    dtype : numpy dtype, optional
        Output precision (default float64, or float32 for float32 input).

    Returns
    -------
    (ndarray, str)
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    X = np.asarray(X)
    if dtype is None:
        dtype = np.float32 if X.dtype == np.float32 else np.float64
    Y = np.asarray(X, dtype=dtype)
    if scale == "none":
        return Y, "none (the data as given)"
    if scale == "standardize":
        m = float(Y.mean(dtype=np.float64))
        s = float(Y.std(dtype=np.float64))
        if not s > 0:
            raise ValueError("scale='standardize' needs data that is not constant")
        return ((Y - dtype(m)) * dtype(1.0 / s)).astype(dtype, copy=False), \
            f"standardize: (x - {m:.6g}) / {s:.6g} (global mean and standard deviation of all entries)"
    if value_range is None:
        lo, hi, origin = float(Y.min()), float(Y.max()), "the data's minimum and maximum"
    else:
        try:
            lo, hi = (float(v) for v in value_range)
        except (TypeError, ValueError):
            raise ValueError(f"value_range must be two numbers (lo, hi), got {value_range!r}") from None
        origin = "the nominal value range"
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"value_range must be finite, got {value_range!r}")
    if not hi > lo:
        raise ValueError(f"scale={scale!r} needs a range hi > lo, got [{lo:g}, {hi:g}] (constant data?)")
    if scale == "unit-interval":
        Y = (Y - dtype(lo)) * dtype(1.0 / (hi - lo))
        return Y.astype(dtype, copy=False), f"unit-interval: (x - {lo:g}) / {hi - lo:g}, [{lo:g}, {hi:g}] -> [0, 1] ({origin})"
    Y = (Y - dtype(lo)) * dtype(2.0 / (hi - lo)) - dtype(1.0)
    return Y.astype(dtype, copy=False), f"minus-one-one: 2 (x - {lo:g}) / {hi - lo:g} - 1, [{lo:g}, {hi:g}] -> [-1, 1] ({origin})"


def ddpm_step(t):
    r"""Nearest step :math:`k` of :data:`SCHEDULE` to OU time ``t`` (:math:`t_k =
    -\tfrac12\log\bar\alpha_k`), or ``None`` when ``t`` is not finite, negative, or beyond the
    last step (:math:`t_T\approx5.06`)."""
    if t is None or not math.isfinite(t) or t < 0 or t > SCHEDULE.times[-1]:
        return None
    return int(SCHEDULE.step(float(t)))


def ve_sigma(t):
    r"""Variance-exploding noise level :math:`\sigma = \sqrt{e^{2t}-1}` at OU time ``t``
    (:func:`~diffphase.numerics.conventions.ve_variance`), ``None`` for ``t < 0`` or not
    finite."""
    if t is None or not math.isfinite(t) or t < 0:
        return None
    return math.sqrt(cv.ve_variance(float(t)))


def _half_log(x: float) -> float:
    return 0.5 * math.log(x) if x > 0 else -math.inf


# --------------------------------------------------------------------------------------
# spectrum pieces
# --------------------------------------------------------------------------------------
def class_pair_eigenvalues(X, y, n_classes=None, *, max_scatter_bytes: int = 2**28):
    r"""Top eigenvalue :math:`\Lambda_{ab}` of the covariance of the points of classes
    :math:`a` and :math:`b` together, for every pair :math:`a < b`.

    From per-class scatter matrices :math:`S_c = \sum_{y_\mu=c}(a^\mu-m_c)(a^\mu-m_c)^T`
    (one pass, :math:`2nd^2` flops): :math:`C_{ab} = \frac{S_a+S_b}{n_a+n_b} +
    \frac{n_an_b}{(n_a+n_b)^2}(m_a-m_b)(m_a-m_b)^T`, whose top eigenvalue comes from Lanczos.
    When the :math:`K` scatter matrices would exceed ``max_scatter_bytes``, each pair's rows
    go to :func:`~diffphase.numerics.empirical.top_eigenvalues` instead (its Gram matrix when
    the pair has fewer rows than :math:`d`, Lanczos on the rows otherwise).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like of int, shape (n,)
        Labels in ``0 .. n_classes - 1``; every class non-empty.

    Returns
    -------
    pairs : ndarray, shape (P, 2), int
    eigenvalues : ndarray, shape (P,)
    """
    X = np.asarray(X)
    y = np.asarray(y)
    K = int(y.max()) + 1 if n_classes is None else int(n_classes)
    d = X.shape[1]
    counts = np.bincount(y, minlength=K)
    if np.any(counts == 0):
        raise ValueError("every class must have at least one point")
    pairs = np.array([(a, b) for a in range(K) for b in range(a + 1, K)], dtype=np.int64).reshape(-1, 2)
    vals = np.empty(len(pairs))
    if K * d * d * 8 <= max_scatter_bytes:
        means, scat = [], []
        for c in range(K):
            Xc = X[y == c]
            means.append(Xc.mean(axis=0, dtype=np.float64))
            scat.append(covariance(Xc, mean=means[-1]) * Xc.shape[0])
        for i, (a, b) in enumerate(pairs):
            na, nb = counts[a], counts[b]
            dm = means[a] - means[b]
            C = (scat[a] + scat[b]) / (na + nb) + (na * nb / (na + nb) ** 2) * np.outer(dm, dm)
            vals[i] = symmetric_top_eigenvalues(C, 1)[0]
    else:
        for i, (a, b) in enumerate(pairs):
            vals[i] = top_eigenvalues(X[(y == a) | (y == b)], 1)[0]
    return pairs, vals


def memorization_thresholds(eigenvalues, n: int, d: int) -> np.ndarray:
    r"""Per-direction memorization thresholds (this package's reconstruction):

    .. math:: t_{c,i} = \tfrac12\log\Big(1 + \frac{\lambda_i}{e^{2\alpha}-1}\Big),\qquad
              \alpha = \frac{\log n}{d},

    the OU time below which direction :math:`i` (variance :math:`\lambda_i`) carries more than
    its share :math:`\alpha` of the :math:`\log n` nats that single out a training point
    (:func:`diffphase.numerics.manifold.critical_times` with all :math:`d` directions; for
    equal variances every :math:`t_{c,i}` is the isotropic :math:`t_C`). Not a formula of the
    papers; measured on the exact empirical score the *count* of resolved directions follows
    it, the order does not (:mod:`diffphase.theory.manifold`). ``nan`` where
    :math:`\lambda_i\le0`.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    n = check_int("n", n, minimum=2)
    d = check_int("d", d, minimum=1)
    denom = math.expm1(2.0 * math.log(n) / d)
    out = np.full(lam.shape, np.nan)
    pos = lam > 0
    out[pos] = np.asarray(cv.time_from_ve_variance(lam[pos] / denom)) if pos.any() else out[pos]
    return out


def nested_sizes(n: int, levels: int = 6, min_size: int = 8) -> np.ndarray:
    """Nested training-set sizes :math:`n_k = \\mathrm{round}(n/2^k)`, ``k = 0 .. levels-1``,
    keeping those ``>= min_size`` (and ``n`` itself always), decreasing."""
    n = check_int("n", n, minimum=2)
    levels = check_int("levels", levels, minimum=1)
    sizes = [n] + [int(round(n / 2**k)) for k in range(1, levels)]
    sizes = [s for i, s in enumerate(sizes) if i == 0 or s >= min_size]
    return np.array(sorted(set(sizes), reverse=True), dtype=np.int64)


# --------------------------------------------------------------------------------------
# root finding on a function evaluated at several times per pass
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Root:
    r"""Root of a Monte Carlo curve :math:`f(t)` found by bracketing and multisection.

    Attributes
    ----------
    t : float
        The root (linear interpolation in :math:`\log t` inside the final bracket); ``nan``
        when no sign change was found.
    stderr : float
        Delta-method standard error :math:`\mathrm{se}[f(t)]/|f'(t)|` (per-sample values
        interpolated to the root, slope across the final bracket).
    bracket : (float, float)
        Final bracket (``f < 0`` at the left end, ``>= 0`` at the right end).
    passes : int
        Number of evaluation passes.
    message : str
        Why there is no root, or ``""``.
    """

    t: float
    stderr: float
    bracket: tuple
    passes: int
    message: str = ""


def bracket_root(evaluate: Callable, guess: float, *, first=(-3, -2, -1, 0, 1, 2, 3), points: int = 6,
                 rtol: float = 0.02, t_min: float = 1e-5, t_max: float = 30.0, max_passes: int = 8) -> Root:
    r"""Last upward zero crossing of an increasing-on-average curve by bracketing and
    multisection, evaluating several times per call.

    ``evaluate(times)`` returns per-sample values of shape (m, B) (common random numbers, so
    the mean is a smooth function of :math:`t`). The first pass evaluates
    ``guess * 2**first``; while no sign change from negative to non-negative appears, the
    search extends by factors of 8 below or above; then ``points`` interior points, equally
    spaced in :math:`\log t`, split the bracket until its relative width is below ``rtol``.
    The root is the linear interpolation of the mean in :math:`\log t` inside the final
    bracket.

    Returns
    -------
    Root
    """
    guess = check_real("guess", guess, low=0.0, low_open=True)
    seen: dict[float, np.ndarray] = {}

    def run(ts):
        ts = sorted({float(min(max(t, t_min), t_max)) for t in ts} - set(seen))
        if ts:
            vals = np.asarray(evaluate(np.array(ts)))
            for t, v in zip(ts, vals):
                seen[t] = v

    def crossing():
        ts = sorted(seen)
        f = [float(seen[t].mean()) for t in ts]
        ups = [i for i in range(len(ts) - 1) if f[i] < 0 <= f[i + 1]]
        return (ts[ups[-1]], ts[ups[-1] + 1]) if ups else None

    passes = 1
    run([guess * 2.0**k for k in first])
    br = crossing()
    while br is None and passes < max_passes:
        ts = sorted(seen)
        means = [float(seen[t].mean()) for t in ts]
        if all(m >= 0 for m in means):
            if ts[0] <= t_min:
                break
            run([ts[0] / 8.0**k for k in (1, 2)])
        elif all(m < 0 for m in means):
            if ts[-1] >= t_max:
                break
            run([ts[-1] * 8.0**k for k in (1, 2)])
        else:  # a sign change downward only: the curve is not increasing on the range
            break
        passes += 1
        br = crossing()
    if br is None:
        ts = sorted(seen)
        means = np.array([seen[t].mean() for t in ts])
        return Root(math.nan, math.nan, (math.nan, math.nan), passes,
                    f"no upward zero crossing for t in [{ts[0]:.3g}, {ts[-1]:.3g}] "
                    f"(mean from {means.min():.3g} to {means.max():.3g})")
    while br[1] / br[0] - 1.0 > rtol and passes < max_passes:
        run(np.exp(np.linspace(math.log(br[0]), math.log(br[1]), points + 2)[1:-1]))
        passes += 1
        br = crossing()
    a, b = br
    va, vb = seen[a], seen[b]
    fa, fb = float(va.mean()), float(vb.mean())
    w = fa / (fa - fb)  # in log t
    root = math.exp((1 - w) * math.log(a) + w * math.log(b))
    v = (1 - w) * va + w * vb
    slope = (fb - fa) / (b - a)
    se = float(v.std(ddof=1) / math.sqrt(v.size) / abs(slope)) if slope != 0 else math.inf
    return Root(root, se, (a, b), passes)


# --------------------------------------------------------------------------------------
# the portrait
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Portrait:
    r"""The phase portrait of a data set (see the module docstring). Times are OU times.

    Attributes
    ----------
    n, d : int
        Number of points and dimension.
    scale : str
        The scale the portrait was computed at.
    alpha : float
        :math:`\log n / d`.
    eigenvalues : ndarray
        Leading eigenvalues :math:`\lambda_1\ge\lambda_2\ge\dots` of the centred covariance.
    direction_times : ndarray
        :math:`\tfrac12\log\lambda_i` (``-inf`` for :math:`\lambda_i\le0`).
    thresholds : ndarray
        Per-direction memorization thresholds :math:`t_{c,i}` (reconstruction;
        :func:`memorization_thresholds`).
    mean_variance : float
        :math:`\mathrm{tr}\,C/d`.
    classes : ndarray or None
        The class values, in label order.
    class_counts : ndarray or None
    pairs : ndarray (P, 2) or None
        Class-pair indices into ``classes``.
    pair_eigenvalues, pair_times : ndarray (P,) or None
        :math:`\Lambda_{ab}` and :math:`\tfrac12\log\Lambda_{ab}`.
    entropy_t, entropy_f, entropy_stderr : ndarray
        The leave-one-out excess entropy :math:`f^e(t)` of the full data at the times the
        root finder evaluated, with standard errors.
    t_C, t_C_stderr : float
        Collapse time of the full data set and its standard error (``nan`` if not found).
    sizes, sizes_t_C, sizes_t_C_stderr : ndarray
        Nested subsample sizes :math:`n_k\le n` and their collapse times.
    class_entropy_t, class_entropy, class_entropy_stderr : ndarray or None
        :math:`H(Y\mid X_t)` of the labelled empirical measure (nats).
    label_entropy : float or None
        :math:`H(Y)` of the class frequencies.
    t_info : float or None
        Time of the steepest descent of :math:`H(Y\mid X_t)`: the maximum of :math:`dH/dt` over
        :math:`t\ge t_C` (cubic spline of the estimates in :math:`\log t`).
    info_window : (float, float) or None
        The interval around ``t_info`` (within :math:`t\ge t_C`) where :math:`dH/dt` exceeds
        half its maximum.
    info_rate : float or None
        The maximum of :math:`dH/dt` (nats per unit OU time).
    n_directions : int
        Leading directions shown in the tables (``eigenvalues`` may hold more).
    query_seeds : tuple of int
        Seed of the :class:`~diffphase.numerics.empirical.NoisedQueries` of each size (the
        data of size :math:`n_k` is the centred, scaled data — sorted by label when labels are
        given — for :math:`k = 0`, and its rows ``perm[:n_k]``,
        ``perm = numpy.random.default_rng(seed).permutation(n)``, for :math:`k\ge1`).
    n_samples, seed : int
        Monte Carlo queries per size and the seed.
    timings : dict
        Seconds per step.
    notes : list of str
        Caveats that apply to this data set.
    """

    n: int
    d: int
    scale: str
    alpha: float
    eigenvalues: np.ndarray
    direction_times: np.ndarray
    thresholds: np.ndarray
    mean_variance: float
    entropy_t: np.ndarray
    entropy_f: np.ndarray
    entropy_stderr: np.ndarray
    t_C: float
    t_C_stderr: float
    sizes: np.ndarray
    sizes_t_C: np.ndarray
    sizes_t_C_stderr: np.ndarray
    classes: np.ndarray | None = None
    class_counts: np.ndarray | None = None
    pairs: np.ndarray | None = None
    pair_eigenvalues: np.ndarray | None = None
    pair_times: np.ndarray | None = None
    class_entropy_t: np.ndarray | None = None
    class_entropy: np.ndarray | None = None
    class_entropy_stderr: np.ndarray | None = None
    label_entropy: float | None = None
    t_info: float | None = None
    info_window: tuple | None = None
    info_rate: float | None = None
    n_directions: int = 10
    query_seeds: tuple = ()
    n_samples: int = 0
    seed: int = 0
    timings: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    # -- headline numbers -------------------------------------------------------------
    @property
    def Lambda(self) -> float:
        r""":math:`\Lambda`, the top eigenvalue of the covariance."""
        return float(self.eigenvalues[0])

    @property
    def t_S(self) -> float:
        r""":math:`t_S = \tfrac12\log\Lambda` (negative when :math:`\Lambda < 1`)."""
        return _half_log(self.Lambda)

    @property
    def labelled(self) -> bool:
        """Whether labels were given."""
        return self.classes is not None

    def key_times(self) -> list[dict]:
        """The headline times as rows ``{"quantity", "t", "stderr", "step", "sigma", "note"}``."""
        rows = [dict(quantity="speciation t_S = ½ log Λ", t=self.t_S, stderr=None,
                     note=f"Λ = {self.Lambda:.4g}")]
        if self.pair_times is not None and len(self.pair_times) == 1:
            rows.append(dict(quantity="class pair: speciation", t=float(self.pair_times[0]), stderr=None,
                             note=f"classes {self._pair_name(0)}, Λ = {self.pair_eigenvalues[0]:.4g}"))
        elif self.pair_times is not None and len(self.pair_times):
            i, j = int(np.argmin(self.pair_times)), int(np.argmax(self.pair_times))
            rows.append(dict(quantity="class pairs: first to separate (largest t)", t=float(self.pair_times[j]),
                             stderr=None, note=f"classes {self._pair_name(j)}, Λ = {self.pair_eigenvalues[j]:.4g}"))
            rows.append(dict(quantity="class pairs: last to separate (smallest t)", t=float(self.pair_times[i]),
                             stderr=None,
                             note=f"classes {self._pair_name(i)}, Λ = {self.pair_eigenvalues[i]:.4g}"))
        if self.t_info is not None:
            rows.append(dict(quantity="class information: steepest descent of H(Y|X_t)", t=self.t_info, stderr=None,
                             note=f"max dH/dt = {self.info_rate:.3g} nats per unit t"))
            rows.append(dict(quantity="class information: window start (rate ≥ ½ max)", t=self.info_window[0],
                             stderr=None, note=""))
            rows.append(dict(quantity="class information: window end (rate ≥ ½ max)", t=self.info_window[1],
                             stderr=None, note=""))
        rows.append(dict(quantity="collapse t_C (f^e = 0)", t=self.t_C, stderr=self.t_C_stderr,
                         note=f"n = {self.n}, α = log n / d = {self.alpha:.4g}"))
        th = self.thresholds[np.isfinite(self.thresholds)]
        if th.size:
            rows.append(dict(quantity="memorization threshold of direction 1 [reconstruction]", t=float(th[0]),
                             stderr=None, note="t_c,1 = ½ log(1 + λ₁/(e^{2α} − 1))"))
        for r in rows:
            r["step"], r["sigma"] = ddpm_step(r["t"]), ve_sigma(r["t"])
        return rows

    def _pair_name(self, i: int) -> str:
        a, b = self.pairs[i]
        return f"{self.classes[a]}–{self.classes[b]}"

    # -- rendering ----------------------------------------------------------------------
    def _tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """(title, header, rows) of every table, as formatted strings."""
        out = []
        rows = [[r["quantity"], _fmt_t(r["t"], r["stderr"]), _fmt_step(r["t"]), _fmt_sigma(r["t"]), r["note"]]
                for r in self.key_times()]
        out.append(("Times", ["quantity", "OU time t", f"DDPM step (linear β, T = {SCHEDULE.T})", "VE σ", "note"], rows))
        rows = [[str(i + 1), f"{lam:.5g}", _fmt_t(tt), _fmt_step(tt), _fmt_sigma(tt), _fmt_t(tc), _fmt_step(tc)]
                for i, (lam, tt, tc) in enumerate(zip(self.eigenvalues[:self.n_directions],
                                                      self.direction_times, self.thresholds))]
        out.append(("Leading directions", ["i", "λ_i", "speciation ½ log λ_i", "DDPM step", "VE σ",
                                           "memorization threshold t_c,i [reconstruction]", "DDPM step"], rows))
        rows = [[str(int(nk)), f"{math.log(nk) / self.d:.4g}", _fmt_t(tc, se), _fmt_step(tc), _fmt_sigma(tc)]
                for nk, tc, se in zip(self.sizes, self.sizes_t_C, self.sizes_t_C_stderr)]
        out.append(("Collapse time against training-set size (nested random subsamples, no extrapolation beyond n)",
                    ["n_k", "α = log n_k / d", "t_C", "DDPM step", "VE σ"], rows))
        if self.pair_times is not None:
            order = np.argsort(-self.pair_times)
            rows = [[self._pair_name(i), f"{self.pair_eigenvalues[i]:.4g}", _fmt_t(self.pair_times[i]),
                     _fmt_step(self.pair_times[i]), _fmt_sigma(self.pair_times[i])] for i in order]
            out.append(("Class-pair speciation (in the order the backward dynamics separates them: largest t first)",
                        ["classes", "Λ_ab", "t = ½ log Λ_ab", "DDPM step", "VE σ"], rows))
        rows = [[f"{t:.4g}", f"{f:+.4g}", f"{s:.2g}"] for t, f, s in zip(self.entropy_t, self.entropy_f,
                                                                        self.entropy_stderr)]
        out.append(("Leave-one-out excess entropy of the full data (the times the root finder evaluated)",
                    ["t", "f^e(t)", "standard error"], rows))
        return out

    def to_markdown(self, header: bool = True) -> str:
        """The portrait as Markdown: a header (unless ``header=False``), the tables and the
        notes."""
        lines = [f"**Phase portrait** of n = {self.n} points in d = {self.d} dimensions"
                 + (f", {len(self.classes)} classes" if self.labelled else "") + ".",
                 "", f"Scale: {self.scale}.", ""] if header else []

        def row(cells):
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        for title, head, rows in self._tables():
            lines += [f"*{title}*", "", row(head), "|" + "---|" * len(head)]
            lines += [row(r) for r in rows]
            lines.append("")
        if self.notes:
            lines += ["Notes:", ""] + [f"- {s}" for s in self.notes] + [""]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [f"<p><b>Phase portrait</b> of n = {self.n} points in d = {self.d} dimensions"
                 + (f", {len(self.classes)} classes" if self.labelled else "")
                 + f". Scale: {html.escape(self.scale)}.</p>"]
        for title, head, rows in self._tables():
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
            table = ("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)
                     + f"</tr></thead><tbody>{body}</tbody></table>")
            if len(rows) > 12:
                parts.append(f"<details><summary>{html.escape(title)} ({len(rows)} rows)</summary>{table}</details>")
            else:
                parts.append(f"<p><i>{html.escape(title)}</i></p>{table}")
        if self.notes:
            parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in self.notes) + "</ul>")
        return "\n".join(parts)

    def __repr__(self) -> str:
        cls = f", classes={len(self.classes)}" if self.labelled else ""
        return (f"Portrait(n={self.n}, d={self.d}{cls}, scale={self.scale.split(':')[0]!r}, "
                f"Lambda={self.Lambda:.4g}, t_S={self.t_S:.4g}, t_C={self.t_C:.4g}±{self.t_C_stderr:.2g}, "
                f"alpha={self.alpha:.4g})")

    __str__ = to_markdown

    def to_dict(self) -> dict:
        """Every field as plain Python (lists, floats, ``None``), plus ``Lambda``, ``t_S``,
        the headline times with their DDPM steps and VE σ (``key_times``), and the DDPM step
        and VE σ of every time field (``ddpm_steps``, ``ve_sigma``; ``None`` where undefined)."""
        out = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            out[name] = v.tolist() if isinstance(v, np.ndarray) else (list(v) if isinstance(v, tuple) else v)
        out["Lambda"], out["t_S"] = self.Lambda, self.t_S
        out["key_times"] = self.key_times()
        out["schedule"] = repr(SCHEDULE)
        times = {name: out[name] for name in ("t_S", "t_C", "t_info", "info_window", "direction_times",
                                              "thresholds", "sizes_t_C", "pair_times")}
        out["ddpm_steps"] = {k: _map_times(ddpm_step, v) for k, v in times.items()}
        out["ve_sigma"] = {k: _map_times(ve_sigma, v) for k, v in times.items()}
        return out


def _map_times(fn, v):
    """``fn`` of a time, or of each time in a list (``None`` stays ``None``)."""
    if v is None:
        return None
    return [fn(float(t)) for t in v] if isinstance(v, list) else fn(float(v))


def _fmt_t(t, se=None) -> str:
    if t is None or (isinstance(t, float) and math.isnan(t)):
        return "—"
    if not math.isfinite(t):
        return "−∞" if t < 0 else "∞"
    return f"{t:.4g}" + (f" ± {se:.2g}" if se is not None and math.isfinite(se) else "")


def _fmt_step(t) -> str:
    if t is None or not math.isfinite(t):
        return "—"
    if t < 0:
        return "— (t < 0)"
    k = ddpm_step(t)
    return f"> {SCHEDULE.T} (t > {SCHEDULE.times[-1]:.3g})" if k is None else str(k)


def _fmt_sigma(t) -> str:
    s = ve_sigma(t) if t is not None and math.isfinite(t) else None
    return "—" if s is None else f"{s:.4g}"


def _check_labels(labels, n):
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"labels must be a 1-d array of length n = {n} (one class per row of X), "
                         f"got shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError("labels must be integers or strings (class names); got non-integer floats")
    elif y.dtype.kind not in "iubUSO":
        raise ValueError(f"labels must be integers or strings (class names), got dtype {y.dtype}")
    try:
        classes, inverse = np.unique(y, return_inverse=True)
    except TypeError:
        raise ValueError("labels must be all integers or all strings (class names), not a mix") from None
    if classes.size < 2:
        raise ValueError(f"labels must contain at least 2 classes, got a single class {classes[0]!r}")
    return classes, inverse.astype(np.int64).ravel()


def _info_times(t_S: float, t_C_guess: float) -> np.ndarray:
    lo = max(1e-3, 0.1 * t_C_guess)
    hi = max(3.0, (t_S if math.isfinite(t_S) else 0.0) + 2.5)
    return np.geomspace(lo, hi, 12)


def _refine_steepest(seen: dict, t_min: float) -> list:
    """Six times, equally spaced in log t, around the steepest rise of the mean of ``seen``
    among the intervals that end above ``t_min``."""
    ts = np.array(sorted(seen))
    hm = np.array([seen[t].mean() for t in ts])
    slope = np.diff(hm) / np.diff(ts)
    slope[ts[1:] <= t_min] = -np.inf
    i = int(np.argmax(slope))
    lo, hi = ts[max(i - 1, 0)], ts[min(i + 2, ts.size - 1)]
    return list(np.geomspace(lo, hi, 8)[1:-1])


def _upward_crossing(seen: dict) -> float:
    """Linear interpolation (in log t) of the last upward zero crossing of the means of
    ``seen``; the smallest time when there is none."""
    ts = np.array(sorted(seen))
    f = np.array([seen[t].mean() for t in ts])
    up = np.nonzero((f[:-1] < 0) & (f[1:] >= 0))[0]
    if up.size == 0:
        return float(ts[0])
    k = int(up[-1])
    w = f[k] / (f[k] - f[k + 1])
    return float(math.exp((1 - w) * math.log(ts[k]) + w * math.log(ts[k + 1])))


def _steepest_descent(ts, H, t_min: float):
    """Maximum of dH/dt (OU time) of a cubic spline of H in log t over ``t >= t_min``, the
    window around it where the rate exceeds half the maximum, and the maximum."""
    ts, H = np.asarray(ts), np.asarray(H)
    spline = CubicSpline(np.log(ts), H)
    lo_t = min(max(t_min, ts[0]), ts[-1])
    grid = np.geomspace(lo_t, ts[-1], 4000)
    rate = spline(np.log(grid), 1) / grid
    i = int(np.argmax(rate))
    half = 0.5 * rate[i]
    lo = i
    while lo > 0 and rate[lo - 1] >= half:
        lo -= 1
    hi = i
    while hi < grid.size - 1 and rate[hi + 1] >= half:
        hi += 1
    return float(grid[i]), (float(grid[lo]), float(grid[hi])), float(rate[i])


def _check_data(X) -> np.ndarray:
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"X must hold numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got shape {arr.shape} (flatten images to (n, h*w*c))")
    if arr.shape[0] < 2:
        raise ValueError(f"X must have n >= 2 rows, got {arr.shape[0]}")
    if arr.shape[1] < 1:
        raise ValueError("X must have d >= 1 columns, got 0")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError("X must be finite; it contains NaN or inf")
    return arr


def _centred(arr, y, scale, value_range, dtype):
    """Scaled, centred, C-contiguous data in ``dtype``; rows sorted by label when labelled (the
    kernel then sums classes over contiguous runs). Returns ``(X, y, scale description)``."""
    Xs, text = apply_scale(arr, scale, value_range=value_range, dtype=dtype.type)
    Xs = Xs - Xs.mean(axis=0, dtype=np.float64).astype(dtype)
    if y is not None:
        order = np.argsort(y, kind="stable")
        Xs, y = Xs[order], y[order]
    return np.ascontiguousarray(Xs, dtype=dtype), y, text


def _spectrum(Xs, k: int):
    """``k`` leading eigenvalues of the covariance of centred data and the mean variance
    :math:`\\mathrm{tr}\\,C/d`; ``ValueError`` for constant data."""
    n, d = Xs.shape
    if d <= 4096:
        C = covariance(Xs)
        mean_var = float(np.trace(C)) / d
        lam = symmetric_top_eigenvalues(C, k)
    else:
        lam = top_eigenvalues(Xs, k)  # the n x n Gram matrix for n <= 4096, Lanczos otherwise
        mean_var = float(np.einsum("ij,ij->", Xs, Xs, dtype=np.float64)) / (n * d)
    if not lam[0] > 1e-12 * max(1.0, float(np.abs(Xs).max())) ** 2:
        raise ValueError("X is constant (all rows equal up to rounding): no covariance, no speciation "
                         "or collapse to compute")
    return lam, mean_var


class _Passes:
    """The function a root finder evaluates: per-query leave-one-out excess entropy of one data
    set at the requested times, one streaming pass per call. With labels, the class entropy
    rides on the same passes: a coarse set of times in the first, six more around its steepest
    rise (above the current estimate of t_C) in the second."""

    def __init__(self, queries: NoisedQueries, threads: int, labels=None, info_times=()):
        self.queries, self.threads, self.labels = queries, threads, labels
        self.f: dict[float, np.ndarray] = {}
        self.h: dict[float, np.ndarray] = {}
        self.pending = [float(t) for t in info_times] if labels is not None else []
        self.refined = labels is None

    def __call__(self, ts):
        allt = np.array(sorted(set(map(float, ts)) | set(self.pending)))
        ls = self.queries.log_sums(allt, labels=self.labels, threads=self.threads)
        f = ls.excess_entropy_samples(True)
        for i, t in enumerate(allt):
            self.f[float(t)] = f[i]
        if self.labels is not None:
            h = ls.class_entropy_samples()
            for i, t in enumerate(allt):
                self.h[float(t)] = h[i]
            self.pending = [] if self.refined else _refine_steepest(self.h, _upward_crossing(self.f))
            self.refined = True
        return np.array([self.f[float(t)] for t in ts])

    def finish(self) -> None:
        """One more pass when the root finder stopped before the class entropy was refined."""
        if self.pending:
            self(np.array([]))


def _curve(seen: dict):
    """Times, means and standard errors of per-sample values ``{t: samples}``."""
    ts = np.array(sorted(seen))
    vals = np.array([seen[t] for t in ts])
    return ts, vals.mean(axis=1), vals.std(axis=1, ddof=1) / math.sqrt(vals.shape[1])


def _notes(Lambda: float, t_C: float, root_message: str, window, labelled: bool) -> list:
    """The caveats that apply to a portrait, in reading order."""
    notes = []
    t_S = _half_log(Lambda)
    if not math.isfinite(t_C):
        notes.append(f"No collapse time found for the full data: {root_message}. Duplicated rows never separate "
                     "(the leave-one-out estimate stays positive); remove them.")
    if Lambda < 1:
        notes.append(
            f"Λ = {Lambda:.4g} < 1, so t_S = ½ log Λ = {t_S:.3g} < 0: at this scale the data never speciates "
            "at positive OU time — the unit-variance noise swamps its largest direction from the start of the "
            f"forward process. Multiplying the data by s multiplies every eigenvalue by s² and adds log s to "
            f"t_S; speciation at a positive time needs s > 1/√Λ = {1.0 / math.sqrt(Lambda):.3g} (try --scale "
            "minus-one-one or standardize for data in small units). t_C moves with the scale too (not by a "
            "plain shift).")
    if math.isfinite(t_S) and t_S > SCHEDULE.times[-1]:
        notes.append(f"t_S = {t_S:.3g} lies beyond the last DDPM step (t_T = {SCHEDULE.times[-1]:.3g}): a "
                     "linear-β T = 1000 model starts after speciation.")
    notes.append("t_C comes from the leave-one-out excess entropy of the training set itself; t_C(n_k) is "
                 "measured on nested random subsamples n_k ≤ n. Nothing is extrapolated beyond n: no theory "
                 "in this package backs an extrapolation for real data.")
    if window is not None and window[0] <= t_C * (1 + 1e-9):
        notes.append(
            f"The class-information window reaches down to t_C = {t_C:.3g}, where the search stops: below "
            "t_C the empirical class entropy falls to 0 because the training points are memorized, and that drop "
            "says nothing about the population. Class information and memorization overlap for this data set.")
    if labelled:
        notes.append("H(Y|X_t) is the class entropy of the labelled *empirical* distribution (the training points "
                     "noised). It is exact for the training set and describes the population only at t ≫ t_C; "
                     "below t_C every noised point reveals its training point and H → 0.")
    notes.append("The per-direction memorization thresholds t_c,i = ½ log(1 + λ_i/(e^{2α} − 1)), α = log n / d, "
                 "are this package's reconstruction, not a formula of the papers.")
    return notes


def portrait(X, labels=None, *, scale: str = "none", value_range=None, n_samples: int = 1000,
             levels: int = 6, n_directions: int = 10, n_spectrum: int = 64, seed: int = 0, dtype=None,
             rtol: float = 0.02, threads: int | None = None, progress: Callable | None = None) -> Portrait:
    r"""The phase portrait of the data set ``X`` (see the module docstring for every formula).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Finite numbers, ``n >= 2`` rows, not constant. Images: flatten them first.
    labels : array_like, shape (n,), optional
        Class of every row (integers or strings), at least 2 classes.
    scale : {"none", "standardize", "unit-interval", "minus-one-one"}
        Applied first (:func:`apply_scale`); the portrait states it.
    value_range : (float, float), optional
        Nominal value range for ``"unit-interval"`` / ``"minus-one-one"`` (default: the data's
        minimum and maximum).
    n_samples : int
        Monte Carlo queries :math:`B` of the excess entropy and class entropy, per size
        (``>= 10``). The standard errors scale as :math:`B^{-1/2}`.
    levels : int
        Number of nested sizes :math:`n/2^k` (:func:`nested_sizes`, at least 8 points each).
    n_directions : int
        Leading directions listed (their speciation times and thresholds).
    n_spectrum : int
        Leading eigenvalues kept (for the spectrum figure), ``>= n_directions``.
    seed : int
        Seeds the subsamples and the Monte Carlo queries; equal seeds give equal portraits.
    dtype : {numpy.float32, numpy.float64}, optional
        Working precision of the kernel; default float64 when :math:`nd\le2\cdot10^6`, float32
        otherwise (relative accuracy of a log-sum about :math:`10^{-6}`).
    rtol : float
        Relative width of the final bracket of every root (the interpolated root inside it is
        much more accurate; the Monte Carlo standard error dominates).
    threads : int, optional
        Threads of the element-wise part of the kernel (default: the number of CPUs, at most 4).
    progress : callable, optional
        Called with one line of text at the start of every long step.

    Returns
    -------
    Portrait

    Raises
    ------
    ValueError
        Non-finite entries, fewer than 2 rows, a wrong shape, constant data, labels of the
        wrong length or with a single class, or a bad parameter — naming the argument.
    """
    import os

    say = progress if progress is not None else (lambda msg: None)
    arr = _check_data(X)
    n, d = arr.shape
    n_samples = check_int("n_samples", n_samples, minimum=10)
    n_directions = check_int("n_directions", n_directions, minimum=1)
    n_spectrum = max(check_int("n_spectrum", n_spectrum, minimum=1), n_directions)
    seed = check_int("seed", seed, minimum=0)
    rtol = check_real("rtol", rtol, low=0.0, high=1.0, low_open=True)
    threads = min(4, os.cpu_count() or 1) if threads is None else check_int("threads", threads, minimum=1)
    if dtype is None:
        dtype = np.float64 if n * d <= 2_000_000 else np.float32
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    classes = y = None
    if labels is not None:
        classes, y = _check_labels(labels, n)
    timings: dict = {}

    clock = time.perf_counter()
    Xs, y, scale_text = _centred(arr, y, scale, value_range, dtype)
    k_eig = min(n_spectrum, d)
    say(f"spectrum: covariance of {n} x {d} and its top {k_eig} eigenvalues (Lanczos)")
    lam, mean_var = _spectrum(Xs, k_eig)
    timings["spectrum"] = time.perf_counter() - clock
    alpha = math.log(n) / d
    t_S = _half_log(float(lam[0]))

    pairs = pair_vals = pair_times = None
    if y is not None:
        clock = time.perf_counter()
        K = len(classes)
        say(f"class pairs: top eigenvalue of each of {K * (K - 1) // 2} pair covariances (Lanczos)")
        pairs, pair_vals = class_pair_eigenvalues(Xs, y, K)
        pair_times = np.array([_half_log(v) for v in pair_vals])
        timings["class pairs"] = time.perf_counter() - clock

    # collapse on nested subsamples: level k >= 1 is a prefix of one random subsample of size
    # n_1 (rows in random order), so the sizes are nested
    sizes = nested_sizes(n, levels)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    sub = np.ascontiguousarray(Xs[perm[:sizes[1]]]) if sizes.size > 1 else None

    def iso_guess(m):  # t_C of isotropic Gaussian data with the same mean variance
        return float(cv.time_from_ve_variance(mean_var / math.expm1(2.0 * math.log(m) / d)))

    t_C_sizes = np.full(sizes.size, np.nan)
    se_sizes = np.full(sizes.size, np.nan)
    query_seeds, full, message = [], None, ""
    for level, nk in enumerate(sizes):
        clock = time.perf_counter()
        say(f"collapse: leave-one-out excess entropy of n = {nk} points ({n_samples} queries)")
        query_seeds.append(int(rng.integers(2**62)))
        engine = EmpiricalScore(Xs if level == 0 else sub[:nk], dtype=dtype)
        with_h = level == 0 and y is not None
        passes = _Passes(NoisedQueries(engine, n_samples, seed=query_seeds[-1]), threads,
                         labels=y if with_h else None,
                         info_times=_info_times(t_S, iso_guess(n)) if with_h else ())
        if level == 0:
            root = bracket_root(passes, iso_guess(nk), rtol=rtol)
            full, message = passes, root.message
        else:
            base = t_C_sizes[0] if math.isfinite(t_C_sizes[0]) else iso_guess(n)
            root = bracket_root(passes, base * iso_guess(nk) / iso_guess(n), first=(-1, -0.5, 0, 0.5, 1),
                                rtol=rtol)
        passes.finish()
        t_C_sizes[level], se_sizes[level] = root.t, root.stderr
        timings[f"collapse n={nk}"] = time.perf_counter() - clock
    curve_t, curve_f, curve_se = _curve(full.f)
    H_t = H = H_se = t_info = window = rate = label_entropy = None
    if y is not None:
        H_t, H, H_se = _curve(full.h)
        t_lo = t_C_sizes[0] if math.isfinite(t_C_sizes[0]) else float(H_t[0])
        t_info, window, rate = _steepest_descent(H_t, H, t_lo)
        freq = np.bincount(y) / n
        label_entropy = float(-(freq * np.log(freq)).sum())
    notes = _notes(float(lam[0]), float(t_C_sizes[0]), message, window, y is not None)
    return Portrait(
        n=n, d=d, scale=scale_text, alpha=alpha, eigenvalues=lam,
        direction_times=np.array([_half_log(v) for v in lam]), thresholds=memorization_thresholds(lam, n, d),
        mean_variance=mean_var,
        entropy_t=curve_t, entropy_f=curve_f, entropy_stderr=curve_se,
        t_C=float(t_C_sizes[0]), t_C_stderr=float(se_sizes[0]),
        sizes=sizes, sizes_t_C=t_C_sizes, sizes_t_C_stderr=se_sizes,
        classes=classes, class_counts=None if y is None else np.bincount(y, minlength=len(classes)),
        pairs=pairs, pair_eigenvalues=pair_vals, pair_times=pair_times,
        class_entropy_t=H_t, class_entropy=H, class_entropy_stderr=H_se, label_entropy=label_entropy,
        t_info=t_info, info_window=window, info_rate=rate, n_directions=min(n_directions, lam.size),
        query_seeds=tuple(query_seeds),
        n_samples=n_samples, seed=seed,
        timings=timings, notes=notes,
    )
