r"""Mean-field solver of class reconstruction in the Random Hierarchy Model.

Numbers from the sympy derivation of :mod:`diffphase.theory.rhm` (read its docstring for the
derivation and for what the mean field neglects).

Noise convention: a level :math:`\varepsilon\in[0,1]` per process, the probability that a
leaf is not kept (:math:`\varepsilon = 1-\bar\alpha`, OU time
:math:`t=-\tfrac12\log(1-\varepsilon)`, see :mod:`diffphase.numerics.conventions`):
``"epsilon"`` (leaf message :math:`(1-\varepsilon)\delta_{b,x_0}+\varepsilon/v`), ``"masking"``
(leaf masked with probability :math:`\varepsilon`), ``"uniform"`` (token resampled uniformly
with probability :math:`\varepsilon`). Levels :math:`l` count upward: :math:`l=0` the leaves,
:math:`l=L` the root. The root has :math:`n_c = v` classes.

Two solvers
-----------
* ``"epsilon"``: the one-number map :math:`p_{l+1}=F(p_l)`,
  :math:`F(p)=\Phi(p^s)`, :math:`p_0 = 1-\varepsilon(1-1/v)`. The unstable fixed point
  :math:`p^*` is the root in :math:`(1/v,1)` of the reduced fixed-point polynomial, found with
  mpmath at 50 digits, so :math:`\varepsilon^*` is accurate to better than 1e-12.
* ``"masking"``, ``"uniform"``: leaves are heterogeneous and no one-number closure is exact
  (:math:`\Phi` is concave); the mean field is the rule-averaged *density evolution* of the law
  of the true-mass, :math:`p_{\rm parent}\overset{d}{=}\Phi(\prod_i p_i)` with i.i.d. siblings.
  Level 1 is computed exactly from the two-point leaf law; higher levels on a uniform grid in
  :math:`y=-\log p` (``grid`` points on :math:`[0,\log(\beta/\alpha)]`, the range of
  :math:`\Phi`), with s-fold convolutions by FFT and a re-binning that conserves the mean
  true-mass. Precision of the critical noise: about 1e-6 at the default grid (estimated by
  grid doubling, see :func:`critical_noise`); of the curves, about 1e-6 per level.

Examples
--------
>>> from diffphase.numerics.rhm import mean_field as mf
>>> round(mf.critical_noise(32, 8, 2), 10)   # = 68/93
0.7311827957
"""

from __future__ import annotations

import functools
import itertools
import math

import mpmath
import numpy as np
import sympy as sp

from diffphase.theory import rhm as _th

from ..checks import check_int, check_probability
from ..conventions import time_from_noise_level

__all__ = [
    "MeanFieldMap",
    "mean_field_map",
    "critical_point",
    "critical_noise",
    "closure_critical_noise",
    "mean_field_curve",
    "correlation_exponent",
    "density_evolution",
    "critical_summary",
]

_PROCESSES = ("epsilon", "masking", "uniform")
_DPS = 50  # mpmath digits for roots
_DEFAULT_GRID = 4096


# --------------------------------------------------------------------------------------
# parameter checks
# --------------------------------------------------------------------------------------
def _check_params(v, m, s):
    v = check_int("v", v, minimum=2)
    s = check_int("s", s, minimum=2)
    m = check_int("m", m, minimum=1)
    if m > v ** (s - 1):
        raise ValueError(
            f"m must be in [1, v**(s-1)] = [1, {v ** (s - 1)}] (each s-tuple has at most one "
            f"parent: v*m <= v**s), got m={m}"
        )
    return v, m, s


def _check_process(process):
    if process not in _PROCESSES:
        raise ValueError(f"process must be one of {_PROCESSES}, got {process!r}")
    return process


