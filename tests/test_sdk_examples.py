"""The workflows of the official Python SDK's README, its repository's examples
(create_vm_from_template/*, upload/readme.md) and its integration suite, driven with the
installed official SDK (2.20.0) against the mock serving the default world, tasks instant:
GraphQL list coercion, content-library templates (ids only, cloud-init, modified disks and
NICs), sizes in bytes, CPU topology, volume mounting, placement on hosts, maintenance mode
and chunked image uploads. Every response is checked against the contract."""

from __future__ import annotations

import json

import pytest

cloudtower = pytest.importorskip("cloudtower")
pytest.importorskip("cheroot.wsgi")

from cloudtower import ApiClient, Configuration  # noqa: E402
from cloudtower.api import (ClusterApi, ContentLibraryImageApi, ContentLibraryVmTemplateApi, ElfImageApi,  # noqa: E402
                            HostApi, SvtImageApi, TaskApi, UploadTaskApi, VlanApi, VmApi, VmNicApi,
                            VmVolumeApi)
from cloudtower.models import (Bus, GetVmNicsRequestBody, VmNicModel, VmNicWhereInput,  # noqa: E402
                               VmVolumeElfStoragePolicyType)
from cloudtower.utils import login, wait_tasks  # noqa: E402

from conftest import ResponseChecker  # noqa: E402
from helpers import served_app  # noqa: E402

GiB = 1024 ** 3


@pytest.fixture(scope="module")
def served(sdk_contract):
    from mock_server.app import create_app
    from mock_server.state import MockConfig
    app = create_app(MockConfig(task_speed=0.0), contract=sdk_contract)
    checker = ResponseChecker(app.config["MOCK_STATE"])
    from mock_server.dispatch import EXT_KEY
    app.extensions[EXT_KEY].after.append(checker)
    with served_app(app, numthreads=4) as url:
        yield url, app.config["MOCK_STATE"]
    assert checker.checked > 0
    assert not checker.violations, "\n".join(checker.violations[:20])


@pytest.fixture
def env(served):
    """A logged-in SDK client on a freshly reset world whose hosts all serve (connected, out
    of maintenance), as a test would arrange a real cluster."""
    url, state = served
    world = state.world()
    world.reset()
    store = world.store
    with store.lock:
        for h in store.all("Host"):
            hs = dict(h.get("host_state") or {"enter_maintenance_time": "2025-01-01T00:00:00.000Z",
                                              "maintenance_job_id": ""})
            hs["state"] = "IN_USE"
            store.update("Host", h["id"], {"host_state": hs, "status": "CONNECTED_HEALTHY", "state": "IN_USE"})
    client = ApiClient(Configuration(host=url))
    login(client, "root", "root")
    yield client, store
    client.close()
    try:        # the world's invariant checker, where the checkout has one
        from mock_server.invariants import assert_sound
    except ImportError:
        return
    with store.lock:
        if world.tasks is not None:
            world.tasks.settle()
    assert_sound(store, "after the workflow")


def wait(results, client):
    results = results if isinstance(results, list) else [results]
    ids = [r.task_id for r in results if getattr(r, "task_id", None)]
    if ids:
        wait_tasks(ids, client, interval=0.01, timeout=10)
    return results


def refused(fn, *args, fragment="", **kw):
    with pytest.raises(cloudtower.ApiException) as exc:
        fn(*args, **kw)
    assert exc.value.status == 400, exc.value
    body = json.loads(exc.value.body)
    assert fragment in body["message"], body["message"]
    return body["message"]


def cluster_named(client, name):
    return ClusterApi(client).get_clusters({"where": {"name": name}})[0]


def vm_vlan(client, cluster_id):
    return VlanApi(client).get_vlans({"where": {"type": "VM", "vds": {"cluster": {"id": cluster_id}}}})[0]


def template_and_cluster(client):
    tpl = ContentLibraryVmTemplateApi(client).get_content_library_vm_templates({"where": {"clusters_some": {}}})[0]
    return tpl, cluster_named(client, tpl.clusters[0].name)


def get_vm(client, vm_id):
    return VmApi(client).get_vms({"where": {"id": vm_id}})[0]


def blank_vm(client, cluster, name, *, status="STOPPED", memory=4 * GiB, **extra):
    """The README's 'simple creation' body (sizes and memory in bytes)."""
    body = {"cluster_id": cluster.id, "name": name, "ha": True, "cpu_cores": 4, "cpu_sockets": 4,
            "memory": memory, "vcpu": 16, "status": status, "firmware": "BIOS",
            "vm_nics": [{"connect_vlan_id": vm_vlan(client, cluster.id).id}],
            "vm_disks": {"mount_new_create_disks": [{
                "boot": 0, "bus": Bus.VIRTIO, "vm_volume": {
                    "elf_storage_policy": VmVolumeElfStoragePolicyType._2_THIN_PROVISION,
                    "size": 10 * GiB, "name": f"{name}-vol"}}]}}
    body.update(extra)
    out = wait(VmApi(client).create_vm([body]), client)
    return get_vm(client, out[0].data.id)


# ----------------------------------------------------------------- coercion, /api/

