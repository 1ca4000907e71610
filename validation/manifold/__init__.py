r"""Selective loss of tangent subspaces, measured with the protocol of Achilli et al. (the
``manifold`` experiment).

Achilli et al. (arXiv 2410.08727, abstract) claim that "different tangent subspaces are lost
due to memorization effects at different critical times and dataset sizes", giving "a
selective loss of dimensionality where some prominent features of the data are memorized
without a full collapse on any individual training point". This module measures that claim
with their protocol (their public code, ``beatriceachilli/losing-dimensions``, synthetic
experiments):

Data
    :math:`D` coordinates of standard deviations 1 (the first :math:`d_1`, subspace ``A``),
    0.3 (the next :math:`d_2`, subspace ``B``) and 0.01 (the rest), each sample divided by
    its norm (projected on the unit sphere) — :func:`~diffphase.validation.data.linear_manifold`
    with ``basis = I`` and ``project_to_sphere=True``. Their size sweep uses :math:`D = 30`,
    :math:`d_1 = 2`, :math:`d_2 = 5` and :math:`N` = 250, 500, 20 000.
Spectrum
    At a point :math:`x_0` and a noise level (variance-exploding :math:`\sigma^2 =
    e^{2t}-1`, OU time ``t``), the scores at the :math:`D` points :math:`x_0+\sigma q_j`
    (:math:`q_j` the rows of a Haar-random orthogonal matrix; in OU coordinates
    :math:`e^{-t}x_0+\sqrt{\Delta_t}q_j`) form a :math:`D\times D` matrix
    (:func:`~diffphase.numerics.manifold.probe_score_matrix`); its largest singular value is
    dropped and the rest divided by their maximum
    (:func:`~diffphase.numerics.manifold.normalized_spectrum`). Read for the trained model's
    score :math:`-\hat\varepsilon/\sqrt{\Delta_t}` and for the exact empirical score of the
    same training set. Where: this package reads both at training points :math:`x_0`; the
    authors' analysis script reads a trained network at one fresh draw of the data
    distribution, and their empirical-score figure at a zero test point, the data mean, which
    :func:`origin_reading` reproduces (a diagnostic, not a verdict: there the reading does not
    depend on :math:`N`, see ``docs/models/manifold.md``).
Reading (this package's)
    A direction the score contracts like a normal direction has normalised value near 1; a
    kept tangent direction of variance :math:`v` has about :math:`\sigma^2/(\sigma^2+v)`. The
    dimension estimate counts the values :math:`\le 1/2`
    (:func:`~diffphase.numerics.manifold.dimension_estimate`); the gaps at the subspace sizes
    are :func:`~diffphase.numerics.manifold.spectral_gaps`. Per subspace ``g`` the RMS
    normalised value along its directions tangent to the sphere at :math:`x_0`
    (:func:`~diffphase.numerics.manifold.direction_response`,
    :func:`~diffphase.numerics.manifold.tangent_group_basis`) says whether the score keeps
    ``g`` (:math:`\le 1/2`) at that point; the fractions of training points keeping ``A``,
    ``B``, exactly one of them, and no direction at all are read against the noise level.

Verdicts (:data:`TOLERANCES`, written before measuring): the claim ``achilli.selective`` on
the trained models (the two subspaces lost at noise levels a factor :math:`\ge 2` apart; a
majority of training points keeping exactly one subspace at a noise level where the
population keeps both), the same statistics on the exact empirical score as a reference, a
precondition that the trained model memorizes at the smallest ``N``, and, exploratory, the
order of the losses ("under some conditions, subspaces of higher variance are lost first")
and the authors' per-subspace critical noise :math:`\sigma^2_{c,g} = s_g^2/2\log N`, :math:`s_g`
the generating standard deviation (theory cell of their notebook, a large-dimension result).

All times are OU times (:mod:`diffphase.numerics.conventions`); noise levels are quoted as
the variance-exploding :math:`\sigma^2 = e^{2t}-1` of the paper.
"""

from __future__ import annotations

from ..engine.experiment import Experiment
from .configs import FULL_MANIFOLD, QUICK_MANIFOLD, STANDARD_MANIFOLD
from .cost import cost_manifold
from .jacobian import score_jacobian, surviving_subspace
from .protocol import LEVEL, manifold_point, noise_grid, origin_reading, spectrum_data
from .reading import loss_level, subspace_states
from .verdicts import TOLERANCES, run_manifold

__all__ = [
    "TOLERANCES",
    "LEVEL",
    "EXPERIMENTS",
    "noise_grid",
    "spectrum_data",
    "origin_reading",
    "manifold_point",
    "subspace_states",
    "loss_level",
    "run_manifold",
    "cost_manifold",
    "score_jacobian",
    "surviving_subspace",
]

#: The experiments of this package, registered by :mod:`diffphase.validation.validate`.
EXPERIMENTS = [
    Experiment(
        name="manifold",
        title="Manifold memorization: the authors' score spectrum at training points, subspace by subspace",
        run=run_manifold,
        cost=cost_manifold,
        quick=QUICK_MANIFOLD,  # the choice of sizes is explained at QUICK_MANIFOLD
        standard=STANDARD_MANIFOLD,
        full=FULL_MANIFOLD,
        modes=("quick", "standard", "full"),
    ),
]
