"""Bounded memory: the journal by bytes (with request and response bodies, cut and marked),
filterable by operation, status, namespace and time; finished tasks expire past a count;
namespaces stop at a limit with a clear error."""

from __future__ import annotations

import time

import pytest

from mock_server.app import create_app
from mock_server.journal import ENTRY_OVERHEAD, Journal
from mock_server.state import MockConfig


@pytest.fixture
def app(sdk_contract):
    a = create_app(MockConfig(task_speed=0, journal_max=256 * 1024, max_namespaces=4), contract=sdk_contract)
    a.config["MOCK_STATE"].world()
    return a


@pytest.fixture
def client(app):
    c = app.test_client()
    token = c.post("/v2/api/login", json={"username": "root", "password": "root"}).get_json()["data"]["token"]
    c.environ_base["HTTP_AUTHORIZATION"] = token
    return c


# ------------------------------------------------------------------ journal
def test_journal_is_bounded_by_bytes_and_drops_the_oldest():
    j = Journal(max_bytes=100_000, body_cut=1000)
    for i in range(1000):
        j.add({"operation": f"op-{i}", "namespace": "default", "status": 200, "time": i,
               "raw_body": b"x" * 900, "path": "/v2/api/op"})
    assert j.bytes <= 100_000
    kept = j.entries()
    assert len(kept) == j.bytes // (ENTRY_OVERHEAD + 900 + len("/v2/api/op")) and len(kept) < 1000
    assert kept[-1]["operation"] == "op-999" and j.dropped == 1000 - len(kept)
    assert j.stats()["dropped"] == j.dropped and j.stats()["max_bytes"] == 100_000


def test_journal_keeps_request_and_response_bodies_cut_and_marked(app, client):
    big = "v" * 100_000                      # past the 64 KiB cut
    r = client.post("/v2/api/create-label", json=[{"key": "journal-test", "value": "small"}])
    assert r.status_code == 200
    r = client.post("/v2/api/get-labels", json={"where": {"key": "journal-test"}})
    assert r.status_code == 200
    r = client.post("/v2/api/get-labels", json={"where": {"key": big}})
    assert r.status_code == 200
    entries = client.get("/_mock/journal?full=1&operation=get-labels").get_json()["entries"]
    small, cut = entries[-2], entries[-1]
    assert small["body"] == {"where": {"key": "journal-test"}} and "body_cut" not in small
    assert [x["value"] for x in small["response_body"]] == ["small"] and "response_cut" not in small
    assert 30 <= small["request_bytes"] < 40
    assert small["response_bytes"] > 0
    assert cut["body_cut"] is True and isinstance(cut["body"], str) and len(cut["body"]) == 64 * 1024
    assert cut["request_bytes"] > 100_000
    # a large answer is cut too
    r = client.post("/v2/api/get-clusters", json={})
    entry = client.get("/_mock/journal?full=1&operation=get-clusters&limit=1").get_json()["entries"][0]
    if len(r.data) > 64 * 1024:
        assert entry["response_cut"] is True
    else:
        assert entry["response_body"] == r.get_json()
    # the short form carries neither body
    short = client.get("/_mock/journal?operation=get-labels&limit=1").get_json()["entries"][0]
    assert "body" not in short and "response_body" not in short and "raw_body" not in short


def test_journal_bytes_stay_within_the_configured_bound(app, client):
    for i in range(60):
        client.post("/v2/api/get-labels", json={"where": {"key": "k" * 20_000 + str(i)}})
    info = client.get("/_mock/journal?limit=0").get_json()
    stats = info["journal"]
    assert stats["max_bytes"] == 256 * 1024 and stats["bytes"] <= 256 * 1024 and stats["dropped"] > 0
    assert stats["entries"] < 60


def test_journal_filters_by_operation_status_namespace_and_time(app, client):
    client.delete("/_mock/journal")
    client.post("/v2/api/get-vms", json={"first": 1})
    time.sleep(0.05)
    middle = time.time()
    time.sleep(0.05)
    client.post("/v2/api/get-vms", json={"where": {"nope": 1}})                       # 400
    client.post("/v2/api/get-vms", json={"first": 1}, headers={"X-Mock-Namespace": "jf"})
    client.post("/v2/api/get-clusters", json={})

    def ops(q):
        r = client.get("/_mock/journal?" + q)
        assert r.status_code == 200, r.get_data()
        return [(e["operation"], e["status"], e["namespace"]) for e in r.get_json()["entries"]]
    assert ops("operation=get-vms") == [("get-vms", 200, "default"), ("get-vms", 400, "default"),
                                        ("get-vms", 200, "jf")]
    assert ops("status=400") == [("get-vms", 400, "default")]
    assert ops("namespace=jf") == [("get-vms", 200, "jf")]
    assert ops(f"since={middle}") == ops(f"since={middle}&until={time.time() + 1}")
    assert len(ops(f"since={middle}")) == 3 and len(ops(f"until={middle}")) == 1
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(middle - 3600)) + "Z"
    assert len(ops(f"since={iso}")) == 4
    assert client.get("/_mock/journal?since=yesterday").status_code == 400


# ------------------------------------------------------------------ namespaces
def test_namespaces_stop_at_the_limit_with_a_clear_error(app, client):
    for ns in ("n1", "n2", "n3"):
        assert client.post("/v2/api/get-clusters", json={}, headers={"X-Mock-Namespace": ns}).status_code == 200
    r = client.post("/v2/api/get-clusters", json={}, headers={"X-Mock-Namespace": "n4"})
    assert r.status_code == 400
    body = r.get_json()
    assert body["code"] == "NamespaceLimit" and "limit of 4 namespaces" in body["message"]
    assert "--max-namespaces" in body["message"]
    r = client.post("/_mock/namespaces", json={"name": "n4"})
    assert r.status_code == 400 and "limit of 4" in r.get_json()["message"]
    assert client.delete("/_mock/namespaces/n1").status_code == 200
    assert client.post("/v2/api/get-clusters", json={}, headers={"X-Mock-Namespace": "n4"}).status_code == 200


# ------------------------------------------------------------------ tasks
def test_finished_tasks_expire_past_the_kept_count(app, client):
    world = app.config["MOCK_STATE"].world()
    engine = world.tasks
    engine.keep_finished = 20
    try:
        seeded = world.store.count("Task")
        for i in range(60):
            r = client.post("/v2/api/create-label", json=[{"key": "expiry", "value": str(i)}])
            assert r.status_code == 200
        tasks = world.store.all("Task")
        created = [t for t in tasks if t["resource_type"] == "Label"]
        assert len(tasks) <= seeded + 20 and len(created) == 20
        # the newest are kept, and every kept one is whole
        assert all(t["status"] in ("SUCCESSED", "FAILED") for t in created)
        r = client.post("/v2/api/get-tasks-connection", json={})
        assert r.get_json()["aggregate"]["count"] == len(tasks)
    finally:
        engine.keep_finished = type(engine).keep_finished
