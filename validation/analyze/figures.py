"""The figures of ``diffphase analyze``: the regimes diagram and the spectrum of a
:class:`~diffphase.numerics.portrait.Portrait` (:class:`matplotlib.figure.Figure`, no pyplot
state). Times are OU times, with the DDPM step of the linear-:math:`\beta`, :math:`T = 1000`
schedule on the right axis.
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics import portrait as pt

__all__ = ["regimes_figure", "spectrum_figure"]


def _step_axis(ax):
    """Right axis: DDPM step of the linear-beta T = 1000 schedule for the OU time on the left."""
    times, steps = pt.SCHEDULE.times, np.arange(pt.SCHEDULE.T + 1, dtype=float)
    sec = ax.secondary_yaxis("right", functions=(lambda t: np.interp(t, times, steps),
                                                 lambda k: np.interp(k, steps, times)))
    sec.set_ylabel(f"DDPM step (linear β, T = {pt.SCHEDULE.T})")
    return sec


def regimes_figure(p: pt.Portrait, title: str = ""):
    """The regimes diagram of a portrait (see the module docstring); returns a
    :class:`matplotlib.figure.Figure`.

    Horizontal lines: the speciation time :math:`t_S` and the class-pair speciation times
    (properties of the distribution, the same for every :math:`n`); red: the collapse curve
    :math:`t_C(n)` of nested subsamples with standard errors, memorization below it; green bar
    at :math:`n`: the class-information window of the full data and its steepest descent.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5.4))
    ax = fig.subplots()
    sizes, tC, se = p.sizes[::-1], p.sizes_t_C[::-1], p.sizes_t_C_stderr[::-1]
    ok = np.isfinite(tC)
    top = [v for v in [p.t_S, np.nanmax(tC) if ok.any() else np.nan] if np.isfinite(v)]
    if p.pair_times is not None:
        top.append(float(np.max(p.pair_times)))
    if p.info_window is not None:
        top.append(p.info_window[1])
    ymax = 1.18 * max(top + [0.1])
    xlo, xhi = sizes.min() / 2.0, p.n * 2.0
    ax.set_xscale("log")
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(0, ymax)
    if p.pair_times is not None:
        for k, tp in enumerate(p.pair_times):
            ax.axhline(tp, color="C0", lw=0.7, alpha=0.35,
                       label=f"class-pair speciation ({len(p.pair_times)} pairs)" if k == 0 else None)
    xmid = math.sqrt(xlo * p.n)
    if p.t_S > 0:
        ax.axhline(p.t_S, color="C0", lw=2.2, label=r"speciation $t_S = \frac{1}{2}\log\Lambda$")
        first = max(p.t_S, float(np.max(p.pair_times)) if p.pair_times is not None else -np.inf)
        ax.text(xmid, first + 0.015 * ymax, "no class yet (noise)", color="C0", fontsize=9, va="bottom",
                ha="center")
    else:
        ax.text(xlo * 1.15, ymax * 0.93, f"$t_S$ = {p.t_S:.2f} < 0: no speciation at $t > 0$ at this scale",
                color="C0", fontsize=9)
    if ok.any():
        ax.fill_between(sizes[ok], 0, tC[ok], color="C3", alpha=0.10, lw=0)
        ax.errorbar(sizes[ok], tC[ok], yerr=se[ok], fmt="o-", color="C3", ms=4, capsize=2,
                    label="collapse $t_C(n)$ (nested subsamples)")
        ax.text(xmid, 0.35 * np.nanmin(tC), "memorization (collapse)", color="C3", fontsize=9, ha="center")
        upper = p.t_S if p.t_S > 0 else ymax
        if math.isfinite(p.t_C) and upper > p.t_C:
            ax.text(p.n / 1.4, 0.5 * (p.t_C + upper), "generalization", color="0.3", fontsize=9, va="center",
                    ha="right")
    if p.info_window is not None:
        ax.plot([p.n, p.n], list(p.info_window), color="C2", lw=7, alpha=0.45, solid_capstyle="butt",
                label=r"class-information window at n ($dH/dt \geq \frac{1}{2}$ max)")
        ax.plot([p.n], [p.t_info], "D", color="C2", ms=6, label="steepest descent of $H(Y|X_t)$")
    ax.axvline(p.n, color="grey", ls=":", lw=1)
    ax.set_xlabel(f"training-set size n (this data set: n = {p.n})")
    ax.set_ylabel("OU time t")
    _step_axis(ax)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.12), ncol=2, frameon=False)
    ax.set_title(title or f"Regimes: n = {p.n}, d = {p.d}", fontsize=11)
    fig.subplots_adjust(bottom=0.27, right=0.86, top=0.93)
    return fig


def spectrum_figure(p: pt.Portrait, title: str = ""):
    r"""The leading covariance eigenvalues as speciation times :math:`\tfrac12\log\lambda_i`
    (eigenvalue on the right axis), with :math:`t = 0`, :math:`t_C` and the class-pair times;
    returns a :class:`matplotlib.figure.Figure`."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.subplots()
    lam = np.asarray(p.eigenvalues)
    keep = lam > 1e-8 * lam[0]        # rounding-level eigenvalues of rank-deficient data are dropped
    i = np.arange(1, lam.size + 1)[keep]
    t = 0.5 * np.log(lam[keep])
    ax.plot(i, t, "o", ms=3.5, color="C0", label=r"direction $i$: $\frac{1}{2}\log\lambda_i$")
    ax.axhline(0.0, color="grey", lw=1, ls=":", label=r"$t = 0$ ($\lambda = 1$)")
    if math.isfinite(p.t_C):
        ax.axhline(p.t_C, color="C3", lw=1, ls="--", label=f"collapse $t_C$ = {p.t_C:.3g}")
    if p.pair_times is not None:
        ax.plot(np.full(p.pair_times.size, 0.3), p.pair_times, "_", ms=12, color="C1",
                label=r"class pairs $\frac{1}{2}\log\Lambda_{ab}$")
    ax.annotate(rf"$\Lambda$ = {lam[0]:.3g}, $t_S$ = {p.t_S:.3g}", (1, t[0]), xytext=(14, 2),
                textcoords="offset points", fontsize=9)
    ax.set_xlim(-0.5, lam.size + 1)
    ax.set_xlabel("direction i (decreasing variance)")
    ax.set_ylabel(r"speciation time $\frac{1}{2}\log\lambda$ (OU time)")
    sec = ax.secondary_yaxis("right", functions=(lambda v: np.exp(np.clip(2 * np.asarray(v), -700, 700)),
                                                 lambda v: 0.5 * np.log(np.maximum(v, 1e-300))))
    lo, hi = ax.get_ylim()
    decades = np.arange(math.floor(2 * lo / math.log(10)), math.ceil(2 * hi / math.log(10)) + 1)
    sec.set_yticks(10.0 ** decades, [f"$10^{{{int(k)}}}$" for k in decades])
    sec.set_ylabel(r"eigenvalue $\lambda$")
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    ax.set_title(title or f"Spectrum and speciation times (scale: {p.scale.split(':')[0]})", fontsize=11)
    fig.subplots_adjust(right=0.86)
    return fig
