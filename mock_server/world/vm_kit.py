"""What every VM of a world is made from, prepared once per build: row templates of VMs,
disks, volumes and NICs (synthesised from the contract, then given CloudTower's usual
values), the enum values the contract offers, a pool of `cpu` objects, and the fast linkers
of the relations a VM build writes."""

from __future__ import annotations

from .rowshape import RowShape
from .values import GiB
from .vocab import CPU_SHAPES, DISK_GIB, MEM_GIB

# The fields `VmBuilder._new_vm` sets on every VM.
VM_FIELDS = frozenset(("name", "local_id", "status", "vcpu", "cpu", "memory", "ips", "node_ip", "guest_os_type",
                       "os", "firmware", "ha", "win_opt", "vm_tools_status", "vm_tools_version", "hostname",
                       "local_created_at", "description"))


class VmKit:
    def __init__(self, b):
        """`b`: the world builder (its contract, synthesiser, rows and linkers)."""
        P = b.pools
        self.has_disk, self.has_vol, self.has_lun = b.has("VmDisk"), b.has("VmVolume"), b.has("IscsiLun")
        self.has_nic, self.has_snap = b.has("VmNic"), b.has("VmSnapshot")
        vm_props = self.vm_props = b.res["Vm"].properties
        self.vm_tpl = b.template("Vm")
        self.vm_tpl.update(b._keep("Vm", {
            "internal": False, "in_recycle_bin": False, "protected": False, "nested_virtualization": False,
            "win_opt": False, "out_uninstall_usb": [], "cpu_model": "Skylake-Server-IBRS",
            "clock_offset": b.enum("Vm", "clock_offset", "UTC"), "description": "",
            "video_type": b.enum("Vm", "video_type", "CIRRUS"), "cloud_init_supported": False}))
        self.vm_drop = tuple(k for k in ("host", "cluster", "folder", "guest_os_type", "os", "local_created_at",
                                         "size", "provisioned_size", "vm_tools_version", "hostname", "ips",
                                         "node_ip", "firmware", "ha", "vm_tools_status", "memory_usage",
                                         "cpu_usage", "last_shutdown_time", "cloud_init_supported")
                             if k not in vm_props)
        # The template's None values (and fields the contract lacks) would be dropped from each
        # VM: drop them once here; only the enum fields set per VM can still be None.
        for k in [k for k, v in self.vm_tpl.items() if (v is None or k in self.vm_drop) and k not in VM_FIELDS]:
            del self.vm_tpl[k]
        self.vm_nullable = ("status", "guest_os_type", "firmware", "vm_tools_status")
        self.st = {s: b.enum("Vm", "status", s) for s in ("RUNNING", "STOPPED", "SUSPENDED")}
        self.tools = {s: b.enum("Vm", "vm_tools_status", s) for s in ("RUNNING", "NOT_RUNNING", "NOT_INSTALLED")}
        self.fw_bios, self.fw_uefi = b.enum("Vm", "firmware", "BIOS"), b.enum("Vm", "firmware", "UEFI")
        self.gos = {g: b.enum("Vm", "guest_os_type", g) for g in ("LINUX", "WINDOWS", "UNKNOWN")}
        self.cpu_pool = {}
        cpu_schema = vm_props.get("cpu")
        for s, c in CPU_SHAPES:
            obj = b.synth.value("cpu", cpu_schema) if cpu_schema else {}
            obj = dict(obj) if isinstance(obj, dict) else {}
            obj.update(sockets=s, cores=c)
            self.cpu_pool[(s, c)] = obj
        self.descriptions = ("",) * 6 + tuple(P.sentences[:10])
        # Values repeated over the VMs are one object each (sizes, device names, gateways).
        self.mem_sizes = tuple(g * GiB for g in MEM_GIB)
        self.first_disk, self.disk_sizes = 40 * GiB, tuple(g * GiB for g in DISK_GIB)
        self._shared: dict = {}
        self.vol_shape, self.disk_shape, self.nic_shape = (RowShape(m) for m in ("VmVolume", "VmDisk", "VmNic"))
        self.link_vm_cluster, self.link_vm_host = b.linker("Vm", "cluster"), b.linker("Vm", "host")
        self.link_vm_folder = b.linker("Vm", "folder")
        self.link_vm_group = b.linker("Vm", "vm_placement_group")
        self._disk_templates(b)
        self._nic_template(b)

    def _disk_templates(self, b) -> None:
        has_disk, has_vol = self.has_disk, self.has_vol
        disk_tpl = self.disk_tpl = b.template("VmDisk") if has_disk else {}
        disk_tpl.update(b._keep("VmDisk", {"disabled": False, "unsafe_provision": None}) if has_disk else {})
        for k in ("elf_image", "svt_image", "vm_volume"):
            disk_tpl.pop(k, None)
        self.t_disk, self.t_cd = b.enum("VmDisk", "type", "DISK"), b.enum("VmDisk", "type", "CD_ROM")
        self.bus_v, self.bus_s, self.bus_i = (b.enum("VmDisk", "bus", x) for x in ("VIRTIO", "SCSI", "IDE"))
        self.vol_tpl = b.template("VmVolume") if has_vol else {}
        if has_vol:
            self.vol_tpl.update(b._keep("VmVolume", {
                "sharing": False, "mounting": True, "type": b.enum("VmVolume", "type", "KVM_VOLUME_ISCSI"),
                "elf_storage_policy": b.enum("VmVolume", "elf_storage_policy", "REPLICA_2_THIN_PROVISION"),
                "description": ""}))
        self.link_disk_vm, self.link_disk_vol = b.linker("VmDisk", "vm"), b.linker("VmDisk", "vm_volume")
        self.link_disk_img = b.linker("VmDisk", "elf_image")
        self.link_vol_cluster, self.link_vol_lun = b.linker("VmVolume", "cluster"), b.linker("VmVolume", "lun")
        self.link_lun_target = b.linker("IscsiLun", "iscsi_target")
        # Row makers of the chain (LUN, volume, disk) when every row names its neighbour.
        self.chain = None
        if has_disk and has_vol and self.has_lun and all(b.stores_one(m, f) for m, f in (
                ("IscsiLun", "iscsi_target"), ("VmVolume", "cluster"), ("VmVolume", "lun"),
                ("VmDisk", "vm"), ("VmDisk", "vm_volume"))):
            self.chain = (
                RowShape("IscsiLun").builder(b.lun_tpl, ("id", "name", "local_id", "zbs_volume_id", "lun_id",
                                                         "assigned_size", "local_created_at", "iscsi_target")),
                self.vol_shape.builder(self.vol_tpl, ("id", "name", "local_id", "path", "size", "local_created_at",
                                                      "cluster", "lun")),
                self.disk_shape.builder(disk_tpl, ("id", "type", "bus", "boot", "key", "device", "vm", "vm_volume")))

    def _nic_template(self, b) -> None:
        has_nic = self.has_nic
        nic_tpl = b.template("VmNic") if has_nic else {}
        if has_nic:
            nic_tpl.update(b._keep("VmNic", {"enabled": True, "mirror": False,
                                             "model": b.enum("VmNic", "model", "VIRTIO"),
                                             "subnet_mask": "255.255.0.0"}))
            nic_tpl = {k: v for k, v in nic_tpl.items() if not k.startswith(("egress", "ingress"))}
            nic_tpl = b._keep("VmNic", nic_tpl)
        self.nic_tpl = nic_tpl
        nic_props = b.res["VmNic"].properties if has_nic else {}
        self.nic_drop = tuple(k for k in ("local_id", "mac_address", "ip_address", "gateway", "order", "interface_id")
                              if k not in nic_props)
        self.link_nic_vm, self.link_nic_vlan = b.linker("VmNic", "vm"), b.linker("VmNic", "vlan")
        # one call per NIC when the NIC names its VM and VLAN and has every field set per NIC
        self.make_nic = None
        if has_nic and not self.nic_drop and b.stores_one("VmNic", "vm") and b.stores_one("VmNic", "vlan"):
            self.make_nic = self.nic_shape.builder(nic_tpl, ("id", "local_id", "mac_address", "ip_address", "gateway",
                                                             "order", "interface_id", "vm", "vlan"))

    def shared(self, value):
        """One object for equal values (a size repeated over many rows)."""
        return self._shared.setdefault(value, value)

    def device(self, scsi: bool, d: int) -> str:
        """The guest device name of the d-th disk (sda / vda ...)."""
        return self.shared(("sd" if scsi else "vd") + "abcdefghijklmnopqrstuvwxyz"[d % 26])

    def gateway(self, o2: int) -> str:
        return self.shared(f"10.{64 + o2 % 64}.0.1")

    def interface(self, n: int) -> str:
        return self.shared(f"eth{n}")
