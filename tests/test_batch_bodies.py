"""Batch-style bodies with a stray key next to `data` (`{"": null, "data": []}` on create-vm,
`{where, data, zz}` on an update): one clear 400 in the API's ErrorBody shape that names the
key, and nothing written. Such an object used to be taken for ONE item of an array body and
answered with a message about that item's missing fields. Driven over real HTTP, through the
official SDK where it can send the body."""

from __future__ import annotations

import json

import pytest
import requests

cloudtower = pytest.importorskip("cloudtower")

from cloudtower import ApiClient, Configuration  # noqa: E402
from cloudtower.api.user_api import UserApi  # noqa: E402
from cloudtower.api.vm_api import VmApi  # noqa: E402
from cloudtower.api.vm_snapshot_api import VmSnapshotApi  # noqa: E402
from cloudtower.rest import ApiException  # noqa: E402

from mock_server.app import create_app  # noqa: E402
from mock_server.state import MockConfig  # noqa: E402

from helpers import served_app  # noqa: E402


@pytest.fixture(scope="module")
def server(sdk_contract):
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract)
    with served_app(app, numthreads=2) as url:
        yield url, app.config["MOCK_STATE"]


@pytest.fixture(scope="module")
def token(server):
    r = requests.post(server[0] + "/login", json={"username": "root", "password": "root"})
    return r.json()["data"]["token"]


@pytest.fixture(scope="module")
def sdk(server, token):
    client = ApiClient(Configuration(host=server[0]))
    client.configuration.api_key["Authorization"] = token
    return client


def _post(server, token, op, body):
    r = requests.post(f"{server[0]}/{op}", json=body, headers={"Authorization": token})
    return r.status_code, r.json()


def _revision(server) -> int:
    return server[1].world(None).store.revision


def _one_line_error(status, data, op, *needles):
    assert status == 400, (status, data)
    assert set(data) >= {"message", "status", "path"} and data["status"] == 400 and data["path"] == f"/{op}"
    assert "\n" not in data["message"]
    for n in needles:
        assert n in data["message"], data["message"]


def test_the_sdk_gets_a_clear_400_for_a_stray_key_on_create_vm(server, sdk):
    before = _revision(server)
    with pytest.raises(ApiException) as e:
        VmApi(sdk).create_vm({"": None, "data": []})       # a dict goes out as it is
    assert e.value.status == 400
    body = json.loads(e.value.body)
    _one_line_error(400, body, "create-vm", 'unexpected key "" next to "data"', "JSON array of VmCreationParams")
    assert "status" not in body["message"].split("data")[-1]     # not about an item's missing field
    assert _revision(server) == before


@pytest.mark.parametrize("body, needles", [
    ({"zz_extra": 1, "data": [{}]}, ['unexpected key "zz_extra"']),
    ({"where": {}, "data": [], "a": 1, "b": 2}, ['unexpected keys "where", "a", "b"']),
    ({"data": []}, ['takes a JSON array of VmCreationParams, not an object with "data"']),
])
def test_array_bodies_take_no_data_wrapper(server, token, body, needles):
    before = _revision(server)
    status, data = _post(server, token, "create-vm", body)
    _one_line_error(status, data, "create-vm", *needles)
    assert _revision(server) == before


def test_a_stray_key_next_to_a_batch_data_array(server, token, sdk):
    vm = VmApi(sdk).get_vms({"first": 1})[0]
    before = _revision(server)
    snaps = len(VmSnapshotApi(sdk).get_vm_snapshots({}))
    status, data = _post(server, token, "create-vm-snapshot", {"": None, "data": [{"vm_id": vm.id, "name": "x"}]})
    _one_line_error(status, data, "create-vm-snapshot", 'unexpected key "" next to "data"')
    assert "vm_id" not in data["message"]            # was: data.vm_id: Vm with id 'None' ...
    assert _revision(server) == before and len(VmSnapshotApi(sdk).get_vm_snapshots({})) == snaps
    # the same body without the stray key is a batch of one
    out = VmSnapshotApi(sdk).create_vm_snapshot({"data": [{"vm_id": vm.id, "name": "batch-ok"}]})
    assert len(out) == 1 and out[0].data.name == "batch-ok"


def test_a_stray_key_next_to_where_and_data(server, token, sdk):
    vm = VmApi(sdk).get_vms({"first": 1})[0]
    before = _revision(server)
    status, data = _post(server, token, "update-vm-basic-info",
                         {"where": {"id": vm.id}, "data": {"name": "renamed"}, "zz\nkey": 1})
    _one_line_error(status, data, "update-vm-basic-info", 'unexpected key "zz\\nkey"')
    assert _revision(server) == before
    assert VmApi(sdk).get_vms({"where": {"id": vm.id}})[0].name == vm.name


def test_an_item_that_declares_data_is_still_one_item(server, token):
    """create-host's items are {cluster_id, data: [...]}: a single such object stands for a
    one-item array (GraphQL coercion), so its `data` is no wrapper; a stray key is named."""
    status, data = _post(server, token, "create-host", {"cluster_id": "nope", "data": [], "zz": 1})
    _one_line_error(status, data, "create-host", 'unexpected key "zz"')
    status, data = _post(server, token, "create-host", {"cluster_id": "nope", "data": []})
    assert isinstance(data, list) or "next to" not in data["message"], data


def test_a_long_key_is_cut_short_and_many_keys_are_elided(server, token):
    body = {"data": [], "k" * 500: 1, "b": 1, "c": 1, "d": 1}
    status, data = _post(server, token, "create-vm-snapshot", body)
    _one_line_error(status, data, "create-vm-snapshot", "unexpected keys", ", ...")
    assert len(data["message"]) < 200
