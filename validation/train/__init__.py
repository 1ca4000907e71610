r"""DDPM training in the package's OU time, with EMA, checkpoints, resume and a cache.

The forward process is the OU marginal of :mod:`diffphase.numerics.conventions`,

.. math:: x_t = e^{-t}x_0 + \sqrt{\Delta_t}\,z,\qquad \Delta_t = 1-e^{-2t},\quad z\sim\mathcal N(0,I),

and the network :math:`\hat\varepsilon_\theta(x_t, t)` is trained on the "simple" DDPM loss

.. math:: L(\theta) = \mathbb E_{t, x_0, z}\ \tfrac1d\,\big|\hat\varepsilon_\theta(x_t, t) - z\big|^2,

with ``t`` drawn either continuously from ``[t_min, t_max]`` (density chosen by
``TrainConfig.t_distribution``) or as a uniformly drawn step ``k`` of a discrete β schedule
mapped to OU time, :math:`t_k = -\tfrac12\log\bar\alpha_k`
(:class:`~diffphase.numerics.conventions.DiscreteSchedule`). The trained model's score is
:math:`-\hat\varepsilon/\sqrt{\Delta_t}` (:func:`diffphase.validation.models.score_function`).

Discrete objectives (``TrainConfig.objective``) train a
:class:`~diffphase.validation.models.TreeDenoiser` on integer tokens ``(n, d)`` in ``[0, v)``
with the same loop (optimizer, schedule, EMA, checkpoints, cache). The noise level of OU time
``t`` is :math:`\varepsilon = 1-e^{-2t}` (:func:`diffphase.numerics.conventions.noise_level`,
the probability that a token is not kept; :mod:`diffphase.numerics.rhm.noise`):

* ``"masking"``: each token becomes the mask symbol ``v`` with probability
  :math:`\varepsilon`; the loss is the plain cross-entropy of the clean tokens at the masked
  positions, :math:`L = \sum_{i\,\rm masked} -\log\hat p(x_{0,i}\mid x_t, t)/\#\{\rm masked\}`
  (not the ELBO weighting :math:`1/\varepsilon`, whose variance is larger; both have the
  exact posterior marginals :math:`p(x_{0,i}\mid x_t)` as minimizer);
* ``"uniform"``: each token is resampled uniformly over the ``v`` symbols with probability
  :math:`\varepsilon`; the loss is the cross-entropy of the clean tokens at every position,
  :math:`L = \tfrac1d\sum_i -\log\hat p(x_{0,i}\mid x_t, t)`.

``t_distribution="noise_level"`` draws :math:`\varepsilon` uniformly between the levels of
``t_min`` and ``t_max``, which suits discrete noise (uniform ``t`` would put most draws at
:math:`\varepsilon\approx 1`).

Optimizer AdamW; learning rate: linear warm-up then cosine decay to ``lr * min_lr_ratio``;
exponential moving average (EMA) of the weights, which is the model returned. All randomness
(initialization, minibatches, times, noise) is drawn from generators seeded by
``TrainConfig.seed`` on the CPU, so the same seed gives identical weights on the CPU, and a run
resumed from a checkpoint gives the same weights, bit for bit, as an uninterrupted run.

Cache layout (root: argument ``cache_dir``, else ``$DIFFPHASE_CACHE``, else
``~/.cache/diffphase``)::

    denoisers/<key>/config.json     the configuration, data fingerprint and model spec
    denoisers/<key>/checkpoint.pt   last checkpoint of an unfinished run (deleted at the end)
    denoisers/<key>/model.pt        the finished model (EMA weights) and its loss history
    denoisers/<key>/snapshots/step_<k>.pt   EMA weights after step k, for every k of
                                    ``TrainConfig.snapshot_steps`` (kept after the run)
    denoisers/<key>/.lock           advisory lock held while the run trains (concurrent calls
                                    with the same key wait, then load the finished model)

``key`` is the SHA-256 of the canonical JSON of the configuration (fields that do not change
the weights, such as ``checkpoint_every``, excluded), the model spec, the data fingerprint and
:data:`ENGINE_VERSION`. Every file is written atomically (temporary file in the same
directory, ``fsync``, ``os.replace``), so a kill at any moment leaves either the old or the
new file, never a partial one.
"""

from __future__ import annotations

from .config import DISCRETE_MODELS, OBJECTIVES, T_DISTRIBUTIONS, TrainConfig, TrainHistory, lr_at, sample_times
from .objectives import discrete_loss, gaussian_loss
from .run import DenoiserCost, denoiser_cost, load_model, load_snapshot, model_spec, train

__all__ = [
    "TrainConfig",
    "TrainHistory",
    "train",
    "load_model",
    "load_snapshot",
    "lr_at",
    "sample_times",
    "model_spec",
    "gaussian_loss",
    "discrete_loss",
    "DenoiserCost",
    "denoiser_cost",
    "T_DISTRIBUTIONS",
    "OBJECTIVES",
    "DISCRETE_MODELS",
]
