"""The Random Hierarchy Model: generator, noise processes, exact belief propagation,
forward--backward observables (and the mean-field solver, :mod:`.mean_field`).

Sclocchi, Favero & Wyart (arXiv 2402.16991); see :mod:`diffphase.theory.rhm`. Noise levels are
:math:`\\varepsilon = 1-\\bar\\alpha` with OU time :math:`t=-\\tfrac12\\log(1-\\varepsilon)`.
"""

from .model import RHM
from .noise import EpsilonProcess, Masking, NoiseProcess, PROCESSES, UniformDiffusion, get_process
from .bp import BPResult, NEG_LOG_EVIDENCE, belief_propagation, posterior_sample
from .observables import ForwardBackwardResult, change_correlations, forward_backward, class_curves

__all__ = [
    "RHM",
    "NoiseProcess", "EpsilonProcess", "Masking", "UniformDiffusion", "get_process", "PROCESSES",
    "BPResult", "NEG_LOG_EVIDENCE", "belief_propagation", "posterior_sample",
    "ForwardBackwardResult", "forward_backward", "change_correlations", "class_curves",
]

from .mean_field import *  # noqa: F401,F403,E402
from .mean_field import __all__ as _mf_all  # noqa: E402

__all__ += list(_mf_all)
