r"""Raya & Ambrogioni's two claims about late starts, measured on trained DDPMs.

Raya & Ambrogioni (arXiv 2305.19693, NeurIPS 2023) claim in their abstract that "an accurate
simulation of the early dynamics does not significantly contribute to the final generation,
since early fluctuations are reverted to the central fixed point" (claim
``raya.early_irrelevant`` of :mod:`diffphase.validation.claims`), and propose "a Gaussian late
initialization scheme, which significantly improves model performance, achieving up to 3x FID
improvements on fast samplers, while also increasing sample diversity" (``raya.late_init``).
The experiment ``late_start`` of ``diffphase validate`` tests both with the authors' protocol:

* **early dynamics** (``raya.early_irrelevant``). As in the authors' code
  (``fast_sampler.py``, ``evaluate_fids``), a sampler started from :math:`\mathcal N(0, I)`
  at DDPM step :math:`k_0\in\{50, 100, 200, \dots, 900, 1000\}` of a linear-:math:`\beta`
  schedule (:func:`plain_start_curve`) runs every ``stride``-th DDPM step down to 0 (the
  authors run every step; the budget is chosen where the exact-score sampler agrees with the
  exact reverse dynamics, :func:`exact_dynamics_curve`, a reference verdict). Quality
  against :math:`k_0` has a *knee* at the maximum of its second derivative
  (:func:`~diffphase.numerics.symmetry.second_derivative_knee`, the authors' reading: "the
  maximum of the second derivative of the FID curve, which offers a rough estimate of the
  first bifurcation time"). Judged: above the knee the quality is flat (every start within
  ``flat.z`` standard errors of the latest start), and just below it the quality is worse
  (``degrade.z``). The knee is reported beside :math:`t_S = \tfrac12\log\Lambda` and this
  package's :math:`t_U = \tfrac12\operatorname{arsinh}\Lambda`.
* **Gaussian late start** (``raya.late_init``). Few-step samplers (strided DDPM grid,
  :func:`strided_grid`) started from the Gaussian with the noised data's mean
  :math:`e^{-t_0}\mu` and covariance :math:`e^{-2t_0}\Sigma + \Delta_{t_0}I`
  (:func:`diffphase.numerics.symmetry.late_gaussian`) against the same sampler from pure noise
  at :math:`t_T`: the MMD² improvement factor with fresh samples and the class balance, at
  the start time that minimizes MMD² over a grid (:math:`t_0^*`) and at the knee of the
  plain-start curve (the paper's practice: start the Gaussian just before the critical time).

Legs:

* **mixture** (quick and full): a two-class Gaussian mixture :math:`\pm m` of spread
  :math:`\sigma` and weights :math:`(1-w, w)` with a chosen :math:`\Lambda`; one MLP DDPM
  (:mod:`diffphase.validation.train`) and the exact mixture score
  (:class:`~diffphase.numerics.gaussian_mixture.GaussianMixture`). Quality: unbiased MMD² to
  held-out data (:mod:`diffphase.numerics.stats`, Gaussian kernel, median-heuristic
  bandwidth) and class balance (fraction of samples whose exact posterior class is
  :math:`+m`);
* **digits** (full): scikit-learn digits, an MLP DDPM and a classifier
  (:mod:`diffphase.validation.classifier`); quality is MMD² between the classifier's
  penultimate-layer features of generated and held-out images (a kernel distance in a learned
  feature space, in the spirit of KID), and the class balance of the classifier's labels.
  The classifier's held-out accuracy is a precondition of these verdicts.

Samplers are :func:`diffphase.numerics.sde.sample` (exponential integrator, the DDPM
ancestral step). All times are OU times (:mod:`diffphase.numerics.conventions`).

Not the paper's: the "best start time near :math:`t_U`" window and ":math:`t_0^*\ge t_S`" are
this package's constructions (exploratory verdicts); :math:`t_U` itself generalizes the
paper's :math:`\theta_c^2 = \sqrt2-1` of the points :math:`\pm1` to a top eigenvalue
:math:`\Lambda` (:func:`diffphase.numerics.symmetry.equal_norm_instability_time`). Tolerances in
:data:`TOLERANCES`, fixed before measuring.
"""

from __future__ import annotations

from ..engine.experiment import Experiment
from .analysis import analyse_plain_curve, best_start_time
from .configs import FULL_LATE_START, QUICK_LATE_START, STANDARD_LATE_START, LateStartConfig
from .cost import cost_late_start
# strided_grid stays importable from here (it was public in the old module, not in its __all__)
from .curves import strided_grid  # noqa: F401
from .curves import exact_dynamics_curve, late_start_class_balance, plain_start_curve, quality_curves
from .protocol import digits_point, mixture_point
from .tolerances import TOLERANCES
from .verdicts import run_late_start

__all__ = [
    "TOLERANCES",
    "EXPERIMENTS",
    "best_start_time",
    "quality_curves",
    "late_start_class_balance",
    "plain_start_curve",
    "exact_dynamics_curve",
    "analyse_plain_curve",
    "mixture_point",
    "digits_point",
    "run_late_start",
    "cost_late_start",
    "LateStartConfig",
    "QUICK_LATE_START",
    "FULL_LATE_START",
]

#: The experiments of this package, registered by :mod:`diffphase.validation.validate`.
EXPERIMENTS = [
    Experiment(
        name="late_start",
        title="Raya & Ambrogioni: early dynamics and Gaussian late initialization (mixture; digits in full)",
        run=run_late_start,
        cost=cost_late_start,
        quick=QUICK_LATE_START,
        standard=STANDARD_LATE_START,
        full=FULL_LATE_START,
        modes=("quick", "standard", "full"),
    ),
]
