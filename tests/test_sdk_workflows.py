"""The official Python SDK (cloudtower 2.20.0) drives the mock over real HTTP:
VM create → start → snapshot → rollback → power off → delete, waiting with wait_tasks."""

from __future__ import annotations

import json
import os
import threading

import pytest

cloudtower = pytest.importorskip("cloudtower")
cheroot_wsgi = pytest.importorskip("cheroot.wsgi")

from cloudtower import ApiClient, Configuration  # noqa: E402
from cloudtower.api.user_api import UserApi  # noqa: E402
from cloudtower.api.vm_api import VmApi  # noqa: E402
from cloudtower.api.vm_snapshot_api import VmSnapshotApi  # noqa: E402
from cloudtower.api.task_api import TaskApi  # noqa: E402
from cloudtower.utils import wait_tasks  # noqa: E402

from mock_server.app import create_app  # noqa: E402
from mock_server.behaviour.synth import minimal_world  # noqa: E402
from mock_server.contract.index import Contract  # noqa: E402
from mock_server.state import MockConfig  # noqa: E402

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "specs", "cloudtower-4.6.0.json")
if not os.path.exists(SPEC):
    SPEC = "/work/shared/specs/cloudtower-4.6.0.json"


def _world(contract):
    try:
        from mock_server.world.generator import generate
        return generate(contract, None, seed=5)
    except ImportError:
        return minimal_world(contract)


@pytest.fixture(scope="module")
def server():
    with open(SPEC) as f:
        contract = Contract(json.load(f))
    app = create_app(MockConfig(task_speed=4.0), contract=contract, world_factory=lambda: _world(contract))
    srv = cheroot_wsgi.Server(("127.0.0.1", 0), app, numthreads=4)
    srv.prepare()
    thread = threading.Thread(target=srv.serve, daemon=True)
    thread.start()
    host, port = srv.bind_addr[:2]
    yield f"http://{host}:{port}/v2/api", app.config["MOCK_STATE"]
    srv.stop()


@pytest.fixture
def client(server):
    url, state = server
    conf = Configuration(host=url)
    api = ApiClient(conf)
    token = UserApi(api).login({"username": "root", "password": "root"}).data.token
    conf.api_key["Authorization"] = token
    return api, state


def test_vm_create_start_snapshot_rollback_delete(client):
    api, state = client
    vm_api, snap_api = VmApi(api), VmSnapshotApi(api)
    store = state.world().store
    cluster = store.tables["Cluster"].ordered_ids()[0]
    created = vm_api.create_vm([{
        "cluster_id": cluster, "name": "sdk-vm", "vcpu": 2, "memory": 2, "memory_unit": "GB",
        "cpu_cores": 1, "cpu_sockets": 2, "ha": True, "firmware": "BIOS", "status": "STOPPED", "vm_nics": [],
        "vm_disks": {"mount_new_create_disks": [{
            "vm_volume": {"elf_storage_policy": "REPLICA_2_THIN_PROVISION", "size": 10, "size_unit": "GB",
                          "name": "sdk-vm-d0"}, "bus": "VIRTIO", "boot": 0}]}}])
    vm_id = created[0].data.id
    wait_tasks([c.task_id for c in created], api, interval=0.05, timeout=20)
    vm = vm_api.get_vms({"where": {"id": vm_id}})[0]
    assert vm.entity_async_status is None and vm.status == "STOPPED"

    started = vm_api.start_vm({"where": {"id": vm_id}})
    wait_tasks([s.task_id for s in started], api, interval=0.05, timeout=20)
    assert vm_api.get_vms({"where": {"id": vm_id}})[0].status == "RUNNING"

    snaps = snap_api.create_vm_snapshot({"data": [{"vm_id": vm_id, "name": "sdk-snap"}]})
    wait_tasks([s.task_id for s in snaps], api, interval=0.05, timeout=20)
    snap = snap_api.get_vm_snapshots({"where": {"id": snaps[0].data.id}})[0]
    assert snap.vm_disks and snap.vm_disks[0].snapshot_local_id

    rolled = vm_api.rollback_vm({"where": {"id": vm_id}, "data": {"snapshot_id": snap.id}})
    wait_tasks([r.task_id for r in rolled], api, interval=0.05, timeout=20)
    tasks = TaskApi(api).get_tasks({"where": {"id": rolled[0].task_id}})
    assert tasks[0].status == "SUCCESSED" and tasks[0].resource_mutation == "rollbackVm"

    off = vm_api.poweroff_vm({"where": {"id": vm_id}})
    wait_tasks([o.task_id for o in off], api, interval=0.05, timeout=20)
    deleted = vm_api.delete_vm({"where": {"id": vm_id}})
    wait_tasks([d.task_id for d in deleted], api, interval=0.05, timeout=20)
    assert vm_api.get_vms({"where": {"id": vm_id}}) == []


def test_failed_task_raises_in_wait_tasks(client):
    api, state = client
    eng = state.world().tasks
    rule = eng.add_failure_rule(operation="start-vm", error_code="HostAvailableMemoryFilter", times=1)
    try:
        vm_api = VmApi(api)
        vm = next(v for v in vm_api.get_vms({"where": {"status": "STOPPED", "in_recycle_bin": False}, "first": 5})
                  if v.entity_async_status is None)
        started = vm_api.start_vm({"where": {"id": vm.id}})
        with pytest.raises(cloudtower.ApiException) as exc:
            wait_tasks([s.task_id for s in started], api, interval=0.05, timeout=20)
        assert "HostAvailableMemoryFilter" in str(exc.value)
        assert vm_api.get_vms({"where": {"id": vm.id}})[0].status == "STOPPED"
    finally:
        eng.remove_failure_rule(rule)
