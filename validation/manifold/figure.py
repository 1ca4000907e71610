r"""The figure of the ``manifold`` experiment (:func:`plot_manifold`)."""

from __future__ import annotations

import numpy as np

from ..engine.io import save_figure
from .protocol import LEVEL, gap_indices

__all__ = ["plot_manifold"]


def plot_manifold(points: list, ana: dict, config: dict, path):
    r"""The figure of the ``manifold`` experiment, four panels: the median normalised spectra at
    the noise level nearest ``config["show_noise"]`` (trained models and exact empirical
    scores), the spectral gaps and the dimension estimate against the training-set size
    :math:`N` at that level, and the fractions of training points keeping ``A``, ``B``, exactly
    one, none against the noise level :math:`\sigma^2 = e^{2t}-1` (OU time ``t``) for the largest
    trained :math:`N` and the largest exact-empirical :math:`N`.

    Parameters
    ----------
    points : list of dict
        The sweep items (:func:`~diffphase.validation.manifold.protocol.manifold_point`).
    ana : dict
        Per ``n_train``, the statistics of :func:`~diffphase.validation.manifold.verdicts.run_manifold`.
    config : dict
        The experiment's configuration (``dim``, ``d1``, ``d2``, ``show_noise``).
    path : path-like
        Where the figure goes.

    Returns
    -------
    Path
        The saved figure (:func:`~diffphase.validation.engine.io.save_figure`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    D, d1, d2 = int(config["dim"]), int(config["d1"]), int(config["d2"])
    noise = np.asarray(points[0]["noise"], dtype=np.float64)
    j = int(np.argmin(np.abs(np.log(noise / float(config["show_noise"])))))
    s2 = noise[j]
    ns = [p["n_train"] for p in points]
    cmap = plt.get_cmap("viridis")
    col = {n: cmap(i / max(1, len(ns) - 1)) for i, n in enumerate(sorted(ns))}
    gi = gap_indices(d1, d2)
    fig, axs = plt.subplots(2, 2, figsize=(14, 9.5))
    ax = axs.ravel()
    idx = np.arange(1, D)
    for p in sorted(points, key=lambda q: q["n_train"]):
        n = p["n_train"]
        if p["model"] is not None:
            ax[0].plot(idx, np.asarray(p["model"]["spectrum"])[j], "o-", ms=3, color=col[n], label=f"model N={n}")
        ax[0].plot(idx, np.asarray(p["empirical"]["spectrum"])[j], "s--", ms=2.5, color=col[n], alpha=0.7,
                   label=f"empirical N={n}")
    for m, c in zip(gi, ("C3", "C2", "k")):
        ax[0].axvline(D - 1 - m + 0.5, color=c, ls=":", lw=1)
    ax[0].axhline(LEVEL, color="gray", lw=0.8)
    ax[0].set_xlabel("index of the normalised singular value (descending); dotted: the m smallest to the right")
    ax[0].set_ylabel("normalised singular value (median over points)")
    ax[0].set_title(rf"spectra at $\sigma^2={s2:.3g}$ ($D={D}$, $d_1={d1}$, $d_2={d2}$, on the sphere)", fontsize=9)
    ax[0].set_xlim(max(0.5, D - 1 - (d1 + d2 + 4)), D - 0.5)
    ax[0].legend(fontsize=6, ncol=2)
    nsort = np.array(sorted(ns), dtype=np.float64)
    for who, ls, mk in (("model", "-", "o"), ("empirical", "--", "s")):
        pts = [p for p in sorted(points, key=lambda q: q["n_train"]) if p[who] is not None]
        if not pts:
            continue
        x = np.array([p["n_train"] for p in pts], dtype=np.float64)
        g = np.array([np.median(np.asarray(p[who]["gaps"])[j], axis=0) for p in pts])
        for i, (m, c) in enumerate(zip(gi, ("C3", "C2", "k"))):
            ax[1].plot(x, g[:, i], mk + ls, ms=4, color=c, label=f"{who}, gap above {m} smallest")
        k = [np.asarray(p[who]["k"])[j] for p in pts]
        q = np.array([np.quantile(kk, [0.25, 0.5, 0.75]) for kk in k])
        ax[2].errorbar(x * (1.05 if who == "empirical" else 1.0), q[:, 1], yerr=[q[:, 1] - q[:, 0], q[:, 2] - q[:, 1]],
                       fmt=mk + ls, ms=5, capsize=3, color="C0" if who == "model" else "C2", label=who)
    for a in ax[1:3]:
        a.set_xscale("log")
        a.set_xlabel("training-set size $N$")
        a.set_xlim(nsort.min() / 1.5, nsort.max() * 1.5)
    ax[1].set_ylabel("gap (median over points)")
    ax[1].set_title(rf"spectral gaps at $\sigma^2={s2:.3g}$", fontsize=9)
    ax[1].legend(fontsize=6)
    for m, c in zip(gi, ("C3", "C2", "k")):
        ax[2].axhline(m, color=c, ls=":", lw=1)
    ax[2].set_ylabel(r"dimension estimate $\#\{\hat s\leq 1/2\}$ (median, quartiles)")
    ax[2].set_title(rf"dimension at $\sigma^2={s2:.3g}$ (dotted: {gi[0]} = A, {gi[1]} = B, {gi[2]} = both)",
                    fontsize=9)
    ax[2].legend(fontsize=7)
    trained = [p for p in points if p["model"] is not None]
    shown = []
    if trained:
        shown.append((max(trained, key=lambda q: q["n_train"]), "model", "-"))
    shown.append((max(points, key=lambda q: q["n_train"]), "empirical", "--"))
    for p, who, ls in shown:
        st = ana[p["n_train"]][who]["states"]
        for key, c, lab in (("A", "C3", "keeps A"), ("B", "C2", "keeps B"), ("one", "C1", "exactly one"),
                            ("none", "k", "none (collapsed)")):
            f, e = (np.asarray(v) for v in st[key])
            ax[3].errorbar(noise, f, yerr=2 * e, fmt=ls, color=c, lw=1.3 if who == "model" else 1.0,
                           label=f"{who} N={p['n_train']}: {lab}")
    pe = max(points, key=lambda q: q["n_train"])
    org = ana[pe["n_train"]]["empirical"].get("origin")
    if org is not None:
        for key, c in (("A", "C3"), ("B", "C2")):
            ax[3].plot(noise, org["kept"][key], ":", color=c, lw=2.0,
                       label=f"empirical N={pe['n_train']}, at the data mean (authors' test point): keeps {key}")
    v_min = min(shown[0][0]["variance"].values())
    ax[3].axvspan(noise.min() / 1.2, v_min / 2, color="0.9", zorder=0)
    ax[3].axhline(0.5, color="gray", lw=0.8)
    ax[3].set_ylim(-0.05, 1.05)
    ax[3].set_xscale("log")
    ax[3].set_xlabel(r"noise level $\sigma^2 = e^{2t}-1$ (shaded: $\sigma^2\leq v_{\min}/2$)")
    ax[3].set_ylabel("fraction of training points (dotted: of frames at the data mean; bars 2 s.e.)")
    ax[3].set_title("which subspaces the score keeps", fontsize=9)
    ax[3].legend(fontsize=6, loc="center left")
    fig.tight_layout()
    return save_figure(fig, path)

