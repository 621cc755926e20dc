"""Lifecycle probes (mutations allowed): each change is made, its tasks awaited, and its effect
read back.

* create-vm, update-vm-basic-info, create/delete-vm-snapshot, delete-vm, create/update/delete
  label, create/delete VM folder: every task must end (TASK_NEVER_ENDS), end SUCCESSED for a
  valid change, leave no `entityAsyncStatus` on the resource, and the change must show in
  the listing (EFFECT); a delete must make the resource disappear (DELETE_NOOP);
* a VM snapshot's disks name their LUN snapshots (`vm_disks[].snapshot_local_id`); each must
  be the name of an IscsiLunSnapshot (SNAPSHOT_REF);
* on the mock (its admin API answering), a change is made to fail on purpose
  (`/_mock/faults` task_failure rule on one unique name): its task must end FAILED, never
  SUCCESSED (TASK_FALSE_SUCCESS).

Every name starts with the prefix and carries a run nonce; what is left is deleted at the end.
"""

from __future__ import annotations

from .probe_change import ChangeProbe
from .report import EFFECT, SNAPSHOT_REF, TASK_FALSE_SUCCESS, SuiteResult
from .target import Target, TargetError

GiB = 1024 ** 3


def snapshot_refs(snap: dict) -> list[str]:
    return [d["snapshot_local_id"] for d in snap.get("vm_disks") or []
            if isinstance(d, dict) and d.get("type") == "DISK" and d.get("snapshot_local_id")]


def check_snapshot_refs(t: Target, res: SuiteResult, snaps: list[dict]) -> None:
    names = sorted({n for s in snaps for n in snapshot_refs(s)})
    res.check("/get-iscsi-lun-snapshots")
    if not names:
        return
    try:
        found = t.call("get-iscsi-lun-snapshots", {"where": {"name_in": names}})
    except TargetError:
        return
    have = {x.get("name") for x in found}
    for s in snaps:
        missing = [n for n in snapshot_refs(s) if n not in have]
        if missing:
            res.fail("/get-vm-snapshots", SNAPSHOT_REF,
                     f"VmSnapshot {s.get('id')} ({s.get('name')!r}): vm_disks[].snapshot_local_id "
                     f"{missing[:3]} is not the name of any IscsiLunSnapshot", t.last)


def check_seeded_snapshots(t: Target, res: SuiteResult, limit: int = 50) -> None:
    """Read-only: the listed VM snapshots' LUN-snapshot references resolve."""
    try:
        snaps = t.call("get-vm-snapshots", {"first": limit})
    except TargetError:
        return
    check_snapshot_refs(t, res, snaps)


