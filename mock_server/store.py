"""The in-memory store: one table per resource type of the contract.

Rows are plain dicts holding scalars and *stored* relations as ids (a to-one relation as
an id or None, a to-many one as a list of ids). Each relation pair of the contract
(`Vm.vm_disks` / `VmDisk.vm`) is stored on one side only; the other side is *derived*
from a reverse index, so both ends always agree. Rows are never mutated in place:
an update replaces the row dict, which makes snapshots (for reset) cheap and lets a
reader hold a row without a lock.

`Nested<X>` projections are rendered from current state when a response is built, so a
rename shows everywhere at once.
"""

from __future__ import annotations

import itertools
from collections import deque
import operator
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

import orjson

from .contract.index import Contract, Resource

INDEXED_SCALARS = ("name", "local_id")
CHANGE_LOG_SIZE = 10_000
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


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def plural_forms(word: str) -> set[str]:
    forms = {word, word + "s", word + "es"}
    if word.endswith("y"):
        forms.add(word[:-1] + "ies")
    return forms


@dataclass(frozen=True)
class RelationPlan:
    model: str
    field: str
    target: str
    many: bool
    stored: bool
    inverse: tuple[str, str] | None = None      # (model, field) of the stored side, when derived
    nullable: bool = True


def plan_relations(contract: Contract) -> dict[str, dict[str, RelationPlan]]:
    """Decide, for every relation of every resource, whether it is stored or derived."""
    res = contract.resources
    plans: dict[str, dict[str, RelationPlan]] = {m: {} for m in res}
    decided: set[tuple[str, str]] = set()

    def candidates(a: str, f: str) -> list[str]:
        rel = res[a].relations[f]
        b = rel.target
        if b not in res:
            return []
        cands = [g for g, r in res[b].relations.items() if r.target == a and (b, g) != (a, f)]
        if len(cands) > 1:
            named = [g for g in cands if g in plural_forms(snake(a))]
            cands = named
        return cands

    for a, r in res.items():
        for f, rel in r.relations.items():
            if (a, f) in decided:
                continue
            b = rel.target
            cands = candidates(a, f)
            g = cands[0] if len(cands) == 1 else None
            if g is not None and candidates(b, g) != [f]:
                g = None
            if g is None or (a, f) in decided or (b, g) in decided:
                plans[a][f] = RelationPlan(a, f, b, rel.many, True, nullable=f not in r.required)
                decided.add((a, f))
                continue
            other = res[b].relations[g]
            # Store the to-one side of a one-to-many; otherwise the lexicographically first.
            if rel.many != other.many:
                store_a = not rel.many
            else:
                store_a = (a, f) <= (b, g)
            sa, sf = (a, f) if store_a else (b, g)
            da, df = (b, g) if store_a else (a, f)
            plans[sa][sf] = RelationPlan(sa, sf, res[sa].relations[sf].target, res[sa].relations[sf].many, True,
                                         nullable=sf not in res[sa].required)
            plans[da][df] = RelationPlan(da, df, res[da].relations[df].target, res[da].relations[df].many, False,
                                         inverse=(sa, sf), nullable=df not in res[da].required)
            decided.update({(a, f), (b, g)})
    return plans


class Table:
    __slots__ = ("model", "rows", "_order", "_sorted", "scalar_index", "rel_index")

    def __init__(self, model: str, stored_relations: Iterable[str]):
        self.model = model
        self.rows: dict[str, dict] = {}
        self._order: list[str] = []
        self._sorted = True
        self.scalar_index: dict[str, dict[Any, set[str]]] = {f: {} for f in INDEXED_SCALARS}
        self.rel_index: dict[str, dict[str, set[str]]] = {f: {} for f in stored_relations}

    def ordered_ids(self) -> list[str]:
        if not self._sorted:
            self._order = sorted(self.rows)
            self._sorted = True
        return self._order

    def _index(self, row: dict, add: bool) -> None:
        rid = row["id"]
        for f, idx in self.scalar_index.items():
            v = row.get(f)
            if v is not None and not isinstance(v, (list, dict)):
                self._touch(idx, v, rid, add)
        for f, idx in self.rel_index.items():
            v = row.get(f)
            if v is None:
                continue
            if isinstance(v, list):
                for t in v:
                    self._touch(idx, t, rid, add)
            else:
                self._touch(idx, v, rid, add)

    @staticmethod
    def _touch(idx: dict, key: Any, rid: str, add: bool) -> None:
        if add:
            s = idx.get(key)
            if s is None:
                idx[key] = {rid}
            else:
                s.add(rid)
        else:
            s = idx.get(key)
            if s is not None:
                s.discard(rid)
                if not s:
                    del idx[key]

    def put(self, row: dict) -> None:
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
        old = self.rows.pop(rid, None)
        if old is not None:
            self._index(old, False)
            if self._sorted:
                try:
                    self._order.remove(rid)
                except ValueError:
                    self._sorted = False
        return old


