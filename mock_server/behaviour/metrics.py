"""Metrics (`get-vm-metrics`, `get-host-metrics`, ... `get-top-n-metrics-in-clusters`) and
the cluster-role answers beside them (`get-meta-leader`, `get-witness-services`).

A metrics answer is one `WithTask_Metric_` per requested metric name, whose `sample_streams`
hold one stream per matched resource (labelled `_vm`, `_host`, `_cluster`, ... with the
resource's id, and `metric_name`), and whose `samples` hold each stream's latest point.

The series are synthetic but deterministic: points sit on a grid of `step` seconds ending at
the mock's clock, and each value is a smooth function of (resource id, metric name, time), so
the same request at the same clock answers the same figures. Values follow the resource: a
VM that is not running, a disconnected host, an unmounted disk have no activity (0).
`range` is a duration (`30s`, `10m`, `1h`, `24h`, `7d`, `2w`); anything else is a 400.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import where_rows

RANGE_RE = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_RANGE = 366 * 86400
POINTS = 60                      # about this many points per stream

# op -> (input property of the primary resources, model, label of a stream, secondary)
FAMILIES: dict[str, tuple[str, str, str]] = {
    "get-vm-metrics": ("vms", "Vm", "_vm"),
    "get-vm-network-metrics": ("vms", "Vm", "_vm"),
    "get-disk-metrics": ("disks", "Disk", "_device"),
    "get-vm-volume-metrics": ("vmVolumes", "VmVolume", "_volume"),
    "get-lun-metrics": ("luns", "IscsiLun", "_volume"),
    "get-nvmf-namespace-metrics": ("nvmfNamespaces", "NvmfNamespace", "_volume"),
    "get-cluster-metrics": ("clusters", "Cluster", "_cluster"),
    "get-host-metrics": ("hosts", "Host", "_host"),
    "get-host-network-metrics": ("hosts", "Host", "_host"),
    "get-host-service-metrics": ("hosts", "Host", "_host"),
    "get-scvm-metrics": ("hosts", "Host", "_scvm"),
    "get-scvm-network-metrics": ("hosts", "Host", "_scvm"),
    "get-scvm-service-metrics": ("hosts", "Host", "_scvm"),
    "get-scvm-disk-metrics": ("hosts", "Host", "_scvm"),
    "get-zone-metrics": ("clusters", "Cluster", "_zone"),
    "get-witness-metrics": ("clusters", "Cluster", "_witness"),
    "get-top-n-metrics-in-clusters": ("clusters", "Cluster", "_vm"),
}


def parse_range(value: Any) -> int:
    if not isinstance(value, str):
        raise bad_request("range: expected a duration such as 1h", "range: 应为时长, 例如 1h")
    m = RANGE_RE.match(value)
    if not m:
        raise bad_request(f"range: '{value[:40]}' is not a duration (e.g. 30s, 10m, 1h, 7d, 2w)",
                          f"range: '{value[:40]}' 不是合法的时长 (例如 30s, 10m, 1h, 7d, 2w)")
    seconds = int(m.group(1)) * UNIT_SECONDS[m.group(2)]
    if not 0 < seconds <= MAX_RANGE:
        raise bad_request(f"range: '{value}' must be between 1s and 366d",
                          f"range: '{value}' 必须在 1s 到 366d 之间")
    return seconds


def step_for(seconds: int) -> int:
    """Seconds between points: 20 s at least, about POINTS points per range."""
    for step in (20, 60, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400):
        if seconds / step <= POINTS:
            return step
    return 86400


def unit_for(name: str) -> str:
    n = name.lower()
    rate = "per_sec" in n or "speed" in n or "rate" in n or "bps" in n
    if "percent" in n:
        return "PERCENT"
    if "bit" in n and rate:
        return "DATA_RATE_BIT"
    if "bytes" in n and rate:
        return "DATA_RATE_BYTE"
    if "bandwidth" in n:
        return "STORAGE_BAND_WIDTH"
    if "bytes" in n or "size" in n or "capacity" in n or "space" in n:
        return "DATA_SIZE"
    if "usage" in n:
        return "PERCENT"
    if "ratio" in n:
        return "RATIO"
    if "latency" in n or n.endswith(("_ns", "_ms", "_us", "_seconds")) or "time" in n:
        return "TIME"
    if "hz" in n or "frequency" in n:
        return "FREQUENCY"
    if "temperature" in n or "celsius" in n:
        return "TEMPERATURE"
    if "load" in n:
        return "LOAD"
    return "COUNT"


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest(), "big")


def value_at(rid: str, metric: str, unit: str, t: int) -> float:
    """A smooth, deterministic value: a level per (resource, metric), a daily wave, jitter."""
    s = _seed(rid, metric)
    level = 0.15 + (s % 1000) / 1000 * 0.5                 # 15 % .. 65 %
    phase = (s >> 10) % 86400
    wave = 0.15 * math.sin(2 * math.pi * ((t + phase) % 86400) / 86400)
    jitter = ((_seed(rid, metric, str(t)) % 1000) / 1000 - 0.5) * 0.06
    x = min(1.0, max(0.0, level + wave + jitter))
    scale = {"PERCENT": 100.0, "RATIO": 1.0, "TIME": 2_000_000.0, "DATA_RATE_BIT": 1e9,
             "DATA_RATE_BYTE": 2e8, "STORAGE_BAND_WIDTH": 2e8, "FREQUENCY": 2.0e9, "TEMPERATURE": 80.0,
             "LOAD": 8.0, "DATA_SIZE": 64 * 1024 ** 3, "COUNT": 5000.0}[unit]
    return round(x * scale, 4)


def active(model: str, row: dict) -> bool:
    """Whether the resource does anything (a stopped VM uses no CPU, a dead disk moves no data)."""
    if model == "Vm":
        return row.get("status") == "RUNNING"
    if model == "Host":
        return str(row.get("status", "")).startswith("CONNECTED")
    if model == "Cluster":
        return row.get("connect_state") in (None, "CONNECTED")
    if model == "Disk":
        return not row.get("offline") and row.get("mounted", True)
    if model == "VmVolume":
        return bool(row.get("mounting", True))
    return True


def _now(ctx: Ctx) -> float:
    eng = ctx.world.tasks
    if eng is not None:
        return eng.clock.now()
    clock = getattr(ctx.state, "clock", None)
    return clock.now() if clock is not None else time.time()


def stream(rid: str, label: str, metric: str, unit: str, on: bool, start: int, step: int, n: int,
           extra: dict | None = None) -> dict:
    points = [{"t": (start + i * step) * 1000,
               "v": value_at(rid, metric, unit, start + i * step) if on else 0.0} for i in range(n)]
    labels = {label: rid, "metric_name": metric}
    if extra:
        labels.update(extra)
    return {"labels": labels, "points": points}


def _resources(ctx: Ctx, body: dict, name: str) -> list[tuple[str, dict, dict]]:
    """(model, row, extra labels) of every stream the request asks for."""
    prop, model, _ = FAMILIES[name]
    if model not in ctx.store.tables:
        return []
    where = body.get(prop)
    rows = where_rows(ctx, model, where if isinstance(where, dict) else {})
    out: list[tuple[str, dict, dict]] = []
    store = ctx.store
    if name == "get-vm-network-metrics" and "VmNic" in store.tables:
        nic_filter = None
        if isinstance(body.get("nics"), dict):
            nic_filter = {r["id"] for r in where_rows(ctx, "VmNic", body["nics"])}
        for vm in rows:
            for nid in store.related_ids("Vm", vm, "vm_nics") or ():
                nic = store.get("VmNic", nid)
                if nic is not None and (nic_filter is None or nid in nic_filter):
                    out.append(("Vm", vm, {"_mac": nic.get("mac_address"), "_network": nid}))
        return out
    if name == "get-zone-metrics":
        for c in rows:
            for zid in store.related_ids("Cluster", c, "zones") or ():
                out.append(("Cluster", c, {"_zone": zid, "_cluster": c["id"]}))
        return out
    if name == "get-witness-metrics":
        for c in rows:
            wid = store.related_ids("Cluster", c, "witness")
            if wid:
                out.append(("Cluster", c, {"_witness": wid, "_cluster": c["id"]}))
        return out
    services = body.get("services") if isinstance(body.get("services"), list) else None
    for row in rows:
        extra: dict = {}
        if model == "Host" and row.get("cluster"):
            extra["_cluster"] = row["cluster"]
        if model == "Vm" and row.get("cluster"):
            extra["_cluster"] = row["cluster"]
        if services is not None:
            for svc in services:
                if isinstance(svc, str):
                    out.append((model, row, {**extra, "_service": svc}))
        else:
            out.append((model, row, extra))
    return out


def _metric_names(body: dict) -> list[str]:
    names = body.get("metrics")
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise bad_request("metrics: expected a list of metric names", "metrics: 应为指标名称列表")
    return list(dict.fromkeys(names))


@operation(*FAMILIES)
def metrics(ctx: Ctx, body: Any):
    if not isinstance(body, dict):
        raise bad_request("body: expected an object", "请求体应为对象")
    name = ctx.op.name
    seconds = parse_range(body.get("range"))
    names = _metric_names(body)
    step = step_for(seconds)
    now = int(_now(ctx))
    end = now - now % step
    n = max(1, seconds // step)
    start = end - (n - 1) * step
    label = FAMILIES[name][2]
    if name == "get-top-n-metrics-in-clusters":
        return _top_n(ctx, body, names, start, step, n)
    targets = _resources(ctx, body, name)
    out = []
    for metric in names:
        unit = unit_for(metric)
        streams = []
        for model, row, extra in targets:
            rid = extra.get(label) or row["id"]
            ex = {k: v for k, v in extra.items() if k != label}
            streams.append(stream(rid, label, metric, unit, active(model, row), start, step, n, ex))
        out.append(_metric(unit, step, streams))
    return out


def _metric(unit: str, step: int, streams: list[dict]) -> dict:
    samples = [{"labels": s["labels"], "point": s["points"][-1] if s["points"] else None} for s in streams]
    return {"task_id": None, "data": {"unit": unit, "step": step, "dropped": False,
                                      "samples": samples, "sample_streams": streams}}


def _top_n(ctx: Ctx, body: dict, names: list[str], start: int, step: int, n: int) -> list[dict]:
    kind = body.get("type")
    if kind not in ("top", "bottom"):
        raise bad_request("type: expected top or bottom", "type: 应为 top 或 bottom")
    count = body.get("n")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise bad_request("n: expected a non-negative integer", "n: 应为非负整数")
    clusters = where_rows(ctx, "Cluster", body.get("clusters") if isinstance(body.get("clusters"), dict) else {})
    ids = {c["id"] for c in clusters}
    vms = [vm for vm in ctx.store.all("Vm") if vm.get("cluster") in ids] if "Vm" in ctx.store.tables else []
    out = []
    for metric in names:
        unit = unit_for(metric)
        streams = [stream(vm["id"], "_vm", metric, unit, active("Vm", vm), start, step, n,
                          {"_cluster": vm.get("cluster")}) for vm in vms]
        streams.sort(key=lambda s: (s["points"][-1]["v"], s["labels"]["_vm"]), reverse=kind == "top")
        out.append(_metric(unit, step, streams[:count]))
    return out


# ----------------------------------------------------------- cluster roles

@operation("get-meta-leader")
def meta_leader(ctx: Ctx, body: Any):
    """The meta leader of each matched cluster: its first connected host's data IP."""
    where = body.get("where") if isinstance(body, dict) else None
    clusters = where_rows(ctx, "Cluster", where if isinstance(where, dict) else {})
    out = []
    for c in clusters:
        hosts = [ctx.store.get("Host", h) for h in ctx.store.related_ids("Cluster", c, "hosts") or ()]
        hosts = [h for h in hosts if h is not None]
        leader = next((h for h in hosts if str(h.get("status", "")).startswith("CONNECTED")),
                      hosts[0] if hosts else None)
        if leader is None:
            continue
        ip = leader.get("data_ip") or leader.get("management_ip") or ""
        out.append({"cluster_id": c["id"], "meta_leader": f"{ip}:10100" if ip else leader["id"]})
    return out


WITNESS_SERVICES = (("zbs-metad", "leader"), ("zookeeper", "follower"), ("witnessd", "leader"))


@operation("get-witness-services")
def witness_services(ctx: Ctx, body: Any):
    """The services of one witness, each with an id of its own (stable per witness)."""
    where = body.get("where") if isinstance(body, dict) else None
    if not isinstance(where, dict) or "Witness" not in ctx.store.tables:
        return []
    rows = where_rows(ctx, "Witness", where)
    if not rows:
        return []
    w = rows[0]
    now = _now(ctx)
    out = []
    for i, (svc, role) in enumerate(WITNESS_SERVICES):
        s = _seed(w["id"], svc)
        out.append({"id": f"{w.get('local_id') or w['id']}-{svc}", "name": svc, "role": role,
                    "state": "running", "state_duration": float(int(now) % 864000 + s % 3600)})
    return out
