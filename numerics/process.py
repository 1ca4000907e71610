r"""The diffusion process in OU time: noising, the score/noise/denoiser parametrizations, the
Gaussian bridge of the reverse step, discrete noising and time grids.

One forward process serves the whole package (:mod:`diffphase.numerics.conventions`):

.. math:: x_t = \theta_t x_0 + \sqrt{\Delta_t}\,z,\qquad \theta_t = e^{-t},\quad
          \Delta_t = 1-e^{-2t},\quad z\sim\mathcal N(0, I),

the Ornstein--Uhlenbeck process :math:`dx = -x\,dt + dB`,
:math:`\langle dB_idB_j\rangle = 2\delta_{ij}dt`. Every function here takes numpy arrays and
torch tensors alike (the same function, dispatching on the type of its array argument) and
draws its randomness from a generator the caller passes (a ``numpy.random.Generator`` or a
``torch.Generator``), so that seeded runs are reproducible.

Contents

* **Noising**: :func:`noise` (:math:`x_t` from :math:`x_0` and :math:`z`, or from a generator),
  :func:`standard_normal`, :class:`Normals` (a seeded source of normal draws like a state).
* **Parametrizations** at OU time :math:`t` (Tweedie: the denoiser is the posterior mean
  :math:`D = \mathbb E[x_0\mid x_t]`):

  .. math:: s = -\frac{\varepsilon}{\sqrt{\Delta_t}},\qquad
            D = \frac{x + \Delta_t s}{\theta_t} = \frac{x - \sqrt{\Delta_t}\,\varepsilon}{\theta_t},

  :func:`score_from_eps`, :func:`eps_from_score`, :func:`denoiser_from_score`,
  :func:`score_from_denoiser`, :func:`denoiser_from_eps`, :func:`eps_from_denoiser`.
* **The reverse step**: :func:`bridge`, the Gaussian bridge :math:`q(x_s\mid x_t, x_0)`
  (:math:`s<t`, :math:`h = t-s`),

  .. math:: x_s \mid x_t, x_0 \sim \mathcal N\Big(\frac{\theta_s(1-e^{-2h})}{\Delta_t}x_0
            + \frac{e^{-h}\Delta_s}{\Delta_t}x_t,\ \frac{\Delta_s(1-e^{-2h})}{\Delta_t}I\Big),

  and the two steppers of :mod:`diffphase.numerics.sde` built on it: :func:`step_mean`,
  :func:`step_noise`, :func:`step` (``"exponential"``: the bridge with the Tweedie denoiser
  in place of :math:`x_0`; ``"euler_maruyama"``: :math:`x + h[x + 2s] + \sqrt{2h}\,\xi`).
* **Discrete noising** of tokens (:func:`discrete_noise`): masking (a token becomes the mask
  symbol ``vocab`` with probability :math:`\varepsilon`) and uniform (it is redrawn uniformly
  over ``vocab`` symbols with probability :math:`\varepsilon`), :math:`\varepsilon = \Delta_t`
  the noise level (:func:`diffphase.numerics.conventions.noise_level`).
* **Time grids** (decreasing OU times, the backward direction): :func:`time_grid`
  (``"uniform"`` or ``"log"``), :func:`strided_grid` (the strided DDPM grid of a discrete
  schedule), :func:`grid_from_config`, :func:`check_grid`.

Examples
--------
>>> import math
>>> import numpy as np
>>> x0 = np.array([[2.0, -1.0]])
>>> z = np.array([[0.5, 0.5]])
>>> xt = noise(x0, 0.3, z)
>>> bool(np.allclose(xt, np.exp(-0.3) * x0 + np.sqrt(1 - np.exp(-0.6)) * z))
True
>>> eps = z                                       # the noise is the exact eps-prediction given x0
>>> bool(np.allclose(denoiser_from_eps(xt, eps, 0.3), x0))
True
>>> b = bridge(1.0, 0.4)                          # q(x_s | x_t, x_0): coefficients and variance
>>> round(b.coef_x0 + b.coef_xt * math.exp(-1.0), 12)  # E[x_s | x_0 = 1] = e^{-s}
0.670320046036
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from . import conventions as cv
from .checks import check_array, check_int, check_real, check_times

__all__ = [
    "is_torch",
    "standard_normal",
    "Normals",
    "noise",
    "score_from_eps",
    "eps_from_score",
    "denoiser_from_score",
    "score_from_denoiser",
    "denoiser_from_eps",
    "eps_from_denoiser",
    "Bridge",
    "bridge",
    "METHODS",
    "check_method",
    "StepNoise",
    "step_noise",
    "step_mean",
    "step",
    "DISCRETE_KINDS",
    "discrete_noise",
    "check_grid",
    "time_grid",
    "strided_grid",
    "grid_from_config",
]


# ---------------------------------------------------------------------------------------
# arrays of either library
# ---------------------------------------------------------------------------------------
def is_torch(x) -> bool:
    """Whether ``x`` is a torch tensor or generator (checked without importing torch)."""
    return type(x).__module__.startswith("torch")


def standard_normal(generator, like):
    r"""Standard normal draws of the shape, dtype and device of ``like``.

    Parameters
    ----------
    generator : numpy.random.Generator or torch.Generator
        The source of the draws (its library must match ``like``'s).
    like : ndarray or torch.Tensor
        A floating-point array; its shape, dtype (and device) are copied.

    Returns
    -------
    ndarray or torch.Tensor

    Examples
    --------
    >>> g = standard_normal(np.random.default_rng(0), np.zeros((2, 3), dtype=np.float32))
    >>> g.shape, g.dtype
    ((2, 3), dtype('float32'))
    """
    if is_torch(like):
        import torch

        if not isinstance(generator, torch.Generator):
            raise ValueError("generator must be a torch.Generator for a torch tensor")
        return torch.randn(like.shape, generator=generator, dtype=like.dtype, device=like.device)
    if not isinstance(generator, np.random.Generator):
        raise ValueError("generator must be a numpy.random.Generator for a numpy array")
    like = np.asarray(like)
    if like.dtype in (np.float32, np.float64):
        return generator.standard_normal(like.shape, dtype=like.dtype)
    return generator.standard_normal(like.shape).astype(like.dtype, copy=False)


class Normals:
    """A seeded source of standard normal draws shaped like a state, of the state's library.

    ``Normals(seed, like)(x)`` returns draws of the shape, dtype (and device) of ``x``. For a
    numpy state the generator is ``numpy.random.default_rng(SeedSequence(seed))``; for a torch
    state a ``torch.Generator`` on the state's device seeded from the same
    :class:`numpy.random.SeedSequence`.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence or None
    like : ndarray or torch.Tensor
        Decides the library (and the device of a torch generator).
    """

    def __init__(self, seed, like):
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.torch = is_torch(like)
        if self.torch:
            import torch

            self.gen = torch.Generator(device=like.device)
            self.gen.manual_seed(int(ss.generate_state(1, dtype=np.uint64)[0] % (2**63 - 1)))
        else:
            self.gen = np.random.default_rng(ss)

    def __call__(self, x):
        return standard_normal(self.gen, x)


def _coefficient(values, x):
    """Per-sample coefficients broadcast against ``x`` (B, ...): Python floats pass through;
    arrays/tensors of shape (B,) get trailing unit axes (torch: cast to ``x``'s dtype and
    device)."""
    if isinstance(values, float):
        return values
    if is_torch(values):
        values = values.to(dtype=x.dtype, device=x.device)
    return values.reshape(values.shape + (1,) * (x.ndim - values.ndim))


def _theta_delta(t, x):
    r""":math:`(\theta_t, \Delta_t, \sqrt{\Delta_t})` at OU time(s) ``t``, ready to multiply
    ``x``: Python floats for a scalar time; for one time per row (shape (B,)) arrays or tensors
    with trailing unit axes. Torch times are evaluated in their own dtype (use float64) and
    cast to ``x``'s."""
    if is_torch(t):
        import torch

        if t.ndim == 0:
            t = float(t)
        else:
            if not bool(torch.all(torch.isfinite(t))) or bool(torch.any(t < 0)):
                raise ValueError("t must be finite OU times >= 0")
            delta = -torch.expm1(-2.0 * t)
            return (_coefficient(torch.exp(-t), x), _coefficient(delta, x),
                    _coefficient(torch.sqrt(delta), x))
    arr = check_times(t)
    if arr.ndim == 0:
        delta = cv.delta(float(arr))
        return cv.theta(float(arr)), delta, math.sqrt(delta)
    if arr.ndim != 1 or arr.shape[0] != x.shape[0]:
        raise ValueError(f"t must be a scalar or have one time per row, shape ({x.shape[0]},), got {arr.shape}")
    delta = np.asarray(cv.delta(arr))
    if is_torch(x):
        import torch

        to = (lambda a: torch.as_tensor(a))  # noqa: E731
    else:
        to = (lambda a: a)  # noqa: E731
    return (_coefficient(to(np.asarray(cv.theta(arr))), x), _coefficient(to(delta), x),
            _coefficient(to(np.sqrt(delta)), x))


# ---------------------------------------------------------------------------------------
# noising
# ---------------------------------------------------------------------------------------
def noise(x0, t, z=None, *, generator=None):
    r"""The forward process at OU time ``t``: :math:`x_t = \theta_tx_0 + \sqrt{\Delta_t}\,z`.

    Parameters
    ----------
    x0 : ndarray or torch.Tensor, shape (B, ...)
        Clean data.
    t : float, array_like of shape (B,), or torch.Tensor of shape (B,)
        OU time(s) ``>= 0``: one for all rows, or one per row.
    z : same type as ``x0``, optional
        The standard normal noise; give it to keep it (e.g. as a training target).
    generator : numpy.random.Generator or torch.Generator, optional
        Draws ``z`` (:func:`standard_normal`) when ``z`` is not given. Exactly one of ``z``
        and ``generator`` is required.

    Returns
    -------
    same type as ``x0``
        :math:`x_t`. For float32 data the coefficients are applied in float32.

    Examples
    --------
    >>> x = noise(np.ones((3, 2)), 0.0, generator=np.random.default_rng(1))   # t = 0: no noise
    >>> bool(np.all(x == 1.0))
    True
    """
    if (z is None) == (generator is None):
        raise ValueError("give exactly one of z (the noise) and generator (to draw it)")
    if not is_torch(x0):
        x0 = np.asarray(x0)
    if z is None:
        z = standard_normal(generator, x0)
    elif tuple(z.shape) != tuple(x0.shape):
        raise ValueError(f"z must have the shape of x0 {tuple(x0.shape)}, got {tuple(z.shape)}")
    theta, _, sd = _theta_delta(t, x0)
    return theta * x0 + sd * z


def score_from_eps(eps, t):
    r"""Score from a noise prediction: :math:`s = -\varepsilon/\sqrt{\Delta_t}` (``t > 0``)."""
    _, _, sd = _theta_delta(_positive(t), eps)
    return -eps / sd


def eps_from_score(score, t):
    r"""Noise prediction from a score: :math:`\varepsilon = -\sqrt{\Delta_t}\,s`."""
    _, _, sd = _theta_delta(t, score)
    return -(sd * score)


def denoiser_from_score(x, score, t):
    r"""Tweedie denoiser :math:`D = \mathbb E[x_0\mid x_t = x] = (x + \Delta_ts)/\theta_t`."""
    theta, delta, _ = _theta_delta(t, x)
    return (x + delta * score) / theta


def score_from_denoiser(x, denoiser, t):
    r"""Score from a denoiser: :math:`s = (\theta_tD - x)/\Delta_t` (``t > 0``)."""
    theta, delta, _ = _theta_delta(_positive(t), x)
    return (theta * denoiser - x) / delta


def denoiser_from_eps(x, eps, t):
    r"""Denoiser from a noise prediction: :math:`D = (x - \sqrt{\Delta_t}\,\varepsilon)/\theta_t`."""
    theta, _, sd = _theta_delta(t, x)
    return (x - sd * eps) / theta


def eps_from_denoiser(x, denoiser, t):
    r"""Noise prediction from a denoiser: :math:`\varepsilon = (x - \theta_tD)/\sqrt{\Delta_t}`
    (``t > 0``)."""
    theta, _, sd = _theta_delta(_positive(t), x)
    return (x - theta * denoiser) / sd


def _positive(t):
    """``t`` unchanged after checking that every time is > 0 (the score is singular at 0)."""
    if is_torch(t):
        if bool((t <= 0).any()):
            raise ValueError("t must be > 0 (OU time in (0, inf)): the score is singular at t = 0")
        return t
    check_times(t, positive=True)
    return t


# ---------------------------------------------------------------------------------------
# the reverse step
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bridge:
    r"""The Gaussian bridge :math:`q(x_s\mid x_t, x_0) = \mathcal N(c_0x_0 + c_tx_t, vI)` of
    the forward process, :math:`s < t` (:func:`bridge`).

    Attributes
    ----------
    coef_x0 : float
        :math:`c_0 = \theta_s(1-e^{-2h})/\Delta_t`, :math:`h = t-s`.
    coef_xt : float
        :math:`c_t = e^{-h}\Delta_s/\Delta_t`, the propagator of the exponential integrator
        (it composes: :math:`c_t(s,u)\,c_t(u,t) = c_t(s,t)`).
    variance : float
        :math:`v = \Delta_s(1-e^{-2h})/\Delta_t`.
    """

    coef_x0: float
    coef_xt: float
    variance: float

    @property
    def std(self) -> float:
        r""":math:`\sqrt v`."""
        return math.sqrt(self.variance)


def bridge(t: float, s: float) -> Bridge:
    r"""Coefficients of the Gaussian bridge :math:`q(x_s\mid x_t, x_0)` from OU time ``t`` to
    ``s < t`` (module docstring): the exact conditional law of the forward process, and the
    step of the exponential sampler when :math:`x_0` is replaced by the denoiser.

    Examples
    --------
    >>> b = bridge(2.0, 0.0)                  # s = 0: x_0 itself, no variance
    >>> round(b.coef_x0, 12), b.coef_xt, b.variance
    (1.0, 0.0, 0.0)
    """
    t = check_real("t", t, low=0.0, low_open=True)
    s = check_real("s", s, low=0.0, high=t, high_open=True)
    h = t - s
    delta_t, delta_s, delta_h = cv.delta(t), cv.delta(s), cv.delta(h)
    return Bridge(cv.theta(s) * delta_h / delta_t, cv.theta(h) * delta_s / delta_t, delta_s * delta_h / delta_t)


#: The steppers of :func:`step`.
METHODS = ("exponential", "euler_maruyama")


def check_method(method: str) -> str:
    """Return ``method`` after checking it is one of :data:`METHODS`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


@dataclass(frozen=True)
class StepNoise:
    r"""The additive noise of one backward step (:func:`step_noise`).

    Attributes
    ----------
    propagator : float
        Factor by which the step carries noise already present in the state (its linear
        part): 1 for Euler--Maruyama, :math:`e^{-h}\Delta_s/\Delta_t` for the exponential
        integrator.
    std : float
        Standard deviation of the fresh noise the step adds: :math:`\sqrt{2h}`, or the
        bridge's :math:`\sqrt{\Delta_s(1-e^{-2h})/\Delta_t}`.
    """

    propagator: float
    std: float


def step_noise(method: str, t: float, s: float) -> StepNoise:
    r"""Noise of one step of ``method`` from ``t`` to ``s < t`` (:class:`StepNoise`).

    The propagators compose (Brownian increments add for Euler--Maruyama; for the exponential
    integrator :math:`\Phi(s,u)\Phi(u,t) = \Phi(s,t)`), so the noise of a coarse step is
    :math:`\Phi(s,u)N_1 + N_2` of the noises of its two fine steps (Itô isometry:
    :math:`\Phi(s,u)^2\mathrm{var}_1 + \mathrm{var}_2 = \mathrm{var}`).
    """
    if check_method(method) == "euler_maruyama":
        return StepNoise(1.0, math.sqrt(2.0 * (t - s)))
    b = bridge(t, s)
    return StepNoise(b.coef_xt, b.std)


def step_mean(method: str, score: Callable, x, t: float, s: float):
    r"""The step of ``method`` from ``t`` to ``s`` without its noise.

    Euler--Maruyama: :math:`x + h[x + 2S(x,t)]`. Exponential: :math:`c_0D + c_tx` with the
    Tweedie denoiser :math:`D` of ``score`` (:func:`denoiser_from_score`) and the bridge
    coefficients of :func:`bridge`.
    """
    if check_method(method) == "euler_maruyama":
        return x + (t - s) * (x + 2.0 * score(x, t))
    b = bridge(t, s)
    return b.coef_x0 * denoiser_from_score(x, score(x, t), t) + b.coef_xt * x


def step(method: str, score: Callable, x, t: float, s: float, normals: Callable):
    r"""One backward step of ``method`` from OU time ``t`` to ``s < t``: :func:`step_mean`
    plus ``std`` (:func:`step_noise`) times ``normals(x)``.

    Examples
    --------
    >>> a = np.array([[1.0, -2.0]])                    # one data point: the step is exact
    >>> score = lambda x, t: (np.exp(-t) * a - x) / (1 - np.exp(-2 * t))
    >>> x = step("exponential", score, np.zeros((1, 2)), 1.0, 0.0, Normals(0, a))
    >>> bool(np.allclose(x, a))
    True
    """
    out = step_mean(method, score, x, t, s)
    std = step_noise(method, t, s).std
    if std > 0:
        out = out + std * normals(x)
    return out


# ---------------------------------------------------------------------------------------
# discrete noising
# ---------------------------------------------------------------------------------------
#: The discrete processes of :func:`discrete_noise`.
DISCRETE_KINDS = ("masking", "uniform")


def discrete_noise(x0, eps, *, kind: str, vocab: int, generator):
    r"""Noise integer tokens at noise level :math:`\varepsilon` (the probability that a token
    is not kept, :math:`\varepsilon = \Delta_t = 1-e^{-2t}`).

    Every token draws :math:`u\sim U[0,1)`; it is hit when :math:`u<\varepsilon`. A hit token
    becomes the mask symbol ``vocab`` (``kind="masking"``, absorbing diffusion) or a fresh
    uniform symbol in ``[0, vocab)`` (``kind="uniform"``; it may come back equal; the fresh
    symbols are drawn for every token, after the uniforms). numpy and torch draw in the same
    order from their generators.

    Parameters
    ----------
    x0 : integer ndarray or torch.Tensor, shape (B, ...)
        Clean tokens in ``[0, vocab)``; a torch tensor must be on the generator's device.
    eps : float, array_like of shape (B,), or torch.Tensor of shape (B,)
        Noise level(s) in [0, 1]: one for all rows or one per row.
    kind : {"masking", "uniform"}
    vocab : int
        Number of symbols ``>= 2``.
    generator : numpy.random.Generator or torch.Generator

    Returns
    -------
    same type as ``x0``
        Noised tokens (``vocab`` marks a masked token).

    Examples
    --------
    >>> x = discrete_noise(np.zeros((2, 6), dtype=np.int64), 1.0, kind="masking", vocab=4,
    ...                    generator=np.random.default_rng(0))
    >>> x.tolist()
    [[4, 4, 4, 4, 4, 4], [4, 4, 4, 4, 4, 4]]
    """
    if kind not in DISCRETE_KINDS:
        raise ValueError(f"kind must be one of {DISCRETE_KINDS}, got {kind!r}")
    vocab = check_int("vocab", vocab, minimum=2)
    if is_torch(x0):
        import torch

        e = eps if is_torch(eps) else torch.as_tensor(check_array("eps", eps))
        if not bool(torch.all((e >= 0) & (e <= 1))):
            raise ValueError("eps must be noise levels in [0, 1]")
        e = e.reshape(e.shape + (1,) * (x0.ndim - e.ndim)) if e.ndim else e
        hit = torch.rand(x0.shape, generator=generator, dtype=torch.float64, device=x0.device) < e
        if kind == "masking":
            return torch.where(hit, torch.full_like(x0, vocab), x0)
        fresh = torch.randint(0, vocab, x0.shape, generator=generator, device=x0.device)
        return torch.where(hit, fresh, x0)
    e = check_array("eps", eps)
    if not np.all((e >= 0) & (e <= 1)):
        raise ValueError("eps must be noise levels in [0, 1]")
    x0 = np.asarray(x0)
    if e.ndim:
        if e.shape != x0.shape[:1]:
            raise ValueError(f"eps must be a scalar or have one level per row, shape ({x0.shape[0]},)")
        e = e.reshape(e.shape + (1,) * (x0.ndim - 1))
    hit = generator.random(x0.shape) < e
    if kind == "masking":
        return np.where(hit, np.int64(vocab), x0)
    fresh = generator.integers(0, vocab, size=x0.shape, dtype=np.int64)
    return np.where(hit, fresh, x0)


# ---------------------------------------------------------------------------------------
# time grids
# ---------------------------------------------------------------------------------------
def check_grid(times, name: str = "times") -> np.ndarray:
    """Return a backward time grid as a float array after checking it: 1-d, at least two OU
    times ``>= 0``, strictly decreasing."""
    g = check_times(times, name)
    if g.ndim != 1 or g.size < 2:
        raise ValueError(f"{name} must be a 1-d grid with at least two OU times")
    if np.any(np.diff(g) >= 0):
        raise ValueError(f"{name} must be strictly decreasing (backward in OU time)")
    return g


def time_grid(t_max: float, t_end: float, n_steps: int, kind: str = "log") -> np.ndarray:
    r"""Decreasing OU-time grid from ``t_max`` to ``t_end`` with ``n_steps`` steps.

    ``kind="log"`` spaces the times geometrically (fine near :math:`t=0`, where the
    empirical score varies fastest); ``kind="uniform"`` spaces them evenly. The end points are
    exactly ``t_max`` and ``t_end``.

    Examples
    --------
    >>> g = time_grid(8.0, 1e-3, 4)
    >>> g.shape, float(g[0]), float(g[-1])
    ((5,), 8.0, 0.001)
    """
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    t_end = check_real("t_end", t_end, low=0.0)
    if t_end >= t_max:
        raise ValueError(f"t_end must be < t_max = {t_max}, got {t_end}")
    n_steps = check_int("n_steps", n_steps, minimum=1)
    if kind == "log":
        if t_end == 0:
            raise ValueError("t_end must be > 0 for kind='log'")
        g = np.geomspace(t_max, t_end, n_steps + 1)
    elif kind == "uniform":
        g = np.linspace(t_max, t_end, n_steps + 1)
    else:
        raise ValueError(f"kind must be 'log' or 'uniform', got {kind!r}")
    g[0], g[-1] = t_max, t_end
    return g


def _schedule(schedule) -> cv.DiscreteSchedule:
    if isinstance(schedule, cv.DiscreteSchedule):
        return schedule
    if isinstance(schedule, Mapping) and {"T", "beta_min", "beta_max"} <= set(schedule):
        return cv.DiscreteSchedule.linear(int(schedule["T"]), float(schedule["beta_min"]),
                                          float(schedule["beta_max"]))
    raise ValueError("schedule must be a DiscreteSchedule or a dict with T, beta_min and beta_max "
                     "(a linear beta schedule)")


def strided_grid(t_start: float, n_steps: int, schedule) -> np.ndarray:
    r"""The strided DDPM grid of a fast sampler, in OU time: ``n_steps`` equal strides of the
    step index of a discrete schedule from the (fractional) index of ``t_start`` down to step
    0 (:math:`t = 0`), mapped to OU time by interpolating :math:`\log\bar\alpha`
    (:meth:`~diffphase.numerics.conventions.DiscreteSchedule.fractional_step`). This is the
    grid of DDPM/DDIM samplers with few steps (e.g. those that Raya & Ambrogioni start late):
    where ``t_start`` is a step of the schedule and the strides are whole steps, the grid
    points are exactly the schedule's :math:`t_k = -\tfrac12\log\bar\alpha_k`.

    Parameters
    ----------
    t_start : float
        OU time ``> 0`` and ``<= t_T`` of the schedule.
    n_steps : int
        ``>= 1``.
    schedule : DiscreteSchedule or dict
        A schedule, or ``{"T", "beta_min", "beta_max"}`` of
        :meth:`~diffphase.numerics.conventions.DiscreteSchedule.linear`.

    Returns
    -------
    ndarray, shape (n_steps + 1,)
        Strictly decreasing OU times from ``t_start`` to 0.

    Examples
    --------
    >>> g = strided_grid(1.0, 4, {"T": 1000, "beta_min": 1e-4, "beta_max": 2e-2})
    >>> g.shape, float(g[0]), float(g[-1])
    ((5,), 1.0, 0.0)
    """
    sch = _schedule(schedule)
    t_start = check_real("t_start", t_start, low=0.0, high=float(sch.times[-1]), low_open=True)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    k = sch.fractional_step(t_start) * (1.0 - np.arange(n_steps + 1) / n_steps)
    g = np.interp(k, np.arange(sch.T + 1, dtype=np.float64), sch.times)
    g[0], g[-1] = t_start, 0.0
    return g


def grid_from_config(config: Mapping) -> np.ndarray:
    r"""A time grid from a configuration dict.

    ``{"kind": "log" | "uniform", "t_max", "t_end", "n_steps"}`` gives :func:`time_grid`
    (``kind`` defaults to ``"log"``; ``"grid"`` is accepted as a synonym of ``"kind"``);
    ``{"kind": "strided", "t_start", "n_steps", "schedule": {"T", "beta_min", "beta_max"}}``
    gives :func:`strided_grid`.

    Examples
    --------
    >>> grid_from_config({"t_max": 2.0, "t_end": 0.5, "n_steps": 3, "kind": "uniform"}).tolist()
    [2.0, 1.5, 1.0, 0.5]
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be a dict, got {type(config).__name__}")
    if "kind" in config and "grid" in config and config["kind"] != config["grid"]:
        raise ValueError("config gives both kind and grid, and they differ")
    kind = config.get("kind", config.get("grid", "log"))

    def need(*keys):
        missing = [k for k in keys if k not in config]
        if missing:
            raise ValueError(f"a {kind!r} grid config needs {', '.join(missing)}")

    if kind == "strided":
        need("t_start", "n_steps", "schedule")
        return strided_grid(float(config["t_start"]), config["n_steps"], config["schedule"])
    if kind not in ("log", "uniform"):
        raise ValueError(f"config kind must be 'log', 'uniform' or 'strided', got {kind!r}")
    need("t_max", "t_end", "n_steps")
    return time_grid(float(config["t_max"]), float(config["t_end"]), config["n_steps"], kind)
