r"""The figure of ``late_start``: plain-start curves, few-step quality and class balance against
the start time, and MMD² against the step budget."""

from __future__ import annotations

import math

import numpy as np

from ..engine.io import save_figure

__all__ = ["plot_late_start"]


def plot_late_start(p: dict, q: dict | None, path):
    r"""The ``late_start`` figure, two rows of two panels per leg (mixture; digits when given).

    (a) plain-start curves (MMD² against the start time :math:`t_0` of the
    :math:`\mathcal N(0, I)` start, with their knees, the exact reverse dynamics and the class
    fraction); (b) few-step samplers: MMD² of the Gaussian late start against :math:`t_0` for
    every budget, pure noise at :math:`t_{max}` marked; (c) MMD² against the number of steps
    from pure noise and from the late start (at the knee, the grid minimum, and the fresh runs);
    (d) class balance of the late start against :math:`t_0`. :math:`t_S` and :math:`t_U` marked.
    OU time.

    Parameters
    ----------
    p : dict
        Output of :func:`~diffphase.validation.symmetry.mixture_point`.
    q : dict or None
        Output of :func:`~diffphase.validation.symmetry.digits_point`, or None.
    path : path-like
        PNG to write (:func:`~diffphase.validation.engine.io.save_figure`).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    legs = [("mixture", p, [("model", "-"), ("exact", "--")])]
    if q is not None:
        legs.append(("digits", q, [("model", "-")]))
    fig, axes = plt.subplots(2 * len(legs), 2, figsize=(14, 9.6 * len(legs)), squeeze=False)
    for i, (label, pt, curves) in enumerate(legs):
        (a0, a2), (a1, a3) = axes[2 * i], axes[2 * i + 1]
        # (a) raya.early_irrelevant: plain N(0, I) start, many steps
        for (name, ls), col in zip(curves, ("C0", "C1")):
            pc = pt[name]["plain"]
            an = pc["analysis"]
            a0.errorbar(pc["t0s"], pc["mmd2"], yerr=pc["se"], color=col, ls=ls, marker="o", ms=4, capsize=0, lw=1.3,
                        label=f"{name}, every {pc['stride']}th DDPM step")
            a0.axvline(an["t_knee"], color=col, ls=ls, lw=1.0, alpha=0.8,
                       label=rf"knee ($\max y''$), {name}: $t={an['t_knee']:.2f}$")
        if "exact_dynamics" in pt:
            ed = pt["exact_dynamics"]
            a0.errorbar(ed["t0s"], ed["mmd2"], yerr=ed["se"], color="k", marker=".", ms=4, capsize=0, lw=1.0, alpha=0.7,
                        label="exact reverse dynamics (no discretization)")
        tw = a0.twinx()
        cls = -1 if label == "mixture" else 0
        for (name, ls), col in zip(curves, ("C0", "C1")):
            pc = pt[name]["plain"]
            tw.plot(pc["t0s"], np.asarray(pc["fractions"])[:, cls], color=col, ls=ls, lw=0.8, alpha=0.45, marker="x",
                    ms=3)
        tw.axhline(pt["weight"] if label == "mixture" else pt["train_fractions"][0], color="gray", lw=0.6, alpha=0.6)
        tw.set_ylabel("class +m fraction (thin lines, x)" if label == "mixture" else
                      "fraction labelled 0 (thin lines, x)", fontsize=7, color="gray")
        a0.set_xscale("log")
        a0.set_xlabel(r"start time $t_0$ of the plain $\mathcal{N}(0, I)$ start (OU time; grid: DDPM steps "
                      "50, 100, 200, ..., 1000)", fontsize=7)
        a0.set_ylabel(r"MMD$^2$ to held-out data")
        a0.set_title(f"{label}: plain start, many steps (raya.early_irrelevant)", fontsize=8)
        # (b) few-step samplers: MMD² vs t0 for every budget; (d) class balance
        budgets = pt["model"]["budgets"]
        for b, n_steps in enumerate(budgets):
            col = f"C{b}"
            for name, ls in curves:
                c = pt[name]
                a1.errorbar(c["t0s"], c["late_mmd2"][b], yerr=c["late_se"][b], color=col, ls=ls, marker=".",
                            ms=4, capsize=0, lw=1.2, label=f"{n_steps} steps, {name}")
                a1.plot([c["t_max"]], [c["noise_mmd2"][b]], marker="*" if name == "model" else "x", color=col,
                        ms=8)
                a3.plot(c["t0s"], np.asarray(c["late_fractions"])[b, :, -1 if label == "mixture" else 0],
                        color=col, ls=ls, marker=".", ms=4, lw=1.0)
        for ax in (a0, a1, a3):
            ax.axvline(pt["t_U"], color="k", ls=":", lw=1.2, label=rf"$t_U={pt['t_U']:.3f}$")
            ax.axvline(pt["t_S"], color="gray", ls="-.", lw=1.2, label=rf"$t_S={pt['t_S']:.3f}$")
        a0.legend(fontsize=6)
        a1.set_xlabel(r"Gaussian late start time $t_0$ (OU time)")
        a3.set_xlabel(r"Gaussian late start time $t_0$ (OU time)")
        for ax in (a0, a1, a2):
            ax.set_yscale("symlog", linthresh=1e-3)
            ax.set_ylim(bottom=-1e-3)
        a1.set_ylabel(r"MMD$^2$ to held-out data")
        a1.set_title(f"{label}: Gaussian late start, few steps (model solid, exact dashed; stars/crosses: pure "
                     r"noise at $t_{max}$)", fontsize=8)
        a1.legend(fontsize=6, ncol=2)
        if label == "mixture":
            a3.axhline(pt["weight"], color="k", lw=0.8)
            band = 2 * math.sqrt(pt["weight"] * (1 - pt["weight"]) / pt["n_samples"])
            a3.axhspan(pt["weight"] - band, pt["weight"] + band, color="gray", alpha=0.2, lw=0,
                       label="weight ± 2 binomial s.e.")
            if "balance_exact_dynamics" in pt:
                a3.plot(pt["exact"]["t0s"], pt["balance_exact_dynamics"], color="k", lw=2.0, alpha=0.7,
                        label="exact dynamics (infinitely many steps)")
            a3.set_ylabel("fraction of samples in class +m (exact posterior)")
        else:
            a3.axhline(pt["train_fractions"][0], color="k", lw=0.8)
            a3.set_ylabel("fraction of samples labelled 0 (classifier)")
        a3.legend(fontsize=6)
        a3.set_title(f"{label}: class balance of the Gaussian late start vs start time", fontsize=8)
        # (c) raya.late_init: MMD² vs steps, pure noise vs late start; fresh runs at the smallest budget
        for name, ls in curves:
            c = pt[name]
            t0s = np.asarray(c["t0s"])
            k_n = int(np.argmin(np.abs(t0s - c["plain"]["analysis"]["t_knee"])))
            late = np.asarray(c["late_mmd2"])
            a2.errorbar(budgets, c["noise_mmd2"], yerr=c["noise_se"], color="C3", ls=ls, marker="o", ms=4,
                        label=f"pure noise, {name}")
            a2.errorbar(budgets, late[:, k_n], yerr=np.asarray(c["late_se"])[:, k_n], color="C0", ls=ls,
                        marker="s", ms=4, label=rf"late start at $t_0={t0s[k_n]:.2f}\approx$ knee, {name}")
            a2.plot(budgets, late.min(axis=1), color="C2", ls=ls, marker="^", ms=4,
                    label=rf"late start, min over the $t_0$ grid (biased low), {name}")
            f = c["fresh"]
            for kind, mk, col in (("noise", "o", "C3"), ("late", "^", "C2"), ("knee", "s", "C0")):
                if kind in f:
                    a2.errorbar([budgets[0] * (0.93 if name == "model" else 0.87)], [f[kind]["mmd2"]],
                                yerr=[f[kind]["se"]], color=col, marker=mk, mfc="none", ms=7, capsize=2, ls="none")
        a2.plot([], [], color="gray", marker="o", mfc="none", ls="none",
                label=f"open markers: fresh runs at {budgets[0]} steps (improvement verdicts)")
        a2.set_xscale("log")
        a2.set_xticks(budgets, [str(b) for b in budgets])
        a2.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        a2.set_xlabel("sampler steps")
        a2.set_ylabel(r"MMD$^2$")
        a2.set_title(f"{label}: MMD² vs steps with and without the Gaussian late start (raya.late_init)",
                     fontsize=8)
        a2.legend(fontsize=6)
    fig.tight_layout()
    return save_figure(fig, path)
