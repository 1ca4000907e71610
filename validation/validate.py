r"""The driver of ``diffphase validate``: run the registered experiments, resume, report.

:func:`run_validation` runs every experiment registered in :data:`EXPERIMENTS` for the chosen
mode (or the ones named by ``only``) and writes into ``out``:

* ``<name>/result.json`` per experiment, atomically, once it is finished;
* ``<name>/stages-<key>/*.json``, the stored stages of an unfinished experiment;
* ``<name>.png`` per experiment (theory curve, exact reference, measured points with error
  bars);
* ``results.json``, ``report.md``, ``report.html`` with the verdict table (rewritten after
  every experiment, so a partial report exists while a long run is going).

A rerun with the same ``out`` reuses every finished experiment whose configuration is
unchanged and every stored stage of an unfinished one; trained models come from the cache
(by default ``<out>/cache``), and a training interrupted mid-way resumes from its last
checkpoint. The run passes when every judged verdict — claim, reference, precondition —
passes (:mod:`diffphase.validation.claims`); a claim whose precondition failed is
INCONCLUSIVE, and the failed precondition fails the run. Exploratory predictions of this
package are reported in their own table and count only with ``strict=True``. Skipped
experiments (missing optional data) do not fail the run.

Examples
--------
>>> from diffphase.validation.validate import EXPERIMENTS, default_names
>>> default_names("quick")[:3]          # the modules of BUILTIN_MODULES, in order
['speciation_gm', 'speciation_digits', 'collapse']
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .engine.experiment import MODES, Experiment, RunContext
from .engine.io import read_json, write_json
from .engine.loop import default_device
from .engine.machine import cpu_kernels, cpu_model, process_cpu_seconds, torch_version
from .engine.report import REUSED, write_report
from .engine.verdicts import ExperimentResult

__all__ = ["EXPERIMENTS", "register", "default_names", "run_validation", "run_experiment", "ValidationRun", "plan",
           "GPU_ASSUMPTIONS", "source_commit"]

#: Assumptions of the GPU-time estimate of :func:`plan`: sustained FP32 throughput of small
#: networks on one current data-centre GPU (well below its peak: these networks are too small
#: to fill it) and a fixed cost per optimizer step and per sampler call (kernel launches,
#: Python overhead).
GPU_ASSUMPTIONS = {"flops_per_second": 5e12, "seconds_per_train_step": 3e-3, "seconds_per_sampler_call": 1e-3}

#: Registered experiments, in report order.
EXPERIMENTS: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    """Add ``exp`` to :data:`EXPERIMENTS` (its name must be new). Returns it."""
    if exp.name in EXPERIMENTS:
        raise ValueError(f"an experiment named {exp.name!r} is already registered")
    EXPERIMENTS[exp.name] = exp
    return exp


#: Modules of :mod:`diffphase.validation` whose ``EXPERIMENTS`` lists are registered, in
#: report order (one line each).
BUILTIN_MODULES = (
    "regimes",
    "rhm",
    "manifold",
    "memorization",
    "symmetry",
    "information",
    "guidance",
)


def _register_builtin() -> None:
    import importlib

    for name in BUILTIN_MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        for exp in module.EXPERIMENTS:
            register(exp)


_register_builtin()


def default_names(mode: str) -> list[str]:
    """Names of the experiments that run in ``mode`` when ``only`` is not given."""
    return [n for n, e in EXPERIMENTS.items() if mode in e.modes]


@dataclass
class ValidationRun:
    """Outcome of :func:`run_validation`.

    Attributes
    ----------
    results : list of ExperimentResult
    files : dict
        Paths of ``results.json``, ``report.md``, ``report.html``.
    seconds : float
        Wall time of this call (reused experiments cost nothing).
    reused : list of str
        Experiments whose stored result was reused.
    """

    results: list
    files: dict
    seconds: float
    reused: list
    strict: bool = False

    @property
    def passed(self) -> bool:
        """Every claim, reference and precondition verdict of every experiment passed (and,
        with ``strict``, every exploratory prediction agreed): the exit status of
        ``diffphase validate`` is 0 exactly then."""
        return all(r.passed_strict if self.strict else r.passed for r in self.results)


def _resolve_names(mode: str, only) -> list[str]:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if only is None:
        return default_names(mode)
    names = [only] if isinstance(only, str) else list(only)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown or not names:
        raise ValueError(f"unknown experiment(s) {unknown or names!r}; choose from {sorted(EXPERIMENTS)}")
    return [n for n in EXPERIMENTS if n in names]


def run_validation(mode: str = "quick", *, only=None, out="diffphase-report", device=None, cache_dir=None,
                   executor="serial", max_workers: int | None = None,
                   threads_per_worker: int | None = None, threads: int | None = 1, configs: dict | None = None,
                   progress: bool = True, log=None, strict: bool = False, jobs: int = 1) -> ValidationRun:
    """Run the experiments of ``mode`` (or ``only``), resume what was done, write the report.

    Parameters
    ----------
    mode : {"quick", "standard", "full"}
        Which configuration of each experiment to use.
    only : str or list of str, optional
        Run only these experiments (in any mode).
    out : str or Path
        Report folder (created).
    device : str, optional
        Torch device; default CUDA when available, else CPU.
    cache_dir : str or Path, optional
        Cache of trained models; default ``<out>/cache``.
    executor : "serial", "local", Dask client or address, or Executor
        Where the sweeps inside experiments run
        (:func:`~diffphase.validation.engine.executor.run_sweep`).
    max_workers : int, optional
        Local pool size.
    threads_per_worker : int, optional
        Torch threads inside each sweep call (default: see
        :func:`~diffphase.validation.engine.executor.run_sweep`).
    threads : int or None
        Torch intra-op threads in this process while the experiments run (restored afterwards);
        ``None`` leaves torch's setting. Default 1: the networks are small, and on a shared
        CPU several threads contend — measured on a 2-core machine with the
        other core busy, one training step of the quick MLP took 40 ms with 1 thread and
        860 ms with 2. Use the executor to occupy more cores.
    configs : dict, optional
        ``{name: {key: value}}`` overriding entries of an experiment's configuration (for
        tests and exploratory runs; the override enters the result key).
    progress : bool
        Progress messages and bars.
    log : callable, optional
        Where progress lines go (default: print to stderr).
    strict : bool
        Count exploratory predictions that disagree as failures (``--strict``); by default
        only claim, reference and precondition verdicts decide whether the run passes.
    jobs : int
        Experiments run at once (>= 1). With ``jobs > 1`` each runs in its own spawned worker
        process (``threads`` torch threads; training progress bars off), the most expensive
        first by the cost model; results, report and resume are the same as with ``jobs = 1``
        (every experiment is seeded on its own), only the wall time changes. Most experiments
        have one or two sweep items, so on a multi-core CPU one experiment alone leaves cores
        idle; ``diffphase validate --standard`` uses one job per CPU core.

    Returns
    -------
    ValidationRun
    """
    names = _resolve_names(mode, only)
    configs = configs or {}
    from diffphase.numerics.checks import check_int

    if threads is not None:
        threads = check_int("threads", threads, minimum=1)
    jobs = check_int("jobs", jobs, minimum=1)
    unknown = [k for k in configs if k not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"configs names unknown experiment(s) {unknown}; choose from {sorted(EXPERIMENTS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(cache_dir) if cache_dir is not None else out / "cache"
    device = str(device) if device is not None else default_device()
    log = log or _stderr_log
    import torch

    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run(names, mode, out, cache_dir, device, executor, max_workers, threads_per_worker, configs,
                    progress, log, bool(strict), jobs, threads)
    finally:
        torch.set_num_threads(old_threads)


def _run(names, mode, out, cache_dir, device, executor, max_workers, threads_per_worker, configs, progress,
         log, strict, jobs=1, threads=None) -> ValidationRun:
    t0 = time.time()
    header = {"device": device, "python": platform.python_version(), "torch": torch_version(),
              "platform": platform.platform(), "cpus": os.cpu_count(), "cpu": cpu_model(),
              "cpu_kernels": cpu_kernels(), "commit": source_commit(),
              "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t0)), "jobs": jobs}
    done: dict[str, ExperimentResult] = {}
    reused: list[str] = []
    todo: list[dict] = []
    for name in names:
        exp = EXPERIMENTS[name]
        cfg = exp.config(mode)
        extra = configs.get(name, {})
        bad = [k for k in extra if k not in cfg]
        if bad:
            raise ValueError(f"configs[{name!r}] has unknown key(s) {bad}; valid keys: {sorted(cfg)}")
        cfg.update(extra)
        key = exp.key(mode, cfg)
        result_path = out / name / "result.json"
        if result_path.exists():
            raw = read_json(result_path)
            if raw.get("key") == key:  # compare first: results of older protocol versions are not parsed
                done[name] = ExperimentResult.from_dict(raw)
                reused.append(name)
                if progress:
                    log(f"[{name}] reusing the finished result in {result_path}")
                continue
        todo.append({"name": name, "mode": mode, "config": cfg, "key": key, "out": str(out),
                     "cache_dir": str(cache_dir), "device": device, "executor": executor,
                     "max_workers": max_workers, "threads_per_worker": threads_per_worker, "progress": progress,
                     "commit": header["commit"]})
    files: dict = {}

    def finished(result: ExperimentResult) -> None:
        nonlocal files
        done[result.name] = result
        files = write_report([done[n] for n in names if n in done], out, mode=mode, seconds=time.time() - t0,
                             header=header, strict=strict)
        if progress:
            status = result.status if result.status == "skipped" else ("PASS" if result.passed else "FAIL")
            log(f"[{result.name}] {status} ({result.seconds:.0f} s wall, {result.cpu_seconds:.0f} s CPU)")

    if reused:  # the report mixes runs: say which experiments this run did not compute
        header[REUSED] = ", ".join(reused)
    if jobs == 1 or len(todo) <= 1:
        for task in todo:
            finished(run_experiment(**task, log=log))
    else:
        _run_concurrently(todo, jobs, threads, finished, log, progress)
    files = write_report([done[n] for n in names], out, mode=mode, seconds=time.time() - t0, header=header,
                         strict=strict)
    return ValidationRun(results=[done[n] for n in names], files=files, seconds=time.time() - t0, reused=reused,
                         strict=strict)


def run_experiment(*, name: str, mode: str, config: dict, key: str, out, cache_dir, device: str, executor="serial",
                   max_workers=None, threads_per_worker=None, progress: bool = True, commit: str = "",
                   log=None) -> ExperimentResult:
    """Run one registered experiment with the configuration ``config`` (already merged with any
    override) and store ``out/<name>/result.json`` atomically.

    The engine step that :func:`run_validation` calls for every experiment that is not reused,
    in this process or in a worker process (``jobs > 1``). An experiment whose ``requires``
    names a missing dependency gives a ``"skipped"`` result. ``seconds`` is the wall time,
    ``cpu_seconds`` the user + system CPU time of this process and of the sweep workers it
    waited for, both of this experiment alone.

    Parameters
    ----------
    name, mode, config, key
        The experiment, its mode, its configuration dict and its result key
        (:meth:`~diffphase.validation.engine.experiment.Experiment.key`).
    out, cache_dir : str or Path
        Report folder and cache of trained models.
    device, executor, max_workers, threads_per_worker, progress
        As in :func:`run_validation`.
    commit : str
        Recorded in the result.
    log : callable, optional
        Progress lines (default: print to stderr).

    Returns
    -------
    ExperimentResult
    """
    log = log or _stderr_log
    exp = EXPERIMENTS[name]
    out, cache_dir = Path(out), Path(cache_dir)
    ctx = RunContext(name=name, mode=mode, key=key, report_dir=out, device=device, cache_dir=cache_dir,
                     executor=executor, max_workers=max_workers, threads_per_worker=threads_per_worker,
                     progress=progress, log=log)
    reason = exp.requires() if exp.requires is not None else None
    t1, c1 = time.time(), process_cpu_seconds()
    if reason:
        result = ExperimentResult(name=name, title=exp.title, mode=mode, status="skipped", config=config, key=key,
                                  message=reason)
        if progress:
            log(f"[{name}] skipped: {reason}")
    else:
        ctx.clear_stale_stages()
        if progress:
            log(f"[{name}] running ({mode})")
        result = exp.run(config, ctx)
        result.name, result.title, result.mode, result.config, result.key = name, exp.title, mode, config, key
        result.seconds = time.time() - t1
        result.cpu_seconds = process_cpu_seconds() - c1
        result.commit = commit
    write_json(result, out / name / "result.json")
    return result


def _stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _worker_run(task: dict, threads: int | None) -> str:
    """:func:`run_experiment` in a worker process of ``jobs > 1`` (training bars off: several
    experiments share the terminal); returns the path of the stored ``result.json``, which the
    driver reads back as a resumed run would."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    run_experiment(**dict(task, progress=False))
    return str(Path(task["out"]) / task["name"] / "result.json")