def _check_transition(v, m, s):
    """Raise unless both trivial fixed points are stable (then p* exists in (1/v, 1))."""
    slope_one, slope_unif = _slopes(s)
    at_one = sp.Rational(slope_one.subs({_th.v: v, _th.m: m}))
    at_unif = sp.Rational(slope_unif.subs({_th.v: v, _th.m: m}))
    if at_one >= 1:
        raise ValueError(
            f"no mean-field transition for v={v}, m={m}, s={s}: F'(1) = s*m*(v-1)/(v**s-1) = "
            f"{float(at_one):.6g} >= 1, the class is lost at any noise > 0 (m too large)"
        )
    if at_unif >= 1:
        raise ValueError(
            f"no mean-field transition for v={v}, m={m}, s={s}: F'(1/v) = "
            f"s*(v-1)*v**(s-1)/(m*(v**s-1)) = {float(at_unif):.6g} >= 1, the class is kept "
            f"at any noise < 1 (m too small)"
        )


# --------------------------------------------------------------------------------------
# theory expressions, compiled once per branching s
# --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _slopes(s):
    """F'(1) and F'(1/v) from the theory, for branching s (sympy, in v and m)."""
    return _th.map_slope(1).subs(_th.s, s), _th.map_slope(1 / _th.v).subs(_th.s, s)


@functools.lru_cache(maxsize=None)
def _compiled(s):
    """numpy and mpmath callables of F, F' and Phi for branching s (args p|w, v, m)."""
    F = _th.mean_field_map(s)(_th.p)
    dF = sp.diff(F, _th.p)
    Phi = _th.parent_mass()(_th.w).subs(_th.s, s)
    args_p = (_th.p, _th.v, _th.m)
    args_w = (_th.w, _th.v, _th.m)
    return {
        "F": sp.lambdify(args_p, F, "numpy"),
        "dF": sp.lambdify(args_p, dF, "numpy"),
        "Phi": sp.lambdify(args_w, Phi, "numpy"),
        "F_mp": sp.lambdify(args_p, F, "mpmath"),
        "dF_mp": sp.lambdify(args_p, dF, "mpmath"),
    }


@functools.lru_cache(maxsize=None)
def _reduced_poly(s):
    return _th.reduced_fixed_point_polynomial(s)


@functools.lru_cache(maxsize=None)
def _closure_exprs(s):
    out = {}
    for proc in ("masking", "uniform"):
        out[(proc, "first_moment")] = sp.lambdify(
            (_th.eps, _th.v), _th.leaf_mean_mass(proc), "mpmath")
        out[(proc, "leaf_resolved")] = sp.lambdify(
            (_th.eps, _th.v, _th.m), _th.leaf_resolved_mass(proc, s), "mpmath")
    return out


# --------------------------------------------------------------------------------------
# the map
# --------------------------------------------------------------------------------------
class MeanFieldMap:
    r"""The rule-averaged upward map of the RHM for fixed :math:`(v, m, s)`.

    Calling it evaluates :math:`F(p) = \Phi(p^s)` (vectorized, float64), the map on
    homogeneous messages (mass :math:`p` on the true symbol). :meth:`phi` is
    :math:`\Phi(w)`, :math:`w=\prod_i p_i`, valid for any child messages; :meth:`leaf_law`
    gives the law of the leaf true-mass of the process, ``(probabilities, masses)``. For
    ``"epsilon"`` the law is a point mass and iterating ``F`` from it is the mean field; for
    ``"masking"``/``"uniform"`` it is a two-point law, and the mean field is the density
    evolution of :func:`density_evolution` (iterating ``F`` from the mean leaf mass is *not*).

    Attributes
    ----------
    v, m, s : int
    process : str
    """

    def __init__(self, v, m, s, process):
        self.v, self.m, self.s = v, m, s
        self.process = process
        self._c = _compiled(s)

    def __call__(self, p):
        r""":math:`F(p) = [p^s+(m-1)a]/[p^s+(mv-1)a]`, :math:`a=(1-p^s)/(v^s-1)`, for ``p`` in
        [0, 1] (array or scalar)."""
        arr = check_probability("p", p)
        out = self._c["F"](arr, self.v, self.m)
        return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.float64)

    def derivative(self, p):
        r""":math:`F'(p)` (vectorized)."""
        arr = check_probability("p", p)
        out = self._c["dF"](arr, self.v, self.m)
        return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.float64)

    def phi(self, w):
        r""":math:`\Phi(w) = [w+(m-1)(1-w)/(v^s-1)]/[w+(mv-1)(1-w)/(v^s-1)]`."""
        arr = check_probability("w", w)
        out = self._c["Phi"](arr, self.v, self.m)
        return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.float64)

    def leaf_law(self, noise):
        r"""``(probabilities, masses)`` of the leaf true-mass at noise level
        :math:`\varepsilon` = ``noise`` (scalar in [0, 1])."""
        eps = float(check_probability("noise", noise))
        return _leaf_law(self.v, self.process, eps)

    def __repr__(self):
        return f"MeanFieldMap(v={self.v}, m={self.m}, s={self.s}, process={self.process!r})"


