"""The official Python SDK (cloudtower 2.20.0) drives the mock over real HTTP, waiting with
wait_tasks: VM create → start → snapshot → rollback → power off → delete; NICs, disks,
CD-ROMs, volumes, folders, placement groups, templates, labels, iSCSI targets / LUNs / LUN
snapshots, consistency groups, the global recycle bin, datacenters and users; and the
backup walk of contract.md §3."""

from __future__ import annotations

import json

import pytest

cloudtower = pytest.importorskip("cloudtower")
pytest.importorskip("cheroot.wsgi")

from cloudtower import ApiClient, Configuration  # noqa: E402
from cloudtower.api.user_api import UserApi  # noqa: E402
from cloudtower.api.vm_api import VmApi  # noqa: E402
from cloudtower.api.vm_snapshot_api import VmSnapshotApi  # noqa: E402
from cloudtower.api.task_api import TaskApi  # noqa: E402
from cloudtower.api.cluster_api import ClusterApi  # noqa: E402
from cloudtower.api.consistency_group_api import ConsistencyGroupApi  # noqa: E402
from cloudtower.api.consistency_group_snapshot_api import ConsistencyGroupSnapshotApi  # noqa: E402
from cloudtower.api.datacenter_api import DatacenterApi  # noqa: E402
from cloudtower.api.global_settings_api import GlobalSettingsApi  # noqa: E402
from cloudtower.api.iscsi_lun_api import IscsiLunApi  # noqa: E402
from cloudtower.api.iscsi_lun_snapshot_api import IscsiLunSnapshotApi  # noqa: E402
from cloudtower.api.iscsi_target_api import IscsiTargetApi  # noqa: E402
from cloudtower.api.label_api import LabelApi  # noqa: E402
from cloudtower.api.vds_api import VdsApi  # noqa: E402
from cloudtower.api.vlan_api import VlanApi  # noqa: E402
from cloudtower.api.vm_disk_api import VmDiskApi  # noqa: E402
from cloudtower.api.vm_folder_api import VmFolderApi  # noqa: E402
from cloudtower.api.vm_nic_api import VmNicApi  # noqa: E402
from cloudtower.api.vm_placement_group_api import VmPlacementGroupApi  # noqa: E402
from cloudtower.api.vm_template_api import VmTemplateApi  # noqa: E402
from cloudtower.api.vm_volume_api import VmVolumeApi  # noqa: E402
from cloudtower.api.vm_volume_snapshot_api import VmVolumeSnapshotApi  # noqa: E402
from cloudtower.utils import wait_tasks  # noqa: E402

from mock_server.app import create_app  # noqa: E402
from mock_server.behaviour.synth import minimal_world  # noqa: E402
from mock_server.state import MockConfig  # noqa: E402

from helpers import load_spec_contract, served_app  # noqa: E402


def _world(contract):
    try:
        from mock_server.world.generator import generate
        return generate(contract, None, seed=5)
    except ImportError:
        return minimal_world(contract)


@pytest.fixture(scope="module")
def server():
    contract = load_spec_contract()
    app = create_app(MockConfig(task_speed=4.0), contract=contract, world_factory=lambda: _world(contract))
    with served_app(app, numthreads=4) as url:
        yield url, app.config["MOCK_STATE"]


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
        vm = next(v for v in vm_api.get_vms({"where": {"status": "STOPPED", "in_recycle_bin": False,
                                                       "cluster": {"id_in": usable_clusters(api)}}})
                  if v.entity_async_status is None)
        started = vm_api.start_vm({"where": {"id": vm.id}})
        with pytest.raises(cloudtower.ApiException) as exc:
            wait_tasks([s.task_id for s in started], api, interval=0.05, timeout=20)
        assert "HostAvailableMemoryFilter" in str(exc.value)
        assert vm_api.get_vms({"where": {"id": vm.id}})[0].status == "STOPPED"
    finally:
        eng.remove_failure_rule(rule)


# ------------------------------------------------------------------ helpers

GiB = 1024 ** 3


