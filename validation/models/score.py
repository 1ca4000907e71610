"""A trained denoiser as a score in OU time; class-conditional denoisers as class models."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from diffphase.numerics.checks import check_int, check_times
from diffphase.numerics.process import denoiser_from_eps, score_from_eps

__all__ = ["score_function", "ClassConditional"]


def score_function(model: nn.Module, device=None, batch_size: int = 8192, label=None) -> Callable:
    r"""Wrap a noise-predicting denoiser as a score :math:`s(x, t) = -\hat\varepsilon(x,t)/\sqrt{\Delta_t}`.

    The returned callable ``score(x, t)`` uses the package's OU time ``t``
    (:math:`\Delta_t = 1-e^{-2t}`) and behaves like an exact score for the samplers of
    :mod:`diffphase.numerics.sde`:

    * ``x`` a numpy array of shape (B, d) (or (d,)) → numpy array of the same shape and float
      dtype (float32 kept, anything else returned as float64);
    * ``x`` a torch tensor (B, d) (or image-shaped for a U-Net) → torch tensor on the input's
      device and dtype;
    * ``t`` a Python float > 0, or an array of shape (B,) of per-sample times > 0.

    Evaluation runs under ``torch.no_grad()`` in eval mode, in chunks of ``batch_size`` rows.

    Parameters
    ----------
    model : torch.nn.Module
        A denoiser whose ``forward(x, t)`` returns :math:`\hat\varepsilon` (e.g. the model
        returned by :func:`diffphase.validation.train.train`).
    device : str or torch.device, optional
        Device to evaluate on; default: the device of the model's parameters. The model is
        moved there.
    batch_size : int
        Rows per forward pass (>= 1).
    label : int, optional
        For a class-conditional network (``num_classes > 0``): the class :math:`y` of the
        conditional score :math:`\nabla\log p_t(x\mid y)`; default the unconditional score.

    Returns
    -------
    callable
        ``score(x, t)``; ``score.model`` is the wrapped model.

    Raises
    ------
    ValueError
        (from the callable) if ``t <= 0``, non-finite, or of the wrong shape.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n_classes = int(getattr(model, "num_classes", 0) or 0)
    if label is not None:
        if not n_classes:
            raise ValueError("label is only for class-conditional networks (num_classes > 0)")
        label = check_int("label", label, minimum=0, maximum=n_classes - 1)
    if device is None:
        try:
            device = next(model.parameters()).device
        except StopIteration:
            device = torch.device("cpu")
    device = torch.device(device)
    model = model.to(device).eval()

    def score(x, t):
        t_arr = check_times(t, positive=True)
        is_np = not isinstance(x, torch.Tensor)
        if is_np:
            x_np = np.asarray(x)
            out_dtype = np.float32 if x_np.dtype == np.float32 else np.float64
            xt = torch.from_numpy(np.ascontiguousarray(x_np, dtype=np.float32))
            in_dtype, in_device = None, None
        else:
            xt, in_dtype, in_device = x, x.dtype, x.device
        single = xt.ndim == 1
        if single:
            xt = xt[None]
        B = xt.shape[0]
        if t_arr.ndim == 0:
            t_all = torch.full((B,), float(t_arr), dtype=torch.float64)
        elif t_arr.shape == (B,):
            t_all = torch.from_numpy(t_arr)
        else:
            raise ValueError(f"t must be a float or have shape ({B},), got shape {t_arr.shape}")
        delta = -torch.expm1(-2.0 * t_all)
        out = torch.empty(xt.shape, dtype=torch.float32, device=device)
        with torch.no_grad():
            for i in range(0, B, batch_size):
                xb = xt[i: i + batch_size].to(device=device, dtype=torch.float32)
                tb = t_all[i: i + batch_size].to(device=device, dtype=torch.float32)
                eps = model(xb, tb) if label is None else model(xb, tb, label)
                inv = (1.0 / torch.sqrt(delta[i: i + batch_size])).to(device=device, dtype=torch.float32)
                shape = (-1,) + (1,) * (eps.ndim - 1)
                out[i: i + batch_size] = -eps.float() * inv.reshape(shape)
        if single:
            out = out[0]
        if is_np:
            return out.cpu().numpy().astype(out_dtype, copy=False)
        return out.to(device=in_device, dtype=in_dtype if in_dtype.is_floating_point else torch.float32)

    score.model = model
    return score