def _leaf_law(v, process, eps):
    p0 = 1.0 - eps * (1.0 - 1.0 / v)
    if process == "epsilon":
        return np.array([1.0]), np.array([p0])
    if process == "masking":
        return np.array([1.0 - eps, eps]), np.array([1.0, 1.0 / v])
    return np.array([p0, 1.0 - p0]), np.array([p0, eps / v])


def mean_field_map(v, m, s, process="epsilon"):
    r"""The mean-field map :math:`p\mapsto F(p)` of the RHM (levels counted upward).

    .. math::
        F(p) = \frac{p^s + (m-1)a(p)}{p^s + (mv-1)a(p)},\qquad a(p) = \frac{1-p^s}{v^s-1},

    the ratio of the rule-averaged upward BP weights of the true symbol and of all symbols,
    for messages with mass :math:`p` on the true symbol and :math:`(1-p)/(v-1)` elsewhere.
    For the ε-process the leaves have :math:`p_0 = 1-\varepsilon(1-1/v)`,
    :math:`\varepsilon = 1-\bar\alpha`.

    Parameters
    ----------
    v, m, s : int
        Vocabulary (>= 2), synonyms (1 <= m <= v**(s-1)), branching (>= 2).
    process : {"epsilon", "masking", "uniform"}
        Noise process; selects :meth:`MeanFieldMap.leaf_law`. The map itself does not depend
        on it.

    Returns
    -------
    MeanFieldMap
        Callable ``F(p)`` (vectorized, float64) with ``.derivative``, ``.phi``, ``.leaf_law``.

    Examples
    --------
    >>> F = mean_field_map(32, 8, 2)
    >>> float(F(1 / 32)), float(F(1.0))
    (0.03125, 1.0)
    >>> round(float(F(7 / 24)), 12)     # p* = (m-1)/(v-m) is a fixed point
    0.291666666667
    """
    v, m, s = _check_params(v, m, s)
    return MeanFieldMap(v, m, s, _check_process(process))


# --------------------------------------------------------------------------------------
# the epsilon process: p*, eps*, slope, nu
# --------------------------------------------------------------------------------------
def _p_star_mp(v, m, s):
    """p* as an mpmath number at _DPS digits (bisection on the reduced polynomial K)."""
    _check_transition(v, m, s)
    K = _reduced_poly(s)
    coeffs = [sp.Rational(c.subs({_th.v: v, _th.m: m})) for c in K.all_coeffs()]
    with mpmath.workdps(_DPS + 10):
        cs = [mpmath.mpf(int(c.p)) / int(c.q) for c in coeffs]
        poly = lambda x: mpmath.polyval(cs, x)  # noqa: E731
        lo, hi = mpmath.mpf(1) / v, mpmath.mpf(1)
        flo, fhi = poly(lo), poly(hi)
        if flo == 0 or fhi == 0 or (flo > 0) == (fhi > 0):  # pragma: no cover - excluded above
            raise RuntimeError("no sign change of K on (1/v, 1)")
        for _ in range(4 * _DPS):  # interval shrinks by 2**-200
            mid = (lo + hi) / 2
            fm = poly(mid)
            if (fm > 0) == (flo > 0):
                lo, flo = mid, fm
            else:
                hi = mid
        return +((lo + hi) / 2)


