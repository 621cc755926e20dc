"""One query body checked on the target: the ids (in order) of the list operation and the
count of the -connection operation must be the engine's answer on the loaded data, and a
body the model rejects must get a 400. Defects are named by the family the body exercises."""

from __future__ import annotations

from typing import Any

from .report import FILTER, HTTP_ERROR, NEGATIVE_ACCEPTED, ORDERING, QUERY_COUNT, QUERY_ERROR, RESPONSE_SCHEMA
from .target import TargetError


class Comparison:
    """The compare part of the QuerySuite (needs its contract, target, validator, dataset,
    result and answers)."""

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
