#!/usr/bin/env python3
"""Churn torture: many threads of mixed traffic against one in-process mock for a bounded time,
then the store is checked whole.

Each thread, in a loop: reads (lists, filters, counts), creates / updates / deletes labels and
VMs, takes and deletes VM snapshots, resets a namespace, creates and deletes namespaces, moves
the clock, exports the state. Afterwards every task is brought to its end and, in every
namespace: every stored relation points at a row and the relation indexes (what the derived
side of each relation shows) match a full scan; every cached rendering equals a fresh one;
the API's counts (`get-X-connection`) equal its lists and the store; no task is left pending
or executing; no entityAsyncStatus is left set. No 5xx, and no answer outside the API's error
shape, may be seen at any time.

    python tools/torture.py --minutes 10 --threads 16        # the long run
    (tests/test_torture.py runs a few seconds of it in the suite)
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SHARED_NAMESPACES = ("default", "torture-a", "torture-b")


@dataclass
class Stats:
    calls: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, *what) -> None:
        with self.lock:
            self.errors.append(what)


class Client:
    """One thread's HTTP client; every answer is checked for shape and status."""

    def __init__(self, base: str, token: str, stats: Stats):
        import requests
        self.base, self.stats = base, stats
        self.s = requests.Session()
        self.s.headers["Authorization"] = token

    def api(self, op: str, body, ns: str = "default"):
        return self._call("POST", f"{self.base}/v2/api/{op}", op, body, ns)

    def admin(self, method: str, path: str, body=None, ns: str | None = None):
        return self._call(method, f"{self.base}/_mock/{path}", "admin:" + path.split("?")[0].split("/")[0], body, ns)

    def _call(self, method: str, url: str, label: str, body, ns: str | None):
        headers = {"X-Mock-Namespace": ns} if ns else {}
        try:
            r = self.s.request(method, url, json=body, headers=headers, timeout=60)
        except Exception as e:  # noqa: BLE001 - a dead connection is an error of the mock
            self.stats.error(label, "connection", repr(e)[:200])
            return None
        self.stats.calls[label] += 1
        if r.status_code >= 500:
            self.stats.error(label, r.status_code, r.text[:300], body)
            return None
        try:
            payload = orjson.loads(r.content) if r.content else None
        except orjson.JSONDecodeError:
            self.stats.error(label, r.status_code, "not JSON", r.text[:200])
            return None
        if r.status_code >= 400:
            if not isinstance(payload, dict) or not isinstance(payload.get("message"), str):
                self.stats.error(label, r.status_code, "not an ErrorBody", r.text[:200])
            else:
                self.stats.refusals[(label, payload.get("code") or payload["message"][:40])] += 1
            return None
        return payload


# ------------------------------------------------------------------ the workload
def _world_facts(state, ns: str) -> dict:
    store = state.world(ns).store
    vds_cluster = {d["id"]: d["cluster"] for d in store.all("Vds")}
    vlan_of: dict[str, str] = {}
    for v in store.all("Vlan"):
        if v.get("type") == "VM" and v.get("vds") in vds_cluster:
            vlan_of.setdefault(vds_cluster[v["vds"]], v["id"])
    return {"vlan_of": vlan_of, "clusters": sorted(vlan_of)}


def facts_over_http(client: "Client") -> dict:
    """What the workload needs of the world (a VM VLAN per cluster), asked over the API."""
    vds_cluster = {d["id"]: (d.get("cluster") or {}).get("id") for d in client.api("get-vdses", {}) or []}
    vlan_of: dict[str, str] = {}
    for v in client.api("get-vlans", {"where": {"type": "VM"}}) or []:
        cluster = vds_cluster.get((v.get("vds") or {}).get("id"))
        if cluster:
            vlan_of.setdefault(cluster, v["id"])
    return {"vlan_of": vlan_of, "clusters": sorted(vlan_of)}


def _create_vm_body(cluster: str, vlan: str, name: str) -> list:
    return [{"cluster_id": cluster, "name": name, "vcpu": 1, "memory": 1, "memory_unit": "GB", "cpu_cores": 1,
             "cpu_sockets": 1, "ha": False, "firmware": "BIOS", "status": "STOPPED",
             "vm_nics": [{"connect_vlan_id": vlan}],
             "vm_disks": {"mount_new_create_disks": [{"vm_volume": {
                 "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "size": 1, "size_unit": "GB",
                 "name": name + "-d0"}, "bus": "VIRTIO", "boot": 0}]}}]


def _ids(out) -> list[str]:
    if not isinstance(out, list):
        return []
    return [x["data"]["id"] for x in out if isinstance(x, dict) and isinstance(x.get("data"), dict)]


