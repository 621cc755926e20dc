"""Hypothesis strategies of query bodies for one resource: where trees drawn from the
contract's ModelDesc (leaf operators per field kind, relation filters, AND / OR / NOT) with
values taken from the live data, orderBy values of the contract, and every pagination /
cursor shape (valid and invalid)."""

from __future__ import annotations

from typing import Any

STRING_OPS = ("_contains", "_not_contains", "_starts_with", "_not_starts_with", "_ends_with", "_not_ends_with")
PAGE_SHAPES = ["none", "first", "first", "last", "skip", "after", "after", "before", "none", "last", "both", "neg"]


def value_pool(ds, m: str, f: str) -> list:
    """Up to 40 distinct non-null scalar values of field `f` in the loaded rows of `m`."""
    seen, out = set(), []
    for r in ds.rows.get(m, []):
        v = r.get(f)
        if v is None or isinstance(v, (list, dict)):
            continue
        k = (type(v).__name__, v)
        if k not in seen:
            seen.add(k)
            out.append(v)
        if len(out) >= 40:
            break
    return out


def _piece(s: str, a: int, b: int, op: str) -> str:
    if op.endswith("starts_with"):
        return s[: max(1, a)]
    if op.endswith("ends_with"):
        return s[-max(1, a):]
    lo, hi = sorted((a % (len(s) + 1), b % (len(s) + 1)))
    return s[lo:hi] or s[:1]


def value_strategy(vals: list, fd, op: str):
    """Values for the where key `fd.name + op`, mostly from the data (`vals`)."""
    from hypothesis import strategies as st
    from mock_server.query.model import BOOLEAN, DATETIME, ENUM, FLOAT, INT
    kind = fd.kind
    if kind == BOOLEAN:
        base = st.booleans()
    elif kind == ENUM:
        base = st.sampled_from(list(fd.enum_values) or vals or ["X"])
    elif kind in (INT,):
        base = st.one_of(st.sampled_from(vals), st.sampled_from(vals).map(lambda v: v + 1),
                         st.sampled_from(vals).map(lambda v: v - 1)) if vals else st.integers(-2, 10)
    elif kind == FLOAT:
        base = st.sampled_from(vals) if vals else st.floats(0, 100, allow_nan=False)
    elif kind == DATETIME:
        base = st.sampled_from(vals) if vals else st.just("2024-01-01T00:00:00.000Z")
    else:   # STRING / ID
        strs = [v for v in vals if isinstance(v, str)] or ["a"]
        if op in STRING_OPS:
            base = st.builds(lambda s, a, b, op=op: _piece(s, a, b, op),
                             st.sampled_from(strs), st.integers(0, 8), st.integers(0, 12))
        else:
            base = st.one_of(st.sampled_from(strs), st.sampled_from(["zz-no-such", "A", "m"]))
    if op in ("_in", "_not_in"):
        return st.lists(base, min_size=0, max_size=3)
    if op in ("", "_not") and fd.nullable:
        return st.one_of(base, st.just(None))
    return base


def leaf_keys(md) -> list[tuple[str, Any, str]]:
    """(where key, FieldDesc, operator suffix) of every scalar filter of a model."""
    from mock_server.query.engine import OPERATORS
    from mock_server.query.model import ID, JSON, FieldDesc
    keys = []
    for fname, fd in md.fields.items():
        if fd.kind == JSON:
            continue
        for op in OPERATORS.get(fd.kind, ()):
            k = fname + op
            if md.where_keys is None or k in md.where_keys:
                keys.append((k, fd, op))
    if md.where_keys is None or "id" in md.where_keys:
        idf = FieldDesc("id", ID, nullable=False)
        for op in ("", "_in", "_not_in", "_gt", "_lt"):
            if md.where_keys is None or "id" + op in md.where_keys:
                keys.append(("id" + op, idf, op))
    return keys


