r"""Speciation and collapse of Gaussian mixtures, symbolically (Biroli, Bonnaire, de Bortoli
& Mézard, arXiv 2402.18491, *Nat. Commun.* 15, 9957 (2024)).

Time is the package's OU time :math:`t`: :math:`x_t = e^{-t}x_0 + \sqrt{\Delta_t}z`,
:math:`\Delta_t = 1-e^{-2t}`.

Model: the two-class mixture :math:`P_0 = \tfrac12\mathcal N(m,\sigma^2 I_d) +
\tfrac12\mathcal N(-m,\sigma^2 I_d)` with :math:`|m| = \tilde\mu\sqrt d`, and the :math:`K`-class
isotropic mixture :math:`\sum_k \pi_k\mathcal N(\mu_k, \sigma_k^2 I_d)`. Noising a Gaussian
component keeps it Gaussian: mean :math:`e^{-t}\mu_k`, variance
:math:`\Gamma_{k,t} = \Delta_t + \sigma_k^2e^{-2t}`.

Functions here return sympy objects; :func:`derivation` lists the computed steps from the
marginal to the speciation time :math:`t_S`, the clone agreement :math:`\phi(t)`, the excess
entropy :math:`f(t)`, the collapse time :math:`t_C` and the critical load :math:`\alpha_c(t)`.
Numbers come from :mod:`diffphase.numerics.gaussian_mixture`.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from .conventions import delta as _delta
from .conventions import t
from .derivation import Derivation, Step

__all__ = [
    "t",
    "d",
    "mu",
    "sigma",
    "n",
    "alpha",
    "q",
    "y",
    "Lam",
    "gamma",
    "gaussian_density",
    "marginal_two_class",
    "score_two_class",
    "marginal_mixture",
    "score_mixture",
    "class_posterior_two_class",
    "snr_along_mean",
    "overlap_potential",
    "centre_curvature",
    "instability_time",
    "speciation_condition",
    "speciation_time",
    "top_eigenvalue",
    "clone_agreement_integral",
    "clone_agreement_gaussian_form",
    "population_entropy",
    "separated_entropy",
    "excess_entropy",
    "label_information_integral",
    "label_information_gaussian_form",
    "finite_size_population_entropy",
    "finite_size_excess_entropy",
    "collapse_time",
    "critical_load",
    "collapse_time_small_alpha",
    "collapse_time_large_alpha",
    "derivation",
]

#: Dimension.
d = sp.Symbol("d", positive=True)
#: Mean scale :math:`\tilde\mu` (:math:`|m| = \tilde\mu\sqrt d`).
mu = sp.Symbol(r"\tilde{\mu}", positive=True)
#: Standard deviation of each class.
sigma = sp.Symbol("sigma", positive=True)
#: Number of training points.
n = sp.Symbol("n", positive=True)
#: Load :math:`\alpha = \log n / d`.
alpha = sp.Symbol("alpha", positive=True)
#: Projection of :math:`x` on :math:`\hat m`.
q = sp.Symbol("q", real=True)
#: One-dimensional integration variable.
y = sp.Symbol("y", real=True)
#: Top eigenvalue of the data covariance.
Lam = sp.Symbol("Lambda", positive=True)
_z = sp.Symbol("z", real=True)
_h = sp.Symbol("h", positive=True)
_m = sp.Symbol("|m|", positive=True)


def gamma(sig=sigma, time=t) -> sp.Expr:
    r"""Variance of a noised component, :math:`\Gamma_t = \Delta_t + \sigma^2e^{-2t}`."""
    return _delta(time) + sig**2 * sp.exp(-2 * time)


def gaussian_density(x: sp.Matrix, mean: sp.Matrix, var) -> sp.Expr:
    r"""Isotropic Gaussian density :math:`(2\pi v)^{-k/2}\exp(-|x-\mu|^2/2v)` for explicit
    column vectors of length :math:`k`."""
    k = x.shape[0]
    r = x - mean
    return (2 * sp.pi * var) ** sp.Rational(-k, 2) * sp.exp(-(r.T * r)[0] / (2 * var))


def marginal_two_class(x: sp.Matrix, m: sp.Matrix, sig=sigma, time=t) -> sp.Expr:
    r"""Noised marginal :math:`P_t(x) = \tfrac12\mathcal N(x;e^{-t}m,\Gamma_t I) +
    \tfrac12\mathcal N(x;-e^{-t}m,\Gamma_t I)` for explicit vectors ``x``, ``m``."""
    g = gamma(sig, time)
    mt = sp.exp(-time) * m
    return (gaussian_density(x, mt, g) + gaussian_density(x, -mt, g)) / 2


def score_two_class(x: sp.Matrix, m: sp.Matrix, sig=sigma, time=t) -> sp.Matrix:
    r"""Exact score :math:`\nabla\log P_t = \frac{m_t}{\Gamma_t}\tanh\frac{m_t\cdot x}{\Gamma_t}
    - \frac{x}{\Gamma_t}`, :math:`m_t = e^{-t}m`."""
    g = gamma(sig, time)
    mt = sp.exp(-time) * m
    return mt / g * sp.tanh((mt.T * x)[0] / g) - x / g


def marginal_mixture(x: sp.Matrix, means: list, sigmas: list, weights: list, time=t) -> sp.Expr:
    r"""Noised marginal of the isotropic mixture,
    :math:`P_t(x) = \sum_k\pi_k\mathcal N(x; e^{-t}\mu_k, \Gamma_{k,t}I)`."""
    return sum(
        w * gaussian_density(x, sp.exp(-time) * mk, gamma(sk, time))
        for mk, sk, w in zip(means, sigmas, weights)
    )


def score_mixture(x: sp.Matrix, means: list, sigmas: list, weights: list, time=t) -> sp.Matrix:
    r"""Exact score of the isotropic mixture, :math:`\nabla\log P_t(x) = \sum_k w_k(x)
    \frac{e^{-t}\mu_k - x}{\Gamma_{k,t}}` with posterior weights
    :math:`w_k \propto \pi_k\mathcal N(x;e^{-t}\mu_k,\Gamma_{k,t}I)`."""
    comps = [w * gaussian_density(x, sp.exp(-time) * mk, gamma(sk, time))
             for mk, sk, w in zip(means, sigmas, weights)]
    total = sum(comps)
    return sum(
        (c / total * (sp.exp(-time) * mk - x) / gamma(sk, time) for c, mk, sk in zip(comps, means, sigmas)),
        sp.zeros(x.shape[0], 1),
    )


def class_posterior_two_class(yy=y, mnorm=_m, sig=sigma, time=t) -> sp.Expr:
    r"""Posterior of the + class given the projection :math:`y = \hat m\cdot x_t`:
    :math:`\pi_+(y) = \tfrac12[1 + \tanh(a y/\Gamma_t)]`, :math:`a = |m|e^{-t}`."""
    a = mnorm * sp.exp(-time)
    return (1 + sp.tanh(a * yy / gamma(sig, time))) / 2


def snr_along_mean(mnorm=_m, sig=sigma, time=t) -> sp.Expr:
    r"""Signal-to-noise ratio of the class along :math:`\hat m`,
    :math:`h_t = |m|^2e^{-2t}/\Gamma_t`."""
    return mnorm**2 * sp.exp(-2 * time) / gamma(sig, time)


def overlap_potential(qq=q, mnorm=_m, sig=sigma, time=t) -> sp.Expr:
    r"""Potential of the backward dynamics projected on :math:`\hat m`.

    In reverse time the generative SDE is :math:`dx = [x + 2\nabla\log P_t(x)]\,d\tau +
    \sqrt2\,dW`. Projected on :math:`q = \hat m\cdot x` its drift is :math:`-\partial_q V` with

    .. math:: V(q,t) = -\frac{q^2}{2} + \frac{q^2}{\Gamma_t} - 2\log\cosh\frac{a q}{\Gamma_t},
              \quad a = |m|e^{-t}.

    For :math:`\sigma = 1` (:math:`\Gamma_t = 1`) this is :math:`q^2/2 - 2\log\cosh(a q)`.
    """
    g = gamma(sig, time)
    a = mnorm * sp.exp(-time)
    return -qq**2 / 2 + qq**2 / g - 2 * sp.log(sp.cosh(a * qq / g))


def centre_curvature(mnorm=_m, sig=sigma, time=t) -> sp.Expr:
    r""":math:`\partial_q^2 V(0,t) = -1 + 2/\Gamma_t - 2a^2/\Gamma_t^2`; the centre
    :math:`q=0` is unstable (symmetry broken) where it is negative."""
    return sp.simplify(sp.diff(overlap_potential(q, mnorm, sig, time), q, 2).subs(q, 0))


def instability_time(mnorm=_m, sig=sigma) -> sp.Expr:
    r"""OU time at which the centre of :math:`V` loses stability (root of
    :func:`centre_curvature`): with :math:`u = e^{-2t}`,
    :math:`(\sigma^2-1)^2u^2 + 2|m|^2u - 1 = 0`, so
    :math:`t_U = -\tfrac12\log u_+`; for :math:`\sigma=1`, :math:`t_U=\tfrac12\log(2|m|^2)`."""
    u = sp.Symbol("u", positive=True)
    poly = (sig**2 - 1) ** 2 * u**2 + 2 * mnorm**2 * u - 1
    if sp.simplify(sig - 1) == 0:
        root = sp.solve(poly, u)[0]
    else:
        root = (-mnorm**2 + sp.sqrt(mnorm**4 + (sig**2 - 1) ** 2)) / (sig**2 - 1) ** 2
    return -sp.log(root) / 2


def speciation_condition(lam=Lam, time=t) -> sp.Eq:
    r"""Speciation condition :math:`\Lambda e^{-2t} = 1` (Biroli et al.)."""
    return sp.Eq(lam * sp.exp(-2 * time), 1)


def speciation_time(lam=Lam) -> sp.Expr:
    r""":math:`t_S = \tfrac12\log\Lambda`, solved from :func:`speciation_condition`."""
    sol = sp.solve(speciation_condition(lam, t), t)
    return sp.simplify(sol[0])


def top_eigenvalue(mu_=mu, dim=d, sig=sigma) -> sp.Expr:
    r"""Top eigenvalue of the two-class covariance :math:`mm^T + \sigma^2 I`:
    :math:`\Lambda = |m|^2 + \sigma^2 = \tilde\mu^2 d + \sigma^2`."""
    return mu_**2 * dim + sig**2


def clone_agreement_integral(mnorm=_m, sig=sigma, time=t) -> sp.Expr:
    r"""Clone agreement as an integral over the projection :math:`y`:

    .. math:: \phi(t) = \frac12\int dy\,\frac{G_+^2 + G_-^2}{G_+ + G_-},

    :math:`G_\pm` the densities of :math:`\mathcal N(\pm|m|e^{-t}, \Gamma_t)`. Two clones
    branched at :math:`x_t` end in the same class with probability
    :math:`\pi_+^2 + \pi_-^2`, averaged over :math:`y\sim\tfrac12(G_+ + G_-)`."""
    g = gamma(sig, time)
    a = mnorm * sp.exp(-time)
    gp = sp.exp(-(y - a) ** 2 / (2 * g)) / sp.sqrt(2 * sp.pi * g)
    gm = sp.exp(-(y + a) ** 2 / (2 * g)) / sp.sqrt(2 * sp.pi * g)
    return sp.Integral((gp**2 + gm**2) / (gp + gm), (y, -sp.oo, sp.oo)) / 2


def clone_agreement_gaussian_form(h=_h) -> sp.Expr:
    r"""The same as a Gaussian average over :math:`z\sim\mathcal N(0,1)`:
    :math:`\phi = \tfrac12 + \tfrac12\,\mathbb E_z\tanh^2(h + \sqrt h z)`,
    :math:`h = h_t` of :func:`snr_along_mean`."""
    dens = sp.exp(-_z**2 / 2) / sp.sqrt(2 * sp.pi)
    return sp.Rational(1, 2) + sp.Integral(dens * sp.tanh(h + sp.sqrt(h) * _z) ** 2, (_z, -sp.oo, sp.oo)) / 2


def population_entropy(sig=sigma, time=t) -> sp.Expr:
    r"""Entropy per dimension of the noised population at large :math:`d`,
    :math:`s(t) = \tfrac12\log(2\pi e\Gamma_t)` (the class label adds at most
    :math:`\log 2/d`)."""
    return sp.log(2 * sp.pi * sp.E * gamma(sig, time)) / 2


def separated_entropy(alph=alpha, time=t) -> sp.Expr:
    r"""Entropy per dimension of :math:`n = e^{\alpha d}` separated Gaussians of variance
    :math:`\Delta_t`: :math:`s_{sep} = \alpha + \tfrac12 + \tfrac12\log(2\pi\Delta_t)`."""
    return alph + sp.Rational(1, 2) + sp.log(2 * sp.pi * _delta(time)) / 2


def excess_entropy(alph=alpha, sig=sigma, time=t) -> sp.Expr:
    r"""Excess entropy :math:`f(t) = s_{sep} - s = \alpha + \tfrac12\log\frac{\Delta_t}{\Gamma_t}`
    (uncondensed branch; collapse where it vanishes)."""
    return sp.simplify(sp.expand_log(separated_entropy(alph, time) - population_entropy(sig, time), force=True))


def label_information_integral(mnorm=_m, sig=sigma, time=t) -> sp.Expr:
    r"""Mutual information of the class label and :math:`x_t` for the two-class mixture, as an
    integral over the projection :math:`y = \hat m\cdot x_t`:

    .. math:: I(Y;X_t) = \frac12\sum_\pm\int dy\,G_\pm\log\frac{2G_\pm}{G_++G_-},

    :math:`G_\pm` the densities of :math:`\mathcal N(\pm|m|e^{-t},\Gamma_t)`: the label
    enters the density of :math:`x_t` only through :math:`y`, the other :math:`d-1` coordinates
    being the same Gaussian in both classes."""
    g = gamma(sig, time)
    a = mnorm * sp.exp(-time)
    gp = sp.exp(-(y - a) ** 2 / (2 * g)) / sp.sqrt(2 * sp.pi * g)
    gm = sp.exp(-(y + a) ** 2 / (2 * g)) / sp.sqrt(2 * sp.pi * g)
    return (sp.Integral(gp * sp.log(2 * gp / (gp + gm)), (y, -sp.oo, sp.oo))
            + sp.Integral(gm * sp.log(2 * gm / (gp + gm)), (y, -sp.oo, sp.oo))) / 2


def label_information_gaussian_form(h=_h) -> sp.Expr:
    r"""The same as a Gaussian average, :math:`I = \mathbb E_z\log\big(1+\tanh(h+\sqrt h z)\big)`,
    :math:`z\sim\mathcal N(0,1)`, :math:`h = h_t` of :func:`snr_along_mean`: from
    :math:`2G_+/(G_++G_-) = 1+\tanh(ay/\Gamma_t)` and :math:`y = a+\sqrt{\Gamma_t}z` in
    the + class (the - class gives the same by symmetry). It rises from 0 (:math:`h=0`) to
    :math:`\log 2` (:math:`h\to\infty`)."""
    dens = sp.exp(-_z**2 / 2) / sp.sqrt(2 * sp.pi)
    return sp.Integral(dens * sp.log(1 + sp.tanh(h + sp.sqrt(h) * _z)), (_z, -sp.oo, sp.oo))


def finite_size_population_entropy(info=sp.Symbol("I", nonnegative=True), dim=d, sig=sigma, time=t) -> sp.Expr:
    r"""Exact entropy per dimension of the noised two-class population at any :math:`d`:
    :math:`s(t) = \tfrac12\log(2\pi e\Gamma_t) + I(Y;X_t)/d` (the chain rule
    :math:`H(X_t) = H(X_t\mid Y) + I(Y;X_t)`, each class an isotropic Gaussian of variance
    :math:`\Gamma_t`)."""
    return population_entropy(sig, time) + info / dim


def finite_size_excess_entropy(alph=alpha, info=sp.Symbol("I", nonnegative=True), dim=d, sig=sigma,
                               time=t) -> sp.Expr:
    r"""Excess entropy with the label information: :math:`f(t) = \alpha +
    \tfrac12\log\frac{\Delta_t}{\Gamma_t} - \frac{I(Y;X_t)}{d}`. The large-:math:`d` form
    (:func:`excess_entropy`) drops the last term, which is at most :math:`\log 2/d`, i.e. at
    most :math:`\log 2/\log n` of :math:`\alpha`."""
    return sp.expand_log(separated_entropy(alph, time) - finite_size_population_entropy(info, dim, sig, time),
                         force=True)


def collapse_time(alph=alpha, sig=sigma) -> sp.Expr:
    r""":math:`t_C = \tfrac12\log\big(1 + \sigma^2/(e^{2\alpha}-1)\big)`, the root of
    :func:`excess_entropy` (solved by sympy in :func:`derivation`)."""
    return sp.log(1 + sig**2 / (sp.exp(2 * alph) - 1)) / 2


def critical_load(sig=sigma, time=t) -> sp.Expr:
    r"""Critical load :math:`\alpha_c(t) = \tfrac12\log(1 + \sigma^2e^{-2t}/\Delta_t)`:
    trajectories have collapsed at time :math:`t` iff :math:`\alpha < \alpha_c(t)`."""
    return sp.log(1 + sig**2 * sp.exp(-2 * time) / _delta(time)) / 2


def collapse_time_small_alpha(alph=alpha, sig=sigma) -> sp.Expr:
    r"""Leading behaviour as :math:`\alpha\to0`: :math:`t_C \simeq \tfrac12\log(\sigma^2/2\alpha)`
    (few data per dimension: collapse early in the backward dynamics)."""
    return sp.log(sig**2 / (2 * alph)) / 2


def collapse_time_large_alpha(alph=alpha, sig=sigma) -> sp.Expr:
    r"""Leading behaviour as :math:`\alpha\to\infty`: :math:`t_C \simeq \tfrac12\sigma^2e^{-2\alpha}`
    (exponentially many data: collapse only at the very end)."""
    return sig**2 * sp.exp(-2 * alph) / 2


@lru_cache(maxsize=1)
def derivation() -> Derivation:
    r"""The computed derivation of speciation and collapse for the two-class mixture.

    Every equation is produced by sympy from the previous ones (``solve``, ``diff``,
    ``simplify``, ``limit``); nothing is retyped.

    Returns
    -------
    Derivation
        Named steps: ``Gamma``, ``score``, ``potential``, ``curvature``, ``t_U``,
        ``balance``, ``t_S``, ``Lambda``, ``posterior``, ``phi``, ``phi_h``, ``s_sep``,
        ``s_pop``, ``f``, ``t_C``, ``s_finite``, ``info_ratio``, ``info_h``, ``f_finite``,
        ``alpha_c``, ``t_C_small``, ``t_C_large``.
    """
    time = t
    g = gamma()
    a = _m * sp.exp(-time)
    G = sp.Symbol(r"\Gamma_t", positive=True)
    steps: list[Step] = []
    steps.append(Step(
        "Each noised component is Gaussian with mean e^{-t}(±m) and variance Γ_t.",
        sp.Eq(G, g), "Gamma"))
    # score along m-hat: the 1-d marginal factorises as 2 exp(-(q²+a²)/2Γ) cosh(aq/Γ)
    p1 = 2 * sp.exp(-(q**2 + a**2) / (2 * G)) * sp.cosh(a * q / G)
    S = sp.Function("S")
    score = sp.simplify(sp.diff(sp.log(p1), q))
    steps.append(Step(
        "Along q = m̂·x the noised marginal is G₊ + G₋ ∝ exp(-(q²+a²)/2Γ) cosh(aq/Γ), "
        "a = |m|e^{-t}; the exact score is its log-derivative.",
        sp.Eq(S(q), score), "score"))
    V = sp.Function("V")
    pot = -q**2 / 2 + q**2 / G - 2 * sp.log(sp.cosh(a * q / G))
    steps.append(Step(
        "Backward drift x + 2∇log P_t projected on m̂ is -∂V/∂q with the overlap potential",
        sp.Eq(V(q, time), pot), "potential"))
    curv = sp.simplify(sp.diff(pot, q, 2).subs(q, 0))
    steps.append(Step("Curvature of the potential at the symmetric centre q = 0.",
                      sp.Eq(sp.Symbol("V''(0)"), curv), "curvature"))
    u = sp.Symbol("u", positive=True)
    curv_u = sp.expand(sp.simplify((curv * G**2).subs(G, g).subs(sp.exp(-2 * time), u).subs(sp.exp(-time), sp.sqrt(u))))
    steps.append(Step(
        "With u = e^{-2t}, Γ_t² V''(0) is a quadratic in u; the centre is unstable below its "
        "positive root. For σ = 1 it gives t_U = ½ log(2|m|²).",
        sp.Eq(sp.Symbol("t_U"), sp.simplify(-sp.log(sp.solve(curv_u.subs(sigma, 1), u)[0]) / 2)), "t_U"))
    steps.append(Step(
        "Linearised at large t, the projection of x_t on the top eigenvector of the data "
        "covariance has variance Λe^{-2t} + Δ_t; the structure is resolved when the signal "
        "Λe^{-2t} balances the noise Δ_t → 1.",
        speciation_condition(), "balance"))
    steps.append(Step("Solving for the speciation time.",
                      sp.Eq(sp.Symbol("t_S"), speciation_time()), "t_S"))
    vec = sp.Matrix(sp.symbols("m_1:4", real=True))
    cov = vec * vec.T + sigma**2 * sp.eye(3)
    eig = sp.simplify(((cov * vec)[0] / vec[0]))
    steps.append(Step(
        "For the two-class mixture the covariance is mm^T + σ²I; m is its top eigenvector "
        "(shown for d = 3), so Λ = |m|² + σ² = μ̃²d + σ².",
        sp.Eq(Lam, eig), "Lambda"))
    gp = sp.exp(-(y - a) ** 2 / (2 * G))
    gm = sp.exp(-(y + a) ** 2 / (2 * G))
    post = 1 / (1 + sp.simplify(sp.powsimp(gm / gp)))
    steps.append(Step("Posterior of the + class given y = m̂·x_t (Bayes with equal weights).",
                      sp.Eq(sp.Symbol(r"\pi_+(y)"), post), "posterior"))
    steps.append(Step(
        "Two clones finish independently from x_t: they agree with probability π₊² + π₋²; "
        "averaging over y ~ ½(G₊ + G₋),",
        sp.Eq(sp.Symbol(r"\phi(t)"), clone_agreement_integral()), "phi"))
    steps.append(Step(
        "Since π₊² + π₋² = ½(1 + tanh²(ay/Γ)) and the two classes are symmetric, φ depends only "
        "on h_t = |m|²e^{-2t}/Γ_t:",
        sp.Eq(sp.Symbol(r"\phi(t)"), clone_agreement_gaussian_form()), "phi_h"))
    steps.append(Step("Entropy per dimension of n = e^{αd} separated Gaussians of variance Δ_t.",
                      sp.Eq(sp.Symbol("s_sep"), separated_entropy()), "s_sep"))
    steps.append(Step("Entropy per dimension of the noised population (large d).",
                      sp.Eq(sp.Symbol("s"), population_entropy()), "s_pop"))
    f = excess_entropy()
    steps.append(Step("Excess entropy f = s_sep − s.", sp.Eq(sp.Symbol("f(t)"), f), "f"))
    E = sp.Symbol("E", positive=True)  # E = e^{2t}
    f_E = sp.expand_log(f.subs(sp.exp(2 * time), E), force=True)
    E_c = sp.solve(sp.Eq(f_E, 0), E)[0]
    steps.append(Step("Collapse where f vanishes (solved for e^{2t}).",
                      sp.Eq(sp.Symbol("t_C"), sp.log(sp.simplify(E_c)) / 2), "t_C"))
    I = sp.Symbol("I", nonnegative=True)
    gp_, gm_ = [sp.exp(-(y - sgn * a) ** 2 / (2 * G)) for sgn in (1, -1)]
    ratio = sp.simplify(2 * gp_ / (gp_ + gm_))
    assert sp.simplify((ratio - (1 + sp.tanh(a * y / G))).rewrite(sp.exp)) == 0
    steps.append(Step(
        "At finite d the population entropy carries the class label: H(X_t) = H(X_t|Y) + I(Y;X_t), "
        "each class an isotropic Gaussian of variance Γ_t, so",
        sp.Eq(sp.Symbol("s"), finite_size_population_entropy(I)), "s_finite"))
    steps.append(Step(
        "The label enters only through y = m̂·x_t: I(Y;X_t) = ½Σ±∫G± log(2G±/(G₊+G₋)), and "
        "2G₊/(G₊+G₋) simplifies to",
        sp.Eq(sp.Symbol(r"\frac{2G_+}{G_+ + G_-}"), 1 + sp.tanh(a * y / G)), "info_ratio"))
    steps.append(Step(
        "With y = a + √Γ_t z in the + class (the − class is symmetric), I depends only on h_t:",
        sp.Eq(I, label_information_gaussian_form()), "info_h"))
    f_fin = finite_size_excess_entropy(alpha, I)
    steps.append(Step(
        "Excess entropy at finite d; the large-d form drops I/d ≤ log 2/d.",
        sp.Eq(sp.Function("f_d")(time), f_fin), "f_finite"))
    assert sp.simplify(f_fin - (f - I / d)) == 0
    ac = sp.solve(sp.Eq(f, 0), alpha)
    steps.append(Step("Read the other way: the critical load at time t.",
                      sp.Eq(sp.Symbol(r"\alpha_c(t)"), sp.simplify(ac[0])), "alpha_c"))
    small = sp.limit(collapse_time() - collapse_time_small_alpha(), alpha, 0)
    steps.append(Step("Few data (α → 0): t_C − ½log(σ²/2α) → " + sp.sstr(small) + ".",
                      sp.Eq(sp.Symbol("t_C"), collapse_time_small_alpha()), "t_C_small"))
    large = sp.limit(collapse_time() / collapse_time_large_alpha(), alpha, sp.oo)
    steps.append(Step("Many data (α → ∞): t_C / (½σ²e^{-2α}) → " + sp.sstr(large) + ".",
                      sp.Eq(sp.Symbol("t_C"), collapse_time_large_alpha()), "t_C_large"))
    return Derivation("Speciation and collapse of a two-class Gaussian mixture", steps)
