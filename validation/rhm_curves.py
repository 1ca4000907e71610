r"""Class-reconstruction curves of the RHM from exact belief propagation, with the mean-field
prediction (:func:`diffphase.numerics.rhm.mean_field_curve`) overlaid.

The curve is :math:`P_\text{class}(\varepsilon)`, the probability that a forward--backward
experiment at noise level :math:`\varepsilon` (probability a token is not kept; OU time
:math:`t=-\tfrac12\log(1-\varepsilon)`) keeps the class, estimated as the mean posterior
probability of the true class (:func:`diffphase.numerics.rhm.class_curves`), for several
depths ``L``. Used by ``diffphase rhm curves``.
"""

from __future__ import annotations

import numpy as np

from diffphase.numerics import conventions as cv
from diffphase.numerics.rhm import RHM, class_curves, mean_field_curve

from .engine.io import save_figure

__all__ = ["rhm_class_curves", "plot_rhm_class_curves", "curve_crossings"]


def rhm_class_curves(v=32, m=8, s=2, depths=(2, 4, 6, 8, 10), process="epsilon", noises=None,
                     n_samples=400, seed=0, rules_seed=0, dtype=np.float32):
    r"""Exact-BP :math:`P_\text{class}(\varepsilon)` for several depths (and mean field).

    Parameters
    ----------
    v, m, s : int
        RHM parameters (``n_classes = v``).
    depths : sequence of int
        Depths ``L`` (one RHM with rules from ``rules_seed`` per depth).
    process : {"epsilon", "masking", "uniform"}
    noises : array_like, optional
        Noise levels :math:`\varepsilon\in[0,1]` (default 31 points on [0, 1]).
    n_samples : int
        Data per point (the same data at every noise level of one depth).
    seed : int
        Seed of the data and noise draws.
    dtype : numpy dtype
        BP precision.

    Returns
    -------
    dict
        ``noise`` (k,), ``time`` (k,) OU times (inf at 1), and per depth ``L``:
        ``p[L]``, ``stderr[L]`` (k,) from BP and ``mean_field[L]`` (k,), the mean-field
        probability at the root.

    Examples
    --------
    >>> out = rhm_class_curves(v=4, m=2, s=2, depths=(2,), noises=[0.0, 1.0], n_samples=20)
    >>> [round(float(x), 6) for x in out["p"][2]]
    [1.0, 0.25]
    """
    if noises is None:
        noises = np.linspace(0.0, 1.0, 31)
    noises = np.asarray(noises, dtype=np.float64)
    out = {"noise": noises, "process": process, "v": v, "m": m, "s": s,
           "p": {}, "stderr": {}, "mean_field": {}}
    t = np.full(noises.shape, np.inf)
    t[noises < 1] = cv.time_from_noise_level(noises[noises < 1])
    out["time"] = t
    for L in depths:
        rhm = RHM(v, m, s, L, seed=rules_seed)
        p, se = class_curves(rhm, process, noises, n_samples, seed=seed, dtype=dtype)
        out["p"][L], out["stderr"][L] = p[:, 0], se[:, 0]
        out["mean_field"][L] = np.asarray(mean_field_curve(v, m, s, L, noises, process=process))[-1]
    return out


def curve_crossings(noises, p_a, p_b):
    """Noise levels where two curves cross (linear interpolation of ``p_a - p_b``)."""
    diff = np.asarray(p_a) - np.asarray(p_b)
    x = np.asarray(noises)
    idx = np.flatnonzero(np.sign(diff[:-1]) * np.sign(diff[1:]) < 0)
    return [float(x[i] - diff[i] * (x[i + 1] - x[i]) / (diff[i + 1] - diff[i])) for i in idx]


def plot_rhm_class_curves(path="rhm_class_curves.png", **kwargs):
    """Compute :func:`rhm_class_curves` and write the PNG (BP solid with error bars, mean
    field dashed) atomically; returns ``(path, curves)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = rhm_class_curves(**kwargs)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    cmap = plt.get_cmap("viridis")
    depths = list(curves["p"])
    for k, L in enumerate(depths):
        c = cmap(k / max(1, len(depths) - 1))
        ax.errorbar(curves["noise"], curves["p"][L], yerr=curves["stderr"][L], color=c, marker="o",
                    ms=3, lw=1.2, label=f"BP, L={L}")
        ax.plot(curves["noise"], curves["mean_field"][L], color=c, ls="--", lw=1)
    ax.set_xlabel(r"noise level $\varepsilon = 1-\bar\alpha$")
    ax.set_ylabel("P(class kept)")
    ax.set_title(f"RHM v={curves['v']} m={curves['m']} s={curves['s']}, {curves['process']} "
                 "process (dashed: mean field)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path), curves