def usable_clusters(api):
    """Clusters with a host a VM may be scheduled on (connected, out of maintenance)."""
    from cloudtower.api.host_api import HostApi
    out = set()
    for h in HostApi(api).get_hosts({}):
        state = h.host_state.state if h.host_state else None
        if h.status.startswith("CONNECTED") and h.state != "REMOVING" and state in (None, "IN_USE"):
            out.add(h.cluster.id)
    return sorted(out)


def wait(results, api):
    ids = [r.task_id for r in (results if isinstance(results, list) else [results]) if r.task_id]
    if ids:
        wait_tasks(ids, api, interval=0.05, timeout=20)
    return results


def refused(call, *args, fragment=""):
    with pytest.raises(cloudtower.ApiException) as exc:
        call(*args)
    assert exc.value.status == 400, exc.value
    body = json.loads(exc.value.body)
    assert fragment in body["message"], body["message"]
    return body


def cluster_and_vlan(api):
    """A cluster with a VM VLAN, that VLAN, and a VLAN of another cluster."""
    vlans = VlanApi(api).get_vlans({"where": {"type": "VM"}})
    by_cluster = {}
    vdses = {d.id: d.cluster.id for d in VdsApi(api).get_vdses({})}     # a VLAN's cluster is its VDS's
    for v in vlans:
        by_cluster.setdefault(vdses[v.vds.id], []).append(v.id)
    clusters = sorted(by_cluster)
    return clusters[0], by_cluster[clusters[0]][0], by_cluster[clusters[1]][0] if len(clusters) > 1 else None


def make_vm(api, name, cluster, vlan=None, disks=(10,)):
    created = VmApi(api).create_vm([{
        "cluster_id": cluster, "name": name, "vcpu": 2, "memory": 2, "memory_unit": "GB", "cpu_cores": 1,
        "cpu_sockets": 2, "ha": False, "firmware": "BIOS", "status": "STOPPED",
        "vm_nics": [{"connect_vlan_id": vlan}] if vlan else [],
        "vm_disks": {"mount_new_create_disks": [{
            "vm_volume": {"elf_storage_policy": "REPLICA_2_THIN_PROVISION", "size": size, "size_unit": "GB",
                          "name": f"{name}-d{i}"}, "bus": "VIRTIO", "boot": i} for i, size in enumerate(disks)]}}])
    wait(created, api)
    return created[0].data.id


def get_vm(api, vm_id):
    out = VmApi(api).get_vms({"where": {"id": vm_id}})
    return out[0] if out else None


# -------------------------------------------------------------------- NICs

