r"""Mean-field theory of class reconstruction in the Random Hierarchy Model (RHM).

Model (Cagnetta et al. 2024; Sclocchi, Favero & Wyart, arXiv 2402.16991): vocabulary
:math:`v`, :math:`m` synonymous rules per symbol, branching :math:`s`, depth :math:`L`. At each
level the :math:`v\,m` rules (:math:`n_c m` under the root; here :math:`n_c=v`) are distinct
:math:`s`-tuples drawn without replacement from the :math:`v^s` possible ones, so every tuple has
at most one parent (unambiguous grammar); :math:`f = m/v^{s-1}\le 1`.

Noise convention
----------------
Every noise process has a level :math:`\varepsilon\in[0,1]`, the probability that a leaf is
*not* kept, :math:`\varepsilon = 1-\bar\alpha`; the package's OU time is
:math:`t = -\tfrac12\log(1-\varepsilon)` (:func:`diffphase.theory.conventions.time_from` with
``"noise_level"``). Levels :math:`l` are counted upward, :math:`l=0` the leaves, :math:`l=L`
the root (class).

* ``"epsilon"`` -- every leaf message is :math:`(1-\varepsilon)\delta_{b,x_0} + \varepsilon/v`
  (centred on the clean token): true-mass :math:`p_0 = 1-\varepsilon(1-1/v)` on every leaf.
* ``"masking"`` -- a leaf is masked (uniform message) with probability :math:`\varepsilon`,
  otherwise known exactly: true-mass 1 w.p. :math:`1-\varepsilon`, :math:`1/v` w.p.
  :math:`\varepsilon`.
* ``"uniform"`` -- a token is kept w.p. :math:`\bar\alpha = 1-\varepsilon`, else resampled
  uniformly; the leaf message :math:`\bar\alpha\delta_{b,x_t} + \varepsilon/v` is centred on
  the *observed* token. It equals the clean token w.p. :math:`p_0 = 1-\varepsilon(1-1/v)`
  (true-mass :math:`p_0`), otherwise true-mass :math:`\varepsilon/v`.

Results (all computed below with sympy)
---------------------------------------
1. Averaging the upward BP message over the random rules gives, for *any* normalised child
   messages with masses :math:`p_i` on the true child symbols, a parent true-mass that depends
   only on :math:`w=\prod_i p_i`:
   :math:`\Phi(w) = [w + (m-1)a]/[w + (mv-1)a]`, :math:`a = (1-w)/(v^s-1)` the average
   weight of a wrong tuple (the sum of the weights of all :math:`v^s` tuples is
   :math:`\prod_i\sum_b\nu_i(b)=1`; the true tuple has weight :math:`w`; every other rule is
   marginally uniform over the :math:`v^s-1` other tuples). With the homogeneous message of
   the mean-field ansatz, :math:`F(p) = \Phi(p^s)`, the map used by Sclocchi, Favero & Wyart
   (arXiv 2402.16991), here derived.
2. :math:`F(1/v)=1/v`, :math:`F(1)=1`; :math:`F'(1) = sm(v-1)/(v^s-1)`,
   :math:`F'(1/v) = s(v-1)v^{s-1}/(m(v^s-1))`. The fixed-point polynomial factors as
   :math:`(1-p)(vp-1)K(p)`; by Descartes' rule :math:`K` has at most one positive root
   :math:`p^*`, in :math:`(1/v,1)` iff both :math:`F'(1)<1` and :math:`F'(1/v)<1`.
3. :math:`s=2`: :math:`p^*=(m-1)/(v-m)`,
   :math:`\varepsilon^*=(1-p^*)/(1-1/v) = v(v-2m+1)/((v-1)(v-m))`,
   :math:`F'(p^*) = 2(v+1)(m-1)(v-m)/(m(v-1)^2)`; a transition needs
   :math:`2 \le m < (v+1)/2`.
4. Large :math:`v` at fixed :math:`f`: :math:`F\to p^s/(p^s+f(1-p^s))` (derived here as a
   sympy limit); for :math:`s=2`, :math:`p^*\to f/(1-f)`, :math:`F'(p^*)\to 2(1-f)`.
5. Near :math:`p^*` deviations grow like :math:`\lambda^l`, :math:`\lambda=F'(p^*)`: the
   class is decided after :math:`\ell \simeq \log(1/|\varepsilon-\varepsilon^*|)/\log\lambda`
   levels, blocks of :math:`\xi=s^\ell = |\varepsilon-\varepsilon^*|^{-\nu}` leaves change
   together, :math:`\nu=\log s/\log\lambda`; at depth :math:`L` the class curve has width
   :math:`\Delta\varepsilon\propto\lambda^{-L}`.

Where a one-number closure fails (masking and uniform diffusion)
----------------------------------------------------------------
The ε-process leaves all carry the same true-mass, so the homogeneous closure (one number
:math:`p_l` per level) is the only approximation besides the rule average. Masking and
uniform diffusion produce *heterogeneous* leaves (a two-point law of true-masses), and
:math:`\Phi` is strictly concave on :math:`[0,1]` (:math:`\Phi''<0` whenever :math:`m<v^{s-1}`).
Hence no one-number closure is exact, even within the rule-averaged theory:

* closing on the mean leaf mass (first moment) gives for masking exactly the ε-process
  (:math:`\bar p_0 = 1-\varepsilon(1-1/v)`), i.e. the same :math:`\varepsilon^*` -- wrong;
* closing after one exact leaf-averaged step, :math:`p_1 = E[\Phi(\prod_i p_{0,i})]`, is
  still only an upper bound: by Jensen and independence of siblings
  :math:`E[\Phi(\prod p_i)] \le \Phi(\prod E p_i)`, so every such closure over-estimates the
  level-wise mean true-mass and the critical noise.

The consistent mean-field theory for these processes is the *rule-averaged density
evolution*: every node carries a random true-mass, i.i.d. over siblings, with
:math:`p_{\rm parent} = \Phi(\prod_i p_i)`, started from the leaf law. It contains the
ε-process map as the special case of a point mass. It has no closed form; it is solved
numerically in :mod:`diffphase.numerics.rhm.mean_field` (see that module for the precision).
For v=32, m=8, s=2 it gives critical masking ≈ 0.2715 and uniform ≈ 0.1621 versus the
one-number closures 0.731/0.538 (masking) and 0.482/0.406 (uniform); exact BP crossings are in
the RHM page of the documentation (``docs/models/rhm.md``).

Examples
--------
>>> import sympy as sp
>>> from diffphase.theory import rhm
>>> F = rhm.mean_field_map(2)
>>> sp.simplify(F(1 / rhm.v) - 1 / rhm.v)
0
>>> rhm.critical_point_s2()["p_star"]
(m - 1)/(-m + v)
"""

