"""The engine of ``diffphase validate``, apart from the experiments.

=========================  ==============================================================
module                     holds
=========================  ==============================================================
:mod:`.config`             canonical JSON, cache keys, fields outside a key, :class:`Cost`
:mod:`.io`                 atomic files (text, JSON, torch, npz, PNG), cache root, run lock
:mod:`.progress`           progress bars
:mod:`.loop`               the one training loop (loss callback, EMA, checkpoints, resume)
:mod:`.executor`           sweeps through a local pool, Dask or any executor
:mod:`.experiment`         :class:`Experiment`, :class:`RunContext`, the registry
:mod:`.verdicts`           :class:`Verdict` (kinds, sources, preconditions), results
:mod:`.report`             ``report.md``/``.html``, ``results.json``, the docs digest
=========================  ==============================================================

Experiments (one package each: :mod:`diffphase.validation.regimes`,
:mod:`~diffphase.validation.rhm`, ...) use the engine; the engine imports no experiment.
"""

from .config import ENGINE_VERSION, Cost, canonical_json, config_key
from .experiment import Experiment, RunContext
from .io import (atomic_torch_save, atomic_write, atomic_write_text, cache_root, read_json, save_figure,
                 to_jsonable, write_json)
from .loop import FitResult, LoopSettings, default_device, fit
from .progress import Progress
from .verdicts import ExperimentResult, Verdict

__all__ = ["ENGINE_VERSION", "Cost", "canonical_json", "config_key", "Experiment", "RunContext", "atomic_torch_save",
           "atomic_write", "atomic_write_text", "cache_root", "read_json", "save_figure", "to_jsonable", "write_json",
           "FitResult", "LoopSettings", "default_device", "fit", "Progress", "ExperimentResult", "Verdict"]
