"""The mock's clock: wall time scaled by a speed, which tests can pause and advance.

Tasks read their progress from this clock when someone looks, so thousands of running
tasks cost nothing, and a test of a 300-second timeout runs in milliseconds.
"""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self, speed: float = 1.0, start: float | None = None):
        self._lock = threading.Lock()
        self.speed = speed if speed > 0 else 1.0
        self._base_virtual = time.time() if start is None else start
        self._base_wall = time.monotonic()
        self._paused_at: float | None = None

    def now(self) -> float:
        """Virtual seconds since the epoch."""
        with self._lock:
            if self._paused_at is not None:
                return self._paused_at
            return self._base_virtual + (time.monotonic() - self._base_wall) * self.speed

    def _rebase(self, virtual: float) -> None:
        self._base_virtual = virtual
        self._base_wall = time.monotonic()

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        now = self.now()
        with self._lock:
            if self._paused_at is not None:
                self._paused_at = now + seconds
            else:
                self._rebase(now + seconds)
        return now + seconds

    def pause(self) -> float:
        now = self.now()
        with self._lock:
            self._paused_at = now
        return now

    def resume(self) -> float:
        with self._lock:
            if self._paused_at is not None:
                self._rebase(self._paused_at)
                self._paused_at = None
        return self.now()

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        now = self.now()
        with self._lock:
            if self._paused_at is None:
                self._rebase(now)
            self.speed = speed

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def iso(self, t: float | None = None) -> str:
        t = self.now() if t is None else t
        return iso(t)


def iso(t: float) -> str:
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
