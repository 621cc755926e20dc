"""`get-backup-restore-point-metadata`: the configuration of the VM a restore point holds
(VmMetaData), as a restore (backup-rebuild-vm) would recreate it.

Derived from the world: the restore point's VM with its disks (and their volumes), NICs (and
their VLANs), host and cluster. The mock keeps no copy of a VM frozen at backup time, so the
VM's current configuration stands for it. A restore point whose VM is gone still answers what
the point itself records (the VM's name and local id, its cluster's local id and what that
cluster says); every other field is null, never invented. An unknown restore point is a 404.
"""

from __future__ import annotations

from typing import Any

from . import Ctx, operation
from .lookups import unique_row

VM_FIELDS = ("name", "local_id", "description", "vcpu", "memory", "ha", "firmware", "guest_os_type",
             "video_type", "win_opt", "vm_tools_status", "nested_virtualization", "clock_offset", "cpu_model",
             "io_policy", "max_iops", "max_iops_policy", "max_bandwidth", "max_bandwidth_policy", "internal",
             "protected", "ha_priority", "sync_vm_time_on_resume", "boot_with_host")
DISK_FIELDS = ("boot", "bus", "type", "disabled", "max_iops", "max_iops_policy", "max_bandwidth",
               "max_bandwidth_policy")
NIC_FIELDS = ("local_id", "mac_address", "model", "enabled", "mirror", "ingress_rate_limit_enabled",
              "ingress_rate_limit_max_rate_in_bitps", "ingress_rate_limit_burst_in_bit",
              "egress_rate_limit_enabled", "egress_rate_limit_max_rate_in_bitps", "egress_rate_limit_burst_in_bit")


@operation("get-backup-restore-point-metadata")
def restore_point_metadata(ctx: Ctx, body: Any):
    where = body.get("where") if isinstance(body, dict) else None
    point = unique_row(ctx, "BackupRestorePoint", where, "where")
    store = ctx.store
    vm_id = store.related_ids("BackupRestorePoint", point, "vm")
    vm = store.get("Vm", vm_id) if vm_id else None
    if vm is not None and point.get("vm_local_id") not in (None, vm.get("local_id")):
        vm = None                  # the relation names another VM than the point recorded
    out = _from_vm(ctx, vm) if vm is not None else {
        "name": point.get("vm_name"), "local_id": point.get("vm_local_id"), "vm_disks": None, "vm_nics": None}
    cluster = _cluster(ctx, vm, point)
    out.update(_from_cluster(cluster, point))
    props = ctx.contract.properties(ctx.op.response_schema)
    return {k: out.get(k) for k in props} if props else out


def _from_vm(ctx: Ctx, vm: dict) -> dict:
    store = ctx.store
    out = {k: vm.get(k) for k in VM_FIELDS}
    cpu = vm.get("cpu") or {}
    out["cpu_sockets"], out["cpu_cores"] = cpu.get("sockets"), cpu.get("cores")
    exclusive = vm.get("cpu_exclusive") or {}
    out["cpu_exclusive_expected_enabled"] = exclusive.get("expected_enabled")
    host_id = store.related_ids("Vm", vm, "host")
    host = store.get("Host", host_id) if host_id else None
    out["host_local_id"] = host.get("local_id") if host else None
    disks = [store.get("VmDisk", d) for d in store.related_ids("Vm", vm, "vm_disks") or ()]
    disks = sorted((d for d in disks if d is not None), key=lambda d: (d.get("boot") is None, d.get("boot") or 0))
    out["vm_disks"] = [_disk(ctx, d) for d in disks]
    nics = [store.get("VmNic", n) for n in store.related_ids("Vm", vm, "vm_nics") or ()]
    out["vm_nics"] = [_nic(ctx, n) for n in sorted((n for n in nics if n is not None),
                                                   key=lambda n: n.get("order") or 0)]
    return out


def _disk(ctx: Ctx, disk: dict) -> dict:
    store = ctx.store
    out = {k: disk.get(k) for k in DISK_FIELDS}
    vol_id = store.related_ids("VmDisk", disk, "vm_volume")
    vol = store.get("VmVolume", vol_id) if vol_id else None
    if vol is not None:
        lun_id = store.related_ids("VmVolume", vol, "lun")
        lun = store.get("IscsiLun", lun_id) if lun_id and "IscsiLun" in store.tables else None
        out.update({"vm_volume_name": vol.get("name"), "vm_volume_path": vol.get("path"),
                    "vm_volume_size": vol.get("size"), "vm_volume_sharing": vol.get("sharing"),
                    "vm_volume_mounting": vol.get("mounting"),
                    "vm_volume_elf_storage_policy": vol.get("elf_storage_policy"),
                    "vm_volume_lun_zbs_volume_id": (lun or {}).get("zbs_volume_id")})
    return out


def _nic(ctx: Ctx, nic: dict) -> dict:
    store = ctx.store
    out = {k: nic.get(k) for k in NIC_FIELDS}
    vlan_id = store.related_ids("VmNic", nic, "vlan")
    vlan = store.get("Vlan", vlan_id) if vlan_id else None
    out["vlan_name"] = vlan.get("name") if vlan else None
    out["vlan_local_id"] = vlan.get("local_id") if vlan else None
    out["vlan_mode_type"] = vlan.get("mode_type") if vlan else None
    return out


def _cluster(ctx: Ctx, vm: dict | None, point: dict) -> dict | None:
    store = ctx.store
    if vm is not None:
        cid = store.related_ids("Vm", vm, "cluster")
        if cid:
            return store.get("Cluster", cid)
    local = point.get("cluster_local_id")
    rows = store.find_by("Cluster", "local_id", local) if local else []
    return rows[0] if rows else None


def _from_cluster(cluster: dict | None, point: dict) -> dict:
    if cluster is None:
        return {"cluster_local_id": point.get("cluster_local_id")}
    return {"cluster_local_id": cluster.get("local_id"), "cluster_version": cluster.get("version"),
            "cluster_type": cluster.get("type"), "cluster_architecture": cluster.get("architecture"),
            "cluster_vhost_enabled": cluster.get("vhost_enabled")}
