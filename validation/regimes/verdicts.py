r"""The verdicts of :mod:`diffphase.validation.regimes`: the ``run`` functions of the
experiments, which sweep the measurements of :mod:`~diffphase.validation.regimes.protocol`,
judge them with :data:`~diffphase.validation.regimes.tolerances.TOLERANCES` and draw the
figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from diffphase.numerics.checks import check_int

from .configs import per_size_steps
from .figure import plot_collapse, plot_phi_panels
from .protocol import collapse_images_point, collapse_point, speciation_gm_point, speciation_images_point
from .tolerances import PHI_LEVEL, TOLERANCES

if TYPE_CHECKING:
    from ..engine.verdicts import ExperimentResult

__all__ = ["run_speciation_gm", "run_speciation_images", "run_collapse", "run_collapse_images"]


def _grid_note(g: dict) -> str:
    """``"grid: ...; discretization bias of the agreement ..."`` for a verdict's note."""
    s = g["settings"]
    b, bse, se = (np.asarray(g[k], dtype=np.float64) for k in ("bias", "bias_se", "stderr"))
    j = int(np.argmax(np.abs(b)))
    return (f"grid: {s['n_steps']} {s['grid']} steps of the {s['method']} integrator from t = {s['t_max']:g} to "
            f"{s['t_end']:g}; estimated discretization bias of the agreement (coarse-grid difference, same noise) "
            f"at most {b[j]:+.4f} ± {bse[j]:.4f} against a binomial error of {se[j]:.4f}"
            f"{'' if g['within_error_bar'] else ' (NOT within the error bar)'}")


def run_speciation_gm(config: dict, ctx) -> "ExperimentResult":
    r"""``speciation_gm``: trained-model speciation on the two-class mixture for every ``d`` in
    ``config["dims"]`` (:func:`speciation_gm_point`), verdicts with :data:`TOLERANCES`."""
    from ..engine.executor import spawn_seeds
    from ..engine.verdicts import ExperimentResult, Verdict

    dims = [int(d) for d in config["dims"]]
    seeds = spawn_seeds(int(config["seed"]), len(dims))
    common = {k: config[k] for k in ("n_train", "mu", "sigma", "train", "n_pairs", "exact_pairs", "branch", "clones")}
    items = [dict(common, d=d, seed=s % (2**31 - 1), device=ctx.device, cache_dir=str(ctx.cache_dir),
                  progress=ctx.progress and ctx.executor == "serial") for d, s in zip(dims, seeds)]
    points = ctx.sweep([f"d{d}" for d in dims], speciation_gm_point, items)
    tol = TOLERANCES
    verdicts = []
    for p in points:
        d = p["d"]
        verdicts.append(Verdict.check(
            f"t_S of trained-model clones vs 1/2 log Lambda, d={d}", p["t_model"], p["t_S"],
            tol["speciation_gm.t_S"], "rel", stderr=p["t_model_se"], unit="OU time", kind="claim",
            source="biroli.speciation",
            note=f"phi = {PHI_LEVEL} crossing of {config['n_pairs']} clone pairs; exact finite-d crossing "
                 f"t_quad = {p['t_quad']:.4f}; {_grid_note(p['grid_model'])}"))
        verdicts.append(Verdict.check(
            f"t_S of exact-score clones vs 1/2 log Lambda, d={d}", p["t_exact"], p["t_S"],
            tol["speciation_gm.exact"], "rel", stderr=p["t_exact_se"], unit="OU time", kind="reference",
            source="clones driven by the exact mixture score (numerics.gaussian_mixture.GaussianMixture.score) "
                   "through the sampler and cloning protocol of numerics.sde, against the theory's t_S",
            note=f"{config['exact_pairs']} pairs with the exact mixture score (exact reference); "
                 f"{_grid_note(p['grid_exact'])}"))
        band = float(np.max(np.abs(np.asarray(p["phi_model"]) - np.asarray(p["phi_quad"]))))
        verdicts.append(Verdict.check(
            f"max |phi_model - phi_quadrature| over branch times, d={d}", band, None,
            tol["speciation_gm.band"], "max", kind="claim", source="biroli.phi_curve",
            note="trained model inside a band around the theory"))
    fig = plot_phi_panels([dict(p, label=f"d={p['d']}") for p in points], ctx.figure_path(),
                           "Speciation, two-class mixture")
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts,
                            numbers={"points": points}, figures=[fig.name])


