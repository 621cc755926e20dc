"""Disks, CD-ROMs and volumes of VMs: add / remove / update / expand disks, CD-ROM images,
standalone volumes (create, update, delete). A volume's `mounting` follows whether a disk
uses it."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import (chain, check_unlocked, locked_rows, not_found_id, require_row, respond, row_dropper,
                        row_restorer, start_task, where_rows, body_items)
from .storage import (attach_disks, cd_rom_image, check_disks, has, mounting_refresher, new_disk, new_volume,
                      set_mounting, to_bytes, vm_disk_rows, volume_dropper)



@operation("add-vm-disk")
def add_disk(ctx: Ctx, body: Any):
    rows = where_rows(ctx, "Vm", body.get("where"))
    check_unlocked(ctx, "Vm", rows)
    disks = (body.get("data") or {}).get("vm_disks") or {}
    mounts = [d.get("vm_volume_id") for d in disks.get("mount_disks") or []]
    for row in rows:
        check_disks(ctx, row.get("cluster"), disks, "data.vm_disks.", vms=len(rows))
    results = []
    for row in rows:
        added = attach_disks(ctx, row, disks, prefix="data.vm_disks.")
        new_vols = [d["vm_volume"] for d in added if d.get("vm_volume") and d["vm_volume"] not in mounts]
        tid = start_task(ctx, "Vm", row["id"], "action", mutation="updateVm",
                         on_failure=chain(row_restorer(ctx, "VmDisk", [], [d["id"] for d in added]),
                                          volume_dropper(ctx, new_vols), mounting_refresher(ctx, mounts)))
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


@operation("remove-vm-disk", "remove-vm-cd-rom")
def remove_disk(ctx: Ctx, body: Any):
    store = ctx.store
    cd = ctx.op.name == "remove-vm-cd-rom"
    field = "data.cd_rom_ids" if cd else "data.disk_ids"
    rows = where_rows(ctx, "Vm", body.get("where"))
    check_unlocked(ctx, "Vm", rows)
    data = body.get("data") or {}
    ids = list(data.get("cd_rom_ids" if cd else "disk_ids") or [])
    for row in rows:
        mine = {d["id"]: d for d in vm_disk_rows(ctx, row)}
        for i in ids:
            if store.get("VmDisk", i) is None:
                raise not_found_id(field, "VmDisk", i)
            if len(rows) == 1 and i not in mine:
                raise bad_request(f"{field}: disk {i} is not attached to VM {row.get('name')} ({row['id']})",
                                  f"{field}: 磁盘 {i} 不属于虚拟机 {row.get('name')}")
            if i in mine and cd and mine[i].get("type") != "CD_ROM":
                raise bad_request(f"{field}: {i} is not a CD-ROM", f"{field}: {i} 不是光驱")
    results = []
    for row in rows:
        gone = [d for d in vm_disk_rows(ctx, row) if d["id"] in ids]
        for d in gone:
            store.delete("VmDisk", d["id"])
        vols = [d.get("vm_volume") for d in gone]
        set_mounting(ctx, vols)        # an unmounted volume stays, no longer `mounting`
        tid = start_task(ctx, "Vm", row["id"], "action", mutation="updateVm",
                         on_failure=chain(row_restorer(ctx, "VmDisk", gone), mounting_refresher(ctx, vols)))
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


@operation("update-vm-disk")
def update_disk(ctx: Ctx, body: Any):
    store = ctx.store
    rows = where_rows(ctx, "Vm", body.get("where"))
    check_unlocked(ctx, "Vm", rows)
    data = body.get("data") or {}
    disk = require_row(ctx, "VmDisk", data.get("vm_disk_id"), "data.vm_disk_id")
    changes: dict = {}
    if data.get("bus"):
        changes["bus"] = data["bus"]
    if data.get("vm_volume_id"):
        if disk.get("type") == "CD_ROM":
            raise bad_request("data.vm_volume_id: a CD-ROM has no volume", "data.vm_volume_id: 光驱没有卷")
        vol = require_row(ctx, "VmVolume", data["vm_volume_id"], "data.vm_volume_id")
        others = [d for d in store.related_ids("VmVolume", vol, "vm_disks") if d != disk["id"]]
        if others and not vol.get("sharing"):
            raise bad_request(f"data.vm_volume_id: volume {vol.get('name')} is not shareable and already "
                              f"mounted", "data.vm_volume_id: 卷不可共享且已被挂载")
        changes["vm_volume"] = vol["id"]
    if data.get("elf_image_id"):
        if disk.get("type") != "CD_ROM":
            raise bad_request("data.elf_image_id: only a CD-ROM holds an ISO image", "data.elf_image_id: 仅光驱可挂载镜像")
        changes["elf_image"] = require_row(ctx, "ElfImage", data["elf_image_id"], "data.elf_image_id")["id"]
    results = []
    for row in rows:
        if disk.get("vm") != row["id"]:
            raise bad_request(f"data.vm_disk_id: disk {disk['id']} is not attached to VM {row.get('name')} "
                              f"({row['id']})", f"data.vm_disk_id: 磁盘不属于虚拟机 {row.get('name')}")
    vols = [disk.get("vm_volume"), changes.get("vm_volume")]
    for row in rows:
        if changes:
            store.update("VmDisk", disk["id"], changes)
            set_mounting(ctx, vols)
        tid = start_task(ctx, "Vm", row["id"], "action", mutation="updateVm",
                         on_failure=chain(row_restorer(ctx, "VmDisk", [disk]), mounting_refresher(ctx, vols)))
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


@operation("add-vm-cd-rom")
def add_cd_rom(ctx: Ctx, body: Any):
    rows = where_rows(ctx, "Vm", body.get("where"))
    check_unlocked(ctx, "Vm", rows)
    cds = (body.get("data") or {}).get("vm_cd_roms") or []
    for i, cd in enumerate(cds):
        if cd.get("elf_image_id"):
            require_row(ctx, "ElfImage", cd["elf_image_id"], f"data.vm_cd_roms[{i}].elf_image_id")
        if cd.get("content_library_image_id") and has(ctx, "ContentLibraryImage"):
            require_row(ctx, "ContentLibraryImage", cd["content_library_image_id"],
                        f"data.vm_cd_roms[{i}].content_library_image_id")
    results = []
    for row in rows:
        added = []
        for cd in cds:
            extra = cd_rom_image(ctx, row.get("cluster"), cd)
            if cd.get("key") is not None:
                extra["key"] = cd["key"]
            d = new_disk(ctx, row["id"], None, bus="IDE", boot=cd.get("boot", 0), cd_rom=True, extra=extra)
            if d:
                added.append(d["id"])
        tid = start_task(ctx, "Vm", row["id"], "action", mutation="updateVm",
                         on_failure=row_restorer(ctx, "VmDisk", [], added))
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


@operation("toggle-vm-cd-rom-disable", "eject-iso-from-vm-cd-rom")
def cd_rom_action(ctx: Ctx, body: Any):
    store = ctx.store
    disks = where_rows(ctx, "VmDisk", (body or {}).get("where"))
    for d in disks:
        if d.get("type") != "CD_ROM":
            raise bad_request(f"where: disk {d['id']} is not a CD-ROM", f"where: 磁盘 {d['id']} 不是光驱")
    vms = sorted({d["vm"] for d in disks if d.get("vm")})
    check_unlocked(ctx, "Vm", [{"id": v} for v in vms])
    if ctx.op.name == "toggle-vm-cd-rom-disable":
        changes = {"disabled": bool((body or {}).get("disabled"))}
    else:
        changes = {"elf_image": None}
        if has(ctx, "VmDisk", "svt_image"):
            changes["svt_image"] = None
    results = []
    for vid in vms:
        mine = [d for d in disks if d.get("vm") == vid]
        for d in mine:
            store.update("VmDisk", d["id"], changes)
        tid = start_task(ctx, "Vm", vid, "action", mutation="updateVm",
                         on_failure=row_restorer(ctx, "VmDisk", mine))
        results.append((tid, "Vm", vid))
    return respond(ctx, results)


# ---------------------------------------------------------------------- volumes

@operation("create-vm-volume")
def create_volume(ctx: Ctx, body: Any):
    store = ctx.store
    items = body_items(body)
    names = set()
    for i, item in enumerate(items):
        cl = require_row(ctx, "Cluster", item.get("cluster_id"), f"[{i}].cluster_id")
        name = item.get("name")
        if (cl["id"], name) in names or any(v.get("cluster") == cl["id"] for v in store.find_by("VmVolume", "name", name)):
            raise bad_request(f"[{i}].name: a volume named '{name}' already exists in cluster {cl.get('name')}",
                              f"[{i}].name: 集群中已存在名为 '{name}' 的卷")
        names.add((cl["id"], name))
        if to_bytes(item.get("size"), item.get("size_unit"), "B") <= 0:
            raise bad_request(f"[{i}].size: must be positive", f"[{i}].size: 必须大于 0")
    made = []
    for item in items:
        size = to_bytes(item.get("size"), item.get("size_unit"), "B")
        vol = new_volume(ctx, item["cluster_id"], item["name"], size, item.get("elf_storage_policy"))
        store.update("VmVolume", vol["id"], {"sharing": bool(item.get("sharing")), "mounting": False})
        made.append(vol)
    results = []
    for vol in made:
        tid = start_task(ctx, "VmVolume", vol["id"], "create", name=vol["name"],
                         on_failure=row_dropper(ctx, "IscsiLun", [vol.get("lun")]))
        results.append((tid, "VmVolume", vol["id"]))
    return respond(ctx, results)


@operation("update-vm-volume")
def update_volume(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "VmVolume", body)
    data = (body or {}).get("data") or {}
    changes: dict = {}
    if data.get("name"):
        changes["name"] = data["name"]
        if len(rows) > 1:
            raise bad_request("data.name: cannot give one name to several volumes", "data.name: 不能为多个卷设置同一名称")
        for r in rows:
            for other in store.find_by("VmVolume", "name", data["name"]):
                if other["id"] != r["id"] and other.get("cluster") == r.get("cluster"):
                    raise bad_request(f"data.name: a volume named '{data['name']}' already exists in the cluster",
                                      f"data.name: 集群中已存在名为 '{data['name']}' 的卷")
    if "description" in data and has(ctx, "VmVolume", "description"):
        changes["description"] = data["description"]
    size = to_bytes(data["size"], data.get("size_unit"), "B") if data.get("size") is not None else None
    for r in rows:
        if size is not None and size < (r.get("size") or 0):
            raise bad_request(f"data.size: volume {r.get('name')} can only grow ({size} < {r.get('size')})",
                              "data.size: 卷只能扩容")
    results = []
    for r in rows:
        per = dict(changes)
        if size is not None:
            per["size"] = size
        luns = []
        if size is not None and r.get("lun") and store.get("IscsiLun", r["lun"]):
            luns.append(store.get("IscsiLun", r["lun"]))
            store.update("IscsiLun", r["lun"], {"assigned_size": size})
        if per:
            store.update("VmVolume", r["id"], per)
        tid = start_task(ctx, "VmVolume", r["id"], "update", before=r,
                         on_failure=row_restorer(ctx, "IscsiLun", luns))
        results.append((tid, "VmVolume", r["id"]))
    return respond(ctx, results)


@operation("delete-vm-volume")
def delete_volume(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "VmVolume", body)
    for r in rows:
        disks = store.related_ids("VmVolume", r, "vm_disks")
        if disks:
            vm = store.get("Vm", store.get("VmDisk", disks[0]).get("vm"))
            raise bad_request(f"volume {r.get('name')} ({r['id']}) is mounted on VM "
                              f"{(vm or {}).get('name')}; unmount it first", f"卷 {r.get('name')} 已被挂载, 请先卸载")
    with_snaps = bool(((body or {}).get("effect") or {}).get("include_snapshots"))
    results = []
    for r in rows:
        snaps = [x["id"] for x in store.find_by("VmVolumeSnapshot", "vm_volume", r["id"])] \
            if with_snaps and has(ctx, "VmVolumeSnapshot") else []

        def done(lun=r.get("lun"), snaps=snaps):
            if lun and store.get("IscsiLun", lun) is not None:
                store.delete("IscsiLun", lun)
            for sid in snaps:
                if store.get("VmVolumeSnapshot", sid) is not None:
                    store.delete("VmVolumeSnapshot", sid)
        tid = start_task(ctx, "VmVolume", r["id"], "delete", mutation="deleteVmVolume", on_success=done)
        results.append((tid, "VmVolume", r["id"]))
    return respond(ctx, results)


@operation("expand-vm-disk")
def expand_disk(ctx: Ctx, body: Any):
    store = ctx.store
    rows = where_rows(ctx, "VmDisk", body.get("where"))
    vms = {r.get("vm") for r in rows if r.get("vm")}
    check_unlocked(ctx, "Vm", [{"id": v} for v in vms])
    size = to_bytes(body.get("size"), body.get("size_unit"), "B")
    results = []
    for d in rows:
        vol = store.get("VmVolume", d.get("vm_volume")) if d.get("vm_volume") else None
        if vol is None:
            raise bad_request(f"where: disk {d['id']} has no volume (a CD-ROM cannot be expanded)",
                              "where: 该磁盘没有卷, 无法扩容")
        if size <= vol.get("size", 0):
            raise bad_request(f"size: a disk can only grow ({size} <= {vol.get('size')})",
                              "size: 磁盘只能扩容")
    for d in rows:
        vol = store.get("VmVolume", d.get("vm_volume")) if d.get("vm_volume") else None
        if vol is not None:
            store.update("VmVolume", vol["id"], {"size": size})
            if vol.get("lun") and store.get("IscsiLun", vol["lun"]):
                store.update("IscsiLun", vol["lun"], {"assigned_size": size})
    for vid in sorted(vms):
        tid = start_task(ctx, "Vm", vid, "action", mutation="updateVm")
        results.append((tid, "Vm", vid))
    return respond(ctx, results)
