"""Parameter sweeps through a :class:`concurrent.futures.Executor`.

:func:`run_sweep` calls ``fn(**kwargs)`` for every entry of a list and returns the results in
the order of the list. Where the calls run is chosen by ``executor``:

``None`` or ``"local"``
    a local :class:`~concurrent.futures.ProcessPoolExecutor` (``spawn`` start method, safe with
    torch's thread pools), created and shut down by the call; its workers end when the calling
    process dies (even by ``SIGKILL``);
``"serial"``
    in this process, one after the other (debugging, tiny sweeps);
a ``dask.distributed.Client``
    its :meth:`~distributed.Client.get_executor` (tasks submitted with ``pure=False``);
any other string
    the address of a Dask scheduler (``"tcp://host:8786"``): a ``Client`` is connected for the
    call and closed afterwards (needs ``pip install 'dask[distributed]'``, the ``cluster`` extra);
any :class:`concurrent.futures.Executor`
    used as is (not shut down).

Reproducibility: ``fn`` must take its seed from its keyword arguments (see
:func:`spawn_seeds`); then the results do not depend on the executor, the worker or the
order of completion. ``fn`` and its arguments must be picklable (a module-level function).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from typing import Any, Callable, Sequence

import numpy as np

from diffphase.numerics.checks import check_int

from .progress import Progress

__all__ = ["run_sweep", "make_executor", "spawn_seeds"]


def spawn_seeds(seed: int, n: int) -> list[int]:
    """Independent 32-bit seeds for the calls of a sweep.

    Derived with :class:`numpy.random.SeedSequence` ``spawn``: the same ``(seed, n)`` always
    gives the same list, and the first ``k`` seeds do not depend on ``n``.

    Parameters
    ----------
    seed : int
        Root seed (>= 0).
    n : int
        Number of seeds (>= 0).

    Returns
    -------
    list of int
    """
    seed = check_int("seed", seed, minimum=0)
    n = check_int("n", n, minimum=0)
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


class _Task:
    """Picklable wrapper: optionally caps torch's intra-op threads and the BLAS/OpenMP thread
    pools of numpy and scipy (threadpoolctl), then calls ``fn(**kw)``."""

    def __init__(self, fn: Callable, threads: int | None):
        self.fn, self.threads = fn, threads

    def __call__(self, kwargs: dict) -> Any:
        if self.threads is None:
            return self.fn(**kwargs)
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(self.threads)
        with threadpool_limits(limits=self.threads):
            return self.fn(**kwargs)


def _add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)`` (Python >= 3.11); on older Pythons the note is appended to the
    exception's arguments so that it still shows in the message."""
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    else:  # Python 3.10
        exc.args = tuple(exc.args) + (note,)


def _exit_with_parent(parent_pid: int, interval: float = 1.0) -> None:
    """Pool initializer: a daemon thread ends this worker process when its parent is gone (a
    driver killed with SIGKILL does not shut its pool down, and the workers would otherwise
    finish computing results that nobody stores)."""
    import threading
    import time

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="diffphase-parent-watch", daemon=True).start()


def _is_dask_client(obj) -> bool:
    return type(obj).__name__ == "Client" and type(obj).__module__.startswith("distributed")


