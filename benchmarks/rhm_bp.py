"""Benchmark of exact RHM inference (diffphase.numerics.rhm.bp) at v=32, m=8, s=2, L=10.

Measures, in one run, on the machine's CPU threads:

* wall time of ``posterior_sample`` and of ``belief_propagation`` (all marginals), batch 1000,
  float32 (median of ``--repeats``);
* peak memory of each call above its starting resident set (Linux ``VmHWM`` after resetting
  it through ``/proc/self/clear_refs``; it sees numpy *and* torch allocations). The input
  evidence (n, d, v) is allocated before and is not counted; the returned arrays are;
* the achieved rate against a counted floor of the operations exact BP must do: for every
  internal node and every one of its ``A*m`` rules, ``s - 1`` multiplications and one
  addition upward (``A*m*s``), and for the marginals another ``A*m*s`` (product times the
  parent ratio) plus ``A*m*s`` scatter additions downward; sampling adds ``m*s`` per node;
* that L=14 (d=16384) at batch 100 runs (time and memory).

Targets (issue 3): sampling <= 0.8 s, all marginals <= 1 s, peak <= 500 MB. For reference,
a straightforward torch BP from the literature needs 16 s and 2.7 GB for the sampling.

Run: ``python benchmarks/rhm_bp.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from diffphase.numerics.rhm import RHM, belief_propagation, get_process, posterior_sample


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


def measure(fn, repeats):
    """(median seconds, peak bytes above the starting RSS) of ``fn()``."""
    times, peaks = [], []
    for _ in range(repeats):
        base = _status("VmRSS")
        ok = _reset_peak()
        t0 = time.perf_counter()
        res = fn()
        dt = time.perf_counter() - t0
        peak = _status("VmHWM") - base if ok else float("nan")
        del res
        times.append(dt)
        peaks.append(peak)
    return float(np.median(times)), float(np.max(peaks))


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
    args = ap.parse_args(argv)

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}")
    rows = []
    for L, n, reps in ((args.L, args.batch, args.repeats), (args.big_L, args.big_batch, 1)):
        rhm = RHM(args.v, args.m, args.s, L, seed=0)
        leaves, _ = rhm.sample(n, seed=1)
        proc = get_process("uniform", rhm.v)
        ev = proc.evidence(proc.noise(leaves, args.eps, seed=2), args.eps, dtype=np.float32)
        posterior_sample(rhm, ev[:2], seed=0, dtype=np.float32)  # warm-up
        for task, fn in (
            ("posterior_sample", lambda: posterior_sample(rhm, ev, seed=3, dtype=np.float32)),
            ("all marginals", lambda: belief_propagation(rhm, ev, dtype=np.float32)),
        ):
            t, peak = measure(fn, reps)
            fl = floor_flops(rhm, n, "marginals" if task == "all marginals" else "sample")
            rows.append((f"L={L} d={rhm.d} n={n}", task, t, peak / 2**20, fl / 1e9, fl / t / 1e9))
        del ev
    print()
    head = f"{'case':<22} {'task':<17} {'time [s]':>9} {'peak [MB]':>10} {'floor [Gop]':>12} {'rate [Gop/s]':>13}"
    print(head)
    print("-" * len(head))
    for case, task, t, mb, gf, rate in rows:
        print(f"{case:<22} {task:<17} {t:>9.3f} {mb:>10.1f} {gf:>12.3f} {rate:>13.3f}")
    print("\ntargets (L=10, n=1000): sampling <= 0.8 s, marginals <= 1 s, peak <= 500 MB")
    print("evidence input (not counted in peak): "
          f"{args.batch * args.s**args.L * args.v * 4 / 2**20:.0f} MB float32")
    return rows


if __name__ == "__main__":
    main()
