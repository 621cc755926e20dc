"""Counters and totals that a real tower derives from what they count.

`Host.running_vm_num`, `Cluster.vm_num`, `Datacenter.total_cpu_hz`, `Label.vm_num`,
`Vds.vlans_num`, `IscsiLun.snapshot_num`, ... are never stored facts of their own: they are
recomputed from the rows they count (or sum), so they agree with the VMs, hosts and
snapshots a client lists, after seeding and after every mutation.

`values(store, model, row)` computes the derived fields of one row; `refresh(store)` brings
every row touched by the writes since the last refresh (and whatever counts those rows) up
to date, cheaply: it reads the store's change log and recomputes only the owners affected.
`refresh_all(store)` recomputes everything (after seeding, or when the log was compacted).

Only fields the contract declares are written, so older contracts work unchanged.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable

from ..store.diff import changed_fields
from ..store.table import members

# Which relations carry the counted rows; a counter `<x>_num` whose owner has a to-many
# relation named like `<x>s` counts it (Label.vm_num -> Label.vms, Cluster.host_num ->
# Cluster.hosts, Vds.vlans_num -> Vds.vlans, Datacenter.cluster_num -> Datacenter.clusters).
VM_STATUS_COUNTERS = {"running_vm_num": "RUNNING", "stopped_vm_num": "STOPPED", "suspended_vm_num": "SUSPENDED"}
CLUSTER_SUMS = ("total_cpu_cores", "total_cpu_sockets", "total_cpu_hz", "total_memory_bytes",
                "total_data_capacity", "total_cache_capacity", "used_data_space", "used_memory_bytes",
                "used_cpu_hz", "failure_data_space")
DISK_KIND = {"HDD": "hdd_disk_count", "SSD": "ssd_disk_count", "SATA_OR_SAS_SSD": "ssd_disk_count",
             "NVMe_SSD": "ssd_disk_count", "PMem": "pmem_disk_count"}
DATA_USAGE = ("DATA", "DATA_AND_META")
CACHE_USAGE = ("CACHE", "CACHE_AND_META")
SYSTEM_VLAN_TYPES = ("MANAGEMENT", "MIGRATION", "STORAGE", "STORAGE_ACCESS", "ACCESS", "VPC_SYS")
_REFRESH_ATTR = "_derived_revision"


def _plural_relation(res, stem: str) -> str | None:
    for cand in (stem + "s", stem + "es", stem[:-1] + "ies" if stem.endswith("y") else None, stem):
        if cand and cand in res.relations and res.relations[cand].many:
            return cand
    return None


class _InfraFigures:
    """The derived figures of hosts, clusters, zones and datacenters: VM counts and sums
    from `VmSums`, capacities from physical disks, totals over hosts and clusters."""

    def _vm_figures(self, sums: list, out: dict) -> None:
        """The VM counters and sums of a host, cluster or zone, from its `VmSums` slots."""
        running, stopped, suspended, total, cores, mem, active_cores, active_mem, paused_mem = sums
        out.update(running_vm_num=running, stopped_vm_num=stopped, suspended_vm_num=suspended)
        out["vm_num"] = total
        out["provisioned_cpu_cores"] = cores
        out["provisioned_memory_bytes"] = mem
        out["provisioned_cpu_cores_for_active_vm"] = active_cores
        out["_active_memory"] = active_mem
        out["_paused_memory"] = paused_mem

    def _host(self, store, row: dict, out: dict) -> None:
        self._vm_figures(vm_sums(store).get(store, "Host", row["id"]), out)
        active_mem = out.pop("_active_memory")
        paused_mem = out.pop("_paused_memory")
        out.pop("provisioned_cpu_cores_for_active_vm", None)
        # memory held by VMs that run or are paused (the SDK README's dashboard adds it up)
        out["running_pause_vm_memory_bytes"] = active_mem + paused_mem
        cores = row.get("total_cpu_cores") or 0
        out["total_cpu_hz"] = cores * (row.get("cpu_hz_per_core") or 0)
        total_mem = row.get("total_memory_bytes") or 0
        os_mem = row.get("os_memory_bytes") or 0
        out["used_memory_bytes"] = min(total_mem, os_mem + active_mem) if total_mem else active_mem
        out["allocatable_memory_bytes"] = max(0, total_mem - os_mem - active_mem - paused_mem)
        if "Disk" in store.tables:
            counts = {f: 0 for f in set(DISK_KIND.values())}
            data = cache = hdd = ssd = 0
            for d in (store.get("Disk", i) for i in store.related_ids("Host", row, "disks") or ()):
                if d is None:
                    continue
                kind = DISK_KIND.get(d.get("type"))
                if kind:
                    counts[kind] += 1
                size = d.get("size") or 0
                if d.get("usage") in DATA_USAGE:
                    data += size
                    if d.get("type") == "HDD":
                        hdd += size
                    else:
                        ssd += size
                elif d.get("usage") in CACHE_USAGE:
                    cache += size
            out.update(counts)
            out.update(total_data_capacity=data, total_cache_capacity=cache, hdd_data_capacity=hdd,
                       ssd_data_capacity=ssd)
            used = row.get("used_data_space") or 0
            out["used_data_space"] = min(used, data)
        for f, rel in (("nic_count", "nics"), ("pmem_dimm_count", "pmem_dimms")):
            if rel in self.res["Host"].relations:
                out[f] = store.related_count("Host", row, rel)

    def _sum_hosts(self, store, hosts: list[dict], out: dict) -> None:
        for f in CLUSTER_SUMS:
            out[f] = sum((h.get(f) or 0) for h in hosts)
        out["host_num"] = len(hosts)

    def _cluster(self, store, row: dict, out: dict) -> None:
        hosts = [h for h in (store.get("Host", i) for i in store.related_ids("Cluster", row, "hosts") or ())
                 if h is not None]
        # a VM write recomputes its cluster: its hosts' sums are the same while the host rows
        # are (rows are never changed in place, a write replaces them)
        cache = self.__dict__.setdefault("_host_sums", {})
        hit = cache.get(row["id"])
        if hit is not None and len(hit[0]) == len(hosts) and all(a is b for a, b in zip(hit[0], hosts)):
            out.update(hit[1])
        else:
            self._sum_hosts(store, hosts, out)
            if len(cache) > 4096:
                cache.clear()
            cache[row["id"]] = (hosts, {f: out[f] for f in (*CLUSTER_SUMS, "host_num")})
        self._vm_figures(vm_sums(store).get(store, "Cluster", row["id"]), out)
        out.pop("_active_memory")
        out.pop("_paused_memory")
        total_cores = out.get("total_cpu_cores") or 0
        if total_cores:
            out["provisioned_ratio"] = round(out["provisioned_cpu_cores"] / total_cores, 4)
            out["provisioned_for_active_vm_ratio"] = round(out["provisioned_cpu_cores_for_active_vm"] / total_cores, 4)
        else:
            out["provisioned_ratio"] = out["provisioned_for_active_vm_ratio"] = 0.0
        out["total_cpu_models"] = sorted({h.get("cpu_model") for h in hosts if h.get("cpu_model")})
        total_data = out.get("total_data_capacity") or 0
        out["valid_data_space"] = total_data
        if row.get("max_physical_data_capacity") is not None:
            out["max_physical_data_capacity"] = total_data

    def _zone(self, store, row: dict, out: dict) -> None:
        hosts = [h for h in (store.get("Host", i) for i in store.related_ids("Zone", row, "hosts") or ())
                 if h is not None]
        self._sum_hosts(store, hosts, out)
        sums, per_host = [0] * len(_SLOTS), vm_sums(store)
        for h in hosts:
            for i, v in enumerate(per_host.get(store, "Host", h["id"])):
                sums[i] += v
        self._vm_figures(sums, out)
        out.pop("_active_memory")
        out.pop("_paused_memory")
        out["valid_data_space"] = out.get("total_data_capacity") or 0

    def _datacenter(self, store, row: dict, out: dict) -> None:
        clusters = [c for c in (store.get("Cluster", i) for i in store.related_ids("Datacenter", row, "clusters") or ())
                    if c is not None]
        for f in ("host_num", "vm_num", "total_cpu_hz", "total_data_capacity", "total_memory_bytes",
                  "used_cpu_hz", "used_data_space", "used_memory_bytes", "failure_data_space"):
            out[f] = sum((c.get(f) or 0) for c in clusters)
        out["cluster_num"] = len(clusters)


# model -> (its snapshots' model, their relation to it): `snapshot_num`
_SNAPSHOT_COUNTERS = {"IscsiLun": ("IscsiLunSnapshot", "iscsi_lun"),
                      "NvmfNamespace": ("NvmfNamespaceSnapshot", "nvmf_namespace")}


class _OtherFigures:
    """Labels' counts by kind, LUN and namespace snapshot counts, a witness's CPU."""

    def _label(self, store, row: dict, out: dict) -> None:
        r = self.res["Label"]
        total = 0
        for rel, plan in r.relations.items():
            if plan.many:
                total += store.related_count("Label", row, rel)
        out["total_num"] = total
        if "vlans" in r.relations:
            vm = system = 0
            for v in (store.get("Vlan", i) for i in store.related_ids("Label", row, "vlans") or ()):
                if v is None:
                    continue
                if v.get("type") in SYSTEM_VLAN_TYPES:
                    system += 1
                else:
                    vm += 1
            out["system_vlan_num"], out["vm_vlan_num"] = system, vm

    def _snapshots_of(self, store, model: str, field: str, rid: str) -> int:
        t = store.tables.get(model)
        idx = t.rel(field) if t is not None else None
        return len(members(idx.get(rid))) if idx is not None else 0

    def apply_all(self, store, model: str) -> int | None:
        """Recompute every row of `model` at once when its one derived field is a snapshot
        count (LUNs, namespaces): one pass over the snapshots' index, not a lookup per row.
        None for any other model."""
        spec = _SNAPSHOT_COUNTERS.get(model)
        if spec is None or self.counts.get(model) or "snapshot_num" not in self.res[model].properties:
            return None
        t = store.tables.get(spec[0])
        idx = t.rel(spec[1]) if t is not None else None
        counts = {k: len(members(e)) for k, e in idx.items()} if idx else {}
        n = 0
        for rid, row in list(store.tables[model].rows.items()):
            v = counts.get(rid, 0)
            if row.get("snapshot_num") != v:
                store.update(model, rid, {"snapshot_num": v})
                n += 1
        return n

    def _iscsilun(self, store, row: dict, out: dict) -> None:
        out["snapshot_num"] = self._snapshots_of(store, *_SNAPSHOT_COUNTERS["IscsiLun"], row["id"])

    def _nvmfnamespace(self, store, row: dict, out: dict) -> None:
        out["snapshot_num"] = self._snapshots_of(store, *_SNAPSHOT_COUNTERS["NvmfNamespace"], row["id"])

    def _witness(self, store, row: dict, out: dict) -> None:
        out["total_cpu_hz"] = (row.get("total_cpu_cores") or 0) * (row.get("cpu_hz_per_core") or 0)


class _Owners:
    """Which rows a write can change the derived fields of, and in what order to recompute them."""

    def _inert(self, old: dict, new: dict) -> bool:
        """Does old -> new change only fields no derivation reads or writes? Those that may,
        conservatively: every string this module's code names, every relation, every counter."""
        read = self.__dict__.get("_read")
        if read is None:
            read = self._read = _module_strings() | {"id"} | {
                f for r in self.res.values() for f in r.properties if f in r.relations or f.endswith("_num")}
        return changed_fields(old, new).isdisjoint(read)

    def depends_on(self, target: str) -> frozenset[str]:
        """The models whose rows `target`'s derived fields read (keep in step with the
        `_<model>` methods above): its counters' rows, and what each method walks."""
        deps = self.__dict__.setdefault("_deps", {})
        out = deps.get(target)
        if out is None:
            rels = self.res[target].relations if target in self.res else {}
            out = {rels[rel].target for rel in self.counts.get(target, {}).values() if rel in rels}
            out |= {"Host": {"Vm", "Disk", *(rels[r].target for r in ("nics", "pmem_dimms", "disks") if r in rels)},
                    "Cluster": {"Host", "Vm"}, "Zone": {"Host", "Vm"}, "Datacenter": {"Cluster"},
                    "Label": {"Vlan", *(p.target for p in rels.values() if p.many)},
                    "IscsiLun": {"IscsiLunSnapshot"}, "NvmfNamespace": {"NvmfNamespaceSnapshot"}}.get(target, set())
            out = deps[target] = frozenset(out)
        return out

    def relevant(self) -> frozenset[str]:
        """The models a write of which can change a derived field: the models that have them,
        and every model one of their derivations reads."""
        out = self.__dict__.get("_relevant")
        if out is None:
            out = self._relevant = self.models.union(*(self.depends_on(m) for m in self.models))
        return out

    def owners(self, store, model: str, old: dict | None, new: dict | None) -> set[tuple[str, str]]:
        """(model, id) of every row whose derived fields may change with this write: the row
        itself, and the rows its stored relations point at whose derivation reads `model`
        (a task's cluster is not recomputed for a task). An update of fields no derivation
        reads (a description) has none."""
        if model not in self.relevant() or (old is not None and new is not None and self._inert(old, new)):
            return set()
        out: set[tuple[str, str]] = set()
        links = self._links(store, model)
        for row in (old, new):
            if row is None:
                continue
            out.add((model, row["id"]))
            for f, target, many in links:
                v = row.get(f)
                if not v:
                    continue
                if many:
                    out.update((target, t) for t in v)
                else:
                    out.add((target, v))
        return out

    def _links(self, store, model: str) -> list[tuple[str, str, bool]]:
        """(field, target, many) of `model`'s stored relations whose target's derivation
        reads `model`, worked out once per model."""
        cache = self.__dict__.setdefault("_link_cache", {})
        links = cache.get(model)
        if links is None:
            links = cache[model] = [(f, plan.target, plan.many) for f, plan in store.plans.get(model, {}).items()
                                    if plan.stored and model in self.depends_on(plan.target)]
        return links

    def expand(self, store, owners: set[tuple[str, str]]) -> list[tuple[str, str]]:
        """Owners plus what sums them, in dependency order (hosts, clusters, zones, datacenters)."""
        hosts, clusters, zones, dcs, rest = set(), set(), set(), set(), set()
        for m, rid in owners:
            {"Host": hosts, "Cluster": clusters, "Zone": zones, "Datacenter": dcs}.get(m, rest).add((m, rid))
        for _, hid in hosts:
            h = store.get("Host", hid)
            if h is not None:
                if h.get("cluster"):
                    clusters.add(("Cluster", h["cluster"]))
                if h.get("zone"):
                    zones.add(("Zone", h["zone"]))
        for _, cid in clusters:
            c = store.get("Cluster", cid)
            if c is not None:
                dcs.update(("Datacenter", d) for d in store.related_ids("Cluster", c, "datacenters") or ())
        order = [x for x in rest if x[0] in self.models]
        return order + sorted(hosts) + sorted(clusters) + sorted(zones) + sorted(dcs)


