r"""What an experiment of ``diffphase validate`` is, and the context it runs in.

An :class:`Experiment` is a name, a title, a module-level ``run(config, ctx)`` function
returning an :class:`~diffphase.validation.report.ExperimentResult`, and two configurations:
``quick`` (the ≤ 10-minute CPU run of ``diffphase validate --quick``, all experiments
together) and ``full`` (meant for one GPU). Tolerances are *not* part of the configuration:
each experiment module states them in a ``TOLERANCES`` table before anything is measured.

The :class:`RunContext` gives the experiment its folder, device, model cache, executor and
two resume helpers:

* :meth:`RunContext.stage` computes a JSON-able stage once and stores it atomically under the
  experiment's folder; a rerun after an interruption (``kill -9`` included) loads it instead;
* :meth:`RunContext.sweep` does the same for every item of a sweep and sends the missing ones
  through :func:`~diffphase.validation.executor.run_sweep` (local pool, serial, or Dask).

Trained models are cached (and their training checkpointed) by
:func:`~diffphase.validation.train.train`, so an interrupted training resumes from its last
checkpoint.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .report import read_json, write_json
from .train import config_key

__all__ = ["Experiment", "RunContext", "EXPERIMENT_VERSION", "denoiser_cost", "sum_costs"]

#: Version of the experiment protocol; part of every result key. Bump it when a change to an
#: experiment's code would change its results for an unchanged configuration.
EXPERIMENT_VERSION = 2  # 2: verdicts carry kind, source and preconditions


@dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    Attributes
    ----------
    name : str
        Identifier used by ``--only`` and as the folder name.
    title : str
        Heading in the report.
    run : callable
        ``run(config: dict, ctx: RunContext) -> ExperimentResult``; module-level.
    quick, full : dict
        Configurations of ``--quick`` and ``--full``.
    modes : tuple of str
        Modes in which it runs when ``--only`` is not given (an experiment too slow for the
        quick budget lists only ``"full"``; ``--only`` runs it in any mode).
    requires : callable, optional
        ``requires() -> str | None``: a reason to skip (e.g. a dataset not installed), or None.
    cost : callable, optional
        ``cost(config) -> dict`` with ``train_flops``, ``sample_flops``, ``train_steps`` and
        ``sampler_calls`` (network forward passes in batches), for
        :func:`~diffphase.validation.validate.plan`.
    """

    name: str
    title: str
    run: Callable
    quick: dict
    full: dict
    modes: tuple = ("quick", "full")
    requires: Callable[[], str | None] | None = None
    cost: Callable[[dict], dict] | None = None

    def config(self, mode: str) -> dict:
        """The configuration of ``mode`` (``"quick"`` or ``"full"``)."""
        if mode not in ("quick", "full"):
            raise ValueError(f"mode must be 'quick' or 'full', got {mode!r}")
        return dict(self.quick if mode == "quick" else self.full)

    def key(self, mode: str, config: dict) -> str:
        """Hash identifying a result: experiment name, mode, configuration, protocol version."""
        return config_key({"experiment": self.name, "mode": mode, "config": config, "version": EXPERIMENT_VERSION})


