"""The store's copy-on-write layering (reset, namespaces) and its per-row render cache."""

from __future__ import annotations

import json

import orjson
import pytest

from mock_server.store import Store, StoreSource
from mock_server.world.generator import generate
from mock_server.world.scenario import load_scenario
from mock_server.query.engine import count, find


@pytest.fixture(scope="module")
def seeded(spec_contract):
    return generate(spec_contract, load_scenario("default"))


def dump(store) -> str:
    return json.dumps({m: store.all(m) for m in sorted(store.tables)}, sort_keys=True)


def fresh(seeded) -> Store:
    """A namespace-like fork of the seeded world (the module's world is never written)."""
    seeded.freeze() if seeded.base is None else None
    return seeded.fork()


def vm_and_cluster(store):
    vm = store.first("Vm")
    return vm, store.get("Cluster", vm["cluster"])


def test_reset_returns_to_the_seed_and_drops_only_written_tables(seeded):
    s = fresh(seeded)
    before = dump(s)
    vm, cluster = vm_and_cluster(s)
    s.update("Vm", vm["id"], {"name": "renamed"})
    s.update("Cluster", cluster["id"], {"name": "c-renamed"})
    s.insert("Vm", {**vm, "id": None, "name": "extra", "local_id": "extra-1"})
    s.delete("Vm", vm["id"])
    assert dump(s) != before
    assert s.find_by("Vm", "name", "extra")
    clean = {m: t for m, t in s.tables.items() if t.is_forked_clean}
    assert "Vm" not in clean and len(clean) > len(s.tables) / 2
    s.reset()
    assert dump(s) == before
    assert all(s.tables[m] is t for m, t in clean.items())      # untouched tables kept as they were
    assert s.find_by("Vm", "name", "extra") == []
    assert s.find_by("Vm", "name", vm["name"]) == [vm]
    assert s.changes == type(s.changes)() and s.changes.maxlen


def test_namespaces_share_the_base_and_never_see_each_others_writes(seeded):
    a, b = fresh(seeded), fresh(seeded)
    vm, cluster = vm_and_cluster(a)
    assert a.tables["Vm"].rows is b.tables["Vm"].rows             # shared until written
    a.update("Vm", vm["id"], {"name": "only-in-a"})
    a.update("Cluster", cluster["id"], {"name": "a-cluster"})
    assert b.get("Vm", vm["id"])["name"] == vm["name"]
    assert b.find_by("Vm", "name", "only-in-a") == []
    assert a.find_by("Vm", "name", "only-in-a")[0]["id"] == vm["id"]
    assert seeded.find_by("Vm", "name", "only-in-a") == []
    # an index set shared with the base is copied before a write changes it
    host = vm["host"]
    n = b.count_by("Vm", "host", host)
    a.update("Vm", vm["id"], {"host": None})
    assert a.count_by("Vm", "host", host) == n - 1
    assert b.count_by("Vm", "host", host) == n
    assert seeded.count_by("Vm", "host", host) == n
    assert b.render("Vm", b.get("Vm", vm["id"]))["cluster"]["name"] == cluster["name"]


def test_queries_see_each_layer(seeded, spec_contract):
    schema = spec_contract.query_schema
    a, b = fresh(seeded), fresh(seeded)
    vm = a.first("Vm")
    status = vm["status"]
    before = count(schema, StoreSource(b), "Vm", {"where": {"status": status}})
    a.update("Vm", vm["id"], {"status": "UNKNOWN" if status != "UNKNOWN" else "RUNNING"})
    assert count(schema, StoreSource(a), "Vm", {"where": {"status": status}}) == before - 1
    assert count(schema, StoreSource(b), "Vm", {"where": {"status": status}}) == before
    assert [r["id"] for r in find(schema, StoreSource(b), "Vm", {"where": {"status": status}})] == \
        [r["id"] for r in b.all("Vm") if r["status"] == status]


def test_render_cache_follows_writes_of_related_rows(seeded):
    s = fresh(seeded)
    vm, cluster = vm_and_cluster(s)
    disk = next(d for d in s.all("VmDisk") if d.get("vm") == vm["id"])

    def js(model, rid):
        cached = s.render_json(model, s.get(model, rid))
        assert cached == orjson.dumps(s.render(model, s.get(model, rid)))   # never stale
        return orjson.loads(cached)

    assert js("Vm", vm["id"])["cluster"]["name"] == cluster["name"]
    s.update("Cluster", cluster["id"], {"name": "renamed-cluster"})          # a projected row
    assert js("Vm", vm["id"])["cluster"]["name"] == "renamed-cluster"
    disks = js("Vm", vm["id"])["vm_disks"]
    assert disk["id"] in [d["id"] for d in disks]
    s.delete("VmDisk", disk["id"])                                           # a derived list
    assert disk["id"] not in [d["id"] for d in js("Vm", vm["id"])["vm_disks"]]
    other = next(v for v in s.all("Vm") if v["id"] != vm["id"])
    js("Vm", other["id"])
    s.insert("VmDisk", {**disk, "vm": other["id"]})                          # moved to another VM
    assert disk["id"] in [d["id"] for d in js("Vm", other["id"])["vm_disks"]]
    s.update("Vm", vm["id"], {"name": "vm-renamed"})
    assert js("Vm", vm["id"])["name"] == "vm-renamed"
    s.reset()
    assert js("Vm", vm["id"])["name"] == vm["name"]



