"""The figures of ``class_information`` and ``class_information_digits``
(:mod:`diffphase.validation.information`)."""

from __future__ import annotations

import math

import numpy as np

from ..engine.io import save_figure

__all__ = ["plot_class_information", "plot_class_information_digits"]


def _shade_final(ax, t_end, t_final):
    ax.axvspan(t_end, t_final, color="0.85", zorder=0, lw=0)


def plot_class_information(p: dict, path):
    r"""The figure of ``class_information``: :math:`H(Y\mid X_t)` (online classifier, exact
    posterior, theory), its rate at the nodes and the theory's, the per-class entropies and
    their rates, the final stage shaded.

    Parameters
    ----------
    p : dict
        The measurement of :func:`~diffphase.validation.information.information_point`.
    path : str or Path
        Where the PNG goes.

    Returns
    -------
    Path
        The saved figure (:func:`~diffphase.validation.engine.io.save_figure`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.asarray(p["times"])
    m, th = p["model"], p["theory"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    (a1, a2), (a3, a4) = axes
    a1.plot(t, p["H_theory"], "k-", lw=1.5, label=r"theory $H(Y\mid X_t)$")
    a1.fill_between(t, np.asarray(p["H_online"]) - 3 * np.asarray(p["H_online_se"]),
                    np.asarray(p["H_online"]) + 3 * np.asarray(p["H_online_se"]), color="C0", alpha=0.3)
    a1.plot(t, p["H_online"], "C0-", label="online classifier, trained model")
    a1.plot(t, p["H_exact_path"], "C2--", lw=1, label="exact posterior on the model's paths")
    a1.plot(t, p["H_exact_online"], "C1:", lw=1, label="online classifier, exact denoisers")
    a1.axvline(p["half_model"], color="C0", ls="-.", lw=0.8)
    a1.axvline(p["half_theory"], color="k", ls="--", lw=0.8,
               label=f"middle of the transfer: model {p['half_model']:.3f}, theory {p['half_theory']:.3f}")
    a1.set_title("conditional entropy (band: 3 s.e.; grey: final stage)", fontsize=9)
    a1.set_ylabel("nats")
    a2.plot(p["theory_fine"], p["rate_theory"], "k-", lw=1.5, label="theory $dH/dt$ (de Bruijn)")
    a2.errorbar(p["mid"], p["rate_online"], yerr=3 * np.asarray(p["rate_online_se"]), fmt="o", ms=3, color="C0",
                label="online classifier, trained model (3 s.e.)")
    mid = np.asarray(p["mid"])
    k = int(m["peak_index"])
    a2.plot([mid[k]], [m["rate"][k]], "*", color="C3", ms=12,
            label=f"maximum: interior by z = {m['z_interior']:.1f} s.e.")
    a2.plot(mid[[0, -1]], np.asarray(m["rate"])[[0, -1]], "s", mfc="none", color="C3", ms=8, label="end nodes")
    a2.axvline(p["peak_theory"], color="k", ls="--", lw=1)
    a2.axvline(p["peak_model"], color="C0", ls="-.", lw=1,
               label=rf"peaks: model {p['peak_model']:.3f}, theory {p['peak_theory']:.3f}")
    a2.set_title(f"entropy rate (error bars 3 s.e.)\nthe final stage (grey) carries {100 * m['final_share']:.2f} % "
                 f"of the transfer (theory {100 * th['final_share']:.2f} %)", fontsize=9)
    a2.set_ylabel("entropy rate (nats / unit t)")
    for y in range(p["K"]):
        hm = np.asarray(p["Hy_model"][y], dtype=np.float64)
        se = np.asarray(p["Hy_model_se"][y], dtype=np.float64)
        a3.fill_between(t, hm - 3 * se, hm + 3 * se, color=f"C{y}", alpha=0.3)
        a3.plot(t, hm, "-", color=f"C{y}", lw=1,
                label=rf"class {y} ($\pi$={p['weights'][y]:.2f}, $\sqrt{{v}}$={math.sqrt(p['variances'][y]):.2g}): "
                      f"model, {p['class_counts'][y]} paths")
        a3.plot(t, p["Hy_theory"][y], "--", color="k", lw=0.8)
        a3.axvline(p["half_y_model"][y], color=f"C{y}", ls="-.", lw=0.8)
        ry = np.asarray(p["rate_y_model"][y], dtype=np.float64)
        a4.errorbar(mid, ry, yerr=3 * np.asarray(p["rate_y_model_se"][y], dtype=np.float64), fmt="o", ms=3,
                    color=f"C{y}", label=f"class {y}: peak {p['peak_y_model'][y]:.3f} "
                                         f"(theory {p['peak_y_theory'][y]:.3f})")
        a4.plot(p["theory_fine"], p["rate_y_theory"][y], "-", color=f"C{y}", lw=1)
        a4.axvline(p["half_y_model"][y], color=f"C{y}", ls="-.", lw=0.8)
    a3.set_title("per-class entropy $H_y$ (paths grouped by final class)\ndashed: theory; dash-dot: midpoints",
                 fontsize=9)
    a3.set_ylabel(r"$H_y(t)$ (nats)")
    sep = p["separation"]
    a4.set_title(f"per-class rates $dH_y/dt$ (lines: theory; dash-dot: midpoints)\nmidpoints of classes "
                 f"{tuple(sep['pair'])} differ by z = {sep['z_max']:.1f} (threshold {sep['threshold']:.2f})",
                 fontsize=9)
    a4.set_ylabel(r"$dH_y/dt$")
    for ax in axes.ravel():
        ax.set_xscale("log")
        ax.set_xlabel("OU time $t$ (generation runs right to left)")
        _shade_final(ax, t[-1], p["t_final"])
        ax.legend(fontsize=7)
    fig.suptitle(f"Class information, K={p['K']} mixture in d={p['d']} (trained class-conditional MLP)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)



def plot_class_information_digits(p: dict, path):
    r"""The figure of ``class_information_digits``: the online classifier's and the noisy
    classifier's :math:`H(Y\mid X_t)` and rates, per-digit entropies and rates; ``p`` is the
    measurement of :func:`~diffphase.validation.information.digits_information_point`, the
    PNG goes to ``path`` and its path is returned, as in :func:`plot_class_information`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.asarray(p["times"])
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    (a1, a2), (a3, a4) = axes
    for name, col, lab in (("online", "C0", "online classifier (model's denoisers)"),
                           ("classifier", "C3", "noise-conditioned classifier")):
        H, se = np.asarray(p[f"H_{name}"]), np.asarray(p[f"H_{name}_se"])
        a1.fill_between(t, H - 3 * se, H + 3 * se, color=col, alpha=0.3)
        a1.plot(t, H, color=col, label=lab)
        st = p[name]
        a2.errorbar(p["mid"], st["rate"], yerr=3 * np.asarray(st["rate_se"]), fmt="o-", ms=3, color=col,
                    label=f"{lab}: peak {st['peak_time']:.3f}, z = {st['z_interior']:.1f}, "
                          f"final/peak {st['final_ratio']:.2f}")
        k = int(st["peak_index"])
        a2.plot([p["mid"][k]], [st["rate"][k]], "*", color=col, ms=12)
    a1.plot(t, p["tv"], "k:", lw=1, label="mean TV between the two posteriors")
    for name, col in (("online", "C0"), ("classifier", "C3")):
        a1.axvline(p[f"half_{name}"], color=col, ls="--", lw=0.8)
    a1.set_ylabel("nats")
    a1.set_title(r"$H(Y\mid X_t)$ along the model's paths (band 3 s.e.; grey: final stage)", fontsize=9)
    a2.set_ylabel("entropy rate")
    a2.set_title("entropy rate (stars: maxima)", fontsize=9)
    mid = np.asarray(p["mid"])
    for y in range(len(p["Hy_model"])):
        a3.plot(t, p["Hy_model"][y], "-", color=f"C{y % 10}", lw=1, label=f"{y} ({p['class_counts'][y]})")
        a3.plot(t, p["Hy_classifier"][y], ":", color=f"C{y % 10}", lw=1)
        a4.plot(mid, p["rate_y_model"][y], "o-", ms=2, color=f"C{y % 10}", lw=1,
                label=f"{y}: peak {p['peak_y_model'][y]:.3f}")
    a3.set_ylabel(r"$H_y(t)$ (nats)")
    a3.set_title("per final digit (paths): online (solid), noisy classifier (dotted)", fontsize=8)
    sep = p["separation"]
    a4.set_ylabel(r"$dH_y/dt$ (online)")
    a4.set_title(f"per-digit rates; digits {tuple(sep['pair'])} peaks differ by z = {sep['z_max']:.1f} "
                 f"(threshold {sep['threshold']:.2f})", fontsize=8)
    for ax in axes.ravel():
        ax.set_xscale("log")
        ax.set_xlabel("OU time $t$")
        _shade_final(ax, t[-1], p["t_final"])
        ax.legend(fontsize=6, ncol=2 if ax in (a3, a4) else 1)
    fig.suptitle("Class information on digits (class-conditional MLP DDPM)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)