class Lifecycle(ChangeProbe):
    """The lifecycle probes: a VM (with an update and a snapshot), a label, a VM folder and,
    on the mock, a change made to fail."""

    def run(self) -> None:
        from .stateful import Env
        env = Env(self.t, self.contract)
        try:
            why = env.discover()
        except TargetError as e:
            why = str(e)
        steps = [self.labels, self.folders, self.failing_change]
        if why:
            self.res.note(f"VM lifecycle probes skipped: {why}")
        else:
            steps.insert(0, lambda: self.vm(env))
        try:
            for step in steps:
                if self.left() <= 0 or self.res.enough():
                    self.res.note("lifecycle probes cut short by the time budget or --max-defects")
                    break
                step()
        finally:
            self.cleanup()

    def vm(self, env) -> None:
        name = self.name("vm")
        body = [{"cluster_id": env.cluster["id"], "host_id": env.host["id"], "name": name, "ha": False,
                 "cpu_sockets": 1, "cpu_cores": 1, "vcpu": 1, "memory": GiB, "status": "STOPPED",
                 "firmware": "BIOS", "vm_nics": [{"connect_vlan_id": env.vlan["id"]}] if env.vlan else [],
                 "vm_disks": {"mount_new_create_disks": [
                     {"boot": 0, "bus": "VIRTIO", "vm_volume": {"name": name + "-d0", "size": GiB,
                                                                "elf_storage_policy": env.storage_policy}}]}}]
        done = self.mutate("create-vm", body)
        if not done or not done[0] or not isinstance(done[0][0].get("data"), dict):
            return
        vid = done[0][0]["data"].get("id")
        if not vid or not self.settled("create-vm", "get-vms", vid, "VM"):
            return
        text = f"probe {self.nonce}"
        if self.mutate("update-vm-basic-info", {"where": {"id": vid}, "data": {"description": text}}):
            row = self.settled("update-vm-basic-info", "get-vms", vid, "VM")
            if row and row.get("description") != text:
                self.res.fail("/update-vm-basic-info", EFFECT, f"VM {vid}: description is "
                                                               f"{row.get('description')!r} after the update's task "
                                                               f"ended SUCCESSED, expected {text!r}", self.t.last)
        done = self.mutate("create-vm-snapshot", {"data": [{"vm_id": vid, "name": self.name("snap")}]})
        if done and done[0] and isinstance(done[0][0].get("data"), dict):
            sid = done[0][0]["data"].get("id")
            snap = self.settled("create-vm-snapshot", "get-vm-snapshots", sid, "VM snapshot") if sid else None
            if snap:
                check_snapshot_refs(self.t, self.res, [snap])
                if self.mutate("delete-vm-snapshot", {"where": {"id": sid}}):
                    self.gone("delete-vm-snapshot", "get-vm-snapshots", sid, "VM snapshot")
        if self.mutate("delete-vm", {"where": {"id": vid}}):
            self.gone("delete-vm", "get-vms", vid, "VM")

    def labels(self) -> None:
        if "/create-label" not in self.contract.operations:
            return
        key = self.name("label")
        done = self.mutate("create-label", [{"key": key, "value": "a"}])
        if not done or not done[0] or not isinstance(done[0][0].get("data"), dict):
            return
        lid = done[0][0]["data"].get("id")
        if not lid or not self.settled("create-label", "get-labels", lid, "label"):
            return
        if self.mutate("update-label", {"where": {"id": lid}, "data": {"value": "b"}}):
            row = self.settled("update-label", "get-labels", lid, "label")
            if row and row.get("value") != "b":
                self.res.fail("/update-label", EFFECT, f"label {lid}: value {row.get('value')!r} after the update's "
                                                       f"task ended SUCCESSED, expected 'b'", self.t.last)
        if self.mutate("delete-label", {"where": {"id": lid}}):
            self.gone("delete-label", "get-labels", lid, "label")

    def folders(self) -> None:
        if "/create-vm-folder" not in self.contract.operations:
            return
        try:
            cl = self.t.call("get-clusters", {"first": 1})
        except TargetError:
            return
        if not cl:
            return
        done = self.mutate("create-vm-folder", [{"cluster_id": cl[0]["id"], "name": self.name("folder")}])
        if not done or not done[0] or not isinstance(done[0][0].get("data"), dict):
            return
        fid = done[0][0]["data"].get("id")
        if fid and self.settled("create-vm-folder", "get-vm-folders", fid, "VM folder"):
            if self.mutate("delete-vm-folder", {"where": {"id": fid}}):
                self.gone("delete-vm-folder", "get-vm-folders", fid, "VM folder")

    def failing_change(self) -> None:
        """On the mock: a change told to fail must end FAILED, not SUCCESSED."""
        t = self.t
        if not t.is_mock or "/create-vm-folder" not in self.contract.operations:
            return
        try:
            cl = t.call("get-clusters", {"first": 1})
        except TargetError:
            return
        name = self.name("must-fail")
        try:
            r = t.session.post(t.root + "/_mock/faults", json={"kind": "task_failure", "operation": "create-vm-folder",
                                                              "name_regex": "^" + name + "$", "times": 1},
                               timeout=t.timeout)
        except Exception as e:
            self.res.note(f"failing-change probe skipped: the mock's admin API did not answer: {e}")
            return
        if r.status_code >= 300:
            self.res.note(f"failing-change probe skipped: /_mock/faults answered HTTP {r.status_code}")
            return
        done = self.mutate("create-vm-folder", [{"cluster_id": cl[0]["id"], "name": name}], expect_fail=True)
        if not done:
            return
        items, tasks = done
        ok = [x for x in tasks.values() if x.get("status") == "SUCCESSED"]
        self.res.check("/create-vm-folder")
        if ok:
            self.res.fail("/create-vm-folder", TASK_FALSE_SUCCESS,
                          f"task {ok[0].get('id')} ended SUCCESSED for a change the mock was told to fail "
                          f"(a task_failure rule on the name {name!r}); get-tasks must report FAILED",
                          t.last)

    def cleanup(self) -> None:
        from .cleanup import cleanup
        try:
            cleanup(self.t, self.t.safety.name(f"probe-{self.nonce}-"), log=lambda s: None, contract=self.contract,
                    task_timeout=max(1.0, min(self.task_timeout, self.left())))
        except Exception as e:
            self.res.note(f"lifecycle cleanup failed: {e}")
