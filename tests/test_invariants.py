"""The world's invariants (mock_server/invariants.py) hold after seeding (default and large
worlds, spec- and SDK-derived contracts) and after every mutation of a seeded random run
through the API; the checker itself catches each kind of fault."""

from __future__ import annotations

import random

import pytest

from mock_server.app import create_app
from mock_server.invariants import assert_sound, check
from mock_server.state import MockConfig
from mock_server.world.generator import generate


@pytest.fixture(scope="module")
def default_store(contract):
    return generate(contract, "default")


def test_default_world_is_sound(contract, default_store):
    assert check(default_store) == []


def test_default_world_is_sound_with_sdk_contract(sdk_contract):
    assert check(generate(sdk_contract, "default")) == []


def test_large_world_is_sound(contract):
    store = generate(contract, "large")
    assert store.count("Vm") == 10_000
    assert check(store) == []
    # the large world has hosts in maintenance, and they run nothing
    maint = [h for h in store.all("Host") if (h.get("host_state") or {}).get("state") == "MAINTENANCE_MODE"]
    assert maint
    assert all(h["vm_num"] == 0 and h["running_vm_num"] == 0 for h in maint)
    # and it stays sound through a few mutations (checked after each)
    api = Api(contract, store)
    rng = random.Random(11)
    for i in range(4):
        op, body = _random_step(api, rng, i)
        api(op, body)
        assert_sound(store, f"after {op} on the large world")


def test_counters_are_derived(default_store):
    s = default_store
    for h in s.all("Host"):
        vms = s.find_by("Vm", "host", h["id"])
        assert h["vm_num"] == len(vms)
        assert h["running_vm_num"] == sum(v["status"] == "RUNNING" for v in vms)
        assert h["stopped_vm_num"] == sum(v["status"] == "STOPPED" for v in vms)
        assert h["total_cpu_hz"] == h["total_cpu_cores"] * h["cpu_hz_per_core"] > 0
        assert h["running_pause_vm_memory_bytes"] == sum(v["memory"] for v in vms
                                                         if v["status"] in ("RUNNING", "SUSPENDED"))
        assert h["used_memory_bytes"] <= h["total_memory_bytes"]
        disks = s.find_by("Disk", "host", h["id"])
        assert h["total_data_capacity"] == sum(d["size"] for d in disks if d["usage"] in ("DATA", "DATA_AND_META")) > 0
    for c in s.all("Cluster"):
        hosts = s.find_by("Host", "cluster", c["id"])
        assert c["host_num"] == len(hosts)
        assert c["vm_num"] == len(s.find_by("Vm", "cluster", c["id"]))
        assert c["total_cpu_hz"] == sum(h["total_cpu_hz"] for h in hosts)
        assert c["total_memory_bytes"] == sum(h["total_memory_bytes"] for h in hosts)
    dc = s.all("Datacenter")[0]
    assert dc["vm_num"] == s.count("Vm") and dc["host_num"] == s.count("Host")
    for lab in s.all("Label"):
        assert lab["vm_num"] == len(lab.get("vms") or [])


def test_usb_devices_agree_both_ways(default_store):
    s = default_store
    for dev in s.all("UsbDevice"):
        for vid in s.related_ids("UsbDevice", dev, "vms"):
            assert dev["id"] in s.related_ids("Vm", s.get("Vm", vid), "usb_devices")
    for vm in s.all("Vm"):
        for did in s.related_ids("Vm", vm, "usb_devices"):
            assert vm["id"] in s.related_ids("UsbDevice", s.get("UsbDevice", did), "vms")


def test_content_library_templates_are_realistic(default_store):
    s = default_store
    libs = s.all("ContentLibraryVmTemplate")
    assert libs
    for lib in libs:
        assert lib["vcpu"] == lib["cpu"]["sockets"] * lib["cpu"]["cores"]
        assert lib["memory"] >= 1024 ** 3
        assert lib["size"] == sum(d["size"] for d in lib["vm_disks"])
        copies = s.related_ids("ContentLibraryVmTemplate", lib, "vm_templates")
        assert copies and lib["vm_template_uuids"] == [s.get("VmTemplate", t)["local_id"] for t in copies]


