r"""The figure of ``rhm_discrete`` (:mod:`diffphase.validation.rhm`): per depth, the
forward--backward curves :math:`P_l(\varepsilon)` (exact BP, trained model, exact marginals
through the sampler, mean field) and the tuple validity of every level along training; for the
grammar with the most depths, the root and leaf slopes at the class crossing against depth and
the token-change susceptibility. Noise levels :math:`\varepsilon = 1-e^{-2t}` at OU time ``t``.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine.io import save_figure
from .protocol import group_label, point_label

__all__ = ["plot_rhm_discrete"]


def _level_name(l: int, L: int) -> str:
    return "root (class)" if l == 0 else ("leaves" if l == L else f"level {l}")


def plot_rhm_discrete(points: list, group: list, sharp: dict | None, path):
    r"""Write the figure of ``rhm_discrete`` atomically (:func:`~diffphase.validation.engine.io.save_figure`).

    Top row: per point, :math:`P_l(\varepsilon)` of every level ``l`` (root first) of exact BP
    (lines), the trained model (markers, 2 s.e.) and the exact marginals through the sampler
    (crosses), the mean-field root curve, the class level and the two crossings; then the
    slopes :math:`|dP/d\varepsilon|` of the root and the leaves at the crossing against depth
    for ``group``. Bottom row: per point, the tuple validity :math:`q_h` of every height
    along training (snapshots) with the learning times; then the susceptibility
    :math:`\chi(\varepsilon)` of the trained models and of exact posterior sampling.
    Noise levels :math:`\varepsilon = 1-e^{-2t}`, ``t`` the OU time.

    Parameters
    ----------
    points : list of dict
        Points of :func:`~diffphase.validation.rhm.protocol.summarize_point`.
    group : list of dict
        The points of one grammar (:func:`~diffphase.validation.rhm.protocol.group_points`),
        sorted by depth: the slope panel.
    sharp : dict or None
        The group's :func:`~diffphase.validation.rhm.sharpening` results by ``"exact"`` and
        ``"model"`` (the shallow leaf slopes at the deeper crossing are added to the slope panel).
    path : str or Path
        PNG path.

    Returns
    -------
    Path
        The written file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(points)
    fig, axes = plt.subplots(2, k + 1, figsize=(5.0 * (k + 1), 8.2), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for j, p in enumerate(points):
        ax = axes[0, j]
        x = np.asarray(p["noises"])
        L = p["L"]
        pm, sm = np.asarray(p["model"]["p"]), np.asarray(p["model"]["stderr"])
        pe, po = np.asarray(p["exact"]["p"]), np.asarray(p["oracle"]["p"])
        for l in range(L + 1):
            c = cmap(l / max(L, 1))
            ax.plot(x, pe[:, l], color=c, lw=1.3, label=f"exact BP, {_level_name(l, L)}")
            ax.errorbar(x, pm[:, l], yerr=2 * sm[:, l], fmt="o", ms=3.2, color=c, capsize=2)
            ax.plot(x, po[:, l], ls="none", marker="x", ms=4, color=c, alpha=0.6)
        ax.plot(x, p["mf_root"], color="k", ls="--", lw=1, label="mean field, root [recon]")
        ax.axhline(p["level"], color="gray", ls=":", lw=1)
        for name, ls in (("model", "-."), ("exact", ":")):
            if math.isfinite(p[f"eps_half_{name}"]):
                ax.axvline(p[f"eps_half_{name}"], color="C3" if name == "model" else "k", ls=ls, lw=1,
                           label=f"{'trained' if name == 'model' else 'exact-BP'} crossing {p[f'eps_half_{name}']:.3f}")
        ax.set_xlabel(r"noise level $\varepsilon = 1-e^{-2t}$")
        ax.set_ylabel(r"$P_l$ (latent unchanged)")
        ax.set_title(f"{point_label(p)}\nlines exact BP, markers trained model (2 s.e.), x BP through the sampler\n"
                     f"generated: valid {p['gen_valid']:.3f}, copies {p['gen_copies']:.4f} "
                     f"(n_train = {p['n_train']}, P_max = {p['P_max']:.3g})", fontsize=7.5)
        ax.legend(fontsize=6, loc="lower left")
        # per-level tuple validity along training
        bx = axes[1, j]
        st = np.asarray(p["snapshot_steps"])
        q, qs = np.asarray(p["snapshot_levels"]["tuples"]), np.asarray(p["snapshot_levels"]["tuples_se"])
        lt = p["learning"]
        for h in range(1, L + 1):
            c = cmap((L - h) / max(L, 1))
            bx.errorbar(st, q[:, h - 1], yerr=2 * np.nan_to_num(qs[:, h - 1]), fmt="o-", ms=3, color=c, capsize=2,
                        label=f"height {h} ({_level_name(L - h, L)}): " + rf"$\tau$ = {lt['tau'][h - 1]:.3f}")
        bx.axhline(p["f_random"][0], color="gray", ls=":", lw=1, label="random tuples")
        bx.set_xscale("log")
        bx.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        bx.set_ylim(0, 1.02)
        bx.set_xlabel("training step (snapshot)")
        bx.set_ylabel(r"tuple validity $q_h$ (children valid)")
        bx.set_title(f"L = {L}: rules learned level by level? (heights from the leaves)\n"
                     rf"$\tau_h$ = mean error over snapshots; $\tau_L-\tau_1$ = {lt['gap']:.3f} ± {lt['gap_se']:.3f}",
                     fontsize=7.5)
        bx.legend(fontsize=6, loc="lower right")
    # slopes vs depth
    ax = axes[0, k]
    Ls = [p["L"] for p in group]
    for name, mk, lab in (("exact", "s-", "exact BP"), ("model", "o--", "trained")):
        for part, c in (("root", "C3"), ("leaf", "C0")):
            ax.errorbar(Ls, [p[f"slope_{part}_{name}"] for p in group],
                        yerr=[2 * p[f"slope_{part}_{name}_se"] for p in group], fmt=mk, color=c, capsize=3,
                        alpha=1.0 if name == "exact" else 0.8, label=f"{lab}, {part} slope at own crossing")
    if sharp:
        for name, mk in (("exact", "s"), ("model", "o")):
            sh = sharp.get(name)
            if sh:
                ax.errorbar([min(Ls)], [sh["leaf_shallow"]], yerr=[2 * sh["leaf_shallow_se"]], fmt=mk, mfc="none",
                            color="C0", capsize=3, label=f"{'exact BP' if name == 'exact' else 'trained'}, leaves of "
                            rf"L = {min(Ls)} at $\varepsilon$ = {sh['eps_leaf']:.3f}")
    ax.set_xticks(Ls)
    ax.set_xlabel("depth L")
    ax.set_ylabel(r"$|dP/d\varepsilon|$ at the class crossing (2 s.e.)")
    ax.set_title(f"{group_label(group[-1])}: slopes at the class crossing vs depth\n"
                 "(claim: the root's grows with L, the leaves' does not)", fontsize=8)
    ax.legend(fontsize=6)
    # susceptibility (reported)
    cx = axes[1, k]
    for j, p in enumerate(points):
        x = np.asarray(p["noises"])
        c = f"C{j}"
        cx.errorbar(x, p["model"]["chi"], yerr=2 * np.asarray(p["model"]["chi_se"]), fmt="o-", ms=3, color=c,
                    label=f"L = {p['L']} trained")
        cx.errorbar(x, p["chi_exact"], yerr=2 * np.asarray(p["chi_exact_se"]), fmt="s:", ms=3, color=c, alpha=0.7,
                    label=f"L = {p['L']} exact posterior sampling")
        if math.isfinite(p["eps_half_exact"]):
            cx.axvline(p["eps_half_exact"], color=c, ls="--", lw=1, label=f"L = {p['L']} exact-BP class crossing")
    cx.set_xlabel(r"noise level $\varepsilon$")
    cx.set_ylabel(r"susceptibility $\chi=\sum_r C(r)$")
    cx.set_title("token-change susceptibility (reported, not judged at these depths)", fontsize=8)
    cx.legend(fontsize=6)
    fig.tight_layout()
    return save_figure(fig, path)
