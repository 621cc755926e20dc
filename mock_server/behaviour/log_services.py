"""`get-log-service-configs`: the log service groups of one cluster of the world (see
mock_server/world/log_services.py for what a cluster runs); an unknown cluster is a 404.
`create-log-collection` takes its `service_groups` from these: a group or a service the
cluster does not have is a 400 there, before the generic create runs."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from ..world.log_services import BY_NAME, configs, group_names
from . import Ctx, operation
from .lookups import unique_row
from .synth import new_uuid
from .mutations import body_items, new_record, now_iso, require_row, respond, start_task, where_rows


@operation("get-log-service-configs")
def log_service_configs(ctx: Ctx, body: Any):
    where = ((body or {}).get("input") or {}).get("cluster") if isinstance(body, dict) else None
    cluster = unique_row(ctx, "Cluster", where, "input.cluster")
    return configs(cluster)


@operation("create-log-collection")
def create_log_collection(ctx: Ctx, body: Any):
    """One LogCollection per item, of the cluster's hosts the `hosts` filter selects, with the
    groups and services asked for (all of the cluster's when no `service_groups`); a task
    each, which leaves it SUCCESSED."""
    store = ctx.store
    made = []
    for i, item in enumerate(body_items(body)):
        cluster = require_row(ctx, "Cluster", item.get("cluster_id"), f"[{i}].cluster_id")
        if item.get("witness_id") is not None:
            require_row(ctx, "Witness", item.get("witness_id"), f"[{i}].witness_id")
        chosen = _service_groups(cluster, item.get("service_groups"), i)
        hosts = [h["id"] for h in where_rows(ctx, "Host", item.get("hosts") or {})
                 if store.related_ids("Host", h, "cluster") == cluster["id"]]
        params = {k: item[k] for k in ("cluster_id", "witness_id", "log_started_at", "log_ended_at") if k in item}
        local_id = new_uuid()
        extra = {"local_id": local_id, "path": f"/usr/share/smartx/log-collection/{local_id}.tar.gz",
                 "groups": list(chosen), "services": [s for v in chosen.values() for s in v],
                 "service_groups": chosen, "hosts": hosts, "owner": (ctx.user or {}).get("username") or "",
                 "progress": 0.0, "size": 0, "started_at": now_iso(ctx)}
        made.append(new_record(ctx, "LogCollection", params, extra=extra))
    results = []
    for row in made:
        done = {"status": "SUCCESSED", "progress": 1.0}
        tid = start_task(ctx, "LogCollection", row["id"], "create", on_success=_updater(ctx, row["id"], done))
        results.append((tid, "LogCollection", row["id"]))
    return respond(ctx, results)


def _updater(ctx: Ctx, rid: str, changes: dict):
    store = ctx.store

    def run():
        if store.get("LogCollection", rid) is not None:
            store.update("LogCollection", rid, changes)
    return run


def _service_groups(cluster: dict, asked: Any, i: int) -> dict[str, list[str]]:
    """{group: services} a collection takes: the groups asked for (a group the cluster lacks,
    or a service its group lacks, is a 400), all of a group's services when none are named."""
    have = group_names(cluster)
    if not asked:
        return {g: list(BY_NAME[g]) for g in have}
    out: dict[str, list[str]] = {}
    for j, group in enumerate(asked):
        name = group.get("group_name")
        where = f"[{i}].service_groups[{j}]"
        if name not in have:
            raise bad_request(f"{where}.group_name: cluster {cluster.get('name')} has no log group '{name}' "
                              f"(it has {', '.join(have)})",
                              f"{where}.group_name: 集群 {cluster.get('name')} 没有日志分组 '{name}'")
        services = group.get("services") or list(BY_NAME[name])
        unknown = [s for s in services if s not in BY_NAME[name]]
        if unknown:
            raise bad_request(f"{where}.services: log group {name} has no service '{unknown[0]}'",
                              f"{where}.services: 日志分组 {name} 中没有服务 '{unknown[0]}'")
        out.setdefault(name, [])
        out[name].extend(s for s in services if s not in out[name])
    return out