def run_speciation_images(config: dict, ctx) -> "ExperimentResult":
    r"""``speciation_digits`` / ``speciation_fashion``: crossing of :math:`\phi = 0.775` by
    trained-model clones vs :math:`\tfrac12\log\Lambda` for every class pair in
    ``config["pairs"]`` (:func:`speciation_images_point`)."""
    from ..engine.executor import spawn_seeds
    from ..engine.verdicts import ExperimentResult, Verdict

    pairs = [list(map(int, p)) for p in config["pairs"]]
    seeds = spawn_seeds(int(config["seed"]), len(pairs))
    common = {k: config[k] for k in ("dataset", "limit_per_class", "train", "classifier", "n_pairs", "branch",
                                     "clones")}
    common.update(pool=int(config.get("pool", 1)), exact_pairs=int(config.get("exact_pairs", 0)))
    if config.get("classifier_candidates"):  # absent otherwise: the items (and their stored results) stay as before
        common.update(classifier_candidates=[dict(c) for c in config["classifier_candidates"]],
                      classifier_folds=check_int("classifier_folds", config.get("classifier_folds", 5), minimum=2))
    items = [dict(common, pair=p, seed=s % (2**31 - 1), device=ctx.device, cache_dir=str(ctx.cache_dir),
                  progress=ctx.progress and ctx.executor == "serial") for p, s in zip(pairs, seeds)]
    fixed = [dict(c) for c in config.get("pair_classifiers", ())]
    if fixed:  # absent otherwise: the items (and their stored results) stay as before
        if len(fixed) != len(pairs):
            raise ValueError(f"pair_classifiers must have one entry per pair ({len(pairs)}), got {len(fixed)}")
        if config.get("classifier_candidates"):
            raise ValueError("give classifier_candidates or pair_classifiers, not both")
        for item, override in zip(items, fixed):
            item["classifier_override"] = override
    points = ctx.sweep([f"pair{a}-{b}" for a, b in pairs], speciation_images_point, items)
    verdicts = []
    for p in points:
        pair = f"{config['dataset']} {p['pair'][0]} vs {p['pair'][1]}"
        verdicts.append(Verdict.check(
            f"held-out accuracy of the classifier that labels the clone ends, {pair}", p["classifier_accuracy"],
            None, TOLERANCES["speciation_images.classifier"], "min", kind="precondition", key=f"classifier {pair}",
            source="the clone agreement φ is read through this classifier; below 0.98 its errors bias φ near "
                   "0.775 by more than 0.02 (biroli.speciation)", note=_selection_note(p, config)))
        shape = f"{p['d']} pixels" + (f" ({p['pool']}x{p['pool']} block means)" if p.get("pool", 1) > 1 else "")
        exact = "" if "t_exact" not in p else (
            f"; exact empirical-score clones cross at {p['t_exact']:.4f} ± {p['t_exact_se']:.2g} "
            f"(model - empirical = {p['t_model'] - p['t_exact']:+.4f})")
        verdicts.append(Verdict.check(
            f"t_S of trained-model clones vs 1/2 log Lambda, {pair}",
            p["t_model"], p["t_S"], TOLERANCES["speciation_images.t_S"], "rel", stderr=p["t_model_se"],
            unit="OU time", kind="claim", source="biroli.speciation", requires=[f"classifier {pair}"],
            note=f"Lambda = {p['Lambda']:.4g} (top eigenvalue of the normalized pair's covariance, n = {p['n']}, "
                 f"{shape}); clone ends labelled by a classifier with test accuracy "
                 f"{p['classifier_accuracy']:.3f}{exact}; {_grid_note(p['grid_model'])}"))
        if "t_exact" in p:
            verdicts.append(Verdict.check(
                f"t_S of exact empirical-score clones vs 1/2 log Lambda, {pair}",
                p["t_exact"], p["t_S"], TOLERANCES["speciation_images.t_S"], "rel", stderr=p["t_exact_se"],
                unit="OU time", kind="claim", source="biroli.speciation", requires=[f"classifier {pair}"],
                note=f"{p['exact_pairs']} clone pairs driven by the exact score of the empirical distribution of "
                     f"the pair's n = {p['n']} images (numerics.empirical.EmpiricalScore; no network): the claim "
                     f"tested on the data itself; {_grid_note(p['grid_exact'])}"))
    fig = plot_phi_panels([dict(p, label=f"{config['dataset']} {p['pair'][0]} vs {p['pair'][1]}") for p in points],
                           ctx.figure_path(), f"Speciation, {config['dataset']} class pairs")
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts,
                            numbers={"points": points}, figures=[fig.name])