from __future__ import annotations

import functools

import sympy as sp

from .derivation import Derivation, Step

__all__ = [
    "v",
    "m",
    "s",
    "p",
    "w",
    "eps",
    "f",
    "lam",
    "PROCESSES",
    "wrong_tuple_weight",
    "average_weights",
    "parent_mass",
    "mean_field_map",
    "fixed_point_polynomial",
    "reduced_fixed_point_polynomial",
    "fixed_points",
    "map_slope",
    "existence_conditions",
    "critical_point_s2",
    "large_v_map",
    "large_v_critical_s2",
    "correlation_exponent",
    "levels_to_decide",
    "transition_width",
    "leaf_law",
    "leaf_mean_mass",
    "leaf_resolved_mass",
    "density_evolution",
    "phi_curvature",
    "derivation",
]

#: Vocabulary size, synonyms, branching (positive integers).
v, m = sp.symbols("v m", positive=True, integer=True)
s = sp.Symbol("s", positive=True, integer=True)
#: Message mass on the true symbol; product of the children's true masses.
p, w = sp.symbols("p w", positive=True)
#: Noise level (probability that a leaf is not kept); fraction of valid tuples f = m/v^{s-1}.
eps = sp.Symbol("varepsilon", nonnegative=True)
f = sp.Symbol("f", positive=True)
#: Slope of the map at the unstable fixed point.
lam = sp.Symbol("lambda", positive=True)
_l, _L, _delta, _k = sp.symbols("ell L delta k", positive=True)
_b = sp.Symbol("b", integer=True, positive=True)