def test_checker_catches_each_kind_of_fault(contract):
    s = generate(contract, "default")
    host = s.all("Host")[0]
    s.update("Host", host["id"], {"running_vm_num": host["running_vm_num"] + 1})
    vm = next(v for v in s.all("Vm") if v["status"] == "RUNNING")
    s.update("Vm", vm["id"], {"host": None})
    ipmi = s.all("Ipmi")[0]
    holder = s.find_by("Host", "ipmi", ipmi["id"])[0]
    s.update("Host", holder["id"], {"ipmi": None})
    ns = s.all("NvmfNamespace")[0]
    s.update("NvmfNamespace", ns["id"], {"namespace_id": 2 ** 31})
    s.update("Cluster", s.all("Cluster")[0]["id"], {"total_cpu_hz": None})
    text = "\n".join(check(s, refresh=False))
    assert "running_vm_num" in text
    assert "RUNNING without a host" in text
    assert "Ipmi" in text and "reads null" in text
    assert "namespace_id = 2147483648" in text
    assert "total_cpu_hz" in text
    with pytest.raises(AssertionError):
        assert_sound(s, refresh=False)


# ----------------------------------------------------------------- through the API

class Api:
    def __init__(self, contract, world):
        app = create_app(MockConfig(task_speed=0.0), contract=contract, world_factory=lambda: world)
        self.client = app.test_client()
        self.state = app.config["MOCK_STATE"]
        token = self.client.post("/v2/api/login", json={"username": "root", "password": "root"}).json
        self.headers = {"Authorization": token["data"]["token"]}

    def __call__(self, name, body=None, lang=None):
        headers = dict(self.headers)
        if lang:
            headers["content-language"] = lang
        r = self.client.post("/v2/api/" + name, json=body if body is not None else {}, headers=headers)
        assert r.status_code < 500, (name, body, r.status_code, r.json)
        return r

    @property
    def store(self):
        return self.state.world().store


def test_delete_cluster_leaves_no_dangling_relation(contract):
    api = Api(contract, generate(contract, "default"))
    s = api.store
    cluster = next(c for c in s.all("Cluster") if c.get("settings"))
    assert api("delete-cluster", {"where": {"id": cluster["id"]}}).status_code == 200
    assert s.get("Cluster", cluster["id"]) is None
    for op, rel in (("get-ipmis", "host"), ("get-cluster-settingses", "cluster"), ("get-hosts", "cluster"),
                    ("get-witnesses", "cluster")):
        rows = api(op).json
        assert all(r[rel] is not None for r in rows), op
    assert not s.find_by("Vm", "cluster", cluster["id"])
    assert_sound(s, "after delete-cluster")


def _vm_body(s, rng, name):
    cluster = rng.choice(s.all("Cluster"))
    status = rng.choice(("RUNNING", "STOPPED"))
    return [{"cluster_id": cluster["id"], "name": name, "vcpu": 2, "cpu_cores": 1, "cpu_sockets": 2,
             "memory": 2, "memory_unit": "GB", "ha": True, "firmware": "BIOS", "status": status, "vm_nics": [],
             "vm_disks": {"mount_new_create_disks": [
                 {"vm_volume": {"elf_storage_policy": "REPLICA_2_THIN_PROVISION", "size": 1, "size_unit": "GB",
                                "name": f"{name}-d0"}, "bus": "VIRTIO", "boot": 0}]}}]


def _random_step(api, rng, i):
    s = api.store
    vms = s.all("Vm")
    vm = rng.choice(vms) if vms else None
    where = {"where": {"id": vm["id"]}} if vm else {"where": {"id": "none"}}
    kind = rng.randrange(12)
    if kind == 0 or vm is None:
        return "create-vm", _vm_body(s, rng, f"inv-{i}")
    if kind in (1, 2, 3, 4, 5):
        return rng.choice(("start-vm", "shutdown-vm", "poweroff-vm", "suspend-vm", "resume-vm",
                           "force-restart-vm")), where
    if kind == 6:
        return "delete-vm", where
    if kind == 7:
        return "create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": f"inv-snap-{i}",
                                                "consistent_type": "CRASH_CONSISTENT"}]}
    if kind == 8:
        snaps = s.all("VmSnapshot")
        return "delete-vm-snapshot", {"where": {"id": rng.choice(snaps)["id"] if snaps else "none"}}
    if kind == 9:
        labels = s.all("Label")
        return "add-labels-to-resources", {"where": {"id_in": [l["id"] for l in labels[:2]]},
                                           "data": {"vms": {"id_in": [vm["id"]]}}}
    if kind == 10:
        if rng.random() < 0.5:
            return "update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"description": f"step {i}"}}
        sockets = rng.choice((1, 2))
        return "update-vm", {"where": {"id": vm["id"]},
                             "data": {"vcpu": sockets * 2, "cpu_sockets": sockets, "cpu_cores": 2}}
    if kind == 11 and rng.random() < 0.3:
        labels = s.all("Label")
        if labels and rng.random() < 0.5:
            return "delete-label", {"where": {"id": rng.choice(labels)["id"]}}
        return "create-label", [{"key": "inv", "value": f"v{i}"}]
    if rng.random() < 0.5:
        return "migrate-vm", {"where": {"id": vm["id"]}}          # automatic placement
    hosts = [h for h in s.find_by("Host", "cluster", vm.get("cluster")) if h["id"] != vm.get("host")]
    return "migrate-vm", {"where": {"id": vm["id"]},
                          "data": {"host_id": rng.choice(hosts)["id"] if hosts else vm.get("host")}}


