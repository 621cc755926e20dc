"""The task engine: lifecycle on a paused clock, instant mode, failures with rollback,
ResourceLocked and entityAsyncStatus through the HTTP layer, and many tasks cheaply."""

from __future__ import annotations

import time

import pytest

from mock_server.app import create_app
from mock_server.behaviour.synth import minimal_world
from mock_server.clock import Clock
from mock_server.state import MockConfig
from mock_server.tasks import TaskEngine


@pytest.fixture
def world(contract):
    store = minimal_world(contract)
    clock = Clock()
    clock.pause()
    return store, clock, TaskEngine(store, clock)


def vm_id(store):
    return store.tables["Vm"].ordered_ids()[0]


def test_lifecycle_pending_executing_successed(world):
    store, clock, eng = world
    vid = vm_id(store)
    tid = eng.start(model="Vm", resource_id=vid, kind="action", mutation="startVm",
                    changes={"status": "RUNNING"}, steps=["PREPARE", "BOOT", "CHECK"])
    task = store.get("Task", tid)
    assert task["status"] == "PENDING" and task["progress"] == 0.0
    assert task["resource_type"] == "Vm" and task["resource_mutation"] == "startVm" and task["resource_id"] == vid
    assert store.get("Vm", vid)["entityAsyncStatus"] == "UPDATING"
    clock.advance(0.1)
    eng.settle()
    assert store.get("Task", tid)["status"] == "EXECUTING"
    assert store.get("Task", tid)["started_at"]
    seen = []
    for _ in range(10):
        clock.advance(0.05)
        eng.settle()
        seen.append(store.get("Task", tid)["progress"])
    assert seen == sorted(seen) and 0 < seen[3] < 1
    clock.advance(1)
    eng.settle()
    task = store.get("Task", tid)
    assert task["status"] == "SUCCESSED" and task["progress"] == 1.0 and task["finished_at"]
    assert all(s["finished"] for s in task["steps"])
    vm = store.get("Vm", vid)
    assert vm["status"] == "RUNNING" and vm["entityAsyncStatus"] is None
    assert eng.settle() == 0


def test_instant_mode_completes_on_creation(world):
    store, clock, eng = world
    eng.instant = True
    tid = eng.start(model="Vm", resource_id=vm_id(store), kind="update")
    assert store.get("Task", tid)["status"] == "SUCCESSED"
    assert store.get("Vm", vm_id(store))["entityAsyncStatus"] is None


def test_failure_rolls_back_create_update_delete(world):
    store, clock, eng = world
    rid = eng.add_failure_rule(operation="createVm", error_code="VM_DUPLICATED_NAME")
    assert eng.failure_rules()[0]["id"] == rid
    new = store.insert("Vm", {**store.get("Vm", vm_id(store)), "id": store.mint(), "name": "dup"})
    tid = eng.start(model="Vm", resource_id=new["id"], kind="create", mutation="createVm")
    assert store.get("Vm", new["id"])["entityAsyncStatus"] == "CREATING"
    clock.advance(5)
    eng.settle()
    task = store.get("Task", tid)
    assert task["status"] == "FAILED" and task["error_code"] == "VM_DUPLICATED_NAME"
    assert "VM_DUPLICATED_NAME" in task["error_message"] and "dup" in task["error_message"]
    assert store.get("Vm", new["id"]) is None
    assert eng.remove_failure_rule(rid) and not eng.failure_rules()

    # update: the previous row comes back
    vid = vm_id(store)
    before = store.get("Vm", vid)
    eng.add_failure_rule(name_regex="^vm-1$", error_code="EAllocSpace", at_step=0)
    store.update("Vm", vid, {"name": "vm-1", "description": "changed"})
    tid = eng.start(model="Vm", resource_id=vid, kind="update", before=before)
    clock.advance(5)
    eng.settle()
    assert store.get("Task", tid)["status"] == "FAILED"
    assert store.get("Vm", vid)["description"] == before["description"]
    assert store.get("Vm", vid)["entityAsyncStatus"] is None

    # delete: the row stays
    tid = eng.start(model="Vm", resource_id=vid, kind="delete")
    assert store.get("Vm", vid)["entityAsyncStatus"] == "DELETING"
    clock.advance(5)
    eng.settle()
    assert store.get("Task", tid)["status"] == "FAILED"
    assert store.get("Vm", vid) is not None and store.get("Vm", vid)["entityAsyncStatus"] is None


def test_random_failures_are_seeded(world):
    store, clock, eng = world
    eng.add_failure_rule(probability=0.5, seed=7, error_code="JOB_VM_SHUTDOWN_TIMEOUT")
    ids = [eng.start(model="Vm", resource_id=vm_id(store), kind="action", lock=False) for _ in range(40)]
    clock.advance(5)
    eng.settle()
    statuses = [store.get("Task", t)["status"] for t in ids]
    assert 5 < statuses.count("FAILED") < 35
    eng.reset()
    eng.add_failure_rule(probability=0.5, seed=7, error_code="JOB_VM_SHUTDOWN_TIMEOUT")
    ids2 = [eng.start(model="Vm", resource_id=vm_id(store), kind="action", lock=False) for _ in range(40)]
    clock.advance(5)
    eng.settle()
    assert [store.get("Task", t)["status"] for t in ids2] == statuses


