"""iSCSI on top of the generic paths: LUN snapshots keep their LUN's `snapshot_num`, a LUN
snapshot must name a LUN of the given target, and a LUN with snapshots is only deleted when
`data.remove_snapshot` says so (its snapshots then go with it). A LUN backing a VM volume is
not deleted here. LUN names are unique per target; rollback / clone from a snapshot check the
snapshot. Consistency groups hold LUNs of their cluster (a LUN in one group at most); a group
snapshot makes one IscsiLunSnapshot per member LUN, linked by `consistency_group_snapshot`."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import (body_items, chain, check_unlocked, fill_required, generic_create, generic_delete,
                        locked_rows, now_iso, refuse_duplicate, require_row, respond, row_dropper,
                        row_restorer, start_task, where_rows)
from .storage import template_row, to_bytes


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
    rows = where_rows(ctx, "IscsiLunSnapshot", (body or {}).get("where"))
    out = generic_delete(ctx, body)
    for r in rows:
        _bump(ctx, r.get("iscsi_lun"), -1)
    return out


@operation("delete-iscsi-lun")
def delete_lun(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "IscsiLun", body)
    remove = bool(((body or {}).get("data") or {}).get("remove_snapshot"))
    has_snaps = "IscsiLunSnapshot" in store.tables
    for r in rows:
        if not remove and has_snaps and store.find_by("IscsiLunSnapshot", "iscsi_lun", r["id"]):
            raise bad_request(f"iSCSI LUN {r.get('name')} ({r['id']}) has snapshots; pass "
                              f"data.remove_snapshot: true to delete them with it",
                              f"iSCSI LUN {r.get('name')} 存在快照, 请设置 data.remove_snapshot 为 true")
        vols = store.find_by("VmVolume", "lun", r["id"]) if "VmVolume" in store.tables else []
        if vols:
            raise bad_request(f"iSCSI LUN {r.get('name')} ({r['id']}) backs VM volume {vols[0].get('name')}; "
                              f"delete the volume instead", f"iSCSI LUN {r.get('name')} 被虚拟卷 {vols[0].get('name')} 使用")
    results = []
    for r in rows:
        snaps = [x["id"] for x in store.find_by("IscsiLunSnapshot", "iscsi_lun", r["id"])] if has_snaps else []
        tid = start_task(ctx, "IscsiLun", r["id"], "delete", on_success=row_dropper(ctx, "IscsiLunSnapshot", snaps))
        results.append((tid, "IscsiLun", r["id"]))
    return respond(ctx, results)


def _next_lun_id(ctx: Ctx, target_id: str) -> int:
    return max([r.get("lun_id") or 0 for r in ctx.store.find_by("IscsiLun", "iscsi_target", target_id)] + [0]) + 1


def _unique_lun_name(ctx: Ctx, target: dict, name: Any, field: str) -> None:
    if any(r.get("name") == name for r in ctx.store.find_by("IscsiLun", "iscsi_target", target["id"])):
        raise bad_request(f"{field}: iSCSI target {target.get('name')} already has a LUN named '{name}'",
                          f"{field}: iSCSI target {target.get('name')} 中已存在名为 '{name}' 的 LUN")


@operation("create-iscsi-lun")
def create_lun(ctx: Ctx, body: Any):
    store = ctx.store
    items = body_items(body)
    seen = set()
    for i, item in enumerate(items):
        target = require_row(ctx, "IscsiTarget", item.get("iscsi_target_id"), f"[{i}].iscsi_target_id")
        _unique_lun_name(ctx, target, item.get("name"), f"[{i}].name")
        if (target["id"], item.get("name")) in seen:
            raise bad_request(f"[{i}].name: LUN '{item.get('name')}' is given twice", f"[{i}].name: 重复")
        seen.add((target["id"], item.get("name")))
        if to_bytes(item.get("assigned_size"), item.get("assigned_size_unit"), "B") <= 0:
            raise bad_request(f"[{i}].assigned_size: must be positive", f"[{i}].assigned_size: 必须大于 0")
    out = generic_create(ctx, body)
    for item, res in zip(items, out if isinstance(out, list) else []):
        lid = (res.get("data") or {}).get("id")
        row = store.get("IscsiLun", lid) if lid else None
        if row is None:
            continue
        changes = {"assigned_size": to_bytes(item["assigned_size"], item.get("assigned_size_unit"), "B"),
                   "snapshot_num": 0, "consistency_group": None, "zbs_volume_id": str(uuid.uuid4()),
                   "local_id": str(uuid.uuid4())}
        if item.get("lun_id") is None:
            changes["lun_id"] = _next_lun_id(ctx, item["iscsi_target_id"])
        store.update("IscsiLun", lid, changes)
        res["data"] = store.render("IscsiLun", store.get("IscsiLun", lid))
    return out


@operation("rollback-iscsi-lun-from-snapshot")
def rollback_lun(ctx: Ctx, body: Any):
    planned = []
    for i, item in enumerate(body_items(body)):
        lun = require_row(ctx, "IscsiLun", item.get("lun_id"), f"[{i}].lun_id")
        snap = require_row(ctx, "IscsiLunSnapshot", item.get("snapshot_id"), f"[{i}].snapshot_id")
        if snap.get("iscsi_lun") != lun["id"]:
            raise bad_request(f"[{i}].snapshot_id: snapshot {snap.get('name')} is not a snapshot of LUN "
                              f"{lun.get('name')} ({lun['id']})", f"[{i}].snapshot_id: 快照不属于该 LUN")
        planned.append((lun, snap))
    check_unlocked(ctx, "IscsiLun", [lun for lun, _ in planned])
    results = []
    for lun, snap in planned:
        tid = start_task(ctx, "IscsiLun", lun["id"], "action", mutation="rollbackIscsiLunFromSnapshot",
                         extra_locks=[("IscsiLunSnapshot", snap["id"])])
        results.append((tid, "IscsiLun", lun["id"]))
    return respond(ctx, results)


@operation("clone-iscsi-lun-from-snapshot")
def clone_lun(ctx: Ctx, body: Any):
    store = ctx.store
    planned, seen = [], set()
    for i, item in enumerate(body_items(body)):
        snap = require_row(ctx, "IscsiLunSnapshot", item.get("snapshot_id"), f"[{i}].snapshot_id")
        target = require_row(ctx, "IscsiTarget", item.get("iscsi_target_id"), f"[{i}].iscsi_target_id")
        _unique_lun_name(ctx, target, item.get("name"), f"[{i}].name")
        if (target["id"], item.get("name")) in seen:
            raise bad_request(f"[{i}].name: LUN '{item.get('name')}' is given twice", f"[{i}].name: 重复")
        seen.add((target["id"], item.get("name")))
        planned.append((snap, target, item["name"]))
    made = []
    for snap, target, name in planned:
        src = store.get("IscsiLun", snap.get("iscsi_lun")) if snap.get("iscsi_lun") else None
        over = {"name": name, "iscsi_target": target["id"], "lun_id": _next_lun_id(ctx, target["id"]),
                "zbs_volume_id": str(uuid.uuid4()), "snapshot_num": 0, "consistency_group": None,
                "labels": [], "local_created_at": now_iso(ctx)}
        if src is not None:
            over["assigned_size"] = src.get("assigned_size")
        made.append(template_row(ctx, "IscsiLun", over))
    results = [(start_task(ctx, "IscsiLun", r["id"], "create", name=r["name"]), "IscsiLun", r["id"]) for r in made]
    return respond(ctx, results)


# ----------------------------------------------------------------- consistency groups

def _lun_cluster(ctx: Ctx, lun: dict) -> str | None:
    t = ctx.store.get("IscsiTarget", lun.get("iscsi_target")) if lun.get("iscsi_target") else None
    return t.get("cluster") if t else None


def _members(ctx: Ctx, gid: str | None, cluster: str, data: dict, prefix: str) -> tuple[list | None, list | None]:
    """Validated (LUN ids, namespace ids) for a group (None where the params do not say)."""
    store = ctx.store
    luns = nss = None
    if data.get("iscsi_luns_ids") is not None:
        luns = []
        for lid in data["iscsi_luns_ids"]:
            lun = require_row(ctx, "IscsiLun", lid, prefix + "iscsi_luns_ids")
            if _lun_cluster(ctx, lun) != cluster:
                raise bad_request(f"{prefix}iscsi_luns_ids: LUN {lun.get('name')} ({lid}) is not in cluster {cluster}",
                                  f"{prefix}iscsi_luns_ids: LUN {lun.get('name')} 不在该集群")
            if lun.get("consistency_group") not in (None, gid):
                raise bad_request(f"{prefix}iscsi_luns_ids: LUN {lun.get('name')} ({lid}) is already in consistency "
                                  f"group {lun['consistency_group']}", f"{prefix}iscsi_luns_ids: LUN 已属于其他一致性组")
            luns.append(lid)
    if data.get("namespaces_ids") is not None and "NvmfNamespace" in store.tables:
        nss = []
        for nid in data["namespaces_ids"]:
            ns = require_row(ctx, "NvmfNamespace", nid, prefix + "namespaces_ids")
            if ns.get("consistency_group") not in (None, gid):
                raise bad_request(f"{prefix}namespaces_ids: namespace {nid} is already in another consistency group",
                                  f"{prefix}namespaces_ids: 已属于其他一致性组")
            nss.append(nid)
    return luns, nss


def _set_members(ctx: Ctx, gid: str, model: str, ids: list | None) -> list[dict]:
    if ids is None or model not in ctx.store.tables:
        return []
    store = ctx.store
    before = []
    want = set(ids)
    for r in store.find_by(model, "consistency_group", gid):
        if r["id"] not in want:
            before.append(r)
            store.update(model, r["id"], {"consistency_group": None})
    for i in ids:
        r = store.get(model, i)
        if r.get("consistency_group") != gid:
            before.append(r)
            store.update(model, i, {"consistency_group": gid})
    return before


@operation("create-consistency-group")
def create_group(ctx: Ctx, body: Any):
    store = ctx.store
    planned, taken = [], set()
    for i, item in enumerate(body_items(body)):
        cl = require_row(ctx, "Cluster", item.get("cluster_id"), f"[{i}].cluster_id")
        refuse_duplicate(ctx, "ConsistencyGroup", {"name": item.get("name")}, scope={"cluster": cl["id"]},
                         label="consistency group")
        luns, nss = _members(ctx, None, cl["id"], item, f"[{i}].")
        if not (luns or nss):
            raise bad_request(f"[{i}].iscsi_luns_ids: a consistency group needs at least one LUN or namespace",
                              f"[{i}].iscsi_luns_ids: 一致性组至少需要一个成员")
        if taken & set(luns or []):
            raise bad_request(f"[{i}].iscsi_luns_ids: a LUN is given to two groups", f"[{i}].iscsi_luns_ids: 重复")
        taken |= set(luns or [])
        check_unlocked(ctx, "IscsiLun", [{"id": x} for x in luns or []])
        planned.append((cl["id"], item, luns, nss))
    made = []
    for cid, item, luns, nss in planned:
        g = store.insert("ConsistencyGroup", fill_required(ctx, "ConsistencyGroup", {
            "name": item["name"], "cluster": cid, "description": item.get("description") or "",
            "local_id": str(uuid.uuid4()), "local_created_at": now_iso(ctx), "unique_size": 0, "labels": [],
            "entityAsyncStatus": None}))
        _set_members(ctx, g["id"], "IscsiLun", luns)
        _set_members(ctx, g["id"], "NvmfNamespace", nss)
        made.append(g)
    results = [(start_task(ctx, "ConsistencyGroup", g["id"], "create", name=g["name"]), "ConsistencyGroup", g["id"])
               for g in made]
    return respond(ctx, results)


@operation("update-consistency-group")
def update_group(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "ConsistencyGroup", body)
    data = (body or {}).get("data") or {}
    if len(rows) > 1 and (data.get("name") or data.get("iscsi_luns_ids") or data.get("namespaces_ids")):
        raise bad_request("where: name and members can be set on one consistency group at a time",
                          "where: 一次只能修改一个一致性组的名称和成员")
    planned = []
    for g in rows:
        if data.get("name"):
            refuse_duplicate(ctx, "ConsistencyGroup", {"name": data["name"]}, scope={"cluster": g.get("cluster")},
                             exclude=[g["id"]], label="consistency group")
        planned.append((g, *_members(ctx, g["id"], g.get("cluster"), data, "data.")))
    results = []
    for g, luns, nss in planned:
        changes = {k: data[k] for k in ("name", "description") if data.get(k) is not None}
        if changes:
            store.update("ConsistencyGroup", g["id"], changes)
        before_l = _set_members(ctx, g["id"], "IscsiLun", luns)
        before_n = _set_members(ctx, g["id"], "NvmfNamespace", nss)
        tid = start_task(ctx, "ConsistencyGroup", g["id"], "update", before=g,
                         on_failure=chain(row_restorer(ctx, "IscsiLun", before_l),
                                          row_restorer(ctx, "NvmfNamespace", before_n) if before_n else None))
        results.append((tid, "ConsistencyGroup", g["id"]))
    return respond(ctx, results)


def _group_snapshot_luns(ctx: Ctx, cgs_id: str) -> list[str]:
    return [r["id"] for r in ctx.store.find_by("IscsiLunSnapshot", "consistency_group_snapshot", cgs_id)]


def _unbumping_dropper(ctx: Ctx, ids: list[str]):
    store = ctx.store

    def drop():
        for i in ids:
            r = store.get("IscsiLunSnapshot", i)
            if r is not None:
                store.delete("IscsiLunSnapshot", i)
                _bump(ctx, r.get("iscsi_lun"), -1)
    return drop


@operation("delete-consistency-group")
def delete_group(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "ConsistencyGroup", body)
    remain = bool(((body or {}).get("data") or {}).get("remain_volume_snapshot"))
    results = []
    for g in rows:
        cgs = [r["id"] for r in store.find_by("ConsistencyGroupSnapshot", "consistency_group", g["id"])]
        lun_snaps = [] if remain else [x for c in cgs for x in _group_snapshot_luns(ctx, c)]
        done = chain(_unbumping_dropper(ctx, lun_snaps), row_dropper(ctx, "ConsistencyGroupSnapshot", cgs))
        tid = start_task(ctx, "ConsistencyGroup", g["id"], "delete", on_success=done)
        results.append((tid, "ConsistencyGroup", g["id"]))
    return respond(ctx, results)


@operation("create-consistency-snapshot-group")
def create_group_snapshot(ctx: Ctx, body: Any):
    store = ctx.store
    planned = []
    for i, item in enumerate(body_items(body)):
        g = require_row(ctx, "ConsistencyGroup", item.get("consistency_group_id"), f"[{i}].consistency_group_id")
        luns = store.find_by("IscsiLun", "consistency_group", g["id"])
        if not luns:
            raise bad_request(f"[{i}].consistency_group_id: consistency group {g.get('name')} has no LUN",
                              f"[{i}].consistency_group_id: 一致性组 {g.get('name')} 没有 LUN")
        refuse_duplicate(ctx, "ConsistencyGroupSnapshot", {"name": item.get("name")},
                         scope={"consistency_group": g["id"]}, label="consistency group snapshot")
        check_unlocked(ctx, "ConsistencyGroup", [g])
        check_unlocked(ctx, "IscsiLun", luns)
        planned.append((g, luns, item["name"]))
    results = []
    for g, luns, name in planned:
        cgs = store.insert("ConsistencyGroupSnapshot", fill_required(ctx, "ConsistencyGroupSnapshot", {
            "name": name, "consistency_group": g["id"], "local_id": str(uuid.uuid4()),
            "local_created_at": now_iso(ctx), "unique_size": 0, "labels": [], "entityAsyncStatus": None}))
        made = []
        for lun in luns:
            snap = template_row(ctx, "IscsiLunSnapshot", {
                "name": f"{name}-{lun.get('name')}", "local_id": str(uuid.uuid4()), "iscsi_lun": lun["id"],
                "iscsi_target": lun.get("iscsi_target"), "consistency_group_snapshot": cgs["id"],
                "unique_size": 0, "local_created_at": now_iso(ctx), "labels": []})
            _bump(ctx, lun["id"], 1)
            made.append(snap["id"])
        tid = start_task(ctx, "ConsistencyGroupSnapshot", cgs["id"], "create", name=name,
                         on_failure=_unbumping_dropper(ctx, made), extra_locks=[("ConsistencyGroup", g["id"])])
        results.append((tid, "ConsistencyGroupSnapshot", cgs["id"]))
    return respond(ctx, results)


@operation("rollback-consistency-snapshot-group")
def rollback_group_snapshot(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "ConsistencyGroupSnapshot", body)
    planned = []
    for cgs in rows:
        luns = [store.get("IscsiLunSnapshot", s).get("iscsi_lun") for s in _group_snapshot_luns(ctx, cgs["id"])]
        luns = [x for x in luns if x and store.get("IscsiLun", x) is not None]
        if not luns:
            raise bad_request(f"where: consistency group snapshot {cgs.get('name')} ({cgs['id']}) has no LUN "
                              f"left to roll back", "where: 该一致性组快照没有可回滚的 LUN")
        check_unlocked(ctx, "IscsiLun", [{"id": x} for x in luns])
        planned.append((cgs, luns))
    results = []
    for cgs, luns in planned:
        tid = start_task(ctx, "ConsistencyGroupSnapshot", cgs["id"], "action",
                         extra_locks=[("IscsiLun", x) for x in luns])
        results.append((tid, "ConsistencyGroupSnapshot", cgs["id"]))
    return respond(ctx, results)


@operation("delete-consistency-snapshot-group")
def delete_group_snapshot(ctx: Ctx, body: Any):
    rows = locked_rows(ctx, "ConsistencyGroupSnapshot", body)
    remain = bool(((body or {}).get("data") or {}).get("remain_volume_snapshot"))
    results = []
    for cgs in rows:
        ids = [] if remain else _group_snapshot_luns(ctx, cgs["id"])
        tid = start_task(ctx, "ConsistencyGroupSnapshot", cgs["id"], "delete",
                         on_success=_unbumping_dropper(ctx, ids))
        results.append((tid, "ConsistencyGroupSnapshot", cgs["id"]))
    return respond(ctx, results)
