"""/_mock/requests: verification, how often an operation was called (with a body containing a
JSON subset), answered from the request journal.

    POST /_mock/requests/count  {"operation": "create-vm", "body": {"name": "web-1"},
                                 "namespace": "ns", "status": 200}
        -> {"count": 1, "complete": true, ...}
    POST /_mock/requests/find   the same filter -> {"requests": [journal entries with bodies]}

Without `namespace` in the body, the X-Mock-Namespace header of the call (if any) filters.

`complete` is false when the journal has dropped older requests (it keeps the last
`capacity`; see `serve --journal-size`): the count then covers only the kept ones. A body
larger than the journal keeps (64 KiB) never matches a body filter.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..stubs import json_subset
from .common import AdminContext, AdminError, json_response, namespace_of, read_body
from .spec import I, S, obj, op


def register(bp: Blueprint, ctx: AdminContext) -> None:
    @bp.route("/requests/count", methods=["POST"])
    def requests_count():
        matched, info = find_requests(ctx, read_body())
        return json_response({"count": len(matched), **info})

    @bp.route("/requests/find", methods=["POST"])
    def requests_find():
        matched, info = find_requests(ctx, read_body())
        return json_response({"requests": matched, "count": len(matched), **info})


def find_requests(ctx: AdminContext, flt: dict) -> tuple[list[dict], dict]:
    operation = flt.get("operation")
    if operation is not None:
        operation = operation.strip("/")
        if "/" + operation not in ctx.state.contract.operations and operation != "graphql":
            raise AdminError(f"operation: '{operation}' does not exist in CloudTower {ctx.state.contract.version}")
    pattern: Any = flt.get("body")
    has_pattern = "body" in flt and pattern is not None
    entries = ctx.journal.entries(operation=operation, namespace=namespace_of(flt),
                                  status=flt.get("status"), full=has_pattern)
    if has_pattern:
        entries = [e for e in entries if "body" in e and json_subset(pattern, e["body"])]
    journal = ctx.journal
    dropped = getattr(journal, "dropped", 0)
    return entries, {"operation": operation, "complete": dropped == 0, "capacity": journal.maxlen}


def paths() -> dict:
    flt = obj(operation={"type": "string", "example": "create-vm"},
              body={"description": "a JSON subset the request body must contain"},
              namespace=S, status=I)
    return {
        "/requests/count": {"post": op("How many requests match (operation, body subset, namespace, status)",
                                       flt)},
        "/requests/find": {"post": op("The requests that match, with their bodies", flt)},
    }
