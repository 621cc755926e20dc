"""Host maintenance mode as on a real tower (the API keeps its typos: `enter-maintance-mode`).

* `enter-maintenance-mode-precheck {where}` answers `{task_id}`; that task checks the host and
  completes; `enter-maintance-mode-precheck-result {where: {task_id}}` then says which running
  VMs cannot be moved off and must be shut down (`shutdownVms`), and `done`.
* `enter-maintance-mode {where: {host_id}, data: {shutdown_vms}}` acts on that host: its host
  state goes ENTERING_MAINTENANCE_MODE at once and MAINTENANCE_MODE when the task ends; the
  running VMs are live-migrated to other usable hosts of the cluster with room (or shut down
  when listed in `shutdown_vms`). Refused: the cluster's last usable host, a second host of
  a cluster in maintenance, running VMs with nowhere to go.
* `exit-maintance-mode-precheck-result {where}` lists what entering did (VMs to migrate back,
  VMs to power on); `exit-maintance-mode {where: {host_id}, data}` brings the host back to
  IN_USE and those VMs with it.

VMs are named by their `local_id` (the hypervisor's uuid, `vm_uuid`); ids are accepted too.
What a precheck found and what entering did are kept in the tasks' `args`.
"""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, bad_request
from . import Ctx, operation
from .hosts import ACTIVE, cluster_hosts, maintenance_state, pick_host, vms_on, why_unusable
from .mutations import check_unlocked, not_found_id, now_iso, require_row, respond, start_task, where_rows

ENTERING, IN_MAINTENANCE, IN_USE = "ENTERING_MAINTENANCE_MODE", "MAINTENANCE_MODE", "IN_USE"


def vm_uuid(vm: dict) -> str:
    return vm.get("local_id") or vm["id"]


def find_vm(ctx: Ctx, ref: Any, field: str) -> dict:
    store = ctx.store
    vm = store.get("Vm", ref) if isinstance(ref, str) else None
    if vm is None and isinstance(ref, str):
        hits = store.find_by("Vm", "local_id", ref)
        vm = hits[0] if hits else None
    if vm is None:
        raise not_found_id(field, "Vm", ref)
    return vm


def _host_state(ctx: Ctx, host: dict, state: str, job: str | None = None) -> dict:
    cur = dict(host.get("host_state") or {})
    cur["state"] = state
    if job is not None:
        cur["maintenance_job_id"] = job
    cur.setdefault("maintenance_job_id", "")
    if state == ENTERING or not cur.get("enter_maintenance_time"):
        cur["enter_maintenance_time"] = now_iso(ctx)
    return cur


def check_can_enter(ctx: Ctx, host: dict, field: str) -> None:
    """The refusals of a real tower before a host may go into maintenance."""
    state = maintenance_state(host)
    if state in (ENTERING, IN_MAINTENANCE):
        raise bad_request(f"{field}: host {host.get('name')} is already "
                          f"{'in' if state == IN_MAINTENANCE else 'entering'} maintenance mode",
                          f"{field}: 主机 {host.get('name')} 已处于维护模式")
    why = why_unusable(host)
    if why:
        raise bad_request(f"{field}: host {host.get('name')} cannot enter maintenance mode: {why}",
                          f"{field}: 主机 {host.get('name')} 无法进入维护模式")
    peers = [h for h in cluster_hosts(ctx, host.get("cluster")) if h["id"] != host["id"]]
    busy = [h for h in peers if maintenance_state(h) in (ENTERING, IN_MAINTENANCE)]
    if busy:
        raise bad_request(f"{field}: host {busy[0].get('name')} of the same cluster is already in maintenance "
                          f"mode; only one host of a cluster may be in maintenance mode at a time",
                          f"{field}: 同一集群的主机 {busy[0].get('name')} 已处于维护模式, 同一时间只能有一台主机处于维护模式")
    if not [h for h in peers if why_unusable(h) is None]:
        raise bad_request(f"{field}: host {host.get('name')} is the last usable host of its cluster; it cannot "
                          f"enter maintenance mode", f"{field}: 主机 {host.get('name')} 是集群中最后一台可用主机, 无法进入维护模式")


def plan_evacuation(ctx: Ctx, host: dict, shutdown: set[str]) -> tuple[list, list, list]:
    """(moves [(vm, target)], shut down [vm], stuck [vm]) for the host's running VMs."""
    moves, stopped, stuck, promised = [], [], [], {}
    for vm in sorted(vms_on(ctx, host["id"], ACTIVE), key=lambda v: (-int(v.get("memory") or 0), v["id"])):
        if vm["id"] in shutdown or vm_uuid(vm) in shutdown:
            stopped.append(vm)
            continue
        try:
            target = pick_host(ctx, vm, exclude=[host["id"]], promised=promised, what="receive")
        except ApiError:
            stuck.append(vm)
            continue
        promised[target] = promised.get(target, 0) + int(vm.get("memory") or 0)
        moves.append((vm, target))
    return moves, stopped, stuck


