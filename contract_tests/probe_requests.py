"""Request probes: every read operation once, an unknown operation, bodies no schema accepts
(for reads: unknown where keys, wrong types, unknown top-level keys, unknown orderBy, a body
that is not JSON or not an object; for mutations: missing required fields or unknown keys):
each answer goes through the Inspector, and an invalid request must get a 4xx ErrorBody."""

from __future__ import annotations

import json
import random
import time

from .report import NEGATIVE_ACCEPTED
from .target import TargetError, is_read_only

INVALID_READS = (
    ("an unknown where key", {"where": {"no_such_field_xyz": 1}}),
    ("an unknown top-level key", {"colour": "blue"}),
    ("a wrong type for first", {"first": "ten"}),
    ("a wrong type for an id filter", {"where": {"id": 5}}),
    ("an unknown orderBy value", {"orderBy": "no_such_field_ASC"}),
    ("where as a list", {"where": []}),
)
INVALID_RAW = (("a body that is not JSON", b"{not json"), ("a JSON array where an object is expected", b"[]"))
INVALID_MUTATIONS = ("create-vm", "delete-vm", "start-vm", "update-vm-basic-info", "create-vm-snapshot",
                     "create-label", "delete-label", "create-vm-folder", "delete-iscsi-lun-snapshot")


class RequestProbes:
    """The reads and invalid parts of the ProbeSuite (needs its target, contract, resources,
    seed, result, left and secured_reads)."""

    def rejects(self, path: str, body) -> bool:
        """Does the contract reject this body (after GraphQL input coercion)?"""
        from mock_server.contract.validate import ValidationError, Validator
        if not hasattr(self, "_strict"):
            self._strict = Validator(self.contract, strict_additional=True)
        op = self.contract.operations[path]
        if op.request_schema is None:
            return False
        try:
            self._strict.validate(op.request_schema, self._strict.coerce(op.request_schema, body))
        except ValidationError:
            return True
        return False

    # ------------------------------------------------------------------------ reads
    def reads(self) -> None:
        """Every read operation once (lists `{"first": 3}`, counts and the rest `{}`), an unknown
        operation, and, on the mock or with mutations allowed, every mutation with a body no
        schema accepts: each answer goes through the Inspector (5xx, schema, content type,
        request id, ErrorBody); an invalid mutation must not be accepted."""
        t, res = self.target, self.result
        ops = self.secured_reads()
        head, rest = ops[: 2 * len(self.resources)], ops[2 * len(self.resources):]
        random.Random(self.seed).shuffle(rest)       # a short budget covers another part per seed
        ops = head + rest
        end = time.monotonic() + self.left() * 0.6
        done = 0
        for path in ops:
            if time.monotonic() > end or res.enough():
                break
            fam = self.contract.operations[path].family
            try:
                t.post(path, {"first": 3} if fam == "list" else {})
            except TargetError:
                pass
            done += 1
        for path in ops[done:]:
            res.skipped_ops.setdefault(path, "probe reads: time budget")
        try:
            t.post("get-no-such-operation-ctm", {}, expect="invalid")
        except TargetError:
            pass
        if not (t.safety.allow_mutations and t.is_mock):
            return
        scratch = {"X-Mock-Namespace": f"ctm-probe-{self.seed}"}
        muts = [p for p, op in sorted(self.contract.operations.items())
                if not is_read_only(p) and op.method == "post" and op.security and "Basic" not in op.security
                and not (op.content_type or "").startswith("multipart/") and p != "/login"]
        random.Random(self.seed).shuffle(muts)
        end = time.monotonic() + self.left()
        for path in muts:
            if time.monotonic() > end or res.enough():
                res.note(f"probe reads: invalid mutations stopped by the time budget at {path}")
                break
            if not self.rejects(path, {"ctm_no_such_key": 1}):
                continue            # an open schema with nothing required accepts it
            res.check(path)
            try:
                r = t.post(path, {"ctm_no_such_key": 1}, headers=scratch, expect="invalid")
            except TargetError:
                continue
            if r.status_code < 300:
                res.fail(path, NEGATIVE_ACCEPTED, f"HTTP {r.status_code} for a body no schema accepts "
                                                  f'({{"ctm_no_such_key": 1}})', t.last)

    def invalid(self) -> None:
        t = self.target
        res = self.result
        lists = [self.contract.resources[m].list_path for m in self.resources]
        conns = [self.contract.resources[m].connection_path for m in self.resources
                 if self.contract.resources[m].connection_path]
        cases: list[tuple[str, str, object, bytes | None]] = []
        for path in lists + conns:
            cases += [(path, label, body, None) for label, body in INVALID_READS]
            cases += [(path, label, None, raw) for label, raw in INVALID_RAW]
        if t.safety.allow_mutations:
            for name in INVALID_MUTATIONS:
                if "/" + name in self.contract.operations and self.rejects("/" + name, {"no_such_key": 1}):
                    cases.append(("/" + name, "a body missing its required fields", {"no_such_key": 1}, None))
        for path, label, body, raw in cases:
            if self.left() <= 0 or res.enough():
                res.note("invalid-request probes cut short by the time budget or --max-defects")
                break
            res.check(path)
            try:
                r = t.post(path, body, raw=raw, expect="invalid")
            except TargetError:
                continue
            if r.status_code < 300:
                res.fail(path, NEGATIVE_ACCEPTED, f"HTTP {r.status_code} for {label}: "
                                                  f"{(raw or json.dumps(body).encode()).decode()}", t.last)
