"""/_mock/inventory and /_mock/resources: what a world holds, for the dashboard and for
scripts alike. Reads only; each answer is small (a tree without VMs, paged lists), so a
world of 100,000 VMs is browsed without ever loading it whole.

* `GET /_mock/inventory` - counts per resource type and the datacenter -> cluster -> host
  tree with VM counts.
* `GET /_mock/resources/{type}` - a page of one type's records (search by name or id,
  filter by host or cluster), as compact summaries.
* `GET /_mock/resources/{type}/{id}` - one record as the API renders it, the types its
  relations point to, and for a VM its disks -> volumes -> LUNs, NICs and snapshots -> LUN
  snapshots.
"""

from __future__ import annotations

from flask import Blueprint, request

from .common import AdminContext, AdminError, NAMESPACE_HEADER, int_arg, json_response, query_args
from .spec import I, S, op, path_param, query_param

MAX_PAGE = 500
SUMMARY_FIELDS = ("name", "status", "entityAsyncStatus", "local_id", "vcpu", "memory", "size", "progress",
                  "description", "key", "value", "username", "ip", "management_ip", "ip_address", "mac_address",
                  "model", "type", "in_recycle_bin")


def world_of(state, namespace: str | None):
    """An existing world (the view never creates namespaces by reading)."""
    ns = namespace or request.headers.get(NAMESPACE_HEADER) or "default"
    w = state.worlds.get(ns)
    if w is None:
        if ns == "default":
            return state.world()
        raise AdminError(f"no namespace {ns}; see GET /_mock/namespaces", 404)
    if w.tasks is not None:
        w.tasks.settle()                     # progress moves even when no API call comes
    return w


def label(row: dict) -> str:
    for key in ("name", "username", "description", "key", "mac_address", "local_id"):
        v = row.get(key)
        if isinstance(v, str) and v:
            return v
    return row.get("id", "")


def summary(store, model: str, row: dict) -> dict:
    out = {"id": row["id"], "label": label(row)}
    for f in SUMMARY_FIELDS:
        if f in row and not isinstance(row[f], (dict, list)):
            out[f] = row[f]
    for rel in ("host", "cluster", "vm"):
        rid = row.get(rel)
        if isinstance(rid, str) and rel in store.plans.get(model, {}):
            target = store.get(store.plans[model][rel].target, rid)
            out[rel] = {"id": rid, "label": label(target) if target else rid}
    return out


def inventory(store) -> dict:
    counts = {m: len(t.rows) for m, t in sorted(store.tables.items()) if t.rows}
    host_vms: dict[str, int] = {}
    cluster_vms: dict[str, int] = {}
    for vm in store.tables["Vm"].rows.values() if "Vm" in store.tables else ():
        if vm.get("host"):
            host_vms[vm["host"]] = host_vms.get(vm["host"], 0) + 1
        if vm.get("cluster"):
            cluster_vms[vm["cluster"]] = cluster_vms.get(vm["cluster"], 0) + 1
    hosts_of: dict[str, list] = {}
    for h in store.all("Host") if "Host" in store.tables else ():
        hosts_of.setdefault(h.get("cluster"), []).append(
            {"id": h["id"], "label": label(h), "status": h.get("status"), "vms": host_vms.get(h["id"], 0)})

    def cluster_node(c: dict) -> dict:
        return {"id": c["id"], "label": label(c), "vms": cluster_vms.get(c["id"], 0),
                "hosts": sorted(hosts_of.get(c["id"], []), key=lambda h: h["label"])}

    placed: set[str] = set()
    tree = []
    for dc in sorted(store.all("Datacenter") if "Datacenter" in store.tables else (), key=label):
        clusters = []
        for cid in store.related_ids("Datacenter", dc, "clusters") or []:
            c = store.get("Cluster", cid)
            if c is not None:
                placed.add(cid)
                clusters.append(cluster_node(c))
        tree.append({"id": dc["id"], "label": label(dc), "clusters": sorted(clusters, key=lambda c: c["label"])})
    loose = [cluster_node(c) for c in store.all("Cluster") if c["id"] not in placed] if "Cluster" in store.tables else []
    if loose:
        tree.append({"id": None, "label": "(no datacenter)", "clusters": sorted(loose, key=lambda c: c["label"])})
    return {"counts": counts, "tree": tree, "revision": store.revision}


