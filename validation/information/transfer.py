r"""Where an entropy curve transfers its class information (the statistics of
``class_information``, :mod:`diffphase.validation.information`).

The entropy rate at log-spaced nodes and whether its maximum is interior, the final-stage share
of the transfer (:func:`transfer_statistics`), the midpoint of the transfer (:func:`half_time`)
and the refined maximum of a rate curve (:func:`peak_time`), the separation of several
classes' profiles (:func:`peak_separation`), and the OU time of the final stage of a DDPM
schedule (:func:`ddpm_final_stage_time`). OU time throughout.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ddpm_final_stage_time", "transfer_statistics", "peak_separation", "half_time", "peak_time"]


def ddpm_final_stage_time(fraction: float = 0.1, n_steps: int = 1000, beta_min: float = 1e-4,
                          beta_max: float = 0.02) -> float:
    r"""OU time at which the last ``fraction`` of the steps of a linear-:math:`\beta` DDPM
    schedule begins.

    :math:`\beta_i` evenly spaced from ``beta_min`` to ``beta_max`` (:math:`i = 1..N`),
    :math:`\bar\alpha_k = \prod_{i\le k}(1-\beta_i)`, and with :math:`k = \mathrm{round}(fN)`

    .. math:: t_f = -\tfrac12\log\bar\alpha_k

    (OU time: :math:`\bar\alpha = e^{-2t}`). The defaults are the schedule of Ho et al. used by
    the DDPMs of Koulischer et al.'s code (:math:`N = 1000`, :math:`\beta\in[10^{-4}, 0.02]`):
    :math:`t_f = 0.0543`, the "final stage" of ``class_information``.

    Examples
    --------
    >>> round(ddpm_final_stage_time(), 4)
    0.0543
    """
    from diffphase.numerics.checks import check_int, check_real

    n_steps = check_int("n_steps", n_steps, minimum=1)
    fraction = check_real("fraction", fraction, low=0.0, high=1.0, low_open=True)
    beta_min = check_real("beta_min", beta_min, low=0.0, high=1.0, low_open=True, high_open=True)
    beta_max = check_real("beta_max", beta_max, low=beta_min, high=1.0, high_open=True)
    k = max(1, int(round(fraction * n_steps)))
    betas = np.linspace(beta_min, beta_max, n_steps)
    return float(-0.5 * np.sum(np.log1p(-betas[:k])))


def _rate(times: np.ndarray, H: np.ndarray):
    """dH/dt at the (geometric) midpoints of a decreasing grid (H along axis 0)."""
    dt = times[:-1] - times[1:]
    return np.sqrt(times[:-1] * times[1:]), (H[:-1] - H[1:]) / dt[(...,) + (None,) * (H.ndim - 1)]


def half_time(times, H) -> float:
    r"""OU time where a conditional-entropy curve crosses half of its value at the first grid
    time (the middle of the information transfer).

    With :math:`\ell = H(\tau_0)/2` and :math:`k` the first grid index with
    :math:`H(\tau_k) \le \ell` (:math:`k \ge 1`), linear interpolation in :math:`\log t`:

    .. math:: t^{1/2} = \exp\Big(\log\tau_{k-1} + (\log\tau_k - \log\tau_{k-1})
              \frac{H(\tau_{k-1}) - \ell}{H(\tau_{k-1}) - H(\tau_k)}\Big).

    Parameters
    ----------
    times : array_like, shape (T,)
        Decreasing positive OU times :math:`\tau_0 > \tau_1 > \dots` (generative order).
    H : array_like, shape (T,)
        The curve on ``times`` (nats).

    Returns
    -------
    float
        :math:`t^{1/2}`; NaN if the curve does not cross :math:`\ell` after the first time.

    Raises
    ------
    ValueError
        If ``times`` is not 1-d with at least 2 points or ``H`` does not have its shape.

    Examples
    --------
    >>> round(half_time(np.array([4.0, 2.0, 1.0]), np.array([1.0, 0.8, 0.2])), 4)
    1.4142
    """
    times, H = _check_curve("times", times, "H", H, 2)
    level = 0.5 * H[0]
    below = np.nonzero(H <= level)[0]
    if below.size == 0 or below[0] == 0:
        return math.nan
    k = int(below[0])
    x0, x1 = math.log(times[k - 1]), math.log(times[k])
    y0, y1 = H[k - 1] - level, H[k] - level
    return float(math.exp(x0 + (x1 - x0) * y0 / (y0 - y1)))


def peak_time(mid, rate) -> float:
    r"""Time of the maximum of a rate curve on an increasing grid, refined by a parabola through
    the top three points in :math:`\log t` (where the grids of this package are uniform).

    With :math:`k = \arg\max_j r_j` an interior index and :math:`x = \log t`, the parabola
    :math:`r \approx a x^2 + b x + c` through :math:`(x_{k-1}, x_k, x_{k+1})` gives
    :math:`t^* = e^{-b/(2a)}` when :math:`a < 0`; otherwise (an end index, or no maximum of
    the parabola) :math:`t^* = t_k`.

    Parameters
    ----------
    mid : array_like, shape (M,)
        Increasing positive OU times.
    rate : array_like, shape (M,)
        The rate at ``mid``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``mid`` is not a non-empty 1-d array or ``rate`` does not have its shape.

    Examples
    --------
    >>> t = np.geomspace(0.01, 10.0, 31)
    >>> round(peak_time(t, -(np.log(t) - np.log(0.37)) ** 2), 6)
    0.37
    """
    from diffphase.numerics.stats import parabola_vertex

    mid, rate = _check_curve("mid", mid, "rate", rate, 1)
    k = int(np.argmax(rate))
    if 0 < k < rate.size - 1:
        x = np.log(mid[k - 1:k + 2])
        vertex = parabola_vertex(x, rate[k - 1:k + 2], 1, "max")
        if vertex != x[1]:      # a maximum of the parabola (inside [x_{k-1}, x_{k+1}])
            return float(math.exp(vertex))
    return float(mid[k])


def _check_curve(xname: str, x, yname: str, y, min_size: int):
    """``(x, y)`` as arrays: ``x`` 1-d with at least ``min_size`` OU times, ``y`` of its shape."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 1 or x.size < min_size:
        raise ValueError(f"{xname} must be a 1-d array of at least {min_size} OU times, got shape {x.shape}")
    if y.shape != x.shape:
        raise ValueError(f"{yname} must have the shape of {xname} {x.shape}, got {y.shape}")
    return x, y


