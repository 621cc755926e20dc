"""VMs for real: creation (blank, cloned, from a template or a snapshot) with disks, CPU
topology (`vcpu` = `cpu_cores` x `cpu_sockets`) and placement on a host of the VM's own
cluster, update, power-state transitions, migration, recycle bin, deletion with its volumes.

The storage chain lives in storage.py (disk operations in disks.py), NICs in nics.py,
scheduling on hosts in hosts.py, folders in folders.py, templates in templates.py and
content-library templates in content_library.py. Everything not handled anywhere (GPU,
owner, IO policy...) goes through the generic where+data path of mutations.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .hosts import candidates, check_host, pick_host
from .mutations import (body_items, fill_required, locked_rows, map_params, new_record, not_found_id,
                        respond, start_task)
from .nics import attach_nics as insert_nics, insert_nics as insert_prepared_nics, nic_rows, prepare_nic, vlan_cluster
from .storage import (attach_disks, check_disks, drop_volumes, has, mounted_volume_ids, new_disk, new_volume,
                      set_mounting, to_bytes, vm_disk_rows, volumes_deleter)


def attach_nics(ctx: Ctx, vm: dict, params: Any) -> None:
    if isinstance(params, list):
        insert_nics(ctx, vm, params)


def copy_nics(ctx: Ctx, vm: dict, src: tuple[str, dict]) -> None:
    """NICs of a copy: the source VM's NICs, or a snapshot's / template's frozen NICs, on the
    same VLANs when those are in the new VM's cluster (new MACs, no IPs)."""
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
    insert_nics(ctx, vm, keep)


# ------------------------------------------------------------------- fields

def cpu_fields(ctx: Ctx, params: dict, current: dict | None = None, prefix: str = "") -> dict:
    """`vcpu` and `cpu` {cores, sockets} from the params: `vcpu` must be cores x sockets (the
    missing ones are taken from `current`; a `vcpu` alone keeps the cores per socket when they
    divide it)."""
    cores, sockets, vcpu = params.get("cpu_cores"), params.get("cpu_sockets"), params.get("vcpu")
    if cores is None and sockets is None and vcpu is None:
        return {}
    for key, value in (("cpu_cores", cores), ("cpu_sockets", sockets), ("vcpu", vcpu)):
        if value is not None and value < 1:
            raise bad_request(f"{prefix}{key}: must be at least 1, got {value}", f"{prefix}{key}: 必须至少为 1")
    cur = (current or {}).get("cpu") or {}
    if cores is None and sockets is None:
        cores = cur.get("cores") or 1
        if vcpu % cores:
            cores = 1
        sockets = vcpu // cores
    else:
        cores = cores if cores is not None else (cur.get("cores") or 1)
        sockets = sockets if sockets is not None else (cur.get("sockets") or 1)
    if vcpu is not None and vcpu != cores * sockets:
        raise bad_request(f"{prefix}vcpu: vcpu ({vcpu}) must equal cpu_cores ({cores}) x cpu_sockets ({sockets})",
                          f"{prefix}vcpu: vcpu ({vcpu}) 必须等于 cpu_cores ({cores}) x cpu_sockets ({sockets})")
    out: dict = {"vcpu": cores * sockets}
    if has(ctx, "Vm", "cpu"):
        out["cpu"] = {"cores": cores, "sockets": sockets}
    return out


def vm_fields(ctx: Ctx, params: dict, current: dict | None = None, prefix: str = "") -> dict:
    """Vm changes from creation / update params (units converted, CPU topology checked)."""
    skip = ("memory", "status", "vcpu", "cpu_cores", "cpu_sockets", "host_id")
    changes, _ = map_params(ctx, "Vm", {k: v for k, v in params.items() if k not in skip}, strict_ids=True)
    if params.get("memory") is not None:
        changes["memory"] = to_bytes(params["memory"], params.get("memory_unit"), "B")
        if changes["memory"] <= 0:
            raise bad_request(f"{prefix}memory: must be positive", f"{prefix}memory: 必须大于 0")
    changes.update(cpu_fields(ctx, params, current, prefix))
    for key, field in (("folder_id", "folder"), ("cluster_id", "cluster")):
        if params.get(key) and has(ctx, "Vm", field):
            changes[field] = params[key]
    return changes


