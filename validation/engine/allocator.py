r"""glibc ``malloc`` settings for long numeric runs.

Training and sampling allocate and free the same large buffers (activations, distance
matrices) thousands of times. With glibc's defaults a buffer above the dynamic mmap threshold
gets fresh pages from the kernel on every allocation, and free memory at the top of the heap is
returned to the kernel, so the next allocation faults its pages in again: the standard tier's
run at commit 6e26f7f spent 767 of its 10 027 CPU-seconds in the kernel (439 million minor page
faults). :func:`tune_malloc` keeps such memory in the process instead:

- ``M_MMAP_THRESHOLD`` = 32 MiB (glibc's largest on 64-bit): buffers below it come from the heap;
- ``M_MMAP_MAX`` = 0: so do the larger ones (no buffer is mapped on its own). The threshold alone
  left every buffer above 32 MiB -- a U-Net's unfolded convolution input over a batch of images,
  hundreds of MB -- mapped and faulted in afresh on each call: the standard run at 04b654e still
  spent 508 CPU-seconds in the kernel (296 million minor faults), and 15 forward passes of the
  standard U-Net on 500 images fault 331 000 pages with the threshold alone, 117 000 -- 200 000
  (about the resident set, touched once) with both;
- ``M_TRIM_THRESHOLD`` = :math:`2^{31}-1` bytes: freed heap memory is not handed back;
- ``M_TOP_PAD`` = 64 MiB: the heap grows in large steps.

The same settings go to ``GLIBC_TUNABLES`` (unless it is already set), so worker processes
started afterwards inherit them. Numbers do not change: where memory comes from does not enter
any arithmetic (torch aligns its buffers to 64 bytes either way); the cost is a resident set
that does not shrink between allocations. ``benchmarks/allocator.py`` measures the saving.

``diffphase validate`` and ``diffphase analyze`` call it; set ``DIFFPHASE_MALLOC_TUNING=0`` to
keep glibc's defaults.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["tune_malloc", "MALLOC_SETTINGS"]

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -2, -3, -4

#: ``(mallopt parameter, GLIBC_TUNABLES name, value in bytes)``.
MALLOC_SETTINGS = (
    (_M_MMAP_THRESHOLD, "glibc.malloc.mmap_threshold", 32 * 1024 * 1024),
    (_M_MMAP_MAX, "glibc.malloc.mmap_max", 0),
    (_M_TRIM_THRESHOLD, "glibc.malloc.trim_threshold", 2**31 - 1),
    (_M_TOP_PAD, "glibc.malloc.top_pad", 64 * 1024 * 1024),
)


def tune_malloc() -> bool:
    """Apply :data:`MALLOC_SETTINGS` to this process (``mallopt``) and to the processes it
    starts later (``GLIBC_TUNABLES``).

    Does nothing, and returns False, off Linux/glibc, when ``DIFFPHASE_MALLOC_TUNING=0``, or when
    ``GLIBC_TUNABLES`` is already set (the user's settings win).

    Returns
    -------
    bool
        True when every ``mallopt`` call succeeded.

    Examples
    --------
    >>> import os
    >>> from diffphase.validation.engine.allocator import tune_malloc
    >>> os.environ["DIFFPHASE_MALLOC_TUNING"] = "0"
    >>> tune_malloc()
    False
    >>> del os.environ["DIFFPHASE_MALLOC_TUNING"]
    """
    if os.environ.get("DIFFPHASE_MALLOC_TUNING", "1") == "0" or "GLIBC_TUNABLES" in os.environ:
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    ok = all(mallopt(param, value) == 1 for param, _, value in MALLOC_SETTINGS)
    if ok:  # glibc: workers started from now on read the same settings at start-up
        os.environ["GLIBC_TUNABLES"] = ":".join(f"{name}={value}" for _, name, value in MALLOC_SETTINGS)
    return ok
