"""VM placement groups for real: a group belongs to a cluster (name unique there), its
members (`vms`, a VmWhereInput) and must/prefer hosts must be of that cluster. Membership is
written on the VMs (`Vm.vm_placement_group`); deleting a group drops it from them."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import (body_items, check_unlocked, fill_required, locked_rows, now_iso, refuse_duplicate,
                        require_row, respond, row_restorer, start_task, where_rows)

FLAGS = ("vm_vm_policy", "vm_vm_policy_enabled", "vm_host_must_enabled", "vm_host_must_policy",
         "vm_host_prefer_enabled", "vm_host_prefer_policy", "enabled", "description", "name")


def _members(ctx: Ctx, cluster: str, where: Any, field: str) -> list[dict]:
    rows = where_rows(ctx, "Vm", where)
    for vm in rows:
        if vm.get("cluster") != cluster:
            raise bad_request(f"{field}: VM {vm.get('name')} ({vm['id']}) is not in the group's cluster",
                              f"{field}: 虚拟机 {vm.get('name')} 不在放置组所在的集群")
    return rows


def _hosts(ctx: Ctx, cluster: str, where: Any, field: str) -> list[str]:
    rows = where_rows(ctx, "Host", where)
    for h in rows:
        if h.get("cluster") != cluster:
            raise bad_request(f"{field}: host {h.get('name')} ({h['id']}) is not in the group's cluster",
                              f"{field}: 主机 {h.get('name')} 不在放置组所在的集群")
    return [h["id"] for h in rows]


def _set_members(ctx: Ctx, gid: str, vm_ids: set[str]) -> list[dict]:
    """Make exactly `vm_ids` members of group `gid`; returns the VM rows as they were."""
    store = ctx.store
    before = []
    current = set(store.related_ids("VmPlacementGroup", store.get("VmPlacementGroup", gid), "vms"))
    for vid in current | vm_ids:
        vm = store.get("Vm", vid)
        if vm is None:
            continue
        groups = list(vm.get("vm_placement_group") or [])
        want = [g for g in groups if g != gid] + ([gid] if vid in vm_ids else [])
        if want != groups:
            before.append(vm)
            store.update("Vm", vid, {"vm_placement_group": want})
    return before


def _fields(ctx: Ctx, data: dict, cluster: str, prefix: str) -> dict:
    props = ctx.contract.resources["VmPlacementGroup"].properties
    out = {k: data[k] for k in FLAGS if k in data and data[k] is not None and k in props}
    if data.get("must_hosts") is not None:
        out["vm_host_must_host_uuids"] = _hosts(ctx, cluster, data["must_hosts"], prefix + "must_hosts")
    if data.get("prefer_hosts") is not None:
        out["vm_host_prefer_host_uuids"] = _hosts(ctx, cluster, data["prefer_hosts"], prefix + "prefer_hosts")
    return out


@operation("create-vm-placement-group")
def create_group(ctx: Ctx, body: Any):
    store = ctx.store
    items = body_items(body)
    planned, seen = [], set()
    for i, item in enumerate(items):
        cl = require_row(ctx, "Cluster", item.get("cluster_id"), f"[{i}].cluster_id")
        if (cl["id"], item.get("name")) in seen:
            raise bad_request(f"[{i}].name: placement group '{item.get('name')}' is given twice",
                              f"[{i}].name: 放置组名称重复")
        seen.add((cl["id"], item.get("name")))
        refuse_duplicate(ctx, "VmPlacementGroup", {"name": item.get("name")}, scope={"cluster": cl["id"]},
                         label="VM placement group")
        fields = _fields(ctx, item, cl["id"], f"[{i}].")
        members = _members(ctx, cl["id"], item["vms"], f"[{i}].vms") if item.get("vms") is not None else []
        check_unlocked(ctx, "Vm", members)
        planned.append((cl["id"], fields, members))
    made = []
    for cid, fields, members in planned:
        row = {"cluster": cid, "local_id": str(uuid.uuid4()), "description": "", "vm_vm_policy_enabled": False,
               "vm_host_must_enabled": False, "vm_host_must_policy": False, "vm_host_prefer_enabled": False,
               "vm_host_prefer_policy": False, "local_created_at": now_iso(ctx), "local_updated_at": now_iso(ctx),
               "vm_host_must_host_uuids": [], "vm_host_prefer_host_uuids": [], "entityAsyncStatus": None}
        row.update(fields)
        g = store.insert("VmPlacementGroup", fill_required(ctx, "VmPlacementGroup", row))
        _set_members(ctx, g["id"], {vm["id"] for vm in members})
        made.append(g)
    results = [(start_task(ctx, "VmPlacementGroup", g["id"], "create", name=g["name"]), "VmPlacementGroup",
                g["id"]) for g in made]
    return respond(ctx, results)


@operation("update-vm-placement-group")
def update_group(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "VmPlacementGroup", body)
    data = (body or {}).get("data") or {}
    planned = []
    for g in rows:
        if data.get("name"):
            if len(rows) > 1:
                raise bad_request("data.name: cannot give one name to several placement groups",
                                  "data.name: 不能为多个放置组设置同一名称")
            refuse_duplicate(ctx, "VmPlacementGroup", {"name": data["name"]}, scope={"cluster": g.get("cluster")},
                             exclude=[g["id"]], label="VM placement group")
        fields = _fields(ctx, data, g.get("cluster"), "data.")
        members = None
        if data.get("vms") is not None:
            members = _members(ctx, g.get("cluster"), data["vms"], "data.vms")
            check_unlocked(ctx, "Vm", members)
        planned.append((g, fields, members))
    results = []
    for g, fields, members in planned:
        fields["local_updated_at"] = now_iso(ctx)
        store.update("VmPlacementGroup", g["id"], fields)
        before = _set_members(ctx, g["id"], {vm["id"] for vm in members}) if members is not None else []
        tid = start_task(ctx, "VmPlacementGroup", g["id"], "update", before=g,
                         on_failure=row_restorer(ctx, "Vm", before))
        results.append((tid, "VmPlacementGroup", g["id"]))
    return respond(ctx, results)


@operation("delete-vm-placement-group")
def delete_group(ctx: Ctx, body: Any):
    """One task per group; when it ends the group leaves its VMs' `vm_placement_group`."""
    rows = locked_rows(ctx, "VmPlacementGroup", body)
    results = [(start_task(ctx, "VmPlacementGroup", g["id"], "delete"), "VmPlacementGroup", g["id"])
               for g in rows]
    return respond(ctx, results)

