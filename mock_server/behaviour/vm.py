"""VMs for real: creation with disks (VmDisk → VmVolume → IscsiLun kept consistent), clone,
power-state transitions, migration, recycle bin, deletion with its volumes.

NICs live in nics.py, folders in folders.py, templates in templates.py. Everything not
handled anywhere (GPU, owner, IO policy...) goes through the generic where+data path of
mutations.py, which copies matching fields.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import (body_items, chain, check_unlocked, fill_required, locked_rows, map_params, new_record,
                        not_found_id, require_row, respond, row_dropper, row_restorer, start_task,
                        where_rows)

UNITS = {"B": 1, "BYTE": 1, "KB": 1024, "KIB": 1024, "MB": 1024 ** 2, "MIB": 1024 ** 2, "GB": 1024 ** 3,
         "GIB": 1024 ** 3, "TB": 1024 ** 4, "TIB": 1024 ** 4, "PB": 1024 ** 5, "PIB": 1024 ** 5}


def to_bytes(value: Any, unit: str | None, default_unit: str = "B") -> int:
    try:
        n = float(value)
    except (TypeError, ValueError):
        return 0
    return int(n * UNITS.get((unit or default_unit).upper(), 1))


def has(ctx: Ctx, model: str, field: str | None = None) -> bool:
    res = ctx.contract.resources.get(model)
    return res is not None and (field is None or field in res.properties)


def template_row(ctx: Ctx, model: str, overrides: dict) -> dict:
    """A new row of `model` modelled on an existing one (so it looks like its neighbours)."""
    store = ctx.store
    ids = store.tables[model].ordered_ids()
    base = dict(store.get(model, ids[0])) if ids else {}
    base.pop("id", None)
    if "local_id" in base:
        base["local_id"] = str(uuid.uuid4())
    if has(ctx, model, "entityAsyncStatus"):
        base["entityAsyncStatus"] = None
    base.update(overrides)
    row = fill_required(ctx, model, base)
    return store.insert(model, row)


# ---------------------------------------------------------------------- disk chain

def new_volume(ctx: Ctx, cluster_id: str | None, name: str, size: int, policy: str | None = None) -> dict | None:
    """A VmVolume backed by a new IscsiLun (when the contract has the chain)."""
    if not has(ctx, "VmVolume"):
        return None
    store = ctx.store
    lun_id = None
    if has(ctx, "IscsiLun"):
        target = None
        for t in store.all("IscsiTarget") if has(ctx, "IscsiTarget") else []:
            if cluster_id is None or t.get("cluster") == cluster_id:
                target = t
                break
        over = {"name": f"{name}-lun-{uuid.uuid4().hex[:6]}", "zbs_volume_id": str(uuid.uuid4()),
                "assigned_size": size, "snapshot_num": 0, "consistency_group": None}
        if target is not None:
            over["iscsi_target"] = target["id"]
            over["lun_id"] = store.count_by("IscsiLun", "iscsi_target", target["id"]) + 1
        lun_id = template_row(ctx, "IscsiLun", over)["id"]
    over = {"name": name, "size": size, "lun": lun_id, "sharing": False, "mounting": True,
            "path": f"iscsi://iqn.2016-02.com.smartx:system:zbs-iscsi-datastore-{uuid.uuid4()}/{1}"}
    if cluster_id:
        over["cluster"] = cluster_id
    if policy:
        over["elf_storage_policy"] = policy
    for f in ("used_size", "unique_size"):
        if has(ctx, "VmVolume", f):
            over[f] = 0
    return template_row(ctx, "VmVolume", over)


def new_disk(ctx: Ctx, vm_id: str, volume_id: str | None, *, bus: str | None, boot: int, cd_rom: bool = False,
             extra: dict | None = None) -> dict | None:
    if not has(ctx, "VmDisk"):
        return None
    over = {"vm": vm_id, "vm_volume": volume_id, "boot": boot, "type": "CD_ROM" if cd_rom else "DISK",
            "elf_image": None, "disabled": False}
    if bus:
        over["bus"] = bus
    over.update(extra or {})
    return template_row(ctx, "VmDisk", over)


def attach_disks(ctx: Ctx, vm: dict, disks: dict | None) -> None:
    store = ctx.store
    disks = disks or {}
    cluster = vm.get("cluster")
    for i, d in enumerate(disks.get("mount_new_create_disks") or []):
        vol = d.get("vm_volume") or {}
        size = to_bytes(vol.get("size", 0), vol.get("size_unit"), "GB")
        v = new_volume(ctx, cluster, vol.get("name") or f"{vm.get('name')}-disk{i}", size,
                       vol.get("elf_storage_policy"))
        new_disk(ctx, vm["id"], v["id"] if v else None, bus=d.get("bus"), boot=d.get("boot", i))
    for d in disks.get("mount_disks") or []:
        vid = d.get("vm_volume_id")
        if vid and store.get("VmVolume", vid) is None:
            raise not_found_id("vm_disks.mount_disks.vm_volume_id", "VmVolume", vid)
        new_disk(ctx, vm["id"], vid, bus=d.get("bus"), boot=d.get("boot", 0))
    for d in disks.get("mount_cd_roms") or []:
        extra = {}
        img = d.get("elf_image_id")
        if img and has(ctx, "ElfImage") and store.get("ElfImage", img) is not None:
            extra["elf_image"] = img
        new_disk(ctx, vm["id"], None, bus=d.get("bus") or "IDE", boot=d.get("boot", 0), cd_rom=True, extra=extra)


def attach_nics(ctx: Ctx, vm: dict, params: Any) -> None:
    from .nics import attach_nics as attach
    if isinstance(params, list):
        attach(ctx, vm, params)


def copy_nics(ctx: Ctx, vm: dict, src: tuple[str, dict]) -> None:
    """NICs of a copy: the source VM's NICs, or a snapshot's / template's frozen NICs, on the
    same VLANs when those are in the new VM's cluster (new MACs, no IPs)."""
    from .nics import attach_nics as attach, nic_rows, vlan_cluster
    store = ctx.store
    model, row = src
    params = []
    if model == "Vm":
        for n in nic_rows(ctx, row):
            params.append({"connect_vlan_id": n.get("vlan"), "model": n.get("model"), "enabled": n.get("enabled"),
                           "mirror": n.get("mirror"), "type": n.get("type")})
    else:
        for fn in sorted(row.get("vm_nics") or [], key=lambda n: n.get("index") or 0):
            local = (fn.get("vlan") or {}).get("vlan_local_id")
            hits = store.find_by("Vlan", "local_id", local) if local and has(ctx, "Vlan") else []
            params.append({"connect_vlan_id": hits[0]["id"] if hits else None, "model": fn.get("model"),
                           "enabled": fn.get("enabled"), "mirror": fn.get("mirror")})
    keep = []
    for p in params:
        vlan = store.get("Vlan", p["connect_vlan_id"]) if p.get("connect_vlan_id") else None
        if p.get("type") == "VPC" or (vlan is not None and vlan_cluster(ctx, vlan) == vm.get("cluster")):
            keep.append({k: v for k, v in p.items() if v is not None})
    attach(ctx, vm, keep)


