r"""A small image/vector classifier trained by the package, to label generated samples.

Speciation and collapse experiments on real images need the class of a clone's end point;
this module trains a small CNN (or MLP) on the *normalized* data of a
:class:`~diffphase.validation.data.Dataset` — the same coordinates as a diffusion model's
samples — and reports its accuracy on a held-out split. For Gaussian mixtures no classifier is
needed: the class is the sign of the projection on the mean.

Models are cached like the denoisers (:mod:`diffphase.validation.train`): under
``<cache root>/classifiers/<key>/model.pt`` with ``key`` the SHA-256 of the canonical JSON of
the :class:`ClassifierConfig`, the network spec and the fingerprints of the training and test
data.

Examples
--------
>>> from diffphase.validation import data, classifier
>>> clf, info = classifier.train_classifier(classifier.ClassifierConfig(steps=600), data.digits())
>>> info.test_accuracy > 0.9                                                    # doctest: +SKIP
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from diffphase.numerics.checks import check_int, check_real
from diffphase.numerics.process import noise

from .data import Dataset
from .engine.config import Cost, config_key
from .engine.io import RunLock, atomic_torch_save, cache_root, to_jsonable
from .engine.loop import LoopSettings, cosine_lr, default_device, fit
from .models import Classifier, module_flops, seeded_init

__all__ = [
    "ClassifierConfig",
    "ClassifierInfo",
    "Classifier",
    "train_classifier",
    "classifier_cost",
    "accuracy",
    "predict",
    "predict_proba",
    "penultimate_features",
    "load_classifier",
]


@dataclass
class ClassifierConfig:
    r"""Configuration of :func:`train_classifier`.

    Parameters
    ----------
    arch : {"cnn", "mlp"}
        ``"cnn"`` (images only): three 3×3 convolutions (the last two with stride 2, so the
        feature map is 4× smaller per side), flattened into a two-layer head; ``"mlp"``: two hidden layers of width ``hidden``.
    hidden : int
        Width of the hidden/head layers (>= 1).
    channels : int
        Width of the first convolution (>= 1); the next two have ``2 * channels``.
    steps : int
        AdamW steps (>= 1), minibatches drawn with replacement.
    batch_size : int
        Minibatch size (>= 1).
    lr : float
        Peak learning rate (> 0); linear warm-up over ``warmup_steps`` then cosine decay to 0.
    weight_decay : float
        AdamW weight decay (>= 0).
    warmup_steps : int
        Warm-up steps (>= 0).
    label_smoothing : float
        Cross-entropy label smoothing in [0, 1).
    test_fraction : float
        Fraction held out (stratified) for the test accuracy when no test set is given, in (0, 1).
    split_seed : int
        Seed of the split (>= 0).
    seed : int
        Seed of initialization and minibatches (>= 0).
    noisy : bool
        Train a *noise-conditioned* classifier :math:`p(y\mid x_t, t)` instead: every
        minibatch is noised to OU times :math:`t` drawn log-uniformly in ``[t_min, t_max]``,
        :math:`x_t = e^{-t}x_0+\sqrt{1-e^{-2t}}\,z`, and the network receives ``t`` through a
        :class:`~diffphase.validation.models.TimeEmbedding` added to its first head layer. The
        reported accuracies are at ``t_min``. Default False (then the three fields below do not
        enter the cache key).
    t_min, t_max : float
        OU time range of the noisy classifier, :math:`0 < t_{\min} < t_{\max}`.
    """

    arch: str = "cnn"
    hidden: int = 128
    channels: int = 32
    steps: int = 1500
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    label_smoothing: float = 0.0
    test_fraction: float = 0.2
    split_seed: int = 0
    seed: int = 0
    noisy: bool = False
    t_min: float = 1e-3
    t_max: float = 6.0

    def hashed_dict(self) -> dict:
        """Fields entering the cache key (the noise fields only for a noisy classifier, so the
        keys of clean classifiers are those they had before the fields existed)."""
        out = dataclasses.asdict(self)
        if not self.noisy:
            for k in ("noisy", "t_min", "t_max"):
                out.pop(k)
        return out

    def validate(self) -> "ClassifierConfig":
        """Check every field; ``ValueError`` names the field and its valid range."""
        if self.arch not in ("cnn", "mlp"):
            raise ValueError(f"arch must be 'cnn' or 'mlp', got {self.arch!r}")
        check_int("hidden", self.hidden, minimum=1)
        check_int("channels", self.channels, minimum=1)
        check_int("steps", self.steps, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_real("lr", self.lr, low=0, low_open=True)
        check_real("weight_decay", self.weight_decay, low=0)
        check_int("warmup_steps", self.warmup_steps, minimum=0)
        check_real("label_smoothing", self.label_smoothing, low=0, high=1, high_open=True)
        check_real("test_fraction", self.test_fraction, low=0, high=1, low_open=True, high_open=True)
        check_int("split_seed", self.split_seed, minimum=0)
        check_int("seed", self.seed, minimum=0)
        if not isinstance(self.noisy, bool):
            raise ValueError(f"noisy must be True or False, got {self.noisy!r}")
        check_real("t_min", self.t_min, low=0, low_open=True)
        check_real("t_max", self.t_max, low=self.t_min, low_open=True)
        return self


@dataclass
class ClassifierInfo:
    """Result of :func:`train_classifier`.

    Attributes
    ----------
    test_accuracy : float
        Fraction of correctly classified held-out points.
    train_accuracy : float
        Fraction of correctly classified training points.
    n_train, n_test : int
        Sizes of the two splits.
    losses : ndarray
        Cross-entropy of every minibatch.
    key : str
        Cache key.
    path : Path or None
        Cache directory (None without cache).
    from_cache : bool
        True when loaded from the cache without training.
    seconds : float
        Training wall time of this call.
    """

    test_accuracy: float
    train_accuracy: float
    n_train: int
    n_test: int
    losses: np.ndarray
    key: str
    path: Path | None = None
    from_cache: bool = False
    seconds: float = 0.0


def _device_of(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover
        return torch.device("cpu")


def predict_proba(model: nn.Module, x, batch_size: int = 4096, t=None):
    r"""Class probabilities (softmax of the logits), computed under ``torch.no_grad()``.

    Parameters
    ----------
    model : Classifier
    x : array_like or torch.Tensor, shape (B, d)
        Normalized data (e.g. diffusion samples in the model's coordinates).
    batch_size : int
        Rows per forward pass (>= 1).
    t : float, optional
        OU time of ``x`` for a noise-conditioned classifier (:math:`p(y\mid x_t, t)`).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (B, num_classes)
        numpy for numpy input, torch (on the input's device) for torch input.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    is_np = not isinstance(x, torch.Tensor)
    xt = torch.from_numpy(np.ascontiguousarray(np.asarray(x), dtype=np.float32)) if is_np else x
    dev = _device_of(model)
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, xt.shape[0], batch_size):
            xb = xt[i: i + batch_size].to(dev, torch.float32)
            logits = model(xb) if t is None else model(xb, float(t))
            outs.append(torch.softmax(logits, dim=1))
    p = torch.cat(outs) if outs else torch.empty(0, model.spec["num_classes"], device=dev)
    return p.cpu().numpy() if is_np else p.to(xt.device)


def penultimate_features(model: nn.Module, x, batch_size: int = 4096) -> np.ndarray:
    r"""Penultimate-layer features of a clean-data :class:`Classifier`: the activations that
    enter its last linear layer (``head[:-1]`` after ``features``), for normalized data ``x``
    of shape (n, d). The feature space of the classifier-feature MMD statistics (in the spirit
    of KID) of the image experiments.

    Returns
    -------
    numpy.ndarray, shape (n, hidden), float64
    """
    if getattr(model, "time_dim", 0):
        raise ValueError("penultimate_features needs a classifier of clean data (time_dim = 0)")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    xt = torch.as_tensor(np.ascontiguousarray(np.asarray(x), dtype=np.float32))
    dev = _device_of(model)
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, xt.shape[0], batch_size):
            xb = xt[i:i + batch_size].to(dev)
            xb = xb.reshape(xb.shape[0], *model.image_shape) if model.arch == "cnn" else xb.reshape(xb.shape[0], -1)
            outs.append(model.head[:-1](model.features(xb)).cpu())
    return torch.cat(outs).numpy().astype(np.float64) if outs else np.empty((0, model.spec["hidden"]))


