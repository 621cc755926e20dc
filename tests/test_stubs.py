"""Stubbed answers (/_mock/stubs) and verification (/_mock/requests): matching, priority,
times, delays, contract checks, reset with the world, and the plugin's helpers with the SDK."""

from __future__ import annotations

import time

import pytest

from mock_server.app import create_app
from mock_server.state import MockConfig
from mock_server.stubs import json_subset


@pytest.fixture
def client(app):
    c = app.test_client()
    c.post("/_mock/reset", json={"all": True})
    c.delete("/_mock/stubs")
    c.delete("/_mock/journal")
    return c


def stub(client, **spec):
    r = client.post("/_mock/stubs", json=spec)
    assert r.status_code == 201, r.json
    return r.json["id"]


def test_json_subset():
    assert json_subset({"where": {"name": "a"}}, {"where": {"name": "a", "id": 1}, "first": 2})
    assert not json_subset({"where": {"name": "a"}}, {"where": {"name": "b"}})
    assert json_subset({"name": "a"}, [{"name": "b"}, {"name": "a", "x": 1}])   # an item of an array body
    assert json_subset([{"id": 2}], [{"id": 1}, {"id": 2}])
    assert not json_subset([{"id": 3}], [{"id": 1}, {"id": 2}])
    assert not json_subset({"a": True}, {"a": 1}) and not json_subset({"a": 1}, {"a": True})
    assert json_subset({"a": 1}, {"a": 1.0}) and json_subset({}, {"anything": 1})


def test_stub_matches_on_a_body_subset_and_answers(client, auth):
    sid = stub(client, operation="get-vms", body={"where": {"name": "boom"}},
               response={"status": 500, "body": {"message": "db down", "status": 500, "path": "/get-vms"},
                         "headers": {"Retry-After": "3"}})
    r = client.post("/v2/api/get-vms", json={"where": {"name": "boom"}, "first": 5}, headers=auth)
    assert r.status_code == 500 and r.json["message"] == "db down"
    assert r.headers["Retry-After"] == "3" and r.headers["X-Mock-Stub"] == sid and r.headers["x-tower-request-id"]
    other = client.post("/v2/api/get-vms", json={"where": {"name": "fine"}}, headers=auth)
    assert other.status_code == 200 and "X-Mock-Stub" not in other.headers
    (listed,) = client.get("/_mock/stubs").json["stubs"]
    assert listed["id"] == sid and listed["hits"] == 1 and not listed["spent"]
    assert client.get(f"/_mock/stubs/{sid}").json["hits"] == 1


def test_priority_then_newest_first_and_times(client, auth):
    low = stub(client, operation="get-hosts", response={"status": 200, "body": []})
    high = stub(client, operation="get-hosts", priority=1, times=2, response={"status": 404})
    codes = [client.post("/v2/api/get-hosts", json={}, headers=auth) for _ in range(3)]
    assert [(r.status_code, r.headers["X-Mock-Stub"]) for r in codes] == [(404, high), (404, high), (200, low)]
    assert codes[0].json == {"message": f"Stubbed answer of {high}", "status": 404, "path": "/get-hosts"}
    newer = stub(client, operation="get-hosts", response={"status": 200, "body": []})
    assert client.post("/v2/api/get-hosts", json={}, headers=auth).headers["X-Mock-Stub"] == newer
    spent = {s["id"]: s["spent"] for s in client.get("/_mock/stubs").json["stubs"]}
    assert spent == {low: False, high: True, newer: False}


def test_header_and_namespace_matching(client, auth):
    stub(client, operation="get-clusters", headers={"X-Scenario": "empty"}, response={"status": 200, "body": []})
    stub(client, operation="get-datacenters", namespace="ns-a", response={"status": 200, "body": []})
    assert client.post("/v2/api/get-clusters", json={}, headers=dict(auth, **{"X-Scenario": "empty"})).json == []
    assert client.post("/v2/api/get-clusters", json={}, headers=auth).json != []
    ns_a = dict(auth, **{"X-Mock-Namespace": "ns-a"})
    assert client.post("/v2/api/get-datacenters", json={}, headers=ns_a).json == []
    assert client.post("/v2/api/get-datacenters", json={}, headers=auth).json != []


def test_a_delay_only_stub_lets_the_world_answer(client, auth):
    stub(client, operation="get-vlans", response={"delay_ms": 150})
    t0 = time.perf_counter()
    r = client.post("/v2/api/get-vlans", json={"first": 1}, headers=auth)
    assert time.perf_counter() - t0 >= 0.15
    assert r.status_code == 200 and len(r.json) == 1 and "X-Mock-Stub" not in r.headers


@pytest.mark.parametrize("spec, word", [
    ({"operation": "get-nothing", "response": {"status": 500}}, "get-nothing"),
    ({"operation": "get-vms", "response": {"status": 200, "body": [{"id": 1}]}}, "response.body"),
    ({"operation": "get-vms", "response": {"status": 200}}, "response.body"),
    ({"operation": "get-vms", "response": {"status": 418}}, "418"),
    ({"operation": "get-vms", "response": {"status": 400, "body": {"message": 1, "status": 400, "path": "/get-vms"}}}, "message"),
    ({"operation": "get-vms", "response": {}}, "response"),
    ({"operation": "get-vms", "response": {"status": 200, "body": []}, "priority": 0}, "priority"),
    ({"operation": "get-vms", "response": {"status": 200, "body": []}, "times": 0}, "times"),
    ({"operation": "get-vms", "response": {"status": 200, "body": []}, "headers": {"x": 1}}, "headers"),
    ({"operation": "get-vms", "response": {"status": 200, "body": []}, "colour": "red"}, "colour"),
    ({"response": {"status": 200, "body": []}}, "operation"),
])
def test_bad_stubs_are_refused_naming_the_field(client, spec, word):
    r = client.post("/_mock/stubs", json=spec)
    assert r.status_code == 400 and word in r.json["message"], r.json
    assert client.get("/_mock/stubs").json["stubs"] == []


