"""VM snapshots for real: a VmSnapshot freezes the VM's disks (NestedFrozenDisks) and makes one
IscsiLunSnapshot per disk's LUN, whose `name` is the frozen disk's `snapshot_local_id` (the
backup join of contract.md §3). Rollback restores the VM's configuration; deleting a snapshot
removes its LUN snapshots when the task ends."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import (body_items, check_unlocked, fill_required, locked_rows, not_found_id, now_iso,
                        respond, row_dropper, start_task)
from .synth import synth_value
from .storage import has, new_volume, template_row, vm_disk_rows

FROZEN_FROM_VM = ("vcpu", "memory", "cpu", "firmware", "ha", "win_opt", "clock_offset", "cpu_model", "description")


def _lun_snapshot(ctx: Ctx, lun: dict, name: str) -> dict | None:
    if not has(ctx, "IscsiLunSnapshot"):
        return None
    store = ctx.store
    snap = template_row(ctx, "IscsiLunSnapshot", {
        "name": name, "local_id": str(uuid.uuid4()), "iscsi_lun": lun["id"],
        "iscsi_target": lun.get("iscsi_target"), "consistency_group_snapshot": None,
        "unique_size": 0, "local_created_at": now_iso(ctx),
        "labels": []})
    if "snapshot_num" in lun:
        store.update("IscsiLun", lun["id"], {"snapshot_num": (lun.get("snapshot_num") or 0) + 1})
    return snap


def freeze_disks(ctx: Ctx, vm: dict, snapshot_name: str) -> tuple[list[dict], list[str]]:
    """NestedFrozenDisks for the VM's disks, and the ids of the LUN snapshots made for them."""
    store = ctx.store
    frozen_schema = None
    vs = ctx.contract.resources["VmSnapshot"].properties.get("vm_disks")
    if vs is not None:
        frozen_schema = ctx.contract.resolve(vs).get("items")
    frozen, lun_snaps = [], []
    for index, d in enumerate(sorted(vm_disk_rows(ctx, vm), key=lambda r: (r.get("boot") or 0, r["id"]))):
        fd = synth_value(ctx.contract, frozen_schema) if frozen_schema else {}
        fd.update({"type": d.get("type") or "DISK", "boot": d.get("boot") or 0, "bus": d.get("bus") or "VIRTIO",
                   "index": index, "key": d.get("key"), "disabled": d.get("disabled")})
        vol = store.get("VmVolume", d["vm_volume"]) if d.get("vm_volume") else None
        if vol is not None:
            fd.update({"path": vol.get("path") or "", "size": vol.get("size") or 0,
                       "vm_volume_local_id": vol.get("local_id") or "", "disk_name": vol.get("name")})
            lun = store.get("IscsiLun", vol["lun"]) if vol.get("lun") and has(ctx, "IscsiLun") else None
            if lun is not None:
                ls_name = f"{snapshot_name}-{uuid.uuid4()}"
                snap = _lun_snapshot(ctx, lun, ls_name)
                if snap is not None:
                    fd["snapshot_local_id"] = ls_name
                    lun_snaps.append(snap["id"])
        fd = {k: v for k, v in fd.items() if v is not None or k in ("snapshot_local_id",)}
        if "snapshot_local_id" not in fd:
            fd["snapshot_local_id"] = None
        frozen.append(fd)
    return frozen, lun_snaps


def freeze_nics(ctx: Ctx, vm: dict) -> list[dict] | None:
    """NestedFrozenNics for the VM's NICs, in their order, each with the VLAN it is on."""
    if "vm_nics" not in ctx.contract.resources["VmSnapshot"].properties or not has(ctx, "VmNic"):
        return None
    store = ctx.store
    frozen = []
    nics = sorted(store.find_by("VmNic", "vm", vm["id"]), key=lambda r: (r.get("order") or 0, r["id"]))
    for index, nic in enumerate(nics):
        vlan = store.get("Vlan", nic["vlan"]) if nic.get("vlan") else None
        if vlan is None:
            continue            # a VPC or pass-through NIC: no VLAN to freeze
        vds = store.get("Vds", vlan["vds"]) if vlan.get("vds") else None
        frozen.append({
            "index": index, "enabled": nic.get("enabled"), "mirror": nic.get("mirror"), "model": nic.get("model"),
            "gateway": nic.get("gateway") or "", "ip_address": nic.get("ip_address") or "",
            "mac_address": nic.get("mac_address") or "", "subnet_mask": nic.get("subnet_mask") or "",
            "vlan": {"name": vlan.get("name") or "", "vds_ovs": (vds or {}).get("ovsbr_name") or "",
                     "vlan_id": vlan.get("vlan_id") or 0, "vlan_local_id": vlan.get("local_id") or "",
                     "network_ids": vlan.get("network_ids")}})
    return frozen


