"""Exact-BP measurements of issue 3 for v=32, m=8, s=2 (not a test; prints and writes JSON).

* P(class kept) vs eps for L = 2..10 (epsilon process), and the mean field when available;
* crossings of the curves of consecutive depths;
* per-level curves at L = 8;
* susceptibility chi(eps) from forward-backward change indicators at L = 8 and its peak;
* crossings for masking and uniform diffusion;
* ``refine``: fine grids around each transition for L = 4, 6, 8, 10 (600 data per point) and
  the crossings of L/L+2; ``chi10``: chi(eps) at L = 6 and 10 on a 0.0125 grid.

Run: ``python benchmarks/rhm_exact_measurements.py --out rhm_measurements.json``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from diffphase.numerics.rhm import RHM, change_correlations, class_curves, forward_backward


def crossings(x, a, b):
    d = np.asarray(a) - np.asarray(b)
    idx = np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)
    return [float(x[i] - d[i] * (x[i + 1] - x[i]) / (d[i + 1] - d[i])) for i in idx]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="rhm_measurements.json")
    ap.add_argument("--n-samples", type=int, default=400)
    ap.add_argument("--chi-samples", type=int, default=300)
    ap.add_argument("--chi-traj", type=int, default=4)
    ap.add_argument("--what", default="eps,levels,chi,masking,uniform,refine,chi10")
    args = ap.parse_args(argv)
    v, m, s = 32, 8, 2
    what = args.what.split(",")
    res = {"v": v, "m": m, "s": s}
    try:
        from diffphase.numerics.rhm.mean_field import mean_field_curve
    except ImportError:
        mean_field_curve = None
    grid = np.round(np.arange(0.0, 1.0001, 0.02), 10)
    for process in ("epsilon", "masking", "uniform"):
        key = {"epsilon": "eps"}.get(process, process)
        if key not in what:
            continue
        t0 = time.time()
        out = {"noise": grid.tolist(), "p": {}, "se": {}, "mf": {}}
        for L in range(2, 11):
            rhm = RHM(v, m, s, L, seed=0)
            p, se = class_curves(rhm, process, grid, args.n_samples, seed=L, dtype=np.float32)
            out["p"][L], out["se"][L] = p[:, 0].tolist(), se[:, 0].tolist()
            if mean_field_curve is not None:
                out["mf"][L] = np.asarray(mean_field_curve(v, m, s, L, grid, process=process))[-1].tolist()
            print(process, L, f"{time.time() - t0:.0f}s", flush=True)
        out["crossings"] = {f"{L}/{L + 1}": crossings(grid, out["p"][L], out["p"][L + 1]) for L in range(2, 10)}
        out["crossings_2step"] = {f"{L}/{L + 2}": crossings(grid, out["p"][L], out["p"][L + 2]) for L in range(2, 9)}
        if out["mf"]:
            out["max_gap"] = {L: float(np.max(np.abs(np.array(out["p"][L]) - np.array(out["mf"][L]))))
                              for L in out["mf"]}
        res[process] = out
        json.dump(res, open(args.out, "w"), indent=1)
    if "levels" in what:
        rhm = RHM(v, m, s, 8, seed=0)
        p, se = class_curves(rhm, "epsilon", grid, args.n_samples, seed=8, dtype=np.float32)
        res["levels_L8"] = {"noise": grid.tolist(), "p": p.tolist(), "se": se.tolist()}
        json.dump(res, open(args.out, "w"), indent=1)
        print("levels done", flush=True)
    if "chi" in what:
        rhm = RHM(v, m, s, 8, seed=0)
        egrid = np.round(np.arange(0.40, 0.96, 0.025), 10)
        chis, Cs, pc = [], [], []
        for e in egrid:
            fb = forward_backward(rhm, "epsilon", e, args.chi_samples, args.chi_traj, seed=3,
                                  marginals=False, dtype=np.float32)
            C, chi = change_correlations(fb)
            chis.append(chi)
            Cs.append(C[:16].tolist())
            pc.append(fb.p_unchanged.tolist())
            print("chi", e, chi, flush=True)
        res["chi_L8"] = {"noise": egrid.tolist(), "chi": chis, "C_first16": Cs, "p_unchanged": pc,
                         "peak": float(egrid[int(np.argmax(chis))])}
        json.dump(res, open(args.out, "w"), indent=1)
    if "refine" in what:
        fine = {"masking": np.arange(0.16, 0.401, 0.01), "uniform": np.arange(0.06, 0.261, 0.01),
                "epsilon": np.arange(0.70, 0.771, 0.005)}
        res["refine"] = {}
        for proc, g in fine.items():
            g = np.round(g, 4)
            d = {"noise": g.tolist(), "p": {}, "se": {}, "mf": {}}
            for L in (4, 6, 8, 10):
                p, se = class_curves(RHM(v, m, s, L, seed=0), proc, g, 600, seed=100 + L, dtype=np.float32)
                d["p"][L], d["se"][L] = p[:, 0].tolist(), se[:, 0].tolist()
                if mean_field_curve is not None:
                    d["mf"][L] = np.asarray(mean_field_curve(v, m, s, L, g, process=proc))[-1].tolist()
            d["crossings"] = {f"{a}/{b}": crossings(g, d["p"][a], d["p"][b])
                              for a, b in ((4, 6), (6, 8), (8, 10), (4, 8), (6, 10))}
            res["refine"][proc] = d
            print(proc, d["crossings"], flush=True)
        json.dump(res, open(args.out, "w"), indent=1)
    if "chi10" in what:
        res["chi_fine"] = {}
        for L in (6, 10):
            rhm = RHM(v, m, s, L, seed=0)
            g = np.round(np.arange(0.65, 0.851, 0.0125), 5)
            chis = [change_correlations(forward_backward(rhm, "epsilon", e, 300, 4, seed=7, marginals=False,
                                                         dtype=np.float32))[1] for e in g]
            res["chi_fine"][L] = {"noise": g.tolist(), "chi": chis, "peak": float(g[int(np.argmax(chis))])}
            print("chi", L, res["chi_fine"][L]["peak"], flush=True)
        json.dump(res, open(args.out, "w"), indent=1)
    return res


if __name__ == "__main__":
    main()
