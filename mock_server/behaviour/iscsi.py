"""iSCSI on top of the generic paths: LUN snapshots keep their LUN's `snapshot_num`, a LUN
snapshot must name a LUN of the given target, and a LUN with snapshots is only deleted when
`data.remove_snapshot` says so."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import body_items, generic_create, generic_delete, settle, where_rows


def _bump(ctx: Ctx, lun_id: str | None, delta: int) -> None:
    lun = ctx.store.get("IscsiLun", lun_id) if lun_id else None
    if lun is not None and "snapshot_num" in lun:
        ctx.store.update("IscsiLun", lun_id, {"snapshot_num": max(0, (lun.get("snapshot_num") or 0) + delta)})


@operation("create-iscsi-lun-snapshot")
def create_lun_snapshot(ctx: Ctx, body: Any):
    store = ctx.store
    with store.lock:
        for item in body_items(body):
            lun = store.get("IscsiLun", item.get("iscsi_lun_id") or "")
            if lun is not None and item.get("iscsi_target_id") and lun.get("iscsi_target") \
                    and lun["iscsi_target"] != item["iscsi_target_id"]:
                raise bad_request(f"iscsi_lun_id: LUN {lun.get('name')} is not on iSCSI target "
                                  f"{item['iscsi_target_id']}", "iscsi_lun_id: LUN 不属于该 iSCSI target")
        out = generic_create(ctx, body)
        for item in body_items(body):
            _bump(ctx, item.get("iscsi_lun_id"), 1)
        return out


@operation("delete-iscsi-lun-snapshot")
def delete_lun_snapshot(ctx: Ctx, body: Any):
    store = ctx.store
    with store.lock:
        settle(ctx)
        rows = where_rows(ctx, "IscsiLunSnapshot", (body or {}).get("where"))
        out = generic_delete(ctx, body)
        for r in rows:
            _bump(ctx, r.get("iscsi_lun"), -1)
        return out


@operation("delete-iscsi-lun")
def delete_lun(ctx: Ctx, body: Any):
    store = ctx.store
    with store.lock:
        settle(ctx)
        rows = where_rows(ctx, "IscsiLun", (body or {}).get("where"))
        remove = bool(((body or {}).get("data") or {}).get("remove_snapshot"))
        if not remove and "IscsiLunSnapshot" in store.tables:
            for r in rows:
                if store.find_by("IscsiLunSnapshot", "iscsi_lun", r["id"]):
                    raise bad_request(f"iSCSI LUN {r.get('name')} ({r['id']}) has snapshots; pass "
                                      f"data.remove_snapshot: true to delete them with it",
                                      f"iSCSI LUN {r.get('name')} 存在快照, 请设置 data.remove_snapshot 为 true")
        return generic_delete(ctx, body)