def _estimated_seconds(task: dict) -> float:
    """Rough cost of a task for scheduling the longest first (GPU_ASSUMPTIONS' formula; 0 without
    a cost model)."""
    from .calibrate import seconds_at_rate

    exp = EXPERIMENTS[task["name"]]
    if exp.cost is None or exp.requires is not None and exp.requires():
        return 0.0
    return float(seconds_at_rate(exp.cost(task["config"]), GPU_ASSUMPTIONS))


def _run_concurrently(todo, jobs, threads, finished, log, progress) -> None:
    """Run the tasks ``jobs`` at a time in spawned worker processes, the most expensive first
    (longest-processing-time order, which keeps the longest experiment off the end of the run)
    and each after the experiments it reuses networks from
    (:attr:`~diffphase.validation.engine.experiment.Experiment.after`); ``finished(result)`` is
    called in this process as each one ends. When one raises, the ones not started are
    dropped, the running ones finish (and are stored), then the error is raised."""
    import concurrent.futures as cf
    import multiprocessing

    order = sorted(todo, key=_estimated_seconds, reverse=True)
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        if progress:
            log(f"running {len(order)} experiments, {jobs} at a time: {', '.join(t['name'] for t in order)}")
        _dispatch(order, jobs, lambda task: pool.submit(_worker_run, task, threads),
                  lambda name: EXPERIMENTS[name].after,
                  lambda fut: finished(ExperimentResult.from_dict(read_json(fut.result()))), log)


