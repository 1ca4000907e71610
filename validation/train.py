r"""DDPM training in the package's OU time, with EMA, checkpoints, resume and a cache.

The forward process is the OU marginal of :mod:`diffphase.numerics.conventions`,

.. math:: x_t = e^{-t}x_0 + \sqrt{\Delta_t}\,z,\qquad \Delta_t = 1-e^{-2t},\quad z\sim\mathcal N(0,I),

and the network :math:`\hat\varepsilon_\theta(x_t, t)` is trained on the "simple" DDPM loss

.. math:: L(\theta) = \mathbb E_{t, x_0, z}\ \tfrac1d\,\big|\hat\varepsilon_\theta(x_t, t) - z\big|^2,

with ``t`` drawn either continuously from ``[t_min, t_max]`` (density chosen by
``TrainConfig.t_distribution``) or as a uniformly drawn step ``k`` of a discrete β schedule
mapped to OU time, :math:`t_k = -\tfrac12\log\bar\alpha_k`
(:class:`~diffphase.numerics.conventions.DiscreteSchedule`). The trained model's score is
:math:`-\hat\varepsilon/\sqrt{\Delta_t}` (:func:`diffphase.validation.models.score_function`).

Discrete objectives (``TrainConfig.objective``) train a
:class:`~diffphase.validation.models.TreeDenoiser` on integer tokens ``(n, d)`` in ``[0, v)``
with the same loop (optimizer, schedule, EMA, checkpoints, cache). The noise level of OU time
``t`` is :math:`\varepsilon = 1-e^{-2t}` (:func:`diffphase.numerics.conventions.noise_level`,
the probability that a token is not kept; :mod:`diffphase.numerics.rhm.noise`):

* ``"masking"``: each token becomes the mask symbol ``v`` with probability
  :math:`\varepsilon`; the loss is the plain cross-entropy of the clean tokens at the masked
  positions, :math:`L = \sum_{i\,\rm masked} -\log\hat p(x_{0,i}\mid x_t, t)/\#\{\rm masked\}`
  (not the ELBO weighting :math:`1/\varepsilon`, whose variance is larger; both have the
  exact posterior marginals :math:`p(x_{0,i}\mid x_t)` as minimizer);
* ``"uniform"``: each token is resampled uniformly over the ``v`` symbols with probability
  :math:`\varepsilon`; the loss is the cross-entropy of the clean tokens at every position,
  :math:`L = \tfrac1d\sum_i -\log\hat p(x_{0,i}\mid x_t, t)`.

``t_distribution="noise_level"`` draws :math:`\varepsilon` uniformly between the levels of
``t_min`` and ``t_max``, which suits discrete noise (uniform ``t`` would put most draws at
:math:`\varepsilon\approx 1`).

Optimizer AdamW; learning rate: linear warm-up then cosine decay to ``lr * min_lr_ratio``;
exponential moving average (EMA) of the weights, which is the model returned. All randomness
(initialization, minibatches, times, noise) is drawn from generators seeded by
``TrainConfig.seed`` on the CPU, so the same seed gives identical weights on the CPU, and a run
resumed from a checkpoint gives the same weights, bit for bit, as an uninterrupted run.

Cache layout (root: argument ``cache_dir``, else ``$DIFFPHASE_CACHE``, else
``~/.cache/diffphase``)::

    denoisers/<key>/config.json     the configuration, data fingerprint and model spec
    denoisers/<key>/checkpoint.pt   last checkpoint of an unfinished run (deleted at the end)
    denoisers/<key>/model.pt        the finished model (EMA weights) and its loss history
    denoisers/<key>/snapshots/step_<k>.pt   EMA weights after step k, for every k of
                                    ``TrainConfig.snapshot_steps`` (kept after the run)
    denoisers/<key>/.lock           advisory lock held while the run trains (concurrent calls
                                    with the same key wait, then load the finished model)

``key`` is the SHA-256 of the canonical JSON of the configuration (fields that do not change
the weights, such as ``checkpoint_every``, excluded), the model spec, the data fingerprint and
:data:`ENGINE_VERSION`. Every file is written atomically (temporary file in the same
directory, ``fsync``, ``os.replace``), so a kill at any moment leaves either the old or the
new file, never a partial one.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from diffphase.numerics._checks import check_int, check_real
from diffphase.numerics.conventions import DiscreteSchedule
from diffphase.numerics.process import discrete_noise

from .data import Dataset, cache_root
from .models import build_model, seeded_init

__all__ = [
    "ENGINE_VERSION",
    "TrainConfig",
    "TrainHistory",
    "train",
    "load_model",
    "load_snapshot",
    "default_device",
    "cache_root",
    "config_key",
    "atomic_torch_save",
    "atomic_write_text",
    "lr_at",
    "sample_times",
    "model_spec",
    "canonical_json",
]

#: Version of the training procedure; part of every cache key, bumped whenever a change would
#: alter the weights trained from a given configuration.
ENGINE_VERSION = 2

T_DISTRIBUTIONS = ("uniform", "log_uniform", "sqrt", "noise_level")
#: Training objectives: Gaussian noise prediction, and the discrete masking / uniform diffusions.
OBJECTIVES = ("gaussian", "masking", "uniform")
#: Token denoisers (:class:`~diffphase.validation.models.TreeDenoiser`) of the discrete objectives.
DISCRETE_MODELS = ("tree",)


def _nohash(default, **kw):
    """A dataclass field excluded from the cache key (it does not change the weights)."""
    return field(default=default, metadata={"hash": False}, **kw)


def _hash_if_changed(default, **kw):
    """A field added after cache keys existed: in the key only when it differs from its
    default, so that the keys of configurations that do not use it are unchanged."""
    return field(default=default, metadata={"hash": "if_changed"}, **kw)


@dataclass
class TrainConfig:
    r"""Everything that determines a trained denoiser (together with the data).

    Parameters
    ----------
    model : {"mlp", "unet", "tree"}
        Denoiser class (:class:`~diffphase.validation.models.MLPDenoiser`,
        :class:`~diffphase.validation.models.UNetDenoiser`; for the discrete objectives
        :class:`~diffphase.validation.models.TreeDenoiser`).
    model_kwargs : dict
        Extra constructor arguments (e.g. ``{"hidden": 64, "depth": 2}``); the data dimension
        and image shape come from the data (the vocabulary of ``"tree"`` from
        ``model_kwargs["vocab"]`` or the dataset's ``meta["vocab"]``, for the token models).
    objective : {"gaussian", "masking", "uniform"}
        ``"gaussian"`` (default): noise prediction on real data; ``"masking"``/``"uniform"``:
        discrete diffusion on integer tokens (module docstring). In the cache key only when
        not ``"gaussian"``.
    label_dropout : float
        Class-conditional networks only (``model_kwargs["num_classes"] = K > 0``, labelled data):
        probability in [0, 1) that a training label is replaced by the null label ``K``, so that
        one network learns :math:`\hat\varepsilon(x_t,t\mid y)` and the unconditional
        :math:`\hat\varepsilon(x_t,t)` (classifier-free training). Default 0.1; in the cache
        key only when changed.
    steps : int
        Optimizer steps (>= 1).
    batch_size : int
        Minibatch size (>= 1); rows are drawn with replacement.
    lr : float
        Peak learning rate (> 0).
    weight_decay : float
        AdamW decoupled weight decay (>= 0).
    adam_beta1, adam_beta2 : float
        AdamW moment coefficients, in [0, 1).
    warmup_steps : int
        Linear warm-up length (>= 0): :math:`\eta_s = \eta (s+1)/W` for :math:`s < W`.
    min_lr_ratio : float
        Final learning rate as a fraction of ``lr`` (in [0, 1]); after warm-up
        :math:`\eta_s = \eta[r + (1-r)\tfrac12(1+\cos\pi u)]`, :math:`u = (s-W)/(S-W)`.
    grad_clip : float
        Global gradient-norm clip (> 0), or 0 to disable.
    ema_decay : float
        EMA decay :math:`\beta\in[0,1)`; step ``s`` uses :math:`\min(\beta, (1+s)/(10+s))`.
    time_sampling : {"continuous", "discrete"}
        Continuous OU times in ``[t_min, t_max]``, or steps of a discrete β schedule.
    t_min, t_max : float
        Range of continuous OU times, :math:`0 < t_{\min} < t_{\max}`.
    t_distribution : {"uniform", "log_uniform", "sqrt", "noise_level"}
        Density of continuous times: uniform in ``t``; uniform in :math:`\log t`; or
        :math:`t = t_{\min} + (t_{\max}-t_{\min})u^2`, :math:`u\sim U(0,1)`, i.e. density
        :math:`\propto (t-t_{\min})^{-1/2}`, which like DDPM's linear schedule spends more
        steps at small ``t`` without neglecting large ``t`` (default); or ``"noise_level"``:
        :math:`\varepsilon = 1-e^{-2t}` uniform between its values at ``t_min`` and ``t_max``.
    schedule : {"linear", "cosine"}
        Discrete β schedule (``time_sampling="discrete"``); steps ``k = 1..T`` are drawn
        uniformly and mapped to OU time :math:`t_k = -\tfrac12\log\bar\alpha_k`.
    schedule_steps : int
        ``T`` of the discrete schedule (>= 1).
    beta_min, beta_max : float
        Linear-schedule endpoints, :math:`0 < \beta_{\min} \le \beta_{\max} < 1`.
    seed : int
        Seed (>= 0) of initialization and of every random draw.
    amp : bool
        Mixed precision (bfloat16 when supported, else float16 with loss scaling) — CUDA only;
        ignored on the CPU.
    checkpoint_every : int
        Steps between checkpoints (>= 1). Not part of the cache key.
    snapshot_steps : tuple of int
        Steps ``k`` (strictly increasing, each in ``[1, steps]``) after which the EMA weights
        are kept as a snapshot (``TrainHistory.snapshots``; :func:`load_snapshot`), to measure
        the model along its training. Saving them changes no weight; the field is in the cache
        key only when not empty, so that a cached run always has its snapshots.
    """

    model: str = "mlp"
    model_kwargs: dict = field(default_factory=dict)
    objective: str = _hash_if_changed("gaussian")
    label_dropout: float = _hash_if_changed(0.1)
    steps: int = 2000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    time_sampling: str = "continuous"
    t_min: float = 1e-3
    t_max: float = 5.0
    t_distribution: str = "sqrt"
    schedule: str = "linear"
    schedule_steps: int = 1000
    beta_min: float = 1e-4
    beta_max: float = 2e-2
    seed: int = 0
    amp: bool = True
    checkpoint_every: int = _nohash(500)
    snapshot_steps: tuple = _hash_if_changed(())

    def __post_init__(self):
        if isinstance(self.snapshot_steps, list):  # from JSON: the same key as the tuple
            self.snapshot_steps = tuple(self.snapshot_steps)

    def validate(self) -> "TrainConfig":
        """Check every field; raise ``ValueError`` naming the field and its valid range."""
        if self.model not in ("mlp", "unet") + DISCRETE_MODELS:
            raise ValueError(f"model must be one of {('mlp', 'unet') + DISCRETE_MODELS}, got {self.model!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if (self.model in DISCRETE_MODELS) != self.discrete:
            raise ValueError(f"models {DISCRETE_MODELS} go with the discrete objectives ('masking', 'uniform') and "
                             f"'mlp'/'unet' with 'gaussian'; got model={self.model!r}, objective={self.objective!r}")
        if not isinstance(self.model_kwargs, dict):
            raise ValueError("model_kwargs must be a dict")
        check_real("label_dropout", self.label_dropout, low=0, high=1, high_open=True)
        check_int("steps", self.steps, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_real("lr", self.lr, low=0, low_open=True)
        check_real("weight_decay", self.weight_decay, low=0)
        check_real("adam_beta1", self.adam_beta1, low=0, high=1, high_open=True)
        check_real("adam_beta2", self.adam_beta2, low=0, high=1, high_open=True)
        check_int("warmup_steps", self.warmup_steps, minimum=0)
        check_real("min_lr_ratio", self.min_lr_ratio, low=0, high=1)
        check_real("grad_clip", self.grad_clip, low=0)
        check_real("ema_decay", self.ema_decay, low=0, high=1, high_open=True)
        if self.time_sampling not in ("continuous", "discrete"):
            raise ValueError(f"time_sampling must be 'continuous' or 'discrete', got {self.time_sampling!r}")
        check_real("t_min", self.t_min, low=0, low_open=True)
        check_real("t_max", self.t_max, low=self.t_min, low_open=True)
        if self.t_distribution not in T_DISTRIBUTIONS:
            raise ValueError(f"t_distribution must be one of {T_DISTRIBUTIONS}, got {self.t_distribution!r}")
        if self.schedule not in ("linear", "cosine"):
            raise ValueError(f"schedule must be 'linear' or 'cosine', got {self.schedule!r}")
        check_int("schedule_steps", self.schedule_steps, minimum=1)
        check_real("beta_min", self.beta_min, low=0, high=1, low_open=True, high_open=True)
        check_real("beta_max", self.beta_max, low=self.beta_min, high=1, high_open=True)
        check_int("seed", self.seed, minimum=0)
        check_int("checkpoint_every", self.checkpoint_every, minimum=1)
        if not isinstance(self.snapshot_steps, tuple):
            raise ValueError(f"snapshot_steps must be a tuple of steps, got {type(self.snapshot_steps).__name__}")
        for k in self.snapshot_steps:
            check_int("snapshot_steps[...]", k, minimum=1, maximum=self.steps)
        if any(b <= a for a, b in zip(self.snapshot_steps, self.snapshot_steps[1:])):
            raise ValueError(f"snapshot_steps must be strictly increasing, got {self.snapshot_steps}")
        return self

    @property
    def discrete(self) -> bool:
        """True for the discrete objectives (``"masking"``, ``"uniform"``)."""
        return self.objective != "gaussian"

    def discrete_schedule(self) -> DiscreteSchedule:
        """The :class:`DiscreteSchedule` of ``schedule`` / ``schedule_steps`` / ``beta_*``."""
        if self.schedule == "linear":
            return DiscreteSchedule.linear(self.schedule_steps, self.beta_min, self.beta_max)
        return DiscreteSchedule.cosine(self.schedule_steps)

    def hashed_dict(self) -> dict:
        """The fields that determine the weights (those entering the cache key); a field added
        later enters only when it differs from its default (existing keys are unchanged)."""
        out = {}
        for f in dataclasses.fields(self):
            h = f.metadata.get("hash", True)
            value = getattr(self, f.name)
            if h is True or (h == "if_changed" and value != f.default):
                out[f.name] = value
        return out


@dataclass
class TrainHistory:
    """What happened during :func:`train`.

    Attributes
    ----------
    losses : ndarray, shape (steps,)
        Minibatch loss :math:`\\tfrac1d|\\hat\\varepsilon - z|^2` of every step.
    lrs : ndarray, shape (steps,)
        Learning rate of every step.
    key : str
        Cache key (SHA-256 hex) of the run.
    path : Path or None
        Cache directory of the run (``None`` when the cache was not used).
    from_cache : bool
        True if the finished model was loaded from the cache without training.
    resumed_from : int
        Step of the checkpoint the run resumed from (0 for a fresh run).
    seconds : float
        Wall time of this call's training (0 on a cache hit).
    device : str
        Device trained on.
    snapshots : dict
        ``{step: snapshot}`` for every step of ``TrainConfig.snapshot_steps``: the path of
        ``snapshots/step_<k>.pt`` in the cache, or the payload itself when the cache is not
        used; :func:`load_snapshot` turns either into the network.
    """

    losses: np.ndarray
    lrs: np.ndarray
    key: str
    path: Path | None = None
    from_cache: bool = False
    resumed_from: int = 0
    seconds: float = 0.0
    device: str = "cpu"
    snapshots: dict = field(default_factory=dict)

    def smoothed(self, window: int = 50) -> np.ndarray:
        """Running mean of the losses.

        Parameters
        ----------
        window : int
            Window length in steps (>= 1).

        Returns
        -------
        ndarray, shape (max(steps - window + 1, 1),)
            Means over every full window (the overall mean if the run is shorter).
        """
        window = check_int("window", window, minimum=1)
        if self.losses.size < window:
            return np.array([self.losses.mean()]) if self.losses.size else self.losses
        c = np.cumsum(np.concatenate([[0.0], self.losses]))
        return (c[window:] - c[:-window]) / window


# --------------------------------------------------------------------------------------
# files, keys, devices
# --------------------------------------------------------------------------------------
def default_device() -> str:
    """``"cuda"`` when a CUDA device is available, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def _jsonable(obj):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(obj.hashed_dict() if hasattr(obj, "hashed_dict") else dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise ValueError(f"cannot put {type(obj).__name__} into a cache key; use JSON-like values")


def canonical_json(obj) -> str:
    """Canonical JSON of a configuration: sorted keys, no spaces, tuples as lists,
    dataclasses as their hashed fields (``hashed_dict`` when defined), numpy scalars as Python
    numbers.

    Parameters
    ----------
    obj : dataclass, dict, list, tuple, str, int, float, bool or None
        JSON-like configuration.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For values with no canonical JSON form (NaN, arbitrary objects).
    """
    return json.dumps(_jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_key(*parts) -> str:
    """Cache key: SHA-256 hex digest of :func:`canonical_json` of ``[ENGINE_VERSION, *parts]``.

    Parameters
    ----------
    *parts
        Configuration dataclasses, dicts, strings, numbers (see :func:`canonical_json`).

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    return hashlib.sha256(canonical_json([ENGINE_VERSION, *parts]).encode()).hexdigest()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _atomic_write(path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def atomic_torch_save(obj, path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically.

    The object is written to a temporary file in the same directory, flushed and fsync'ed, then
    renamed over ``path`` with ``os.replace`` (and the directory fsync'ed): a crash at any point
    leaves either the previous file or the new one, never a partial file. On error the
    temporary file is removed and the exception re-raised.

    Parameters
    ----------
    obj : object
        Anything ``torch.save`` accepts.
    path : str or Path
        Destination; parent directories are created.

    Returns
    -------
    Path
    """
    return _atomic_write(path, lambda fh: torch.save(obj, fh))


def atomic_write_text(text: str, path) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_torch_save`).

    Parameters
    ----------
    text : str
    path : str or Path

    Returns
    -------
    Path
    """
    return _atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


# --------------------------------------------------------------------------------------
# schedules
# --------------------------------------------------------------------------------------
def lr_at(step: int, config: TrainConfig) -> float:
    r"""Learning rate of a step: linear warm-up, then cosine decay.

    .. math:: \eta_s = \eta\,\frac{s+1}{W}\ (s < W),\qquad
              \eta_s = \eta\big[r + (1-r)\tfrac12(1+\cos\pi u)\big],\
              u = \min\!\big(1, \tfrac{s-W}{S-W-1}\big)\ (s \ge W),

    with :math:`\eta` = ``lr``, :math:`W` = ``warmup_steps``, :math:`S` = ``steps``,
    :math:`r` = ``min_lr_ratio``; so the last step has :math:`r\eta`.

    Parameters
    ----------
    step : int
        0-based step index.
    config : TrainConfig

    Returns
    -------
    float
    """
    W, S, eta, r = config.warmup_steps, config.steps, config.lr, config.min_lr_ratio
    if step < W:
        return eta * (step + 1) / W
    span = max(S - W - 1, 1)
    u = min(max((step - W) / span, 0.0), 1.0)
    return eta * (r + (1.0 - r) * 0.5 * (1.0 + math.cos(math.pi * u)))


def sample_times(n: int, config: TrainConfig, generator: torch.Generator,
                 schedule: DiscreteSchedule | None = None) -> torch.Tensor:
    r"""Draw OU training times as configured.

    Continuous sampling: :math:`t = a + (b-a)u` (``"uniform"``), :math:`t = a(b/a)^u`
    (``"log_uniform"``), :math:`t = a + (b-a)u^2` (``"sqrt"``), or
    :math:`t = -\tfrac12\log(1-\varepsilon)` with :math:`\varepsilon = \varepsilon_a +
    (\varepsilon_b-\varepsilon_a)u`, :math:`\varepsilon_a = 1-e^{-2a}` (``"noise_level"``);
    :math:`u\sim U(0,1)`, :math:`[a, b]` = ``[t_min, t_max]``. Discrete sampling: :math:`k` uniform in
    :math:`\{1..T\}` and :math:`t = t_k = -\tfrac12\log\bar\alpha_k`.

    Parameters
    ----------
    n : int
        Number of times.
    config : TrainConfig
    generator : torch.Generator
        CPU generator all draws come from.
    schedule : DiscreteSchedule, optional
        Precomputed ``config.discrete_schedule()``.

    Returns
    -------
    torch.Tensor, shape (n,), float64
    """
    if config.time_sampling == "discrete":
        sched = schedule if schedule is not None else config.discrete_schedule()
        k = torch.randint(1, sched.T + 1, (n,), generator=generator)
        return torch.from_numpy(sched.times)[k]
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    a, b = config.t_min, config.t_max
    if config.t_distribution == "uniform":
        return a + (b - a) * u
    if config.t_distribution == "log_uniform":
        return torch.exp(math.log(a) + (math.log(b) - math.log(a)) * u)
    if config.t_distribution == "noise_level":  # eps = 1 - e^{-2t} uniform, t = -1/2 log(1 - eps)
        ea, eb = -math.expm1(-2.0 * a), -math.expm1(-2.0 * b)
        return -0.5 * torch.log1p(-(ea + (eb - ea) * u))
    return a + (b - a) * u * u


# --------------------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------------------
class _Progress:
    """tqdm bar when available, else a line to stderr every ~5 % of the run; silent if off."""

    def __init__(self, total: int, initial: int, enabled: bool, desc: str):
        self.total, self.enabled, self.bar = total, enabled, None
        self.every = max(1, total // 20)
        self.t0 = time.time()
        if enabled:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True, leave=False)
            except ImportError:
                print(f"{desc}: {total} steps (from {initial})", file=sys.stderr)

    def update(self, step: int, loss: float, lr: float) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            if step % 10 == 0 or step == self.total:
                self.bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", refresh=False)
        elif step % self.every == 0 or step == self.total:
            print(f"  step {step}/{self.total}  loss {loss:.4f}  lr {lr:.2e}  {time.time() - self.t0:.0f}s",
                  file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------
def _as_dataset(data, discrete: bool = False) -> Dataset:
    if discrete:
        return _as_token_dataset(data)
    if isinstance(data, Dataset):
        return data
    x = torch.as_tensor(np.asarray(data) if not isinstance(data, torch.Tensor) else data).float()
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"data must be a Dataset or an array of shape (n, d), got shape {tuple(x.shape)}")
    d = x.shape[1]
    return Dataset(x.contiguous(), None, torch.zeros(d), torch.ones(d), None, "array")


def _as_token_dataset(data) -> Dataset:
    """Integer tokens ``(n, d)`` as a :class:`Dataset` with int64 ``data`` (discrete objectives)."""
    if isinstance(data, Dataset):
        x = data.data
    else:
        x = torch.as_tensor(np.asarray(data) if not isinstance(data, torch.Tensor) else data)
    if x.is_floating_point() or x.is_complex() or x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"data of a discrete objective must be integer tokens of shape (n, d), got "
                         f"{x.dtype} of shape {tuple(x.shape)}")
    if x.min() < 0:
        raise ValueError("data of a discrete objective must be tokens >= 0")
    if isinstance(data, Dataset):
        return data if data.data.dtype == torch.int64 else dataclasses.replace(data, data=x.long())
    d = x.shape[1]
    return Dataset(x.long().contiguous(), None, torch.zeros(d), torch.ones(d), None, "tokens")


def _discrete_loss(model: nn.Module, x0: torch.Tensor, t: torch.Tensor, gen: torch.Generator, objective: str,
                   vocab: int, device: torch.device) -> torch.Tensor:
    """Cross-entropy of the clean tokens ``x0`` (B, d) after noising at OU times ``t`` (see the
    module docstring; the draws come from the CPU generator ``gen``)."""
    eps = -torch.expm1(-2.0 * t)  # noise level 1 - e^{-2t} (conventions.noise_level)
    xt = discrete_noise(x0.cpu(), eps, kind=objective, vocab=vocab, generator=gen)
    weight = (xt == vocab).float() if objective == "masking" else torch.ones(x0.shape)
    logits = model(xt.to(device), t.float().to(device))
    ce = nn.functional.cross_entropy(logits.float().reshape(-1, vocab), x0.reshape(-1), reduction="none")
    weight = weight.to(device).reshape(-1)
    return (ce * weight).sum() / weight.sum().clamp_min(1.0)


def model_spec(config: TrainConfig, data: Dataset) -> dict:
    """The network :func:`train` builds for a configuration and data.

    Parameters
    ----------
    config : TrainConfig
    data : Dataset
        Supplies ``d`` (MLP) or ``image_shape`` (U-Net, unless given in ``model_kwargs``).

    Returns
    -------
    dict
        A ``spec`` for :func:`~diffphase.validation.models.build_model`.
    """
    kw = dict(config.model_kwargs)
    if config.model == "mlp":
        return {"name": "mlp", "dim": data.dim, "skip": True, **kw}
    if config.model in DISCRETE_MODELS:
        vocab = kw.pop("vocab", None) or (getattr(data, "meta", None) or {}).get("vocab")
        if vocab is None:
            raise ValueError(f"model={config.model!r} needs the vocabulary: model_kwargs['vocab'] or "
                             "Dataset.meta['vocab']")
        return {"name": config.model, "vocab": int(vocab), "length": data.dim,
                "mask": config.objective == "masking", **kw}
    shape = kw.pop("image_shape", None) or data.image_shape
    if shape is None:
        raise ValueError("model='unet' needs image data (Dataset.image_shape) or model_kwargs['image_shape']")
    return {"name": "unet", "image_shape": list(shape), **kw}


def _ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    with torch.no_grad():
        torch._foreach_lerp_(list(ema.parameters()), [p.detach() for p in model.parameters()], 1.0 - decay)
        for e, b in zip(ema.buffers(), model.buffers()):
            e.copy_(b)


def load_model(path, device=None) -> tuple[nn.Module, dict]:
    """Load a finished model file (``<cache>/denoisers/<key>/model.pt``).

    Parameters
    ----------
    path : str or Path
    device : str or torch.device, optional
        Default :func:`default_device`.

    Returns
    -------
    model : torch.nn.Module
        The EMA network in eval mode on ``device``.
    payload : dict
        The saved dictionary (``spec``, ``config``, ``key``, ``losses``, ``lrs``, ...).
    """
    payload = torch.load(Path(path), map_location="cpu", weights_only=False)
    model = build_model(payload["spec"])
    model.load_state_dict(payload["ema"])
    return model.to(device or default_device()).eval(), payload


def load_snapshot(snapshot, device=None) -> nn.Module:
    """The network of one snapshot of ``TrainHistory.snapshots`` (EMA weights after a step of
    ``TrainConfig.snapshot_steps``).

    Parameters
    ----------
    snapshot : str, Path or dict
        A ``snapshots/step_<k>.pt`` file or its payload (``spec``, ``ema``, ``step``).
    device : str or torch.device, optional
        Default :func:`default_device`.

    Returns
    -------
    torch.nn.Module
        In eval mode on ``device``, with ``model.spec`` and ``model.step``.
    """
    if isinstance(snapshot, (str, Path)):
        snapshot = torch.load(Path(snapshot), map_location="cpu", weights_only=False)
    if not isinstance(snapshot, dict) or not {"spec", "ema", "step"} <= set(snapshot):
        raise ValueError("snapshot must be a snapshot file or its payload (keys 'spec', 'ema', 'step')")
    model = build_model(snapshot["spec"])
    model.load_state_dict(snapshot["ema"])
    model.step = int(snapshot["step"])
    return model.to(device or default_device()).eval()


def _snapshot_paths(config: TrainConfig, run_dir: Path) -> dict:
    return {k: run_dir / "snapshots" / f"step_{k}.pt" for k in config.snapshot_steps}


def train(config: TrainConfig, data, *, device=None, cache_dir=None, use_cache: bool = True,
          resume: bool = True, progress: bool = True, desc: str | None = None) -> tuple[nn.Module, TrainHistory]:
    r"""Train a noise-predicting denoiser on ``data`` in OU time and return its EMA weights
    (or, for a discrete ``config.objective``, a clean-token predictor on integer tokens).

    See the module docstring for the loss, time sampling, schedules and cache layout.

    Parameters
    ----------
    config : TrainConfig
        The configuration (validated here).
    data : Dataset or array_like of shape (n, d)
        Training data in normalized coordinates (a :class:`~diffphase.validation.data.Dataset`
        or a float array/tensor); integer tokens for the discrete objectives.
    device : str or torch.device, optional
        Default :func:`default_device` (CUDA when available, else CPU). Not part of the cache
        key; all random draws happen on the CPU, so the draws do not depend on the device.
    cache_dir : str or Path, optional
        Cache root (default ``$DIFFPHASE_CACHE`` or ``~/.cache/diffphase``).
    use_cache : bool
        If True (default): return the cached model when this configuration and data were
        trained before, otherwise write checkpoints every ``config.checkpoint_every`` steps,
        and the finished model, to the cache. If False: train in memory, write nothing.
    resume : bool
        Resume from the run's checkpoint when one exists (default True).
    progress : bool
        Show a progress bar with the loss (tqdm if installed, else lines on stderr).
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    model : torch.nn.Module
        The EMA network, in eval mode, on ``device``; ``model.spec`` rebuilds it.
    history : TrainHistory
        Per-step losses and learning rates, the cache key and path, and whether the model came
        from the cache or resumed from a checkpoint.
    """
    config.validate()
    ds = _as_dataset(data, config.discrete)
    device = torch.device(device if device is not None else default_device())
    spec = model_spec(config, ds)
    key = config_key({"kind": "denoiser", "config": config, "spec": spec, "data": ds.fingerprint()})
    run_dir = cache_root(cache_dir) / "denoisers" / key if use_cache else None
    final_path = run_dir / "model.pt" if run_dir else None

    with _RunLock(run_dir):
        if final_path is not None and final_path.exists():
            model, payload = load_model(final_path, device)
            return model, TrainHistory(np.asarray(payload["losses"]), np.asarray(payload["lrs"]), key, run_dir,
                                       from_cache=True, device=str(device),
                                       snapshots=_snapshot_paths(config, run_dir))
        return _fit(config, ds, spec, key, run_dir, device, resume, progress, desc)


class _RunLock:
    """Exclusive advisory lock (``fcntl.flock``) on ``<run_dir>/.lock`` while a run trains, so
    that two processes asked for the same configuration train it once (the second then finds
    the finished model). Released by the OS if the process dies; a no-op without ``fcntl``
    (Windows) or without a cache directory."""

    def __init__(self, run_dir: Path | None):
        self.run_dir, self.fh = run_dir, None

    def __enter__(self):
        if self.run_dir is None:
            return self
        try:
            import fcntl
        except ImportError:  # pragma: no cover - non-POSIX
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.run_dir / ".lock", "a+b")
        fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fh is not None:
            import fcntl
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None
        return False


def _fit(config: TrainConfig, ds: Dataset, spec: dict, key: str, run_dir: Path | None, device: torch.device,
         resume: bool, progress: bool, desc: str | None) -> tuple[nn.Module, TrainHistory]:
    """The training loop of :func:`train` (called with the run's lock held)."""
    final_path = run_dir / "model.pt" if run_dir else None
    ckpt_path = run_dir / "checkpoint.pt" if run_dir else None
    # deterministic initialization independent of the global RNG state
    model = seeded_init(lambda: build_model(spec), config.seed)
    ema = copy.deepcopy(model)
    model.to(device).train()
    ema.to(device).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(config.seed + 0x5EED)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                            betas=(config.adam_beta1, config.adam_beta2), foreach=True)
    use_amp = bool(config.amp) and device.type == "cuda"
    amp_dtype = torch.bfloat16 if (use_amp and torch.cuda.is_bf16_supported()) else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    losses: list[float] = []
    lrs: list[float] = []
    start = 0
    snap_steps = set(config.snapshot_steps)
    snapshots: dict = {}

    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not (run_dir / "config.json").exists():
            atomic_write_text(json.dumps({"config": _jsonable(dataclasses.asdict(config)), "spec": spec,
                                          "data": {"name": ds.name, "n": len(ds), "d": ds.dim,
                                                   "fingerprint": ds.fingerprint()},
                                          "engine_version": ENGINE_VERSION}, indent=2, sort_keys=True),
                              run_dir / "config.json")
        if resume and ckpt_path.exists():
            ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
            if ck.get("key") != key:
                raise ValueError(f"checkpoint {ckpt_path} belongs to another run (key mismatch)")
            model.load_state_dict(ck["model"])
            ema.load_state_dict(ck["ema"])
            opt.load_state_dict(ck["opt"])
            scaler.load_state_dict(ck["scaler"])
            gen.set_state(ck["rng"])
            losses, lrs, start = list(ck["losses"]), list(ck["lrs"]), int(ck["step"])
            snapshots = {k: p for k, p in _snapshot_paths(config, run_dir).items() if k <= start}

    x_all = ds.data.to(device=device, dtype=torch.int64 if config.discrete else torch.float32)
    n = x_all.shape[0]
    n_classes = int(spec.get("num_classes", 0) or 0)
    if n_classes:
        if ds.labels is None:
            raise ValueError("a class-conditional model (model_kwargs['num_classes'] > 0) needs labelled data")
        y_all = ds.labels.to(device=device, dtype=torch.int64)
        if int(y_all.min()) < 0 or int(y_all.max()) >= n_classes:
            raise ValueError(f"labels must be in [0, num_classes = {n_classes}), got range "
                             f"[{int(y_all.min())}, {int(y_all.max())}]")
    sched = config.discrete_schedule() if config.time_sampling == "discrete" else None
    bar = _Progress(config.steps, start, progress, desc or f"train {config.model} {key[:8]}")
    t0 = time.time()
    try:
        for step in range(start, config.steps):
            lr = lr_at(step, config)
            for g in opt.param_groups:
                g["lr"] = lr
            idx = torch.randint(n, (config.batch_size,), generator=gen)
            t = sample_times(config.batch_size, config, gen, sched)
            if config.discrete:
                with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=use_amp):
                    loss = _discrete_loss(model, x_all[idx.to(device)], t, gen, config.objective, spec["vocab"],
                                          device)
            else:
                z = torch.randn((config.batch_size,) + tuple(x_all.shape[1:]), generator=gen)
                a = torch.exp(-t).float()[:, None].to(device)
                s = torch.sqrt(-torch.expm1(-2.0 * t)).float()[:, None].to(device)
                z = z.to(device)
                xt = a * x_all[idx.to(device)] + s * z
                if n_classes:  # labels, a fraction label_dropout replaced by the null label
                    drop = torch.rand(config.batch_size, generator=gen) < config.label_dropout
                    y = torch.where(drop.to(device), torch.full_like(y_all[:1], n_classes), y_all[idx.to(device)])
                with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=use_amp):
                    pred = model(xt, t.float().to(device)) if not n_classes else model(xt, t.float().to(device), y)
                loss = torch.mean((pred.float() - z) ** 2)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.grad_clip > 0:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(opt)
            scaler.update()
            _ema_update(ema, model, min(config.ema_decay, (1.0 + step) / (10.0 + step)))
            lv = float(loss.detach())
            if not math.isfinite(lv):
                raise FloatingPointError(f"training loss became {lv} at step {step + 1}; lower lr "
                                         f"(now {config.lr}) or raise t_min (now {config.t_min})")
            losses.append(lv)
            lrs.append(lr)
            bar.update(step + 1, lv, lr)
            done = step + 1
            if done in snap_steps:
                snap = {"key": key, "step": done, "spec": spec,
                        "ema": {k: v.detach().cpu().clone() for k, v in ema.state_dict().items()}}
                snapshots[done] = snap if run_dir is None else atomic_torch_save(
                    snap, run_dir / "snapshots" / f"step_{done}.pt")
            if ckpt_path is not None and done % config.checkpoint_every == 0 and done < config.steps:
                atomic_torch_save({"key": key, "step": done, "model": model.state_dict(), "ema": ema.state_dict(),
                                   "opt": opt.state_dict(), "scaler": scaler.state_dict(), "rng": gen.get_state(),
                                   "losses": losses, "lrs": lrs}, ckpt_path)
    finally:
        bar.close()
    seconds = time.time() - t0
    ema.spec = spec
    history = TrainHistory(np.asarray(losses), np.asarray(lrs), key, run_dir, from_cache=False,
                           resumed_from=start, seconds=seconds, device=str(device), snapshots=snapshots)
    if final_path is not None:
        atomic_torch_save({"key": key, "spec": spec, "config": _jsonable(dataclasses.asdict(config)),
                           "ema": {k: v.detach().cpu() for k, v in ema.state_dict().items()},
                           "losses": losses, "lrs": lrs, "engine_version": ENGINE_VERSION}, final_path)
        if ckpt_path.exists():
            ckpt_path.unlink()
    return ema, history
