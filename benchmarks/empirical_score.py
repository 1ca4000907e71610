"""Achieved float32 GFLOP/s of the empirical score and of the excess-entropy estimator,
against the matrix-multiply rate of the same machine measured in the same run.

    python benchmarks/empirical_score.py [--n 20000] [--d 784] [--batch 1024] [--repeats 3]

Flops counted: the score needs the two products x A^T and w A per query and training point,
4 n d flops per query; the log-density (excess entropy) needs x A^T only, 2 n d. The
reference rate is the best of ``repeats`` float32 matmuls of the shapes the engine uses
((batch, d) @ (d, chunk) and (batch, chunk) @ (chunk, d)). Target: ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from diffphase.numerics import empirical as em


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--d", type=int, default=784)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--eig-n", type=int, default=70000, help="rows for the top-eigenvalue timing (0 skips)")
    p.add_argument("--eig-d", type=int, default=3072, help="columns for the top-eigenvalue timing")
    args = p.parse_args(argv)
    n, d, B = args.n, args.d, args.batch
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float32)
    x = rng.standard_normal((B, d), dtype=np.float32)
    eng = em.EmpiricalScore(X, dtype=np.float32)
    c = eng._chunk(B)
    A = X[:c]
    W = rng.random((B, c), dtype=np.float32)
    t_mm1 = best_time(lambda: x @ A.T, args.repeats)
    t_mm2 = best_time(lambda: W @ A, args.repeats)
    mm_rate = 2.0 * B * c * d * 2 / (t_mm1 + t_mm2) / 1e9

    t_score = best_time(lambda: eng(x, 0.7), args.repeats)
    score_rate = 4.0 * B * n * d / t_score / 1e9
    n_samples = B
    t_ent = best_time(lambda: em.excess_entropy(eng.X, 0.7, n_samples=n_samples, seed=0, dtype=np.float32),
                      args.repeats)
    ent_rate = 2.0 * n_samples * n * d / t_ent / 1e9

    print(f"empirical score benchmark: n={n} d={d} batch={B} chunk={c} float32")
    print(f"{'kernel':<28}{'time [s]':>10}{'GFLOP/s':>10}{'ratio to matmul':>18}")
    print(f"{'matmul (same shapes)':<28}{t_mm1 + t_mm2:>10.4f}{mm_rate:>10.1f}{1.0:>18.2f}")
    print(f"{'empirical score':<28}{t_score:>10.4f}{score_rate:>10.1f}{score_rate / mm_rate:>18.2f}")
    print(f"{'excess-entropy estimator':<28}{t_ent:>10.4f}{ent_rate:>10.1f}{ent_rate / mm_rate:>18.2f}")
    print("target: ratio >= 0.50")

    if args.eig_n:
        # top covariance eigenvalue at CIFAR-like size, Lanczos on the data operator
        Y = rng.standard_normal((args.eig_n, args.eig_d), dtype=np.float32)
        Y[:, 0] *= 3.0  # a planted top direction: Lambda = 9 up to sampling error
        t0 = time.perf_counter()
        lam = em.top_eigenvalue(Y)
        t_eig = time.perf_counter() - t0
        print(f"top eigenvalue, n={args.eig_n} d={args.eig_d} float32: {t_eig:.2f} s, "
              f"Lambda = {lam:.4f} (planted 9, sampling error ~ {9 * (2 / args.eig_n) ** 0.5:.3f})")


if __name__ == "__main__":
    main()