def critical_point(v, m, s):
    r"""Critical quantities of the ε-process mean field.

    :math:`p^*` is the unstable fixed point of :math:`F` in :math:`(1/v,1)`,
    :math:`\varepsilon^* = (1-p^*)/(1-1/v)` the critical noise level
    (:math:`\varepsilon=1-\bar\alpha`), :math:`\lambda = F'(p^*)`,
    :math:`\nu = \log s/\log\lambda`. Computed with mpmath at 50 digits (bisection on the
    reduced fixed-point polynomial), returned as floats (correctly rounded to double).

    Parameters
    ----------
    v, m, s : int
        As in :func:`mean_field_map`; a transition needs :math:`F'(1)<1` and
        :math:`F'(1/v)<1` (else ``ValueError``).

    Returns
    -------
    dict
        ``p_star``, ``eps_star``, ``slope``, ``nu``, ``slope_at_1``, ``slope_at_1_over_v``.

    Examples
    --------
    >>> c = critical_point(32, 8, 2)
    >>> round(c["p_star"], 12), round(c["eps_star"], 12), round(c["slope"], 6)
    (0.291666666667, 0.731182795699, 1.442248)
    """
    v, m, s = _check_params(v, m, s)
    ps = _p_star_mp(v, m, s)
    c = _compiled(s)
    with mpmath.workdps(_DPS):
        eps_star = (1 - ps) / (1 - mpmath.mpf(1) / v)
        slope = c["dF_mp"](ps, v, m)
        nu = mpmath.log(s) / mpmath.log(slope)
        return {
            "p_star": float(ps),
            "eps_star": float(eps_star),
            "slope": float(slope),
            "nu": float(nu),
            "slope_at_1": float(c["dF_mp"](mpmath.mpf(1), v, m)),
            "slope_at_1_over_v": float(c["dF_mp"](mpmath.mpf(1) / v, v, m)),
        }


def correlation_exponent(v, m, s):
    r"""Correlation-length exponent :math:`\nu = \log s/\log F'(p^*)` of the ε-process mean
    field: blocks of :math:`\xi\sim|\varepsilon-\varepsilon^*|^{-\nu}` leaves change together
    (:math:`\varepsilon = 1-\bar\alpha`). mpmath at 50 digits, returned as a float.

    Examples
    --------
    >>> round(correlation_exponent(32, 8, 2), 6)
    1.892796
    """
    return critical_point(v, m, s)["nu"]


# --------------------------------------------------------------------------------------
# density evolution (masking, uniform)
# --------------------------------------------------------------------------------------
class _Grid:
    """Grid density evolution of the law of y = -log p for fixed (v, m, s)."""

    def __init__(self, v, m, s, n):
        self.v, self.m, self.s, self.n = v, m, s, n
        V = float(v) ** s
        self.alpha = (m - 1) / (V - 1)
        self.beta = (m * v - 1) / (V - 1)
        ymax = math.log(self.beta / self.alpha)  # -log Phi(0), the largest y after level 1
        # spacing with log v on the grid, so that both fixed points (p = 1: j = 0 and
        # p = 1/v: j = k) are grid points and mapped onto themselves exactly
        k = max(1, round(n * math.log(v) / ymax))
        self.h = math.log(v) / k
        n = int(math.ceil(ymax / self.h - 1e-9))
        self.n = n
        self.y = np.arange(n + 1) * self.h
        self.pgrid = np.exp(-self.y)
        # map of a sum index J (y_sum = J h) to the parent's grid position
        J = np.arange(s * n + 1)
        self.j0, self.frac = self._locate(self._neg_log_phi_of_ysum(J * self.h))
        self.nfft = 1 << int(math.ceil(math.log2(s * n + 1)))

    def _neg_log_phi_of_ysum(self, ysum):
        # -log Phi(w), w = exp(-ysum): log1p((beta - alpha) u / (w + alpha u)), u = 1 - w
        w = np.exp(-ysum)
        u = -np.expm1(-ysum)
        return np.log1p((self.beta - self.alpha) * u / (w + self.alpha * u))

    def _locate(self, yp):
        """Split a point at y' between its two grid neighbours, conserving mass and exp(-y)."""
        t = np.clip(yp / self.h, 0.0, self.n)
        j0 = np.minimum(np.floor(t).astype(np.int64), self.n - 1)
        e0, e1 = self.pgrid[j0], self.pgrid[j0 + 1]
        frac = np.clip((e0 - np.exp(-yp)) / (e0 - e1), 0.0, 1.0)
        return j0, frac

    def deposit(self, yp, weights):
        j0, frac = self._locate(np.asarray(yp, dtype=np.float64))
        q = np.bincount(j0, weights=weights * (1 - frac), minlength=self.n + 1)
        q += np.bincount(j0 + 1, weights=weights * frac, minlength=self.n + 1)
        return q[: self.n + 1]

    def step(self, q):
        Q = np.fft.rfft(q, self.nfft)
        c = np.fft.irfft(Q**self.s, self.nfft)[: self.s * self.n + 1]
        c = np.clip(c, 0.0, None)
        out = np.bincount(self.j0, weights=c * (1 - self.frac), minlength=self.n + 1)
        out += np.bincount(self.j0 + 1, weights=c * self.frac, minlength=self.n + 1)
        out = out[: self.n + 1]
        return out / out.sum()

    def mean_p(self, q):
        return float(q @ self.pgrid)


