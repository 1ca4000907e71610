r"""The figure of :mod:`diffphase.validation.memorization`, written atomically
(:func:`~diffphase.validation.engine.io.save_figure`).
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics import gaussian_mixture as gm

from ..engine.io import save_figure
from .analysis import fraction_curve

__all__ = ["plot_memorization"]


def plot_memorization(points: list, s: dict, path, config: dict):
    r"""The ``memorization`` figure: memorized, spurious and generalized fractions of the
    trained model and of the empirical-score sampler against ``K`` with the collapse
    predictions (left); :math:`t_C(X_K)` with the large-``d`` :math:`t_C` and ``t_end`` (right,
    OU time).

    Parameters
    ----------
    points : list of dict
        Results of :func:`~diffphase.validation.memorization.memorization_point`, by ``K``.
    s : dict
        :func:`~diffphase.validation.memorization.analysis.summarize` of the points.
    path : str or Path
        PNG to write (atomically).
    config : dict
        The experiment's configuration.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    K = np.array([p["K"] for p in points], dtype=np.float64)
    colors = {"memorized": "C0", "spurious": "C3", "generalized": "C2"}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 5.4), gridspec_kw={"width_ratios": [1.6, 1]})
    for cls, c in colors.items():
        f, se = fraction_curve(points, "model", cls)
        a1.errorbar(K, f, yerr=2 * se, fmt="o-", color=c, ms=5, lw=1.5, capsize=2, label=f"model: {cls}")
        f, se = fraction_curve(points, "empirical", cls)
        a1.errorbar(K * 1.04, f, yerr=2 * se, fmt="s--", color=c, ms=4, lw=1, mfc="none", capsize=2,
                    label=f"empirical score: {cls}")
    fn, _ = fraction_curve(points, "null", "generalized")
    a1.plot(K, 1 - fn, ":", color="gray", lw=1, label="fresh data: not generalized")
    a1.axvline(s["K_c"], color="k", ls="--", lw=1.2, label=rf"collapse $K_c=e^{{d\alpha_c(t_{{end}})}}={s['K_c']:.0f}$")
    if math.isfinite(s["logK_collapse_finite"]):
        a1.axvline(math.exp(s["logK_collapse_finite"]), color="k", ls=":", lw=1.2,
                   label=rf"$t_C(X_K)=t_{{end}}$: $K={math.exp(s['logK_collapse_finite']):.0f}$")
    if math.isfinite(s["logK_model"]):
        a1.axvline(math.exp(s["logK_model"]), color="C0", ls="-.", lw=1,
                   label=rf"model ½-crossing $K={math.exp(s['logK_model']):.0f}$")
    a1.set_xscale("log")
    a1.set_ylim(-0.03, 1.03)
    a1.set_xlabel("training-set size $K$")
    a1.set_ylabel("fraction of samples")
    a1.set_title(rf"$d={config['d']}$, samplers stopped at $t_{{end}}={s['t_end']:.4f}$ (error bars 2 s.e.)",
                 fontsize=9)
    a1.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    t_c = np.array([p["t_C"] for p in points], dtype=np.float64)
    a2.errorbar(K, t_c, yerr=2 * np.nan_to_num(np.array([p["t_C_se"] for p in points], dtype=np.float64)),
                fmt="o-", color="k", ms=4, label=r"$t_C(X_K)$ (leave-one-out excess entropy)")
    kk = np.unique(np.round(np.geomspace(max(K.min(), 2.0), K.max(), 200)).astype(int))
    a2.plot(kk, [gm.collapse_time(int(k), int(config["d"]), float(config["sigma"])) for k in kk],
            color="C1", lw=1, label=r"large-$d$ $t_C$")
    a2.axhline(s["t_end"], color="gray", ls="--", lw=1, label=r"$t_{end}$")
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("training-set size $K$")
    a2.set_ylabel("collapse time (OU)")
    a2.set_title("memorized iff $t_C > t_{end}$", fontsize=9)
    a2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    fig.tight_layout()
    return save_figure(fig, path)