#: Noise processes of the leaves.
PROCESSES = ("epsilon", "masking", "uniform")


def _check_process(process: str) -> str:
    if process not in PROCESSES:
        raise ValueError(f"process must be one of {PROCESSES}, got {process!r}")
    return process


def wrong_tuple_weight(branching=s, true_weight=None) -> sp.Expr:
    r"""Average weight :math:`a` of an s-tuple drawn uniformly among the :math:`v^s-1` tuples
    other than the true one.

    The weight of a tuple :math:`t` is :math:`\prod_i\nu_i(t_i)`. Summed over all :math:`v^s`
    tuples it factorises into :math:`\prod_i\sum_b\nu_i(b) = 1` (normalised messages); removing
    the true tuple (weight :math:`w`) and dividing by :math:`v^s-1`:

    .. math:: a = \frac{1-w}{v^s-1},\qquad w = p^s \text{ for the homogeneous message.}

    Parameters
    ----------
    branching : int or sympy.Expr
        :math:`s` (default the symbol ``s``).
    true_weight : sympy.Expr, optional
        :math:`w`, the weight of the true tuple; default :math:`p^s` for the mean-field message
        (mass :math:`p` on the true symbol, :math:`(1-p)/(v-1)` on each other symbol).

    Returns
    -------
    sympy.Expr
        :math:`a` (the noise level enters only through :math:`p`).
    """
    q = (1 - p) / (v - 1)
    per_child_total = sp.simplify(p + (v - 1) * q)  # sum_b nu(b), computed: 1
    all_tuples = per_child_total ** branching
    wt = p**branching if true_weight is None else true_weight
    return sp.simplify((all_tuples - wt) / (v**branching - 1))


def average_weights(branching=s, true_weight=None) -> tuple[sp.Expr, sp.Expr]:
    r"""Rule-averaged upward BP weights :math:`(W_{\rm true}, W_{\rm wrong})`.

    Upward BP: :math:`\nu_{\rm parent}(a)\propto\sum_{r=1}^m\prod_i\nu_i(R[a,r,i])`. The true
    parent owns the true tuple (weight :math:`w`) and :math:`m-1` other rules; each wrong
    parent owns :math:`m` rules, none of them the true tuple (unambiguous grammar). Every one
    of these rules is marginally uniform over the :math:`v^s-1` other tuples, so by linearity

    .. math:: W_{\rm true} = w + (m-1)a,\qquad W_{\rm wrong} = m\,a .

    Returns
    -------
    tuple of sympy.Expr
    """
    a = wrong_tuple_weight(branching, true_weight)
    wt = p**branching if true_weight is None else true_weight
    return wt + (m - 1) * a, m * a


@functools.lru_cache(maxsize=None)  # sympy objects are immutable
def parent_mass() -> sp.Lambda:
    r"""The rule-averaged parent true-mass as a function of :math:`w=\prod_i p_i`:

    .. math:: \Phi(w) = \frac{w + (m-1)\frac{1-w}{v^s-1}}{w + (mv-1)\frac{1-w}{v^s-1}}

    (ratio of the average true weight to the average total weight
    :math:`W_{\rm true}+(v-1)W_{\rm wrong}`). Valid for any normalised child messages.

    Returns
    -------
    sympy.Lambda
        ``w -> Phi(w)``.
    """
    wt, ww = average_weights(s, true_weight=w)
    return sp.Lambda(w, sp.simplify(wt / (wt + (v - 1) * ww)))