@operation("create-vm-snapshot")
def create_vm_snapshot(ctx: Ctx, body: Any):
    store = ctx.store
    items = body_items(body)
    for item in items:
        if store.get("Vm", item.get("vm_id") or "") is None:
            raise not_found_id("data.vm_id", "Vm", item.get("vm_id"))
    check_unlocked(ctx, "Vm", [store.get("Vm", i["vm_id"]) for i in items])
    made = []
    for item in items:
        vm = store.get("Vm", item["vm_id"])
        frozen, lun_snaps = freeze_disks(ctx, vm, item.get("name") or "snapshot")
        row = {k: vm.get(k) for k in FROZEN_FROM_VM if k in ctx.contract.resources["VmSnapshot"].properties}
        row.update({"name": item.get("name"), "vm": vm["id"], "cluster": vm.get("cluster"),
                    "local_id": str(uuid.uuid4()), "vm_disks": frozen, "vm_nics": freeze_nics(ctx, vm),
                    "consistent_type": item.get("consistent_type") or "CRASH_CONSISTENT",
                    "size": sum(fd.get("size") or 0 for fd in frozen),
                    "local_created_at": now_iso(ctx)})
        if has(ctx, "VmSnapshot", "entityAsyncStatus"):
            row["entityAsyncStatus"] = None
        if row.get("description") is None:
            row["description"] = ""
        snap = store.insert("VmSnapshot", fill_required(ctx, "VmSnapshot", row))
        made.append((snap, lun_snaps))
    results = []
    for snap, lun_snaps in made:
        tid = start_task(ctx, "VmSnapshot", snap["id"], "create", mutation="createVmSnapshot",
                         on_failure=row_dropper(ctx, "IscsiLunSnapshot", lun_snaps))
        results.append((tid, "VmSnapshot", snap["id"]))
    return respond(ctx, results)


@operation("delete-vm-snapshot")
def delete_vm_snapshot(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "VmSnapshot", body)
    results = []
    for row in rows:
        names = [fd.get("snapshot_local_id") for fd in row.get("vm_disks") or [] if fd.get("snapshot_local_id")]

        def drop(names=names):
            for n in names:
                for ls in store.find_by("IscsiLunSnapshot", "name", n):
                    store.delete("IscsiLunSnapshot", ls["id"])
        tid = start_task(ctx, "VmSnapshot", row["id"], "delete", mutation="deleteVmSnapshot", on_success=drop)
        results.append((tid, "VmSnapshot", row["id"]))
    return respond(ctx, results)


@operation("rollback-vm")
def rollback_vm(ctx: Ctx, body: Any):
    store = ctx.store
    sid = ((body or {}).get("data") or {}).get("snapshot_id")
    snap = store.get("VmSnapshot", sid or "")
    if snap is None:
        raise not_found_id("data.snapshot_id", "VmSnapshot", sid)
    rows = locked_rows(ctx, "Vm", body)
    for row in rows:
        if snap.get("vm") != row["id"]:
            raise bad_request(f"data.snapshot_id: snapshot {snap.get('name')} does not belong to VM "
                              f"{row.get('name')} ({row['id']})",
                              f"data.snapshot_id: 快照 {snap.get('name')} 不属于虚拟机 {row.get('name')}")
        if row.get("status") == "RUNNING" and snap.get("consistent_type") != "FILE_SYSTEM_CONSISTENT":
            pass        # SMTX OS powers the VM off and back on; the state stays
    results = []
    for row in rows:
        changes = {k: snap[k] for k in FROZEN_FROM_VM if k in snap and k in row and snap[k] is not None}
        tid = start_task(ctx, "Vm", row["id"], "action", changes=changes, mutation="rollbackVm",
                         extra_locks=[("VmSnapshot", snap["id"])])
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


# ------------------------------------------------------------------ volume snapshots

def _vol_snapshot_fields(ctx: Ctx, vol: dict) -> dict:
    return {"vm_volume": vol["id"], "cluster": vol.get("cluster"),
            "type": "KVM_VOLUME_ISCSI_SNAPSHOT" if vol.get("lun") else "KVM_VOLUME_SNAPSHOT",
            "elf_storage_policy": vol.get("elf_storage_policy"), "zbs_snapshot_uuid": str(uuid.uuid4()),
            "volume_size": float(vol.get("size") or 0), "size": float(vol.get("size") or 0),
            "unique_size": 0.0, "shared_size": 0.0, "volume_sharing": bool(vol.get("sharing")),
            "local_id": str(uuid.uuid4())}