def test_single_value_stands_for_a_list(env):
    client, store = env
    nics = VmNicApi(client)
    # the SDK suite's own call: _not=VmNicWhereInput(vm=None) is sent as {"NOT": {}}
    assert nics.get_vm_nics(get_vm_nics_request_body=GetVmNicsRequestBody(
        where=VmNicWhereInput(_not=VmNicWhereInput(vm=None)))) == []
    every = nics.get_vm_nics({})
    one = every[0]
    assert [n.id for n in nics.get_vm_nics({"where": {"id_in": one.id}})] == [one.id]
    assert {n.id for n in nics.get_vm_nics({"where": {"id_not_in": one.id}})} == {n.id for n in every} - {one.id}
    assert [n.id for n in nics.get_vm_nics({"where": {"OR": {"id": one.id}}})] == [one.id]
    assert [n.id for n in nics.get_vm_nics({"where": {"AND": {"id": one.id}, "NOT": {"id": "nope"}}})] == [one.id]
    vms = VmApi(client).get_vms({"where": {"vm_nics_some": {"id_in": one.id}}})
    assert [v.id for v in vms] == [one.vm.id]
    # what is neither a list nor its item is still refused
    refused(nics.get_vm_nics, {"where": {"id_in": 3}}, fragment="where.id_in[0]")


def test_coercer_is_driven_by_the_schema(sdk_contract):
    from mock_server.contract.validate import Validator
    v = Validator(sdk_contract)
    body = {"where": {"NOT": {"OR": {"name_in": "a"}}, "name": "x"}, "first": 1}
    schema = {"$ref": "#/components/schemas/GetVmsRequestBody"}
    out = v.coerce(schema, body)
    assert out == {"where": {"NOT": [{"OR": [{"name_in": ["a"]}]}], "name": "x"}, "first": 1}
    v.validate(schema, out)
    # create params: a single NIC for vm_nics, a single id for a list of ids
    item = v.coerce({"$ref": "#/components/schemas/VmCreationParams"}, {"vm_nics": {"connect_vlan_id": "v"}})
    assert item == {"vm_nics": [{"connect_vlan_id": "v"}]}
    assert v.coerce(schema, {"where": {"id_in": None}}) == {"where": {"id_in": None}}


def test_graphql_with_trailing_slash(served):
    import requests
    url, _ = served
    base = url[: -len("/v2/api")]
    token = requests.post(url + "/login", json={"username": "root", "password": "root"}).json()["data"]["token"]
    query = {"query": "mutation { createApiKey(data: {name: \"ci\"}) { id key name } }"}
    a = requests.post(base + "/api", json=query, headers={"Authorization": token})
    b = requests.post(base + "/api/", json=query, headers={"Authorization": token})
    assert a.status_code == b.status_code == 200
    assert "errors" not in b.json() or not b.json()["errors"], b.json()


# -------------------------------------------------------- README: blank VMs, update

def test_readme_blank_vm_sizes_in_bytes_and_cpu(env):
    client, store = env
    prod = cluster_named(client, "prod")
    vm = blank_vm(client, prod, "readme-blank")
    assert (vm.vcpu, vm.cpu.cores, vm.cpu.sockets, vm.memory) == (16, 4, 4, 4 * GiB)
    vols = VmVolumeApi(client).get_vm_volumes({"where": {"vm_disks_some": {"vm": {"id": vm.id}}}})
    assert [v.size for v in vols] == [10 * GiB]
    assert vols[0].mounting is True
    assert len(vm.vm_nics) == 1
    # vcpu that is not cores x sockets is refused, nothing is created
    before = len(VmApi(client).get_vms({}))
    msg = refused(VmApi(client).create_vm, [{
        "cluster_id": prod.id, "name": "bad-cpu", "ha": False, "cpu_cores": 2, "cpu_sockets": 2, "vcpu": 5,
        "memory": GiB, "status": "STOPPED", "firmware": "BIOS", "vm_nics": [], "vm_disks": {}}],
        fragment="vcpu")
    assert "cpu_cores" in msg
    assert len(VmApi(client).get_vms({})) == before


def test_readme_update_vm_cpu_and_memory(env):
    client, store = env
    vm = blank_vm(client, cluster_named(client, "prod"), "readme-update")
    api = VmApi(client)
    out = wait(api.update_vm({"where": {"id": vm.id}, "data": {
        "name": "new_name", "description": "new_description", "ha": False, "vcpu": 2 * 2, "cpu_cores": 2,
        "cpu_sockets": 2, "memory": 1 * GiB}}), client)
    got = get_vm(client, out[0].data.id)
    assert (got.name, got.description, got.ha, got.vcpu, got.cpu.cores, got.cpu.sockets, got.memory) == \
        ("new_name", "new_description", False, 4, 2, 2, GiB)
    wait(api.update_vm({"where": {"id": vm.id}, "data": {"cpu_sockets": 3}}), client)
    got = get_vm(client, vm.id)
    assert (got.vcpu, got.cpu.cores, got.cpu.sockets) == (6, 2, 3)
    refused(api.update_vm, {"where": {"id": vm.id}, "data": {"vcpu": 5, "cpu_cores": 2, "cpu_sockets": 2}},
            fragment="vcpu")
    assert get_vm(client, vm.id).vcpu == 6


