"""diffphase.theory: symbolic derivations (sympy only; no numpy arrays, no torch).

Every function returns sympy objects (``Expr``, ``Eq``, ``Lambda``), never floats; each model
module exposes ``derivation()``, an ordered list of computed steps that the docs render.
Modules: :mod:`~diffphase.theory.conventions`, :mod:`~diffphase.theory.gaussian_mixture`,
:mod:`~diffphase.theory.rhm`, :mod:`~diffphase.theory.symmetry`,
:mod:`~diffphase.theory.information`, :mod:`~diffphase.theory.hopfield`,
:mod:`~diffphase.theory.manifold`.
"""
