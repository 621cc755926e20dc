"""Build, in the background, the relation indexes a big world left to first use.

A bulk-loaded table builds its relation indexes when first asked for (`Table.rel`), so a
100,000-VM world starts listening without them. Right after the server listens, this
builds the rest one index at a time, each under the world's lock (a request meanwhile
waits for at most one index), so that the first requests do not pay for them.
"""

from __future__ import annotations

import threading


def pending(store) -> list[tuple[str, str]]:
    """(model, field) of every relation index of `store` not built yet, biggest tables first."""
    out = []
    for m, t in sorted(store.tables.items(), key=lambda mt: -len(mt[1].rows)):
        out.extend((m, f) for f in sorted(t.rel_fields) if f not in t.rel_index)
    return out


def warm(store) -> int:
    """Build every pending relation index of `store`; how many were built."""
    n = 0
    for m, f in pending(store):
        with store.lock:
            t = store.tables.get(m)
            if t is not None and f not in t.rel_index:
                t.rel(f)
                n += 1
    return n


def warm_in_background(store) -> threading.Thread | None:
    if not pending(store):
        return None
    th = threading.Thread(target=warm, args=(store,), name="index-warmup", daemon=True)
    th.start()
    return th
