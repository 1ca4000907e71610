r"""Configurations of the engine: canonical JSON, cache keys, fields that do not enter a key,
and the cost of a run.

A *cache key* is the SHA-256 of the canonical JSON (sorted keys, no spaces, dataclasses as
their hashed fields) of ``[ENGINE_VERSION, *parts]``: the same configuration always gives the
same key, in any process, and a change of :data:`ENGINE_VERSION` retires every key.

Examples
--------
>>> config_key({"a": 1, "b": [1, 2]}) == config_key({"b": (1, 2), "a": 1})
True
>>> (Cost(train_flops=1.0, train_steps=2) + Cost(sample_flops=3.0)).total_flops
4.0
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ENGINE_VERSION", "canonical_json", "config_key", "nohash_field", "hash_if_changed_field",
           "hashed_dict", "Cost"]

#: Version of the training procedure; part of every cache key, bumped whenever a change would
#: alter the weights trained from a given configuration.
ENGINE_VERSION = 2


def nohash_field(default, **kw):
    """A dataclass field excluded from the cache key (it does not change the result)."""
    return field(default=default, metadata={"hash": False}, **kw)


def hash_if_changed_field(default, **kw):
    """A field added after cache keys existed: in the key only when it differs from its
    default, so that the keys of configurations that do not use it are unchanged."""
    return field(default=default, metadata={"hash": "if_changed"}, **kw)


def hashed_dict(obj) -> dict:
    """The fields of the dataclass ``obj`` that enter its cache key (see :func:`nohash_field`,
    :func:`hash_if_changed_field`)."""
    out = {}
    for f in dataclasses.fields(obj):
        h = f.metadata.get("hash", True)
        value = getattr(obj, f.name)
        if h is True or (h == "if_changed" and value != f.default):
            out[f.name] = value
    return out


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


@dataclass(frozen=True)
class Cost:
    """What a run costs: FLOPs of training and sampling, optimizer steps and sampler calls
    (network forward passes in batches). Costs add up (``a + b``, ``sum(costs, Cost())``).

    Attributes
    ----------
    train_flops, sample_flops : float
    train_steps, sampler_calls : int
    by_network : tuple of (str, float)
        The FLOPs (training and sampling) per network family (``"mlp"``, ``"unet"``,
        ``"tree"``), summed by :meth:`flops_by_network`: the families run at different rates
        on a CPU (:mod:`~diffphase.validation.calibrate`).
    """

    train_flops: float = 0.0
    sample_flops: float = 0.0
    train_steps: int = 0
    sampler_calls: int = 0
    by_network: tuple = ()

    def __add__(self, other: "Cost") -> "Cost":
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(self.train_flops + other.train_flops, self.sample_flops + other.sample_flops,
                    self.train_steps + other.train_steps, self.sampler_calls + other.sampler_calls,
                    self.by_network + other.by_network)

    def __radd__(self, other) -> "Cost":
        return self if isinstance(other, int) and other == 0 else self.__add__(other)  # sum() starts at 0

    def __mul__(self, k: int) -> "Cost":
        return Cost(self.train_flops * k, self.sample_flops * k, self.train_steps * int(k),
                    self.sampler_calls * int(k), tuple((n, f * k) for n, f in self.by_network))

    @property
    def total_flops(self) -> float:
        """Training plus sampling FLOPs."""
        return self.train_flops + self.sample_flops

    def flops_by_network(self) -> dict:
        """``{family: FLOPs}``; FLOPs not attributed to a family are under ``""``."""
        out: dict = {}
        for name, f in self.by_network:
            out[name] = out.get(name, 0.0) + float(f)
        rest = self.total_flops - sum(out.values())
        if abs(rest) > 1e-9 * max(self.total_flops, 1.0):
            out[""] = out.get("", 0.0) + rest
        return out
