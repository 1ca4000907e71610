"""Deprecated names of :mod:`diffphase.numerics` (kept for validation until the engine split).

:func:`deprecated_aliases` builds a module ``__getattr__`` (PEP 562) that returns the new object
for an old name with a :class:`DeprecationWarning` naming its replacement; the old names stay
out of ``__all__`` and out of the API reference.
"""

from __future__ import annotations

import warnings


def deprecated_aliases(module: str, aliases: dict):
    """A module ``__getattr__`` for ``{old_name: (object, "replacement")}``."""

    def __getattr__(name: str):
        if name in aliases:
            obj, new = aliases[name]
            warnings.warn(f"{module}.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
            return obj
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
