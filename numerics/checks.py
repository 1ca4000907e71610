"""Argument checks shared by every public function of :mod:`diffphase.numerics`, for use by
the layers above it too.

Each check raises :class:`ValueError` naming the parameter and its valid range, so that bad
input never turns into a NaN, a hang or a silently wrong answer. Checks return the validated
value (converted to a float, an int or a float array) so callers can write
``t = check_times(t)``.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_array",
    "check_int",
    "check_real",
    "check_times",
    "check_data",
    "check_probability",
    "check_rng",
]


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking ``minimum <= value <= maximum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_real(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` inside the stated interval.

    ``low_open``/``high_open`` make the corresponding end exclusive.
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {x}")
    if high is not None and (x > high or (high_open and x == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {x}")
    return x


def _float_array(name: str, value, what: str) -> np.ndarray:
    """``value`` as a float64 array, or a ValueError naming the parameter."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {what}, got {value!r:.80}") from None


def check_array(name: str, value, *, finite: bool = False) -> np.ndarray:
    """Return ``value`` as a float64 array, with a ``ValueError`` naming the parameter when it
    is not numeric (or, with ``finite``, when it holds NaN or inf)."""
    arr = _float_array(name, value, "an array of real numbers")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return arr


def check_times(t, name: str = "t", *, positive: bool = False) -> np.ndarray:
    """Return OU times as a float64 array; they must be finite and ``>= 0`` (``> 0`` if
    ``positive``)."""
    arr = _float_array(name, t, "OU times (real numbers >= 0)")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (OU time in [0, inf)), got non-finite values")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 (OU time in (0, inf)), got min {arr.min()}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (OU time in [0, inf)), got min {arr.min()}")
    return arr


def check_probability(name: str, value, *, open_low: bool = False, open_high: bool = False):
    """Return a float array of probabilities in [0, 1] (ends optionally open)."""
    arr = _float_array(name, value, "probabilities in [0, 1]")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite and in [0, 1]")
    lo_bad = arr <= 0 if open_low else arr < 0
    hi_bad = arr >= 1 if open_high else arr > 1
    if np.any(lo_bad) or np.any(hi_bad):
        lo = "(0" if open_low else "[0"
        hi = "1)" if open_high else "1]"
        raise ValueError(f"{name} must be in {lo}, {hi}, got range [{arr.min()}, {arr.max()}]")
    return arr


def check_data(X, name: str = "X", *, min_rows: int = 2, dtype=None) -> np.ndarray:
    """Return a finite 2-d data array of shape (n, d) with ``n >= min_rows``.

    The array is not copied when it already has the requested dtype (``dtype=None`` keeps
    float32 and float64 and converts anything else to float64).
    """
    arr = np.asarray(X)
    if dtype is None:
        dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    try:
        arr = np.asarray(arr, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real array of shape (n, d), got {X!r:.80}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} must have n >= {min_rows} rows, got {arr.shape[0]}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} must have d >= 1 columns, got {arr.shape[1]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return arr


def check_rng(seed=None) -> np.random.Generator:
    """A numpy random generator from ``seed``.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
        An integer ``>= 0`` (a fresh :func:`numpy.random.default_rng` of it), a generator
        (returned as is, so that draws continue from its state), or ``None`` (fresh entropy).

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    ValueError
        If ``seed`` is not one of those (naming ``seed`` and the valid range).

    Examples
    --------
    >>> float(check_rng(0).random()) == float(np.random.default_rng(0).random())
    True
    """
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_int("seed", seed, minimum=0))
