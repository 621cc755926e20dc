"""Process-wide allocator settings for a long-running server (`cloudtower-mock serve`).

glibc raises its mmap threshold after a large block is freed (up to 32 MiB), so later large
answers (a page of 2,000 VMs is ~2 MiB) come from the heap, where the small long-lived
objects around them (cached JSON, rows written since the seed) keep the freed pages from
being returned: on the 100,000-VM world, paging through every VM once left ~170 MiB more
RSS than with a fixed threshold. A fixed 128 KiB threshold sends every large block to mmap
(returned when freed), and a fixed trim threshold gives free heap tops back at 1 MiB.

Nothing here changes an answer; on a libc without `mallopt` (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024
TRIM_THRESHOLD = 1024 * 1024


def tune_malloc() -> bool:
    """Fix glibc's mmap and trim thresholds; True when applied."""
    try:
        mallopt = ctypes.CDLL(None).mallopt     # the C library the interpreter is linked with
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
