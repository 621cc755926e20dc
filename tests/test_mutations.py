"""Mutations through the HTTP layer: every operation of the 4.6.0 contract answers 200 or 400
with a schema-conformant body; the VM lifecycle and the snapshot chain behave for real."""

from __future__ import annotations

import base64
import io

import pytest

from mock_server.app import create_app
from mock_server.behaviour.synth import minimal_world, synth_value
from mock_server.contract.index import ref_name
from mock_server.contract.validate import ValidationError, Validator
from mock_server.state import MockConfig


def generated_world(contract):
    from mock_server.world.generator import generate
    return generate(contract, None, seed=3)


def make_client(contract, task_speed=0.0, factory=None):
    factory = factory or minimal_world
    app = create_app(MockConfig(task_speed=task_speed), contract=contract,
                     world_factory=lambda: factory(contract))
    client = app.test_client()
    token = client.post("/v2/api/login", json={"username": "root", "password": "root"}).json["data"]["token"]
    state = app.config["MOCK_STATE"]
    return client, {"Authorization": token}, state


class Api:
    def __init__(self, contract, task_speed=0.0, factory=None):
        self.client, self.headers, self.state = make_client(contract, task_speed, factory)

    def __call__(self, name, body=None, status=200):
        r = self.client.post("/v2/api/" + name, json=body if body is not None else {}, headers=self.headers)
        assert r.status_code == status, (name, r.status_code, r.json)
        return r.json

    @property
    def world(self):
        return self.state.world()


# ----------------------------------------------------------------------- the sweep

def _stem_model(contract, stem):
    name = "".join(p[:1].upper() + p[1:] for p in stem.split("_"))
    aliases = {"Lun": "IscsiLun", "SrcLun": "IscsiLun", "Volume": "VmVolume", "Snapshot": None,
               "DestIscsiTarget": "IscsiTarget", "Target": "IscsiTarget"}
    if name in aliases:
        return aliases[name]
    return name if name in contract.resources else None


def build_body(contract, store, schema, name="", depth=0, where_model=None):
    r = contract.resolve(schema)
    if depth > 5:
        return synth_value(contract, schema, name)
    t = r.get("type", "object" if "properties" in r else None)
    if t == "array":
        item = build_body(contract, store, r.get("items"), name, depth + 1)
        return [item] * max(1, r.get("minItems") or 1) if name in ("", "data") or r.get("minItems") else []
    if t == "object" and "properties" in r:
        out = {}
        props = r["properties"]
        for key in r.get("required", []) or []:
            ps = props.get(key, {})
            wname = ref_name(ps) or ""
            if key == "where" or wname.endswith("WhereInput") or wname.endswith("WhereUniqueInput"):
                model = wname.replace("WhereUniqueInput", "").replace("WhereInput", "")
                ids = store.tables[model].ordered_ids() if model in store.tables else []
                out[key] = {"id": ids[0]} if ids else {}
                continue
            if isinstance(key, str) and (key.endswith("_id") or key.endswith("_ids")):
                stem = key[:-3] if key.endswith("_id") else key[:-4]
                model = _stem_model(contract, stem) or _stem_model(contract, stem.rstrip("s"))
                ids = store.tables[model].ordered_ids() if model and model in store.tables else []
                if ids and contract.resolve(ps).get("type") in ("string", None):
                    out[key] = ids[0]
                    continue
                if ids and contract.resolve(ps).get("type") == "array":
                    out[key] = [ids[0]]
                    continue
            out[key] = build_body(contract, store, ps, key, depth + 1)
        return out
    return synth_value(contract, schema, name)


@pytest.mark.parametrize("world_kind", ["minimal", "generated"])
def test_every_operation_answers_200_or_400_with_a_valid_body(contract, world_kind):
    if world_kind == "generated":
        pytest.importorskip("mock_server.world.generator")
    api = Api(contract, task_speed=0.0, factory=generated_world if world_kind == "generated" else None)
    validator = Validator(contract)
    world = api.world
    failures, counts = [], {200: 0, 400: 0}
    for path, op in sorted(contract.operations.items()):
        if op.name in ("login",):
            continue
        store = world.store
        headers = dict(api.headers)
        if op.method == "get":
            if "Basic" in op.security:
                headers["Authorization"] = "Basic " + base64.b64encode(b"root:root").decode()
            r = api.client.get("/v2/api" + path, headers=headers)
        elif op.content_type and op.content_type.startswith("multipart/"):
            props = contract.properties(op.request_schema)
            form = {}
            for key in contract.resolve(op.request_schema).get("required", []):
                if props[key].get("format") == "binary":
                    form[key] = (io.BytesIO(b"data"), "file.bin")
                elif key in ("cluster_id", "clusters"):
                    form[key] = store.tables["Cluster"].ordered_ids()[0]
                else:
                    form[key] = str(synth_value(contract, props[key], key) or "1")
            r = api.client.post("/v2/api" + path, data=form, headers=headers, content_type="multipart/form-data")
        elif op.request_schema is None:
            r = api.client.post("/v2/api" + path, headers=headers)
        else:
            body = build_body(contract, store, op.request_schema)
            r = api.client.post("/v2/api" + path, json=body, headers=headers)
        if r.status_code not in (200, 400):
            failures.append((path, r.status_code, (r.json or {}).get("message") if r.is_json else r.data[:200]))
        elif r.status_code == 200:
            counts[200] += 1
            if op.family in ("list", "connection"):
                world.reset()
                continue        # reads are checked by the query engine's and world's tests
            payload = r.json if r.is_json else r.data.decode()
            try:
                validator.validate(op.response_schema, payload)
            except ValidationError as e:
                failures.append((path, "schema", str(e)))
        else:
            counts[400] += 1
        world.reset()
        api.state.auth.accounts[0].password = "root"     # create-root-user may have changed it
    assert not failures, "\n".join(map(str, failures[:40])) + f"\n({len(failures)} failures)"
    # most operations should succeed with a minimal valid body
    assert counts[200] > 0.85 * (counts[200] + counts[400]), counts


