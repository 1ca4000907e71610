r"""Configurations of ``class_information`` and ``class_information_digits``
(:mod:`diffphase.validation.information`): the quick and full runs as frozen dataclasses whose
fields are the configuration keys. The mixtures and the training blocks are shared with
``negative_guidance`` (:mod:`diffphase.validation.guidance`): the same training configuration
and data give the same cached network.

Examples
--------
>>> QUICK_CLASS_INFORMATION.mixture["K"], QUICK_CLASS_INFORMATION.n_paths, FULL_CLASS_INFORMATION.mixture["d"]
(3, 1000, 32)
>>> QUICK_CLASS_INFORMATION_DIGITS.train["steps"], FULL_CLASS_INFORMATION_DIGITS.train["steps"]
(6000, 20000)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ClassInformationConfig",
    "ClassInformationDigitsConfig",
    "QUICK_CLASS_INFORMATION",
    "STANDARD_CLASS_INFORMATION",
    "STANDARD_CLASS_INFORMATION_DIGITS",
    "TRAIN_STANDARD",
    "FULL_CLASS_INFORMATION",
    "QUICK_CLASS_INFORMATION_DIGITS",
    "FULL_CLASS_INFORMATION_DIGITS",
    "TRAIN_DIGITS",
    "CLASSIFIER_DIGITS",
    "MIXTURE_QUICK",
    "TRAIN_QUICK",
    "TRAIN_FULL",
    "MIXTURE_FULL",
]


@dataclass(frozen=True)
class ClassInformationConfig:
    r"""Configuration of ``class_information``
    (:func:`~diffphase.validation.information.run_class_information`; the keyword arguments of
    :func:`~diffphase.validation.information.information_point`).

    Attributes
    ----------
    mixture : dict
        The Gaussian classes (:func:`~diffphase.validation.information.mixture_classes`): ``K``,
        ``d``, ``means`` (or ``radius``), ``sigmas``, ``weights``.
    n_train : int
        Training samples of the mixture.
    train : dict
        :class:`~diffphase.validation.train.TrainConfig` keywords of the class-conditional MLP
        (``num_classes`` is added).
    n_paths : int
        Trajectories of the unconditional sampler.
    grid : dict
        ``{"t_max", "t_end", "n_steps", "kind"}`` of the sampler's OU-time grid.
    theory_samples : int
        Monte Carlo draws of the theory curves (:mod:`diffphase.numerics.information`).
    n_boot : int
        Bootstrap replicates over paths.
    rate_nodes : int
        Log-spaced grid times between which the entropy rate is estimated.
    seed : int
    """

    mixture: dict
    n_train: int
    train: dict
    n_paths: int
    grid: dict
    theory_samples: int
    n_boot: int
    rate_nodes: int
    seed: int


@dataclass(frozen=True)
class ClassInformationDigitsConfig:
    r"""Configuration of ``class_information_digits``
    (:func:`~diffphase.validation.information.run_class_information_digits`; the keyword
    arguments of :func:`~diffphase.validation.information.digits_information_point`).

    Attributes
    ----------
    train : dict
        :class:`~diffphase.validation.train.TrainConfig` keywords of the class-conditional MLP
        on digits.
    classifier : dict
        :class:`~diffphase.validation.classifier.ClassifierConfig` keywords of the clean and the
        noise-conditioned classifiers.
    n_paths : int
    grid : dict
        ``{"t_max", "t_end", "n_steps", "kind"}``.
    n_boot : int
    rate_nodes : int
    seed : int
    """

    train: dict
    classifier: dict
    n_paths: int
    grid: dict
    n_boot: int
    rate_nodes: int
    seed: int


#: Class-conditional MLP on digits (``--full``; shared with the digits guidance experiment).
TRAIN_DIGITS = {"model": "mlp", "model_kwargs": {"hidden": 512, "depth": 4}, "steps": 20000, "batch_size": 256,
                "lr": 1e-3, "t_max": 6.0, "label_dropout": 0.15, "checkpoint_every": 2000}
CLASSIFIER_DIGITS = {"steps": 1500}

#: The mixture of ``--quick``: two close classes (3 apart, spreads 0.35 and 0.25) and a far one
#: (7 from their midpoint, spread 0.6), weights 0.4 / 0.3 / 0.3, in d = 8. The theory's
#: per-class entropy-rate peaks fall at t = 0.33, 0.30 and 1.02 (the far class is decided first).
MIXTURE_QUICK = {"K": 3, "d": 8, "means": [[-1.5, 0.0], [1.5, 0.0], [0.0, 7.0]], "sigmas": [0.35, 0.25, 0.6],
                 "weights": [0.4, 0.3, 0.3]}
#: Training of the class-conditional MLP in ``--quick`` (shared with :mod:`diffphase.validation.guidance`: the same
#: configuration and data give the same cached network). Width 128 (the sampler and the online classifier call it
#: ~10^3 times per experiment); label dropout 0.3 so that the unconditional prediction, which draws the samples,
#: sees enough data.
TRAIN_QUICK = {"model": "mlp", "model_kwargs": {"hidden": 128, "depth": 3}, "steps": 3000, "batch_size": 256,
               "lr": 2e-3, "t_max": 6.0, "label_dropout": 0.3, "checkpoint_every": 1000}
TRAIN_FULL = {"model": "mlp", "model_kwargs": {"hidden": 512, "depth": 4}, "steps": 40000, "batch_size": 512,
              "lr": 1e-3, "t_max": 8.0, "label_dropout": 0.3, "checkpoint_every": 2000}
#: ``--full``: four classes in d = 32, a close pair, a far class and one in between.
MIXTURE_FULL = {"K": 4, "d": 32, "means": [[-1.5, 0.0], [1.5, 0.0], [0.0, 7.0], [4.5, 3.5]],
                "sigmas": [0.35, 0.25, 0.6, 0.45], "weights": [0.3, 0.25, 0.25, 0.2]}

#: ``diffphase validate --quick``: the three-class mixture in d = 8, 1000 paths.
QUICK_CLASS_INFORMATION = ClassInformationConfig(
    mixture=MIXTURE_QUICK, n_train=20000, train=TRAIN_QUICK, n_paths=1000,
    grid={"t_max": 6.0, "t_end": 0.01, "n_steps": 120, "kind": "log"}, theory_samples=20000, n_boot=200,
    rate_nodes=25, seed=0)

#: ``diffphase validate --full``: the four-class mixture in d = 32, 10 000 paths.
FULL_CLASS_INFORMATION = ClassInformationConfig(
    mixture=MIXTURE_FULL, n_train=100000, train=TRAIN_FULL, n_paths=10000,
    grid={"t_max": 8.0, "t_end": 0.005, "n_steps": 400, "kind": "log"}, theory_samples=400000, n_boot=500,
    rate_nodes=40, seed=0)

#: ``--quick`` configuration of the digits leg (it runs in ``--full`` only unless named by ``--only``).
QUICK_CLASS_INFORMATION_DIGITS = ClassInformationDigitsConfig(
    train=dict(TRAIN_DIGITS, steps=6000), classifier=CLASSIFIER_DIGITS, n_paths=500,
    grid={"t_max": 6.0, "t_end": 0.01, "n_steps": 100, "kind": "log"}, n_boot=200, rate_nodes=20, seed=0)

#: ``--full`` configuration of the digits leg.
FULL_CLASS_INFORMATION_DIGITS = ClassInformationDigitsConfig(
    train=TRAIN_DIGITS, classifier=CLASSIFIER_DIGITS, n_paths=2000,
    grid={"t_max": 6.0, "t_end": 0.005, "n_steps": 200, "kind": "log"}, n_boot=300, rate_nodes=30, seed=0)

#: Training of the class-conditional MLP of ``--standard`` (shared with the guidance experiment).
TRAIN_STANDARD = dict(TRAIN_QUICK, model_kwargs={"hidden": 256, "depth": 3}, steps=6000)

#: ``diffphase validate --standard``: the four-class mixture of ``--full`` in d = 32, 2000 paths.
STANDARD_CLASS_INFORMATION = ClassInformationConfig(
    mixture=MIXTURE_FULL, n_train=50000, train=TRAIN_STANDARD, n_paths=2000,
    grid={"t_max": 6.0, "t_end": 0.01, "n_steps": 200, "kind": "log"}, theory_samples=50000, n_boot=200,
    rate_nodes=30, seed=0)

#: ``diffphase validate --standard``: the ten digit classes, the quick network, 600 paths.
STANDARD_CLASS_INFORMATION_DIGITS = ClassInformationDigitsConfig(
    train=dict(TRAIN_DIGITS, steps=6000), classifier=CLASSIFIER_DIGITS, n_paths=600,
    grid={"t_max": 6.0, "t_end": 0.01, "n_steps": 100, "kind": "log"}, n_boot=200, rate_nodes=20, seed=0)
