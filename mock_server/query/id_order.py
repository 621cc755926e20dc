"""Queries in id order (no orderBy, `id_ASC` / `id_DESC`, and every count without cursors):
ids iterated directly with early stop, or whole-table scans through the generated code."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from .binder import Binder
from .model import BOOLEAN, ENUM
from .columnar import columnar_answer
from .pages import page_bounds, row_id
from .request import Query


_WALK_MIN = 64                     # fewer candidates than this: just sort them


def walk_pays(candidates: int, want: int | None, total: int) -> bool:
    """Is walking all `total` ids in order, keeping candidates, until `want` are found,
    sooner (on average) than sorting the `candidates`?"""
    return want is not None and candidates > _WALK_MIN and candidates * candidates > want * total


def exact_hint(plan) -> bool:
    """Is `plan` one equality (or `_in`) on an indexed enum or boolean field, whose index
    candidates are exactly the rows it matches (as `Binder.candidates` finds them)?"""
    return (type(plan) is tuple and len(plan) == 4 and plan[0] == "cmp" and plan[2] in ("eq", "in")
            and plan[1].kind in (ENUM, BOOLEAN))


def execute_id_order(b: Binder, source, q: Query, mname: str, test, fast, cand, crows, counting: bool, get):
    """Order is id (ASC, or DESC for `id_DESC`): iterate ids directly, stop early."""
    desc = q.desc
    lo = hi = None                 # exclusive id bounds in ascending terms
    for c, is_after, _ in crows:
        if is_after != desc:       # after in ASC / before in DESC: ids > c
            lo = c if lo is None or c > lo else lo
        else:
            hi = c if hi is None or c < hi else hi
    n = q.first if q.last is None else q.last
    limit = None if n is None else q.skip + n
    if limit == 0:
        return 0 if counting else []
    if counting and not crows and cand is not None and exact_hint(q.where):
        # the candidates are exactly the rows the where matches: count them, test none
        start, end = page_bounds(len(cand), q)
        return end - start
    if not crows and test is not None and (limit is None or counting):
        got = columnar_answer(b, source, mname, fast[2], cand, counting, q)
        if got is not None:
            return got
    if cand is None and not crows and test is not None and (limit is None or counting):
        # the whole table through the generated scan (any order), then id order
        view = source.rows_view(mname) if hasattr(source, "rows_view") else None
        if view is not None and getattr(source, "dict_rows", False):
            scan, count_rows = fast[:2]
            if counting:
                start, end = page_bounds(count_rows(view.values()), q)
                return end - start
            hits = scan(view.values())
            hits.sort(key=row_id, reverse=desc)
            start, end = page_bounds(len(hits), q)
            return hits[start:end]
    if counting and not crows and cand is not None:
        # counting index candidates: no order needed
        rows = filter(None, map(get, cand))
        n_match = sum(1 for _ in rows) if test is None else fast[1](rows)
        start, end = page_bounds(n_match, q)
        return end - start
    member = None                  # walking every id, keep only these
    ids = None
    if cand is None or (limit is not None and len(cand) > _WALK_MIN):
        ids = source.ids(mname)
        if not isinstance(ids, list):
            ids = list(ids)
        if cand is not None and walk_pays(len(cand), limit, len(ids)):
            # so many candidates that walking the ordered ids finds `limit` of them sooner
            # than sorting them all would
            member = cand
        elif cand is not None:
            ids = None
    if ids is None:
        ids = sorted(cand)
    a = 0 if lo is None else bisect_right(ids, lo)
    z = len(ids) if hi is None else bisect_left(ids, hi)
    if a >= z:
        return 0 if counting else []
    # iteration direction: the response order, reversed when taking `last`
    backwards = desc != (q.last is not None)
    rng = range(z - 1, a - 1, -1) if backwards else range(a, z)
    if counting and test is None and cand is None:
        total = z - a
        if limit is not None:
            total = min(total, limit)
        return max(0, total - q.skip)
    out: list = []
    append = out.append
    matched = 0
    for k in rng:
        if member is not None and ids[k] not in member:
            continue
        row = get(ids[k])
        if row is None or (test is not None and not test(row)):
            continue
        matched += 1
        if not counting:
            append(row)
        if matched == limit:
            break
    if counting:
        return max(0, matched - q.skip)
    out = out[q.skip:]
    if backwards != desc:
        out.reverse()
    return out
