"""VM NICs for real: a NIC is a VmNic row on a VLAN of its VM's cluster. `nic_index` is the
NIC's position in the VM's NIC list (ordered by `order`), which stays contiguous after a
removal. Changes apply at once and are undone if the VM's task fails."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import (check_unlocked, locked_rows, not_found_id, respond, row_restorer, start_task,
                        where_rows)
from .storage import has
from .synth import new_uuid, random_bits

BIT_UNITS = {"bps": 1, "kbps": 10 ** 3, "mbps": 10 ** 6, "gbps": 10 ** 9, "tbps": 10 ** 12,
             "b": 1, "kb": 10 ** 3, "mb": 10 ** 6, "gb": 10 ** 9, "tb": 10 ** 12}
NIC_FLAGS = ("enabled", "mirror", "model", "mac_address", "ip_address", "gateway", "subnet_mask")


def nic_rows(ctx: Ctx, vm: dict) -> list[dict]:
    """The VM's NICs in nic_index order."""
    if not has(ctx, "VmNic"):
        return []
    rows = [r for r in (ctx.store.get("VmNic", i) for i in ctx.store.related_ids("Vm", vm, "vm_nics")) if r]
    return sorted(rows, key=lambda r: (r.get("order") if r.get("order") is not None else 1 << 30, r["id"]))


def vlan_cluster(ctx: Ctx, vlan: dict) -> str | None:
    vds = ctx.store.get("Vds", vlan.get("vds")) if vlan.get("vds") and has(ctx, "Vds") else None
    return vds.get("cluster") if vds else None


def check_vlan(ctx: Ctx, vm: dict, vlan_id: Any, field: str) -> dict:
    """The VLAN a NIC of `vm` may join: it must exist and belong to the VM's cluster."""
    vlan = ctx.store.get("Vlan", vlan_id) if isinstance(vlan_id, str) else None
    if vlan is None:
        raise not_found_id(field, "Vlan", vlan_id)
    cl = vlan_cluster(ctx, vlan)
    if vm.get("cluster") and cl != vm.get("cluster"):
        raise bad_request(f"{field}: VLAN {vlan.get('name')} ({vlan_id}) is not in the cluster of VM "
                          f"{vm.get('name')} ({vm.get('cluster')})",
                          f"{field}: 虚拟网络 {vlan.get('name')} 不属于虚拟机 {vm.get('name')} 所在的集群")
    return vlan


def check_ip(value: Any, field: str) -> None:
    if value in (None, ""):
        return
    try:
        ipaddress.IPv4Address(value)
    except (ValueError, TypeError):
        raise bad_request(f"{field}: '{value}' is not a valid IPv4 address", f"{field}: '{value}' 不是合法的 IPv4 地址")


def new_mac() -> str:
    n = random_bits(24)
    return "52:54:00:%02x:%02x:%02x" % (n >> 16, (n >> 8) & 255, n & 255)


def _check_mac(ctx: Ctx, mac: Any, field: str, exclude: str | None = None) -> None:
    if mac in (None, ""):
        return
    parts = str(mac).split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts):
        raise bad_request(f"{field}: '{mac}' is not a valid MAC address", f"{field}: '{mac}' 不是合法的 MAC 地址")
    for r in ctx.store.find_by("VmNic", "mac_address", mac):
        if r["id"] != exclude:
            raise bad_request(f"{field}: MAC address {mac} is already used by another NIC",
                              f"{field}: MAC 地址 {mac} 已被使用")


def nic_changes(ctx: Ctx, vm: dict, params: dict, prefix: str, exclude: str | None = None) -> dict:
    """Validated VmNic field changes from NIC params."""
    props = ctx.contract.resources["VmNic"].properties
    out: dict = {}
    for k in NIC_FLAGS:
        if k in params and params[k] is not None and k in props:
            out[k] = params[k]
    for k in ("ip_address", "gateway", "subnet_mask"):
        if k in out:
            check_ip(out[k], prefix + k)
    if "mac_address" in out:
        _check_mac(ctx, out["mac_address"], prefix + "mac_address", exclude)
    if params.get("connect_vlan_id") is not None:
        out["vlan"] = check_vlan(ctx, vm, params["connect_vlan_id"], prefix + "connect_vlan_id")["id"]
    if params.get("nic_id") is not None and has(ctx, "Nic"):
        if ctx.store.get("Nic", params["nic_id"]) is None:
            raise not_found_id(prefix + "nic_id", "Nic", params["nic_id"])
        if "nic" in props:
            out["nic"] = params["nic_id"]
    return out