class Deriver(_InfraFigures, _OtherFigures, _Owners):
    """The derived fields of each resource of a contract, and how to compute them."""

    def __init__(self, contract):
        self.c = contract
        self.res = contract.resources
        self.counts: dict[str, dict[str, str]] = {}      # model -> {field: to-many relation}
        for model, r in self.res.items():
            m = {}
            for f in r.properties:
                if f in r.relations or not f.endswith("_num") or f in VM_STATUS_COUNTERS:
                    continue
                if model == "Label" and f in ("total_num", "system_vlan_num", "vm_vlan_num"):
                    continue
                rel = _plural_relation(r, f[:-4])
                if rel is not None:
                    m[f] = rel
            if m:
                self.counts[model] = m
        self.models = frozenset(self.counts) | frozenset(
            m for m in ("Host", "Cluster", "Datacenter", "Zone", "Label", "IscsiLun", "NvmfNamespace",
                        "Witness") if m in self.res)

    def has(self, model: str, field: str) -> bool:
        r = self.res.get(model)
        return r is not None and field in r.properties

    # ------------------------------------------------------------------ values
    def values(self, store, model: str, row: dict) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f, rel in self.counts.get(model, {}).items():
            out[f] = store.related_count(model, row, rel)
        fn = getattr(self, "_" + model.lower(), None)
        if fn is not None:
            fn(store, row, out)
        props = self.res[model].properties
        return {k: v for k, v in out.items() if k in props}

    def apply(self, store, targets: Iterable[tuple[str, str]]) -> int:
        n = 0
        for m, rid in targets:
            if m not in self.models:
                continue
            row = store.get(m, rid)
            if row is None:
                continue
            vals = self.values(store, m, row)
            diff = {k: v for k, v in vals.items() if row.get(k) != v}
            if diff:
                store.update(m, rid, diff)
                n += 1
        return n