class ClassConditional:
    r"""A trained class-conditional noise predictor seen as denoisers and scores (OU time).

    With :math:`\hat\varepsilon(x,t\mid y)` the network at label :math:`y` (the null label
    ``K`` for the unconditional prediction), :math:`\theta = e^{-t}`,
    :math:`\Delta_t = 1-e^{-2t}`:

    .. math:: \hat D(x,t\mid y) = \frac{x - \sqrt{\Delta_t}\,\hat\varepsilon(x,t\mid y)}{\theta},
              \qquad \hat s(x,t) = -\frac{\hat\varepsilon(x,t)}{\sqrt{\Delta_t}} .

    It has the interface of :class:`diffphase.numerics.gaussian_mixture.GaussianMixture` that the
    online classifier (:func:`~diffphase.numerics.information.online_posterior`) and the
    negative-guidance sampler (:func:`~diffphase.numerics.information.negative_guidance_sample`)
    use: ``K``, ``d``, ``class_denoisers(x, t)`` (B, K, d), ``score(x, t)``, plus
    ``denoise(x, t, y=None)`` and ``guidance_denoisers(c)``. Inputs and outputs are numpy
    float64 arrays; evaluation in chunks of ``batch_size`` rows under ``torch.no_grad()``.

    Parameters
    ----------
    model : torch.nn.Module
        A network with ``num_classes > 0`` (e.g. :class:`MLPDenoiser` trained by
        :func:`~diffphase.validation.train.train` on labelled data).
    device : str or torch.device, optional
        Default: the device of the model's parameters.
    batch_size : int
        Rows per forward pass (>= 1).
    """

    def __init__(self, model: nn.Module, device=None, batch_size: int = 8192):
        self.K = int(getattr(model, "num_classes", 0) or 0)
        if self.K < 1:
            raise ValueError("model must be class-conditional (num_classes > 0)")
        self.d = int(model.dim)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        if device is None:
            device = next(model.parameters()).device
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    def _eps(self, x, t: float, y: int) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ValueError(f"x must have shape (B, {self.d}), got {x.shape}")
        out = np.empty_like(x)
        with torch.no_grad():
            for i in range(0, x.shape[0], self.batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(x[i: i + self.batch_size], dtype=np.float32)).to(self.device)
                out[i: i + self.batch_size] = self.model(xb, float(t), int(y)).double().cpu().numpy()
        return out

    def _time(self, t) -> float:
        t_arr = check_times(t, positive=True)
        if t_arr.ndim != 0:
            raise ValueError("t must be a single OU time")
        return float(t_arr)

    def denoise(self, x, t, y=None) -> np.ndarray:
        r""":math:`\hat D(x,t\mid y)` (unconditional for ``y=None``), shape (B, d)."""
        t = self._time(t)
        yy = self.K if y is None else check_int("y", y, minimum=0, maximum=self.K - 1)
        return denoiser_from_eps(np.asarray(x, dtype=np.float64), self._eps(x, t, yy), t)

    def class_denoisers(self, x, t) -> np.ndarray:
        r""":math:`\hat D(x,t\mid y)` for every class, shape (B, K, d)."""
        return np.stack([self.denoise(x, t, y) for y in range(self.K)], axis=1)

    def score(self, x, t) -> np.ndarray:
        r"""Unconditional score :math:`-\hat\varepsilon(x,t)/\sqrt{\Delta_t}`, shape (B, d)."""
        t = self._time(t)
        return score_from_eps(self._eps(x, t, self.K), t)

    def guidance_denoisers(self, unwanted: int) -> Callable:
        """``f(x, t) -> (D(x, t), D(x, t | unwanted))`` for
        :func:`~diffphase.numerics.information.negative_guidance_sample`."""
        c = check_int("unwanted", unwanted, minimum=0, maximum=self.K - 1)

        def denoisers(x, t):
            return self.denoise(x, t), self.denoise(x, t, c)

        return denoisers