@functools.lru_cache(maxsize=None)  # sympy objects are immutable
def mean_field_map(branching=s) -> sp.Lambda:
    r"""The mean-field map :math:`p_{l+1} = F(p_l)` (levels counted upward from the leaves):

    .. math:: F(p) = \frac{p^s + (m-1)a(p)}{p^s + (mv-1)a(p)},\qquad a(p)=\frac{1-p^s}{v^s-1}.

    For the ε-process :math:`p_0 = 1-\varepsilon(1-1/v)`, :math:`\varepsilon = 1-\bar\alpha`.

    Parameters
    ----------
    branching : int or sympy.Expr
        :math:`s` (default the symbol).

    Returns
    -------
    sympy.Lambda
        ``p -> F(p)``.
    """
    wt, ww = average_weights(branching)
    return sp.Lambda(p, sp.simplify(wt / (wt + (v - 1) * ww)))


@functools.lru_cache(maxsize=None)  # sympy objects are immutable
def fixed_point_polynomial(branching=s) -> sp.Expr:
    r"""The numerator :math:`G(p)` of :math:`F(p)-p` multiplied by :math:`v^s-1` (sign as
    :math:`F(p)-p`): :math:`G(p) = (v^s-1)p^s(1-p) + (1-p^s)[(m-1)-(mv-1)p]`.

    Fixed points of :math:`F` in :math:`(0,1]` are the roots of :math:`G`.
    """
    F = mean_field_map(branching)
    wt, ww = average_weights(branching)
    # F(p) - p = (wt - p*(wt + (v-1)ww)) / (wt + (v-1)ww); the denominator is positive.
    num = (wt - p * (wt + (v - 1) * ww)) * (v**branching - 1)
    num = sp.expand(sp.simplify(num))
    assert sp.simplify(num / (v**branching - 1) / (wt + (v - 1) * ww) - (F(p) - p)) == 0
    return num


@functools.lru_cache(maxsize=None)  # sympy objects are immutable
def reduced_fixed_point_polynomial(branching: int) -> sp.Poly:
    r"""For an integer :math:`s`, :math:`K(p) = G(p)/((1-p)(vp-1))`, a polynomial of degree
    :math:`s-1` in :math:`p` whose root in :math:`(1/v,1)` is the unstable fixed point
    :math:`p^*`.

    Its coefficients: :math:`H(p)=G/(1-p) = (m-1) - m(v-1)\sum_{k=1}^{s-1}p^k + (v^s-mv)p^s`,
    then divided by :math:`vp-1` (exact division, checked).

    Returns
    -------
    sympy.Poly
        :math:`K` as a polynomial in ``p`` over the field of rational functions of v, m.
    """
    if not isinstance(branching, int) or branching < 2:
        raise ValueError(f"branching must be an integer >= 2, got {branching!r}")
    G = sp.Poly(fixed_point_polynomial(branching), p)
    H, r1 = sp.div(G, sp.Poly(1 - p, p))
    K, r2 = sp.div(H, sp.Poly(v * p - 1, p))
    if not (r1.is_zero and r2.is_zero):  # pragma: no cover - a derivation error
        raise RuntimeError("fixed-point polynomial does not factor as expected")
    return sp.Poly(sp.factor_terms(K.as_expr()), p)


def fixed_points() -> list[sp.Expr]:
    r"""The two fixed points valid for every :math:`(v,m,s)`: :math:`1/v` (class forgotten)
    and :math:`1` (class known); checked symbolically."""
    F = mean_field_map()
    pts = [1 / v, sp.Integer(1)]
    for x in pts:
        assert sp.simplify(F(x) - x) == 0
    return pts


@functools.lru_cache(maxsize=None)  # sympy objects are immutable
def map_slope(at) -> sp.Expr:
    r""":math:`F'(p)` at ``at`` (a sympy expression in v, m, s), simplified. At the fixed
    points: :math:`F'(1) = sm(v-1)/(v^s-1)`, :math:`F'(1/v) = s(v-1)v^{s-1}/(m(v^s-1))`."""
    F = mean_field_map()
    dF = sp.diff(F(p), p)
    return sp.factor(sp.simplify(dF.subs(p, at)))


