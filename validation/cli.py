"""The ``diffphase`` command.

Subcommands
-----------
``diffphase theory gm``
    Speciation and collapse of the two-class Gaussian mixture: prints t_S, t_C and alpha and
    writes a PNG of phi(t) and f(t) with both times marked.

Each subcommand is a small function here over the public API of :mod:`diffphase.numerics`
and :mod:`diffphase.validation`; model-specific work lives in those modules, not here.
New models register their ``theory`` entry in :data:`THEORY_COMMANDS` and may add top-level
subcommands in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
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


#: ``diffphase theory MODEL`` entries: name -> function adding the sub-parser.
THEORY_COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "gm": _add_theory_gm,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``diffphase`` command."""
    parser = argparse.ArgumentParser(
        prog="diffphase",
        description="Statistical physics of generative diffusion: theory, exact references, validation.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    theory = sub.add_parser("theory", help="critical quantities of a model from its theory")
    theory_sub = theory.add_subparsers(dest="model", required=True)
    for add in THEORY_COMMANDS.values():
        add(theory_sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``diffphase`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:  # bad parameters: one clear line, no traceback
        print(f"diffphase: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
