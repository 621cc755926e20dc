"""/_mock/journal: the last API requests, filtered; clearing it."""

from __future__ import annotations

from flask import Blueprint

from .common import AdminContext, int_arg, json_response, query_args
from .spec import I, S, op, query_param


def register(bp: Blueprint, ctx: AdminContext) -> None:
    state = ctx.state

    @bp.route("/journal", methods=["GET"])
    def journal_get():
        args = query_args({"limit", "operation", "namespace", "status", "full"})
        limit = int_arg(args.get("limit"), "limit", 0)
        status = int_arg(args.get("status"), "status", 100)
        full = args.get("full", "0").lower() in ("1", "true", "yes")
        entries = ctx.journal.entries(limit=limit, operation=args.get("operation"),
                                      namespace=args.get("namespace"), status=status, full=full)
        return json_response({"entries": entries, "count": len(entries), "capacity": ctx.journal.maxlen,
                              "contract": {"version": state.contract.version, "source": state.contract.source}})

    @bp.route("/journal", methods=["DELETE"])
    def journal_clear():
        return json_response({"deleted": ctx.journal.clear()})


def paths() -> dict:
    return {
        "/journal": {
            "get": op("The last requests (newest last); reading changes nothing", params=[
                query_param("limit", I), query_param("operation", S), query_param("namespace", S),
                query_param("status", I),
                query_param("full", {"type": "string", "enum": ["0", "1", "false", "true", "no", "yes"]},
                            "1: include request bodies and query strings (for `cloudtower-mock compat`)")]),
            "delete": op("Clear the journal")},
    }
