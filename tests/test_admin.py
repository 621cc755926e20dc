"""The admin API /_mock/: reset, namespaces, state round trip, clock, faults, journal, auth."""

from __future__ import annotations

import threading
import time

import orjson
import pytest
import requests

from mock_server.app import create_app
from mock_server.state import MockConfig


@pytest.fixture
def client(app):
    c = app.test_client()
    c.post("/_mock/reset", json={"all": True})
    c.delete("/_mock/faults")
    c.delete("/_mock/journal")
    return c


def labels(client, auth, ns=None, key="admin-test"):
    h = dict(auth, **({"X-Mock-Namespace": ns} if ns else {}))
    r = client.post("/v2/api/get-labels", json={"where": {"key": key}}, headers=h)
    assert r.status_code == 200, r.json
    return r.json


def create_label(client, auth, ns=None, key="admin-test", value="v"):
    h = dict(auth, **({"X-Mock-Namespace": ns} if ns else {}))
    r = client.post("/v2/api/create-label", json=[{"key": key, "value": value}], headers=h)
    assert r.status_code == 200, r.json
    return r.json


# --------------------------------------------------------------------- reset
def test_reset_restores_the_loaded_world_in_milliseconds(app, client, auth):
    world = app.config["MOCK_STATE"].world()
    before = world.store.snapshot()
    create_label(client, auth)
    assert len(labels(client, auth)) == 1
    r = client.post("/_mock/reset")
    assert r.status_code == 200 and r.json["reset"] == ["default"]
    assert r.json["ms"] < 500
    assert labels(client, auth) == []
    assert world.store.snapshot() == before


def test_namespaces_are_isolated_and_reset_one_by_one(client, auth):
    create_label(client, auth, ns="ns-a", value="a")
    create_label(client, auth, ns="ns-b", value="b")
    assert [x["value"] for x in labels(client, auth, "ns-a")] == ["a"]
    assert [x["value"] for x in labels(client, auth, "ns-b")] == ["b"]
    assert labels(client, auth) == [] and labels(client, auth, "ns-c") == []
    r = client.post("/_mock/reset", headers={"X-Mock-Namespace": "ns-a"})
    assert r.json["reset"] == ["ns-a"]
    assert labels(client, auth, "ns-a") == []
    assert len(labels(client, auth, "ns-b")) == 1
    assert client.post("/_mock/reset", json={"namespace": "ns-b"}).json["reset"] == ["ns-b"]
    assert labels(client, auth, "ns-b") == []
    names = [n["name"] for n in client.get("/_mock/namespaces").json["namespaces"]]
    assert {"default", "ns-a", "ns-b"} <= set(names)
    assert client.delete("/_mock/namespaces/ns-c").json["deleted"] is True
    assert client.delete("/_mock/namespaces/default").status_code == 400


def test_reset_all(client, auth):
    create_label(client, auth, ns="all-1")
    create_label(client, auth)
    r = client.post("/_mock/reset", json={"all": True})
    assert "all-1" in r.json["reset"] and "default" in r.json["reset"]
    assert labels(client, auth, "all-1") == [] and labels(client, auth) == []
    assert client.post("/_mock/reset", json={"all": "yes"}).status_code == 400
    assert client.post("/_mock/reset", json={"bogus": 1}).status_code == 400


# --------------------------------------------------------------------- state
def test_state_round_trip_is_lossless(app, client, auth):
    create_label(client, auth, ns="rt", value="kept")
    create_label(client, auth, value="default-kept")
    first = client.get("/_mock/state")
    assert first.status_code == 200
    doc = orjson.loads(first.data)
    assert doc["format"] == "cloudtower-mock-state" and {"default", "rt"} <= set(doc["namespaces"])
    assert doc["minter"]["fingerprint"]
    client.post("/_mock/reset", json={"all": True})
    assert labels(client, auth, "rt") == []
    r = client.post("/_mock/state", data=first.data, content_type="application/json")
    assert r.status_code == 200, r.json
    assert client.get("/_mock/state").data == first.data
    assert [x["value"] for x in labels(client, auth, "rt")] == ["kept"]
    # the kept snapshot survived the import: reset still goes back to the loaded world
    client.post("/_mock/reset", json={"namespace": "rt"})
    assert labels(client, auth, "rt") == []


