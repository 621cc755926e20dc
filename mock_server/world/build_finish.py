"""The finishing passes: a few generic, schema-valid rows of every other resource, the
relations the contract requires (and the stored relations of generic rows), pass-through
devices bound to VMs of their host, and the global alert rules' texts."""

from __future__ import annotations

from ..texts import ALERTS
from .build_base import BuilderBase
from .vocab import CORE, SINGLETONS


class FinishingBuilder(BuilderBase):
    def build_generic(self) -> None:
        """A few schema-valid records of every other resource; one of a tower-wide singleton."""
        n = max(1, self.sc.records_per_other_resource)
        for model in self.res:
            if model in CORE and self.rows[model]:
                continue
            if self.rows[model]:
                continue
            if model in SINGLETONS:
                self.make(model, SINGLETONS[model], generic=True)
                continue
            for _ in range(n):
                self.make(model, generic=True)

    def alert_rules(self) -> None:
        """Global alert rules carry the catalogue's texts (both languages via mock_server.texts)."""
        for i, rule in enumerate(self.rows.get("GlobalAlertRule", {}).values()):
            kind = ALERTS[i % len(ALERTS)]
            for f, (en, _) in kind.items():
                if f in rule or self.has("GlobalAlertRule", f):
                    rule[f] = en

    def repair(self) -> None:
        """Relations the contract requires, and the stored relations of generic rows."""
        plans, rng = self.plans, self.rng
        # 1. A required derived to-one (Witness.cluster <- Cluster.witness) needs a holder row.
        for model, res in self.res.items():
            for f, plan in plans[model].items():
                if plan.stored or plan.many or f not in res.required:
                    continue
                sm, sf = plan.inverse
                sp = plans[sm][sf]
                held = set()
                for r in self.rows[sm].values():
                    v = r.get(sf)
                    if isinstance(v, list):
                        held.update(v)
                    elif v:
                        held.add(v)
                free = [r for r in self.rows[sm].values() if not r.get(sf)] if not sp.many else list(self.rows[sm].values())
                for rid in list(self.rows[model]):
                    if rid in held:
                        continue
                    if free:
                        holder = free.pop(0) if not sp.many else free[rng.randrange(len(free))]
                        self.link(sm, holder, sf, rid)
                    elif rid in self.generic and len(self.rows[model]) > 1:
                        del self.rows[model][rid]
        # 2. Stored relations: generic rows get targets; every row gets its required ones.
        ids: dict[str, list] = {}           # each target model's ids, listed once, when asked
        generic = self.generic
        for model, res in self.res.items():
            rows = self.rows[model]
            has_generic = (any(rid in generic for rid in rows) if len(rows) < len(generic)
                           else any(rid in rows for rid in generic))
            for f, plan in plans[model].items():
                if not plan.stored:
                    continue
                targets = ids.get(plan.target)
                if targets is None:
                    targets = ids[plan.target] = list(self.rows.get(plan.target) or ())
                if not targets:
                    continue
                required = f in res.required
                if not has_generic and not (required and not plan.many):
                    continue            # nothing below would touch a row (nor the rng)
                for rid, row in rows.items():
                    if f in row:
                        continue
                    if rid in self.generic:
                        if plan.many:
                            row[f] = sorted({targets[rng.randrange(len(targets))] for _ in range(rng.randrange(0, 3))})
                        elif required or rng.random() < 0.7:
                            row[f] = targets[rng.randrange(len(targets))]
                    elif required and not plan.many:
                        row[f] = targets[rng.randrange(len(targets))]
        # 3. Projections that carry fields the target resource lacks (GpuVmInfo.vms ->
        #    GpuVmDetail.vgpu_instance_on_vm_num): the referenced rows get them too.
        for model, res in self.res.items():
            for f, nested in res.nested_schema.items():
                plan = plans[model].get(f)
                if plan is None or not plan.stored:
                    continue
                tprops = self.res[plan.target].properties
                nschema = {"$ref": "#/components/schemas/" + nested}
                nprops, nreq = self.synth.obj_shape(nschema)
                extra = [k for k in nprops if k not in tprops and k != "id"]
                if not extra:
                    continue
                trows = self.rows[plan.target]
                for row in self.rows[model].values():
                    v = row.get(f)
                    for t in (v if isinstance(v, list) else [v] if v else []):
                        tr = trows.get(t)
                        if tr is not None:
                            for k in extra:
                                if k not in tr:
                                    tr[k] = self.synth.value(k, nprops[k])
        # 4. Bookkeeping fields that only the builder needed.
        for lun in self.rows.get("IscsiLun", {}).values():
            n = lun.pop("_snaps", 0)
            if n and "snapshot_num" in lun:
                lun["snapshot_num"] = n
            lun.pop("_target", None)
            lun.pop("_cluster", None)

    def attach_devices(self) -> None:
        """Pass-through devices (USB, GPU) serve VMs of their own host: a bound USB device
        belongs to at most one VM running there; its deprecated `vm` is that VM."""
        vms_by_host: dict[str, list[str]] = {}
        for vm in self.rows.get("Vm", {}).values():
            if vm.get("host") and vm.get("status") == "RUNNING":
                vms_by_host.setdefault(vm["host"], []).append(vm["id"])
        for model in ("UsbDevice", "GpuDevice"):
            if not self.has(model, "host"):
                continue
            plans = self.plans[model]
            for dev in self.rows[model].values():
                local = vms_by_host.get(dev.get("host"), [])
                bound = bool(dev.get("binded", True)) and bool(local) and self.rng.random() < 0.7
                chosen = [local[self.rng.randrange(len(local))]] if bound else []
                if "binded" in dev:
                    dev["binded"] = bound
                for f in ("vms", "vm"):
                    plan = plans.get(f)
                    if plan is None:
                        continue
                    if plan.stored:
                        dev[f] = list(chosen) if plan.many else (chosen[0] if chosen else None)
                        if dev[f] is None:
                            del dev[f]
                    elif chosen:
                        self.link(model, dev, f, chosen[0])
