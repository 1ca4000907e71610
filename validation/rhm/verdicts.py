r"""The verdicts of ``rhm_discrete`` (:mod:`diffphase.validation.rhm`): :func:`run_rhm_discrete`
runs the sweep of :mod:`~diffphase.validation.rhm.protocol` and judges, with
:data:`~diffphase.validation.rhm.tolerances.TOLERANCES`, the preconditions (rules learned, no
copies), the sampler check, the class transition of the trained models, and per grammar the
slope ratio, the sharpening with depth and the level-by-level learning.
"""

from __future__ import annotations

import math

import numpy as np

from .configs import merged_train
from .figure import plot_rhm_discrete
from .protocol import group_label, group_points, point_label, rhm_discrete_item, summarize_point
from .slopes import sharpening
from .tolerances import LEVEL_Z, SLOPE_WINDOW, TOLERANCES

__all__ = ["run_rhm_discrete"]


def run_rhm_discrete(config: dict, ctx):
    r"""``rhm_discrete``: every run of ``config["runs"]`` (one RHM depth each, its trained half
    :func:`rhm_discrete_model` and exact half :func:`rhm_discrete_exact` as separate sweep
    items, the deepest trained model first), then the verdicts with :data:`TOLERANCES`."""
    from ..engine.executor import spawn_seeds
    from ..engine.verdicts import ExperimentResult, Verdict

    runs = [dict(r) for r in config["runs"]]
    seeds = [sd % (2**31 - 1) for sd in spawn_seeds(int(config["seed"]), len(runs))]
    names = [f"{r['process']}-v{r['v']}-m{r['m']}-L{r['L']}" for r in runs]
    base = {"process", "v", "m", "s", "L", "rules_seed"}
    items, stage = [], []
    for i in sorted(range(len(runs)), key=lambda i: -runs[i]["L"]):
        r = runs[i]
        items.append(dict({k: r[k] for k in base}, task="model", n_train=r["n_train"], train=merged_train(config, r),
                          noises=config["noises"], n_fb=config["n_fb"], n_gen=config["n_gen"],
                          n_snap=config["n_snap"], snapshots=config["snapshots"], seed=seeds[i], device=ctx.device,
                          cache_dir=str(ctx.cache_dir), progress=ctx.progress and ctx.executor == "serial"))
        stage.append((i, "model"))
    critical = set()  # the mean-field critical noise, once per grammar (it does not depend on L)
    for i in sorted(range(len(runs)), key=lambda i: runs[i]["L"]):
        r = runs[i]
        g = (r["process"], r["v"], r["m"], r["s"])
        items.append(dict({k: r[k] for k in base}, task="exact", noises=config["noises"], n_fb=config["n_fb"],
                          n_exact=config["n_exact"], seed=seeds[i], critical=g not in critical))
        critical.add(g)
        stage.append((i, "exact"))
    outs = ctx.sweep([f"{names[i]}-{t}" for i, t in stage], rhm_discrete_item, items)
    parts = {key: out for key, out in zip(stage, outs)}
    points = [summarize_point(parts[(i, "model")], parts[(i, "exact")], seeds[i]) for i in range(len(runs))]
    points.sort(key=lambda p: (group_label(p), p["L"]))
    for group in group_points(points):
        eps_mf = next((p["eps_mf"] for p in group if math.isfinite(p["eps_mf"])), math.nan)
        for p in group:
            p["eps_mf"] = eps_mf
    tol = TOLERANCES
    verdicts = []

    def keys(p):
        return [f"valid {point_label(p)}", f"copies {point_label(p)}"]

    for p in points:
        lab = point_label(p)
        lv = p["gen_levels"]
        verdicts.append(Verdict.check(
            f"generated samples obeying the rules at every level ({lab})", p["gen_valid"], None, tol["valid"],
            "min", stderr=p["gen_valid_se"], kind="precondition", key=f"valid {lab}",
            source="the transition, sharpening and level-by-level claims are tested on a model that has learned "
                   "the rules of every level by the end of its training",
            note=f"{config['n_gen']} samples of the final model; valid up to height h = 1..{p['L']} (from the leaves): "
                 + ", ".join(f"{x:.3f}" for x in lv["samples"]) + "; tuple validity q_h: "
                 + ", ".join(f"{x:.3f}" for x in lv["tuples"])))
        verdicts.append(Verdict.check(
            f"generated samples equal to a training datum ({lab})", p["gen_copies"], None, tol["copies"], "max",
            stderr=p["gen_copies_se"], kind="precondition", key=f"copies {lab}",
            source="the claims concern a model that generates new data rather than copies of its training set",
            note=f"perfect generator: n_train/P_max = {p['copies_perfect']:.2g}; n_train = {p['n_train']} "
                 f"= {p['n_train'] / p['n_c_m_L']:.0f} n_c m^L"))
        verdicts.append(Verdict.check(
            f"class transition, exact BP marginals through the sampler vs exact BP ({lab})", p["eps_half_oracle"],
            p["eps_half_exact"], tol["sampler"], "rel", stderr=p["eps_half_oracle_se"], unit="noise level",
            kind="reference", source="exact BP marginals run through the reverse sampler of validation.rhm "
                                     "against exact belief propagation (numerics.rhm.class_curves)",
            note="checks the reverse process and the protocol with the Bayes-optimal denoiser"))
        verdicts.append(Verdict.check(
            f"class transition, trained model vs exact BP ({lab})", p["eps_half_model"], p["eps_half_exact"],
            tol["transition"], "rel", stderr=p["eps_half_model_se"], unit="noise level", kind="claim",
            source="sclocchi.threshold", requires=keys(p),
            note=f"crossing of P_root = (1 + 1/v)/2 = {p['level']:.4f}; exact BP {p['eps_half_exact']:.4f} ± "
                 f"{p['eps_half_exact_se']:.2g}; mean-field critical noise (L = inf, [recon]) {p['eps_mf']:.4f}"))
    sharp = {}
    for group in group_points(points):
        verdicts += _depth_verdicts(group, keys, sharp)
    main = max(group_points(points), key=len)  # the grammar with the most depths: the slope panel
    fig = plot_rhm_discrete(points, main, sharp.get(group_label(main[-1])), ctx.figure_path())
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts,
                            numbers={"points": points, "sharpening": sharp}, figures=[fig.name])


