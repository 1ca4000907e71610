r"""Dynamical regimes of diffusion (speciation and collapse) measured on trained DDPMs.

The experiments of Biroli, Bonnaire, de Bortoli & Mézard (arXiv 2402.18491; Nat. Commun. 15,
9957, 2024) run by ``diffphase validate``, each set beside its theory and its exact reference:

``speciation_gm``
    Two-class Gaussian mixture, several ``d``: clone agreement :math:`\phi(t)` of a trained
    MLP denoiser, of the exact score, and from quadrature; the trained model's
    :math:`\phi = 0.775` crossing vs :math:`t_S = \tfrac12\log\Lambda`, :math:`\Lambda =
    \tilde\mu^2 d + \sigma^2`.
``speciation_digits`` / ``speciation_fashion``
    Two classes of scikit-learn digits (of Fashion-MNIST, when installed): a denoiser and a
    classifier trained on the normalized pair; the crossing vs :math:`\tfrac12\log\Lambda`
    with :math:`\Lambda` the top eigenvalue of the pair's covariance. Two classes because the
    paper's level 0.775 is the two-class value (:math:`\phi` from 1/2 to 1).
``collapse``
    A small training set (memorizing regime): the collapse agreement :math:`\phi_C(t)` (both
    clones end nearest the same training point) and the memorized fraction of a trained
    model, beside the exact empirical-score dynamics and :math:`t_C` from the empirical excess
    entropy.

All times are OU times (:mod:`diffphase.numerics.conventions`). The tolerances of every
verdict are the module-level :data:`TOLERANCES`, fixed before measuring. The theory summary
and figure of ``diffphase theory gm`` (:func:`theory_summary`, :func:`plot_theory_curves`)
live here too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from diffphase.numerics import gaussian_mixture as gm

from .engine.experiment import Experiment, denoiser_cost, sum_costs
from .engine.io import save_figure

__all__ = [
    "theory_summary",
    "plot_theory_curves",
    "TOLERANCES",
    "PHI_LEVEL",
    "EXPERIMENTS",
    "speciation_gm_point",
    "speciation_images_point",
    "collapse_point",
    "run_speciation_gm",
    "run_speciation_images",
    "run_collapse",
    "cost_speciation_gm",
    "cost_speciation_images",
    "cost_collapse",
]


def theory_summary(d: int = 1024, n: int = 20000, mu: float = 1.0, sigma: float = 1.0) -> dict:
    r"""Critical quantities of the two-class mixture with ``n`` training points.

    Returns a dict with :math:`\Lambda = \tilde\mu^2d+\sigma^2`, :math:`t_S = \tfrac12\log\Lambda`,
    the instability time :math:`t_U` of the overlap potential, :math:`\phi(t_S)`,
    :math:`\alpha = \log n/d`, :math:`t_C = \tfrac12\log(1+\sigma^2/(e^{2\alpha}-1))` and the
    critical load at :math:`t_S`, :math:`\alpha_c(t_S)` (all OU time).

    Examples
    --------
    >>> s = theory_summary(d=1024, n=20000)
    >>> round(s["t_S"], 4), round(s["t_C"], 4)
    (3.4662, 1.9775)
    """
    t_s = gm.speciation_time(d, mu, sigma)
    out = {
        "d": d,
        "n": n,
        "mu": float(mu),
        "sigma": float(sigma),
        "Lambda": mu * mu * d + sigma * sigma,
        "t_S": t_s,
        "alpha": math.log(n) / d,
        "t_C": gm.collapse_time(n, d, sigma),
    }
    if mu > 0:
        out["t_U"] = gm.instability_time(d, mu, sigma)
    if t_s >= 0:
        out["phi(t_S)"] = float(gm.clone_agreement(t_s, d, mu, sigma))
        out["alpha_c(t_S)"] = float(gm.critical_load(t_s, sigma)) if t_s > 0 else math.inf
    return out


def plot_theory_curves(d: int = 1024, n: int = 20000, mu: float = 1.0, sigma: float = 1.0,
                       path: str | Path = "gm_regimes.png") -> Path:
    r"""Write a PNG with :math:`\phi(t)` (left) and :math:`f(t)/\alpha` (right, uncondensed
    branch dashed, physical :math:`\max(f,0)` solid), :math:`t_S` and :math:`t_C` marked.

    The file is written atomically (:func:`~diffphase.validation.report.save_figure`).
    Returns the path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = theory_summary(d, n, mu, sigma)
    t_s, t_c, alpha = s["t_S"], s["t_C"], s["alpha"]
    t_hi = max(2.0 * max(t_s, t_c), 1.0)
    t = np.linspace(1e-3, t_hi, 400)
    phi = gm.clone_agreement(t, d, mu, sigma)
    f = gm.excess_entropy(t, n, d, sigma)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(t, phi, color="C0", label=r"$\phi(t)$ (quadrature)")
    a1.axhline(0.775, color="gray", ls=":", lw=1, label=r"$\phi = 0.775$")
    a1.axvline(t_s, color="C3", ls="--", label=rf"$t_S = {t_s:.3f}$")
    a1.axvline(t_c, color="C2", ls="--", label=rf"$t_C = {t_c:.3f}$")
    a1.set_xlabel("OU time $t$")
    a1.set_ylabel(r"clone agreement $\phi$")
    a1.set_title(rf"speciation, $d={d}$, $\tilde\mu={mu:g}$, $\sigma={sigma:g}$")
    a1.legend(fontsize=8)
    a2.plot(t, np.maximum(f, 0) / alpha, color="C1", label=r"$\max(f,0)/\alpha$")
    a2.plot(t, f / alpha, color="C1", ls="--", lw=1, label=r"uncondensed branch $f/\alpha$")
    a2.axvline(t_c, color="C2", ls="--", label=rf"$t_C = {t_c:.3f}$")
    a2.axvline(t_s, color="C3", ls="--", label=rf"$t_S = {t_s:.3f}$")
    a2.set_ylim(-1.0, 1.1)
    a2.set_xlabel("OU time $t$")
    a2.set_ylabel(r"excess entropy $f(t)/\alpha$")
    a2.set_title(rf"collapse, $n={n}$, $\alpha=\log n/d={alpha:.4f}$")
    a2.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


