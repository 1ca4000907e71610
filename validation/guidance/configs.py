r"""Configurations of ``negative_guidance`` and ``negative_guidance_digits``
(:mod:`diffphase.validation.guidance`): the quick and full runs as frozen dataclasses whose
fields are the configuration keys. The mixtures and the training blocks are those of
``class_information`` (:mod:`diffphase.validation.information.configs`): the same training
configuration and data give the same cached network.

Examples
--------
>>> QUICK_NEGATIVE_GUIDANCE.scales, QUICK_NEGATIVE_GUIDANCE.check_scale in QUICK_NEGATIVE_GUIDANCE.scales
((1.0, 2.0, 4.0, 8.0), True)
>>> QUICK_NEGATIVE_GUIDANCE_DIGITS.unwanted, FULL_NEGATIVE_GUIDANCE_DIGITS.n_samples
(8, 5000)
"""

from __future__ import annotations

from dataclasses import dataclass

from ..information.configs import (CLASSIFIER_DIGITS, MIXTURE_FULL, MIXTURE_QUICK, TRAIN_DIGITS, TRAIN_FULL,
                                   TRAIN_QUICK, TRAIN_STANDARD)

__all__ = [
    "NegativeGuidanceConfig",
    "NegativeGuidanceDigitsConfig",
    "QUICK_NEGATIVE_GUIDANCE",
    "STANDARD_NEGATIVE_GUIDANCE",
    "STANDARD_NEGATIVE_GUIDANCE_DIGITS",
    "FULL_NEGATIVE_GUIDANCE",
    "QUICK_NEGATIVE_GUIDANCE_DIGITS",
    "FULL_NEGATIVE_GUIDANCE_DIGITS",
]


@dataclass(frozen=True)
class NegativeGuidanceConfig:
    r"""Configuration of ``negative_guidance``
    (:func:`~diffphase.validation.guidance.run_negative_guidance`; apart from ``check_scale``,
    the keyword arguments of :func:`~diffphase.validation.guidance.guidance_point`).

    Attributes
    ----------
    mixture : dict
        The Gaussian classes (:func:`~diffphase.validation.information.mixture_classes`).
    n_train : int
        Training samples of the mixture.
    train : dict
        :class:`~diffphase.validation.train.TrainConfig` keywords of the class-conditional MLP.
    unwanted : int
        The class :math:`c` guided away from.
    scales : tuple of float
        The guidance scales :math:`\lambda` of both fronts.
    check_scale : float
        One of ``scales``: where the trained model is compared with the exact denoisers.
    n_samples : int
        Samples per run (all runs share their initial and sampler noise).
    grid : dict
        ``{"t_max", "t_end", "n_steps", "kind"}`` of the sampler's OU-time grid.
    seed : int
    """

    mixture: dict
    n_train: int
    train: dict
    unwanted: int
    scales: tuple
    check_scale: float
    n_samples: int
    grid: dict
    seed: int


@dataclass(frozen=True)
class NegativeGuidanceDigitsConfig:
    r"""Configuration of ``negative_guidance_digits``
    (:func:`~diffphase.validation.guidance.run_negative_guidance_digits`; apart from
    ``check_scale``, the keyword arguments of
    :func:`~diffphase.validation.guidance.digits_guidance_point`).

    Attributes
    ----------
    train : dict
        :class:`~diffphase.validation.train.TrainConfig` keywords of the class-conditional MLP
        on digits.
    classifier : dict
        :class:`~diffphase.validation.classifier.ClassifierConfig` keywords of the clean
        classifier (labels and features).
    unwanted : int
        The digit guided away from.
    scales : tuple of float
    check_scale : float
        One of ``scales``: where the removal is judged against the classifier's ceiling.
    n_samples : int
    grid : dict
        ``{"t_max", "t_end", "n_steps", "kind"}``.
    seed : int
    """

    train: dict
    classifier: dict
    unwanted: int
    scales: tuple
    check_scale: float
    n_samples: int
    grid: dict
    seed: int


#: ``diffphase validate --quick``: the three-class mixture of ``class_information``, class 0 unwanted.
QUICK_NEGATIVE_GUIDANCE = NegativeGuidanceConfig(
    mixture=MIXTURE_QUICK, n_train=20000, train=TRAIN_QUICK, unwanted=0, scales=(1.0, 2.0, 4.0, 8.0),
    check_scale=4.0, n_samples=2000, grid={"t_max": 6.0, "t_end": 1e-3, "n_steps": 100, "kind": "log"}, seed=0)

#: ``diffphase validate --full``: the four-class mixture in d = 32.
FULL_NEGATIVE_GUIDANCE = NegativeGuidanceConfig(
    mixture=MIXTURE_FULL, n_train=100000, train=TRAIN_FULL, unwanted=0,
    scales=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0), check_scale=4.0, n_samples=10000,
    grid={"t_max": 8.0, "t_end": 1e-3, "n_steps": 400, "kind": "log"}, seed=0)

#: ``--quick`` configuration of the digits leg (it runs in ``--full`` only unless named by ``--only``).
QUICK_NEGATIVE_GUIDANCE_DIGITS = NegativeGuidanceDigitsConfig(
    train=dict(TRAIN_DIGITS, steps=6000), classifier=CLASSIFIER_DIGITS, unwanted=8, scales=(0.5, 1.0, 2.0, 4.0, 8.0),
    check_scale=2.0, n_samples=1000, grid={"t_max": 6.0, "t_end": 1e-3, "n_steps": 100, "kind": "log"}, seed=0)

#: ``--full`` configuration of the digits leg.
FULL_NEGATIVE_GUIDANCE_DIGITS = NegativeGuidanceDigitsConfig(
    train=TRAIN_DIGITS, classifier=CLASSIFIER_DIGITS, unwanted=8, scales=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
    check_scale=2.0, n_samples=5000, grid={"t_max": 6.0, "t_end": 1e-3, "n_steps": 200, "kind": "log"}, seed=0)

#: ``diffphase validate --standard``: the four-class mixture in d = 32 (the network of
#: ``class_information``'s standard run), class 0 unwanted.
STANDARD_NEGATIVE_GUIDANCE = NegativeGuidanceConfig(
    mixture=MIXTURE_FULL, n_train=50000, train=TRAIN_STANDARD, unwanted=0, scales=(0.5, 1.0, 2.0, 4.0, 8.0),
    check_scale=4.0, n_samples=2000, grid={"t_max": 6.0, "t_end": 1e-3, "n_steps": 200, "kind": "log"}, seed=0)

#: ``diffphase validate --standard``: digit 8 removed (the network of ``class_information_digits``).
STANDARD_NEGATIVE_GUIDANCE_DIGITS = NegativeGuidanceDigitsConfig(
    train=dict(TRAIN_DIGITS, steps=6000), classifier=CLASSIFIER_DIGITS, unwanted=8,
    scales=(0.5, 1.0, 2.0, 4.0, 8.0), check_scale=2.0, n_samples=1000,
    grid={"t_max": 6.0, "t_end": 1e-3, "n_steps": 100, "kind": "log"}, seed=0)
