r"""Tolerances of the verdicts of :mod:`diffphase.validation.regimes`, fixed before measuring,
and the clone-agreement level at which :math:`t_S` is read.
"""

from __future__ import annotations

__all__ = ["TOLERANCES", "PHI_LEVEL"]

#: Tolerances of the verdicts, fixed before measuring (the rule of each is in
#: :class:`~diffphase.validation.engine.verdicts.Verdict`):
#:
#: ``speciation_gm.t_S``  (rel) trained-model crossing of :math:`\phi=0.775` vs
#:     :math:`\tfrac12\log\Lambda`. At :math:`d\ge 32` the exact finite-``d`` crossing is within
#:     1 % of it; the rest is model error and the crossing's statistical error (~2 %).
#: ``speciation_gm.exact``  (rel) the same crossing for clones driven by the exact score: a
#:     check of the cloning protocol and sampler (3.5 standard errors at 2000 pairs).
#: ``speciation_gm.band``  (max) :math:`\max_t|\phi_{model}(t)-\phi_{quad}(t)|` over the
#:     branching times: 4 binomial standard errors at 1000 pairs (:math:`\phi\approx0.75`)
#:     plus 0.02 of model error.
#: ``speciation_images.t_S``  (rel) crossing vs :math:`\tfrac12\log\Lambda` on real image
#:     pairs, of trained-model clones and of exact empirical-score clones alike: the prediction
#:     is asymptotic (large ``d``, one dominant direction), so 20 %.
#: ``speciation_images.classifier``  (min, precondition) held-out accuracy :math:`a` of the
#:     classifier that labels the clone ends. Two independent labels agree with probability
#:     :math:`\phi(a^2+(1-a)^2) + (1-\phi)\,2a(1-a)`: at :math:`\phi = 0.775` an accuracy of
#:     0.98 lowers the measured agreement by 0.02 (0.95 by 0.05), so below 0.98 the classifier,
#:     not the model, moves the crossing.
#: ``collapse.exact``  (rel) the ½-crossing of :math:`\phi_C` of the exact empirical-score
#:     dynamics vs :math:`t_C` of the empirical excess entropy: the condensation is smeared
#:     over a finite-``d`` window, 25 %.
#: ``collapse.model``  (rel) the ½-crossing of :math:`\phi_C` of the trained model vs that of
#:     the empirical-score dynamics, 25 %.
#: ``collapse.memorized``  (min) fraction of trained-model samples within :math:`\delta` of a
#:     training point in the memorizing regime (:math:`t_C` well above the smallest training
#:     time), at least one half.
TOLERANCES = {
    "speciation_gm.t_S": 0.10,
    "speciation_gm.exact": 0.05,
    "speciation_gm.band": 0.08,
    "speciation_images.t_S": 0.20,
    "speciation_images.classifier": 0.98,
    "collapse.exact": 0.25,
    "collapse.model": 0.25,
    "collapse.memorized": 0.5,
}

#: The clone-agreement level at which the paper reads :math:`t_S` off measured curves.
PHI_LEVEL = 0.775
