r"""Memorization, spurious states and generalization of trained DDPMs vs the training-set size.

The associative-memory picture of diffusion models (Pham, Raya, Negri, Zaki, Ambrogioni &
Krotov, arXiv:2505.21777): trained on few points a DDPM memorizes (one basin of attraction per
training point); trained on many it generalizes (new attractors on the data manifold); near the
crossover *spurious* attractors appear, shared by several generated samples but absent from the
training set. This module measures the three fractions on trained models for a grid of
training-set sizes :math:`K` and compares them with the exact empirical-score dynamics on the
same training sets and with the collapse theory of Biroli et al. (arXiv 2402.18491).

Experiment ``memorization`` (one sweep item per :math:`K`, :func:`memorization_point`):

* data: :math:`K` points of :math:`\mathcal N(0,\sigma^2 I_d)` in small :math:`d` (nested
  training sets: the first :math:`K` rows of one pool);
* a small MLP DDPM is trained on them (:func:`~diffphase.validation.train.train`); samples are
  generated with the shared sampler (:func:`~diffphase.numerics.sde.sample`, exponential
  integrator) from OU time ``t_max`` down to ``t_end`` and denoised there (the integrator's
  last step to :math:`t=0` with the denoiser held fixed, i.e. the Tweedie estimate
  :math:`\hat x_0 = (x + \Delta_{t_{end}} s(x,t_{end}))/e^{-t_{end}}`);
* the same sampler runs with the exact empirical score
  (:class:`~diffphase.numerics.empirical.EmpiricalScore`) from the same initial noise, and the
  forward reference (a training point noised to ``t_end`` and denoised, which is what the exact
  backward dynamics produces in distribution) checks that sampler;
* every sample is classified by :func:`classify_samples`.

The collapse prediction: the empirical-score dynamics stopped at OU time :math:`t_{end}` has
collapsed onto the training points iff :math:`\alpha = \log K/d < \alpha_c(t_{end}) =
\tfrac12\log(1+\sigma^2/(e^{2t_{end}}-1))` (:func:`~diffphase.numerics.gaussian_mixture.critical_load`),
so its memorized fraction falls from 1 to 0 around :math:`K_c = e^{d\,\alpha_c(t_{end})}`; the
finite-:math:`K` version is :math:`t_C(X_K) > t_{end}` with :math:`t_C` the root of the
leave-one-out empirical excess entropy (:func:`~diffphase.numerics.empirical.collapse_time`).
A trained network approximates the empirical score (the optimum of its loss) with finite
capacity, so its crossover comes at a smaller :math:`K`.

All times are OU times (:mod:`diffphase.numerics.conventions`). Tolerances are the
package-level :data:`TOLERANCES`, fixed before measuring; the classification scales are
:data:`SCALES`.

The package holds the classification (:mod:`~diffphase.validation.memorization.classify`),
the measurement (:mod:`~diffphase.validation.memorization.protocol`), the reading of the
sweep (:mod:`~diffphase.validation.memorization.analysis`), the verdicts
(:mod:`~diffphase.validation.memorization.verdicts`, scales and tolerances in
:mod:`~diffphase.validation.memorization.tolerances`), the figure, the cost model and the
configurations (:mod:`~diffphase.validation.memorization.configs`, frozen dataclasses).
"""

from __future__ import annotations

from ..engine.experiment import Experiment
from .classify import (GENERALIZED, MEMORIZED, SPURIOUS, Classification, classify_samples, cluster_size,
                       training_scale)
from .configs import FULL_MEMORIZATION, QUICK_MEMORIZATION, STANDARD_MEMORIZATION
from .cost import cost_memorization
from .protocol import memorization_point
from .tolerances import SCALES, TOLERANCES
from .verdicts import run_memorization

__all__ = [
    "MEMORIZED",
    "SPURIOUS",
    "GENERALIZED",
    "Classification",
    "classify_samples",
    "training_scale",
    "cluster_size",
    "SCALES",
    "TOLERANCES",
    "memorization_point",
    "run_memorization",
    "cost_memorization",
    "EXPERIMENTS",
]

#: The experiments of this package, registered by :mod:`diffphase.validation.validate`.
EXPERIMENTS = [
    Experiment(
        name="memorization",
        title="Memorization, spurious states and generalization vs training-set size: trained model vs "
              "empirical score vs collapse",
        run=run_memorization,
        cost=cost_memorization,
        quick=QUICK_MEMORIZATION,
        standard=STANDARD_MEMORIZATION,
        full=FULL_MEMORIZATION,
        modes=("quick", "standard", "full"),
    ),
]
