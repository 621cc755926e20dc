"""The request journal and the fault rules, applied by a WSGI middleware.

Only API traffic is journaled and subject to faults: REST calls under `/v2/api/` and
GraphQL calls on `/api` (the admin API `/_mock/` and `/api/healthz` are not).

Fault kinds (HTTP level; `task_failure` rules live in the task engine, see admin/faults.py):

* ``latency`` - sleep ``ms`` (or a draw from ``distribution``) before the request is served.
  The sleep happens in the middleware, before the app runs, so no store lock is held.
* ``error`` - answer ``status`` with ``body`` (JSON) instead of serving the request.
* ``drop`` - close the connection without any response. Under cheroot (the server of
  ``cloudtower-mock serve`` and of the pytest plugin) the client sees the connection
  closed before a status line: ``requests`` raises ``ConnectionError``
  (``RemoteDisconnected``), urllib3 retries idempotent methods first if configured to.
  Under another WSGI server the ``DroppedConnection`` exception propagates to it.

Scope: ``operation`` (an operation name such as ``get-vms``, or ``graphql``), ``global``
(every API request) or ``header`` (only requests that name the rule's id in
``X-Mock-Fault``; several ids may be given, comma separated). Every rule may carry
``times``: after that many applications it stops matching (and is listed as spent).
"""

from __future__ import annotations

import errno
import itertools
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

API_PREFIX = "/v2/api/"
GRAPHQL_PATH = "/api"
FAULT_HEADER = "HTTP_X_MOCK_FAULT"
NAMESPACE_ENV = "HTTP_X_MOCK_NAMESPACE"
HTTP_KINDS = ("latency", "error", "drop")
STOPPING_ENV = "cloudtower_mock.stopping"   # see server.py (not imported: no cycle needed)
BODY_KEEP_LIMIT = 64 * 1024        # request bodies larger than this are not kept in the journal


class DroppedConnection(ConnectionAbortedError):
    """Raised out of the WSGI app to make the server close the socket without answering.

    cheroot treats a socket error whose errno is in its ignore list (ECONNRESET) as a
    vanished client: it closes the connection and sends nothing."""

    def __init__(self, rule_id: str):
        super().__init__(errno.ECONNRESET, f"connection dropped by fault rule {rule_id}")


# ------------------------------------------------------------------------ journal
class Journal:
    """A ring buffer of the last `maxlen` API requests."""

    def __init__(self, maxlen: int = 1000):
        self._lock = threading.Lock()
        self._entries: deque[dict] = deque(maxlen=maxlen)
        self._seq = itertools.count(1)
        self.dropped = 0                   # entries pushed out since the last clear

    @property
    def maxlen(self) -> int:
        return self._entries.maxlen or 0

    def add(self, entry: dict) -> None:
        with self._lock:
            entry["seq"] = next(self._seq)
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
            self._entries.append(entry)

    def clear(self) -> int:
        with self._lock:
            n = len(self._entries)
            self._entries.clear()
            self.dropped = 0
            return n

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self, limit: int | None = None, operation: str | None = None, namespace: str | None = None,
                status: int | None = None, full: bool = False) -> list[dict]:
        """Newest last. Reading never changes the journal."""
        with self._lock:
            items = list(self._entries)
        if operation is not None:
            items = [e for e in items if e["operation"] == operation]
        if namespace is not None:
            items = [e for e in items if e["namespace"] == namespace]
        if status is not None:
            items = [e for e in items if e["status"] == status]
        if limit is not None:
            items = items[-limit:] if limit > 0 else []
        if full:
            return [_with_body(e) for e in items]
        return [{k: v for k, v in e.items() if k not in ("raw_body", "query")} for e in items]


def _with_body(entry: dict) -> dict:
    """An entry with its request body decoded (kept raw on the hot path, parsed on reading)."""
    out = {k: v for k, v in entry.items() if k != "raw_body"}
    raw = entry.get("raw_body")
    if raw is not None:
        try:
            out["body"] = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError:
            out["body"] = raw[:2000].decode("utf-8", "replace")
    return out


# ------------------------------------------------------------------------- faults
@dataclass
class FaultRule:
    id: str
    kind: str
    scope: str                              # operation | global | header
    operation: str | None = None
    ms: float | None = None
    distribution: dict | None = None
    status: int | None = None
    body: Any = None
    times: int | None = None
    hits: int = 0
    created: float = field(default_factory=time.time)

    def public(self) -> dict:
        out = {"id": self.id, "kind": self.kind, "scope": self.scope, "operation": self.operation,
               "times": self.times, "hits": self.hits,
               "spent": self.times is not None and self.hits >= self.times}
        if self.kind == "latency":
            out["ms"] = self.ms
            out["distribution"] = self.distribution
        elif self.kind == "error":
            out["status"] = self.status
            out["body"] = self.body
        return out

    def delay(self, rng: random.Random) -> float:
        if self.distribution is None:
            return (self.ms or 0) / 1000.0
        d = self.distribution
        if d["type"] == "uniform":
            ms = rng.uniform(d["min_ms"], d["max_ms"])
        else:
            ms = rng.gauss(d["mean_ms"], d["stddev_ms"])
        return max(0.0, ms) / 1000.0


