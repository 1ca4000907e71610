r"""Choosing a classifier's configuration by cross-validation on its training data alone.

An experiment that reads its samples through a classifier (speciation on images) checks the
classifier's accuracy on a held-out split as a precondition. When several configurations are
plausible, :func:`select_classifier` chooses among them by stratified k-fold cross-validation
on the training split, so the held-out split that later judges the choice takes no part in it.

Examples
--------
>>> from diffphase.validation import data
>>> from diffphase.validation.classifier_selection import select_classifier
>>> train, held_out = data.digits().subset(range(300)).split(0.2, seed=0)
>>> sel = select_classifier({"arch": "mlp", "steps": 30}, [{"hidden": 2}, {"hidden": 64}], train,
...                         folds=2, use_cache=False)
>>> sel.index, sel.cv_accuracy[1] > sel.cv_accuracy[0]
(1, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .classifier import ClassifierConfig, train_classifier
from .data import Dataset

__all__ = ["ClassifierSelection", "select_classifier"]


@dataclass
class ClassifierSelection:
    """The outcome of :func:`select_classifier`.

    Attributes
    ----------
    config : ClassifierConfig
        The chosen configuration (base updated by the winning candidate).
    index : int
        Its position in ``candidates``.
    candidates : list of dict
        The candidates' overrides, as given.
    cv_accuracy : list of float
        Mean validation accuracy of each candidate over the folds.
    fold_accuracy : list of list of float
        Per candidate, the accuracy on each fold.
    folds : int
    """

    config: ClassifierConfig
    index: int
    candidates: list
    cv_accuracy: list
    fold_accuracy: list
    folds: int

    def as_dict(self) -> dict:
        """JSON-ready summary (for results files)."""
        return {"folds": self.folds, "candidates": [dict(c) for c in self.candidates],
                "cv_accuracy": [float(a) for a in self.cv_accuracy],
                "fold_accuracy": [[float(a) for a in row] for row in self.fold_accuracy], "chosen": self.index}


def select_classifier(base: dict, candidates, data: Dataset, *, folds: int = 5, seed: int = 0, device=None,
                      cache_dir=None, use_cache: bool = True, progress: bool = False) -> ClassifierSelection:
    r"""Choose a classifier configuration by stratified ``folds``-fold cross-validation on
    ``data`` alone.

    Candidate :math:`c` is the :class:`ClassifierConfig` ``base | candidates[c]``; it is trained
    ``folds`` times by :func:`train_classifier`, each time on all folds but one
    (:meth:`~diffphase.validation.data.Dataset.folds`, seed ``seed``) and scored on the one left
    out. The choice maximizes the mean validation accuracy
    :math:`\bar a_c=\frac1k\sum_{j=1}^{k}a_{c,j}`; ties (equal up to :math:`10^{-12}`, the
    rounding of the mean) go to the earlier candidate (list the cheaper ones first). Data held out from ``data`` (e.g. the test split that later judges
    the chosen classifier) take no part in the choice.

    Parameters
    ----------
    base : dict
        :class:`ClassifierConfig` keyword arguments shared by all candidates.
    candidates : sequence of dict
        Overrides of ``base``, at least one.
    data : Dataset
        Labelled training data (normalized), at least ``folds`` points.
    folds : int
        Number of folds ``k`` (>= 2).
    seed : int
        Seed of the fold assignment (>= 0); the networks keep ``base``'s seed.
    device, cache_dir, use_cache, progress
        As in :func:`train_classifier` (every fold's network is cached).

    Returns
    -------
    ClassifierSelection
    """
    candidates = [dict(c) for c in candidates]
    if not candidates:
        raise ValueError("candidates must hold at least one configuration override, got none")
    configs = []
    for i, c in enumerate(candidates):
        try:
            configs.append(ClassifierConfig(**{**dict(base), **c}).validate())
        except TypeError as e:
            raise ValueError(f"candidates[{i}] = {c!r} is not a set of ClassifierConfig fields: {e}") from None
    splits = data.folds(folds, seed)
    table = []
    for cfg in configs:
        row = []
        for tr, va in splits:
            _, info = train_classifier(cfg, tr, va, device=device, cache_dir=cache_dir, use_cache=use_cache,
                                       progress=progress)
            row.append(info.test_accuracy)
        table.append(row)
    means = [float(np.mean(r)) for r in table]
    # first maximum; means equal up to rounding (e.g. 278/285 reached by different folds) are ties
    best = next(i for i, m in enumerate(means) if m >= max(means) - 1e-12)
    return ClassifierSelection(configs[best], best, candidates, means, table, int(folds))