def _selection_note(p: dict, config: dict | None = None) -> str:
    """How the classifier of a speciation point was configured (empty when simply as given)."""
    sel = p.get("classifier_selection")
    if "classifier_override" in p:
        source = (config or {}).get("pair_classifiers_source", "")
        fixed = f"configuration fixed for this pair: {p['classifier_override'] or 'base'}"
        return fixed + (f", {source}" if source else "")
    if not sel:
        return ""
    cands = ", ".join(f"{c or 'base'}: {a:.4f}" for c, a in zip(sel["candidates"], sel["cv_accuracy"]))
    return (f"configuration chosen by {sel['folds']}-fold cross-validation on the training 80 % only "
            f"(mean validation accuracy {cands}; chosen {sel['candidates'][sel['chosen']] or 'base'}); the "
            f"held-out 20 % measured here took no part in the choice")


def _collapse_verdicts(p: dict, config: dict, label: str = "") -> list:
    """The three verdicts of one collapse measurement (:func:`collapse_point` or
    :func:`collapse_images_point`); ``label`` (e.g. ``", mnist n=64"``) ends every name and key."""
    from ..engine.verdicts import Verdict

    tol = TOLERANCES
    formula = "" if not np.isfinite(p["t_C_theory"]) else f"; large-d formula {p['t_C_theory']:.4f}"
    key = f"memorizing{label}"
    return [
        Verdict.check(f"phi_C = 1/2 crossing, exact empirical-score clones vs t_C (excess entropy){label}",
                      p["t_exact"], p["t_C"], tol["collapse.exact"], "rel", stderr=p["t_exact_se"], unit="OU time",
                      kind="claim", source="biroli.collapse",
                      note=f"t_C = {p['t_C']:.4f} ± {p['t_C_se']:.2g} from the leave-one-out excess entropy"
                           f"{formula}; {_grid_note(p['grid_exact'])}"),
        Verdict.check(f"phi_C = 1/2 crossing, trained model vs exact empirical-score dynamics{label}", p["t_model"],
                      p["t_exact"], tol["collapse.model"], "rel", stderr=p["t_model_se"], unit="OU time",
                      kind="claim", source="biroli.collapse", requires=[key],
                      note=_grid_note(p["grid_model"])),
        Verdict.check(f"fraction of trained-model samples within delta of a training point{label}",
                      p["memorized"]["model"]["fraction"], None, tol["collapse.memorized"], "min",
                      stderr=p["memorized"]["model"]["stderr"], kind="precondition", key=key,
                      source="the collapse claim concerns a model that memorizes its training set: at this n "
                             "(t_C well above the smallest training time) most samples must end on a "
                             "training point",
                      note=f"delta = {config['delta_fraction']} x median nearest-neighbour distance "
                           f"= {p['delta']:.3g}; exact empirical score: "
                           f"{p['memorized']['empirical']['fraction']:.3f}"),
    ]


def run_collapse(config: dict, ctx) -> "ExperimentResult":
    r"""``collapse``: trained-model collapse on a small training set (:func:`collapse_point`)
    with verdicts from :data:`TOLERANCES`."""
    from ..engine.verdicts import ExperimentResult

    kw = {k: config[k] for k in ("d", "n_train", "mu", "sigma", "train", "n_pairs", "branch", "clones", "n_samples",
                                 "delta_fraction", "entropy_samples")}
    p = ctx.stage("point", collapse_point, **kw, seed=int(config["seed"]), device=ctx.device,
                  cache_dir=str(ctx.cache_dir), progress=ctx.progress)
    verdicts = _collapse_verdicts(p, config)
    fig = plot_collapse(p, ctx.figure_path())
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers={"point": p},
                            figures=[fig.name])


def run_collapse_images(config: dict, ctx) -> "ExperimentResult":
    r"""``collapse_images``: collapse on small sets of real images, one sweep item per training-set
    size (:func:`collapse_images_point`), the verdicts of ``collapse`` at each size and one figure
    per size."""
    from ..engine.executor import spawn_seeds
    from ..engine.verdicts import ExperimentResult

    sizes = [int(n) for n in config["sizes"]]
    seeds = spawn_seeds(int(config["seed"]), len(sizes))
    common = {k: config[k] for k in ("dataset", "pool", "train", "n_pairs", "branch", "clones", "n_samples",
                                     "delta_fraction", "entropy_samples")}
    steps = per_size_steps(config)
    items = [dict(common, n_train=n, seed=sd % (2**31 - 1), device=ctx.device, cache_dir=str(ctx.cache_dir),
                  progress=ctx.progress and ctx.executor == "serial", train=dict(config["train"], steps=st))
             for n, sd, st in zip(sizes, seeds, steps)]
    points = ctx.sweep([f"n{n}" for n in sizes], collapse_images_point, items)
    verdicts, figures = [], []
    for p in points:
        verdicts += _collapse_verdicts(p, config, f", {config['dataset']} n={p['n_train']}")
        figures.append(plot_collapse(p, ctx.figure_path(f"_n{p['n_train']}")).name)
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers={"points": points},
                            figures=figures)
