r"""Training a denoiser with the engine's loop, the cache of trained models, and their cost."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data import Dataset
from ..engine.config import ENGINE_VERSION, Cost, config_key
from ..engine.io import RunLock, atomic_torch_save, atomic_write_text, cache_root, to_jsonable
from ..engine.loop import LoopSettings, default_device, fit, snapshot_paths
from ..models import build_model, seeded_init
from .config import DISCRETE_MODELS, TrainConfig, TrainHistory, lr_at
from .objectives import as_dataset, discrete_loss, gaussian_loss

__all__ = ["train", "model_spec", "load_model", "load_snapshot", "DenoiserCost", "denoiser_cost"]


def model_spec(config: TrainConfig, data: Dataset) -> dict:
    """The network :func:`train` builds for a configuration and data.

    Parameters
    ----------
    config : TrainConfig
    data : Dataset
        Supplies ``d`` (MLP) or ``image_shape`` (U-Net, unless given in ``model_kwargs``).

    Returns
    -------
    dict
        A ``spec`` for :func:`~diffphase.validation.models.build_model`.
    """
    kw = dict(config.model_kwargs)
    if config.model == "mlp":
        return {"name": "mlp", "dim": data.dim, "skip": True, **kw}
    if config.model in DISCRETE_MODELS:
        vocab = kw.pop("vocab", None) or (getattr(data, "meta", None) or {}).get("vocab")
        if vocab is None:
            raise ValueError(f"model={config.model!r} needs the vocabulary: model_kwargs['vocab'] or "
                             "Dataset.meta['vocab']")
        return {"name": config.model, "vocab": int(vocab), "length": data.dim,
                "mask": config.objective == "masking", **kw}
    shape = kw.pop("image_shape", None) or data.image_shape
    if shape is None:
        raise ValueError("model='unet' needs image data (Dataset.image_shape) or model_kwargs['image_shape']")
    return {"name": "unet", "image_shape": list(shape), **kw}


def load_model(path, device=None) -> tuple[nn.Module, dict]:
    """Load a finished model file (``<cache>/denoisers/<key>/model.pt``).

    Parameters
    ----------
    path : str or Path
    device : str or torch.device, optional
        Default :func:`default_device`.

    Returns
    -------
    model : torch.nn.Module
        The EMA network in eval mode on ``device``.
    payload : dict
        The saved dictionary (``spec``, ``config``, ``key``, ``losses``, ``lrs``, ...).
    """
    payload = torch.load(Path(path), map_location="cpu", weights_only=False)
    model = build_model(payload["spec"])
    model.load_state_dict(payload["ema"])
    return model.to(device or default_device()).eval(), payload


def load_snapshot(snapshot, device=None) -> nn.Module:
    """The network of one snapshot of ``TrainHistory.snapshots`` (EMA weights after a step of
    ``TrainConfig.snapshot_steps``).

    Parameters
    ----------
    snapshot : str, Path or dict
        A ``snapshots/step_<k>.pt`` file or its payload (``spec``, ``ema``, ``step``).
    device : str or torch.device, optional
        Default :func:`default_device`.

    Returns
    -------
    torch.nn.Module
        In eval mode on ``device``, with ``model.spec`` and ``model.step``.
    """
    if isinstance(snapshot, (str, Path)):
        snapshot = torch.load(Path(snapshot), map_location="cpu", weights_only=False)
    if not isinstance(snapshot, dict) or not {"spec", "ema", "step"} <= set(snapshot):
        raise ValueError("snapshot must be a snapshot file or its payload (keys 'spec', 'ema', 'step')")
    model = build_model(snapshot["spec"])
    model.load_state_dict(snapshot["ema"])
    model.step = int(snapshot["step"])
    return model.to(device or default_device()).eval()


def train(config: TrainConfig, data, *, device=None, cache_dir=None, use_cache: bool = True,
          resume: bool = True, progress: bool = True, desc: str | None = None) -> tuple[nn.Module, TrainHistory]:
    r"""Train a noise-predicting denoiser on ``data`` in OU time and return its EMA weights
    (or, for a discrete ``config.objective``, a clean-token predictor on integer tokens).

    See the module docstring for the loss, time sampling, schedules and cache layout.

    Parameters
    ----------
    config : TrainConfig
        The configuration (validated here).
    data : Dataset or array_like of shape (n, d)
        Training data in normalized coordinates (a :class:`~diffphase.validation.data.Dataset`
        or a float array/tensor); integer tokens for the discrete objectives.
    device : str or torch.device, optional
        Default :func:`default_device` (CUDA when available, else CPU). Not part of the cache
        key; all random draws happen on the CPU, so the draws do not depend on the device.
    cache_dir : str or Path, optional
        Cache root (default ``$DIFFPHASE_CACHE`` or ``~/.cache/diffphase``).
    use_cache : bool
        If True (default): return the cached model when this configuration and data were
        trained before, otherwise write checkpoints every ``config.checkpoint_every`` steps,
        and the finished model, to the cache. If False: train in memory, write nothing.
    resume : bool
        Resume from the run's checkpoint when one exists (default True).
    progress : bool
        Show a progress bar with the loss (tqdm if installed, else lines on stderr).
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    model : torch.nn.Module
        The EMA network, in eval mode, on ``device``; ``model.spec`` rebuilds it.
    history : TrainHistory
        Per-step losses and learning rates, the cache key and path, and whether the model came
        from the cache or resumed from a checkpoint.
    """
    config.validate()
    ds = as_dataset(data, config.discrete)
    device = torch.device(device if device is not None else default_device())
    spec = model_spec(config, ds)
    key = config_key({"kind": "denoiser", "config": config, "spec": spec, "data": ds.fingerprint()})
    run_dir = cache_root(cache_dir) / "denoisers" / key if use_cache else None
    final_path = run_dir / "model.pt" if run_dir else None

    with RunLock(run_dir):
        if final_path is not None and final_path.exists():
            model, payload = load_model(final_path, device)
            return model, TrainHistory(np.asarray(payload["losses"]), np.asarray(payload["lrs"]), key, run_dir,
                                       from_cache=True, device=str(device),
                                       snapshots=snapshot_paths(run_dir, config.snapshot_steps))
        return _fit(config, ds, spec, key, run_dir, device, resume, progress, desc)


def _fit(config: TrainConfig, ds: Dataset, spec: dict, key: str, run_dir: Path | None, device: torch.device,
         resume: bool, progress: bool, desc: str | None) -> tuple[nn.Module, TrainHistory]:
    """Train with :func:`~diffphase.validation.engine.loop.fit` (called with the run's lock held)."""
    final_path = run_dir / "model.pt" if run_dir else None
    # deterministic initialization independent of the global RNG state
    model = seeded_init(lambda: build_model(spec), config.seed)
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not (run_dir / "config.json").exists():
            atomic_write_text(json.dumps({"config": to_jsonable(dataclasses.asdict(config)), "spec": spec,
                                          "data": {"name": ds.name, "n": len(ds), "d": ds.dim,
                                                   "fingerprint": ds.fingerprint()},
                                          "engine_version": ENGINE_VERSION}, indent=2, sort_keys=True),
                              run_dir / "config.json")
    x_all = ds.data.to(device=device, dtype=torch.int64 if config.discrete else torch.float32)
    sched = config.discrete_schedule() if config.time_sampling == "discrete" else None
    if config.discrete:
        loss_fn = discrete_loss(x_all, config, spec["vocab"], device, sched)
    else:
        n_classes = int(spec.get("num_classes", 0) or 0)
        y_all = None
        if n_classes:
            if ds.labels is None:
                raise ValueError("a class-conditional model (model_kwargs['num_classes'] > 0) needs labelled data")
            y_all = ds.labels.to(device=device, dtype=torch.int64)
            if int(y_all.min()) < 0 or int(y_all.max()) >= n_classes:
                raise ValueError(f"labels must be in [0, num_classes = {n_classes}), got range "
                                 f"[{int(y_all.min())}, {int(y_all.max())}]")
        loss_fn = gaussian_loss(x_all, config, device, n_classes, y_all, sched)
    settings = LoopSettings(
        steps=config.steps, batch_size=config.batch_size, lr_of_step=lambda k: lr_at(k, config),
        weight_decay=config.weight_decay, betas=(config.adam_beta1, config.adam_beta2), grad_clip=config.grad_clip,
        ema_decay=config.ema_decay, generator_seed=config.seed + 0x5EED, amp=config.amp,
        checkpoint_every=config.checkpoint_every, snapshot_steps=config.snapshot_steps)
    try:
        res = fit(model, loss_fn, x_all.shape[0], settings, key=key, device=device, run_dir=run_dir, resume=resume,
                  progress=progress, desc=desc or f"train {config.model} {key[:8]}", spec=spec)
    except FloatingPointError as exc:
        raise FloatingPointError(f"{exc}; lower lr (now {config.lr}) or raise t_min (now {config.t_min})") from None
    ema = res.model
    ema.spec = spec
    history = TrainHistory(res.losses, res.lrs, key, run_dir, from_cache=False, resumed_from=res.resumed_from,
                           seconds=res.seconds, device=str(device), snapshots=res.snapshots)
    if final_path is not None:
        atomic_torch_save({"key": key, "spec": spec, "config": to_jsonable(dataclasses.asdict(config)),
                           "ema": {k: v.detach().cpu() for k, v in ema.state_dict().items()},
                           "losses": res.losses.tolist(), "lrs": res.lrs.tolist(), "engine_version": ENGINE_VERSION},
                          final_path)
        ckpt = run_dir / "checkpoint.pt"
        if ckpt.exists():
            ckpt.unlink()
    return ema, history


@dataclass(frozen=True)
class DenoiserCost:
    """FLOPs of one denoiser configuration, for the ``cost`` functions of experiments.

    Attributes
    ----------
    forward : float
        FLOPs of one forward pass per row (:func:`~diffphase.validation.models.denoiser_flops`).
    training : Cost
        The training run: ``steps × batch ×`` (forward + backward) FLOPs, ``steps`` optimizer steps.
    steps, batch : int
    network : str
        The network family (``TrainConfig.model``).
    """

    forward: float
    training: Cost
    steps: int
    batch: int
    network: str = ""

    def sampling(self, rows: float, calls: int) -> Cost:
        """Cost of ``rows`` single-row forward passes made in ``calls`` batched calls."""
        flops = float(rows) * self.forward
        return Cost(sample_flops=flops, sampler_calls=int(calls), by_network=((self.network, flops),))


def denoiser_cost(train: dict, dim: int, image_shape=None, num_classes: int = 0) -> DenoiserCost:
    """FLOPs of the denoiser of an experiment's ``train`` block.

    Parameters
    ----------
    train : dict
        :class:`TrainConfig` keyword arguments.
    dim : int
        Data dimension.
    image_shape : tuple, optional
        ``(C, H, W)`` for a U-Net.
    num_classes : int
        ``K > 0`` for a class-conditional network (added to ``model_kwargs``).

    Returns
    -------
    DenoiserCost
    """
    from types import SimpleNamespace

    from ..models import denoiser_flops

    kw = dict(train)
    if num_classes:
        kw["model_kwargs"] = dict(kw.get("model_kwargs", {}), num_classes=int(num_classes))
    cfg = TrainConfig(**kw)
    f = denoiser_flops(model_spec(cfg, SimpleNamespace(dim=int(dim), image_shape=image_shape)))
    flops = f["train"] * cfg.steps * cfg.batch_size
    training = Cost(train_flops=flops, train_steps=cfg.steps, by_network=((cfg.model, flops),))
    return DenoiserCost(float(f["forward"]), training, cfg.steps, cfg.batch_size, cfg.model)
