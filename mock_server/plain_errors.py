"""The one-line JSON error of the mock's own non-API endpoints (VNC websockets, export-file
downloads): `{"message", "status", "path"}`, with any extra headers."""

from __future__ import annotations

import orjson
from flask import Response, request


def plain_error(status: int, message: str, headers: dict | None = None) -> Response:
    resp = Response(orjson.dumps({"message": message, "status": status, "path": request.path}),
                    status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp
