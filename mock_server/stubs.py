"""Stubbed answers: "when a request looks like this, answer that".

A stub matches on the operation and, optionally, on a JSON subset of the request body, on
request headers and on the namespace; it answers a status, headers and a JSON body (checked
against the contract when it is added, unless `unchecked`; a string body with a non-JSON
Content-Type goes out as that text), optionally after a delay. A stub
with only a delay lets the world answer after waiting.

Matching order: the lowest `priority` number first (1 before 5, the default); among equal
priorities the newest stub first. A stub with `times` stops matching after that many answers.

`stub_hook` applies them to `/v2/api/*` requests as a `before` hook of the dispatcher (after
routing, before authentication and validation); with no stub defined it costs one truth test
per request.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

DEFAULT_PRIORITY = 5
BODY_LIMIT = 1024 * 1024           # bodies larger than this never match a body pattern


# --------------------------------------------------------------------- matching
def json_subset(pattern: Any, value: Any) -> bool:
    """Does `value` contain `pattern`? Objects: every key of the pattern is present with a
    matching value (extra keys are fine). Arrays: every item of the pattern matches some item
    of the value, in any order. An object pattern against an array value matches when one item
    of the array matches (`{"name": "a"}` finds the VM in `[{"name": "a", ...}]`). Scalars:
    equal (true is not 1)."""
    if isinstance(pattern, dict):
        if isinstance(value, dict):
            return all(k in value and json_subset(v, value[k]) for k, v in pattern.items())
        if isinstance(value, list):
            return any(json_subset(pattern, item) for item in value)
        return False
    if isinstance(pattern, list):
        if not isinstance(value, list):
            return False
        return all(any(json_subset(p, item) for item in value) for p in pattern)
    if isinstance(pattern, bool) or isinstance(value, bool):
        return pattern is value
    return pattern == value


@dataclass
class Stub:
    id: str
    operation: str
    body: Any = None                         # JSON subset of the request body (None: any)
    headers: dict[str, str] = field(default_factory=dict)    # lower-case name -> value
    namespace: str | None = None             # None: every namespace
    priority: int = DEFAULT_PRIORITY
    times: int | None = None
    status: int | None = None                # None: only delay, then the world answers
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: Any = None
    has_body: bool = False
    delay_ms: float = 0.0
    unchecked: bool = False
    hits: int = 0
    seq: int = 0

    def public(self) -> dict:
        response: dict[str, Any] = {"status": self.status, "headers": self.response_headers,
                                    "delay_ms": self.delay_ms}
        if self.has_body:
            response["body"] = self.response_body
        return {"id": self.id, "operation": self.operation, "body": self.body,
                "headers": self.headers, "namespace": self.namespace, "priority": self.priority,
                "times": self.times, "hits": self.hits,
                "spent": self.times is not None and self.hits >= self.times,
                "response": response, "unchecked": self.unchecked}

    def matches(self, operation: str, namespace: str, header, body_of) -> bool:
        if self.operation != operation:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        if self.namespace is not None and self.namespace != namespace:
            return False
        for name, value in self.headers.items():
            if header(name) != value:
                return False
        if self.body is not None:
            ok, body = body_of()
            if not ok or not json_subset(self.body, body):
                return False
        return True

    def answer(self, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        if self.has_body:
            payload = self.response_body
        else:
            payload = {"message": f"Stubbed answer of {self.id}", "status": self.status, "path": path}
        headers = dict(self.response_headers)
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        if ctype is None:
            headers["Content-Type"] = ctype = "application/json"
        if isinstance(payload, str) and "json" not in ctype.lower():
            data = payload.encode()            # a text answer (an HTML error page of a proxy, ...)
        else:
            data = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
        return self.status, list(headers.items()), data


class StubRules:
    """The stubs in force, ordered for matching."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stubs: list[Stub] = []
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)

    def __bool__(self) -> bool:
        return bool(self._stubs)

    def add(self, stub: Stub) -> Stub:
        with self._lock:
            stub.id = stub.id or f"stub-{next(self._ids)}"
            stub.seq = next(self._seq)
            self._stubs.append(stub)
            self._stubs.sort(key=lambda s: (s.priority, -s.seq))
        return stub

    def list(self) -> list[Stub]:
        with self._lock:
            return sorted(self._stubs, key=lambda s: s.seq)

    def get(self, stub_id: str) -> Stub | None:
        with self._lock:
            return next((s for s in self._stubs if s.id == stub_id), None)

    def remove(self, stub_id: str) -> bool:
        with self._lock:
            n = len(self._stubs)
            self._stubs = [s for s in self._stubs if s.id != stub_id]
            return len(self._stubs) != n

    def remove_where(self, predicate) -> int:
        with self._lock:
            n = len(self._stubs)
            self._stubs = [s for s in self._stubs if not predicate(s)]
            return n - len(self._stubs)

    def clear(self) -> int:
        return self.remove_where(lambda s: True)

    def match(self, operation: str, namespace: str, header, body_of) -> Stub | None:
        """The first stub that matches (its hit counted), or None."""
        with self._lock:
            for stub in self._stubs:
                if stub.matches(operation, namespace, header, body_of):
                    stub.hits += 1
                    return stub
        return None


# ------------------------------------------------------------------- the hook
def stub_hook(rules: StubRules):
    """A `before` hook of the /v2/api dispatcher (see dispatch.py) answering the requests a
    stub matches. With no stub defined it costs one truth test per request."""
    from .dispatch import Answer

    def hook(req) -> "Answer | None":
        if not rules:
            return None
        cache: list = []

        def body_of() -> tuple[bool, Any]:
            if not cache:
                cache.append(_parse_body(req))
            return cache[0]

        env = req.environ

        def header(name: str) -> str | None:
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                return env.get(key)
            return env.get("HTTP_" + key)

        stub = rules.match(req.operation, req.namespace or "default", header, body_of)
        if stub is None:
            return None
        if stub.delay_ms:
            time.sleep(stub.delay_ms / 1000.0)     # hooks run outside the world's lock
        if stub.status is None:                    # a delay only: the world answers
            return None
        status, headers, data = stub.answer(req.path)
        ctype = next((v for k, v in headers if k.lower() == "content-type"), "application/json")
        extra = [(k, v) for k, v in headers if k.lower() != "content-type"] + [("X-Mock-Stub", stub.id)]
        return Answer(status, data, ctype, extra)
    return hook


def _parse_body(req) -> tuple[bool, Any]:
    """(parsed, the request's JSON body, or its query arguments for a GET)."""
    raw = req.raw
    if raw is None:
        qs = req.environ.get("QUERY_STRING")
        if qs:
            from urllib.parse import parse_qsl
            return True, dict(parse_qsl(qs))
        return True, {}
    if len(raw) > BODY_LIMIT:
        return False, None
    try:
        return True, orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        return False, None
