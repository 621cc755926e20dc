"""Adding hosts to a cluster: `get-discover-hosts` answers the SMTX OS nodes a cluster can see
on its management network that are in no cluster yet; `create-host` takes some of them in.

The nodes are the world's, derived from the cluster (no table holds them): two or three per
SMTX cluster, with a host UUID, serial, MACs and disk serials hashed from the cluster's local
id, an address at .200+ of the cluster's management subnet, its SMTX OS version and its
hosts' hardware (all-flash or hybrid disks). The same on every call; a node that a Host of the
world already is (its local id, or its management address) is discovered no more, so after
create-host the node is a Host of the cluster and leaves the list. `host_address` narrows
discovery to those addresses. An unknown cluster is a 404 (get) or a 400 (create)."""

from __future__ import annotations

import hashlib
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .lookups import unique_row
from .mutations import body_items, new_record, require_row, start_task

GiB = 1024 ** 3
TiB = 1024 * GiB
SMTX = ("SMTX_OS", "SMTX_ELF", "SMTX_ZBS")
HARDWARE = ("total_memory_bytes", "os_memory_bytes", "total_cpu_cores", "cpu_hz_per_core", "total_cpu_hz",
            "cpu_model", "cpu_brand", "cpu_vendor", "compatible_cpu_models", "iommu")


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("/".join(parts).encode()).digest()


def _uuid(d: bytes) -> str:
    h = d[:16].hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[d[8] & 3]}{h[17:20]}-{h[20:32]}"


def _subnet(ctx: Ctx, cluster: dict) -> str:
    """`a.b.c.` of the cluster's management network (its VIP, else a host's address)."""
    ip = cluster.get("ip") or cluster.get("management_vip")
    if not ip:
        hosts = [ctx.store.get("Host", h) for h in ctx.store.related_ids("Cluster", cluster, "hosts") or ()]
        ip = next((h.get("management_ip") for h in hosts if h and h.get("management_ip")), None)
    parts = str(ip or "10.0.0.1").split(".")
    return ".".join(parts[:3]) + "." if len(parts) == 4 else "10.0.0."


def _disks(d: bytes, all_flash: bool) -> list[dict]:
    layout = [("SATA_OR_SAS_SSD", "BOOT", 240 * GiB, "INTEL SSDSC2KG240G8")]
    if all_flash:
        layout += [("NVMe_SSD", "DATA", 4 * TiB, "INTEL SSDPE2KX040T8")] * 4
    else:
        layout += [("SATA_OR_SAS_SSD", "CACHE", 2 * TiB, "INTEL SSDSC2KG019T8")] * 2 \
            + [("HDD", "DATA", 8 * TiB, "ST8000NM000A")] * 4
    out = []
    for i, (dtype, function, size, model) in enumerate(layout):
        drive = "nvme%dn1" % i if dtype == "NVMe_SSD" else "sd" + "abcdefgh"[i]
        serial = hashlib.sha256(d + bytes([i])).hexdigest()[:18].upper()
        out.append({"drive": drive, "model": model, "serial": serial, "size": size,
                    "type": dtype, "function": function, "numa_node": i % 2})
    return out


def _ifaces(d: bytes, ip: str) -> list[dict]:
    out = []
    for i, (name, mtu, speed) in enumerate((("eth0", 1500, 10000.0), ("eth1", 1500, 10000.0),
                                            ("eth2", 9000, 25000.0), ("eth3", 9000, 25000.0))):
        mac = "0c:c4:7a:%02x:%02x:%02x" % (d[20], d[21], (d[22] + i) & 255)
        out.append({"name": name, "mac_address": mac, "mtu": mtu, "up": True, "speed": speed,
                    "ipv4": ip if i == 0 else None, "pci_slot_name": f"0000:3b:00.{i}", "rdma_enabled": False})
    return out


