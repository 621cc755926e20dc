"""The seeded world: `generate(contract, scenario, seed=None) -> Store`.

A CloudTower a user recognises (datacenters, SMTX OS clusters, hosts, VDSes and VLANs,
images, templates, VMs with disks -> volumes -> iSCSI LUNs, NICs, snapshots whose frozen
disks name real LUN snapshots, tasks, alerts, users) plus a few generic, schema-valid
records of every other listable resource of the contract.

Determinism: everything random comes from `random.Random(seed)` and a Faker seeded with
`seed_instance(seed)`; ids come from an `IdMinter` with a fixed epoch and a seeded
fingerprint; timestamps from a fixed base date. The wall clock is never read.

Speed: the scale resources (Vm, VmDisk, VmVolume, IscsiLun, VmNic, VmSnapshot,
IscsiLunSnapshot) are built by copying a per-resource template row (synthesised once
from the schema) and setting the few fields that vary, with values picked from pools.
Rows omit None values (the renderer fills nulls) and share immutable values.

Relations are written on the side the store keeps (`store.plans`): `_link` sets the
stored field of whichever row holds the pair, so the world is correct whatever side a
contract version makes the stored one.
"""

from __future__ import annotations

import gc
import random
import sys
import time
from typing import Any, Callable

from faker import Faker

from ..contract.index import Contract
from ..store import Store, _b36
from ..texts import ALERTS
from .ids import FastIdMinter
from .scenario import ClusterSpec, Scenario, ScenarioError, VmSpec, load_scenario
from .derived import refresh_all
from .values import GiB, NEVER, Pools, Synth, iso, mac, uuid4

BASE_MS = 1766644300000            # 2025-12-25T06:31:40Z: the world's "now"
DAY_MS = 24 * 3600 * 1000

# Resources the dedicated builders fill; everything else is generic.
# Tower-wide settings exist once, in CloudTower's defaults (the VM recycle bin starts off).
SINGLETONS = {"GlobalSettings": {"vm_recycle_bin": {"enabled": False, "retain": 7}}}
CORE = frozenset({
    "Organization", "Datacenter", "Cluster", "Host", "Vds", "Vlan", "Label", "User", "VmFolder",
    "VmPlacementGroup", "ElfStoragePolicy", "ElfImage", "ContentLibraryImage", "VmTemplate",
    "ContentLibraryVmTemplate", "IscsiTarget", "IscsiLun", "IscsiLunSnapshot", "ConsistencyGroup",
    "ConsistencyGroupSnapshot", "Vm", "VmDisk", "VmVolume", "VmNic", "VmSnapshot", "VmVolumeSnapshot",
    "Alert", "Task"})

VM_ROLES = ("web", "api", "db", "mysql", "pg", "redis", "kafka", "es", "nginx", "k8s-node", "k8s-master",
            "jenkins", "gitlab", "harbor", "prometheus", "grafana", "ldap", "mq", "cache", "app", "batch",
            "win-rdp", "win-ad", "sqlserver", "oracle", "minio", "etcd", "haproxy", "vpn", "bastion")
VM_ENVS = ("prod", "stg", "dev", "test", "qa", "ops")
LINUX_OS = ("CentOS Linux 7 (Core)", "Ubuntu 22.04.4 LTS", "Rocky Linux 9.3", "Red Hat Enterprise Linux 8.9",
            "Debian GNU/Linux 12", "openEuler 22.03 LTS", "Kylin Linux Advanced Server V10")
WIN_OS = ("Windows Server 2019 Datacenter", "Windows Server 2022 Standard", "Windows 10 Pro")
ISO_NAMES = ("CentOS-7-x86_64-DVD-2009.iso", "ubuntu-22.04.4-live-server-amd64.iso", "Rocky-9.3-x86_64-dvd.iso",
             "SMTX_VMTOOLS-4.0.0.iso", "virtio-win-0.1.240.iso", "Windows_Server_2019.iso",
             "openEuler-22.03-LTS-x86_64-dvd.iso", "debian-12.5.0-amd64-netinst.iso", "cirros-0.6.2.iso",
             "Kylin-Server-V10-SP3-x86_64.iso")
CPU_SHAPES = ((1, 1), (1, 2), (1, 4), (2, 2), (1, 8), (2, 4), (2, 8), (4, 4))
MEM_GIB = (1, 2, 4, 8, 8, 16, 16, 32, 64)
DISK_GIB = (20, 40, 50, 80, 100, 200, 500)
TASK_KINDS = (("Vm", "createVm", "Create virtual machine"), ("Vm", "updateVm", "Edit virtual machine"),
              ("Vm", "startVm", "Power on virtual machine"), ("Vm", "shutDownVm", "Shut down virtual machine"),
              ("VmSnapshot", "createVmSnapshot", "Create virtual machine snapshot"),
              ("Vm", "migrateVm", "Migrate virtual machine"), ("Vm", "cloneVm", "Clone virtual machine"),
              ("IscsiLun", "createIscsiLun", "Create iSCSI LUN"), ("Vlan", "createVlan", "Create VM network"))


PROGRESS_MIN_VMS = 20_000      # worlds this big say on stderr how far the build got


