"""Lazy exports of a package (PEP 562), shared by :mod:`diffphase.theory` and
:mod:`diffphase.numerics`: the package's modules and types resolve on first attribute access,
so that importing the package loads none of its modules.

Examples
--------
>>> getattr_, dir_ = exports("diffphase.theory", ("symmetry",), {"Step": "derivation"})
>>> getattr_("Step").__name__, "symmetry" in dir_()
('Step', True)
"""

from __future__ import annotations

import importlib

__all__ = ["exports"]


def exports(package: str, modules, types: dict):
    """The module ``__getattr__`` and ``__dir__`` of ``package``.

    Parameters
    ----------
    package : str
        Dotted name of the package.
    modules : sequence of str
        Its submodules, resolved as ``package.<name>``.
    types : dict
        ``{name: module}``: the object ``name`` of ``package.<module>``.

    Returns
    -------
    (callable, callable)
        ``__getattr__(name)`` (``AttributeError`` for any other name) and ``__dir__()``.
    """
    modules, types = tuple(modules), dict(types)

    def __getattr__(name: str):
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        if name in types:
            return getattr(importlib.import_module(f"{package}.{types[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(vars(importlib.import_module(package))) | set(modules) | set(types))

    return __getattr__, __dir__
