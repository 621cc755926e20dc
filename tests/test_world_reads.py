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


@pytest.fixture(scope="module")
def ns_client(live, token):
    """An SDK client on a namespace of its own: the writes below leave the shared world alone."""
    from cloudtower import ApiClient, Configuration
    client = ApiClient(Configuration(host=live.url + "/v2/api"))
    client.configuration.api_key["Authorization"] = token
    client.set_default_header("X-Mock-Namespace", "world-reads")
    return client


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


def test_create_log_collection_takes_the_configs(ns_client, live, token):
    api_client = ns_client
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


# -------------------------------------------------------------------- discover hosts
def test_discovered_hosts_are_stable_and_join_the_cluster(ns_client):
    api_client = ns_client
    from cloudtower.api.discovered_host_api import DiscoveredHostApi
    from cloudtower.api.host_api import HostApi
    from cloudtower.utils import wait_tasks
    clusters = ClusterApi(api_client).get_clusters({})
    disc = DiscoveredHostApi(api_client)
    seen = {}
    for c in clusters:
        found = disc.get_discover_hosts({"cluster": {"id": c.id}})
        assert [h.to_dict() for h in found] == [h.to_dict() for h in disc.get_discover_hosts({"cluster": {"id": c.id}})]
        for h in found:
            assert h.version == c.version and h.all_flash == bool(c.is_all_flash) and not h.deployed
            assert h.host_ip.rsplit(".", 1)[0] == c.ip.rsplit(".", 1)[0]
            assert h.disks and h.ifaces and h.ifaces[0].ipv4 == h.host_ip
            assert h.host_uuid not in seen
            seen[h.host_uuid] = c
    hosts = HostApi(api_client).get_hosts({})
    assert not {h.local_id for h in hosts} & set(seen)
    assert not {h.management_ip for h in hosts} & {h.host_ip for h in found}
    # narrowed to an address
    cluster = clusters[0]
    found = disc.get_discover_hosts({"cluster": {"id": cluster.id}})
    assert len(found) >= 2
    one = disc.get_discover_hosts({"cluster": {"id": cluster.id}, "host_address": [found[1].host_ip]})
    assert [h.host_uuid for h in one] == [found[1].host_uuid]
    assert disc.get_discover_hosts({"cluster": {"id": cluster.id}, "host_address": ["203.0.113.9"]}) == []
    # create-host takes one in: a Host of the cluster, discovered no more
    node = found[0]
    before = ClusterApi(api_client).get_clusters({"where": {"id": cluster.id}})[0].host_num
    out = HostApi(api_client).create_host([{"cluster_id": cluster.id, "data": [{
        "host_uuid": node.host_uuid, "host_ip": node.host_ip, "hostname": node.hostname,
        "ifaces": [], "disks": [{"drive": d.drive} for d in node.disks]}]}])
    assert out[0].data.task.id == out[0].task_id
    wait_tasks([out[0].task_id], api_client, interval=0.02, timeout=10)
    host = HostApi(api_client).get_hosts({"where": {"local_id": node.host_uuid}})[0]
    assert host.cluster.id == cluster.id and host.management_ip == node.host_ip and host.name == node.hostname
    assert host.os_version == cluster.version and host.serial == node.serial
    left = [h.host_uuid for h in disc.get_discover_hosts({"cluster": {"id": cluster.id}})]
    assert node.host_uuid not in left and found[1].host_uuid in left
    assert ClusterApi(api_client).get_clusters({"where": {"id": cluster.id}})[0].host_num == before + 1
    with pytest.raises(ApiException) as e:             # taken: no longer discovered
        HostApi(api_client).create_host([{"cluster_id": cluster.id, "data": [{
            "host_uuid": node.host_uuid, "host_ip": node.host_ip, "hostname": "again", "ifaces": [], "disks": []}]}])
    _error(e.value, 400, "create-host", node.host_uuid, "not discovered")
    with pytest.raises(ApiException) as e:             # another cluster's node
        other = next(u for u, c in seen.items() if c.id != cluster.id)
        HostApi(api_client).create_host([{"cluster_id": cluster.id, "data": [{
            "host_uuid": other, "host_ip": "10.9.9.9", "hostname": "x", "ifaces": [], "disks": []}]}])
    _error(e.value, 400, "create-host", "not discovered")
    with pytest.raises(ApiException) as e:
        disc.get_discover_hosts({"cluster": {"id": "cnotacluster0000000000000"}})
    _error(e.value, 404, "get-discover-hosts", "Cluster not found")