def existence_conditions() -> dict[str, sp.Rel]:
    r"""Conditions for an unstable fixed point :math:`p^*\in(1/v,1)` (a transition):
    both trivial fixed points stable,

    .. math:: \frac{sm(v-1)}{v^s-1} < 1 \quad\text{and}\quad \frac{s(v-1)v^{s-1}}{m(v^s-1)} < 1.

    Returns
    -------
    dict
        ``{"stable_1": ..., "stable_1_over_v": ...}`` (sympy relations).
    """
    return {"stable_1": sp.Lt(map_slope(1), 1), "stable_1_over_v": sp.Lt(map_slope(1 / v), 1)}


def critical_point_s2() -> dict[str, sp.Expr]:
    r"""Closed forms for :math:`s=2`, obtained by factoring :math:`G(p)` with sympy:

    .. math::
        p^* = \frac{m-1}{v-m},\quad
        \varepsilon^* = \frac{1-p^*}{1-1/v} = \frac{v(v-2m+1)}{(v-1)(v-m)},\quad
        F'(p^*) = \frac{2(v+1)(m-1)(v-m)}{m(v-1)^2}.

    :math:`\varepsilon^*` is the ε-process noise level (:math:`\varepsilon = 1-\bar\alpha`) at
    which :math:`p_0 = p^*`.

    Returns
    -------
    dict
        keys ``p_star``, ``eps_star``, ``slope``, ``nu``.
    """
    K = reduced_fixed_point_polynomial(2)
    roots = sp.solve(K.as_expr(), p)
    if len(roots) != 1:  # pragma: no cover
        raise RuntimeError(f"expected one root of K, got {roots}")
    p_star = sp.factor(roots[0])
    eps_star = sp.factor(sp.simplify((1 - p_star) / (1 - 1 / v)))
    F = mean_field_map(2)
    slope = sp.factor(sp.simplify(sp.diff(F(p), p).subs(p, p_star)))
    return {"p_star": p_star, "eps_star": eps_star, "slope": slope, "nu": sp.log(2) / sp.log(slope)}


def large_v_map(branching=s) -> sp.Lambda:
    r"""Limit :math:`v\to\infty` of :math:`F` at fixed :math:`f = m/v^{s-1}` (sympy ``limit``):

    .. math:: F_\infty(p) = \frac{p^s}{p^s + f(1-p^s)} .
    """
    F = mean_field_map(branching)
    expr = F(p).subs(m, f * v ** (branching - 1))
    return sp.Lambda(p, sp.simplify(sp.limit(expr, v, sp.oo)))


def large_v_critical_s2() -> dict[str, sp.Expr]:
    r"""Large-:math:`v` critical point for :math:`s=2`: :math:`p^*=f/(1-f)`,
    :math:`\varepsilon^* = 1-p^* = (1-2f)/(1-f)`, :math:`F'(p^*) = 2(1-f)` (solved from
    :func:`large_v_map`)."""
    Finf = large_v_map(2)
    roots = [r for r in sp.solve(sp.numer(sp.together(Finf(p) - p)), p) if r not in (0, 1)]
    if len(roots) != 1:  # pragma: no cover
        raise RuntimeError(f"expected one nontrivial root, got {roots}")
    p_star = sp.factor(roots[0])
    slope = sp.factor(sp.simplify(sp.diff(Finf(p), p).subs(p, p_star)))
    return {"p_star": p_star, "eps_star": sp.factor(1 - p_star), "slope": slope}


def correlation_exponent(branching=s, slope=lam) -> sp.Expr:
    r""":math:`\nu = \log s/\log\lambda`, :math:`\lambda = F'(p^*)`: blocks of
    :math:`\xi = s^\ell \sim |\varepsilon-\varepsilon^*|^{-\nu}` leaves change together."""
    return sp.log(branching) / sp.log(slope)


def levels_to_decide(delta=_delta, slope=lam) -> sp.Expr:
    r"""Number of levels after which a deviation :math:`\delta = p_0 - p^*` (linear in
    :math:`\varepsilon-\varepsilon^*`) has grown to order one, to leading order:
    :math:`\ell = \log(1/|\delta|)/\log\lambda` (from :math:`\delta_\ell = \lambda^\ell\delta`)."""
    return -sp.log(sp.Abs(delta)) / sp.log(slope)