def prepare_nic(ctx: Ctx, vm: dict, params: dict, prefix: str) -> dict:
    """A validated new VmNic row (not inserted) for `params` (VmNicParams)."""
    kind = params.get("type") or "VLAN"
    changes = nic_changes(ctx, vm, params, prefix)
    if kind != "VPC" and "vlan" not in changes:
        raise bad_request(f"{prefix}connect_vlan_id: required for a {kind} NIC", f"{prefix}connect_vlan_id: 必填")
    props = ctx.contract.resources["VmNic"].properties
    row = {"vm": vm["id"], "vlan": changes.pop("vlan", None), "type": kind, "model": "VIRTIO", "enabled": True,
           "mirror": False, "local_id": params.get("local_id") or new_uuid(), "mac_address": new_mac(),
           "ip_address": "", "gateway": "", "subnet_mask": ""}
    row.update(changes)
    return {k: v for k, v in row.items() if k in props or k == "vm"}


def attach_nics(ctx: Ctx, vm: dict, params: list | None, prefix: str = "vm_nics") -> list[str]:
    """Validate every NIC first, then insert them after the VM's current NICs; returns their ids."""
    if not has(ctx, "VmNic") or not params:
        return []
    rows = [prepare_nic(ctx, vm, p, f"{prefix}[{i}].") for i, p in enumerate(params) if isinstance(p, dict)]
    return insert_nics(ctx, vm, rows, prefix)


def insert_nics(ctx: Ctx, vm: dict, rows: list[dict], prefix: str = "vm_nics",
                given_macs: list | None = None) -> list[str]:
    """Insert NIC rows made by `prepare_nic` (for `vm` or a stand-in of it) after the VM's
    current NICs; returns their ids. `given_macs`: the MACs the params named, checked again
    against the NICs written since the rows were prepared (a VM earlier in the same request)."""
    for i, mac in enumerate(given_macs or ()):
        if mac is not None:
            _check_mac(ctx, mac, f"{prefix}[{i}].mac_address")
    macs = [r["mac_address"] for r in rows]
    if len(set(macs)) != len(macs):
        raise bad_request(f"{prefix}: the same MAC address is given twice", f"{prefix}: MAC 地址重复")
    props = ctx.contract.resources["VmNic"].properties
    start = len(nic_rows(ctx, vm)) if rows else 0
    ids = []
    for i, row in enumerate(rows):
        row["vm"] = vm["id"]
        if "order" in props:
            row["order"] = start + i
        if "interface_id" in props:
            row["interface_id"] = f"eth{start + i}"
        ids.append(ctx.store.insert("VmNic", row)["id"])
    return ids


def renumber(ctx: Ctx, vm: dict) -> None:
    if "order" not in ctx.contract.resources["VmNic"].properties:
        return
    for i, r in enumerate(nic_rows(ctx, vm)):
        if r.get("order") != i:
            ctx.store.update("VmNic", r["id"], {"order": i})


def _vm_rows(ctx: Ctx, body: Any) -> list[dict]:
    rows = locked_rows(ctx, "Vm", body)
    return rows


def _task(ctx: Ctx, vm: dict, before: list[dict], created=()) -> str | None:
    undo = row_restorer(ctx, "VmNic", before, created)
    return start_task(ctx, "Vm", vm["id"], "action", on_failure=undo)


@operation("add-vm-nic")
def add_vm_nic(ctx: Ctx, body: Any):
    rows = _vm_rows(ctx, body)
    params = ((body or {}).get("data") or {}).get("vm_nics") or []
    results = []
    # validate against every VM before changing anything
    for vm in rows:
        for i, p in enumerate(params):
            prepare_nic(ctx, vm, p, f"data.vm_nics[{i}].")
    for vm in rows:
        created = attach_nics(ctx, vm, params, "data.vm_nics")
        results.append((_task(ctx, vm, [], created), "Vm", vm["id"]))
    return respond(ctx, results)


def _nic_at(ctx: Ctx, vm: dict, index: Any, field: str) -> dict:
    nics = nic_rows(ctx, vm)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(nics):
        raise bad_request(f"{field}: VM {vm.get('name')} ({vm['id']}) has no NIC at index {index} "
                          f"(it has {len(nics)})", f"{field}: 虚拟机 {vm.get('name')} 没有序号为 {index} 的网卡")
    return nics[index]


