"""What one run of the stateful suite does on the target, without hypothesis: the state it
expects (VMs and their status / description, snapshots, LUN snapshots), each step as a
method (send the mutation, wait for its tasks, update the expected state) and the
invariants checked after every step (stateful_invariants). The state machine in
stateful.py only draws which step to take and on what."""

from __future__ import annotations

import time
from typing import Any, Callable

from .report import SERVER_ERROR, TASK, TASK_NEVER_ENDS, SuiteResult
from .stateful_invariants import LifecycleInvariants
from .target import SafetyError, TargetError

GiB = 1024 ** 3


class RunBase:
    """The run's expected state and its plumbing: mutations that must end in SUCCESSED tasks."""

    def __init__(self, env, result: SuiteResult, counter: Callable[[], int], tag: str = ""):
        self.env = env
        self.result = result
        self.counter = counter
        self.tag = tag
        self.t = env.target
        self.safety = self.t.safety
        self.vms: dict[str, dict] = {}          # id -> {"name", "status", "description"}
        self.snapshots: dict[str, str] = {}     # snapshot id -> vm id
        self.snap_descriptions: dict[str, str | None] = {}  # snapshot id -> the VM's description then
        self.lun_snapshots: dict[str, str] = {}  # id -> name
        self.deleted: dict[str, str] = {}       # id -> name of what a delete took away (tasks ended)
        self.broken = False

    def flag(self, op: str, kind: str, msg: str) -> None:
        self.result.fail(op, kind, msg, self.t.last)        # the last request made shows it

    def mutate(self, op: str, body: Any) -> list[dict] | None:
        """Send a mutation, wait for its tasks; None (and a recorded defect) on failure."""
        env, result, t, flag = self.env, self.result, self.t, self.flag
        result.check("/" + op)
        if time.monotonic() > env.deadline or result.enough():
            return None
        try:
            r = t.post(op, body)
        except SafetyError as e:
            result.note(f"{op}: not sent: {e}")
            return None
        if r.status_code >= 500:
            flag("/" + op, SERVER_ERROR, f"HTTP {r.status_code}: {r.text[:300]}")
            return None
        if r.status_code != 200:
            flag("/" + op, TASK, f"HTTP {r.status_code} for a valid step: {r.text[:300]}")
            return None
        data = r.json()
        items = data if isinstance(data, list) else [data]
        tids = [x.get("task_id") for x in items if isinstance(x, dict) and x.get("task_id")]
        if tids:
            tmo = max(1.0, min(env.task_timeout, env.deadline - time.monotonic()))
            try:
                tasks = t.wait_tasks(tids, timeout=tmo, interval=0.1)
            except TargetError as e:
                if e.status is not None or tmo >= env.task_timeout:
                    flag("/" + op, TASK_NEVER_ENDS if e.status is None else TASK, str(e))
                else:           # the budget cut the wait short: not evidence of a defect
                    result.note(f"{op}: tasks still running when the time budget ran out")
                self.broken = True
                return None
            for task in tasks.values():
                if task.get("status") != "SUCCESSED":
                    flag("/" + op, TASK, f"task {task['id']} ended {task.get('status')}: "
                                         f"{task.get('error_message')}")
                    return None
        return items

    def can_create(self, n: int = 1) -> bool:
        try:
            self.safety.reserve(n)
            return True
        except SafetyError:
            return False

    def new_name(self, kind: str) -> str:
        return self.safety.name(f"{self.tag}{kind}-{self.counter()}")


