"""cuid-like row ids."""

from __future__ import annotations

import itertools
import os
import threading
import time

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out))


class IdMinter:
    """cuid-like ids: 25 characters, starting with `c`, sorting (as strings) in creation order.

    c + 8 chars of milliseconds + 6 chars of a counter + 10 chars of fingerprint. With a fixed
    `epoch_ms` and `fingerprint` (the world generator's seeded values) the sequence is
    deterministic; at run time the wall clock is used, never going backwards.
    """

    def __init__(self, epoch_ms: int | None = None, fingerprint: str | None = None):
        self._fixed = epoch_ms
        self._last_ms = epoch_ms or 0
        self._counter = itertools.count()
        self._lock = threading.Lock()
        fp = fingerprint if fingerprint is not None else _b36(int.from_bytes(os.urandom(8), "big"), 10)
        self._fp = (fp + "0" * 10)[:10]

    def __call__(self) -> str:
        with self._lock:
            ms = self._fixed if self._fixed is not None else max(int(time.time() * 1000), self._last_ms)
            self._last_ms = ms
            return "c" + _b36(ms, 8) + _b36(next(self._counter) % 36 ** 6, 6) + self._fp
