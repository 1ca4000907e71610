r"""The cost models of :mod:`diffphase.validation.regimes` (FLOPs, optimizer steps and sampler
calls of a configuration, for :func:`~diffphase.validation.validate.plan`), each a
:class:`~diffphase.validation.engine.config.Cost`.
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics import gaussian_mixture as gm

from ..engine.config import Cost
from ..train import DenoiserCost, denoiser_cost
from .configs import per_size_steps

__all__ = ["cost_speciation_gm", "cost_speciation_images", "cost_collapse"]


def _clone_cost(c: DenoiserCost, branch_times, n_pairs: int, clones: dict) -> Cost:
    """Sampling cost of the cloning protocol: every score evaluation of
    :func:`~diffphase.numerics.sde.clone_score_evaluations` is one forward row; the pairs run in
    batches of ``clones["batch_pairs"]``, two calls per step each."""
    from diffphase.numerics.sde import clone_score_evaluations

    rows = clone_score_evaluations(branch_times, n_pairs, t_max=clones["t_max"], t_end=clones["t_end"],
                                   n_steps=clones["n_steps"], grid=clones["grid"])
    batches = math.ceil(n_pairs / clones["batch_pairs"])
    return c.sampling(rows, batches * 2 * clones["n_steps"])


def cost_speciation_gm(config: dict) -> Cost:
    """FLOPs of :func:`run_speciation_gm` (see :func:`~diffphase.validation.validate.plan`)."""
    parts = []
    for d in config["dims"]:
        c = denoiser_cost(config["train"], int(d))
        bt = gm.speciation_time(int(d), config["mu"], config["sigma"]) * np.asarray(config["branch"])
        parts.append(c.training + _clone_cost(c, bt, config["n_pairs"], config["clones"]))
    return sum(parts, Cost())


_IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28)}


def _pooled_shape(dataset: str, pool: int) -> tuple:
    """Image shape of ``dataset`` after ``pool`` × ``pool`` block means."""
    c, h, w = _IMAGE_SHAPES[dataset]
    return (c, h // pool, w // pool)


def cost_speciation_images(config: dict) -> Cost:
    r"""FLOPs of :func:`run_speciation_images` (branching times taken at the typical
    :math:`t_S \approx 1`; the exact empirical-score clones, like every exact reference, are not
    counted). The classifiers count: per pair the one that labels the clone ends and, with
    ``classifier_candidates``, ``classifier_folds`` more per candidate (each on
    :math:`(k-1)/k` of the data; its cost does not depend on the data size); with
    ``pair_classifiers``, each pair's own configuration."""
    from ..classifier import classifier_cost

    shape = _pooled_shape(config["dataset"], int(config.get("pool", 1)))
    dim = int(np.prod(shape))
    base = dict(config["classifier"])
    candidates = [dict(c) for c in config.get("classifier_candidates", ())]
    clf = classifier_cost(base, dim, shape) + sum(
        (classifier_cost({**base, **c}, dim, shape) * int(config.get("classifier_folds", 5)) for c in candidates),
        Cost())
    fixed = [dict(c) for c in config.get("pair_classifiers", ())] or [None] * len(config["pairs"])
    parts = []
    for override in fixed:
        c = denoiser_cost(config["train"], dim, shape)
        # the pair's classifier fixed in advance replaces the base one (and its candidates)
        pair_clf = clf if override is None else classifier_cost({**base, **override}, dim, shape)
        parts.append(c.training + pair_clf
                     + _clone_cost(c, np.asarray(config["branch"]), config["n_pairs"], config["clones"]))
    return sum(parts, Cost())


def cost_collapse(config: dict) -> Cost:
    """FLOPs of :func:`run_collapse` (branching times taken at the large-``d`` :math:`t_C`)."""
    c = denoiser_cost(config["train"], int(config["d"]))
    t_c = gm.collapse_time(config["n_train"], config["d"], config["sigma"])
    clones = _clone_cost(c, t_c * np.asarray(config["branch"]), config["n_pairs"], config["clones"])
    n_steps = config["clones"]["n_steps"]
    samples = c.sampling(config["n_samples"] * n_steps, n_steps)  # the memorized fraction's samples
    return c.training + clones + samples


def cost_collapse_images(config: dict) -> Cost:
    """FLOPs of :func:`run_collapse_images` (branching times taken at :math:`t_C = 1`; no closed
    form for images)."""
    shape = _pooled_shape(config["dataset"], int(config["pool"]))
    dim = int(np.prod(shape))
    n_steps = config["clones"]["n_steps"]
    total = Cost()
    for steps in per_size_steps(config):
        c = denoiser_cost(dict(config["train"], steps=steps), dim, shape)
        total = total + (c.training + _clone_cost(c, np.asarray(config["branch"], dtype=np.float64),
                                                  config["n_pairs"], config["clones"])
                         + c.sampling(config["n_samples"] * n_steps, n_steps))
    return total