def _depth_verdicts(group: list, keys, sharp: dict) -> list:
    """Verdicts on the depth dependence of one grammar (points sorted by ``L``): the slope ratio
    and the level-by-level learning at the deepest hierarchy, the sharpening from the
    shallowest to the deepest (stored in ``sharp`` under the group's label)."""
    from ..engine.verdicts import Verdict

    tol = TOLERANCES
    verdicts = []
    shallow, deep = group[0], group[-1]
    lab = point_label(deep)
    # root sharp, leaves smooth: at the deepest hierarchy
    others = "; ".join(f"L = {p['L']}: exact BP {p['slope_ratio_exact']:.3f} ± {p['slope_ratio_exact_se']:.2g}, "
                       f"trained {p['slope_ratio_model']:.3f} ± {p['slope_ratio_model_se']:.2g}" for p in group[:-1])
    for name, who, req in (("exact", "exact BP", []), ("model", "trained model", keys(deep))):
        verdicts.append(Verdict.check(
            f"root sharp, leaves smooth: slope ratio at the transition, {who} ({lab})", deep[f"slope_ratio_{name}"],
            None, tol["slope_ratio"], "min", stderr=deep[f"slope_ratio_{name}_se"], kind="claim",
            source="sclocchi.class_transition", requires=req,
            note=f"|dP_root/deps| / |dP_leaves/deps| over ±{SLOPE_WINDOW} around the crossing, judged at the deepest "
                 f"hierarchy; reported, not judged, at shallower ones ({others or 'none'})"))
    # sharpening with depth
    if len(group) >= 2:
        x = np.asarray(deep["noises"])
        sharp[group_label(deep)] = {}
        for name, who in (("exact", "exact BP"), ("model", "trained models")):
            sh = sharpening(x, (shallow[name]["p"], shallow[name]["stderr"]), (deep[name]["p"], deep[name]["stderr"]),
                            shallow[f"eps_half_{name}"], deep[f"eps_half_{name}"])
            sharp[group_label(deep)][name] = sh
            req = [] if name == "exact" else keys(shallow) + keys(deep)
            span = f"{group_label(deep)}, L = {shallow['L']} -> {deep['L']}"
            verdicts.append(Verdict.check(
                f"class transition sharpens with depth: root-slope growth, {who} ({span})", sh["root_growth"], None,
                tol["sharpen_root"], "min", stderr=sh["root_growth_se"], kind="claim", source="sclocchi.sharpening",
                requires=req,
                note=f"|dP_root/deps| at each crossing: {sh['root_shallow']:.3f} ± {sh['root_shallow_se']:.2g} -> "
                     f"{sh['root_deep']:.3f} ± {sh['root_deep_se']:.2g}"))
            verdicts.append(Verdict.check(
                f"leaves do not sharpen: leaf-slope growth at the same noise level, {who} ({span})", sh["leaf_growth"],
                None, tol["sharpen_leaf"], "max", stderr=sh["leaf_growth_se"], kind="claim",
                source="sclocchi.sharpening", requires=req,
                note=f"|dP_leaves/deps| at eps = {sh['eps_leaf']:.3f} (the deeper crossing): "
                     f"{sh['leaf_shallow']:.3f} ± "
                     f"{sh['leaf_shallow_se']:.2g} -> {sh['leaf_deep']:.3f} ± {sh['leaf_deep_se']:.2g}"))
    # level by level (deepest trained model)
    lt = deep["learning"]
    tau = ", ".join(f"{t:.3f}" for t in lt["tau"])
    snaps = ", ".join(str(k) for k in deep["snapshot_steps"])
    verdicts.append(Verdict.check(
        f"rules learned from the leaves up: top-level minus bottom-level learning time, trained model ({lab})",
        lt["gap"], None, tol["level_gap"], "min", stderr=lt["gap_se"], kind="claim", source="favero.level_by_level",
        requires=keys(deep),
        note=f"tau_h = tuple error 1 - q_h averaged over the snapshots after steps {snaps}; "
             f"tau_h for h = 1..{deep['L']} "
             f"from the leaves: {tau}"))
    verdicts.append(Verdict.check(
        f"rules learned from the leaves up: adjacent levels learned in reverse order, trained model ({lab})",
        lt["inversions"], None, tol["level_inversions"], "max", kind="claim", source="favero.level_by_level",
        requires=keys(deep),
        note=f"pairs (h, h+1) with tau_(h+1) < tau_h by more than {LEVEL_Z:g} combined s.e.; tau_h: {tau}"))
    return verdicts
