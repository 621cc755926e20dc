"""The in-memory store: one table per resource type of the contract.

Rows are plain dicts holding scalars and *stored* relations as ids (a to-one relation as
an id or None, a to-many one as a list of ids). Each relation pair of the contract
(`Vm.vm_disks` / `VmDisk.vm`) is stored on one side only; the other side is *derived*
from a reverse index, so both ends always agree. Rows are never mutated in place:
an update replaces the row dict, so a reader can hold a row without a lock.

Layering: :meth:`Store.freeze` makes the current rows the world's pristine *base*; every
table is then a copy-on-write fork of it (see :mod:`.table`). :meth:`Store.reset` drops the
written tables' forks (cost: the tables written, not the rows that exist) and
:meth:`Store.fork` gives a new namespace's store sharing the same base.

`Nested<X>` projections are rendered from current state when a response is built, so a
rename shows everywhere at once (:mod:`.render`).
"""

from __future__ import annotations

import gc
import queue
import threading
import time
import weakref
from collections import deque
from typing import Any, Iterable

from ..contract.index import Contract
from .ids import IdMinter, _b36
from .relations import RelationPlan, plan_relations, plural_forms, relation_plans, snake
from .render import RenderCache, Renderer
from .source import StoreSource
from .table import INDEXED_SCALARS, Table, build_table, members

__all__ = ["Store", "StoreSource", "Table", "IdMinter", "RelationPlan", "plan_relations", "snake",
           "plural_forms", "INDEXED_SCALARS", "CHANGE_LOG_SIZE", "members", "_b36"]

CHANGE_LOG_SIZE = 10_000
GC_FREEZE_MIN_ROWS = 50_000


class _Reaper:
    """Frees what a reset dropped (a written table's copies can be a million objects) on a
    thread of its own, so that the reset itself returns at once."""

    def __init__(self):
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, garbage: list) -> None:
        self._q.put(garbage)
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="store-reaper", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            garbage = self._q.get()
            while garbage:
                _drain(garbage.pop())
            del garbage


_CHUNK = 2000                      # references dropped between two yields to request threads


def _drain(obj) -> None:
    """Free a dropped table (its rows and index copies), change log or cache a chunk at a
    time, letting request threads run in between: freeing a 100,000-row table's copies at
    once held the GIL for tens of milliseconds, in the way of the answer to the reset."""
    if isinstance(obj, Table):
        if obj.is_forked_clean:
            return                 # its structures are another table's: only the reference goes
        parts = [obj.rows, obj._order, *obj.scalar_index.values(), *obj.rel_index.values()]
        del obj
        for part in parts:
            _drain(part)
        return
    if isinstance(obj, dict):
        pop = obj.popitem
    elif isinstance(obj, (list, deque)):
        pop = obj.pop
    else:
        return
    try:
        while obj:
            for _ in range(min(_CHUNK, len(obj))):
                pop()
            time.sleep(0)
    except (KeyError, IndexError):  # emptied meanwhile
        pass


_reaper = _Reaper()


class _Writes:
    """Inserts, updates and deletes, each logged in the change feed and the render cache."""

    def _log(self, action: str, model: str, rid: str, old: dict | None, new: dict | None,
             changed: set[str] | None = None) -> None:
        self.revision += 1
        self.changes.append((self.revision, action, model, rid, old, new, time.time()))
        self.json_cache.invalidate(model, rid, old, new, changed)

    def insert(self, model: str, row: dict) -> dict:
        with self.lock:
            if "id" not in row or not row["id"]:
                row = {**row, "id": self.mint()}
            self.tables[model].put(row)
            self._log("CREATE", model, row["id"], None, row)
            return row

    def put(self, model: str, row: dict) -> dict:
        """Store a whole row (a restore after a failed task): an insert or an update."""
        with self.lock:
            old = self.tables[model].rows.get(row["id"])
            self.tables[model].put(row)
            self._log("UPDATE" if old is not None else "CREATE", model, row["id"], old, row)
            return row

    def insert_many(self, model: str, rows: Iterable[dict]) -> None:
        with self.lock:
            table = self.tables[model]
            for row in rows:
                table.put(row)
            self.revision += 1
            self.json_cache.clear()

    def load(self, model: str, rows: dict[str, dict]) -> None:
        """Fill an empty table in bulk (a world being built), taking `rows` ({id: row})."""
        with self.lock:
            self.tables[model].load(rows)
            self.revision += 1
            self.json_cache.clear()

    def update(self, model: str, rid: str, changes: dict) -> dict | None:
        with self.lock:
            table = self.tables[model]
            old = table.rows.get(rid)
            if old is None:
                return None
            new = {**old, **changes}
            table.put(new)
            # the fields that changed are among those given (the others are the same objects)
            changed = {k for k, v in changes.items() if (ov := old.get(k, _MISSING)) is not v and ov != v}
            self._log("UPDATE", model, rid, old, new, changed)
            return new

    def delete(self, model: str, rid: str, cascade: bool = True) -> dict | None:
        """Remove a row; referrers' stored relations are cleaned: a nullable to-one is set to
        null, a list loses the id, and a required to-one (a disk's VM) cascades."""
        with self.lock:
            old = self.tables[model].remove(rid)
            if old is None:
                return None
            self._log("DELETE", model, rid, old, None)
            for other, f, plan in self._referring.get(model, ()):
                table = self.tables[other]
                refs = table.rel(f).get(rid)
                if not refs:
                    continue
                for ref in sorted(members(refs)):
                    row = table.rows.get(ref)
                    if row is None:
                        continue
                    if plan.many:
                        self.update(other, ref, {f: [x for x in row.get(f) or [] if x != rid]})
                    elif (plan.nullable and not _owned(other, f, model)) or not cascade:
                        self.update(other, ref, {f: None})
                    else:
                        self.delete(other, ref)
            if cascade:
                # A required relation derived from this row's stored one (Ipmi.host from
                # Host.ipmi, ClusterSettings.cluster from Cluster.settings) would read null:
                # what it names goes with the row.
                for f, plan in self.plans[model].items():
                    if not plan.stored or plan.many:
                        continue
                    tid = old.get(f)
                    if not tid:
                        continue
                    for back in self.plans[plan.target].values():
                        if (not back.stored and not back.many and not back.nullable
                                and back.inverse == (model, f)):
                            self.delete(plan.target, tid)
                            break
            return old


