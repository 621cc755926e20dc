"""`GET /resource-changes` (4.6.0+, Basic auth): the store's change feed.

Every write of a world gets a revision; the last 10,000 changes are kept. Events are
answered after `start_revision` (exclusive: the Go SDK's watch client passes the revision of
the last event it has seen, and must not get it again; without it, every kept event), filtered by `action`, `resource_type` (a
comma-separated list of CloudTower type names such as `VM,HOST`) and `resource_id`, at most
`limit` (1..1000, default 100). `compactRevision` is the newest revision no longer kept: a
client behind it must list again. A world reset compacts everything before it.
"""

from __future__ import annotations

import re

import orjson

from ..clock import iso
from ..errors import bad_request
from . import Ctx, operation


def type_name(model: str) -> str:
    """CloudTower's resource type name: Vm -> VM, VmVolume -> VM_VOLUME, IscsiLun -> ISCSI_LUN."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", model).upper()


def _csv(value: str | None) -> set[str] | None:
    if not value:
        return None
    return {v.strip() for v in value.split(",") if v.strip()}


@operation("resource-changes")
def resource_changes(ctx: Ctx, args: dict):
    start = args.get("start_revision")
    if start is not None and not start.isdigit():
        raise bad_request(f"start_revision must be a revision number, got '{start[:40]}'",
                          "start_revision 必须为数字")
    limit = int(args.get("limit") or 100)
    if not 1 <= limit <= 1000:
        raise bad_request(f"limit must be within 1 .. 1000, got {limit}", "limit 必须在 1 .. 1000 之间")
    actions, types, rid = _csv(args.get("action")), _csv(args.get("resource_type")), args.get("resource_id")
    store = ctx.store
    current = store.revision
    changes = list(store.changes)
    compact = changes[0][0] - 1 if changes else current
    first = max(int(start) + 1, compact + 1) if start is not None else compact + 1
    data, last_seen = [], {}
    for rev, action, model, res_id, old, new, at in changes:
        prev = last_seen.get((model, res_id), "0")
        last_seen[(model, res_id)] = str(rev)
        if rev < first or (actions and action not in actions) or (rid and res_id != rid):
            continue
        tname = type_name(model)
        if types and tname not in types:
            continue
        data.append({
            "revision": str(rev), "prev_revision": prev, "action": action, "resource_type": tname,
            "resource_id": res_id, "created_at": iso(at),
            "old_value": orjson.dumps(store.render(model, old)).decode() if old is not None else "",
            "new_value": orjson.dumps(store.render(model, new)).decode() if new is not None else "",
        })
        if len(data) >= limit:
            break
    return {"currentRevision": str(current), "compactRevision": str(compact), "data": data, "ec": "EOK",
            "error": None}
