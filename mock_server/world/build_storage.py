"""Storage: each cluster's ELF datastore iSCSI target, user-facing iSCSI targets with LUNs and
LUN snapshots, and consistency groups with their snapshots. VM disks' LUNs are made by the
VM builder from `lun_tpl`."""

from __future__ import annotations

from .build_base import BuilderBase
from .values import GiB, uuid4
from .vocab import DISK_GIB, VM_ROLES


class StorageBuilder(BuilderBase):
    def build_storage(self) -> None:
        sc, rng = self.sc, self.rng
        self.lun_tpl = self.template("IscsiLun", ("local_created_at",)) if self.has("IscsiLun") else {}
        self.lun_tpl.update(self._clean("IscsiLun", {
            "replica_num": 2, "thin_provision": True, "stripe_num": 4, "stripe_size": 262144,
            "allowed_initiators": "*", "snapshot_num": 0, "io_size": 4096, "shared_size": 0}))
        for k in list(self.lun_tpl):
            if k.startswith(("bps", "iops")):
                self.lun_tpl[k] = 0
        for ctx in self.cl:
            c = ctx["row"]
            ds = uuid4(rng)
            iqn = f"iqn.2016-02.com.smartx:system:zbs-iscsi-datastore-{ds}"
            ctx["ds_uuid"] = ds
            ctx["iqn"] = iqn
            ctx["target"] = self.make("IscsiTarget", {
                "name": f"zbs-iscsi-datastore-{ds}", "iqn_name": iqn, "local_id": ds, "internal": True,
                "external_use": False, "chap_enabled": False, "description": "ELF VM datastore",
                "replica_num": 2, "stripe_num": 4, "stripe_size": 262144, "thin_provision": True,
                "ip_whitelist": "", "iqn_whitelist": "*/*", "local_created_at": self.ts()},
                {"cluster": c["id"]})
            ctx["lun_seq"] = 0
        # User-facing iSCSI targets with LUNs and LUN snapshots; consistency groups.
        self.user_luns: list[dict] = []
        for i in range(sc.iscsi_targets):
            if not self.cl:
                break
            ctx = self.cl[i % len(self.cl)]
            tname = f"target-{rng.choice(self.pools.words)}-{i + 1}"
            t = self.make("IscsiTarget", {
                "name": tname, "iqn_name": f"iqn.2016-02.com.smartx:system:{tname}", "local_id": uuid4(rng),
                "internal": False, "external_use": True, "chap_enabled": False, "description": "",
                "replica_num": 2, "stripe_num": 4, "stripe_size": 262144, "thin_provision": True,
                "ip_whitelist": "", "iqn_whitelist": "*/*", "local_created_at": self.ts()},
                {"cluster": ctx["row"]["id"]})
            if t is None:
                continue
            for j in range(sc.luns_per_target):
                lun = self.new_lun(t["id"], f"{tname}-lun-{j + 1}", j + 1, rng.choice(DISK_GIB) * GiB)
                self.user_luns.append(lun)
                for s in range(sc.lun_snapshots_per_lun):
                    self.new_lun_snapshot(lun, t["id"], f"{lun['name']}-snap-{s + 1}")
        for i in range(sc.consistency_groups):
            if not self.has("ConsistencyGroup") or not self.cl:
                break
            ctx = self.cl[i % len(self.cl)]
            luns = [lun for lun in self.user_luns if lun.get("_cluster") == ctx["row"]["id"]
                    and "consistency_group" not in lun][:2]
            cg = self.make("ConsistencyGroup", {
                "name": f"cg-{rng.choice(VM_ROLES)}-{i + 1}", "local_id": uuid4(rng), "description": "",
                "local_created_at": self.ts(), "unique_size": 0}, {"cluster": ctx["row"]["id"]})
            for lun in luns:
                self.link("IscsiLun", lun, "consistency_group", cg["id"])
            cgs = self.make("ConsistencyGroupSnapshot", {
                "name": f"{cg['name']}-snap-1", "local_id": uuid4(rng), "local_created_at": self.ts(),
                "unique_size": 0}, {"consistency_group": cg["id"]})
            if cgs is None:
                continue
            for lun in luns:
                ls = self.new_lun_snapshot(lun, lun.get("iscsi_target") or lun["_target"], f"{cgs['name']}-{lun['name']}")
                if ls is not None:
                    self.link("IscsiLunSnapshot", ls, "consistency_group_snapshot", cgs["id"])

    def new_lun(self, target_id: str, name: str, lun_id: int, size: int, local_id: str | None = None) -> dict:
        row = self.lun_tpl.copy()
        row.update(name=name, local_id=local_id or uuid4(self.rng), zbs_volume_id=uuid4(self.rng),
                   lun_id=lun_id, assigned_size=size, local_created_at=self.ts())
        row = self.add("IscsiLun", self._keep("IscsiLun", row))
        self.link("IscsiLun", row, "iscsi_target", target_id)
        row["_target"] = target_id
        t = self.rows["IscsiTarget"].get(target_id)
        if t is not None:
            row["_cluster"] = t.get("cluster") or self._cluster_of_target(target_id)
        return row

    def _cluster_of_target(self, target_id: str) -> str | None:
        for ctx in self.cl:
            if ctx.get("target") and ctx["target"]["id"] == target_id:
                return ctx["row"]["id"]
        return None

    def new_lun_snapshot(self, lun: dict, target_id: str, name: str, local_id: str | None = None) -> dict | None:
        if not self.has("IscsiLunSnapshot"):
            return None
        tpl = getattr(self, "_lsnap_tpl", None)
        if tpl is None:
            tpl = self._lsnap_tpl = self.template("IscsiLunSnapshot", ("local_created_at",))
        row = tpl.copy()
        row.update(self._keep("IscsiLunSnapshot", {
            "name": name, "local_id": local_id or uuid4(self.rng), "local_created_at": self.ts(),
            "unique_size": 0}))
        row = self.add("IscsiLunSnapshot", row)
        self.link("IscsiLunSnapshot", row, "iscsi_lun", lun["id"])
        self.link("IscsiLunSnapshot", row, "iscsi_target", target_id)
        lun["_snaps"] = lun.get("_snaps", 0) + 1
        return row
