"""`get-cluster-storage-info`: each selected cluster's data space, and what it could still
allocate under the redundancy policies the request asks about (`effect`): with `r` replicas
the free space divided by `r`, with erasure coding `k+m` the free space times `k/(k+m)`. The
figures are the cluster rows' own (their derived totals), so they agree with get-clusters."""

from __future__ import annotations

from typing import Any

from . import Ctx, operation
from .reads import find_rows


def storage_info(cluster: dict, effect: dict) -> dict[str, Any]:
    total = int(cluster.get("total_data_capacity") or 0)
    used = int(cluster.get("used_data_space") or 0)
    failure = int(cluster.get("failure_data_space") or 0)
    free = max(0, total - used - failure)
    replica = [{"replica_num": r, "capacity": round(free / r, 2)}
               for r in effect.get("replica") or () if isinstance(r, int) and r > 0]
    ec = [{"k": e["k"], "m": e["m"], "capacity": round(free * e["k"] / (e["k"] + e["m"]), 2)}
          for e in effect.get("ec") or () if e.get("k", 0) + e.get("m", 0) > 0]
    return {"id": cluster["id"], "name": cluster.get("name") or "", "type": cluster.get("type") or "SMTX_OS",
            "stretch": bool(cluster.get("stretch")), "total_data_capacity": total, "used_data_space": used,
            "failure_data_space": failure, "free_data_space": free,
            "allocable_storage_capacity": {"replica": replica, "ec": ec}, "storage_cluster": []}


@operation("get-cluster-storage-info")
def get_cluster_storage_info(ctx: Ctx, body: Any):
    body = body or {}
    props = ctx.contract.properties({"$ref": "#/components/schemas/ClusterStorageInfo"})
    out = []
    for cluster in find_rows(ctx, "Cluster", {"where": body.get("where") or {}}):
        info = storage_info(cluster, body.get("effect") or {})
        out.append({k: v for k, v in info.items() if not props or k in props})
    return out
