"""VMs from content-library templates (`get-content-library-vm-templates` ids), as in the
SDK's examples: ids only, `disk_operate` (remove / modify / new disks), own `vm_nics`, and
`cloud_init`. The template must be distributed to the target cluster; the VM copies the
template's CPU, memory, firmware, disks (new volumes of the template's sizes) and NICs."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import body_items, require_row, respond, start_task
from .storage import drop_volumes, has, mounted_volume_ids
from .vm import clone_one, finish_create

MODEL = "ContentLibraryVmTemplate"


def template_for(ctx: Ctx, template_id: Any, cluster_id: Any, prefix: str) -> dict:
    """The template, which must reach the cluster the VM is created in."""
    tpl = require_row(ctx, MODEL, template_id, prefix + "template_id")
    cluster = require_row(ctx, "Cluster", cluster_id, prefix + "cluster_id")
    reach = ctx.store.related_ids(MODEL, tpl, "clusters") if "clusters" in ctx.store.plans.get(MODEL, {}) else []
    if reach and cluster["id"] not in reach:
        raise bad_request(f"{prefix}cluster_id: content library template {tpl.get('name')} ({tpl['id']}) is not "
                          f"distributed to cluster {cluster.get('name')} ({cluster['id']})",
                          f"{prefix}cluster_id: 内容库模板 {tpl.get('name')} 未分发到集群 {cluster.get('name')}")
    return tpl


def check_cloud_init(cloud_init: Any, nics: int, prefix: str) -> None:
    """A TemplateCloudInit the guest could apply: addresses that parse, NIC indexes that exist,
    at most three name servers."""
    if not isinstance(cloud_init, dict):
        return
    field = prefix + "cloud_init"
    servers = cloud_init.get("nameservers") or []
    if len(servers) > 3:
        raise bad_request(f"{field}.nameservers: at most 3 name servers, got {len(servers)}",
                          f"{field}.nameservers: 最多 3 个 DNS 服务器")
    for i, ns in enumerate(servers):
        _ip(ns, f"{field}.nameservers[{i}]")
    for i, net in enumerate(cloud_init.get("networks") or []):
        where = f"{field}.networks[{i}]"
        idx = net.get("nic_index")
        if isinstance(idx, int) and not 0 <= idx < max(nics, 1):
            raise bad_request(f"{where}.nic_index: the VM has {nics} NICs, no NIC {idx}",
                              f"{where}.nic_index: 虚拟机只有 {nics} 块网卡")
        for key in ("ip_address", "net_mask"):
            if net.get(key):
                _ip(net[key], f"{where}.{key}")
        for j, route in enumerate(net.get("routes") or []):
            for key in ("gateway", "network", "netmask"):
                if route.get(key):
                    _ip(route[key], f"{where}.routes[{j}].{key}")


def _ip(value: Any, field: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except (ValueError, TypeError):
        raise bad_request(f"{field}: '{value}' is not a valid IPv4 address", f"{field}: '{value}' 不是合法的 IPv4 地址")


def _create(ctx: Ctx, items: list[tuple[dict, str]]):
    return respond(ctx, finish_create(ctx, _made(ctx, items), mutation="createVmFromContentLibraryTemplate"))


def _made(ctx: Ctx, items: list[tuple[dict, str]]) -> list:
    made, promised = [], {}
    for item, prefix in items:
        tpl = template_for(ctx, item.get("template_id"), item.get("cluster_id"), prefix)
        nics = len(item["vm_nics"]) if isinstance(item.get("vm_nics"), list) else len(tpl.get("vm_nics") or [])
        check_cloud_init(item.get("cloud_init"), nics, prefix)
        extra = {"cloud_init_supported": bool(tpl.get("cloud_init_supported"))} \
            if "cloud_init_supported" in ctx.contract.resources["Vm"].properties else {}
        vm, final = clone_one(ctx, item, (MODEL, tpl), promised, prefix, extra=extra)
        made.append((vm, final, None, item))
    return made


@operation("create-vm-from-content-library-template")
def create_from_template(ctx: Ctx, body: Any):
    items = body_items(body)
    return _create(ctx, [(item, f"[{i}]." if isinstance(body, list) else "") for i, item in enumerate(items)])


@operation("create-vm-from-content-library-template-batch")
def create_batch(ctx: Ctx, body: Any):
    """`{template_id, vms: [...]}`: one template, several VMs."""
    body = body if isinstance(body, dict) else {}
    vms = [v for v in body.get("vms") or [] if isinstance(v, dict)]
    items = [({**v, "template_id": body.get("template_id")}, f"vms[{i}].") for i, v in enumerate(vms)]
    made = _made(ctx, items)
    if not made:
        raise bad_request("vms: at least one VM is required", "vms: 至少需要一台虚拟机")
    return respond(ctx, [batch_task(ctx, made)] + [(None, "Vm", vm["id"]) for vm, *_ in made[1:]])


def batch_task(ctx: Ctx, made: list) -> tuple:
    """One task for the whole batch (as the tower answers one WithTask): it carries the first
    VM; the others are locked by it and come to life (or go) with it."""
    store = ctx.store
    first, final, _, item = made[0]
    rest = made[1:]
    def done():
        for vm, fin, *_ in rest:
            if store.get("Vm", vm["id"]) is not None:
                store.update("Vm", vm["id"], {**fin, "entityAsyncStatus": None} if has(ctx, "Vm", "entityAsyncStatus")
                             else fin)

    undo = [drop_volumes(ctx, vm["id"], keep=mounted_volume_ids(it)) for vm, _, _, it in made]

    def failed():
        for vm, *_ in rest:
            if store.get("Vm", vm["id"]) is not None:
                store.delete("Vm", vm["id"])
        for u in undo:
            u()
    for vm, *_ in rest:
        if has(ctx, "Vm", "entityAsyncStatus"):
            store.update("Vm", vm["id"], {"entityAsyncStatus": "CREATING"})
    tid = start_task(ctx, "Vm", first["id"], "create", changes=final, mutation="createVmFromContentLibraryTemplate",
                     on_success=done, on_failure=failed, extra_locks=[("Vm", vm["id"]) for vm, *_ in rest])
    return tid, "Vm", first["id"]