# ======================================================================================
# experiments of ``diffphase validate``
# ======================================================================================
#: Tolerances of the verdicts, fixed before measuring (the rule of each is in
#: :class:`~diffphase.validation.report.Verdict`):
#:
#: ``speciation_gm.t_S``  (rel) trained-model crossing of :math:`\phi=0.775` vs
#:     :math:`\tfrac12\log\Lambda`. At :math:`d\ge 32` the exact finite-``d`` crossing is within
#:     1 % of it; the rest is model error and the crossing's statistical error (~2 %).
#: ``speciation_gm.exact``  (rel) the same crossing for clones driven by the exact score: a
#:     check of the cloning protocol and sampler (3.5 standard errors at 2000 pairs).
#: ``speciation_gm.band``  (max) :math:`\max_t|\phi_{model}(t)-\phi_{quad}(t)|` over the
#:     branching times: 4 binomial standard errors at 1000 pairs (:math:`\phi\approx0.75`)
#:     plus 0.02 of model error.
#: ``speciation_images.t_S``  (rel) crossing vs :math:`\tfrac12\log\Lambda` on real image
#:     pairs: the prediction is asymptotic (large ``d``, one dominant direction), so 20 %.
#: ``speciation_images.classifier``  (min, precondition) held-out accuracy :math:`a` of the
#:     classifier that labels the clone ends. Two independent labels agree with probability
#:     :math:`\phi(a^2+(1-a)^2) + (1-\phi)\,2a(1-a)`: at :math:`\phi = 0.775` an accuracy of
#:     0.98 lowers the measured agreement by 0.02 (0.95 by 0.05), so below 0.98 the classifier,
#:     not the model, moves the crossing.
#: ``collapse.exact``  (rel) the ½-crossing of :math:`\phi_C` of the exact empirical-score
#:     dynamics vs :math:`t_C` of the empirical excess entropy: the condensation is smeared
#:     over a finite-``d`` window, 25 %.
#: ``collapse.model``  (rel) the ½-crossing of :math:`\phi_C` of the trained model vs that of
#:     the empirical-score dynamics, 25 %.
#: ``collapse.memorized``  (min) fraction of trained-model samples within :math:`\delta` of a
#:     training point in the memorizing regime (:math:`t_C` well above the smallest training
#:     time), at least one half.
TOLERANCES = {
    "speciation_gm.t_S": 0.10,
    "speciation_gm.exact": 0.05,
    "speciation_gm.band": 0.08,
    "speciation_images.t_S": 0.20,
    "speciation_images.classifier": 0.98,
    "collapse.exact": 0.25,
    "collapse.model": 0.25,
    "collapse.memorized": 0.5,
}

#: The clone-agreement level at which the paper reads :math:`t_S` off measured curves.
PHI_LEVEL = 0.775


def _train_denoiser(ds, train_cfg: dict, seed: int, device, cache_dir, progress: bool, desc: str):
    from .train import TrainConfig, train

    cfg = TrainConfig(**{**train_cfg, "seed": int(seed)})
    model, hist = train(cfg, ds, device=device, cache_dir=cache_dir, progress=progress, desc=desc)
    return model, hist


def _clone_settings(cfg: dict) -> dict:
    return {"t_max": float(cfg["t_max"]), "t_end": float(cfg["t_end"]), "n_steps": int(cfg["n_steps"]),
            "grid": cfg["grid"], "batch_pairs": int(cfg["batch_pairs"])}


def _gaussian_init(d: int):
    def x_init(n, rng):
        return rng.standard_normal((n, d)).astype(np.float32)
    return x_init


def _grid_error(res) -> dict:
    """The clone grid and its discretization-error estimate (:attr:`CloneResult.bias`, the same
    pairs on a grid twice as coarse with the same Brownian path), for the numbers and notes."""
    return {"settings": dict(res.settings), "bias": res.bias["label"], "bias_se": res.bias_stderr["label"],
            "stderr": res.stderr["label"], "within_error_bar": bool(res.bias_within(1.0))}


def _grid_note(g: dict) -> str:
    """``"grid: ...; discretization bias of the agreement ..."`` for a verdict's note."""
    s = g["settings"]
    b, bse, se = (np.asarray(g[k], dtype=np.float64) for k in ("bias", "bias_se", "stderr"))
    j = int(np.argmax(np.abs(b)))
    return (f"grid: {s['n_steps']} {s['grid']} steps of the {s['method']} integrator from t = {s['t_max']:g} to "
            f"{s['t_end']:g}; estimated discretization bias of the agreement (coarse-grid difference, same noise) "
            f"at most {b[j]:+.4f} ± {bse[j]:.4f} against a binomial error of {se[j]:.4f}"
            f"{'' if g['within_error_bar'] else ' (NOT within the error bar)'}")


def _crossing(times, agreement, stderr, level, seed) -> tuple[float, float]:
    from diffphase.numerics.curves import crossing_time_stderr

    try:
        return crossing_time_stderr(times, agreement, stderr, level, seed=seed)
    except ValueError:  # no crossing inside the branching grid: reported, and the verdict fails
        return math.nan, math.nan


def _quadrature_crossing(d: int, mu: float, sigma: float, level: float = PHI_LEVEL) -> float:
    from scipy.optimize import brentq

    t_s = gm.speciation_time(d, mu, sigma)
    hi = max(4.0 * t_s, 1.0)
    return float(brentq(lambda t: float(gm.clone_agreement(t, d, mu, sigma)) - level, 1e-6, hi, xtol=1e-12))


def speciation_gm_point(*, d: int, n_train: int, mu: float, sigma: float, train: dict, n_pairs: int,
                        exact_pairs: int, branch: list, clones: dict, seed: int, device: str, cache_dir: str,
                        progress: bool = False) -> dict:
    r"""One dimension of the ``speciation_gm`` experiment (a sweep item; module-level so that
    it pickles for process pools and Dask).

    Trains an MLP denoiser on ``n_train`` samples of the two-class mixture
    (:func:`~diffphase.validation.data.two_class_mixture`), then runs the cloning protocol
    (:func:`~diffphase.numerics.sde.clone_agreement_simulation`) with the trained score and
    with the exact score at branching times ``branch`` × :math:`t_S`, labelling ends by the
    sign of :math:`x\cdot m`; evaluates :math:`\phi(t)` by quadrature
    (:func:`~diffphase.numerics.gaussian_mixture.clone_agreement`) at the same times and on a
    fine grid. OU time throughout.

    Returns
    -------
    dict
        ``t_S`` (:math:`\tfrac12\log\Lambda`), ``t_quad`` (exact finite-``d`` crossing),
        ``branch_times``, ``phi_model``/``se_model``, ``phi_exact``/``se_exact``, ``phi_quad``,
        the crossings with bootstrap errors, the final training loss and a fine theory curve.
    """
    from diffphase.numerics import sde

    from .data import two_class_mixture
    from .models import score_function

    ds = two_class_mixture(n_train, d, mu=mu, sigma=sigma, seed=seed)
    model, hist = _train_denoiser(ds, train, seed, device, cache_dir, progress, f"gm d={d}")
    score = score_function(model, device=device)
    m = np.asarray(ds.meta["m"], dtype=np.float64)
    t_s = gm.speciation_time(d, mu, sigma)
    bt = t_s * np.asarray(branch, dtype=np.float64)

    def classify(x):
        return (np.asarray(x, dtype=np.float64) @ m > 0).astype(np.int64)

    settings = _clone_settings(clones)
    res_model = sde.clone_agreement_simulation(score, _gaussian_init(d), bt, n_pairs, classify,
                                               seed=seed + 1, **settings)
    exact = gm.IsotropicMixture(np.stack([-m, m]), sigma)
    res_exact = sde.clone_agreement_simulation(exact.score, _gaussian_init(d), bt, exact_pairs, classify,
                                               seed=seed + 2, **settings)
    times = res_model.times
    phi_m, se_m = res_model.agreement["label"], res_model.stderr["label"]
    phi_e, se_e = res_exact.agreement["label"], res_exact.stderr["label"]
    t_fine = np.linspace(float(bt.min()), float(bt.max()), 200)
    t_model, t_model_se = _crossing(times, phi_m, se_m, PHI_LEVEL, seed)
    t_exact, t_exact_se = _crossing(times, phi_e, se_e, PHI_LEVEL, seed + 1)
    return {
        "d": d, "n_train": n_train, "Lambda": mu * mu * d + sigma * sigma, "t_S": t_s,
        "t_quad": _quadrature_crossing(d, mu, sigma),
        "branch_times": times, "phi_model": phi_m, "se_model": se_m, "phi_exact": phi_e, "se_exact": se_e,
        "phi_quad": gm.clone_agreement(times, d, mu, sigma),
        "t_model": t_model, "t_model_se": t_model_se, "t_exact": t_exact, "t_exact_se": t_exact_se,
        "grid_model": _grid_error(res_model), "grid_exact": _grid_error(res_exact),
        "t_fine": t_fine, "phi_fine": gm.clone_agreement(t_fine, d, mu, sigma),
        "final_loss": float(hist.smoothed()[-1]), "train_seconds": hist.seconds, "from_cache": hist.from_cache,
    }


