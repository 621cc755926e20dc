"""The storage chain of a VM: VmDisk -> VmVolume -> IscsiLun kept consistent (creation,
mounting, the rollbacks and deleters used by the VM, disk and template behaviours), and the
size units of the API (a size or memory without a unit is in bytes).

Leaf module of the VM behaviours: it imports nothing from vm.py, nics.py or disks.py.
"""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from . import Ctx
from .mutations import fill_required, not_found_id
from .synth import new_uuid, random_bits

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
        base["local_id"] = new_uuid()
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
        if has(ctx, "IscsiTarget"):         # the cluster's first target (lowest id)
            if cluster_id is None:
                target = store.first("IscsiTarget")
            else:
                hits = store.find_by("IscsiTarget", "cluster", cluster_id)
                target = hits[0] if hits else None
        over = {"name": f"{name}-lun-{random_bits(24):06x}", "zbs_volume_id": new_uuid(),
                "assigned_size": size, "snapshot_num": 0, "consistency_group": None}
        if target is not None:
            over["iscsi_target"] = target["id"]
            over["lun_id"] = store.count_by("IscsiLun", "iscsi_target", target["id"]) + 1
        lun_id = template_row(ctx, "IscsiLun", over)["id"]
    over = {"name": name, "size": size, "lun": lun_id, "sharing": False, "mounting": True,
            "path": f"iscsi://iqn.2016-02.com.smartx:system:zbs-iscsi-datastore-{new_uuid()}/{1}"}
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


def volume_users(ctx: Ctx, vol: dict) -> set[str]:
    """The VMs whose disks use volume `vol`."""
    store = ctx.store
    return {(store.get("VmDisk", d) or {}).get("vm") for d in store.related_ids("VmVolume", vol, "vm_disks")} - {None}


def check_disks(ctx: Ctx, cluster: str | None, disks: dict | None, prefix: str = "vm_disks.",
                vms: int = 1) -> None:
    """Refuse a VmDiskParams before anything is written: unknown or foreign volumes and
    images, a volume that is not shareable and already mounted, sizes that do not fit."""
    store = ctx.store
    disks = disks or {}
    for i, d in enumerate(disks.get("mount_new_create_disks") or []):
        vol = d.get("vm_volume") or {}
        if to_bytes(vol.get("size", 0), vol.get("size_unit")) <= 0:
            raise bad_request(f"{prefix}mount_new_create_disks[{i}].vm_volume.size: must be positive, got "
                              f"{vol.get('size')}", f"{prefix}mount_new_create_disks[{i}].vm_volume.size: 必须大于 0")
    seen = set()
    for i, d in enumerate(disks.get("mount_disks") or []):
        field = f"{prefix}mount_disks[{i}].vm_volume_id"
        vid = d.get("vm_volume_id")
        vol = store.get("VmVolume", vid) if isinstance(vid, str) and has(ctx, "VmVolume") else None
        if vol is None:
            raise not_found_id(field, "VmVolume", vid)
        if cluster and vol.get("cluster") and vol.get("cluster") != cluster:
            raise bad_request(f"{field}: volume {vol.get('name')} ({vid}) is in another cluster",
                              f"{field}: 卷 {vol.get('name')} 属于其他集群")
        if not vol.get("sharing") and (volume_users(ctx, vol) or vid in seen or vms > 1):
            raise bad_request(f"{field}: volume {vol.get('name')} ({vid}) is not shareable and already mounted",
                              f"{field}: 卷 {vol.get('name')} 不可共享且已被挂载")
        seen.add(vid)
    for i, d in enumerate(disks.get("mount_cd_roms") or []):
        img = d.get("elf_image_id")
        if img and has(ctx, "ElfImage") and store.get("ElfImage", img) is None:
            raise not_found_id(f"{prefix}mount_cd_roms[{i}].elf_image_id", "ElfImage", img)
        cl_img = d.get("content_library_image_id")
        if cl_img and has(ctx, "ContentLibraryImage") and store.get("ContentLibraryImage", cl_img) is None:
            raise not_found_id(f"{prefix}mount_cd_roms[{i}].content_library_image_id", "ContentLibraryImage", cl_img)


def cd_rom_image(ctx: Ctx, cluster: str | None, params: dict) -> dict:
    """The VmDisk fields of a CD-ROM loading `elf_image_id`, or the cluster's copy of the
    content-library image `content_library_image_id`."""
    store = ctx.store
    if params.get("elf_image_id") and has(ctx, "ElfImage"):
        return {"elf_image": params["elf_image_id"]}
    cl_img = params.get("content_library_image_id")
    if cl_img and has(ctx, "ElfImage", "content_library_image"):
        for img in store.find_by("ElfImage", "content_library_image", cl_img):
            if not cluster or img.get("cluster") in (None, cluster):
                return {"elf_image": img["id"]}
    return {}


