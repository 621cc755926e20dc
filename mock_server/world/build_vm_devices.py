"""A VM's devices: its disks (`build_vm_disks`), an optional CD-ROM holding one of the
cluster's ISOs, and NICs on the cluster's VLANs."""

from __future__ import annotations

from .build_vm_disks import VmDiskBuilder
from .scenario import VmSpec
from .values import mac
from .vm_kit import VmKit


class VmDeviceBuilder(VmDiskBuilder):
    def _vm_cdrom(self, kit: VmKit, ctx: dict, vm: dict, spec: VmSpec | None, ndisks: int,
                  windows: bool) -> dict | None:
        """An optional CD-ROM after the disks; the ISO image it holds (or None)."""
        rand = self.rng.random
        cdrom = spec.cdrom if spec is not None and spec.cdrom is not None else rand() < self.sc.cdrom_fraction
        if not (cdrom and kit.has_disk):
            return None
        disk = kit.disk_tpl.copy()
        disk.update(id=self.mint(), type=kit.t_cd, bus=kit.bus_i or (kit.bus_s if windows else kit.bus_v),
                    boot=ndisks + 1, key=ndisks, device="hdc")
        self.rows["VmDisk"][disk["id"]] = disk
        kit.link_disk_vm(disk, vm["id"])
        cd_image = None
        if ctx["isos"] and rand() < 0.7:
            cd_image = self.rng.choice(ctx["isos"])
            kit.link_disk_img(disk, cd_image["id"])
        self.rows["VmDisk"][disk["id"]] = kit.disk_shape(disk)
        return cd_image

    def _vm_nics(self, kit: VmKit, ctx: dict, vm: dict, spec: VmSpec | None, k: int, ip: str,
                 running: bool) -> list[tuple]:
        """The VM's NICs, the first on the cluster's default VLAN; (index, row, VLAN) per NIC."""
        nics = []
        nnics = spec.nics if spec is not None and spec.nics is not None else self.sc.nics_per_vm
        if not kit.has_nic:
            return nics
        rng, uuid, mint, pick = self.rng, self.uuid, self.mint, self.pick
        o2 = ctx["o2"]
        vlans = ctx["vlans"]
        gateway = kit.gateway(o2)
        vid = vm["id"]
        nic_rows = self.rows["VmNic"]
        make = kit.make_nic
        for n in range(nnics):
            vlan = vlans[0] if n == 0 or len(vlans) == 1 else pick(vlans)
            nic_ip = ip if n == 0 else f"172.{16 + n % 16}.{(k // 250) % 256}.{k % 250 + 5}"
            if make is not None and vlan is not None:
                nic_id = mint()
                nic = nic_rows[nic_id] = make(nic_id, uuid(), mac(rng), nic_ip if running else "", gateway, n,
                                              kit.interface(n), vid, vlan["id"])
                nics.append((n, nic, vlan))
                continue
            nic = kit.nic_tpl.copy()
            nic.update(id=mint(), local_id=uuid(), mac_address=mac(rng),
                       ip_address=nic_ip if running else "", gateway=gateway,
                       order=n, interface_id=kit.interface(n))
            for key in kit.nic_drop:
                nic.pop(key, None)
            nic_rows[nic["id"]] = nic
            kit.link_nic_vm(nic, vid)
            kit.link_nic_vlan(nic, vlan["id"] if vlan else None)
            nic = nic_rows[nic["id"]] = kit.nic_shape(nic)
            nics.append((n, nic, vlan))
        return nics
