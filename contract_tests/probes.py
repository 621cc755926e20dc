"""The probe suite: deterministic checks of every fault family, run first, within its budget.

* auth: every secured read operation (and, when mutations are allowed, a few mutations aimed
  at nothing) without a token, with a bogus token, with an expired one (the login token with
  `exp` moved into the past, or `--expired-token`) and with a tampered signature: each must
  answer 401 with an ErrorBody;
* invalid requests: unknown where keys, wrong types, unknown top-level keys, unknown orderBy,
  a body that is not JSON or not an object, mutations missing their required fields: each
  must get a 4xx ErrorBody;
* query: every where-operator family and every pagination / ordering argument (probe_query),
  list and count against the query engine on the target's data;
* lifecycle (when mutations are allowed): tasks end, end SUCCESSED only when the change
  happened, leave no entityAsyncStatus; updates and deletes take effect; snapshots' LUN
  snapshot references resolve (probe_lifecycle).

Every answer also goes through the Inspector (schema, content type, request id, 5xx).
"""

from __future__ import annotations

import base64
import json
import random
import time
from typing import Callable

from .report import AUTH, HARNESS, NEGATIVE_ACCEPTED, SuiteResult
from .target import Target, TargetError, is_read_only

NO_SUCH_ID = "cnosuchid000000000000000000"
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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def expired_token(token: str) -> str:
    """The login token with its expiry moved an hour into the past (signature kept), or a JWT
    of the same shape when the token is not one."""
    now = int(time.time())
    header, payload = {"alg": "HS256", "typ": "JWT"}, {}
    sig = _b64(b"ctm-expired-signature-000000000")
    parts = token.split(".")
    if len(parts) == 3:
        try:
            header = json.loads(_unb64(parts[0]))
            payload = json.loads(_unb64(parts[1]))
            sig = parts[2]
        except (ValueError, TypeError):
            pass
    if not isinstance(payload, dict):
        payload = {}
    payload = dict(payload, iat=now - 7200, exp=now - 3600)
    return ".".join([_b64(json.dumps(header, separators=(",", ":")).encode()),
                     _b64(json.dumps(payload, separators=(",", ":")).encode()), sig])


def tampered_token(token: str) -> str:
    """The login token with one character of its signature changed. Not the last character:
    in base64url its low bits may be padding, and the signature would decode the same."""
    if len(token) < 12:
        return token + "x"
    i = len(token) - 8
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


PART_SHARE = {"reads": 0.2, "auth": 0.1, "invalid": 0.05, "query": 0.4, "lifecycle": 0.25}


