"""The /v2/api dispatcher: direct lookups answer what the query engine answers, hooks see
and may answer requests, every answer carries a unique request id."""

from __future__ import annotations

import random

import orjson
import pytest

from mock_server.app import create_app
from mock_server.behaviour import Ctx
from mock_server.behaviour.reads import list_resources
from mock_server.contract.index import LIST
from mock_server.dispatch import EXT_KEY, Answer, direct_lookup
from mock_server.state import MockConfig


@pytest.fixture(scope="module")
def app(sdk_contract):
    return create_app(MockConfig(task_speed=0), contract=sdk_contract)


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def auth(client):
    r = client.post("/v2/api/login", json={"username": "root", "password": "root"})
    return {"Authorization": r.get_json()["data"]["token"]}


def _engine_answer(ctx, body):
    return list_resources(ctx, body).data


def _ctx(app, op):
    state = app.config["MOCK_STATE"]
    return Ctx(state=state, world=state.world(), op=op)


def _bodies(rows, rng, relations=()):
    ids = [r["id"] for r in rows]
    for r in rng.sample(rows, min(20, len(rows))):
        yield {"where": {"id": r["id"]}}
        for rel in relations:
            if isinstance(r.get(rel), str):
                yield {"where": {rel: {"id": r[rel]}}}
                yield {"where": {rel: {"id": r[rel] + "x"}}}
        for key in ("name", "local_id"):
            if isinstance(r.get(key), str):
                yield {"where": {key: r[key]}}
                yield {"where": {key: r[key] + "-not-there"}}
    yield {"where": {"id": "nope"}}
    for page in ({"first": 1}, {"first": 0}, {"skip": 1}, {"skip": 0, "first": 2}, {"skip": 2, "first": 1}):
        yield {"where": {"id_in": ids[:4]}, **page}
        yield {"where": {"id": ids[0]}, **page}
        yield {"where": {"name": rows[0].get("name") or ""}, **page}
    yield {"where": {"id_in": rng.sample(ids, min(5, len(ids))) + ["nope"]}}
    yield {"where": {"id_in": ids[:3] + ids[:3]}}          # duplicates: each row once, in id order
    yield {"where": {"name": ""}}


def test_direct_lookups_answer_what_the_engine_answers(app):
    state = app.config["MOCK_STATE"]
    store = state.world().store
    rng = random.Random(7)
    checked = 0
    for op in state.contract.operations.values():
        if op.family != LIST or op.resource not in store.tables:
            continue
        rows = list(store.tables[op.resource].rows.values())
        if not rows:
            continue
        ctx = _ctx(app, op)
        relations = [f for f, p in store.plans[op.resource].items() if p.stored and not p.many]
        for body in _bodies(rows, rng, relations):
            direct = direct_lookup(ctx, body)
            if direct is None:
                continue
            assert orjson.loads(direct.data) == orjson.loads(_engine_answer(ctx, body)), (op.name, body)
            checked += 1
    assert checked > 1000


def test_a_dangling_reference_matches_nothing(sdk_contract):
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract)     # its own world: broken below
    state = app.config["MOCK_STATE"]
    world = state.world()
    disk = next(iter(world.store.tables["VmDisk"].rows.values()))
    del world.store.tables["Vm"].rows[disk["vm"]]          # bypass the store: a reference left behind
    op = state.contract.operations["/get-vm-disks"]
    ctx = Ctx(state=state, world=world, op=op)
    body = {"where": {"vm": {"id": disk["vm"]}}}
    assert direct_lookup(ctx, body).data == _engine_answer(ctx, body) == b"[]"


def test_duplicate_names_come_back_in_id_order(app):
    state = app.config["MOCK_STATE"]
    op = state.contract.operations["/get-vms"]
    ctx = _ctx(app, op)
    by_name: dict[str, list] = {}
    for r in state.world().store.tables["Vm"].rows.values():
        by_name.setdefault(r["name"], []).append(r["id"])
    name, ids = max(by_name.items(), key=lambda kv: len(kv[1]))
    got = [v["id"] for v in orjson.loads(direct_lookup(ctx, {"where": {"name": name}}).data)]
    assert got == sorted(ids)


def test_other_shapes_go_to_the_engine(app):
    op = app.config["MOCK_STATE"].contract.operations["/get-vms"]
    ctx = _ctx(app, op)
    for body in ({}, {"where": {"id": "x"}, "last": 1}, {"where": {"id": "x"}, "first": -1},
                 {"where": {"id": "x"}, "first": True}, {"where": {"id": "x"}, "first": 1.0},
                 {"where": {"id": "x"}, "orderBy": "name_ASC"}, {"where": {"id": "x"}, "after": "y"},
                 {"first": 1}, {"where": {"id": 5}}, {"where": {"id_in": []}},
                 {"where": {"name_contains": "a"}}, {"where": {"id": "x", "name": "y"}},
                 {"where": {"vcpu": 2}}, None):
        assert direct_lookup(ctx, body) is None