def vm_disk_rows(ctx: Ctx, vm: dict) -> list[dict]:
    if not has(ctx, "VmDisk"):
        return []
    return [r for r in (ctx.store.get("VmDisk", i) for i in ctx.store.related_ids("Vm", vm, "vm_disks")) if r]


def vm_fields(ctx: Ctx, params: dict) -> dict:
    """Vm scalar changes from creation / update params (units converted)."""
    changes, _ = map_params(ctx, "Vm", {k: v for k, v in params.items() if k not in ("memory", "status")},
                            strict_ids=True)
    if "memory" in params:
        changes["memory"] = to_bytes(params["memory"], params.get("memory_unit"), "B")
    if "cpu_cores" in params or "cpu_sockets" in params:
        cores, sockets = params.get("cpu_cores", 1), params.get("cpu_sockets", 1)
        if has(ctx, "Vm", "cpu"):
            changes["cpu"] = {"cores": cores, "sockets": sockets}
        changes.setdefault("vcpu", params.get("vcpu") or cores * sockets)
    for key, field in (("folder_id", "folder"), ("host_id", "host"), ("cluster_id", "cluster")):
        if params.get(key) and has(ctx, "Vm", field):
            changes[field] = params[key]
    return changes


# ------------------------------------------------------------------------ create