class Store:
    """All tables of one world. Every read and write goes through `lock`."""

    def __init__(self, contract: Contract, minter: IdMinter | None = None):
        self.contract = contract
        self.lock = threading.RLock()
        self.mint = minter or IdMinter()
        self.plans = plan_relations(contract)
        self.tables: dict[str, Table] = {
            m: Table(m, [f for f, p in self.plans[m].items() if p.stored]) for m in contract.resources}
        self._renderers: dict[str, Any] = {}
        self.revision = 0
        self._json_cache: dict[tuple[str, str], bytes] = {}
        self._json_cache_rev = -1
        # the change feed of GET /resource-changes: (revision, action, model, id, old, new, time)
        self.changes: deque = deque(maxlen=CHANGE_LOG_SIZE)

    # ------------------------------------------------------------------ writes
    def _log(self, action: str, model: str, rid: str, old: dict | None, new: dict | None) -> None:
        self.revision += 1
        self.changes.append((self.revision, action, model, rid, old, new, time.time()))

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

    def update(self, model: str, rid: str, changes: dict) -> dict | None:
        with self.lock:
            table = self.tables[model]
            old = table.rows.get(rid)
            if old is None:
                return None
            new = {**old, **changes}
            table.put(new)
            self._log("UPDATE", model, rid, old, new)
            return new

    def delete(self, model: str, rid: str, cascade: bool = True) -> dict | None:
        """Remove a row; referrers' stored relations are cleaned: a nullable to-one is set to
        null, a list loses the id, and a required to-one (a disk's VM) cascades."""
        with self.lock:
            old = self.tables[model].remove(rid)
            if old is None:
                return None
            self._log("DELETE", model, rid, old, None)
            for other, plans in self.plans.items():
                for f, plan in plans.items():
                    if not plan.stored or plan.target != model:
                        continue
                    table = self.tables[other]
                    refs = table.rel_index[f].get(rid)
                    if not refs:
                        continue
                    for ref in sorted(refs):
                        row = table.rows.get(ref)
                        if row is None:
                            continue
                        if plan.many:
                            self.update(other, ref, {f: [x for x in row.get(f) or [] if x != rid]})
                        elif plan.nullable or not cascade:
                            self.update(other, ref, {f: None})
                        else:
                            self.delete(other, ref)
            return old

    # ------------------------------------------------------------------- reads
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
        idx = t.scalar_index.get(field)
        if idx is None:
            idx = t.rel_index.get(field)
        if idx is not None:
            return len(idx.get(value, ()))
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
        refs = self.tables[sm].rel_index[sf].get(row["id"])
        if plan.many:
            return sorted(refs) if refs else []
        return min(refs) if refs else None

    def find_by(self, model: str, field: str, value: Any) -> list[dict]:
        t = self.tables[model]
        if field == "id":
            r = t.rows.get(value)
            return [r] if r else []
        idx = t.scalar_index.get(field)
        if idx is None:
            idx = t.rel_index.get(field)
        if idx is not None:
            return [t.rows[i] for i in sorted(idx.get(value, ()))]
        return [r for r in self.all(model) if r.get(field) == value]

    # --------------------------------------------------------------- rendering
    def render(self, model: str, row: dict) -> dict:
        r = self._renderers.get(model)
        if r is None:
            r = self._renderers[model] = self._compile_renderer(model)
        return r(row)

    def render_json(self, model: str, row: dict) -> bytes:
        """`render` serialised, cached until the next write anywhere in the store (a rename
        of a cluster changes every VM's projection, so any write invalidates)."""
        if self._json_cache_rev != self.revision or len(self._json_cache) > 50_000:
            self._json_cache.clear()
            self._json_cache_rev = self.revision
        key = (model, row["id"])
        data = self._json_cache.get(key)
        if data is None:
            data = self._json_cache[key] = orjson.dumps(self.render(model, row))
        return data

    def _compile_renderer(self, model: str):
        res: Resource = self.contract.resources[model]
        plan = self.plans[model]
        steps: list[tuple[str, int, Any]] = []
        for name in res.properties:
            if name in res.relations:
                nested = res.nested_schema.get(name)
                proj = self._projector(res.relations[name].target, nested)
                steps.append((name, 2 if res.relations[name].many else 1, proj))
            else:
                steps.append((name, 0, None))
        related = self.related_ids
        get = self.get

        def render(row: dict) -> dict:
            out = {}
            for name, kind, proj in steps:
                if kind == 0:
                    out[name] = row.get(name)
                elif kind == 1:
                    rid = related(model, row, name) if not plan[name].stored else row.get(name)
                    target = get(proj[0], rid) if rid else None
                    out[name] = proj[1](target) if target is not None else None
                else:
                    out[name] = [proj[1](t) for t in (get(proj[0], i) for i in related(model, row, name))
                                 if t is not None]
            return out
        return render

    def _projector(self, target: str, nested_schema: str | None):
        props = list(self.contract.properties({"$ref": "#/components/schemas/" + nested_schema})) \
            if nested_schema else ["id", "name"]
        tres = self.contract.resources.get(target)
        simple = [p for p in props if not (tres and p in tres.relations)]
        rels = [p for p in props if tres and p in tres.relations]
        if not rels:
            def project(t: dict) -> dict:
                return {p: t.get(p) for p in simple}
        else:
            sub = {p: self._projector(tres.relations[p].target, tres.nested_schema.get(p)) for p in rels}

            def project(t: dict) -> dict:
                out = {p: t.get(p) for p in simple}
                for p in rels:
                    v = self.related_ids(target, t, p)
                    tgt_model, proj = sub[p]
                    if isinstance(v, list):
                        out[p] = [proj(x) for x in (self.get(tgt_model, i) for i in v) if x is not None]
                    else:
                        x = self.get(tgt_model, v) if v else None
                        out[p] = proj(x) if x is not None else None
                return out
        return target, project

    # ------------------------------------------------------------- snapshots
    def snapshot(self) -> dict[str, dict[str, dict]]:
        """A cheap copy of every table (rows are immutable, so the dicts are shared)."""
        with self.lock:
            return {m: dict(t.rows) for m, t in self.tables.items()}

    def restore(self, snap: dict[str, dict[str, dict]]) -> None:
        with self.lock:
            for m, t in self.tables.items():
                fresh = Table(m, t.rel_index.keys())
                rows = snap.get(m, {})
                fresh.rows = dict(rows)
                fresh._order = sorted(rows)
                for row in rows.values():
                    fresh._index(row, True)
                self.tables[m] = fresh
            self.revision += 1
            self.changes.clear()            # a restored world: older revisions are compacted