def breadth_first(bodies: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """One body of each family, then a second of each, ...: a short budget still tries every family."""
    groups: dict[str, list] = {}
    for fam, body in bodies:
        groups.setdefault(fam, []).append((fam, body))
    out = []
    while any(groups.values()):
        for fam in list(groups):
            if groups[fam]:
                out.append(groups[fam].pop(0))
    return out


class ProbeSuite:
    def __init__(self, target: Target, contract, *, seed: int = 0, resources: tuple[str, ...] = (),
                 time_budget: float = 60.0, log: Callable[[str], None] = print, expired: str | None = None,
                 parts: tuple[str, ...] = ("reads", "auth", "invalid", "query", "lifecycle"),
                 task_timeout: float = 30.0):
        self.task_timeout = task_timeout
        self.target = target
        self.contract = contract
        self.seed = seed
        self.resources = [r for r in resources if r in contract.resources and contract.resources[r].list_path]
        self.time_budget = time_budget
        self.log = log
        self.expired = expired
        self.parts = parts
        self.result = SuiteResult("probe")
        self.deadline = self.result.started + time_budget
        self.part_deadline = self.deadline

    def left(self) -> float:
        """Seconds left for the running part (its share of the suite's budget)."""
        return min(self.deadline, self.part_deadline) - time.monotonic()

    def run(self) -> SuiteResult:
        res = self.result
        steps = [("reads", self.reads), ("auth", self.auth), ("invalid", self.invalid),
                 ("query", self.query), ("lifecycle", self.lifecycle)]
        steps = [(n, fn) for n, fn in steps if n in self.parts]
        for i, (name, fn) in enumerate(steps):
            # each part gets its share of what is left; what a part leaves unused goes to the next
            rest = sum(PART_SHARE[n] for n, _ in steps[i:])
            self.part_deadline = time.monotonic() + (self.deadline - time.monotonic()) * PART_SHARE[name] / rest
            if self.left() <= 0 or res.enough():
                res.note(f"{name} probes not run: time budget spent or --max-defects reached")
                continue
            t0 = time.monotonic()
            try:
                fn()
            except Exception as e:
                import traceback
                res.fail(f"probe:{name}", HARNESS, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")
            self.log(f"[probe] {name}: {time.monotonic() - t0:.1f}s, {len(res.failures)} defect(s) so far")
        return res.finish()

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

    # ------------------------------------------------------------------------- auth
    def secured_reads(self) -> list[str]:
        ops = []
        for path, op in sorted(self.contract.operations.items()):
            if op.method == "post" and op.security and "Basic" not in op.security and is_read_only(path) \
                    and not (op.content_type or "").startswith("multipart/"):
                ops.append(path)
        first = [self.contract.resources[m].list_path for m in self.resources]
        return first + [p for p in ops if p not in first]

    def auth(self) -> None:
        t = self.target
        token = t.token or ""
        variants = [("no token", None, None), ("a bogus token", "not-a-token", None),
                    ("an expired token", self.expired or expired_token(token),
                     "<an expired token: the login token with its exp claim in the past>"),
                    ("a token with a tampered signature", tampered_token(token),
                     "<the login token with one character of its signature changed>")]
        ops = self.secured_reads()
        core = set(ops[: len(self.resources)]) | {self.contract.resources[m].connection_path for m in self.resources}
        muts = []
        if t.safety.allow_mutations:
            muts = [p for p in ("/delete-vm", "/start-vm", "/delete-label") if p in self.contract.operations]
        budget_end = time.monotonic() + self.left()
        done = 0
        for path in ops + muts:
            if time.monotonic() > budget_end or self.result.enough():
                self.result.note(f"auth probes: {done} of {len(ops) + len(muts)} operations before the "
                                 f"{'budget' if not self.result.enough() else '--max-defects'}")
                break
            body = {} if path in ops else {"where": {"id": NO_SUCH_ID}}
            # every variant on the resources' operations and mutations; two, in turn, elsewhere
            use = variants if path in core or path in muts else \
                [variants[done % 4], variants[(done + 1) % 4]]
            for label, tok, shown in use:
                self.result.check(path)
                hdr = {} if tok is None else {"Authorization": tok}
                try:
                    r = t.post(path, body, auth=False, headers=hdr, expect="unauthenticated", auth_label=shown)
                except TargetError:
                    break
                if r.status_code != 401 and r.status_code < 500:
                    self.result.fail(path, AUTH, f"HTTP {r.status_code} for a request with {label}", t.last)
            done += 1

    # ---------------------------------------------------------------------- invalid
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

    # ------------------------------------------------------------------------ query
    def query(self) -> None:
        from .probe_query import count_bodies, page_bodies, where_bodies
        from .query_suite import QuerySuite
        q = QuerySuite(self.target, self.contract, seed=self.seed, resources=tuple(self.resources),
                       time_budget=self.left(), log=lambda s: None)
        q.result = self.result
        if not q.load():
            self.result.note("query probes: no listable resource")
            return
        rng = random.Random(self.seed)
        qs = self.contract.query_schema
        plans = {}
        for m in q.resources:
            wb = where_bodies(qs, q.dataset, m, rng)
            plans[m] = breadth_first(page_bodies(self.contract, q.dataset, m, rng) + wb
                                     + count_bodies(q.dataset, m, wb))
        total = sum(map(len, plans.values()))
        sent = 0
        # round-robin over the resources, so a short budget still probes each of them
        queues = {m: list(p) for m, p in plans.items()}
        while any(queues.values()):
            for m in list(queues):
                if not queues[m]:
                    continue
                if self.left() <= 0 or self.result.enough():
                    self.result.note(f"query probes: {sent} of {total} bodies before the time budget "
                                     f"or --max-defects")
                    return
                fam, body = queues[m].pop(0)
                q.compare(m, body, fam)
                sent += 1
        self.result.note(f"query probes: {total} bodies over {', '.join(plans)}")

    # -------------------------------------------------------------------- lifecycle
    def lifecycle(self) -> None:
        from .probe_lifecycle import Lifecycle
        t = self.target
        if not t.safety.allow_mutations:
            self.result.note("lifecycle probes skipped: read-only target (mutations need --allow-mutations)")
            from .probe_lifecycle import check_seeded_snapshots
            check_seeded_snapshots(t, self.result)
            return
        from .probe_lifecycle import check_seeded_snapshots
        check_seeded_snapshots(t, self.result)
        Lifecycle(t, self.contract, self.result, min(self.deadline, self.part_deadline), self.log,
                  self.task_timeout).run()
