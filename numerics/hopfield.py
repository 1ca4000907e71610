r"""Critical loads of associative memories, numerically, and their finite-size references.

The formulas are derived in :mod:`diffphase.theory.hopfield`.

Classical Hopfield model (Amit, Gutfreund & Sompolinsky, *Phys. Rev. Lett.* 55, 1530 (1985);
*Ann. Phys.* 173, 30 (1987)), :math:`P = \alpha N` random :math:`\pm1` patterns:

* :func:`hopfield_capacity` — the replica-symmetric (RS) capacity :math:`\alpha_c(T)`, the
  largest load with a retrieval solution; :math:`\alpha_c(0) = 0.1379055665` (literature
  :math:`\approx 0.138`, AGS 1985/1987) from the :math:`T=0` condition solved with mpmath at
  30 digits; at :math:`T>0` by quadrature and maximisation, absolute error :math:`\le10^{-9}`;
* :func:`rs_retrieval` — the retrieval solution :math:`(m, q, r)` at given load and temperature;
* :func:`retrieval_temperature` — the retrieval phase boundary :math:`T_M(\alpha)`;
* :func:`spin_glass_temperature` — :math:`T_g = 1+\sqrt\alpha`;
* :func:`rs_free_energy`, :func:`spin_glass_solution`, :func:`thermodynamic_capacity`,
  :func:`thermodynamic_temperature` — the RS free energies of the retrieval and spin-glass
  states and the line :math:`T_c(\alpha)` below which retrieval states are the global minima
  (:math:`\alpha = 0.05185` at :math:`T=0`; AGS: :math:`\approx0.05`);
* :func:`simulate_retrieval` — the finite-size reference: zero-temperature asynchronous
  dynamics started at each stored pattern; :func:`retrieval_transition` — the load at which
  half of the patterns are retrieved, and its extrapolation in :math:`d`.

Dense associative memory :math:`E(x) = -\beta^{-1}\log\sum_\mu e^{-\beta|x-\xi^\mu|^2/2}`,
:math:`P = e^{\alpha N}` (Lucibello & Mézard, *Phys. Rev. Lett.* 132, 077301 (2024)):

* :func:`dense_memory_capacity` — REM retrieval threshold :math:`\alpha_1(\beta)` for spherical
  or Gaussian patterns (closed forms, double precision);
* :func:`dense_memory_threshold` — the same condition at finite :math:`N` (annealed REM, by
  quadrature): the exact reference of :func:`simulate_dense_retrieval`, the log-sum-exp update
  :math:`x\leftarrow\sum_\mu\operatorname{softmax}_\mu(-\beta|x-\xi^\mu|^2/2)\,\xi^\mu`.

The diffusion reading: the empirical score at OU time :math:`t`
(:math:`x_t = e^{-t}x_0+\sqrt{\Delta_t}z`) is this dense memory at
:func:`effective_inverse_temperature` :math:`\beta_t = e^{-2t}/\Delta_t`; :func:`memory_load`
(clean query) and :func:`collapse_load` (noised query, equal to
:func:`diffphase.numerics.gaussian_mixture.critical_load`) are its two critical loads.

Examples
--------
>>> from diffphase.numerics import hopfield
>>> round(hopfield.hopfield_capacity(), 6)
0.137906
>>> round(hopfield.dense_memory_capacity(1.0, "gaussian"), 6)     # ½log 2 + ¼
0.596574
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import mpmath as mp
import numpy as np
from scipy import integrate, optimize

from . import conventions as cv
from .checks import check_array, check_int, check_real, check_times

__all__ = [
    "hopfield_capacity",
    "RSSolution",
    "rs_retrieval",
    "retrieval_temperature",
    "spin_glass_temperature",
    "rs_free_energy",
    "spin_glass_solution",
    "thermodynamic_capacity",
    "thermodynamic_temperature",
    "RetrievalResult",
    "simulate_retrieval",
    "RetrievalTransition",
    "retrieval_transition",
    "dense_memory_capacity",
    "dense_memory_threshold",
    "DenseRetrievalResult",
    "simulate_dense_retrieval",
    "effective_inverse_temperature",
    "memory_load",
    "collapse_load",
]

_SQ2 = math.sqrt(2.0)
_SQ2PI = math.sqrt(2.0 * math.pi)
_U_MAX = 40.0  # |u| beyond which sech^2 u and 1 - tanh|u| are < 1e-34


def _check_temperature(temperature) -> float:
    return check_real("temperature", temperature, low=0.0)


# ----------------------------------------------------------------------------------------
# T = 0: alpha(y) = (erf y/(sqrt2 y) - sqrt(2/pi) e^{-y^2})^2, maximised over y
# ----------------------------------------------------------------------------------------
def _sqrt_alpha_y(yy):
    return mp.erf(yy) / (mp.sqrt(2) * yy) - mp.sqrt(2 / mp.pi) * mp.exp(-yy * yy)


def _capacity_zero_temperature(dps: int = 30):
    """(alpha_c, y_c) from d sqrt(alpha)/dy = 0, i.e. 2y^3 + y = (sqrt(pi)/2) e^{y^2} erf y."""
    with mp.workdps(dps):
        cond = lambda yy: 2 * yy**3 + yy - mp.sqrt(mp.pi) / 2 * mp.exp(yy * yy) * mp.erf(yy)  # noqa: E731
        yc = mp.findroot(cond, mp.mpf("1.5"))
        return _sqrt_alpha_y(yc) ** 2, yc


# ----------------------------------------------------------------------------------------
# T > 0: Gaussian averages in the variable u = beta h, h = m + s z
# ----------------------------------------------------------------------------------------
def _u_points(beta, m, s):
    c, w = beta * m, beta * s
    pts = {0.0, c} | {c + k * w for k in (-8, -4, -2, -1, 1, 2, 4, 8)}
    return sorted(p for p in pts if -_U_MAX < p < _U_MAX)


def _quad_u(fun, beta, m, s):
    """∫_{-U}^{U} fun(u) N(u; βm, (βs)²) du with break points at the features."""
    c, w = beta * m, beta * s

    def integrand(u):
        return fun(u) * math.exp(-0.5 * ((u - c) / w) ** 2) / (w * _SQ2PI)

    with warnings.catch_warnings():  # roundoff warnings when the value is ~1e-15: harmless
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, _ = integrate.quad(integrand, -_U_MAX, _U_MAX, points=_u_points(beta, m, s), limit=400,
                                epsabs=1e-15, epsrel=1e-13)
    return val


def _sign_minus_tanh(u):
    e = math.exp(-2.0 * abs(u))
    return math.copysign(2.0 * e / (1.0 + e), u)


def _sech2(u):
    e = math.exp(-2.0 * abs(u))
    return 4.0 * e / (1.0 + e) ** 2


def _mean_tanh(m, s, beta):
    r""":math:`\langle\tanh\beta(m+sz)\rangle = \operatorname{erf}(m/\sqrt2 s) -
    \langle\operatorname{sign} - \tanh\rangle` (the correction is localised at :math:`|u|\lesssim20`)."""
    base = math.erf(m / (_SQ2 * s))
    if math.isinf(beta):
        return base
    return base - _quad_u(_sign_minus_tanh, beta, m, s)


def _C(m, s, beta):
    r""":math:`C = \beta(1-q) = \beta\langle\cosh^{-2}\beta(m+sz)\rangle`."""
    if math.isinf(beta):
        return math.sqrt(2.0 / math.pi) * math.exp(-0.5 * (m / s) ** 2) / s
    return beta * _quad_u(_sech2, beta, m, s)


def _m_root(s, beta):
    """Positive root of m = <tanh β(m + s z)> (unique: the average is concave in m > 0), or 0."""
    if _C(0.0, s, beta) <= 1.0:
        return 0.0
    fun = lambda mm: _mean_tanh(mm, s, beta) - mm  # noqa: E731
    lo = 1e-12
    if fun(lo) <= 0:
        return 0.0
    return optimize.brentq(fun, lo, 1.0, xtol=1e-15, rtol=1e-15)


def _branch(s, beta):
    """(m, q, C, sqrt(alpha)) on the retrieval branch at field width s."""
    mm = _m_root(s, beta)
    C = _C(mm, s, beta)
    qq = 1.0 if math.isinf(beta) else 1.0 - C / beta
    return mm, qq, C, s * (1.0 - C) / math.sqrt(qq)


def _s_max(beta):
    """Width s beyond which m = 0 is the only solution: β<sech²(βsz)> = 1."""
    if math.isinf(beta):
        return math.sqrt(2.0 / math.pi)
    g = lambda s: _C(0.0, s, beta) - 1.0  # noqa: E731
    hi = 1.0
    while g(hi) > 0:
        hi *= 2.0
    return optimize.brentq(g, 1e-9, hi, xtol=1e-14)


@dataclass(frozen=True)
class RSSolution:
    r"""Replica-symmetric retrieval solution of the Hopfield model.

    Attributes
    ----------
    m : float
        Overlap with the retrieved pattern.
    q : float
        Edwards--Anderson order parameter (1 at :math:`T=0`).
    r : float
        Noise parameter :math:`q/(1-\beta(1-q))^2`.
    C : float
        :math:`\beta(1-q)` (finite at :math:`T=0`).
    alpha : float
        Load.
    temperature : float
    """

    m: float
    q: float
    r: float
    C: float
    alpha: float
    temperature: float


def _capacity_search(beta):
    smax = _s_max(beta)
    neg = lambda s: -_branch(s, beta)[3]  # noqa: E731
    res = optimize.minimize_scalar(neg, bounds=(1e-3 * smax, smax), method="bounded",
                                   options={"xatol": 1e-11 * smax})
    return res.x, -res.fun


def hopfield_capacity(temperature=0.0) -> float:
    r"""Replica-symmetric capacity :math:`\alpha_c(T)` of the Hopfield model (AGS).

    The largest load :math:`\alpha = P/N` at which the RS equations

    .. math:: m = \langle\tanh\beta h\rangle,\quad q = \langle\tanh^2\beta h\rangle,\quad
              r = \frac{q}{(1-\beta(1-q))^2},\quad h = m+\sqrt{\alpha r}\,z

    have a retrieval solution :math:`m > 0` (the line :math:`T_M` of AGS 1987). With
    :math:`s=\sqrt{\alpha r}` the overlap equation fixes :math:`m(s)` and
    :math:`\sqrt\alpha = s(1-C)/\sqrt q`, :math:`C = \beta(1-q)`; :math:`\alpha_c` is its maximum over
    :math:`s`. Averages by adaptive quadrature in :math:`u = \beta h` (break points at the
    features), :math:`m(s)` by Brent's method, the maximum by bounded Brent search: absolute
    error :math:`\le10^{-9}` for :math:`T \ge 10^{-3}`. At :math:`T=0`
    (:math:`\alpha(y) = (\operatorname{erf}y/\sqrt2y-\sqrt{2/\pi}e^{-y^2})^2`) the condition
    :math:`d\alpha/dy=0` is solved with mpmath at 30 digits:
    :math:`\alpha_c(0) = 0.13790557` (AGS: :math:`\approx0.138`). The RS line is slightly
    re-entrant at low :math:`T` (:math:`\alpha_c(0.01)\approx0.13810`), a known artefact of
    replica symmetry. Returns 0 for :math:`T\ge1`.

    Parameters
    ----------
    temperature : float
        :math:`T = 1/\beta \ge 0`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(hopfield_capacity(0.0), 8)
    0.13790557
    >>> hopfield_capacity(1.2)
    0.0
    """
    T = _check_temperature(temperature)
    if T == 0.0:
        return float(_capacity_zero_temperature()[0])
    if T >= 1.0:
        return 0.0
    return float(_capacity_search(1.0 / T)[1] ** 2)


def rs_retrieval(alpha, temperature=0.0) -> RSSolution:
    r"""The RS retrieval solution :math:`(m, q, r)` of the Hopfield model at load ``alpha`` and
    temperature ``temperature`` (the branch continued from :math:`\alpha = 0`).

    Solved on the parametrisation of :func:`hopfield_capacity`: the width :math:`s` with
    :math:`\sqrt{\alpha(s)} = \sqrt\alpha` on the rising part of the branch, by Brent's method
    (relative error :math:`\sim10^{-12}`).

    Raises
    ------
    ValueError
        If ``alpha`` is not in ``[0, hopfield_capacity(temperature)]``.

    Examples
    --------
    >>> sol = rs_retrieval(0.1)
    >>> round(sol.m, 4)     # the T = 0 retrieval overlap at alpha = 0.1
    0.998
    """
    T = _check_temperature(temperature)
    beta = math.inf if T == 0.0 else 1.0 / T
    a = check_real("alpha", alpha, low=0.0)
    if T >= 1.0:
        raise ValueError(f"temperature must be < 1 for a retrieval solution, got {T}")
    if a == 0.0:
        mm = _m_root(1e-12, beta) if not math.isinf(beta) else 1.0
        qq = 1.0 if math.isinf(beta) else _mean_tanh(mm, 1e-12, beta) ** 2
        return RSSolution(mm, qq, qq, 0.0, 0.0, T)
    s_star, root_max = _capacity_search(beta)
    if a > root_max**2:
        raise ValueError(f"alpha must be <= the capacity {root_max ** 2:.10g} at temperature {T}, got {a}")
    g = lambda s: _branch(s, beta)[3] - math.sqrt(a)  # noqa: E731
    s = optimize.brentq(g, 1e-4 * s_star, s_star, xtol=1e-15)
    mm, qq, C, _ = _branch(s, beta)
    return RSSolution(mm, qq, qq / (1.0 - C) ** 2, C, a, T)


def retrieval_temperature(alpha) -> float:
    r"""The retrieval phase boundary :math:`T_M(\alpha)`: the temperature above which the RS
    equations have no retrieval solution at load ``alpha`` (root in :math:`T` of
    :math:`\alpha_c(T) = \alpha`, Brent's method, absolute error :math:`\le10^{-8}`).

    Near :math:`\alpha = 0`, :math:`T_M \simeq 1 - 1.95\sqrt\alpha` (AGS 1987).

    Parameters
    ----------
    alpha : float
        Load in :math:`(0, \alpha_c(0)]`.

    Examples
    --------
    >>> round(retrieval_temperature(0.05), 4)
    0.5423
    """
    ac0 = hopfield_capacity(0.0)
    a = check_real("alpha", alpha, low=0.0, low_open=True, high=ac0)
    f = lambda T: (hopfield_capacity(T) if T > 0 else ac0) - a  # noqa: E731
    return optimize.brentq(f, 1e-3 if a < ac0 else 0.0, 1.0, xtol=1e-9)


def spin_glass_temperature(alpha):
    r"""AGS spin-glass temperature :math:`T_g = 1 + \sqrt\alpha` (``alpha >= 0``)."""
    a = check_array("alpha", alpha)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("alpha must be finite and >= 0")
    out = 1.0 + np.sqrt(a)
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------------------
# free energies: the thermodynamic line T_c(alpha)
# ----------------------------------------------------------------------------------------
def _mean_abs(m, s):
    r""":math:`\langle|m+sz|\rangle = s\sqrt{2/\pi}\,e^{-m^2/2s^2} + m\operatorname{erf}(m/\sqrt2 s)`."""
    return s * math.sqrt(2.0 / math.pi) * math.exp(-0.5 * (m / s) ** 2) + m * math.erf(m / (_SQ2 * s))


def _log1p_exp_term(u):
    return math.log1p(math.exp(-2.0 * abs(u)))


def rs_free_energy(m, q, r, alpha, temperature=0.0) -> float:
    r"""AGS replica-symmetric free energy per neuron at the point :math:`(m, q, r)`.

    .. math:: f = \frac\alpha2 + \frac{m^2}2 + \frac{\alpha\beta r}{2}(1-q)
              + \frac{\alpha}{2\beta}\Big[\log(1-C) - \frac{\beta q}{1-C}\Big]
              - \frac1\beta\big\langle\log 2\cosh\beta(m+\sqrt{\alpha r}\,z)\big\rangle,
              \qquad C = \beta(1-q),

    (:func:`diffphase.theory.hopfield.rs_free_energy`), with
    :math:`\beta^{-1}\log2\cosh\beta h = |h| + \beta^{-1}\log(1+e^{-2\beta|h|})`: the first part
    in closed form, the second by quadrature (absolute error ~1e-13). At ``temperature=0``
    the limit :math:`q\to1` at fixed :math:`C` is taken (``q`` is ignored and ``r`` must be
    :math:`(1-C)^{-2}`; pass ``C`` through ``q`` as ``q = 1 - C/β`` is meaningless, so the
    :math:`T=0` form takes ``C`` as the argument ``q``):

    .. math:: E = \frac\alpha2 + \frac{m^2}2 + \frac{\alpha C}{2(1-C)^2} - \frac{\alpha}{2(1-C)}
              - \langle|m+\sqrt{\alpha r}\,z|\rangle .

    Parameters
    ----------
    m : float
        Overlap with the condensed pattern, in [0, 1].
    q : float
        Edwards--Anderson parameter in [0, 1] (at ``temperature=0``: the finite
        :math:`C=\beta(1-q)` in [0, 1)).
    r : float
        Noise parameter (> 0).
    alpha : float
        Load (> 0).
    temperature : float
        :math:`T = 1/\beta \ge 0`.

    Returns
    -------
    float
        Free energy per neuron (energy per neuron at :math:`T=0`), in units where a perfectly
        retrieved pattern at :math:`\alpha\to0` has :math:`-1/2`.

    Examples
    --------
    >>> round(rs_free_energy(1.0, 0.0, 1.0, 1e-12), 6)    # one pattern, T = 0
    -0.5
    """
    T = _check_temperature(temperature)
    mm = check_real("m", m, low=0.0, high=1.0)
    qq = check_real("q", q, low=0.0, high=1.0, high_open=(T == 0.0))
    rr = check_real("r", r, low=0.0, low_open=True)
    a = check_real("alpha", alpha, low=0.0, low_open=True)
    s = math.sqrt(a * rr)
    if T == 0.0:
        C = qq
        return a / 2 + mm * mm / 2 + a * C / (2 * (1 - C) ** 2) - a / (2 * (1 - C)) - _mean_abs(mm, s)
    beta = 1.0 / T
    C = beta * (1.0 - qq)
    if C >= 1.0:
        raise ValueError(f"q must satisfy beta (1 - q) < 1, got q={qq} at temperature {T}")
    logcosh = _mean_abs(mm, s) + _quad_u(_log1p_exp_term, beta, mm, s) / beta
    return (a / 2 + mm * mm / 2 + a * beta * rr * (1 - qq) / 2
            + a / (2 * beta) * (math.log1p(-C) - beta * qq / (1 - C)) - logcosh)


def spin_glass_solution(alpha, temperature=0.0) -> RSSolution:
    r"""The RS spin-glass solution (:math:`m=0`, :math:`q>0`) of the Hopfield model.

    :math:`q = \langle\tanh^2\beta\sqrt{\alpha r}z\rangle`, :math:`r = q/(1-C)^2`. With
    :math:`s = \sqrt{\alpha r}` the second equation reads :math:`\sqrt\alpha = s(1-C(s))/\sqrt{q(s)}`,
    solved for ``s`` by Brent's method (relative error ~1e-12). At :math:`T=0` in closed form:
    :math:`C = \sqrt{2/\pi}/(\sqrt\alpha+\sqrt{2/\pi})`, :math:`s = \sqrt\alpha+\sqrt{2/\pi}`,
    energy :math:`-\sqrt{2\alpha/\pi} - 1/\pi`.

    Parameters
    ----------
    alpha : float
        Load (> 0).
    temperature : float
        :math:`0 \le T < T_g = 1+\sqrt\alpha` (above :math:`T_g` only the paramagnet exists).

    Examples
    --------
    >>> sg = spin_glass_solution(0.05)
    >>> round(rs_free_energy(0.0, sg.C, sg.r, 0.05), 6)    # = -sqrt(2 alpha/pi) - 1/pi
    -0.496722
    """
    T = _check_temperature(temperature)
    a = check_real("alpha", alpha, low=0.0, low_open=True)
    Tg = 1.0 + math.sqrt(a)
    if T >= Tg:
        raise ValueError(f"temperature must be < T_g = 1 + sqrt(alpha) = {Tg:.6g} for a spin-glass solution, got {T}")
    k = math.sqrt(2.0 / math.pi)
    if T == 0.0:
        C = k / (math.sqrt(a) + k)
        return RSSolution(0.0, 1.0, 1.0 / (1.0 - C) ** 2, C, a, 0.0)
    beta = 1.0 / T

    def sqrt_alpha(s):
        C = _C(0.0, s, beta)
        qq = 1.0 - C / beta
        return s * (1.0 - C) / math.sqrt(qq)

    # C(s) decreases from beta (s -> 0) to 0; the branch needs C(s) < 1
    lo = 1e-9
    if _C(0.0, lo, beta) >= 1.0:
        hi = 1.0
        while _C(0.0, hi, beta) >= 1.0:
            hi *= 2.0
        lo = optimize.brentq(lambda s: _C(0.0, s, beta) - 1.0, lo, hi, xtol=1e-15) * (1.0 + 1e-9)
    hi = max(2.0 * lo, 1.0)
    while sqrt_alpha(hi) < math.sqrt(a):
        hi *= 2.0
    s = optimize.brentq(lambda s: sqrt_alpha(s) - math.sqrt(a), lo, hi, xtol=1e-15)
    C = _C(0.0, s, beta)
    qq = 1.0 - C / beta
    return RSSolution(0.0, qq, qq / (1.0 - C) ** 2, C, a, T)


def _free_energy_gap(alpha, temperature):
    """f_retrieval - f_spin-glass (negative: retrieval states are the global minima)."""
    ret = rs_retrieval(alpha, temperature)
    sg = spin_glass_solution(alpha, temperature)
    if temperature == 0.0:
        return rs_free_energy(ret.m, ret.C, ret.r, alpha) - rs_free_energy(0.0, sg.C, sg.r, alpha)
    return (rs_free_energy(ret.m, ret.q, ret.r, alpha, temperature)
            - rs_free_energy(0.0, sg.q, sg.r, alpha, temperature))


def thermodynamic_capacity() -> float:
    r"""Largest load at which the retrieval states are the global minima at :math:`T=0`.

    Root of :math:`E_\text{ret}(\alpha) = E_\text{SG}(\alpha)` with the :math:`T=0` energies of
    :func:`rs_free_energy` at :func:`rs_retrieval` and :func:`spin_glass_solution`
    (:math:`E_\text{SG} = -\sqrt{2\alpha/\pi}-1/\pi`), Brent's method, absolute error ~1e-12:
    :math:`\alpha = 0.05185`. Amit, Gutfreund & Sompolinsky (PRL 55, 1530 (1985)) quote
    :math:`\approx 0.05`; between it and :func:`hopfield_capacity` the retrieval states are
    only metastable.

    Examples
    --------
    >>> round(thermodynamic_capacity(), 5)
    0.05185
    """
    return optimize.brentq(lambda a: _free_energy_gap(a, 0.0), 0.01, 0.13, xtol=1e-14)


def thermodynamic_temperature(alpha) -> float:
    r"""The line :math:`T_c(\alpha)` of AGS: below it the retrieval states have a lower RS free
    energy than the spin-glass state (global minima); between :math:`T_c` and
    :func:`retrieval_temperature` :math:`T_M` they are metastable.

    Root in :math:`T\in(10^{-3}, T_M)` of :math:`f_\text{ret}(\alpha,T) = f_\text{SG}(\alpha,T)`
    (:func:`rs_free_energy` at :func:`rs_retrieval` and :func:`spin_glass_solution`), Brent's
    method, absolute error :math:`\le10^{-7}`; :math:`T_c(\alpha)\to1` as :math:`\alpha\to0`.

    The RS line is re-entrant at low temperature, like :math:`T_M` (an artefact of replica
    symmetry): the free-energy gap at fixed :math:`\alpha` is smallest near :math:`T\approx0.1`,
    so for :func:`thermodynamic_capacity` :math:`=0.05185 < \alpha \lesssim 0.053` the retrieval
    states are global minima only in a window of temperatures around 0.1, and at
    :math:`\alpha` just below 0.05185 the line has a second, lower branch near :math:`T = 0`.
    This function returns the upper branch (the line continued from :math:`T_c(0) = 1`); it
    ends at :math:`T_c\approx0.16` at :math:`\alpha = 0.05185`.

    Parameters
    ----------
    alpha : float
        Load in :math:`(0, \alpha_\text{th}]`, :math:`\alpha_\text{th}` =
        :func:`thermodynamic_capacity`.

    Examples
    --------
    >>> T = thermodynamic_temperature(0.02)
    >>> 0 < T < retrieval_temperature(0.02)
    True
    """
    a_th = thermodynamic_capacity()
    a = check_real("alpha", alpha, low=0.0, low_open=True, high=a_th)
    hi = retrieval_temperature(a) * (1.0 - 1e-6)
    return optimize.brentq(lambda T: _free_energy_gap(a, T), 1e-3, hi, xtol=1e-8)


# ----------------------------------------------------------------------------------------
# finite-size reference: zero-temperature dynamics
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetrievalResult:
    r"""Zero-temperature retrieval of stored patterns at size ``d`` and load ``alpha``.

    Attributes
    ----------
    d, n_patterns : int
        Neurons and stored patterns per network (:math:`P = \mathrm{round}(\alpha d)`).
    alpha : float
        :math:`P/d`.
    overlaps : ndarray
        Final overlap :math:`m = \xi\cdot S/d` of each run started at a stored pattern.
    fraction : float
        Fraction of runs with ``overlap >= threshold``.
    stderr : float
        Binomial standard error of ``fraction``.
    threshold : float
    converged : bool
        Whether every run reached a fixed point.
    """

    d: int
    n_patterns: int
    alpha: float
    overlaps: np.ndarray
    fraction: float
    stderr: float
    threshold: float
    converged: bool


def _zero_temperature_dynamics(xi, S, rng, max_sweeps):
    """Asynchronous T = 0 dynamics of B states S (d, B) with Hebbian couplings from xi (P, d),
    J_ii = 0, random sequential order per sweep. Returns (S, converged)."""
    P, d = xi.shape
    M = xi @ S / d  # (P, B) overlaps
    alpha = P / d
    for _ in range(max_sweeps):
        changed = False
        for i in rng.permutation(d):
            col = xi[:, i]
            h = col @ M - alpha * S[i]  # local field without self-coupling
            new = np.where(h > 0, 1.0, np.where(h < 0, -1.0, S[i]))
            flip = new != S[i]
            if flip.any():
                changed = True
                M[:, flip] += np.outer(col, new[flip] - S[i, flip]) / d
                S[i, flip] = new[flip]
        if not changed:
            return S, True
    return S, False


def simulate_retrieval(d, alpha, n_networks=1, seed=None, *, threshold=0.8, max_sweeps=100,
                       starts_per_network=None) -> RetrievalResult:
    r"""Zero-temperature retrieval in Hopfield networks of ``d`` neurons (finite-size reference).

    Each of ``n_networks`` networks stores :math:`P = \mathrm{round}(\alpha d)` random
    :math:`\pm1` patterns with Hebbian couplings :math:`J_{ij} = d^{-1}\sum_\mu\xi_i^\mu\xi_j^\mu`,
    :math:`J_{ii}=0`. The state starts at a stored pattern and follows asynchronous
    zero-temperature dynamics :math:`S_i\leftarrow\operatorname{sign}\sum_jJ_{ij}S_j` (random
    order each sweep) until no spin flips; a pattern counts as retrieved if the final overlap
    :math:`m=\xi\cdot S/d` is at least ``threshold``. Below :math:`\alpha_c` the final overlap is
    :math:`\approx m_{RS}(\alpha) > 0.96`; above it the state drifts to :math:`m\lesssim0.5`, so
    any threshold in :math:`[0.7, 0.9]` gives the same transition up to :math:`O(d^{-1/2})`.

    Cost: :math:`O(d\,P\,B)` per sweep, :math:`B` runs in parallel (``starts_per_network``,
    default all :math:`P` patterns).

    Parameters
    ----------
    d : int
        Neurons, ``>= 10``.
    alpha : float
        Load in ``(0, 1]``.
    n_networks : int
        Independent networks (pattern sets), ``>= 1``.
    seed : int or numpy.random.Generator, optional
    threshold : float
        Retrieval threshold on the final overlap, in ``(0, 1)``.
    max_sweeps : int
        Sweeps before giving up (``converged`` is then ``False``).
    starts_per_network : int, optional
        Patterns started from per network (``<= P``).

    Returns
    -------
    RetrievalResult

    Examples
    --------
    >>> res = simulate_retrieval(200, 0.05, seed=0)
    >>> res.fraction, res.converged
    (1.0, True)
    """
    d = check_int("d", d, minimum=10)
    a = check_real("alpha", alpha, low=0.0, low_open=True, high=1.0)
    n_networks = check_int("n_networks", n_networks, minimum=1)
    threshold = check_real("threshold", threshold, low=0.0, high=1.0, low_open=True, high_open=True)
    max_sweeps = check_int("max_sweeps", max_sweeps, minimum=1)
    P = max(1, int(round(a * d)))
    B = P if starts_per_network is None else check_int("starts_per_network", starts_per_network,
                                                       minimum=1, maximum=P)
    rng = np.random.default_rng(seed)
    overlaps = []
    converged = True
    for _ in range(n_networks):
        xi = rng.choice(np.array([-1.0, 1.0]), size=(P, d))
        idx = np.arange(B)
        S = xi[idx].T.copy()  # (d, B)
        S, ok = _zero_temperature_dynamics(xi, S, rng, max_sweeps)
        converged &= ok
        overlaps.append(np.einsum("bi,ib->b", xi[idx], S) / d)
    ov = np.concatenate(overlaps)
    frac = float(np.mean(ov >= threshold))
    se = math.sqrt(max(frac * (1 - frac), 0.0) / ov.size)
    return RetrievalResult(d, P, P / d, ov, frac, se, threshold, bool(converged))


@dataclass(frozen=True)
class RetrievalTransition:
    r"""Finite-size retrieval transitions and their extrapolation.

    Attributes
    ----------
    d : ndarray
        Sizes.
    alpha_half : ndarray
        Load at which half of the patterns are retrieved, per size.
    stderr : ndarray
        Standard errors of ``alpha_half`` (delta method on the fitted logistic curve).
    alpha_inf : float
        Weighted least-squares extrapolation :math:`\alpha_{1/2}(d) = \alpha_\infty + b\,d^{-1/2}`.
    alpha_inf_stderr : float
    """

    d: np.ndarray
    alpha_half: np.ndarray
    stderr: np.ndarray
    alpha_inf: float
    alpha_inf_stderr: float


def _logistic_half(alphas, counts, totals):
    """Maximum-likelihood logistic fit p(α) = 1/(1 + exp((α - a0)/w)); returns (a0, se(a0))."""
    alphas = np.asarray(alphas, float)
    k = np.asarray(counts, float)
    n = np.asarray(totals, float)

    def nll(par):
        a0, logw = par
        z = (alphas - a0) / math.exp(logw)
        logp = -np.logaddexp(0.0, z)
        log1mp = -np.logaddexp(0.0, -z)
        return -np.sum(k * logp + (n - k) * log1mp)

    frac = k / n
    a_guess = float(np.interp(0.5, frac[::-1], alphas[::-1])) if frac[0] > 0.5 > frac[-1] else float(np.mean(alphas))
    res = optimize.minimize(nll, [a_guess, math.log(0.01)], method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000})
    # observed information by finite differences
    h = np.array([1e-4, 1e-3])
    H = np.zeros((2, 2))
    x0 = res.x
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            H[i, j] = (nll(x0 + ei + ej) - nll(x0 + ei - ej) - nll(x0 - ei + ej) + nll(x0 - ei - ej)) / (4 * h[i] * h[j])
    try:
        cov = np.linalg.inv(H)
        se = math.sqrt(max(cov[0, 0], 0.0))
    except np.linalg.LinAlgError:
        se = math.inf
    return float(res.x[0]), se


def retrieval_transition(ds, alphas, n_starts=600, seed=0, *, threshold=0.8) -> RetrievalTransition:
    r"""Half-retrieval loads :math:`\alpha_{1/2}(d)` from :func:`simulate_retrieval` and their
    extrapolation to :math:`d\to\infty`.

    For each size, about ``n_starts`` runs per load (as many networks as needed) give retrieved
    counts; a maximum-likelihood logistic curve in :math:`\alpha` gives :math:`\alpha_{1/2}(d)`
    and its standard error; a weighted fit :math:`\alpha_{1/2}(d) = \alpha_\infty + b/\sqrt d`
    extrapolates (with one size, :math:`\alpha_\infty = \alpha_{1/2}`).

    Parameters
    ----------
    ds : sequence of int
        Sizes.
    alphas : sequence of float
        Loads bracketing the transition.
    n_starts : int
        Runs per (size, load).
    seed : int
    threshold : float
        As in :func:`simulate_retrieval`.
    """
    ds = [check_int("d", v, minimum=10) for v in np.atleast_1d(ds)]
    alphas = np.sort(check_array("alphas", alphas))
    if alphas.size < 3:
        raise ValueError(f"alphas must hold at least 3 loads, got {alphas.size}")
    n_starts = check_int("n_starts", n_starts, minimum=10)
    rng = np.random.default_rng(seed)
    half, ses = [], []
    for d in ds:
        counts, totals = [], []
        for a in alphas:
            P = max(1, int(round(a * d)))
            nets = max(1, math.ceil(n_starts / P))
            res = simulate_retrieval(d, a, nets, rng, threshold=threshold)
            counts.append(int(np.sum(res.overlaps >= threshold)))
            totals.append(res.overlaps.size)
        a0, se = _logistic_half(alphas, counts, totals)
        half.append(a0)
        ses.append(se)
    half, ses = np.array(half), np.array(ses)
    if len(ds) == 1:
        return RetrievalTransition(np.array(ds), half, ses, float(half[0]), float(ses[0]))
    X = np.stack([np.ones(len(ds)), 1.0 / np.sqrt(ds)], axis=1)
    W = np.diag(1.0 / np.maximum(ses, 1e-12) ** 2)
    cov = np.linalg.inv(X.T @ W @ X)
    coef = cov @ X.T @ W @ half
    return RetrievalTransition(np.array(ds), half, ses, float(coef[0]), float(math.sqrt(cov[0, 0])))


# ----------------------------------------------------------------------------------------
# dense associative memory
# ----------------------------------------------------------------------------------------
_PATTERNS = ("spherical", "gaussian")
_ENERGIES = ("distance", "dot")


def _check_patterns(patterns, energy):
    if patterns not in _PATTERNS:
        raise ValueError(f"patterns must be one of {_PATTERNS}, got {patterns!r}")
    if energy not in _ENERGIES:
        raise ValueError(f"energy must be one of {_ENERGIES}, got {energy!r}")


def _alpha1_spherical(b):
    q0 = 2.0 * b / (1.0 + np.sqrt(1.0 + 4.0 * b * b))  # (sqrt(1+4b^2) - 1)/(2b), cancellation-free
    return b * (1.0 - q0) - 0.5 * np.log1p(-q0 * q0)


def dense_memory_capacity(beta, patterns="spherical", *, energy="distance", sigma=1.0):
    r"""Retrieval threshold :math:`\alpha_1(\beta)` of a typical pattern in the dense memory
    with :math:`P = e^{\alpha N}` patterns (REM argument of Lucibello & Mézard 2024; formulas
    derived in :mod:`diffphase.theory.hopfield`).

    The memory retrieves :math:`\xi^1` from :math:`x=\xi^1` iff :math:`\alpha < \alpha_1`:

    * ``"spherical"`` (:math:`|\xi|^2 = N`; both energies coincide):
      :math:`\alpha_1 = \beta(1-q_0) - \tfrac12\log(1-q_0^2)`,
      :math:`q_0 = (\sqrt{1+4\beta^2}-1)/2\beta`;
    * ``"gaussian"``, ``energy="distance"`` (:math:`-\beta|x-\xi|^2/2`, the diffusion form;
      :math:`\xi\sim\mathcal N(0,\sigma^2I)`):
      :math:`\alpha_1 = \tfrac12\log(1+\beta\sigma^2) + \beta\sigma^2/2(1+\beta\sigma^2)`;
    * ``"gaussian"``, ``energy="dot"`` (:math:`\beta x\cdot\xi`, :math:`\sigma = 1`):
      :math:`\alpha_1 = \beta-\beta^2/2` for :math:`\beta<1`, :math:`\tfrac12` beyond (REM
      condensed).

    Closed forms in double precision (relative error :math:`\sim10^{-15}`).

    Parameters
    ----------
    beta : float or array_like
        Inverse temperature, ``> 0``.
    patterns : {"spherical", "gaussian"}
    energy : {"distance", "dot"}
    sigma : float
        Pattern standard deviation per component (Gaussian, distance energy), ``> 0``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(dense_memory_capacity(2.0, "gaussian", energy="dot"), 12)
    0.5
    >>> round(float(dense_memory_capacity(1e-3)), 6)   # small beta: alpha_1 ~ beta
    0.001
    """
    _check_patterns(patterns, energy)
    b = check_array("beta", beta)
    if b.size == 0 or not np.all(np.isfinite(b)) or np.any(b <= 0):
        raise ValueError("beta must be finite and > 0")
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    if patterns == "spherical":
        out = _alpha1_spherical(b)
    elif energy == "distance":
        x = b * sigma * sigma
        out = 0.5 * np.log1p(x) + 0.5 * x / (1.0 + x)
    else:
        if sigma != 1.0:
            raise ValueError(f"sigma must be 1 for energy='dot', got {sigma}")
        out = np.where(b < 1.0, b - 0.5 * b * b, 0.5)
    return float(out) if out.ndim == 0 else out


def _log_mean_weight(d, beta, patterns, energy):
    r"""(1/d) log E exp(ℓ - ℓ_1) for one random other pattern at the clean query x = ξ¹,
    exactly at finite d (spherical: 1-d quadrature over the overlap, mpmath; Gaussian: closed)."""
    if patterns == "gaussian" and energy == "distance":
        # E exp(-β|x - ξ|²/2) with |x|² = d (typical) and ξ ~ N(0, I): exact Gaussian integral
        return -0.5 * math.log1p(beta) - 0.5 * beta / (1.0 + beta)
    if patterns == "gaussian":  # dot: E exp(β x·ξ - β|x|²) with |x|² = d
        return 0.5 * beta * beta - beta
    with mp.workdps(30):
        n = mp.mpf(d)
        b = mp.mpf(beta)
        # density of q = x·ξ/d on the sphere ∝ (1 - q²)^((d-3)/2); weight e^{βd(q - 1)}
        f = lambda qq: mp.exp(b * n * (qq - 1) + (n - 3) / 2 * mp.log(1 - qq * qq))  # noqa: E731
        g = lambda qq: mp.exp((n - 3) / 2 * mp.log(1 - qq * qq))  # noqa: E731
        q0 = 2 * b / (1 + mp.sqrt(1 + 4 * b * b))
        num = mp.quad(f, [-1, 0, q0, 1])
        den = mp.quad(g, [-1, 0, 1])
        return float(mp.log(num / den) / n)


def dense_memory_threshold(d, beta, patterns="spherical", *, energy="distance") -> float:
    r"""Finite-size REM threshold: the load at which the mean Boltzmann weight of the
    :math:`P-1` other patterns equals that of :math:`\xi^1` at :math:`x = \xi^1`,

    .. math:: (P-1)\,\mathbb E\,e^{\ell_\mu-\ell_1} = 1,\qquad
              \alpha_d = \frac{\log\big(1 + e^{-d\,\lambda_d(\beta)}\big)}{d},\quad
              \lambda_d = \frac1d\log\mathbb E\,e^{\ell_\mu-\ell_1},

    with :math:`\lambda_d` exact at size :math:`d` (spherical: quadrature over the overlap
    density :math:`\propto(1-q^2)^{(d-3)/2}` with mpmath at 30 digits; Gaussian: Gaussian
    integral at the typical :math:`|\xi^1|^2 = d`). In the unfrozen REM phase this is where the
    softmax weight of :math:`\xi^1` is about one half, so it is the reference of
    :func:`simulate_dense_retrieval`; :math:`\alpha_d\to` :func:`dense_memory_capacity` as
    :math:`d\to\infty`.

    Examples
    --------
    >>> a = [dense_memory_threshold(d, 0.5) for d in (20, 2000)]
    >>> round(a[1], 3), round(float(dense_memory_capacity(0.5)), 3)
    (0.387, 0.387)
    """
    d = check_int("d", d, minimum=3)
    beta = check_real("beta", beta, low=0.0, low_open=True)
    _check_patterns(patterns, energy)
    lam = _log_mean_weight(d, beta, patterns, energy)
    return math.log1p(math.exp(-d * lam)) / d if -d * lam < 700 else -lam


@dataclass(frozen=True)
class DenseRetrievalResult:
    r"""Dense-memory retrieval at size ``d``: the softmax weight of the started pattern.

    Attributes
    ----------
    d, n_patterns : int
    alpha : float
        :math:`\log P/d`.
    weights : ndarray
        Final softmax weight of the pattern the run started at (one per run).
    overlaps : ndarray
        Final normalised overlap with that pattern.
    fraction : float
        Fraction of runs with weight ``> 1/2`` (retrieved).
    stderr : float
    """

    d: int
    n_patterns: int
    alpha: float
    weights: np.ndarray
    overlaps: np.ndarray
    fraction: float
    stderr: float


def _patterns(rng, P, d, patterns):
    X = rng.standard_normal((P, d))
    if patterns == "spherical":
        X *= math.sqrt(d) / np.linalg.norm(X, axis=1, keepdims=True)
    return X


def simulate_dense_retrieval(d, alpha, beta, n_trials=20, seed=None, *, patterns="spherical",
                             energy="distance", n_steps=1) -> DenseRetrievalResult:
    r"""Dense-memory retrieval with the log-sum-exp update (finite-size reference).

    Each trial draws :math:`P = \mathrm{round}(e^{\alpha d})` patterns, starts at
    :math:`x = \xi^1` and applies ``n_steps`` updates

    .. math:: x \leftarrow \sum_\mu w_\mu\,\xi^\mu,\qquad
              w = \operatorname{softmax}_\mu\big(-\beta|x-\xi^\mu|^2/2\big)
              \ \big(\text{or } \beta\,x\cdot\xi^\mu \text{ for } \texttt{energy="dot"}\big),

    (the denoiser of the empirical score, :mod:`diffphase.numerics.empirical`, is this update
    at :math:`\beta = \beta_t`). A run retrieves if the final weight of :math:`\xi^1` exceeds
    one half. Memory :math:`O(Pd)`: keep :math:`e^{\alpha d}\lesssim10^6`.

    Parameters
    ----------
    d : int
        Dimension, ``>= 2``.
    alpha : float
        :math:`\log P/d > 0` (with :math:`P\le 5\cdot10^6`).
    beta : float
        Inverse temperature, ``> 0``.
    n_trials : int
    seed : int or numpy.random.Generator, optional
    patterns, energy
        As in :func:`dense_memory_capacity`.
    n_steps : int
        Updates, ``>= 1``.

    Examples
    --------
    >>> res = simulate_dense_retrieval(20, 0.1, 2.0, n_trials=5, seed=0)
    >>> res.fraction
    1.0
    """
    d = check_int("d", d, minimum=2)
    a = check_real("alpha", alpha, low=0.0, low_open=True)
    beta = check_real("beta", beta, low=0.0, low_open=True)
    n_trials = check_int("n_trials", n_trials, minimum=1)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    _check_patterns(patterns, energy)
    if a * d > math.log(5e6):
        raise ValueError(f"alpha * d must be <= log(5e6) = {math.log(5e6):.3f} (memory), got {a * d:.3f}")
    P = max(2, int(round(math.exp(a * d))))
    rng = np.random.default_rng(seed)
    weights, overlaps = [], []
    for _ in range(n_trials):
        X = _patterns(rng, P, d, patterns)
        sq = np.einsum("ij,ij->i", X, X)
        x = X[0].copy()
        for _ in range(n_steps):
            logits = beta * (X @ x)
            if energy == "distance":
                logits -= 0.5 * beta * sq
            logits -= logits.max()
            w = np.exp(logits)
            w /= w.sum()
            x = w @ X
        weights.append(w[0])
        overlaps.append(float(x @ X[0]) / (np.linalg.norm(x) * math.sqrt(sq[0])))
    weights = np.array(weights)
    frac = float(np.mean(weights > 0.5))
    se = math.sqrt(frac * (1 - frac) / n_trials)
    return DenseRetrievalResult(d, P, math.log(P) / d, weights, np.array(overlaps), frac, se)


# ----------------------------------------------------------------------------------------
# the diffusion reading
# ----------------------------------------------------------------------------------------
def effective_inverse_temperature(t):
    r"""Inverse temperature :math:`\beta_t = e^{-2t}/\Delta_t = 1/(e^{2t}-1)` at which the
    empirical score at OU time ``t > 0`` is a dense memory (through
    :func:`diffphase.numerics.conventions.snr`)."""
    return cv.snr(t)


def memory_load(t, sigma=1.0):
    r"""Memory capacity of the empirical score at OU time ``t > 0``: the Gaussian
    distance-energy threshold :func:`dense_memory_capacity` at :math:`\beta_t`,
    :math:`\tfrac12\log(1+\beta_t\sigma^2) + \beta_t\sigma^2/2(1+\beta_t\sigma^2)`
    (query at a clean training point)."""
    b = effective_inverse_temperature(t)
    return dense_memory_capacity(b, "gaussian", sigma=sigma)


def collapse_load(t, sigma=1.0):
    r"""REM threshold of the empirical score at a *noised* training point,
    :math:`\tfrac12\log(1+\beta_t\sigma^2)`: the collapse load :math:`\alpha_c(t)` of
    :func:`diffphase.numerics.gaussian_mixture.critical_load` (OU time ``t > 0``)."""
    t = check_times(t, positive=True)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    out = 0.5 * np.log1p(sigma * sigma * np.asarray(effective_inverse_temperature(t)))
    return float(out) if np.ndim(out) == 0 else out