def test_nic_add_update_remove(client):
    api, state = client
    vm_api, nic_api = VmApi(api), VmNicApi(api)
    cluster, vlan, foreign = cluster_and_vlan(api)
    vm_id = make_vm(api, "sdk-nic-vm", cluster, vlan)
    assert len(get_vm(api, vm_id).vm_nics) == 1

    wait(vm_api.add_vm_nic({"where": {"id": vm_id}, "data": {"vm_nics": [
        {"connect_vlan_id": vlan, "model": "E1000", "ip_address": "10.1.2.3", "mac_address": "52:54:00:aa:bb:cc"}]}}),
        api)
    nics = nic_api.get_vm_nics({"where": {"vm": {"id": vm_id}}, "orderBy": "order_ASC"})
    assert [n.order for n in nics] == [0, 1] and nics[1].model == "E1000" and nics[1].vlan.id == vlan
    assert {n.id for n in nics} == {n.id for n in get_vm(api, vm_id).vm_nics}

    wait(vm_api.update_vm_nic({"where": {"id": vm_id}, "data": {"nic_index": 1, "enabled": False,
                                                                "ip_address": "10.1.2.4"}}), api)
    wait(vm_api.update_vm_nic_basic_info({"where": {"id": nics[0].id}, "data": {"ip_address": "10.9.9.9",
                                                                                  "gateway": "10.9.9.1"}}), api)
    wait(vm_api.update_vm_nic_advance_info({"where": {"id": nics[1].id}, "data": {"mirror": True}}), api)
    after = {n.id: n for n in nic_api.get_vm_nics({"where": {"vm": {"id": vm_id}}})}
    assert after[nics[1].id].enabled is False and after[nics[1].id].ip_address == "10.1.2.4"
    assert after[nics[1].id].mirror is True and after[nics[0].id].ip_address == "10.9.9.9"

    # refusals: a VLAN of another cluster, an unknown VLAN, a bad IP, a used MAC, a missing index
    if foreign:
        refused(vm_api.add_vm_nic, {"where": {"id": vm_id}, "data": {"vm_nics": [{"connect_vlan_id": foreign}]}},
                fragment="connect_vlan_id")
    refused(vm_api.add_vm_nic, {"where": {"id": vm_id}, "data": {"vm_nics": [{"connect_vlan_id": "cnosuchvlan"}]}},
            fragment="cnosuchvlan")
    refused(vm_api.update_vm_nic, {"where": {"id": vm_id}, "data": {"nic_index": 0, "ip_address": "10.1.2"}},
            fragment="ip_address")
    refused(vm_api.add_vm_nic, {"where": {"id": vm_id}, "data": {"vm_nics": [
        {"connect_vlan_id": vlan, "mac_address": "52:54:00:aa:bb:cc"}]}}, fragment="MAC")
    refused(vm_api.remove_vm_nic, {"where": {"id": vm_id}, "data": {"nic_index": [5]}}, fragment="index 5")

    wait(vm_api.remove_vm_nic({"where": {"id": vm_id}, "data": {"nic_index": [0]}}), api)
    left = nic_api.get_vm_nics({"where": {"vm": {"id": vm_id}}})
    assert [(n.id, n.order) for n in left] == [(nics[1].id, 0)]
    assert [n.id for n in get_vm(api, vm_id).vm_nics] == [nics[1].id]
    wait(vm_api.delete_vm({"where": {"id": vm_id}}), api)
    assert nic_api.get_vm_nics({"where": {"vm": {"id": vm_id}}}) == []


# ------------------------------------------------------------- disks, CD-ROMs

def test_disk_add_expand_remove_and_cd_rom(client):
    api, state = client
    vm_api, disk_api, vol_api = VmApi(api), VmDiskApi(api), VmVolumeApi(api)
    cluster, vlan, _ = cluster_and_vlan(api)
    vm_id = make_vm(api, "sdk-disk-vm", cluster)
    wait(vm_api.add_vm_disk({"where": {"id": vm_id}, "data": {"vm_disks": {"mount_new_create_disks": [
        {"vm_volume": {"elf_storage_policy": "REPLICA_2_THIN_PROVISION", "size": 5, "size_unit": "GB",
                       "name": "sdk-disk-vm-extra"}, "bus": "SCSI", "boot": 1}]}}}), api)
    disks = disk_api.get_vm_disks({"where": {"vm": {"id": vm_id}}, "orderBy": "boot_ASC"})
    assert len(disks) == 2 and disks[1].bus == "SCSI"
    vol = vol_api.get_vm_volumes({"where": {"id": disks[1].vm_volume.id}})[0]
    assert vol.size == 5 * GiB and vol.lun is not None
    lun = IscsiLunApi(api).get_iscsi_luns({"where": {"id": vol.lun.id}})[0]
    assert lun.assigned_size == 5 * GiB

    wait(vm_api.expand_vm_disk({"where": {"id": disks[1].id}, "size": 8, "size_unit": "GB"}), api)
    assert vol_api.get_vm_volumes({"where": {"id": vol.id}})[0].size == 8 * GiB
    assert IscsiLunApi(api).get_iscsi_luns({"where": {"id": lun.id}})[0].assigned_size == 8 * GiB
    refused(vm_api.expand_vm_disk, {"where": {"id": disks[1].id}, "size": 4, "size_unit": "GB"}, fragment="grow")

    wait(vm_api.add_vm_cd_rom({"where": {"id": vm_id}, "data": {"vm_cd_roms": [{"boot": 5}]}}), api)
    cd = disk_api.get_vm_disks({"where": {"vm": {"id": vm_id}, "type": "CD_ROM"}})
    assert len(cd) == 1 and cd[0].vm_volume is None
    wait(vm_api.toggle_vm_cd_rom_disable({"where": {"id": cd[0].id}, "disabled": True}), api)
    assert disk_api.get_vm_disks({"where": {"id": cd[0].id}})[0].disabled is True
    refused(vm_api.remove_vm_cd_rom, {"where": {"id": vm_id}, "data": {"cd_rom_ids": [disks[0].id]}},
            fragment="not a CD-ROM")
    wait(vm_api.remove_vm_cd_rom({"where": {"id": vm_id}, "data": {"cd_rom_ids": [cd[0].id]}}), api)

    wait(vm_api.remove_vm_disk({"where": {"id": vm_id}, "data": {"disk_ids": [disks[1].id]}}), api)
    assert [d.id for d in get_vm(api, vm_id).vm_disks] == [disks[0].id]
    # the volume stays, unmounted, and can then be deleted (taking its LUN)
    wait(vol_api.delete_vm_volume_from_vm({"where": {"id": vol.id}}), api)
    assert vol_api.get_vm_volumes({"where": {"id": vol.id}}) == []
    assert IscsiLunApi(api).get_iscsi_luns({"where": {"id": lun.id}}) == []
    refused(vol_api.delete_vm_volume_from_vm, {"where": {"id": disks[0].vm_volume.id}}, fragment="mounted")
    wait(vm_api.delete_vm({"where": {"id": vm_id}}), api)


