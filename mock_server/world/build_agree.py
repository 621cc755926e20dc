"""Records that must agree with the rest of the world, set after the relations are repaired:
a backup restore point with the VM it holds, a log collection with its cluster's log groups,
a VM export's files with what was exported.
No draw from the builder's rng (the worlds of later steps stay as they were)."""

from __future__ import annotations

import hashlib
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

    def agree_exports(self) -> None:
        """A VM export's files are named after what was exported (its VM, volume or library
        template) with the extension of their type; it lives on that VM's cluster; its data
        port id is a UUID of its own (get-export-file-download-links answers by it)."""
        if not self.has("VmExportFile", "files"):
            return
        vms, vols, clusters = self.rows["Vm"], self.rows["VmVolume"], self.rows["Cluster"]
        templates = self.rows.get("ContentLibraryVmTemplate", {})
        for row in self.rows["VmExportFile"].values():
            source = vms.get(row.get("vm")) or vols.get(row.get("vm_volume")) \
                or templates.get(row.get("content_library_vm_template")) or {}
            base = source.get("name") or f"export-{row['id'][-6:]}"
            files = [f for f in row.get("files") or () if isinstance(f, dict)]
            for i, f in enumerate(files):
                ext = EXTENSIONS.get(f.get("type"), "img")
                f["fileName"] = f"{base}.{ext}" if len(files) == 1 else f"{base}-{i + 1}.{ext}"
            if self.has("VmExportFile", "data_port_id"):
                row["data_port_id"] = _uuid_of(row["id"], "data-port")
            cluster = clusters.get(source.get("cluster"))
            if cluster is not None and cluster.get("local_id") and self.has("VmExportFile", "storage_cluster_id"):
                row["storage_cluster_id"] = cluster["local_id"]


EXTENSIONS = {"OVF": "ovf", "QCOW2": "qcow2", "RAW": "raw", "VMDK": "vmdk"}


def _uuid_of(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"
