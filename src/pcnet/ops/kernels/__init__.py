"""Compiled per-pixel kernels (numba): the refinement sweeps, connected components, hard labels.

Each module here is imported on first use by the op that needs it (``import pcnet`` and
``import pcnet.ops`` import no numba). Kernels are compiled once per machine and kept in numba's
on-disk cache (``cache=True``: ``__pycache__`` beside the module, or ``NUMBA_CACHE_DIR``); a fresh
process with a warm cache loads them in milliseconds. They release the GIL (``nogil=True``) and
run their parallel loops on numba's threads (``numba.set_num_threads``); every result is the same
for any thread count. ``tests/reference_ops.py`` holds the plain NumPy version of each, which the
tests compare them against.
"""

from __future__ import annotations

import os

__all__ = ["set_threads"]


def set_threads(threads: int | None) -> int:
    """Use ``threads`` numba threads in this thread (``None``: all of numba's, i.e. the CPU count
    unless ``NUMBA_NUM_THREADS`` says less); returns the count set."""
    import numba

    most = numba.config.NUMBA_NUM_THREADS
    count = most if threads is None else max(1, min(int(threads), most))
    numba.set_num_threads(count)
    return count


def cpu_threads() -> int:
    """The CPU cores this process may use (its affinity mask, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