def _plot_phi_panels(points: list, path, title: str, *, level: float = PHI_LEVEL):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(points)
    fig, axes = plt.subplots(1, k, figsize=(4.2 * k, 3.6), squeeze=False)
    for ax, p in zip(axes[0], points):
        t_s = p["t_S"]
        if "t_fine" in p:
            ax.plot(np.asarray(p["t_fine"]) / t_s, p["phi_fine"], color="k", lw=1.2, label=r"$\phi$ quadrature")
        bt = np.asarray(p["branch_times"]) / t_s
        if "phi_exact" in p:
            ax.errorbar(bt * 1.004, p["phi_exact"], yerr=3 * np.asarray(p["se_exact"]), fmt="s", ms=4, color="C2",
                        label="exact-score clones")
        ax.errorbar(bt, p["phi_model"], yerr=3 * np.asarray(p["se_model"]), fmt="o", ms=4, color="C0",
                    label="trained-model clones")
        ax.axhline(level, color="gray", ls=":", lw=1)
        ax.axvline(1.0, color="C3", ls="--", lw=1, label=r"$t_S=\frac{1}{2}\log\Lambda$")
        if math.isfinite(p.get("t_model", math.nan)):
            ax.axvline(p["t_model"] / t_s, color="C0", ls="-.", lw=1, label="measured crossing")
        ax.set_xlabel(r"$t/t_S$ (OU time)")
        ax.set_ylabel(r"$\phi(t)$")
        ax.set_title(p.get("label", f"d={p.get('d')}") + rf", $t_S={t_s:.3f}$", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(title + " (error bars: 3 s.e.)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def run_speciation_gm(config: dict, ctx) -> "ExperimentResult":
    r"""``speciation_gm``: trained-model speciation on the two-class mixture for every ``d`` in
    ``config["dims"]`` (:func:`speciation_gm_point`), verdicts with :data:`TOLERANCES`."""
    from .engine.executor import spawn_seeds
    from .engine.verdicts import ExperimentResult, Verdict

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
            source="clones driven by the exact mixture score (numerics.gaussian_mixture.IsotropicMixture.score) "
                   "through the sampler and cloning protocol of numerics.sde, against the theory's t_S",
            note=f"{config['exact_pairs']} pairs with the exact mixture score (exact reference); "
                 f"{_grid_note(p['grid_exact'])}"))
        band = float(np.max(np.abs(np.asarray(p["phi_model"]) - np.asarray(p["phi_quad"]))))
        verdicts.append(Verdict.check(
            f"max |phi_model - phi_quadrature| over branch times, d={d}", band, None,
            tol["speciation_gm.band"], "max", kind="claim", source="biroli.phi_curve",
            note="trained model inside a band around the theory"))
    fig = _plot_phi_panels([dict(p, label=f"d={p['d']}") for p in points], ctx.figure_path(),
                           "Speciation, two-class mixture")
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts,
                            numbers={"points": points}, figures=[fig.name])


def _image_dataset(name: str, seed: int):
    from . import data

    if name == "digits":
        return data.digits(seed=seed)
    if name == "fashion_mnist":
        return data.fashion_mnist(split="train", seed=seed)
    raise ValueError(f"dataset must be 'digits' or 'fashion_mnist', got {name!r}")


def speciation_images_point(*, dataset: str, pair: list, limit_per_class, train: dict, classifier: dict,
                            n_pairs: int, branch: list, clones: dict, seed: int, device: str, cache_dir: str,
                            progress: bool = False) -> dict:
    r"""One class pair of the image-speciation experiment (a sweep item).

    Keeps classes ``pair = [a, b]`` of ``dataset`` (relabelled 0/1; at most ``limit_per_class``
    images each), computes :math:`\Lambda`, the top eigenvalue of the centred covariance of the
    normalized pair (:func:`~diffphase.numerics.empirical.top_eigenvalue`), trains a classifier
    on 80 % of the pair (accuracy on the other 20 % reported) and a denoiser on all of it, and
    measures :math:`\phi(t)` by clones at ``branch`` × :math:`\tfrac12\log\Lambda`.
    """
    import torch

    from diffphase.numerics import empirical, sde

    from .classifier import ClassifierConfig, predict, train_classifier
    from .models import score_function

    ds = _image_dataset(dataset, 0)
    a, b = (int(c) for c in pair)
    keep = []
    for c in (a, b):
        idx = torch.nonzero(ds.labels == c).flatten()
        if idx.numel() == 0:
            raise ValueError(f"class {c} does not occur in {dataset}")
        keep.append(idx if limit_per_class is None else idx[: int(limit_per_class)])
    sub = ds.subset(torch.cat(keep))
    sub.labels = (sub.labels == b).long()
    X = sub.data.numpy().astype(np.float64)
    lam = empirical.top_eigenvalue(X)
    t_s = 0.5 * math.log(lam)
    tr, te = sub.split(0.2, seed=seed)
    clf, info = train_classifier(ClassifierConfig(**{**classifier, "seed": int(seed)}), tr, te, device=device,
                                 cache_dir=cache_dir, progress=progress)
    model, hist = _train_denoiser(sub, train, seed, device, cache_dir, progress, f"{dataset} {a}/{b}")
    score = score_function(model, device=device)
    bt = t_s * np.asarray(branch, dtype=np.float64)

    def classify(x):
        return predict(clf, torch.as_tensor(np.asarray(x, dtype=np.float32))).cpu().numpy()

    res = sde.clone_agreement_simulation(score, _gaussian_init(sub.dim), bt, n_pairs, classify, seed=seed + 1,
                                         **_clone_settings(clones))
    phi, se = res.agreement["label"], res.stderr["label"]
    t_model, t_model_se = _crossing(res.times, phi, se, PHI_LEVEL, seed)
    return {"dataset": dataset, "pair": [a, b], "n": len(sub), "d": sub.dim, "Lambda": lam, "t_S": t_s,
            "grid_model": _grid_error(res),
            "branch_times": res.times, "phi_model": phi, "se_model": se, "t_model": t_model,
            "t_model_se": t_model_se, "classifier_accuracy": info.test_accuracy,
            "final_loss": float(hist.smoothed()[-1]), "train_seconds": hist.seconds}