# -------------------------------------------------------------------- generic shapes

def test_where_matching_nothing_answers_empty_array(contract):
    api = Api(contract)
    for name in ("delete-vm", "start-vm", "update-vm-basic-info", "poweroff-vm", "delete-label", "delete-vm-snapshot",
                 "delete-iscsi-lun"):
        op = contract.operation(name)
        body = {"where": {"id": "cnonexistent0000000000000"}}
        if "data" in contract.resolve(op.request_schema).get("required", []):
            body["data"] = build_body(contract, api.world.store, contract.properties(op.request_schema)["data"], "data")
        assert api(name, body) == [], name


def test_create_with_unknown_relation_id_is_400(contract):
    api = Api(contract)
    r = api.client.post("/v2/api/create-vm", headers=api.headers, json=[{
        "cluster_id": "cnosuchcluster00000000000", "name": "v", "vcpu": 1, "memory": 1, "cpu_cores": 1,
        "cpu_sockets": 1, "ha": False, "firmware": "BIOS", "status": "STOPPED", "vm_disks": {}, "vm_nics": []}])
    assert r.status_code == 400
    assert "cluster_id" in r.json["message"] and "cnosuchcluster" in r.json["message"]


def test_update_applies_to_every_match_one_task_each(contract):
    api = Api(contract)
    store = api.world.store
    labels = [api("create-label", [{"key": f"k{i}", "value": "v"}])[0]["data"]["id"] for i in range(3)]
    out = api("update-label", {"where": {"id_in": labels}, "data": {"value": "changed"}})
    assert len(out) == 3 and len({x["task_id"] for x in out}) == 3
    assert all(store.get("Label", i)["value"] == "changed" for i in labels)


# ------------------------------------------------------------------- real behaviour

def new_vm(api, name="web-1"):
    store = api.world.store
    cluster = store.tables["Cluster"].ordered_ids()[0]
    out = api("create-vm", [{
        "cluster_id": cluster, "name": name, "vcpu": 4, "memory": 4, "memory_unit": "GB", "cpu_cores": 2,
        "cpu_sockets": 2, "ha": True, "firmware": "BIOS", "status": "STOPPED", "vm_nics": [],
        "vm_disks": {"mount_new_create_disks": [
            {"vm_volume": {"elf_storage_policy": "REPLICA_2_THIN_PROVISION", "size": 10, "size_unit": "GB",
                           "name": f"{name}-d0"}, "bus": "VIRTIO", "boot": 0},
            {"vm_volume": {"elf_storage_policy": "REPLICA_2_THIN_PROVISION", "size": 20, "size_unit": "GB",
                           "name": f"{name}-d1"}, "bus": "VIRTIO", "boot": 1}]}}])
    return out[0]["data"]["id"]


