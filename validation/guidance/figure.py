"""The figure of ``negative_guidance`` and ``negative_guidance_digits``
(:mod:`diffphase.validation.guidance`): the quality and balance planes and the unwanted
fraction against the guidance scale."""

from __future__ import annotations

import numpy as np

from ..engine.io import save_figure

__all__ = ["plot_guidance"]


def plot_guidance(p: dict, check_scale: float, path, *, what: str = "class"):
    """The figure of ``negative_guidance`` (``what="class"``) and ``negative_guidance_digits``
    (``what="digit"``): the DNG and NP fronts over the scale grid in the quality plane
    (unwanted fraction, MMD²) and the balance plane (unwanted fraction, KL), and the unwanted
    fraction against the scale, the trained model solid and the exact denoisers dashed.

    Parameters
    ----------
    p : dict
        The measurement of :func:`~diffphase.validation.guidance.guidance_point` or
        :func:`~diffphase.validation.guidance.digits_guidance_point`.
    check_scale : float
        The scale marked on the third panel.
    path : str or Path
        Where the PNG goes.
    what : str
        ``"class"`` or ``"digit"`` (axis labels).

    Returns
    -------
    Path
        The saved figure (:func:`~diffphase.validation.engine.io.save_figure`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    whos = [w for w in ("model", "exact") if f"{w}_dynamic" in p]
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.2))
    sc = np.asarray(p["scales"])
    for who in whos:
        ls, alpha = ("-", 1.0) if who == "model" else ("--", 0.5)
        for mode, col in (("dynamic", "C0"), ("constant", "C3")):
            rows = p[f"{who}_{mode}"]
            u = np.array([r["unwanted"] for r in rows])
            use = np.array([r["unwanted_se"] for r in rows])
            m = np.array([r["mmd2"] for r in rows])
            mse = np.array([r["mmd2_se"] for r in rows])
            kl = np.array([r["balance_kl"] for r in rows])
            name = "DNG" if mode == "dynamic" else "NP"
            label = f"{name}, {'trained' if who == 'model' else 'exact denoisers'}"
            xerr = np.vstack([np.minimum(3 * use, u), 3 * use])       # fractions stay >= 0
            yerr = np.vstack([np.minimum(3 * mse, np.maximum(m, 1e-5) - 1e-5), 3 * mse])
            a1.errorbar(u, np.maximum(m, 1e-5), xerr=xerr, yerr=yerr, fmt="o" + ls, ms=4, color=col,
                        alpha=alpha, label=label)
            a2.errorbar(u, kl, xerr=xerr, fmt="o" + ls, ms=4, color=col, alpha=alpha, label=label)
            a3.plot(sc, u, "o" + ls, ms=3, color=col, alpha=alpha, label=label)
            if who == "model":
                for s_, uu, mm, kk in zip(sc, u, m, kl):
                    a1.annotate(f"{s_:g}", (uu, max(mm, 1e-5)), fontsize=6, color=col, xytext=(3, 3),
                                textcoords="offset points")
                    a2.annotate(f"{s_:g}", (uu, kk), fontsize=6, color=col, xytext=(3, 3), textcoords="offset points")
        ug = p[f"{who}_unguided"]
        if who == "model":
            a1.plot([ug["unwanted"]], [max(ug["mmd2"], 1e-5)], "k*", ms=9, label="unguided (trained)")
            a2.plot([ug["unwanted"]], [ug["balance_kl"]], "k*", ms=9, label="unguided (trained)")
    if "mmd2_floor" in p:
        a1.axhline(max(p["mmd2_floor"], 1e-5), color="gray", ls=":", lw=1, label="MMD² of fresh data")
    dq, db = p["model_dominance"]["quality"], p["model_dominance"]["balance"]
    a1.set_yscale("log")
    a1.set_xscale("symlog", linthresh=1e-3)
    a1.set_xlabel(f"fraction of samples in the unwanted {what} (safety)")
    a1.set_ylabel("MMD² to the remaining data (quality)")
    a1.set_title(f"quality plane: dominance S = {dq['S']:.1f}, gain G = {dq['G']:.1f} s.e. (error bars 3 s.e.)",
                 fontsize=9)
    a2.set_xscale("symlog", linthresh=1e-3)
    a2.set_yscale("log")
    for ax in (a1, a2):
        ax.set_xlim(-1e-4, 1.0)
    a2.set_xlabel(f"fraction of samples in the unwanted {what} (safety)")
    a2.set_ylabel("KL(target || obtained shares) (balance)")
    a2.set_title(f"balance plane: dominance S = {db['S']:.1f} s.e.", fontsize=9)
    a3.axvline(check_scale, color="gray", ls=":", lw=1)
    a3.set_xscale("log")
    a3.set_yscale("symlog", linthresh=1e-3)
    a3.set_ylim(-1e-4, 1.0)
    a3.set_xticks(sc)
    a3.set_xticklabels([f"{v:g}" for v in sc])
    a3.minorticks_off()
    a3.set_xlabel(r"guidance scale $\lambda$")
    a3.set_ylabel("unwanted fraction")
    for ax in (a1, a2, a3):
        ax.legend(fontsize=6)
    fig.suptitle(f"Negative guidance away from {what} {p['unwanted_class']}: DNG (dynamic) vs NP (constant) fronts "
                 f"over the λ grid (labels: λ)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
