"""Rows as the API shows them: relations as `Nested<X>` projections of current state, and
the rendered JSON bytes of each row cached until a write changes what it shows.

A row's rendering depends on the row itself and on the rows its relations project. When a
row changes, :meth:`RenderCache.invalidate` drops exactly the renderings that can show it:
its own, the rows whose stored relation points at it (their projection of it), and the rows
its own stored relations point at (their derived list / to-one of it, before and after the
change). Models whose projections nest a further relation (a projection of a projection)
are rendered fresh each time rather than tracked two levels deep.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

import orjson

from ..contract.index import Contract, Resource
from .diff import changed_fields
from .table import members

RENDER_CACHE_BYTES = 96 * 1024 * 1024      # past this, the oldest renderings make room (FIFO)


def compact(data: bytes) -> bytes:
    """`data` in a block of its own size. orjson's output keeps the buffer it was written in
    (8 KiB at least): 100,000 cached ~900-byte rows held 800 MiB instead of 90."""
    return bytes(memoryview(data))


class Renderer:
    """Compiles, per model, a function row -> response dict over a store's current state."""

    def __init__(self, contract: Contract, plans, store):
        """`store`: a weak proxy of the store (`weakref.proxy`): the compiled functions the
        renderer keeps must not hold the store, or a dropped namespace's store would only be
        freed by the cyclic GC, which `gcpolicy` keeps from what it froze."""
        self.contract = contract
        self.plans = plans
        self.store = store
        self.related_ids = lambda model, row, field: store.related_ids(model, row, field)
        self.get = lambda model, rid: store.get(model, rid)
        self._compiled: dict[str, Callable[[dict], dict]] = {}
        self.deep: set[str] = set()          # models with a projection of a projection

    def __call__(self, model: str, row: dict) -> dict:
        r = self._compiled.get(model)
        if r is None:
            r = self._compiled[model] = self._compile(model)
        return r(row)

    def _compile(self, model: str):
        """One function per model: every property read from the row (in the contract's
        order), then each relation replaced by its projection. The indexes and row maps are
        looked up on the store at each call (a reset or a fork replaces them)."""
        res: Resource = self.contract.resources[model]
        plan = self.plans[model]
        names = tuple(res.properties)
        one: list[tuple[str, str, Any]] = []            # stored to-one: (name, target, project)
        many: list[tuple[str, str, Any]] = []           # stored to-many
        derived: list[tuple[str, bool, str, str, str, Any]] = []  # (name, many, model, field, target, project)
        for name in names:
            rel = res.relations.get(name)
            if rel is None:
                continue
            target, proj = self._projector(model, rel.target, res.nested_schema.get(name))
            p = plan.get(name)
            if p is None or (not p.stored and p.inverse is None):
                return self._compile_generic(model)
            if p.stored:
                (many if rel.many else one).append((name, target, proj))
            else:
                derived.append((name, rel.many, p.inverse[0], p.inverse[1], target, proj))
        store = self.store

        def render(row: dict) -> dict:
            out = dict(zip(names, map(row.get, names)))
            tables = store.tables
            for name, target, proj in one:
                rid = out[name]
                if rid:
                    t = tables.get(target)
                    t = t.rows.get(rid) if t is not None else None
                    out[name] = proj(t) if t is not None else None
                else:
                    out[name] = None
            for name, target, proj in many:
                t = tables.get(target)
                rows = t.rows if t is not None else _NONE
                out[name] = [proj(x) for x in (rows.get(i) for i in out[name] or ()) if x is not None]
            for name, is_many, sm, sf, target, proj in derived:
                refs = tables[sm].rel(sf).get(row["id"])      # built on first use (Table.rel)
                if refs is None:
                    out[name] = [] if is_many else None
                    continue
                if type(refs) is str:
                    ids = (refs,) if is_many else refs
                else:
                    ids = sorted(refs) if is_many else min(refs)
                t = tables.get(target)
                rows = t.rows if t is not None else _NONE
                if is_many:
                    out[name] = [proj(x) for x in (rows.get(i) for i in ids) if x is not None]
                else:
                    x = rows.get(ids)
                    out[name] = proj(x) if x is not None else None
            return out
        return render

    def _compile_generic(self, model: str):
        res: Resource = self.contract.resources[model]
        plan = self.plans[model]
        steps: list[tuple[str, int, Any]] = []
        for name in res.properties:
            if name in res.relations:
                nested = res.nested_schema.get(name)
                proj = self._projector(model, res.relations[name].target, nested)
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

    def _projector(self, owner: str, target: str, nested_schema: str | None):
        props = list(self.contract.properties({"$ref": "#/components/schemas/" + nested_schema})) \
            if nested_schema else ["id", "name"]
        tres = self.contract.resources.get(target)
        simple = [p for p in props if not (tres and p in tres.relations)]
        rels = [p for p in props if tres and p in tres.relations]
        if not rels:
            simple = tuple(simple)

            def project(t: dict) -> dict:
                return dict(zip(simple, map(t.get, simple)))
            return target, project
        self.deep.add(owner)
        sub = {p: self._projector(owner, tres.relations[p].target, tres.nested_schema.get(p)) for p in rels}
        related, get = self.related_ids, self.get

        def project_deep(t: dict) -> dict:
            out = {p: t.get(p) for p in simple}
            for p in rels:
                v = related(target, t, p)
                tgt_model, proj = sub[p]
                if isinstance(v, list):
                    out[p] = [proj(x) for x in (get(tgt_model, i) for i in v) if x is not None]
                else:
                    x = get(tgt_model, v) if v else None
                    out[p] = proj(x) if x is not None else None
            return out
        return target, project_deep


