r"""The protocol of ``rhm_discrete`` (:mod:`diffphase.validation.rhm`): one sweep item per RHM
depth and half -- the trained model (:func:`rhm_discrete_model`: training with snapshots,
generation, forward--backward) and the exact references (:func:`rhm_discrete_exact`: exact BP
marginals through the sampler, exact-BP curves, exact posterior sampling, mean field) --,
their merge into one point with its crossings, slopes and learning times
(:func:`summarize_point`), and the labels of the points. Noise levels
:math:`\varepsilon = 1-e^{-2t}` at OU time ``t``.
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics.checks import check_int, check_real
from diffphase.numerics.rhm import RHM, class_curves, critical_noise, forward_backward, get_process, mean_field_curve

from .measures import (class_level, copy_fraction, fb_curves, learning_times, level_validity, random_tuple_fraction,
                       rule_validity, susceptibility)
from .samplers import bp_posterior, generate, model_posterior, rhm_dataset
from .slopes import local_slope, slope_ratio
from .tolerances import LEVEL_Z

__all__ = ["snapshot_steps", "rhm_discrete_model", "rhm_discrete_exact", "rhm_discrete_item", "summarize_point",
           "rhm_discrete_point", "point_label", "group_label", "group_points"]


def _crossing(noises, p, se, level, seed):
    from diffphase.numerics.stats import crossing

    try:
        c = crossing(noises, p, level, stderr=se, seed=seed, name="P_root")
        return c.t, c.stderr
    except ValueError:  # no crossing inside the grid: reported, and the verdict fails
        return math.nan, math.nan


def _peak(noises, chi):
    chi = np.asarray(chi, dtype=np.float64)
    return float(np.asarray(noises)[int(np.argmax(chi))]) if chi.size else math.nan


def _exact_chi(rhm, process, noises, n_samples, seed):
    """Susceptibility of exact posterior sampling (:func:`~diffphase.numerics.rhm.forward_backward`)."""
    chi, se = [], []
    for k, eps in enumerate(noises):
        fb = forward_backward(rhm, process, float(eps), n_samples, 1, seed=seed + k, marginals=False)
        c, s = susceptibility(fb.changed[:, 0], seed=seed + k)
        chi.append(c)
        se.append(s)
    return np.array(chi), np.array(se)


def snapshot_steps(steps: int, fractions) -> tuple:
    """The training steps ``round(f * steps)`` of ``fractions`` (each in (0, 1]), sorted and
    unique, always ending with ``steps`` (the final model)."""
    steps = check_int("steps", steps, minimum=1)
    ks = {steps}
    for f in fractions:
        f = check_real("snapshot fraction", f, low=0, high=1, low_open=True)
        ks.add(max(1, int(round(f * steps))))
    return tuple(sorted(ks))


def _seeds(seed):
    return [int(x) for x in np.random.SeedSequence(int(seed)).generate_state(8)]


def rhm_discrete_model(*, process: str, v: int, m: int, s: int, L: int, n_train: int, train: dict, noises: list,
                       n_fb: int, n_gen: int, n_snap: int, snapshots: list, rules_seed: int, seed: int, device: str,
                       cache_dir: str, progress: bool = False) -> dict:
    r"""The trained-model half of one RHM of ``rhm_discrete``: trains a
    :class:`~diffphase.validation.models.TreeDenoiser` on ``n_train`` data (objective
    ``process``) keeping its EMA weights at the steps :func:`snapshot_steps` of ``snapshots``;
    generates ``n_snap`` samples from every snapshot and ``n_gen`` from the final model
    (:func:`level_validity`, :func:`rule_validity`, :func:`copy_fraction`); runs
    forward--backward with the final model at every level of ``noises`` (``n_fb`` data each,
    :func:`fb_curves`). Noise levels :math:`\varepsilon = 1-e^{-2t}`, ``t`` the OU time the
    network is fed."""
    from ..train import TrainConfig, load_snapshot, train as train_model

    rhm = RHM(v, m, s, L, seed=rules_seed)
    proc = get_process(process, v)
    ss = _seeds(seed)
    ds = rhm_dataset(rhm, n_train, ss[0])
    steps = int(train.get("steps", TrainConfig.steps))
    snaps = snapshot_steps(steps, snapshots)
    cfg = TrainConfig(**{"model": "tree", **train, "objective": proc.name, "seed": int(seed), "snapshot_steps": snaps})
    model, hist = train_model(cfg, ds, device=device, cache_dir=cache_dir, progress=progress,
                              desc=f"rhm {process} v={v} m={m} L={L}")
    post = model_posterior(model, cfg.t_min, cfg.t_max, device=device)
    noises = np.asarray(noises, dtype=np.float64)

    levels = {k: [] for k in ("tuples", "tuples_se", "samples", "samples_se", "nodes")}
    for j, k in enumerate(snaps[:-1]):
        snap_post = model_posterior(load_snapshot(hist.snapshots[k], device), cfg.t_min, cfg.t_max, device=device)
        lv = level_validity(rhm, generate(snap_post, proc, n_snap, rhm.d, seed=ss[6] + j))
        for key in levels:
            levels[key].append(lv[key])
    gen = generate(post, proc, n_gen, rhm.d, seed=ss[1])
    lv = level_validity(rhm, gen)
    for key in levels:
        levels[key].append(lv[key])
    valid = rule_validity(rhm, gen)
    copies = copy_fraction(gen, ds.data.numpy())
    gen_classes = rhm.parse(gen)[0][:, 0]
    model_fb = fb_curves(rhm, proc, post, noises, n_fb, ss[2])
    vm = float(valid.mean())
    return {"process": proc.name, "v": v, "m": m, "s": s, "L": L, "d": rhm.d, "P_max": float(rhm.n_data),
            "n_train": n_train, "n_c_m_L": v * m**L, "level": class_level(v), "noises": noises,
            "time": [float(proc.time(e)) for e in noises],
            "gen_valid": vm, "gen_valid_se": float(math.sqrt(vm * (1 - vm) / n_gen)),
            "gen_levels": {k: lv[k] for k in ("tuples", "tuples_se", "samples", "samples_se", "nodes")},
            "gen_copies": copies, "gen_copies_se": float(math.sqrt(max(copies * (1 - copies), 1.0 / n_gen) / n_gen)),
            "copies_perfect": n_train / float(rhm.n_data),
            "gen_class_counts": np.bincount(gen_classes[gen_classes >= 0], minlength=v),
            "snapshot_steps": list(snaps), "snapshot_levels": {k: np.array(vals) for k, vals in levels.items()},
            "f_random": random_tuple_fraction(rhm), "model": model_fb,
            "train_steps": steps, "final_loss": float(hist.smoothed()[-1]), "train_seconds": hist.seconds,
            "from_cache": hist.from_cache}


def rhm_discrete_exact(*, process: str, v: int, m: int, s: int, L: int, noises: list, n_fb: int, n_exact: int,
                       rules_seed: int, seed: int, critical: bool = True, **_ignored) -> dict:
    r"""The exact half of one RHM of ``rhm_discrete`` (no trained model): the exact BP
    marginals run through the reverse sampler (:func:`fb_curves` with :func:`bp_posterior`,
    ``n_fb`` data per level), the exact-BP per-level curves
    (:func:`~diffphase.numerics.rhm.class_curves`, ``n_exact`` data, Rao--Blackwellized), the
    susceptibility of exact posterior sampling (``n_fb`` data per level), and the mean-field
    root curve and, if ``critical``, the critical noise (:mod:`diffphase.numerics.rhm.mean_field`,
    this package's reconstruction; it does not depend on ``L``, ``nan`` otherwise). Noise levels
    :math:`\varepsilon = 1-e^{-2t}`."""
    rhm = RHM(v, m, s, L, seed=rules_seed)
    proc = get_process(process, v)
    ss = _seeds(seed)
    noises = np.asarray(noises, dtype=np.float64)
    oracle_fb = fb_curves(rhm, proc, bp_posterior(rhm, proc), noises, n_fb, ss[3])
    p_exact, se_exact = class_curves(rhm, proc, noises, n_exact, seed=ss[4])
    chi_exact, chi_exact_se = _exact_chi(rhm, proc, noises, n_fb, ss[5] % (2**31))
    mf_root = np.asarray(mean_field_curve(v, m, s, L, noises, process=proc.name))[-1]
    eps_mf = math.nan
    if critical:
        try:
            eps_mf = critical_noise(v, m, s, proc.name)
        except ValueError:
            pass
    return {"oracle": oracle_fb, "exact": {"p": p_exact, "stderr": se_exact}, "chi_exact": chi_exact,
            "chi_exact_se": chi_exact_se, "mf_root": mf_root, "eps_mf": eps_mf}


def rhm_discrete_item(*, task: str, **kw) -> dict:
    """One sweep item of ``rhm_discrete`` (module-level so that it pickles): ``task="model"``
    runs :func:`rhm_discrete_model`, ``task="exact"`` :func:`rhm_discrete_exact`."""
    if task == "model":
        return rhm_discrete_model(**kw)
    if task == "exact":
        return rhm_discrete_exact(**kw)
    raise ValueError(f"task must be 'model' or 'exact', got {task!r}")


def summarize_point(model_part: dict, exact_part: dict, seed: int = 0) -> dict:
    r"""Merge the two halves of one RHM and compute its statistics: for the trained model
    (``model``), the exact marginals through the sampler (``oracle``) and exact BP
    (``exact``), the class crossing :math:`\varepsilon_{1/2}` of :func:`class_level` and its
    standard error, the root/leaf slope ratio there (:func:`slope_ratio`), and the root and
    leaf slopes (:func:`local_slope`); the peaks of :math:`\chi`; the learning times of the
    levels over the snapshots (:func:`learning_times`)."""
    out = {**model_part, **exact_part}
    noises = np.asarray(out["noises"], dtype=np.float64)
    level = out["level"]
    for name, sd in (("model", 1), ("oracle", 2), ("exact", 3)):
        p, se = np.asarray(out[name]["p"]), np.asarray(out[name]["stderr"])
        ec, ec_se = _crossing(noises, p[:, 0], se[:, 0], level, seed + sd)
        r, r_se = slope_ratio(noises, p[:, 0], se[:, 0], p[:, -1], se[:, -1], ec)
        out[f"eps_half_{name}"], out[f"eps_half_{name}_se"] = ec, ec_se
        out[f"slope_ratio_{name}"], out[f"slope_ratio_{name}_se"] = r, r_se
        for col, lab in ((0, "root"), (-1, "leaf")):
            a, a_se = local_slope(noises, p[:, col], se[:, col], ec)
            out[f"slope_{lab}_{name}"], out[f"slope_{lab}_{name}_se"] = abs(a), a_se
    out["eps_chi_model"] = _peak(noises, out["model"]["chi"])
    out["eps_chi_exact"] = _peak(noises, out["chi_exact"])
    lv = out["snapshot_levels"]
    out["learning"] = learning_times(lv["tuples"], lv["tuples_se"], out["f_random"], LEVEL_Z)
    return out


def rhm_discrete_point(*, process: str, v: int, m: int, s: int, L: int, n_train: int, train: dict, noises: list,
                       n_fb: int, n_exact: int, n_gen: int, rules_seed: int, seed: int, device: str,
                       cache_dir: str, n_snap: int | None = None, snapshots=(0.5,), progress: bool = False) -> dict:
    r"""One RHM and noise process of ``rhm_discrete`` in one call: :func:`rhm_discrete_model`,
    :func:`rhm_discrete_exact` and :func:`summarize_point` (``n_snap`` defaults to ``n_gen``).
    Noise levels :math:`\varepsilon = 1-e^{-2t}`."""
    common = dict(process=process, v=v, m=m, s=s, L=L, noises=noises, n_fb=n_fb, rules_seed=rules_seed, seed=seed)
    mp = rhm_discrete_model(**common, n_train=n_train, train=train, n_gen=n_gen,
                            n_snap=n_gen if n_snap is None else n_snap, snapshots=list(snapshots), device=device,
                            cache_dir=cache_dir, progress=progress)
    return summarize_point(mp, rhm_discrete_exact(**common, n_exact=n_exact), seed)


# --------------------------------------------------------------------------------------
# labels of the points (verdicts and figure)
# --------------------------------------------------------------------------------------
def point_label(p: dict) -> str:
    """Label of one point of :func:`summarize_point`: ``"<process>, v=.. m=.. s=.. L=.."``."""
    return f"{p['process']}, v={p['v']} m={p['m']} s={p['s']} L={p['L']}"


def group_label(p: dict) -> str:
    """Label of the grammar and process of a point (its depth left out): ``"<process>, v=.. m=.. s=.."``."""
    return f"{p['process']}, v={p['v']} m={p['m']} s={p['s']}"


def group_points(points: list) -> list:
    """The points grouped by grammar and process (same ``process, v, m, s``), each sorted by depth."""
    out = {}
    for p in points:
        out.setdefault(group_label(p), []).append(p)
    return [sorted(g, key=lambda p: p["L"]) for g in out.values()]
