"""The primitive values of a seeded world: ISO timestamps, uuid4 and MAC strings from a seeded
rng, and the constants the builders share."""

from __future__ import annotations

import random
from datetime import datetime, timezone

INT32_MAX = 2 ** 31 - 1
GiB = 1024 ** 3
NEVER = "1970-01-01T00:00:00.000Z"
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def iso(ms: int) -> str:
    """Epoch milliseconds -> `2025-12-25T06:31:40.000Z`."""
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def uuid4(rng: random.Random) -> str:
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def uuid4_of(rng: random.Random):
    """`uuid4` bound to one rng, for hot loops: the same strings from the same draws."""
    def make(bits=rng.getrandbits, variant=_VARIANT) -> str:
        h = "%032x" % bits(128)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant[h[16]]}{h[17:20]}-{h[20:]}"
    return make


def uuid4s_of(rng: random.Random):
    """`n` -> `[uuid4(rng) for _ in range(n)]` from one draw: getrandbits(128 * n) holds the n
    draws of getrandbits(128), the first in the lowest bits."""
    def make(n: int, bits=rng.getrandbits, variant=_VARIANT) -> list[str]:
        h = "%0*x" % (32 * n, bits(128 * n))
        out = []
        for i in range(32 * (n - 1), -1, -32):
            out.append(f"{h[i:i + 8]}-{h[i + 8:i + 12]}-4{h[i + 13:i + 16]}-{variant[h[i + 16]]}"
                       f"{h[i + 17:i + 20]}-{h[i + 20:i + 32]}")
        return out
    return make


def picker(rng: random.Random):
    """`rng.choice` for hot loops: the same picks from the same draws, one call less."""
    below = rng._randbelow

    def pick(seq):
        n = len(seq)
        if not n:
            raise IndexError("Cannot choose from an empty sequence")
        return seq[below(n)]
    return pick


def mac(rng: random.Random) -> str:
    n = rng.getrandbits(24)
    return "52:54:00:%02x:%02x:%02x" % (n >> 16, (n >> 8) & 255, n & 255)