# ------------------------------------------------------------------ VM sums by delta
_SLOTS = ("running", "stopped", "suspended", "total", "cores", "memory", "active_cores",
          "active_memory", "paused_memory")
_SUMS_ATTR = "_derived_vm_sums"
_VM_OWNERS = (("host", "Host"), ("cluster", "Cluster"))
PRIME_MIN_VMS = 2_000       # from this many VMs, the first sum asked computes every owner's


def _contribution(vm: dict) -> tuple:
    """What one VM adds to its host's and cluster's sums, slot by slot (`_SLOTS`)."""
    status = vm.get("status")
    vcpu, mem = vm.get("vcpu") or 0, vm.get("memory") or 0
    running, suspended = status == "RUNNING", status == "SUSPENDED"
    return (int(running), int(status == "STOPPED"), int(suspended), 1, vcpu, mem,
            vcpu if running else 0, mem if running else 0, mem if suspended else 0)


class VmSums:
    """Per host and per cluster sums of their VMs' figures. An owner's sums are computed
    once from its VMs, then kept by deltas read from the store's change log, so a VM write
    costs the same whatever the size of its cluster. Any gap in the log (a reset, a bulk
    load, a restore, compaction) drops them all; they are recomputed on next use."""

    def __init__(self):
        self.rev: int | None = None
        self.sums: dict[tuple[str, str], list] = {}

    def get(self, store, model: str, rid: str) -> list:
        with store.lock:
            self._sync(store)
            s = self.sums.get((model, rid))
            if s is None and not self.sums and len(getattr(store.tables.get("Vm"), "rows", ())) >= PRIME_MIN_VMS:
                self._prime(store)
                s = self.sums.get((model, rid))
            if s is None:
                s = [0] * len(_SLOTS)
                idx = store.tables["Vm"].rel(model.lower()) if "Vm" in store.tables else None
                rows = store.tables["Vm"].rows if idx else {}
                for vid in members(idx.get(rid)) if idx else ():
                    for i, v in enumerate(_contribution(rows[vid])):
                        s[i] += v
                self.sums[(model, rid)] = s
            return s

    def _prime(self, store) -> None:
        """Every owner's sums in one pass over the VMs (each VM's contribution computed once,
        summed per owner column by column), instead of one walk per owner as they are asked."""
        t = store.tables["Vm"]
        fields = [(f, m) for f, m in _VM_OWNERS if f in t.rel_fields]
        per: dict[tuple[str, str], list] = {}
        for vm in t.rows.values():
            c = None
            for f, m in fields:
                owner = vm.get(f)
                if type(owner) is str:
                    c = c or _contribution(vm)
                    per.setdefault((m, owner), []).append(c)
        for key, cs in per.items():
            self.sums[key] = [sum(col) for col in zip(*cs)]

    def _sync(self, store) -> None:
        rev = store.revision
        if self.rev == rev:
            return
        changes = store.changes
        pending = []
        if self.rev is not None and changes and changes[-1][0] == rev:
            for ch in reversed(changes):
                if ch[0] <= self.rev:
                    break
                pending.append(ch)
        if len(pending) != rev - (self.rev if self.rev is not None else rev - 1) or \
                (pending and pending[-1][0] != self.rev + 1):
            self.sums.clear()           # a revision the log does not hold: start again
        else:
            for ch in reversed(pending):
                if ch[2] == "Vm":
                    self._apply(ch[4], ch[5])
        self.rev = rev

    def _apply(self, old: dict | None, new: dict | None) -> None:
        for row, sign in ((old, -1), (new, 1)):
            if row is None:
                continue
            c = None
            for field, model in _VM_OWNERS:
                s = self.sums.get((model, row.get(field)))
                if s is not None:
                    c = c or _contribution(row)
                    for i, v in enumerate(c):
                        s[i] += sign * v