def predict(model: nn.Module, x, batch_size: int = 4096):
    """Predicted labels (argmax of the logits).

    Parameters
    ----------
    model : Classifier
    x : array_like or torch.Tensor, shape (B, d)
        Normalized data.
    batch_size : int
        Rows per forward pass (>= 1).

    Returns
    -------
    numpy.ndarray of int64 or torch.Tensor, shape (B,)
    """
    p = predict_proba(model, x, batch_size)
    return p.argmax(axis=1) if isinstance(p, np.ndarray) else p.argmax(dim=1)


def accuracy(model: nn.Module, data: Dataset, t=None) -> float:
    """Fraction of a labelled dataset that ``model`` classifies correctly.

    Parameters
    ----------
    model : Classifier
    data : Dataset
        Labelled, normalized like the classifier's training data.
    t : float, optional
        OU time at which a noise-conditioned classifier is evaluated (on the clean data).

    Returns
    -------
    float
        In [0, 1].
    """
    if data.labels is None:
        raise ValueError("data must be labelled to measure accuracy")
    pred = predict_proba(model, data.data, t=t).argmax(dim=1)
    return float((pred.cpu() == data.labels).double().mean())


def load_classifier(path, device=None) -> tuple[Classifier, dict]:
    """Load a cached classifier file (``<cache>/classifiers/<key>/model.pt``).

    Parameters
    ----------
    path : str or Path
    device : str or torch.device, optional
        Default CUDA when available, else CPU.

    Returns
    -------
    model : Classifier
        In eval mode.
    payload : dict
        Saved spec, config, accuracies and losses.
    """
    payload = torch.load(Path(path), map_location="cpu", weights_only=False)
    model = Classifier(**payload["spec"])
    model.load_state_dict(payload["state"])
    return model.to(device or default_device()).eval(), payload


