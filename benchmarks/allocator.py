"""CPU time of a real validation run with and without :func:`diffphase.validation.engine.allocator.tune_malloc`
(glibc malloc settings), in pairs run in turn on this machine:

    python benchmarks/allocator.py [--pairs 3] [--experiment speciation_digits]

Each run is ``diffphase validate --quick --only EXPERIMENT`` in a fresh folder with a fresh cache
(so it trains), once as installed (tuned) and once with ``DIFFPHASE_MALLOC_TUNING=0`` (glibc's
defaults), alternating which goes first. The kernel's accounting of each finished child
(``os.wait4``) gives user and system seconds, minor page faults and peak resident set. The
ratio tuned/default is taken pair by pair (the machine's speed may drift between pairs) and
its median printed; the numbers of the two runs are checked to be identical.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(experiment: str, out: Path, tuned: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "DIFFPHASE_MALLOC_TUNING")}
    if not tuned:
        env["DIFFPHASE_MALLOC_TUNING"] = "0"
    cmd = [sys.executable, "-m", "diffphase.validation.cli", "validate", "--quick", "--only", experiment,
           "--out", str(out), "--no-progress"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: a verdict failed, the run itself finished
        raise RuntimeError(f"{' '.join(cmd)} exited with {code}")
    numbers = json.loads((out / "results.json").read_text())["experiments"][0]["verdicts"]
    return {"cpu": ru.ru_utime + ru.ru_stime, "sys": ru.ru_stime, "faults": ru.ru_minflt, "rss_mb": ru.ru_maxrss / 1024,
            "wall": wall, "measured": [v["measured"] for v in numbers]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--experiment", default="speciation_digits")
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.pairs):
            order = (True, False) if i % 2 == 0 else (False, True)
            pair = {t: run(a.experiment, Path(tmp) / f"{i}-{t}", t) for t in order}
            if pair[True]["measured"] != pair[False]["measured"]:
                print(f"pair {i}: the two runs' numbers differ", file=sys.stderr)
                return 1
            rows.append(pair)
            print(f"pair {i}: tuned {pair[True]['cpu']:.1f} CPU-s ({pair[True]['sys']:.1f} system, "
                  f"{pair[True]['faults']:,} faults, {pair[True]['rss_mb']:.0f} MB), default {pair[False]['cpu']:.1f} "
                  f"CPU-s ({pair[False]['sys']:.1f} system, {pair[False]['faults']:,} faults, "
                  f"{pair[False]['rss_mb']:.0f} MB)", flush=True)
    ratio = statistics.median(r[True]["cpu"] / r[False]["cpu"] for r in rows)
    faults = statistics.median(r[True]["faults"] / r[False]["faults"] for r in rows)
    rss = statistics.median(r[True]["rss_mb"] / r[False]["rss_mb"] for r in rows)
    print(f"{a.experiment}, {a.pairs} pairs: CPU time tuned/default = {ratio:.3f} (median), minor faults "
          f"{faults:.3f}, peak RSS {rss:.2f}; numbers identical in every pair")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