def _dispatch(order: list[dict], jobs: int, submit, after, on_done, log) -> None:
    """Keep ``jobs`` tasks running: when a slot is free, start the first task of ``order`` none of
    whose ``after(name)`` experiments is still waiting or running; ``on_done(future)`` as each
    ends. A task whose ``on_done`` raises stops new starts; the running ones end, then the first
    error is raised. Raises ValueError when the remaining tasks wait on each other (a cycle of
    ``after``)."""
    import concurrent.futures as cf

    pending = list(order)
    running: dict = {}
    error = None
    while pending or running:
        while pending and len(running) < jobs:
            unfinished = {t["name"] for t in pending} | set(running.values())
            ready = next((t for t in pending if not (set(after(t["name"])) - {t["name"]}) & unfinished), None)
            if ready is None:
                break
            pending.remove(ready)
            running[submit(ready)] = ready["name"]
        if not running:
            raise ValueError("experiments " + ", ".join(t["name"] for t in pending)
                             + " wait on each other (their Experiment.after entries form a cycle)")
        done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
        for fut in done:
            name = running.pop(fut)
            try:
                on_done(fut)
            except BaseException as exc:  # noqa: BLE001 - re-raised below, after the running ones end
                if error is None:
                    error = exc
                    log(f"[{name}] failed: {exc!r}; letting the running experiments finish")
                    pending.clear()
    if error is not None:
        raise error


