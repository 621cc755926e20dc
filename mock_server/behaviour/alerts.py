"""Alerts: `resolve-alert` ends the alerts it matches (`ended` true, `local_end_time` the mock's
now) when its task succeeds, so they leave the `ended: false` views that dashboards and the
Java SDK's alert suite read. An alert already ended keeps its end time."""

from __future__ import annotations

from typing import Any

from . import Ctx, operation
from .mutations import locked_rows, now_iso, respond, start_task
from .storage import has


@operation("resolve-alert")
def resolve_alert(ctx: Ctx, body: Any):
    rows = locked_rows(ctx, "Alert", body)
    now = now_iso(ctx)
    results = []
    for row in rows:
        changes = {}
        if not row.get("ended"):
            changes["ended"] = True
            if has(ctx, "Alert", "local_end_time"):
                changes["local_end_time"] = now
        tid = start_task(ctx, "Alert", row["id"], "action", changes=changes, mutation="resolveAlert")
        results.append((tid, "Alert", row["id"]))
    return respond(ctx, results)
