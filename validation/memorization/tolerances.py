r"""The classification scales and the tolerances of the verdicts of
:mod:`diffphase.validation.memorization`, fixed before measuring.
"""

from __future__ import annotations

import math

__all__ = ["SCALES", "TOLERANCES"]

#: Classification scales, relative to the training set's median nearest-neighbour distance
#: :math:`r_K` (:func:`training_scale`), fixed before measuring:
#:
#: ``delta_m = 0.25 r_K``  the memorization radius of the ``collapse`` experiment of
#:     :mod:`~diffphase.validation.regimes`; a fresh sample of the data lies that close to a
#:     training point with probability :math:`\log2\cdot0.25^d` (0.27 % at :math:`d=4`), at
#:     every :math:`K`, while a collapsed sample sits on its training point.
#: ``delta_s = 0.25 r_K``  a spurious attractor is as tight as a memorized one (the same
#:     contraction of the denoiser at ``t_end``); scaled with :math:`r_K` because new
#:     attractors live between training points.
#: ``cluster_fraction = 0.1``, at least 3 samples  (:func:`cluster_size`) a cluster holds at
#:     least 10 % of the :math:`N/K` samples of one basin; a generalizing sampler puts
#:     :math:`\log2\cdot0.25^4\,N/K = 0.0027\,N/K` other samples within :math:`\delta_s`, 37
#:     times fewer. The rule is also applied to fresh data samples (the "null" fractions).
SCALES = {"delta_m": 0.25, "delta_s": 0.25, "cluster_fraction": 0.1, "min_cluster": 3}


#: Tolerances of the verdicts, fixed before measuring:
#:
#: ``memorization.load``  (rel) the load :math:`\alpha = \log K/d` at which the memorized
#:     fraction of the exact empirical-score dynamics crosses ½, vs :math:`\alpha_c(t_{end})`.
#:     At :math:`d=4` the large-:math:`d` step is smeared over decades of :math:`K`, the level
#:     at which it is read depends on :math:`\delta_m`, and the finite-:math:`K` excess-entropy
#:     root puts the crossover a factor ~2 higher; a factor 2 in :math:`K` is
#:     :math:`\log 2/(d\alpha_c) = 0.15` in :math:`\alpha` at :math:`d=4`, :math:`\alpha_c=1.15`.
#: ``memorization.sampler``  (max) the largest :math:`|z|` over :math:`K` between the memorized
#:     fractions of the empirical-score sampler and of the forward reference (independent
#:     noise): 4 standard errors, false-failure rate :math:`< 10^{-3}` over the grid.
#: ``memorization.model_small``  (min) the trained model's memorized fraction at the smallest
#:     :math:`K`, far below the empirical-score crossover: at least 0.75.
#: ``memorization.model_large``  (max) its memorized fraction at the largest :math:`K`, past
#:     the empirical-score crossover: at most 0.1.
#: ``memorization.model_vs_empirical``  (max) ratio of the trained model's ½-crossing
#:     :math:`K` to the empirical score's: at most 1.5 (a network of finite capacity
#:     approximating the empirical score memorizes no more than it; 1.5 allows the crossings'
#:     errors).
#: ``memorization.peak``  (abs) :math:`|\log(K_{peak}/K_{model})|` between the
#:     spurious-fraction peak and the model's ½-crossing: at most :math:`\log 3` (the peak is
#:     read on a grid of ratio ~2.5).
#: ``memorization.peak_height``  (min) the spurious peak above the larger of its values at the
#:     two ends of the grid, in (binomial) standard errors of the difference: at least 3.
TOLERANCES = {
    "memorization.load": 0.15,
    "memorization.sampler": 4.0,
    "memorization.model_small": 0.75,
    "memorization.model_large": 0.10,
    "memorization.model_vs_empirical": 1.5,
    "memorization.peak": math.log(3.0),
    "memorization.peak_height": 3.0,
}
