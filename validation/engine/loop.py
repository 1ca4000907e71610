r"""The one training loop of the package: AdamW, a learning-rate schedule, optional EMA,
gradient clipping, mixed precision on CUDA, atomic checkpoints, resume, snapshots.

What is trained is given by a *loss callback*: ``loss_fn(model, idx, generator)`` returns the
minibatch loss of the rows ``idx`` (drawn by the loop, with replacement, from ``n`` rows),
drawing any further randomness (times, noise, label dropout) from ``generator`` — a CPU
``torch.Generator`` seeded by the caller, whose state is checkpointed, so a resumed run gives
the same weights, bit for bit, as an uninterrupted one. Denoisers (Gaussian and discrete
objectives, :mod:`diffphase.validation.train`) and classifiers
(:mod:`diffphase.validation.classifier`) both train here.

Checkpoint layout inside ``run_dir``: ``checkpoint.pt`` every ``checkpoint_every`` steps
(deleted by the caller when the final model is stored), ``snapshots/step_<k>.pt`` for the
steps of ``snapshot_steps`` (the returned model's weights after step ``k``).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .io import atomic_torch_save
from .progress import Progress

__all__ = ["LoopSettings", "FitResult", "fit", "cosine_lr", "snapshot_paths", "default_device"]


def cosine_lr(step: int, steps: int, lr: float, warmup_steps: int, min_lr_ratio: float = 0.0,
              span_offset: int = 1) -> float:
    r"""Linear warm-up then cosine decay.

    .. math:: \eta_s = \eta\,\frac{s+1}{W}\ (s < W),\qquad
              \eta_s = \eta\big[r + (1-r)\tfrac12(1+\cos\pi u)\big],\
              u = \min\!\big(1, \tfrac{s-W}{\max(S-W-o,\,1)}\big)\ (s \ge W),

    :math:`\eta` = ``lr``, :math:`W` = ``warmup_steps``, :math:`S` = ``steps``, :math:`r` =
    ``min_lr_ratio``, :math:`o` = ``span_offset`` (1: the last step has exactly
    :math:`r\eta`, the denoisers' schedule; 0: the classifiers').

    Parameters
    ----------
    step : int
        0-based step index.
    steps, lr, warmup_steps, min_lr_ratio, span_offset
        As above.

    Returns
    -------
    float
    """
    W, S, eta, r = warmup_steps, steps, lr, min_lr_ratio
    if step < W:
        return eta * (step + 1) / W
    u = min(max((step - W) / max(S - W - span_offset, 1), 0.0), 1.0)
    return eta * (r + (1.0 - r) * 0.5 * (1.0 + math.cos(math.pi * u)))


@dataclass(frozen=True)
class LoopSettings:
    """What the loop needs to know about a run.

    Attributes
    ----------
    steps, batch_size : int
        Optimizer steps and rows per minibatch (drawn with replacement).
    lr_of_step : callable
        ``lr_of_step(step) -> float``, the learning rate of a 0-based step.
    weight_decay : float
    betas : tuple of float
        AdamW moment coefficients.
    grad_clip : float
        Global gradient-norm clip, 0 to disable.
    ema_decay : float or None
        EMA decay :math:`\\beta` (step ``s`` uses :math:`\\min(\\beta, (1+s)/(10+s))`); the EMA
        weights are the returned model. ``None``: no EMA, the trained weights are returned.
    generator_seed : int
        Seed of the CPU generator every minibatch draw comes from.
    amp : bool
        Mixed precision on CUDA (bfloat16 where supported, else float16 with loss scaling).
    checkpoint_every : int
        Steps between checkpoints (with a ``run_dir``).
    snapshot_steps : tuple of int
        Steps after which the returned model's weights are kept.
    """

    steps: int
    batch_size: int
    lr_of_step: Callable[[int], float]
    weight_decay: float = 0.0
    betas: tuple = (0.9, 0.999)
    grad_clip: float = 0.0
    ema_decay: float | None = None
    generator_seed: int = 0
    amp: bool = False
    checkpoint_every: int = 500
    snapshot_steps: tuple = ()


@dataclass
class FitResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    model : torch.nn.Module
        The EMA network (or the trained one without EMA), in eval mode.
    losses, lrs : ndarray
        Per-step loss and learning rate (resumed steps included).
    seconds : float
        Wall time of this call's steps.
    resumed_from : int
        Step the run resumed from (0: fresh).
    snapshots : dict
        ``{step: path}`` (or ``{step: payload}`` without a run folder).
    """

    model: nn.Module
    losses: np.ndarray
    lrs: np.ndarray
    seconds: float = 0.0
    resumed_from: int = 0
    snapshots: dict = field(default_factory=dict)


def snapshot_paths(run_dir: Path, steps) -> dict:
    """``{k: run_dir/snapshots/step_<k>.pt}`` for the steps whose file exists."""
    return {k: run_dir / "snapshots" / f"step_{k}.pt" for k in steps
            if (run_dir / "snapshots" / f"step_{k}.pt").exists()}