def test_bad_state_import_changes_nothing(client, auth):
    create_label(client, auth, value="stays")
    before = client.get("/_mock/state").data
    doc = orjson.loads(before)
    doc["namespaces"]["default"]["tables"]["NoSuchThing"] = []
    r = client.post("/_mock/state", data=orjson.dumps(doc), content_type="application/json")
    assert r.status_code == 400 and "NoSuchThing" in r.json["message"]
    doc = orjson.loads(before)
    doc["contract"]["version"] = "1.0.0"
    r = client.post("/_mock/state", data=orjson.dumps(doc), content_type="application/json")
    assert r.status_code == 400 and "1.0.0" in r.json["message"]
    r = client.post("/_mock/state", data=before[:100], content_type="application/json")
    assert r.status_code == 400 and "JSON" in r.json["message"]
    assert client.get("/_mock/state").data == before


# --------------------------------------------------------------------- seed
def test_seed_generates_a_new_world(app, client):
    state = app.config["MOCK_STATE"]
    old = state.world().store
    ids = set(old.tables["Vm"].rows)
    r = client.post("/_mock/seed", json={"world": "default", "seed": 7})
    assert r.status_code == 200 and r.json["records"] > 0
    new = state.world().store
    assert new is not old and set(new.tables["Vm"].rows) != ids
    assert client.post("/_mock/seed", json={"world": "no-such-world.toml"}).status_code == 400
    assert client.post("/_mock/seed", json={"seed": "x"}).status_code == 400
    assert state.world().store is new
    client.post("/_mock/seed", json={"world": "default", "seed": None})


# --------------------------------------------------------------------- clock
def test_clock(client):
    c0 = client.post("/_mock/clock/pause").json
    assert c0["paused"]
    r = client.post("/_mock/clock/advance", json={"seconds": 30})
    assert r.json["now"] == pytest.approx(c0["now"] + 30)
    r = client.post("/_mock/clock/advance", json={"seconds": "5m"})
    assert r.json["now"] == pytest.approx(c0["now"] + 330)
    r = client.post("/_mock/clock/advance", json={"duration": "1h30m"})
    assert r.json["now"] == pytest.approx(c0["now"] + 330 + 5400)
    for bad in ({"seconds": -1}, {"seconds": "soon"}, {}, {"seconds": 1, "duration": 2}, {"seconds": True}):
        assert client.post("/_mock/clock/advance", json=bad).status_code == 400, bad
    assert client.get("/_mock/clock").json["now"] == pytest.approx(c0["now"] + 5730)
    assert client.post("/_mock/clock/speed", json={"speed": 0}).status_code == 400
    assert client.post("/_mock/clock/speed", json={"speed": 4}).json["speed"] == 4
    assert client.post("/_mock/clock/speed", json={"speed": 1}).json["speed"] == 1
    assert client.post("/_mock/clock/resume").json["paused"] is False