def test_vm_lifecycle(contract):
    api = Api(contract)
    vid = new_vm(api)
    vm = api("get-vms", {"where": {"id": vid}})[0]
    assert vm["status"] == "STOPPED" and vm["memory"] == 4 * 1024 ** 3 and vm["vcpu"] == 4
    assert len(vm["vm_disks"]) == 2
    disks = api("get-vm-disks", {"where": {"vm": {"id": vid}}})
    vols = api("get-vm-volumes", {"where": {"id_in": [d["vm_volume"]["id"] for d in disks]}})
    assert sorted(v["size"] for v in vols) == [10 * 1024 ** 3, 20 * 1024 ** 3]
    assert all(v["lun"] for v in vols)
    for op, status in (("start-vm", "RUNNING"), ("suspend-vm", "SUSPENDED"), ("resume-vm", "RUNNING"),
                       ("restart-vm", "RUNNING"), ("shutdown-vm", "STOPPED"), ("start-vm", "RUNNING")):
        out = api(op, {"where": {"id": vid}})
        assert len(out) == 1 and out[0]["task_id"]
        assert api("get-vms", {"where": {"id": vid}})[0]["status"] == status, op
    # refused transitions (a running VM may be deleted: tests/test_other_sdk_flows.py)
    r = api("start-vm", {"where": {"id": vid}}, status=400)
    assert "RUNNING" in r["message"]
    api("poweroff-vm", {"where": {"id": vid}})
    api("update-vm-basic-info", {"where": {"id": vid}, "data": {"description": "hello", "name": "web-renamed"}})
    assert api("get-vms", {"where": {"id": vid}})[0]["name"] == "web-renamed"
    api("delete-vm", {"where": {"id": vid}})
    assert api("get-vms", {"where": {"id": vid}}) == []
    assert api("get-vm-volumes", {"where": {"id_in": [v["id"] for v in vols]}}) == []
    assert api("get-vm-disks", {"where": {"id_in": [d["id"] for d in disks]}}) == []


def test_snapshot_chain_join_and_rollback(contract):
    api = Api(contract)
    vid = new_vm(api, "db-1")
    out = api("create-vm-snapshot", {"data": [{"vm_id": vid, "name": "snap-1", "consistent_type": "CRASH_CONSISTENT"}]})
    sid = out[0]["data"]["id"]
    snap = api("get-vm-snapshots", {"where": {"id": sid}})[0]
    assert snap["vm"]["id"] == vid and len(snap["vm_disks"]) == 2
    names = [d["snapshot_local_id"] for d in snap["vm_disks"] if d["type"] == "DISK"]
    lun_snaps = api("get-iscsi-lun-snapshots", {"where": {"name_in": names}})
    assert len(lun_snaps) == 2 and all(ls["local_id"] for ls in lun_snaps)
    # each LUN snapshot belongs to the LUN behind the disk's volume
    vols = api("get-vm-volumes", {"where": {"vm_disks_some": {"vm": {"id": vid}}}})
    assert {ls["iscsi_lun"]["id"] for ls in lun_snaps} == {v["lun"]["id"] for v in vols}
    api("update-vm-basic-info", {"where": {"id": vid}, "data": {"description": "changed"}})
    api("rollback-vm", {"where": {"id": vid}, "data": {"snapshot_id": sid}})
    assert api("get-vms", {"where": {"id": vid}})[0]["description"] == snap["description"]
    rebuilt = api("rebuild-vm-from-snapshot", [{"rebuild_from_snapshot_id": sid, "name": "db-1-copy"}])
    new_id = rebuilt[0]["data"]["id"]
    assert len(api("get-vms", {"where": {"id": new_id}})[0]["vm_disks"]) == 2
    api("delete-vm-snapshot", {"where": {"id": sid}})
    assert api("get-vm-snapshots", {"where": {"id": sid}}) == []
    assert api("get-iscsi-lun-snapshots", {"where": {"name_in": names}}) == []


def test_clone_vm_copies_disks(contract):
    api = Api(contract)
    vid = new_vm(api, "src")
    out = api("clone-vm", [{"src_vm_id": vid, "name": "src-clone"}])
    cid = out[0]["data"]["id"]
    clone = api("get-vms", {"where": {"id": cid}})[0]
    assert clone["name"] == "src-clone" and len(clone["vm_disks"]) == 2 and clone["memory"] == 4 * 1024 ** 3
    r = api("clone-vm", [{"src_vm_id": "cnosuchvm0000000000000000", "name": "x"}], status=400)
    assert "src_vm_id" in r["message"]


def test_iscsi_lun_snapshot_counts_and_guarded_lun_delete(contract):
    api = Api(contract)
    lun = api("get-iscsi-luns", {"first": 1})[0]
    before = lun["snapshot_num"]
    out = api("create-iscsi-lun-snapshot", [{"iscsi_lun_id": lun["id"], "iscsi_target_id": lun["iscsi_target"]["id"],
                                             "name": "ls-1"}])
    ls = api("get-iscsi-lun-snapshots", {"where": {"id": out[0]["data"]["id"]}})[0]
    assert ls["iscsi_lun"]["id"] == lun["id"] and ls["name"] == "ls-1"
    assert api("get-iscsi-luns", {"where": {"id": lun["id"]}})[0]["snapshot_num"] == before + 1
    r = api("delete-iscsi-lun", {"where": {"id": lun["id"]}, "data": {"remove_snapshot": False}}, status=400)
    assert "remove_snapshot" in r["message"]
    api("delete-iscsi-lun-snapshot", {"where": {"id": ls["id"]}})
    assert api("get-iscsi-luns", {"where": {"id": lun["id"]}})[0]["snapshot_num"] == before
