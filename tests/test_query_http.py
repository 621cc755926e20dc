"""The query engine over HTTP, with the official SDK as client, on the seeded default world."""

from __future__ import annotations

from cloudtower.api.cluster_api import ClusterApi
from cloudtower.api.iscsi_lun_snapshot_api import IscsiLunSnapshotApi
from cloudtower.api.vm_api import VmApi
from cloudtower.api.vm_disk_api import VmDiskApi
from cloudtower.models import (ClusterWhereInput, GetClustersRequestBody, GetIscsiLunSnapshotsRequestBody,
                               GetVmDisksRequestBody, GetVmsConnectionRequestBody, GetVmsRequestBody,
                               IscsiLunSnapshotWhereInput, VmDiskWhereInput, VmOrderByInput, VmStatus,
                               VmWhereInput)


def all_vms(api):
    return api.get_vms(GetVmsRequestBody())


def test_default_order_is_id_ascending(api_client):
    vms = all_vms(VmApi(api_client))
    ids = [v.id for v in vms]
    assert ids == sorted(ids) and len(ids) >= 50


def test_scalar_filters(api_client):
    api = VmApi(api_client)
    vms = all_vms(api)
    running = api.get_vms(GetVmsRequestBody(where=VmWhereInput(status=VmStatus.RUNNING)))
    assert {v.id for v in running} == {v.id for v in vms if v.status == "RUNNING"}
    big = api.get_vms(GetVmsRequestBody(where=VmWhereInput(vcpu_gte=4, name_contains="-")))
    assert {v.id for v in big} == {v.id for v in vms if v.vcpu >= 4 and "-" in v.name}
    some = [v.id for v in vms[:3]]
    assert [v.id for v in api.get_vms(GetVmsRequestBody(where=VmWhereInput(id_in=some[::-1])))] == some


def test_nested_relation_filters(api_client):
    api = VmApi(api_client)
    prod = api.get_vms(GetVmsRequestBody(where=VmWhereInput(cluster=ClusterWhereInput(name="prod"))))
    assert prod and all(v.cluster.name == "prod" for v in prod)
    assert "db-1" in {v.name for v in prod}
    clusters = ClusterApi(api_client).get_clusters(GetClustersRequestBody(
        where=ClusterWhereInput(vms_some=VmWhereInput(name="db-1"))))
    assert [c.name for c in clusters] == ["prod"]
    # to-many: VMs with at least one disk on the VIRTIO bus, and VMs with none at all
    with_disks = api.get_vms(GetVmsRequestBody(where=VmWhereInput(vm_disks_some=VmDiskWhereInput())))
    without = api.get_vms(GetVmsRequestBody(where=VmWhereInput(vm_disks_none=VmDiskWhereInput())))
    total = len(all_vms(api))
    assert len(with_disks) + len(without) == total
    disks = VmDiskApi(api_client).get_vm_disks(GetVmDisksRequestBody(
        where=VmDiskWhereInput(vm=VmWhereInput(name="db-1"), type="DISK")))
    assert len(disks) == 2


def test_order_and_pagination_walk(api_client):
    api = VmApi(api_client)
    full = api.get_vms(GetVmsRequestBody(order_by=VmOrderByInput.MEMORY_DESC))
    mem = [v.memory for v in full]
    assert mem == sorted(mem, reverse=True)
    walked, after = [], None
    while True:
        page = api.get_vms(GetVmsRequestBody(order_by=VmOrderByInput.MEMORY_DESC, first=7, after=after))
        if not page:
            break
        walked += page
        after = page[-1].id
    assert [v.id for v in walked] == [v.id for v in full]
    last = api.get_vms(GetVmsRequestBody(order_by=VmOrderByInput.MEMORY_DESC, last=5, skip=2))
    assert [v.id for v in last] == [v.id for v in full][-7:-2]


def test_counts_match_lists(api_client):
    api = VmApi(api_client)
    for where in (None, VmWhereInput(status=VmStatus.STOPPED), VmWhereInput(cluster=ClusterWhereInput(name="dev"))):
        listed = api.get_vms(GetVmsRequestBody(where=where, first=10, skip=1))
        count = api.get_vms_connection(GetVmsConnectionRequestBody(where=where, first=10, skip=1))
        assert count.aggregate.count == len(listed)


def test_backup_join_resolves_by_name_in(api_client):
    """The backup walk of contract.md 3: snapshot disks resolve to LUN snapshots by name."""
    api = VmApi(api_client)
    from cloudtower.api.vm_snapshot_api import VmSnapshotApi
    from cloudtower.models import GetVmSnapshotsRequestBody, VmSnapshotWhereInput
    snaps = VmSnapshotApi(api_client).get_vm_snapshots(GetVmSnapshotsRequestBody(
        where=VmSnapshotWhereInput(vm=VmWhereInput(name="db-1"))))
    assert snaps
    names = [d.snapshot_local_id for d in snaps[0].vm_disks if d.type == "DISK"]
    luns = IscsiLunSnapshotApi(api_client).get_iscsi_lun_snapshots(GetIscsiLunSnapshotsRequestBody(
        where=IscsiLunSnapshotWhereInput(name_in=names)))
    assert sorted(l.name for l in luns) == sorted(names)
    assert all(l.local_id for l in luns)
    assert api  # the VM itself still lists


def test_unknown_cursor_is_empty_and_errors_are_400(live, token):
    import requests
    url = live.url + "/v2/api/get-vms"
    h = {"Authorization": token}
    assert requests.post(url, json={"after": "c" + "z" * 24}, headers=h).json() == []
    r = requests.post(url, json={"where": {"labels_some": None}}, headers=h)
    assert r.status_code == 400 and "toMany" in r.json()["message"] and r.json()["props"]["code"] == 3033
    r = requests.post(url, json={"first": 1, "last": 1}, headers=h)
    assert r.status_code == 400 and r.json()["props"]["code"] == 3014
