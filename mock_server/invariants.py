"""Invariants of a world: what a real tower never shows, checked over a whole store.

`check(store) -> list[str]` returns one line per violation (empty when the world is sound):

* every derived counter and total equals what it counts or sums (`Host.running_vm_num`,
  `Cluster.vm_num`, `Datacenter.total_cpu_hz`, `Label.vm_num`, `IscsiLun.snapshot_num`, ...);
* relations agree both ways: every stored id names an existing row, a deprecated to-one
  (`UsbDevice.vm`) is one of its list (`UsbDevice.vms`), a pass-through device serves VMs
  of its own host;
* no host in maintenance runs a VM; every running VM has a host, in its own cluster;
* no required or non-nullable field reads null, relations included (`Ipmi.host`);
* every integer respects its schema's format (int32 below 2^31).

Tests run it after seeding and after mutations (`assert_sound(store)`).
"""

from __future__ import annotations

from typing import Iterator

from .world.derived import deriver, fresh_vm_sums
from .world.derived import refresh as refresh_derived

INT32 = (-(2 ** 31), 2 ** 31 - 1)
INT64 = (-(2 ** 63), 2 ** 63 - 1)
MAINTENANCE = "MAINTENANCE_MODE"


class WorldInvariantError(AssertionError):
    pass


def check(store, limit: int = 200, refresh: bool = True) -> list[str]:
    """Violations of the world's invariants (at most `limit` lines). With `refresh`, the
    derived fields are first brought up to date as the next API request would see them
    (tasks that settled after the last request change VMs without a request)."""
    out: list[str] = []
    with store.lock:
        if refresh:
            refresh_derived(store)
        for line in _all(store):
            out.append(line)
            if len(out) >= limit:
                out.append("... (more)")
                break
    return out


def assert_sound(store, when: str = "", refresh: bool = True) -> None:
    problems = check(store, limit=20, refresh=refresh)
    if problems:
        raise WorldInvariantError(f"world invariants broken{' ' + when if when else ''}:\n  "
                                  + "\n  ".join(problems))


def _all(store) -> Iterator[str]:
    yield from _counters(store)
    yield from _relations(store)
    yield from _placement(store)
    yield from _devices(store)
    yield from _values(store)


def _counters(store) -> Iterator[str]:
    d = deriver(store)
    found = []
    with fresh_vm_sums(store):      # counted from the rows, not from the sums kept by deltas
        for model in sorted(d.models):
            for rid, row in store.tables[model].rows.items():
                for f, v in d.values(store, model, row).items():
                    if row.get(f) != v:
                        found.append(f"{model} {rid} ({row.get('name', '')}): {f} is {row.get(f)!r}, derived {v!r}")
    yield from found


def _relations(store) -> Iterator[str]:
    c = store.contract
    for model, plans in store.plans.items():
        res = c.resources[model]
        rows = store.tables[model].rows
        for f, plan in plans.items():
            target = store.tables.get(plan.target)
            if target is None:
                continue
            required = f in res.required or not plan.nullable
            for rid, row in rows.items():
                if plan.stored:
                    v = row.get(f)
                    ids = v if plan.many else ([v] if v else [])
                    for t in ids or ():
                        if t not in target.rows:
                            yield f"{model} {rid}: {f} names {plan.target} {t}, which does not exist"
                    if required and not plan.many and not v:
                        yield f"{model} {rid}: required relation {f} is null"
                elif required and not plan.many and store.related_ids(model, row, f) is None:
                    yield f"{model} {rid}: required relation {f} reads null (no {plan.inverse[0]} holds it)"
        # A deprecated to-one beside its list (UsbDevice.vm / UsbDevice.vms) is one of the list.
        for f, plan in plans.items():
            lst = plans.get(f + "s")
            if plan.many or lst is None or not lst.many or lst.target != plan.target:
                continue
            for rid, row in rows.items():
                one = store.related_ids(model, row, f)
                many = store.related_ids(model, row, f + "s") or []
                if one is not None and one not in many:
                    yield f"{model} {rid}: {f} {one} is not among {f}s {many}"


def _status(host: dict) -> str | None:
    hs = host.get("host_state")
    return hs.get("state") if isinstance(hs, dict) else None


def _placement(store) -> Iterator[str]:
    if "Vm" not in store.tables or "Host" not in store.tables:
        return
    hosts = store.tables["Host"].rows
    for rid, vm in store.tables["Vm"].rows.items():
        hid = vm.get("host")
        if vm.get("status") == "RUNNING":
            if not hid:
                yield f"Vm {rid} ({vm.get('name')}): RUNNING without a host"
                continue
            host = hosts.get(hid)
            if host is None:
                continue
            if _status(host) == MAINTENANCE:
                yield f"Vm {rid} ({vm.get('name')}): RUNNING on host {host.get('name')} in maintenance"
            if vm.get("cluster") and host.get("cluster") != vm.get("cluster"):
                yield f"Vm {rid} ({vm.get('name')}): runs on host {host.get('name')} of another cluster"


def _devices(store) -> Iterator[str]:
    for model in ("UsbDevice", "GpuDevice"):
        if model not in store.tables or "vms" not in store.plans.get(model, {}):
            continue
        for rid, dev in store.tables[model].rows.items():
            for vid in store.related_ids(model, dev, "vms") or ():
                vm = store.get("Vm", vid)
                if vm is not None and vm.get("host") and dev.get("host") and vm["host"] != dev["host"]:
                    yield f"{model} {rid}: serves VM {vid} on another host"


def _values(store) -> Iterator[str]:
    c = store.contract
    for model, res in c.resources.items():
        rows = store.tables[model].rows
        if not rows:
            continue
        checks = []
        for f, ps in res.properties.items():
            if f in res.relations or f == "entityAsyncStatus":
                continue
            r = c.resolve(ps)
            nullable = bool(ps.get("nullable") or r.get("nullable"))
            fmt = r.get("format")
            if r.get("type") == "array":
                fmt = c.resolve(r.get("items") or {}).get("format")
                integer = c.resolve(r.get("items") or {}).get("type") == "integer"
            else:
                integer = r.get("type") == "integer"
            checks.append((f, not nullable, integer, INT32 if fmt == "int32" else INT64))
        for rid, row in rows.items():
            for f, required, integer, (lo, hi) in checks:
                v = row.get(f)
                if v is None:
                    if required:
                        yield f"{model} {rid}: {f} is null where the schema forbids it"
                    continue
                if integer:
                    for x in (v if isinstance(v, list) else (v,)):
                        if isinstance(x, int) and not lo <= x <= hi:
                            yield f"{model} {rid}: {f} = {x} is out of its format's range"
