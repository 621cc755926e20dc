"""The stateful suite: a hypothesis RuleBasedStateMachine driving a VM lifecycle.

Rules: create-vm (on an existing cluster, host and VLAN), start-vm, poweroff-vm,
update-vm-basic-info, create-vm-snapshot, rollback-vm, rebuild-vm-from-snapshot, delete-vm,
create/delete-iscsi-lun-snapshot. Every mutation must answer 200 with a task that ends
SUCCESSED (polled with get-tasks). After each step the invariants are checked on the
resources the run created (names start with the prefix): `-connection` counts equal the list
lengths, first/after pagination rebuilds the lists, no `entityAsyncStatus` is left once the
tasks ended, the VMs have the state the steps gave them, and every VM snapshot disk's
`snapshot_local_id` is the `name` of an IscsiLunSnapshot. Only runs when mutations are
allowed; every name carries the prefix, creations are capped by the budget, and what a run
created is deleted at the end.
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Callable

from .report import HARNESS, INVARIANT, PAGINATION, QUERY_COUNT, SERVER_ERROR, TASK, TASK_NEVER_ENDS, SuiteResult
from .target import SafetyError, Target, TargetError

GiB = 1024 ** 3


class Env:
    """What the machine needs from the target, found once."""

    def __init__(self, target: Target, contract):
        self.target = target
        self.contract = contract
        self.cluster = self.host = self.vlan = None
        self.lun = None
        self.storage_policy = "REPLICA_2_THIN_PROVISION"
        self.deadline = float("inf")
        self.task_timeout = 60.0

    def discover(self) -> str | None:
        t = self.target
        for cl in t.call("get-clusters", {"first": 20}):
            if t.safety.is_protected(cl.get("name")):
                continue
            hosts = t.call("get-hosts", {"where": {"cluster": {"id": cl["id"]}}, "first": 5})
            vlans = t.call("get-vlans", {"where": {"vds": {"cluster": {"id": cl["id"]}}}, "first": 5})
            hosts = [h for h in hosts if not t.safety.is_protected(h.get("name"))]
            if hosts:
                self.cluster, self.host = cl, hosts[0]
                self.vlan = vlans[0] if vlans else None
                break
        if self.cluster is None:
            return "no cluster with a host to create VMs on"
        try:
            luns = t.call("get-iscsi-luns", {"first": 20})
            self.lun = next((x for x in luns if not t.safety.is_protected(x.get("name"))
                             and x.get("iscsi_target")), None)
        except TargetError:
            self.lun = None
        pol = self.contract.find_schema("VmVolumeElfStoragePolicyType")
        if pol:
            vals = self.contract.enum_values({"$ref": "#/components/schemas/" + pol})
            if vals and self.storage_policy not in vals:
                self.storage_policy = vals[0]
        return None


def build_machine(env: Env, result: SuiteResult, counter: Callable[[], int], log: Callable[[str], None],
                  tag: str = ""):
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

    t = env.target
    safety = t.safety

    def flag(op: str, kind: str, msg: str) -> None:
        result.fail(op, kind, msg, t.last)        # the last request made shows it
    prefix = safety.prefix

    class VmLifecycle(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.vms: dict[str, dict] = {}          # id -> {"name", "status", "description"}
            self.snapshots: dict[str, str] = {}     # snapshot id -> vm id
            self.snap_descriptions: dict[str, str | None] = {}  # snapshot id -> the VM's description then
            self.lun_snapshots: dict[str, str] = {}  # id -> name
            self.broken = False

        # ---------------------------------------------------------- plumbing
        def mutate(self, op: str, body: Any) -> list[dict] | None:
            """Send a mutation, wait for its tasks; None (and a recorded defect) on failure."""
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
                safety.reserve(n)
                return True
            except SafetyError:
                return False

        # ------------------------------------------------------------- rules
        @precondition(lambda self: not self.broken)
        @rule()
        def create_vm(self):
            if not self.can_create():
                return
            name = safety.name(f"{tag}vm-{counter()}")
            item = {"cluster_id": env.cluster["id"], "host_id": env.host["id"], "name": name, "ha": False,
                    "cpu_sockets": 1, "cpu_cores": 1, "vcpu": 1, "memory": GiB, "status": "STOPPED",
                    "firmware": "BIOS",
                    "vm_nics": [{"connect_vlan_id": env.vlan["id"]}] if env.vlan else [],
                    "vm_disks": {"mount_new_create_disks": [
                        {"boot": 0, "bus": "VIRTIO",
                         "vm_volume": {"name": name + "-d0", "size": GiB,
                                       "elf_storage_policy": env.storage_policy}}]}}
            items = self.mutate("create-vm", [item])
            if items:
                vid = items[0]["data"]["id"]
                safety.record("Vm", vid, name)
                self.vms[vid] = {"name": name, "status": "STOPPED", "description": None}

        @precondition(lambda self: any(v["status"] == "STOPPED" for v in self.vms.values()))
        @rule(data=st.data())
        def start_vm(self, data):
            vid = data.draw(st.sampled_from(sorted(k for k, v in self.vms.items() if v["status"] == "STOPPED")))
            if self.mutate("start-vm", {"where": {"id": vid}}) is not None:
                self.vms[vid]["status"] = "RUNNING"

        @precondition(lambda self: any(v["status"] == "RUNNING" for v in self.vms.values()))
        @rule(data=st.data())
        def stop_vm(self, data):
            vid = data.draw(st.sampled_from(sorted(k for k, v in self.vms.items() if v["status"] == "RUNNING")))
            if self.mutate("poweroff-vm", {"where": {"id": vid}}) is not None:
                self.vms[vid]["status"] = "STOPPED"

        @precondition(lambda self: self.vms)
        @rule(data=st.data(), text=st.text(alphabet="abcdefghij -", min_size=0, max_size=12))
        def update_vm(self, data, text):
            vid = data.draw(st.sampled_from(sorted(self.vms)))
            if self.mutate("update-vm-basic-info", {"where": {"id": vid}, "data": {"description": text}}) is not None:
                self.vms[vid]["description"] = text

        @precondition(lambda self: self.vms)
        @rule(data=st.data())
        def snapshot_vm(self, data):
            if not self.can_create():
                return
            vid = data.draw(st.sampled_from(sorted(self.vms)))
            name = safety.name(f"{tag}snap-{counter()}")
            items = self.mutate("create-vm-snapshot", {"data": [{"vm_id": vid, "name": name}]})
            if items:
                sid = items[0]["data"]["id"]
                safety.record("VmSnapshot", sid, name)
                self.snapshots[sid] = vid
                self.snap_descriptions[sid] = self.vms[vid]["description"]

        @precondition(lambda self: any(vm in self.vms and self.vms[vm]["status"] == "STOPPED"
                                       for vm in self.snapshots.values()))
        @rule(data=st.data())
        def rollback_vm(self, data):
            sid = data.draw(st.sampled_from(sorted(s for s, vm in self.snapshots.items()
                                                   if vm in self.vms and self.vms[vm]["status"] == "STOPPED")))
            vid = self.snapshots[sid]
            if self.mutate("rollback-vm", {"where": {"id": vid}, "data": {"snapshot_id": sid}}) is not None:
                # a rollback restores the VM's configuration as the snapshot froze it
                self.vms[vid]["description"] = self.snap_descriptions.get(sid)

        @precondition(lambda self: self.snapshots)
        @rule(data=st.data())
        def rebuild_vm(self, data):
            if not self.can_create():
                return
            sid = data.draw(st.sampled_from(sorted(self.snapshots)))
            name = safety.name(f"{tag}vm-{counter()}")
            items = self.mutate("rebuild-vm-from-snapshot", [{"rebuild_from_snapshot_id": sid, "name": name}])
            if items:
                vid = items[0]["data"]["id"]
                safety.record("Vm", vid, name)
                vm = t.call("get-vms", {"where": {"id": vid}})
                status = vm[0]["status"] if vm else "STOPPED"
                self.vms[vid] = {"name": name, "status": status, "description": None}

        @precondition(lambda self: self.vms)
        @rule(data=st.data())
        def delete_vm(self, data):
            vid = data.draw(st.sampled_from(sorted(self.vms)))
            if self.vms[vid]["status"] == "RUNNING":
                if self.mutate("poweroff-vm", {"where": {"id": vid}}) is None:
                    return
                self.vms[vid]["status"] = "STOPPED"
            if self.mutate("delete-vm", {"where": {"id": vid}}) is not None:
                del self.vms[vid]
                for s in [s for s, v in self.snapshots.items() if v == vid]:
                    self.snapshots.pop(s)      # snapshots of a deleted VM: left to the final cleanup

        @precondition(lambda self: env.lun is not None)
        @rule()
        def lun_snapshot(self):
            if not self.can_create():
                return
            name = safety.name(f"{tag}lunsnap-{counter()}")
            items = self.mutate("create-iscsi-lun-snapshot", [{
                "iscsi_lun_id": env.lun["id"], "iscsi_target_id": env.lun["iscsi_target"]["id"], "name": name}])
            if items:
                sid = items[0]["data"]["id"]
                safety.record("IscsiLunSnapshot", sid, name)
                self.lun_snapshots[sid] = name

        @precondition(lambda self: self.lun_snapshots)
        @rule(data=st.data())
        def delete_lun_snapshot(self, data):
            sid = data.draw(st.sampled_from(sorted(self.lun_snapshots)))
            if self.mutate("delete-iscsi-lun-snapshot", {"where": {"id": sid}}) is not None:
                self.lun_snapshots.pop(sid)

        # -------------------------------------------------------- invariants
        @invariant()
        def lists_counts_and_pages_agree(self):
            where = {"name_starts_with": prefix}
            for list_op, conn_op in (("get-vms", "get-vms-connection"),
                                     ("get-vm-snapshots", "get-vm-snapshots-connection"),
                                     ("get-iscsi-lun-snapshots", "get-iscsi-lun-snapshots-connection")):
                result.check("/" + conn_op)
                try:
                    full = t.call(list_op, {"where": where})
                    n = t.call(conn_op, {"where": where})["aggregate"]["count"]
                    paged = t.list_all(list_op, where=where, page=1) if len(full) <= 12 else full
                except TargetError as e:
                    flag("/" + list_op, SERVER_ERROR if "HTTP 5" in str(e) else INVARIANT, str(e)[:300])
                    continue
                if n != len(full):
                    flag("/" + conn_op, QUERY_COUNT, f"count {n} but the list has {len(full)} "
                                                            f"(where name_starts_with {prefix!r})")
                if [x["id"] for x in paged] != [x["id"] for x in full]:
                    flag("/" + list_op, PAGINATION, f"first:1/after pages give {len(paged)} ids, "
                                                          f"the list {len(full)}")
                mine = set(self.vms) | set(self.snapshots) | set(self.lun_snapshots)
                for x in full:
                    if x.get("id") in mine and not self.broken and x.get("entityAsyncStatus") is not None:
                        flag("/" + list_op, INVARIANT,
                                    f"{x.get('name')} still {x['entityAsyncStatus']} after its tasks ended")
                if list_op == "get-vms":
                    self._check_vms(full)
                if list_op == "get-vm-snapshots":
                    self._check_join(full)

        def _check_vms(self, listed: list[dict]):
            result.check("/get-vms")
            by_id = {x["id"]: x for x in listed}
            for vid, want in self.vms.items():
                got = by_id.get(vid)
                if got is None:
                    flag("/get-vms", INVARIANT, f"VM {want['name']} is missing from the list")
                    continue
                if got.get("status") != want["status"]:
                    flag("/get-vms", INVARIANT, f"VM {want['name']} is {got.get('status')}, "
                                                       f"expected {want['status']}")
                if want["description"] is not None and got.get("description") != want["description"]:
                    flag("/get-vms", INVARIANT, f"VM {want['name']} description "
                                                       f"{got.get('description')!r}, expected {want['description']!r}")

        def _check_join(self, snaps: list[dict]):
            names = []
            for s in snaps:
                for d in s.get("vm_disks") or []:
                    if d.get("type") == "DISK" and d.get("snapshot_local_id"):
                        names.append(d["snapshot_local_id"])
            result.check("/get-iscsi-lun-snapshots")
            if not names:
                return
            found = t.call("get-iscsi-lun-snapshots", {"where": {"name_in": sorted(set(names))}})
            have = {x["name"] for x in found}
            missing = sorted(set(names) - have)
            if missing:
                flag("/get-iscsi-lun-snapshots", INVARIANT,
                            f"VmSnapshot.vm_disks[].snapshot_local_id does not resolve to an IscsiLunSnapshot "
                            f"name: {missing[:3]}")

    return VmLifecycle


class StatefulSuite:
    def __init__(self, target: Target, contract, *, seed: int = 0, examples: int = 2, steps: int = 6,
                 time_budget: float = 120.0, log: Callable[[str], None] = print):
        self.target = target
        self.contract = contract
        self.seed = seed
        self.examples = examples
        self.steps = steps
        self.time_budget = time_budget
        self.log = log
        self.result = SuiteResult("stateful")

    def run(self) -> SuiteResult:
        from hypothesis import HealthCheck, Phase, settings
        from hypothesis.stateful import run_state_machine_as_test
        import hypothesis
        res = self.result
        t = self.target
        if not t.safety.allow_mutations:
            res.skipped = "read-only target (mutations need --allow-mutations)"
            return res.finish()
        env = Env(t, self.contract)
        env.deadline = res.started + self.time_budget * 0.8      # leave time for the cleanup
        try:
            why = env.discover()
        except TargetError as e:
            why = str(e)
        if why:
            res.skipped = why
            return res.finish()
        res.note(f"cluster {env.cluster['name']}, host {env.host['name']}, "
                 f"VLAN {env.vlan['name'] if env.vlan else '-'}, LUN {env.lun['name'] if env.lun else '-'}; "
                 f"prefix {t.safety.prefix!r}, budget {t.safety.max_created} creations")
        self.log(f"[stateful] {self.examples} run(s) of up to {self.steps} steps on cluster {env.cluster['name']}")
        counter = itertools.count(int(time.time()) % 100000)
        import uuid
        self.tag = f"st{uuid.uuid4().hex[:6]}-"
        machine = build_machine(env, res, lambda: next(counter), self.log, self.tag)
        try:
            run_state_machine_as_test(machine, settings=settings(
                max_examples=self.examples, stateful_step_count=self.steps, database=None, deadline=None,
                phases=[Phase.generate], suppress_health_check=list(HealthCheck)), _min_steps=1) \
                if _accepts_min_steps() else run_state_machine_as_test(machine, settings=settings(
                    max_examples=self.examples, stateful_step_count=self.steps, database=None, deadline=None,
                    phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
        except hypothesis.errors.HypothesisException as e:
            res.note(f"state machine stopped: {type(e).__name__}: {str(e)[:200]}")
        except Exception as e:
            res.fail("stateful", HARNESS, f"{type(e).__name__}: {str(e)[:400]}")
        finally:
            self.cleanup()
        return res.finish()

    def cleanup(self) -> None:
        from .cleanup import cleanup
        t = self.target
        created = len(t.safety.created)
        try:
            deleted = cleanup(t, t.safety.prefix + getattr(self, "tag", ""), log=self.log, contract=self.contract,
                              task_timeout=max(1.0, min(60.0, self.result.started + self.time_budget
                                                        - time.monotonic())))
        except Exception as e:
            self.result.note(f"cleanup failed: {e}; run `cloudtower-contract cleanup --prefix {t.safety.prefix}`")
            return
        self.result.note(f"created {created} resource(s); cleanup deleted {len(deleted)} named {t.safety.prefix}*")


def _accepts_min_steps() -> bool:
    import inspect
    from hypothesis.stateful import run_state_machine_as_test
    return "_min_steps" in inspect.signature(run_state_machine_as_test).parameters