def transition_width(depth=_L, slope=lam) -> sp.Expr:
    r"""Scale of the width in :math:`\varepsilon` of the root curve :math:`p_L(\varepsilon)` at
    depth :math:`L`: :math:`\Delta\varepsilon\propto\lambda^{-L}` (up to an L-independent
    constant), the inverse of :func:`levels_to_decide`."""
    return slope ** (-depth)


def leaf_law(process: str) -> list[tuple[sp.Expr, sp.Expr]]:
    r"""Law of the leaf true-mass as ``[(probability, mass), ...]`` for a noise process at
    level :math:`\varepsilon` (probability that a leaf is not kept, :math:`1-\bar\alpha`).

    * ``"epsilon"``: :math:`[(1, 1-\varepsilon(1-1/v))]`;
    * ``"masking"``: :math:`[(1-\varepsilon, 1), (\varepsilon, 1/v)]`;
    * ``"uniform"``: :math:`[(p_0, p_0), (1-p_0, \varepsilon/v)]`,
      :math:`p_0 = 1-\varepsilon(1-1/v)` (observed token equal to the clean one or not).
    """
    _check_process(process)
    p0 = 1 - eps * (1 - 1 / v)
    if process == "epsilon":
        return [(sp.Integer(1), p0)]
    if process == "masking":
        return [(1 - eps, sp.Integer(1)), (eps, 1 / v)]
    return [(p0, p0), (1 - p0, eps / v)]


def leaf_mean_mass(process: str) -> sp.Expr:
    r"""First moment :math:`\bar p_0 = E[p_0]` of the leaf true-mass. Masking gives the
    ε-process value :math:`1-\varepsilon(1-1/v)`; uniform gives
    :math:`p_0^2 + (1-p_0)^2/(v-1)`."""
    return sp.factor(sp.simplify(sum(q * x for q, x in leaf_law(process))))


def leaf_resolved_mass(process: str, branching: int) -> sp.Expr:
    r"""Exact leaf-averaged level-1 mean true-mass :math:`E[\Phi(\prod_{i=1}^s p_{0,i})]`
    (siblings i.i.d. from :func:`leaf_law`), for an integer :math:`s`.

    Closing the recursion after this step (:math:`p_{l+1}=F(p_l)` for :math:`l\ge1`) is an
    upper bound on the density evolution (see :func:`phi_curvature`)."""
    _check_process(process)
    if not isinstance(branching, int) or branching < 2:
        raise ValueError(f"branching must be an integer >= 2, got {branching!r}")
    Phi = parent_mass()
    law = leaf_law(process)
    total = sp.Integer(0)
    if len(law) == 1:
        (q, x), = law
        return sp.simplify(Phi(x**branching).subs(s, branching))
    (q1, x1), (q2, x2) = law
    for k in range(branching + 1):  # k leaves of the first kind
        total += sp.binomial(branching, k) * q1**k * q2 ** (branching - k) * Phi(x1**k * x2 ** (branching - k))
    return total.subs(s, branching)


def density_evolution() -> sp.Eq:
    r"""The rule-averaged density evolution, the mean-field theory for heterogeneous leaves:

    .. math:: p^{(l+1)} \overset{d}{=} \Phi\Big(\prod_{i=1}^{s} p^{(l)}_i\Big),\quad
        p^{(l)}_i \text{ i.i.d.}, \quad p^{(0)}\sim\text{leaf law}.

    The ε-process is its special case with a point-mass law, where it reduces to
    :math:`p_{l+1}=F(p_l)`. Returned as an equation between a random-variable symbol and
    :math:`\Phi` of an indexed product."""
    i = sp.Symbol("i", integer=True, positive=True)
    P = sp.IndexedBase("p^{(l)}")
    Phi = parent_mass()
    return sp.Eq(sp.Symbol("p^{(l+1)}"), Phi(sp.Product(P[i], (i, 1, s))))