def page(store, model: str, q: str | None, host: str | None, cluster: str | None, skip: int, first: int) -> dict:
    table = store.tables.get(model)
    if table is None:
        raise AdminError(f"no resource type {model}; see GET /_mock/inventory for the types", 404)
    if q:
        exact = store.get(model, q)
        if exact is not None and not host and not cluster:
            return {"items": [summary(store, model, exact)], "total": 1, "skip": 0, "first": first}
    if not (q or host or cluster):                  # a plain page: no scan of the whole table
        ids = table.ordered_ids()
        items = [summary(store, model, table.rows[rid]) for rid in ids[skip:skip + first]]
        return {"items": items, "total": len(ids), "skip": skip, "first": first}
    needle = (q or "").lower()
    matched = []
    for rid in table.ordered_ids():
        row = table.rows[rid]
        if host and row.get("host") != host:
            continue
        if cluster and row.get("cluster") != cluster:
            continue
        if needle and needle not in label(row).lower() and needle != rid and needle != str(row.get("local_id", "")):
            continue
        matched.append(row)
    items = [summary(store, model, r) for r in matched[skip:skip + first]]
    return {"items": items, "total": len(matched), "skip": skip, "first": first}


def vm_tree(store, vm: dict) -> dict:
    def get(model, rid):
        return store.get(model, rid) if isinstance(rid, str) and model in store.tables else None

    def ref(model, row):
        return None if row is None else {"model": model, **summary(store, model, row)}

    disks = []
    for did in store.related_ids("Vm", vm, "vm_disks") or []:
        disk = get("VmDisk", did)
        if disk is None:
            continue
        vol = get("VmVolume", disk.get("vm_volume"))
        lun = get("IscsiLun", vol.get("lun")) if vol else None
        disks.append({"disk": {**ref("VmDisk", disk), "boot": disk.get("boot"), "bus": disk.get("bus"),
                               "type": disk.get("type")},
                      "volume": ref("VmVolume", vol), "lun": ref("IscsiLun", lun)})
    nics = [ref("VmNic", n) for n in (get("VmNic", i) for i in store.related_ids("Vm", vm, "vm_nics") or [])
            if n is not None]
    snaps = []
    for sid in store.related_ids("Vm", vm, "snapshots") or []:
        snap = get("VmSnapshot", sid)
        if snap is None:
            continue
        lun_snaps = []
        for fd in snap.get("vm_disks") or []:
            name = fd.get("snapshot_local_id") if isinstance(fd, dict) else None
            if name and "IscsiLunSnapshot" in store.tables:
                lun_snaps += [ref("IscsiLunSnapshot", ls) for ls in store.find_by("IscsiLunSnapshot", "name", name)]
        snaps.append({"snapshot": ref("VmSnapshot", snap), "lun_snapshots": lun_snaps})
    return {"disks": disks, "nics": nics, "snapshots": snaps}


def register(bp: Blueprint, ctx: AdminContext) -> None:
    state = ctx.state

    @bp.route("/inventory", methods=["GET"])
    def inventory_get():
        args = query_args({"namespace"})
        world = world_of(state, args.get("namespace"))
        with world.store.lock:
            return json_response(inventory(world.store))

    @bp.route("/resources/<model>", methods=["GET"])
    def resources_list(model: str):
        args = query_args({"namespace", "q", "host", "cluster", "skip", "first"})
        skip = int_arg(args.get("skip"), "skip", 0) or 0
        first = int_arg(args.get("first"), "first", 1) or 50
        if first > MAX_PAGE:
            raise AdminError(f"first must be <= {MAX_PAGE}")
        world = world_of(state, args.get("namespace"))
        with world.store.lock:
            return json_response(page(world.store, model, args.get("q"), args.get("host"), args.get("cluster"),
                                      skip, first))

    @bp.route("/resources/<model>/<rid>", methods=["GET"])
    def resource_get(model: str, rid: str):
        args = query_args({"namespace"})
        world = world_of(state, args.get("namespace"))
        store = world.store
        with store.lock:
            if model not in store.tables:
                raise AdminError(f"no resource type {model}", 404)
            row = store.get(model, rid)
            if row is None:
                raise AdminError(f"no {model} {rid} in this namespace", 404)
            plans = store.plans.get(model, {})
            out = {"type": model, "id": rid, "label": label(row), "record": store.render(model, row),
                   "relations": {f: p.target for f, p in plans.items()}}
            if model == "Vm":
                out["tree"] = vm_tree(store, row)
            return json_response(out)


def paths() -> dict:
    ns = query_param("namespace", S, "the namespace to read (default: X-Mock-Namespace, else default)")
    return {
        "/inventory": {"get": op("Counts per resource type and the datacenter -> cluster -> host tree "
                                 "with VM counts", params=[ns], not_found=True)},
        "/resources/{model}": {"get": op("A page of one resource type's records (summaries)", params=[
            path_param("model"), ns, query_param("q", S, "a name fragment (case-insensitive), an id or a local_id"),
            query_param("host", S, "only records on this host id"),
            query_param("cluster", S, "only records in this cluster id"),
            query_param("skip", {**I, "minimum": 0}), query_param("first", {**I, "minimum": 1, "maximum": MAX_PAGE})],
            not_found=True)},
        "/resources/{model}/{id}": {"get": op("One record as the API renders it; a VM also gets its disks -> "
                                              "volumes -> LUNs, NICs and snapshots -> LUN snapshots",
                                              params=[path_param("model"), path_param("id"), ns], not_found=True)},
    }