@dataclass
class RunContext:
    """Where and how an experiment runs.

    Attributes
    ----------
    name : str
        The experiment's name.
    mode : str
    key : str
        The result key (:meth:`Experiment.key`); stages are stored per key.
    report_dir : Path
        The report folder; figures go there (``report_dir / f"{name}.png"``).
    device : str
        Torch device for training and sampling.
    cache_dir : Path
        Cache root of trained denoisers and classifiers.
    executor : object
        Passed to :func:`~diffphase.validation.executor.run_sweep` (``"serial"`` by default).
    max_workers : int or None
        Local pool size for sweeps.
    threads_per_worker : int or None
        Torch threads inside each sweep call (see
        :func:`~diffphase.validation.executor.run_sweep`).
    progress : bool
        Show progress bars and stage messages.
    """

    name: str
    mode: str
    key: str
    report_dir: Path
    device: str = "cpu"
    cache_dir: Path | None = None
    executor: Any = "serial"
    max_workers: int | None = None
    threads_per_worker: int | None = None
    progress: bool = True
    log: Callable[[str], None] = field(default=print, repr=False)

    @property
    def exp_dir(self) -> Path:
        """The experiment's folder, ``report_dir / name``."""
        return Path(self.report_dir) / self.name

    @property
    def stage_dir(self) -> Path:
        """Folder of the stored stages of this key."""
        return self.exp_dir / f"stages-{self.key[:16]}"

    def figure_path(self, suffix: str = "") -> Path:
        """Path of the experiment's PNG in the report folder."""
        return Path(self.report_dir) / f"{self.name}{suffix}.png"

    def clear_stale_stages(self) -> None:
        """Delete stage folders of other keys (results of an older configuration)."""
        if self.exp_dir.exists():
            for p in self.exp_dir.glob("stages-*"):
                if p != self.stage_dir and p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)

    def stage(self, stage_name: str, fn: Callable[..., dict], /, **kwargs) -> dict:
        """``fn(**kwargs)``, computed once: loaded from ``stage_dir/<stage_name>.json`` when a
        previous run stored it, else computed and stored atomically. ``fn`` returns a JSON-able
        dict (numpy arrays allowed; they are stored as lists and come back as lists)."""
        path = self.stage_dir / f"{stage_name}.json"
        if path.exists():
            return read_json(path)
        if self.progress:
            self.log(f"[{self.name}] {stage_name} ...")
        out = fn(**kwargs)
        write_json(out, path)
        return read_json(path)

    def sweep(self, stage_names: Sequence[str], fn: Callable[..., dict], kwargs_list: Sequence[dict]) -> list[dict]:
        """Stages ``fn(**kwargs)`` for every item; the ones not stored yet go through
        :func:`~diffphase.validation.executor.run_sweep` with this context's executor, and
        each result is stored as soon as the sweep returns. Returns the results in order."""
        from .executor import run_sweep

        stage_names, kwargs_list = list(stage_names), list(kwargs_list)
        if len(stage_names) != len(kwargs_list) or len(set(stage_names)) != len(stage_names):
            raise ValueError("stage_names must be unique and match kwargs_list in length")
        paths = [self.stage_dir / f"{s}.json" for s in stage_names]
        todo = [i for i, p in enumerate(paths) if not p.exists()]
        if todo:
            if self.progress:
                self.log(f"[{self.name}] {', '.join(stage_names[i] for i in todo)} ...")
            if self.executor == "serial":
                for i in todo:  # store each item as soon as it is done
                    write_json(fn(**kwargs_list[i]), paths[i])
            else:
                outs = run_sweep(fn, [kwargs_list[i] for i in todo], executor=self.executor,
                                 max_workers=self.max_workers, threads_per_worker=self.threads_per_worker,
                                 progress=self.progress)
                for i, out in zip(todo, outs):
                    write_json(out, paths[i])
        return [read_json(p) for p in paths]


def denoiser_cost(train: dict, dim: int, image_shape=None, num_classes: int = 0) -> tuple[dict, dict]:
    """FLOPs of one denoiser of an experiment's ``train`` block, for ``cost`` functions.

    Parameters
    ----------
    train : dict
        :class:`~diffphase.validation.train.TrainConfig` keyword arguments.
    dim : int
        Data dimension.
    image_shape : tuple, optional
        ``(C, H, W)`` for a U-Net.
    num_classes : int
        ``K > 0`` for a class-conditional network (added to ``model_kwargs``).

    Returns
    -------
    flops : dict
        :func:`~diffphase.validation.models.denoiser_flops` per row (``forward``, ``train``).
    run : dict
        ``steps``, ``batch`` and ``train_flops`` (= ``flops["train"] * steps * batch``).
    """
    from types import SimpleNamespace

    from .models import denoiser_flops
    from .train import TrainConfig, model_spec

    kw = dict(train)
    if num_classes:
        kw["model_kwargs"] = dict(kw.get("model_kwargs", {}), num_classes=int(num_classes))
    cfg = TrainConfig(**kw).validate()
    f = denoiser_flops(model_spec(cfg, SimpleNamespace(dim=int(dim), image_shape=image_shape)))
    return f, {"steps": cfg.steps, "batch": cfg.batch_size, "train_flops": f["train"] * cfg.steps * cfg.batch_size}


def sum_costs(parts: list) -> dict:
    """Sum of ``cost`` dictionaries (``train_flops``, ``sample_flops``, ``train_steps``,
    ``sampler_calls``)."""
    return {k: sum(p[k] for p in parts) for k in ("train_flops", "sample_flops", "train_steps", "sampler_calls")}
