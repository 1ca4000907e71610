"""Benchmark of exact RHM inference (diffphase.numerics.rhm.bp) at v=32, m=8, s=2, L=10.

Measures, in one run, on the machine's CPU threads:

* wall time of ``posterior_sample`` and of ``belief_propagation`` (all marginals), batch 1000,
  float32 (median of ``--repeats``);
* CPU time (user + system of all threads) of each call: the cost on an idle machine, while
  wall time depends on the load of the (shared) machine;
* peak memory of each call above its starting resident set (Linux ``VmHWM`` after resetting
  it through ``/proc/self/clear_refs``; it sees numpy *and* torch allocations). Each case
  runs in a fresh subprocess so that no freed memory of an earlier call hides the peak. The
  input evidence (n, d, v) is allocated before and is not counted; the returned arrays are;
* the achieved rate against a counted floor of the operations exact BP must do: for every
  internal node and every one of its ``A*m`` rules, ``s - 1`` multiplications and one
  addition upward (``A*m*s``), and for the marginals another ``A*m*s`` (product times the
  parent ratio) plus ``A*m*s`` scatter additions downward; sampling adds ``m*s`` per node;
* that L=14 (d=16384) at batch 100 runs (time and memory).

Targets (issue 3): sampling <= 0.8 s, all marginals <= 1 s, peak <= 500 MB. For reference,
a straightforward torch BP from the literature needs 16 s and 2.7 GB for the sampling.

The numba kernels are used when numba is installed (a core dependency);
``--torch`` measures the torch kernels instead.

Run: ``python benchmarks/rhm_bp.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from diffphase.numerics.rhm import RHM, belief_propagation, get_process, posterior_sample
from diffphase.numerics.rhm import bp as bp_module


def _status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(key)


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(fn, repeats):
    """(median wall seconds, median CPU seconds, peak bytes above the starting RSS) of
    ``fn()``. CPU seconds (user + system, all threads) are what the call costs on an idle
    machine; wall time depends on the machine's load."""
    times, cpus, peaks = [], [], []
    for _ in range(repeats):
        base = _status("VmRSS")
        ok = _reset_peak()
        c0 = _cpu()
        t0 = time.perf_counter()
        res = fn()
        dt = time.perf_counter() - t0
        cpus.append(_cpu() - c0)
        peak = _status("VmHWM") - base if ok else float("nan")
        del res
        times.append(dt)
        peaks.append(peak)
    return float(np.median(times)), float(np.median(cpus)), float(np.max(peaks))


def run_case(v, m, s, L, n, eps, repeats, task):
    """Build the inputs, warm up, measure one task; returns a result row."""
    rhm = RHM(v, m, s, L, seed=0)
    leaves, _ = rhm.sample(n, seed=1)
    proc = get_process("uniform", rhm.v)
    ev = proc.evidence(proc.noise(leaves, eps, seed=2), eps, dtype=np.float32)
    del leaves
    # warm-up (tiny): compiles the numba kernels (or loads them from numba's cache)
    posterior_sample(rhm, ev[:2], seed=0, dtype=np.float32)
    belief_propagation(rhm, ev[:2], dtype=np.float32)
    if task == "sample":
        fn = lambda: posterior_sample(rhm, ev, seed=3, dtype=np.float32)  # noqa: E731
    else:
        fn = lambda: belief_propagation(rhm, ev, dtype=np.float32)  # noqa: E731
    t, cpu, peak = measure(fn, repeats)
    fl = floor_flops(rhm, n, "marginals" if task == "marginals" else "sample")
    return [f"L={L} d={rhm.d} n={n}", "posterior_sample" if task == "sample" else "all marginals",
            t, cpu, peak / 2**20, fl / 1e9, fl / t / 1e9]


def floor_flops(rhm, n, task):
    """Counted floor of arithmetic operations (see module docstring)."""
    total = 0
    for level in range(rhm.L):
        A = rhm.n_symbols(level)
        nodes = rhm.s**level
        up = A * rhm.m * rhm.s
        if task == "marginals":
            total += nodes * (up + 2 * A * rhm.m * rhm.s)
        else:
            total += nodes * (up + rhm.m * rhm.s)
    return n * total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--v", type=int, default=32)
    ap.add_argument("--m", type=int, default=8)
    ap.add_argument("--s", type=int, default=2)
    ap.add_argument("--L", type=int, default=10)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--eps", type=float, default=0.4, help="uniform-diffusion noise level")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--big-L", type=int, default=14)
    ap.add_argument("--big-batch", type=int, default=100)
    ap.add_argument("--torch", action="store_true",
                    help="use the torch kernels even if numba (the `fast` extra) is installed")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.torch:
        bp_module._USE_NUMBA = False
    if args.child:  # one measurement in a fresh process (clean allocator => honest peak)
        L, n, reps, task = args.child.split(",")
        row = run_case(args.v, args.m, args.s, int(L), int(n), args.eps, int(reps), task)
        print("ROW " + json.dumps(row))
        return [row]
    kernels = "numba" if bp_module._numba_kernels() is not None else "torch"
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f} at start, BP kernels: {kernels}")
    rows = []
    cases = [(args.L, args.batch, args.repeats), (args.big_L, args.big_batch, 1)]
    for L, n, reps in cases:
        for task in ("sample", "marginals"):
            cmd = [sys.executable, os.path.abspath(__file__), "--v", str(args.v), "--m", str(args.m),
                   "--s", str(args.s), "--eps", str(args.eps), "--child", f"{L},{n},{reps},{task}"]
            cmd += ["--torch"] if args.torch else []
            outp = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(next(l for l in outp.splitlines() if l.startswith("ROW "))[4:]))
    print()
    head = (f"{'case':<22} {'task':<17} {'wall [s]':>9} {'cpu [s]':>8} {'peak [MB]':>10} "
            f"{'floor [Gop]':>12} {'rate [Gop/s]':>13}")
    print(head)
    print("-" * len(head))
    for case, task, t, cpu, mb, gf, rate in rows:
        print(f"{case:<22} {task:<17} {t:>9.3f} {cpu:>8.3f} {mb:>10.1f} {gf:>12.3f} {rate:>13.3f}")
    print(f"load average {os.getloadavg()[0]:.2f} at end (2 cores: above 2 the wall times are inflated)")
    print("\ntargets (L=10, n=1000): sampling <= 0.8 s, marginals <= 1 s, peak <= 500 MB")
    print("evidence input (not counted in peak): "
          f"{args.batch * args.s**args.L * args.v * 4 / 2**20:.0f} MB float32")
    return rows


if __name__ == "__main__":
    main()
