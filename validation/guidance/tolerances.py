"""Tolerances of ``negative_guidance`` and ``negative_guidance_digits``
(:mod:`diffphase.validation.guidance`), fixed before measuring."""

from __future__ import annotations

__all__ = ["TOLERANCES"]

#: Tolerances of the verdicts, fixed before measuring:
#:
#: ``guidance.dominance``  (min) :math:`S = \min_j\max_i\min(z^u_{ij}, z^q_{ij})`, the worst NP
#:     point's best DNG match, :math:`z` the paired difference NP − DNG in units of its s.e.
#:     (positive: DNG better), :math:`q` the MMD² (quality plane) or the balance KL (balance
#:     plane): at least −3, "within errors" at 3 s.e. (a DNG point exactly as good as an NP
#:     point fails a coordinate with probability 0.13 %).
#: ``guidance.gain``  (min) :math:`G = \max_{(i,j):z^u_{ij}\ge0} z^m_{ij}`: "higher" quality,
#:     some NP point beaten in MMD² by 3 s.e. by a DNG point at least as safe (in the point
#:     estimates); at least 3 (one-sided 0.13 % per pair; ≤ 3 % over the 16 pairs of the quick
#:     grid). (The first version admitted DNG points up to 3 s.e. *less* safe; the
#:     identical-front test showed that a single steep front then has a "gain" over itself.)
#: ``guidance.unguided``  (max, precondition) total variation between the class shares of the
#:     trained model's unguided samples and the mixture weights: binomial noise ~0.015 at 2000
#:     samples plus the trained network's error in the class weights (2–4 points in the first
#:     trial trainings of the quick network); 0.05.
#: ``guidance.model_vs_exact``  (abs, reference) unwanted fraction, trained model vs exact
#:     denoisers, dynamic guidance at ``check_scale``: 0.03.
#: ``guidance_digits.classifier``  (min, precondition) held-out accuracy of the clean classifier
#:     that labels the samples and gives the features: 0.95.
#: ``guidance_digits.unguided``  (max, precondition) TV of the unguided digit shares vs the
#:     training frequencies: ten shares of ~100 samples each (~0.05 of noise); 0.10.
#: ``guidance_digits.excess``  (max, claim) fraction of the unwanted digit under DNG at
#:     ``check_scale`` minus the classifier's own false-positive rate for that digit on real
#:     held-out digits of the other classes (its ceiling: a perfect removal still shows it):
#:     0.02, three combined s.e. (binomial s.e. ~0.005 at 1000 samples, ~0.005 for the rate
#:     on ~320 held-out digits). Before: an absolute 0.05.
#:
#: The digits leg uses ``guidance.dominance`` and ``guidance.gain`` too.
TOLERANCES = {
    "guidance.dominance": -3.0,
    "guidance.gain": 3.0,
    "guidance.unguided": 0.05,
    "guidance.model_vs_exact": 0.03,
    "guidance_digits.classifier": 0.95,
    "guidance_digits.unguided": 0.10,
    "guidance_digits.excess": 0.02,
}
