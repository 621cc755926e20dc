"""orderBy on a field: the window between cursors sorted on the spot, or the page of a sorted
order kept in the source's sort cache until the data changes."""

from __future__ import annotations

from .binder import Binder
from .domains import sort_norm
from .model import FieldDesc
from .pages import first_item, page_bounds
from .request import Query

SORTED_CACHE_MIN = 512        # fewer candidates are sorted on the spot


def sorted_order(b: Binder, source, mname: str, f: FieldDesc, desc: bool) -> list | None:
    """Every id of the model in response order for orderBy `f` (ties by id, nulls last
    ascending / first descending), kept in the source's sort cache until the data changes."""
    sc = getattr(source, "sort_cache", None)
    got = sc(mname) if sc is not None else None
    if got is None:
        return None
    cache, version = got
    key = (f.name, f.kind, desc)
    hit = cache.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    g = b.getter(mname, f.name)
    norm = sort_norm(f.kind)
    get = b.row_get(mname)
    keyed: list = []
    nulls: list = []
    for i in source.ids(mname):
        row = get(i)
        if row is None:
            continue
        raw = g(row)
        k = None if raw is None else norm(raw)
        if k is None:
            nulls.append(i)
        else:
            keyed.append((k, i))
    keyed.sort(key=first_item, reverse=desc)
    ids = [i for _, i in keyed]
    order = nulls + ids if desc else ids + nulls
    cache[key] = (version, order)
    return order


def page_sorted(order: list, q: Query, test, cand, get) -> list:
    """The page of a sorted order: rows for which the where is TRUE (all when no where)."""
    if test is None and cand is None:
        start, end = page_bounds(len(order), q)
        return [r for r in (get(i) for i in order[start:end]) if r is not None]
    want = None if q.last is not None else (q.skip + q.first if q.first is not None else None)
    rows: list = []
    append = rows.append
    if want == 0:
        return rows
    for i in order:
        if cand is not None and i not in cand:
            continue
        row = get(i)
        if row is None or (test is not None and not test(row)):
            continue
        append(row)
        if len(rows) == want:
            break
    start, end = page_bounds(len(rows), q)
    return rows[start:end]


def field_order(b: Binder, source, q: Query, mname: str, test, cand, crows, counting: bool, get):
    """orderBy on a field with cursors (or few candidates): the window between the cursors,
    sorted on the spot (ties by id, nulls last ascending / first descending), then paged."""
    f = q.order_field
    g = b.getter(mname, f.name)
    norm = sort_norm(f.kind)
    desc = q.desc
    bounds = []
    for c, is_after, crow in crows:
        raw = g(crow)
        vc = None if raw is None else norm(raw)
        if vc is None:
            return 0 if counting else []
        # keep r when r is beyond (after) / before the cursor in direction D, ties by id
        bounds.append((c, vc, is_after != desc, is_after))   # greater: need key > vc

    ids = source.ids(mname) if cand is None else sorted(cand)
    keyed: list = []          # (key, id, row) with non-null key, in id order
    nulls: list = []
    for i in ids:
        row = get(i)
        if row is None or (test is not None and not test(row)):
            continue
        raw = g(row)
        k = None if raw is None else norm(raw)
        if bounds:
            if k is None:
                continue
            ok = True
            for c, vc, greater, is_after in bounds:
                if k == vc:
                    ok = (i > c) if is_after else (i < c)
                elif greater:
                    ok = k > vc
                else:
                    ok = k < vc
                if not ok:
                    break
            if not ok:
                continue
        if k is None:
            nulls.append(row)
        else:
            keyed.append((k, row))
    n = len(keyed) + len(nulls)
    start, end = page_bounds(n, q)
    if counting:
        return end - start
    keyed.sort(key=first_item, reverse=desc)
    rows = [r for _, r in keyed]
    rows = nulls + rows if desc else rows + nulls
    return rows[start:end]
