"""diffphase.numerics: solvers and exact finite-size references (numpy, scipy, mpmath; torch
only for batched kernels). Imports only :mod:`diffphase.theory`, never validation.

Modules: :mod:`~diffphase.numerics.conventions`, :mod:`~diffphase.numerics.process`,
:mod:`~diffphase.numerics.checks`, :mod:`~diffphase.numerics.stats`, :mod:`~diffphase.numerics.gaussian_mixture`,
:mod:`~diffphase.numerics.empirical`, :mod:`~diffphase.numerics.sde`,
:mod:`~diffphase.numerics.rhm`, :mod:`~diffphase.numerics.portrait`,
:mod:`~diffphase.numerics.symmetry`, :mod:`~diffphase.numerics.information`,
:mod:`~diffphase.numerics.hopfield`, :mod:`~diffphase.numerics.manifold`.
"""
