"""diffphase.numerics: solvers and exact finite-size references (numpy, scipy, mpmath; torch
only for batched kernels). Imports only :mod:`diffphase.theory`, never validation.

The package exports its modules and its model and result types; the modules load on first use
(``import diffphase.numerics as dn; dn.gaussian_mixture.speciation_time(1024)``), so that
importing the package costs nothing. One naming rule holds across models: a module per model
holds the free functions of that model's parameters under the same names
(``gaussian_mixture.collapse_time(n, d)``, ``manifold.collapse_time(variances, n)``), and
``empirical`` holds the functions of a data set (``empirical.collapse_time(X)``); model objects
carry methods (:class:`GaussianMixture`, :class:`EmpiricalScore`, :class:`RHM`); every result
is a dataclass whose fields do not depend on a flag.

Modules: :mod:`~diffphase.numerics.conventions`, :mod:`~diffphase.numerics.process`,
:mod:`~diffphase.numerics.checks`, :mod:`~diffphase.numerics.stats`,
:mod:`~diffphase.numerics.gaussian_mixture`, :mod:`~diffphase.numerics.empirical`,
:mod:`~diffphase.numerics.sde`, :mod:`~diffphase.numerics.rhm`,
:mod:`~diffphase.numerics.portrait`, :mod:`~diffphase.numerics.symmetry`,
:mod:`~diffphase.numerics.information`, :mod:`~diffphase.numerics.hopfield`,
:mod:`~diffphase.numerics.manifold`.

Examples
--------
>>> import diffphase.numerics as dn
>>> round(dn.gaussian_mixture.speciation_time(1024), 4)
3.4662
>>> dn.GaussianMixture is dn.gaussian_mixture.GaussianMixture
True
"""

from __future__ import annotations

from diffphase.theory.lazy import exports

#: The modules of the package.
MODULES = ("conventions", "process", "checks", "stats", "gaussian_mixture", "empirical", "sde", "rhm",
           "portrait", "symmetry", "information", "hopfield", "manifold")

#: Model and result types: name -> module.
TYPES = {
    "DiscreteSchedule": "conventions",
    "Bridge": "process",
    "Crossing": "stats", "NoCrossing": "stats", "Extremum": "stats", "MMDResult": "stats",
    "GaussianMixture": "gaussian_mixture",
    "EmpiricalScore": "empirical", "ExcessEntropy": "empirical", "CollapseTime": "empirical",
    "SamplePath": "sde", "CloneResult": "sde",
    "RHM": "rhm", "BPResult": "rhm",
    "Portrait": "portrait",
    "Bifurcation": "symmetry",
    "ClassModel": "information", "LabelledPoints": "information", "OnlinePosterior": "information",
    "GuidedSamples": "information",
    "RSSolution": "hopfield", "RetrievalResult": "hopfield", "RetrievalTransition": "hopfield",
    "DenseRetrievalResult": "hopfield",
    "ScoreJacobian": "manifold", "SurvivingDirections": "manifold",
}

__all__ = list(MODULES) + list(TYPES)

__getattr__, __dir__ = exports(__name__, MODULES, TYPES)