# ----------------------------------------------------------------------- enter

@operation("enter-maintenance-mode-precheck")
def enter_precheck(ctx: Ctx, body: Any):
    hosts = where_rows(ctx, "Host", (body or {}).get("where"))
    if not hosts:
        raise bad_request("where: no host matches", "where: 没有匹配的主机")
    host = hosts[0]
    check_can_enter(ctx, host, "where")
    _, _, stuck = plan_evacuation(ctx, host, set())
    tid = start_task(ctx, "Host", host["id"], "action", mutation="enterMaintenanceModePrecheck",
                     description=f"Check whether host {host.get('name')} can enter maintenance mode",
                     lock=False, async_status=False)
    _set_args(ctx, tid, {"precheck": "enter", "host_id": host["id"], "shutdown_vms": [vm_uuid(v) for v in stuck]})
    return {"task_id": tid or ""}


@operation("enter-maintance-mode-precheck-result")
def enter_precheck_result(ctx: Ctx, body: Any):
    tid = (((body or {}).get("where") or {}).get("task_id"))
    task = ctx.store.get("Task", tid) if isinstance(tid, str) and "Task" in ctx.store.tables else None
    args = (task or {}).get("args") or {}
    if task is None or args.get("precheck") != "enter":
        raise bad_request(f"where.task_id: no maintenance-mode precheck task with id '{tid}'",
                          f"where.task_id: 不存在 id 为 '{tid}' 的维护模式预检任务")
    done = task.get("status") in ("SUCCESSED", "FAILED")
    return {"shutdownVms": [{"vm_uuid": u} for u in args.get("shutdown_vms") or []] if done else [],
            "done": done}


@operation("enter-maintance-mode")
def enter(ctx: Ctx, body: Any):
    body = body or {}
    host = require_row(ctx, "Host", (body.get("where") or {}).get("host_id"), "where.host_id")
    check_unlocked(ctx, "Host", [host])
    check_can_enter(ctx, host, "where.host_id")
    refs = (body.get("data") or {}).get("shutdown_vms") or []
    shutdown = {vm["id"] for vm in (find_vm(ctx, r, f"data.shutdown_vms[{i}]") for i, r in enumerate(refs))}
    moves, stopped, stuck = plan_evacuation(ctx, host, shutdown)
    if stuck:
        names = ", ".join(f"{v.get('name')} ({vm_uuid(v)})" for v in stuck)
        raise bad_request(f"Host {host.get('name')} cannot enter maintenance mode: no other host of the cluster has "
                          f"room for running VMs {names}; list them in data.shutdown_vms to shut them down",
                          f"主机 {host.get('name')} 无法进入维护模式: 集群中没有其他主机可容纳运行中的虚拟机 {names}")
    store = ctx.store
    record = {"maintenance": "enter", "host_id": host["id"],
              "live_migrated": [{"vm": vm["id"], "to": to} for vm, to in moves],
              "shut_down": [vm["id"] for vm in stopped]}

    def done():
        for vm, to in moves:
            if store.get("Vm", vm["id"]) is not None:
                store.update("Vm", vm["id"], {"host": to})
        for vm in stopped:
            if store.get("Vm", vm["id"]) is not None:
                store.update("Vm", vm["id"], {"status": "STOPPED"})
        row = store.get("Host", host["id"])
        if row is not None:
            store.update("Host", host["id"], {"host_state": _host_state(ctx, row, IN_MAINTENANCE)})

    locks = [("Vm", vm["id"]) for vm, _ in moves] + [("Vm", vm["id"]) for vm in stopped]
    tid = start_task(ctx, "Host", host["id"], "action", mutation="enterMaintenanceMode", on_success=done,
                     extra_locks=locks, steps=["PREPARE", "MIGRATE_VMS", "ENTER_MAINTENANCE_MODE"])
    _set_args(ctx, tid, record)
    row = store.get("Host", host["id"])
    if row is not None:     # entering until the task ends (instant tasks have ended already)
        state = IN_MAINTENANCE if maintenance_state(row) == IN_MAINTENANCE else ENTERING
        store.update("Host", host["id"], {"host_state": _host_state(ctx, row, state, tid or "")})
    return respond(ctx, [(tid, "Host", host["id"])])


