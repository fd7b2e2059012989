"""Keeping freed CPU memory in the process, so training steps stop page-faulting.

A training step of the essay's CNN at batch 64 allocates and frees the same few buffers
(activations, gradients, pooling indices) of up to 7.4 MB every step. With glibc's default
settings freed blocks at the top of the heap are handed back to the kernel once more than
twice the largest recent block is free, and larger blocks are ``mmap``-ed and unmapped each
time, so the next step touches fresh pages: measured here, 1,100-3,900 minor page faults per
step, a zeroed 4 KiB page each, several milliseconds of a 15 ms step. Raising glibc's trim and
mmap thresholds makes ``free`` keep those blocks for the next step: 0 faults per step.

This is a process-wide setting (``mallopt``), so nothing happens on import: callers ask for
it (:func:`bmlib.train.loop.train` does, on CPU). Off glibc (macOS, Windows, musl) it does
nothing and says why.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from dataclasses import dataclass

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc refuses mmap thresholds above HEAP_MAX_SIZE / 2, which is 32 MiB on 64-bit systems.
MAX_MMAP_THRESHOLD = 32 * 1024 * 1024


@dataclass(frozen=True)
class AllocatorSetting:
    """What :func:`retain_freed_memory` did."""

    applied: bool  # True when glibc accepted both thresholds
    trim_threshold: int  # bytes of free heap top kept before returning memory to the kernel
    mmap_threshold: int  # allocations from this size on get their own mapping
    reason: str  # why it was (not) applied, for run cards


def retain_freed_memory(trim_threshold: int = 256 * 1024 * 1024,
                        mmap_threshold: int = MAX_MMAP_THRESHOLD) -> AllocatorSetting:
    """Ask glibc to keep up to ``trim_threshold`` bytes of freed heap for reuse.

    Allocations below ``mmap_threshold`` come from the heap, so blocks of a training step are
    reused by the next one. Idempotent; safe to call many times. Raises ``ValueError`` for
    thresholds glibc would reject (negative, or an mmap threshold over 32 MiB).
    """
    if trim_threshold < 0:
        raise ValueError(f"trim_threshold={trim_threshold}: use a size in bytes >= 0")
    if not 0 <= mmap_threshold <= MAX_MMAP_THRESHOLD:
        raise ValueError(f"mmap_threshold={mmap_threshold}: glibc accepts 0 to "
                         f"{MAX_MMAP_THRESHOLD} bytes (32 MiB)")
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return AllocatorSetting(False, trim_threshold, mmap_threshold,
                                f"not glibc ({platform.system()} {platform.libc_ver()[0]}): "
                                "left as it is")
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError) as error:
        return AllocatorSetting(False, trim_threshold, mmap_threshold,
                                f"mallopt not found: {error}")
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    trim_ok = mallopt(_M_TRIM_THRESHOLD, min(trim_threshold, 2**31 - 1)) == 1
    mmap_ok = mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
    applied = trim_ok and mmap_ok
    reason = "glibc mallopt accepted both thresholds" if applied else (
        f"glibc mallopt refused: trim {'ok' if trim_ok else 'refused'}, "
        f"mmap {'ok' if mmap_ok else 'refused'}")
    return AllocatorSetting(applied, trim_threshold, mmap_threshold, reason)


def minor_page_faults() -> int:
    """Minor page faults of this process so far (a noise-free cost counter for benchmarks).

    Unix only (it reads ``getrusage``); raises ``OSError`` elsewhere.
    """
    try:
        import resource
    except ImportError as error:
        raise OSError("page-fault counts need Unix getrusage") from error
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
