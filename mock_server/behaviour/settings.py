"""Global settings, datacenters, users and clusters for real.

* `update-global-recycle-bin-setting` writes GlobalSettings.vm_recycle_bin (the tower-wide
  singleton); while it is enabled, `delete-vm` moves VMs to the recycle bin (vm.py).
* Datacenters: a name is unique in its organization; `create-datacenter` is synchronous
  (`task_id: null`, as in real output, contract.md §7); `clusters` (a ClusterWhereInput)
  moves the matched clusters into the datacenter.
* Users: a username is unique; `role_id` names a UserRoleNext; the root user and the
  caller cannot be deleted.
* `update-cluster`: management IP and datacenter / zones checked against the world.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .auth import set_password
from .mutations import (body_items, fill_required, locked_rows, refuse_duplicate, require_row, respond,
                        row_restorer, start_task, where_rows)
from .storage import has


# ------------------------------------------------------------------ global settings

@operation("update-global-recycle-bin-setting")
def update_recycle_bin(ctx: Ctx, body: Any):
    store = ctx.store
    body = body or {}
    retain, enabled = body.get("retain"), body.get("enabled")
    if not isinstance(enabled, bool):
        raise bad_request("enabled: a boolean is required", "enabled: 必须为布尔值")
    if not isinstance(retain, int) or isinstance(retain, bool) or retain < 1:
        raise bad_request(f"retain: days to keep deleted VMs must be a positive integer (got {retain!r})",
                          "retain: 保留天数必须为正整数")
    rows = store.all("GlobalSettings")
    if not rows:
        rows = [store.insert("GlobalSettings", fill_required(ctx, "GlobalSettings", {}))]
    before = list(rows)
    for r in rows:
        store.update("GlobalSettings", r["id"], {"vm_recycle_bin": {**(r.get("vm_recycle_bin") or {}),
                                                                      "enabled": enabled, "retain": retain}})
    first = rows[0]["id"]
    undo = row_restorer(ctx, "GlobalSettings", before[1:])
    tid = start_task(ctx, "GlobalSettings", first, "update", before=before[0],
                     mutation="updateGlobalRecycleBinSetting", on_failure=undo)
    return respond(ctx, [(tid, "GlobalSettings", first)])


# ----------------------------------------------------------------------- datacenters

def _set_clusters(ctx: Ctx, dc_id: str, clusters: list[dict] | None) -> list[dict]:
    """Exactly `clusters` in datacenter `dc_id` (a cluster is in one datacenter); returns the
    cluster rows as they were."""
    if clusters is None:
        return []
    store = ctx.store
    want = {c["id"] for c in clusters}
    before = []
    for c in store.all("Cluster"):
        cur = list(c.get("datacenters") or [])
        if c["id"] in want:
            new = [dc_id]
        else:
            new = [d for d in cur if d != dc_id]
        if new != cur:
            before.append(c)
            store.update("Cluster", c["id"], {"datacenters": new})
    return before


@operation("create-datacenter")
def create_datacenter(ctx: Ctx, body: Any):
    store = ctx.store
    items = body_items(body)
    planned, seen = [], set()
    for i, item in enumerate(items):
        org = require_row(ctx, "Organization", item.get("organization_id"), f"[{i}].organization_id")
        name = item.get("name")
        if not name:
            raise bad_request(f"[{i}].name: must not be empty", f"[{i}].name: 不能为空")
        if name in seen:
            raise bad_request(f"[{i}].name: datacenter '{name}' is given twice", f"[{i}].name: 重复")
        seen.add(name)
        refuse_duplicate(ctx, "Datacenter", {"name": name}, scope={"organization": org["id"]}, label="datacenter")
        clusters = where_rows(ctx, "Cluster", item["clusters"]) if item.get("clusters") is not None else None
        planned.append((org["id"], name, clusters))
    results = []
    for org, name, clusters in planned:
        row = store.insert("Datacenter", fill_required(ctx, "Datacenter", {"name": name, "organization": org,
                                                                           "labels": []}))
        _set_clusters(ctx, row["id"], clusters)
        results.append((None, "Datacenter", row["id"]))     # synchronous: task_id null
    return respond(ctx, results)


@operation("update-datacenter")
def update_datacenter(ctx: Ctx, body: Any):
    store = ctx.store
    rows = where_rows(ctx, "Datacenter", (body or {}).get("where"))
    data = (body or {}).get("data") or {}
    name = data.get("name")
    if name:
        if len(rows) > 1:
            raise bad_request("data.name: cannot give one name to several datacenters", "data.name: 重复")
        for r in rows:
            refuse_duplicate(ctx, "Datacenter", {"name": name}, scope={"organization": r.get("organization")},
                             exclude=[r["id"]], label="datacenter")
    clusters = where_rows(ctx, "Cluster", data["clusters"]) if data.get("clusters") is not None else None
    if clusters is not None and len(rows) > 1:
        raise bad_request("data.clusters: a cluster can be in one datacenter only; match one datacenter",
                          "data.clusters: 一个集群只能属于一个数据中心")
    results = []
    for r in rows:
        if name:
            store.update("Datacenter", r["id"], {"name": name})
        before = _set_clusters(ctx, r["id"], clusters)
        tid = start_task(ctx, "Datacenter", r["id"], "update", before=r,
                         on_failure=row_restorer(ctx, "Cluster", before))
        results.append((tid, "Datacenter", r["id"]))
    return respond(ctx, results)


# ----------------------------------------------------------------------------- users

def _role(ctx: Ctx, role_id: Any, field: str) -> dict:
    row = require_row(ctx, "UserRoleNext", role_id, field)
    return {"roles": [row["id"]], **({"role": row["preset"]} if row.get("preset") in ("ADMIN", "READ_ONLY") else {})}


def _is_root(u: dict) -> bool:
    return u.get("role") == "ROOT" or u.get("username") == "root"


@operation("create-user")
def create_user(ctx: Ctx, body: Any):
    store = ctx.store
    items = body_items(body)
    planned, seen = [], set()
    for i, item in enumerate(items):
        username = item.get("username")
        if not username:
            raise bad_request(f"[{i}].username: must not be empty", f"[{i}].username: 不能为空")
        if username in seen or any(u.get("username") == username for u in store.all("User")):
            raise bad_request(f"[{i}].username: user '{username}' already exists", f"[{i}].username: 用户 '{username}' 已存在")
        seen.add(username)
        fields = {"username": username, "display_username": username, "name": item.get("name") or username,
                  "source": item.get("source") or "LOCAL", "internal": bool(item.get("internal")),
                  "role": "READ_ONLY", "password_expired": False}
        for k in ("email_address", "mobile_phone", "ldap_dn", "auth_config_id"):
            if item.get(k) is not None:
                fields[k] = item[k]
        set_password(fields, item.get("password"))        # so that the user can log in
        if has(ctx, "UserRoleNext"):
            fields.update(_role(ctx, item.get("role_id"), f"[{i}].role_id"))
        planned.append(fields)
    made = [store.insert("User", fill_required(ctx, "User", f)) for f in planned]
    results = [(start_task(ctx, "User", u["id"], "create", name=u["username"]), "User", u["id"]) for u in made]
    return respond(ctx, results)


@operation("update-user")
def update_user(ctx: Ctx, body: Any):
    store = ctx.store
    rows = where_rows(ctx, "User", (body or {}).get("where"))
    data = (body or {}).get("data") or {}
    changes: dict = {}
    for k in ("name", "email_address", "mobile_phone", "internal"):
        if data.get(k) is not None:
            changes[k] = data[k]
    set_password(changes, data.get("password"))
    if data.get("username"):
        if len(rows) > 1:
            raise bad_request("data.username: cannot give one username to several users", "data.username: 重复")
        for r in rows:
            if any(u.get("username") == data["username"] and u["id"] != r["id"] for u in store.all("User")):
                raise bad_request(f"data.username: user '{data['username']}' already exists",
                                  f"data.username: 用户 '{data['username']}' 已存在")
        changes.update({"username": data["username"], "display_username": data["username"]})
    if data.get("role_id") is not None and has(ctx, "UserRoleNext"):
        changes.update(_role(ctx, data["role_id"], "data.role_id"))
        for r in rows:
            if _is_root(r):
                raise bad_request("data.role_id: the role of the root user cannot change", "data.role_id: 不能修改 root 用户的角色")
    results = []
    for r in rows:
        if changes:
            store.update("User", r["id"], changes)
        results.append((start_task(ctx, "User", r["id"], "update", before=r), "User", r["id"]))
    return respond(ctx, results)


@operation("delete-user")
def delete_user(ctx: Ctx, body: Any):
    rows = where_rows(ctx, "User", (body or {}).get("where"))
    me = (ctx.user or {}).get("id")
    for r in rows:
        if _is_root(r):
            raise bad_request(f"the root user ({r['id']}) cannot be deleted", "root 用户不能被删除")
        if r["id"] == me:
            raise bad_request(f"user {r.get('username')} cannot delete itself", "不能删除当前登录用户")
    results = [(start_task(ctx, "User", r["id"], "delete"), "User", r["id"]) for r in rows]
    return respond(ctx, results)


# -------------------------------------------------------------------------- clusters

@operation("update-cluster")
def update_cluster(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "Cluster", body)
    data = (body or {}).get("data") or {}
    changes: dict = {}
    if data.get("ip"):
        try:
            ipaddress.ip_address(data["ip"])
        except ValueError:
            raise bad_request(f"data.ip: '{data['ip']}' is not a valid IP address", "data.ip: 不是合法的 IP 地址")
        changes["ip"] = data["ip"]
    if data.get("datacenter_id"):
        changes["datacenters"] = [require_row(ctx, "Datacenter", data["datacenter_id"], "data.datacenter_id")["id"]]
    for key in ("primary_zone_id", "secondary_zone_id"):
        if data.get(key) and has(ctx, "Zone"):
            require_row(ctx, "Zone", data[key], f"data.{key}")
    for key in ("primary_zone_datacenter_id", "secondary_zone_datacenter_id"):
        if data.get(key):
            require_row(ctx, "Datacenter", data[key], f"data.{key}")
    results = []
    for r in rows:
        if changes:
            store.update("Cluster", r["id"], changes)
        results.append((start_task(ctx, "Cluster", r["id"], "update", before=r), "Cluster", r["id"]))
    return respond(ctx, results)
