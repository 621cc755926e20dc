"""The catalog: content-library and ELF images (ISOs) per cluster, and VM templates (half of
them published to the content library with the same shape: cpu, memory, disks, NICs)."""

from __future__ import annotations

from .build_base import BuilderBase
from .values import GiB, uuid4
from .vocab import CPU_SHAPES, ISO_NAMES


class CatalogBuilder(BuilderBase):
    def build_catalog(self) -> None:
        sc, rng = self.sc, self.rng
        cids = [c["id"] for c in self.clusters]
        # Content library and ELF images (ISOs), per cluster.
        cl_images = []
        for i in range(sc.content_library_images):
            iso_name = ISO_NAMES[i % len(ISO_NAMES)]
            cl_images.append(self.make("ContentLibraryImage", {
                "name": iso_name, "path": f"/usr/share/smartx/content-library/{uuid4(rng)}",
                "size": rng.randrange(1, 9) * GiB, "createdAt": self.ts(), "description": ""},
                {"clusters": cids[: 1 + i % max(1, len(cids))]}))
        for i in range(sc.images):
            ctx = self.cl[i % len(self.cl)] if self.cl else None
            iso_name = ISO_NAMES[i % len(ISO_NAMES)]
            img = self.make("ElfImage", {
                "name": iso_name, "local_id": uuid4(rng), "path": f"/usr/share/smartx/images/{uuid4(rng)}",
                "size": rng.randrange(1, 9) * GiB, "local_created_at": self.ts(), "description": ""},
                {"cluster": ctx and ctx["row"]["id"],
                 "content_library_image": cl_images[i % len(cl_images)]["id"] if cl_images and i < len(cl_images) else None})
            if ctx is not None and img:
                ctx["isos"].append(img)
        self.build_templates(cids)

    def build_templates(self, cids: list[str]) -> None:
        """VM templates per cluster; half of them also published to the content library, where
        the library template carries the same shape (cpu, memory, disks, NICs) and names its
        per-cluster copies (`vm_templates`, `vm_template_uuids`)."""
        sc, rng = self.sc, self.rng
        n_lib = max(0, sc.templates // 2)
        kinds = (("centos7", "CentOS Linux 7 (Core)", False), ("ubuntu-22.04", "Ubuntu 22.04.4 LTS", False),
                 ("rocky-9", "Rocky Linux 9.3", False), ("win2019", "Windows Server 2019 Datacenter", True),
                 ("debian-12", "Debian GNU/Linux 12", False))
        bus = {b: self.enum("VmDisk", "bus", b) for b in ("VIRTIO", "SCSI")}
        for i in range(sc.templates):
            ctx = self.cl[i % len(self.cl)] if self.cl else None
            stem, os_name, windows = kinds[rng.randrange(len(kinds))]
            sockets, cores = rng.choice(CPU_SHAPES[:6])
            memory = rng.choice((2, 4, 8, 16)) * GiB
            sizes = [(80 if windows else 40) * GiB] + ([100 * GiB] if rng.random() < 0.3 else [])
            shape = {
                "vcpu": sockets * cores, "cpu": {"sockets": sockets, "cores": cores}, "memory": memory,
                "size": sum(sizes), "firmware": self.enum("VmTemplate", "firmware", "UEFI" if windows else "BIOS"),
                "ha": True, "win_opt": windows, "clock_offset": self.enum("VmTemplate", "clock_offset",
                                                                        "LOCALTIME" if windows else "UTC"),
                "cloud_init_supported": not windows, "cpu_model": "Skylake-Server-IBRS",
                "video_type": "VGA" if windows else "CIRRUS", "description": f"{os_name} golden image",
                "max_iops": None, "max_bandwidth": None, "max_iops_policy": None, "max_bandwidth_policy": None,
                "io_policy": None}
            t = self.make("VmTemplate", {
                "name": f"{stem}-template-{i + 1}", "local_id": uuid4(rng), "local_created_at": self.ts(),
                **shape, "vm_disks": self.template_disks("VmTemplate", sizes, bus["SCSI" if windows else "VIRTIO"]),
                "vm_nics": self.template_nics("VmTemplate", ctx)},
                {"cluster": ctx and ctx["row"]["id"]}, optional_p=0.0)
            if ctx is not None and t:
                ctx["templates"].append(t["id"])
            if i >= n_lib or not self.has("ContentLibraryVmTemplate") or t is None:
                continue
            lib = self.make("ContentLibraryVmTemplate", {
                "name": f"{stem}-library-{i + 1}", "createdAt": self.ts(), "os": os_name,
                "architecture": self.enum("ContentLibraryVmTemplate", "architecture", "X86_64"),
                "vm_template_uuids": [t["local_id"]],
                "template_config": {"guest_os_type": "WINDOWS" if windows else "LINUX"},
                "zbs_storage_info": None,
                **shape, "vm_disks": self.template_disks("ContentLibraryVmTemplate", sizes,
                                                         bus["SCSI" if windows else "VIRTIO"]),
                "vm_nics": self.template_nics("ContentLibraryVmTemplate", ctx)},
                {"clusters": ctx and ctx["row"]["id"]}, optional_p=0.0)
            if lib is not None:
                self.link("VmTemplate", t, "content_library_vm_template", lib["id"])

    def template_disks(self, model: str, sizes: list[int], bus: str | None) -> list[dict] | None:
        """Disks of a template, in the template's own nested shape."""
        if not self.has(model, "vm_disks"):
            return None
        item = self.c.resolve(self.res[model].properties["vm_disks"]).get("items")
        props, _ = self.synth.obj_shape(item) if item else ({}, None)
        out = []
        for d, size in enumerate(sizes):
            disk = {"boot": d + 1, "bus": bus, "index": d, "key": d, "type": "DISK", "size": size,
                    "disk_name": f"disk{d + 1}", "path": "", "disabled": False,
                    "storage_policy": self.enum("VmVolume", "elf_storage_policy", "REPLICA_2_THIN_PROVISION"),
                    "vm_volume_local_id": "", "elf_image_local_id": "", "svt_image_local_id": "",
                    "storage_policy_uuid": "", "content_library_image_id": None}
            out.append(self._complete(item, {k: v for k, v in disk.items() if k in props and v is not None}))
        return out

    def template_nics(self, model: str, ctx: dict | None) -> list[dict] | None:
        if not self.has(model, "vm_nics"):
            return None
        item = self.c.resolve(self.res[model].properties["vm_nics"]).get("items")
        props, _ = self.synth.obj_shape(item) if item else ({}, None)
        nic = {"index": 0, "enabled": True, "mirror": False, "model": self.enum("VmNic", "model", "VIRTIO")}
        vlan = ctx["vlans"][0] if ctx and ctx.get("vlans") else None
        if vlan is not None and "vlan" in props:
            vprops, _ = self.synth.obj_shape(props["vlan"])
            v = {"vlan_id": vlan.get("vlan_id"), "name": vlan.get("name"), "vlan_local_id": vlan.get("local_id"),
                 "local_id": vlan.get("local_id"), "vds_ovs": "ovsbr-vm"}
            obj = {k: val for k, val in v.items() if k in vprops and val is not None}
            _, vreq = self.synth.obj_shape(props["vlan"])
            for k in vprops:            # in schema order (a set's order would vary by process)
                if k in vreq:
                    obj.setdefault(k, self.synth.value(k, vprops[k]))
            nic["vlan"] = obj
        return [self._complete(item, {k: v for k, v in nic.items() if k in props})]
