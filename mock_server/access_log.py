"""The access log: one line per request (time, namespace, method, operation, status, ms,
request id), written by a WSGI middleware outside everything else, so answers from fault
rules and stubs are logged like the world's.

    2026-12-02T04:57:19.123Z default POST get-vms 200 1.4ms 3f2a9c...
    {"time": "2026-12-02T04:57:19.123Z", "namespace": "default", "method": "POST",
     "operation": "get-vms", "status": 200, "ms": 1.4, "request_id": "3f2a9c..."}

`operation` is the operation name for `/v2/api/<operation>`, `graphql` for `/api`, and the
path otherwise (`/_mock/reset`). A connection dropped by a fault rule is logged with
status `-` (text) / null (JSON).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO

import orjson

FORMATS = ("text", "json")
_API = "/v2/api/"


_second: tuple[int, str] = (-1, "")   # the last whole second formatted (replaced whole: thread-safe)


def _iso(t: float) -> str:
    global _second
    whole = int(t)
    cached = _second
    if cached[0] != whole:                # formatted once a second, not once a request
        cached = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{int(t * 1000) % 1000:03d}Z"


class AccessLog:
    """WSGI middleware writing one line per request to `stream` (stderr by default)."""

    def __init__(self, app, fmt: str = "text", stream: IO[str] | None = None):
        if fmt not in FORMATS:
            raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        self.app = app
        self.json = fmt == "json"
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        t0 = time.perf_counter()
        seen: list = [None, None]              # status code, request id

        def start(status, headers, exc_info=None):
            seen[0] = status.split(" ", 1)[0]
            for k, v in headers:
                if k == "x-tower-request-id":
                    seen[1] = v
                    break
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            return self.app(environ, start)
        finally:
            self.write(environ, seen[0], seen[1], (time.perf_counter() - t0) * 1000)

    def write(self, environ, status: str | None, rid: str | None, ms: float) -> None:
        path = environ.get("PATH_INFO", "")
        if path.startswith(_API):
            operation = path[len(_API):]
        elif path in ("/api", "/api/"):
            operation = "graphql"
        else:
            operation = path
        ns = environ.get("HTTP_X_MOCK_NAMESPACE") or "default"
        method = environ.get("REQUEST_METHOD", "-")
        now = _iso(time.time())
        if self.json:
            line = orjson.dumps({"time": now, "namespace": ns, "method": method, "operation": operation,
                                 "status": int(status) if status else None, "ms": round(ms, 2),
                                 "request_id": rid}).decode() + "\n"
        else:
            line = f"{now} {ns} {method} {operation} {status or '-'} {ms:.1f}ms {rid or '-'}\n"
        with self._lock:
            try:
                self.stream.write(line)
                self.stream.flush()
            except (OSError, ValueError):      # a closed or broken log stream never fails a request
                pass
