r"""This machine's training and sampling rate, measured, for the CPU estimate of
:func:`~diffphase.validation.validate.plan`.

The cost model of an experiment (:class:`~diffphase.validation.engine.config.Cost`) counts
FLOPs of training and sampling, optimizer steps and sampler calls. Its time on this machine is
estimated as

.. math::

    T = \sum_{\rm net} \frac{F_{\rm net}}{R_{\rm net}} + n_{\rm steps}\,c_{\rm step}
        + n_{\rm calls}\,c_{\rm call},

where :math:`F_{\rm net}` are the FLOPs (training and sampling) of each network family (MLP,
U-Net, tree; :meth:`~diffphase.validation.engine.config.Cost.flops_by_network`), with their
rates :math:`R_{\rm net}` (FLOP/s), :math:`c_{\rm step}` (seconds of fixed cost per optimizer
step) and :math:`c_{\rm call}` (seconds per network call) measured here by
:func:`measure_cpu_rate`: :math:`c_{\rm step}` as the step time of a small MLP (almost all fixed
cost: optimizer, EMA, noising, Python), each :math:`R_{\rm net}` from the timed steps of the
family's denoisers at the sizes the experiments use, :math:`t - c_{\rm step} = F/R_{\rm net}`
(least squares; :func:`~diffphase.validation.train.train`, the engine's loop), and
:math:`c_{\rm call}` from forward passes of the small MLP. FLOPs are torch's count
(:func:`~diffphase.validation.models.denoiser_flops`), so element-wise work, the optimizer and
data handling are folded into :math:`R` and :math:`c_{\rm step}`. The estimate is CPU time of
one torch thread; a sweep on a pool of ``W`` processes divides the wall time by at most ``W``.

Examples
--------
>>> from diffphase.validation.calibrate import seconds_at_rate
>>> from diffphase.validation.engine.config import Cost
>>> cost = Cost(train_flops=3e12, train_steps=1000, by_network=(("mlp", 2e12), ("tree", 1e12)))
>>> seconds_at_rate(cost, {"flops_per_second": 1e11, "seconds_per_train_step": 1e-3,
...                    "seconds_per_sampler_call": 1e-4, "by_network": {"tree": 2.5e10}})
61.0
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["measure_cpu_rate", "seconds_at_rate"]


def seconds_at_rate(cost, rate: dict) -> float:
    r"""Estimated seconds of ``cost`` at ``rate`` (CPU seconds at a rate measured by
    :func:`measure_cpu_rate`; one-GPU seconds at
    :data:`~diffphase.validation.validate.GPU_ASSUMPTIONS`):
    :math:`\sum_{\rm net} F_{\rm net}/R_{\rm net} + n_{\rm steps}c_{\rm step} + n_{\rm calls}c_{\rm call}`.

    Parameters
    ----------
    cost : Cost
        (:class:`~diffphase.validation.engine.config.Cost`); FLOPs of a family without its own
        rate, or not attributed to a family, run at ``rate["flops_per_second"]``.
    rate : dict
        ``flops_per_second``, ``seconds_per_train_step``, ``seconds_per_sampler_call`` and
        optionally ``by_network`` (``{family: FLOP/s}``) (:func:`measure_cpu_rate`).

    Returns
    -------
    float
    """
    for k in ("flops_per_second", "seconds_per_train_step", "seconds_per_sampler_call"):
        if k not in rate:
            raise ValueError(f"rate must have key {k!r}; it has {sorted(rate)}")
    rates = {"": rate["flops_per_second"], **rate.get("by_network", {})}
    for name, r in rates.items():
        if not r > 0:
            raise ValueError(f"rate of network {name or 'default'!r} must be > 0 FLOP/s, got {r!r}")
    flops = cost.flops_by_network()
    return float(sum(f / rates.get(name, rates[""]) for name, f in flops.items())
                 + cost.train_steps * rate["seconds_per_train_step"]
                 + cost.sampler_calls * rate["seconds_per_sampler_call"])


def _cases():
    """``(name, family, TrainConfig keywords, data, timed steps)``: the fixed-cost case first,
    then each family at the sizes of the experiments."""
    from diffphase.numerics.rhm import RHM

    import torch

    from .data import Dataset, digits, two_class_mixture
    from .rhm.samplers import rhm_dataset

    small = {"model": "mlp", "model_kwargs": {"hidden": 64, "depth": 2}, "batch_size": 128, "lr": 1e-3}
    mlp = {"model": "mlp", "model_kwargs": {"hidden": 512, "depth": 4}, "batch_size": 512, "lr": 1e-3}
    unet = {"model": "unet", "model_kwargs": {"channels": 16, "skip": True}, "batch_size": 64, "lr": 1e-3}
    tree = {"model": "tree", "model_kwargs": {"hidden": 32, "blocks": 1}, "batch_size": 512, "lr": 1e-3,
            "objective": "masking", "t_distribution": "noise_level", "t_max": 4.0}
    yield "mlp 64x2, d=4, batch 128", "", small, two_class_mixture(2048, 4, seed=0), 60
    yield "mlp 512x4, d=64, batch 512", "mlp", mlp, two_class_mixture(4096, 64, seed=0), 20
    yield "unet 16 ch + skip, 8x8, batch 64", "unet", unet, digits(), 20
    # 28x28 images of the MNIST size, drawn here: the calibration needs no optional data set
    x = torch.randn(512, 784, generator=torch.Generator().manual_seed(0)).clamp(-1, 1)
    images = Dataset(x, torch.zeros(512, dtype=torch.long), torch.zeros(784), torch.ones(784), (1, 28, 28),
                     "calibration_28x28")
    yield "unet 16 ch + skip, 28x28, batch 64", "unet", unet, images, 6
    yield "tree 32 wide, v=8 m=2 L=5, batch 512", "tree", tree, rhm_dataset(RHM(8, 2, 2, 5, seed=0), 2048, 0), 20


def measure_cpu_rate(threads: int = 1, repeats: int = 2) -> dict:
    r"""Measure :math:`R`, :math:`c_{\rm step}` and :math:`c_{\rm call}` on this machine.

    Trains each calibration denoiser for a few steps (after two untimed warm-up steps; no cache,
    no checkpoint), keeps the best of ``repeats`` CPU times per step, takes :math:`c_{\rm step}`
    from the small MLP and each family's rate from :math:`t - c_{\rm step} = F/R`. About 20 s.

    Parameters
    ----------
    threads : int
        Torch threads while measuring (``diffphase validate`` trains with 1).
    repeats : int
        Timings per case; the fastest counts.

    Returns
    -------
    dict
        ``flops_per_second`` (the MLP's, the default), ``by_network`` (``{"mlp", "unet",
        "tree"}``: FLOP/s), ``seconds_per_train_step``, ``seconds_per_sampler_call``,
        ``threads`` and ``cases`` (per case: ``name``, ``network``, ``flops_per_step``,
        ``seconds_per_step``).
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
        for name, family, kw, data, steps in _cases():
            cfg = TrainConfig(**kw, steps=steps, seed=0)
            flops = denoiser_flops(model_spec(cfg, data))["train"] * cfg.batch_size
            best = np.inf
            for _ in range(repeats):
                warm = TrainConfig(**kw, steps=2, seed=0)
                train(warm, data, use_cache=False, progress=False)
                c0 = time.process_time()
                model, _ = train(cfg, data, use_cache=False, progress=False)
                best = min(best, (time.process_time() - c0) / steps)
            rows.append({"name": name, "network": family, "flops_per_step": float(flops),
                         "seconds_per_step": float(best)})
            if small_model is None:
                small_model = model
        c_step = rows[0]["seconds_per_step"]  # the small MLP: almost all fixed cost
        by_network = {}
        for fam in sorted({r["network"] for r in rows[1:]}):
            F = np.array([r["flops_per_step"] for r in rows[1:] if r["network"] == fam])
            T = np.array([r["seconds_per_step"] for r in rows[1:] if r["network"] == fam]) - c_step
            by_network[fam] = float(F @ F / max(F @ T, 1e-300))  # least squares of T = F / R
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
    return {"flops_per_second": by_network["mlp"], "by_network": by_network,
            "seconds_per_train_step": float(c_step), "seconds_per_sampler_call": float(c_call),
            "threads": threads, "cases": rows}