def _ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    with torch.no_grad():
        torch._foreach_lerp_(list(ema.parameters()), [p.detach() for p in model.parameters()], 1.0 - decay)
        for e, b in zip(ema.buffers(), model.buffers()):
            e.copy_(b)


def default_device() -> str:
    """``"cuda"`` when a CUDA device is available, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def fit(model: nn.Module, loss_fn: Callable, n: int, settings: LoopSettings, *, key: str, device: torch.device,
        run_dir: Path | None = None, resume: bool = True, progress: bool = False, desc: str = "train",
        spec: dict | None = None) -> FitResult:
    """Train ``model`` (already initialized) on ``n`` rows with the loss callback ``loss_fn``.

    Parameters
    ----------
    model : torch.nn.Module
        The network, freshly initialized (seeded by the caller).
    loss_fn : callable
        ``loss_fn(model, idx, generator) -> scalar tensor``; ``idx`` is a CPU int64 tensor of
        ``batch_size`` row indices.
    n : int
        Number of rows to draw from.
    settings : LoopSettings
    key : str
        The run's cache key, stored in checkpoints (a checkpoint of another key is refused).
    device : torch.device
    run_dir : Path, optional
        Folder of checkpoints and snapshots; None trains in memory.
    resume : bool
        Resume from ``run_dir/checkpoint.pt`` when it exists.
    progress : bool
        A progress bar (:class:`~diffphase.validation.engine.progress.Progress`).
    desc : str
        Its label.
    spec : dict, optional
        Stored in snapshots (what rebuilds the network).

    Returns
    -------
    FitResult

    Raises
    ------
    FloatingPointError
        When the loss becomes non-finite (the message names the step).
    ValueError
        When the checkpoint in ``run_dir`` belongs to another key.
    """
    s = settings
    ema = None
    if s.ema_decay is not None:
        ema = copy.deepcopy(model)
        ema.to(device).eval()
        for p in ema.parameters():
            p.requires_grad_(False)
    model.to(device).train()
    gen = torch.Generator().manual_seed(s.generator_seed)
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr_of_step(0), weight_decay=s.weight_decay, betas=tuple(s.betas),
                            foreach=True)
    use_amp = bool(s.amp) and device.type == "cuda"
    amp_dtype = torch.bfloat16 if (use_amp and torch.cuda.is_bf16_supported()) else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    losses: list[float] = []
    lrs: list[float] = []
    start = 0
    snapshots: dict = {}
    ckpt_path = run_dir / "checkpoint.pt" if run_dir is not None else None
    if ckpt_path is not None and resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if ck.get("key") != key:
            raise ValueError(f"checkpoint {ckpt_path} belongs to another run (key mismatch)")
        model.load_state_dict(ck["model"])
        if ema is not None:
            ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        scaler.load_state_dict(ck["scaler"])
        gen.set_state(ck["rng"])
        losses, lrs, start = list(ck["losses"]), list(ck["lrs"]), int(ck["step"])
        snapshots = {k: p for k, p in snapshot_paths(run_dir, s.snapshot_steps).items() if k <= start}
    out = ema if ema is not None else model
    snap_steps = set(s.snapshot_steps)
    t0 = time.time()
    with Progress(s.steps, start, progress, desc) as bar:
        for step in range(start, s.steps):
            lr = s.lr_of_step(step)
            for g in opt.param_groups:
                g["lr"] = lr
            idx = torch.randint(n, (s.batch_size,), generator=gen)
            with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=use_amp):
                loss = loss_fn(model, idx, gen)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if s.grad_clip > 0:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
            scaler.step(opt)
            scaler.update()
            if ema is not None:
                _ema_update(ema, model, min(s.ema_decay, (1.0 + step) / (10.0 + step)))
            lv = float(loss.detach())
            if not math.isfinite(lv):
                raise FloatingPointError(f"training loss became {lv} at step {step + 1} ({desc}); lower the learning "
                                         f"rate or check the data")
            losses.append(lv)
            lrs.append(lr)
            bar.update(step + 1, lv, lr)
            done = step + 1
            if done in snap_steps:
                snap = {"key": key, "step": done, "spec": spec,
                        "ema": {k: v.detach().cpu().clone() for k, v in out.state_dict().items()}}
                snapshots[done] = snap if run_dir is None else atomic_torch_save(
                    snap, run_dir / "snapshots" / f"step_{done}.pt")
            if ckpt_path is not None and done % s.checkpoint_every == 0 and done < s.steps:
                atomic_torch_save({"key": key, "step": done, "model": model.state_dict(),
                                   "ema": None if ema is None else ema.state_dict(), "opt": opt.state_dict(),
                                   "scaler": scaler.state_dict(), "rng": gen.get_state(), "losses": losses,
                                   "lrs": lrs}, ckpt_path)
    out.eval()
    return FitResult(out, np.asarray(losses), np.asarray(lrs), time.time() - t0, start, snapshots)