def run_speciation_images(config: dict, ctx) -> "ExperimentResult":
    r"""``speciation_digits`` / ``speciation_fashion``: crossing of :math:`\phi = 0.775` by
    trained-model clones vs :math:`\tfrac12\log\Lambda` for every class pair in
    ``config["pairs"]`` (:func:`speciation_images_point`)."""
    from .engine.executor import spawn_seeds
    from .engine.verdicts import ExperimentResult, Verdict

    pairs = [list(map(int, p)) for p in config["pairs"]]
    seeds = spawn_seeds(int(config["seed"]), len(pairs))
    common = {k: config[k] for k in ("dataset", "limit_per_class", "train", "classifier", "n_pairs", "branch",
                                     "clones")}
    items = [dict(common, pair=p, seed=s % (2**31 - 1), device=ctx.device, cache_dir=str(ctx.cache_dir),
                  progress=ctx.progress and ctx.executor == "serial") for p, s in zip(pairs, seeds)]
    points = ctx.sweep([f"pair{a}-{b}" for a, b in pairs], speciation_images_point, items)
    verdicts = []
    for p in points:
        pair = f"{config['dataset']} {p['pair'][0]} vs {p['pair'][1]}"
        verdicts.append(Verdict.check(
            f"held-out accuracy of the classifier that labels the clone ends, {pair}", p["classifier_accuracy"],
            None, TOLERANCES["speciation_images.classifier"], "min", kind="precondition", key=f"classifier {pair}",
            source="the clone agreement φ is read through this classifier; below 0.98 its errors bias φ near "
                   "0.775 by more than 0.02 (biroli.speciation)"))
        verdicts.append(Verdict.check(
            f"t_S of trained-model clones vs 1/2 log Lambda, {pair}",
            p["t_model"], p["t_S"], TOLERANCES["speciation_images.t_S"], "rel", stderr=p["t_model_se"],
            unit="OU time", kind="claim", source="biroli.speciation", requires=[f"classifier {pair}"],
            note=f"Lambda = {p['Lambda']:.4g} (top eigenvalue of the normalized pair's covariance, n = {p['n']}); "
                 f"clone ends labelled by a classifier with test accuracy {p['classifier_accuracy']:.3f}; "
                 f"{_grid_note(p['grid_model'])}"))
    fig = _plot_phi_panels([dict(p, label=f"{config['dataset']} {p['pair'][0]} vs {p['pair'][1]}") for p in points],
                           ctx.figure_path(), f"Speciation, {config['dataset']} class pairs")
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts,
                            numbers={"points": points}, figures=[fig.name])


def _fashion_missing() -> str | None:
    from . import data

    try:
        data._fashion_dir(None)
    except FileNotFoundError as exc:
        return str(exc)
    return None


