"""Networks from their ``spec`` dictionary, seeded initialization, FLOP counts."""

from __future__ import annotations

import threading
from typing import Callable


import torch
from torch import nn

from diffphase.numerics.checks import check_int

from .mlp import MLPDenoiser
from .tree import TreeDenoiser
from .unet import UNetDenoiser

__all__ = ["seeded_init", "build_model", "denoiser_flops", "module_flops"]


_MODELS = {"mlp": MLPDenoiser, "unet": UNetDenoiser, "tree": TreeDenoiser}


_INIT_LOCK = threading.Lock()


def seeded_init(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Call ``factory()`` with torch's global RNG seeded by ``seed``, restoring the caller's
    RNG state afterwards.

    Parameter initializers of ``torch.nn`` draw from the global RNG; a lock serializes this
    (seed, build, restore) block so that trainings running in threads of one process (a Dask
    ``LocalCluster(processes=False)``, a thread pool) cannot reseed each other's
    initialization. Training itself draws only from private ``torch.Generator`` objects.
    """
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return factory()


def build_model(spec: dict) -> nn.Module:
    """Build an (untrained) denoiser from its ``spec`` dictionary.

    Parameters
    ----------
    spec : dict
        ``"name"`` (``"mlp"``, ``"unet"`` or ``"tree"``) and the constructor's keyword arguments, e.g.
        ``{"name": "mlp", "dim": 2, "hidden": 64}`` or ``{"name": "unet", "image_shape": [1, 8, 8]}``.
        Every model's ``model.spec`` round-trips through this function.

    Returns
    -------
    torch.nn.Module
        A freshly initialized :class:`MLPDenoiser`, :class:`UNetDenoiser` or :class:`TreeDenoiser`.
    """
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in _MODELS:
        raise ValueError(f"spec['name'] must be one of {sorted(_MODELS)}, got {name!r}")
    if name == "mlp" and "skip" not in spec:
        spec["skip"] = False  # saved before the skip term existed (engine version 1)
    return _MODELS[name](**spec)


def denoiser_flops(spec: dict, batch: int = 8) -> dict:
    r"""Floating-point operations of a denoiser per sample, counted by torch.

    Runs one forward and one backward pass of :func:`build_model` ``(spec)`` on a random batch
    under :class:`torch.utils.flop_counter.FlopCounterMode` (matrix products and
    convolutions; element-wise operations are not counted, so this is a lower bound dominated
    by the linear layers) and divides by ``batch``.

    Returns
    -------
    dict
        ``{"forward": F, "train": F + B}``: per-sample FLOPs of a forward pass (one score
        evaluation) and of a training step's forward + backward pass.

    Examples
    --------
    >>> f = denoiser_flops({"name": "mlp", "dim": 16, "hidden": 32, "depth": 1})
    >>> f["train"] > 2 * f["forward"] > 0
    True
    """
    batch = check_int("batch", batch, minimum=1)
    model = build_model(spec)
    dim = model.dim if hasattr(model, "dim") else int(spec["dim"])
    if getattr(model, "discrete", False):  # token input (TreeDenoiser)
        x = torch.randint(0, model.vocab, (batch, dim), generator=torch.Generator().manual_seed(0))
    else:
        x = torch.randn(batch, dim)
    return module_flops(model, x, torch.full((batch,), 0.5))


def module_flops(model: nn.Module, *inputs: torch.Tensor) -> dict:
    r"""Floating-point operations of ``model(*inputs)`` per sample (the first dimension of
    ``inputs[0]``), counted by :class:`torch.utils.flop_counter.FlopCounterMode`: matrix
    products and convolutions of one forward pass, and of one forward + backward pass of the
    loss ``mean(model(*inputs)**2)`` (element-wise work is not counted).

    Returns
    -------
    dict
        ``{"forward": F, "train": F + B}`` per sample.

    Examples
    --------
    >>> module_flops(torch.nn.Linear(4, 3, bias=False), torch.randn(5, 4))["forward"]
    24.0
    """
    from torch.utils.flop_counter import FlopCounterMode

    batch = int(inputs[0].shape[0])
    with FlopCounterMode(display=False) as fwd:
        with torch.no_grad():
            model(*inputs)
    with FlopCounterMode(display=False) as both:
        model(*inputs).square().mean().backward()
    return {"forward": fwd.get_total_flops() / batch, "train": both.get_total_flops() / batch}
