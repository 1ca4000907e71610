r"""Reading critical times off measured curves.

A measured order parameter (clone agreement :math:`\phi(t)`, collapse agreement
:math:`\phi_C(t)`, a memorized fraction) is monotone in OU time in theory but noisy in
practice. :func:`crossing_time` fits the monotone least-squares curve (pool adjacent
violators) and interpolates its crossing of a level, so that noise cannot produce several
crossings. :func:`crossing_time_stderr` adds a standard error by a parametric bootstrap of
the measured points.
"""

from __future__ import annotations

import numpy as np

from .checks import check_real, check_times

__all__ = ["monotone_fit", "crossing_time", "crossing_time_stderr"]


def monotone_fit(y, weights=None, *, decreasing: bool = True) -> np.ndarray:
    r"""Weighted least-squares monotone fit :math:`\min\sum_i w_i(y_i - f_i)^2` subject to
    :math:`f_1\ge f_2\ge\dots` (``decreasing``) or :math:`\le` (pool adjacent violators).

    Examples
    --------
    >>> monotone_fit([3.0, 1.0, 2.0]).tolist()
    [3.0, 1.5, 1.5]
    """
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    sign = 1.0 if decreasing else -1.0
    vals: list[float] = []
    wts: list[float] = []
    counts: list[int] = []
    for yi, wi in zip(sign * y, w):
        vals.append(float(yi))
        wts.append(float(wi))
        counts.append(1)
        while len(vals) > 1 and vals[-2] < vals[-1]:
            wsum = wts[-2] + wts[-1]
            vals[-2:] = [(vals[-2] * wts[-2] + vals[-1] * wts[-1]) / wsum]
            wts[-2:] = [wsum]
            counts[-2:] = [counts[-2] + counts[-1]]
    return sign * np.repeat(vals, counts)


def crossing_time(t, y, level, *, weights=None, decreasing: bool = True, name: str = "y") -> float:
    r"""OU time where the monotone fit of :math:`y(t)` crosses ``level`` (linear interpolation).

    Parameters
    ----------
    t : array_like, shape (k,)
        OU times (finite, ``>= 0``), any order.
    y : array_like, shape (k,)
        Measured values.
    level : float
        The level to cross, in (0, 1).
    weights : array_like, optional
        Positive weights (e.g. inverse variances).
    decreasing : bool
        Whether :math:`y` decreases with :math:`t` (clone agreements do).
    name : str
        Name of ``y`` in error messages.

    Raises
    ------
    ValueError
        If the fit does not cross ``level`` inside the time range.
    """
    t = check_times(t)
    y = np.asarray(y, dtype=np.float64)
    if t.ndim != 1 or y.shape != t.shape or t.size < 2:
        raise ValueError(f"t and {name} must be 1-d of equal length >= 2, got {t.shape} and {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} must be finite")
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != t.shape or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("weights must be positive, finite and of the same shape as t")
    order = np.argsort(t, kind="stable")
    t, y, w = t[order], y[order], w[order]
    fit = monotone_fit(y, w, decreasing=decreasing)
    s = 1.0 if decreasing else -1.0
    above = s * fit >= s * level
    if not above[0] or above[-1]:
        raise ValueError(
            f"{name} does not cross level={level} inside t in [{t[0]:.4g}, {t[-1]:.4g}] "
            f"(fitted {name} from {fit[0]:.4g} to {fit[-1]:.4g}); extend the time grid"
        )
    k = int(np.argmin(above))
    t0, t1, f0, f1 = t[k - 1], t[k], fit[k - 1], fit[k]
    if f0 == f1:
        return float(t0)
    return float(t0 + (f0 - level) * (t1 - t0) / (f0 - f1))


def crossing_time_stderr(t, y, stderr, level, *, n_boot: int = 400, seed=0, decreasing: bool = True,
                         name: str = "y") -> tuple[float, float]:
    r"""Crossing time of :func:`crossing_time` and its standard error by parametric bootstrap.

    Each bootstrap replicate redraws every point as :math:`y_i^* = y_i + s_i\xi_i`,
    :math:`\xi_i\sim\mathcal N(0,1)` independent (appropriate for clone agreements, whose
    points come from independent pairs with binomial errors :math:`s_i`), clips it to [0, 1]
    when ``y`` is in [0, 1], and refits; the standard error is the standard deviation of the
    replicate crossings. Replicates whose fit does not cross ``level`` inside the grid are
    dropped; if more than 10 % are dropped the error is reported as ``inf``. Weights of the
    fit are :math:`1/\max(s_i^2, \epsilon)`.

    Parameters
    ----------
    t, y : array_like, shape (k,)
        OU times and measured values.
    stderr : array_like, shape (k,)
        Standard errors of ``y`` (``>= 0``).
    level : float
        Level in (0, 1).
    n_boot : int
        Bootstrap replicates (``>= 2``).
    seed : int
        Seed of the replicates.
    decreasing, name
        As in :func:`crossing_time`.

    Returns
    -------
    (float, float)
        The crossing of the measured points and its standard error.

    Examples
    --------
    >>> t = [1.0, 2.0, 3.0]; y = [0.9, 0.7, 0.5]
    >>> tc, se = crossing_time_stderr(t, y, [0.0, 0.0, 0.0], 0.8)
    >>> round(tc, 6), se
    (1.5, 0.0)
    """
    from .checks import check_int

    y = np.asarray(y, dtype=np.float64)
    s = np.asarray(stderr, dtype=np.float64)
    if s.shape != y.shape or not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError(f"stderr must be finite, >= 0 and of the same shape as {name}")
    n_boot = check_int("n_boot", n_boot, minimum=2)
    floor = max(1e-12, float(np.max(s)) ** 2 * 1e-6)
    w = 1.0 / np.maximum(s * s, floor)
    tc = crossing_time(t, y, level, weights=w, decreasing=decreasing, name=name)
    if not np.any(s > 0):
        return tc, 0.0
    rng = np.random.default_rng(seed)
    unit = bool(np.all((y >= 0) & (y <= 1)))
    reps = []
    for _ in range(n_boot):
        yb = y + s * rng.standard_normal(y.shape)
        if unit:
            yb = np.clip(yb, 0.0, 1.0)
        try:
            reps.append(crossing_time(t, yb, level, weights=w, decreasing=decreasing, name=name))
        except ValueError:
            continue
    if len(reps) < 0.9 * n_boot:
        return tc, float("inf")
    return tc, float(np.std(reps, ddof=1))
