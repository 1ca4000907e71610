r"""Class information along the generative trajectories of a trained class-conditional DDPM.

The experiment ``class_information`` of ``diffphase validate`` judges two statements of
Handke, Koulischer, Raya & Ambrogioni (arXiv 2506.10433, abstract): "the semantic information
transfer is highest in the intermediate stages of diffusion while vanishing during the final
stages" (claim ``handke.intermediate``) and "we found sizable differences between the entropy
rate profiles of different classes" (``handke.class_profiles``). Theory in
:mod:`diffphase.theory.information`, numerics in :mod:`diffphase.numerics.information`.

1. A class-conditional MLP denoiser (label embedding, label dropout so that the same network
   is also the unconditional model; :class:`~diffphase.validation.models.ClassConditional`)
   is trained on a K-class isotropic Gaussian mixture whose classes differ in weight, spread
   and distance (quick: two close classes and a far one, so that the theory gives per-class
   entropy-rate peaks a factor ~3 apart).
2. ``n_paths`` trajectories are generated with the network's *unconditional* score (the
   exponential sampler of :mod:`diffphase.numerics.sde`, states kept at every grid time).
3. Along each trajectory the **online Bayes classifier** runs on the network's own
   class-conditional predictions (:func:`~diffphase.numerics.information.online_posterior`,
   exponential kernel), giving :math:`\hat p(y\mid x_t)` and its entropy — what a practitioner
   can compute, and what the paper measures.
4. The same states are classified by the **exact posterior** of the mixture, and the
   distribution-level theory gives :math:`H(Y\mid X_t)`, its rate, the per-class profiles
   :math:`H_y(t)` and their rates :math:`dH_y/dt`
   (:func:`~diffphase.numerics.information.class_entropy`,
   :func:`~diffphase.numerics.information.entropy_rate`,
   :func:`~diffphase.numerics.information.class_profiles`,
   :func:`~diffphase.numerics.information.class_entropy_rates`).

Statistics (:func:`transfer_statistics`, :func:`peak_separation`), all in OU time, with
bootstrap standard errors over paths:

* the entropy rate :math:`dH/dt` is estimated by differences of the path-averaged entropy
  between ``rate_nodes`` log-spaced grid times; its maximum is *interior* when the rate at the
  argmax node exceeds the rates at both end nodes by :math:`z` bootstrap standard errors of
  the difference;
* the *final stage* is :math:`t \le t_f` with :math:`t_f` the OU time at which the last 10 %
  of the steps of the standard 1000-step DDPM schedule begin (linear
  :math:`\beta\in[10^{-4}, 0.02]`, the schedule of the authors' code;
  :func:`ddpm_final_stage_time`, :math:`t_f = 0.0543`); the share of the whole entropy drop
  that happens there, :math:`[H(t_f) - H(t_{end})]/[H(t_{max}) - H(t_{end})]`, measures how
  far the transfer has vanished (the final-stage mean rate over the peak rate is reported);
* per-class profiles: paths grouped by their final class (distributed as
  :math:`p_t(\cdot\mid y)`, as in class-conditional generation), their entropy rates, and the
  midpoint of each class's transfer (the median of its rate profile, where :math:`H_y` falls to
  half of :math:`H_y(t_{max})`); two classes' profiles differ when the logs of their
  midpoints differ by more than a Bonferroni-corrected number of combined standard errors.
  Peak times of the per-class rates are reported.

The digits leg (``class_information_digits``, ``--full``) runs the same statistics with a
trained noise-conditioned classifier as the reference instead of the exact posterior.
"""

from __future__ import annotations

from ..engine.experiment import Experiment
from .configs import (CLASSIFIER_DIGITS, FULL_CLASS_INFORMATION, FULL_CLASS_INFORMATION_DIGITS, MIXTURE_FULL,
                      MIXTURE_QUICK, QUICK_CLASS_INFORMATION, QUICK_CLASS_INFORMATION_DIGITS, TRAIN_DIGITS, TRAIN_FULL,
                      TRAIN_QUICK, STANDARD_CLASS_INFORMATION, STANDARD_CLASS_INFORMATION_DIGITS, TRAIN_STANDARD,
                      ClassInformationConfig, ClassInformationDigitsConfig)
from .cost import cost_class_information, cost_class_information_digits
from .networks import mixture_classes, train_digits_conditional
from .protocol import digits_information_point, information_point
from .tolerances import TOLERANCES
from .transfer import ddpm_final_stage_time, peak_separation, transfer_statistics
from .verdicts import run_class_information, run_class_information_digits

__all__ = [
    "TOLERANCES",
    "EXPERIMENTS",
    "mixture_classes",
    "ddpm_final_stage_time",
    "transfer_statistics",
    "peak_separation",
    "information_point",
    "run_class_information",
    "cost_class_information",
    "train_digits_conditional",
    "digits_information_point",
    "run_class_information_digits",
    "cost_class_information_digits",
    "ClassInformationConfig",
    "ClassInformationDigitsConfig",
    "QUICK_CLASS_INFORMATION",
    "FULL_CLASS_INFORMATION",
    "QUICK_CLASS_INFORMATION_DIGITS",
    "FULL_CLASS_INFORMATION_DIGITS",
    "MIXTURE_QUICK",
    "MIXTURE_FULL",
    "TRAIN_QUICK",
    "TRAIN_FULL",
    "TRAIN_DIGITS",
    "CLASSIFIER_DIGITS",
]

EXPERIMENTS = [
    Experiment(
        name="class_information",
        title="Class information along trained-model trajectories: where the entropy rate peaks, its final stage, "
              "per-class profiles (Handke et al.)",
        run=run_class_information,
        cost=cost_class_information,
        quick=QUICK_CLASS_INFORMATION,
        standard=STANDARD_CLASS_INFORMATION,
        full=FULL_CLASS_INFORMATION,
        modes=("quick", "standard", "full"),
    ),
    Experiment(
        name="class_information_digits",
        title="Class information on digits: entropy-rate peak, final stage and per-digit profiles of a "
              "class-conditional DDPM (online classifier vs a noisy classifier)",
        run=run_class_information_digits,
        cost=cost_class_information_digits,
        quick=QUICK_CLASS_INFORMATION_DIGITS,
        standard=STANDARD_CLASS_INFORMATION_DIGITS,
        full=FULL_CLASS_INFORMATION_DIGITS,
        modes=("standard", "full"),
        after=("negative_guidance_digits",),  # the same class-conditional digits MLP (its train block)
    ),
]
