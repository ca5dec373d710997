"""glibc malloc settings that keep freed memory for reuse during training.

By default glibc hands an allocation above its (adaptive) mmap threshold straight to the kernel and
trims the heap once more than twice that threshold is free at its top. A training step frees all of
its activations, so every step faults the same buffers in again, page by page: a process that builds
ASNet and runs 6 fp32 training steps at 96×128, batch 16, takes about 2.4 million minor page faults,
and 0.4 million with the settings below, which keep that memory in the process, for buffers under
32 MiB: glibc does not allow a higher threshold, so a larger buffer (an fp32 feature map of 16 x 64
x 128 x 128 is 64 MiB) is still mapped and faulted in on every step. That favours bf16, whose
buffers are half the size, so the bf16/fp32 speed-up depends on this setting too. Measured with
``python -m skinseg bench --models linknet64 asnet --sizes linknet64=256x256 asnet=96x128 --batch 16
--repeats 5 --rounds 5 --precision fp32,bf16 --channels-last`` on the idle 2-core machine, median of
5 rounds (results/benchmarks/cpu-fp32-bf16-rounds5*.csv; ``-malloc-default`` is the same command
before this module): bf16 + channels_last training went from 50.4 to 60.7 images/s (linknet64) and
from 33.3 to 36.2 (asnet); fp32 from 18.8 to 20.0 and from 14.8 to 15.1. Only where memory comes
from changes, not a single number computed (tested). ``SKINSEG_MALLOC_DEFAULT=1`` in the environment
leaves glibc's defaults, to measure without the setting; each run's ``provenance.json`` records
which was used.
"""
from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's ceiling for M_MMAP_THRESHOLD on 64-bit machines
TRIM_THRESHOLD = 2**31 - 1  # the largest int: in effect, never trim
OFF_SWITCH = "SKINSEG_MALLOC_DEFAULT"
_kept = False  # whether this process runs with the settings (for provenance)


def keep_freed_memory() -> bool:
    """Raise glibc's mmap threshold to its maximum (32 MiB) and its trim threshold to 2 GiB for
    this process, so the buffers a training step frees are reused by the next step instead of being
    returned to the kernel and faulted in again. The process's resident memory then stays near its
    peak. Returns whether glibc accepted both settings (False where the C library is not glibc, or
    when ``SKINSEG_MALLOC_DEFAULT=1`` is set)."""
    global _kept
    if os.environ.get(OFF_SWITCH) == "1":
        return _kept
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library already loaded into this process
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    _kept = _kept or ok
    return ok


def kept_freed_memory() -> bool:
    """Whether :func:`keep_freed_memory` has taken effect in this process."""
    return _kept
