"""Tests of diffphase.validation.engine.executor: ordering, seeds, errors, and the Dask path giving
the same results as the local process pool for the same seeds."""

import concurrent.futures as cf
import importlib.util

import numpy as np
import pytest
import torch

from diffphase.validation.engine.executor import make_executor, run_sweep, spawn_seeds


def _task(seed, n=64, delay=0.0):
    """A seeded Monte Carlo estimate plus a tiny seeded torch computation (module-level, so
    picklable by reference)."""
    import time

    if delay:
        time.sleep(delay)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(3, 3, generator=g, dtype=torch.float64)
    return {"seed": seed, "mean": x.mean(0).tolist(), "y": (torch.from_numpy(x) @ w).sum().item(),
            "threads": torch.get_num_threads()}


def _train_task(seed):
    """Train a tiny denoiser; returns its final loss and a weight checksum."""
    from diffphase.validation import data as D
    from diffphase.validation.train import TrainConfig, train

    ds = D.two_class_mixture(500, 3, seed=seed)
    cfg = TrainConfig(steps=25, batch_size=32, warmup_steps=5, model_kwargs={"hidden": 16, "depth": 1}, seed=seed)
    model, hist = train(cfg, ds, use_cache=False, progress=False, device="cpu")
    return float(hist.losses[-1]), float(sum(p.double().sum() for p in model.parameters()))


def _fails(seed):
    if seed == 2:
        raise KeyError("task two fails")
    return seed


def test_spawn_seeds():
    s = spawn_seeds(0, 5)
    assert s == spawn_seeds(0, 5) and len(set(s)) == 5
    assert spawn_seeds(0, 3) == s[:3]
    assert spawn_seeds(1, 5) != s
    with pytest.raises(ValueError, match="seed must be >= 0"):
        spawn_seeds(-1, 3)


def test_serial_and_thread_executor_keep_order():
    kws = [{"seed": s, "delay": 0.02 * (5 - i)} for i, s in enumerate(spawn_seeds(3, 5))]
    expected = [_task(**kw) for kw in kws]
    assert run_sweep(_task, kws, executor="serial") == expected
    # later tasks finish first in a thread pool; results still come back in list order
    with cf.ThreadPoolExecutor(4) as pool:
        got = run_sweep(_task, kws, executor=pool)
    assert [r["seed"] for r in got] == [kw["seed"] for kw in kws]
    assert [r["mean"] for r in got] == [r["mean"] for r in expected]
    assert run_sweep(_task, [], executor="serial") == []


def test_errors():
    with pytest.raises(KeyError, match="task two fails") as info:
        run_sweep(_fails, [{"seed": s} for s in range(4)], executor="serial")
    assert any("call 2" in note for note in getattr(info.value, "__notes__", []))
    with cf.ThreadPoolExecutor(2) as pool:
        with pytest.raises(KeyError):
            run_sweep(_fails, [{"seed": s} for s in range(4)], executor=pool)
    with pytest.raises(ValueError, match="kwargs_list\\[1\\] must be a dict"):
        run_sweep(_task, [{"seed": 1}, 2], executor="serial")
    with pytest.raises(ValueError, match="executor must be"):
        make_executor(3.5)
    with pytest.raises(ValueError, match="max_workers must be >= 1"):
        run_sweep(_task, [{"seed": 1}], max_workers=0)


@pytest.fixture(scope="module")
def train_kwargs():
    return [{"seed": s} for s in spawn_seeds(7, 4)]


@pytest.fixture(scope="module")
def local_results(train_kwargs):
    """The sweep on the default executor: a local pool of two spawned processes."""
    return run_sweep(_train_task, train_kwargs, max_workers=2, threads_per_worker=1)


def test_local_process_pool_matches_serial(train_kwargs, local_results):
    serial = run_sweep(_train_task, train_kwargs, executor="serial", threads_per_worker=1)
    assert local_results == serial