# ---------------------------------------------------------------- volumes

def test_volume_create_update_snapshot_rollback_rebuild_delete(client):
    api, state = client
    vol_api, vs_api = VmVolumeApi(api), VmVolumeSnapshotApi(api)
    cluster, _, _ = cluster_and_vlan(api)
    created = wait(vol_api.create_vm_volume([{"cluster_id": cluster, "name": "sdk-vol", "size": 2, "size_unit": "GB",
                                              "sharing": False, "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}]),
                   api)
    vid = created[0].data.id
    refused(vol_api.create_vm_volume, [{"cluster_id": cluster, "name": "sdk-vol", "size": 1, "size_unit": "GB",
                                        "sharing": False, "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}],
            fragment="already exists")
    wait(vol_api.update_vm_volume({"where": {"id": vid}, "data": {"size": 3, "size_unit": "GB"}}), api)
    assert vol_api.get_vm_volumes({"where": {"id": vid}})[0].size == 3 * GiB
    refused(vol_api.update_vm_volume, {"where": {"id": vid}, "data": {"size": 1, "size_unit": "GB"}}, fragment="grow")

    snaps = wait(vs_api.create_vm_volume_snapshot([{"volume_id": vid, "name": "vs-1", "description": "d"}]), api)
    sid = snaps[0].data.id
    snap = vs_api.get_vm_volume_snapshots({"where": {"id": sid}})[0]
    assert snap.vm_volume.id == vid and snap.volume_size == 3 * GiB

    wait(vol_api.update_vm_volume({"where": {"id": vid}, "data": {"size": 6, "size_unit": "GB"}}), api)
    wait(vol_api.rollback_vm_volume([{"volume_snapshot_id": sid}]), api)
    assert vol_api.get_vm_volumes({"where": {"id": vid}})[0].size == 3 * GiB

    rebuilt = wait(vol_api.rebuild_vm_volume([{"volume_snapshot_id": sid, "name": "sdk-vol-rebuilt",
                                               "description": ""}]), api)
    new_vol = vol_api.get_vm_volumes({"where": {"id": rebuilt[0].data.id}})[0]
    assert new_vol.size == 3 * GiB and new_vol.lun is not None and new_vol.lun.id != \
        vol_api.get_vm_volumes({"where": {"id": vid}})[0].lun.id

    wait(vol_api.delete_vm_volume_from_vm({"where": {"id_in": [vid, new_vol.id]},
                                           "effect": {"include_snapshots": True}}), api)
    assert vol_api.get_vm_volumes({"where": {"id_in": [vid, new_vol.id]}}) == []
    assert vs_api.get_vm_volume_snapshots({"where": {"id": sid}}) == []


# ------------------------------------------------------- folders, placement

def test_folder_workflow(client):
    api, state = client
    f_api, vm_api = VmFolderApi(api), VmApi(api)
    cluster, _, _ = cluster_and_vlan(api)
    vm_id = make_vm(api, "sdk-folder-vm", cluster)
    fid = wait(f_api.create_vm_folder([{"cluster_id": cluster, "name": "sdk-folder"}]), api)[0].data.id
    refused(f_api.create_vm_folder, [{"cluster_id": cluster, "name": "sdk-folder"}], fragment="already exists")
    refused(f_api.create_vm_folder, [{"cluster_id": "cnosuchcluster", "name": "x"}], fragment="cluster_id")
    wait(vm_api.add_vm_to_folder({"where": {"id": vm_id}, "data": {"folder_id": fid}}), api)
    assert get_vm(api, vm_id).folder.id == fid
    folder = f_api.get_vm_folders({"where": {"id": fid}})[0]
    assert [v.id for v in folder.vms] == [vm_id] and folder.vm_num == 1
    wait(f_api.update_vm_folder({"where": {"id": fid}, "data": {"name": "sdk-folder-2"}}), api)
    assert get_vm(api, vm_id).folder.name == "sdk-folder-2"
    wait(f_api.delete_vm_folder({"where": {"id": fid}}), api)
    vm = get_vm(api, vm_id)
    assert vm is not None and vm.folder is None
    wait(vm_api.delete_vm({"where": {"id": vm_id}}), api)


def test_placement_group_workflow(client):
    api, state = client
    pg_api = VmPlacementGroupApi(api)
    cluster, _, _ = cluster_and_vlan(api)
    a, b = make_vm(api, "sdk-pg-a", cluster), make_vm(api, "sdk-pg-b", cluster)
    made = wait(pg_api.create_vm_placement_group([{
        "cluster_id": cluster, "name": "sdk-pg", "enabled": True, "vm_vm_policy_enabled": True,
        "vm_vm_policy": "MUST_DIFFERENT", "vms": {"id_in": [a, b]}}]), api)
    gid = made[0].data.id
    group = pg_api.get_vm_placement_groups({"where": {"id": gid}})[0]
    assert sorted(v.id for v in group.vms) == sorted([a, b]) and group.vm_vm_policy == "MUST_DIFFERENT"
    assert [g.id for g in get_vm(api, a).vm_placement_group] == [gid]
    refused(pg_api.create_vm_placement_group, [{"cluster_id": cluster, "name": "sdk-pg", "enabled": True}],
            fragment="already exists")
    wait(pg_api.update_vm_placement_group({"where": {"id": gid}, "data": {"vms": {"id": a},
                                                                           "vm_vm_policy": "PREFER_SAME"}}), api)
    group = pg_api.get_vm_placement_groups({"where": {"id": gid}})[0]
    assert [v.id for v in group.vms] == [a] and group.vm_vm_policy == "PREFER_SAME"
    assert get_vm(api, b).vm_placement_group == []
    wait(pg_api.delete_vm_placement_group({"where": {"id": gid}}), api)
    assert pg_api.get_vm_placement_groups({"where": {"id": gid}}) == []
    assert get_vm(api, a).vm_placement_group == []
    wait(VmApi(api).delete_vm({"where": {"id_in": [a, b]}}), api)


# ------------------------------------------------------------------ templates

def test_template_from_vm_and_back(client):
    api, state = client
    t_api, vm_api = VmTemplateApi(api), VmApi(api)
    cluster, vlan, _ = cluster_and_vlan(api)
    src = make_vm(api, "sdk-tpl-src", cluster, vlan, disks=(10, 20))
    cloned = wait(t_api.clone_vm_template_from_vm([{"vm_id": src, "name": "sdk-tpl", "cloud_init_supported": False}]),
                  api)
    tid = cloned[0].data.id
    tpl = t_api.get_vm_templates({"where": {"id": tid}})[0]
    assert sorted(d.size for d in tpl.vm_disks) == [10 * GiB, 20 * GiB] and len(tpl.vm_nics) == 1
    assert tpl.memory == 2 * GiB and get_vm(api, src) is not None
    refused(t_api.clone_vm_template_from_vm, [{"vm_id": src, "name": "sdk-tpl", "cloud_init_supported": False}],
            fragment="already exists")

    made = wait(vm_api.create_vm_from_template([{"template_id": tid, "name": "sdk-from-tpl", "is_full_copy": False}]),
                api)
    vm = get_vm(api, made[0].data.id)
    assert len(vm.vm_disks) == 2 and len(vm.vm_nics) == 1 and vm.memory == 2 * GiB

    # a VM converted to a template is gone; the template converted back is gone
    conv = wait(t_api.convert_vm_template_from_vm([{"vm_id": vm.id, "name": "sdk-tpl-2",
                                                    "cloud_init_supported": True}]), api)
    assert get_vm(api, vm.id) is None
    back = wait(vm_api.convert_vm_template_to_vm([{"converted_from_template_id": conv[0].data.id,
                                                   "name": "sdk-back"}]), api)
    assert t_api.get_vm_templates({"where": {"id": conv[0].data.id}}) == []
    assert len(get_vm(api, back[0].data.id).vm_disks) == 2
    wait(t_api.delete_vm_template({"where": {"id": tid}}), api)
    wait(vm_api.delete_vm({"where": {"id_in": [src, back[0].data.id]}}), api)


# --------------------------------------------------------------------- labels

def test_label_create_attach_detach_delete(client):
    api, state = client
    l_api = LabelApi(api)
    cluster, _, _ = cluster_and_vlan(api)
    vm_id = make_vm(api, "sdk-label-vm", cluster)
    lid = wait(l_api.create_label([{"key": "sdk", "value": "one"}]), api)[0].data.id
    refused(l_api.create_label, [{"key": "sdk", "value": "one"}], fragment="already exists")
    wait(l_api.add_labels_to_resources({"where": {"id": lid}, "data": {"vms": {"id": vm_id},
                                                                      "clusters": {"id": cluster}}}), api)
    assert [lab.id for lab in get_vm(api, vm_id).labels] == [lid]
    assert lid in [lab.id for lab in ClusterApi(api).get_clusters({"where": {"id": cluster}})[0].labels]
    label = l_api.get_labels({"where": {"id": lid}})[0]
    assert label.vm_num == 1 and label.cluster_num == 1 and label.total_num == 2
    assert [v.id for v in VmApi(api).get_vms({"where": {"labels_some": {"key": "sdk", "value": "one"}}})] == [vm_id]
    wait(l_api.remove_labels_from_resources({"where": {"id": lid}, "data": {"vms": {"id": vm_id}}}), api)
    assert get_vm(api, vm_id).labels == []
    assert l_api.get_labels({"where": {"id": lid}})[0].total_num == 1
    wait(l_api.update_label({"where": {"id": lid}, "data": {"value": "two"}}), api)
    wait(l_api.delete_label({"where": {"id": lid}}), api)
    assert l_api.get_labels({"where": {"id": lid}}) == []
    assert lid not in [lab.id for lab in ClusterApi(api).get_clusters({"where": {"id": cluster}})[0].labels]
    wait(VmApi(api).delete_vm({"where": {"id": vm_id}}), api)


# ---------------------------------------------------------------------- iSCSI

def test_iscsi_target_lun_snapshot_rollback_clone_delete(client):
    api, state = client
    t_api, lun_api, ls_api = IscsiTargetApi(api), IscsiLunApi(api), IscsiLunSnapshotApi(api)
    cluster, _, _ = cluster_and_vlan(api)
    target = wait(t_api.create_iscsi_target([{"name": "sdk-target", "cluster_id": cluster, "stripe_num": 4,
                                              "stripe_size": 256, "stripe_size_unit": "KB", "replica_num": 2,
                                              "thin_provision": True}]), api)[0].data.id
    luns = wait(lun_api.create_iscsi_lun([{"name": "sdk-lun", "iscsi_target_id": target, "assigned_size": 4,
                                           "assigned_size_unit": "GB", "replica_num": 2}]), api)
    lun_id = luns[0].data.id
    lun = lun_api.get_iscsi_luns({"where": {"id": lun_id}})[0]
    assert lun.assigned_size == 4 * GiB and lun.iscsi_target.id == target and lun.lun_id == 1
    refused(lun_api.create_iscsi_lun, [{"name": "sdk-lun", "iscsi_target_id": target, "assigned_size": 1,
                                        "replica_num": 2}], fragment="already has a LUN")
    snap = wait(ls_api.create_iscsi_lun_snapshot([{"iscsi_lun_id": lun_id, "iscsi_target_id": target,
                                                   "name": "sdk-lun-snap"}]), api)[0].data.id
    assert lun_api.get_iscsi_luns({"where": {"id": lun_id}})[0].snapshot_num == 1
    wait(lun_api.rollback_iscsi_lun_from_snapshot([{"lun_id": lun_id, "snapshot_id": snap}]), api)
    clone = wait(lun_api.clone_iscsi_lun_from_snapshot([{"snapshot_id": snap, "name": "sdk-lun-clone",
                                                         "iscsi_target_id": target}]), api)[0].data.id
    cl = lun_api.get_iscsi_luns({"where": {"id": clone}})[0]
    assert cl.assigned_size == 4 * GiB and cl.lun_id == 2
    refused(lun_api.rollback_iscsi_lun_from_snapshot, [{"lun_id": clone, "snapshot_id": snap}],
            fragment="not a snapshot of LUN")
    refused(lun_api.delete_iscsi_lun, {"where": {"id": lun_id}, "data": {"remove_snapshot": False}},
            fragment="remove_snapshot")
    wait(lun_api.delete_iscsi_lun({"where": {"id_in": [lun_id, clone]}, "data": {"remove_snapshot": True}}), api)
    assert lun_api.get_iscsi_luns({"where": {"id_in": [lun_id, clone]}}) == []
    assert ls_api.get_iscsi_lun_snapshots({"where": {"id": snap}}) == []
    wait(t_api.delete_iscsi_target({"where": {"id": target}}), api)


def test_consistency_group_snapshot(client):
    api, state = client
    lun_api, cg_api, cgs_api = IscsiLunApi(api), ConsistencyGroupApi(api), ConsistencyGroupSnapshotApi(api)
    ls_api = IscsiLunSnapshotApi(api)
    cluster, _, _ = cluster_and_vlan(api)
    target = wait(IscsiTargetApi(api).create_iscsi_target([{
        "name": "sdk-cg-target", "cluster_id": cluster, "stripe_num": 4, "stripe_size": 256, "replica_num": 2,
        "thin_provision": True}]), api)[0].data.id
    luns = [r.data.id for r in wait(lun_api.create_iscsi_lun([
        {"name": f"sdk-cg-lun{i}", "iscsi_target_id": target, "assigned_size": 1, "assigned_size_unit": "GB",
         "replica_num": 2} for i in range(2)]), api)]
    gid = wait(cg_api.create_consistency_group([{"cluster_id": cluster, "name": "sdk-cg", "iscsi_luns_ids": luns,
                                                 "namespaces_ids": []}]), api)[0].data.id
    assert sorted(x.id for x in cg_api.get_consistency_groups({"where": {"id": gid}})[0].iscsi_luns) == sorted(luns)
    refused(cg_api.create_consistency_group, [{"cluster_id": cluster, "name": "sdk-cg-2", "iscsi_luns_ids": luns[:1],
                                               "namespaces_ids": []}], fragment="already in consistency group")
    cgs = wait(cgs_api.create_consistency_group_snapshot([{"consistency_group_id": gid, "name": "sdk-cgs"}]),
               api)[0].data.id
    members = ls_api.get_iscsi_lun_snapshots({"where": {"consistency_group_snapshot": {"id": cgs}}})
    assert sorted(m.iscsi_lun.id for m in members) == sorted(luns)
    wait(cgs_api.delete_consistency_group_snapshot({"where": {"id": cgs}, "data": {"remain_volume_snapshot": False}}),
         api)
    assert ls_api.get_iscsi_lun_snapshots({"where": {"id_in": [m.id for m in members]}}) == []
    wait(cg_api.delete_consistency_group({"where": {"id": gid}, "data": {"remain_volume_snapshot": False}}), api)
    assert all(x.consistency_group is None for x in lun_api.get_iscsi_luns({"where": {"id_in": luns}}))
    wait(lun_api.delete_iscsi_lun({"where": {"id_in": luns}, "data": {"remove_snapshot": True}}), api)


# --------------------------------------------- settings, datacenters, users

def test_recycle_bin_datacenter_user(client):
    api, state = client
    gs_api, vm_api = GlobalSettingsApi(api), VmApi(api)
    cluster, _, _ = cluster_and_vlan(api)
    vm_id = make_vm(api, "sdk-recycle-vm", cluster)
    wait(gs_api.update_global_recycle_bin_setting({"enabled": True, "retain": 7}), api)
    try:
        assert gs_api.get_global_settingses({})[0].vm_recycle_bin.enabled is True
        wait(vm_api.delete_vm({"where": {"id": vm_id}}), api)
        assert get_vm(api, vm_id).in_recycle_bin is True
    finally:
        wait(gs_api.update_global_recycle_bin_setting({"enabled": False, "retain": 7}), api)
    wait(vm_api.delete_vm({"where": {"id": vm_id}}), api)
    assert get_vm(api, vm_id) is None

    dc_api = DatacenterApi(api)
    org = state.world().store.tables["Organization"].ordered_ids()[0]
    made = dc_api.create_datacenter([{"name": "sdk-dc", "organization_id": org, "clusters": {"id": cluster}}])
    assert made[0].task_id is None
    dc = dc_api.get_datacenters({"where": {"id": made[0].data.id}})[0]
    assert [c.id for c in dc.clusters] == [cluster]
    refused(dc_api.create_datacenter, [{"name": "sdk-dc", "organization_id": org}], fragment="already exists")
    wait(dc_api.delete_datacenter({"where": {"id": dc.id}}), api)

    users = UserApi(api)
    root = users.get_users({"where": {"username": "root"}})[0]
    refused(users.delete_user, {"where": {"id": root.id}}, fragment="root user")
    from cloudtower.api.user_role_next_api import UserRoleNextApi
    role = UserRoleNextApi(api).get_user_role_nexts({})[0].id
    uid = wait(users.create_user([{"username": "sdk-user", "name": "Sdk", "role_id": role, "password": "x"}]),
               api)[0].data.id
    refused(users.create_user, [{"username": "sdk-user", "name": "S", "role_id": role}], fragment="already exists")
    wait(users.delete_user({"where": {"id": uid}}), api)
    assert users.get_users({"where": {"id": uid}}) == []


# ------------------------------------------------------------ the backup walk

def test_backup_walk(client):
    """contract.md §3: VM by name → create-vm-snapshot → wait → read the snapshot → its disks'
    snapshot_local_id → get-iscsi-lun-snapshots where name_in → local_id."""
    api, state = client
    vm_api, snap_api, ls_api = VmApi(api), VmSnapshotApi(api), IscsiLunSnapshotApi(api)
    cluster, _, _ = cluster_and_vlan(api)
    make_vm(api, "sdk-backup-vm", cluster, disks=(10, 20))
    vm = vm_api.get_vms({"where": {"name": "sdk-backup-vm"}})[0]
    out = snap_api.create_vm_snapshot({"data": [{"vm_id": vm.id, "name": "sdk-backup-1",
                                                 "consistent_type": "CRASH_CONSISTENT"}]})
    assert out[0].task_id and out[0].data.id
    wait(out, api)
    snap = snap_api.get_vm_snapshots({"where": {"id": out[0].data.id}})[0]
    names = [d.snapshot_local_id for d in snap.vm_disks if d.type == "DISK"]
    assert len(names) == 2 and all(names)
    lun_snaps = ls_api.get_iscsi_lun_snapshots({"where": {"name_in": names}})
    assert sorted(ls.name for ls in lun_snaps) == sorted(names)
    assert all(ls.local_id for ls in lun_snaps)
    vols = VmVolumeApi(api).get_vm_volumes({"where": {"vm_disks_some": {"vm": {"id": vm.id}}}})
    assert {ls.iscsi_lun.id for ls in lun_snaps} == {v.lun.id for v in vols}
    wait(snap_api.delete_vm_snapshot({"where": {"id": snap.id}}), api)
    wait(vm_api.delete_vm({"where": {"id": vm.id}}), api)