@operation("create-vm")
def create_vm(ctx: Ctx, body: Any):
    made = []
    for item in body_items(body):
        if item.get("host_id") and ctx.store.get("Host", item["host_id"]) is None:
            raise not_found_id("host_id", "Host", item["host_id"])
        fields = vm_fields(ctx, item)
        fields["status"] = "STOPPED"
        fields.setdefault("in_recycle_bin", False) if has(ctx, "Vm", "in_recycle_bin") else None
        vm = new_record(ctx, "Vm", {}, extra=fields)
        attach_disks(ctx, vm, item.get("vm_disks"))
        attach_nics(ctx, vm, item.get("vm_nics"))
        final = {"status": item.get("status") or "STOPPED"}
        made.append((vm, final))
    results = []
    for vm, final in made:
        tid = start_task(ctx, "Vm", vm["id"], "create", changes=final, mutation="createVm",
                         on_failure=_drop_volumes(ctx, vm["id"]))
        results.append((tid, "Vm", vm["id"]))
    return respond(ctx, results)


def _drop_volumes(ctx: Ctx, vm_id: str):
    """Rollback of a failed create: the VM's new volumes and LUNs go too."""
    store = ctx.store
    vols = [d.get("vm_volume") for d in store.find_by("VmDisk", "vm", vm_id)] if has(ctx, "VmDisk") else []

    def drop():
        for v in vols:
            row = store.get("VmVolume", v) if v else None
            if row is not None:
                if row.get("lun"):
                    store.delete("IscsiLun", row["lun"])
                store.delete("VmVolume", v)
    return drop


@operation("clone-vm", "create-vm-from-template", "create-vm-from-content-library-template",
           "rebuild-vm-from-snapshot", "import-vm")
def clone_vm(ctx: Ctx, body: Any, after=None):
    """New VMs copied from a source (VM, template or snapshot) with their own disks.
    `after(item, vm)` may return a callback to run when a VM's task succeeds."""
    store = ctx.store
    made = []
    for item in body_items(body):
        src = None
        for key, model in (("src_vm_id", "Vm"), ("template_id", "VmTemplate"),
                           ("rebuild_from_snapshot_id", "VmSnapshot"), ("converted_from_template_id", "VmTemplate"),
                           ("id", "VmTemplate")):
            if key in item and isinstance(item[key], str):
                if model in store.tables and store.get(model, item[key]) is None:
                    raise not_found_id(key, model, item[key])
                src = (model, store.get(model, item[key])) if model in store.tables else None
                break
        if item.get("cluster_id") and store.get("Cluster", item["cluster_id"]) is None:
            raise not_found_id("cluster_id", "Cluster", item["cluster_id"])
        base: dict = {}
        if src and src[0] == "Vm":
            base = {k: v for k, v in src[1].items() if k not in ("id", "local_id", "name")}
        elif src:
            for k in ("vcpu", "memory", "cpu", "firmware", "ha", "cluster", "description", "cpu_model"):
                if k in src[1] and has(ctx, "Vm", k):
                    base[k] = src[1][k]
            if src[0] == "VmSnapshot" and src[1].get("vm") and store.get("Vm", src[1]["vm"]):
                parent = store.get("Vm", src[1]["vm"])
                base.update({k: v for k, v in parent.items() if k not in ("id", "local_id", "name")
                             and k not in base})
        base.update(vm_fields(ctx, {k: v for k, v in item.items() if k not in ("vm_disks", "vm_nics")}))
        if "local_id" in base or has(ctx, "Vm", "local_id"):
            base["local_id"] = str(uuid.uuid4())
        base.update({"status": "STOPPED", "name": item.get("name") or f"vm-{store.mint()[-6:]}"})
        if has(ctx, "Vm", "entityAsyncStatus"):
            base["entityAsyncStatus"] = None
        vm = store.insert("Vm", fill_required(ctx, "Vm", base))
        if src and src[0] == "Vm":
            for i, d in enumerate(vm_disk_rows(ctx, src[1])):
                vol = store.get("VmVolume", d["vm_volume"]) if d.get("vm_volume") else None
                v = new_volume(ctx, vm.get("cluster"), f"{vm['name']}-disk{i}", vol.get("size", 0)) \
                    if vol else None
                new_disk(ctx, vm["id"], v["id"] if v else None, bus=d.get("bus"), boot=d.get("boot", i),
                         cd_rom=d.get("type") == "CD_ROM")
        elif src and src[0] in ("VmSnapshot", "VmTemplate"):
            for i, fd in enumerate(src[1].get("vm_disks") or []):
                cd = fd.get("type") == "CD_ROM"
                v = None if cd else new_volume(ctx, vm.get("cluster"), f"{vm['name']}-disk{i}",
                                               fd.get("size", 0))
                new_disk(ctx, vm["id"], v["id"] if v else None, bus=fd.get("bus"), boot=fd.get("boot", i),
                         cd_rom=cd)
        attach_disks(ctx, vm, item.get("vm_disks") if isinstance(item.get("vm_disks"), dict) else None)
        if isinstance(item.get("vm_nics"), list):
            attach_nics(ctx, vm, item["vm_nics"])
        elif src:
            copy_nics(ctx, vm, src)
        made.append((vm, {"status": item.get("status") or "STOPPED"}, after(item, vm) if after else None))
    results = []
    for vm, final, done in made:
        tid = start_task(ctx, "Vm", vm["id"], "create", changes=final, on_failure=_drop_volumes(ctx, vm["id"]),
                         on_success=done)
        results.append((tid, "Vm", vm["id"]))
    if ctx.op.response_kind == "withtask" and not results:
        return {"task_id": None, "data": []}
    return respond(ctx, results)


