r"""The machine a run is on: what a report's header records about it, and the CPU clock of a run.

Seeded runs give bit-identical numbers on one machine. On a processor with other vector
instructions torch takes other float32 kernels (AVX2, AVX-512, ...), whose last bits differ;
through thousands of training steps such differences grow into different trained models. The
standard tier run at commit da01623 and the one at ac258b4 on another machine (an AMD EPYC with
AVX-512 kernels) agreed in 134 of 141 verdict outcomes, and in every verdict's measured value in
9 of their 14 experiments, but not bit for bit. So every report names the processor
(:func:`cpu_model`) and torch's kernel level (:func:`cpu_kernels`) next to the torch build
(:func:`torch_version`).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["cpu_model", "cpu_kernels", "torch_version", "process_cpu_seconds"]


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The processor's model name, as the kernel reports it (``model name`` in ``/proc/cpuinfo``).

    Parameters
    ----------
    cpuinfo : str or Path
        The file to read (Linux); where it is missing or names no model,
        :func:`platform.processor` is used.

    Returns
    -------
    str
        The model name of the first processor listed, or ``"unknown"`` when neither source
        names one.
    """
    try:
        for line in Path(cpuinfo).read_text(encoding="utf-8", errors="replace").splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_kernels() -> str:
    """The vector instruction level of torch's CPU kernels.

    Returns
    -------
    str
        ``torch.backends.cpu.get_cpu_capability()`` (e.g. ``"AVX2"``, ``"AVX512"``), or
        ``"unknown"`` where this torch cannot say.
    """
    import torch

    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):
        return "unknown"


def torch_version() -> str:
    """The torch build (``torch.__version__``, e.g. ``"2.13.0+cpu"``)."""
    import torch

    return torch.__version__


def process_cpu_seconds() -> float:
    """User + system CPU time, in seconds, of this process and of its waited-for children (the
    sweep pools, which are shut down, and so waited for, at the end of every sweep)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