def place_new(ctx: Ctx, vm_like: dict, item: dict, status: str, promised: dict, prefix: str = "") -> str | None:
    """The host of a new VM: the one asked for (checked), else, when it is to run, one the
    scheduler picks; `promised` counts memory already given to VMs of the same request."""
    running = status in ("RUNNING", "SUSPENDED")
    host_id = item.get("host_id")
    if host_id:
        probe = dict(vm_like) if running else {**vm_like, "memory": 0}
        host = check_host(ctx, probe, host_id, prefix + "host_id", promised=promised)["id"]
    elif running:
        host = pick_host(ctx, vm_like, promised=promised)
    else:
        return None
    if running:
        promised[host] = promised.get(host, 0) + int(vm_like.get("memory") or 0)
    return host


def _probe(ctx: Ctx, item: dict, fields: dict, base: dict | None = None) -> dict:
    vm = dict(base or {})
    vm.update(fields)
    vm.setdefault("id", "")
    vm.setdefault("name", item.get("name"))
    if item.get("cluster_id"):
        vm["cluster"] = item["cluster_id"]
    return vm


def finish_create(ctx: Ctx, made: list[tuple[dict, dict, Any, dict]], mutation: str | None = None) -> list:
    """One create task per new VM [(vm, final changes, on-success callback, params)]."""
    results = []
    for vm, final, done, item in made:
        tid = start_task(ctx, "Vm", vm["id"], "create", changes=final, mutation=mutation,
                         on_failure=drop_volumes(ctx, vm["id"], keep=mounted_volume_ids(item)), on_success=done)
        results.append((tid, "Vm", vm["id"]))
    return results


# ------------------------------------------------------------------------ create

@operation("create-vm")
def create_vm(ctx: Ctx, body: Any):
    planned, promised = [], {}
    for i, item in enumerate(body_items(body)):
        prefix = f"[{i}]." if isinstance(body, list) else ""
        if item.get("cluster_id") and ctx.store.get("Cluster", item["cluster_id"]) is None:
            raise not_found_id(prefix + "cluster_id", "Cluster", item["cluster_id"])
        fields = vm_fields(ctx, item, prefix=prefix)
        status = item.get("status") or "STOPPED"
        probe = _probe(ctx, item, fields)
        check_disks(ctx, probe.get("cluster"), item.get("vm_disks"), prefix + "vm_disks.")
        nics = check_nics(ctx, probe, item.get("vm_nics"), prefix + "vm_nics")
        host = place_new(ctx, probe, item, status, promised, prefix)
        planned.append((item, fields, status, host, nics, prefix))
    made = []
    for item, fields, status, host, nics, prefix in planned:
        fields["status"] = "STOPPED"
        if host and has(ctx, "Vm", "host"):
            fields["host"] = host
        if has(ctx, "Vm", "in_recycle_bin"):
            fields.setdefault("in_recycle_bin", False)
        vm = new_record(ctx, "Vm", {}, extra=fields)
        attach_disks(ctx, vm, item.get("vm_disks"), prefix=prefix + "vm_disks.")
        if nics is not None:        # the rows checked above (as attach_nics would make them again)
            insert_prepared_nics(ctx, vm, nics[0], given_macs=nics[1])
        made.append((vm, {"status": status}, None, item))
    return respond(ctx, finish_create(ctx, made, mutation="createVm"))


SOURCES = (("src_vm_id", "Vm"), ("template_id", "VmTemplate"), ("rebuild_from_snapshot_id", "VmSnapshot"),
           ("converted_from_template_id", "VmTemplate"), ("id", "VmTemplate"))


def find_source(ctx: Ctx, item: dict, prefix: str = "") -> tuple[str, dict] | None:
    store = ctx.store
    for key, model in SOURCES:
        if key in item and isinstance(item[key], str):
            if model not in store.tables:
                return None
            row = store.get(model, item[key])
            if row is None:
                raise not_found_id(prefix + key, model, item[key])
            return model, row
    return None


