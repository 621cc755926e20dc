"""Where a VM may run, as a real tower schedules it: on a host of the VM's own cluster that is
connected, not in (or entering) maintenance, not being removed, with memory left for the VM.
Used by create / start / migrate and by maintenance mode (a host's VM counters are derived
from the VMs it carries by world/derived.py after every operation).

A leaf of the VM behaviours: it imports only mutations.py and storage.py.
"""

from __future__ import annotations

from typing import Iterable

from ..errors import bad_request
from . import Ctx
from .mutations import not_found_id

CONNECTED = {"CONNECTED_HEALTHY", "CONNECTED_WARNING", "CONNECTED_ERROR"}
OUT_OF_SERVICE = {"MAINTENANCE_MODE", "ENTERING_MAINTENANCE_MODE", "REMOVING"}
ACTIVE = ("RUNNING", "SUSPENDED")          # states that hold a host's memory


def maintenance_state(host: dict) -> str | None:
    return (host.get("host_state") or {}).get("state")


def in_maintenance(host: dict) -> bool:
    return maintenance_state(host) in OUT_OF_SERVICE


def why_unusable(host: dict) -> str | None:
    """Why no VM may be placed on `host` (None when it may)."""
    if host.get("status") is not None and host.get("status") not in CONNECTED:
        return f"it is {host.get('status')}"
    if host.get("state") == "REMOVING":
        return "it is being removed"
    state = maintenance_state(host)
    if state == "MAINTENANCE_MODE":
        return "it is in maintenance mode"
    if state in OUT_OF_SERVICE:
        return "it is entering maintenance mode" if state.startswith("ENTERING") else f"it is {state}"
    return None


def vms_on(ctx: Ctx, host_id: str, states: Iterable[str] = ACTIVE) -> list[dict]:
    wanted = set(states)
    return [v for v in ctx.store.find_by("Vm", "host", host_id) if v.get("status") in wanted]


def free_memory(ctx: Ctx, host: dict, ignore: Iterable[str] = (), extra: int = 0) -> int:
    """Memory a new running VM may take on `host`: its total less the OS's share and what its
    running / suspended VMs hold (`ignore`: VM ids not to count; `extra`: already promised)."""
    skip = set(ignore)
    used = sum(int(v.get("memory") or 0) for v in vms_on(ctx, host["id"]) if v["id"] not in skip)
    total = int(host.get("total_memory_bytes") or 0)
    os_share = int(host.get("os_memory_bytes") or 0)
    if os_share >= total:
        os_share = 0
    return total - os_share - used - extra


def cluster_hosts(ctx: Ctx, cluster_id: str | None) -> list[dict]:
    if not cluster_id:
        return []
    return sorted(ctx.store.find_by("Host", "cluster", cluster_id), key=lambda h: (h.get("name") or "", h["id"]))


PASS_THROUGH = (("usb_devices", "UsbDevice"), ("gpu_devices", "GpuDevice"))


def pinned_host(ctx: Ctx, vm: dict) -> dict | None:
    """The host whose USB / GPU devices the VM uses (a pass-through device ties it there)."""
    if not vm.get("id"):
        return None
    store = ctx.store
    res = ctx.contract.resources.get("Vm")
    for rel, model in PASS_THROUGH:
        if res is None or rel not in res.relations or model not in store.tables:
            continue
        for did in store.related_ids("Vm", vm, rel) or ():
            dev = store.get(model, did)
            host = store.get("Host", dev.get("host")) if dev and dev.get("host") else None
            if host is not None:
                return host
    return None


def candidates(ctx: Ctx, vm: dict, *, exclude: Iterable[str] = (), promised: dict | None = None) -> list[dict]:
    """Usable hosts of the VM's cluster with room for it, most free memory first (only the
    host of its pass-through devices for a VM that has some)."""
    skip = set(exclude)
    promised = promised or {}
    need = int(vm.get("memory") or 0)
    pinned = pinned_host(ctx, vm)
    out = []
    for h in cluster_hosts(ctx, vm.get("cluster")):
        if h["id"] in skip or why_unusable(h) is not None or (pinned is not None and h["id"] != pinned["id"]):
            continue
        room = free_memory(ctx, h, ignore=[vm["id"]], extra=promised.get(h["id"], 0))
        if room >= need:
            out.append((room, h))
    out.sort(key=lambda x: (-x[0], x[1].get("name") or "", x[1]["id"]))
    return [h for _, h in out]


def no_room(vm: dict, what: str = "run") -> Exception:
    mem = int(vm.get("memory") or 0)
    return bad_request(
        f"No host of the cluster can {what} VM {vm.get('name')} ({vm['id']}): no connected host out of "
        f"maintenance mode has {mem} bytes of memory free",
        f"集群中没有可{'运行' if what == 'run' else '接收'}虚拟机 {vm.get('name')} 的主机: 没有处于连接状态且未处于"
        f"维护模式的主机有 {mem} 字节的空闲内存")


def pick_host(ctx: Ctx, vm: dict, *, exclude: Iterable[str] = (), promised: dict | None = None,
              what: str = "run") -> str:
    """The host a VM is scheduled on (a 400 when none fits)."""
    hosts = candidates(ctx, vm, exclude=exclude, promised=promised)
    if not hosts:
        raise no_room(vm, what)
    return hosts[0]["id"]


def check_host(ctx: Ctx, vm: dict, host_id: str, field: str, *, promised: dict | None = None) -> dict:
    """A host named by the client for `vm`: it must exist, be in the VM's cluster, be usable
    and have room."""
    host = ctx.store.get("Host", host_id) if isinstance(host_id, str) else None
    if host is None:
        raise not_found_id(field, "Host", host_id)
    if vm.get("cluster") and host.get("cluster") != vm.get("cluster"):
        raise bad_request(f"{field}: host {host.get('name')} ({host_id}) is not in the cluster of VM "
                          f"{vm.get('name')}", f"{field}: 主机 {host.get('name')} 不在虚拟机 {vm.get('name')} 所在的集群")
    pinned = pinned_host(ctx, vm)
    if pinned is not None and pinned["id"] != host["id"]:
        raise bad_request(f"{field}: VM {vm.get('name')} uses pass-through devices of host {pinned.get('name')}; it "
                          f"cannot run on host {host.get('name')}",
                          f"{field}: 虚拟机 {vm.get('name')} 使用主机 {pinned.get('name')} 的直通设备, 无法运行在主机 "
                          f"{host.get('name')}")
    why = why_unusable(host)
    if why:
        raise bad_request(f"{field}: cannot place VM {vm.get('name')} on host {host.get('name')}: {why}",
                          f"{field}: 无法将虚拟机 {vm.get('name')} 放置到主机 {host.get('name')}: 主机不可用")
    need = int(vm.get("memory") or 0)
    room = free_memory(ctx, host, ignore=[vm["id"]], extra=(promised or {}).get(host_id, 0))
    if room < need:
        raise bad_request(f"{field}: host {host.get('name')} has {max(room, 0)} bytes of memory free, VM "
                          f"{vm.get('name')} needs {need}",
                          f"{field}: 主机 {host.get('name')} 空闲内存不足 ({max(room, 0)} < {need})")
    return host