# ----------------------------------------------------------------- power actions

POWER = {
    # op: (allowed from, final status, mutation, refusal)
    "start-vm": ({"STOPPED"}, "RUNNING", "startVm"),
    "shutdown-vm": ({"RUNNING", "SUSPENDED"}, "STOPPED", "shutDownVm"),
    "shut-down-vm": ({"RUNNING", "SUSPENDED"}, "STOPPED", "shutDownVm"),
    "poweroff-vm": ({"RUNNING", "SUSPENDED", "UNKNOWN"}, "STOPPED", "poweroffVm"),
    "force-shutdown-vm": ({"RUNNING", "SUSPENDED", "UNKNOWN"}, "STOPPED", "poweroffVm"),
    "restart-vm": ({"RUNNING"}, "RUNNING", "restartVm"),
    "force-restart-vm": ({"RUNNING", "SUSPENDED", "UNKNOWN"}, "RUNNING", "forceRestartVm"),
    "suspend-vm": ({"RUNNING"}, "SUSPENDED", "suspendVm"),
    "resume-vm": ({"SUSPENDED"}, "RUNNING", "resumeVm"),
}


@operation(*POWER)
def power(ctx: Ctx, body: Any):
    allowed, final, mutation = POWER[ctx.op.name]
    store = ctx.store
    rows = locked_rows(ctx, "Vm", body)
    for row in rows:
        if row.get("status") not in allowed:
            raise bad_request(
                f"Cannot {ctx.op.name.replace('-vm', '').replace('-', ' ')} VM {row.get('name')} "
                f"({row['id']}): it is {row.get('status')}",
                f"虚拟机 {row.get('name')} 当前状态为 {row.get('status')}, 无法执行该操作")
        if row.get("in_recycle_bin"):
            raise bad_request(f"VM {row.get('name')} is in the recycle bin", "虚拟机在回收站中")
    data = (body or {}).get("data") or {}
    results = []
    for row in rows:
        changes = {"status": final}
        if ctx.op.name == "start-vm" and data.get("host_id"):
            if store.get("Host", data["host_id"]) is None:
                raise not_found_id("data.host_id", "Host", data["host_id"])
            changes["host"] = data["host_id"]
        tid = start_task(ctx, "Vm", row["id"], "action", changes=changes, mutation=mutation)
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


@operation("migrate-vm")
def migrate(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "Vm", body)
    host = ((body or {}).get("data") or {}).get("host_id")
    if host and store.get("Host", host) is None:
        raise not_found_id("data.host_id", "Host", host)
    results = []
    for row in rows:
        target = host
        if target is None:
            hosts = [h["id"] for h in store.all("Host") if h["id"] != row.get("host")]
            target = hosts[0] if hosts else row.get("host")
        tid = start_task(ctx, "Vm", row["id"], "action", changes={"host": target}, mutation="migrateVm")
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


@operation("move-vm-to-recycle", "recover-vm-from-recycle")
def recycle(ctx: Ctx, body: Any):
    into = ctx.op.name == "move-vm-to-recycle"
    rows = locked_rows(ctx, "Vm", body)
    results = []
    for row in rows:
        changes = {}
        if has(ctx, "Vm", "in_recycle_bin"):
            changes["in_recycle_bin"] = into
        if into and row.get("status") == "RUNNING":
            changes["status"] = "STOPPED"
        tid = start_task(ctx, "Vm", row["id"], "action", changes=changes,
                         mutation="moveVmToRecycleBin" if into else "recoverVmFromRecycleBin")
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


# ------------------------------------------------------------------------ delete

