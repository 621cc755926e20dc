"""One resource type's rows and indexes, copy-on-write over a frozen base.

A table made by :meth:`Table.fork` shares every structure (rows, id order, indexes) with the
table it was forked from, which must not change any more (a world's frozen seed). The first
write copies the row map and the id order and the outer index maps (C-speed shallow copies);
an index entry's id set is copied only when a write touches that key. Reading a fork costs
nothing extra, forking costs nothing, and a reset is a new fork.

Index entries (one id, a tuple or a set of ids) are read and written by `entries`.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Iterable

from .entries import entry_add, entry_remove, fill, fill_many, indexable, members

__all__ = ["INDEXED_SCALARS", "LAZY_INDEX_MIN_ROWS", "Table", "build_table", "members"]

INDEXED_SCALARS = ()                # scalar indexes are all built on first use (Table.index)
LAZY_INDEX_MIN_ROWS = 256          # smaller tables are scanned, not indexed on demand


class Table:
    __slots__ = ("model", "rows", "_order", "_sorted", "scalar_index", "rel_index", "rel_fields", "_owned",
                 "_shared", "version", "sort_cache")

    def __init__(self, model: str, stored_relations: Iterable[str]):
        self.model = model
        self.rows: dict[str, dict] = {}
        self._order: list[str] = []
        self._sorted = True
        self.scalar_index: dict[str, dict[Any, Any]] = {f: {} for f in INDEXED_SCALARS}
        self.rel_fields = frozenset(stored_relations)
        # the built relation indexes (an empty table's are all built: empty)
        self.rel_index: dict[str, dict[str, Any]] = {f: {} for f in self.rel_fields}
        self._owned: dict[str, set] | None = None   # per index: keys whose id set this table owns
        self._shared = False                         # every structure still the base's
        self.version = 0                             # bumped by every write (sort caches)
        self.sort_cache: dict = {}                   # the query engine's sorted orders

    # ------------------------------------------------------------------ layering
    def fork(self) -> "Table":
        """A copy-on-write table over this one (which must not change any more)."""
        self.ordered_ids()
        t = Table.__new__(Table)
        t.model = self.model
        t.rows = self.rows
        t._order = self._order
        t._sorted = True
        t.scalar_index = self.scalar_index
        t.rel_index = self.rel_index
        t.rel_fields = self.rel_fields
        t._owned = None
        t._shared = True
        t.version = self.version
        t.sort_cache = self.sort_cache               # same rows, same orders
        return t

    @property
    def is_forked_clean(self) -> bool:
        """True while this fork has not been written to."""
        return self._shared

    def _own(self) -> None:
        self.rows = dict(self.rows)
        self._order = list(self._order)
        self.scalar_index = {f: dict(idx) for f, idx in self.scalar_index.items()}
        self.rel_index = {f: dict(idx) for f, idx in self.rel_index.items()}
        self._owned = {f: set() for f in (*self.scalar_index, *self.rel_index)}
        self._shared = False
        self.sort_cache = {}

    # ------------------------------------------------------------------ reads
    def ordered_ids(self) -> list[str]:
        if not self._sorted:
            self._order = sorted(self.rows)
            self._sorted = True
        return self._order

    def index(self, field: str) -> dict | None:
        """The index of a scalar field or stored relation; a scalar one is built on first use
        for a table of LAZY_INDEX_MIN_ROWS rows or more. None = not indexed (scan)."""
        if field in self.rel_fields:
            return self.rel(field)
        idx = self.scalar_index.get(field)
        if idx is not None or len(self.rows) < LAZY_INDEX_MIN_ROWS or field == "id":
            return idx
        return self._build(self.scalar_index, field, lists=False)

    def rel(self, field: str) -> dict | None:
        """The index of stored relation `field` (target id -> the ids of the rows naming it),
        built on first use after a bulk load; None when `field` is not a stored relation."""
        idx = self.rel_index.get(field)
        if idx is None and field in self.rel_fields:
            idx = self._build(self.rel_index, field, lists=True)
        return idx

    def _build(self, indexes: dict, field: str, lists: bool) -> dict:
        idx: dict = {}
        fill(idx, self.rows, field, lists=lists)
        if self._owned is not None:
            self._owned[field] = set(k for k, e in idx.items() if type(e) is not str)
        # one assignment: a shared fork publishes it to its base (valid there too: same rows)
        indexes[field] = idx
        return idx

    # ------------------------------------------------------------------ writes
    def _index(self, row: dict, add: bool) -> None:
        rid = row["id"]
        owned = self._owned
        touch = entry_add if add else entry_remove
        for indexes, scalar in ((self.scalar_index, True), (self.rel_index, False)):
            for f, idx in indexes.items():
                _touch_value(touch, idx, owned[f] if owned is not None else None, row.get(f), rid, scalar)

    def put(self, row: dict) -> None:
        if self._shared:
            self._own()
        self.version += 1
        rid = row["id"]
        old = self.rows.get(rid)
        if old is not None:
            self.rows[rid] = row
            _reindex(self, old, row)
            return
        if self._sorted and self._order and rid < self._order[-1]:
            self._sorted = False
        if self._sorted:
            self._order.append(rid)
        self.rows[rid] = row
        self._index(row, True)

    def remove(self, rid: str) -> dict | None:
        if rid not in self.rows:
            return None
        if self._shared:
            self._own()
        self.version += 1
        old = self.rows.pop(rid)
        self._index(old, False)
        if self._sorted and not _drop_sorted(self._order, rid):
            self._sorted = False
        return old

    def load(self, rows: dict[str, dict]) -> None:
        """Fill an empty table in bulk, taking `rows` ({id: row}) as its row map. A big
        table's relation indexes are built when first asked for (`rel`): a 100,000-VM world
        starts without the reverse maps nothing has needed yet."""
        if self.rows or self._shared:
            raise ValueError("load() fills an empty table only")
        self.version += 1
        self.rows = rows
        self._order = sorted(rows)
        self._sorted = True
        if len(rows) >= LAZY_INDEX_MIN_ROWS:
            self.rel_index = {}
        fill_many([(f, idx, False) for f, idx in self.scalar_index.items()]
                  + [(f, idx, True) for f, idx in self.rel_index.items()], rows)


def _drop_sorted(order: list[str], rid: str) -> bool:
    """Remove `rid` from the sorted `order`, found by bisection (not compared one by one);
    False when it is not there."""
    i = bisect_left(order, rid)
    if i < len(order) and order[i] == rid:
        del order[i]
        return True
    return False


def _reindex(t: Table, old: dict, new: dict) -> None:
    """Move a replaced row's index entries: only the fields whose values changed (an update
    of a cluster's counters leaves its labels' and datacenters' entries alone)."""
    rid = new["id"]
    owned = t._owned
    for indexes, scalar in ((t.scalar_index, True), (t.rel_index, False)):
        for f, idx in indexes.items():
            ov, nv = old.get(f), new.get(f)
            if ov is nv or ov == nv:
                continue
            o = owned[f] if owned is not None else None
            _touch_value(entry_remove, idx, o, ov, rid, scalar)
            _touch_value(entry_add, idx, o, nv, rid, scalar)


def _touch_value(touch, idx: dict, owned: set | None, v, rid: str, scalar: bool) -> None:
    """Add or remove (`touch`) `rid` under a row's value `v` of one index: a scalar index
    takes an indexable value; a relation index each id of a list, or the one id."""
    if scalar:
        if indexable(v):
            touch(idx, owned, v, rid)
    elif isinstance(v, list):
        for x in v:
            touch(idx, owned, x, rid)
    elif v is not None:
        touch(idx, owned, v, rid)


def build_table(model: str, stored_relations: Iterable[str], rows: dict[str, dict]) -> Table:
    t = Table(model, stored_relations)
    t.load(dict(rows))
    return t
