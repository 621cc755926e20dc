"""What every admin module shares: the error type, the context, reading and checking input."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson
from flask import Response, request

from ..journal import FaultRules, Journal

PREFIX = "/_mock"
NAMESPACE_HEADER = "X-Mock-Namespace"
EXT_KEY = "cloudtower_mock_admin"


class AdminError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class AdminContext:
    state: Any
    journal: Journal
    faults: FaultRules
    task_rules: dict[str, tuple[str, str]] = field(default_factory=dict)   # fault id -> (namespace, engine rule id)
    task_specs: dict[str, dict] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)                   # per-module state (stubs, ...)
    reset_hooks: list[Callable[[list[str] | None], None]] = field(default_factory=list)

    def after_reset(self, namespaces: list[str] | None) -> None:
        """Tell the modules that keep per-world things (stubs, ...) that these namespaces were
        reset (None: every world was reset or replaced)."""
        for hook in self.reset_hooks:
            hook(namespaces)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS), status=status,
                    mimetype="application/json")


def error_response(message: str, status: int = 400) -> Response:
    return json_response({"message": message, "status": status, "path": request.path}, status)


# ---------------------------------------------------------------------- durations
_UNITS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, what: str = "seconds") -> float:
    """30, 2.5, "30", "30s", "5m", "1h30m", "250ms" -> seconds."""
    if isinstance(value, bool):
        raise AdminError(f"{what} must be a number of seconds or a duration like '5m', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = re.findall(r"(\d+(?:\.\d+)?)(ms|sec|min|s|m|h|d)", text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise AdminError(f"{what}: cannot read duration {value!r}; use seconds or e.g. '90s', '5m', "
                                 f"'1h30m', '250ms'")
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise AdminError(f"{what} must be a number of seconds or a duration like '5m', got {value!r}")
    if seconds < 0 or seconds != seconds:
        raise AdminError(f"{what} must not be negative")
    return seconds


# ------------------------------------------------------------------------ input
def read_body() -> dict:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise AdminError(f"request body is not valid JSON: {e}")
    if not isinstance(body, dict):
        raise AdminError("request body must be a JSON object")
    check_depth(body)
    return body


def check_depth(body) -> None:
    """400 when an admin body nests deeper than the server's depth limit (see limits.py)."""
    from flask import current_app

    from ..limits import too_deep
    limit = current_app.config["MOCK_STATE"].config.max_depth
    where = too_deep(body, limit)
    if where is not None:
        raise AdminError(f"request body nests deeper than the limit of {limit} levels (at {where}; "
                         f"serve --max-depth changes it)")


def only(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise AdminError(f"unknown key(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed)) or 'none'}")


def namespace_of(body: dict | None = None) -> str | None:
    """The namespace a call names: `namespace` in its body, else the X-Mock-Namespace header."""
    ns = (body or {}).get("namespace")
    if ns is None:
        ns = request.headers.get(NAMESPACE_HEADER)
    if ns is not None and (not isinstance(ns, str) or not ns):
        raise AdminError("namespace must be a non-empty string")
    return ns


def int_arg(value: str | None, name: str, minimum: int) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        raise AdminError(f"{name} must be an integer, got {value!r}")
    if n < minimum:
        raise AdminError(f"{name} must be >= {minimum}")
    return n


def query_args(allowed: set[str]) -> Any:
    args = request.args
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise AdminError(f"unknown query parameter(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return args
