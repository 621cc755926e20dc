"""Deterministic query probes: every where-operator family and every pagination / ordering
argument, with values chosen from the target's own data to sit on the boundaries where a
wrong implementation gives a different answer (a value that exists for `_gt` vs `_gte`, a
middle substring for `_contains`, nulls and empty lists for `_in` / `_not_in`, empty and
list forms of `NOT` / `OR` / `AND`, cursors at the ends and inside groups of equal values).

Each body goes to the list operation and its `-connection`; the answers must be the query
engine's (the documented Prisma 1 semantics) on the target's data. Random bodies (the query
suite) find what these miss; these make sure every family is tried on every run.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any, Iterator

Body = dict[str, Any]


def _pool(rows: list[dict], f: str) -> list:
    """Distinct non-null scalar values of a field, most frequent first (ties: sorted)."""
    c = Counter(r.get(f) for r in rows if r.get(f) is not None and not isinstance(r.get(f), (list, dict)))
    return [v for v, _ in sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))]


def _has(md, key: str) -> bool:
    return md.where_keys is None or key in md.where_keys


def _fields_by_kind(md, rows, rng: random.Random, kinds) -> dict[str, list]:
    """For each kind, the fields that have values in the data, in a seeded order."""
    out: dict[str, list] = {}
    for name in sorted(md.fields):
        fd = md.fields[name]
        if fd.kind in kinds and _pool(rows, name):
            out.setdefault(fd.kind, []).append(fd)
    for v in out.values():
        rng.shuffle(v)
    return out


def _string_cases(op: str, values: list) -> Iterator[Any]:
    s = next((v for v in values if isinstance(v, str) and len(v) >= 3), None) or \
        next((v for v in values if isinstance(v, str) and v), None)
    if s is None:
        return
    if op.endswith("contains"):
        yield s[1:-1] if len(s) >= 3 else s           # a middle piece: not a prefix, not a suffix
        yield s.swapcase() if s.swapcase() != s else s + "zz"
    elif op.endswith("starts_with"):
        yield s[: max(1, len(s) // 2)]
        yield s[1:] or s
    else:
        yield s[-max(1, len(s) // 2):]
        yield s[:-1] or s


def _scalar_cases(fd, op: str, values: list) -> Iterator[Any]:
    from mock_server.query.model import BOOLEAN, DATETIME, ENUM, FLOAT, INT
    ordered = sorted(values) if fd.kind in (INT, FLOAT, DATETIME) or all(isinstance(v, str) for v in values) \
        else values
    common = values[0]
    if op == "":
        yield common
        if fd.nullable:
            yield None
    elif op == "_not":
        yield common
        if fd.nullable:
            yield None
    elif op == "_in":
        yield values[:2]
        yield []
        if fd.nullable:
            yield None                      # `_in: null` is IS NULL
        yield [common, None]                # `[T!]`: a null item is an error
    elif op == "_not_in":
        yield values[:1]
        yield []
        if fd.nullable:
            yield None
    elif op in ("_lt", "_lte", "_gt", "_gte"):
        if fd.kind in (BOOLEAN, ENUM):
            return
        lo, mid, hi = ordered[0], ordered[len(ordered) // 2], ordered[-1]
        yield mid
        yield hi if op in ("_gt", "_gte") else lo   # the bound itself: _gt gives none, _gte some
    else:
        yield from _string_cases(op, values)


def where_bodies(qs, ds, model: str, rng: random.Random, fields_per_op: int = 1) -> list[tuple[str, Body]]:
    """(family, body) pairs: each operator of each field kind on `fields_per_op` fields,
    relation filters, and the logic forms."""
    from mock_server.query.engine import OPERATORS
    from mock_server.query.model import JSON
    from .query_suite import where_family
    md = qs.models[model]
    rows = ds.rows.get(model, [])
    out: list[tuple[str, Body]] = []
    by_kind = _fields_by_kind(md, rows, rng, [k for k in OPERATORS if k != JSON])
    for kind, fds in sorted(by_kind.items()):
        for i, op in enumerate(OPERATORS[kind]):
            usable = [fd for fd in fds if _has(md, fd.name + op)]
            for fd in (usable[i % len(usable):] + usable[: i % len(usable)])[:fields_per_op] if usable else []:
                for v in _scalar_cases(fd, op, _pool(rows, fd.name)):
                    w = {fd.name + op: v}
                    out.append((where_family(w), {"where": w}))
    out += _null_bodies(md, rows, rng)
    ids = [r["id"] for r in rows]
    if ids and _has(md, "id_in"):
        out.append(("_in / _not_in", {"where": {"id_in": [ids[0], ids[-1], "cnosuchid0000000000000000"]}}))
    if ids and _has(md, "id_not_in"):
        out.append(("_in / _not_in", {"where": {"id_not_in": ids[: len(ids) // 2]}}))
    out += _relation_bodies(qs, ds, md, rows, rng)
    out += _logic_bodies(out, rng)
    return out


def _null_bodies(md, rows, rng: random.Random, n_fields: int = 2) -> list[tuple[str, Body]]:
    """Three-valued logic: on fields that hold both nulls and values, every operator that
    must (or must not) match the nulls."""
    from mock_server.query.model import JSON
    cands = [fd for name, fd in sorted(md.fields.items()) if fd.kind != JSON and fd.nullable
             and any(r.get(name) is None for r in rows) and _pool(rows, name)]
    rng.shuffle(cands)
    out: list[tuple[str, Body]] = []
    for fd in cands[:n_fields]:
        v = _pool(rows, fd.name)[0]
        for op, val in (("", None), ("_not", None), ("_not", v), ("_in", None), ("_in", [v]),
                        ("_not_in", None), ("_not_in", [v]), ("_not_in", [])):
            if _has(md, fd.name + op):
                fam = "_in / _not_in" if op.endswith("in") else "equals / _not"
                out.append((fam, {"where": {fd.name + op: val}}))
    return out


def _sub_where(qs, ds, target: str, rng: random.Random, used_ids: list[str]) -> list[Body]:
    """Nested filters on a related type: {} (any), an id that is referenced, a scalar value."""
    subs: list[Body] = [{}]
    if used_ids:
        subs.append({"id": used_ids[len(used_ids) // 2]})
    tmd = qs.models.get(target)
    trows = ds.rows.get(target, [])
    if tmd is not None:
        from mock_server.query.model import BOOLEAN, ENUM, STRING
        cands = [fd for n, fd in sorted(tmd.fields.items()) if fd.kind in (STRING, ENUM, BOOLEAN)
                 and _pool(trows, n) and _has(tmd, n)]
        if cands:
            fd = cands[rng.randrange(len(cands))]
            subs.append({fd.name: _pool(trows, fd.name)[0]})
    return subs


def _relation_bodies(qs, ds, md, rows, rng) -> list[tuple[str, Body]]:
    out: list[tuple[str, Body]] = []
    rels = [rd for n, rd in sorted(md.relations.items()) if rd.target in ds.rows]
    many = [rd for rd in rels if rd.many]
    one = [rd for rd in rels if not rd.many]
    rng.shuffle(many)
    rng.shuffle(one)
    for rd in many[:3]:
        used = sorted({x for r in rows for x in (r.get(rd.name) or [])})
        for sub in _sub_where(qs, ds, rd.target, rng, used):
            for suf in ("_some", "_every", "_none"):
                if _has(md, rd.name + suf):
                    out.append(("some / every / none", {"where": {rd.name + suf: sub}}))
        if _has(md, rd.name + "_some"):
            out.append(("some / every / none", {"where": {rd.name + "_some": None}}))    # an error (3033)
    for rd in one[:3]:
        if not _has(md, rd.name):
            continue
        used = sorted({r.get(rd.name) for r in rows if r.get(rd.name)})
        for sub in _sub_where(qs, ds, rd.target, rng, used)[1:]:
            out.append(("to-one relation", {"where": {rd.name: sub}}))
        out.append(("to-one relation", {"where": {rd.name: None}}))
    return out


def _logic_bodies(leaves: list[tuple[str, Body]], rng: random.Random) -> list[tuple[str, Body]]:
    """AND / OR / NOT in list and object forms, empty, nested, with {} members."""
    simple = [b["where"] for fam, b in leaves if fam in ("equals / _not", "string operators", "comparison bounds")]
    if len(simple) < 2:
        return []
    a, b = simple[rng.randrange(len(simple))], simple[rng.randrange(len(simple))]
    if a == b and len(simple) > 2:
        b = next(x for x in simple if x != a)
    forms = [{"AND": [a, b]}, {"OR": [a, b]}, {"NOT": [a]}, {"NOT": [a, b]}, {"NOT": a},
             {"AND": []}, {"OR": []}, {"NOT": []}, {"OR": [{}, a]}, {"AND": [{}, a]},
             {"NOT": [{"OR": [a, b]}]}, {"OR": [{"NOT": [a]}, b]}, dict(a, OR=[b])]
    return [("NOT / OR / AND", {"where": w}) for w in forms]


def page_bodies(contract, ds, model: str, rng: random.Random, max_order: int = 16) -> list[tuple[str, Body]]:
    """Default order, orderBy (ties first), first / last / skip and cursors at the edges."""
    res = contract.resources[model]
    rows = ds.rows.get(model, [])
    ids = sorted(r["id"] for r in rows)
    n = len(ids)
    out: list[tuple[str, Body]] = [("default order", {})]
    # orderBy: the fields with the most ties first (they decide the id tie-break), then others
    values = list(res.order_by_values or ())
    fields = sorted({v.rsplit("_", 1)[0] for v in values})
    dup = {f: n - len({str(r.get(f)) for r in rows}) for f in fields}
    tie_fields = sorted(fields, key=lambda f: (-dup[f], f))
    chosen = tie_fields[: max_order // 2]
    rest = [f for f in fields if f not in chosen]
    rng.shuffle(rest)
    chosen += rest[: max(0, max_order - len(chosen)) // 2]
    for f in chosen:
        for d in ("ASC", "DESC"):
            if f"{f}_{d}" in values:
                out.append(("orderBy", {"orderBy": f"{f}_{d}"}))
    tie = next((f for f in tie_fields if dup[f] > 0 and f"{f}_DESC" in values), None)
    if n == 0:
        return out
    mid = ids[n // 2]
    P = "pagination (first/last/skip)"
    C = "cursor (after/before)"
    for b in ({"first": 0}, {"first": 1}, {"first": n - 1}, {"first": n + 1}, {"last": 1}, {"last": n},
              {"skip": 1}, {"skip": n - 1}, {"skip": n}, {"skip": n + 1}, {"skip": 1, "first": 2},
              {"skip": 1, "last": 2}, {"first": 1, "last": 1}, {"first": -1}, {"skip": -1}):
        out.append((P, b))
    for b in ({"after": ids[0], "first": 3}, {"after": mid}, {"after": ids[-1]}, {"before": mid},
              {"before": ids[-1], "last": 2}, {"before": ids[0]}, {"after": mid, "last": 2},
              {"before": mid, "first": 2}, {"after": ids[0], "skip": 1, "first": 2},
              {"after": "cnosuchcursor00000000000000", "first": 2}):
        out.append((C, b))
    if tie:
        grp = Counter(str(r.get(tie)) for r in rows).most_common(1)[0][0]
        inside = sorted(r["id"] for r in rows if str(r.get(tie)) == grp)
        cur = inside[len(inside) // 2]
        for d in ("ASC", "DESC"):
            out.append((C, {"orderBy": f"{tie}_{d}", "after": cur, "first": 4}))
            out.append((C, {"orderBy": f"{tie}_{d}", "before": cur, "last": 3}))
            out.append((P, {"orderBy": f"{tie}_{d}", "skip": 1, "first": max(2, len(inside))}))
    return out


def count_bodies(ds, model: str, where_bodies_: list[tuple[str, Body]]) -> list[tuple[str, Body]]:
    """A filter with pagination: the count must be what the same arguments list."""
    n = len(ds.rows.get(model, []))
    out = []
    for fam, b in where_bodies_[:40:8]:
        w = b.get("where")
        out.append(("pagination (first/last/skip)", {"where": w, "first": max(1, n // 3)}))
        out.append(("pagination (first/last/skip)", {"where": w, "skip": 1}))
    return out