class FaultError(ValueError):
    """Bad fault rule input (the admin API answers 400 with the message)."""


def _number(value: Any, what: str, minimum: float = 0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultError(f"{what} must be a number, got {value!r}")
    if value < minimum:
        raise FaultError(f"{what} must be >= {minimum}, got {value}")
    return float(value)


def parse_rule(spec: Any, operations: set[str] | None = None) -> dict:
    """Validate an HTTP-level rule (latency / error / drop); return normalised fields.
    Raises FaultError naming the first problem. Nothing is changed."""
    if not isinstance(spec, dict):
        raise FaultError("a fault rule must be a JSON object")
    kind = spec.get("kind")
    if kind not in HTTP_KINDS:
        raise FaultError(f"kind must be one of latency, error, drop, task_failure; got {kind!r}")
    common = {"kind", "scope", "operation", "times", "namespace", "id"}
    allowed = common | {"latency": {"ms", "distribution"}, "error": {"status", "body"}, "drop": set()}[kind]
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise FaultError(f"unknown key(s) for a {kind} rule: {', '.join(unknown)}")
    out: dict[str, Any] = {"kind": kind}
    op = spec.get("operation")
    scope = spec.get("scope")
    if scope is None:
        scope = "operation" if op is not None else "global"
    if scope not in ("operation", "global", "header"):
        raise FaultError(f"scope must be operation, global or header; got {scope!r}")
    if op is not None:
        if not isinstance(op, str) or not op:
            raise FaultError("operation must be a non-empty string such as 'get-vms'")
        op = op.strip("/")
        if operations is not None and op not in operations and op != "graphql":
            raise FaultError(f"operation '{op}' does not exist in the loaded contract")
    if scope == "operation" and op is None:
        raise FaultError("scope 'operation' needs an operation")
    out["scope"], out["operation"] = scope, op
    times = spec.get("times")
    if times is not None:
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise FaultError(f"times must be a positive integer, got {times!r}")
    out["times"] = times
    if kind == "latency":
        ms, dist = spec.get("ms"), spec.get("distribution")
        if (ms is None) == (dist is None):
            raise FaultError("a latency rule needs exactly one of ms or distribution")
        if ms is not None:
            out["ms"] = _number(ms, "ms")
            if out["ms"] > 600_000:
                raise FaultError("ms must be at most 600000")
        else:
            out["distribution"] = _distribution(dist)
    elif kind == "error":
        status = spec.get("status", 500)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise FaultError(f"status must be an integer within 400 .. 599, got {status!r}")
        out["status"] = status
        out["body"] = spec.get("body")
    return out


def _distribution(d: Any) -> dict:
    if not isinstance(d, dict):
        raise FaultError("distribution must be an object like {\"type\": \"uniform\", \"min_ms\": 10, \"max_ms\": 50}")
    t = d.get("type")
    if t == "uniform":
        keys = {"min_ms": ("min_ms", "min"), "max_ms": ("max_ms", "max")}
    elif t == "normal":
        keys = {"mean_ms": ("mean_ms", "mean"), "stddev_ms": ("stddev_ms", "stddev", "sd")}
    else:
        raise FaultError(f"distribution.type must be uniform or normal, got {t!r}")
    out: dict[str, Any] = {"type": t}
    known = {"type"}
    for name, aliases in keys.items():
        known.update(aliases)
        value = next((d[a] for a in aliases if a in d), None)
        if value is None:
            raise FaultError(f"a {t} distribution needs {name}")
        out[name] = _number(value, f"distribution.{name}")
    unknown = sorted(set(d) - known)
    if unknown:
        raise FaultError(f"unknown distribution key(s): {', '.join(unknown)}")
    if t == "uniform" and out["min_ms"] > out["max_ms"]:
        raise FaultError("distribution.min_ms must not exceed max_ms")
    return out


class FaultRules:
    """The HTTP-level rules, in creation order."""

    def __init__(self, seed: int | None = None):
        self._lock = threading.Lock()
        self._rules: dict[str, FaultRule] = {}
        self._ids = itertools.count(1)
        self.rng = random.Random(seed)

    def new_id(self) -> str:
        with self._lock:
            return f"fault-{next(self._ids)}"

    def add(self, parsed: dict, rule_id: str | None = None) -> FaultRule:
        rule = FaultRule(id=rule_id or self.new_id(), **parsed)
        with self._lock:
            self._rules[rule.id] = rule
        return rule

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            return self._rules.pop(rule_id, None) is not None

    def clear(self) -> int:
        with self._lock:
            n = len(self._rules)
            self._rules.clear()
            return n

    def list(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules.values())

    def get(self, rule_id: str) -> FaultRule | None:
        return self._rules.get(rule_id)

    def match(self, operation: str, named: set[str]) -> tuple[float, FaultRule | None, list[str]]:
        """(total delay in seconds, the terminating rule or None, ids of the rules applied).
        Counts a hit on each rule applied."""
        delay = 0.0
        terminal = None
        applied: list[str] = []
        if not self._rules:
            return delay, terminal, applied
        with self._lock:
            for rule in self._rules.values():
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                if rule.scope == "header":
                    if rule.id not in named or (rule.operation and rule.operation != operation):
                        continue
                elif rule.scope == "operation":
                    if rule.operation != operation:
                        continue
                if rule.kind == "latency":
                    delay += rule.delay(self.rng)
                elif terminal is None:
                    terminal = rule
                else:
                    continue
                rule.hits += 1
                applied.append(rule.id)
        return delay, terminal, applied


# --------------------------------------------------------------------- middleware
def _operation_of(path: str) -> str | None:
    if path.startswith(API_PREFIX):
        return path[len(API_PREFIX):]
    if path == GRAPHQL_PATH:
        return "graphql"
    return None


class JournalMiddleware:
    """WSGI middleware: applies fault rules to API requests and journals them."""

    def __init__(self, app, journal: Journal, faults: FaultRules, clock=None):
        self.app = app
        self.journal = journal
        self.faults = faults
        self.clock = clock

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        operation = _operation_of(path)
        if operation is None:
            return self.app(environ, start_response)
        t0 = time.perf_counter()
        entry: dict[str, Any] = {
            "time": time.time(), "clock": self.clock.now() if self.clock is not None else None,
            "method": environ.get("REQUEST_METHOD"), "path": path, "operation": operation,
            "namespace": environ.get(NAMESPACE_ENV) or "default", "status": None, "duration_ms": None,
            "error": None, "faults": [],
        }
        raw = self._keep_body(environ)
        if raw is not None:
            entry["raw_body"] = raw
        if environ.get("QUERY_STRING"):
            entry["query"] = environ["QUERY_STRING"]
        named = {s.strip() for s in environ.get(FAULT_HEADER, "").split(",") if s.strip()}
        delay, terminal, applied = self.faults.match(operation, named)
        entry["faults"] = applied
        if delay > 0:                         # no lock is held here
            stopping = environ.get(STOPPING_ENV)
            if stopping is None:
                time.sleep(delay)
            elif stopping.wait(delay):        # the server stops: cut the request, answer nothing
                entry["error"] = "cut: the server stopped during an injected delay"
                entry["duration_ms"] = round((time.perf_counter() - t0) * 1000, 3)
                self.journal.add(entry)
                raise ConnectionAbortedError(errno.ECONNRESET, "cut: the server is stopping")
        try:
            if terminal is not None and terminal.kind == "drop":
                entry["status"] = None
                entry["error"] = f"connection dropped by fault rule {terminal.id}"
                raise DroppedConnection(terminal.id)
            if terminal is not None and terminal.kind == "error":
                payload = terminal.body if terminal.body is not None else {
                    "message": f"Injected fault {terminal.id}", "status": terminal.status,
                    "path": "/" + operation}
                data = orjson.dumps(payload)
                entry["status"] = terminal.status
                entry["error"] = f"injected by fault rule {terminal.id}"
                start_response(f"{terminal.status} {_reason(terminal.status)}",
                               [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                ("x-tower-request-id", f"fault-{terminal.id}")])
                return [data]
            captured: dict[str, Any] = {}

            def _start(status, headers, exc_info=None):
                captured["status"] = status
                captured["ctype"] = next((v for k, v in headers if k.lower() == "content-type"), "")
                return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

            result = self.app(environ, _start)
            code = int(str(captured.get("status", "500")).split(" ", 1)[0])
            entry["status"] = code
            if code >= 400 and "json" in captured.get("ctype", ""):
                chunks = list(result)
                if hasattr(result, "close"):
                    result.close()
                result = chunks
                try:
                    err = orjson.loads(b"".join(chunks))
                    if isinstance(err, dict) and isinstance(err.get("message"), str):
                        entry["error"] = err["message"]
                except orjson.JSONDecodeError:
                    pass
            return result
        finally:
            entry["duration_ms"] = round((time.perf_counter() - t0) * 1000, 3)
            self.journal.add(entry)

    @staticmethod
    def _keep_body(environ) -> bytes | None:
        """Read (and put back) a JSON request body so that the journal can keep it (raw)."""
        ctype = environ.get("CONTENT_TYPE", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if length <= 0 or length > BODY_KEEP_LIMIT or "json" not in ctype:
            return None
        import io
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        return raw


def _reason(status: int) -> str:
    from http import HTTPStatus
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