class StoreSource:
    """The query engine's view of a store (see mock_server.query.model.DataSource)."""

    def __init__(self, store: Store):
        self.store = store

    def ids(self, model: str):
        return self.store.tables[model].ordered_ids()

    def get(self, model: str, id: str):
        return self.store.tables[model].rows.get(id)

    def value(self, model: str, row: dict, field: str):
        return row.get(field)

    def related(self, model: str, row: dict, relation: str):
        return self.store.related_ids(model, row, relation)

    # fast paths the engine binds once per query (see DictSource)
    def row_getter(self, model: str):
        return self.store.tables[model].rows.get

    def value_getter(self, model: str, field: str):
        return operator.methodcaller("get", field)

    def related_getter(self, model: str, relation: str):
        plan = self.store.plans[model].get(relation)
        if plan is not None and plan.stored:
            if plan.many:
                return lambda row: row.get(relation) or []
            return operator.methodcaller("get", relation)
        related = self.store.related_ids
        return lambda row: related(model, row, relation)

    def lookup(self, model: str, field: str, value: Any):
        t = self.store.tables[model]
        if field == "id":
            return {value} if value in t.rows else set()
        idx = t.scalar_index.get(field)
        if idx is None:
            idx = t.rel_index.get(field)
            if idx is None or self.store.plans[model][field].many:
                return None
        return set(idx.get(value, ()))

    def referrers(self, model: str, relation: str, target_ids: set[str]):
        plan = self.store.plans[model].get(relation)
        if plan is None:
            return None
        if plan.stored:
            idx = self.store.tables[model].rel_index[relation]
            out: set[str] = set()
            for t in target_ids:
                s = idx.get(t)
                if s:
                    out |= s
            return out
        # derived: rows of `model` whose id appears in the stored side's field of the targets
        sm, sf = plan.inverse  # type: ignore[misc]
        out = set()
        rows = self.store.tables[sm].rows
        for t in target_ids:
            r = rows.get(t)
            if r is None:
                continue
            v = r.get(sf)
            if isinstance(v, list):
                out.update(v)
            elif v is not None:
                out.add(v)
        return out