def plan(mode: str = "full", *, only=None, configs: dict | None = None, rate: dict | None = None) -> list[dict]:
    r"""Estimated cost of each experiment of ``mode``: FLOPs, time on one GPU and, with ``rate``,
    CPU time on this machine.

    FLOPs are counted by torch for one forward and backward pass of each network
    (:func:`~diffphase.validation.models.denoiser_flops`; matrix products and convolutions)
    and multiplied by the samples processed: training
    :math:`\mathrm{steps}\times\mathrm{batch}\times F_{train}`, sampling
    (score evaluations of the cloning protocol,
    :func:`~diffphase.numerics.sde.clone_score_evaluations`) :math:`\times F_{forward}`.
    The GPU time is :math:`\mathrm{FLOPs}/R + n_{steps}\,c_{step} + n_{calls}\,c_{call}` with the
    constants of :data:`GPU_ASSUMPTIONS` — an estimate, not a measurement. The CPU time is the
    same formula with :math:`R`, :math:`c_{step}`, :math:`c_{call}` measured on this machine
    (``rate``, from :func:`~diffphase.validation.calibrate.measure_cpu_rate`; see
    :mod:`~diffphase.validation.calibrate`). Work the cost models do not count (exact belief
    propagation, quadrature, Monte Carlo references) is missing from both.

    Parameters
    ----------
    mode : {"quick", "standard", "full"}
    only : str or list of str, optional
    configs : dict, optional
        Overrides, as in :func:`run_validation`.
    rate : dict, optional
        The measured CPU rate; adds ``cpu_seconds`` to every row.

    Returns
    -------
    list of dict
        Per experiment: ``name``, ``train_flops``, ``sample_flops``, ``total_flops``,
        ``train_steps``, ``sampler_calls``, ``gpu_seconds``, and ``cpu_seconds`` with ``rate``
        (``None`` entries for experiments without a cost model).
    """
    from .calibrate import seconds_at_rate

    names = _resolve_names(mode, only)
    configs = configs or {}
    rows = []
    a = GPU_ASSUMPTIONS
    for name in names:
        exp = EXPERIMENTS[name]
        cfg = {**exp.config(mode), **configs.get(name, {})}
        if exp.cost is None:
            rows.append({"name": name, "total_flops": None, "gpu_seconds": None, "cpu_seconds": None})
            continue
        c = exp.cost(cfg)
        row = {"name": name, "train_flops": c.train_flops, "sample_flops": c.sample_flops,
               "train_steps": c.train_steps, "sampler_calls": c.sampler_calls, "total_flops": c.total_flops,
               "gpu_seconds": seconds_at_rate(c, a)}
        if rate is not None:
            row["cpu_seconds"] = seconds_at_rate(c, rate)
        rows.append(row)
    return rows


def source_commit() -> str:
    """The git commit of the package's source tree (``"<sha>"``, with ``"+changes"`` when the tree
    has uncommitted changes), or ``""`` when the package is not in a git checkout."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return sha + ("+changes" if dirty else "")
