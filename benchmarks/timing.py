"""Timing shared by the benchmark scripts (imported from the scripts' own folder)."""

from __future__ import annotations

import time


def best_time(fn, repeats: int) -> tuple[float, float]:
    """Best wall time and best CPU time (all threads of the process) of ``repeats`` calls."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu
