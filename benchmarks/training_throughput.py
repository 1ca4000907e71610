"""Training throughput of the denoisers on this machine: optimizer steps per second and the
achieved FLOP rate of the MLP, the U-Net and the tree denoiser, as a fraction of torch's float32
matmul rate measured in the same run.

    python benchmarks/training_throughput.py [--steps 150] [--repeats 3] [--threads 1]

Each case trains with :func:`diffphase.validation.train.train` (the engine's loop: AdamW, EMA,
clipping, the objective's noising; no cache, no checkpoint) at the batch size and width of a
``--quick`` configuration of ``diffphase validate``, after ``warmup`` steps that are not
timed. FLOPs per step are counted by torch (:func:`diffphase.validation.models.denoiser_flops`:
matrix products and convolutions of one forward and backward pass; element-wise work,
the optimizer and the noising count as zero), so ``fraction`` is the share of the step's time
spent at matmul speed. The reference is the best of ``repeats`` float32 matmuls
(1024 x 1024 x 1024, and the shape of the case's widest linear layer at its batch size), before
and after the cases. Rates are given per wall-clock second and per CPU-second of the process
(the fair number while other jobs load the machine).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from timing import best_time


def matmul_rate(m: int, k: int, n: int, repeats: int) -> tuple[float, float]:
    """float32 FLOP rate of ``(m, k) @ (k, n)``, per wall second and per CPU second."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    reps = max(1, int(2e9 // (2 * m * k * n)))      # about 2 GFLOP per timing

    def run():
        for _ in range(reps):
            torch.mm(a, b)

    run()
    wall, cpu = best_time(run, repeats)
    flops = 2.0 * m * k * n * reps
    return flops / wall, flops / max(cpu, 1e-9)


def cases():
    """``(name, TrainConfig keywords, dataset)`` at the sizes of the quick configurations."""
    from diffphase.numerics.rhm import RHM
    from diffphase.validation import data as D
    from diffphase.validation.regimes.configs import QUICK_SPECIATION_GM
    from diffphase.validation.rhm.configs import QUICK_RHM_DISCRETE
    from diffphase.validation.rhm.samplers import rhm_dataset

    mlp = dict(QUICK_SPECIATION_GM.train)
    yield "mlp (speciation_gm, d = 128)", mlp, D.two_class_mixture(20000, 128, seed=0)
    unet = {"model": "unet", "model_kwargs": {"channels": 64}, "batch_size": 256, "lr": 1e-3, "t_max": 8.0}
    yield "unet (digits 8x8, channels 64)", unet, D.digits()
    fashion = None
    try:
        fashion = D.fashion_mnist(limit=4096)
    except (FileNotFoundError, OSError, ValueError):
        pass
    if fashion is not None:
        yield "unet (Fashion-MNIST 28x28, channels 32)", {"model": "unet", "model_kwargs": {"channels": 32},
                                                         "batch_size": 128, "lr": 1e-3, "t_max": 8.0}, fashion
    tree = dict(QUICK_RHM_DISCRETE.train, objective="masking")
    run = QUICK_RHM_DISCRETE.runs[1]
    rhm = RHM(v=run["v"], m=run["m"], s=run["s"], L=run["L"], seed=run["rules_seed"])
    yield f"tree (RHM v = {run['v']}, L = {run['L']}, masking)", tree, rhm_dataset(rhm, 8192, seed=0)


def measure(name, keywords, data, steps: int, warmup: int, repeats: int) -> dict:
    """Steps per second and FLOP rate of one case (best of ``repeats`` timed trainings)."""
    from diffphase.validation.models import build_model, denoiser_flops
    from diffphase.validation.train import TrainConfig, model_spec, train

    base = {k: v for k, v in keywords.items() if k not in ("steps", "checkpoint_every", "snapshot_steps", "warmup_steps")}
    cfg = TrainConfig(**base, steps=steps + warmup, warmup_steps=min(warmup, 10), checkpoint_every=10**9)
    spec = model_spec(cfg, data)
    flops_step = denoiser_flops(spec, batch=min(cfg.batch_size, 64))["train"] * cfg.batch_size
    short = TrainConfig(**base, steps=warmup, warmup_steps=min(warmup, 10), checkpoint_every=10**9)

    def timed():
        train(cfg, data, use_cache=False, progress=False)

    def warm():
        train(short, data, use_cache=False, progress=False)

    wall_w, cpu_w = best_time(warm, repeats)
    wall, cpu = best_time(timed, repeats)
    wall, cpu = max(wall - wall_w, 1e-9), max(cpu - cpu_w, 1e-9)   # the steps beyond the warm-up
    params = sum(p.numel() for p in build_model(spec).parameters())
    return {"name": name, "params": params, "batch": cfg.batch_size, "flops_step": flops_step,
            "steps_per_s": steps / wall, "rate_wall": flops_step * steps / wall, "rate_cpu": flops_step * steps / cpu}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150, help="timed steps per training (default 150)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps (default 20)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as diffphase validate)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    before = matmul_rate(1024, 1024, 1024, a.repeats)
    rows = [measure(*c, a.steps, a.warmup, a.repeats) for c in cases()]
    after = matmul_rate(1024, 1024, 1024, a.repeats)
    ref_wall, ref_cpu = max(before[0], after[0]), max(before[1], after[1])
    print(f"torch {torch.__version__}, {a.threads} thread(s); float32 matmul 1024^3: "
          f"{before[0] / 1e9:.1f} GFLOP/s before, {after[0] / 1e9:.1f} after (per CPU-second "
          f"{before[1] / 1e9:.1f}, {after[1] / 1e9:.1f})")
    print("| model | parameters | batch | GFLOP per step | steps/s | GFLOP/s (wall) | fraction of matmul (wall) "
          "| fraction of matmul (CPU) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['params']:,} | {r['batch']} | {r['flops_step'] / 1e9:.3f} | {r['steps_per_s']:.1f} | "
              f"{r['rate_wall'] / 1e9:.2f} | {r['rate_wall'] / ref_wall:.2f} | {r['rate_cpu'] / ref_cpu:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
