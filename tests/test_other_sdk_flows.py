"""Flows the official Go and Java SDKs' integration suites run, replayed over HTTP.

Those clients are typed: they read `x-tower-request-id`, poll `get-tasks` until SUCCESSED or FAILED
(the Go helper dereferences `error_message` of a failed task), and dispose of the VMs they made with
a bare `delete-vm`, running or not.
"""
from __future__ import annotations

import time

import pytest
import requests


class Client:
    """A logged-in HTTP client sending what the Go/Java SDKs send (Authorization without Bearer)."""

    def __init__(self, live, language="en-US"):
        self.base = live.url + "/v2/api/"
        self.http = requests.Session()
        r = self.http.post(self.base + "login", json={"username": "root", "password": "root", "source": "LOCAL"})
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": r.json()["data"]["token"], "content-language": language}

    def __call__(self, op, body, status=200):
        r = self.http.post(self.base + op, json=body, headers=self.headers)
        assert r.headers.get("x-tower-request-id"), op
        assert r.status_code == status, (op, r.status_code, r.text)
        return r.json()

    def wait(self, task_id, timeout=30.0):
        """The Go SDK's utils.WaitTask: poll by id until the task ends; its final state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tasks = self("get-tasks", {"where": {"id": task_id}})
            if tasks and tasks[0]["status"] in ("SUCCESSED", "FAILED"):
                if tasks[0]["status"] == "FAILED":
                    assert tasks[0]["error_message"] is not None
                return tasks[0]
            time.sleep(0.02)
        raise AssertionError(f"task {task_id} did not end")


@pytest.fixture(scope="module")
def go(live):
    return Client(live)


@pytest.fixture(scope="module")
def placement(go):
    cluster = go("get-clusters", {"where": {"type": "SMTX_OS"}, "first": 1})[0]
    vlan = go("get-vlans", {"where": {"name": "default", "vds": {"cluster": {"id": cluster["id"]},
                                                                   "internal": False}}, "first": 1})
    assert vlan, "the default VM network of the cluster is what both suites attach NICs to"
    return cluster["id"], vlan[0]["id"]


def create_vm(go, placement, running):
    cluster_id, vlan_id = placement
    out = go("create-vm", [{
        "cluster_id": cluster_id, "name": f"go-sdk-vm-{time.time_ns()}", "ha": True, "cpu_cores": 1,
        "cpu_sockets": 1, "memory": 1 << 30, "vcpu": 1, "status": "RUNNING" if running else "STOPPED",
        "firmware": "BIOS", "vm_nics": [{"connect_vlan_id": vlan_id}],
        "vm_disks": {"mount_cd_roms": [{"index": 1, "boot": 1}]}}])
    assert go.wait(out[0]["task_id"])["status"] == "SUCCESSED"
    return out[0]["data"]["id"]


@pytest.mark.parametrize("action", [None, "suspend-vm"])
def test_running_or_suspended_vm_is_deleted_without_stopping_it_first(go, placement, action):
    vid = create_vm(go, placement, running=True)
    if action:
        assert go.wait(go(action, {"where": {"id": vid}})[0]["task_id"])["status"] == "SUCCESSED"
    out = go("delete-vm", {"where": {"id": vid}})
    assert len(out) == 1 and out[0]["data"]["id"] == vid
    assert go.wait(out[0]["task_id"])["status"] == "SUCCESSED"
    assert go("get-vms", {"where": {"id": vid}}) == []


def test_lun_deleted_with_where_alone_as_both_suites_do(go, placement):
    cluster_id, _ = placement
    out = go("create-iscsi-target", [{"cluster_id": cluster_id, "thin_provision": True, "replica_num": 2,
                                      "stripe_num": 4, "stripe_size": 256 * 1024, "name": f"t-{time.time_ns()}"}])
    assert go.wait(out[0]["task_id"])["status"] == "SUCCESSED"
    target_id = out[0]["data"]["id"]
    out = go("create-iscsi-lun", [{"iscsi_target_id": target_id, "name": f"l-{time.time_ns()}", "replica_num": 2,
                                   "assigned_size": 30 << 30}])
    assert go.wait(out[0]["task_id"])["status"] == "SUCCESSED"
    lun_id = out[0]["data"]["id"]
    out = go("delete-iscsi-lun", {"where": {"id": lun_id}})       # no `data`: remove_snapshot is false
    assert go.wait(out[0]["task_id"])["status"] == "SUCCESSED"
    assert go("get-iscsi-luns", {"where": {"id": lun_id}}) == []
    # an explicit flag of the wrong type is still the validator's 400
    go("delete-iscsi-lun", {"where": {"id": target_id}, "data": {"remove_snapshot": "yes"}}, status=400)


CHUNK = 8 * 1024 * 1024


def upload(go, op, form, chunk):
    r = go.http.post(go.base + op, data=form, files={"file": ("chunk", chunk, "application/octet-stream")},
                     headers=go.headers)
    assert r.headers.get("x-tower-request-id")
    return r


def test_content_library_upload_names_its_clusters_by_a_where_as_the_go_example(go, placement):
    cluster_id, _ = placement
    name, total = f"go-{time.time_ns()}.iso", CHUNK + 300
    where = '{"id": "%s"}' % cluster_id
    first = upload(go, "upload-content-library-image",
                   {"clusters": where, "name": name, "size": str(total), "description": "d"}, b"a" * CHUNK)
    assert first.status_code == 200, first.text
    task = first.json()[0]
    last = upload(go, "upload-content-library-image", {"clusters": where, "upload_task_id": task["id"]}, b"b" * 300)
    assert last.status_code == 200 and last.json()[0]["status"] == "SUCCESSED", last.text
    image = go("get-content-library-images", {"where": {"name": name}})
    assert [(i["size"], [c["id"] for c in i["clusters"]]) for i in image] == [(total, [cluster_id])]
    nowhere = upload(go, "upload-content-library-image", {"clusters": '{"name": "no-such-cluster"}', "name": "x.iso",
                                                          "size": "10"}, b"x" * 10)
    assert nowhere.status_code == 400 and "no-such-cluster" in nowhere.json()["message"]


def test_svt_upload_of_whole_8mib_buffers_as_the_java_example(go, placement):
    """The Java example sends `new byte[8 MiB]` each time, zero-padded past the end of the file,
    with `upload_task_id: ""` on the first chunk and name/size/version repeated on every chunk."""
    cluster_id, _ = placement
    name, total = f"SMTX_VMTOOLS_{time.time_ns()}.iso", 5000
    form = {"cluster_id": cluster_id, "name": name, "size": str(total), "version": "2.12.1", "upload_task_id": ""}
    r = upload(go, "upload-svt-image", form, b"\x01" * total + b"\0" * (CHUNK - total))
    assert r.status_code == 200 and r.json()[0]["status"] == "SUCCESSED", r.text
    assert [i["size"] for i in go("get-svt-images", {"where": {"name": name}})] == [total]
    # a short chunk past the declared size is still refused: only a full buffer reads as padding
    r = upload(go, "upload-svt-image", {**form, "name": name + "-2"}, b"\x01" * (total + 1))
    assert r.status_code == 400 and "declared size" in r.json()["message"]


def test_vm_snapshot_freezes_the_nics_on_their_vlan(go, placement):
    _, vlan_id = placement
    vid = create_vm(go, placement, running=False)
    out = go("create-vm-snapshot", {"data": [{"vm_id": vid, "name": f"snap-{time.time_ns()}"}]})
    assert go.wait(out[0]["task_id"])["status"] == "SUCCESSED"
    snap = go("get-vm-snapshots", {"where": {"id": out[0]["data"]["id"]}})[0]
    nic = go("get-vm-nics", {"where": {"vm": {"id": vid}}})[0]
    vlan = go("get-vlans", {"where": {"id": vlan_id}})[0]
    assert [(n["index"], n["mac_address"], n["vlan"]["vlan_local_id"], n["vlan"]["name"]) for n in snap["vm_nics"]] \
        == [(0, nic["mac_address"], vlan["local_id"], vlan["name"])]
    assert snap["vm_nics"][0]["vlan"]["vds_ovs"]


def test_resolving_an_alert_ends_it(go):
    alert = go("get-alerts", {"where": {"ended": False, "cluster": {"connect_state_not_in": ["DISCONNECTED", "REMOVING"]}},
                              "first": 1})
    assert alert, "the default world has open alerts on connected clusters (the Java suite's fixture)"
    out = go("resolve-alert", {"where": {"id": alert[0]["id"]}})
    assert [o["data"]["id"] for o in out] == [alert[0]["id"]]
    assert go.wait(out[0]["task_id"])["status"] == "SUCCESSED"
    after = go("get-alerts", {"where": {"id": alert[0]["id"]}})[0]
    assert after["ended"] is True and after["local_end_time"] > alert[0]["local_start_time"]
    assert go("get-alerts", {"where": {"id": alert[0]["id"], "ended": False}}) == []


def test_resource_change_watch_polls_with_the_session_token(go, placement):
    """The Go SDK's ResourceChangeWatchClient rides on a client logged in with a token (no Basic auth)."""
    url = go.base + "resource-changes"
    first = go.http.get(url, params={"resource_type": "VM,HOST", "limit": 100}, headers=go.headers)
    assert first.status_code == 200 and first.headers.get("x-tower-request-id"), first.text
    current = first.json()["currentRevision"]
    vid = create_vm(go, placement, running=False)
    feed = go.http.get(url, params={"resource_type": "VM,HOST", "limit": 100, "start_revision": current},
                       headers=go.headers).json()
    assert any(e["resource_id"] == vid and e["resource_type"] == "VM" for e in feed["data"])
    assert int(feed["currentRevision"]) >= max(int(e["revision"]) for e in feed["data"])
    assert go.http.get(url, headers={"Authorization": "not-a-token"}).status_code == 401
