"""Discrete diffusion trained on Random Hierarchy Model data (experiment ``rhm_discrete``);
moved from ``validation/rhm.py`` (being split into modules)."""

from .measures import *  # noqa: F401,F403
from .measures import __all__  # noqa: F401
