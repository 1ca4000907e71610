"""diffphase.numerics: solvers and exact finite-size references (numpy, scipy, mpmath; torch
only for batched kernels). Imports only :mod:`diffphase.theory`, never validation.

Modules: :mod:`~diffphase.numerics.conventions`, :mod:`~diffphase.numerics.gaussian_mixture`,
:mod:`~diffphase.numerics.empirical`, :mod:`~diffphase.numerics.sde`,
:mod:`~diffphase.numerics.curves`, :mod:`~diffphase.numerics.rhm`,
:mod:`~diffphase.numerics.symmetry`, :mod:`~diffphase.numerics.information`,
:mod:`~diffphase.numerics.hopfield`, :mod:`~diffphase.numerics.manifold`.
"""
