"""One resource type's rows and indexes, copy-on-write over a frozen base.

A table made by :meth:`Table.fork` shares every structure (rows, id order, indexes) with the
table it was forked from, which must not change any more (a world's frozen seed). The first
write copies the row map and the id order and the outer index maps (C-speed shallow copies);
an index entry's id set is copied only when a write touches that key. Reading a fork costs
nothing extra, forking costs nothing, and a reset is a new fork.

Index entries map a value to the ids holding it: a single id is kept as the id string itself,
more as a tuple in a bulk-loaded table (a world's seed: a VM's 2-3 disks cost 56-64 bytes
instead of a 216-byte set, a cluster's 10,000 volumes 80 KB instead of 512 KB) and as a set
once a write touches the entry (it is copied then, as copy-on-write wants anyway). Most
names, local ids and one-to-one relations hold one id. :func:`members` reads an entry any way.
"""

from __future__ import annotations

from typing import Any, Iterable

INDEXED_SCALARS = ()                # scalar indexes are all built on first use (Table.index)
LAZY_INDEX_MIN_ROWS = 256          # smaller tables are scanned, not indexed on demand
_EMPTY: tuple = ()


def members(entry) -> Iterable[str]:
    """The ids of an index entry (None, one id, a tuple or a set); never mutate the result."""
    if entry is None:
        return _EMPTY
    if type(entry) is str:
        return (entry,)
    return entry


def _indexable(v) -> bool:
    return v is not None and not isinstance(v, (list, dict))


class Table:
    __slots__ = ("model", "rows", "_order", "_sorted", "scalar_index", "rel_index", "_owned",
                 "_shared", "version", "sort_cache")

    def __init__(self, model: str, stored_relations: Iterable[str]):
        self.model = model
        self.rows: dict[str, dict] = {}
        self._order: list[str] = []
        self._sorted = True
        self.scalar_index: dict[str, dict[Any, Any]] = {f: {} for f in INDEXED_SCALARS}
        self.rel_index: dict[str, dict[str, Any]] = {f: {} for f in stored_relations}
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
        idx = self.scalar_index.get(field)
        if idx is None:
            idx = self.rel_index.get(field)
        if idx is not None or len(self.rows) < LAZY_INDEX_MIN_ROWS:
            return idx
        if field == "id":
            return None
        idx = {}
        for rid, row in self.rows.items():
            v = row.get(field)
            if _indexable(v):
                cur = idx.get(v)
                if cur is None:
                    idx[v] = rid
                elif type(cur) is str:
                    idx[v] = {cur, rid}
                else:
                    cur.add(rid)
        if self._owned is not None:
            self._owned[field] = set(k for k, e in idx.items() if type(e) is not str)
        # one assignment: a shared fork publishes it to its base (valid there too: same rows)
        self.scalar_index[field] = idx
        return idx

    # ------------------------------------------------------------------ writes
    def _index(self, row: dict, add: bool) -> None:
        rid = row["id"]
        owned = self._owned
        touch = self._add if add else self._remove
        for f, idx in self.scalar_index.items():
            v = row.get(f)
            if _indexable(v):
                touch(idx, owned[f] if owned is not None else None, v, rid)
        for f, idx in self.rel_index.items():
            v = row.get(f)
            if v is None:
                continue
            o = owned[f] if owned is not None else None
            if isinstance(v, list):
                for t in v:
                    touch(idx, o, t, rid)
            else:
                touch(idx, o, v, rid)

    @staticmethod
    def _add(idx: dict, owned: set | None, key: Any, rid: str) -> None:
        cur = idx.get(key)
        if cur is None:
            idx[key] = rid
        elif type(cur) is str:
            if cur != rid:
                idx[key] = {cur, rid}
                if owned is not None:
                    owned.add(key)
        else:
            if type(cur) is tuple or (owned is not None and key not in owned):
                cur = idx[key] = set(cur)
                if owned is not None:
                    owned.add(key)
            cur.add(rid)

    @staticmethod
    def _remove(idx: dict, owned: set | None, key: Any, rid: str) -> None:
        cur = idx.get(key)
        if cur is None:
            return
        if type(cur) is str:
            if cur == rid:
                del idx[key]
            return
        if rid not in cur:
            return
        if len(cur) <= 2:
            rest = [x for x in cur if x != rid]
            if rest:
                idx[key] = rest[0]
            else:
                del idx[key]
            if owned is not None:
                owned.discard(key)
            return
        if type(cur) is tuple or (owned is not None and key not in owned):
            cur = idx[key] = set(cur)
            if owned is not None:
                owned.add(key)
        cur.discard(rid)

    def put(self, row: dict) -> None:
        if self._shared:
            self._own()
        self.version += 1
        rid = row["id"]
        old = self.rows.get(rid)
        if old is not None:
            self._index(old, False)
        else:
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
        if self._sorted:
            try:
                self._order.remove(rid)
            except ValueError:
                self._sorted = False
        return old


    def load(self, rows: dict[str, dict]) -> None:
        """Fill an empty table in bulk, taking `rows` ({id: row}) as its row map."""
        if self.rows or self._shared:
            raise ValueError("load() fills an empty table only")
        self.version += 1
        self.rows = rows
        self._order = sorted(rows)
        self._sorted = True
        scalar = set(self.scalar_index)
        for f, idx in (*self.scalar_index.items(), *self.rel_index.items()):
            for rid, row in rows.items():
                v = row.get(f)
                if v is None:
                    continue
                if isinstance(v, (list, dict)):
                    if f in scalar or type(v) is dict:
                        continue
                    keys = v
                else:
                    keys = (v,)
                for key in keys:
                    cur = idx.get(key)
                    if cur is None:
                        idx[key] = rid
                    elif type(cur) is str:
                        if cur != rid:
                            idx[key] = {cur, rid}
                    else:
                        cur.add(rid)
            for key, cur in idx.items():
                if type(cur) is set:
                    idx[key] = tuple(cur)


def build_table(model: str, stored_relations: Iterable[str], rows: dict[str, dict]) -> Table:
    t = Table(model, stored_relations)
    t.load(dict(rows))
    return t
