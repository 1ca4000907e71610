r"""This machine's training and sampling rate, measured, for the CPU estimate of
:func:`~diffphase.validation.validate.plan`.

The cost model of an experiment (:class:`~diffphase.validation.engine.config.Cost`) counts
FLOPs of training and sampling, optimizer steps and sampler calls. Its time on this machine is
estimated as

.. math::

    T = \frac{F_{\rm train} + F_{\rm sample}}{R} + n_{\rm steps}\,c_{\rm step}
        + n_{\rm calls}\,c_{\rm call},

with :math:`R` (FLOP/s), :math:`c_{\rm step}` (seconds of fixed cost per optimizer step) and
:math:`c_{\rm call}` (seconds per network call) measured here by :func:`measure_cpu_rate`:
:math:`c_{\rm step}` as the step time of a small MLP (almost all fixed cost: optimizer, EMA,
noising, Python) and :math:`R` by a least-squares fit of :math:`t - c_{\rm step} = F/R` to the
timed steps of a wide MLP and a small U-Net (:func:`~diffphase.validation.train.train`, the
engine's loop), and
:math:`c_{\rm call}` from forward passes of the small MLP. FLOPs are torch's count
(:func:`~diffphase.validation.models.denoiser_flops`), so element-wise work, the optimizer and
data handling are folded into :math:`R` and :math:`c_{\rm step}`. The estimate is CPU time of
one torch thread; a sweep on a pool of ``W`` processes divides the wall time by at most ``W``.

Examples
--------
>>> from diffphase.validation.calibrate import cpu_seconds
>>> cpu_seconds({"train_flops": 2e12, "sample_flops": 0.0, "train_steps": 1000, "sampler_calls": 0},
...             {"flops_per_second": 1e11, "seconds_per_train_step": 1e-3, "seconds_per_sampler_call": 1e-4})
21.0
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["measure_cpu_rate", "cpu_seconds"]


def cpu_seconds(cost, rate: dict) -> float:
    r"""Estimated CPU seconds of ``cost`` at ``rate``:
    :math:`(F_{\rm train}+F_{\rm sample})/R + n_{\rm steps}c_{\rm step} + n_{\rm calls}c_{\rm call}`.

    Parameters
    ----------
    cost : Cost or dict
        With ``train_flops``, ``sample_flops``, ``train_steps``, ``sampler_calls``.
    rate : dict
        ``flops_per_second``, ``seconds_per_train_step``, ``seconds_per_sampler_call``
        (:func:`measure_cpu_rate`).

    Returns
    -------
    float
    """
    get = cost.get if isinstance(cost, dict) else lambda k: getattr(cost, k)
    for k in ("flops_per_second", "seconds_per_train_step", "seconds_per_sampler_call"):
        if k not in rate:
            raise ValueError(f"rate must have key {k!r}; it has {sorted(rate)}")
    if not rate["flops_per_second"] > 0:
        raise ValueError(f"rate['flops_per_second'] must be > 0, got {rate['flops_per_second']!r}")
    return float((get("train_flops") + get("sample_flops")) / rate["flops_per_second"]
                 + get("train_steps") * rate["seconds_per_train_step"]
                 + get("sampler_calls") * rate["seconds_per_sampler_call"])


def _cases():
    from .data import digits, two_class_mixture

    small = {"model": "mlp", "model_kwargs": {"hidden": 64, "depth": 2}, "batch_size": 128, "lr": 1e-3}
    wide = {"model": "mlp", "model_kwargs": {"hidden": 512, "depth": 4}, "batch_size": 512, "lr": 1e-3}
    unet = {"model": "unet", "model_kwargs": {"channels": 16}, "batch_size": 128, "lr": 1e-3}
    yield "mlp 64x2, d=4, batch 128", small, two_class_mixture(2048, 4, seed=0), 60
    yield "mlp 512x4, d=64, batch 512", wide, two_class_mixture(4096, 64, seed=0), 20
    yield "unet 16 ch, digits 8x8, batch 128", unet, digits(), 10


def measure_cpu_rate(threads: int = 1, repeats: int = 2) -> dict:
    r"""Measure :math:`R`, :math:`c_{\rm step}` and :math:`c_{\rm call}` on this machine.

    Trains each calibration denoiser for a few steps (after two untimed warm-up steps; no cache,
    no checkpoint), keeps the best of ``repeats`` CPU times per step, takes :math:`c_{\rm step}`
    from the small MLP and fits :math:`t - c_{\rm step} = F/R` to the other two. About 10--20 s.

    Parameters
    ----------
    threads : int
        Torch threads while measuring (``diffphase validate`` trains with 1).
    repeats : int
        Timings per case; the fastest counts.

    Returns
    -------
    dict
        ``flops_per_second``, ``seconds_per_train_step``, ``seconds_per_sampler_call``,
        ``threads`` and ``cases`` (per case: ``name``, ``flops_per_step``, ``seconds_per_step``).
    """
    import torch

    from diffphase.numerics.checks import check_int

    from .models import denoiser_flops
    from .train import TrainConfig, train
    from .train.run import model_spec

    threads = check_int("threads", threads, minimum=1)
    repeats = check_int("repeats", repeats, minimum=1)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rows = []
        small_model = None
        for name, kw, data, steps in _cases():
            cfg = TrainConfig(**kw, steps=steps, seed=0)
            flops = denoiser_flops(model_spec(cfg, data))["train"] * cfg.batch_size
            best = np.inf
            for _ in range(repeats):
                warm = TrainConfig(**kw, steps=2, seed=0)
                train(warm, data, use_cache=False, progress=False)
                c0 = time.process_time()
                model, _ = train(cfg, data, use_cache=False, progress=False)
                best = min(best, (time.process_time() - c0) / steps)
            rows.append({"name": name, "flops_per_step": float(flops), "seconds_per_step": float(best)})
            if small_model is None:
                small_model = model
        F = np.array([r["flops_per_step"] for r in rows])
        T = np.array([r["seconds_per_step"] for r in rows])
        # the small MLP's step is almost all fixed cost; the larger networks give the FLOP rate
        inv_r = float(F[1:] @ (T[1:] - T[0]) / (F[1:] @ F[1:]))
        if not inv_r > 0:
            inv_r = float(F @ T / (F @ F))
        c_step = max(float(T[0] - F[0] * inv_r), 0.0)
        x = torch.randn(1000, 4)
        tt = torch.full((1000,), 0.5)
        with torch.no_grad():
            small_model(x, tt)
            c0, n = time.process_time(), 50
            for _ in range(n):
                small_model(x, tt)
            c_call = (time.process_time() - c0) / n
    finally:
        torch.set_num_threads(old)
    return {"flops_per_second": float(1.0 / inv_r), "seconds_per_train_step": float(c_step),
            "seconds_per_sampler_call": float(c_call), "threads": threads, "cases": rows}
