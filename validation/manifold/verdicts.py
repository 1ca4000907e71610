r"""The verdicts of the ``manifold`` experiment (:func:`run_manifold`): the tolerances, written
before measuring (:data:`TOLERANCES`), the statistics read from the sweep of
:func:`~diffphase.validation.manifold.protocol.manifold_point` (loss levels with a bootstrap
over training points, selective and collapsed fractions), and the verdicts built on them.

Noise levels are the variance-exploding :math:`\sigma^2 = e^{2t}-1` (OU time ``t``).
"""

from __future__ import annotations

import math

import numpy as np

from .figure import plot_manifold
from .protocol import LEVEL, SUBSPACES, full_stds, gap_indices, manifold_point, noise_grid
from .reading import loss_level, subspace_states

__all__ = ["TOLERANCES", "run_manifold"]

#: Tolerances of the verdicts of the authors' protocol (Achilli et al., arXiv 2410.08727;
#: their code), written before any trained model of it was measured. Per training point ``x0`` and noise level, the
#: normalised spectrum of the score matrix at ``x0 + sigma Q`` (largest singular value dropped,
#: the rest divided by their maximum); a variance group ``g`` (the high-variance subspace
#: ``A``, the low-variance one ``B``) is *kept* at ``x0`` when the RMS normalised singular
#: value along its directions tangent to the sphere at ``x0`` is ``<= 1/2`` (the level-1/2
#: criterion of :data:`LEVEL`: the population keeps a direction of variance ``v`` iff ``sigma^2 <= v``).
#: ``f_g(sigma^2)`` is the fraction of the ``n_points`` training points keeping ``g``; the
#: loss level ``sigma^2_g`` is where ``f_g`` falls through 1/2 as the noise decreases (the
#: lowest upward crossing on the grid, linear in ``log sigma^2``; still kept at the smallest
#: noise: the grid's end, a bound), with a bootstrap over training points.
#:
#: ``manifold.separation``  (min, in :math:`\log\sigma^2`) claim, at the largest ``N`` of
#:     the sweep: :math:`|\log\sigma^2_A-\log\sigma^2_B|`, "lost at different critical
#:     times". :math:`\log 2`: two steps of the grid (ratio :math:`\sqrt2`); the
#:     interpolated crossing of a binomial fraction of 32 points on that grid has a bootstrap
#:     error of about 0.15-0.25, so a simultaneous loss (0 +/- s.e.) passes with probability
#:     well under 1 %.
#: ``manifold.selective``  (min, fraction) claim, at the largest ``N``: the largest fraction,
#:     over noise levels of the resolved window :math:`\sigma^2 \le v_{\min}/2` (where the
#:     population keeps every tangent group with margin, so a lost group is memorized, not
#:     hidden by the noise), of training points keeping exactly one of the two groups
#:     ("selective loss ... without a full collapse"). A majority, 1/2; binomial s.e. of 32
#:     points <= 0.09.
#: ``manifold.collapse``  (min, fraction) precondition: at the smallest ``N`` and the smallest
#:     noise level, the fraction of training points whose normalised spectrum has no value
#:     ``<= 1/2`` (fully contracted Jacobian: the model memorizes). A majority, 1/2; guards the
#:     claims, which read a loss of a subspace as memorization.
#: ``manifold.order``  (min, in :math:`\log\sigma^2`) exploratory:
#:     :math:`\log(\sigma^2_A/\sigma^2_B)` at the largest ``N``, "under some conditions, subspaces of higher variance
#:     are lost first" (conditions not derived here): at least :math:`\log 2`, a resolved order.
#: ``manifold.threshold``  (max, in :math:`\log\sigma^2`) exploratory: at the largest ``N``,
#:     :math:`\max_g|\log\sigma^2_g-\log(s_g^2/2\log N)|`, the authors' per-subspace critical
#:     noise (theory cell of their notebook, a large-dimension result) with ``s_g`` the
#:     *generating* standard deviation of group ``g`` (1 and 0.3: the notebook's ``scales``,
#:     which it uses unchanged for the data projected on the sphere): a factor 4. (Until the
#:     comparison with the authors' notebook, this verdict used the per-coordinate variance
#:     of the projected training data, 0.35 and 0.059, which is not the notebook's input; the
#:     statistic was corrected to the notebook's input, the tolerance is unchanged.)
#: ``manifold.memorizes_at_claim``  (min, fraction) precondition of the trained-model claims:
#:     at the largest ``N`` and the smallest noise level, the fraction of training points that
#:     have lost at least one of the two subspaces. A model that keeps both everywhere has not
#:     memorized anything at that ``N``, so the claim (subspaces lost *to memorization* at
#:     different sizes) cannot be read there: a majority, 1/2. Added after the first quick run
#:     of this protocol, in which the trained ``N = 256`` model kept both subspaces down to the
#:     smallest noise (its claim verdicts then read FAIL; they now read INCONCLUSIVE, and the
#:     run still fails through this precondition).
TOLERANCES = {
    "manifold.separation": math.log(2.0),
    "manifold.selective": 0.5,
    "manifold.collapse": 0.5,
    "manifold.memorizes_at_claim": 0.5,
    "manifold.order": math.log(2.0),
    "manifold.threshold": math.log(4.0),
}