def attach_disks(ctx: Ctx, vm: dict, disks: dict | None, prefix: str = "vm_disks.") -> list[dict]:
    """Give `vm` the disks of a VmDiskParams (checked first); sizes without a unit are bytes.
    Returns the new VmDisk rows."""
    disks = disks or {}
    cluster = vm.get("cluster")
    check_disks(ctx, cluster, disks, prefix)
    made = []
    for i, d in enumerate(disks.get("mount_new_create_disks") or []):
        vol = d.get("vm_volume") or {}
        size = to_bytes(vol.get("size", 0), vol.get("size_unit"))
        v = new_volume(ctx, cluster, vol.get("name") or f"{vm.get('name')}-disk{i}", size,
                       vol.get("elf_storage_policy"))
        made.append(new_disk(ctx, vm["id"], v["id"] if v else None, bus=d.get("bus"), boot=d.get("boot", i)))
    for d in disks.get("mount_disks") or []:
        made.append(new_disk(ctx, vm["id"], d["vm_volume_id"], bus=d.get("bus"), boot=d.get("boot", 0)))
        set_mounting(ctx, [d["vm_volume_id"]])
    for d in disks.get("mount_cd_roms") or []:
        extra = cd_rom_image(ctx, cluster, d)
        if d.get("key") is not None and has(ctx, "VmDisk", "key"):
            extra["key"] = d["key"]
        made.append(new_disk(ctx, vm["id"], None, bus=d.get("bus") or "IDE", boot=d.get("boot", 0), cd_rom=True,
                             extra=extra))
    return [m for m in made if m]


def set_mounting(ctx: Ctx, vol_ids) -> None:
    """A volume is `mounting` while a disk uses it."""
    if not has(ctx, "VmVolume", "mounting"):
        return
    store = ctx.store
    for vid in {v for v in vol_ids if v}:
        row = store.get("VmVolume", vid)
        if row is not None:
            used = bool(store.related_ids("VmVolume", row, "vm_disks"))
            if row.get("mounting") != used:
                store.update("VmVolume", vid, {"mounting": used})


def mounting_refresher(ctx: Ctx, vol_ids):
    vol_ids = [v for v in vol_ids if v]
    return lambda: set_mounting(ctx, vol_ids)


def vm_disk_rows(ctx: Ctx, vm: dict) -> list[dict]:
    if not has(ctx, "VmDisk"):
        return []
    return [r for r in (ctx.store.get("VmDisk", i) for i in ctx.store.related_ids("Vm", vm, "vm_disks")) if r]


def mounted_volume_ids(params: dict | None) -> list[str]:
    """The existing volumes a creation's params mount (`vm_disks`, `disk_operate`)."""
    params = params or {}
    out = []
    for disks in (params.get("vm_disks"), (params.get("disk_operate") or {}).get("new_disks")):
        if isinstance(disks, dict):
            out += [d.get("vm_volume_id") for d in disks.get("mount_disks") or [] if d.get("vm_volume_id")]
    out += [m.get("vm_volume_id") for m in (params.get("disk_operate") or {}).get("modify_disks") or []
            if isinstance(m, dict) and m.get("vm_volume_id")]
    return out


def drop_volumes(ctx: Ctx, vm_id: str, keep=()):
    """Rollback of a failed create: the VM's disks and the volumes (and LUNs) made for it go;
    the existing volumes it mounted (`keep`) stay, unmounted again."""
    store = ctx.store
    keep = set(keep)
    disks = [d["id"] for d in store.find_by("VmDisk", "vm", vm_id)] if has(ctx, "VmDisk") else []
    vols = [d.get("vm_volume") for d in store.find_by("VmDisk", "vm", vm_id)] if has(ctx, "VmDisk") else []

    def drop():
        for d in disks:
            if store.get("VmDisk", d) is not None:
                store.delete("VmDisk", d)
        for v in vols:
            row = store.get("VmVolume", v) if v else None
            if row is not None and v not in keep:
                if row.get("lun") and has(ctx, "IscsiLun") and store.get("IscsiLun", row["lun"]) is not None:
                    store.delete("IscsiLun", row["lun"])
                store.delete("VmVolume", v)
        set_mounting(ctx, keep)
    return drop


def volumes_deleter(ctx: Ctx, vm: dict):
    """After a VM is deleted: its volumes go unless shared or still mounted elsewhere (those
    keep their `mounting` true to what is left)."""
    store = ctx.store
    vols = [d.get("vm_volume") for d in vm_disk_rows(ctx, vm) if d.get("vm_volume")]

    def run():
        for v in vols:
            row = store.get("VmVolume", v)
            if row is None:
                continue
            if row.get("sharing") or store.related_ids("VmVolume", row, "vm_disks"):
                set_mounting(ctx, [v])
                continue
            if row.get("lun") and has(ctx, "IscsiLun") and store.get("IscsiLun", row["lun"]) is not None:
                store.delete("IscsiLun", row["lun"])
            store.delete("VmVolume", v)
    return run


def volume_dropper(ctx: Ctx, vol_ids: list[str]):
    store = ctx.store

    def drop():
        for v in vol_ids:
            row = store.get("VmVolume", v)
            if row is not None:
                if row.get("lun") and has(ctx, "IscsiLun"):
                    store.delete("IscsiLun", row["lun"])
                store.delete("VmVolume", v)
    return drop
