"""Deprecated location of :mod:`diffphase.numerics.checks` (kept for validation until the
engine split; import from :mod:`diffphase.numerics.checks`)."""

from .checks import *  # noqa: F401,F403
from .checks import __all__  # noqa: F401
