"""VM templates for real. `clone-vm-template-from-vm` makes a template from a VM (the VM
stays); `convert-vm-template-from-vm` turns a stopped VM into one (the VM and its volumes go
when the task ends). The template carries the VM's configuration, its disks as
NestedFrozenDisks and its NICs as NestedTemplateNic. `convert-vm-template-to-vm` makes a VM
of a template (which then goes); `create-vm-from-template` (vm.py) copies one."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import (body_items, check_unlocked, fill_required, generic_update, now_iso, refuse_duplicate,
                        require_row, respond, row_dropper, start_task, where_rows)
from .nics import nic_rows
from .synth import synth_value
from .storage import has, vm_disk_rows, volumes_deleter
from .vm import clone_vm

FROM_VM = ("vcpu", "memory", "cpu", "firmware", "ha", "win_opt", "clock_offset", "cpu_model", "io_policy",
           "max_bandwidth", "max_bandwidth_policy", "max_iops", "max_iops_policy", "video_type")


def _items_schema(ctx: Ctx, field: str) -> dict | None:
    prop = ctx.contract.resources["VmTemplate"].properties.get(field)
    return ctx.contract.resolve(prop).get("items") if prop is not None else None


def frozen_disks(ctx: Ctx, vm: dict) -> list[dict]:
    store = ctx.store
    schema = _items_schema(ctx, "vm_disks")
    out = []
    for index, d in enumerate(sorted(vm_disk_rows(ctx, vm), key=lambda r: (r.get("boot") or 0, r["id"]))):
        fd = synth_value(ctx.contract, schema) if schema else {}
        fd.update({"type": d.get("type") or "DISK", "boot": d.get("boot") or 0, "bus": d.get("bus") or "VIRTIO",
                   "index": index, "path": "", "size": 0, "storage_policy_uuid": str(uuid.uuid4()),
                   "vm_volume_local_id": "", "elf_image_local_id": "", "svt_image_local_id": ""})
        if d.get("key") is not None:
            fd["key"] = d["key"]
        vol = store.get("VmVolume", d["vm_volume"]) if d.get("vm_volume") else None
        if vol is not None:
            fd.update({"path": vol.get("path") or "", "size": vol.get("size") or 0,
                       "vm_volume_local_id": vol.get("local_id") or "", "disk_name": vol.get("name"),
                       "vm_volume_template_uuid": str(uuid.uuid4())})
        img = store.get("ElfImage", d["elf_image"]) if d.get("elf_image") and has(ctx, "ElfImage") else None
        if img is not None:
            fd.update({"elf_image_local_id": img.get("local_id") or "", "image_name": img.get("name"),
                       "path": img.get("path") or fd["path"]})
        out.append(fd)
    return out


def template_nics(ctx: Ctx, vm: dict) -> list[dict]:
    store = ctx.store
    schema = _items_schema(ctx, "vm_nics")
    out = []
    for index, n in enumerate(nic_rows(ctx, vm)):
        vlan = store.get("Vlan", n["vlan"]) if n.get("vlan") else None
        if vlan is None:
            continue
        vds = store.get("Vds", vlan.get("vds")) if vlan.get("vds") and has(ctx, "Vds") else None
        tn = synth_value(ctx.contract, schema) if schema else {}
        tn.update({"index": index, "model": n.get("model") or "VIRTIO", "enabled": n.get("enabled"),
                   "mirror": n.get("mirror"), "type": n.get("type") or "VLAN",
                   "vlan": {"name": vlan.get("name") or "", "vlan_id": vlan.get("vlan_id") or 0,
                            "vlan_local_id": vlan.get("local_id") or "", "network_ids": vlan.get("network_ids") or [],
                            "vds_ovs": (vds or {}).get("ovsbr_name") or ""}})
        out.append({k: v for k, v in tn.items() if v is not None})
    return out


@operation("clone-vm-template-from-vm", "convert-vm-template-from-vm")
def template_from_vm(ctx: Ctx, body: Any):
    store = ctx.store
    convert = ctx.op.name == "convert-vm-template-from-vm"
    items = body_items(body)
    planned, seen = [], set()
    for i, item in enumerate(items):
        vm = require_row(ctx, "Vm", item.get("vm_id"), f"[{i}].vm_id")
        check_unlocked(ctx, "Vm", [vm])
        cluster = vm.get("cluster")
        if item.get("cluster_id"):
            cluster = require_row(ctx, "Cluster", item["cluster_id"], f"[{i}].cluster_id")["id"]
        if convert and vm.get("status") != "STOPPED":
            raise bad_request(f"[{i}].vm_id: VM {vm.get('name')} ({vm['id']}) is {vm.get('status')}; shut it "
                              f"down before converting it to a template", f"[{i}].vm_id: 请先关闭虚拟机 {vm.get('name')}")
        if convert and vm["id"] in {p[0]["id"] for p in planned}:
            raise bad_request(f"[{i}].vm_id: VM {vm['id']} is converted twice", f"[{i}].vm_id: 重复")
        if vm.get("in_recycle_bin"):
            raise bad_request(f"[{i}].vm_id: VM {vm.get('name')} is in the recycle bin", "虚拟机在回收站中")
        if (cluster, item.get("name")) in seen:
            raise bad_request(f"[{i}].name: template '{item.get('name')}' is given twice", f"[{i}].name: 重复")
        seen.add((cluster, item.get("name")))
        refuse_duplicate(ctx, "VmTemplate", {"name": item.get("name")}, scope={"cluster": cluster},
                         label="VM template")
        planned.append((vm, cluster, item))
    now = now_iso(ctx)
    made = []
    props = ctx.contract.resources["VmTemplate"].properties
    for vm, cluster, item in planned:
        row = {k: vm[k] for k in FROM_VM if k in props and vm.get(k) is not None}
        disks = frozen_disks(ctx, vm)
        row.update({"name": item["name"], "cluster": cluster, "local_id": str(uuid.uuid4()),
                    "description": item.get("description") or "",
                    "cloud_init_supported": bool(item.get("cloud_init_supported")),
                    "vm_disks": disks, "vm_nics": template_nics(ctx, vm),
                    "size": sum(d.get("size") or 0 for d in disks if d.get("type") == "DISK"),
                    "local_created_at": now, "entityAsyncStatus": None})
        tpl = store.insert("VmTemplate", fill_required(ctx, "VmTemplate", row))
        made.append((tpl, vm))
    results = []
    for tpl, vm in made:
        done = _vm_remover(ctx, vm) if convert else None
        tid = start_task(ctx, "VmTemplate", tpl["id"], "create", name=tpl["name"], on_success=done,
                         extra_locks=[("Vm", vm["id"])])
        results.append((tid, "VmTemplate", tpl["id"]))
    return respond(ctx, results)


def _vm_remover(ctx: Ctx, vm: dict):
    drop_volumes = volumes_deleter(ctx, vm)

    def run():
        if ctx.store.get("Vm", vm["id"]) is not None:
            ctx.store.delete("Vm", vm["id"])
        drop_volumes()
    return run


@operation("convert-vm-template-to-vm")
def template_to_vm(ctx: Ctx, body: Any):
    items = body_items(body)
    ids = []
    for i, item in enumerate(items):
        tpl = require_row(ctx, "VmTemplate", item.get("converted_from_template_id"),
                          f"[{i}].converted_from_template_id")
        if tpl["id"] in ids:
            raise bad_request(f"[{i}].converted_from_template_id: template {tpl['id']} is converted twice",
                              f"[{i}].converted_from_template_id: 重复")
        ids.append(tpl["id"])
    check_unlocked(ctx, "VmTemplate", [{"id": i} for i in ids])

    def after(item, vm):
        tid = item["converted_from_template_id"]

        return row_dropper(ctx, "VmTemplate", [tid])
    return clone_vm(ctx, body, after=after)


@operation("update-vm-template")
def update_template(ctx: Ctx, body: Any):
    rows = where_rows(ctx, "VmTemplate", (body or {}).get("where"))
    name = ((body or {}).get("data") or {}).get("name")
    if name:
        if len(rows) > 1:
            raise bad_request("data.name: cannot give one name to several templates", "data.name: 不能为多个模板设置同一名称")
        for r in rows:
            refuse_duplicate(ctx, "VmTemplate", {"name": name}, scope={"cluster": r.get("cluster")},
                             exclude=[r["id"]], label="VM template")
    return generic_update(ctx, body)