def source_base(ctx: Ctx, src: tuple[str, dict] | None) -> dict:
    """The fields a copy inherits from its source."""
    store = ctx.store
    if src is None:
        return {}
    model, row = src
    if model == "Vm":
        return {k: v for k, v in row.items() if k not in ("id", "local_id", "name", "host")}
    base = {}
    for k in ("vcpu", "memory", "cpu", "firmware", "ha", "cluster", "description", "cpu_model"):
        if k in row and has(ctx, "Vm", k):
            base[k] = row[k]
    if model == "VmSnapshot" and row.get("vm") and store.get("Vm", row["vm"]):
        parent = store.get("Vm", row["vm"])
        base.update({k: v for k, v in parent.items() if k not in ("id", "local_id", "name", "host") and k not in base})
    if has(ctx, "Vm", "cpu") and not base.get("cpu") and base.get("vcpu"):
        base["cpu"] = {"cores": base["vcpu"], "sockets": 1}
    return base


def disk_specs(ctx: Ctx, src: tuple[str, dict] | None) -> list[tuple]:
    """The source's disks in index order: (type, size, bus, boot, storage policy)."""
    store = ctx.store
    specs = []
    if src and src[0] == "Vm":
        for d in vm_disk_rows(ctx, src[1]):
            vol = store.get("VmVolume", d["vm_volume"]) if d.get("vm_volume") else None
            specs.append((d.get("type") or "DISK", (vol or {}).get("size", 0), d.get("bus"), d.get("boot"),
                          (vol or {}).get("elf_storage_policy")))
    elif src:
        frozen = sorted(src[1].get("vm_disks") or [],
                        key=lambda fd: fd.get("index") if isinstance(fd.get("index"), int) else 0)
        for fd in frozen:
            specs.append((fd.get("type") or "DISK", fd.get("size") or 0, fd.get("bus"), fd.get("boot"),
                          fd.get("storage_policy")))
    return specs


def check_copy(ctx: Ctx, vm_like: dict, item: dict, specs: list, prefix: str) -> None:
    """Refuse a copy's disk and NIC params before anything is written."""
    op = item.get("disk_operate") or {}
    removed = set((op.get("remove_disks") or {}).get("disk_index") or [])
    modified = {m.get("disk_index") for m in op.get("modify_disks") or []}
    for idx in sorted(removed | modified):
        if not 0 <= idx < len(specs):
            raise bad_request(f"{prefix}disk_operate: disk_index {idx} is out of range (the template has "
                              f"{len(specs)} disks)", f"{prefix}disk_operate: 磁盘序号 {idx} 超出范围 (共 {len(specs)} 块)")
    swaps = [{"vm_volume_id": m["vm_volume_id"], "bus": "VIRTIO", "boot": 0}
             for m in op.get("modify_disks") or [] if m.get("vm_volume_id")]
    check_disks(ctx, vm_like.get("cluster"), {"mount_disks": swaps}, prefix + "disk_operate.modify_disks.")
    check_disks(ctx, vm_like.get("cluster"), op.get("new_disks"), prefix + "disk_operate.new_disks.")
    if isinstance(item.get("vm_disks"), dict):
        check_disks(ctx, vm_like.get("cluster"), item["vm_disks"], prefix + "vm_disks.")
    check_nics(ctx, vm_like, item.get("vm_nics"), prefix + "vm_nics")


def check_nics(ctx: Ctx, vm_like: dict, params: Any, prefix: str) -> tuple[list, list] | None:
    """Refuse NIC params before anything is written. Returns the NIC rows they make (not
    inserted) and the MACs they name, or None when there are none to make."""
    if not isinstance(params, list):
        return None
    rows = []
    for i, p in enumerate(params):
        if isinstance(p, dict):
            rows.append(prepare_nic(ctx, vm_like, p, f"{prefix}[{i}]."))
    if not rows or not has(ctx, "VmNic"):
        return None
    named = "mac_address" in ctx.contract.resources["VmNic"].properties
    macs = [p.get("mac_address") or None if named and isinstance(p, dict) else None for p in params]
    return rows, macs


