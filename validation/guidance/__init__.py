r"""Dynamic negative guidance vs plain negative prompting on a trained class-conditional DDPM.

The experiment ``negative_guidance`` of ``diffphase validate`` judges the claim of Koulischer
et al. (arXiv 2410.14398, ICLR 2025, abstract) that "DNG leads to higher safety, preservation
of class balance and image quality when compared with baseline methods" (claim
``koulischer.dng``), on the baseline of their code, negative prompting (NP). One class
:math:`c` of a K-class Gaussian mixture is unwanted. Sampling uses the guided denoiser

.. math:: \tilde D = D - w\,(D_c - D),\qquad w = \lambda\frac{p_t}{1-p_t}\ \text{(dynamic, DNG)}
          \quad\text{or}\quad w = \lambda\ \text{(constant: NP)},

with :math:`p_t` the posterior of :math:`c` tracked online along the chain (sampler
:func:`diffphase.numerics.information.negative_guidance_sample`; the authors' code tracks it
the same way, with temperature 1, no offset and the clip :math:`p_{max} = 0.99` by default).
For every scale :math:`\lambda` of a grid and both modes, with the trained network
(:class:`~diffphase.validation.models.ClassConditional`, the network of
:mod:`diffphase.validation.information`) and with the exact mixture denoisers
(:func:`~diffphase.numerics.information.mixture_denoisers`: what the method does when the
denoisers are perfect), all runs on the same initial noise and sampler noise, it measures, as
the authors' code does on CIFAR-10 (fraction of forbidden images, KL divergence of the class
distribution to the target, FID to the data without the removed class):

* safety: the fraction :math:`u` of samples in the unwanted class (exact-posterior label);
* balance: :math:`\mathrm{KL}(\text{target}\,\|\,\text{obtained}) = \sum_{y\ne c}w_y\log(w_y/f_y)`,
  :math:`w_y` the prior weights renormalized over the remaining classes and :math:`f_y` the
  fraction of *all* samples labelled :math:`y` (floored at :math:`1/n`);
* quality: the unbiased Gaussian-kernel :math:`\mathrm{MMD}^2` of
  :mod:`diffphase.numerics.stats` to samples of the remaining classes (bandwidth by the
  median heuristic on that reference).

The claim is judged as **dominance over the λ grid** (:func:`front_dominance`): every NP point
:math:`(u_j, m_j)` has a DNG point that is not worse in safety nor in quality (nor, in the
second plane, in balance) beyond 3 standard errors of the paired difference, and at least one
NP point is beaten in quality by more than 3 standard errors by a DNG point that is not worse
in safety. The standard errors are those of *paired* differences (same noise in every run):
for :math:`u` the per-sample indicator differences, for :math:`\mathrm{MMD}^2` the first-order
Hoeffding projection of the difference of the two U-statistics against the same reference, for
the KL a paired bootstrap over samples. OU time throughout.
"""

from __future__ import annotations

from ..engine.experiment import Experiment
from .configs import (FULL_NEGATIVE_GUIDANCE, FULL_NEGATIVE_GUIDANCE_DIGITS, QUICK_NEGATIVE_GUIDANCE,
                      QUICK_NEGATIVE_GUIDANCE_DIGITS, STANDARD_NEGATIVE_GUIDANCE, STANDARD_NEGATIVE_GUIDANCE_DIGITS,
                      NegativeGuidanceConfig, NegativeGuidanceDigitsConfig)
from .cost import cost_negative_guidance, cost_negative_guidance_digits
from .metrics import front_dominance, guidance_metrics, paired_differences
from .protocol import digits_guidance_point, guidance_point
from .tolerances import TOLERANCES
from .verdicts import run_negative_guidance, run_negative_guidance_digits

__all__ = ["TOLERANCES", "EXPERIMENTS", "guidance_metrics", "front_dominance", "paired_differences",
           "guidance_point", "run_negative_guidance", "cost_negative_guidance", "digits_guidance_point",
           "run_negative_guidance_digits", "cost_negative_guidance_digits", "NegativeGuidanceConfig",
           "NegativeGuidanceDigitsConfig", "QUICK_NEGATIVE_GUIDANCE", "FULL_NEGATIVE_GUIDANCE",
           "QUICK_NEGATIVE_GUIDANCE_DIGITS", "FULL_NEGATIVE_GUIDANCE_DIGITS"]

EXPERIMENTS = [
    Experiment(
        name="negative_guidance",
        title="Dynamic negative guidance vs negative prompting: safety, quality and balance fronts over a guidance "
              "scale grid (Koulischer et al.)",
        run=run_negative_guidance,
        cost=cost_negative_guidance,
        quick=QUICK_NEGATIVE_GUIDANCE,
        standard=STANDARD_NEGATIVE_GUIDANCE,
        full=FULL_NEGATIVE_GUIDANCE,
        modes=("quick", "standard", "full"),
    ),
    Experiment(
        name="negative_guidance_digits",
        title="Dynamic negative guidance on digits: safety, quality and balance fronts against the classifier's "
              "own ceiling",
        run=run_negative_guidance_digits,
        cost=cost_negative_guidance_digits,
        quick=QUICK_NEGATIVE_GUIDANCE_DIGITS,
        standard=STANDARD_NEGATIVE_GUIDANCE_DIGITS,
        full=FULL_NEGATIVE_GUIDANCE_DIGITS,
        modes=("standard", "full"),
    ),
]