@operation("update-vm-nic")
def update_vm_nic(ctx: Ctx, body: Any):
    rows = _vm_rows(ctx, body)
    data = (body or {}).get("data") or {}
    planned = []
    for vm in rows:
        nic = _nic_at(ctx, vm, data.get("nic_index"), "data.nic_index")
        planned.append((vm, nic, nic_changes(ctx, vm, data, "data.", exclude=nic["id"])))
    results = []
    for vm, nic, changes in planned:
        if changes:
            ctx.store.update("VmNic", nic["id"], changes)
        results.append((_task(ctx, vm, [nic]), "Vm", vm["id"]))
    return respond(ctx, results)


@operation("update-vm-nic-basic-info", "update-vm-nic-advance-info", "update-vm-nic-qos-option")
def update_nic_by_where(ctx: Ctx, body: Any):
    """where: VmNicWhereInput; one task per VM owning a matched NIC."""
    store = ctx.store
    nics = where_rows(ctx, "VmNic", (body or {}).get("where"))
    vms: dict[str, dict] = {}
    for n in nics:
        vm = store.get("Vm", n.get("vm"))
        if vm is not None:
            vms.setdefault(vm["id"], vm)
    check_unlocked(ctx, "Vm", vms.values())
    data = (body or {}).get("data") or {}
    planned = [(n, nic_changes(ctx, vms[n["vm"]], data, "data.", exclude=n["id"]))
               for n in nics if n.get("vm") in vms]
    if ctx.op.name == "update-vm-nic-qos-option":
        planned = [(n, _qos(ctx, data)) for n, _ in planned]
    before: dict[str, list] = {}
    for n, changes in planned:
        before.setdefault(n["vm"], []).append(n)
        if changes:
            store.update("VmNic", n["id"], changes)
    results = [(_task(ctx, vms[vid], rows), "Vm", vid) for vid, rows in before.items()]
    return respond(ctx, results)


def _qos(ctx: Ctx, data: dict) -> dict:
    props = ctx.contract.resources["VmNic"].properties
    qos = data.get("qos") or {}
    out = {}
    for way in ("ingress", "egress"):
        t = qos.get(way)
        if not isinstance(t, dict):
            continue
        if "enabled" in t and f"{way}_rate_limit_enabled" in props:
            out[f"{way}_rate_limit_enabled"] = bool(t["enabled"])
        if t.get("rate_limit") is not None and f"{way}_rate_limit_max_rate_in_bitps" in props:
            out[f"{way}_rate_limit_max_rate_in_bitps"] = float(t["rate_limit"]) * BIT_UNITS.get(
                str(t.get("rate_limit_unit") or "bps").lower(), 1)
        if t.get("burst") is not None and f"{way}_rate_limit_burst_in_bit" in props:
            out[f"{way}_rate_limit_burst_in_bit"] = float(t["burst"]) * BIT_UNITS.get(
                str(t.get("burst_unit") or "b").lower(), 1)
    return out


@operation("remove-vm-nic")
def remove_vm_nic(ctx: Ctx, body: Any):
    store = ctx.store
    rows = _vm_rows(ctx, body)
    indexes = ((body or {}).get("data") or {}).get("nic_index") or []
    planned = []
    for vm in rows:
        planned.append((vm, [_nic_at(ctx, vm, i, "data.nic_index") for i in indexes]))
    results = []
    for vm, gone in planned:
        before = nic_rows(ctx, vm)
        for n in gone:
            store.delete("VmNic", n["id"])
        renumber(ctx, vm)
        results.append((_task(ctx, vm, before), "Vm", vm["id"]))
    return respond(ctx, results)


@operation("remove-vm-nic-by-where")
def remove_vm_nic_by_where(ctx: Ctx, body: Any):
    store = ctx.store
    nics = where_rows(ctx, "VmNic", (body or {}).get("where"))
    only = ((body or {}).get("effect") or {}).get("vm_ids")
    if only:
        for vid in only:
            if store.get("Vm", vid) is None:
                raise not_found_id("effect.vm_ids", "Vm", vid)
        nics = [n for n in nics if n.get("vm") in set(only)]
    vms = {n["vm"]: store.get("Vm", n["vm"]) for n in nics if n.get("vm") and store.get("Vm", n["vm"])}
    check_unlocked(ctx, "Vm", vms.values())
    results = []
    for vid, vm in vms.items():
        before = nic_rows(ctx, vm)
        for n in nics:
            if n.get("vm") == vid:
                store.delete("VmNic", n["id"])
        renumber(ctx, vm)
        results.append((_task(ctx, vm, before), "Vm", vid))
    return respond(ctx, results)