def copy_disks(ctx: Ctx, vm: dict, specs: list, disk_operate: dict | None = None, prefix: str = "") -> None:
    """The copy's own disks: new volumes as large as the source's, as `disk_operate` says
    (remove_disks by index, modify_disks' bus, then new_disks)."""
    op = disk_operate or {}
    removed = set((op.get("remove_disks") or {}).get("disk_index") or [])
    buses = {m.get("disk_index"): m["bus"] for m in op.get("modify_disks") or [] if m.get("bus")}
    swaps = {m.get("disk_index"): m["vm_volume_id"] for m in op.get("modify_disks") or [] if m.get("vm_volume_id")}
    for i, (kind, size, bus, boot, policy) in enumerate(specs):
        if i in removed:
            continue
        cd = kind == "CD_ROM"
        if i in swaps and not cd:       # the disk uses an existing volume instead of a copy
            vid = swaps[i]
        else:
            v = None if cd else new_volume(ctx, vm.get("cluster"), f"{vm['name']}-disk{i}", size, policy)
            vid = v["id"] if v else None
        new_disk(ctx, vm["id"], vid, bus=buses.get(i, bus), boot=boot if boot is not None else i, cd_rom=cd)
    set_mounting(ctx, swaps.values())
    if op.get("new_disks"):
        attach_disks(ctx, vm, op["new_disks"], prefix=prefix + "disk_operate.new_disks.")


def clone_one(ctx: Ctx, item: dict, src: tuple[str, dict] | None, promised: dict, prefix: str = "",
              extra: dict | None = None) -> tuple[dict, dict]:
    """Check, then insert one copy of `src` (not yet under a task); returns (vm, final changes)."""
    store = ctx.store
    if item.get("cluster_id") and store.get("Cluster", item["cluster_id"]) is None:
        raise not_found_id(prefix + "cluster_id", "Cluster", item["cluster_id"])
    if src and src[0] == "VmTemplate" and item.get("cluster_id") and src[1].get("cluster") \
            and src[1]["cluster"] != item["cluster_id"]:
        tpl = src[1]       # a VM template serves its own cluster (the content library serves several)
        raise bad_request(f"{prefix}cluster_id: VM template {tpl.get('name')} ({tpl['id']}) belongs to another "
                          f"cluster; use a content-library template to create VMs in other clusters",
                          f"{prefix}cluster_id: 虚拟机模板 {tpl.get('name')} 属于其他集群, 跨集群请使用内容库模板")
    base = source_base(ctx, src)
    fields = vm_fields(ctx, {k: v for k, v in item.items() if k not in ("vm_disks", "vm_nics")}, base, prefix)
    base.update(fields)
    base.update(extra or {})
    status = item.get("status") or "STOPPED"
    probe = _probe(ctx, item, {}, base)
    specs = disk_specs(ctx, src)
    check_copy(ctx, probe, item, specs, prefix)
    host = place_new(ctx, probe, item, status, promised, prefix)
    if has(ctx, "Vm", "local_id"):
        base["local_id"] = str(uuid.uuid4())
    base.update({"status": "STOPPED", "name": item.get("name") or f"vm-{store.mint()[-6:]}"})
    if has(ctx, "Vm", "host"):
        base["host"] = host
    if has(ctx, "Vm", "entityAsyncStatus"):
        base["entityAsyncStatus"] = None
    vm = store.insert("Vm", fill_required(ctx, "Vm", base))
    copy_disks(ctx, vm, specs, item.get("disk_operate"), prefix)
    attach_disks(ctx, vm, item.get("vm_disks") if isinstance(item.get("vm_disks"), dict) else None,
                 prefix=prefix + "vm_disks.")
    if isinstance(item.get("vm_nics"), list):
        attach_nics(ctx, vm, item["vm_nics"])
    elif src:
        copy_nics(ctx, vm, src)
    return vm, {"status": status}


@operation("clone-vm", "create-vm-from-template", "rebuild-vm-from-snapshot", "import-vm")
def clone_vm(ctx: Ctx, body: Any, after=None):
    """New VMs copied from a source (VM, template or snapshot) with their own disks.
    `after(item, vm)` may return a callback to run when a VM's task succeeds."""
    made, promised = [], {}
    items = body_items(body)
    for i, item in enumerate(items):
        prefix = f"[{i}]." if isinstance(body, list) else ""
        vm, final = clone_one(ctx, item, find_source(ctx, item, prefix), promised, prefix)
        made.append((vm, final, after(item, vm) if after else None, item))
    results = finish_create(ctx, made)
    if ctx.op.response_kind == "withtask" and not results:
        return {"task_id": None, "data": []}
    return respond(ctx, results)


# ------------------------------------------------------------------------ update

