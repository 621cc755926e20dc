"""What client mode records: every API exchange of the client with the mock (a WSGI
middleware), and the chaos injector (seeded latency and 503 ErrorBody answers)."""

from __future__ import annotations

import io
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson

API = "/v2/api/"


@dataclass
class Recorded:
    method: str
    path: str
    status: int
    request: bytes
    response: bytes
    injected: str | None = None
    seconds: float = 0.0

    @property
    def op(self) -> str:
        return self.path[len(API) - 1:] if self.path.startswith(API) else self.path


class Recorder:
    """WSGI middleware keeping every API exchange."""

    def __init__(self, app):
        self.app = app
        self.exchanges: list[Recorded] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(API):
            return self.app(environ, start_response)
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            n = 0
        body = environ["wsgi.input"].read(n) if n > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        seen: dict[str, Any] = {}

        def sr(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            seen["injected"] = next((v for k, v in headers if k.lower() == "x-chaos"), None)
            return start_response(status, headers, exc_info)
        t0 = time.monotonic()
        out = b"".join(self.app(environ, sr))
        with self._lock:
            self.exchanges.append(Recorded(environ.get("REQUEST_METHOD", ""), path, seen.get("status", 0),
                                           body, out, seen.get("injected"), time.monotonic() - t0))
        return [out]


class Chaos:
    """WSGI middleware: seeded latency and 503 ErrorBody answers (never on login)."""

    def __init__(self, app, rate: float = 0.15, seed: int = 0):
        self.app = app
        self.rate = rate
        self.rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected = {"latency": 0, "503": 0}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(API) or path.endswith("/login") or path.endswith("openapi.json"):
            return self.app(environ, start_response)
        with self._lock:
            roll, delay = self.rng.random(), self.rng.uniform(0.05, 0.4)
        if roll < self.rate / 2:
            with self._lock:
                self.injected["503"] += 1
            body = orjson.dumps({"message": "Service temporarily unavailable (injected by cloudtower-contract "
                                            "--chaos)", "status": 503, "path": path[len(API) - 1:]})
            start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                       ("Content-Length", str(len(body))),
                                                       ("x-tower-request-id", "chaos-%08x" % self.rng.getrandbits(32)),
                                                       ("x-chaos", "503")])
            return [body]
        if roll < self.rate:
            with self._lock:
                self.injected["latency"] += 1
            time.sleep(delay)
        return self.app(environ, start_response)
