"""History: VM volume snapshots, alerts (texts from the catalogue), finished tasks of the
last 60 days, and labels on a few VMs."""

from __future__ import annotations

from ..texts import ALERTS
from .build_base import BuilderBase
from .values import NEVER, iso, uuid4
from .vocab import BASE_MS, DAY_MS, TASK_KINDS


class HistoryBuilder(BuilderBase):
    def build_history(self) -> None:
        sc, rng, P = self.sc, self.rng, self.pools
        vm_ids = list(self.rows.get("Vm", {}))
        cids = [c["id"] for c in self.clusters]
        # VM volume snapshots of a few volumes.
        vols = list(self.rows.get("VmVolume", {}).values())
        if self.has("VmVolumeSnapshot"):
            for i in range(min(sc.volume_snapshots, len(vols))):
                vol = vols[rng.randrange(len(vols))]
                self.make("VmVolumeSnapshot", {
                    "name": f"{vol['name']}-vsnap-{i + 1}", "local_id": uuid4(rng), "description": "",
                    "type": self.enum("VmVolumeSnapshot", "type", "KVM_VOLUME_ISCSI_SNAPSHOT"),
                    "elf_storage_policy": vol.get("elf_storage_policy"), "volume_size": vol.get("size"),
                    "size": vol.get("size"), "zbs_snapshot_uuid": uuid4(rng), "volume_sharing": False,
                    "local_created_at": P.ts(), "createAt": P.ts()},
                    {"vm_volume": vol["id"], "cluster": vol.get("cluster") or (cids[0] if cids else None)})
        # Alerts.
        hosts = [h for ctx in self.cl for h in ctx["hosts"]]
        for i in range(sc.alerts):
            h = hosts[rng.randrange(len(hosts))] if hosts else None
            ended = rng.random() < 0.4
            start = P.ts()
            kind = ALERTS[rng.randrange(len(ALERTS))]
            self.make("Alert", {
                "ended": ended, "local_start_time": start, "local_create_time": start,
                "local_update_time": start, "local_end_time": start if ended else NEVER,
                **{f: en for f, (en, _) in kind.items()},
                "severity": self.enum("Alert", "severity", rng.choice(("INFO", "NOTICE", "CRITICAL"))),
                "local_id": uuid4(rng)},
                {"cluster": h and h.get("cluster"), "host": h and h["id"],
                 "vms": vm_ids[rng.randrange(len(vm_ids))] if vm_ids and rng.random() < 0.3 else None})
        # Task history.
        users = [u["id"] for u in self.users]
        steps_schema = self.res["Task"].properties.get("steps") if self.has("Task") else None
        step_item = self.c.resolve(steps_schema).get("items") if steps_schema else None
        step_props = self.synth.obj_shape(step_item)[0] if step_item else {}
        unit = self.c.enum_values(step_props["unit"]) if "unit" in step_props else ()
        names = {m: [r.get("name") for r in list(self.rows.get(m, {}).values())[:200]] for m in ("Vm", "IscsiLun", "Vlan", "VmSnapshot")}
        ids = {m: list(self.rows.get(m, {}))[:200] for m in names}
        for i in range(sc.tasks if self.has("Task") else 0):
            rtype, mutation, verb = TASK_KINDS[rng.randrange(len(TASK_KINDS))]
            if not ids.get(rtype):
                rtype, mutation, verb = TASK_KINDS[0]
            j = rng.randrange(len(ids[rtype])) if ids.get(rtype) else None
            failed = rng.random() < 0.1
            start_ms = BASE_MS - rng.randrange(60 * DAY_MS) // 1000 * 1000
            dur = rng.randrange(1, 300) * 1000
            steps = []
            for key in ("prepare", "execute", "finish"):
                st = {"key": key, "current": 1.0, "total": 1.0, "finished": True, "per_second": 0.0}
                if unit:
                    st["unit"] = "COUNT" if "COUNT" in unit else unit[0]
                steps.append({k: v for k, v in st.items() if k in step_props})
            self.make("Task", {
                "description": f"{verb} {names[rtype][j] if j is not None else ''}".strip(),
                "status": self.enum("Task", "status", "FAILED" if failed else "SUCCESSED"),
                "progress": 1.0, "args": {}, "snapshot": '{"typename":"%s"}' % rtype, "steps": steps,
                "internal": False, "local_created_at": iso(start_ms), "started_at": iso(start_ms),
                "finished_at": iso(start_ms + dur),
                "error_code": "TASK_FAILED" if failed else None,
                "error_message": "code: JOB_FAILED, message: the job failed on the cluster" if failed else None,
                "key": None, "resource_id": ids[rtype][j] if j is not None else None, "resource_type": rtype,
                "resource_mutation": mutation, "resource_rollbacked": None, "resource_rollback_error": None,
                "resource_rollback_retry_count": None, "type": None},
                {"user": users[rng.randrange(len(users))] if users else None,
                 "cluster": cids[rng.randrange(len(cids))] if cids else None}, optional_p=0.0)
        # Labels on some VMs, volumes, VLANs.
        vms = list(self.rows.get("Vm", {}).values())
        for lab in self.labels:
            if lab is None:
                continue
            for _ in range(min(len(vms), rng.randrange(0, 6))):
                self.link("Label", lab, "vms", vms[rng.randrange(len(vms))]["id"])
            if "total_num" in lab:
                lab["total_num"] = len(lab.get("vms") or [])
                lab["vm_num"] = lab["total_num"] if "vm_num" in self.res["Label"].properties else None
                if lab.get("vm_num") is None:
                    lab.pop("vm_num", None)