_MISSING = object()
_HISTORY = frozenset({"Task", "SystemAuditLog", "UserAuditLog", "ReportTask", "ClusterUpgradeHistory"})


def _owned(model: str, field: str, target: str) -> bool:
    """A row that belongs to a cluster goes when the cluster is removed from the tower
    (delete-cluster takes its VMs, folders, templates, ... with it), although the schema
    lets `cluster` read null for resources that live outside one; history stays."""
    return field == "cluster" and target == "Cluster" and model not in _HISTORY


class _Reads:
    def get(self, model: str, rid: str) -> dict | None:
        t = self.tables.get(model)
        return t.rows.get(rid) if t else None

    def all(self, model: str) -> list[dict]:
        t = self.tables[model]
        return [t.rows[i] for i in t.ordered_ids()]

    def count(self, model: str) -> int:
        return len(self.tables[model].rows)

    def first(self, model: str) -> dict | None:
        """The row with the lowest id, without listing the table."""
        ids = self.tables[model].ordered_ids()
        return self.tables[model].rows[ids[0]] if ids else None

    def count_by(self, model: str, field: str, value: Any) -> int:
        """How many rows have `field` (indexed scalar or stored relation) equal to / holding `value`."""
        t = self.tables[model]
        idx = t.index(field)
        if idx is not None:
            return len(members(idx.get(value)))
        return len(self.find_by(model, field, value))

    def related_ids(self, model: str, row: dict, field: str) -> Any:
        """To-one: an id or None; to-many: a sorted list of ids (stored or derived)."""
        plan = self.plans[model].get(field)
        if plan is None:
            return None
        if plan.stored:
            v = row.get(field)
            return (v or []) if plan.many else v
        sm, sf = plan.inverse  # type: ignore[misc]
        refs = self.tables[sm].rel(sf).get(row["id"])
        if refs is None:
            return [] if plan.many else None
        if type(refs) is str:
            return [refs] if plan.many else refs
        return sorted(refs) if plan.many else min(refs)

    def related_count(self, model: str, row: dict, field: str) -> int:
        """How many rows a to-many relation holds (stored or derived), without listing them."""
        plan = self.plans[model].get(field)
        if plan is None:
            return 0
        if plan.stored:
            return len(row.get(field) or ())
        sm, sf = plan.inverse  # type: ignore[misc]
        return len(members(self.tables[sm].rel(sf).get(row["id"])))

    def find_by(self, model: str, field: str, value: Any) -> list[dict]:
        t = self.tables[model]
        if field == "id":
            r = t.rows.get(value)
            return [r] if r else []
        idx = t.index(field)
        if idx is not None:
            return [t.rows[i] for i in sorted(members(idx.get(value)))]
        return [r for r in self.all(model) if r.get(field) == value]

    def render(self, model: str, row: dict) -> dict:
        return self.renderer(model, row)

    def render_json(self, model: str, row: dict) -> bytes:
        """`render` serialised, cached per row until a write changes what the row shows."""
        return self.json_cache.get(model, row)


