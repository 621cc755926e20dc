"""/_mock/tasks: the task center of a world, newest first, paged and filtered by status
(progress, status, error, duration on the mock's clock). Reading settles due tasks first,
so progress moves on the mock's clock even while no API call comes in."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint

from .common import AdminContext, AdminError, int_arg, json_response, query_args
from .inventory import world_of
from .spec import I, S, op, query_param

STATUSES = ("PENDING", "EXECUTING", "SUCCESSED", "FAILED", "PAUSED")


def _epoch(value) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def task_view(task: dict, now: float) -> dict:
    started, finished = _epoch(task.get("started_at")), _epoch(task.get("finished_at"))
    duration = None
    if started is not None:
        duration = round(max(0.0, (finished if finished is not None else now) - started), 3)
    return {k: task.get(k) for k in ("id", "description", "status", "progress", "error_code", "error_message",
                                     "resource_type", "resource_id", "resource_mutation", "local_created_at",
                                     "started_at", "finished_at", "steps")} | {"duration": duration}


def register(bp: Blueprint, ctx: AdminContext) -> None:
    state = ctx.state

    @bp.route("/tasks", methods=["GET"])
    def tasks_list():
        args = query_args({"namespace", "status", "skip", "first"})
        status = args.get("status")
        if status is not None and status not in STATUSES:
            raise AdminError(f"status must be one of {', '.join(STATUSES)}, got {status[:40]!r}")
        skip = int_arg(args.get("skip"), "skip", 0) or 0
        first = int_arg(args.get("first"), "first", 1) or 50
        world = world_of(state, args.get("namespace"))
        store = world.store
        now = state.clock.now()
        with store.lock:
            table = store.tables.get("Task")
            ids = list(reversed(table.ordered_ids())) if table is not None else []
            counts: dict[str, int] = {}
            picked = []
            for rid in ids:
                t = table.rows[rid]
                counts[t.get("status")] = counts.get(t.get("status"), 0) + 1
                if status is None or t.get("status") == status:
                    picked.append(t)
            items = [task_view(t, now) for t in picked[skip:skip + first]]
        return json_response({"items": items, "total": len(picked), "counts": counts, "skip": skip,
                              "first": first, "clock": now})


def paths() -> dict:
    return {"/tasks": {"get": op("The task center: tasks newest first, with progress, status, error and "
                                 "duration", params=[
        query_param("namespace", S), query_param("status", {"type": "string", "enum": list(STATUSES)}),
        query_param("skip", {**I, "minimum": 0}), query_param("first", {**I, "minimum": 1, "maximum": 500})],
        not_found=True)}}
