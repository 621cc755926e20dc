"""Point lookups answered from the store's indexes, without preparing a query.

The shapes clients send most (an SDK's `get_vms(where={"id": ...})`, a lookup by name, the
disks of one VM) are answered here exactly as the query engine answers them, rows in id
order; any other body returns None and goes to the engine:

    {"where": {"id": "<id>"}}                 {"where": {"id_in": ["<id>", ...]}}
    {"where": {"name" | "local_id": "<s>"}}   {"where": {"<to-one relation>": {"id": "<id>"}}}

each optionally with `first` and / or `skip` (plain non-negative integers).

A key qualifies only where the model's WhereInput offers it, as a STRING field (name,
local_id) or a stored to-one relation; what qualifies is worked out once per (model, key).
"""

from __future__ import annotations

from typing import Any

from .behaviour import Ctx, RawJSON
from .query.id_order import walk_pays
from .store.source import entry_set

_FIELDS = ("name", "local_id")
_NO = ("no",)
_WHOLE = (0, None)
_INT32_MAX = 2 ** 31 - 1


def _page(body: dict) -> tuple[int, int | None] | None:
    """(skip, first) when the body's other keys are only `first` / `skip` as plain integers
    in 0 .. 2^31-1 (anything else, errors included, is the engine's), else None."""
    skip, first = 0, None
    for k, v in body.items():
        if k == "where":
            continue
        if type(v) is not int or not 0 <= v <= _INT32_MAX:
            return None
        if k == "skip":
            skip = v
        elif k == "first":
            first = v
        else:
            return None
    return skip, first


def direct_lookup(ctx: Ctx, body: Any) -> RawJSON | None:
    if type(body) is not dict:
        return None
    where = body.get("where")
    if type(where) is not dict or len(where) != 1:
        return None
    page = _page(body) if len(body) > 1 else _WHOLE
    if page is None:
        return None
    (key, value), = where.items()
    model = ctx.op.resource
    store = ctx.store
    table = store.tables.get(model)
    if table is None:
        return None
    kind = _kind(ctx.contract.query_schema, store, model, key)
    rows = table.rows
    if kind[0] == "id":
        if type(value) is not str:
            return None
        row = rows.get(value)
        if row is None or page[0] > 0 or page[1] == 0:
            return RawJSON(b"[]")
        return RawJSON(b"[" + store.render_json(model, row) + b"]")
    if kind[0] == "id_in":
        if type(value) is not list or not value or any(type(v) is not str for v in value):
            return None
        ids = sorted({v for v in value if v in rows})
    elif kind[0] == "field":
        if type(value) is not str:
            return None
        index = table.index(key)         # built on first use; None for a small table: scan it
        if index is None:
            ids = sorted(i for i, r in rows.items() if r.get(key) == value)
        else:
            ids = _in_id_order(table, index, value, page)
    elif kind[0] == "rel":
        if type(value) is not dict or len(value) != 1 or type(value.get("id")) is not str:
            return None
        target = value["id"]
        if target not in store.tables[kind[1]].rows:       # a dangling reference matches nothing
            ids = []
        else:
            ids = _in_id_order(table, table.rel(key), target, page)
    else:
        return None
    if page is not _WHOLE:
        skip, first = page
        ids = ids[skip:] if first is None else ids[skip:skip + first]
    render = store.render_json
    return RawJSON(b"[" + b",".join([render(model, rows[i]) for i in ids]) + b"]")


def _in_id_order(table, index: dict, value: str, page: tuple[int, int | None]) -> list[str]:
    """The ids of index entry `value`, in id order; with a `first`, and many of them, the
    table's ordered ids are walked until the page is full (sooner than sorting them all)."""
    entry = index.get(value)
    if entry is None:
        return []
    if type(entry) is str:
        return [entry]
    skip, first = page
    want = None if first is None else skip + first
    if not walk_pays(len(entry), want, len(table.rows)):
        return sorted(entry)
    hits, out = entry_set(index, value), []
    for i in table.ordered_ids():
        if i in hits:
            out.append(i)
            if len(out) == want:
                break
    return out


def _kind(schema, store, model: str, key: str) -> tuple:
    """("id",) / ("id_in",) / ("field",) / ("rel", target model) / ("no",), cached per schema."""
    cache = schema.__dict__.setdefault("_direct_keys", {})
    kind = cache.get((model, key))
    if kind is None:
        kind = cache[(model, key)] = _work_out(schema, store, model, key)
    return kind


def _work_out(schema, store, model: str, key: str) -> tuple:
    from .query.model import STRING
    m = schema.models.get(model)
    if m is None or (m.where_keys is not None and key not in m.where_keys):
        return _NO
    if key in ("id", "id_in"):
        return (key,)
    if key in _FIELDS:
        f = m.fields.get(key)
        return ("field",) if f is not None and f.kind == STRING else _NO
    r = m.relations.get(key)
    plan = store.plans.get(model, {}).get(key)
    if (r is not None and not r.many and plan is not None and plan.stored and not plan.many
            and key in store.tables[model].rel_fields and r.target in store.tables):
        return ("rel", r.target)
    return _NO