def test_a_write_no_projection_shows_keeps_the_referrers_renderings(seeded):
    """A cluster's counters change on every VM write; the VMs show only the cluster's id and
    name, so their renderings stay cached (and true), while a rename drops them."""
    s = fresh(seeded)
    vm, cluster = vm_and_cluster(s)
    s.render_json("Vm", s.get("Vm", vm["id"]))
    key = ("Vm", vm["id"])
    assert key in s.json_cache.data
    s.update("Cluster", cluster["id"], {"vm_num": (cluster.get("vm_num") or 0) + 1, "description": "x"})
    assert key in s.json_cache.data                              # not shown by the VM: kept
    assert s.render_json("Vm", s.get("Vm", vm["id"])) == orjson.dumps(s.render("Vm", s.get("Vm", vm["id"])))
    s.update("Cluster", cluster["id"], {"name": "renamed-for-the-vms"})
    assert key not in s.json_cache.data                          # shown: dropped
    assert orjson.loads(s.render_json("Vm", s.get("Vm", vm["id"])))["cluster"]["name"] == "renamed-for-the-vms"


def test_cached_renderings_never_go_stale_under_random_writes(seeded):
    """Every cached rendering equals a fresh one after random writes of every kind: scalar
    fields, names that projections show, relations moved, rows inserted and deleted."""
    import random
    s = fresh(seeded)
    rng = random.Random(7)
    models = ("Vm", "Host", "Cluster", "VmDisk", "VmVolume", "VmNic", "Vlan", "Label")
    models = [m for m in models if m in s.tables and s.count(m)]

    def render_all():
        for m in models:
            for row in s.all(m):
                s.render_json(m, row)

    render_all()
    for step in range(300):
        m = rng.choice(models)
        rows = s.all(m)
        if not rows:
            continue
        row = rng.choice(rows)
        plans = s.plans[m]
        choice = rng.random()
        if choice < 0.35:
            s.update(m, row["id"], {"name": f"n{step}"})
        elif choice < 0.6:
            scalars = [k for k, v in row.items() if k not in plans and isinstance(v, (int, str)) and k != "id"]
            if scalars:
                k = rng.choice(scalars)
                s.update(m, row["id"], {k: (row[k] + 1) if isinstance(row[k], int) else row[k] + "x"})
        elif choice < 0.85:
            rels = [f for f, p in plans.items() if p.stored and not p.many and s.count(p.target)]
            if rels:
                f = rng.choice(rels)
                targets = s.all(plans[f].target)
                if targets:
                    s.update(m, row["id"], {f: rng.choice(targets)["id"]})
        elif choice < 0.93:
            s.insert(m, {**row, "id": None, "name": f"copy{step}"})
        else:
            s.delete(m, row["id"])
        if step % 25 == 0:
            render_all()
        held = {}
        for model, _ in s.json_cache.data:
            held[model] = held.get(model, 0) + 1
        assert held == {m: n for m, n in s.json_cache.cached.items() if n}
        for (model, rid), data in list(s.json_cache.data.items()):
            current = s.get(model, rid)
            assert current is not None, (model, rid)
            assert data == orjson.dumps(s.render(model, current)), (step, model, rid)


BODIES = [
    {"where": {"name_contains": "zzzz-nothing"}},
    {"where": {"status": "RUNNING", "vcpu_gte": 2}},
    {"where": {"status_in": ["RUNNING", "STOPPED"]}, "orderBy": "name_DESC", "skip": 3, "first": 7},
    {"orderBy": "name_ASC", "first": 50},
    {"orderBy": "memory_DESC", "last": 5},
    {"orderBy": "memory_ASC", "where": {"OR": [{"vcpu_gt": 2}, {"NOT": {"name_starts_with": "a"}}]}, "first": 20},
    {"where": {"in_recycle_bin": False}, "orderBy": "id_DESC", "first": 5},
    {"where": {"description_not": "x"}},
]


