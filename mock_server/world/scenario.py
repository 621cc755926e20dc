"""Scenarios: the TOML files that describe the seeded world (sizes plus named resources).

`load_scenario("default")` reads `fixtures/default.toml`; any other argument is a path.
Every key is checked: unknown keys, wrong types and negative sizes raise `ScenarioError`
naming the key path (`clusters[0].vms[1].disks`); TOML syntax errors carry tomllib's
line and column. See fixtures/README.md for the format.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures"
BUILTIN = ("default", "large", "xl")


class ScenarioError(ValueError):
    """A scenario file that cannot be used (the server refuses to start on it)."""


@dataclass
class VmSpec:
    name: str
    disks: int | None = None
    nics: int | None = None
    cdrom: bool | None = None
    status: str | None = None
    vcpu: int | None = None
    cpu_sockets: int | None = None
    memory_gib: float | None = None
    snapshots: int | None = None
    guest_os_type: str | None = None
    host: str | None = None
    description: str | None = None
    ha: bool | None = None


@dataclass
class ClusterSpec:
    name: str | None = None
    hosts: int | None = None
    version: str | None = None
    type: str | None = None
    vms: list[VmSpec] = field(default_factory=list)


@dataclass
class Scenario:
    seed: int = 1
    datacenters: int = 1
    clusters: int = 2
    hosts_per_cluster: int = 3
    vms: int = 50
    disks_per_vm: int = 2
    cdrom_fraction: float = 0.3
    nics_per_vm: int = 1
    snapshots_per_vm: int = 1
    snapshot_fraction: float = 0.3
    volume_snapshots: int = 5
    templates: int = 3
    images: int = 4
    content_library_images: int = 2
    iscsi_targets: int = 2
    luns_per_target: int = 3
    lun_snapshots_per_lun: int = 1
    consistency_groups: int = 1
    labels: int = 8
    users: int = 3
    folders: int = 4
    placement_groups: int = 2
    alerts: int = 10
    tasks: int = 30
    vlans_per_cluster: int = 2
    records_per_other_resource: int = 3
    named_clusters: list[ClusterSpec] = field(default_factory=list)
    source: str = "<defaults>"

    @property
    def cluster_count(self) -> int:
        return max(self.clusters, len(self.named_clusters))


# key -> (accepted python types, kind); kind: "size" (>= 0), "fraction" (0..1), "any"
_TOP: dict[str, tuple[tuple[type, ...], str]] = {}
for _f in fields(Scenario):
    if _f.name in ("named_clusters", "source"):
        continue
    if _f.type in ("int", int):
        _TOP[_f.name] = ((int,), "size")
    elif _f.type in ("float", float):
        _TOP[_f.name] = ((int, float), "fraction")
_TOP["seed"] = ((int,), "any")

_CLUSTER = {"name": ((str,), "any"), "hosts": ((int,), "size"), "version": ((str,), "any"),
            "type": ((str,), "any"), "vms": ((list,), "any")}
_VM = {"name": ((str,), "any"), "disks": ((int,), "size"), "nics": ((int,), "size"),
       "cdrom": ((bool,), "any"), "status": ((str,), "any"), "vcpu": ((int,), "size"),
       "cpu_sockets": ((int,), "size"), "memory_gib": ((int, float), "size"),
       "snapshots": ((int,), "size"), "guest_os_type": ((str,), "any"), "host": ((str,), "any"),
       "description": ((str,), "any"), "ha": ((bool,), "any")}


def _tname(types: tuple[type, ...]) -> str:
    return " or ".join({int: "integer", float: "number", str: "string", bool: "boolean",
                        list: "array of tables"}[t] for t in types)


def _check(path: str, value: Any, types: tuple[type, ...], kind: str) -> Any:
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not ok:
        raise ScenarioError(f"{path}: expected {_tname(types)}, got {type(value).__name__} {value!r}")
    if kind == "size" and value < 0:
        raise ScenarioError(f"{path}: must not be negative, got {value}")
    if kind == "fraction" and not 0 <= value <= 1:
        raise ScenarioError(f"{path}: must be between 0 and 1, got {value}")
    return value


def _table(path: str, data: Any, spec: dict) -> dict:
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a table, got {type(data).__name__}")
    out = {}
    for k, v in data.items():
        kp = f"{path}.{k}" if path else k
        if k not in spec:
            raise ScenarioError(f"{kp}: unknown key (allowed: {', '.join(sorted(spec))})")
        out[k] = _check(kp, v, *spec[k])
    return out


def parse_scenario(data: dict, source: str = "<dict>") -> Scenario:
    """Validate a decoded TOML document and build the Scenario."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a table at top level")
    sc = Scenario(source=source)
    spec = dict(_TOP)
    spec["clusters"] = ((int, list), "size")
    for k, v in data.items():
        if k == "clusters" and isinstance(v, list):
            sc.named_clusters = [_cluster(f"clusters[{i}]", c) for i, c in enumerate(v)]
            continue
        if k not in spec:
            raise ScenarioError(f"{k}: unknown key (allowed: {', '.join(sorted(spec))})")
        setattr(sc, k, _check(k, v, *spec[k]))
        if spec[k][1] == "fraction":
            setattr(sc, k, float(v))
    if isinstance(data.get("clusters"), list):
        sc.clusters = len(sc.named_clusters)
    names = [c.name for c in sc.named_clusters if c.name]
    if len(names) != len(set(names)):
        raise ScenarioError("clusters: duplicate cluster names")
    vm_names = [v.name for c in sc.named_clusters for v in c.vms]
    dup = {n for n in vm_names if vm_names.count(n) > 1}
    if dup:
        raise ScenarioError(f"clusters.vms: duplicate VM names {sorted(dup)}")
    if sc.cluster_count < 1 and sc.vms > 0:
        raise ScenarioError("clusters: at least one cluster is needed to hold VMs")
    if sc.datacenters < 1:
        raise ScenarioError("datacenters: at least one datacenter is needed")
    return sc


def _cluster(path: str, data: Any) -> ClusterSpec:
    raw = _table(path, data, _CLUSTER)
    cs = ClusterSpec(**{k: v for k, v in raw.items() if k != "vms"})
    for j, vm in enumerate(raw.get("vms", [])):
        vp = f"{path}.vms[{j}]"
        vraw = _table(vp, vm, _VM)
        if "name" not in vraw:
            raise ScenarioError(f"{vp}.name: required key is missing")
        if vraw.get("vcpu") == 0:
            raise ScenarioError(f"{vp}.vcpu: must be at least 1")
        if "memory_gib" in vraw:
            vraw["memory_gib"] = float(vraw["memory_gib"])
        cs.vms.append(VmSpec(**vraw))
    return cs


def scenario_path(name_or_path: str | Path) -> Path:
    s = str(name_or_path)
    if s in BUILTIN or (not s.endswith(".toml") and "/" not in s and (FIXTURES_DIR / f"{s}.toml").exists()):
        return FIXTURES_DIR / f"{s}.toml"
    return Path(s)


def load_scenario(name_or_path: str | Path = "default") -> Scenario:
    """A built-in scenario by name (`default`, `large`, `xl`) or a TOML file by path."""
    path = scenario_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError(f"scenario {name_or_path!s}: cannot read {path.name}: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        if "at end of document" in msg:
            msg += f" (line {text.count(chr(10)) + 1}: the file ends inside a value or table)"
        raise ScenarioError(f"{path.name}: invalid TOML: {msg}") from None
    return parse_scenario(data, source=path.name)
