"""Non-standard reads answered from the world, not synthesised from the response schema:
get-backup-restore-point-metadata (the restore point's VM), get-log-service-configs (the
cluster's log groups, which create-log-collection takes), get-discover-hosts (hosts not yet in
a cluster, which create-host takes in), get-export-file-download-links (links the mock serves).
Unknown records are a 404 ErrorBody. Through the official SDK over real HTTP, on the
session's served mock (every answer checked against the contract)."""

from __future__ import annotations

import json

import pytest
import requests

cloudtower = pytest.importorskip("cloudtower")

from cloudtower.api.backup_plan_api import BackupPlanApi  # noqa: E402
from cloudtower.api.backup_restore_point_api import BackupRestorePointApi  # noqa: E402
from cloudtower.api.cluster_api import ClusterApi  # noqa: E402
from cloudtower.api.log_collection_api import LogCollectionApi  # noqa: E402
from cloudtower.api.log_service_config_api import LogServiceConfigApi  # noqa: E402
from cloudtower.api.vm_api import VmApi  # noqa: E402
from cloudtower.rest import ApiException  # noqa: E402


def _error(e: ApiException, status: int, op: str, *needles: str) -> dict:
    assert e.status == status, (e.status, e.body)
    body = json.loads(e.body)
    assert body["status"] == status and body["path"] == f"/{op}"
    for n in needles:
        assert n in body["message"], body["message"]
    return body


# --------------------------------------------------------------- restore point metadata
def test_restore_point_metadata_is_the_vm_it_holds(api_client):
    bp = BackupPlanApi(api_client)
    points = [p for p in BackupRestorePointApi(api_client).get_backup_restore_points({}) if p.vm is not None]
    assert points, "the default world has restore points of VMs"
    point = points[0]
    vm = VmApi(api_client).get_vms({"where": {"id": point.vm.id}})[0]
    assert point.vm_name == vm.name and point.vm_local_id == vm.local_id
    meta = bp.get_backup_restore_point_metadata({"where": {"id": point.id}})
    assert meta.name == vm.name and meta.local_id == vm.local_id
    assert meta.vcpu == vm.vcpu and meta.memory == vm.memory and meta.firmware == vm.firmware
    assert (meta.cpu_sockets, meta.cpu_cores) == (vm.cpu.sockets, vm.cpu.cores)
    cluster = ClusterApi(api_client).get_clusters({"where": {"id": vm.cluster.id}})[0]
    assert meta.cluster_local_id == cluster.local_id == point.cluster_local_id
    assert meta.cluster_version == cluster.version and meta.cluster_type == cluster.type
    assert len(meta.vm_disks) == len(vm.vm_disks) and len(meta.vm_nics) == len(vm.vm_nics)
    assert sorted(d.boot for d in meta.vm_disks) == [d.boot for d in meta.vm_disks]
    assert all(d.vm_volume_name for d in meta.vm_disks if d.type == "DISK")
    # by local_id: the same answer
    again = bp.get_backup_restore_point_metadata({"where": {"local_id": point.local_id}})
    assert again.to_dict() == meta.to_dict()


def test_restore_point_metadata_of_an_unknown_point_is_a_404(api_client):
    bp = BackupPlanApi(api_client)
    with pytest.raises(ApiException) as e:
        bp.get_backup_restore_point_metadata({"where": {"id": "cnotarestorepoint000000000"}})
    _error(e.value, 404, "get-backup-restore-point-metadata", "BackupRestorePoint not found")
    point = BackupRestorePointApi(api_client).get_backup_restore_points({"first": 1})[0]
    with pytest.raises(ApiException) as e:          # both keys given: both must agree
        bp.get_backup_restore_point_metadata({"where": {"id": point.id, "local_id": "other"}})
    _error(e.value, 404, "get-backup-restore-point-metadata")
    with pytest.raises(ApiException) as e:
        bp.get_backup_restore_point_metadata({"where": {}})
    _error(e.value, 400, "get-backup-restore-point-metadata", "id or local_id")


# --------------------------------------------------------------------- log services
def test_log_service_configs_follow_the_cluster(api_client):
    clusters = ClusterApi(api_client).get_clusters({})
    api = LogServiceConfigApi(api_client)
    for c in clusters:
        groups = api.get_log_service_configs({"input": {"cluster": {"id": c.id}}})
        names = [g.group_name for g in groups]
        assert "SYSTEM" in names and all(g.service_list for g in groups)
        assert ("STORAGE" in names) == (c.type != "SMTX_ELF")
        assert ("VIRTUALIZATION" in names) == (c.type != "SMTX_ZBS" and c.hypervisor == "ELF")
        assert ("WITNESS" in names) == bool(c.stretch)
        by_local = api.get_log_service_configs({"input": {"cluster": {"local_id": c.local_id}}})
        assert [g.to_dict() for g in by_local] == [g.to_dict() for g in groups]
    with pytest.raises(ApiException) as e:
        api.get_log_service_configs({"input": {"cluster": {"id": "cnotacluster0000000000000"}}})
    _error(e.value, 404, "get-log-service-configs", "Cluster not found")


def test_log_collections_of_the_world_use_their_clusters_groups(api_client):
    api = LogServiceConfigApi(api_client)
    for lc in LogCollectionApi(api_client).get_log_collections({}):
        groups = {g.group_name: g.service_list for g in
                  api.get_log_service_configs({"input": {"cluster": {"id": lc.cluster.id}}})}
        assert lc.groups and set(lc.groups) <= set(groups)
        assert set(lc.services) <= {s for g in lc.groups for s in groups[g]}


def test_create_log_collection_takes_the_configs(api_client, live, token):
    cluster = ClusterApi(api_client).get_clusters({"first": 1})[0]
    groups = LogServiceConfigApi(api_client).get_log_service_configs({"input": {"cluster": {"id": cluster.id}}})
    g = groups[1]
    item = {"cluster_id": cluster.id, "hosts": {"cluster": {"id": cluster.id}},
            "log_started_at": "2026-01-01T00:00:00Z", "log_ended_at": "2026-01-02T00:00:00Z",
            "service_groups": [{"group_name": g.group_name, "services": g.service_list[:2]}]}
    out = LogCollectionApi(api_client).create_log_collection([item])
    lc = out[0].data
    assert lc.groups == [g.group_name] and lc.services == g.service_list[:2]
    assert lc.service_groups == {g.group_name: g.service_list[:2]}
    assert lc.hosts and lc.owner == "root"
    bad = dict(item, service_groups=[{"group_name": "NO-SUCH-GROUP"}])
    before = len(LogCollectionApi(api_client).get_log_collections({}))
    with pytest.raises(ApiException) as e:
        LogCollectionApi(api_client).create_log_collection([bad])
    _error(e.value, 400, "create-log-collection", "NO-SUCH-GROUP")
    bad = dict(item, service_groups=[{"group_name": g.group_name, "services": ["no-such-daemon"]}])
    with pytest.raises(ApiException) as e:
        LogCollectionApi(api_client).create_log_collection([bad])
    _error(e.value, 400, "create-log-collection", "no-such-daemon")
    assert len(LogCollectionApi(api_client).get_log_collections({})) == before
    r = requests.post(live.url + "/v2/api/get-log-service-configs", headers={"Authorization": token},
                      json={"input": {"cluster": {}}})
    assert r.status_code == 400 and "input.cluster" in r.json()["message"]
