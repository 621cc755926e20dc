"""The stateful suite: a hypothesis RuleBasedStateMachine driving a VM lifecycle.

Each run starts from a RUNNING VM it creates; then, drawn by hypothesis (seeded by --seed):
create-vm (on an existing cluster, host and VLAN; STOPPED or RUNNING; at most two VMs alive
at once), start-vm, poweroff-vm, update-vm-basic-info, create-vm-snapshot, rollback-vm,
rebuild-vm-from-snapshot, delete-vm, create/delete-iscsi-lun-snapshot (beside a VM, at most
two alive). Every mutation must answer 200 with a task that ends
SUCCESSED (polled with get-tasks). After each step the invariants are checked on the
resources the run created (names start with the prefix): `-connection` counts equal the list
lengths, first/after pagination rebuilds the lists, no `entityAsyncStatus` is left once the
tasks ended, the VMs have the state the steps gave them, nothing deleted is listed again, and
every VM snapshot disk's `snapshot_local_id` is the `name` of an IscsiLunSnapshot. Only runs when mutations are
allowed; every name carries the prefix, creations are capped by the budget, and what a run
created is deleted at the end.
"""

from __future__ import annotations

import itertools
import time
from typing import Callable

from .report import HARNESS, SuiteResult
from .stateful_run import GiB, VmRun
from .target import Target, TargetError

__all__ = ["Env", "GiB", "StatefulSuite", "build_machine"]

MAX_LIVE_VMS = 2          # VMs a run keeps at once (created ones not yet deleted)
MAX_LIVE_LUN_SNAPSHOTS = 2


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
    """The hypothesis state machine of a VM lifecycle: each rule draws its step's arguments
    and runs the step on a fresh VmRun (stateful_run); the invariants run after every step."""
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

    class VmLifecycle(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.run = VmRun(env, result, counter, tag)

        @initialize()
        def first_vm(self):
            """Every run starts from a running VM: a power state to keep an eye on from step one."""
            self.run.create_vm(True)

        # a few VMs at a time, so that the draws go to what is done with them
        @precondition(lambda self: not self.run.broken and len(self.run.vms) < MAX_LIVE_VMS)
        @rule(running=st.booleans())
        def create_vm(self, running):
            self.run.create_vm(running)

        @precondition(lambda self: self.run.vms_in("STOPPED"))
        @rule(data=st.data())
        def start_vm(self, data):
            self.run.power(data.draw(st.sampled_from(self.run.vms_in("STOPPED"))), "start-vm", "RUNNING")

        @precondition(lambda self: self.run.vms_in("RUNNING"))
        @rule(data=st.data())
        def stop_vm(self, data):
            self.run.power(data.draw(st.sampled_from(self.run.vms_in("RUNNING"))), "poweroff-vm", "STOPPED")

        @precondition(lambda self: self.run.vms)
        @rule(data=st.data(), text=st.text(alphabet="abcdefghij -", min_size=0, max_size=12))
        def update_vm(self, data, text):
            self.run.update_vm(data.draw(st.sampled_from(sorted(self.run.vms))), text)

        @precondition(lambda self: self.run.vms)
        @rule(data=st.data())
        def snapshot_vm(self, data):
            if self.run.can_create():
                self.run.snapshot_vm(data.draw(st.sampled_from(sorted(self.run.vms))))

        @precondition(lambda self: self.run.snapshots_of_stopped_vms())
        @rule(data=st.data())
        def rollback_vm(self, data):
            self.run.rollback_vm(data.draw(st.sampled_from(self.run.snapshots_of_stopped_vms())))

        @precondition(lambda self: self.run.snapshots)
        @rule(data=st.data())
        def rebuild_vm(self, data):
            if self.run.can_create():
                self.run.rebuild_vm(data.draw(st.sampled_from(sorted(self.run.snapshots))))

        @precondition(lambda self: self.run.vms)
        @rule(data=st.data())
        def delete_vm(self, data):
            self.run.delete_vm(data.draw(st.sampled_from(sorted(self.run.vms))))

        # LUN snapshots beside a VM's life, a few at a time (cheap to make, they would
        # otherwise take the whole creation budget)
        @precondition(lambda self: env.lun is not None and self.run.vms
                      and len(self.run.lun_snapshots) < MAX_LIVE_LUN_SNAPSHOTS)
        @rule()
        def lun_snapshot(self):
            self.run.lun_snapshot()

        @precondition(lambda self: self.run.lun_snapshots)
        @rule(data=st.data())
        def delete_lun_snapshot(self, data):
            self.run.delete_lun_snapshot(data.draw(st.sampled_from(sorted(self.run.lun_snapshots))))

        @invariant()
        def lists_counts_and_pages_agree(self):
            self.run.check_invariants()

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
        machine = hypothesis.seed(self.seed)(machine)   # the same --seed draws the same steps
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