def collapse_point(*, d: int, n_train: int, mu: float, sigma: float, train: dict, n_pairs: int, branch: list,
                   clones: dict, n_samples: int, delta_fraction: float, entropy_samples: int, seed: int,
                   device: str, cache_dir: str, progress: bool = False) -> dict:
    r"""The ``collapse`` experiment on ``n_train`` points of the two-class mixture (a sweep item).

    * :math:`t_C` of the data set: root of the leave-one-out empirical excess entropy
      (:func:`~diffphase.numerics.empirical.collapse_time`), beside the large-``d`` closed form
      (:func:`~diffphase.numerics.gaussian_mixture.collapse_time`);
    * :math:`\phi_C(t)`: probability that two clones branched at ``t`` end nearest the same
      training point, for the trained model and for the exact empirical score
      (:class:`~diffphase.numerics.empirical.EmpiricalScore`), branching at ``branch`` ×
      :math:`t_C`; its ½-crossing is the measured collapse onset;
    * the memorized fraction: samples (``n_samples``, from noise) within
      :math:`\delta` = ``delta_fraction`` × the median nearest-neighbour distance of the training
      set of a training point, for both scores.
    """
    from diffphase.numerics import empirical, sde

    from .data import two_class_mixture
    from .models import score_function

    ds = two_class_mixture(n_train, d, mu=mu, sigma=sigma, seed=seed)
    X = ds.data.numpy().astype(np.float64)
    ct = empirical.collapse_time(X, n_samples=entropy_samples, seed=seed)
    t_c = ct.t_C
    model, hist = _train_denoiser(ds, train, seed, device, cache_dir, progress, f"collapse n={n_train}")
    score = score_function(model, device=device)
    emp = empirical.EmpiricalScore(X)

    def nearest(x):
        return emp.nearest(np.asarray(x, dtype=np.float64))[0]

    bt = t_c * np.asarray(branch, dtype=np.float64)
    settings = _clone_settings(clones)
    res_m = sde.clone_agreement_simulation(score, _gaussian_init(d), bt, n_pairs, nearest, seed=seed + 1, **settings)
    res_e = sde.clone_agreement_simulation(emp, _gaussian_init(d), bt, n_pairs, nearest, seed=seed + 2, **settings)
    t_m, t_m_se = _crossing(res_m.times, res_m.agreement["label"], res_m.stderr["label"], 0.5, seed)
    t_e, t_e_se = _crossing(res_e.times, res_e.agreement["label"], res_e.stderr["label"], 0.5, seed + 1)

    dist = np.sqrt(np.maximum(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1), 0.0))
    np.fill_diagonal(dist, np.inf)
    delta = float(delta_fraction * np.median(dist.min(axis=1)))
    grid = sde.time_grid(settings["t_max"], settings["t_end"], settings["n_steps"], settings["grid"])
    rng = np.random.default_rng(seed + 3)
    x0 = rng.standard_normal((n_samples, d))
    fractions = {}
    for label, fn, x in (("model", score, x0.astype(np.float32)), ("empirical", emp, x0)):
        xs = sde.sample(fn, x, grid, seed=seed + 4)
        _, dmin = emp.nearest(np.asarray(xs, dtype=np.float64))
        frac = float(np.mean(dmin <= delta))
        fractions[label] = {"fraction": frac, "stderr": math.sqrt(frac * (1 - frac) / n_samples),
                            "median_distance": float(np.median(dmin))}
    return {
        "d": d, "n_train": n_train, "alpha": math.log(n_train) / d, "t_C": t_c, "t_C_se": ct.stderr,
        "t_C_theory": gm.collapse_time(n_train, d, sigma),
        "entropy_t": ct.curve.t, "entropy_f": ct.curve.f, "entropy_se": ct.curve.stderr,
        "branch_times": res_m.times, "phi_model": res_m.agreement["label"], "se_model": res_m.stderr["label"],
        "phi_exact": res_e.agreement["label"], "se_exact": res_e.stderr["label"],
        "t_model": t_m, "t_model_se": t_m_se, "t_exact": t_e, "t_exact_se": t_e_se,
        "grid_model": _grid_error(res_m), "grid_exact": _grid_error(res_e),
        "delta": delta, "memorized": fractions,
        "final_loss": float(hist.smoothed()[-1]), "train_seconds": hist.seconds,
    }


