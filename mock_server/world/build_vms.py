"""VMs, built by the hundred thousand: each VM with its disks -> volumes -> iSCSI LUNs in its
cluster's datastore, an optional CD-ROM, NICs on the cluster's VLANs; snapshots are queued
for `build_vm_snapshots`. Named VMs of the scenario go in their cluster (their fields checked
against the contract), the rest round-robin over the clusters."""

from __future__ import annotations

from .build_vm_devices import VmDeviceBuilder
from .scenario import ScenarioError, VmSpec
from .values import GiB
from .vm_kit import VmKit
from .vocab import CPU_SHAPES, LINUX_OS, VM_ENVS, VM_ROLES, WIN_OS


class VmBuilder(VmDeviceBuilder):
    def build_vms(self) -> None:
        if not self.cl or not self.has("Vm"):
            return
        kit = VmKit(self)
        rand = self.rng.random
        plan = self._vm_plan()
        used_names = {s.name for _, s in plan if s is not None}
        counters = [0] * len(self.cl)
        self.snap_jobs: list[tuple] = []
        for ci, spec in plan:
            ctx = self.cl[ci]
            k = counters[ci]
            counters[ci] += 1
            vm, ip, windows, running = self._new_vm(kit, ctx, ci, k, spec, used_names)
            disks = self._vm_disks(kit, ctx, vm, spec, windows)
            cd_image = self._vm_cdrom(kit, ctx, vm, spec, len(disks), windows)
            nics = self._vm_nics(kit, ctx, vm, spec, k, ip, running)
            nsnap = spec.snapshots if spec is not None and spec.snapshots is not None else (
                self.sc.snapshots_per_vm if rand() < self.sc.snapshot_fraction else 0)
            if nsnap and kit.has_snap:
                self.snap_jobs.append((vm, disks, nics, nsnap, ci, cd_image))
        self.build_vm_snapshots()

    def _vm_plan(self) -> list[tuple[int, VmSpec | None]]:
        """(cluster index, spec or None) per VM: the named ones first, the rest round-robin."""
        plan: list[tuple[int, VmSpec | None]] = []
        for ci, ctx in enumerate(self.cl):
            for spec in ctx["spec"].vms:
                plan.append((ci, spec))
        rest = max(0, self.sc.vms - len(plan))
        ncl = len(self.cl)
        plan.extend((i % ncl, None) for i in range(rest))
        return plan

    def _spec_host(self, ctx: dict, spec: VmSpec, maint) -> dict:
        host = next((h for h in ctx["hosts"] if h["name"] == spec.host), None)
        if host is None:
            raise ScenarioError(f"vms[{spec.name}].host: no host {spec.host!r} in cluster "
                                f"{ctx['row']['name']} (hosts: {', '.join(h['name'] for h in ctx['hosts'])})")
        if host["id"] in maint:
            raise ScenarioError(f"vms[{spec.name}].host: {spec.host!r} is in maintenance and runs no VM")
        return host

    def _spec_enum(self, kit: VmKit, ctx: dict, spec: VmSpec, field: str, value: str, known: dict) -> str:
        """`value` of a named VM's enum field, checked against the contract."""
        v = known.get(value) if value in known else self.enum("Vm", field, value)
        if v != value:
            where = f"{ctx['spec'].name or 'clusters'}.vms" if field == "guest_os_type" else "vms"
            valid = (f"a valid {field}" if field == "guest_os_type"
                     else "one of " + ", ".join(self.c.enum_values(kit.vm_props[field])))
            raise ScenarioError(f"{where}[{spec.name}].{field}: {value!r} is not {valid}")
        return v

    def _new_vm(self, kit: VmKit, ctx: dict, ci: int, k: int, spec: VmSpec | None,
                used_names: set) -> tuple[dict, str, bool, bool]:
        """The VM row (stored, related to its cluster, host, folder, group), its IP, whether it
        runs Windows, whether it is running."""
        choice, rand, ts_pool = self.pick, self.rng.random, self.pools.timestamps
        maint = ctx.get("maintenance") or ()
        hosts = ctx.get("vm_hosts")         # the hosts that run VMs (not in maintenance)
        if hosts is None:
            hosts = ctx["vm_hosts"] = [h for h in ctx["hosts"] if h["id"] not in maint] or ctx["hosts"]
        host = hosts[k % len(hosts)] if hosts else None
        if spec is not None and spec.host:
            host = self._spec_host(ctx, spec, maint)
        role = choice(VM_ROLES)
        if spec is not None:
            name = spec.name
        else:
            name = f"{role}-{choice(VM_ENVS)}-{ci + 1:02d}{k:05d}"
            if name in used_names:
                name = f"{name}-{k}"
        windows = role.startswith(("win", "sqlserver"))
        if spec is not None and spec.guest_os_type:
            windows = self._spec_enum(kit, ctx, spec, "guest_os_type", spec.guest_os_type, kit.gos) == "WINDOWS"
        r = rand()
        st = kit.st
        status = st["RUNNING"] if r < 0.75 else st["STOPPED"] if r < 0.97 else st["SUSPENDED"]
        if spec is not None and spec.status:
            status = self._spec_enum(kit, ctx, spec, "status", spec.status, {})
        sockets, cores = choice(CPU_SHAPES)
        if spec is not None and spec.vcpu:
            sockets = spec.cpu_sockets if spec.cpu_sockets and spec.vcpu % spec.cpu_sockets == 0 else 1
            cores = spec.vcpu // sockets
        cpu = kit.cpu_pool.get((sockets, cores))
        if cpu is None:
            cpu = kit.cpu_pool[(sockets, cores)] = {**kit.cpu_pool[CPU_SHAPES[0]], "sockets": sockets, "cores": cores}
        mem = choice(kit.mem_sizes)
        if spec is not None and spec.memory_gib:
            mem = int(spec.memory_gib * GiB)
        o2 = ctx["o2"]
        ip = f"10.{64 + o2 % 64}.{(k // 250) % 256}.{k % 250 + 5}"
        running = status == st["RUNNING"]
        gos = kit.gos
        vm = kit.vm_tpl.copy()
        vm.update(
            name=name, local_id=self.uuid(), status=status, vcpu=sockets * cores, cpu=cpu, memory=mem,
            ips=ip if running else "", node_ip=host["management_ip"] if host else "",
            guest_os_type=gos["WINDOWS"] if windows else gos["LINUX"],
            os=choice(WIN_OS) if windows else choice(LINUX_OS),
            firmware=kit.fw_uefi if windows else kit.fw_bios, ha=rand() < 0.8, win_opt=windows,
            vm_tools_status=kit.tools["RUNNING"] if running else kit.tools["NOT_RUNNING"],
            vm_tools_version="4.0.0", hostname=name, local_created_at=choice(ts_pool),
            description=spec.description if spec is not None and spec.description else choice(kit.descriptions))
        if spec is not None and spec.ha is not None:
            vm["ha"] = spec.ha
        if not running:
            vm["last_shutdown_time"] = choice(ts_pool)
        for d in kit.vm_drop:
            vm.pop(d, None)
        for d in kit.vm_nullable:           # the template's None values are gone already
            if vm.get(d, 0) is None:
                del vm[d]
        vid = vm["id"] = self.mint()
        self.rows["Vm"][vid] = vm
        kit.link_vm_cluster(vm, ctx["row"]["id"])
        kit.link_vm_host(vm, host["id"] if host else None)
        if ctx["folders"] and rand() < 0.6:
            kit.link_vm_folder(vm, choice(ctx["folders"]))
        if ctx["groups"] and rand() < 0.1:
            kit.link_vm_group(vm, choice(ctx["groups"]))
        return vm, ip, windows, running