def _set_args(ctx: Ctx, tid: str | None, args: dict) -> None:
    if tid and "Task" in ctx.store.tables and ctx.store.get("Task", tid) is not None:
        ctx.store.update("Task", tid, {"args": args})


# ------------------------------------------------------------------------ exit

def entry_record(ctx: Ctx, host: dict) -> dict:
    job = (host.get("host_state") or {}).get("maintenance_job_id")
    task = ctx.store.get("Task", job) if job and "Task" in ctx.store.tables else None
    args = (task or {}).get("args") or {}
    return args if args.get("maintenance") == "enter" else {}


def _info(ctx: Ctx, vm: dict, host: dict, state: str) -> dict:
    return {"vm_uuid": vm_uuid(vm), "vm_name": vm.get("name"), "vm_state": vm.get("status"),
            "vm_ha": vm.get("ha"), "target_host_name": host.get("name"), "state": state}


def check_in_maintenance(host: dict, field: str) -> None:
    if maintenance_state(host) != IN_MAINTENANCE:
        raise bad_request(f"{field}: host {host.get('name')} is not in maintenance mode",
                          f"{field}: 主机 {host.get('name')} 未处于维护模式")


@operation("exit-maintance-mode-precheck-result")
def exit_precheck_result(ctx: Ctx, body: Any):
    hosts = where_rows(ctx, "Host", (body or {}).get("where"))
    if not hosts:
        raise bad_request("where: no host matches", "where: 没有匹配的主机")
    host = hosts[0]
    check_in_maintenance(host, "where")
    record = entry_record(ctx, host)
    store = ctx.store
    live, offline, off = [], [], []
    for m in record.get("live_migrated") or []:
        vm = store.get("Vm", m["vm"])
        if vm is None or vm.get("host") == host["id"]:
            continue
        (live if vm.get("status") in ACTIVE else offline).append(_info(ctx, vm, host, "PENDING"))
    for vid in record.get("shut_down") or []:
        vm = store.get("Vm", vid)
        if vm is not None and vm.get("status") == "STOPPED":
            off.append(_info(ctx, vm, host, "PENDING"))
    return {"liveMigrateVms": live, "offlineMigrateVms": offline, "shutDownVms": off}


@operation("exit-maintance-mode")
def exit_(ctx: Ctx, body: Any):
    body = body or {}
    store = ctx.store
    host = require_row(ctx, "Host", (body.get("where") or {}).get("host_id"), "where.host_id")
    check_unlocked(ctx, "Host", [host])
    check_in_maintenance(host, "where.host_id")
    data = body.get("data") or {}
    plan = []     # (vm, changes)
    room = {}
    for key, power_on in (("live_migrate_back_vms", False), ("offline_migrate_back_vms", False),
                          ("poweron_vms", True)):
        for i, ref in enumerate(data.get(key) or []):
            vm = find_vm(ctx, ref, f"data.{key}[{i}]")
            if vm.get("cluster") != host.get("cluster"):
                raise bad_request(f"data.{key}[{i}]: VM {vm.get('name')} is not in the host's cluster",
                                  f"data.{key}[{i}]: 虚拟机 {vm.get('name')} 不在该主机所在的集群")
            changes = {"host": host["id"]}
            if power_on and vm.get("status") == "STOPPED":
                changes["status"] = "RUNNING"
            if changes.get("status") == "RUNNING" or vm.get("status") in ACTIVE:
                room[host["id"]] = room.get(host["id"], 0) + int(vm.get("memory") or 0)
            plan.append((vm, changes))
    total = int(host.get("total_memory_bytes") or 0) - int(host.get("os_memory_bytes") or 0)
    if total > 0 and room.get(host["id"], 0) > total:
        raise bad_request(f"data: host {host.get('name')} has no room for all the VMs to bring back",
                          f"data: 主机 {host.get('name')} 内存不足以容纳全部虚拟机")

    def done():
        for vm, changes in plan:
            if store.get("Vm", vm["id"]) is not None:
                store.update("Vm", vm["id"], changes)
        row = store.get("Host", host["id"])
        if row is not None:
            store.update("Host", host["id"], {"host_state": _host_state(ctx, row, IN_USE)})

    tid = start_task(ctx, "Host", host["id"], "action", mutation="exitMaintenanceMode", on_success=done,
                     extra_locks=[("Vm", vm["id"]) for vm, _ in plan],
                     steps=["PREPARE", "EXIT_MAINTENANCE_MODE", "MIGRATE_BACK_VMS"])
    return respond(ctx, [(tid, "Host", host["id"])])
