r"""Memorization on a linear manifold: which tangent directions the empirical score loses,
symbolically.

Data: :math:`N` points :math:`a^\mu = \sum_{i=1}^k s_i^\mu u_i` on a :math:`k`-dimensional
linear subspace of :math:`\mathbb R^D` (orthonormal :math:`u_i`), with independent
:math:`s_i\sim\mathcal N(0,\sigma_i^2)`; the :math:`D-k` normal directions have zero variance.
Time is OU time :math:`t` (:math:`x_t = e^{-t}x_0+\sqrt{\Delta_t}z`); the manifold paper
(Achilli et al., arXiv 2410.08727, "Losing dimensions: geometric memorization in generative
diffusion") works with the variance-exploding noise variance :math:`\tau = e^{2t}-1`
(:func:`diffphase.theory.conventions.ve_variance`), and every result here is given in both.

The empirical score weighs the training points by :math:`e^{-|y-a^\mu|^2/2\tau}`, with
:math:`y = e^{t}x` (:mod:`diffphase.theory.hopfield`: a dense memory at
:math:`\beta_t = 1/\tau`). Direction :math:`i` carries the mutual information
:math:`h_i(\tau) = \tfrac12\log(1+\sigma_i^2/\tau)` nats about the training point, and

* **the latent-subspace collapse** (random-energy-model condensation, Biroli et al. arXiv
  2402.18491 extended to unequal variances): the posterior condenses on one training point
  when :math:`\sum_i h_i(\tau) = \log N`. Only the :math:`k` tangent directions enter: the
  collapse is governed by the intrinsic dimension, not by :math:`D`; for equal variances it
  is the isotropic :math:`t_C` of :mod:`diffphase.theory.gaussian_mixture` with :math:`d = k`;
* **per-direction thresholds** (this package's reconstruction of a per-subspace reading, not a
  formula of the paper):
  direction :math:`i` is lost when its own information reaches the per-direction share
  :math:`\alpha = \log N/k` of the :math:`\log N` nats that single out a training point,
  :math:`\tau_{c,i} = \sigma_i^2/(e^{2\alpha}-1)\simeq\sigma_i^2/2\alpha`; equivalently
  :math:`\log N_{c,i}(\tau) = k\,h_i(\tau)`. Higher-variance directions have the larger
  :math:`\tau_{c,i}`: in the backward dynamics they are lost first. The thresholds bracket
  the collapse, :math:`\min_i\tau_{c,i}\le\tau_C\le\max_i\tau_{c,i}`, and all equal it for
  equal variances. (Measured on the exact empirical score, :mod:`diffphase.numerics.manifold`:
  the *count* of surviving directions follows the thresholds within a factor of a few in
  :math:`N`, the per-direction order does not.) The authors' own per-subspace critical noise,
  in the theory cell of their notebook for data projected on the sphere, is
  :math:`\sigma^2_{c,i} = \sigma_i^2/2\log N` (no factor :math:`k`), a large-dimension
  result; :mod:`diffphase.validation.manifold` reports it as exploratory.

Which of the two the exact empirical score follows is a question for the finite-size
reference (:mod:`diffphase.numerics.manifold`): for Gaussian data the Jacobian spectrum loses
the resolved directions *together*, at :math:`\tau_C`.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from .conventions import delta as _delta
from .conventions import t
from .conventions import time_from as _time_from
from .conventions import ve_variance as _ve
from .derivation import Derivation, Step
from .gaussian_mixture import collapse_time as _gm_collapse_time

__all__ = [
    "t",
    "tau",
    "n",
    "k",
    "sigma2",
    "mutual_information",
    "collapse_condition",
    "critical_noise",
    "critical_time",
    "critical_log_size",
    "isotropic_collapse_noise",
    "derivation",
]

#: Variance-exploding noise variance :math:`\tau = e^{2t}-1`.
tau = sp.Symbol("tau", positive=True)
#: Number of training points :math:`N`.
n = sp.Symbol("N", positive=True)
#: Intrinsic dimension (number of tangent directions).
k = sp.Symbol("k", positive=True, integer=True)
#: Variance :math:`\sigma_i^2` of one tangent direction.
sigma2 = sp.Symbol("sigma_i^2", positive=True)
_a = sp.Symbol("a", real=True)
_yv = sp.Symbol("y", real=True)
_alpha = sp.Symbol("alpha", positive=True)


_v = sp.Symbol("v", positive=True)


@lru_cache(maxsize=1)
def _gauss_entropy_v() -> sp.Expr:
    """Differential entropy of a 1-d Gaussian of variance v: -E log p = ½log(2πv) + E[x²]/2v,
    with E[x²] integrated by sympy."""
    x = sp.Symbol("x", real=True)
    p = sp.exp(-x**2 / (2 * _v)) / sp.sqrt(2 * sp.pi * _v)
    second = sp.integrate(x**2 * p, (x, -sp.oo, sp.oo))
    return sp.log(2 * sp.pi * _v) / 2 + second / (2 * _v)


def mutual_information(s2=sigma2, noise=tau) -> sp.Expr:
    r""":math:`I(a; a+\sqrt\tau z) = h(y) - h(y\mid a) = \tfrac12\log(1+\sigma_i^2/\tau)` for
    :math:`a\sim\mathcal N(0,\sigma_i^2)`: the information one tangent direction carries about
    the training point at VE noise :math:`\tau` (computed from the two Gaussian entropies)."""
    H = _gauss_entropy_v()
    info = H.subs(_v, s2 + noise) - H.subs(_v, noise)
    ratio = sp.simplify(sp.exp(2 * sp.logcombine(sp.simplify(info), force=True)))  # positive arguments
    return sp.log(sp.expand(ratio)) / 2


def collapse_condition(variances, N=n, noise=tau) -> sp.Eq:
    r"""Latent-subspace collapse: :math:`\sum_i\tfrac12\log(1+\sigma_i^2/\tau) = \log N` for the
    given list of tangent variances (the REM condensation at a noised training point; the
    normal directions contribute nothing)."""
    return sp.Eq(sum(mutual_information(v, noise) for v in variances), sp.log(N))


def isotropic_collapse_noise(s2=sigma2, N=n, kk=k) -> sp.Expr:
    r""":math:`\tau_C = \sigma^2/(N^{2/k}-1)` for :math:`k` directions of equal variance
    (solved from :func:`collapse_condition`)."""
    return sp.simplify(sp.solve(sp.Eq(kk * mutual_information(s2, tau), sp.log(N)), tau)[0])


def critical_noise(s2=sigma2, N=n, kk=k) -> sp.Expr:
    r"""Per-direction critical VE noise :math:`\tau_{c,i} = \sigma_i^2/(e^{2\alpha}-1)`,
    :math:`\alpha = \log N/k`: root of :math:`h_i(\tau) = \alpha`."""
    return sp.simplify(sp.solve(sp.Eq(mutual_information(s2, tau), _alpha), tau)[0].subs(_alpha, sp.log(N) / kk))


def critical_time(s2=sigma2, N=n, kk=k) -> sp.Expr:
    r"""Per-direction critical OU time :math:`t_{c,i} = \tfrac12\log(1+\tau_{c,i})
    = \tfrac12\log\big(1+\sigma_i^2/(N^{2/k}-1)\big)` (conversion through
    :func:`diffphase.theory.conventions.time_from`)."""
    return _time_from("ve_variance", critical_noise(s2, N, kk))


def critical_log_size(s2=sigma2, time=t, kk=k) -> sp.Expr:
    r"""Per-direction critical data size at OU time :math:`t`:
    :math:`\log N_{c,i} = \tfrac k2\log\big(1+\sigma_i^2e^{-2t}/\Delta_t\big)`, i.e.
    :math:`k\,h_i(\tau)` at :math:`\tau = e^{2t}-1`."""
    return kk * mutual_information(s2, _ve(time))


@lru_cache(maxsize=1)
def derivation() -> Derivation:
    r"""The computed derivation: information per direction, latent-subspace collapse, its
    isotropic limit (checked against :mod:`diffphase.theory.gaussian_mixture`), per-direction
    critical noise, time and size, the ordering of the losses and the bracketing of the
    collapse.

    Returns
    -------
    Derivation
        Named steps: ``tau``, ``info``, ``collapse``, ``tau_C_iso``, ``t_C_iso``,
        ``tau_ci``, ``t_ci``, ``logN_ci``, ``order``, ``small_alpha``, ``before_formed``,
        ``bracket``.
    """
    steps: list[Step] = []
    steps.append(Step("Variance-exploding noise variance of OU time t (the manifold paper's time).",
                      sp.Eq(tau, _ve(t)), "tau"))
    h = mutual_information()
    steps.append(Step("Information that one tangent direction of variance σ_i² carries about the training "
                      "point at noise τ: h(a + √τ z) − h(√τ z).", sp.Eq(sp.Symbol("h_i"), h), "info"))
    s1, s2_, s3 = sp.symbols("sigma_1^2 sigma_2^2 sigma_3^2", positive=True)
    steps.append(Step("The posterior over the N training points condenses (REM) when the directions "
                      "together carry log N nats; shown for k = 3 tangent directions (normal "
                      "directions carry none):", collapse_condition([s1, s2_, s3]), "collapse"))
    tau_iso = isotropic_collapse_noise()
    steps.append(Step("Equal variances: the collapse depends on the intrinsic dimension k only.",
                      sp.Eq(sp.Symbol("tau_C"), tau_iso), "tau_C_iso"))
    t_iso = sp.simplify(_time_from("ve_variance", tau_iso))
    sig = sp.Symbol("sigma", positive=True)
    gm_t = _gm_collapse_time(sp.log(n) / k, sig).subs(sig, sp.sqrt(sigma2))
    same = sp.simplify(sp.exp(2 * t_iso) - sp.exp(2 * gm_t))
    steps.append(Step("In OU time this is the Gaussian-mixture t_C with d = k and α = log N/k "
                      f"(difference of the exponentials computed: {sp.sstr(same)}).",
                      sp.Eq(sp.Symbol("t_C"), t_iso), "t_C_iso"))
    tci = critical_noise()
    steps.append(Step("Per-direction threshold: h_i(τ) equals the per-direction share α = log N/k.",
                      sp.Eq(sp.Symbol("tau_{c,i}"), tci), "tau_ci"))
    steps.append(Step("In OU time, t = ½log(1 + τ):", sp.Eq(sp.Symbol("t_{c,i}"), critical_time()), "t_ci"))
    steps.append(Step("Read at fixed time: the critical data size of direction i.",
                      sp.Eq(sp.Symbol("log N_{c,i}"), sp.simplify(critical_log_size())), "logN_ci"))
    dt = sp.simplify(sp.diff(critical_time(), sigma2))
    steps.append(Step("∂t_{c,i}/∂σ_i² > 0 for N^{2/k} > 1: higher-variance directions are lost first "
                      "(earlier in the backward dynamics).", sp.Eq(sp.Symbol(r"\partial t_{c,i}/\partial\sigma_i^2"), dt),
                      "order"))
    small = sp.limit(tci.subs(n, sp.exp(_alpha * k)) * 2 * _alpha / sigma2, _alpha, 0)
    steps.append(Step(f"Few data per direction (α → 0): τ_{{c,i}}·2α/σ_i² → {sp.sstr(small)}, the "
                      "linearised threshold of the manifold paper.",
                      sp.Eq(sp.Symbol("tau_{c,i}"), sigma2 / (2 * _alpha)), "small_alpha"))
    ratio = sp.simplify(tci / sigma2)
    a_form = sp.solve(sp.Eq(ratio.subs(n, sp.exp(_alpha * k)), 1), _alpha)
    steps.append(Step("τ_{c,i}/σ_i² is the same for all directions; a direction is lost before the noise "
                      "falls below its variance (before it forms) iff α is below",
                      sp.Eq(sp.Symbol("alpha_*"), a_form[0]), "before_formed"))
    hs = [mutual_information(v) for v in (s1, s2_, s3)]
    mean_gap = sp.simplify(sum(hi - sp.log(n) / 3 for hi in hs) - (collapse_condition([s1, s2_, s3]).lhs
                                                                   - collapse_condition([s1, s2_, s3]).rhs))
    steps.append(Step("At the collapse the h_i average to α (Σ_i(h_i − α) minus the collapse condition is "
                      f"{sp.sstr(mean_gap)}), so min_i τ_{{c,i}} ≤ τ_C ≤ max_i τ_{{c,i}}, with equality for "
                      "equal variances.", sp.Eq(sp.Sum(sp.Symbol("h_i") - _alpha, (sp.Symbol("i"), 1, k)), 0),
                      "bracket"))
    return Derivation("Losing tangent directions: thresholds on a linear manifold", steps)
