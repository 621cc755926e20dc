"""Whole-table wheres over cached columns of the fields they read (the generated column scan)."""

from __future__ import annotations

from .binder import Binder
from .pages import page_bounds
from .request import Query

_COLUMNAR_MIN_SHARE = 3        # columns beat index candidates holding over 1/3 of the table


def columnar_answer(b: Binder, source, mname: str, columnar, cand, counting: bool, q: Query):
    """The answer of a whole-table where (no cursor, no first/last unless counting) over
    cached columns of the fields it reads, or None when columns do not apply."""
    if columnar is None or not getattr(source, "dict_rows", False):
        return None
    sc = getattr(source, "sort_cache", None)
    got = sc(mname) if sc is not None else None
    if got is None:
        return None
    cache, version = got
    ids = source.ids(mname)
    if not isinstance(ids, list):
        return None
    if cand is not None and len(cand) * _COLUMNAR_MIN_SHARE <= len(ids):
        return None
    fields, cscan, ccount = columnar
    get = b.row_get(mname)
    cols = []
    for f in fields:
        hit = cache.get(("col", f))
        if hit is None or hit[0] != version or hit[1] is not ids:
            hit = (version, ids, [r.get(f) if (r := get(i)) is not None else None for i in ids])
            cache[("col", f)] = hit
        cols.append(hit[2])
    if counting:
        start, end = page_bounds(ccount(*cols), q)
        return end - start
    hits = cscan(ids, *cols)
    if q.desc:
        hits.reverse()
    start, end = page_bounds(len(hits), q)
    return [r for r in map(get, hits[start:end]) if r is not None]
