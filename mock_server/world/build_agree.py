"""Records that must agree with the rest of the world, set after the relations are repaired:
a backup restore point with the VM it holds, a log collection with its cluster's log groups.
No draw from the builder's rng (the worlds of later steps stay as they were)."""

from __future__ import annotations

import zlib

from .build_base import BuilderBase
from .log_services import BY_NAME, group_names


class AgreementBuilder(BuilderBase):
    def agree_backups(self) -> None:
        """A restore point records the VM it holds: its name and local id and its cluster's
        local id are that VM's (get-backup-restore-point-metadata answers from it), and the
        VM is one its backup plan protects. A point without a VM keeps its records (a VM
        deleted since)."""
        if not self.has("BackupRestorePoint", "vm"):
            return
        vms, clusters, plans = self.rows["Vm"], self.rows["Cluster"], self.rows.get("BackupPlan", {})
        for point in self.rows["BackupRestorePoint"].values():
            vm = vms.get(point.get("vm"))
            if vm is None:
                continue
            cluster = clusters.get(vm.get("cluster")) or {}
            for f, v in (("vm_name", vm.get("name")), ("vm_local_id", vm.get("local_id")),
                         ("cluster_local_id", cluster.get("local_id"))):
                if v is not None and self.has("BackupRestorePoint", f):
                    point[f] = v
            plan = plans.get(point.get("backup_plan"))
            if plan is not None and self.has("BackupPlan", "vms"):
                self.link("BackupPlan", plan, "vms", vm["id"])

    def agree_log_collections(self) -> None:
        """A log collection's groups and services are ones its cluster has (the groups of
        get-log-service-configs), its hosts that cluster's."""
        if not self.has("LogCollection", "groups"):
            return
        clusters, hosts = self.rows["Cluster"], self.rows["Host"]
        for row in self.rows["LogCollection"].values():
            cluster = clusters.get(row.get("cluster"))
            if cluster is None:
                continue
            have = group_names(cluster)
            picked = [g for g in have if zlib.crc32(f"{row['id']}/{g}".encode()) & 1] or have[:1]
            chosen = {g: list(BY_NAME[g]) for g in picked}
            row["groups"] = picked
            if self.has("LogCollection", "services"):
                row["services"] = [s for v in chosen.values() for s in v]
            if self.has("LogCollection", "service_groups"):
                row["service_groups"] = chosen
            if isinstance(row.get("hosts"), list):
                row["hosts"] = [h for h in row["hosts"] if (hosts.get(h) or {}).get("cluster") == cluster["id"]]
