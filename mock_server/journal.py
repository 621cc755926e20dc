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


class DroppedConnection(ConnectionAbortedError):
    """Raised out of the WSGI app to make the server close the socket without answering.

    cheroot treats a socket error whose errno is in its ignore list (ECONNRESET) as a
    vanished client: it closes the connection and sends nothing."""

    def __init__(self, rule_id: str):
        super().__init__(errno.ECONNRESET, f"connection dropped by fault rule {rule_id}")


# ------------------------------------------------------------------------ journal
DEFAULT_MAX_BYTES = 64 * 1024 ** 2      # what the journal may hold (serve --journal-max)
DEFAULT_MAX_ENTRIES = 100_000
BODY_CUT = 64 * 1024                    # request and response bodies are kept up to this size
ENTRY_OVERHEAD = 700                    # bytes an entry costs beside its bodies (dict, strings; measured)


class Journal:
    """The last API requests, newest last, bounded by bytes (`max_bytes`) and by count
    (`maxlen`): the oldest are dropped first. Each entry keeps its request and response body,
    each cut at `body_cut` bytes (and marked when cut)."""

    def __init__(self, maxlen: int | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                 body_cut: int = BODY_CUT):
        self._lock = threading.Lock()
        self._entries: deque[dict] = deque()
        self._seq = itertools.count(1)
        self._max_entries = maxlen or DEFAULT_MAX_ENTRIES
        self.max_bytes = max_bytes
        self.body_cut = body_cut
        self.bytes = 0
        self.dropped = 0                    # entries dropped to stay within the bounds

    @property
    def maxlen(self) -> int:
        return self._max_entries

    def add(self, entry: dict) -> None:
        size = ENTRY_OVERHEAD + len(entry.get("path") or "") + len(entry.get("raw_body") or b"") \
            + len(entry.get("raw_response") or b"") + len(entry.get("query") or "")
        entry["_size"] = size
        with self._lock:
            entry["seq"] = next(self._seq)
            self._entries.append(entry)
            self.bytes += size
            while self._entries and (self.bytes > self.max_bytes or len(self._entries) > self._max_entries):
                old = self._entries.popleft()
                self.bytes -= old["_size"]
                self.dropped += 1

    def clear(self) -> int:
        with self._lock:
            n = len(self._entries)
            self._entries.clear()
            self.bytes = 0
            self.dropped = 0
            return n

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> dict:
        return {"entries": len(self._entries), "bytes": self.bytes, "max_bytes": self.max_bytes,
                "max_entries": self._max_entries, "body_cut": self.body_cut, "dropped": self.dropped}

    def entries(self, limit: int | None = None, operation: str | None = None, namespace: str | None = None,
                status: int | None = None, full: bool = False, since: float | None = None,
                until: float | None = None) -> list[dict]:
        """Newest last; `since`/`until` bound the wall-clock time (epoch seconds) of the request.
        Reading never changes the journal."""
        with self._lock:
            items = list(self._entries)
        if operation is not None:
            items = [e for e in items if e["operation"] == operation]
        if namespace is not None:
            items = [e for e in items if e["namespace"] == namespace]
        if status is not None:
            items = [e for e in items if e["status"] == status]
        if since is not None:
            items = [e for e in items if (e.get("time") or 0) >= since]
        if until is not None:
            items = [e for e in items if (e.get("time") or 0) <= until]
        if limit is not None:
            items = items[-limit:] if limit > 0 else []
        if full:
            return [_with_bodies(e) for e in items]
        return [{k: v for k, v in e.items() if k not in _HIDDEN} for e in items]

    def get(self, seq: int) -> dict | None:
        """One entry with its bodies, while the journal still keeps it."""
        with self._lock:
            found = next((e for e in self._entries if e["seq"] == seq), None)
        return _with_bodies(found) if found is not None else None


_HIDDEN = frozenset(("raw_body", "raw_response", "query", "_size"))


def _with_bodies(entry: dict) -> dict:
    """An entry with its bodies (kept raw on the hot path, decoded on reading). A complete JSON
    body is embedded as it came (whatever its depth); a cut or non-JSON one as text."""
    out = {k: v for k, v in entry.items() if k not in ("raw_body", "raw_response", "_size")}
    for raw_key, key, cut_key in (("raw_body", "body", "body_cut"), ("raw_response", "response_body",
                                                                       "response_cut")):
        raw = entry.get(raw_key)
        if raw is None:
            continue
        out[key] = _decode(raw, bool(entry.get(cut_key)))
    return out


def _decode(raw: bytes, cut: bool) -> Any:
    if not cut:
        try:
            value = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError:
            pass
        else:
            from .limits import too_deep
            # deeper than the JSON encoder goes: embedded as it came
            return orjson.Fragment(raw) if too_deep(value, 250) else value
    return raw.decode("utf-8", "replace")


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
    if path in (GRAPHQL_PATH, GRAPHQL_PATH + "/"):
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
        length = environ.get("CONTENT_LENGTH")
        if length:
            entry["request_bytes"] = int(length) if length.isdigit() else None
        ctype = environ.get("CONTENT_TYPE", "")
        tee = None
        if (not ctype or "json" in ctype) and "wsgi.input" in environ:
            tee = environ["wsgi.input"] = _Tee(environ["wsgi.input"], self.journal.body_cut)
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
                self._add(entry, tee)
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
            entry["request_id"] = environ.get("cloudtower_mock.request_id")
            if "json" in captured.get("ctype", ""):
                if type(result) is list:
                    chunks = result
                else:
                    chunks = list(result)
                    if hasattr(result, "close"):
                        result.close()
                    result = chunks
                data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                self._keep_response(entry, data)
                if code >= 400:
                    try:
                        err = orjson.loads(data)
                        if isinstance(err, dict) and isinstance(err.get("message"), str):
                            entry["error"] = err["message"]
                    except orjson.JSONDecodeError:
                        pass
            return result
        finally:
            entry["duration_ms"] = round((time.perf_counter() - t0) * 1000, 3)
            self._add(entry, tee)

    def _keep_response(self, entry: dict, data: bytes) -> None:
        cut = self.journal.body_cut
        entry["response_bytes"] = len(data)
        if len(data) > cut:
            entry["raw_response"] = data[:cut]
            entry["response_cut"] = True
        else:
            entry["raw_response"] = bytes(memoryview(data))   # its own size (orjson's output is 8 KiB+)

    def _add(self, entry: dict, tee: "_Tee | None") -> None:
        if tee is not None and tee.total:
            entry["raw_body"] = b"".join(tee.head)
            if tee.total > self.journal.body_cut:
                entry["body_cut"] = True
        self.journal.add(entry)


class _Tee:
    """The request body stream, keeping the first `cut` bytes the app reads for the journal."""
    __slots__ = ("stream", "cut", "head", "kept", "total")

    def __init__(self, stream, cut: int):
        self.stream, self.cut = stream, cut
        self.head: list[bytes] = []
        self.kept = self.total = 0

    def _keep(self, data: bytes) -> bytes:
        if self.kept < self.cut and data:
            part = data if self.kept + len(data) <= self.cut else data[:self.cut - self.kept]
            self.head.append(part)
            self.kept += len(part)
        self.total += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._keep(self.stream.read() if size is None or size < 0 else self.stream.read(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._keep(self.stream.readline() if size is None or size < 0 else self.stream.readline(size))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return [self._keep(line) for line in self.stream.readlines(hint)]

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        close = getattr(self.stream, "close", None)
        if close is not None:
            close()


def _reason(status: int) -> str:
    from http import HTTPStatus
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