MAINTENANCE_WORLD = {"seed": 5, "clusters": 4, "hosts_per_cluster": 4, "vms": 120}


@pytest.mark.parametrize("world,steps", [("default", 120), ("maintenance", 120)])
def test_random_mutations_keep_the_world_sound(contract, world, steps):
    from mock_server.world.scenario import parse_scenario
    scenario = parse_scenario(MAINTENANCE_WORLD) if world == "maintenance" else world
    api = Api(contract, generate(contract, scenario))
    if world == "maintenance":
        assert any((h.get("host_state") or {}).get("state") == "MAINTENANCE_MODE" for h in api.store.all("Host"))
    rng = random.Random(7)
    seen = {}
    for i in range(steps):
        op, body = _random_step(api, rng, i)
        r = api(op, body)
        seen[(op, r.status_code)] = seen.get((op, r.status_code), 0) + 1
        assert_sound(api.store, f"after step {i}: {op} {body} -> {r.status_code} {r.json}")
    # the run did change the world
    assert sum(n for (op, code), n in seen.items() if code == 200) > steps // 2


def test_report_template_filter_must_be_an_object(contract):
    api = Api(contract, generate(contract, "default"))
    body = [{"name": "inv-report", "resource_meta": [{"type": "VM", "name": "vms", "filter": None, "fields": ["name"]}],
             "execute_plan": []}]
    r = api("create-report-template", body)
    assert r.status_code == 400 and "filter" in r.json["message"]
    body[0]["resource_meta"][0]["filter"] = {"status": "RUNNING"}
    r = api("create-report-template", body)
    assert r.status_code == 200
    assert r.json[0]["data"]["resource_meta"][0]["filter"] == {"status": "RUNNING"}


def test_int32_fields_are_range_checked_in_where_with_the_sdk_contract(sdk_contract):
    """The SDK says only `int`; the generated int32 table gives the derived contract the formats."""
    res = sdk_contract.resources["NvmfNamespace"]
    assert sdk_contract.resolve(res.properties["namespace_id"]).get("format") == "int32"
    assert sdk_contract.resolve(sdk_contract.resources["Vm"].properties["memory"]).get("format") == "int64"
    api = Api(sdk_contract, generate(sdk_contract, "default"))
    ok = api("get-nvmf-namespaces", {"where": {"namespace_id_gt": 2 ** 31 - 1}})
    assert ok.status_code == 200
    r = api("get-nvmf-namespaces", {"where": {"namespace_id_gt": 2 ** 31}})
    assert r.status_code == 400 and "namespace_id_gt" in r.json["message"]
    r = api("get-nvmf-namespaces", {"where": {"namespace_id_in": [1, 2 ** 31]}})
    assert r.status_code == 400


def test_int32_table_is_what_the_tool_generates_from_the_spec(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from helpers import SPEC
    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "int32.json"
    subprocess.run([sys.executable, str(repo / "tools" / "gen_int32_fields.py"), SPEC, "-o", str(out)],
                   check=True, capture_output=True)
    committed = json.loads((repo / "mock_server" / "contract" / "int32_fields.json").read_text())
    assert json.loads(out.read_text()) == committed
    assert "namespace_id" in committed["int32"] and "memory" not in committed["int32"]
    bad = subprocess.run([sys.executable, str(repo / "tools" / "gen_int32_fields.py"), str(tmp_path / "none.json")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_delete_of_a_network_in_use_is_refused(contract):
    api = Api(contract, generate(contract, "default"))
    s = api.store
    used = next(v for v in s.all("Vlan") if s.count_by("VmNic", "vlan", v["id"]))
    r = api("delete-vm-vlan", {"where": {"id": used["id"]}})
    assert r.status_code == 400 and "in use" in r.json["message"]
    r = api("delete-vm-vlan", {"where": {"id": used["id"]}}, lang="zh-CN")
    assert r.status_code == 400 and "使用" in r.json["message"]
    vds = s.get("Vds", used["vds"])
    assert api("delete-vds", {"where": {"id": vds["id"]}}).status_code == 400
    assert s.get("Vlan", used["id"]) is not None
    free = next((v for v in s.all("Vlan") if not s.count_by("VmNic", "vlan", v["id"]) and v["type"] == "VM"), None)
    if free is not None:
        assert api("delete-vm-vlan", {"where": {"id": free["id"]}}).status_code == 200
        assert s.get("Vlan", free["id"]) is None
    assert_sound(s, "after the deletes")
