"""Infrastructure: the organization, datacenters, SMTX OS clusters with their hosts (a host in
maintenance in every fourth cluster of 4+ hosts), the hosts' physical disks, the storage and
VM VDSes with their VLANs, and the ELF storage policies of each cluster."""

from __future__ import annotations

from typing import Any

from .build_base import BuilderBase
from .scenario import ClusterSpec, ScenarioError
from .values import GiB, NEVER, uuid4


class InfrastructureBuilder(BuilderBase):
    def build_infrastructure(self) -> None:
        sc, rng, P = self.sc, self.rng, self.pools
        org = self.make("Organization", {"name": "SmartX"}) if self.has("Organization") else None
        dcs = []
        cities = list(dict.fromkeys(c.split()[0] for c in P.cities))
        for i in range(max(1, sc.datacenters)):
            city = cities[i % len(cities)]
            dcs.append(self.make("Datacenter", {"name": f"DC-{city}" + (f"-{i}" if i >= len(cities) else "")},
                                 {"organization": org and org["id"]}))
        n = sc.cluster_count
        named = list(sc.named_clusters) + [ClusterSpec() for _ in range(n - len(sc.named_clusters))]
        used_names = {c.name for c in named if c.name}
        for ci, spec in enumerate(named):
            name = spec.name
            if not name:
                k = ci
                name = f"cluster-{k + 1:02d}"
                while name in used_names:
                    k += 1
                    name = f"cluster-{k + 1:02d}"
                used_names.add(name)
            o2 = ci % 190
            local_id = uuid4(rng)
            ctype = self.enum("Cluster", "type", spec.type or "SMTX_OS") if spec.type else self.enum("Cluster", "type", "SMTX_OS")
            if spec.type and ctype != spec.type:
                raise ScenarioError(f"clusters[{ci}].type: {spec.type!r} is not one of "
                                    f"{', '.join(self.c.enum_values(self.res['Cluster'].properties['type']))}")
            c = self.make("Cluster", {
                "name": name, "local_id": local_id, "type": ctype,
                "hypervisor": self.enum("Cluster", "hypervisor", "ELF"),
                "architecture": self.enum("Cluster", "architecture", "X86_64"),
                "connect_state": self.enum("Cluster", "connect_state", "CONNECTED"),
                "version": spec.version or rng.choice(("6.1.0", "6.0.0", "6.1.1", "5.1.5")),
                "ip": f"10.0.{o2}.100", "management_vip": f"10.0.{o2}.100", "iscsi_vip": f"192.168.{o2}.100",
                "dns": ["10.0.0.2", "114.114.114.114"], "ntp_servers": ["ntp.aliyun.com", "10.0.0.3"],
                "license_serial": local_id, "disconnected_date": NEVER, "is_all_flash": rng.random() < 0.5,
                "software_edition": self.enum("Cluster", "software_edition", "ENTERPRISE"),
                "license_type": self.enum("Cluster", "license_type", "SUBSCRIPTION"),
                "ntp_mode": self.enum("Cluster", "ntp_mode", "EXTERNAL"),
                "local_created_at": self.ts(), "disconnected_reason": None, "maintenance_end_date": None,
            }, {"datacenters": dcs[ci % len(dcs)]["id"]})
            self.clusters.append(c)
            ctx: dict[str, Any] = {"row": c, "o2": o2, "spec": spec, "hosts": [], "vlans": [], "index": ci}
            self.cl.append(ctx)
            hcount = spec.hosts if spec.hosts is not None else sc.hosts_per_cluster
            if hcount < 1 and (sc.vms or spec.vms):
                hcount = 1
            for h in range(hcount):
                # A cluster of four hosts or more in every fourth one keeps its last host in
                # maintenance (it runs no VM: VMs are placed on the others).
                maint = hcount >= 4 and ci % 4 == 3 and h == hcount - 1
                host = self.make("Host", {
                    "name": f"{name}-node{h + 1:02d}", "local_id": uuid4(rng),
                    "management_ip": f"10.0.{o2}.{11 + h % 80}", "data_ip": f"192.168.{o2}.{11 + h % 80}",
                    "status": self.enum("Host", "status", "CONNECTED_HEALTHY"),
                    "state": self.enum("Host", "state", "IN_USE"),
                    "host_state": self.host_state(maint),
                    "total_memory_bytes": 512 * GiB, "os_memory_bytes": 32 * GiB, "total_cpu_cores": 64,
                    "total_cpu_sockets": 2, "cpu_hz_per_core": 2_000_000_000,
                    "cpu_model": "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", "cpu_brand": "Intel",
                    "cpu_vendor": "GenuineIntel",
                    "model": "SMTX 8000 Series", "serial": uuid4(rng), "nested_virtualization": False,
                    "used_cpu_hz": rng.randrange(5, 40) * 1_280_000_000, "used_data_space": 0,
                    "failure_data_space": 0, "local_created_at": self.ts(),
                }, {"cluster": c["id"]})
                ctx["hosts"].append(host)
                if not maint:
                    host.pop("host_state", None)
                if maint:
                    ctx.setdefault("maintenance", set()).add(host["id"])
                self.host_disks(host, bool(c.get("is_all_flash")))
            # Networks: an internal storage VDS, and the VM VDS with the `default` VLAN.
            storage_vds = self.make("Vds", {
                "name": "storage-network", "internal": True, "local_id": uuid4(rng), "ovsbr_name": "ovsbr-storage",
                "type": self.enum("Vds", "type", "STORAGE"), "vlans_num": 1}, {"cluster": c["id"]})
            vm_vds = self.make("Vds", {
                "name": "vm-network", "internal": False, "local_id": uuid4(rng), "ovsbr_name": "ovsbr-vm",
                "type": self.enum("Vds", "type", "VM"), "vlans_num": max(1, sc.vlans_per_cluster)},
                {"cluster": c["id"]})
            self.make("Vlan", {"name": "storage", "vlan_id": 0, "local_id": uuid4(rng),
                               "type": self.enum("Vlan", "type", "STORAGE"),
                               "mode_type": self.enum("Vlan", "mode_type", "VLAN_ACCESS"),
                               "gateway_ip": f"192.168.{o2}.1", "subnetmask": "255.255.255.0"},
                      {"vds": storage_vds and storage_vds["id"]})
            for v in range(max(1, sc.vlans_per_cluster)):
                vid = 0 if v == 0 else 100 + v
                ctx["vlans"].append(self.make("Vlan", {
                    "name": "default" if v == 0 else f"vlan-{vid}", "vlan_id": vid, "local_id": uuid4(rng),
                    "type": self.enum("Vlan", "type", "VM"), "mode_type": self.enum("Vlan", "mode_type", "VLAN_ACCESS"),
                    "gateway_ip": f"10.{64 + o2 % 64}.0.1", "subnetmask": "255.255.0.0", "network_ids": [],
                }, {"vds": vm_vds and vm_vds["id"]}))
            pols = []
            if self.has("ElfStoragePolicy"):
                for pname, rep, thin in (("default", 2, True), ("replica-3-thick", 3, False)):
                    pols.append(self.make("ElfStoragePolicy", {
                        "name": pname, "replica_num": rep, "thin_provision": thin, "stripe_num": 4,
                        "stripe_size": 262144, "local_id": uuid4(rng), "description": f"{rep} replicas"},
                        {"cluster": c["id"]}))
            ctx["policies"] = pols

    def host_state(self, maintenance: bool) -> dict | None:
        """Host.host_state: null for a host in use, MAINTENANCE_MODE for one in maintenance."""
        if not maintenance or not self.has("Host", "host_state"):
            return None
        return {"state": self.enum("Host", "host_state", "MAINTENANCE_MODE") or "MAINTENANCE_MODE",
                "enter_maintenance_time": self.ts(), "maintenance_job_id": uuid4(self.rng)}

    def host_disks(self, host: dict, all_flash: bool) -> None:
        """The physical disks of a host: a boot SSD, cache SSDs and data disks (SMTX OS layout)."""
        if not self.has("Disk"):
            return
        rng = self.rng
        TiB = 1024 * GiB
        layout = [("SATA_OR_SAS_SSD", "BOOT", 240 * GiB)]
        if all_flash:
            layout += [("NVMe_SSD", "DATA_AND_META", 4 * TiB)] * 4
        else:
            layout += [("SATA_OR_SAS_SSD", "CACHE_AND_META", 2 * TiB)] * 2 + [("HDD", "DATA", 8 * TiB)] * 4
        data = 0
        for i, (dtype, usage, size) in enumerate(layout):
            dev = "nvme%dn1" % i if dtype == "NVMe_SSD" else "sd" + "abcdefghijklmnop"[i]
            self.make("Disk", {
                "name": dev, "path": f"/dev/{dev}", "local_id": uuid4(rng), "serial": uuid4(rng)[:18].upper(),
                "type": self.enum("Disk", "type", dtype), "usage": self.enum("Disk", "usage", usage),
                "size": size, "healthy": True, "mounted": True, "offline": False,
                "model": {"HDD": "ST8000NM000A", "NVMe_SSD": "INTEL SSDPE2KX040T8"}.get(dtype, "INTEL SSDSC2KG019T8"),
                "firmware": "SN02", "partitions": [], "remaining_life_percent": 100 if dtype != "HDD" else None,
                "health_status": self.enum("Disk", "health_status", "HEALTHY"),
                "usage_status": self.enum("Disk", "usage_status", "MOUNTED"),
                "function": None, "numa_node": i % 2, "physical_slot_on_brick": None,
                "persistent_memory_type": None, "recommended_usage": None, "failure_information": None,
            }, {"host": host["id"]}, optional_p=0.0)
            if usage in ("DATA", "DATA_AND_META"):
                data += size
        host["used_data_space"] = data * rng.randrange(10, 60) // 100
