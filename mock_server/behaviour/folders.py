"""VM folders for real: a folder belongs to a cluster, its name is unique there, a VM joins
only a folder of its own cluster, and deleting a folder leaves its VMs without one
(`Vm.folder` becomes null). `vm_num` follows the membership."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import (body_items, fill_required, locked_rows, refuse_duplicate, require_row, respond, start_task)
from .storage import has


def recount(ctx: Ctx, *folder_ids: str | None) -> None:
    store = ctx.store
    if not has(ctx, "VmFolder", "vm_num"):
        return
    for fid in folder_ids:
        row = store.get("VmFolder", fid) if fid else None
        if row is not None:
            n = len(store.related_ids("VmFolder", row, "vms"))
            if row.get("vm_num") != n:
                store.update("VmFolder", fid, {"vm_num": n})


def recounter(ctx: Ctx, *folder_ids: str | None):
    return lambda: recount(ctx, *folder_ids)


@operation("create-vm-folder")
def create_folder(ctx: Ctx, body: Any):
    store = ctx.store
    items = body_items(body)
    seen = set()
    for i, item in enumerate(items):
        cl = require_row(ctx, "Cluster", item.get("cluster_id"), f"[{i}].cluster_id")
        name = item.get("name")
        if not name:
            raise bad_request(f"[{i}].name: must not be empty", f"[{i}].name: 不能为空")
        if (cl["id"], name) in seen:
            raise bad_request(f"[{i}].name: folder '{name}' is given twice", f"[{i}].name: 文件夹 '{name}' 重复")
        seen.add((cl["id"], name))
        refuse_duplicate(ctx, "VmFolder", {"name": name}, scope={"cluster": cl["id"]}, label="VM folder")
    rows = []
    for item in items:
        row = {"name": item["name"], "cluster": item["cluster_id"], "local_id": str(uuid.uuid4())}
        if has(ctx, "VmFolder", "vm_num"):
            row["vm_num"] = 0
        rows.append(store.insert("VmFolder", fill_required(ctx, "VmFolder", row)))
    results = [(start_task(ctx, "VmFolder", r["id"], "create", name=r["name"]), "VmFolder", r["id"])
               for r in rows]
    return respond(ctx, results)


@operation("update-vm-folder")
def update_folder(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "VmFolder", body)
    name = ((body or {}).get("data") or {}).get("name")
    if not name:
        raise bad_request("data.name: must not be empty", "data.name: 不能为空")
    clusters = [r.get("cluster") for r in rows]
    if len(set(clusters)) != len(clusters):
        raise bad_request(f"data.name: cannot give the name '{name}' to several folders of one cluster",
                          "data.name: 同一集群中的多个文件夹不能同名")
    for r in rows:
        refuse_duplicate(ctx, "VmFolder", {"name": name}, scope={"cluster": r.get("cluster")},
                         exclude=[x["id"] for x in rows], label="VM folder")
    results = []
    for r in rows:
        store.update("VmFolder", r["id"], {"name": name})
        results.append((start_task(ctx, "VmFolder", r["id"], "update", before=r), "VmFolder", r["id"]))
    return respond(ctx, results)


@operation("delete-vm-folder")
def delete_folder(ctx: Ctx, body: Any):
    """The folder goes when its task ends; its VMs stay, with `folder: null`."""
    rows = locked_rows(ctx, "VmFolder", body)
    results = [(start_task(ctx, "VmFolder", r["id"], "delete"), "VmFolder", r["id"]) for r in rows]
    return respond(ctx, results)


@operation("add-vm-to-folder", "remove-vm-from-folder")
def move_vm(ctx: Ctx, body: Any):
    adding = ctx.op.name == "add-vm-to-folder"
    rows = locked_rows(ctx, "Vm", body)
    folder = None
    if adding:
        folder = require_row(ctx, "VmFolder", ((body or {}).get("data") or {}).get("folder_id"),
                             "data.folder_id")
        for vm in rows:
            if folder.get("cluster") != vm.get("cluster"):
                raise bad_request(f"data.folder_id: folder {folder.get('name')} is not in the cluster of VM "
                                  f"{vm.get('name')} ({vm['id']})",
                                  f"data.folder_id: 文件夹 {folder.get('name')} 与虚拟机 {vm.get('name')} 不在同一集群")
    results = []
    for vm in rows:
        target = folder["id"] if folder else None
        tid = start_task(ctx, "Vm", vm["id"], "action", changes={"folder": target},
                         mutation="updateVm", on_success=recounter(ctx, vm.get("folder"), target))
        results.append((tid, "Vm", vm["id"]))
    return respond(ctx, results)

