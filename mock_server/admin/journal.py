"""/_mock/journal: the last API requests (bounded by bytes), filtered; clearing it."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint

from .common import AdminContext, AdminError, int_arg, json_response, query_args
from .spec import I, S, op, query_param


def time_arg(value: str | None, name: str) -> float | None:
    """Epoch seconds, or an ISO 8601 time ('2026-12-02T05:00:00Z')."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise AdminError(f"{name} must be epoch seconds or an ISO 8601 time, got {value!r}") from None


def register(bp: Blueprint, ctx: AdminContext) -> None:
    state = ctx.state

    @bp.route("/journal", methods=["GET"])
    def journal_get():
        args = query_args({"limit", "operation", "namespace", "status", "full", "since", "until"})
        limit = int_arg(args.get("limit"), "limit", 0)
        status = int_arg(args.get("status"), "status", 100)
        full = args.get("full", "0").lower() in ("1", "true", "yes")
        entries = ctx.journal.entries(limit=limit, operation=args.get("operation"),
                                      namespace=args.get("namespace"), status=status, full=full,
                                      since=time_arg(args.get("since"), "since"),
                                      until=time_arg(args.get("until"), "until"))
        return json_response({"entries": entries, "count": len(entries), "capacity": ctx.journal.maxlen,
                              "journal": ctx.journal.stats(),
                              "contract": {"version": state.contract.version, "source": state.contract.source}})

    @bp.route("/journal/<int:seq>", methods=["GET"])
    def journal_entry(seq: int):
        entry = ctx.journal.get(seq)
        if entry is None:
            raise AdminError(f"no journal entry {seq} (the journal keeps the last {ctx.journal.maxlen})", 404)
        return json_response(entry)

    @bp.route("/journal", methods=["DELETE"])
    def journal_clear():
        return json_response({"deleted": ctx.journal.clear()})


def paths() -> dict:
    when = "epoch seconds or an ISO 8601 time"
    return {
        "/journal": {
            "get": op("The last requests (newest last; the oldest are dropped past --journal-max bytes); "
                      "reading changes nothing", params=[
                          query_param("limit", I), query_param("operation", S), query_param("namespace", S),
                          query_param("status", I),
                          query_param("since", S, f"only requests made at or after this time ({when})"),
                          query_param("until", S, f"only requests made at or before this time ({when})"),
                          query_param("full", {"type": "string", "enum": ["0", "1", "false", "true", "no", "yes"]},
                                      "1: include request and response bodies (each cut at 64 KiB, marked "
                                      "body_cut / response_cut) and query strings")]),
            "delete": op("Clear the journal")},
        "/journal/{seq}": {"get": op("One journal entry with its request and response bodies (each cut at 64 KiB, "
                                     "marked when cut)", params=[{"name": "seq", "in": "path", "required": True,
                                                          "schema": I}], not_found=True)},
    }