# ------------------------------------------------------------------ export file links
def test_export_file_links_are_served_by_the_mock(api_client, live):
    from cloudtower.api.ovf_api import OvfApi
    from cloudtower.api.vm_export_file_api import VmExportFileApi
    exports = [e for e in VmExportFileApi(api_client).get_vm_export_files({}) if e.files]
    assert exports
    export = exports[0]
    links = OvfApi(api_client).get_export_file_download_links({"where": {"id": export.id}})
    assert [(l.filename) for l in links] == [f.file_name for f in export.files]
    by_port = OvfApi(api_client).get_export_file_download_links({"where": {"data_port_id": export.data_port_id}})
    assert [l.to_dict() for l in by_port] == [l.to_dict() for l in links]
    f, link = export.files[0], links[0].link
    assert link.startswith(live.url + "/export-files/default/") and f.file_uuid in link
    r = requests.head(link)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == f.file_size
    assert r.headers["ETag"] == f'"{f.file_uuid}"'
    r = requests.get(link, headers={"Range": "bytes=10-4105"})
    assert r.status_code == 206 and r.content == bytes(4096)
    assert r.headers["Content-Range"] == f"bytes 10-4105/{f.file_size}"
    r = requests.get(link, headers={"Range": "bytes=-5"})
    assert r.status_code == 206 and len(r.content) == 5
    assert requests.get(link.split("?")[0] + "?secret=wrong").status_code == 403
    assert requests.get(link.replace(f.file_uuid, "no-such-file")).status_code == 404
    r = requests.get(link, headers={"Range": f"bytes={f.file_size}-"})
    assert r.status_code == 416 and r.json()["status"] == 416
    with pytest.raises(ApiException) as e:
        OvfApi(api_client).get_export_file_download_links({"where": {"id": "cnotanexport0000000000000"}})
    _error(e.value, 404, "get-export-file-download-links", "VmExportFile not found")


def test_export_file_links_carry_the_namespace(ns_client, live):
    from cloudtower.api.ovf_api import OvfApi
    from cloudtower.api.vm_export_file_api import VmExportFileApi
    export = next(e for e in VmExportFileApi(ns_client).get_vm_export_files({}) if e.files)
    link = OvfApi(ns_client).get_export_file_download_links({"where": {"id": export.id}})[0].link
    assert "/export-files/world-reads/" in link
    r = requests.get(link, headers={"Range": "bytes=0-0"})
    assert r.status_code == 206 and r.content == b"\0"
    assert requests.get(link.replace("/world-reads/", "/no-such-namespace/")).status_code == 404


def test_export_vm_makes_files_the_links_serve(ns_client):
    import hashlib
    from cloudtower.api.ovf_api import OvfApi
    from cloudtower.api.vm_volume_api import VmVolumeApi
    from cloudtower.utils import wait_tasks
    vm = VmApi(ns_client).get_vms({"where": {"status": "STOPPED"}, "first": 1})[0]
    out = VmApi(ns_client).export_vm({"where": {"id": vm.id}, "data": {"type": "OVF"}})
    wait_tasks([out[0].task_id], ns_client, interval=0.02, timeout=10)
    export = out[0].data
    volumes = {v.name: v for v in VmVolumeApi(ns_client).get_vm_volumes({"where": {"vm_disks_some": {"vm": {"id": vm.id}}}})}
    desc, disks = export.files[0], export.files[1:]
    assert desc.type == "OVF" and desc.file_name == f"{vm.name}.ovf"
    assert sorted(f.file_name for f in disks) == sorted(f"{n}.vmdk" for n in volumes)
    assert all(f.file_size == volumes[f.file_name[:-5]].size and f.type == "VMDK" for f in disks)
    links = OvfApi(ns_client).get_export_file_download_links({"where": {"id": export.id}})
    assert [l.filename for l in links] == [f.file_name for f in export.files]
    xml = requests.get(links[0].link).content
    assert len(xml) == desc.file_size and hashlib.md5(xml).hexdigest() == desc.md5
    assert all(f'ovf:href="{f.file_name}"' in xml.decode() for f in disks)
    head = requests.head(links[1].link)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == disks[0].file_size
    vol = next(iter(volumes.values()))
    out = VmVolumeApi(ns_client).export_vm_volume({"where": {"id": vol.id}, "data": {"type": "QCOW2"}})
    assert [(f.file_name, f.file_size, f.type) for f in out[0].data.files] == [(f"{vol.name}.qcow2", vol.size, "QCOW2")]