@operation("update-vm", "update-vm-basic-info")
def update_vm(ctx: Ctx, body: Any):
    rows = locked_rows(ctx, "Vm", body)
    data = (body or {}).get("data") or {}
    planned = []
    for row in rows:
        changes = vm_fields(ctx, data, row, "data.")
        if changes.get("name") and len(rows) > 1:
            raise bad_request("data.name: cannot give one name to several VMs", "data.name: 不能为多个虚拟机设置同一名称")
        if row.get("status") in ("RUNNING", "SUSPENDED") and row.get("host") and \
                changes.get("memory", 0) > int(row.get("memory") or 0):
            check_host(ctx, {**row, "memory": changes["memory"]}, row["host"], "data.memory")
        planned.append((row, changes))
    results = []
    for row, changes in planned:
        if changes:
            ctx.store.update("Vm", row["id"], changes)
        tid = start_task(ctx, "Vm", row["id"], "update", before=row)
        results.append((tid, "Vm", row["id"]))
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
    planned, promised = [], {}
    for row in rows:
        changes = {"status": final}
        if ctx.op.name == "start-vm":
            # scheduled like a real tower: the host asked for, else the one with most room
            if data.get("host_id"):
                host = check_host(ctx, row, data["host_id"], "data.host_id", promised=promised)["id"]
            else:
                current = ctx.store.get("Host", row["host"]) if row.get("host") else None
                keep = current is not None and any(h["id"] == current["id"] for h in candidates(ctx, row, promised=promised))
                host = current["id"] if keep else pick_host(ctx, row, promised=promised)
            promised[host] = promised.get(host, 0) + int(row.get("memory") or 0)
            changes["host"] = host
        planned.append((row, changes))
    results = []
    for row, changes in planned:
        tid = start_task(ctx, "Vm", row["id"], "action", changes=changes, mutation=mutation)
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


@operation("migrate-vm")
def migrate(ctx: Ctx, body: Any):
    """Live migration inside the VM's cluster: to the host asked for (checked), else the
    scheduler's choice among the other usable hosts with room."""
    rows = locked_rows(ctx, "Vm", body)
    host = ((body or {}).get("data") or {}).get("host_id")
    planned, promised = [], {}
    for row in rows:
        probe = row if row.get("status") in ("RUNNING", "SUSPENDED") else {**row, "memory": 0}
        if host and host == row.get("host"):
            raise bad_request(f"data.host_id: VM {row.get('name')} ({row['id']}) is already on this host",
                              f"data.host_id: 虚拟机 {row.get('name')} 已在该主机上")
        if host:
            target = check_host(ctx, probe, host, "data.host_id", promised=promised)["id"]
        else:
            target = pick_host(ctx, probe, exclude=[row.get("host")], promised=promised, what="receive")
        if row.get("status") in ("RUNNING", "SUSPENDED"):
            promised[target] = promised.get(target, 0) + int(row.get("memory") or 0)
        planned.append((row, target))
    results = []
    for row, target in planned:
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
    # A running or suspended VM is powered off by the delete itself, as on a real tower (the Go SDK's
    # integration suite deletes the VMs it started without stopping them first).
    rows = locked_rows(ctx, "Vm", body)
    effect = (body or {}).get("effect") or {}
    keep_volumes = effect.get("include_volumes") is False
    recycle = recycle_bin_enabled(ctx) and has(ctx, "Vm", "in_recycle_bin")
    results = []
    for row in rows:
        if recycle and not row.get("in_recycle_bin"):
            # the global recycle bin is on: the VM goes there instead of away
            changes = {"in_recycle_bin": True}
            if row.get("status") in ("RUNNING", "SUSPENDED"):
                changes["status"] = "STOPPED"
            tid = start_task(ctx, "Vm", row["id"], "action", changes=changes, mutation="moveVmToRecycleBin")
            results.append((tid, "Vm", row["id"]))
            continue
        on_success = None if keep_volumes else volumes_deleter(ctx, row)
        tid = start_task(ctx, "Vm", row["id"], "delete", mutation="deleteVm", on_success=on_success)
        results.append((tid, "Vm", row["id"]))
    return respond(ctx, results)


def recycle_bin_enabled(ctx: Ctx) -> bool:
    """Whether the tower-wide VM recycle bin (GlobalSettings.vm_recycle_bin) is on."""
    if "GlobalSettings" not in ctx.contract.resources:
        return False
    rows = ctx.store.all("GlobalSettings")
    return bool(rows and (rows[0].get("vm_recycle_bin") or {}).get("enabled"))

