"""Deprecated home of the crossing-time readers, now :mod:`diffphase.numerics.stats` (kept for
validation until the engine split): :func:`crossing_time` is ``stats.crossing(...).t``,
:func:`crossing_time_stderr` is ``(c.t, c.stderr)`` of ``stats.crossing(..., stderr=...)``."""

from __future__ import annotations

import warnings

from .stats import crossing, monotone_fit

__all__ = ["monotone_fit", "crossing_time", "crossing_time_stderr"]


def _warn(name):
    warnings.warn(f"diffphase.numerics.curves.{name} is deprecated; use diffphase.numerics.stats.crossing",
                  DeprecationWarning, stacklevel=3)


def crossing_time(t, y, level, *, weights=None, decreasing: bool = True, name: str = "y") -> float:
    """Deprecated: ``stats.crossing(t, y, level, weights=..., ...).t`` (raises when there is no
    crossing)."""
    _warn("crossing_time")
    return crossing(t, y, level, weights=weights, decreasing=decreasing, name=name).t


def crossing_time_stderr(t, y, stderr, level, *, n_boot: int = 400, seed=0, decreasing: bool = True,
                         name: str = "y") -> tuple[float, float]:
    """Deprecated: ``(c.t, c.stderr)`` of ``stats.crossing(t, y, level, stderr=stderr, ...)``
    (raises when there is no crossing)."""
    _warn("crossing_time_stderr")
    c = crossing(t, y, level, stderr=stderr, n_boot=n_boot, seed=seed, decreasing=decreasing, name=name)
    return c.t, c.stderr
