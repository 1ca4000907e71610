"""The machine facts of a report header (validation.engine.machine)."""
from __future__ import annotations

import time

from diffphase.validation.engine.machine import cpu_kernels, cpu_model, process_cpu_seconds, torch_version


def test_cpu_model_reads_the_model_name_line(tmp_path):
    """The header's processor name is the ``model name`` field of ``/proc/cpuinfo`` (the first
    processor's); a file without one, or no file, falls back to ``platform.processor`` or "unknown"."""
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\nflags\t: fpu avx512f\n\n"
                    "processor\t: 1\nmodel name\t: something else\n")
    assert cpu_model(info) == "AMD EPYC 9R14"
    import platform
    info.write_text("processor\t: 0\nmodel name\t:\n")
    assert cpu_model(info) == (platform.processor() or "unknown")
    assert cpu_model(tmp_path / "absent") == (platform.processor() or "unknown")
    import torch
    assert cpu_kernels() == torch.backends.cpu.get_cpu_capability()


def test_torch_version_is_the_installed_build():
    import torch

    assert torch_version() == torch.__version__


def test_process_cpu_seconds_counts_work_not_sleep():
    """Busy work advances the CPU clock (0.2 s of it within 10 s of wall time, however loaded the
    machine); 0.3 s of sleep advances it by less than 0.1 s."""
    c0, t0 = process_cpu_seconds(), time.perf_counter()
    x = 0
    while process_cpu_seconds() - c0 < 0.2 and time.perf_counter() - t0 < 10:
        x += 1
    busy = process_cpu_seconds() - c0
    c1 = process_cpu_seconds()
    time.sleep(0.3)
    slept = process_cpu_seconds() - c1
    assert busy >= 0.2 and slept < 0.1, (busy, slept)
