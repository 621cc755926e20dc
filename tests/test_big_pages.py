"""Pages and counts over big index entries (the large world: 10,000 VMs, bulk-loaded index
entries): a `first` page of many candidates walks the ordered ids, a count of one enum or
boolean equality is the index entry's size, and both answer exactly what the plain engine
over dicts answers, before and after writes."""

from __future__ import annotations

import pytest

from mock_server.app import create_app
from mock_server.behaviour import Ctx
from mock_server.behaviour.reads import list_resources
from mock_server.direct import direct_lookup
from mock_server.query.engine import count, find
from mock_server.query.model import DictSource
from mock_server.state import MockConfig
from mock_server.store import StoreSource
from mock_server.world.generator import generate
from mock_server.world.scenario import load_scenario


@pytest.fixture(scope="module")
def large(spec_contract):
    store = generate(spec_contract, load_scenario("large"))
    store.freeze()
    return store


def bodies(store):
    clusters = [c["id"] for c in store.all("Cluster")][:3]
    mid = store.tables["Vm"].ordered_ids()[5000]
    out = []
    for status in ("RUNNING", "STOPPED"):
        for page in ({"first": 1}, {"first": 50}, {"skip": 30, "first": 20}, {"last": 7},
                     {"first": 5, "after": mid}, {"last": 5, "before": mid}, {"first": 3, "orderBy": "id_DESC"},
                     {}, {"skip": 4000}):
            out.append({"where": {"status": status}, **page})
    out.append({"where": {"status_in": ["RUNNING", "SUSPENDED"]}, "first": 10})
    out.append({"where": {"in_recycle_bin": False}, "first": 10, "skip": 2})
    out.append({"where": {"status": "RUNNING", "vcpu_gte": 4}, "first": 10})
    for c in clusters:
        out.append({"where": {"cluster": {"id": c}}, "first": 10, "skip": 3})
        out.append({"where": {"cluster": {"id": c}, "status": "STOPPED"}, "first": 25})
    return out


def check(schema, store):
    plain = DictSource({"Vm": store.all("Vm"), "Cluster": store.all("Cluster"), "Host": store.all("Host")})
    src = StoreSource(store)
    for body in bodies(store):
        want = [r["id"] for r in find(schema, plain, "Vm", body)]
        assert [r["id"] for r in find(schema, src, "Vm", body)] == want, body
        assert count(schema, src, "Vm", body) == count(schema, plain, "Vm", body), body


def test_big_pages_and_counts_answer_as_the_plain_engine(large, spec_contract):
    schema = spec_contract.query_schema
    s = large.fork()
    check(schema, s)
    running = [v for v in s.all("Vm") if v["status"] == "RUNNING"][:40]
    for v in running[:20]:
        s.update("Vm", v["id"], {"status": "STOPPED"})          # entries change after the walk
    for v in running[20:30]:
        s.delete("Vm", v["id"])
    s.insert("Vm", {**running[30], "id": None, "name": "big-pages-new", "local_id": "big-pages-1"})
    check(schema, s)
    assert large.count("Vm") == 10000 and s.count("Vm") == 10000 - 10 + 1


def test_direct_pages_of_a_relation_answer_as_the_engine(large, spec_contract):
    app = create_app(MockConfig(task_speed=0), contract=spec_contract, world_factory=lambda: large.fork())
    state = app.config["MOCK_STATE"]
    world = state.world()
    op = state.contract.operations["/get-vms"]
    ctx = Ctx(state=state, world=world, op=op)
    checked = 0
    for c in world.store.all("Cluster"):
        for page in ({"first": 10}, {"first": 10, "skip": 15}, {"first": 1}, {}):
            body = {"where": {"cluster": {"id": c["id"]}}, **page}
            direct = direct_lookup(ctx, body)
            assert direct is not None
            assert direct.data == list_resources(ctx, body).data, body
            checked += 1
    assert checked >= 8