@functools.lru_cache(maxsize=16)
def _grid(v, m, s, n):
    return _Grid(v, m, s, n)


def _level_one(grid, process, eps):
    """Exact level-1 law from the leaf law (all multisets of s leaf kinds), on the grid."""
    probs, masses = _leaf_law(grid.v, process, eps)
    s = grid.s
    ys, ws = [], []
    for combo in itertools.combinations_with_replacement(range(len(probs)), s):
        counts = [combo.count(i) for i in range(len(probs))]
        weight = math.factorial(s)
        ysum = 0.0
        for c, q, x in zip(counts, probs, masses):
            if c:
                weight *= q**c / math.factorial(c)
                ysum -= c * math.log(x) if x > 0 else -math.inf
        if weight == 0.0:
            continue
        ys.append(float(grid._neg_log_phi_of_ysum(np.array(ysum))))
        ws.append(weight)
    return grid.deposit(np.array(ys), np.array(ws))


def density_evolution(v, m, s, L, noise, process="masking", grid=_DEFAULT_GRID):
    r"""Mean true-mass :math:`E[p_l]` at every level of the rule-averaged density evolution.

    The law of the true-mass obeys :math:`p_{l+1}\overset{d}{=}\Phi(\prod_{i=1}^s p_{l,i})`,
    siblings i.i.d., :math:`\Phi(w) = [w+(m-1)a]/[w+(mv-1)a]`, :math:`a=(1-w)/(v^s-1)`; the
    leaf law is that of the process at level :math:`\varepsilon` = ``noise``
    (:math:`1-\bar\alpha`). Level 1 is exact; levels >= 2 are on a grid of ``grid + 1``
    points in :math:`y=-\log p` (error about 1e-6 at the default 4096).

    Parameters
    ----------
    v, m, s, L : int
    noise : float
        :math:`\varepsilon\in[0,1]`.
    process : {"masking", "uniform", "epsilon"}
        ``"epsilon"`` gives (up to the grid error) the iterates of :math:`F`.
    grid : int
        Number of grid intervals.

    Returns
    -------
    ndarray, shape (L+1,)
        :math:`E[p_0], E[p_1], \dots, E[p_L]`.
    """
    v, m, s = _check_params(v, m, s)
    L = check_int("L", L, minimum=0)
    _check_process(process)
    n = check_int("grid", grid, minimum=16)
    eps = float(check_probability("noise", noise))
    if m == 1:
        raise ValueError("density evolution needs m >= 2 (Phi(0) = 0 for m = 1)")
    g = _grid(v, m, s, n)
    probs, masses = _leaf_law(v, process, eps)
    out = [float(probs @ masses)]
    if L >= 1:
        q = _level_one(g, process, eps)
        out.append(g.mean_p(q))
        for _ in range(2, L + 1):
            q = g.step(q)
            out.append(g.mean_p(q))
    return np.array(out)