def _plot_collapse(p: dict, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_c = p["t_C"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    bt = np.asarray(p["branch_times"])
    a1.errorbar(bt * 1.005, p["phi_exact"], yerr=3 * np.asarray(p["se_exact"]), fmt="s", ms=4, color="C2",
                label="exact empirical-score clones")
    a1.errorbar(bt, p["phi_model"], yerr=3 * np.asarray(p["se_model"]), fmt="o", ms=4, color="C0",
                label="trained-model clones")
    a1.axhline(0.5, color="gray", ls=":", lw=1)
    a1.axvline(t_c, color="C3", ls="--", lw=1, label=rf"$t_C$ (excess entropy) $={t_c:.3f}$")
    a1.axvline(p["t_C_theory"], color="C1", ls=":", lw=1, label=rf"$t_C$ large-$d$ formula $={p['t_C_theory']:.3f}$")
    a1.set_xlabel("OU time $t$")
    a1.set_ylabel(r"$\phi_C(t)$")
    a1.set_title(rf"collapse, $d={p['d']}$, $n={p['n_train']}$ (error bars 3 s.e.)", fontsize=9)
    a1.legend(fontsize=7)
    a2.errorbar(p["entropy_t"], np.asarray(p["entropy_f"]) / p["alpha"],
                yerr=3 * np.asarray(p["entropy_se"]) / p["alpha"], fmt=".-", color="C1",
                label=r"empirical $f(t)/\alpha$ (leave-one-out)")
    a2.axhline(0, color="gray", lw=0.8)
    a2.axvline(t_c, color="C3", ls="--", lw=1)
    a2.set_xscale("log")
    a2.set_ylim(-3.0, 1.5)
    a2.set_xlabel("OU time $t$")
    a2.set_ylabel(r"$f(t)/\alpha$")
    m = p["memorized"]
    a2.set_title(rf"memorized within $\delta={p['delta']:.3g}$: model {m['model']['fraction']:.2f}, "
                 rf"empirical {m['empirical']['fraction']:.2f}", fontsize=9)
    a2.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def run_collapse(config: dict, ctx) -> "ExperimentResult":
    r"""``collapse``: trained-model collapse on a small training set (:func:`collapse_point`)
    with verdicts from :data:`TOLERANCES`."""
    from .engine.verdicts import ExperimentResult, Verdict

    kw = {k: config[k] for k in ("d", "n_train", "mu", "sigma", "train", "n_pairs", "branch", "clones", "n_samples",
                                 "delta_fraction", "entropy_samples")}
    p = ctx.stage("point", collapse_point, **kw, seed=int(config["seed"]), device=ctx.device,
                  cache_dir=str(ctx.cache_dir), progress=ctx.progress)
    tol = TOLERANCES
    verdicts = [
        Verdict.check("phi_C = 1/2 crossing, exact empirical-score clones vs t_C (excess entropy)", p["t_exact"],
                      p["t_C"], tol["collapse.exact"], "rel", stderr=p["t_exact_se"], unit="OU time",
                      kind="claim", source="biroli.collapse",
                      note=f"t_C = {p['t_C']:.4f} ± {p['t_C_se']:.2g} from the leave-one-out excess entropy; "
                           f"large-d formula {p['t_C_theory']:.4f}; {_grid_note(p['grid_exact'])}"),
        Verdict.check("phi_C = 1/2 crossing, trained model vs exact empirical-score dynamics", p["t_model"],
                      p["t_exact"], tol["collapse.model"], "rel", stderr=p["t_model_se"], unit="OU time",
                      kind="claim", source="biroli.collapse", requires=["memorizing"],
                      note=_grid_note(p["grid_model"])),
        Verdict.check("fraction of trained-model samples within delta of a training point",
                      p["memorized"]["model"]["fraction"], None, tol["collapse.memorized"], "min",
                      stderr=p["memorized"]["model"]["stderr"], kind="precondition", key="memorizing",
                      source="the collapse claim concerns a model that memorizes its training set: at this n "
                             "(t_C well above the smallest training time) most samples must end on a "
                             "training point",
                      note=f"delta = {config['delta_fraction']} x median nearest-neighbour distance "
                           f"= {p['delta']:.3g}; exact empirical score: "
                           f"{p['memorized']['empirical']['fraction']:.3f}"),
    ]
    fig = _plot_collapse(p, ctx.figure_path())
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers={"point": p},
                            figures=[fig.name])


def _clone_cost(flops: dict, branch_times, n_pairs: int, clones: dict) -> tuple[float, int]:
    from diffphase.numerics.sde import clone_score_evaluations

    rows = clone_score_evaluations(branch_times, n_pairs, t_max=clones["t_max"], t_end=clones["t_end"],
                                   n_steps=clones["n_steps"], grid=clones["grid"])
    batches = math.ceil(n_pairs / clones["batch_pairs"])
    return rows * flops["forward"], batches * 2 * clones["n_steps"]


def cost_speciation_gm(config: dict) -> dict:
    """FLOPs of :func:`run_speciation_gm` (see :func:`~diffphase.validation.validate.plan`)."""
    parts = []
    for d in config["dims"]:
        f, t = denoiser_cost(config["train"], int(d))
        bt = gm.speciation_time(int(d), config["mu"], config["sigma"]) * np.asarray(config["branch"])
        sflops, calls = _clone_cost(f, bt, config["n_pairs"], config["clones"])
        parts.append({"train_flops": f["train"] * t["steps"] * t["batch"], "sample_flops": sflops,
                      "train_steps": t["steps"], "sampler_calls": calls})
    return sum_costs(parts)


_IMAGE_SHAPES = {"digits": (1, 8, 8), "fashion_mnist": (1, 28, 28)}


def cost_speciation_images(config: dict) -> dict:
    """FLOPs of :func:`run_speciation_images` (branching times taken at the typical
    :math:`t_S \approx 1`; the classifier's cost is not counted)."""
    shape = _IMAGE_SHAPES[config["dataset"]]
    dim = int(np.prod(shape))
    parts = []
    for _ in config["pairs"]:
        f, t = denoiser_cost(config["train"], dim, shape)
        sflops, calls = _clone_cost(f, np.asarray(config["branch"]), config["n_pairs"], config["clones"])
        parts.append({"train_flops": f["train"] * t["steps"] * t["batch"], "sample_flops": sflops,
                      "train_steps": t["steps"], "sampler_calls": calls})
    return sum_costs(parts)


def cost_collapse(config: dict) -> dict:
    """FLOPs of :func:`run_collapse` (branching times taken at the large-``d`` :math:`t_C`)."""
    f, t = denoiser_cost(config["train"], int(config["d"]))
    t_c = gm.collapse_time(config["n_train"], config["d"], config["sigma"])
    sflops, calls = _clone_cost(f, t_c * np.asarray(config["branch"]), config["n_pairs"], config["clones"])
    sflops += config["n_samples"] * config["clones"]["n_steps"] * f["forward"]
    return {"train_flops": f["train"] * t["steps"] * t["batch"], "sample_flops": sflops, "train_steps": t["steps"],
            "sampler_calls": calls + config["clones"]["n_steps"]}


_CLONES_QUICK = {"t_max": 6.0, "t_end": 1e-3, "n_steps": 100, "grid": "uniform", "batch_pairs": 1000}
_CLONES_FULL = {"t_max": 8.0, "t_end": 1e-3, "n_steps": 400, "grid": "uniform", "batch_pairs": 2500}
_MLP_QUICK = {"model": "mlp", "model_kwargs": {"hidden": 256, "depth": 3}, "steps": 2000, "batch_size": 256,
              "lr": 2e-3, "t_max": 6.0, "checkpoint_every": 500}
_MLP_FULL = {"model": "mlp", "model_kwargs": {"hidden": 512, "depth": 4}, "steps": 40000, "batch_size": 512,
             "lr": 1e-3, "t_max": 8.0, "checkpoint_every": 2000}

#: The experiments of this module, registered by :mod:`diffphase.validation.validate`.
EXPERIMENTS = [
    Experiment(
        name="speciation_gm",
        title="Speciation on two-class Gaussian mixtures: trained model vs quadrature vs exact score",
        run=run_speciation_gm,
        cost=cost_speciation_gm,
        quick={"dims": [32, 128], "n_train": 20000, "mu": 1.0, "sigma": 1.0, "train": _MLP_QUICK,
               "n_pairs": 1000, "exact_pairs": 2000, "branch": [0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35],
               "clones": _CLONES_QUICK, "seed": 0},
        full={"dims": [64, 256, 1024], "n_train": 100000, "mu": 1.0, "sigma": 1.0, "train": _MLP_FULL,
              "n_pairs": 10000, "exact_pairs": 10000,
              "branch": [0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.45],
              "clones": _CLONES_FULL, "seed": 0},
    ),
    Experiment(
        name="speciation_digits",
        title="Speciation on scikit-learn digits (class pairs): trained model vs 1/2 log Lambda",
        run=run_speciation_images,
        cost=cost_speciation_images,
        quick={"dataset": "digits", "pairs": [[0, 1]], "limit_per_class": None,
               "train": dict(_MLP_QUICK, batch_size=128), "classifier": {"steps": 300},
               "n_pairs": 1000, "branch": [0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0],
               "clones": _CLONES_QUICK, "seed": 0},
        full={"dataset": "digits", "pairs": [[0, 1], [3, 8], [4, 9], [1, 7]], "limit_per_class": None,
              "train": {"model": "unet", "model_kwargs": {"channels": 64}, "steps": 40000, "batch_size": 256,
                        "lr": 1e-3, "t_max": 8.0, "checkpoint_every": 2000},
              "classifier": {"steps": 1500}, "n_pairs": 10000,
              "branch": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0, 2.5],
              "clones": _CLONES_FULL, "seed": 0},
    ),
    Experiment(
        name="speciation_fashion",
        title="Speciation on Fashion-MNIST (class pairs): trained model vs 1/2 log Lambda",
        run=run_speciation_images,
        cost=cost_speciation_images,
        quick={"dataset": "fashion_mnist", "pairs": [[1, 9]], "limit_per_class": 2000,
               "train": {"model": "unet", "model_kwargs": {"channels": 16}, "steps": 2000, "batch_size": 64,
                         "lr": 2e-3, "t_max": 6.0, "checkpoint_every": 500},
               "classifier": {"steps": 300}, "n_pairs": 500,
               "branch": [0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0], "clones": _CLONES_QUICK, "seed": 0},
        full={"dataset": "fashion_mnist", "pairs": [[1, 9], [0, 7]], "limit_per_class": None,
              "train": {"model": "unet", "model_kwargs": {"channels": 64, "channel_mult": [1, 2, 2]},
                        "steps": 30000, "batch_size": 128, "lr": 5e-4, "t_max": 8.0, "checkpoint_every": 2000},
              "classifier": {"steps": 3000}, "n_pairs": 5000,
              "branch": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0, 2.5],
              "clones": _CLONES_FULL, "seed": 0},
        modes=("full",),
        requires=_fashion_missing,
    ),
    Experiment(
        name="collapse",
        title="Collapse on a small training set: trained model vs exact empirical-score dynamics vs t_C",
        run=run_collapse,
        cost=cost_collapse,
        quick={"d": 32, "n_train": 16, "mu": 1.0, "sigma": 1.0,
               "train": dict(_MLP_QUICK, steps=4000, batch_size=128, t_min=1e-3),
               "n_pairs": 500, "branch": [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0],
               "clones": dict(_CLONES_QUICK, grid="log", n_steps=150, batch_pairs=500),
               "n_samples": 500, "delta_fraction": 0.25, "entropy_samples": 2000, "seed": 0},
        full={"d": 64, "n_train": 64, "mu": 1.0, "sigma": 1.0,
              "train": dict(_MLP_FULL, steps=100000, t_min=1e-4),
              "n_pairs": 5000, "branch": [0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0],
              "clones": dict(_CLONES_FULL, grid="log", n_steps=400),
              "n_samples": 5000, "delta_fraction": 0.25, "entropy_samples": 5000, "seed": 0},
    ),
]
