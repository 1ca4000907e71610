r"""What determines a trained denoiser (:class:`TrainConfig`), what its training did
(:class:`TrainHistory`), and the schedules of a run: learning rate and training times."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from diffphase.numerics.checks import check_int, check_real
from diffphase.numerics.conventions import DiscreteSchedule

from ..engine.config import hash_if_changed_field, hashed_dict, nohash_field
from ..engine.loop import cosine_lr

__all__ = ["T_DISTRIBUTIONS", "OBJECTIVES", "DISCRETE_MODELS", "TrainConfig", "TrainHistory", "lr_at", "sample_times"]

#: Densities of continuous training times (:func:`sample_times`).
T_DISTRIBUTIONS = ("uniform", "log_uniform", "sqrt", "noise_level")
#: Training objectives: Gaussian noise prediction, and the discrete masking / uniform diffusions.
OBJECTIVES = ("gaussian", "masking", "uniform")
#: Token denoisers (:class:`~diffphase.validation.models.TreeDenoiser`) of the discrete objectives.
DISCRETE_MODELS = ("tree",)


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
    objective: str = hash_if_changed_field("gaussian")
    label_dropout: float = hash_if_changed_field(0.1)
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
    checkpoint_every: int = nohash_field(500)
    snapshot_steps: tuple = hash_if_changed_field(())

    def __post_init__(self):
        if isinstance(self.snapshot_steps, list):  # from JSON: the same key as the tuple
            self.snapshot_steps = tuple(self.snapshot_steps)
        self.validate()

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
        return hashed_dict(self)


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


def lr_at(step: int, config: TrainConfig) -> float:
    r"""Learning rate of a step: linear warm-up, then cosine decay to ``lr * min_lr_ratio``
    (:func:`~diffphase.validation.engine.loop.cosine_lr` with the last step at exactly
    :math:`r\eta`).

    Parameters
    ----------
    step : int
        0-based step index.
    config : TrainConfig

    Returns
    -------
    float
    """
    return cosine_lr(step, config.steps, config.lr, config.warmup_steps, config.min_lr_ratio, span_offset=1)


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