def worker(n: int, client: Client, facts: dict, stop_at: float, seq) -> None:
    rng = random.Random(n)
    ns = SHARED_NAMESPACES[n % len(SHARED_NAMESPACES)]
    labels: list[str] = []
    vms: list[str] = []
    snaps: list[str] = []
    clusters, vlan_of = facts["clusters"], facts["vlan_of"]
    while time.monotonic() < stop_at:
        k = next(seq)
        r = rng.random()
        if r < 0.30:
            op, body = rng.choice([
                ("get-vms", {"where": {"name_starts_with": "t"}, "first": 20}),
                ("get-vms-connection", {"where": {"status": "STOPPED"}}),
                ("get-labels", {"orderBy": "key_ASC", "first": 50}),
                ("get-clusters", {}),
                ("get-tasks", {"where": {"status_in": ["PENDING", "EXECUTING"]}}),
                ("get-vm-snapshots", {"first": 10}),
                ("get-hosts", {"where": {"cluster": {"name_contains": "-"}}}),
            ])
            client.api(op, body, ns)
        elif r < 0.42:
            labels += _ids(client.api("create-label", [{"key": f"torture-{n}", "value": f"v{k}"}], ns))
        elif r < 0.48 and labels:
            client.api("update-label", {"where": {"id": rng.choice(labels)}, "data": {"value": f"u{k}"}}, ns)
        elif r < 0.54 and labels:
            gone = [labels.pop(rng.randrange(len(labels))) for _ in range(min(len(labels), rng.randint(1, 3)))]
            client.api("delete-label", {"where": {"id_in": gone}}, ns)
        elif r < 0.62 and clusters:
            c = rng.choice(clusters)
            vms += _ids(client.api("create-vm", _create_vm_body(c, vlan_of[c], f"torture-{n}-{k}"), ns))
        elif r < 0.67 and vms:
            client.api("update-vm-basic-info", {"where": {"id": rng.choice(vms)},
                                                "data": {"description": f"touched {k}"}}, ns)
        elif r < 0.72 and vms:
            if client.api("delete-vm", {"where": {"id": vms[-1]}}, ns) is not None:
                vms.pop()
        elif r < 0.78 and vms:
            snaps += _ids(client.api("create-vm-snapshot", {"data": [{"vm_id": rng.choice(vms),
                                                                      "name": f"ts-{n}-{k}"}]}, ns))
        elif r < 0.82 and snaps:
            client.api("delete-vm-snapshot", {"where": {"id": snaps.pop()}}, ns)
        elif r < 0.86:
            client.api("start-vm" if rng.random() < 0.5 else "poweroff-vm",
                       {"where": {"id": rng.choice(vms)}} if vms else {"where": {"name": "none"}}, ns)
        elif r < 0.88:
            client.admin("POST", "reset", {"namespace": ns})
            labels, vms, snaps = [], [], []
        elif r < 0.92:
            tmp = f"torture-tmp-{n}-{k}"
            client.admin("POST", "namespaces", {"name": tmp})
            client.api("create-label", [{"key": "tmp", "value": tmp}], tmp)
            client.api("get-labels", {"where": {"key": "tmp"}}, tmp)
            client.admin("DELETE", f"namespaces/{tmp}")
        elif r < 0.96:
            client.admin("POST", "clock/advance", {"seconds": rng.choice([0.5, 2, 10, 60])})
        elif r < 0.98:
            client.admin("GET", "state")
        else:
            client.admin("GET", "journal?limit=20&full=1")


# ------------------------------------------------------------------ the checks
def check_world(state, ns: str, client: Client) -> list[str]:
    """Everything that must hold of one namespace's world once every task has ended."""
    world = state.world(ns)
    store = world.store
    problems: list[str] = []
    with store.lock:
        if world.tasks is not None:
            world.tasks.settle()
            if world.tasks.running():
                problems.append(f"[{ns}] {world.tasks.running()} task(s) still running in the engine")
        problems += _check_relations(store, ns)
        problems += _check_rendering(state, store, ns)
        if "Task" in store.tables:
            stuck = [t["id"] for t in store.all("Task") if t.get("status") in ("PENDING", "EXECUTING")]
            if stuck:
                problems.append(f"[{ns}] tasks left pending/executing: {stuck[:5]}")
        for model, res in state.contract.resources.items():
            if getattr(res, "has_async_status", False) and model in store.tables:
                left = [r["id"] for r in store.tables[model].rows.values() if r.get("entityAsyncStatus")]
                if left:
                    problems.append(f"[{ns}] {model} entityAsyncStatus still set: {left[:5]}")
        expected = {m: store.count(m) for m in store.tables}
    problems += _check_counts(state, client, ns, expected)
    return problems