def _loss_levels(noise, r: dict, n_boot: int, seed: int, level: float = LEVEL) -> dict:
    """Loss levels of both subspaces, their difference, and bootstrap errors over points."""
    kept = {g: np.asarray(r[g], dtype=np.float64) <= level for g in SUBSPACES}
    est = {g: loss_level(noise, kept[g]) for g in SUBSPACES}
    P = kept["A"].shape[1]
    rng = np.random.default_rng(seed)
    reps = {"A": [], "B": [], "diff": []}
    for _ in range(n_boot):
        sel = rng.integers(0, P, size=P)
        la, lb = (loss_level(noise, kept[g][:, sel])[0] for g in SUBSPACES)
        reps["A"].append(la)
        reps["B"].append(lb)
        reps["diff"].append(la - lb)

    def se(v):
        v = np.asarray(v)
        ok = np.isfinite(v)
        return float(np.std(v[ok], ddof=1)) if ok.mean() >= 0.9 and ok.sum() > 1 else math.inf

    return {"A": est["A"][0], "B": est["B"][0], "censored": {g: est[g][1] for g in SUBSPACES},
            "se": {"A": se(reps["A"]), "B": se(reps["B"]), "diff": se(reps["diff"])}}


def _analyse(points: list, n_boot: int, seed: int) -> dict:
    out = {}
    for p in points:
        noise = np.asarray(p["noise"], dtype=np.float64)
        v_min = min(p["variance"].values())
        window = noise <= v_min / 2
        res = {}
        for who in ("model", "empirical"):
            d = p.get(who)
            if d is None:
                continue
            st = subspace_states(d["r"], d["k"])
            ll = _loss_levels(noise, d["r"], n_boot, seed + p["n_train"])
            one, one_se = st["one"]
            if np.any(window):
                j = int(np.flatnonzero(window)[np.argmax(one[window])])
                sel = (float(one[j]), float(one_se[j]), float(noise[j]))
            else:
                sel = (math.nan, math.nan, math.nan)
            res[who] = {"states": st, "loss": ll, "selective": sel,
                        "collapse": (float(st["none"][0][np.argmin(noise)]), float(st["none"][1][np.argmin(noise)]))}
            if d.get("origin") is not None:
                res[who]["origin"] = _origin_summary(noise, d["origin"])
        out[p["n_train"]] = res
    return out


def _origin_summary(noise, o: dict) -> dict:
    """Fractions of frames keeping each subspace at the data mean, median ratios and gaps, and
    the loss levels (:func:`loss_level`: the fraction falls through 1/2 as the noise decreases;
    NaN: never kept)."""
    kept = {g: np.asarray(o["rho"][g]) <= float(o["level"]) for g in SUBSPACES}
    return {"kept": {g: kept[g].mean(axis=1) for g in SUBSPACES},
            "rho": {g: np.median(np.asarray(o["rho"][g]), axis=1) for g in SUBSPACES},
            "gaps": np.median(np.asarray(o["gaps"]), axis=1), "gap_indices": o["gap_indices"],
            "loss": {g: loss_level(noise, kept[g]) for g in SUBSPACES}}


