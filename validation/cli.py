"""The ``diffphase`` command.

Subcommands
-----------
``diffphase theory gm``
    Speciation and collapse of the two-class Gaussian mixture: prints t_S, t_C and alpha and
    writes a PNG of phi(t) and f(t) with both times marked.
``diffphase theory rhm``
    RHM mean field: critical noise per noise process (p*, eps*, F'(p*), nu; density-evolution
    thresholds for masking and uniform diffusion).
``diffphase rhm curves``
    RHM: P(class kept) vs noise for several depths from exact BP, mean field overlaid.
``diffphase analyze DATA [--labels L] [--dataset digits|mnist|fashion-mnist] [--scale S] [--out DIR]``
    The phase portrait of a data set (:mod:`diffphase.validation.analyze`): speciation and
    class-pair times, collapse time against training-set size, class-information window,
    in OU time, DDPM steps and VE sigma; report.md/html, portrait.json and two PNGs in DIR.
``diffphase validate [--quick|--full] [--device D] [--out DIR] [--only NAME ...]``
    Train DDPMs, measure the predicted transitions with the papers' protocols, and write
    report.md, report.html, results.json and one PNG per experiment into DIR. Exit status 0
    only if every verdict passes (1 otherwise, 2 for bad arguments). Rerunning with the same
    DIR resumes: finished experiments and stored stages are reused.

Each subcommand is a small function here over the public API of :mod:`diffphase.numerics`
and :mod:`diffphase.validation`; model-specific work lives in those modules, not here.
New models register their ``theory`` entry in :data:`THEORY_COMMANDS` and may add top-level
subcommands in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

__all__ = ["main", "build_parser"]


# --------------------------------------------------------------------------------------
# diffphase theory gm
# --------------------------------------------------------------------------------------
def _add_theory_gm(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gm",
        help="speciation and collapse times of the two-class Gaussian mixture",
        description=(
            "Two-class mixture 1/2 N(m, sigma^2 I) + 1/2 N(-m, sigma^2 I), |m| = mu*sqrt(d), "
            "n training points. Prints t_S, t_C, alpha = log(n)/d (OU time) and writes a PNG "
            "of phi(t) and f(t)."
        ),
    )
    p.add_argument("--d", type=int, default=1024, help="dimension d >= 1 (default 1024)")
    p.add_argument("--n", type=int, default=20000, help="number of training points n >= 2 (default 20000)")
    p.add_argument("--mu", type=float, default=1.0, help="mean scale mu_tilde >= 0 (default 1)")
    p.add_argument("--sigma", type=float, default=1.0, help="class std sigma > 0 (default 1)")
    p.add_argument("--out", default="gm_regimes.png", help="PNG path (default gm_regimes.png)")
    p.set_defaults(func=_run_theory_gm)


def _run_theory_gm(args: argparse.Namespace) -> int:
    from diffphase.validation.regimes import theory_summary, plot_theory_curves

    summary = theory_summary(d=args.d, n=args.n, mu=args.mu, sigma=args.sigma)
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        print(f"{key:<{width}} = {value:.10g}" if isinstance(value, float) else f"{key:<{width}} = {value}")
    path = plot_theory_curves(d=args.d, n=args.n, mu=args.mu, sigma=args.sigma, path=args.out)
    print(f"wrote {path}")
    return 0

# --------------------------------------------------------------------------------------
# diffphase theory rhm
# --------------------------------------------------------------------------------------
def _add_rhm_parameters(p: argparse.ArgumentParser) -> None:
    """The RHM parameters shared by the ``rhm`` subcommands."""
    p.add_argument("--v", type=int, default=32, help="vocabulary size v >= 2 (default 32)")
    p.add_argument("--m", type=int, default=8, help="synonyms 1 <= m <= v**(s-1) (default 8)")
    p.add_argument("--s", type=int, default=2, help="branching s >= 2 (default 2)")


def _add_theory_rhm(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rhm",
        help="mean-field critical noise of the Random Hierarchy Model for each noise process",
        description=(
            "Random Hierarchy Model (vocabulary v, m rules per symbol, branching s). Prints the "
            "mean-field critical quantities per noise process, eps = 1 - alpha_bar (OU time "
            "-1/2 log(1 - eps)): p*, eps*, F'(p*) and nu for the epsilon-process; for masking "
            "and uniform diffusion the threshold of the rule-averaged density evolution (no "
            "one-number closure exists; its over-estimates are printed too)."
        ),
    )
    _add_rhm_parameters(p)
    p.set_defaults(func=_run_theory_rhm)


def _run_theory_rhm(args: argparse.Namespace) -> int:
    from diffphase.numerics.rhm.mean_field import critical_summary

    out = critical_summary(args.v, args.m, args.s)
    f = args.m / args.v ** (args.s - 1)
    print(f"RHM mean field: v={args.v}, m={args.m}, s={args.s}, f=m/v^(s-1)={f:.6g}; "
          f"noise eps = 1 - alpha_bar, OU time t = -log(1 - eps)/2")
    e = out["epsilon"]
    print("[epsilon]  one-number map p_{l+1} = F(p_l), p_0 = 1 - eps(1 - 1/v)  (mpmath, 1e-12)")
    print(f"  p*      = {e['p_star']:.12f}")
    print(f"  eps*    = {e['eps_star']:.12f}")
    print(f"  t*      = {e['t_star']:.12f}")
    print(f"  F'(p*)  = {e['slope']:.12f}")
    print(f"  nu      = {e['nu']:.12f}")
    for proc in ("masking", "uniform"):
        r = out[proc]
        print(f"[{proc}]  no mean-field closure in one number p_l: heterogeneous leaves and a "
              f"concave map (Jensen); threshold of the rule-averaged density evolution (~1e-6)")
        print(f"  eps_c   = {r['eps_c']:.6f}")
        print(f"  t_c     = {r['t_c']:.6f}")
        print(f"  one-number closures (over-estimates): first moment {r['first_moment']:.6f}, "
              f"leaf-resolved {r['leaf_resolved']:.6f}")
    return 0


# --------------------------------------------------------------------------------------
# diffphase rhm curves
# --------------------------------------------------------------------------------------
def _add_rhm(sub: argparse._SubParsersAction) -> None:
    rhm = sub.add_parser("rhm", help="Random Hierarchy Model: exact-BP measurements")
    rhm_sub = rhm.add_subparsers(dest="rhm_command", required=True)
    p = rhm_sub.add_parser(
        "curves",
        help="P(class kept) vs noise for several depths L from exact BP (mean field overlaid)",
        description=(
            "Probability that a forward-backward experiment keeps the class of an RHM datum, "
            "vs the noise level eps = 1 - alpha_bar (OU time -1/2 log(1 - eps)), from exact "
            "belief propagation for several depths L; mean-field curves dashed when "
            "diffphase.numerics.rhm.mean_field is available. Writes a PNG and prints the "
            "crossings of consecutive depths."
        ),
    )
    _add_rhm_parameters(p)
    p.add_argument("--L", type=int, nargs="+", default=[2, 4, 6, 8], help="depths (default 2 4 6 8)")
    p.add_argument("--process", default="epsilon", choices=["epsilon", "masking", "uniform"],
                   help="noise process (default epsilon)")
    p.add_argument("--points", type=int, default=26, help="noise grid points on [0, 1] (default 26)")
    p.add_argument("--n-samples", type=int, default=300, help="data per point (default 300)")
    p.add_argument("--seed", type=int, default=0, help="seed of data and noise (default 0)")
    p.add_argument("--out", default="rhm_class_curves.png", help="PNG path (default rhm_class_curves.png)")
    p.set_defaults(func=_run_rhm_curves)


def _run_rhm_curves(args: argparse.Namespace) -> int:
    import numpy as np

    from diffphase.validation.rhm_curves import curve_crossings, plot_rhm_class_curves

    if args.points < 2:
        raise ValueError(f"--points must be >= 2, got {args.points}")
    path, curves = plot_rhm_class_curves(
        path=args.out, v=args.v, m=args.m, s=args.s, depths=tuple(args.L), process=args.process,
        noises=np.linspace(0.0, 1.0, args.points), n_samples=args.n_samples, seed=args.seed,
    )
    depths = list(curves["p"])
    for a, b in zip(depths[:-1], depths[1:]):
        xs = curve_crossings(curves["noise"], curves["p"][a], curves["p"][b])
        print(f"crossing L={a} / L={b}: " + (", ".join(f"{x:.4f}" for x in xs) or "none"))
    print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------------------
# diffphase analyze
# --------------------------------------------------------------------------------------
def _add_analyze(sub: argparse._SubParsersAction) -> None:
    from diffphase.numerics.portrait import SCALES
    from diffphase.validation.analyze import DATASETS

    p = sub.add_parser(
        "analyze",
        help="the phase portrait of a data set: speciation, collapse, class information, in OU time and DDPM steps",
        description=(
            "Computes the phase portrait of a data set (diffphase.numerics.portrait): the covariance spectrum "
            "and speciation time t_S = 1/2 log Lambda, the speciation time of every class pair, the leave-one-out "
            "excess entropy and the collapse time t_C on nested subsamples, the class entropy H(Y|X_t) and its "
            "steepest descent, per-direction memorization thresholds; every time also as a DDPM step (linear "
            "beta, T = 1000) and a VE sigma. Writes report.md, report.html, portrait.json, regimes.png and "
            "spectrum.png into --out. The scale of the data decides t_S and t_C; the report states it."
        ),
    )
    p.add_argument("data", nargs="?", metavar="DATA",
                   help="a .npy or .npz array of shape (n, d) (images (n, ...) are flattened); or use --dataset")
    p.add_argument("--labels", metavar="L", default=None,
                   help="class labels, one per row of DATA: .npy, .npz, or a text file with one label per line "
                        "(a .npz DATA may hold them as 'y', 'labels' or 'targets')")
    p.add_argument("--dataset", choices=list(DATASETS), default=None,
                   help="a built-in data set instead of DATA: " + "; ".join(f"{k}: {v[0]}" for k, v in DATASETS.items()))
    p.add_argument("--scale", choices=list(SCALES), default=None,
                   help="rescale the data first (default: minus-one-one for --dataset, none for DATA)")
    p.add_argument("--value-range", nargs=2, type=float, metavar=("LO", "HI"), default=None,
                   help="nominal value range for unit-interval / minus-one-one (default: the pixel range of a "
                        "built-in data set, the data's minimum and maximum otherwise)")
    p.add_argument("--out", default="diffphase-portrait", help="report folder (default diffphase-portrait)")
    p.add_argument("--n-samples", type=int, default=1000,
                   help="Monte Carlo queries per training-set size (default 1000; standard errors ~ 1/sqrt)")
    p.add_argument("--levels", type=int, default=6, help="nested training-set sizes n/2^k (default 6)")
    p.add_argument("--seed", type=int, default=0, help="seed of subsamples and Monte Carlo queries (default 0)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress output")
    p.set_defaults(func=_run_analyze)


def _run_analyze(args: argparse.Namespace) -> int:
    from diffphase.validation.analyze import analyze

    p, files = analyze(args.data, dataset=args.dataset, labels=args.labels, scale=args.scale,
                       value_range=args.value_range, out=args.out, n_samples=args.n_samples, levels=args.levels,
                       seed=args.seed, progress=args.progress)
    for row in p.key_times():
        step = "-" if row["step"] is None else str(row["step"])
        err = "" if row["stderr"] is None else f" +- {row['stderr']:.2g}"
        print(f"{row['quantity']:<58} t = {row['t']:.4g}{err}  (DDPM step {step})")
    print(f"scale: {p.scale}")
    print("wrote " + ", ".join(str(f) for f in files.values()))
    return 0


# --------------------------------------------------------------------------------------
# diffphase validate
# --------------------------------------------------------------------------------------
def _add_validate(sub: argparse._SubParsersAction) -> None:
    from diffphase.validation.validate import EXPERIMENTS, default_names

    p = sub.add_parser(
        "validate",
        help="train DDPMs, measure the predicted transitions, write the report with verdicts",
        description=(
            "Runs the validation experiments (quick: <= 10 minutes on 2 CPU cores; standard: <= 90 "
            "minutes on 2 idle CPU cores; full: the configuration meant for one GPU), writes report.md, report.html, results.json and "
            "one PNG per experiment into --out. Every verdict has a kind: a paper's claim (with its "
            "arXiv id and place), an exact reference, a precondition on the trained model, or an "
            "exploratory prediction of diffphase. The exit status is 0 only if every claim, reference "
            "and precondition passes (a claim whose precondition failed is INCONCLUSIVE); exploratory "
            "verdicts count with --strict. A rerun with the same --out resumes after an interruption. "
            "Experiments: "
            + ", ".join(f"{n} ({'/'.join(e.modes)})" for n, e in EXPERIMENTS.items())
            + f". Default quick set: {', '.join(default_names('quick'))}."
        ),
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="the quick configuration (default)")
    mode.add_argument("--standard", dest="mode", action="store_const", const="standard",
                      help="the standard configuration: evidence at scale, sized for at most 90 minutes on an "
                           "idle 2-core CPU (resumable; see --plan)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="the full configuration (meant for one GPU)")
    p.set_defaults(mode="quick")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--out", default="diffphase-report", help="report folder (default diffphase-report)")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME",
                   help=f"run only these experiments (any of: {', '.join(EXPERIMENTS)})")
    p.add_argument("--cache-dir", default=None, help="cache of trained models (default OUT/cache)")
    p.add_argument("--executor", default="local",
                   help="where the independent items of an experiment (dimensions, class pairs) run: local "
                        "(process pool, default), serial (this process), or a Dask scheduler address "
                        "tcp://host:port")
    p.add_argument("--workers", type=int, default=None,
                   help="local pool size (default: the number of CPU cores)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads per process (default 1: small networks gain nothing from more, and "
                        "threads contending for busy cores slow training down many times)")
    p.add_argument("--jobs", type=int, default=None,
                   help="experiments run at once, each in its own process (default: the number of CPU cores "
                        "with --standard, else 1); with more than one, training progress bars are off and "
                        "each experiment reports when it ends")
    p.add_argument("--export", default=None, metavar="DEST",
                   help="after the run, copy report.md, the figures and a compact results.json into DEST (how "
                        "the documentation's measured results are shipped; a rerun of a finished --out only "
                        "reuses results)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress output")
    p.add_argument("--strict", action="store_true",
                   help="also fail when an exploratory prediction of diffphase (a formula not stated in the "
                        "papers) disagrees with the measurement; by default only claim, reference and "
                        "precondition verdicts decide the exit status")
    p.add_argument("--plan", action="store_true",
                   help="print the estimated FLOPs and time of each experiment and exit: CPU time from a rate "
                        "measured on this machine for --quick and --standard, one-GPU time for --full")
    p.set_defaults(func=_run_validate)


def _print_plan(mode: str, only) -> int:
    from diffphase.validation.validate import GPU_ASSUMPTIONS, plan

    rate = None
    if mode != "full":
        from diffphase.validation.calibrate import measure_cpu_rate

        print("measuring this machine's training rate (about 15 s) ...", file=sys.stderr, flush=True)
        rate = measure_cpu_rate(threads=1)
    rows = plan(mode, only=only, rate=rate)
    w = max([20] + [len(r["name"]) + 1 for r in rows])
    last = "CPU estimate" if rate is not None else "GPU estimate"
    print(f"{'experiment':<{w}} {'train FLOPs':>12} {'sample FLOPs':>13} {'train steps':>12} {last:>13}")
    for r in rows:
        if r["total_flops"] is None:
            print(f"{r['name']:<{w}} {'(no cost model)':>40}")
            continue
        sec = r["cpu_seconds"] if rate is not None else r["gpu_seconds"]
        print(f"{r['name']:<{w}} {r['train_flops']:>12.3g} {r['sample_flops']:>13.3g} {r['train_steps']:>12d} "
              f"{sec / 60:>10.1f} min")
    known = [r for r in rows if r["total_flops"] is not None]
    flops = sum(r["total_flops"] for r in known)
    if rate is not None:
        cpu = sum(r["cpu_seconds"] for r in known)
        print(f"{'total':<{w}} {flops:>26.3g} FLOPs, {cpu / 3600:.2f} CPU-hours of one torch thread (measured "
              f"here: {rate['flops_per_second'] / 1e9:.1f} GFLOP/s, {rate['seconds_per_train_step'] * 1e3:.2g} ms "
              f"per training step, {rate['seconds_per_sampler_call'] * 1e3:.2g} ms per sampler call); wall time "
              f"on W cores about CPU/W when the sweeps keep every core busy; exact references (BP, quadrature, "
              f"Monte Carlo) are not counted")
    else:
        print(f"{'total':<{w}} {flops:>26.3g} FLOPs, "
              f"{sum(r['gpu_seconds'] for r in known) / 3600:.2f} GPU-hours (estimate: "
              f"{GPU_ASSUMPTIONS['flops_per_second']:.0e} FLOP/s sustained, "
              f"{GPU_ASSUMPTIONS['seconds_per_train_step'] * 1e3:g} ms per training step, "
              f"{GPU_ASSUMPTIONS['seconds_per_sampler_call'] * 1e3:g} ms per sampler call)")
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    from diffphase.validation.validate import run_validation

    if args.plan:
        return _print_plan(args.mode, args.only)
    if args.device is not None:
        _check_device(args.device)
    run = run_validation(args.mode, only=args.only, out=args.out, device=args.device, cache_dir=args.cache_dir,
                         executor=args.executor, max_workers=args.workers, threads=args.threads,
                         threads_per_worker=args.threads, progress=args.progress, strict=args.strict,
                         jobs=_default_jobs(args))
    from diffphase.validation.engine.report import summary_line

    for r in run.results:
        for v in r.verdicts:
            print(f"{v.outcome:<12} {v.kind:<12} {r.name}: {v.name}: measured {v.measured:.4g}"
                  + ("" if v.predicted is None else f", predicted {v.predicted:.4g}") + f" ({v.tolerance_text()})")
        if r.status == "skipped":
            print(f"{'SKIP':<12} {'':<12} {r.name}: {r.message}")
    print(summary_line(run.results, mode=args.mode, seconds=run.seconds, strict=args.strict, partial=bool(run.reused))
          + f"; report: {run.files['report.md']}")
    if args.export:
        from diffphase.validation.engine.report import export_report

        shipped = export_report(args.out, args.export)
        print(f"exported {len(shipped['files'])} files ({shipped['bytes'] / 1e6:.1f} MB) to {args.export}")
    return 0 if run.passed else 1


def _default_jobs(args: argparse.Namespace) -> int:
    """``--jobs``, or its default: every CPU core for ``--standard`` (the CPU tier), one otherwise."""
    if args.jobs is not None:
        if args.jobs < 1:
            raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
        return args.jobs
    return max(1, os.cpu_count() or 1) if args.mode == "standard" else 1


def _check_device(device: str) -> None:
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"--device {device!r} is not a torch device (e.g. cpu, cuda, cuda:0)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device!r}: CUDA is not available on this machine; use --device cpu")


#: ``diffphase theory MODEL`` entries: name -> function adding the sub-parser.
THEORY_COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "gm": _add_theory_gm,
    "rhm": _add_theory_rhm,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``diffphase`` command."""
    parser = argparse.ArgumentParser(
        prog="diffphase",
        description="Statistical physics of generative diffusion: theory, exact references, validation.",
    )
    parser.add_argument("--version", action="version", version=f"diffphase {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    theory = sub.add_parser("theory", help="critical quantities of a model from its theory")
    theory_sub = theory.add_subparsers(dest="model", required=True)
    for add in THEORY_COMMANDS.values():
        add(theory_sub)
    _add_rhm(sub)
    _add_analyze(sub)
    _add_validate(sub)
    return parser


def package_version() -> str:
    """The installed version of the ``diffphase`` distribution (``importlib.metadata``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("diffphase")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "unknown"


#: Torch intra-op threads of every command (``validate`` has its own ``--threads``): on a shared
#: CPU several threads contend, and the small networks here gain nothing from more (measured on
#: a 2-core machine with the other core busy: 20 times slower with 2 threads than with 1).
DEFAULT_TORCH_THREADS = 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``diffphase`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    import torch

    if args.command in ("validate", "analyze"):  # long numeric runs: keep freed memory in the process
        from .engine.allocator import tune_malloc

        tune_malloc()
    old = torch.get_num_threads()
    torch.set_num_threads(DEFAULT_TORCH_THREADS)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:  # bad parameters: one clear line, no traceback
        print(f"diffphase: error: {exc}", file=sys.stderr)
        return 2
    finally:
        torch.set_num_threads(old)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
