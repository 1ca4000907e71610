r"""What an experiment of ``diffphase validate`` is, and the context it runs in.

An :class:`Experiment` is a name, a title, a module-level ``run(config, ctx)`` function
returning an :class:`~diffphase.validation.engine.verdicts.ExperimentResult`, and its
configurations: ``quick`` (the ≤ 10-minute CPU run of ``diffphase validate --quick``, all
experiments together), optionally ``standard`` (the CPU evidence tier), and ``full`` (meant
for one GPU). A configuration is a frozen dataclass (or a dict); ``run`` receives it as a
plain dict, whose keys are the dataclass's fields. Tolerances are *not* part of the
configuration: each experiment states them in a ``TOLERANCES`` table before anything is
measured.

The :class:`RunContext` gives the experiment its folder, device, model cache, executor and
two resume helpers:

* :meth:`RunContext.stage` computes a JSON-able stage once and stores it atomically under the
  experiment's folder; a rerun after an interruption (``kill -9`` included) loads it instead;
* :meth:`RunContext.sweep` does the same for every item of a sweep and sends the missing ones
  through :func:`~diffphase.validation.engine.executor.run_sweep` (local pool, serial, or Dask).

Trained models are cached (and their training checkpointed) by
:func:`~diffphase.validation.train.train`, so an interrupted training resumes from its last
checkpoint.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .config import config_key
from .io import read_json, write_json

__all__ = ["Experiment", "RunContext", "EXPERIMENT_VERSION", "MODES", "config_dict"]

#: The modes of ``diffphase validate``, from the cheapest.
MODES = ("quick", "standard", "full")


def config_dict(config) -> dict:
    """A configuration as a plain dict (deep copy): the fields of a dataclass, or the dict."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: copy.deepcopy(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, dict):
        return copy.deepcopy(config)
    raise ValueError(f"a configuration must be a dataclass or a dict, got {type(config).__name__}")

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
    quick, full : dataclass or dict
        Configurations of ``--quick`` and ``--full``.
    standard : dataclass or dict, optional
        Configuration of ``--standard`` (the CPU evidence tier), when the experiment has one.
    modes : tuple of str
        Modes in which it runs when ``--only`` is not given (an experiment too slow for the
        quick budget lists only ``"full"``; ``--only`` runs it in any mode it has a
        configuration for).
    requires : callable, optional
        ``requires() -> str | None``: a reason to skip (e.g. a dataset not installed), or None.
    cost : callable, optional
        ``cost(config) -> Cost`` (:class:`~diffphase.validation.engine.config.Cost`), for
        :func:`~diffphase.validation.validate.plan`.
    after : tuple of str
        Experiments that train a network this one reuses from the model cache. When both run
        in the same ``--jobs N`` run, the driver starts this one only after they finish:
        started together, it would wait on their training lock while holding a worker (in the
        standard run at 04b654e, ``class_information_digits`` held one of two cores for 342 s
        of its 397 s so). Names not in the run are ignored.
    """

    name: str
    title: str
    run: Callable
    quick: Any
    full: Any
    standard: Any = None
    modes: tuple = ("quick", "full")
    requires: Callable[[], str | None] | None = None
    cost: Callable[[dict], Any] | None = None
    after: tuple = ()

    def has_mode(self, mode: str) -> bool:
        """Whether the experiment has a configuration for ``mode``."""
        return mode in MODES and getattr(self, mode) is not None

    def config(self, mode: str) -> dict:
        """The configuration of ``mode`` as a plain dict (:func:`config_dict`).

        Raises
        ------
        ValueError
            For an unknown mode, or a mode the experiment has no configuration for.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if getattr(self, mode) is None:
            raise ValueError(f"experiment {self.name!r} has no {mode} configuration")
        return config_dict(getattr(self, mode))

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
        Passed to :func:`~diffphase.validation.engine.executor.run_sweep` (``"serial"`` by default).
    max_workers : int or None
        Local pool size for sweeps.
    threads_per_worker : int or None
        Torch threads inside each sweep call (see
        :func:`~diffphase.validation.engine.executor.run_sweep`).
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
        :func:`~diffphase.validation.engine.executor.run_sweep` with this context's executor, and
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
