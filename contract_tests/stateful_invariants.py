"""The invariants the stateful suite checks after every step, on the resources the run
created (names start with the prefix): `-connection` counts equal the list lengths,
first/after pagination rebuilds the lists, no `entityAsyncStatus` is left once the tasks
ended, the VMs have the state the steps gave them, and every VM snapshot disk's
`snapshot_local_id` is the `name` of an IscsiLunSnapshot."""

from __future__ import annotations

from .report import INVARIANT, PAGINATION, QUERY_COUNT, SERVER_ERROR
from .target import TargetError

LISTS = (("get-vms", "get-vms-connection"),
         ("get-vm-snapshots", "get-vm-snapshots-connection"),
         ("get-iscsi-lun-snapshots", "get-iscsi-lun-snapshots-connection"))


class LifecycleInvariants:
    """Needs the run's `t`, `result`, `flag`, `safety` and expected state (see RunBase)."""

    def check_invariants(self) -> None:
        t, result, flag = self.t, self.result, self.flag
        prefix = self.safety.prefix
        where = {"name_starts_with": prefix}
        for list_op, conn_op in LISTS:
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
                if x.get("id") in self.deleted:
                    flag("/" + list_op, INVARIANT, f"{self.deleted[x['id']]} is listed after its "
                                                   f"delete task ended")
                if x.get("id") in mine and not self.broken and x.get("entityAsyncStatus") is not None:
                    flag("/" + list_op, INVARIANT,
                         f"{x.get('name')} still {x['entityAsyncStatus']} after its tasks ended")
            if list_op == "get-vms":
                self._check_vms(full)
            if list_op == "get-vm-snapshots":
                self._check_join(full)

    def _check_vms(self, listed: list[dict]):
        flag = self.flag
        self.result.check("/get-vms")
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
        self.result.check("/get-iscsi-lun-snapshots")
        if not names:
            return
        found = self.t.call("get-iscsi-lun-snapshots", {"where": {"name_in": sorted(set(names))}})
        have = {x["name"] for x in found}
        missing = sorted(set(names) - have)
        if missing:
            self.flag("/get-iscsi-lun-snapshots", INVARIANT,
                      f"VmSnapshot.vm_disks[].snapshot_local_id does not resolve to an IscsiLunSnapshot "
                      f"name: {missing[:3]}")
