"""The query-conformance suite: the target's answers to generated queries against the
project's query engine (the model the mock implements) run on the target's own data.

For each resource (Vm, Cluster, Host, VmDisk, Label, Task by default) the suite fetches the
target's full listing (first/after pages) and the listings of the related types, loads them
into a DictSource (to-one relations as ids, to-many as id lists), then hypothesis draws
where / orderBy / pagination bodies from the contract's ModelDesc with values taken from
the live data. Each body goes to `get-<plural>` and `get-<plural>-connection`; the ids (in
order) and the count must equal the engine's answer, and a body the engine rejects must get
a 400 from the target. The listings themselves are checked against the response schema, and
`-connection {}` must count the full listing.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from .report import (FILTER, HARNESS, HTTP_ERROR, NEGATIVE_ACCEPTED, ORDERING, PAGINATION, QUERY_COUNT,
                     QUERY_ERROR, RESPONSE_SCHEMA, SuiteResult)
from .target import Target, TargetError

DEFAULT_RESOURCES = ("Vm", "Cluster", "Host", "VmDisk", "Label", "Task")
MAX_RECORDS = 5000


class Dataset:
    """Listings of a target, as engine rows."""

    def __init__(self, contract):
        self.contract = contract
        self.records: dict[str, list[dict]] = {}
        self.rows: dict[str, list[dict]] = {}

    def load(self, target: Target, model: str) -> list[dict]:
        res = self.contract.resources[model]
        recs = target.list_all(res.list_path, limit=MAX_RECORDS)
        self.records[model] = recs
        return recs

    def build(self) -> None:
        for model, recs in self.records.items():
            res = self.contract.resources[model]
            rows = []
            for x in recs:
                row = {f: x.get(f) for f in res.scalar_fields}
                row["id"] = x.get("id")
                for f, rel in res.relations.items():
                    if rel.target not in self.records:
                        continue
                    v = x.get(f)
                    if rel.many:
                        row[f] = [e["id"] for e in v or [] if isinstance(e, dict) and "id" in e]
                    else:
                        row[f] = v.get("id") if isinstance(v, dict) else None
                rows.append(row)
            self.rows[model] = rows

    def source(self):
        from mock_server.query.model import DictSource
        return DictSource(self.rows)


# ------------------------------------------------------------------------------ strategies
def _strategies(contract, ds: Dataset, model: str, max_depth: int = 2):
    from hypothesis import strategies as st
    from mock_server.query.engine import OPERATORS
    from mock_server.query.model import BOOLEAN, DATETIME, ENUM, FLOAT, ID, INT, JSON

    qs = contract.query_schema

    def pool(m: str, f: str) -> list:
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

    def value(m: str, fd, op: str):
        vals = pool(m, fd.name)
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
            if op in ("_contains", "_not_contains", "_starts_with", "_not_starts_with",
                      "_ends_with", "_not_ends_with"):
                def piece(s: str, a: int, b: int, op=op) -> str:
                    if op.endswith("starts_with"):
                        return s[: max(1, a)]
                    if op.endswith("ends_with"):
                        return s[-max(1, a):]
                    lo, hi = sorted((a % (len(s) + 1), b % (len(s) + 1)))
                    return s[lo:hi] or s[:1]
                base = st.builds(piece, st.sampled_from(strs), st.integers(0, 8), st.integers(0, 12))
            else:
                base = st.one_of(st.sampled_from(strs), st.sampled_from(["zz-no-such", "A", "m"]))
        if op in ("_in", "_not_in"):
            return st.lists(base, min_size=0, max_size=3)
        if op in ("", "_not") and fd.nullable:
            return st.one_of(base, st.just(None)) if kind != BOOLEAN else st.one_of(base, st.just(None))
        return base

    def leaf_keys(m: str):
        md = qs.models[m]
        keys = []
        for fname, fd in md.fields.items():
            if fd.kind == JSON:
                continue
            for op in OPERATORS.get(fd.kind, ()):
                k = fname + op
                if md.where_keys is None or k in md.where_keys:
                    keys.append((k, fd, op))
        if md.where_keys is None or "id" in md.where_keys:
            from mock_server.query.model import FieldDesc
            idf = FieldDesc("id", ID, nullable=False)
            for op in ("", "_in", "_not_in", "_gt", "_lt"):
                if md.where_keys is None or "id" + op in md.where_keys:
                    keys.append(("id" + op, idf, op))
        return keys

    def rel_keys(m: str):
        md = qs.models[m]
        out = []
        for rname, rd in md.relations.items():
            if rd.target not in ds.rows:
                continue
            if rd.many:
                for suf in ("_some", "_every", "_none"):
                    if md.where_keys is None or rname + suf in md.where_keys:
                        out.append((rname + suf, rd.target, True))
            elif md.where_keys is None or rname in md.where_keys:
                out.append((rname, rd.target, False))
        return out

    cache: dict[tuple[str, int], Any] = {}

    def where(m: str, depth: int):
        key = (m, depth)
        if key in cache:
            return cache[key]
        leaves = leaf_keys(m)
        parts = []
        if leaves:
            parts.append(st.sampled_from(leaves).flatmap(
                lambda t: value(m, t[1], t[2]).map(lambda v, k=t[0]: {k: v})))
        if depth > 0:
            rels = rel_keys(m)
            if rels:
                def rel(t):
                    k, target, many = t
                    sub = where(target, depth - 1)
                    if many:
                        return sub.map(lambda w, k=k: {k: w})
                    return st.one_of(sub.map(lambda w, k=k: {k: w}), st.just({k: None}))
                parts.append(st.sampled_from(rels).flatmap(rel))
            sub = where(m, depth - 1)
            parts.append(st.tuples(st.sampled_from(["AND", "OR", "NOT"]),
                                   st.lists(sub, min_size=0, max_size=2)).map(lambda t: {t[0]: t[1]}))
        if not parts:
            s = st.just({})
        else:
            one = st.one_of(*parts)

            def merge(ds_):
                out: dict = {}
                for d in ds_:
                    out.update(d)
                return out
            s = st.lists(one, min_size=0, max_size=3).map(merge)
        cache[key] = s
        return s

    res = contract.resources[model]
    ids = [r["id"] for r in ds.rows.get(model, [])] or ["c-none"]
    n = len(ids)
    cursor = st.one_of(st.sampled_from(ids), st.just("cnosuchcursor00000000000000"))
    order = st.one_of(st.none(), st.sampled_from(list(res.order_by_values))) if res.order_by_values else st.none()

    @st.composite
    def body(draw):
        b: dict[str, Any] = {}
        w = draw(where(model, max_depth))
        if w or draw(st.booleans()):
            b["where"] = w
        o = draw(order)
        if o is not None:
            b["orderBy"] = o
        page = draw(st.sampled_from(["none", "first", "first", "last", "skip", "after", "after", "before", "none",
                                           "last", "both", "neg"]))
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
        return b

    return body()


# ------------------------------------------------------------------------------ the suite
class QuerySuite:
    def __init__(self, target: Target, contract, *, seed: int = 0, examples: int = 25,
                 resources: tuple[str, ...] = DEFAULT_RESOURCES, time_budget: float = 120.0,
                 log: Callable[[str], None] = print, name: str = "query"):
        self.target = target
        self.contract = contract
        self.seed = seed
        self.examples = examples
        self.resources = [r for r in resources if r in contract.resources and contract.resources[r].list_path]
        self.time_budget = time_budget
        self.log = log
        self.result = SuiteResult(name)
        self.dataset = Dataset(contract)
        from mock_server.contract.validate import Validator
        self.validator = Validator(contract, strict_additional=True)
        self.answers: list[dict] = []          # (for drift) every body and the target's answer

    def load(self) -> bool:
        res = self.result
        wanted: list[str] = []
        for m in self.resources:
            wanted.append(m)
            for rel in self.contract.resources[m].relations.values():
                if rel.target in self.contract.resources and self.contract.resources[rel.target].list_path:
                    wanted.append(rel.target)
        seen = set()
        # the resources' own listings first, then the related types while the budget lasts
        wanted = list(self.resources) + [m for m in wanted if m not in self.resources]
        load_until = self.result.started + self.time_budget * 0.5
        for m in wanted:
            if m in seen:
                continue
            if m not in self.resources and time.monotonic() > load_until:
                res.note(f"related listings not loaded (time budget): {m} and after; relation filters "
                         f"on them are not generated")
                break
            seen.add(m)
            r = self.contract.resources[m]
            try:
                recs = self.dataset.load(self.target, m)
            except TargetError as e:
                if e.status is not None and e.status < 500:     # transport and 5xx: the Inspector's
                    res.fail(r.list_path, HTTP_ERROR, f"the plain listing was refused: {e}", e.exchange)
                if m in self.resources:
                    self.resources.remove(m)
                continue
            except Exception as e:
                res.fail(r.list_path, RESPONSE_SCHEMA, f"listing unreadable: {type(e).__name__}: {e}",
                         self.target.last)
                if m in self.resources:
                    self.resources.remove(m)
                continue
            if m in self.resources:
                self._check_listing(m, recs)
        self.dataset.build()
        return bool(self.resources)

    def _check_listing(self, model: str, recs: list[dict]) -> None:
        """`-connection {}` counts the listing; first/after pages rebuild it. (Each record was
        checked against the schema by the Inspector.)"""
        res = self.result
        r = self.contract.resources[model]
        if r.connection_path:
            res.check(r.connection_path)
            try:
                n = self.target.call(r.connection_path, {})["aggregate"]["count"]
            except TargetError:
                return
            except (KeyError, TypeError) as e:
                res.fail(r.connection_path, RESPONSE_SCHEMA, f"no aggregate.count: {e}", self.target.last)
                return
            if n != len(recs):
                res.fail(r.connection_path, f"{QUERY_COUNT} [where {{}}]",
                         f"-connection {{}} counts {n}, the full listing has {len(recs)} {model} records",
                         self.target.last)
        if len(recs) >= 2:
            res.check(r.list_path)
            try:
                paged = self.target.list_all(r.list_path, page=max(1, len(recs) // 3 + 1))
            except TargetError:
                return
            if [x["id"] for x in paged] != [x["id"] for x in recs]:
                res.fail(r.list_path, f"{PAGINATION} [cursor (after/before)]",
                         f"pages of first/after give {len(paged)} ids, the full listing {len(recs)}: "
                         f"{ids_diff([x['id'] for x in paged], [x['id'] for x in recs])}", self.target.last)

    def run(self) -> SuiteResult:
        res = self.result
        self.log(f"[query] loading listings of {', '.join(self.resources)} and related types")
        if not self.load():
            res.skipped = res.skipped or "no listable resource"
            return res.finish()
        sizes = ", ".join(f"{m} {len(self.dataset.rows.get(m, []))}" for m in self.resources)
        res.note(f"listings: {sizes}; {len(self.dataset.rows)} types loaded for relation filters")
        deadline = res.started + self.time_budget
        for m in list(self.resources):
            if time.monotonic() > deadline or res.enough():
                res.note("time budget reached" if not res.enough() else "stopped at --max-defects")
                break
            self._fuzz(m, deadline)
            self.log(f"[query]   {m}: {res.per_operation.get(self.contract.resources[m].list_path, 0)} checks, "
                     f"{len(res.failures)} defect(s) so far")
        return res.finish()

    def _fuzz(self, model: str, deadline: float) -> None:
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import seed as hseed
        strategy = _strategies(self.contract, self.dataset, model)

        @hseed(self.seed)
        @settings(max_examples=self.examples, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def one(body):
            if time.monotonic() > deadline or self.result.enough():
                return
            self.compare(model, body)

        try:
            one()
        except Exception as e:
            self.result.fail(self.contract.resources[model].list_path, HARNESS,
                             f"query generation failed: {type(e).__name__}: {str(e)[:300]}")

    def expected(self, model: str, body: dict) -> tuple[Any, Any]:
        """(ids, count) from the engine, or (QueryError, QueryError) for a body the contract's
        request schema or the engine rejects."""
        from mock_server.contract.validate import ValidationError
        from mock_server.query import engine
        from mock_server.query.model import QueryError
        op = self.contract.operations[self.contract.resources[model].list_path]
        try:      # GraphQL input coercion first (a single value where a list is expected), as CloudTower does
            body = self.validator.coerce(op.request_schema, body)
            self.validator.validate(op.request_schema, body)
        except ValidationError as e:
            err = QueryError(str(e))
            return err, err
        schema = self.contract.query_schema
        src = self.dataset.source()
        try:
            ids = [r["id"] for r in engine.find(schema, src, model, body)]
            n = engine.count(schema, src, model, body)
        except QueryError as e:
            return e, e
        return ids, n

    def compare(self, model: str, body: dict, family: str | None = None) -> bool:
        """Send `body` to the list and the -connection operation; the ids (in order) and the
        count must be the engine's. `family` names what the body exercises (for the report).
        True when the target agreed."""
        import json
        from mock_server.query.model import QueryError
        res = self.result
        r = self.contract.resources[model]
        exp_ids, exp_n = self.expected(model, body)
        text = json.dumps(body, ensure_ascii=False, default=str)
        fam = family or body_family(body)
        record = {"model": model, "body": body}
        agreed = True
        for path, expected, is_count in ((r.list_path, exp_ids, False), (r.connection_path, exp_n, True)):
            if path is None:
                continue
            res.check(path)
            try:
                resp = self.target.post(path, body, expect="invalid" if isinstance(expected, QueryError) else None)
            except TargetError:
                agreed = False
                continue            # the Inspector recorded the transport error
            ex = self.target.last
            status = resp.status_code
            record[("count" if is_count else "list") + "_status"] = status
            if status >= 500:
                agreed = False
                continue            # the Inspector recorded the 5xx
            if isinstance(expected, QueryError):
                if status != 400:
                    agreed = False
                    kind = NEGATIVE_ACCEPTED if status < 300 else QUERY_ERROR
                    res.fail(path, f"{kind} [{fam}]", f"HTTP {status} for {text}; the model rejects it with 400: "
                                                      f"{expected.message}", ex)
                continue
            if status != 200:
                agreed = False
                res.fail(path, f"{HTTP_ERROR} [{fam}]", f"HTTP {status} for {text}; the model answers it: "
                                                        f"{resp.text[:300]}", ex)
                continue
            try:
                data = resp.json()
                got = data["aggregate"]["count"] if is_count else [x["id"] for x in data]
            except Exception as e:
                agreed = False
                res.fail(path, RESPONSE_SCHEMA, f"unreadable answer for {text}: {e}", ex)
                continue
            record["count" if is_count else "ids"] = got
            if got != expected:
                agreed = False
                if is_count:
                    res.fail(path, f"{QUERY_COUNT} [{fam}]", f"count {got}, the model counts {expected}, "
                                                             f"for {text}", ex)
                else:
                    kind = ORDERING if fam.startswith(ORDER_FAMILIES) else FILTER
                    res.fail(path, f"{kind} [{fam}]", f"for {text}: {ids_diff(got, expected)}", ex)
        self.answers.append(record)
        return agreed


ORDER_FAMILIES = ("default order", "orderBy", "pagination", "cursor")


def body_family(body: dict) -> str:
    """What a query body exercises, for the report: pagination args first, then where operators."""
    if not isinstance(body, dict):
        return "body"
    if any(k in body for k in ("after", "before")):
        return "cursor (after/before)"
    if any(k in body for k in ("first", "last", "skip")):
        return "pagination (first/last/skip)"
    w = body.get("where")
    if w:
        return where_family(w)
    if body.get("orderBy"):
        return "orderBy"
    return "default order"


def where_family(w) -> str:
    if not isinstance(w, dict) or not w:
        return "where {}"
    k = sorted(w)[0]
    if k in ("AND", "OR", "NOT"):
        return "NOT / OR / AND"
    for suf, fam in (("_some", "some / every / none"), ("_every", "some / every / none"),
                     ("_none", "some / every / none"), ("_not_in", "_in / _not_in"), ("_in", "_in / _not_in"),
                     ("_contains", "string operators"), ("_starts_with", "string operators"),
                     ("_ends_with", "string operators"), ("_lte", "comparison bounds"), ("_gte", "comparison bounds"),
                     ("_lt", "comparison bounds"), ("_gt", "comparison bounds"), ("_not", "equals / _not")):
        if k.endswith(suf):
            return fam
    if isinstance(w[k], dict) or w[k] is None and not k.endswith("id"):
        return "to-one relation" if isinstance(w[k], dict) else "equals / _not"
    return "equals / _not"


def ids_diff(got: list[str], expected: list[str]) -> str:
    """The difference of two id lists, with full ids."""
    if sorted(got) == sorted(expected):
        i = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
        return (f"the same {len(got)} ids in another order; first difference at position {i}: "
                f"target {got[i]}, model {expected[i]} (target {_ids(got)}, model {_ids(expected)})")
    extra = [x for x in got if x not in set(expected)]
    missing = [x for x in expected if x not in set(got)]
    return (f"target returned {len(got)} ids, the model {len(expected)}; "
            + (f"unexpected: {_ids(extra)}; " if extra else "")
            + (f"missing: {_ids(missing)}" if missing else "")).rstrip("; ")


def _ids(ids: list[str], n: int = 6) -> str:
    s = ", ".join(ids[:n])
    return f"[{s}{', …' if len(ids) > n else ''}] ({len(ids)})"