def test_unchecked_answers_anything(client, auth):
    stub(client, operation="get-vms", unchecked=True,
         response={"status": 418, "body": {"teapot": True}, "headers": {"Content-Type": "application/json"}})
    r = client.post("/v2/api/get-vms", json={}, headers=auth)
    assert r.status_code == 418 and r.json == {"teapot": True}
    stub(client, operation="get-hosts", unchecked=True, priority=1,
         response={"status": 502, "body": "<html>Bad Gateway</html>", "headers": {"content-type": "text/html"}})
    r = client.post("/v2/api/get-hosts", json={}, headers=auth)
    assert r.status_code == 502 and r.headers.getlist("Content-Type") == ["text/html"]
    assert r.data == b"<html>Bad Gateway</html>"


def test_stubs_go_with_the_world(client, auth):
    stub(client, operation="get-vms", response={"status": 200, "body": []})
    a = stub(client, operation="get-vms", namespace="keep", response={"status": 200, "body": []})
    b = stub(client, operation="get-vms", namespace="gone", response={"status": 200, "body": []})
    client.post("/_mock/reset")                                 # the default world (and unbound stubs)
    assert [s["id"] for s in client.get("/_mock/stubs").json["stubs"]] == [a, b]
    client.post("/v2/api/get-vms", json={}, headers=dict(auth, **{"X-Mock-Namespace": "gone"}))
    client.delete("/_mock/namespaces/gone")
    assert [s["id"] for s in client.get("/_mock/stubs").json["stubs"]] == [a]
    client.post("/_mock/reset", json={"all": True})
    assert client.get("/_mock/stubs").json["stubs"] == []
    sid = stub(client, operation="get-vms", response={"status": 200, "body": []})
    assert client.delete(f"/_mock/stubs/{sid}").status_code == 200
    assert client.delete(f"/_mock/stubs/{sid}").status_code == 404


def test_requests_count_and_find(client, auth):
    client.post("/v2/api/create-label", json=[{"key": "verify", "value": "one"}], headers=auth)
    client.post("/v2/api/create-label", json=[{"key": "verify", "value": "two"}], headers=auth)
    client.post("/v2/api/create-label", json=[{"key": "verify", "value": "two"}],
                headers=dict(auth, **{"X-Mock-Namespace": "other"}))

    def count(**flt):
        r = client.post("/_mock/requests/count", json=flt)
        assert r.status_code == 200, r.json
        return r.json["count"]
    assert count(operation="create-label") == 3
    assert count(operation="create-label", body={"value": "two"}) == 2
    assert count(operation="create-label", body={"value": "two"}, namespace="default") == 1
    assert count(operation="create-label", body={"value": "three"}) == 0
    assert count(operation="create-label", status=200) == 3
    found = client.post("/_mock/requests/find", json={"operation": "create-label", "body": {"value": "one"}}).json
    assert [r["body"] for r in found["requests"]] == [[{"key": "verify", "value": "one"}]]
    assert found["complete"] is True
    assert client.post("/_mock/requests/count", json={"operation": "create-nothing"}).status_code == 400
    assert client.post("/_mock/requests/count", json={"status": "x"}).status_code == 400


def test_count_says_when_the_journal_dropped_requests(sdk_contract):
    from mock_server.admin import EXT_KEY
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract)
    journal = app.extensions[EXT_KEY].journal
    for i in range(journal.maxlen + 3):
        journal.add({"operation": "get-vms", "namespace": "default", "status": 200})
    c = app.test_client()
    out = c.post("/_mock/requests/count", json={"operation": "get-vms"}).json
    assert out["count"] == len(journal) and out["complete"] is False     # bounded by count and bytes
    c.delete("/_mock/journal")
    assert c.post("/_mock/requests/count", json={"operation": "get-vms"}).json == {
        "count": 0, "operation": "get-vms", "complete": True, "capacity": journal.maxlen}


# ------------------------------------------------------------- the plugin, with the SDK
def test_plugin_stub_and_calls_with_the_sdk(cloudtower_mock, cloudtower_stubs, cloudtower_client,
                                            cloudtower_namespace):
    from cloudtower.api.vm_api import VmApi
    from cloudtower.exceptions import ApiException
    from cloudtower.models import GetVmsRequestBody, VmWhereInput

    api = VmApi(cloudtower_client)
    cloudtower_stubs.add("get-vms", where={"where": {"name": "missing"}}, body=[])
    cloudtower_stubs.add("get-vms", where={"where": {"name": "broken"}}, status=500)
    assert api.get_vms(GetVmsRequestBody(where=VmWhereInput(name="missing"))) == []
    with pytest.raises(ApiException) as e:
        api.get_vms(GetVmsRequestBody(where=VmWhereInput(name="broken")))
    assert e.value.status == 500
    assert len(api.get_vms(GetVmsRequestBody(first=2))) == 2
    view = cloudtower_mock.namespace(cloudtower_namespace)
    assert view.calls("get-vms") == 3
    assert view.calls("get-vms", where={"where": {"name": "broken"}}) == 1
    assert view.calls("get-vms", status=200) == 2
    assert cloudtower_mock.namespace("nobody-here").calls("get-vms") == 0
    assert [s["namespace"] for s in cloudtower_stubs.list()] == [cloudtower_namespace] * 2


def test_plugin_stubs_are_removed_after_the_test(cloudtower_mock):
    assert cloudtower_mock.stubs() == []
