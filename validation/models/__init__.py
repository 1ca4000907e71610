r"""Denoisers and the adapter that turns a trained denoiser into a score in OU time.

Both networks predict the noise :math:`\hat\varepsilon(x_t, t)` of the forward process

.. math:: x_t = e^{-t}x_0 + \sqrt{\Delta_t}\,z,\qquad \Delta_t = 1-e^{-2t},

with ``t`` the package's Ornstein--Uhlenbeck time (:mod:`diffphase.numerics.conventions`). By
Tweedie's formula the score of the noised density is

.. math:: \nabla_x\log P_t(x) = -\,\mathbb E[z\mid x_t = x]/\sqrt{\Delta_t}
          \approx -\hat\varepsilon(x, t)/\sqrt{\Delta_t},

which :func:`score_function` returns as a plain callable ``score(x, t)``, so the samplers of
:mod:`diffphase.numerics.sde` run a trained model exactly as they run an exact score.

Networks
    :class:`MLPDenoiser` for vectors ``(B, d)``; :class:`UNetDenoiser` for single-channel
    images (8×8, 28×28, any size divisible by ``2**(levels-1)``) given as ``(B, C*H*W)`` or
    ``(B, C, H, W)``. Both are conditioned on ``t`` through :class:`TimeEmbedding`.
    :class:`TreeDenoiser` is the discrete counterpart for token sequences on a tree (the
    Random Hierarchy Model): it predicts the clean-token distribution, not a noise, and is
    trained by the discrete objectives of :mod:`diffphase.validation.train`.
:func:`build_model`
    Rebuilds a network from its ``spec`` dictionary (stored in every checkpoint).
"""

from .build import build_model, denoiser_flops, module_flops, seeded_init
from .classifier import Classifier
from .layers import TimeEmbedding, noise_feature
from .mlp import MLPDenoiser
from .score import ClassConditional, score_function
from .tree import TreeDenoiser
from .unet import UNetDenoiser

__all__ = [
    "TimeEmbedding",
    "MLPDenoiser",
    "UNetDenoiser",
    "TreeDenoiser",
    "build_model",
    "seeded_init",
    "score_function",
    "ClassConditional",
    "noise_feature",
    "denoiser_flops",
    "module_flops",
    "Classifier",
]