def _predicted_loss(variance: dict, n: int) -> dict:
    # the authors' per-subspace critical noise s_g^2 / (2 log N) (theory cell of their notebook;
    # ``variance`` maps a subspace to the variance put in)
    return {g: math.log(variance[g] / (2.0 * math.log(n))) for g in SUBSPACES}



def _fmt(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.3g}"


def run_manifold(config: dict, ctx) -> "ExperimentResult":
    r"""``manifold``: the authors' spectrum of trained DDPMs and of the exact empirical score
    (:func:`manifold_point` per ``N``), read per subspace against the noise level; verdicts with
    :data:`TOLERANCES`."""
    from ..engine.executor import spawn_seeds
    from ..engine.verdicts import ExperimentResult, Verdict

    sizes = [int(n) for n in config["sizes"]]
    refs = [int(n) for n in config.get("reference_sizes", [])]
    if not sizes:
        raise ValueError("config['sizes'] must list at least one training-set size")
    if set(sizes) & set(refs) or len(set(sizes + refs)) != len(sizes + refs):
        raise ValueError(f"config['sizes'] {sizes} and config['reference_sizes'] {refs} must be distinct: a trained "
                         "size already reads the exact empirical score of its own training set")
    noise = noise_grid(**config["noise"])
    seeds = spawn_seeds(int(config["seed"]), len(sizes) + len(refs))
    common = {key: config[key] for key in ("dim", "d1", "d2", "stds", "n_points")}
    items = [dict(common, n_train=n, noise=noise, train=config["train"] if i < len(sizes) else None,
                  seed=s % (2**31 - 1), device=ctx.device,
                  cache_dir=str(ctx.cache_dir) if ctx.cache_dir is not None else None,
                  progress=ctx.progress and ctx.executor == "serial")
             for i, (n, s) in enumerate(zip(sizes + refs, seeds))]
    names = [f"N{n}" for n in sizes] + [f"E{n}" for n in refs]
    points = ctx.sweep(names, manifold_point, items)
    ana = _analyse(points, int(config.get("n_boot", 400)), int(config["seed"]))
    trained = sorted((p for p in points if p["model"] is not None), key=lambda q: q["n_train"])
    small, big = trained[0], trained[-1]
    ref = max(points, key=lambda q: q["n_train"])
    tol = TOLERANCES
    verdicts = []
    col = ana[small["n_train"]]["model"]["collapse"]
    verdicts.append(Verdict.check(
        f"fully contracted score at the smallest N = {small['n_train']} and noise {noise.min():.3g} (fraction of "
        "training points with no normalised singular value <= 1/2), trained DDPM",
        col[0], None, tol["manifold.collapse"], "min", stderr=col[1], unit="fraction", kind="precondition",
        key="memorizes",
        source="the trained model memorizes (its score contracts every direction onto the training point) at the "
               "smallest training set: the claims read the loss of a subspace as memorization"))

    def claim_pair(p, who, label, kind, source):
        a = ana[p["n_train"]][who]
        ll = a["loss"]
        sep = abs(ll["A"] - ll["B"]) if math.isfinite(ll["A"]) and math.isfinite(ll["B"]) else math.nan
        cens = [g for g in SUBSPACES if ll["censored"][g]]
        note = (f"loss level sigma^2: A {_fmt(math.exp(ll['A']) if math.isfinite(ll['A']) else math.nan)}, "
                f"B {_fmt(math.exp(ll['B']) if math.isfinite(ll['B']) else math.nan)} (NaN: never kept by a majority)"
                + (f"; kept down to the smallest noise (bound): {', '.join(cens)}" if cens else ""))
        req = ["memorizes", "memorizes at N"] if who == "model" else []
        if who == "model":
            st = a["states"]
            j = int(np.argmin(np.asarray(p["noise"], dtype=np.float64)))
            both = 0.5 * (st["A"][0][j] + st["B"][0][j] - st["one"][0][j])  # keeps A and B
            lost = float(1.0 - both)
            n_pts = int(config["n_points"])
            verdicts.append(Verdict.check(
                f"fraction of training points that lost at least one subspace at the smallest noise "
                f"{float(np.min(p['noise'])):.3g}, {label} N={p['n_train']}",
                lost, None, tol["manifold.memorizes_at_claim"], "min",
                stderr=math.sqrt(max(lost * (1 - lost), 0.0) / n_pts), unit="fraction", kind="precondition",
                key="memorizes at N",
                source="the claim concerns subspaces lost to memorization: at the N where it is read, the trained "
                       "model must have memorized something"))
        verdicts.append(Verdict.check(
            f"subspaces lost at different noise levels: |log sigma^2_A - log sigma^2_B|, {label} N={p['n_train']}",
            sep, None, tol["manifold.separation"], "min", stderr=ll["se"]["diff"], unit="log sigma^2", kind=kind,
            source=source, key=f"separation {who}", requires=req, note=note))
        sel = a["selective"]
        verdicts.append(Verdict.check(
            f"selective loss: largest fraction of training points keeping exactly one subspace at sigma^2 <= "
            f"v_min/2, {label} N={p['n_train']}",
            sel[0], None, tol["manifold.selective"], "min", stderr=sel[1], unit="fraction", kind=kind,
            source=source, key=f"selective {who}", requires=req,
            note=f"at sigma^2 = {_fmt(sel[2])}; v_A = {p['variance']['A']:.3g}, v_B = {p['variance']['B']:.3g}"))

    claim_pair(big, "model", "trained DDPM", "claim", "achilli.selective")
    # the claim is about the generative dynamics: read on the exact empirical score (the optimum
    # of the training objective) it is the paper's claim without network error, as in late_start
    claim_pair(ref, "empirical", "exact empirical score", "claim", "achilli.selective")
    stds = full_stds(int(config["dim"]), int(config["d1"]), int(config["d2"]), config["stds"])
    generating = {"A": float(stds[0] ** 2), "B": float(stds[int(config["d1"])] ** 2)}
    for p, who, label in ((big, "model", "trained DDPM"), (ref, "empirical", "exact empirical score")):
        ll = ana[p["n_train"]][who]["loss"]
        req = ["memorizes", "memorizes at N"] if who == "model" else []
        verdicts.append(Verdict.check(
            f"order: log(sigma^2_A / sigma^2_B), higher variance lost first, {label} N={p['n_train']}",
            ll["A"] - ll["B"], None, tol["manifold.order"], "min", stderr=ll["se"]["diff"], unit="log sigma^2",
            kind="exploratory", key=f"order {who}", requires=req,
            source="'under some conditions, subspaces of higher variance are lost first' (Achilli et al., "
                   "arXiv 2410.08727, abstract); the conditions are not derived here"))
        pred = _predicted_loss(generating, p["n_train"])
        pred_v = _predicted_loss(p["variance"], p["n_train"])
        dev = [abs(ll[g] - pred[g]) for g in SUBSPACES]
        verdicts.append(Verdict.check(
            f"threshold: max over subspaces |log sigma^2_g - log(s_g^2 / 2 log N)|, {label} N={p['n_train']}",
            max(dev) if all(math.isfinite(x) for x in dev) else math.nan, None, tol["manifold.threshold"], "max",
            unit="log sigma^2", kind="exploratory", key=f"threshold {who}", requires=req,
            source="the authors' per-subspace critical noise s_g^2/(2 log N), s_g the generating standard deviation "
                   "(theory cell of their notebook, which uses it unchanged for the data on the sphere), a "
                   f"large-dimension result applied here at D = {config['dim']}",
            note="predicted sigma^2: " + ", ".join(f"{g} {math.exp(pred[g]):.3g}" for g in SUBSPACES)
                 + "; with the per-coordinate variance of the projected data instead: "
                 + ", ".join(f"{g} {math.exp(pred_v[g]):.3g}" for g in SUBSPACES)))
    fig = plot_manifold(points, ana, config, ctx.figure_path())
    numbers = {"points": points, "analysis": {str(n): a for n, a in ana.items()},
               "noise": noise, "gap_indices": gap_indices(int(config["d1"]), int(config["d2"]))}
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts, numbers=numbers,
                            figures=[fig.name])

