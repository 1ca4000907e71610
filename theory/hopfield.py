r"""Associative memories and their critical loads, symbolically.

Three pictures of "how many patterns can a memory hold", each derived here with sympy:

**Classical Hopfield model** (Amit, Gutfreund & Sompolinsky, *Phys. Rev. Lett.* 55, 1530
(1985); *Ann. Phys.* 173, 30 (1987), "AGS"). :math:`N` Ising neurons, :math:`P = \alpha N`
random :math:`\pm1` patterns, Hebbian couplings :math:`J_{ij} = N^{-1}\sum_\mu\xi_i^\mu\xi_j^\mu`,
inverse temperature :math:`\beta = 1/T`. The replica-symmetric (RS) free energy of a state
condensed on one pattern (overlap :math:`m`, Edwards--Anderson order parameter :math:`q`,
noise of the uncondensed patterns :math:`r`) is AGS's

.. math::
    f = \frac{\alpha}{2} + \frac{m^2}{2}
        + \frac{\alpha}{2\beta}\Big[\log\big(1-\beta(1-q)\big) - \frac{\beta q}{1-\beta(1-q)}\Big]
        + \frac{\alpha\beta r}{2}(1-q)
        - \frac1\beta\Big\langle\log 2\cosh\beta\big(m+\sqrt{\alpha r}\,z\big)\Big\rangle_z ,

:math:`z\sim\mathcal N(0,1)`. :func:`derivation` differentiates it (Stein's lemma for the
Gaussian average), takes :math:`T\to0` and obtains the capacity condition, whose maximum is
:math:`\alpha_c\approx0.138` (solved in :mod:`diffphase.numerics.hopfield`).

**Dense associative memory with the log-sum-exp energy** :math:`E(x) = -\beta^{-1}\log
\sum_\mu e^{-\beta|x-\xi^\mu|^2/2}` and :math:`P = e^{\alpha N}` patterns (for spherical
patterns, :math:`|\xi|^2 = N`, this is the modern Hopfield energy
:math:`-\beta^{-1}\log\sum_\mu e^{\beta x\cdot\xi^\mu}` up to a constant). The retrieval
threshold of a typical pattern follows from the random-energy-model (REM) signal-to-noise
argument of Lucibello & Mézard (*Phys. Rev. Lett.* 132, 077301 (2024), arXiv 2304.14964):
started at :math:`\xi^1`, the update :math:`x\leftarrow\sum_\mu\operatorname{softmax}_\mu
(-\beta|x-\xi^\mu|^2/2)\,\xi^\mu` keeps :math:`\xi^1` iff its Boltzmann weight beats the
REM partition function of the :math:`P-1` others, at exponential order in :math:`N`. The
formulas here are derived in this module for the energies stated (spherical patterns;
Gaussian patterns with the distance energy of diffusion and with the dot-product energy).

**The diffusion reading.** The empirical score at OU time :math:`t` (:math:`x_t =
e^{-t}x_0+\sqrt{\Delta_t}z`, :math:`\Delta_t = 1-e^{-2t}`) is the gradient of exactly that
energy for the rescaled query :math:`y = e^{t}x`, at the effective inverse temperature
:math:`\beta_t = e^{-2t}/\Delta_t` (the SNR). Evaluated at a *noised* training point the REM
condition is the collapse condition :math:`\alpha<\alpha_c(t)` of Biroli et al.
(:mod:`diffphase.theory.gaussian_mixture`); evaluated at the clean pattern it is the memory
capacity, larger by :math:`\beta_t\sigma^2/2(1+\beta_t\sigma^2)`.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from .conventions import delta as _delta
from .conventions import snr as _snr
from .conventions import t
from .derivation import Derivation, Step

__all__ = [
    "t",
    "m",
    "q",
    "r",
    "alpha",
    "beta",
    "z",
    "y",
    "gaussian_average",
    "rs_free_energy",
    "stein",
    "rs_equations",
    "zero_temperature_limits",
    "zero_temperature_equations",
    "capacity_curve",
    "capacity_condition",
    "spin_glass_temperature",
    "zero_temperature_energy",
    "spin_glass_energy",
    "spherical_overlap_entropy",
    "gaussian_log_moment",
    "dense_capacity_spherical",
    "dense_capacity_gaussian",
    "dense_capacity_gaussian_dot",
    "effective_inverse_temperature",
    "rem_collapse_load",
    "derivation",
]

#: Overlap with the condensed pattern.
m = sp.Symbol("m", real=True)
#: Edwards--Anderson order parameter.
q = sp.Symbol("q", positive=True)
#: Noise parameter of the uncondensed patterns.
r = sp.Symbol("r", positive=True)
#: Load: :math:`P = \alpha N` (Hopfield) or :math:`P = e^{\alpha N}` (dense memory).
alpha = sp.Symbol("alpha", positive=True)
#: Inverse temperature.
beta = sp.Symbol("beta", positive=True)
#: Standard Gaussian variable of the replica-symmetric averages.
z = sp.Symbol("z", real=True)
#: Scaled overlap :math:`y = m/\sqrt{2\alpha r}` of the zero-temperature equations.
y = sp.Symbol("y", positive=True)
#: Overlap of a random pattern with the query (dense memory).
_qo = sp.Symbol("q_o", real=True)
#: Pattern variance (Gaussian patterns).
_sig2 = sp.Symbol("sigma^2", positive=True)
#: Squared norm per component of the query, :math:`|x|^2/N`.
_rho = sp.Symbol("rho", positive=True)
_s = sp.Symbol("s", positive=True)      # field standard deviation sqrt(alpha r)
_u = sp.Symbol("u", real=True)
_C = sp.Symbol("C", positive=True)      # beta (1 - q) at T = 0
_Dz = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)


def gaussian_average(expr) -> sp.Integral:
    r""":math:`\langle e(z)\rangle_z = \int Dz\,e(z)`, :math:`Dz = e^{-z^2/2}dz/\sqrt{2\pi}`,
    as an unevaluated sympy integral."""
    return sp.Integral(expr * _Dz, (z, -sp.oo, sp.oo))


def _field(mm=m, rr=r, al=alpha):
    return mm + sp.sqrt(al * rr) * z


def rs_free_energy(mm=m, qq=q, rr=r, al=alpha, be=beta) -> sp.Expr:
    r"""AGS replica-symmetric free energy per neuron of a state condensed on one pattern
    (formula in the module docstring)."""
    c = 1 - be * (1 - qq)
    return (al / 2 + mm**2 / 2 + al / (2 * be) * (sp.log(c) - be * qq / c)
            + al * be * rr * (1 - qq) / 2
            - gaussian_average(sp.log(2 * sp.cosh(be * _field(mm, rr, al)))) / be)


def stein(expr) -> sp.Expr:
    r"""Gaussian integration by parts in every :math:`z`-integral of ``expr``:
    :math:`\int Dz\,z\,g(z) = \int Dz\,g'(z)` (the boundary term
    :math:`[-e^{-z^2/2}g]_{-\infty}^{\infty}` vanishes for the bounded :math:`g` used here).
    Integrals without an explicit factor :math:`z` are left unchanged."""

    def rewrite(integral):
        (var, lo, hi), = integral.limits
        if var != z or lo != -sp.oo or hi != sp.oo:
            return integral
        g = sp.cancel(integral.function / (z * _Dz))
        _, den = sp.fraction(sp.together(g))
        if den.has(z) or g.has(sp.exp(-z**2 / 2)):  # no explicit factor z * Dz
            return integral
        return sp.Integral(_Dz * sp.diff(g, z), (z, -sp.oo, sp.oo))

    return expr.replace(lambda e: isinstance(e, sp.Integral), rewrite)


def _tanh_form(expr) -> sp.Expr:
    """sinh/cosh -> tanh and cosh^-2 -> 1 - tanh^2 inside the averages."""
    X = sp.Wild("X")
    expr = expr.replace(sp.sinh(X) / sp.cosh(X), sp.tanh(X))
    expr = expr.replace(sp.sinh(X), sp.tanh(X) * sp.cosh(X))
    expr = expr.replace(sp.cosh(X) ** (-2), 1 - sp.tanh(X) ** 2)
    return expr


def _split_averages(expr) -> sp.Expr:
    """Expand the integrands, split integrals of sums and evaluate the pure-Gaussian pieces."""

    def split(integral):
        (var, lo, hi), = integral.limits
        f = sp.expand(integral.function)
        terms = sp.Add.make_args(f)
        out = 0
        for term in terms:
            const, dep = term.as_independent(z)
            if dep == sp.exp(-z**2 / 2):
                out += const * sp.sqrt(2 * sp.pi)  # the Gaussian integral
            else:
                out += const * sp.Integral(dep, (var, lo, hi))
        return out

    return expr.replace(lambda e: isinstance(e, sp.Integral), split)


def _solve_linear(expr, unknown) -> sp.Expr:
    """Solve ``expr = 0`` for ``unknown`` with every integral frozen as a symbol (fast and
    exact: the equations here are linear in the unknown once the averages are fixed)."""
    ints = sorted(expr.atoms(sp.Integral), key=sp.default_sort_key)
    frozen = {I: sp.Dummy(f"I{k}") for k, I in enumerate(ints)}
    sol = sp.solve(expr.xreplace(frozen), unknown)
    if len(sol) != 1:
        raise ValueError(f"expected one solution for {unknown}, got {sol}")
    return sol[0].xreplace({v: k for k, v in frozen.items()})


def rs_equations(al=alpha, be=beta) -> list[sp.Eq]:
    r"""The RS saddle-point equations of AGS, obtained by setting the derivatives of
    :func:`rs_free_energy` to zero:

    .. math:: m = \langle\tanh\beta h\rangle,\quad q = \langle\tanh^2\beta h\rangle,\quad
              r = \frac{q}{(1-\beta(1-q))^2},\qquad h = m+\sqrt{\alpha r}\,z.
    """
    f = rs_free_energy(m, q, r, al, be)
    dfm = _split_averages(_tanh_form(sp.diff(f, m)))
    eq_m = sp.Eq(m, _solve_linear(dfm, m))
    dfr = _split_averages(_tanh_form(sp.expand(stein(sp.diff(f, r)))))
    eq_q = sp.Eq(q, _solve_linear(dfr, q))
    eq_r = sp.Eq(r, _solve_linear(sp.diff(f, q), r))
    return [eq_m, eq_q, eq_r]


def zero_temperature_limits(mm=m, s=_s) -> tuple[sp.Expr, sp.Expr]:
    r"""Limits as :math:`\beta\to\infty` of the averages of the RS equations at field
    :math:`h = m + sz`:

    .. math:: \langle\tanh\beta h\rangle\to\operatorname{erf}\frac{m}{\sqrt2 s},\qquad
              C \equiv \beta(1-q) = \beta\langle\cosh^{-2}\beta h\rangle\to
              \sqrt{\frac{2}{\pi}}\,\frac{e^{-m^2/2s^2}}{s}.

    The first is :math:`\langle\operatorname{sign}h\rangle`; the second follows from
    :math:`u = \beta h`, :math:`\int\cosh^{-2}u\,du = 2`. Both computed by sympy.
    """
    mag = (sp.integrate(_Dz, (z, -mm / s, sp.oo)) - sp.integrate(_Dz, (z, -sp.oo, -mm / s)))
    mag = sp.simplify(mag.rewrite(sp.erf))
    # beta * <sech^2(beta(m + s z))>: z = (u/beta - m)/s, dz = du/(beta s)
    dens = _Dz.subs(z, (_u / beta - mm) / s) / s
    lim_dens = sp.limit(dens, beta, sp.oo)
    prim = sp.tanh(_u)  # an antiderivative of sech^2 u, checked:
    assert sp.simplify(sp.diff(prim, _u) - sp.sech(_u) ** 2) == 0
    area = sp.limit(prim, _u, sp.oo) - sp.limit(prim, _u, -sp.oo)
    C = sp.simplify(lim_dens * area)
    return mag, C


def zero_temperature_equations() -> list[sp.Eq]:
    r"""The :math:`T=0` RS equations with :math:`s = \sqrt{\alpha r}` and
    :math:`C = \lim\beta(1-q)` (:math:`q\to1`): :math:`m = \operatorname{erf}(m/\sqrt2 s)`,
    :math:`C = \sqrt{2/\pi}\,e^{-m^2/2s^2}/s`, :math:`s^2 = \alpha/(1-C)^2`."""
    mag, C = zero_temperature_limits(m, _s)
    return [sp.Eq(m, mag), sp.Eq(_C, C), sp.Eq(_s**2, alpha / (1 - _C) ** 2)]


def capacity_curve(yy=y) -> sp.Expr:
    r"""Load at which the :math:`T=0` retrieval solution has scaled overlap
    :math:`y = m/\sqrt{2}s`:

    .. math:: \alpha(y) = \Big(\frac{\operatorname{erf}y}{\sqrt2\,y}
              - \sqrt{\frac2\pi}\,e^{-y^2}\Big)^2 .

    Eliminating :math:`m = \operatorname{erf}y` and :math:`C` from
    :func:`zero_temperature_equations` (done in :func:`derivation`). The capacity is its
    maximum over :math:`y`.
    """
    return (sp.erf(yy) / (sp.sqrt(2) * yy) - sp.sqrt(2 / sp.pi) * sp.exp(-yy**2)) ** 2


def capacity_condition(yy=y) -> sp.Eq:
    r""":math:`d\sqrt{\alpha}/dy = 0` for :func:`capacity_curve`, multiplied by :math:`y^2`
    (the root :math:`y_c\approx1.5112` gives :math:`\alpha_c\approx0.13791`)."""
    branch = sp.erf(yy) / (sp.sqrt(2) * yy) - sp.sqrt(2 / sp.pi) * sp.exp(-yy**2)
    return sp.Eq(sp.simplify(sp.diff(branch, yy) * yy**2), 0)


def spin_glass_temperature(al=alpha) -> sp.Expr:
    r"""AGS spin-glass temperature :math:`T_g = 1+\sqrt\alpha`, where the :math:`m=0`,
    :math:`q=0` solution becomes unstable (linearisation of :func:`rs_equations` at small
    :math:`q`, computed in :func:`derivation`)."""
    return 1 + sp.sqrt(al)


# ----------------------------------------------------------------------------------------
# dense associative memory: REM
# ----------------------------------------------------------------------------------------
def zero_temperature_energy(mm=m, s=_s, C=_C, al=alpha) -> sp.Expr:
    r"""The :math:`T\to0` limit of :func:`rs_free_energy` at fixed :math:`C=\beta(1-q)`,
    :math:`s = \sqrt{\alpha r}`:

    .. math:: E = \frac\alpha2 + \frac{m^2}2 + \frac{\alpha C}{2(1-C)^2} - \frac{\alpha}{2(1-C)}
              - \langle|m+sz|\rangle .

    The algebraic part is ``sympy.limit`` of the free energy with :math:`q = 1-C/\beta`,
    :math:`r = s^2/\alpha`, :math:`\beta\to\infty`, evaluated at the saddle value
    :math:`r = (1-C)^{-2}` of :func:`rs_equations`; the average uses
    :math:`\beta^{-1}\log2\cosh\beta h\to|h|`. ``⟨|m+sz|⟩`` is left as an unevaluated integral."""
    c = 1 - beta * (1 - q)
    alg = al / 2 + mm**2 / 2 + al / (2 * beta) * (sp.log(c) - beta * q / c) + al * beta * r * (1 - q) / 2
    alg = alg.subs(q, 1 - C / beta)
    lim = sp.limit(alg, beta, sp.oo)
    lim = sp.simplify(lim.subs(r, 1 / (1 - C) ** 2))
    return lim - gaussian_average(sp.Abs(mm + s * z))


def spin_glass_energy(al=alpha) -> sp.Expr:
    r"""Zero-temperature RS energy of the spin-glass state (:math:`m=0`):
    :math:`E_\text{SG} = -\sqrt{2\alpha/\pi} - 1/\pi`.

    From :func:`zero_temperature_energy` with :math:`m=0`, :math:`\langle|sz|\rangle =
    s\sqrt{2/\pi}`, and the :math:`T=0` equations :math:`C = \sqrt{2/\pi}/s`,
    :math:`s(1-C) = \sqrt\alpha` (:func:`zero_temperature_equations` at :math:`m=0`), solved by
    sympy. Equal to the retrieval energy (:math:`\approx-1/2`) at :math:`\alpha\approx0.0519`
    (solved in :mod:`diffphase.numerics.hopfield`)."""
    E = zero_temperature_energy(0, _s, _C, al)
    E = E.replace(lambda e: isinstance(e, sp.Integral), lambda I: sp.integrate(I.function, *I.limits))
    k = sp.sqrt(2 / sp.pi)
    sols = sp.solve([sp.Eq(_C, k / _s), sp.Eq(_s * (1 - _C), sp.sqrt(al))], [_s, _C], dict=True)
    sols = [d for d in sols if d[_s].subs(al, sp.Rational(1, 10)).is_positive]
    if len(sols) != 1:
        raise RuntimeError(f"expected one positive spin-glass solution, got {sols}")
    a_ = sp.Symbol("a", positive=True)  # a = sqrt(alpha), to cancel the radicals
    E = sp.factor(sp.simplify(E.subs(sols[0]).subs(al, a_**2)))
    return sp.expand(sp.simplify(E)).subs(a_, sp.sqrt(al))


def spherical_overlap_entropy(qo=_qo) -> sp.Expr:
    r"""Entropy per dimension of the overlap :math:`q_o = x\cdot\xi/N` of a uniformly random
    pattern on the sphere :math:`|\xi|^2 = N` with a fixed unit query:
    :math:`\lim N^{-1}\log\big[(1-q_o^2)^{(N-3)/2}\big] = \tfrac12\log(1-q_o^2)`."""
    Nn = sp.Symbol("N", positive=True)
    log_density = sp.expand_log(sp.log((1 - qo**2) ** ((Nn - 3) / 2)), force=True)  # |q_o| < 1
    return sp.limit(log_density / Nn, Nn, sp.oo)


@lru_cache(maxsize=1)
def _gaussian_log_moment_symbolic() -> sp.Expr:
    xi, xx = sp.Symbol("xi", real=True), sp.Symbol("x", real=True)
    val = sp.integrate(sp.exp(-beta * (xx - xi) ** 2 / 2 - xi**2 / (2 * _sig2)) / sp.sqrt(2 * sp.pi * _sig2),
                       (xi, -sp.oo, sp.oo), conds="none")
    val = sp.simplify(sp.expand_log(sp.log(sp.simplify(val)), force=True))
    return sp.simplify(val.subs(xx**2, _rho).subs(xx, sp.sqrt(_rho)))


def gaussian_log_moment(be=beta, sig2=_sig2, rho=_rho) -> sp.Expr:
    r"""Per-component :math:`\log\mathbb E_\xi\,e^{-\beta(x_i-\xi_i)^2/2}` for
    :math:`\xi_i\sim\mathcal N(0,\sigma^2)` and :math:`x_i^2 = \rho`:

    .. math:: -\tfrac12\log(1+\beta\sigma^2) - \frac{\beta\rho}{2(1+\beta\sigma^2)},

    computed by sympy as a Gaussian integral (the annealed REM free entropy per pattern)."""
    general = _gaussian_log_moment_symbolic()  # integrated once, then substituted
    return sp.simplify(general.subs({beta: be, _sig2: sig2, _rho: rho}, simultaneous=True))


def _spherical_saddle(be=beta):
    """Stationary overlap q0 of alpha + s(q) + beta q (the positive root)."""
    sols = sp.solve(sp.diff(spherical_overlap_entropy(_qo) + be * _qo, _qo), _qo)
    pos = [s for s in sols if s.subs(be, 1).is_positive]
    return sp.simplify(pos[0])


def dense_capacity_spherical(be=beta) -> sp.Expr:
    r"""Retrieval threshold of a typical spherical pattern,

    .. math:: \alpha_1(\beta) = \beta(1-q_0) - \tfrac12\log(1-q_0^2),\qquad
              q_0 = \frac{\sqrt{1+4\beta^2}-1}{2\beta}:

    the signal :math:`\beta` (overlap 1 with :math:`\xi^1`) equals the unfrozen REM free
    entropy :math:`\alpha + \max_{q}[\tfrac12\log(1-q^2)+\beta q]` of the other patterns.
    (In the frozen REM phase the others give :math:`\beta q_{max} < \beta`: retrieval.)"""
    q0 = _spherical_saddle(be)
    return sp.simplify(be * (1 - q0) - spherical_overlap_entropy(q0))


def dense_capacity_gaussian(be=beta, sig2=_sig2) -> sp.Expr:
    r"""Retrieval threshold of a typical Gaussian pattern :math:`\xi\sim\mathcal N(0,\sigma^2I)`
    with the distance energy of diffusion, query at the clean pattern
    (:math:`|\xi^1|^2/N = \sigma^2`, signal log-weight 0):

    .. math:: \alpha_1(\beta) = \tfrac12\log(1+\beta\sigma^2) + \frac{\beta\sigma^2}{2(1+\beta\sigma^2)} .
    """
    return sp.simplify(-gaussian_log_moment(be, sig2, sig2))


def dense_capacity_gaussian_dot(be=beta) -> sp.Expr:
    r"""Retrieval threshold of a typical Gaussian pattern (:math:`\sigma=1`) with the
    dot-product energy :math:`-\beta^{-1}\log\sum_\mu e^{\beta x\cdot\xi^\mu}` (modern Hopfield
    form): the overlaps of the others are :math:`\mathcal N(0,1/N)`, entropy :math:`-q^2/2`,
    so the REM condenses at :math:`\beta=\sqrt{2\alpha}` and

    .. math:: \alpha_1(\beta) = \beta - \beta^2/2\ (\beta<1),\qquad \alpha_1 = \tfrac12\ (\beta\ge1).
    """
    return sp.Piecewise((be - be**2 / 2, be < 1), (sp.Rational(1, 2), True))


def effective_inverse_temperature(time=t) -> sp.Expr:
    r""":math:`\beta_t = e^{-2t}/\Delta_t = 1/(e^{2t}-1)`: the inverse temperature at which the
    empirical score at OU time :math:`t` is a dense memory (the SNR; the inverse of the
    variance-exploding noise variance)."""
    return _snr(time)


def rem_collapse_load(be=beta, sig2=_sig2) -> sp.Expr:
    r"""REM threshold at a *noised* pattern :math:`y = \xi^1 + z/\sqrt\beta` (the typical
    query of the diffusion at time :math:`t`): signal :math:`-\tfrac12`, others
    :math:`\alpha + \log\mathbb E e^{-\beta(y-\xi)^2/2}` with :math:`\rho = \sigma^2+1/\beta`;
    equal at :math:`\alpha = \tfrac12\log(1+\beta\sigma^2)`."""
    others = alpha + gaussian_log_moment(be, sig2, sig2 + 1 / be)
    return sp.simplify(sp.solve(sp.Eq(others, -sp.Rational(1, 2)), alpha)[0])


@lru_cache(maxsize=1)
def derivation() -> Derivation:
    r"""The computed derivation: AGS RS equations, their :math:`T=0` limit and the capacity
    condition; the spin-glass line; the REM thresholds of dense memories; the diffusion
    reading (effective temperature, collapse as REM condensation, memory vs collapse).

    Returns
    -------
    Derivation
        Named steps: ``f_RS``, ``eq_m``, ``eq_q``, ``eq_r``, ``T0_m``, ``T0_C``, ``T0_y``,
        ``alpha_y``, ``alpha_c_condition``, ``T_g``, ``T0_energy``, ``E_SG``, ``s_sph``, ``alpha1_sph``,
        ``log_moment``, ``alpha1_gauss``, ``alpha1_dot``, ``beta_t``, ``alpha_collapse``,
        ``collapse_is_alpha_c``, ``memory_minus_collapse``.
    """
    steps: list[Step] = []
    F = sp.Symbol("f_RS")
    f = rs_free_energy()
    steps.append(Step(
        "AGS replica-symmetric free energy of a state condensed on one pattern "
        "(P = αN patterns, inverse temperature β).", sp.Eq(F, f), "f_RS"))
    eq_m, eq_q, eq_r = rs_equations()
    steps.append(Step("∂f/∂m = 0: the overlap equation.", eq_m, "eq_m"))
    steps.append(Step("∂f/∂r = 0 after Gaussian integration by parts ⟨z g(z)⟩ = ⟨g'(z)⟩: "
                      "the Edwards–Anderson parameter.", eq_q, "eq_q"))
    steps.append(Step("∂f/∂q = 0: the noise of the uncondensed patterns.", eq_r, "eq_r"))
    mag, C = zero_temperature_limits(m, _s)
    steps.append(Step("T → 0 with s = √(αr): ⟨tanh βh⟩ → ⟨sign h⟩.",
                      sp.Eq(sp.Symbol(r"\langle\tanh\beta h\rangle"), mag), "T0_m"))
    steps.append(Step("T → 0: C = β(1 − q) stays finite (u = βh, ∫sech²u du = 2) while q → 1.",
                      sp.Eq(_C, C), "T0_C"))
    # eliminate: m = erf(y), y = m/(sqrt2 s) => s = erf(y)/(sqrt2 y); s (1 - C) = sqrt(alpha)
    s_y = sp.erf(y) / (sp.sqrt(2) * y)
    C_y = sp.simplify(C.subs(m, sp.erf(y)).subs(_s, s_y))
    sqrt_alpha = sp.simplify(sp.expand(s_y * (1 - C_y)))
    steps.append(Step("With y = m/(√2 s): m = erf y, and r = 1/(1 − C)² gives √α = s(1 − C).",
                      sp.Eq(sp.sqrt(alpha), sqrt_alpha), "T0_y"))
    a_y = sp.expand(sqrt_alpha**2)
    assert sp.simplify(a_y - sp.expand(capacity_curve())) == 0
    steps.append(Step("The retrieval solution exists at load α(y); the capacity α_c is its maximum.",
                      sp.Eq(alpha, capacity_curve()), "alpha_y"))
    cond = sp.simplify(sp.diff(sqrt_alpha, y) * y**2)
    steps.append(Step("Capacity: dα/dy = 0 (y_c ≈ 1.5112, α_c ≈ 0.13791; solved to 30 digits in "
                      "diffphase.numerics.hopfield).", sp.Eq(cond, 0), "alpha_c_condition"))
    assert sp.simplify(cond - capacity_condition().lhs) == 0
    # spin-glass line: m = 0, q small: q ~ beta^2 alpha r <z^2> with r = q/(1-beta)^2
    eps = sp.Symbol("epsilon", positive=True)
    q_lin = sp.series(sp.tanh(beta * sp.sqrt(alpha * r) * z) ** 2, r, 0, 2).removeO()
    q_lin = sp.integrate(sp.expand(q_lin) * _Dz, (z, -sp.oo, sp.oo))
    lin = sp.simplify(q_lin.subs(r, eps / (1 - beta) ** 2) / eps)
    a_ = sp.Symbol("a", positive=True)  # a = sqrt(alpha), to cancel the radicals
    Tg = [sp.simplify((1 / b).subs(alpha, a_**2)).subs(a_, sp.sqrt(alpha))
          for b in sp.solve(sp.Eq(lin, 1), beta) if b.subs(alpha, sp.Rational(1, 4)) < 1]
    steps.append(Step("m = 0, small q: q = ⟨tanh²(β√(αr) z)⟩ ≈ β²αr with r = q/(1 − β)²; a "
                      "nonzero q appears below the spin-glass temperature", sp.Eq(sp.Symbol("T_g"),
                                                                                   sp.simplify(Tg[0])), "T_g"))
    steps.append(Step("T → 0 at fixed C = β(1 − q), r = (1 − C)⁻²: the energy of a state with overlap m.",
                      sp.Eq(sp.Symbol("E"), zero_temperature_energy()), "T0_energy"))
    steps.append(Step("The spin-glass state m = 0 (C = √(2/π)/s, s(1 − C) = √α): its energy; the "
                      "retrieval state (E ≈ −1/2) is the global minimum below α ≈ 0.0519, metastable "
                      "up to α_c.", sp.Eq(sp.Symbol(r"E_{SG}"), spin_glass_energy()), "E_SG"))
    steps.append(Step("Dense memory, spherical patterns: entropy per dimension of the overlap "
                      "of a random pattern with the query.", sp.Eq(sp.Symbol("s(q_o)"),
                                                                   spherical_overlap_entropy()), "s_sph"))
    steps.append(Step("The pattern ξ¹ (log-weight βN) is retrieved iff it beats the REM free entropy "
                      "α + max_q[s(q) + βq] of the others: threshold", sp.Eq(sp.Symbol(r"\alpha_1"),
                                                                              dense_capacity_spherical()),
                      "alpha1_sph"))
    steps.append(Step("Gaussian patterns N(0, σ²), distance energy −β|x − ξ|²/2: annealed log-moment "
                      "per component at |x|²/N = ρ (a Gaussian integral).",
                      sp.Eq(sp.Symbol(r"\Lambda(\beta,\rho)"), gaussian_log_moment()), "log_moment"))
    steps.append(Step("At the clean pattern (signal 0, ρ = σ²) the threshold is α + Λ = 0:",
                      sp.Eq(sp.Symbol(r"\alpha_1"), dense_capacity_gaussian()), "alpha1_gauss"))
    dot = dense_capacity_gaussian_dot()
    steps.append(Step("Gaussian patterns with the dot-product energy: overlaps N(0, 1/N), the REM "
                      f"condenses at β = √(2α); for β < 1 (for β ≥ 1 the threshold is {sp.sstr(dot.args[1][0])})",
                      sp.Eq(sp.Symbol(r"\alpha_1^{dot}"), dot.args[0][0]), "alpha1_dot"))
    bt = effective_inverse_temperature()
    steps.append(Step("Diffusion: the empirical-score weights softmax[−|x − e^{−t}a|²/2Δ_t] are "
                      "softmax[−β_t|e^t x − a|²/2]: a dense memory at", sp.Eq(sp.Symbol(r"\beta_t"), bt),
                      "beta_t"))
    ac = rem_collapse_load()
    steps.append(Step("At the typical query of time t, y = a¹ + z/√β (signal −½, ρ = σ² + 1/β), the "
                      "REM threshold is", sp.Eq(sp.Symbol(r"\alpha_{REM}"), ac), "alpha_collapse"))
    ac_t = sp.simplify(ac.subs(beta, bt))
    target = sp.log(1 + _sig2 * sp.exp(-2 * t) / _delta(t)) / 2
    same = sp.simplify(sp.exp(2 * ac_t) - sp.exp(2 * target))  # both logs of positive numbers
    steps.append(Step("With β = β_t this is the collapse load α_c(t) of Biroli et al. (difference "
                      f"of the exponentials computed: {sp.sstr(same)}).", sp.Eq(sp.Symbol(r"\alpha_c(t)"), target),
                      "collapse_is_alpha_c"))
    gap = sp.simplify(dense_capacity_gaussian() - ac)
    steps.append(Step("The memory capacity (clean query) exceeds the collapse load (noised query) by",
                      sp.Eq(sp.Symbol(r"\alpha_1 - \alpha_c"), gap), "memory_minus_collapse"))
    return Derivation("Critical loads of associative memories and of the empirical score", steps)