def rel_keys(md, loaded) -> list[tuple[str, str, bool]]:
    """(where key, target model, to-many) of every relation filter onto a loaded model."""
    out = []
    for rname, rd in md.relations.items():
        if rd.target not in loaded:
            continue
        if rd.many:
            for suf in ("_some", "_every", "_none"):
                if md.where_keys is None or rname + suf in md.where_keys:
                    out.append((rname + suf, rd.target, True))
        elif md.where_keys is None or rname in md.where_keys:
            out.append((rname, rd.target, False))
    return out


def _merge(dicts) -> dict:
    out: dict = {}
    for d in dicts:
        out.update(d)
    return out


class WhereStrategies:
    """Where trees of each model up to a depth, built once per (model, depth)."""

    def __init__(self, qs, ds):
        self.qs, self.ds = qs, ds
        self.cache: dict[tuple[str, int], Any] = {}

    def where(self, m: str, depth: int):
        from hypothesis import strategies as st
        key = (m, depth)
        if key in self.cache:
            return self.cache[key]
        md = self.qs.models[m]
        leaves = leaf_keys(md)
        parts = []
        if leaves:
            parts.append(st.sampled_from(leaves).flatmap(
                lambda t: value_strategy(value_pool(self.ds, m, t[1].name), t[1], t[2]).map(
                    lambda v, k=t[0]: {k: v})))
        if depth > 0:
            rels = rel_keys(md, self.ds.rows)
            if rels:
                parts.append(st.sampled_from(rels).flatmap(lambda t: self._relation(t, depth)))
            sub = self.where(m, depth - 1)
            parts.append(st.tuples(st.sampled_from(["AND", "OR", "NOT"]),
                                   st.lists(sub, min_size=0, max_size=2)).map(lambda t: {t[0]: t[1]}))
        s = st.just({}) if not parts else st.lists(st.one_of(*parts), min_size=0, max_size=3).map(_merge)
        self.cache[key] = s
        return s

    def _relation(self, t, depth: int):
        from hypothesis import strategies as st
        k, target, many = t
        sub = self.where(target, depth - 1)
        if many:
            return sub.map(lambda w, k=k: {k: w})
        return st.one_of(sub.map(lambda w, k=k: {k: w}), st.just({k: None}))


def _page(draw, st, b: dict, n: int, cursor) -> None:
    """Draw a pagination shape into the body `b` (n: records of the model)."""
    page = draw(st.sampled_from(PAGE_SHAPES))
    if page == "first":
        b["first"] = draw(st.integers(0, n + 2))
    elif page == "last":
        b["last"] = draw(st.integers(0, n + 2))
    elif page == "skip":
        b["skip"] = draw(st.integers(0, n + 1))
        if draw(st.booleans()):
            b[draw(st.sampled_from(["first", "last"]))] = draw(st.integers(0, 5))
    elif page == "after":
        b["after"] = draw(cursor)
        b["first"] = draw(st.integers(0, 6))
    elif page == "before":
        b["before"] = draw(cursor)
        if draw(st.booleans()):
            b["last"] = draw(st.integers(0, 6))
    elif page == "both":
        b["first"], b["last"] = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    elif page == "neg":
        b[draw(st.sampled_from(["first", "last", "skip"]))] = -draw(st.integers(1, 3))


def body_strategy(contract, ds, model: str, max_depth: int = 2):
    """Query bodies (where, orderBy, pagination) for `model`, values from the dataset `ds`."""
    from hypothesis import strategies as st
    wheres = WhereStrategies(contract.query_schema, ds)
    res = contract.resources[model]
    ids = [r["id"] for r in ds.rows.get(model, [])] or ["c-none"]
    n = len(ids)
    cursor = st.one_of(st.sampled_from(ids), st.just("cnosuchcursor00000000000000"))
    order = st.one_of(st.none(), st.sampled_from(list(res.order_by_values))) if res.order_by_values else st.none()

    @st.composite
    def body(draw):
        b: dict[str, Any] = {}
        w = draw(wheres.where(model, max_depth))
        if w or draw(st.booleans()):
            b["where"] = w
        o = draw(order)
        if o is not None:
            b["orderBy"] = o
        _page(draw, st, b, n, cursor)
        return b

    return body()
