"""Results of the suites (defects, checks, requests and coverage per operation) and the console
summary; `render` writes them as JUnit XML, Markdown and HTML."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

# Defect kinds (the names reports use).
SERVER_ERROR = "server error (5xx)"
RESPONSE_SCHEMA = "response does not match the schema"
STATUS_CODE = "undeclared status code"
CONTENT_TYPE = "wrong content type"
RESPONSE_HEADERS = "response headers do not match the contract"
REQUEST_ID = "missing x-tower-request-id header"
NEGATIVE_ACCEPTED = "invalid request accepted (expected 4xx)"
POSITIVE_REJECTED = "valid request rejected"
AUTH = "authentication not enforced (expected 401)"
ERROR_BODY = "error answer is not an ErrorBody"
QUERY_IDS = "query answer differs from the model (ids/order)"
QUERY_COUNT = "wrong count from the -connection query"
QUERY_ERROR = "query argument error handled differently"
PAGINATION = "cursor pagination does not rebuild the full list"
INVARIANT = "state invariant broken"
TASK = "task did not behave as the contract says"
TRANSPORT = "request failed (transport)"
HARNESS = "harness error"
DRIFT = "targets differ"
CLIENT_CONTRACT = "client request broke the contract"
CLIENT_TASK = "task started and never awaited"
CLIENT_FAILED = "client command failed"
CLIENT_INVALID = "client sent an invalid request"
HTTP_ERROR = "valid request answered with an HTTP error (4xx)"
FILTER = "where filter answer differs from the model"
ORDERING = "ordering / pagination answer differs from the model"
TASK_NEVER_ENDS = "task never finished"
TASK_FALSE_SUCCESS = "task reported success for a change that failed"
ASYNC_LEFT = "entityAsyncStatus left set after the task ended"
DELETE_NOOP = "delete reported done but the resource remains"
EFFECT = "change reported done but not applied"
SNAPSHOT_REF = "snapshot reference does not resolve"


@dataclass
class Failure:
    suite: str
    operation: str
    kind: str
    message: str
    count: int = 1
    request: str | None = None       # the request that showed it, as a curl line (token masked)
    status: int | None = None        # the HTTP status of that answer (None: no answer)


@dataclass
class SuiteResult:
    name: str
    started: float = field(default_factory=time.monotonic)
    duration: float = 0.0
    checks: int = 0
    per_operation: dict[str, int] = field(default_factory=dict)    # checks per operation
    requests: dict[str, int] = field(default_factory=dict)         # requests sent per operation
    skipped_ops: dict[str, str] = field(default_factory=dict)      # operation -> why not exercised
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None          # why the suite did not run
    sections: list[tuple[str, list[str]]] = field(default_factory=list)   # extra report sections
    max_defects: int = 0                # stop generating once this many defects are known (0: never)

    def enough(self) -> bool:
        """True once the suite found --max-defects defects: its loops stop."""
        return bool(self.max_defects) and len(self.failures) >= self.max_defects

    def check(self, operation: str, n: int = 1) -> None:
        self.checks += n
        self.per_operation[operation] = self.per_operation.get(operation, 0) + n

    def sent(self, operation: str) -> None:
        self.requests[operation] = self.requests.get(operation, 0) + 1

    def fail(self, operation: str, kind: str, message: str, exchange=None) -> Failure:
        """Record a defect; repeats of the same (operation, kind) are counted, not listed.
        `exchange` (an Exchange) is the request that showed it; its curl line goes in the report."""
        for f in self.failures:
            if f.operation == operation and f.kind == kind:
                f.count += 1
                if f.request is None and exchange is not None:
                    f.request, f.status = exchange.curl(), exchange.status
                return f
        f = Failure(self.name, operation, kind, message.strip())
        if exchange is not None:
            f.request, f.status = exchange.curl(), exchange.status
        self.failures.append(f)
        self.per_operation.setdefault(operation, 0)
        return f

    def note(self, text: str) -> None:
        self.notes.append(text)

    def finish(self) -> "SuiteResult":
        self.duration = time.monotonic() - self.started
        return self

    @property
    def ok(self) -> bool:
        return not self.failures


def summary_lines(results: list[SuiteResult]) -> list[str]:
    lines = ["", "Summary"]
    for r in results:
        if r.skipped:
            lines.append(f"  {r.name:<9} skipped: {r.skipped}")
            continue
        state = "ok" if r.ok else f"{len(r.failures)} defect(s)"
        lines.append(f"  {r.name:<9} {sum(r.requests.values())} requests, {r.checks} checks over "
                     f"{len(r.per_operation)} operation(s), {state}, {r.duration:.1f}s")
        for f in r.failures:
            times = f" (x{f.count})" if f.count > 1 else ""
            lines.append(f"    FAIL {f.operation}: {f.kind}{times}: {one_line(f.message, 400)}")
            if f.request:
                lines.append(f"         {f.request}")
    total = sum(len(r.failures) for r in results)
    lines.append(f"  => {'PASSED' if total == 0 else f'FAILED: {total} defect(s)'}")
    return lines


def one_line(text: str, limit: int) -> str:
    s = " ".join(text.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def coverage(results: list[SuiteResult], all_operations=()) -> tuple[list[str], list[tuple[str, dict[str, int]]],
                                                                    dict[str, list[str]]]:
    """(suite names, [(operation, {suite: requests})], {operation: [why not exercised, per suite]}).
    An operation of `all_operations` no suite sent nor gave a reason for is listed too."""
    names = [r.name for r in results]
    ops: dict[str, dict[str, int]] = {}
    for r in results:
        for op, n in r.requests.items():
            ops.setdefault(op, {})[r.name] = n
    skipped: dict[str, list[str]] = {}
    for r in results:
        for op, why in r.skipped_ops.items():
            if op not in ops:
                skipped.setdefault(op, []).append(f"{r.name}: {why}")
    for op in all_operations:
        if op not in ops and op not in skipped:
            skipped[op] = [f"no suite of this run exercises it (suites: {', '.join(names)})"]
    return names, sorted(ops.items()), dict(sorted(skipped.items()))