def phi_curvature() -> dict[str, sp.Expr]:
    r"""Concavity of :math:`\Phi`. Writing :math:`\Phi(w) = (w + \alpha(1-w))/(w+\beta(1-w))`
    with :math:`\alpha=(m-1)/(v^s-1) < \beta=(mv-1)/(v^s-1)`:

    .. math:: \Phi''(w) = \frac{-2(\beta-\alpha)(1-\beta)}{(w+\beta(1-w))^3} ,

    negative for :math:`\beta<1`, i.e. :math:`m<v^{s-1}`. Hence (Jensen, independent
    siblings) :math:`E[\Phi(\prod p_i)]\le\Phi(\prod E p_i)`: every one-number closure
    over-estimates the mean true-mass of heterogeneous messages.

    Returns
    -------
    dict
        ``alpha``, ``beta``, ``second_derivative`` (as computed), ``factored`` (the form
        above, checked equal).
    """
    Phi = parent_mass()
    alpha = (m - 1) / (v**s - 1)
    beta = (m * v - 1) / (v**s - 1)
    d2 = sp.diff(Phi(w), w, 2)
    closed = -2 * (beta - alpha) * (1 - beta) / (w + beta * (1 - w)) ** 3
    assert sp.simplify(d2 - closed) == 0
    return {"alpha": alpha, "beta": beta, "second_derivative": d2, "factored": closed}