@contextmanager
def fresh_vm_sums(store):
    """Within: VM sums counted afresh from the rows, not the kept deltas (the invariant
    checker's independent view)."""
    with store.lock:
        kept = getattr(store, _SUMS_ATTR, None)
        setattr(store, _SUMS_ATTR, VmSums())
        try:
            yield
        finally:
            setattr(store, _SUMS_ATTR, kept)


def vm_sums(store) -> VmSums:
    s = getattr(store, _SUMS_ATTR, None)
    if s is None:
        s = VmSums()
        setattr(store, _SUMS_ATTR, s)
    return s


def _module_strings() -> frozenset[str]:
    """Every string this module's code and constants name (the field names it reads), from
    the compiled code objects (no parsing: safe in any thread)."""
    out: set[str] = set()

    def add(value, depth: int = 0) -> None:
        if isinstance(value, str):
            out.add(value)
        elif depth < 4 and isinstance(value, (tuple, list, set, frozenset)):
            for v in value:
                add(v, depth + 1)
        elif depth < 4 and isinstance(value, dict):
            for k, v in value.items():
                add(k, depth + 1)
                add(v, depth + 1)
        elif hasattr(value, "co_consts"):
            out.update(value.co_names)
            for c in value.co_consts:
                add(c, depth)
    for name, value in list(globals().items()):
        if isinstance(value, type) and value.__module__ == __name__:
            for member in vars(value).values():
                add(getattr(member, "__code__", None) or getattr(getattr(member, "fget", None), "__code__", None))
        elif callable(value) and getattr(value, "__module__", None) == __name__:
            add(getattr(value, "__code__", None))
        else:
            add(value)
    return frozenset(out)