@operation("delete-vm")
def delete_vm(ctx: Ctx, body: Any):
    rows = locked_rows(ctx, "Vm", body)
    for row in rows:
        if row.get("status") in ("RUNNING", "SUSPENDED"):
            raise bad_request(f"VM {row.get('name')} ({row['id']}) is {row.get('status')}; shut it down or "
                              f"power it off before deleting it",
                              f"虚拟机 {row.get('name')} 处于 {row.get('status')} 状态, 请先关机再删除")
    effect = (body or {}).get("effect") or {}
    keep_volumes = effect.get("include_volumes") is False
    recycle = recycle_bin_enabled(ctx) and has(ctx, "Vm", "in_recycle_bin")
    results = []
    for row in rows:
        if recycle and not row.get("in_recycle_bin"):
            # the global recycle bin is on: the VM goes there instead of away
            tid = start_task(ctx, "Vm", row["id"], "action", changes={"in_recycle_bin": True},
                             mutation="moveVmToRecycleBin")
            results.append((tid, "Vm", row["id"]))
            continue
        on_success = None if keep_volumes else _volumes_deleter(ctx, row)
        tid = start_task(ctx, "Vm", row["id"], "delete", mutation="deleteVm", on_success=on_success)
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


def recycle_bin_enabled(ctx: Ctx) -> bool:
    """Whether the tower-wide VM recycle bin (GlobalSettings.vm_recycle_bin) is on."""
    if "GlobalSettings" not in ctx.contract.resources:
        return False
    rows = ctx.store.all("GlobalSettings")
    return bool(rows and (rows[0].get("vm_recycle_bin") or {}).get("enabled"))


def _volumes_deleter(ctx: Ctx, vm: dict):
    store = ctx.store
    vols = [d.get("vm_volume") for d in vm_disk_rows(ctx, vm) if d.get("vm_volume")]

    def run():
        for v in vols:
            row = store.get("VmVolume", v)
            if row is None or row.get("sharing"):
                continue
            if store.related_ids("VmVolume", row, "vm_disks"):
                continue        # still mounted elsewhere
            if row.get("lun") and has(ctx, "IscsiLun"):
                store.delete("IscsiLun", row["lun"])
            store.delete("VmVolume", v)
    return run


# ------------------------------------------------------------------- disks on a VM

@operation("add-vm-disk")
def add_disk(ctx: Ctx, body: Any):
    store = ctx.store
    rows = where_rows(ctx, "Vm", body.get("where"))
    check_unlocked(ctx, "Vm", rows)
    disks = (body.get("data") or {}).get("vm_disks") or {}
    mounts = [d.get("vm_volume_id") for d in disks.get("mount_disks") or []]
    for vid in mounts:
        vol = require_row(ctx, "VmVolume", vid, "data.vm_disks.mount_disks.vm_volume_id")
        users = {store.get("VmDisk", d).get("vm") for d in store.related_ids("VmVolume", vol, "vm_disks")}
        if (users or len(rows) > 1) and not vol.get("sharing"):
            raise bad_request(f"data.vm_disks.mount_disks.vm_volume_id: volume {vol.get('name')} ({vid}) is "
                              f"not shareable and already mounted", f"卷 {vol.get('name')} 不可共享且已被挂载")
    results = []
    for row in rows:
        before = {d["id"] for d in vm_disk_rows(ctx, row)}
        attach_disks(ctx, row, disks)
        added = [d for d in vm_disk_rows(ctx, row) if d["id"] not in before]
        new_vols = [d["vm_volume"] for d in added if d.get("vm_volume") and d["vm_volume"] not in mounts]
        tid = start_task(ctx, "Vm", row["id"], "action", mutation="updateVm",
                         on_failure=chain(row_restorer(ctx, "VmDisk", [], [d["id"] for d in added]),
                                          _volume_dropper(ctx, new_vols)))
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


def _volume_dropper(ctx: Ctx, vol_ids: list[str]):
    store = ctx.store

    def drop():
        for v in vol_ids:
            row = store.get("VmVolume", v)
            if row is not None:
                if row.get("lun") and has(ctx, "IscsiLun"):
                    store.delete("IscsiLun", row["lun"])
                store.delete("VmVolume", v)
    return drop


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
        tid = start_task(ctx, "Vm", row["id"], "action", mutation="updateVm",
                         on_failure=row_restorer(ctx, "VmDisk", gone))
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
    for row in rows:
        if changes:
            store.update("VmDisk", disk["id"], changes)
        tid = start_task(ctx, "Vm", row["id"], "action", mutation="updateVm",
                         on_failure=row_restorer(ctx, "VmDisk", [disk]))
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
            extra = {"elf_image": cd["elf_image_id"]} if cd.get("elf_image_id") else {}
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
