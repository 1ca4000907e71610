"""diffphase.theory: symbolic derivations (sympy only; no numpy arrays, no torch).

Every function returns sympy objects (``Expr``, ``Eq``, ``Lambda``), never floats; each model
module exposes ``derivation()``, an ordered list of computed steps (:class:`Derivation` of
:class:`Step`) that the docs render. The package exports its modules, which load on first use,
and the two derivation types.

Modules: :mod:`~diffphase.theory.conventions`, :mod:`~diffphase.theory.gaussian_mixture`,
:mod:`~diffphase.theory.rhm`, :mod:`~diffphase.theory.symmetry`,
:mod:`~diffphase.theory.information`, :mod:`~diffphase.theory.hopfield`,
:mod:`~diffphase.theory.manifold`.

Examples
--------
>>> import diffphase.theory as dt
>>> dt.symmetry.critical_theta()
sqrt(-1 + sqrt(2))
"""

from __future__ import annotations

from .lazy import exports

#: The modules of the package.
MODULES = ("conventions", "derivation", "lazy", "gaussian_mixture", "rhm", "symmetry", "information", "hopfield", "manifold")

#: Types: name -> module.
TYPES = {"Step": "derivation", "Derivation": "derivation"}

__all__ = list(MODULES) + list(TYPES)

__getattr__, __dir__ = exports(__name__, MODULES, TYPES)