# --------------------------------------------------------------------- faults
def test_error_fault_with_times_and_listing(client, auth):
    r = client.post("/_mock/faults", json={"kind": "error", "status": 503, "operation": "get-vms", "times": 2,
                                           "body": {"message": "maintenance"}})
    assert r.status_code == 201
    fid = r.json["id"]
    codes = [client.post("/v2/api/get-vms", json={"first": 1}, headers=auth).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert client.post("/v2/api/get-hosts", json={"first": 1}, headers=auth).status_code == 200
    (rule,) = client.get("/_mock/faults").json["faults"]
    assert rule["id"] == fid and rule["hits"] == 2 and rule["spent"]
    assert client.delete(f"/_mock/faults/{fid}").status_code == 200
    assert client.delete(f"/_mock/faults/{fid}").status_code == 404
    assert client.get("/_mock/faults").json["faults"] == []


def test_header_scoped_and_global_faults(client, auth):
    fid = client.post("/_mock/faults", json={"kind": "error", "status": 500, "scope": "header"}).json["id"]
    assert client.post("/v2/api/get-vms", json={}, headers=auth).status_code == 200
    r = client.post("/v2/api/get-vms", json={}, headers=dict(auth, **{"X-Mock-Fault": fid}))
    assert r.status_code == 500
    client.post("/_mock/faults", json={"kind": "error", "status": 502})
    assert client.post("/v2/api/get-hosts", json={}, headers=auth).status_code == 502
    assert client.get("/_mock/journal").status_code == 200          # the admin API is never faulted
    assert client.delete("/_mock/faults").json["deleted"] == 2


@pytest.mark.parametrize("bad", [
    {"kind": "explode"},
    {"kind": "latency"},
    {"kind": "latency", "ms": -5},
    {"kind": "latency", "ms": 10, "distribution": {"type": "uniform", "min_ms": 1, "max_ms": 2}},
    {"kind": "latency", "distribution": {"type": "poisson"}},
    {"kind": "latency", "distribution": {"type": "uniform", "min_ms": 5, "max_ms": 1}},
    {"kind": "error", "status": 200},
    {"kind": "error", "operation": "get-nothing"},
    {"kind": "drop", "times": 0},
    {"kind": "drop", "scope": "operation"},
    {"kind": "drop", "colour": "red"},
    {"kind": "task_failure", "step": -1},
    {"kind": "task_failure", "operation": "create-nothing"},
    {"kind": "task_failure", "scope": "header"},
    {"kind": "task_failure", "name_regex": "("},
])
def test_bad_fault_input_is_400_and_adds_nothing(client, bad):
    r = client.post("/_mock/faults", json=bad)
    assert r.status_code == 400 and r.json["message"], r.json
    assert client.get("/_mock/faults").json["faults"] == []


def test_task_failure_rules_go_to_the_task_engine(app, client, auth):
    r = client.post("/_mock/faults", json={"kind": "task_failure", "operation": "create-label", "step": 1,
                                           "error_code": "EAllocSpace", "error_message": "no room"},
                    headers={"X-Mock-Namespace": "tf"})
    assert r.status_code == 201, r.json
    fid = r.json["id"]
    engine = app.config["MOCK_STATE"].world("tf").tasks
    (rule,) = engine.failure_rules()
    assert rule["operation"] == "create-label" and rule["at_step"] == 1
    assert app.config["MOCK_STATE"].world().tasks.failure_rules() == []
    assert [f["id"] for f in client.get("/_mock/faults").json["faults"]] == [fid]
    client.delete(f"/_mock/faults/{fid}")
    assert engine.failure_rules() == []


# --------------------------------------------------------------------- journal
def test_journal(client, auth):
    client.post("/v2/api/get-vms", json={"first": 1}, headers=auth)
    client.post("/v2/api/get-vms", json={"where": {"no_such_field": 1}}, headers=auth)
    client.post("/v2/api/get-hosts", json={}, headers=dict(auth, **{"X-Mock-Namespace": "jn"}))
    one = client.get("/_mock/journal").json
    assert one == client.get("/_mock/journal").json                     # reading changes nothing
    entries = one["entries"]
    assert [e["operation"] for e in entries] == ["get-vms", "get-vms", "get-hosts"]
    ok, bad, other = entries
    assert ok["status"] == 200 and ok["error"] is None and ok["duration_ms"] >= 0 and ok["namespace"] == "default"
    assert bad["status"] == 400 and "no_such_field" in bad["error"]
    assert other["namespace"] == "jn" and "body" not in other
    assert [e["operation"] for e in client.get("/_mock/journal?limit=1").json["entries"]] == ["get-hosts"]
    assert len(client.get("/_mock/journal?operation=get-vms").json["entries"]) == 2
    assert len(client.get("/_mock/journal?status=400").json["entries"]) == 1
    full = client.get("/_mock/journal?full=1&limit=3").json["entries"]
    assert full[1]["body"] == {"where": {"no_such_field": 1}}
    assert client.get("/_mock/journal?limit=x").status_code == 400
    assert client.delete("/_mock/journal").json["deleted"] == 3
    assert client.get("/_mock/journal").json["entries"] == []


def test_journal_is_a_ring_buffer():
    from mock_server.journal import Journal
    j = Journal(maxlen=5)
    for i in range(12):
        j.add({"operation": f"op-{i}", "namespace": "default", "status": 200})
    assert [e["operation"] for e in j.entries()] == [f"op-{i}" for i in range(7, 12)]


# --------------------------------------------------------------------- auth / openapi
def test_admin_token(sdk_contract):
    app = create_app(MockConfig(task_speed=0, admin_token="s3cret"), contract=sdk_contract,
                     world_factory=lambda: __import__("mock_server.store", fromlist=["Store"]).Store(sdk_contract))
    c = app.test_client()
    assert c.get("/_mock/clock").status_code == 401
    assert c.get("/_mock/clock", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/_mock/clock", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert c.get("/_mock/clock", headers={"X-Mock-Admin-Token": "s3cret"}).status_code == 200


def test_openapi_document(client):
    doc = client.get("/_mock/openapi.json").json
    assert doc["openapi"].startswith("3.")
    for p in ("/reset", "/seed", "/state", "/clock/advance", "/faults", "/faults/{id}", "/journal"):
        assert p in doc["paths"], p
    assert client.get("/_mock/nothing-here").status_code == 404


# --------------------------------------------------------------------- over real sockets
@pytest.fixture(scope="module")
def served(app):
    from conftest import LiveServer
    server = LiveServer(app)
    yield server
    server.stop()


def test_drop_closes_the_connection(served, client, auth):
    client.post("/_mock/faults", json={"kind": "drop", "operation": "get-vms", "times": 1})
    with pytest.raises(requests.ConnectionError):
        requests.post(served.url + "/v2/api/get-vms", json={}, headers=auth, timeout=10)
    assert requests.post(served.url + "/v2/api/get-vms", json={"first": 1}, headers=auth).status_code == 200
    dropped = client.get("/_mock/journal?operation=get-vms").json["entries"][0]
    assert dropped["status"] is None and "dropped" in dropped["error"]


def test_latency_holds_no_lock(served, client, auth):
    fid = client.post("/_mock/faults", json={"kind": "latency", "ms": 600, "scope": "header"}).json["id"]
    slow: dict = {}

    def call():
        t0 = time.perf_counter()
        r = requests.post(served.url + "/v2/api/get-vms", json={"first": 1},
                          headers=dict(auth, **{"X-Mock-Fault": fid}))
        slow["t"], slow["status"] = time.perf_counter() - t0, r.status_code

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.1)
    t0 = time.perf_counter()
    r = requests.post(served.url + "/v2/api/get-vms", json={"first": 1}, headers=auth)
    fast = time.perf_counter() - t0
    t.join()
    assert r.status_code == 200 and slow["status"] == 200
    assert slow["t"] >= 0.6 and fast < 0.4


def test_latency_distribution(client, auth):
    client.post("/_mock/faults", json={"kind": "latency", "operation": "get-hosts",
                                       "distribution": {"type": "uniform", "min_ms": 50, "max_ms": 80}})
    t0 = time.perf_counter()
    assert client.post("/v2/api/get-hosts", json={}, headers=auth).status_code == 200
    assert time.perf_counter() - t0 >= 0.05