def as_dicts(store):
    from mock_server.query.model import DictSource
    models = ("Vm", "Cluster", "Host", "VmDisk")
    return DictSource({m: store.all(m) for m in models})


@pytest.mark.parametrize("body", BODIES)
def test_store_fast_paths_answer_as_the_plain_source(seeded, spec_contract, body, monkeypatch):
    """Lazy indexes, the sorted-order cache and whole-table scans give the plain answers,
    before and after writes (which must invalidate the cached orders)."""
    from mock_server.store import table
    monkeypatch.setattr(table, "LAZY_INDEX_MIN_ROWS", 0)      # index on demand at any size
    schema = spec_contract.query_schema
    s = fresh(seeded)

    def check():
        src = StoreSource(s)
        want = [r["id"] for r in find(schema, as_dicts(s), "Vm", body)]
        assert [r["id"] for r in find(schema, src, "Vm", body)] == want
        assert count(schema, src, "Vm", body) == count(schema, as_dicts(s), "Vm", body)

    check()
    vms = s.all("Vm")
    s.update("Vm", vms[0]["id"], {"name": "aaaa-first", "memory": 1, "status": "RUNNING", "vcpu": 8})
    s.update("Vm", vms[-1]["id"], {"name": None, "memory": None, "description": "x"})
    s.delete("Vm", vms[1]["id"])
    check()
    s.reset()
    check()


def test_reset_and_namespaces_keep_the_derived_counters_fresh(spec_contract):
    """A reset world and a namespace start from the base, whose derived counters are up to
    date: they are not recounted on the first request (state.py names world.derived's mark)."""
    from mock_server.clock import Clock
    from mock_server.state import DERIVED_REVISION_ATTR, World
    from mock_server.world import derived
    assert DERIVED_REVISION_ATTR == derived._REFRESH_ATTR
    w = World(generate(spec_contract, load_scenario("default")), Clock(speed=0))
    assert getattr(w.store, DERIVED_REVISION_ATTR) == w.store.revision
    vm = w.store.first("Vm")
    w.store.update("Vm", vm["id"], {"name": "changed"})
    w.reset()
    assert derived.refresh(w.store) == 0
    ns = w.clone()
    assert getattr(ns.store, DERIVED_REVISION_ATTR) == ns.store.revision
    assert dump(ns.store) == dump(w.store)


def test_a_full_render_cache_makes_room_by_dropping_its_oldest_renderings(seeded, monkeypatch):
    from mock_server.store import render
    s = fresh(seeded)
    vms = s.all("Vm")
    one = len(s.render_json("Vm", vms[0]))
    monkeypatch.setattr(render, "RENDER_CACHE_BYTES", one * 10)
    s.json_cache.clear()
    for vm in vms[:40]:
        s.render_json("Vm", vm)
        assert s.json_cache.size <= one * 10 + one       # renderings differ a little in size
    held = [rid for m, rid in s.json_cache.data]
    assert 5 <= len(held) <= 11
    assert held == [vm["id"] for vm in vms[:40]][-len(held):]  # the newest ones, in order
    assert s.json_cache.cached == {"Vm": len(held)}
    s.update("Vm", held[-1], {"name": "changed"})            # dropped by a write, then refilled
    for vm in vms[40:60]:
        s.render_json("Vm", vm)
    assert len(s.json_cache.order) <= 2 * len(s.json_cache.data) + 1024
    for (m, rid), data in s.json_cache.data.items():
        assert data == orjson.dumps(s.render(m, s.get(m, rid)))


def test_reset_frees_what_it_dropped_and_nothing_shared(seeded):
    """The reaper empties a dropped table's own copies a chunk at a time; the base, a clean
    fork sharing the base's structures and other namespaces are untouched."""
    import time
    s, other = fresh(seeded), fresh(seeded)
    vm, _ = vm_and_cluster(s)
    n = s.count("Vm")
    s.update("Vm", vm["id"], {"name": "dropped-soon"})
    other.update("Vm", vm["id"], {"name": "kept-in-other"})
    written, clean = s.tables["Vm"], s.tables["Cluster"]
    rel = next(iter(written.rel_index.values()))
    s.reset()
    deadline = time.monotonic() + 5
    while (written.rows or rel) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not written.rows and not rel                       # its own copies: emptied
    assert clean.rows and clean.rows is seeded.base["Cluster"].rows   # shared with the base: kept
    assert s.count("Vm") == n and s.get("Vm", vm["id"])["name"] == vm["name"]
    assert other.get("Vm", vm["id"])["name"] == "kept-in-other"
    assert seeded.base["Vm"].rows[vm["id"]]["name"] == vm["name"]