def _de_phase(v, m, s, process, eps, n, max_levels=3000, tol=1e-10):
    """+1 if the density evolution flows to p = 1, -1 if to p = 1/v (0 if undecided)."""
    g = _grid(v, m, s, n)
    q = _level_one(g, process, eps)
    hi, lo = 1.0 - tol, 1.0 / v + tol
    for _ in range(max_levels):
        mp = g.mean_p(q)
        if mp > hi:
            return 1
        if mp < lo:
            return -1
        q = g.step(q)
    mp = g.mean_p(q)
    return 1 if mp > 0.5 * (1 + 1 / v) else -1


@functools.lru_cache(maxsize=64)  # deterministic; reused by critical_summary and the CLI
def _de_critical(v, m, s, process, n, xtol=1e-9):
    lo, hi = 0.0, 1.0  # ordered at lo, disordered at hi
    while hi - lo > xtol:
        mid = 0.5 * (lo + hi)
        if _de_phase(v, m, s, process, mid, n) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def critical_noise(v, m, s, process="epsilon", grid=_DEFAULT_GRID):
    r"""Critical noise level of the mean field (:math:`\varepsilon=1-\bar\alpha`; the class is
    reconstructed as :math:`L\to\infty` iff :math:`\varepsilon<\varepsilon_c`).

    * ``"epsilon"``: :math:`\varepsilon^* = (1-p^*)/(1-1/v)`, :math:`F(p^*)=p^*`, with mpmath
      at 50 digits: accurate to better than 1e-12 (for s = 2 it equals
      :math:`v(v-2m+1)/((v-1)(v-m))`).
    * ``"masking"``, ``"uniform"``: the threshold of the rule-averaged density evolution
      (:func:`density_evolution`), by bisection to 1e-9 on a grid of ``grid`` intervals;
      accuracy about 1e-6 at the default grid (grid doubling changes v=32, m=8, s=2 by less
      than that). Not 1e-12: there is no closed equation for it.

    Parameters
    ----------
    v, m, s : int
    process : {"epsilon", "masking", "uniform"}
    grid : int
        Grid intervals of the density evolution (ignored for ``"epsilon"``).

    Returns
    -------
    float

    Examples
    --------
    >>> round(critical_noise(32, 8, 2), 12)
    0.731182795699
    >>> round(critical_noise(32, 8, 2, "masking"), 3)
    0.271
    """
    v, m, s = _check_params(v, m, s)
    _check_process(process)
    if process == "epsilon":
        return critical_point(v, m, s)["eps_star"]
    _check_transition(v, m, s)
    n = check_int("grid", grid, minimum=16)
    return _de_critical(v, m, s, process, n)


def closure_critical_noise(v, m, s, process, closure="leaf_resolved"):
    r"""Critical noise of a *one-number* closure for masking or uniform diffusion (to show
    how far off they are; they are not the mean field of these processes).

    ``closure="first_moment"``: :math:`E[p_0] = p^*`; for masking this is the ε-process value.
    ``closure="leaf_resolved"``: :math:`E[\Phi(\prod_i p_{0,i})] = p^*`, then :math:`F`.
    Both over-estimate the density-evolution threshold (:math:`\Phi` concave). Solved by
    bisection in mpmath at 50 digits (monotone in :math:`\varepsilon`); accurate to 1e-12.

    Returns
    -------
    float
    """
    v, m, s = _check_params(v, m, s)
    if process not in ("masking", "uniform"):
        raise ValueError(f"process must be 'masking' or 'uniform', got {process!r}")
    if closure not in ("first_moment", "leaf_resolved"):
        raise ValueError(f"closure must be 'first_moment' or 'leaf_resolved', got {closure!r}")
    ps = _p_star_mp(v, m, s)
    fn = _closure_exprs(s)[(process, closure)]
    with mpmath.workdps(_DPS):
        g = (lambda e: fn(e, v) - ps) if closure == "first_moment" else (lambda e: fn(e, v, m) - ps)
        lo, hi = mpmath.mpf(0), mpmath.mpf(1)
        for _ in range(120):
            mid = (lo + hi) / 2
            if g(mid) > 0:
                lo = mid
            else:
                hi = mid
        return float((lo + hi) / 2)