def candidates(ctx: Ctx, cluster: dict) -> list[dict]:
    """Every node of `cluster`'s network that is no Host of the world (DiscoveredHost rows)."""
    if cluster.get("type") not in SMTX:
        return []
    store = ctx.store
    seed = cluster.get("local_id") or cluster["id"]
    taken_ids = {h.get("local_id") for h in store.all("Host")}
    taken_ips = {h.get("management_ip") for h in store.all("Host")} | {h.get("data_ip") for h in store.all("Host")}
    subnet = _subnet(ctx, cluster)
    model = next((h.get("model") for h in store.all("Host") if h.get("model")), None)
    out = []
    for k in range(2 + _digest(seed)[0] % 2):
        d = _digest(seed, "node", str(k))
        host_uuid, ip = _uuid(d), f"{subnet}{200 + k}"
        if host_uuid in taken_ids or ip in taken_ips:
            continue
        out.append({"host_uuid": host_uuid, "hostname": f"{cluster.get('name') or 'node'}-new-{host_uuid[:4]}",
                    "host_ip": ip, "ipmi_ip": None, "serial": d[24:32].hex().upper(), "sockets": 2,
                    "version": cluster.get("version") or "", "product": model, "deployed": False,
                    "all_flash": bool(cluster.get("is_all_flash")), "is_os_in_raid1": False, "zbs_spec": None,
                    "dimms": [], "disks": _disks(d, bool(cluster.get("is_all_flash"))), "ifaces": _ifaces(d, ip)})
    return out


@operation("get-discover-hosts")
def get_discover_hosts(ctx: Ctx, body: Any):
    body = body if isinstance(body, dict) else {}
    cluster = unique_row(ctx, "Cluster", body.get("cluster"), "cluster")
    found = candidates(ctx, cluster)
    wanted = body.get("host_address")
    if wanted:
        found = [h for h in found if h["host_ip"] in set(wanted)]
    return found


@operation("create-host")
def create_host(ctx: Ctx, body: Any):
    """Each item adds the discovered nodes it names (by host_uuid) to its cluster, as Hosts
    created under one task; a node the cluster does not discover is a 400, before anything."""
    plans = []
    for i, item in enumerate(body_items(body)):
        cluster = require_row(ctx, "Cluster", item.get("cluster_id"), f"[{i}].cluster_id")
        found = {h["host_uuid"]: h for h in candidates(ctx, cluster)}
        nodes = []
        for j, data in enumerate(item.get("data") or ()):
            node = found.get(data.get("host_uuid"))
            if node is None or data.get("host_ip") not in (None, node["host_ip"]):
                raise bad_request(f"[{i}].data[{j}].host_uuid: host {data.get('host_uuid')} "
                                  f"({data.get('host_ip')}) is not discovered by cluster {cluster.get('name')}",
                                  f"[{i}].data[{j}].host_uuid: 集群 {cluster.get('name')} 未发现主机 "
                                  f"{data.get('host_uuid')} ({data.get('host_ip')})")
            nodes.append((node, data))
        if not nodes:
            raise bad_request(f"[{i}].data: name at least one discovered host", f"[{i}].data: 至少指定一台已发现的主机")
        plans.append((cluster, nodes))
    out = []
    for cluster, nodes in plans:
        rows = [_new_host(ctx, cluster, node, data) for node, data in nodes]
        tid = start_task(ctx, "Host", rows[0]["id"], "create", name=rows[0].get("name"),
                         description=f"Add {len(rows)} host(s) to cluster {cluster.get('name')}")
        out.append({"task_id": tid, "data": {"task": _nested_task(ctx, tid)}})
    return out


def _new_host(ctx: Ctx, cluster: dict, node: dict, data: dict) -> dict:
    data_ip = next((f.get("ip") for f in data.get("ifaces") or () if f.get("function") == "STORAGE"), None)
    fields = {"name": data.get("hostname") or node["hostname"], "local_id": node["host_uuid"],
              "management_ip": node["host_ip"], "serial": node["serial"], "model": node["product"],
              "os_version": node["version"], "total_cpu_sockets": node["sockets"],
              "status": "CONNECTED_HEALTHY", "state": "IN_USE", "nested_virtualization": False}
    if data_ip:
        fields["data_ip"] = data_ip
    siblings = [ctx.store.get("Host", h) for h in ctx.store.related_ids("Cluster", cluster, "hosts") or ()]
    sibling = next((h for h in siblings if h is not None), None)
    for k in HARDWARE:              # the same hardware as the cluster's other nodes
        if sibling is not None and sibling.get(k) is not None:
            fields[k] = sibling[k]
    props = ctx.contract.resources["Host"].properties
    return new_record(ctx, "Host", {"cluster_id": cluster["id"]},
                      extra={k: v for k, v in fields.items() if k in props and v is not None})


def _nested_task(ctx: Ctx, tid: str | None) -> dict:
    task = ctx.store.get("Task", tid) if tid else None
    rendered = ctx.store.render("Task", task) if task is not None else {}
    keys = ctx.contract.properties({"$ref": "#/components/schemas/" + (ctx.contract.find_schema("NestedTask") or "")})
    return {k: rendered.get(k) for k in keys if k in rendered}
