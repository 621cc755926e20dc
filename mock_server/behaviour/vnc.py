"""`get-vm-vnc-info`: console information for an existing VM (unknown VM: 404), with a
short-lived token that opens the mock's own `/websockify/` console (see mock_server/vnc)."""

from __future__ import annotations

from typing import Any

from . import Ctx, operation
from ..errors import bad_request
from ..vnc.service import console_info, find_vm, origins, vm_not_found


@operation("get-vm-vnc-info")
def get_vm_vnc_info(ctx: Ctx, body: Any):
    where = (body or {}).get("vm") if isinstance(body, dict) else None
    if not isinstance(where, dict) or not where:
        raise bad_request("vm: give the VM's id or local_id", "vm: 请提供虚拟机的 id 或 local_id")
    vm = find_vm(ctx.world, where)
    if vm is None:
        raise vm_not_found(where)
    environ = getattr(ctx.headers, "environ", None) or {}
    info = console_info(ctx.state, ctx.headers.get("X-Mock-Namespace"), ctx.world, vm, *origins(environ))
    out = {"vm": ctx.store.render("Vm", vm), "terminal": info["terminal"], "redirect": info["redirect"],
           "cluster_ip": info["cluster_ip"]}
    if "direct" in ctx.contract.properties(ctx.op.response_schema):
        out["direct"] = info["direct"]
    return out
