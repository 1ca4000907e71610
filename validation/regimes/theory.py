r"""The theory of ``diffphase theory gm``: critical quantities and curves of the two-class
Gaussian mixture (Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491), beside the
experiments that measure them on trained models (:mod:`diffphase.validation.regimes`).

All times are OU times (:mod:`diffphase.numerics.conventions`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from diffphase.numerics import gaussian_mixture as gm

from ..engine.io import save_figure

__all__ = ["theory_summary", "plot_theory_curves"]


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
        out["t_U"] = gm.two_class_instability_time(d, mu, sigma)
    if t_s >= 0:
        out["phi(t_S)"] = float(gm.clone_agreement(t_s, d, mu, sigma))
        out["alpha_c(t_S)"] = float(gm.critical_load(t_s, sigma)) if t_s > 0 else math.inf
    return out


def plot_theory_curves(d: int = 1024, n: int = 20000, mu: float = 1.0, sigma: float = 1.0,
                       path: str | Path = "gm_regimes.png") -> Path:
    r"""Write a PNG with :math:`\phi(t)` (left) and :math:`f(t)/\alpha` (right, uncondensed
    branch dashed, physical :math:`\max(f,0)` solid), :math:`t_S` and :math:`t_C` marked.

    The file is written atomically (:func:`~diffphase.validation.engine.io.save_figure`).
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