def _z(diff: float, se: float) -> float:
    """diff / se, with 0/0 = 0 and x/0 = ±inf."""
    if se > 0 and math.isfinite(se):
        return float(diff / se)
    return 0.0 if diff == 0 else math.copysign(math.inf, diff)


def transfer_statistics(times, H, H_boot=None, nodes=None, t_final: float | None = None) -> dict:
    r"""Where an entropy curve :math:`H(t)` transfers its information: the entropy rate at
    nodes, its maximum, whether that maximum is interior, and the rate over the final stage.

    The rate is the difference quotient between consecutive node times
    :math:`\tau_0 > \tau_1 > \dots` (OU time, generative order),

    .. math:: r_j = \frac{H(\tau_j) - H(\tau_{j+1})}{\tau_j - \tau_{j+1}}
              \quad\text{at } \sqrt{\tau_j\tau_{j+1}},

    :math:`k^* = \arg\max_j r_j`; the peak time refines :math:`k^*` by a parabola in
    :math:`\log t` through the top three rates. The maximum is interior when
    :math:`z = \min(z_{first}, z_{last}) > 0`,
    :math:`z_e = (r_{k^*} - r_e)/\mathrm{s.e.}(r_{k^*} - r_e)` for the first and the last node
    rate (:math:`z = 0` when :math:`k^*` is itself an end). The final stage
    :math:`[t_{end}, t_f]` (``t_final``; :math:`t_{end}` the last grid time) has mean rate
    :math:`\bar r_f = [H(t_f) - H(t_{end})]/(t_f - t_{end})` (:math:`H(t_f)` linear in
    :math:`\log t` between grid times), reported relative to the peak,
    :math:`\rho = \bar r_f / r_{k^*}`, and carries the share
    :math:`\phi_f = [H(t_f) - H(t_{end})]/[H(t_{max}) - H(t_{end})]` of the whole transfer.
    The midpoint of the transfer is the time where :math:`H` crosses
    :math:`H(t_{max})/2` (linear in :math:`\log t`; NaN if it does not).

    Parameters
    ----------
    times : array_like, shape (T,)
        Strictly decreasing positive OU times.
    H : array_like, shape (T,)
        The curve (nats).
    H_boot : array_like, shape (B, T), optional
        Bootstrap replicates of ``H`` (``B >= 2``); they give the standard errors (the
        statistics are recomputed on every replicate, :math:`k^*` kept at the point
        estimate's). Without them the s.e. and ``z`` are NaN.
    nodes : array_like of int, optional
        Increasing indices into ``times`` (at least 3); default every grid time.
    t_final : float, optional
        :math:`t_f`, strictly between the last and the first grid time; without it the final
        stage is not evaluated (NaN).

    Returns
    -------
    dict
        ``mid``, ``rate``, ``rate_se`` (node rates), ``peak_index``, ``peak_time``,
        ``peak_time_se``, ``log_peak_se``, ``peak_rate``, ``interior`` (bool), ``z_first``,
        ``z_last``, ``z_interior``, ``final_rate``, ``final_ratio``, ``final_ratio_se``,
        ``final_share``, ``final_share_se``, ``half_time``, ``half_time_se``, ``log_half_se``,
        ``t_final``.

    Examples
    --------
    >>> t = np.geomspace(5.0, 0.01, 200)
    >>> s = transfer_statistics(t, np.log(2) * (1 - np.exp(-t / 0.3)) ** 2, t_final=0.05)
    >>> s["interior"], round(s["peak_time"], 2), round(s["final_share"], 4)
    (True, 0.21, 0.0225)
    """
    times = np.asarray(times, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    if times.ndim != 1 or times.size < 3 or np.any(times <= 0) or np.any(np.diff(times) >= 0):
        raise ValueError("times must be a strictly decreasing 1-d array of at least 3 positive OU times")
    if H.shape != times.shape or not np.all(np.isfinite(H)):
        raise ValueError(f"H must be finite with the shape of times {times.shape}, got {H.shape}")
    if nodes is None:
        nodes = np.arange(times.size)
    nodes = np.asarray(nodes)
    if (nodes.ndim != 1 or nodes.size < 3 or not np.issubdtype(nodes.dtype, np.integer) or nodes[0] < 0
            or nodes[-1] >= times.size or np.any(np.diff(nodes) <= 0)):
        raise ValueError(f"nodes must be at least 3 increasing indices into times (0..{times.size - 1})")
    boot = None
    if H_boot is not None:
        boot = np.asarray(H_boot, dtype=np.float64)
        if boot.ndim != 2 or boot.shape[1] != times.size or boot.shape[0] < 2:
            raise ValueError(f"H_boot must have shape (B >= 2, {times.size}), got {boot.shape}")
    if t_final is not None:
        t_final = float(t_final)
        if not times[-1] < t_final < times[0]:
            raise ValueError(f"t_final must lie strictly between {times[-1]:g} and {times[0]:g}, got {t_final}")
    tn = times[nodes]
    mid, rate = _rate(tn, H[nodes])
    k = int(np.argmax(rate))
    last = rate.size - 1
    log_t = np.log(times[::-1])

    def final_rate(h):
        if t_final is None:
            return math.nan
        hf = float(np.interp(math.log(t_final), log_t, h[::-1]))
        return (hf - h[-1]) / (t_final - times[-1])

    fr = float(final_rate(H))

    def final_share(h):
        if t_final is None or h[0] == h[-1]:
            return math.nan
        return float(final_rate(h) * (t_final - times[-1]) / (h[0] - h[-1]))

    out = {"mid": mid, "rate": rate, "peak_index": k, "peak_time": peak_time(mid[::-1], rate[::-1]),
           "half_time": half_time(times, H), "half_time_se": math.nan, "log_half_se": math.nan,
           "peak_rate": float(rate[k]), "interior": bool(0 < k < last), "final_rate": fr,
           "final_ratio": fr / rate[k] if rate[k] > 0 else math.nan, "final_share": final_share(H),
           "final_share_se": math.nan, "t_final": t_final,
           "rate_se": np.full(rate.size, math.nan), "peak_time_se": math.nan, "log_peak_se": math.nan,
           "z_first": math.nan, "z_last": math.nan, "z_interior": math.nan, "final_ratio_se": math.nan}
    if boot is None:
        return out
    rb = np.stack([_rate(tn, b[nodes])[1] for b in boot])                      # (B, M)
    out["rate_se"] = rb.std(0, ddof=1)
    peaks = np.array([peak_time(mid[::-1], r[::-1]) for r in rb])
    out["peak_time_se"] = float(np.std(peaks, ddof=1))
    out["log_peak_se"] = float(np.std(np.log(peaks), ddof=1))
    halves = np.array([half_time(times, b) for b in boot])
    halves = halves[np.isfinite(halves)]
    if halves.size > 1:
        out["half_time_se"] = float(np.std(halves, ddof=1))
        out["log_half_se"] = float(np.std(np.log(halves), ddof=1))
    zs = []
    for e in (0, last):
        if e == k:
            zs.append(0.0)
        else:
            zs.append(_z(float(rate[k] - rate[e]), float(np.std(rb[:, k] - rb[:, e], ddof=1))))
    out["z_first"], out["z_last"] = zs
    out["z_interior"] = float(min(zs))
    if t_final is not None:
        ratios = np.array([final_rate(b) / r[k] if r[k] > 0 else math.nan for b, r in zip(boot, rb)])
        ratios = ratios[np.isfinite(ratios)]
        out["final_ratio_se"] = float(np.std(ratios, ddof=1)) if ratios.size > 1 else math.nan
        shares = np.array([final_share(b) for b in boot])
        shares = shares[np.isfinite(shares)]
        out["final_share_se"] = float(np.std(shares, ddof=1)) if shares.size > 1 else math.nan
    return out


def peak_separation(peak_times, log_se, *, fwer: float = 0.0027) -> dict:
    r"""Do the classes' entropy-rate profiles sit at different times?

    For every pair of classes with finite times :math:`t^*_a, t^*_b` (the midpoints or the
    peaks of their rate profiles) and standard errors :math:`s_a, s_b` of :math:`\log t^*`,

    .. math:: z_{ab} = \frac{|\log t^*_a - \log t^*_b|}{\sqrt{s_a^2 + s_b^2}},

    and the largest :math:`z` is compared with the two-sided normal quantile at family-wise
    error ``fwer`` spread over the :math:`K(K-1)/2` pairs (Bonferroni):
    :math:`z_c = \Phi^{-1}(1 - \mathrm{fwer}/(K(K-1)))`.

    Parameters
    ----------
    peak_times : array_like, shape (K,)
        Per-class OU times (NaN for a class without an estimate), ``K >= 2``.
    log_se : array_like, shape (K,)
        Standard errors of their logarithms.
    fwer : float
        Family-wise false-positive rate, in (0, 1).

    Returns
    -------
    dict
        ``z`` (K, K) matrix (NaN where undefined), ``z_max``, ``pair`` (the classes of
        ``z_max``), ``ratio`` (:math:`t^*` of the later over the earlier of that pair),
        ``threshold`` :math:`z_c`, ``ratio_extreme`` (latest over earliest peak of all classes).

    Examples
    --------
    >>> s = peak_separation([0.3, 0.35, 1.0], [0.05, 0.05, 0.05])
    >>> s["pair"], round(s["threshold"], 2), s["z_max"] > s["threshold"]
    ((0, 2), 3.32, True)
    """
    from scipy.stats import norm

    t = np.asarray(peak_times, dtype=np.float64)
    s = np.asarray(log_se, dtype=np.float64)
    if t.ndim != 1 or t.size < 2 or s.shape != t.shape:
        raise ValueError(f"peak_times and log_se must be 1-d of the same length K >= 2, got {t.shape}, {s.shape}")
    if np.any(t[np.isfinite(t)] <= 0) or np.any(s[np.isfinite(s)] < 0):
        raise ValueError("peak_times must be > 0 and log_se >= 0 (NaN marks a missing class)")
    fwer = float(fwer)
    if not 0 < fwer < 1:
        raise ValueError(f"fwer must be in (0, 1), got {fwer}")
    K = t.size
    lt = np.log(np.where(t > 0, t, np.nan))
    z = np.full((K, K), np.nan)
    for a in range(K):
        for b in range(K):
            if a != b and np.isfinite(lt[a]) and np.isfinite(lt[b]) and np.isfinite(s[a]) and np.isfinite(s[b]):
                z[a, b] = _z(abs(lt[a] - lt[b]), math.hypot(s[a], s[b]))
    threshold = float(norm.isf(fwer / (K * (K - 1))))
    if np.all(np.isnan(z)):
        return {"z": z, "z_max": math.nan, "pair": (-1, -1), "ratio": math.nan, "threshold": threshold,
                "ratio_extreme": math.nan}
    flat = int(np.nanargmax(np.where(np.isnan(z), -np.inf, z)))
    a, b = divmod(flat, K)
    a, b = min(a, b), max(a, b)
    ok = np.isfinite(lt)
    return {"z": z, "z_max": float(z[a, b]), "pair": (a, b), "ratio": float(math.exp(abs(lt[a] - lt[b]))),
            "threshold": threshold, "ratio_extreme": float(math.exp(np.max(lt[ok]) - np.min(lt[ok])))}
