"""Metrics: deterministic synthetic series by the mock's clock over the requested range and
granularity, consistent with the resource; meta-leader and witness answers name real ids."""

from __future__ import annotations

import pytest

from mock_server.world.generator import generate
from test_invariants import Api


@pytest.fixture(scope="module")
def api(contract):
    a = Api(contract, generate(contract, "default"))
    a.state.world().tasks.clock.pause()
    return a


def _vm(api, status):
    return next(v for v in api.store.all("Vm") if v["status"] == status)


def test_vm_metrics_series(api):
    run, stop = _vm(api, "RUNNING"), _vm(api, "STOPPED")
    body = {"range": "1h", "metrics": ["elf_vm_cpu_overall_usage_percent", "elf_vm_memory_usage_bytes"],
            "vms": {"id_in": [run["id"], stop["id"]]}}
    out = api("get-vm-metrics", body).json
    assert len(out) == 2
    cpu = out[0]["data"]
    assert cpu["unit"] == "PERCENT" and cpu["step"] == 60 and cpu["dropped"] is False
    streams = {s["labels"]["_vm"]: s for s in cpu["sample_streams"]}
    assert set(streams) == {run["id"], stop["id"]}
    pts = streams[run["id"]]["points"]
    assert len(pts) == 60
    assert all(b["t"] - a["t"] == 60_000 for a, b in zip(pts, pts[1:]))
    assert all(0 <= p["v"] <= 100 for p in pts) and any(p["v"] > 0 for p in pts)
    # a stopped VM uses no CPU
    assert all(p["v"] == 0 for p in streams[stop["id"]]["points"])
    assert out[1]["data"]["unit"] == "DATA_SIZE"
    # deterministic: the same request at the same clock answers the same series
    assert api.state.world().tasks.clock.paused
    assert api("get-vm-metrics", body).json == out


def test_granularity_follows_range(api):
    vm = _vm(api, "RUNNING")
    for rng, step in (("10m", 20), ("1d", 1800), ("7d", 21600)):
        d = api("get-vm-metrics", {"range": rng, "metrics": ["m_cpu_usage_percent"], "vms": {"id": vm["id"]}}).json
        assert d[0]["data"]["step"] == step
        pts = d[0]["data"]["sample_streams"][0]["points"]
        assert (pts[-1]["t"] - pts[0]["t"]) // 1000 <= {"10m": 600, "1d": 86400, "7d": 604800}[rng]


def test_unknown_ids_and_bad_input(api):
    d = api("get-vm-metrics", {"range": "1h", "metrics": ["m"], "vms": {"id": "cnosuchvm000000000000000"}}).json
    assert d[0]["data"]["sample_streams"] == [] and d[0]["data"]["samples"] == []
    r = api("get-vm-metrics", {"range": "an hour", "metrics": ["m"], "vms": {}})
    assert r.status_code == 400 and "range" in r.json["message"]
    r = api("get-vm-metrics", {"range": "an hour", "metrics": ["m"], "vms": {}}, lang="zh-CN")
    assert r.status_code == 400 and "时长" in r.json["message"]


def test_other_families(api):
    host = api.store.all("Host")[0]
    d = api("get-host-metrics", {"range": "1h", "metrics": ["host_cpu_overall_usage_percent"],
                                 "hosts": {"id": host["id"]}}).json
    assert d[0]["data"]["sample_streams"][0]["labels"]["_host"] == host["id"]
    cl = api.store.all("Cluster")[0]
    d = api("get-cluster-metrics", {"range": "1h", "metrics": ["cluster_cpu_usage_percent"],
                                    "clusters": {"id": cl["id"]}}).json
    assert d[0]["data"]["samples"][0]["labels"]["_cluster"] == cl["id"]
    top = api("get-top-n-metrics-in-clusters", {"range": "1h", "metrics": ["vm_cpu_usage_percent"],
                                                "clusters": {"id": cl["id"]}, "type": "top", "n": 3}).json
    vals = [s["point"]["v"] for s in top[0]["data"]["samples"]]
    assert len(vals) == 3 and vals == sorted(vals, reverse=True)


def test_meta_leader_and_witness_services_have_real_ids(api):
    s = api.store
    leaders = api("get-meta-leader", {"where": {}}).json
    assert {x["cluster_id"] for x in leaders} == {c["id"] for c in s.all("Cluster")}
    assert all(x["meta_leader"] for x in leaders)
    w = s.all("Witness")[0]
    svcs = api("get-witness-services", {"where": {"id": w["id"]}}).json
    assert svcs and all(x["id"] and x["name"] for x in svcs)
