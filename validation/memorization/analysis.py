r"""The reading of the ``memorization`` sweep (:mod:`diffphase.validation.memorization`): the
fraction curves over the training-set size :math:`K`, their ½-crossings and the spurious
peak in :math:`\log K` with bootstrap errors, and the collapse prediction.
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics import gaussian_mixture as gm

from .protocol import sampler_stop_time

__all__ = ["fraction_curve", "summarize"]


def fraction_curve(points: list, label: str, cls: str) -> tuple[np.ndarray, np.ndarray]:
    """The fraction of class ``cls`` over the sweep, and its binomial standard errors.

    Parameters
    ----------
    points : list of dict
        Results of :func:`~diffphase.validation.memorization.memorization_point`, by ``K``.
    label : {"model", "empirical", "forward", "null"}
        Which samples.
    cls : {"memorized", "spurious", "generalized"}

    Returns
    -------
    f, se : ndarray
        One entry per point.
    """
    f = np.array([p["classes"][label]["fractions"][cls] for p in points])
    se = np.array([p["classes"][label]["stderr"][cls] for p in points])
    return f, se


def _crossing_logk(log_k, f, se, seed) -> tuple[float, float]:
    """½-crossing of a decreasing memorized fraction in :math:`\\log K`, with a bootstrap error."""
    from diffphase.numerics.stats import crossing

    try:
        c = crossing(log_k, f, 0.5, stderr=se, seed=seed, name="memorized fraction")
        return c.t, c.stderr
    except ValueError:  # no crossing inside the grid: reported, and the verdicts using it fail
        return math.nan, math.nan


def _peak_logk(log_k, f, se, seed, n_boot: int = 400) -> tuple[float, float]:
    r"""Location of the maximum of a fraction in :math:`\log K` (parabolic refinement around the
    largest grid value) and its parametric-bootstrap standard error, replicates clipped to [0, 1]
    (:func:`diffphase.numerics.stats.extremum`)."""
    from diffphase.numerics.stats import extremum

    e = extremum(log_k, f, kind="max", stderr=se, n_boot=n_boot, seed=seed, bounds=(0.0, 1.0))
    return e.location, e.stderr


def _predicted_crossover(points: list, t_end: float) -> float:
    r""":math:`\log K` where the finite-:math:`K` collapse time :math:`t_C(X_K)` falls through
    ``t_end`` (linear interpolation in :math:`\log K`); nan if it does not on the grid."""
    log_k = np.log([p["K"] for p in points])
    t_c = np.array([p["t_C"] for p in points], dtype=np.float64)
    ok = np.isfinite(t_c)
    log_k, t_c = log_k[ok], t_c[ok]
    for i in range(len(t_c) - 1):
        if t_c[i] > t_end >= t_c[i + 1]:
            return float(log_k[i] + (t_c[i] - t_end) * (log_k[i + 1] - log_k[i]) / (t_c[i] - t_c[i + 1]))
    return math.nan


def summarize(points: list, config: dict) -> dict:
    r"""The reading of the sweep: ½-crossings in :math:`\log K` of the memorized fractions of the
    trained model and of the empirical-score sampler (and :math:`\alpha = \log K/d` of the
    latter), the spurious-fraction peak and its height above the larger end value, the
    collapse prediction (:math:`\alpha_c(t_{end})`, :math:`K_c = e^{d\alpha_c}`, and the
    :math:`\log K` where :math:`t_C(X_K)` falls through ``t_end``) and the :math:`|z|` of the
    sampler against the forward reference at every ``K``. OU time.

    Parameters
    ----------
    points : list of dict
        Results of :func:`~diffphase.validation.memorization.memorization_point`, by ``K``.
    config : dict
        The experiment's configuration.

    Returns
    -------
    dict
        JSON-able; the ``summary`` of the experiment's numbers.
    """
    d = int(config["d"])
    t_end = sampler_stop_time(config)
    log_k = np.log([p["K"] for p in points])
    seed = int(config["seed"])
    f_mod, se_mod = fraction_curve(points, "model", "memorized")
    f_emp, se_emp = fraction_curve(points, "empirical", "memorized")
    f_fwd, se_fwd = fraction_curve(points, "forward", "memorized")
    s_mod, s_se = fraction_curve(points, "model", "spurious")
    lk_mod, lk_mod_se = _crossing_logk(log_k, f_mod, se_mod, seed)
    lk_emp, lk_emp_se = _crossing_logk(log_k, f_emp, se_emp, seed + 1)
    lk_peak, lk_peak_se = _peak_logk(log_k, s_mod, s_se, seed + 2)
    alpha_c = float(gm.critical_load(t_end, float(config["sigma"])))
    ends = int(np.argmax([s_mod[0], s_mod[-1]])) * (len(s_mod) - 1)
    i_peak = int(np.argmax(s_mod))
    z_diff = np.abs(f_emp - f_fwd) / np.sqrt(np.maximum(se_emp**2 + se_fwd**2, 1e-12))
    return {
        "t_end": t_end, "alpha_c": alpha_c, "K_c": math.exp(d * alpha_c),
        "logK_collapse_finite": _predicted_crossover(points, t_end),
        "logK_model": lk_mod, "logK_model_se": lk_mod_se, "logK_empirical": lk_emp, "logK_empirical_se": lk_emp_se,
        "alpha_empirical": lk_emp / d, "alpha_empirical_se": lk_emp_se / d,
        "logK_peak": lk_peak, "logK_peak_se": lk_peak_se,
        "peak_height": float(s_mod[i_peak] - s_mod[ends]),
        "peak_height_se": float(math.sqrt(s_se[i_peak] ** 2 + s_se[ends] ** 2)),
        "sampler_z": z_diff.tolist(),
    }
