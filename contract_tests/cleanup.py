"""Delete what a run made: every resource type the contract can list and delete, whose name
(or, for labels, key) starts with the prefix, never a protected one, in dependency order
(snapshots before what they snapshot, VMs before their volumes, templates, LUNs, folders
and labels last). `plan` lists without deleting (the dry run); `cleanup` prints the plan,
then deletes: running VMs are powered off first, each delete's tasks are awaited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .target import SafetyError, Target, TargetError

# Types that hold references to others go first; the rest of the deletable types follow
# in alphabetical order (they hold none the harness creates).
ORDER = ("VmSnapshot", "IscsiLunSnapshot", "NvmfNamespaceSnapshot", "ConsistencyGroupSnapshot",
         "SnapshotGroup", "VmTemplate", "ContentLibraryVmTemplate", "ContentLibraryImage", "Vm",
         "VmVolume", "VmVolumeSnapshot", "IscsiLun", "NvmfNamespace", "IscsiTarget", "NvmfSubsystem",
         "ConsistencyGroup", "NfsExport", "NfsInode", "ElfImage", "VmPlacementGroup", "SnapshotPlan",
         "VmFolder", "Label")
NAME_FIELDS = ("name", "key")


@dataclass
class Kind:
    resource: str
    list_op: str
    delete_op: str
    name_field: str


def deletable_kinds(contract) -> list[Kind]:
    """Every resource with a list operation, a `delete-<x>` operation and a name (or key)
    field it can be filtered by, in dependency order."""
    deletes: dict[str, str] = {}
    for path, op in contract.operations.items():
        if op.family == "delete" and op.resource and path.startswith("/delete-"):
            deletes.setdefault(op.resource, path.lstrip("/"))
    kinds = []
    for name, res in contract.resources.items():
        if not res.list_path or name not in deletes:
            continue
        md = contract.query_schema.models.get(name)
        field = next((f for f in NAME_FIELDS if md is not None and f in md.fields
                      and (md.where_keys is None or f + "_starts_with" in md.where_keys)), None)
        if field:
            kinds.append(Kind(name, res.list_path.lstrip("/"), deletes[name], field))
    rank = {n: i for i, n in enumerate(ORDER)}
    return sorted(kinds, key=lambda k: (rank.get(k.resource, len(ORDER)), k.resource))


def plan(target: Target, prefix: str, contract=None, log=print) -> list[tuple[Kind, list[dict]]]:
    """What a cleanup would delete: [(kind, rows)] in the order it would delete them."""
    if not prefix or len(prefix) < 3:
        raise SafetyError("refusing to clean up with a prefix shorter than 3 characters")
    if contract is None:
        from .target import load_target_contract
        contract, _ = load_target_contract(target)
    out = []
    for kind in deletable_kinds(contract):
        try:
            rows = target.list_all(kind.list_op, where={f"{kind.name_field}_starts_with": prefix})
        except TargetError as e:
            if e.status not in (400, 404):
                log(f"  cleanup: {kind.list_op}: {e}")
            continue
        rows = [r for r in rows if _owned(target, r.get(kind.name_field), prefix)]
        if rows:
            out.append((kind, rows))
    return out


def cleanup(target: Target, prefix: str, log=print, wait: bool = True, contract=None,
            dry_run: bool = False, task_timeout: float = 120.0) -> list[tuple[str, str, str]]:
    """Delete (or with dry_run only list) every resource whose name starts with `prefix`.
    Each delete's tasks are awaited up to `task_timeout` seconds. Returns [(resource, id, name)]."""
    todo = plan(target, prefix, contract, log)
    listed = [(k.resource, r["id"], r.get(k.name_field)) for k, rows in todo for r in rows]
    if dry_run or not listed:
        return listed
    target.safety.check_mutation("cleanup")
    if contract is None:
        from .target import load_target_contract
        contract, _ = load_target_contract(target)
    deleted = []
    for kind, _planned in todo:
        try:      # listed again: deleting one kind may have removed others with it
            rows = target.list_all(kind.list_op, where={f"{kind.name_field}_starts_with": prefix})
        except TargetError as e:
            log(f"  cleanup: {kind.list_op}: {e}")
            continue
        rows = [r for r in rows if _owned(target, r.get(kind.name_field), prefix)]
        if not rows:
            continue
        ids = [r["id"] for r in rows]
        if kind.resource == "Vm":
            _power_off(target, [r for r in rows if r.get("status") not in ("STOPPED", None)], log, wait,
                       task_timeout)
        try:
            r = target.post(kind.delete_op, delete_body(contract, kind.delete_op, ids))
        except (SafetyError, TargetError) as e:
            log(f"  cleanup: {kind.delete_op}: {e}")
            continue
        if r.status_code != 200:
            log(f"  cleanup: {kind.delete_op}: HTTP {r.status_code}: {r.text[:200]}")
            continue
        _await(target, r, log, wait, task_timeout)
        deleted += [(kind.resource, row["id"], row.get(kind.name_field)) for row in rows]
        log(f"  cleanup: deleted {len(rows)} {kind.resource} named {prefix}*")
    return deleted


def _owned(target: Target, name, prefix: str) -> bool:
    return isinstance(name, str) and name.startswith(prefix) and not target.safety.is_protected(name)


def delete_body(contract, delete_op: str, ids: list[str]) -> dict:
    """{"where": {"id_in": ids}}, plus `data` when the operation requires it (its required
    booleans set true: remove_snapshot and the like, so nothing is left behind)."""
    body: dict[str, Any] = {"where": {"id_in": ids}}
    op = contract.operations.get("/" + delete_op)
    schema = contract.resolve(op.request_schema) if op is not None and op.request_schema else {}
    if "data" in (schema.get("required") or []):
        ds = contract.resolve(schema.get("properties", {}).get("data") or {})
        body["data"] = {k: True for k in ds.get("required") or []
                        if contract.resolve(ds.get("properties", {}).get(k) or {}).get("type") == "boolean"}
    return body


def _tasks(r) -> list[str]:
    try:
        data: Any = r.json()
    except ValueError:
        return []
    items = data if isinstance(data, list) else [data]
    return [x["task_id"] for x in items if isinstance(x, dict) and x.get("task_id")]


def _await(target: Target, r, log, wait: bool, timeout: float) -> None:
    tasks = _tasks(r)
    if wait and tasks:
        try:
            target.wait_tasks(tasks, timeout=timeout, interval=0.1)
        except TargetError as e:
            log(f"  cleanup: {e}")


def _power_off(target: Target, running: list[dict], log, wait: bool, timeout: float) -> None:
    if not running:
        return
    try:
        r = target.post("poweroff-vm", {"where": {"id_in": [x["id"] for x in running]}})
    except (SafetyError, TargetError) as e:
        log(f"  cleanup: poweroff-vm: {e}")
        return
    if r.status_code == 200:
        _await(target, r, log, wait, timeout)