def test_readme_volume_mounting_follows_disks(env):
    client, store = env
    prod = cluster_named(client, "prod")
    vm = blank_vm(client, prod, "readme-mount")
    vols = VmVolumeApi(client)
    made = wait(vols.create_vm_volume([{"cluster_id": prod.id, "name": "readme-extra", "size": 5 * GiB,
                                        "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "sharing": False}]), client)
    vol_id = made[0].data.id
    assert vols.get_vm_volumes({"where": {"id": vol_id}})[0].mounting is False
    wait(VmApi(client).add_vm_disk({"where": {"id": vm.id}, "data": {"vm_disks": {"mount_disks": [
        {"index": 0, "vm_volume_id": vol_id, "boot": 1, "bus": Bus.VIRTIO}]}}}), client)
    vol = vols.get_vm_volumes({"where": {"id": vol_id}})[0]
    assert vol.mounting is True and vol.size == 5 * GiB
    # a second VM may not mount a volume that is not shareable
    other = blank_vm(client, prod, "readme-mount-2")
    refused(VmApi(client).add_vm_disk, {"where": {"id": other.id}, "data": {"vm_disks": {"mount_disks": [
        {"vm_volume_id": vol_id, "boot": 1, "bus": Bus.VIRTIO}]}}}, fragment="not shareable")
    disk = next(d for d in get_vm(client, vm.id).vm_disks
                if VmApi(client).get_vms({"where": {"vm_disks_some": {"id": d.id, "vm_volume": {"id": vol_id}}}}))
    wait(VmApi(client).remove_vm_disk({"where": {"id": vm.id}, "data": {"disk_ids": [disk.id]}}), client)
    vol = vols.get_vm_volumes({"where": {"id": vol_id}})[0]
    assert vol.mounting is False
    # the README's "mount an existing volume" at creation
    created = blank_vm(client, prod, "readme-mount-3", vm_disks={"mount_disks": [
        {"index": 0, "boot": 0, "bus": Bus.VIRTIO, "vm_volume_id": vol_id}]})
    assert len(created.vm_disks) == 1
    assert vols.get_vm_volumes({"where": {"id": vol_id}})[0].mounting is True


# ------------------------------------------------------ examples: content library

def test_example_template_ids_only(env):
    client, store = env
    tpl, cluster = template_and_cluster(client)
    out = wait(VmApi(client).create_vm_from_content_library_template([{
        "template_id": tpl.id, "cluster_id": cluster.id, "name": "from-tpl", "is_full_copy": False}]), client)
    vm = VmApi(client).get_vms({"where": {"id_in": [o.data.id for o in out]}})[0]
    assert vm.name == "from-tpl" and vm.cluster.id == cluster.id and vm.status == "STOPPED"
    assert (vm.vcpu, vm.memory) == (tpl.vcpu, tpl.memory)
    disks = [d for d in (tpl.vm_disks or [])]
    assert len(vm.vm_disks) == len(disks)
    sizes = sorted(v.size for v in VmVolumeApi(client).get_vm_volumes(
        {"where": {"vm_disks_some": {"vm": {"id": vm.id}}}}))
    assert sizes == sorted(d.size for d in disks if d.type == "DISK")


def test_example_template_with_cloud_init(env):
    client, store = env
    tpl, cluster = template_and_cluster(client)
    cloud_init = {"default_user_password": "password", "nameservers": ["114.114.114.114"],
                  "networks": [{"ip_address": "192.168.20.1", "net_mask": "255.255.240.0", "nic_index": 0,
                                "routes": [{"gateway": "192.168.16.1", "network": "0.0.0.0", "netmask": "0.0.0.0"}]}],
                  "hostname": "test", "public_keys": ["key_content"], "user_data": "user_data"}
    api = VmApi(client)
    out = wait(api.create_vm_from_content_library_template([{
        "template_id": tpl.id, "cluster_id": cluster.id, "name": "cloud-init-vm", "is_full_copy": False,
        "cloud_init": cloud_init, "vm_nics": [{"connect_vlan_id": vm_vlan(client, cluster.id).id}]}]), client)
    assert api.get_vms({"where": {"id_in": [o.data.id for o in out]}})[0].name == "cloud-init-vm"
    bad = dict(cloud_init, networks=[dict(cloud_init["networks"][0], ip_address="192.168.300.1")])
    refused(api.create_vm_from_content_library_template, [{
        "template_id": tpl.id, "cluster_id": cluster.id, "name": "bad-ci", "is_full_copy": False,
        "cloud_init": bad}], fragment="ip_address")


def test_example_template_with_disks_modified(env):
    client, store = env
    tpl, cluster = template_and_cluster(client)
    vols = VmVolumeApi(client)
    made = wait(vols.create_vm_volume([{"cluster_id": cluster.id, "name": "tpl-extra", "size": 2 * GiB,
                                        "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "sharing": False}]), client)
    image = ContentLibraryImageApi(client).get_content_library_images({})[0]
    disk_operate = {
        "remove_disks": {"disk_index": [0]},
        "new_disks": {
            "mount_cd_roms": [{"boot": 2, "content_library_image_id": image.id}],
            "mount_disks": [{"boot": 3, "bus": Bus.VIRTIO, "vm_volume_id": made[0].data.id}],
            "mount_new_create_disks": [{"boot": 4, "bus": Bus.VIRTIO, "vm_volume": {
                "name": "test", "size": 10 * GiB, "elf_storage_policy": VmVolumeElfStoragePolicyType._2_THIN_PROVISION}}]}}
    api = VmApi(client)
    out = wait(api.create_vm_from_content_library_template([{
        "template_id": tpl.id, "cluster_id": cluster.id, "name": "disk-mod", "is_full_copy": False,
        "disk_operate": disk_operate}]), client)
    vm = api.get_vms({"where": {"id_in": [o.data.id for o in out]}})[0]
    kept = len(tpl.vm_disks) - 1
    assert len(vm.vm_disks) == kept + 3
    sizes = sorted(v.size for v in vols.get_vm_volumes({"where": {"vm_disks_some": {"vm": {"id": vm.id}}}}))
    assert 10 * GiB in sizes and 2 * GiB in sizes
    assert vols.get_vm_volumes({"where": {"id": made[0].data.id}})[0].mounting is True
    refused(api.create_vm_from_content_library_template, [{
        "template_id": tpl.id, "cluster_id": cluster.id, "name": "disk-bad", "is_full_copy": False,
        "disk_operate": {"remove_disks": {"disk_index": [len(tpl.vm_disks)]}}}], fragment="disk_index")


def test_example_template_with_nic_modified_and_batch(env):
    client, store = env
    tpl, cluster = template_and_cluster(client)
    vlan = vm_vlan(client, cluster.id)
    api = VmApi(client)
    out = wait(api.create_vm_from_content_library_template([{
        "template_id": tpl.id, "cluster_id": cluster.id, "name": "nic-mod", "is_full_copy": False,
        "vm_nics": [{"connect_vlan_id": vlan.id, "enabled": True, "model": VmNicModel.VIRTIO}]}]), client)
    vm = api.get_vms({"where": {"id_in": [o.data.id for o in out]}})[0]
    nics = VmNicApi(client).get_vm_nics({"where": {"vm": {"id": vm.id}}})
    assert [(n.vlan.id, n.model, n.enabled) for n in nics] == [(vlan.id, "VIRTIO", True)]
    out = api.create_vm_from_content_library_template_batch({
        "template_id": tpl.id, "vms": [{"cluster_id": cluster.id, "name": f"batch-{i}", "is_full_copy": False}
                                       for i in range(2)]})
    wait_tasks([out.task_id], client, interval=0.01, timeout=10)
    got = api.get_vms({"where": {"id_in": [v.id for v in out.data]}})
    assert sorted((v.name, v.entity_async_status) for v in got) == [("batch-0", None), ("batch-1", None)]


def test_template_bad_input_gets_the_real_error(env):
    client, store = env
    tpl, cluster = template_and_cluster(client)
    api = VmApi(client)
    before = len(api.get_vms({}))
    vm_template = store.first("VmTemplate")
    refused(api.create_vm_from_content_library_template, [{
        "template_id": vm_template["id"], "cluster_id": cluster.id, "name": "x", "is_full_copy": False}],
        fragment="ContentLibraryVmTemplate")
    other = next(c for c in ClusterApi(client).get_clusters({}) if c.id not in {x.id for x in tpl.clusters})
    refused(api.create_vm_from_content_library_template, [{
        "template_id": tpl.id, "cluster_id": other.id, "name": "x", "is_full_copy": False}],
        fragment="not distributed")
    refused(api.create_vm_from_content_library_template, [{
        "template_id": tpl.id, "cluster_id": cluster.id, "name": "x", "is_full_copy": False,
        "vm_nics": [{"connect_vlan_id": vm_vlan(client, other.id).id}]}], fragment="not in the cluster")
    refused(api.create_vm_from_content_library_template, [{
        "template_id": tpl.id, "cluster_id": cluster.id, "name": "x", "is_full_copy": False,
        "disk_operate": {"new_disks": {"mount_new_create_disks": [{"boot": 1, "bus": "VIRTIO", "vm_volume": {
            "name": "zero", "size": 0, "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}}]}}}], fragment="size")
    assert len(api.get_vms({})) == before


# ------------------------------------------------------------------- placement

def hosts_of(client, cluster_id):
    return HostApi(client).get_hosts({"where": {"cluster": {"id": cluster_id}}, "orderBy": "name_ASC"})


def into_maintenance(client, host_id):
    """Put a host into maintenance the way a client does: precheck, then enter shutting down
    what cannot move (VMs with pass-through devices); the other running VMs move off."""
    hosts = HostApi(client)
    check = hosts.enter_maintenance_mode_pre_check({"where": {"id": host_id}})
    wait_tasks([check.task_id], client, interval=0.01, timeout=10)
    result = hosts.enter_maintenance_mode_precheck_result({"where": {"task_id": check.task_id}})
    assert result.done
    out = hosts.enter_maintenance_mode({"where": {"host_id": host_id},
                                        "data": {"shutdown_vms": [s.vm_uuid for s in result.shutdown_vms]}})
    wait_tasks([out.task_id], client, interval=0.01, timeout=10)
    return [s.vm_uuid for s in result.shutdown_vms]


def free_memory(client, host):
    vms = VmApi(client).get_vms({"where": {"host": {"id": host.id}, "status_in": ["RUNNING", "SUSPENDED"]}})
    return host.total_memory_bytes - host.os_memory_bytes - sum(v.memory for v in vms)


def fill(client, cluster, host, keep=GiB):
    """A running VM taking all of `host`'s free memory but `keep`."""
    host = HostApi(client).get_hosts({"where": {"id": host.id}})[0]
    return blank_vm(client, cluster, f"filler-{host.name}", status="RUNNING", host_id=host.id,
                    memory=free_memory(client, host) - keep)


def test_running_vm_gets_a_host_of_its_cluster_out_of_maintenance(env):
    client, store = env
    prod = cluster_named(client, "prod")
    hosts = hosts_of(client, prod.id)
    into_maintenance(client, hosts[0].id)
    vm = blank_vm(client, prod, "placed", status="RUNNING")
    assert vm.status == "RUNNING" and vm.host is not None
    assert vm.host.id in {h.id for h in hosts[1:]}
    # start goes elsewhere than the host in maintenance; start to it is refused
    api = VmApi(client)
    wait(api.shut_down_vm({"where": {"id": vm.id}}), client)
    refused(api.start_vm, {"where": {"id": vm.id}, "data": {"host_id": hosts[0].id}}, fragment="maintenance")
    wait(api.start_vm({"where": {"id": vm.id}}), client)
    assert get_vm(client, vm.id).host.id != hosts[0].id
    # the host's counters follow its VMs
    host = HostApi(client).get_hosts({"where": {"id": get_vm(client, vm.id).host.id}})[0]
    running = api.get_vms({"where": {"host": {"id": host.id}, "status": "RUNNING"}})
    assert host.running_vm_num == len(running)


def test_migrate_auto_stays_in_cluster_and_avoids_maintenance(env):
    client, store = env
    prod = cluster_named(client, "prod")
    hosts = hosts_of(client, prod.id)
    api = VmApi(client)
    into_maintenance(client, hosts[1].id)
    vm = blank_vm(client, prod, "mover", status="RUNNING", host_id=hosts[0].id)
    assert vm.host.id == hosts[0].id
    wait(api.migrate_vm({"where": {"id": vm.id}}), client)
    assert get_vm(client, vm.id).host.id == hosts[2].id
    # to a named host: the README's "migrate to a host"
    refused(api.migrate_vm, {"where": {"id": vm.id}, "data": {"host_id": hosts[1].id}}, fragment="maintenance")
    wait(api.migrate_vm({"where": {"id": vm.id}, "data": {"host_id": hosts[0].id}}), client)
    assert get_vm(client, vm.id).host.id == hosts[0].id
    refused(api.migrate_vm, {"where": {"id": vm.id}, "data": {"host_id": hosts[0].id}}, fragment="already")
    other = hosts_of(client, cluster_named(client, "dev").id)[0]
    refused(api.migrate_vm, {"where": {"id": vm.id}, "data": {"host_id": other.id}}, fragment="not in the cluster")


def test_no_room_is_refused(env):
    client, store = env
    prod = cluster_named(client, "prod")
    api = VmApi(client)
    refused(api.create_vm, [{"cluster_id": prod.id, "name": "huge", "ha": False, "cpu_cores": 1, "cpu_sockets": 1,
                             "memory": 4096 * GiB, "status": "RUNNING", "firmware": "BIOS", "vm_nics": [],
                             "vm_disks": {}}], fragment="No host")
    hosts = hosts_of(client, prod.id)
    big = blank_vm(client, prod, "big", memory=max(free_memory(client, h) for h in hosts) + GiB)
    refused(api.start_vm, {"where": {"id": big.id}}, fragment="No host")
    assert get_vm(client, big.id).status == "STOPPED"
    vm = blank_vm(client, prod, "small", status="RUNNING", host_id=hosts[0].id, memory=2 * GiB)
    for h in hosts[1:]:
        fill(client, prod, h)
    refused(api.migrate_vm, {"where": {"id": vm.id}}, fragment="No host")
    refused(api.migrate_vm, {"where": {"id": vm.id}, "data": {"host_id": hosts[1].id}}, fragment="memory free")


# ------------------------------------------------------------------ maintenance

def test_maintenance_mode_round_trip(env):
    client, store = env
    hosts_api = HostApi(client)
    api = VmApi(client)
    prod = cluster_named(client, "prod")
    hosts = hosts_of(client, prod.id)
    host = hosts[0]
    vm = blank_vm(client, prod, "evacuee", status="RUNNING", host_id=host.id)
    running = {v.id for v in api.get_vms({"where": {"host": {"id": host.id}, "status_in": ["RUNNING", "SUSPENDED"]}})}
    assert vm.id in running

    check = hosts_api.enter_maintenance_mode_pre_check({"where": {"id": host.id}})
    assert check.task_id
    wait_tasks([check.task_id], client, interval=0.01, timeout=10)
    result = hosts_api.enter_maintenance_mode_precheck_result({"where": {"task_id": check.task_id}})
    assert result.done is True
    # what cannot move (pass-through devices tie a VM to its host) is to be shut down
    pinned = {v.local_id for v in api.get_vms({"where": {"id_in": sorted(running)}})
              if v.usb_devices or getattr(v, "gpu_devices", None)}
    assert {s.vm_uuid for s in result.shutdown_vms} == pinned and vm.local_id not in pinned
    refused(hosts_api.enter_maintenance_mode, {"where": {"host_id": host.id}, "data": {"shutdown_vms": []}},
            fragment="shutdown_vms") if pinned else None

    entered = hosts_api.enter_maintenance_mode({"where": {"host_id": host.id},
                                                "data": {"shutdown_vms": sorted(pinned)}})
    assert entered.data.id == host.id
    wait_tasks([entered.task_id], client, interval=0.01, timeout=10)
    after = hosts_api.get_hosts({"where": {"id": host.id}})[0]
    assert after.host_state.state == "MAINTENANCE_MODE"
    assert after.running_vm_num == 0
    assert api.get_vms({"where": {"host": {"id": host.id}, "status": "RUNNING"}}) == []
    for v in api.get_vms({"where": {"id_in": sorted(running)}}):
        if v.local_id in pinned:
            assert v.status == "STOPPED"
        else:
            assert v.status in ("RUNNING", "SUSPENDED") and v.host.id in {h.id for h in hosts[1:]}
    # a second host of the cluster may not follow; starting on it is refused
    refused(hosts_api.enter_maintenance_mode, {"where": {"host_id": hosts[1].id}, "data": {}},
            fragment="already in maintenance")

    back = hosts_api.exit_maintenance_mode_precheck_result({"where": {"id": host.id}})
    assert vm.local_id in {i.vm_uuid for i in back.live_migrate_vms}
    out = hosts_api.exit_maintenance_mode({"where": {"host_id": host.id}, "data": {
        "live_migrate_back_vms": [vm.local_id], "poweron_vms": [], "offline_migrate_back_vms": []}})
    wait_tasks([out.task_id], client, interval=0.01, timeout=10)
    assert hosts_api.get_hosts({"where": {"id": host.id}})[0].host_state.state == "IN_USE"
    assert get_vm(client, vm.id).host.id == host.id
    refused(hosts_api.exit_maintenance_mode, {"where": {"host_id": host.id}, "data": {}}, fragment="not in maintenance")


def test_maintenance_refusals(env):
    client, store = env
    hosts_api = HostApi(client)
    dev = cluster_named(client, "dev")
    a, b = hosts_of(client, dev.id)[:2]
    into_maintenance(client, b.id)
    # the last usable host of a cluster
    refused(hosts_api.enter_maintenance_mode_pre_check, {"where": {"id": a.id}}, fragment="maintenance")
    refused(hosts_api.enter_maintenance_mode, {"where": {"host_id": a.id}, "data": {}}, fragment="maintenance")
    refused(hosts_api.enter_maintenance_mode_precheck_result, {"where": {"task_id": "nope"}}, fragment="nope")
    out = hosts_api.exit_maintenance_mode({"where": {"host_id": b.id}, "data": {}})
    wait_tasks([out.task_id], client, interval=0.01, timeout=10)
    # running VMs with nowhere to go must be shut down
    fill(client, dev, b, keep=8 * GiB)
    vm = blank_vm(client, dev, "stuck", status="RUNNING", host_id=a.id, memory=16 * GiB)
    check = hosts_api.enter_maintenance_mode_pre_check({"where": {"id": a.id}})
    wait_tasks([check.task_id], client, interval=0.01, timeout=10)
    result = hosts_api.enter_maintenance_mode_precheck_result({"where": {"task_id": check.task_id}})
    assert vm.local_id in {s.vm_uuid for s in result.shutdown_vms}
    refused(hosts_api.enter_maintenance_mode, {"where": {"host_id": a.id}, "data": {}}, fragment="room")
    stuck = [s.vm_uuid for s in result.shutdown_vms]
    out = hosts_api.enter_maintenance_mode({"where": {"host_id": a.id}, "data": {"shutdown_vms": stuck}})
    wait_tasks([out.task_id], client, interval=0.01, timeout=10)
    assert get_vm(client, vm.id).status == "STOPPED"
    back = hosts_api.exit_maintenance_mode_precheck_result({"where": {"id": a.id}})
    assert vm.local_id in {i.vm_uuid for i in back.shut_down_vms}
    out = hosts_api.exit_maintenance_mode({"where": {"host_id": a.id}, "data": {"poweron_vms": [vm.local_id]}})
    wait_tasks([out.task_id], client, interval=0.01, timeout=10)
    got = get_vm(client, vm.id)
    assert (got.status, got.host.id) == ("RUNNING", a.id)


def test_entering_is_a_visible_state(served, env):
    """With tasks taking time, the host is ENTERING_MAINTENANCE_MODE until its task ends."""
    client, store = env
    url, state = served
    eng = state.world().tasks
    prod = cluster_named(client, "prod")
    host = hosts_of(client, prod.id)[0]
    eng.instant = False
    state.config.task_speed, speed = 1.0, state.config.task_speed
    try:
        check = HostApi(client).enter_maintenance_mode_pre_check({"where": {"id": host.id}})
        with store.lock:
            eng.settle_all()
        result = HostApi(client).enter_maintenance_mode_precheck_result({"where": {"task_id": check.task_id}})
        out = HostApi(client).enter_maintenance_mode({"where": {"host_id": host.id}, "data": {
            "shutdown_vms": [s.vm_uuid for s in result.shutdown_vms]}})
        got = HostApi(client).get_hosts({"where": {"id": host.id}})[0]
        assert got.host_state.state == "ENTERING_MAINTENANCE_MODE"
        assert got.host_state.maintenance_job_id == out.task_id
        with store.lock:
            eng.settle_all()
    finally:
        state.config.task_speed = speed
    assert HostApi(client).get_hosts({"where": {"id": host.id}})[0].host_state.state == "MAINTENANCE_MODE"


# ----------------------------------------------------------------------- uploads

def test_example_chunked_svt_upload(env, tmp_path):
    client, store = env
    prod = cluster_named(client, "prod")
    svt = SvtImageApi(client)
    chunk = 8 * 1024 * 1024
    total = 2 * chunk + 1234
    payload = bytes(range(256)) * (total // 256) + b"x" * (total % 256)
    resp = svt.upload_svt_image(file=payload[:chunk], version="2.12.1", size=str(total), cluster_id=prod.id,
                                name="test-from-python-sdk")
    task_id = resp[0].id
    assert (resp[0].resource_type, resp[0].status, resp[0].current_chunk, resp[0].size, resp[0].chunk_size) == \
        ("SVT_IMAGE", "UPLOADING", 1, total, chunk)
    assert svt.get_svt_images({"where": {"name": "test-from-python-sdk"}}) == []
    pos, chunks = chunk, 1
    while pos < total:
        resp = svt.upload_svt_image(file=payload[pos:pos + chunk], version="2.12.1", size=str(total),
                                    cluster_id=prod.id, name="test-from-python-sdk", upload_task_id=task_id)
        pos, chunks = pos + chunk, chunks + 1
        assert resp[0].id == task_id and resp[0].current_chunk == chunks
    assert resp[0].status == "SUCCESSED" and resp[0].finished_at
    images = svt.get_svt_images({"where": {"name": "test-from-python-sdk"}})
    assert [(i.size, i.cluster.id) for i in images] == [(total, prod.id)]
    assert UploadTaskApi(client).get_upload_tasks({"where": {"id": task_id}})[0].status == "SUCCESSED"
    refused(svt.upload_svt_image, file=b"more", upload_task_id=task_id, fragment="SUCCESSED")


def test_elf_and_content_library_uploads(env):
    client, store = env
    prod, dev = cluster_named(client, "prod"), cluster_named(client, "dev")
    elf = ElfImageApi(client)
    first = elf.create_elf_image(file=b"a" * 1000, size="1500", cluster_id=prod.id, name="tiny.iso",
                                 description="d")[0]
    assert (first.resource_type, first.status) == ("ELF_IMAGE", "UPLOADING")
    refused(elf.create_elf_image, file=b"b" * 1000, upload_task_id=first.id, fragment="declared size")
    last = elf.create_elf_image(file=b"b" * 500, upload_task_id=first.id)[0]
    assert (last.status, last.current_chunk) == ("SUCCESSED", 2)
    img = elf.get_elf_images({"where": {"name": "tiny.iso"}})[0]
    assert (img.size, img.cluster.id, img.description) == (1500, prod.id, "d")
    refused(elf.create_elf_image, file=b"x", size="1", cluster_id="nope", name="n", fragment="nope")
    # an upload given up: cancelled, later chunks refused, no image
    gone = elf.create_elf_image(file=b"c" * 10, size="100", cluster_id=prod.id, name="cancelled.iso")[0]
    assert UploadTaskApi(client).cancel_upload_task({"where": {"id": gone.id}}) == [gone.id]
    assert UploadTaskApi(client).get_upload_tasks({"where": {"id": gone.id}})[0].status == "FAILED"
    refused(elf.create_elf_image, file=b"c", upload_task_id=gone.id, fragment="FAILED")
    assert elf.get_elf_images({"where": {"name": "cancelled.iso"}}) == []
    refused(SvtImageApi(client).upload_svt_image, file=b"x", upload_task_id=first.id, fragment="ELF_IMAGE")
    lib = ContentLibraryImageApi(client)
    done = lib.create_content_library_image(file=b"z" * 64, size="64", clusters=json.dumps([prod.id, dev.id]),
                                            name="lib.iso")[0]
    assert (done.resource_type, done.status) == ("CONTENT_LIBRARY_IMAGE", "SUCCESSED")
    got = lib.get_content_library_images({"where": {"name": "lib.iso"}})[0]
    assert sorted(c.id for c in got.clusters) == sorted([prod.id, dev.id]) and len(got.elf_images) == 2
    # the cluster copy is what a CD-ROM of a VM gets
    vm = blank_vm(client, prod, "cd-vm", vm_disks={"mount_cd_roms": [{"boot": 0, "index": 0,
                                                                      "content_library_image_id": got.id}]})
    cd = VmApi(client).get_vms({"where": {"id": vm.id}})[0].vm_disks
    assert len(cd) == 1
    tasks = TaskApi(client).get_tasks({"where": {"resource_id": vm.id}})
    assert tasks and tasks[0].status == "SUCCESSED"


# -------------------------------------------------- the Go SDK's README shapes

def test_go_readme_template_disks_and_float_numbers(env, served):
    """The Go SDK sends int64 fields as float64 (`8.589934592e+09`) and modifies a template's
    disk to use an existing volume (`modify_disks[].vm_volume_id`)."""
    import requests
    client, store = env
    url, _ = served
    token = requests.post(url + "/login", json={"username": "root", "password": "root"}).json()["data"]["token"]
    headers = {"Authorization": token, "content-type": "application/json"}
    from cloudtower.api import VmTemplateApi
    prod = cluster_named(client, "prod")
    src = blank_vm(client, prod, "go-src", vm_disks={"mount_new_create_disks": [
        {"boot": i, "bus": "VIRTIO", "vm_volume": {"elf_storage_policy": "REPLICA_2_THIN_PROVISION",
                                                   "size": (i + 1) * GiB, "name": f"go-src-{i}"}} for i in range(2)]})
    out = wait(VmTemplateApi(client).clone_vm_template_from_vm([{"vm_id": src.id, "name": "go-tpl",
                                                                 "cloud_init_supported": False}]), client)
    tpl = store.get("VmTemplate", out[0].data.id)
    n = len(tpl["vm_disks"])
    assert n == 2
    target = 1
    vols = VmVolumeApi(client)
    made = wait(vols.create_vm_volume([{"cluster_id": tpl["cluster"], "name": "go-swap", "size": GiB,
                                        "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "sharing": False}]), client)
    vol_id = made[0].data.id
    raw = ('[{"template_id": "%s", "cluster_id": "%s", "name": "go-vm", "is_full_copy": false, '
           '"memory": 8.589934592e+09, "disk_operate": {"modify_disks": [{"disk_index": %d, "vm_volume_id": "%s"}], '
           '"new_disks": {"mount_new_create_disks": [{"boot": 9, "bus": "VIRTIO", "vm_volume": {'
           '"elf_storage_policy": "REPLICA_2_THIN_PROVISION", "size": 4.294967296e+09, "name": "go-disk"}}]}}}]'
           % (tpl["id"], tpl["cluster"], target, vol_id))
    r = requests.post(url + "/create-vm-from-template", data=raw, headers=headers)
    assert r.status_code == 200, r.text
    assert '"memory":8589934592,' in r.text
    vm = get_vm(client, r.json()[0]["data"]["id"])
    assert vm.memory == 8 * GiB and len(vm.vm_disks) == n + 1
    got = vols.get_vm_volumes({"where": {"vm_disks_some": {"vm": {"id": vm.id}}}})
    assert sorted(v.size for v in got) == [GiB, GiB, 4 * GiB] and vol_id in {v.id for v in got}
    assert vols.get_vm_volumes({"where": {"id": vol_id}})[0].mounting is True
    # a VM template serves its own cluster only
    dev = cluster_named(client, "dev")
    refused(VmApi(client).create_vm_from_template, [{"template_id": tpl["id"], "cluster_id": dev.id,
                                                      "name": "elsewhere", "is_full_copy": False}],
            fragment="another cluster")


def test_package_and_ovf_uploads(env):
    from cloudtower.api import CloudTowerApplicationApi, CloudTowerApplicationPackageApi, OvfApi
    client, store = env
    apps = CloudTowerApplicationApi(client)
    done = apps.upload_cloud_tower_application_package(file=b"p" * 100, size="100", name="pkg.tar")[0]
    assert (done.resource_type, done.status) == ("CLOUDTOWER_APPLICATION_PACKAGE", "SUCCESSED")
    packages = CloudTowerApplicationPackageApi(client)
    assert [p.name for p in packages.get_cloud_tower_application_packages({"where": {"name": "pkg.tar"}})] == \
        ["pkg.tar"]
    prod = cluster_named(client, "prod")
    first = OvfApi(client).upload_elf_file(file=b"o" * 10, size="20", cluster_id=prod.id, name="a.ovf")
    assert (first.resource_type, first.status, first.current_chunk) == ("OVF", "UPLOADING", 1)
    last = OvfApi(client).upload_elf_file(file=b"o" * 10, upload_task_id=first.id)
    assert (last.status, last.current_chunk) == ("SUCCESSED", 2)