# --------------------------------------------------------------------------------------
# curves
# --------------------------------------------------------------------------------------
def mean_field_curve(v, m, s, L, noise, process="epsilon", grid=_DEFAULT_GRID):
    r"""Mean-field mass on the true symbol at every level, leaves to root.

    ``"epsilon"``: :math:`p_0 = 1-\varepsilon(1-1/v)`, :math:`p_{l+1} = F(p_l)` (float64,
    lambdified from :mod:`diffphase.theory.rhm`). ``"masking"``/``"uniform"``: the mean
    :math:`E[p_l]` of the density evolution (:func:`density_evolution`; grid error about 1e-6).
    :math:`p_L` is the mean-field probability of keeping the class (root marginal; only
    upward messages, so intermediate levels are upward-message masses, not full marginals).

    Parameters
    ----------
    v, m, s, L : int
        L >= 1 is the depth.
    noise : float or array_like
        :math:`\varepsilon\in[0,1]` (:math:`1-\bar\alpha`), any shape.
    process : {"epsilon", "masking", "uniform"}

    Returns
    -------
    ndarray, shape (L+1,) + np.shape(noise)
        Row ``l`` is level ``l`` (0 = leaves, L = root).

    Examples
    --------
    >>> import numpy as np
    >>> c = mean_field_curve(32, 8, 2, 10, [0.5, 68 / 93, 0.9])
    >>> c.shape
    (11, 3)
    >>> np.round(c[-1], 4)     # ordered, critical (stays at p*), disordered
    array([0.9981, 0.2917, 0.0313])
    """
    v, m, s = _check_params(v, m, s)
    L = check_int("L", L, minimum=1)
    _check_process(process)
    eps = check_probability("noise", noise)
    if process == "epsilon":
        F = _compiled(s)["F"]
        pl = 1.0 - eps * (1.0 - 1.0 / v)
        rows = [pl]
        for _ in range(L):
            pl = np.asarray(F(pl, v, m), dtype=np.float64)
            rows.append(pl)
        return np.stack([np.broadcast_to(r, eps.shape) for r in rows]).astype(np.float64)
    flat = eps.reshape(-1)
    cols = [density_evolution(v, m, s, L, e, process, grid) for e in flat]
    return np.stack(cols, axis=-1).reshape((L + 1,) + eps.shape)


def critical_summary(v, m, s, grid=_DEFAULT_GRID):
    r"""Critical quantities of every noise process, as printed by ``diffphase theory rhm``.

    Noise levels are :math:`\varepsilon = 1-\bar\alpha` with OU time
    :math:`t = -\tfrac12\log(1-\varepsilon)`.

    Returns
    -------
    dict
        ``"epsilon"``: ``p_star``, ``eps_star``, ``t_star``, ``slope``, ``nu`` (mpmath, 1e-12);
        ``"masking"``, ``"uniform"``: ``eps_c`` and ``t_c`` of the density evolution (about
        1e-6), and ``first_moment``, ``leaf_resolved``: the over-estimates of the one-number
        closures.

    Examples
    --------
    >>> out = critical_summary(32, 8, 2)
    >>> round(out["epsilon"]["eps_star"], 10), round(out["uniform"]["eps_c"], 4)
    (0.7311827957, 0.1621)
    """
    v, m, s = _check_params(v, m, s)
    c = critical_point(v, m, s)
    out = {"epsilon": {"p_star": c["p_star"], "eps_star": c["eps_star"],
                       "t_star": time_from_noise_level(c["eps_star"]), "slope": c["slope"], "nu": c["nu"]}}
    for proc in ("masking", "uniform"):
        ec = critical_noise(v, m, s, proc, grid=grid)
        out[proc] = {
            "eps_c": ec,
            "t_c": time_from_noise_level(ec),
            "first_moment": closure_critical_noise(v, m, s, proc, "first_moment"),
            "leaf_resolved": closure_critical_noise(v, m, s, proc, "leaf_resolved"),
        }
    return out