@operation("create-vm-volume-snapshot")
def create_volume_snapshot(ctx: Ctx, body: Any):
    store = ctx.store
    items = body_items(body)
    planned = []
    for i, item in enumerate(items):
        vol = store.get("VmVolume", item.get("volume_id") or "")
        if vol is None:
            raise not_found_id(f"[{i}].volume_id", "VmVolume", item.get("volume_id"))
        if any(s.get("name") == item.get("name") for s in store.find_by("VmVolumeSnapshot", "vm_volume", vol["id"])):
            raise bad_request(f"[{i}].name: volume {vol.get('name')} already has a snapshot named "
                              f"'{item.get('name')}'", f"[{i}].name: 该卷已有同名快照")
        planned.append((vol, item))
    check_unlocked(ctx, "VmVolume", [v for v, _ in planned])
    now = now_iso(ctx)
    made = []
    props = ctx.contract.resources["VmVolumeSnapshot"].properties
    for vol, item in planned:
        row = {k: v for k, v in _vol_snapshot_fields(ctx, vol).items() if k in props}
        row.update({"name": item["name"], "description": item.get("description") or "", "local_created_at": now,
                    "entityAsyncStatus": None})
        if "createAt" in props:
            row["createAt"] = now
        if row.get("elf_storage_policy") is None:
            row.pop("elf_storage_policy")
        made.append((store.insert("VmVolumeSnapshot", fill_required(ctx, "VmVolumeSnapshot", row)), vol))
    results = [(start_task(ctx, "VmVolumeSnapshot", s["id"], "create", name=s["name"],
                           extra_locks=[("VmVolume", vol["id"])]), "VmVolumeSnapshot", s["id"])
               for s, vol in made]
    return respond(ctx, results)


def _volume_snapshot(ctx: Ctx, i: int, item: dict) -> dict:
    snap = ctx.store.get("VmVolumeSnapshot", item.get("volume_snapshot_id") or "")
    if snap is None:
        raise not_found_id(f"[{i}].volume_snapshot_id", "VmVolumeSnapshot", item.get("volume_snapshot_id"))
    return snap


@operation("rollback-vm-volume")
def rollback_volume(ctx: Ctx, body: Any):
    """The snapshot's volume goes back to it; refused while a running VM mounts the volume."""
    store = ctx.store
    planned = []
    for i, item in enumerate(body_items(body)):
        snap = _volume_snapshot(ctx, i, item)
        vol = store.get("VmVolume", snap.get("vm_volume")) if snap.get("vm_volume") else None
        if vol is None:
            raise bad_request(f"[{i}].volume_snapshot_id: the volume of snapshot {snap.get('name')} no longer "
                              f"exists; rebuild a volume from it instead", f"[{i}].volume_snapshot_id: 快照的源卷已不存在")
        for d in store.related_ids("VmVolume", vol, "vm_disks"):
            vm = store.get("Vm", (store.get("VmDisk", d) or {}).get("vm") or "")
            if vm is not None and vm.get("status") in ("RUNNING", "SUSPENDED"):
                raise bad_request(f"[{i}].volume_snapshot_id: volume {vol.get('name')} is in use by VM "
                                  f"{vm.get('name')}, which is {vm.get('status')}; shut it down first",
                                  f"[{i}].volume_snapshot_id: 卷正被运行中的虚拟机 {vm.get('name')} 使用")
        planned.append((snap, vol))
    check_unlocked(ctx, "VmVolume", [v for _, v in planned])
    results = []
    for snap, vol in planned:
        changes = {"size": int(snap.get("volume_size") or vol.get("size") or 0)}
        tid = start_task(ctx, "VmVolume", vol["id"], "action", changes=changes, mutation="rollbackVmVolume",
                         extra_locks=[("VmVolumeSnapshot", snap["id"])])
        results.append((tid, "VmVolume", vol["id"]))
    return respond(ctx, results)


@operation("rebuild-vm-volume")
def rebuild_volume(ctx: Ctx, body: Any):
    """A new volume (with its own LUN) holding the snapshot's data."""
    store = ctx.store
    planned = []
    for i, item in enumerate(body_items(body)):
        snap = _volume_snapshot(ctx, i, item)
        cluster = snap.get("cluster")
        if any(v.get("cluster") == cluster for v in store.find_by("VmVolume", "name", item.get("name"))):
            raise bad_request(f"[{i}].name: a volume named '{item.get('name')}' already exists in the cluster",
                              f"[{i}].name: 集群中已存在同名卷")
        planned.append((snap, item))
    made = []
    for snap, item in planned:
        vol = new_volume(ctx, snap.get("cluster"), item["name"], int(snap.get("volume_size") or 0),
                         snap.get("elf_storage_policy"))
        changes = {"mounting": False, "sharing": bool(snap.get("volume_sharing"))}
        if has(ctx, "VmVolume", "description"):
            changes["description"] = item.get("description") or ""
        store.update("VmVolume", vol["id"], changes)
        made.append(store.get("VmVolume", vol["id"]))
    results = []
    for vol in made:
        drop = row_dropper(ctx, "IscsiLun", [vol.get("lun")])
        results.append((start_task(ctx, "VmVolume", vol["id"], "create", name=vol["name"], on_failure=drop),
                        "VmVolume", vol["id"]))
    return respond(ctx, results)
