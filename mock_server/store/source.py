"""The query engine's view of a store (see mock_server.query.model.DataSource)."""

from __future__ import annotations

import operator
from typing import Any

from .table import members


class StoreSource:
    dict_rows = True            # value(model, row, f) is row.get(f)

    def __init__(self, store):
        self.store = store

    def stored_to_one(self, model: str, relation: str) -> bool:
        plan = self.store.plans[model].get(relation)
        return plan is not None and plan.stored and not plan.many

    def rows_view(self, model: str):
        return self.store.tables[model].rows

    def sort_cache(self, model: str):
        t = self.store.tables[model]
        return t.sort_cache, t.version

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
        """Ids whose `field` equals `value` (a superset is fine: the engine tests each row),
        from an index (scalar indexes are built on first use); None = not indexed."""
        t = self.store.tables[model]
        if field == "id":
            return {value} if value in t.rows else set()
        plan = self.store.plans[model].get(field)
        if plan is not None and plan.many:
            return None
        if plan is not None and not plan.stored:
            return None
        try:
            idx = t.index(field)
            if idx is None:
                return None
            return entry_set(idx, value)
        except TypeError:                   # an unhashable value
            return None

    def referrers(self, model: str, relation: str, target_ids: set[str]):
        plan = self.store.plans[model].get(relation)
        if plan is None:
            return None
        if plan.stored:
            idx = self.store.tables[model].rel(relation)
            out: set[str] = set()
            for t in target_ids:
                s = idx.get(t)
                if s is None:
                    continue
                if type(s) is str:
                    out.add(s)
                else:
                    out.update(s)
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


def entry_set(idx: dict, key: Any) -> set:
    """The ids of index entry `key` as a set, not to be changed: the entry's own set, or a
    new one. A big bulk-loaded (tuple) entry that is asked for is kept as that set from then
    on (the same ids; a write copies a set its table does not own before changing it)."""
    entry = idx.get(key)
    if type(entry) is set:
        return entry
    ids = set(members(entry))
    if type(entry) is tuple and len(entry) > 64:
        idx[key] = ids
    return ids
