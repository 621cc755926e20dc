"""A VM's disks -> volumes -> iSCSI LUNs in its cluster's datastore target."""

from __future__ import annotations

from .build_base import BuilderBase
from .scenario import VmSpec
from .values import uuid4
from .vm_kit import VmKit


class VmDiskBuilder(BuilderBase):
    def _vm_disks(self, kit: VmKit, ctx: dict, vm: dict, spec: VmSpec | None, windows: bool) -> list[tuple]:
        """Disks -> volumes -> LUNs in the cluster's datastore target; (index, size, volume id,
        LUN id) per disk. Sets the VM's size."""
        ndisks = spec.disks if spec is not None and spec.disks is not None else self.sc.disks_per_vm
        target = ctx.get("target")
        if kit.chain is not None and target:
            disks, total = self._vm_disk_chains(kit, ctx, vm, ndisks, windows, target["id"])
        else:
            disks, total = self._vm_disks_linked(kit, ctx, vm, ndisks, windows)
        total = kit.shared(total)
        if "size" in kit.vm_props:
            vm["size"] = total
        if "provisioned_size" in kit.vm_props:
            vm["provisioned_size"] = total
        return disks

    def _vm_disk_chains(self, kit: VmKit, ctx: dict, vm: dict, ndisks: int, windows: bool,
                        target_id: str) -> tuple[list[tuple], int]:
        """`_vm_disks_linked` when the contract has the whole chain, each relation stored on
        the side that names one row (kit.chain): each row made in one call, the same rows,
        drawing the same random numbers in the same order."""
        rng, mint, uuid, uuids = self.rng, self.mint, self.uuid, self.uuids
        below, sizes, ts_pool = rng._randbelow, kit.disk_sizes, self.pools.timestamps
        make_lun, make_vol, make_disk = kit.chain
        name, vid, cid, iqn = vm["name"], vm["id"], ctx["row"]["id"], ctx["iqn"]
        lun_rows, vol_rows, disk_rows = self.rows["IscsiLun"], self.rows["VmVolume"], self.rows["VmDisk"]
        created = vm.get("local_created_at")
        bus = kit.bus_s if windows else kit.bus_v
        scsi = bus == kit.bus_s
        t_disk, device = kit.t_disk, kit.device
        seq = ctx["lun_seq"]
        total = 0
        disks = []
        for d in range(ndisks):
            dname = f"{name}-disk{d + 1}"          # one string for the LUN and the volume
            size = kit.first_disk if d == 0 else sizes[below(len(sizes))]
            total += size
            seq += 1
            lun_id = mint()
            if created:                         # no draw between the three uuids
                lun_uuid, zbs_uuid, vol_uuid = uuids(3)
                lun_rows[lun_id] = make_lun(lun_id, dname, lun_uuid, zbs_uuid, seq, size, created, target_id)
            else:
                lun_rows[lun_id] = make_lun(lun_id, dname, uuid(), uuid(), seq, size,
                                            ts_pool[below(len(ts_pool))], target_id)
                vol_uuid = uuid()
            vol_id = mint()
            vol_rows[vol_id] = make_vol(vol_id, dname, vol_uuid, f"iscsi://{iqn}/{seq}", size,
                                        created or ts_pool[below(len(ts_pool))], cid, lun_id)
            disk_id = mint()
            disk_rows[disk_id] = make_disk(disk_id, t_disk, bus, d + 1, d, device(scsi, d), vid, vol_id)
            disks.append((d, size, vol_id, lun_id))
        ctx["lun_seq"] = seq
        return disks, total

    def _vm_disks_linked(self, kit: VmKit, ctx: dict, vm: dict, ndisks: int, windows: bool) -> tuple[list[tuple], int]:
        """The disks of any contract: rows copied from the templates, relations linked on
        whichever side the contract stores."""
        rng, mint = self.rng, self.mint
        choice, ts_pool = rng.choice, self.pools.timestamps
        name, vid, cid = vm["name"], vm["id"], ctx["row"]["id"]
        lun_rows, vol_rows, disk_rows = (self.rows.get(m) for m in ("IscsiLun", "VmVolume", "VmDisk"))
        bus = kit.bus_s if windows else kit.bus_v
        total = 0
        disks = []
        for d in range(ndisks):
            dname = f"{name}-disk{d + 1}"          # one string for the LUN and the volume
            size = kit.first_disk if d == 0 else choice(kit.disk_sizes)
            total += size
            vol_id = lun_id = None
            if kit.has_lun and ctx.get("target"):
                ctx["lun_seq"] += 1
                lun = self.lun_tpl.copy()
                lun_id = mint()
                lun.update(id=lun_id, name=dname, local_id=uuid4(rng),
                           zbs_volume_id=uuid4(rng), lun_id=ctx["lun_seq"], assigned_size=size,
                           local_created_at=vm.get("local_created_at") or choice(ts_pool))
                lun_rows[lun_id] = lun
                kit.link_lun_target(lun, ctx["target"]["id"])
            if kit.has_vol:
                vol = kit.vol_tpl.copy()
                vol_id = mint()
                vol.update(id=vol_id, name=dname, local_id=uuid4(rng),
                           path=f"iscsi://{ctx['iqn']}/{ctx['lun_seq']}", size=size,
                           local_created_at=vm.get("local_created_at") or choice(ts_pool))
                vol_rows[vol_id] = vol
                kit.link_vol_cluster(vol, cid)
                kit.link_vol_lun(vol, lun_id)
                vol_rows[vol_id] = kit.vol_shape(vol)
            if kit.has_disk:
                disk = kit.disk_tpl.copy()
                disk.update(id=mint(), type=kit.t_disk, bus=bus, boot=d + 1, key=d,
                            device=kit.device(bus == kit.bus_s, d))
                disk_rows[disk["id"]] = disk
                kit.link_disk_vm(disk, vid)
                kit.link_disk_vol(disk, vol_id)
                disk_rows[disk["id"]] = kit.disk_shape(disk)
            disks.append((d, size, vol_id, lun_id))
        return disks, total
