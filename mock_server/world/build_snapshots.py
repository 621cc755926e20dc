"""VM snapshots: frozen copies of their VM's disks (each naming a real LUN snapshot) and NICs."""

from __future__ import annotations

from .build_base import BuilderBase
from .values import uuid4


class VmSnapshotBuilder(BuilderBase):
    def build_vm_snapshots(self) -> None:
        rng, P = self.rng, self.pools
        if not self.snap_jobs:
            return
        res = self.res["VmSnapshot"]
        props = res.properties
        tpl = self.template("VmSnapshot")
        tpl.update(self._keep("VmSnapshot", {"consistent_type": self.enum("VmSnapshot", "consistent_type",
                                                                          "CRASH_CONSISTENT")}))
        fd_schema = self.c.resolve(props["vm_disks"]).get("items") if "vm_disks" in props else None
        fn_schema = self.c.resolve(props["vm_nics"]).get("items") if "vm_nics" in props else None
        fd_props, _ = self.synth.obj_shape(fd_schema) if fd_schema else ({}, None)
        fd_tpl = self.synth.obj(fd_schema, 1, 0.0) if fd_schema else {}
        fn_props, _ = self.synth.obj_shape(fn_schema) if fn_schema else ({}, None)
        fn_tpl = self.synth.obj(fn_schema, 1, 0.0) if fn_schema else {}
        vlan_schema = fn_props.get("vlan")
        t_disk = self.enum("VmDisk", "type", "DISK") or "DISK"
        t_cd = self.enum("VmDisk", "type", "CD_ROM") or "CD_ROM"
        link_vm, link_cluster = self.linker("VmSnapshot", "vm"), self.linker("VmSnapshot", "cluster")
        lun_rows, vol_rows = self.rows.get("IscsiLun", {}), self.rows.get("VmVolume", {})
        bus_v = self.enum("VmDisk", "bus", "VIRTIO") or "VIRTIO"
        bus_s = self.enum("VmDisk", "bus", "SCSI") or "SCSI"
        bus_i = self.enum("VmDisk", "bus", "IDE") or "IDE"
        ctype = [v for v in self.c.enum_values(props.get("consistent_type")) or ("CRASH_CONSISTENT",)]
        for vm, disks, nics, nsnap, ci, cd_image in self.snap_jobs:
            ctx = self.cl[ci]
            for s in range(nsnap):
                frozen = []
                total = 0
                for d, size, vol_id, lun_id in disks:
                    vol = vol_rows.get(vol_id) if vol_id else None
                    lun = lun_rows.get(lun_id) if lun_id else None
                    fd = fd_tpl.copy()
                    fd.update(type=t_disk, boot=d + 1, bus=bus_s if vm.get("win_opt") else bus_v, index=d,
                              path=vol["path"] if vol else "", size=size, storage_policy_uuid=uuid4(rng),
                              vm_volume_local_id=vol["local_id"] if vol else "", elf_image_local_id="",
                              svt_image_local_id="", disk_name=vol["name"] if vol else f"disk{d + 1}", key=d,
                              disabled=False)
                    if lun is not None:
                        name = uuid4(rng)
                        self.new_lun_snapshot(lun, lun.get("iscsi_target") or lun.get("_target") or ctx["target"]["id"],
                                              name)
                        fd["snapshot_local_id"] = name
                    total += size
                    frozen.append({k: v for k, v in fd.items() if k in fd_props and v is not None})
                if cd_image is not None:
                    fd = fd_tpl.copy()
                    fd.update(type=t_cd, boot=len(disks) + 1, bus=bus_i,
                              index=len(disks), path=cd_image.get("path", ""), size=cd_image.get("size", 0),
                              storage_policy_uuid="", vm_volume_local_id="",
                              elf_image_local_id=cd_image.get("local_id", ""), svt_image_local_id="",
                              image_name=cd_image.get("name"), key=len(disks))
                    fd.pop("snapshot_local_id", None)
                    frozen.append({k: v for k, v in fd.items() if k in fd_props and v is not None})
                fnics = []
                for n, nic, vlan in nics:
                    fn = fn_tpl.copy()
                    fn.update(index=n, mac_address=nic.get("mac_address", ""), ip_address=nic.get("ip_address", ""),
                              gateway=nic.get("gateway", ""), subnet_mask=nic.get("subnet_mask", "255.255.0.0"),
                              model=nic.get("model"), enabled=True, mirror=False)
                    if vlan_schema is not None and vlan is not None:
                        vobj = dict(fn.get("vlan") or {})
                        vprops, _ = self.synth.obj_shape(vlan_schema)
                        for key, val in (("vlan_id", vlan.get("vlan_id")), ("name", vlan.get("name")),
                                         ("vlan_local_id", vlan.get("local_id")), ("local_id", vlan.get("local_id"))):
                            if key in vprops and val is not None:
                                vobj[key] = val
                        fn["vlan"] = vobj
                    fnics.append({k: v for k, v in fn.items() if k in fn_props and v is not None})
                row = tpl.copy()
                row.update(self._keep("VmSnapshot", {
                    "name": f"{vm['name']}-snapshot-{s + 1}", "local_id": uuid4(rng),
                    "vcpu": vm.get("vcpu"), "cpu": vm.get("cpu"), "memory": vm.get("memory"),
                    "firmware": vm.get("firmware"), "ha": vm.get("ha"), "win_opt": vm.get("win_opt"),
                    "clock_offset": vm.get("clock_offset"), "cpu_model": vm.get("cpu_model"),
                    "description": "", "size": total, "local_created_at": P.ts(),
                    "consistent_type": rng.choice(ctype), "vm_disks": frozen, "vm_nics": fnics}))
                row = self.add("VmSnapshot", row)
                link_vm(row, vm["id"])
                link_cluster(row, ctx["row"]["id"])