def test_lookups_over_http(client, auth):
    vms = client.post("/v2/api/get-vms", json={}, headers=auth).get_json()
    vm = vms[len(vms) // 2]
    r = client.post("/v2/api/get-vms", json={"where": {"id": vm["id"]}}, headers=auth)
    assert r.status_code == 200 and r.get_json() == [vm]
    r = client.post("/v2/api/get-vms", json={"where": {"name": vm["name"]}}, headers=auth)
    assert vm in r.get_json()
    r = client.post("/v2/api/get-vms", json={"where": {"id": 12}}, headers=auth)
    assert r.status_code == 400 and r.get_json()["path"] == "/get-vms"


def test_every_answer_has_a_unique_request_id(client, auth):
    seen = set()
    for path, kw in (("/v2/api/get-vms", {"json": {}, "headers": auth}),
                     ("/v2/api/get-vms", {"json": {"where": {"nope": 1}}, "headers": auth}),
                     ("/v2/api/no-such-op", {"json": {}}),
                     ("/v2/api/get-vms", {"json": {}}),                      # 401
                     ("/nowhere", {}),
                     ("/_mock/journal", {})):
        r = client.post(path, **kw) if "json" in kw else client.get(path)
        rid = r.headers.get("x-tower-request-id")
        assert rid and len(rid) == 32 and rid not in seen, (path, r.status_code)
        seen.add(rid)


def test_wrong_method_and_bad_json_are_error_bodies(client, auth):
    r = client.get("/v2/api/get-vms", headers=auth)
    assert r.status_code == 405 and r.get_json()["message"].startswith("Operation /get-vms does not answer GET")
    assert r.headers["Allow"] == "POST" and r.get_json()["status"] == 405 and r.get_json()["path"] == "/get-vms"
    r = client.post("/v2/api/get-vms", data=b"{", content_type="application/json", headers=auth)
    assert r.status_code == 400 and "not valid JSON" in r.get_json()["message"]
    r = client.post("/v2/api/get-vms", data=b"{}", content_type="text/plain", headers=auth)
    assert r.status_code == 400 and "Content-Type" in r.get_json()["message"]
    r = client.post("/v2/api/get-vms", json={"where": {"nope": 1}},
                    headers={**auth, "content-language": "zh-CN"})
    assert r.status_code == 400 and r.get_json()["status"] == 400


def test_hooks_see_and_may_answer(app, client, auth):
    api = app.extensions[EXT_KEY]
    seen = []

    def stub(req):
        if req.operation == "get-clusters" and req.raw and b"stubbed" in req.raw:
            return Answer.json([])
        return None

    def after(req, answer):
        seen.append((req.operation, answer.status))
    api.before.append(stub)
    api.after.append(after)
    try:
        r = client.post("/v2/api/get-clusters", json={"where": {"name": "stubbed"}}, headers=auth)
        assert r.status_code == 200 and r.get_json() == [] and r.headers["x-tower-request-id"]
        r = client.post("/v2/api/get-clusters", json={}, headers=auth)
        assert r.status_code == 200 and r.get_json()
        client.post("/v2/api/no-such-op", json={})
    finally:
        api.before.remove(stub)
        api.after.remove(after)
    assert seen == [("get-clusters", 200), ("get-clusters", 200), ("no-such-op", 404)]


def test_direct_lookups_see_each_namespace_and_every_write(client, auth):
    ns = {**auth, "X-Mock-Namespace": "direct-ns"}
    vm = client.post("/v2/api/get-vms", json={"first": 1}, headers=ns).get_json()[0]
    r = client.post("/v2/api/update-vm-basic-info", headers=ns,
                    json={"where": {"id": vm["id"]}, "data": {"name": "renamed-in-direct-ns"}})
    assert r.status_code == 200, r.get_json()
    by_name = {"where": {"name": "renamed-in-direct-ns"}}
    assert [v["id"] for v in client.post("/v2/api/get-vms", json=by_name, headers=ns).get_json()] == [vm["id"]]
    assert client.post("/v2/api/get-vms", json=by_name, headers=auth).get_json() == []
    got = client.post("/v2/api/get-vms", json={"where": {"id": vm["id"]}}, headers=ns).get_json()
    assert got[0]["name"] == "renamed-in-direct-ns"
    assert client.post("/v2/api/get-vms", json={"where": {"id": vm["id"]}}, headers=auth).get_json()[0]["name"] \
        == vm["name"]