class VmRun(LifecycleInvariants, RunBase):
    """The steps of the VM lifecycle."""

    def create_vm(self, running: bool = False) -> None:
        """A VM with a disk and a NIC, created STOPPED or RUNNING (the state it must then show)."""
        if not self.can_create():
            return
        env = self.env
        name = self.new_name("vm")
        status = "RUNNING" if running else "STOPPED"
        item = {"cluster_id": env.cluster["id"], "host_id": env.host["id"], "name": name, "ha": False,
                "cpu_sockets": 1, "cpu_cores": 1, "vcpu": 1, "memory": GiB, "status": status,
                "firmware": "BIOS",
                "vm_nics": [{"connect_vlan_id": env.vlan["id"]}] if env.vlan else [],
                "vm_disks": {"mount_new_create_disks": [
                    {"boot": 0, "bus": "VIRTIO",
                     "vm_volume": {"name": name + "-d0", "size": GiB,
                                   "elf_storage_policy": env.storage_policy}}]}}
        items = self.mutate("create-vm", [item])
        if items:
            vid = items[0]["data"]["id"]
            self.safety.record("Vm", vid, name)
            self.vms[vid] = {"name": name, "status": status, "description": None}

    def vms_in(self, status: str) -> list[str]:
        return sorted(k for k, v in self.vms.items() if v["status"] == status)

    def power(self, vid: str, op: str, status: str) -> None:
        """start-vm / poweroff-vm: the VM is then `status`."""
        if self.mutate(op, {"where": {"id": vid}}) is not None:
            self.vms[vid]["status"] = status

    def update_vm(self, vid: str, text: str) -> None:
        if self.mutate("update-vm-basic-info", {"where": {"id": vid}, "data": {"description": text}}) is not None:
            self.vms[vid]["description"] = text

    def snapshot_vm(self, vid: str) -> None:
        name = self.new_name("snap")
        items = self.mutate("create-vm-snapshot", {"data": [{"vm_id": vid, "name": name}]})
        if items:
            sid = items[0]["data"]["id"]
            self.safety.record("VmSnapshot", sid, name)
            self.snapshots[sid] = vid
            self.snap_descriptions[sid] = self.vms[vid]["description"]

    def snapshots_of_stopped_vms(self) -> list[str]:
        return sorted(s for s, vm in self.snapshots.items()
                      if vm in self.vms and self.vms[vm]["status"] == "STOPPED")

    def rollback_vm(self, sid: str) -> None:
        vid = self.snapshots[sid]
        if self.mutate("rollback-vm", {"where": {"id": vid}, "data": {"snapshot_id": sid}}) is not None:
            # a rollback restores the VM's configuration as the snapshot froze it
            self.vms[vid]["description"] = self.snap_descriptions.get(sid)

    def rebuild_vm(self, sid: str) -> None:
        name = self.new_name("vm")
        items = self.mutate("rebuild-vm-from-snapshot", [{"rebuild_from_snapshot_id": sid, "name": name}])
        if items:
            vid = items[0]["data"]["id"]
            self.safety.record("Vm", vid, name)
            vm = self.t.call("get-vms", {"where": {"id": vid}})
            status = vm[0]["status"] if vm else "STOPPED"
            self.vms[vid] = {"name": name, "status": status, "description": None}

    def delete_vm(self, vid: str) -> None:
        if self.vms[vid]["status"] == "RUNNING":
            if self.mutate("poweroff-vm", {"where": {"id": vid}}) is None:
                return
            self.vms[vid]["status"] = "STOPPED"
        if self.mutate("delete-vm", {"where": {"id": vid}}) is not None:
            self.deleted[vid] = self.vms.pop(vid)["name"]
            for s in [s for s, v in self.snapshots.items() if v == vid]:
                self.snapshots.pop(s)      # snapshots of a deleted VM: left to the final cleanup

    def lun_snapshot(self) -> None:
        if not self.can_create():
            return
        lun = self.env.lun
        name = self.new_name("lunsnap")
        items = self.mutate("create-iscsi-lun-snapshot", [{
            "iscsi_lun_id": lun["id"], "iscsi_target_id": lun["iscsi_target"]["id"], "name": name}])
        if items:
            sid = items[0]["data"]["id"]
            self.safety.record("IscsiLunSnapshot", sid, name)
            self.lun_snapshots[sid] = name

    def delete_lun_snapshot(self, sid: str) -> None:
        if self.mutate("delete-iscsi-lun-snapshot", {"where": {"id": sid}}) is not None:
            self.deleted[sid] = self.lun_snapshots.pop(sid)
