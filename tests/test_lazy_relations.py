"""Relation indexes of bulk-loaded tables are built on first use (store.table.Table.rel) and
warmed in the background after start (mock_server.warmup): answers are the same as with
indexes built at load, through forks, writes, deletes and resets.

The seeded default world's tables are small (built at load); these tests lower the size
from which a table's indexes wait for first use, so every table of the world does."""

from __future__ import annotations

import orjson
import pytest

from mock_server.app import create_app
from mock_server.state import MockConfig
from mock_server.store import table as table_mod
from mock_server.store.entries import fill, members
from mock_server.warmup import pending, warm
from mock_server.world.generator import generate


@pytest.fixture
def lazy(monkeypatch):
    monkeypatch.setattr(table_mod, "LAZY_INDEX_MIN_ROWS", 1)


def _as_sets(idx: dict) -> dict:
    return {k: set(members(v)) for k, v in idx.items()}


def test_first_use_builds_what_a_load_would_have(sdk_contract, lazy):
    store = generate(sdk_contract, "default")
    todo = pending(store)
    assert ("VmDisk", "vm") in todo and ("Vm", "host") not in todo   # the sums asked for the VMs' hosts
    for m, f in todo:
        t = store.tables[m]
        want: dict = {}
        fill(want, t.rows, f, lists=True)
        assert _as_sets(t.rel(f)) == _as_sets(want), (m, f)
    assert pending(store) == []
    assert store.tables["Vm"].rel("name") is None                     # not a relation


def test_clean_forks_share_what_one_builds_written_forks_build_their_own(sdk_contract, lazy):
    store = generate(sdk_contract, "default")
    store.freeze()
    a, b = store.fork(), store.fork()
    disk = next(iter(b.tables["VmDisk"].rows.values()))
    other_vm = next(v for v in b.tables["Vm"].rows if v != disk["vm"])
    b.update("VmDisk", disk["id"], {"vm": other_vm})                 # b owns its VmDisk table now
    assert "vm" not in store.base["VmDisk"].rel_index
    a_idx = a.tables["VmDisk"].rel("vm")
    assert store.base["VmDisk"].rel_index["vm"] is a_idx              # published to the base
    assert disk["id"] in members(a_idx.get(disk["vm"]))
    b_idx = b.tables["VmDisk"].rel("vm")
    assert b_idx is not a_idx
    assert disk["id"] in members(b_idx.get(other_vm)) and disk["id"] not in members(b_idx.get(disk["vm"]))
    b.reset()                                                         # back to the base, and its index
    assert b.tables["VmDisk"].rel("vm") is a_idx


def test_writes_after_first_use_keep_the_index_true(sdk_contract, lazy):
    store = generate(sdk_contract, "default")
    vm = next(iter(store.tables["Vm"].rows.values()))
    disks = set(store.related_ids("Vm", vm, "vm_disks"))
    assert disks
    gone = sorted(disks)[0]
    store.delete("VmDisk", gone)
    assert set(store.related_ids("Vm", vm, "vm_disks")) == disks - {gone}
    store.delete("Vm", vm["id"])                                      # cascades to its disks
    assert not any(d.get("vm") == vm["id"] for d in store.tables["VmDisk"].rows.values())
    assert not members(store.tables["VmDisk"].rel("vm").get(vm["id"]))


QUERIES = [
    ("get-vms", {"orderBy": "name_ASC", "first": 30}),
    ("get-vm-disks", {"where": {"vm": {"name_starts_with": "web"}}}),
    ("get-vms", {"where": {"vm_disks_some": {"type": "CD_ROM"}}}),
    ("get-vms-connection", {"where": {"host": {"name_contains": "node0"}}}),
    ("get-clusters", {}),
    ("get-hosts", {}),
    ("get-iscsi-luns", {"first": 40}),
    ("get-vm-volumes", {"where": {"lun": {"name_contains": "disk1"}}}),
]


def _answers(sdk_contract) -> list:
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract)
    c = app.test_client()
    auth = {"Authorization": c.post("/v2/api/login", json={"username": "root", "password": "root"})
            .get_json()["data"]["token"]}
    out = [orjson.loads(c.post(f"/v2/api/{op}", json=body, headers=auth).data) for op, body in QUERIES]
    vm = out[0][0]["id"]
    assert c.post("/v2/api/delete-vm", json={"where": {"id": vm}}, headers=auth).status_code == 200
    out.append(orjson.loads(c.post("/v2/api/get-vm-disks", json={"where": {"vm": {"id": vm}}}, headers=auth).data))
    return out


def test_answers_equal_those_of_indexes_built_at_load(sdk_contract, monkeypatch):
    eager = _answers(sdk_contract)
    monkeypatch.setattr(table_mod, "LAZY_INDEX_MIN_ROWS", 1)
    assert _answers(sdk_contract) == eager


def test_warm_builds_every_pending_index_once(sdk_contract, lazy):
    store = generate(sdk_contract, "default")
    n = len(pending(store))
    assert n > 10
    assert warm(store) == n
    assert pending(store) == [] and warm(store) == 0


def test_background_warmup_finishes_and_is_skipped_when_nothing_waits(sdk_contract, lazy):
    from mock_server.warmup import warm_in_background
    store = generate(sdk_contract, "default")
    th = warm_in_background(store)
    assert th is not None
    th.join(timeout=30)
    assert not th.is_alive() and pending(store) == []
    assert warm_in_background(store) is None
