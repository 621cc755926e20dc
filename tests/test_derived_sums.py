"""Host and cluster VM sums are kept by deltas (world/derived.VmSums): they always equal a
count from the rows, through writes, moves, deletes, bulk loads, resets and forks, and a
VM write costs the same whatever the size of its cluster."""

from __future__ import annotations

import random

from mock_server.state import World
from mock_server.world import derived
from mock_server.world.derived import VmSums, refresh, vm_sums
from mock_server.world.generator import generate


def _fresh(store, model, rid):
    return VmSums().get(store, model, rid)


def _assert_kept_equal_fresh(store):
    kept = vm_sums(store)
    for model in ("Host", "Cluster"):
        for rid in store.tables[model].rows:
            assert kept.get(store, model, rid) == _fresh(store, model, rid), (model, rid)


def test_kept_sums_follow_every_kind_of_write(contract):
    world = World(generate(contract, "default"))
    store = world.store
    _assert_kept_equal_fresh(store)          # every owner computed once, then kept
    rng = random.Random(5)
    hosts = list(store.tables["Host"].rows.values())
    for i in range(200):
        vms = list(store.tables["Vm"].rows.values())
        vm = rng.choice(vms)
        step = rng.randrange(5)
        if step == 0:
            store.update("Vm", vm["id"], {"status": rng.choice(["RUNNING", "STOPPED", "SUSPENDED"])})
        elif step == 1:
            store.update("Vm", vm["id"], {"vcpu": rng.randrange(1, 9), "memory": rng.randrange(1, 9) << 30})
        elif step == 2:
            h = rng.choice(hosts)
            store.update("Vm", vm["id"], {"host": h["id"], "cluster": h["cluster"]})
        elif step == 3:
            store.insert("Vm", {**vm, "id": None, "name": f"sum-{i}", "local_id": f"sum-{i}"})
        else:
            store.delete("Vm", vm["id"])
        if i % 40 == 0:
            refresh(store)
            _assert_kept_equal_fresh(store)
    _assert_kept_equal_fresh(store)
    world.reset()                            # a reset is a gap in the log: sums start again
    _assert_kept_equal_fresh(store)
    fork = world.clone().store
    fork.update("Vm", next(iter(fork.tables["Vm"].rows)), {"status": "SUSPENDED"})
    _assert_kept_equal_fresh(fork)
    _assert_kept_equal_fresh(store)


def test_a_vm_write_does_not_walk_its_cluster(contract, monkeypatch):
    store = generate(contract, "default")
    cluster = max(store.tables["Cluster"].rows.values(), key=lambda c: c["vm_num"])
    assert cluster["vm_num"] > 5
    sums = vm_sums(store)
    sums.get(store, "Cluster", cluster["id"])
    calls = []
    real = derived._contribution
    monkeypatch.setattr(derived, "_contribution", lambda vm: calls.append(vm["id"]) or real(vm))
    vm = next(v for v in store.tables["Vm"].rows.values() if v["cluster"] == cluster["id"])
    store.update("Vm", vm["id"], {"status": "STOPPED" if vm["status"] != "STOPPED" else "RUNNING"})
    after = sums.get(store, "Cluster", cluster["id"])
    assert calls == [vm["id"], vm["id"]]       # the old and the new row, not the cluster's VMs
    assert after == _fresh(store, "Cluster", cluster["id"])


def test_sums_primed_in_one_pass_equal_those_walked_per_owner(contract, monkeypatch):
    store = generate(contract, "default")
    walked = {(m, rid): VmSums().get(store, m, rid) for m in ("Host", "Cluster") for rid in store.tables[m].rows}
    assert any(s[3] for s in walked.values())                # owners with VMs
    monkeypatch.setattr(derived, "PRIME_MIN_VMS", 1)
    primed = VmSums()
    first = next(iter(walked))
    primed.get(store, *first)
    assert len(primed.sums) > 1                              # the first ask computed every owner
    assert {k: primed.get(store, *k) for k in walked} == walked