def test_delete_stays_deleting_until_the_task_ends(world):
    store, clock, eng = world
    vid = vm_id(store)
    disks = store.related_ids("Vm", store.get("Vm", vid), "vm_disks")
    eng.start(model="Vm", resource_id=vid, kind="delete")
    clock.advance(0.2)
    eng.settle()
    assert store.get("Vm", vid)["entityAsyncStatus"] == "DELETING"
    clock.advance(1)
    eng.settle()
    assert store.get("Vm", vid) is None
    assert all(store.get("VmDisk", d) is None for d in disks)


def test_thousands_of_tasks_are_cheap(world):
    store, clock, eng = world
    vid = vm_id(store)
    t0 = time.perf_counter()
    for _ in range(3000):
        eng.start(model="Vm", resource_id=vid, kind="action", lock=False)
    t1 = time.perf_counter()
    for _ in range(1000):
        eng.settle()            # nothing due: must be nearly free
    t2 = time.perf_counter()
    clock.advance(10)
    eng.settle()
    t3 = time.perf_counter()
    assert eng.running() == 0
    assert t1 - t0 < 3 and t2 - t1 < 0.05 and t3 - t2 < 5, (t1 - t0, t2 - t1, t3 - t2)


# ------------------------------------------------------------------ through HTTP

def http(contract):
    app = create_app(MockConfig(task_speed=1.0), contract=contract, world_factory=lambda: minimal_world(contract))
    state = app.config["MOCK_STATE"]
    state.clock.pause()
    client = app.test_client()
    token = client.post("/v2/api/login", json={"username": "root", "password": "root"}).json["data"]["token"]
    return client, {"Authorization": token}, state


def test_resource_locked_and_async_status_over_http(contract):
    client, h, state = http(contract)
    vid = state.world().store.tables["Vm"].ordered_ids()[0]
    r = client.post("/v2/api/update-vm-basic-info", headers=h, json={"where": {"id": vid}, "data": {"description": "x"}})
    assert r.status_code == 200
    task_id = r.json[0]["task_id"]
    vm = client.post("/v2/api/get-vms", headers=h, json={"where": {"id": vid}}).json[0]
    assert vm["entityAsyncStatus"] == "UPDATING" and vm["description"] == "x"
    r = client.post("/v2/api/delete-vm", headers=h, json={"where": {"id": vid}})
    assert r.status_code == 400
    assert r.json["code"] == "ResourceLocked" and r.json["message"] == f"Resource [VM-{vid}] locked"
    assert r.json["props"] == {"locked_resources": [{"id": vid, "type": "VM"}]}
    state.clock.advance(5)
    t = client.post("/v2/api/get-tasks", headers=h, json={"where": {"id": task_id}}).json[0]
    assert t["status"] == "SUCCESSED"
    vm = client.post("/v2/api/get-vms", headers=h, json={"where": {"id": vid}}).json[0]
    assert vm["entityAsyncStatus"] is None
    # now the delete goes through, and the VM is visible as DELETING until the task ends
    r = client.post("/v2/api/delete-vm", headers=h, json={"where": {"id": vid}})
    assert r.status_code == 200, r.json
    vm = client.post("/v2/api/get-vms", headers=h, json={"where": {"id": vid}}).json
    assert vm and vm[0]["entityAsyncStatus"] == "DELETING"
    state.clock.advance(5)
    assert client.post("/v2/api/get-vms", headers=h, json={"where": {"id": vid}}).json == []


def test_created_resource_visible_with_creating(contract):
    client, h, state = http(contract)
    r = client.post("/v2/api/create-label", headers=h, json=[{"key": "a", "value": "b"}])
    lid = r.json[0]["data"]["id"]
    assert client.post("/v2/api/get-labels", headers=h, json={"where": {"id": lid}}).json
    cg = client.post("/v2/api/create-iscsi-target", headers=h, json=[{
        "cluster_id": state.world().store.tables["Cluster"].ordered_ids()[0], "name": "t1",
        "stripe_num": 4, "thin_provision": True, "replica_num": 2, "stripe_size": 262144}])
    assert cg.status_code == 200, cg.json
    tid = cg.json[0]["data"]["id"]
    row = client.post("/v2/api/get-iscsi-targets", headers=h, json={"where": {"id": tid}}).json[0]
    assert row["entityAsyncStatus"] == "CREATING"
    state.clock.advance(5)
    row = client.post("/v2/api/get-iscsi-targets", headers=h, json={"where": {"id": tid}}).json[0]
    assert row["entityAsyncStatus"] is None
