"""How the serving process uses Python's cyclic garbage collector.

The mock's heap is mostly long-lived, acyclic data: the seeded world (frozen out of the
collector's sight once loaded), then rows that writes add and replace, task rows, change-log
and journal entries. The collector finds none of that reclaimable (reference counting frees
replaced rows at once), yet a full collection walks all of it: on a world that has taken
tens of thousands of writes a full pass stopped every request for 0.3-0.7 s (measured with
`gc.callbacks` during `tools/bench.py`'s write cases).

So, after each full collection, what survived it is frozen (`gc.freeze`): the next full
pass walks only what was allocated since. Reference counting still frees frozen objects
that die; what freezing gives up is reclaiming *cycles* among objects that lived through a
full collection and die later, which this code must not make: rows, entries, tasks and
stores hold no cycles (a store's renderer and render cache reach it through a weak proxy). The young generation's threshold is raised so that the many short-lived
containers of one request rarely trigger a pass at all (containers freed by reference
counting do not count towards it; survivors do).

What survives a *young* pass is frozen too. Otherwise a write burst's survivors (a new VM
leaves a dozen tracked containers: its rows, task steps, change-log entries) pile up in the
middle generation, whose pass walked 200,000 of them at once every tenth young pass: a
100-150 ms stop of every request, the p99 of a 10-VMs-a-request create-vm burst (measured
with `gc.callbacks`). Frozen, they are walked once, by the young pass that saw them. Cyclic
garbage is still found by the young passes; what freezing gives up is a cycle that was alive
at a pass and dies later (the few a request makes die with it, almost always before a pass).
With every pass's survivors frozen the threshold only sets how long one pass stops the
requests: 5,000 young containers take ~2 ms, 20,000 took 8-20 ms (the same total).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 5_000             # net container allocations between young passes (Python's: 700)

_installed = False


def _freeze_after_pass(phase: str, info: dict) -> None:
    if phase == "stop":
        gc.freeze()


def install() -> None:
    """Use this policy in this process (idempotent). Call after the world is loaded."""
    global _installed
    if _installed:
        return
    _installed = True
    _, t1, t2 = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, t1, t2)
    gc.callbacks.append(_freeze_after_pass)