def _progress_printer(total: int):
    t0 = time.perf_counter()

    def say(step: int, label: str) -> None:
        state = "done" if step == total else f"{step + 1}/{total}"
        print(f"world: {state} {label} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    return say


def generate(contract: Contract, scenario: Scenario | str | None = None, seed: int | None = None) -> Store:
    """Build the seeded world of `scenario` (a Scenario, a name or a path) for `contract`."""
    if scenario is None or isinstance(scenario, str):
        scenario = load_scenario(scenario or "default")
    # Millions of small dicts would trigger the cyclic GC over and over; nothing here
    # builds cycles, so it stays off while the world is built.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return WorldBuilder(contract, scenario, seed).build()
    finally:
        if was_enabled:
            gc.enable()


class WorldBuilder:
    def __init__(self, contract: Contract, scenario: Scenario, seed: int | None = None):
        self.c = contract
        self.sc = scenario
        self.seed = scenario.seed if seed is None else seed
        rng = self.rng = random.Random(self.seed)
        fake = Faker("en_US")
        fake.seed_instance(self.seed)
        epoch = BASE_MS - rng.randrange(1, 30) * DAY_MS - rng.randrange(DAY_MS)
        self.store = Store(contract, FastIdMinter(epoch_ms=epoch, fingerprint=_b36(rng.getrandbits(51), 10)))
        self.mint = self.store.mint.unlocked()
        self.plans = self.store.plans
        self.res = contract.resources
        self.pools = Pools(fake, rng, BASE_MS)
        self.synth = Synth(contract, rng, self.pools, mint=self.mint)
        self.rows: dict[str, dict[str, dict]] = {m: {} for m in self.res}
        self.generic: set[str] = set()        # ids of generically built rows
        self.need = self._projection_required()
        self.clusters: list[dict] = []
        self.cl: list[dict[str, Any]] = []    # per-cluster context

    # ------------------------------------------------------------------ basics
    def has(self, model: str, field: str | None = None) -> bool:
        r = self.res.get(model)
        return r is not None and (field is None or field in r.properties)

    def _projection_required(self) -> dict[str, frozenset]:
        """Fields a Nested<X> projection requires, so X's rows must carry them."""
        need: dict[str, set] = {m: set() for m in self.res}
        for r in self.res.values():
            for f, nested in r.nested_schema.items():
                tgt = r.relations[f].target
                ns = self.c.resolve({"$ref": "#/components/schemas/" + nested})
                req = set(ns.get("required", ()))
                need[tgt].update(k for k, v in (ns.get("properties") or {}).items()
                                 if (k in req or not v.get("nullable")) and k != "id"
                                 and k in self.res[tgt].properties and k not in self.res[tgt].relations)
        return {m: frozenset(v) for m, v in need.items()}

    def enum(self, model: str, field: str, *preferred: str) -> str | None:
        r = self.res.get(model)
        if r is None or field not in r.properties:
            return None
        vals = self.c.enum_values(r.properties[field])
        if not vals:
            s = self.c.resolve(r.properties[field])
            if s.get("type") == "string":
                return preferred[0] if preferred else None
            return None
        for p in preferred:
            if p in vals:
                return p
        return self.rng.choice(vals)

    def _clean(self, model: str, row: dict) -> dict:
        props = self.res[model].properties
        rels = self.res[model].relations
        return {k: v for k, v in row.items() if v is not None and k in props and k not in rels}

    def add(self, model: str, row: dict, rid: str | None = None) -> dict:
        row["id"] = rid or self.mint()
        self.rows[model][row["id"]] = row
        return row

    def make(self, model: str, fields: dict | None = None, rels: dict | None = None,
             optional_p: float = 0.8, generic: bool = False) -> dict | None:
        """A row of `model`: synthesised scalars, `fields` on top, relations linked."""
        if model not in self.res:
            return None
        row = self.synth.row(self.res[model], optional_p, self.need[model])
        if fields:
            row.update(self._clean(model, fields))
        row = self.add(model, row)
        if generic:
            self.generic.add(row["id"])
        for f, v in (rels or {}).items():
            if isinstance(v, list):
                for t in v:
                    self.link(model, row, f, t)
            else:
                self.link(model, row, f, v)
        return row

    def link(self, model: str, row: dict, field: str, target_id: str | None) -> None:
        """Relate `row`.`field` to target_id, writing whichever side the store keeps."""
        if target_id is None:
            return
        plan = self.plans.get(model, {}).get(field)
        if plan is None:
            return
        if plan.stored:
            if plan.many:
                cur = row.get(field)
                if cur is None:
                    row[field] = [target_id]
                elif target_id not in cur:
                    cur.append(target_id)
            else:
                row[field] = target_id
            return
        sm, sf = plan.inverse
        trow = self.rows[sm].get(target_id)
        if trow is None:
            return
        if self.plans[sm][sf].many:
            cur = trow.get(sf)
            if cur is None:
                trow[sf] = [row["id"]]
            elif row["id"] not in cur:
                cur.append(row["id"])
        else:
            trow[sf] = row["id"]

    def linker(self, model: str, field: str) -> Callable[[dict, str | None], None]:
        """A fast `link` for hot loops (no-op when the contract lacks the relation)."""
        plan = self.plans.get(model, {}).get(field)
        if plan is None:
            return lambda row, t: None
        if plan.stored and not plan.many:
            def set_one(row, t):
                if t is not None:
                    row[field] = t
            return set_one
        return lambda row, t, m=model, f=field: self.link(m, row, f, t)

    def template(self, model: str, optional: tuple[str, ...] = ()) -> dict:
        """Required scalars (+ the named optional ones) synthesised once, to copy per row."""
        res = self.res[model]
        tpl = self.synth.row(res, 0.0, self.need[model] | frozenset(f for f in optional if f in res.properties))
        return tpl

    def ts(self) -> str:
        return self.pools.ts()

    # ------------------------------------------------------------------- build
    def build(self) -> Store:
        steps = (("infrastructure", self.build_infrastructure), ("people and catalog", self.build_people_and_catalog),
                 ("storage", self.build_storage), (f"{self.sc.vms} VMs", self.build_vms),
                 ("history", self.build_history), ("other resources", self.build_generic),
                 ("relations", self.repair), ("devices", self.attach_devices), ("alert rules", self.alert_rules),
                 ("indexes", self._load_store), ("counters", lambda: refresh_all(self.store)))
        say = _progress_printer(len(steps)) if self.sc.vms >= PROGRESS_MIN_VMS else None
        for i, (label, step) in enumerate(steps):
            if say is not None:
                say(i, label)
            step()
        if say is not None:
            say(len(steps), f"{sum(len(t.rows) for t in self.store.tables.values())} rows")
        return self.store

    def _load_store(self) -> None:
        for model, rows in self.rows.items():
            if rows:
                self.store.load(model, rows)
        self.rows = {}

    def attach_devices(self) -> None:
        """Pass-through devices (USB, GPU) serve VMs of their own host: a bound USB device
        belongs to at most one VM running there; its deprecated `vm` is that VM."""
        vms_by_host: dict[str, list[str]] = {}
        for vm in self.rows.get("Vm", {}).values():
            if vm.get("host") and vm.get("status") == "RUNNING":
                vms_by_host.setdefault(vm["host"], []).append(vm["id"])
        for model in ("UsbDevice", "GpuDevice"):
            if not self.has(model, "host"):
                continue
            plans = self.plans[model]
            for dev in self.rows[model].values():
                local = vms_by_host.get(dev.get("host"), [])
                bound = bool(dev.get("binded", True)) and bool(local) and self.rng.random() < 0.7
                chosen = [local[self.rng.randrange(len(local))]] if bound else []
                if "binded" in dev:
                    dev["binded"] = bound
                for f in ("vms", "vm"):
                    plan = plans.get(f)
                    if plan is None:
                        continue
                    if plan.stored:
                        dev[f] = list(chosen) if plan.many else (chosen[0] if chosen else None)
                        if dev[f] is None:
                            del dev[f]
                    elif chosen:
                        self.link(model, dev, f, chosen[0])

    # --------------------------------------------------------- infrastructure
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

    # ------------------------------------------------ labels, users, catalog
    def build_people_and_catalog(self) -> None:
        sc, rng, P = self.sc, self.rng, self.pools
        cids = [c["id"] for c in self.clusters]
        keys = ("env", "team", "app", "tier", "owner", "backup", "zone", "project")
        vals = {"env": VM_ENVS, "tier": ("frontend", "backend", "data"), "backup": ("daily", "weekly", "none")}
        self.labels = []
        seen = set()
        for i in range(sc.labels):
            k = keys[i % len(keys)]
            v = rng.choice(vals.get(k, P.words))
            if (k, v) in seen:
                v = f"{v}-{i}"
            seen.add((k, v))
            self.labels.append(self.make("Label", {"key": k, "value": v, "createdAt": self.ts(),
                                                   "total_num": 0}))
        roles = []
        if self.has("UserRoleNext"):
            for rname, preset in (("Administrator", "ADMIN"), ("Read only", "READ_ONLY")):
                roles.append(self.make("UserRoleNext", {"name": rname, "preset": preset, "platform": None}))
        self.users = [self.make("User", {
            "name": "root", "username": "root", "display_username": "root",
            "source": self.enum("User", "source", "LOCAL"), "role": self.enum("User", "role", "ROOT"),
            "internal": False, "email_address": "root@example.com", "mobile_phone": "",
            "password_expired": False, "password_updated_at": self.ts()},
            {"roles": roles[0]["id"] if roles else None})]
        used = {"root"}
        for i in range(sc.users):
            u = rng.choice(P.first_names)
            while u in used:
                u = f"{rng.choice(P.first_names)}{rng.randrange(10, 99)}"
            used.add(u)
            self.users.append(self.make("User", {
                "name": u.title(), "username": u, "display_username": u,
                "source": self.enum("User", "source", "LOCAL") if i % 4 else self.enum("User", "source", "LDAP"),
                "role": self.enum("User", "role", "ADMIN", "READ_ONLY"), "internal": False,
                "email_address": f"{u}@example.com"},
                {"roles": roles[i % len(roles)]["id"] if roles else None}))
        for ctx in self.cl:
            ctx["folders"], ctx["groups"], ctx["isos"], ctx["templates"] = [], [], [], []
        for i in range(sc.folders):
            ctx = self.cl[i % len(self.cl)] if self.cl else None
            f = self.make("VmFolder", {"name": f"{rng.choice(VM_ENVS)}-{rng.choice(P.words)}-{i + 1}"},
                          {"cluster": ctx and ctx["row"]["id"]})
            if ctx is not None and f:
                ctx["folders"].append(f["id"])
        for i in range(sc.placement_groups):
            ctx = self.cl[i % len(self.cl)] if self.cl else None
            g = self.make("VmPlacementGroup", {
                "name": f"pg-{rng.choice(VM_ROLES)}-{i + 1}", "local_id": uuid4(rng), "enabled": True,
                "vm_vm_policy_enabled": True, "vm_host_must_enabled": False, "vm_host_prefer_enabled": False,
                "local_created_at": self.ts(), "local_updated_at": self.ts(), "description": ""},
                {"cluster": ctx and ctx["row"]["id"]})
            if ctx is not None and g:
                ctx["groups"].append(g["id"])
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

    def _complete(self, schema: dict, obj: dict) -> dict:
        """`obj` with the required fields of `schema` it lacks synthesised."""
        props, req = self.synth.obj_shape(schema)
        for k in req:
            if k not in obj:
                obj[k] = self.synth.value(k, props[k])
        return obj

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
            for k in vreq:
                obj.setdefault(k, self.synth.value(k, vprops[k]))
            nic["vlan"] = obj
        return [self._complete(item, {k: v for k, v in nic.items() if k in props})]

    # ----------------------------------------------------------------- storage
    def build_storage(self) -> None:
        sc, rng = self.sc, self.rng
        self.lun_tpl = self.template("IscsiLun", ("local_created_at",)) if self.has("IscsiLun") else {}
        self.lun_tpl.update(self._clean("IscsiLun", {
            "replica_num": 2, "thin_provision": True, "stripe_num": 4, "stripe_size": 262144,
            "allowed_initiators": "*", "snapshot_num": 0, "io_size": 4096, "shared_size": 0}))
        for k in list(self.lun_tpl):
            if k.startswith(("bps", "iops")):
                self.lun_tpl[k] = 0
        for ctx in self.cl:
            c = ctx["row"]
            ds = uuid4(rng)
            iqn = f"iqn.2016-02.com.smartx:system:zbs-iscsi-datastore-{ds}"
            ctx["ds_uuid"] = ds
            ctx["iqn"] = iqn
            ctx["target"] = self.make("IscsiTarget", {
                "name": f"zbs-iscsi-datastore-{ds}", "iqn_name": iqn, "local_id": ds, "internal": True,
                "external_use": False, "chap_enabled": False, "description": "ELF VM datastore",
                "replica_num": 2, "stripe_num": 4, "stripe_size": 262144, "thin_provision": True,
                "ip_whitelist": "", "iqn_whitelist": "*/*", "local_created_at": self.ts()},
                {"cluster": c["id"]})
            ctx["lun_seq"] = 0
        # User-facing iSCSI targets with LUNs and LUN snapshots; consistency groups.
        self.user_luns: list[dict] = []
        for i in range(sc.iscsi_targets):
            if not self.cl:
                break
            ctx = self.cl[i % len(self.cl)]
            tname = f"target-{rng.choice(self.pools.words)}-{i + 1}"
            t = self.make("IscsiTarget", {
                "name": tname, "iqn_name": f"iqn.2016-02.com.smartx:system:{tname}", "local_id": uuid4(rng),
                "internal": False, "external_use": True, "chap_enabled": False, "description": "",
                "replica_num": 2, "stripe_num": 4, "stripe_size": 262144, "thin_provision": True,
                "ip_whitelist": "", "iqn_whitelist": "*/*", "local_created_at": self.ts()},
                {"cluster": ctx["row"]["id"]})
            if t is None:
                continue
            for j in range(sc.luns_per_target):
                lun = self.new_lun(t["id"], f"{tname}-lun-{j + 1}", j + 1, rng.choice(DISK_GIB) * GiB)
                self.user_luns.append(lun)
                for s in range(sc.lun_snapshots_per_lun):
                    self.new_lun_snapshot(lun, t["id"], f"{lun['name']}-snap-{s + 1}")
        for i in range(sc.consistency_groups):
            if not self.has("ConsistencyGroup") or not self.cl:
                break
            ctx = self.cl[i % len(self.cl)]
            luns = [lun for lun in self.user_luns if lun.get("_cluster") == ctx["row"]["id"]
                    and "consistency_group" not in lun][:2]
            cg = self.make("ConsistencyGroup", {
                "name": f"cg-{rng.choice(VM_ROLES)}-{i + 1}", "local_id": uuid4(rng), "description": "",
                "local_created_at": self.ts(), "unique_size": 0}, {"cluster": ctx["row"]["id"]})
            for lun in luns:
                self.link("IscsiLun", lun, "consistency_group", cg["id"])
            cgs = self.make("ConsistencyGroupSnapshot", {
                "name": f"{cg['name']}-snap-1", "local_id": uuid4(rng), "local_created_at": self.ts(),
                "unique_size": 0}, {"consistency_group": cg["id"]})
            if cgs is None:
                continue
            for lun in luns:
                ls = self.new_lun_snapshot(lun, lun.get("iscsi_target") or lun["_target"], f"{cgs['name']}-{lun['name']}")
                if ls is not None:
                    self.link("IscsiLunSnapshot", ls, "consistency_group_snapshot", cgs["id"])

    def new_lun(self, target_id: str, name: str, lun_id: int, size: int, local_id: str | None = None) -> dict:
        row = self.lun_tpl.copy()
        row.update(name=name, local_id=local_id or uuid4(self.rng), zbs_volume_id=uuid4(self.rng),
                   lun_id=lun_id, assigned_size=size, local_created_at=self.ts())
        row = self.add("IscsiLun", self._keep("IscsiLun", row))
        self.link("IscsiLun", row, "iscsi_target", target_id)
        row["_target"] = target_id
        t = self.rows["IscsiTarget"].get(target_id)
        if t is not None:
            row["_cluster"] = t.get("cluster") or self._cluster_of_target(target_id)
        return row

    def _cluster_of_target(self, target_id: str) -> str | None:
        for ctx in self.cl:
            if ctx.get("target") and ctx["target"]["id"] == target_id:
                return ctx["row"]["id"]
        return None

    def _keep(self, model: str, row: dict) -> dict:
        props = self.res[model].properties
        return {k: v for k, v in row.items() if k in props and v is not None}

    def new_lun_snapshot(self, lun: dict, target_id: str, name: str, local_id: str | None = None) -> dict | None:
        if not self.has("IscsiLunSnapshot"):
            return None
        tpl = getattr(self, "_lsnap_tpl", None)
        if tpl is None:
            tpl = self._lsnap_tpl = self.template("IscsiLunSnapshot", ("local_created_at",))
        row = tpl.copy()
        row.update(self._keep("IscsiLunSnapshot", {
            "name": name, "local_id": local_id or uuid4(self.rng), "local_created_at": self.ts(),
            "unique_size": 0}))
        row = self.add("IscsiLunSnapshot", row)
        self.link("IscsiLunSnapshot", row, "iscsi_lun", lun["id"])
        self.link("IscsiLunSnapshot", row, "iscsi_target", target_id)
        lun["_snaps"] = lun.get("_snaps", 0) + 1
        return row

    # --------------------------------------------------------------------- VMs
    def build_vms(self) -> None:
        sc, rng, P = self.sc, self.rng, self.pools
        if not self.cl or not self.has("Vm"):
            return
        has_disk, has_vol, has_lun = self.has("VmDisk"), self.has("VmVolume"), self.has("IscsiLun")
        has_nic, has_snap = self.has("VmNic"), self.has("VmSnapshot")
        vm_props = self.res["Vm"].properties
        vm_tpl = self.template("Vm")
        vm_tpl.update(self._keep("Vm", {
            "internal": False, "in_recycle_bin": False, "protected": False, "nested_virtualization": False,
            "win_opt": False, "out_uninstall_usb": [], "cpu_model": "Skylake-Server-IBRS",
            "clock_offset": self.enum("Vm", "clock_offset", "UTC"), "description": "",
            "video_type": self.enum("Vm", "video_type", "CIRRUS"), "cloud_init_supported": False}))
        vm_drop = tuple(k for k in ("host", "cluster", "folder", "guest_os_type", "os", "local_created_at",
                                    "size", "provisioned_size", "vm_tools_version", "hostname", "ips",
                                    "node_ip", "firmware", "ha", "vm_tools_status", "memory_usage",
                                    "cpu_usage", "last_shutdown_time", "cloud_init_supported")
                        if k not in vm_props)
        st = {s: self.enum("Vm", "status", s) for s in ("RUNNING", "STOPPED", "SUSPENDED")}
        tools = {s: self.enum("Vm", "vm_tools_status", s) for s in ("RUNNING", "NOT_RUNNING", "NOT_INSTALLED")}
        fw_bios, fw_uefi = self.enum("Vm", "firmware", "BIOS"), self.enum("Vm", "firmware", "UEFI")
        gos = {g: self.enum("Vm", "guest_os_type", g) for g in ("LINUX", "WINDOWS", "UNKNOWN")}
        cpu_pool = {}
        cpu_schema = vm_props.get("cpu")
        for s, c in CPU_SHAPES:
            obj = self.synth.value("cpu", cpu_schema) if cpu_schema else {}
            obj = dict(obj) if isinstance(obj, dict) else {}
            obj.update(sockets=s, cores=c)
            cpu_pool[(s, c)] = obj
        descriptions = ("",) * 6 + tuple(P.sentences[:10])
        link_vm_cluster, link_vm_host = self.linker("Vm", "cluster"), self.linker("Vm", "host")
        link_vm_folder = self.linker("Vm", "folder")
        link_vm_group = self.linker("Vm", "vm_placement_group")
        vm_rows = self.rows["Vm"]
        # Disk/volume/LUN/NIC templates.
        disk_tpl = self.template("VmDisk") if has_disk else {}
        disk_tpl.update(self._keep("VmDisk", {"disabled": False, "unsafe_provision": None}) if has_disk else {})
        for k in ("elf_image", "svt_image", "vm_volume"):
            disk_tpl.pop(k, None)
        t_disk, t_cd = self.enum("VmDisk", "type", "DISK"), self.enum("VmDisk", "type", "CD_ROM")
        bus_v, bus_s, bus_i = (self.enum("VmDisk", "bus", b) for b in ("VIRTIO", "SCSI", "IDE"))
        vol_tpl = self.template("VmVolume") if has_vol else {}
        if has_vol:
            vol_tpl.update(self._keep("VmVolume", {
                "sharing": False, "mounting": True, "type": self.enum("VmVolume", "type", "KVM_VOLUME_ISCSI"),
                "elf_storage_policy": self.enum("VmVolume", "elf_storage_policy", "REPLICA_2_THIN_PROVISION"),
                "description": ""}))
        nic_tpl = self.template("VmNic") if has_nic else {}
        if has_nic:
            nic_tpl.update(self._keep("VmNic", {"enabled": True, "mirror": False,
                                                "model": self.enum("VmNic", "model", "VIRTIO"),
                                                "subnet_mask": "255.255.0.0"}))
            nic_tpl = {k: v for k, v in nic_tpl.items() if not k.startswith(("egress", "ingress"))}
            nic_tpl = self._keep("VmNic", nic_tpl)
        nic_props = self.res["VmNic"].properties if has_nic else {}
        nic_drop = tuple(k for k in ("local_id", "mac_address", "ip_address", "gateway", "order", "interface_id")
                         if k not in nic_props)
        link_disk_vm, link_disk_vol = self.linker("VmDisk", "vm"), self.linker("VmDisk", "vm_volume")
        link_disk_img = self.linker("VmDisk", "elf_image")
        link_vol_cluster, link_vol_lun = self.linker("VmVolume", "cluster"), self.linker("VmVolume", "lun")
        link_lun_target = self.linker("IscsiLun", "iscsi_target")
        link_nic_vm, link_nic_vlan = self.linker("VmNic", "vm"), self.linker("VmNic", "vlan")
        disk_rows, vol_rows, lun_rows, nic_rows = (self.rows.get(m) for m in ("VmDisk", "VmVolume", "IscsiLun", "VmNic"))
        lun_tpl = self.lun_tpl
        mint = self.mint
        ts_pool = P.timestamps
        choice, rand = rng.choice, rng.random
        # Which VMs go where: named ones in their cluster, the rest round-robin.
        plan: list[tuple[int, VmSpec | None]] = []
        for ci, ctx in enumerate(self.cl):
            for spec in ctx["spec"].vms:
                plan.append((ci, spec))
        rest = max(0, sc.vms - len(plan))
        ncl = len(self.cl)
        plan.extend((i % ncl, None) for i in range(rest))
        used_names = {s.name for _, s in plan if s is not None}
        counters = [0] * ncl
        self.snap_jobs: list[tuple] = []
        for ci, spec in plan:
            ctx = self.cl[ci]
            cid = ctx["row"]["id"]
            maint = ctx.get("maintenance") or ()
            hosts = [h for h in ctx["hosts"] if h["id"] not in maint] or ctx["hosts"]
            host = hosts[counters[ci] % len(hosts)] if hosts else None
            k = counters[ci]
            counters[ci] += 1
            if spec is not None and spec.host:
                host = next((h for h in ctx["hosts"] if h["name"] == spec.host), None)
                if host is None:
                    raise ScenarioError(f"vms[{spec.name}].host: no host {spec.host!r} in cluster "
                                        f"{ctx['row']['name']} (hosts: {', '.join(h['name'] for h in ctx['hosts'])})")
                if host["id"] in maint:
                    raise ScenarioError(f"vms[{spec.name}].host: {spec.host!r} is in maintenance and runs no VM")
            role = choice(VM_ROLES)
            if spec is not None:
                name = spec.name
            else:
                name = f"{role}-{choice(VM_ENVS)}-{ci + 1:02d}{k:05d}"
                if name in used_names:
                    name = f"{name}-{k}"
            windows = role.startswith(("win", "sqlserver"))
            if spec is not None and spec.guest_os_type:
                g = gos.get(spec.guest_os_type) if spec.guest_os_type in gos else self.enum("Vm", "guest_os_type", spec.guest_os_type)
                if g != spec.guest_os_type:
                    raise ScenarioError(f"{ctx['spec'].name or 'clusters'}.vms[{spec.name}].guest_os_type: "
                                        f"{spec.guest_os_type!r} is not a valid guest_os_type")
                windows = g == "WINDOWS"
            r = rand()
            status = st["RUNNING"] if r < 0.75 else st["STOPPED"] if r < 0.97 else st["SUSPENDED"]
            if spec is not None and spec.status:
                s = self.enum("Vm", "status", spec.status)
                if s != spec.status:
                    raise ScenarioError(f"vms[{spec.name}].status: {spec.status!r} is not one of "
                                        f"{', '.join(self.c.enum_values(vm_props['status']))}")
                status = s
            sockets, cores = choice(CPU_SHAPES)
            if spec is not None and spec.vcpu:
                sockets = spec.cpu_sockets if spec.cpu_sockets and spec.vcpu % spec.cpu_sockets == 0 else 1
                cores = spec.vcpu // sockets
            cpu = cpu_pool.get((sockets, cores))
            if cpu is None:
                cpu = cpu_pool[(sockets, cores)] = {**cpu_pool[CPU_SHAPES[0]], "sockets": sockets, "cores": cores}
            mem = choice(MEM_GIB) * GiB
            if spec is not None and spec.memory_gib:
                mem = int(spec.memory_gib * GiB)
            o2 = ctx["o2"]
            ip = f"10.{64 + o2 % 64}.{(k // 250) % 256}.{k % 250 + 5}"
            running = status == st["RUNNING"]
            vm = vm_tpl.copy()
            vm.update(
                name=name, local_id=uuid4(rng), status=status, vcpu=sockets * cores, cpu=cpu, memory=mem,
                ips=ip if running else "", node_ip=host["management_ip"] if host else "",
                guest_os_type=gos["WINDOWS"] if windows else gos["LINUX"],
                os=choice(WIN_OS) if windows else choice(LINUX_OS),
                firmware=fw_uefi if windows else fw_bios, ha=rand() < 0.8, win_opt=windows,
                vm_tools_status=tools["RUNNING"] if running else tools["NOT_RUNNING"],
                vm_tools_version="4.0.0", hostname=name, local_created_at=choice(ts_pool),
                description=spec.description if spec is not None and spec.description else choice(descriptions))
            if spec is not None and spec.ha is not None:
                vm["ha"] = spec.ha
            if not running:
                vm["last_shutdown_time"] = choice(ts_pool)
            for d in vm_drop:
                vm.pop(d, None)
            for d in [key for key, v in vm.items() if v is None]:
                del vm[d]
            vid = vm["id"] = mint()
            vm_rows[vid] = vm
            link_vm_cluster(vm, cid)
            link_vm_host(vm, host["id"] if host else None)
            if ctx["folders"] and rand() < 0.6:
                link_vm_folder(vm, choice(ctx["folders"]))
            if ctx["groups"] and rand() < 0.1:
                link_vm_group(vm, choice(ctx["groups"]))
            # Disks -> volumes -> LUNs in the cluster's datastore target.
            ndisks = spec.disks if spec is not None and spec.disks is not None else sc.disks_per_vm
            bus = bus_s if windows else bus_v
            total = 0
            disks = []
            for d in range(ndisks):
                size = (40 if d == 0 else choice(DISK_GIB)) * GiB
                total += size
                vol_id = lun_id = None
                if has_lun and ctx.get("target"):
                    ctx["lun_seq"] += 1
                    lun = lun_tpl.copy()
                    lun_id = mint()
                    lun.update(id=lun_id, name=f"{name}-disk{d + 1}", local_id=uuid4(rng),
                               zbs_volume_id=uuid4(rng), lun_id=ctx["lun_seq"], assigned_size=size,
                               local_created_at=vm.get("local_created_at") or choice(ts_pool))
                    lun_rows[lun_id] = lun
                    link_lun_target(lun, ctx["target"]["id"])
                if has_vol:
                    vol = vol_tpl.copy()
                    vol_id = mint()
                    vol.update(id=vol_id, name=f"{name}-disk{d + 1}", local_id=uuid4(rng),
                               path=f"iscsi://{ctx['iqn']}/{ctx['lun_seq']}", size=size,
                               local_created_at=vm.get("local_created_at") or choice(ts_pool))
                    vol_rows[vol_id] = vol
                    link_vol_cluster(vol, cid)
                    link_vol_lun(vol, lun_id)
                if has_disk:
                    disk = disk_tpl.copy()
                    disk.update(id=mint(), type=t_disk, bus=bus, boot=d + 1, key=d,
                                device=("sd" if bus == bus_s else "vd") + "abcdefghijklmnopqrstuvwxyz"[d % 26])
                    disk_rows[disk["id"]] = disk
                    link_disk_vm(disk, vid)
                    link_disk_vol(disk, vol_id)
                disks.append((d, size, vol_id, lun_id))
            cdrom = spec.cdrom if spec is not None and spec.cdrom is not None else rand() < sc.cdrom_fraction
            cd_image = None
            if cdrom and has_disk:
                disk = disk_tpl.copy()
                disk.update(id=mint(), type=t_cd, bus=bus_i or bus, boot=ndisks + 1, key=ndisks, device="hdc")
                disk_rows[disk["id"]] = disk
                link_disk_vm(disk, vid)
                if ctx["isos"] and rand() < 0.7:
                    cd_image = choice(ctx["isos"])
                    link_disk_img(disk, cd_image["id"])
            if "size" in vm_props:
                vm["size"] = total
            if "provisioned_size" in vm_props:
                vm["provisioned_size"] = total
            nics = []
            nnics = spec.nics if spec is not None and spec.nics is not None else sc.nics_per_vm
            if has_nic:
                for n in range(nnics):
                    vlan = ctx["vlans"][0] if n == 0 or len(ctx["vlans"]) == 1 else choice(ctx["vlans"])
                    nic = nic_tpl.copy()
                    nic_ip = ip if n == 0 else f"172.{16 + n % 16}.{(k // 250) % 256}.{k % 250 + 5}"
                    nic.update(id=mint(), local_id=uuid4(rng), mac_address=mac(rng),
                               ip_address=nic_ip if running else "", gateway=f"10.{64 + o2 % 64}.0.1",
                               order=n, interface_id=f"eth{n}")
                    for key in nic_drop:
                        nic.pop(key, None)
                    nic_rows[nic["id"]] = nic
                    link_nic_vm(nic, vid)
                    link_nic_vlan(nic, vlan["id"] if vlan else None)
                    nics.append((n, nic, vlan))
            nsnap = spec.snapshots if spec is not None and spec.snapshots is not None else (
                sc.snapshots_per_vm if rand() < sc.snapshot_fraction else 0)
            if nsnap and has_snap:
                self.snap_jobs.append((vm, disks, nics, nsnap, ci, cd_image))
        self.build_vm_snapshots()

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

    # ----------------------------------------------------------------- history
    def build_history(self) -> None:
        sc, rng, P = self.sc, self.rng, self.pools
        vm_ids = list(self.rows.get("Vm", {}))
        cids = [c["id"] for c in self.clusters]
        # VM volume snapshots of a few volumes.
        vols = list(self.rows.get("VmVolume", {}).values())
        if self.has("VmVolumeSnapshot"):
            for i in range(min(sc.volume_snapshots, len(vols))):
                vol = vols[rng.randrange(len(vols))]
                self.make("VmVolumeSnapshot", {
                    "name": f"{vol['name']}-vsnap-{i + 1}", "local_id": uuid4(rng), "description": "",
                    "type": self.enum("VmVolumeSnapshot", "type", "KVM_VOLUME_ISCSI_SNAPSHOT"),
                    "elf_storage_policy": vol.get("elf_storage_policy"), "volume_size": vol.get("size"),
                    "size": vol.get("size"), "zbs_snapshot_uuid": uuid4(rng), "volume_sharing": False,
                    "local_created_at": P.ts(), "createAt": P.ts()},
                    {"vm_volume": vol["id"], "cluster": vol.get("cluster") or (cids[0] if cids else None)})
        # Alerts.
        hosts = [h for ctx in self.cl for h in ctx["hosts"]]
        for i in range(sc.alerts):
            h = hosts[rng.randrange(len(hosts))] if hosts else None
            ended = rng.random() < 0.4
            start = P.ts()
            kind = ALERTS[rng.randrange(len(ALERTS))]
            self.make("Alert", {
                "ended": ended, "local_start_time": start, "local_create_time": start,
                "local_update_time": start, "local_end_time": start if ended else NEVER,
                **{f: en for f, (en, _) in kind.items()},
                "severity": self.enum("Alert", "severity", rng.choice(("INFO", "NOTICE", "CRITICAL"))),
                "local_id": uuid4(rng)},
                {"cluster": h and h.get("cluster"), "host": h and h["id"],
                 "vms": vm_ids[rng.randrange(len(vm_ids))] if vm_ids and rng.random() < 0.3 else None})
        # Task history.
        users = [u["id"] for u in self.users]
        steps_schema = self.res["Task"].properties.get("steps") if self.has("Task") else None
        step_item = self.c.resolve(steps_schema).get("items") if steps_schema else None
        step_props = self.synth.obj_shape(step_item)[0] if step_item else {}
        unit = self.c.enum_values(step_props["unit"]) if "unit" in step_props else ()
        names = {m: [r.get("name") for r in list(self.rows.get(m, {}).values())[:200]] for m in ("Vm", "IscsiLun", "Vlan", "VmSnapshot")}
        ids = {m: list(self.rows.get(m, {}))[:200] for m in names}
        for i in range(sc.tasks if self.has("Task") else 0):
            rtype, mutation, verb = TASK_KINDS[rng.randrange(len(TASK_KINDS))]
            if not ids.get(rtype):
                rtype, mutation, verb = TASK_KINDS[0]
            j = rng.randrange(len(ids[rtype])) if ids.get(rtype) else None
            failed = rng.random() < 0.1
            start_ms = BASE_MS - rng.randrange(60 * DAY_MS) // 1000 * 1000
            dur = rng.randrange(1, 300) * 1000
            steps = []
            for key in ("prepare", "execute", "finish"):
                st = {"key": key, "current": 1.0, "total": 1.0, "finished": True, "per_second": 0.0}
                if unit:
                    st["unit"] = "COUNT" if "COUNT" in unit else unit[0]
                steps.append({k: v for k, v in st.items() if k in step_props})
            self.make("Task", {
                "description": f"{verb} {names[rtype][j] if j is not None else ''}".strip(),
                "status": self.enum("Task", "status", "FAILED" if failed else "SUCCESSED"),
                "progress": 1.0, "args": {}, "snapshot": '{"typename":"%s"}' % rtype, "steps": steps,
                "internal": False, "local_created_at": iso(start_ms), "started_at": iso(start_ms),
                "finished_at": iso(start_ms + dur),
                "error_code": "TASK_FAILED" if failed else None,
                "error_message": "code: JOB_FAILED, message: the job failed on the cluster" if failed else None,
                "key": None, "resource_id": ids[rtype][j] if j is not None else None, "resource_type": rtype,
                "resource_mutation": mutation, "resource_rollbacked": None, "resource_rollback_error": None,
                "resource_rollback_retry_count": None, "type": None},
                {"user": users[rng.randrange(len(users))] if users else None,
                 "cluster": cids[rng.randrange(len(cids))] if cids else None}, optional_p=0.0)
        # Labels on some VMs, volumes, VLANs.
        vms = list(self.rows.get("Vm", {}).values())
        for lab in self.labels:
            if lab is None:
                continue
            for _ in range(min(len(vms), rng.randrange(0, 6))):
                self.link("Label", lab, "vms", vms[rng.randrange(len(vms))]["id"])
            if "total_num" in lab:
                lab["total_num"] = len(lab.get("vms") or [])
                lab["vm_num"] = lab["total_num"] if "vm_num" in self.res["Label"].properties else None
                if lab.get("vm_num") is None:
                    lab.pop("vm_num", None)

    # ----------------------------------------------------------------- generic
    def build_generic(self) -> None:
        """A few schema-valid records of every other resource; one of a tower-wide singleton."""
        n = max(1, self.sc.records_per_other_resource)
        for model in self.res:
            if model in CORE and self.rows[model]:
                continue
            if self.rows[model]:
                continue
            if model in SINGLETONS:
                self.make(model, SINGLETONS[model], generic=True)
                continue
            for _ in range(n):
                self.make(model, generic=True)

    def alert_rules(self) -> None:
        """Global alert rules carry the catalogue's texts (both languages via mock_server.texts)."""
        for i, rule in enumerate(self.rows.get("GlobalAlertRule", {}).values()):
            kind = ALERTS[i % len(ALERTS)]
            for f, (en, _) in kind.items():
                if f in rule or self.has("GlobalAlertRule", f):
                    rule[f] = en

    def repair(self) -> None:
        """Relations the contract requires, and the stored relations of generic rows."""
        plans, rng = self.plans, self.rng
        # 1. A required derived to-one (Witness.cluster <- Cluster.witness) needs a holder row.
        for model, res in self.res.items():
            for f, plan in plans[model].items():
                if plan.stored or plan.many or f not in res.required:
                    continue
                sm, sf = plan.inverse
                sp = plans[sm][sf]
                held = set()
                for r in self.rows[sm].values():
                    v = r.get(sf)
                    if isinstance(v, list):
                        held.update(v)
                    elif v:
                        held.add(v)
                free = [r for r in self.rows[sm].values() if not r.get(sf)] if not sp.many else list(self.rows[sm].values())
                for rid in list(self.rows[model]):
                    if rid in held:
                        continue
                    if free:
                        holder = free.pop(0) if not sp.many else free[rng.randrange(len(free))]
                        self.link(sm, holder, sf, rid)
                    elif rid in self.generic and len(self.rows[model]) > 1:
                        del self.rows[model][rid]
        # 2. Stored relations: generic rows get targets; every row gets its required ones.
        ids = {m: list(rows) for m, rows in self.rows.items()}
        for model, res in self.res.items():
            rows = self.rows[model]
            for f, plan in plans[model].items():
                if not plan.stored:
                    continue
                targets = ids.get(plan.target) or []
                if not targets:
                    continue
                required = f in res.required
                for rid, row in rows.items():
                    if f in row:
                        continue
                    if rid in self.generic:
                        if plan.many:
                            row[f] = sorted({targets[rng.randrange(len(targets))] for _ in range(rng.randrange(0, 3))})
                        elif required or rng.random() < 0.7:
                            row[f] = targets[rng.randrange(len(targets))]
                    elif required and not plan.many:
                        row[f] = targets[rng.randrange(len(targets))]
        # 3. Projections that carry fields the target resource lacks (GpuVmInfo.vms ->
        #    GpuVmDetail.vgpu_instance_on_vm_num): the referenced rows get them too.
        for model, res in self.res.items():
            for f, nested in res.nested_schema.items():
                plan = plans[model].get(f)
                if plan is None or not plan.stored:
                    continue
                tprops = self.res[plan.target].properties
                nschema = {"$ref": "#/components/schemas/" + nested}
                nprops, nreq = self.synth.obj_shape(nschema)
                extra = [k for k in nprops if k not in tprops and k != "id"]
                if not extra:
                    continue
                trows = self.rows[plan.target]
                for row in self.rows[model].values():
                    v = row.get(f)
                    for t in (v if isinstance(v, list) else [v] if v else []):
                        tr = trows.get(t)
                        if tr is not None:
                            for k in extra:
                                if k not in tr:
                                    tr[k] = self.synth.value(k, nprops[k])
        # 4. Bookkeeping fields that only the builder needed.
        for lun in self.rows.get("IscsiLun", {}).values():
            n = lun.pop("_snaps", 0)
            if n and "snapshot_num" in lun:
                lun["snapshot_num"] = n
            lun.pop("_target", None)
            lun.pop("_cluster", None)