def make_executor(executor=None, *, max_workers: int | None = None) -> tuple[cf.Executor | None, Callable[[], None]]:
    """Resolve the ``executor`` argument of :func:`run_sweep` (see the module docstring).

    Parameters
    ----------
    executor : None, "local", "serial", str, dask.distributed.Client or concurrent.futures.Executor
        What to run on.
    max_workers : int, optional
        Size of a local process pool (>= 1; default ``os.cpu_count()``).

    Returns
    -------
    executor : concurrent.futures.Executor or None
        ``None`` means serial execution in this process.
    close : callable
        Releases what this function created (a process pool, a Dask client); a no-op for
        executors passed in by the caller.
    """
    if executor == "serial":
        return None, lambda: None
    if executor is None or executor == "local":
        workers = (os.cpu_count() or 1) if max_workers is None else check_int("max_workers", max_workers, minimum=1)
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_exit_with_parent, initargs=(os.getpid(),))
        return pool, lambda: pool.shutdown(wait=True, cancel_futures=True)
    if _is_dask_client(executor):
        return executor.get_executor(pure=False), lambda: None
    if isinstance(executor, str):
        try:
            from dask.distributed import Client
        except ImportError as exc:
            raise ImportError("a Dask scheduler address needs dask.distributed: "
                              "pip install 'dask[distributed]'   (or: pip install 'diffphase[cluster]')") from exc
        client = Client(executor)
        return client.get_executor(pure=False), client.close
    if isinstance(executor, cf.Executor):
        return executor, lambda: None
    raise ValueError("executor must be None, 'local', 'serial', a Dask scheduler address, a "
                     f"dask.distributed.Client or a concurrent.futures.Executor; got {type(executor).__name__}")


def run_sweep(fn: Callable, kwargs_list: Sequence[dict], executor=None, *, max_workers: int | None = None,
              threads_per_worker: int | None = None, progress: bool = False) -> list:
    """Run ``fn(**kwargs)`` for every ``kwargs`` in ``kwargs_list``; return the results in order.

    Parameters
    ----------
    fn : callable
        A picklable (module-level) function of keyword arguments.
    kwargs_list : sequence of dict
        One dict of keyword arguments per call.
    executor : None, str, dask.distributed.Client or concurrent.futures.Executor
        Where to run (see the module docstring); default a local process pool.
    max_workers : int, optional
        Size of the local process pool (>= 1; default ``os.cpu_count()``).
    threads_per_worker : int, optional
        Cap on torch's intra-op threads inside each call (>= 1). Default: for the local pool,
        ``max(1, cpu_count // max_workers)`` so that the workers do not oversubscribe the
        cores; otherwise unchanged.
    progress : bool
        A progress bar of the calls done (:class:`~diffphase.validation.engine.progress.Progress`).

    Returns
    -------
    list
        ``[fn(**kw) for kw in kwargs_list]``, computed by the executor.

    Raises
    ------
    Exception
        The first failing call's exception (in list order), with a note naming its index and
        arguments; the remaining calls are cancelled when the executor allows it.
    """
    if not callable(fn):
        raise ValueError("fn must be callable")
    kwargs_list = list(kwargs_list)
    for i, kw in enumerate(kwargs_list):
        if not isinstance(kw, dict):
            raise ValueError(f"kwargs_list[{i}] must be a dict, got {type(kw).__name__}")
    if max_workers is not None:
        max_workers = check_int("max_workers", max_workers, minimum=1)
    if threads_per_worker is not None:
        threads_per_worker = check_int("threads_per_worker", threads_per_worker, minimum=1)
    elif executor is None or executor == "local":
        threads_per_worker = max(1, (os.cpu_count() or 1) // (max_workers or os.cpu_count() or 1))
    task = _Task(fn, threads_per_worker)
    if not kwargs_list:
        return []

    bar = Progress(len(kwargs_list), 0, progress, "sweep")

    def tick(i):
        bar.update(i)

    ex, close = make_executor(executor, max_workers=max_workers)
    try:
        if ex is None:
            results = []
            for i, kw in enumerate(kwargs_list):
                try:
                    results.append(task(kw))
                except Exception as exc:
                    _add_note(exc, f"run_sweep: call {i} with kwargs {kw!r} failed")
                    raise
                tick(i + 1)
            return results
        futures = [ex.submit(task, kw) for kw in kwargs_list]
        if progress:
            for done_count, _ in enumerate(cf.as_completed(futures), start=1):
                tick(done_count)
        results = []
        for i, fut in enumerate(futures):
            try:
                results.append(fut.result())
            except Exception as exc:
                for f in futures[i + 1:]:
                    f.cancel()
                _add_note(exc, f"run_sweep: call {i} with kwargs {kwargs_list[i]!r} failed")
                raise
        return results
    finally:
        bar.close()
        close()