def derivation() -> Derivation:
    r"""The mean-field derivation, step by step (every equation computed by sympy).

    Returns
    -------
    Derivation
        Named steps: ``per_child_sum``, ``a``, ``W_true``, ``W_wrong``, ``Phi``, ``F``,
        ``fixed_1_over_v``, ``fixed_1``, ``G``, ``slope_1``, ``slope_1_over_v``, ``K_s2``,
        ``p_star_s2``, ``eps_star_s2``, ``slope_s2``, ``large_v``, ``large_v_s2``, ``nu``,
        ``levels``, ``width``, ``leaf_masking``, ``leaf_uniform``, ``mean_masking``,
        ``mean_uniform``, ``curvature``, ``density_evolution``.
    """
    q = (1 - p) / (v - 1)
    Fs = mean_field_map()
    wt, ww = average_weights()
    a_sym, Wt, Ww, Fsym = sp.symbols("a W_true W_wrong F(p)")
    crit = critical_point_s2()
    crit_inf = large_v_critical_s2()
    curv = phi_curvature()
    K2 = reduced_fixed_point_polynomial(2)
    pstar, eps_star_sym, nu_sym, ell_sym, width_sym = sp.symbols(
        r"p^* \varepsilon^* nu ell \Delta\varepsilon")
    Finf = large_v_map()

    def law_expr(process):
        return sp.Tuple(*[sp.Tuple(a_, b_) for a_, b_ in leaf_law(process)])

    steps = [
        Step("A child message puts mass p on the true symbol and (1-p)/(v-1) on each other; "
             "summed over the v symbols it is normalised.",
             sp.Eq(sp.Sum(sp.Function(r"\nu_i")(_b), (_b, 1, v)), sp.simplify(p + (v - 1) * q)),
             "per_child_sum"),
        Step("The weights prod_i nu_i(t_i) of all v^s tuples sum to the product of these sums, 1; "
             "the true tuple has weight p^s, so a tuple drawn uniformly among the v^s - 1 others "
             "(every non-true rule is, marginally) has average weight",
             sp.Eq(a_sym, wrong_tuple_weight()), "a"),
        Step("The true parent owns the true tuple and m-1 other rules (average upward weight):",
             sp.Eq(Wt, wt), "W_true"),
        Step("A wrong parent owns m rules, none the true tuple (unambiguous grammar):",
             sp.Eq(Ww, ww), "W_wrong"),
        Step("For arbitrary normalised children the same argument gives the parent true-mass as a "
             "function of w = prod_i p_i alone (ratio of average weights):",
             sp.Eq(sp.Function("Phi")(w), parent_mass()(w)), "Phi"),
        Step("Homogeneous messages: the mean-field map F(p) = Phi(p^s), levels counted upward.",
             sp.Eq(Fsym, Fs(p)), "F"),
        Step("1/v is a fixed point (class forgotten):",
             sp.Eq(sp.Symbol("F(1/v)"), sp.simplify(Fs(1 / v))), "fixed_1_over_v"),
        Step("1 is a fixed point (class known):", sp.Eq(sp.Symbol("F(1)"), sp.simplify(Fs(1))),
             "fixed_1"),
        Step("Fixed points are the roots of G(p) = (v^s - 1) x numerator of F(p) - p:",
             sp.Eq(sp.Symbol("G(p)"), fixed_point_polynomial()), "G"),
        Step("Stability of p = 1:", sp.Eq(sp.Symbol("F'(1)"), map_slope(1)), "slope_1"),
        Step("Stability of p = 1/v:", sp.Eq(sp.Symbol("F'(1/v)"), map_slope(1 / v)), "slope_1_over_v"),
        Step("For s = 2, G factors as (1-p)(vp-1)K(p) with K linear:",
             sp.Eq(sp.Symbol("K(p)"), K2.as_expr()), "K_s2"),
        Step("The unstable fixed point for s = 2:", sp.Eq(pstar, crit["p_star"]), "p_star_s2"),
        Step("Critical noise of the epsilon-process, p_0 = 1 - eps(1 - 1/v) = p*:",
             sp.Eq(eps_star_sym, crit["eps_star"]), "eps_star_s2"),
        Step("Slope at p* for s = 2:", sp.Eq(sp.Symbol("F'(p^*)"), crit["slope"]), "slope_s2"),
        Step("Large v at fixed f = m/v^(s-1) (sympy limit):",
             sp.Eq(sp.Symbol(r"F_\infty(p)"), Finf(p)), "large_v"),
        Step("Large-v critical point for s = 2 (p*, eps*, F'(p*)):",
             sp.Eq(sp.Tuple(pstar, eps_star_sym, sp.Symbol("F'(p^*)")),
                   sp.Tuple(crit_inf["p_star"], crit_inf["eps_star"], crit_inf["slope"])),
             "large_v_s2"),
        Step("Deviations from p* grow like lambda^l, lambda = F'(p*); blocks of s^l leaves change "
             "together, so xi ~ |eps - eps*|^(-nu) with",
             sp.Eq(nu_sym, correlation_exponent()), "nu"),
        Step("Levels needed to decide the class from a deviation delta = p_0 - p*:",
             sp.Eq(ell_sym, levels_to_decide()), "levels"),
        Step("Hence the root curve at depth L sharpens with width",
             sp.Eq(width_sym, transition_width()), "width"),
        Step("Masking: law of the leaf true-mass, (probability, mass):",
             sp.Eq(sp.Symbol("law_masking"), law_expr("masking")), "leaf_masking"),
        Step("Uniform diffusion: the observed token is the clean one with probability p_0:",
             sp.Eq(sp.Symbol("law_uniform"), law_expr("uniform")), "leaf_uniform"),
        Step("First moment of the masking law: identical to the epsilon-process leaf mass.",
             sp.Eq(sp.Symbol(r"\bar p_0^{mask}"), leaf_mean_mass("masking")), "mean_masking"),
        Step("First moment of the uniform law:",
             sp.Eq(sp.Symbol(r"\bar p_0^{unif}"), leaf_mean_mass("uniform")), "mean_uniform"),
        Step("Phi is strictly concave for m < v^(s-1), so a one-number closure of heterogeneous "
             "messages over-estimates the true mass (Jensen):",
             sp.Eq(sp.Symbol("Phi''(w)"), curv["factored"]), "curvature"),
        Step("The consistent mean-field theory for masking and uniform diffusion is the "
             "rule-averaged density evolution of the true-mass law (i.i.d. siblings):",
             density_evolution(), "density_evolution"),
    ]
    return Derivation("Random Hierarchy Model: mean-field theory of class reconstruction", steps)