class RenderCache:
    """Rendered JSON bytes per (model, id), invalidated per row (see the module doc)."""

    def __init__(self, store):
        self.store = store
        self.data: dict[tuple[str, str], bytes] = {}
        self.size = 0
        self.cached: dict[str, int] = {}            # model -> renderings held (0: nothing to drop)
        self.order: deque[tuple[str, str]] = deque()  # keys in the order they were cached
        contract = store.contract
        # model -> {referring model: [(field, fields of model its projection shows)]} of
        # stored relations pointing at it
        self._referrers: dict[str, dict[str, list[tuple[str, frozenset[str] | None]]]] = {}
        # model -> {target: [(stored field, fields of model the target's derived relation
        # shows)]} whose target derives a relation from it
        self._derived_targets: dict[str, dict[str, list[tuple[str, frozenset[str] | None]]]] = {}
        for m, plans in store.plans.items():
            for f, p in plans.items():
                if p.stored:
                    shown = _shown_fields(contract, m, f)
                    self._referrers.setdefault(p.target, {}).setdefault(m, []).append((f, shown))
                elif p.inverse is not None:
                    sm, sf = p.inverse
                    shown = _shown_fields(contract, m, f)
                    self._derived_targets.setdefault(sm, {}).setdefault(m, []).append((sf, shown))

    def get(self, model: str, row: dict) -> bytes:
        key = (model, row["id"])
        data = self.data.get(key)
        if data is not None:
            return data
        store = self.store
        rev = store.revision
        data = orjson.dumps(store.render(model, row))
        if model in store.renderer.deep or store.revision != rev or store.tables[model].rows.get(row["id"]) is not row:
            return data                     # rendered from a row that is not current, or untracked
        if self.size + len(data) > RENDER_CACHE_BYTES:
            self._make_room(len(data))
        data = compact(data)
        self.data[key] = data
        self.order.append(key)
        self.size += len(data)
        self.cached[model] = self.cached.get(model, 0) + 1
        return data

    def clear(self) -> None:
        self.data = {}
        self.size = 0
        self.cached = {}
        self.order = deque()

    def _make_room(self, need: int) -> None:
        """Drop the oldest renderings until `need` more bytes fit (a world too big to cache
        whole keeps the cache full, instead of emptying it each time it fills)."""
        order, data = self.order, self.data
        if len(order) > 2 * len(data) + 1024:          # mostly keys already dropped: rebuild
            order = self.order = deque(data)
        while order and self.size + need > RENDER_CACHE_BYTES:
            key = order.popleft()
            if key in data:
                self._drop(*key)

    def _drop(self, model: str, rid: str) -> None:
        data = self.data.pop((model, rid), None)
        if data is not None:
            self.size -= len(data)
            n = self.cached[model] - 1
            if n:
                self.cached[model] = n
            else:
                del self.cached[model]

    def invalidate(self, model: str, rid: str, old: dict | None, new: dict | None,
                   changed: set[str] | None = None) -> None:
        """Drop what can show this change. A write that changes no field another row's
        projection shows (a cluster's derived counters, a VM's description) leaves the
        referrers' renderings alone: they do not show it. `changed`: the fields that changed,
        when the writer knows them (else they are worked out when needed)."""
        if not self.data:
            return
        cached = self.cached
        drop = self._drop
        if model in cached:
            drop(model, rid)
        referrers = self._referrers.get(model) or _NONE
        derived = self._derived_targets.get(model) or _NONE
        if not referrers and not derived:
            return
        if changed is None or old is None or new is None:
            changed = _UNKNOWN
        tables = self.store.tables
        for other in [m for m in cached if m in referrers or m in derived]:  # the few models cached
            for f, shown in referrers.get(other, ()):
                if changed is _UNKNOWN:
                    changed = changed_fields(old, new)
                if shown is not None and changed is not None and changed.isdisjoint(shown):
                    continue
                for ref in list(members(tables[other].rel(f).get(rid))):
                    drop(other, ref)
            for f, shown in derived.get(other, ()):
                if changed is _UNKNOWN:
                    changed = changed_fields(old, new)
                if (shown is not None and changed is not None and f not in changed
                        and changed.isdisjoint(shown)):
                    continue                   # the same members, showing the same fields
                for row in (old, new):
                    v = row.get(f) if row is not None else None
                    if v is None:
                        continue
                    for t in (v if isinstance(v, list) else (v,)):
                        drop(other, t)


_NONE: dict = {}
_UNKNOWN = object()


def _shown_fields(contract: Contract, model: str, field: str) -> frozenset[str] | None:
    """The fields of the target that `model`'s projection of relation `field` shows (None
    when unknown: every change then counts)."""
    res = contract.resources.get(model)
    if res is None:
        return None
    nested = res.nested_schema.get(field)
    if not nested:
        return frozenset(("id", "name"))
    return frozenset(contract.properties({"$ref": "#/components/schemas/" + nested}))
