"""The schema suite: schemathesis over the contract's operations.

For each operation in scope (a seeded sample; read-only targets: only `get-*`), schemathesis
generates positive and negative requests; every answer goes through the Inspector (no 5xx,
declared statuses, JSON content type, `x-tower-request-id`, response schema, ErrorBody), and
negative requests (wrong types, missing required fields, unknown keys, as judged by the full
contract) must get a 4xx.

CloudTower's filter inputs are deeply recursive (VmWhereInput reaches every other
WhereInput), which makes schemathesis' generation take minutes per operation. Generation
therefore runs on a *narrowed* copy of the document: each `*WhereInput` keeps a seeded
handful of its scalar keys and no relation/logic keys. A narrowed schema accepts a subset of
what the full one accepts, so positive cases stay valid; negative cases are re-judged
against the full contract before a 4xx is demanded. Responses are checked against the
document as given (only the 4.3+ generator bug, a response header literally named
`CommonHeader`, is dropped).
"""

from __future__ import annotations

import copy
import random
import time
import uuid
from typing import Any, Callable

from .report import HARNESS, NEGATIVE_ACCEPTED, SuiteResult
from .target import Target, TargetError, is_read_only

NAMESPACE_HEADER = "X-Mock-Namespace"
# Always in the sample when in scope: the operations most clients use.
CORE_OPERATIONS = ("/get-vms", "/get-vms-connection", "/get-clusters", "/get-hosts", "/get-tasks",
                   "/get-vm-disks", "/get-labels", "/get-tasks-connection", "/get-clusters-connection",
                   "/create-vm", "/delete-vm", "/start-vm", "/update-label", "/create-vm-snapshot")
WHERE_KEYS_KEPT = 8
MIN_BUDGET = 4.0          # seconds: below this, loading schemathesis would eat the whole share


def _where_ref(contract, s: Any) -> bool:
    from mock_server.contract.index import ref_name
    if not isinstance(s, dict):
        return False
    if s.get("type") == "array":
        return _where_ref(contract, s.get("items"))
    n = ref_name(s)
    return bool(n and n.endswith("WhereInput"))


def narrowed_doc(contract, paths: list[str], seed: int) -> dict:
    """A copy of the document for generation: only `paths`, shallow WhereInputs."""
    doc = copy.deepcopy(contract.doc)
    doc["paths"] = {p: doc["paths"][p] for p in paths if p in doc["paths"]}
    rng = random.Random(seed)
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        if name.endswith("WhereInput") and isinstance(s.get("properties"), dict):
            keys = [k for k, v in s["properties"].items() if not _where_ref(contract, v)]
            must = [k for k in ("id", "id_in", "name", "name_contains") if k in keys]
            rest = sorted(k for k in keys if k not in must)
            keep = must + rng.sample(rest, min(WHERE_KEYS_KEPT, len(rest)))
            s["properties"] = {k: s["properties"][k] for k in keep}
            s.pop("required", None)
    for item in doc["paths"].values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for resp in (op.get("responses") or {}).values():
                hdrs = resp.get("headers") if isinstance(resp, dict) else None
                if isinstance(hdrs, dict) and "CommonHeader" in hdrs:
                    del hdrs["CommonHeader"]
    return doc


def operations_in_scope(contract, target: Target, mutations: bool, why: dict | None = None) -> list[str]:
    """The operations the suite may fuzz; `why` gets the reason for each one left out."""
    out = []
    why = {} if why is None else why
    for path, op in contract.operations.items():
        if op.content_type and op.content_type.startswith("multipart/"):
            why[path] = "multipart upload: binary bodies are not generated"
        elif "Basic" in op.security:
            why[path] = "needs another credential (HTTP Basic)"
        elif path == "/login" or path.endswith("openapi.json"):
            why[path] = "login / the document itself"
        elif is_read_only(path) or mutations:
            out.append(path)
        else:
            why[path] = ("mutation against a read-only target" if not target.safety.allow_mutations
                         else "mutation: not fuzzed against a real CloudTower")
    return sorted(out)