def deriver(store) -> Deriver:
    d = getattr(store, "_deriver", None)
    if d is None or d.c is not store.contract:
        d = Deriver(store.contract)
        store._deriver = d
    return d


def refresh_all(store) -> int:
    """Recompute every derived field of the world (rows in dependency order)."""
    d = deriver(store)
    with store.lock:
        order = []
        n = 0
        for m in sorted(d.models, key=lambda m: ("Host", "Cluster", "Zone", "Datacenter").index(m)
                        if m in ("Host", "Cluster", "Zone", "Datacenter") else -1):
            bulk = d.apply_all(store, m)
            if bulk is None:
                order.extend((m, rid) for rid in list(store.tables[m].rows))
            else:
                n += bulk
        n += d.apply(store, order)
        setattr(store, _REFRESH_ATTR, store.revision)
        return n


def refresh(store) -> int:
    """Bring the derived fields touched by the writes since the last refresh up to date."""
    last = getattr(store, _REFRESH_ATTR, None)
    rev = store.revision
    if last == rev:
        return 0
    changes = store.changes
    if last is None or not changes or changes[0][0] > last + 1:
        if last is not None and changes and changes[-1][0] <= last:
            setattr(store, _REFRESH_ATTR, rev)
            return 0
        return refresh_all(store)
    d = deriver(store)
    relevant = d.relevant()
    with store.lock:
        owners: set[tuple[str, str]] = set()
        for ch in reversed(changes):
            if ch[0] <= last:
                break
            if ch[2] in relevant:
                owners |= d.owners(store, ch[2], ch[4], ch[5])
        n = d.apply(store, d.expand(store, owners))
        setattr(store, _REFRESH_ATTR, store.revision)
        return n