def _check_relations(store, ns: str) -> list[str]:
    from mock_server.store.table import members
    problems = []
    for model, plans in store.plans.items():
        table = store.tables.get(model)
        if table is None:
            continue
        for fname, plan in plans.items():
            if not plan.stored or plan.target not in store.tables:
                continue
            scan: dict[str, set] = {}
            for row in table.rows.values():
                v = row.get(fname)
                for tid in (v if isinstance(v, list) else [v] if v is not None else []):
                    scan.setdefault(tid, set()).add(row["id"])
                    if store.get(plan.target, tid) is None:
                        problems.append(f"[{ns}] {model}.{fname} of {row['id']} -> missing {plan.target} {tid}")
            index = table.rel_index.get(fname)
            if index is None:
                continue
            indexed = {k: set(members(v)) for k, v in index.items() if members(v)}
            if indexed != scan:
                bad = sorted(set(indexed) ^ set(scan) | {k for k in scan if indexed.get(k) != scan[k]})
                problems.append(f"[{ns}] {model}.{fname}: the relation index disagrees with the rows "
                                f"for {bad[:3]} (the derived side shows the wrong rows)")
    return problems


def _check_rendering(state, store, ns: str) -> list[str]:
    problems = []
    for model in ("Vm", "VmDisk", "VmNic", "VmSnapshot", "Label", "VmVolume", "Cluster", "Host", "Task"):
        if model not in store.tables:
            continue
        for row in store.tables[model].rows.values():
            cached = orjson.loads(store.render_json(model, row))
            fresh = orjson.loads(orjson.dumps(store.render(model, row), option=orjson.OPT_NON_STR_KEYS))
            if cached != fresh:
                problems.append(f"[{ns}] {model} {row['id']}: the cached rendering is stale")
                break
    return problems


def _check_counts(state, client: Client, ns: str, expected: dict[str, int]) -> list[str]:
    problems = []
    ops = state.contract.operations
    for model, n in sorted(expected.items()):
        res = state.contract.resources.get(model)
        if res is None or not res.list_path or not res.connection_path:
            continue
        if res.list_path not in ops or res.connection_path not in ops:
            continue
        name = res.list_path.lstrip("/")
        listed = client.api(name, {}, ns)
        counted = client.api(res.connection_path.lstrip("/"), {}, ns)
        if listed is None or counted is None:
            problems.append(f"[{ns}] {name}: the list or its count failed")
            continue
        c = counted.get("aggregate", {}).get("count")
        if not (len(listed) == c == n):
            problems.append(f"[{ns}] {model}: list {len(listed)}, count {c}, store {n}")
    return problems


# ------------------------------------------------------------------ a run
def run(app, base_url: str, threads: int = 16, seconds: float = 5.0, out=sys.stdout) -> tuple[Stats, list[str]]:
    import requests
    state = app.config["MOCK_STATE"]
    token = requests.post(base_url + "/v2/api/login", json={"username": "root", "password": "root"}
                          ).json()["data"]["token"]
    stats = Stats()
    for ns in SHARED_NAMESPACES:
        state.world(ns)
    facts = _world_facts(state, "default")
    seq = itertools.count(1)
    stop_at = time.monotonic() + seconds
    clients = [Client(base_url, token, stats) for _ in range(threads)]
    pool = [threading.Thread(target=worker, args=(n, clients[n], facts, stop_at, seq), daemon=True)
            for n in range(threads)]
    t0 = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join(seconds + 120)
    if any(t.is_alive() for t in pool):
        stats.error("threads", "a worker thread did not finish")
    took = time.monotonic() - t0
    # every task to its end: the clock jumps a day, a read settles each world
    probe = Client(base_url, token, stats)
    probe.admin("POST", "clock/advance", {"seconds": 86400})
    problems: list[str] = []
    with state._lock:
        namespaces = sorted(state.worlds)
    for ns in namespaces:
        probe.api("get-tasks", {"first": 1}, ns)
        problems += check_world(state, ns, probe)
    total = sum(stats.calls.values())
    print(f"torture: {threads} threads, {took:.1f} s, {total} calls ({total / took:.0f}/s), "
          f"{sum(stats.refusals.values())} refusals (4xx), {len(stats.errors)} errors, "
          f"{len(namespaces)} namespaces checked, {len(problems)} problems", file=out)
    return stats, problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--world", default="default")
    p.add_argument("--task-speed", type=float, default=50.0)
    a = p.parse_args(argv)
    from mock_server.app import create_app
    from mock_server.server import serve_in_thread
    from mock_server.state import MockConfig
    app = create_app(MockConfig(task_speed=a.task_speed, world=a.world))
    app.config["MOCK_STATE"].world()
    server = serve_in_thread(app, threads=a.threads)
    try:
        stats, problems = run(app, server.url, a.threads, a.minutes * 60)
    finally:
        server.stop()
    for label, n in stats.calls.most_common():
        print(f"  {label:32} {n}")
    for (label, why), n in stats.refusals.most_common(15):
        print(f"  refused {label:24} {n:6}  {why}")
    for e in stats.errors[:20]:
        print("  ERROR", e)
    for line in problems[:40]:
        print("  PROBLEM", line)
    return 1 if stats.errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