def sample_operations(contract, in_scope: list[str], n: int | None, seed: int) -> list[str]:
    """Core operations first, then a seeded pick spread over the families."""
    if n is None or n >= len(in_scope):
        return list(in_scope)
    rng = random.Random(seed)
    chosen = [p for p in CORE_OPERATIONS if p in in_scope][: max(1, n // 3)]
    by_family: dict[str, list[str]] = {}
    for p in in_scope:
        if p not in chosen:
            by_family.setdefault(contract.operations[p].family, []).append(p)
    for v in by_family.values():
        rng.shuffle(v)
    fams = sorted(by_family)
    while len(chosen) < n and any(by_family.values()):
        for f in fams:
            if by_family[f] and len(chosen) < n:
                chosen.append(by_family[f].pop())
    return sorted(chosen)


class SchemaSuite:
    def __init__(self, target: Target, contract, *, seed: int = 0, max_examples: int = 5,
                 max_operations: int | None = 60, time_budget: float = 120.0,
                 log: Callable[[str], None] = print, operations: list[str] | None = None):
        self.target = target
        self.contract = contract
        self.seed = seed
        self.max_examples = max_examples
        self.max_operations = max_operations
        self.time_budget = time_budget
        self.log = log
        self.operations = operations
        from mock_server.contract.validate import Validator
        self.validator = Validator(contract, strict_additional=True)
        self.result = SuiteResult("schema")

    def run(self) -> SuiteResult:
        res = self.result
        if self.time_budget < MIN_BUDGET:
            res.skipped = (f"its share of the time budget ({self.time_budget:.1f}s) is below the {MIN_BUDGET:.0f}s "
                           f"loading schemathesis takes; give a larger --time-budget")
            return res.finish()
        import schemathesis
        t = self.target
        deadline = time.monotonic() + self.time_budget
        mutations = t.safety.allow_mutations and t.is_mock
        if t.safety.allow_mutations and not t.is_mock:
            res.note("mutating operations are not fuzzed against a real CloudTower (only the stateful "
                     "and probe suites mutate, under the prefix/budget rules); schema suite is read-only here")
        in_scope = self.operations or operations_in_scope(self.contract, t, mutations, res.skipped_ops)
        paths = sample_operations(self.contract, in_scope, self.max_operations, self.seed)
        for p in in_scope:
            if p not in paths:
                res.skipped_ops[p] = f"not in this run's seeded sample of {len(paths)} (--max-operations, --seed)"
        res.note(f"{len(paths)} of {len(in_scope)} operations in scope "
                 f"({'all families, mutations isolated in a scratch namespace of the mock' if mutations else 'read-only'}); "
                 f"{self.max_examples} example(s) per operation and mode")
        self.log(f"[schema] {len(paths)} operations, {self.max_examples} examples each (positive + negative)")
        doc = narrowed_doc(self.contract, paths, self.seed)
        schema = schemathesis.openapi.from_dict(doc)
        scratch = {NAMESPACE_HEADER: f"ctm-schema-{self.seed}-{uuid.uuid4().hex[:6]}"} if mutations else {}
        for i, path in enumerate(paths):
            if time.monotonic() > deadline:
                res.note(f"time budget reached after {i} of {len(paths)} operations")
                for p in paths[i:]:
                    res.skipped_ops[p] = "time budget spent before it was reached (--time-budget)"
                break
            method = self.contract.operations[path].method.upper()
            try:
                api_op = schema[path][method]
            except KeyError:
                res.fail(path, HARNESS, "schemathesis did not load this operation")
                continue
            headers = dict(scratch) if not is_read_only(path) else {}
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                self._fuzz(api_op, path, mode, headers, deadline)
            if (i + 1) % 20 == 0:
                self.log(f"[schema]   {i + 1}/{len(paths)} operations, {res.checks} checks, "
                         f"{len(res.failures)} defect(s)")
        return res.finish()

    def _fuzz(self, api_op, path: str, mode, headers: dict, deadline: float) -> None:
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import seed as hseed
        import schemathesis
        negative = mode == schemathesis.GenerationMode.NEGATIVE
        op = self.contract.operations[path]

        class Spent(Exception):
            pass

        @hseed(self.seed)
        @settings(max_examples=self.max_examples, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), derandomize=False)
        @given(api_op.as_strategy(generation_mode=mode))
        def one(case):
            if time.monotonic() > deadline or self.result.enough():
                raise Spent()
            self._exercise(case, op, path, negative, headers)

        try:
            one()
        except Spent:
            pass
        except Exception as e:       # generation problems are the harness', not the target's
            self.result.note(f"{path} ({'negative' if negative else 'positive'}): generation stopped: "
                             f"{type(e).__name__}: {str(e)[:200]}")

    def _exercise(self, case, op, path: str, negative: bool, headers: dict) -> None:
        """Send one generated request; the Inspector checks the answer; a request invalid under
        the full contract must not be accepted."""
        res = self.result
        t = self.target
        sent = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        sent.update(headers)
        body = None if _is_not_set(case.body) else case.body
        invalid = negative and self._invalid(op, body, case)
        expect = "invalid" if invalid else None
        try:
            if isinstance(body, (bytes, bytearray)):
                r = t.post(path, auth=bool(op.security), headers=sent, raw=bytes(body), expect=expect)
            elif body is None:
                r = t.post(path, auth=bool(op.security), headers=sent, raw=b"", expect=expect)
            else:
                r = t.post(path, body, auth=bool(op.security), headers=sent, expect=expect)
        except TargetError:
            return              # recorded by the Inspector
        if invalid:
            res.check(path)
            if 200 <= r.status_code < 300:
                res.fail(path, NEGATIVE_ACCEPTED, f"HTTP {r.status_code} for a request the contract rejects: "
                                                  f"{self._why_invalid(op, body)}", t.last)

    def _why_invalid(self, op, body) -> str:
        try:
            if op.request_schema is not None and body is not None:
                self.validator.validate(op.request_schema, self.validator.coerce(op.request_schema, body))
        except Exception as e:
            return str(e)[:300]
        return "missing or invalid body or header"

    def _invalid(self, op, body, case) -> bool:
        """Is the request invalid under the *full* contract? (body, or content-language header)"""
        lang = None
        for k, v in (case.headers or {}).items():
            if k.lower() == "content-language":
                lang = v
        if lang is not None and any(p.get("name", "").lower() == "content-language" for p in op.parameters):
            allowed = set(self.contract.enum_values(
                next(p for p in op.parameters if p.get("name", "").lower() == "content-language").get("schema")))
            if allowed and lang not in allowed:
                return True
        if op.request_schema is None or (op.content_type or "").startswith("multipart/"):
            return False
        if body is None:
            return op.body_required and self.contract.resolve(op.request_schema).get("type") == "array"
        try:
            self.validator.validate(op.request_schema, self.validator.coerce(op.request_schema, body))
        except Exception:
            return True
        return False


def _is_not_set(v) -> bool:
    return type(v).__name__ == "NotSet"
