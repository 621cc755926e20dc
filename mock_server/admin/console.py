"""/_mock/console: open a VM's console from a script or the dashboard (the same answer
get-vm-vnc-info gives, with its short-lived token), and /_mock/status, the small summary
the dashboard polls to know when to refresh."""

from __future__ import annotations

from flask import Blueprint, request

from .common import AdminContext, AdminError, json_response, namespace_of, read_body
from .inventory import world_of
from .spec import S, obj, op


def register(bp: Blueprint, ctx: AdminContext) -> None:
    state = ctx.state

    @bp.route("/console", methods=["POST"])
    def console_open():
        from ..vnc.service import console_info, origins, refusal
        body = read_body()
        ns = namespace_of(body)
        world = world_of(state, ns)
        vm_id = body.get("vm")
        with world.store.lock:
            vm = world.store.get("Vm", vm_id) if isinstance(vm_id, str) else None
            if vm is None:
                raise AdminError(f"no VM {vm_id} in namespace {ns or 'default'}", 404)
            info = console_info(state, ns, world, vm, *origins(request.environ))
        return json_response({**info, "vm": vm_id, "name": vm.get("name"), "status": vm.get("status"), "refused": refusal(vm)})

    @bp.route("/status", methods=["GET"])
    def status():
        from ..vnc.upgrade import consoles_of
        with state._lock:
            worlds = dict(state.worlds)
        for w in worlds.values():
            if w.tasks is not None:
                w.tasks.settle()               # due task milestones take effect (revision moves)
        last = ctx.journal.entries(limit=1)
        return json_response({
            "clock": {"now": state.clock.now(), "iso": state.clock.iso(), "paused": state.clock.paused,
                      "speed": state.clock.speed},
            "namespaces": {ns: {"revision": w.store.revision, "running": w.tasks.running() if w.tasks else 0}
                           for ns, w in sorted(worlds.items())},
            "journal": {"last": last[0]["seq"] if last else 0, "count": len(ctx.journal)},
            "faults": len(ctx.faults.list()) + len(ctx.task_rules),
            "consoles": consoles_of(state).value,
            "contract": {"version": state.contract.version, "source": state.contract.source},
            "world": {"name": state.config.world, "seed": state.config.seed},
        })


def paths() -> dict:
    return {
        "/console": {"post": op("Console information for a VM with a fresh short-lived token (as get-vm-vnc-info "
                                "answers): the websocket links and the dashboard's console page",
                                obj(["vm"], vm=S, namespace=S), not_found=True)},
        "/status": {"get": op("A small summary to poll: the clock, each namespace's revision and running "
                              "tasks, the journal's last entry, counts of fault rules and open consoles")},
    }