def test_local_pool_default_thread_cap(monkeypatch):
    """Without threads_per_worker the local pool caps torch at cpu_count // max_workers threads;
    checked with a thread pool standing in for the process pool (no process start-up)."""
    import os

    from diffphase.validation.engine import executor as E

    made = {}

    def fake_pool(max_workers, mp_context, initializer=None, initargs=()):
        made["workers"], made["context"] = max_workers, mp_context.get_start_method()
        made["initializer"] = initializer.__name__ if initializer else None
        return cf.ThreadPoolExecutor(max_workers)

    monkeypatch.setattr(E.cf, "ProcessPoolExecutor", fake_pool)
    old = torch.get_num_threads()
    try:
        got = run_sweep(_task, [{"seed": 1}, {"seed": 2}], max_workers=2)
    finally:
        torch.set_num_threads(old)
    assert made == {"workers": 2, "context": "spawn", "initializer": "_exit_with_parent"}
    assert [r["threads"] for r in got] == [max(1, (os.cpu_count() or 1) // 2)] * 2
    assert [r["mean"] for r in got] == [_task(1)["mean"], _task(2)["mean"]]


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                    reason="dask.distributed not installed (pip install 'dask[distributed]', the 'cluster' extra)")
@pytest.mark.parametrize("processes", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_dask_localcluster_matches_local_pool(processes, train_kwargs, local_results):
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        via_client = run_sweep(_train_task, train_kwargs, executor=client, threads_per_worker=1)
        via_address = run_sweep(_task, [{"seed": 1}, {"seed": 2}], executor=cluster.scheduler_address)
    assert via_client == local_results  # identical floats: same seeds -> same trained weights
    assert [r["mean"] for r in via_address] == [_task(1)["mean"], _task(2)["mean"]]


def _blas_threads(seed):
    from threadpoolctl import threadpool_info

    return {"seed": seed, "blas": [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]}


def test_thread_cap_reaches_the_blas_pools():
    """threads_per_worker caps numpy's BLAS pools inside each call too (threadpoolctl)."""
    out = run_sweep(_blas_threads, [{"seed": 0}], executor="serial", threads_per_worker=1)
    assert out[0]["blas"] and all(n == 1 for n in out[0]["blas"])


def test_add_note_falls_back_on_python_310():
    from diffphase.validation.engine.executor import _add_note

    class NoNotes(Exception):  # an exception object without add_note, as on Python 3.10
        def __getattribute__(self, name):
            if name == "add_note":
                raise AttributeError(name)
            return super().__getattribute__(name)

    exc = NoNotes("boom")
    _add_note(exc, "run_sweep: call 3 failed")
    assert exc.args == ("boom", "run_sweep: call 3 failed")
    exc2 = ValueError("x")
    _add_note(exc2, "note")
    assert exc2.__notes__ == ["note"]


def test_pool_workers_end_when_the_driver_is_killed(tmp_path):
    """A driver process running a local-pool sweep is killed with SIGKILL; its workers (which
    would otherwise finish their long calls) exit within a few seconds."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    pids = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import os, time
        from diffphase.validation.engine.executor import run_sweep
        import tests_worker_helper as h
        run_sweep(h.sleep_and_record, [{{"path": {str(pids)!r}, "i": i}} for i in range(2)], max_workers=2)
    """)
    helper = tmp_path / "tests_worker_helper.py"
    helper.write_text(textwrap.dedent("""
        import os, time
        def sleep_and_record(path, i):
            with open(path, "a") as fh:
                fh.write(f"{os.getpid()}\\n")
            time.sleep(120)
    """))
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and (not pids.exists() or len(pids.read_text().split()) < 2):
        time.sleep(0.1)
    workers = [int(p) for p in pids.read_text().split()]
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    deadline = time.time() + 15
    while time.time() < deadline and any(alive(p) for p in workers):
        time.sleep(0.2)
    assert not any(alive(p) for p in workers), "pool workers outlived their killed driver"
