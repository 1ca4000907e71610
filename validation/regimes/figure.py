r"""The figures of :mod:`diffphase.validation.regimes`: clone-agreement panels (speciation) and
the collapse figure. Written atomically (:func:`~diffphase.validation.engine.io.save_figure`).
"""

from __future__ import annotations

import math

import numpy as np

from ..engine.io import save_figure
from .tolerances import PHI_LEVEL

__all__ = ["plot_phi_panels", "plot_collapse"]


def plot_phi_panels(points: list, path, title: str, *, level: float = PHI_LEVEL):
    r"""One panel per sweep point: the clone agreement :math:`\phi` against :math:`t/t_S`
    (OU time), trained-model clones (and exact-score clones and the quadrature curve when the
    point has them) with 3-standard-error bars, the level ``level`` and the measured crossing.

    Parameters
    ----------
    points : list of dict
        Results of :func:`~diffphase.validation.regimes.speciation_gm_point` or
        :func:`~diffphase.validation.regimes.speciation_images_point`, each with a ``label``.
    path : str or Path
        PNG to write (atomically).
    title : str
    level : float
        The agreement level drawn (default :data:`~diffphase.validation.regimes.PHI_LEVEL`).

    Returns
    -------
    Path
    """
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
                        label=p.get("exact_label", "exact-score clones"))
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


def plot_collapse(p: dict, path):
    r"""The ``collapse`` figure: :math:`\phi_C(t)` of trained-model and exact empirical-score
    clones against OU time with :math:`t_C` marked (left), the leave-one-out excess entropy
    :math:`f(t)/\alpha` and the memorized fractions (right).

    Parameters
    ----------
    p : dict
        Result of :func:`~diffphase.validation.regimes.collapse_point`.
    path : str or Path
        PNG to write (atomically).

    Returns
    -------
    Path
    """
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
    if np.isfinite(p["t_C_theory"]):
        a1.axvline(p["t_C_theory"], color="C1", ls=":", lw=1,
                   label=rf"$t_C$ large-$d$ formula $={p['t_C_theory']:.3f}$")
    a1.set_xlabel("OU time $t$")
    a1.set_ylabel(r"$\phi_C(t)$")
    what = f"{p['dataset']} {'x'.join(map(str, p['image_shape'][1:]))}, " if "dataset" in p else ""
    a1.set_title(rf"collapse, {what}$d={p['d']}$, $n={p['n_train']}$ (error bars 3 s.e.)", fontsize=9)
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