def train_classifier(config: ClassifierConfig, data: Dataset, test_data: Dataset | None = None, *,
                     device=None, cache_dir=None, use_cache: bool = True,
                     progress: bool = False) -> tuple[Classifier, ClassifierInfo]:
    r"""Train a classifier on labelled normalized data and measure its held-out accuracy.

    Cross-entropy, AdamW, warm-up + cosine learning rate, seeded (same seed ⇒ same weights on
    the CPU), trained by the engine's loop (:func:`~diffphase.validation.engine.loop.fit`):
    checkpoints every quarter of the run, and an interrupted training resumes.

    Parameters
    ----------
    config : ClassifierConfig
        The configuration.
    data : Dataset
        Labelled data (normalized as the diffusion model's data). Without ``test_data`` a
        stratified ``config.test_fraction`` of it is held out (``config.split_seed``).
    test_data : Dataset, optional
        Explicit test set (e.g. Fashion-MNIST's official test split); then all of ``data``
        trains. Must have the same dimension and normalization.
    device : str, optional
        Default CUDA when available, else CPU.
    cache_dir : str or Path, optional
        Cache root (see :func:`diffphase.validation.engine.io.cache_root`).
    use_cache : bool
        Load/store the finished classifier in the cache (default True).
    progress : bool
        Show a progress bar.

    Returns
    -------
    model : Classifier
        In eval mode on ``device``.
    info : ClassifierInfo
        Test and train accuracy, losses, cache key.
    """
    config.validate()
    if not isinstance(data, Dataset) or data.labels is None:
        raise ValueError("data must be a labelled Dataset")
    if test_data is None:
        train_ds, test_ds = data.split(config.test_fraction, config.split_seed)
    else:
        if not isinstance(test_data, Dataset) or test_data.labels is None or test_data.dim != data.dim:
            raise ValueError(f"test_data must be a labelled Dataset with d = {data.dim}")
        if not (torch.equal(test_data.mean, data.mean) and torch.equal(test_data.scale, data.scale)):
            raise ValueError("test_data must have the same normalization (mean, scale) as data")
        train_ds, test_ds = data, test_data
    num_classes = max(train_ds.num_classes, test_ds.num_classes, 2)
    arch = config.arch if data.image_shape is not None else "mlp"
    spec = {"dim": data.dim, "num_classes": num_classes, "arch": arch,
            "image_shape": None if data.image_shape is None else list(data.image_shape),
            "hidden": config.hidden, "channels": config.channels}
    if config.noisy:
        spec["time_dim"] = 32
    key = config_key({"kind": "classifier", "config": config, "spec": spec,
                      "train": train_ds.fingerprint(), "test": test_ds.fingerprint()})
    device = torch.device(device if device is not None else default_device())
    run_dir = cache_root(cache_dir) / "classifiers" / key if use_cache else None
    final = run_dir / "model.pt" if run_dir else None
    if final is not None and final.exists():
        model, payload = load_classifier(final, device)
        return model, ClassifierInfo(payload["test_accuracy"], payload["train_accuracy"], payload["n_train"],
                                     payload["n_test"], np.asarray(payload["losses"]), key, run_dir, True, 0.0)

    with RunLock(run_dir):
        if final is not None and final.exists():  # trained meanwhile by another process
            model, payload = load_classifier(final, device)
            return model, ClassifierInfo(payload["test_accuracy"], payload["train_accuracy"], payload["n_train"],
                                         payload["n_test"], np.asarray(payload["losses"]), key, run_dir, True, 0.0)
        model = seeded_init(lambda: Classifier(**spec), config.seed)
        x_all = train_ds.data.to(device)
        y_all = train_ds.labels.to(device)
        settings = LoopSettings(
            steps=config.steps, batch_size=config.batch_size,
            lr_of_step=lambda k: cosine_lr(k, config.steps, config.lr, config.warmup_steps, 0.0, span_offset=0),
            weight_decay=config.weight_decay, generator_seed=config.seed + 0xC1A55,
            checkpoint_every=max(1, config.steps // 4))
        res = fit(model, _classification_loss(x_all, y_all, config, device), x_all.shape[0], settings, key=key,
                  device=device, run_dir=run_dir, resume=True, progress=progress, desc=f"classifier {key[:8]}")
        model = res.model
        t_acc = config.t_min if config.noisy else None
        info = ClassifierInfo(accuracy(model, test_ds, t_acc), accuracy(model, train_ds, t_acc), len(train_ds),
                              len(test_ds), res.losses, key, run_dir, False, res.seconds)
        if final is not None:
            atomic_torch_save({"key": key, "spec": spec, "config": to_jsonable(dataclasses.asdict(config)),
                               "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                               "test_accuracy": info.test_accuracy, "train_accuracy": info.train_accuracy,
                               "n_train": info.n_train, "n_test": info.n_test, "losses": res.losses.tolist()}, final)
            ckpt = run_dir / "checkpoint.pt"
            if ckpt.exists():
                ckpt.unlink()
    return model, info


def _classification_loss(x_all: torch.Tensor, y_all: torch.Tensor, config: ClassifierConfig, device):
    r"""The loss callback of :func:`train_classifier`: cross-entropy (label smoothing
    ``config.label_smoothing``) of the rows ``idx``; a noisy classifier sees
    :math:`x_t = e^{-t}x_0+\sqrt{1-e^{-2t}}\,z` at OU times log-uniform in ``[t_min, t_max]``
    (draws, in order: times, noise)."""

    def loss(model, idx, gen):
        rows = idx.to(device)
        if config.noisy:  # x_t at log-uniform OU times
            u = torch.rand(config.batch_size, generator=gen, dtype=torch.float64)
            tb = config.t_min * (config.t_max / config.t_min) ** u
            z = torch.randn((config.batch_size,) + tuple(x_all.shape[1:]), generator=gen).to(device)
            logits = model(noise(x_all[rows], tb, z), tb.float().to(device))
        else:
            logits = model(x_all[rows])
        return F.cross_entropy(logits, y_all[rows], label_smoothing=config.label_smoothing)

    return loss


def classifier_cost(config: dict, dim: int, image_shape=None, num_classes: int = 2) -> Cost:
    r"""FLOPs and optimizer steps of training one classifier of ``config``
    (:class:`ClassifierConfig` keywords): ``steps × batch_size ×`` the forward + backward FLOPs
    per sample (:func:`~diffphase.validation.models.module_flops`: matrix products and
    convolutions only). A CNN is attributed to the ``"unet"`` family (convolutions) and an
    MLP to ``"mlp"`` for the CPU rates of :mod:`~diffphase.validation.calibrate`.

    Examples
    --------
    >>> c = classifier_cost({"steps": 100, "batch_size": 8}, 64, (1, 8, 8))
    >>> c.train_steps, c.train_flops > 0
    (100, True)
    """
    cfg = ClassifierConfig(**dict(config)).validate()
    arch = cfg.arch if image_shape is not None else "mlp"
    model = Classifier(int(dim), int(num_classes), arch, image_shape, cfg.hidden, cfg.channels)
    flops = module_flops(model, torch.randn(8, int(dim)))["train"] * cfg.steps * cfg.batch_size
    family = "unet" if arch == "cnn" else "mlp"
    return Cost(train_flops=float(flops), train_steps=cfg.steps, by_network=((family, float(flops)),))