class Store(_Writes, _Reads):
    """All tables of one world. Every read and write goes through `lock`."""

    def __init__(self, contract: Contract, minter: IdMinter | None = None):
        self.contract = contract
        self.lock = threading.RLock()
        self.mint = minter or IdMinter()
        self.plans = relation_plans(contract)
        self.tables: dict[str, Table] = {
            m: Table(m, [f for f, p in self.plans[m].items() if p.stored]) for m in contract.resources}
        self.base: dict[str, Table] | None = None
        self._base_rows: dict[str, dict[str, dict]] | None = None
        self.revision = 0
        # the change feed of GET /resource-changes: (revision, action, model, id, old, new, time)
        self.changes: deque = deque(maxlen=CHANGE_LOG_SIZE)
        self._setup()

    def _setup(self) -> None:
        me = weakref.proxy(self)            # no cycle through them: a dropped store is freed at once
        self.renderer = Renderer(self.contract, self.plans, me)
        self.json_cache = RenderCache(me)
        # target model -> [(model, stored field, plan)] whose stored relation points at it
        self._referring: dict[str, list[tuple[str, str, RelationPlan]]] = {}
        for other, plans in self.plans.items():
            for f, plan in plans.items():
                if plan.stored:
                    self._referring.setdefault(plan.target, []).append((other, f, plan))

    # ------------------------------------------------------------- layering
    def freeze(self) -> None:
        """Make the current rows the pristine base that `reset` returns to. The base lives
        as long as the world: it is moved out of the cyclic GC's sight (`gc.freeze`), so a
        collection does not walk a million rows (nothing in it forms cycles)."""
        with self.lock:
            self.base = dict(self.tables)
            self._base_rows = {m: t.rows for m, t in self.base.items()}
            self.tables = {m: t.fork() for m, t in self.base.items()}
            if sum(len(t.rows) for t in self.base.values()) >= GC_FREEZE_MIN_ROWS:
                gc.freeze()

    @property
    def pristine(self) -> dict[str, dict[str, dict]]:
        """The base's rows per model (read-only), or the current rows when not frozen."""
        if self._base_rows is None:
            self.freeze()
        return self._base_rows  # type: ignore[return-value]

    def set_pristine(self, rows: dict[str, dict[str, dict]]) -> None:
        """Make `rows` the base (a world loaded from a state file); current rows stay."""
        with self.lock:
            base = {}
            for m, t in self.tables.items():
                want = rows.get(m, {})
                if t.rows is want or t.rows == want:
                    base[m] = t
                    self.tables[m] = t.fork()
                else:
                    base[m] = build_table(m, t.rel_fields, want)
            self.base = base
            self._base_rows = {m: t.rows for m, t in base.items()}

    def reset(self) -> None:
        """Back to the base: every written table's fork is dropped."""
        with self.lock:
            if self.base is None:
                self.freeze()
            base = self.base
            dropped: list = []
            for m, t in self.tables.items():
                b = base[m]  # type: ignore[index]
                if not (t.is_forked_clean and t.rows is b.rows):
                    dropped.append(t)
                    self.tables[m] = b.fork()
            self.revision += 1
            dropped.append(self.changes)
            self.changes = deque(maxlen=CHANGE_LOG_SIZE)   # older revisions are compacted
            dropped.append(self.json_cache.data)
            self.json_cache.clear()
            _reaper.put(dropped)

    def fork(self) -> "Store":
        """A store over the same base (a new namespace): nothing is copied until written."""
        with self.lock:
            if self.base is None:
                self.freeze()
            s = Store.__new__(Store)
            s.contract, s.lock, s.mint, s.plans = self.contract, threading.RLock(), self.mint, self.plans
            s.base, s._base_rows = self.base, self._base_rows
            s.tables = {m: t.fork() for m, t in self.base.items()}  # type: ignore[union-attr]
            s.revision = 0
            s.changes = deque(maxlen=CHANGE_LOG_SIZE)
            s._setup()
            return s

    # ------------------------------------------------------------- snapshots
    def snapshot(self) -> dict[str, dict[str, dict]]:
        """A copy of every table's row map (rows are immutable, so they are shared)."""
        with self.lock:
            return {m: dict(t.rows) for m, t in self.tables.items()}

    def restore(self, snap: dict[str, dict[str, dict]]) -> None:
        """Make `snap` the current rows (tables equal to the base become clean forks of it)."""
        with self.lock:
            for m, t in self.tables.items():
                rows = snap.get(m, {})
                b = self.base.get(m) if self.base is not None else None
                if b is not None and (rows is b.rows or rows == b.rows):
                    self.tables[m] = b.fork()
                else:
                    self.tables[m] = build_table(m, t.rel_fields, rows)
            self.revision += 1
            self.changes.clear()            # a restored world: older revisions are compacted
            self.json_cache.clear()
