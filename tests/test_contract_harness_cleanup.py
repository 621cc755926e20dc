"""`cloudtower-contract cleanup`: one resource of each type a run may create, named with the
prefix, is listed by the dry run (deleting nothing), then deleted in dependency order; none is
left, and resources outside the prefix or matching --protect are untouched."""

from __future__ import annotations

import pytest

from contract_tests.cli import main as contract_main
from contract_tests.mockserver import InProcessMock
from contract_tests.stateful import GiB, Env
from contract_tests.target import Target

P = "ctmclean-"


@pytest.fixture(scope="module")
def mock(sdk_contract):
    with InProcessMock(contract=sdk_contract, task_speed=0) as m:
        yield m


def made(t: Target, op: str, body) -> str:
    r = t.post(op, body)
    assert r.status_code == 200, f"{op}: {r.text}"
    item = r.json()[0] if isinstance(r.json(), list) else r.json()
    if item.get("task_id"):
        t.wait_tasks([item["task_id"]], timeout=30)
    return item["data"]["id"]


def one_of_each(t: Target, contract) -> dict[str, str]:
    env = Env(t, contract)
    assert env.discover() is None
    cl, host = env.cluster["id"], env.host["id"]
    vm = made(t, "create-vm", [{
        "cluster_id": cl, "host_id": host, "name": P + "vm", "ha": False, "cpu_sockets": 1, "cpu_cores": 1,
        "vcpu": 1, "memory": GiB, "status": "STOPPED", "firmware": "BIOS", "vm_nics": [],
        "vm_disks": {"mount_new_create_disks": [{"boot": 0, "bus": "VIRTIO", "vm_volume": {
            "name": P + "vm-d0", "size": GiB, "elf_storage_policy": env.storage_policy}}]}}])
    ids = {"Vm": vm}
    ids["VmSnapshot"] = made(t, "create-vm-snapshot", {"data": [{"vm_id": vm, "name": P + "snap"}]})
    ids["VmTemplate"] = made(t, "clone-vm-template-from-vm", [{"vm_id": vm, "name": P + "tpl",
                                                               "cloud_init_supported": False}])
    ids["ContentLibraryVmTemplate"] = made(t, "clone-content-library-vm-template-from-vm", [{
        "vm": {"id": vm}, "name": P + "cltpl", "clusters": {"id_in": [cl]}}])
    ids["VmVolume"] = made(t, "create-vm-volume", [{"cluster_id": cl, "name": P + "vol", "size": GiB,
                                                    "sharing": False, "elf_storage_policy": env.storage_policy}])
    target = t.call("get-iscsi-targets", {"where": {"cluster": {"id": cl}}, "first": 1})[0]
    lun = made(t, "create-iscsi-lun", [{"iscsi_target_id": target["id"], "name": P + "lun", "assigned_size": GiB,
                                        "replica_num": 2}])
    ids["IscsiLun"] = lun
    ids["IscsiLunSnapshot"] = made(t, "create-iscsi-lun-snapshot", [{"iscsi_lun_id": lun, "name": P + "lunsnap",
                                                                     "iscsi_target_id": target["id"]}])
    ids["Label"] = made(t, "create-label", [{"key": P + "label", "value": "x"}])
    ids["VmFolder"] = made(t, "create-vm-folder", [{"cluster_id": cl, "name": P + "folder"}])
    return ids


def test_cleanup_dry_run_then_deletes_one_of_each_type(mock, capsys):
    from contract_tests.cleanup import cleanup
    t = Target(mock.url, username="root", password="root")
    t.login()
    ids = one_of_each(t, mock.contract)
    keep = made(t, "create-label", [{"key": P + "keep-me", "value": "x"}])
    base = ["--base-url", mock.url, "-u", "root", "-p", "root", "--prefix", P, "--protect", "keep-me"]

    assert contract_main(["cleanup", *base, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing deleted" in out
    for resource, rid in ids.items():
        assert f"{resource} " in out and rid in out, (resource, out)
    assert keep not in out
    assert len(cleanup(t, P, dry_run=True, log=lambda s: None)) >= len(ids)     # nothing was deleted

    assert contract_main(["cleanup", *base]) == 0
    out = capsys.readouterr().out
    assert "0 left" in out, out
    # snapshots and templates went before the VM, the VM before its volumes, folders and labels last
    listed = [ln.split()[0] for ln in out.splitlines() if ln.startswith("  ") and "(" in ln and "left" not in ln]
    order = [r for r in ("VmSnapshot", "VmTemplate", "Vm", "VmVolume", "IscsiLun", "VmFolder", "Label") if r in listed]
    assert order == sorted(order, key=listed.index)
    assert listed.index("VmSnapshot") < listed.index("Vm") < listed.index("VmVolume") < listed.index("Label")
    assert cleanup(t, P, dry_run=True, log=lambda s: None) == [("Label", keep, P + "keep-me")]   # protected
    for resource, op in (("Vm", "get-vms"), ("VmSnapshot", "get-vm-snapshots"), ("VmVolume", "get-vm-volumes"),
                         ("IscsiLun", "get-iscsi-luns"), ("VmFolder", "get-vm-folders")):
        assert t.call(op, {"where": {"name_starts_with": P}}) == [], resource
    assert [x["id"] for x in t.call("get-labels", {"where": {"key_starts_with": P}})] == [keep]
    t.call("delete-label", {"where": {"id": keep}})


def test_cleanup_refuses_a_short_prefix_and_remote_targets(mock, capsys):
    assert contract_main(["cleanup", "--base-url", mock.url, "-u", "root", "-p", "root", "--prefix", "c"]) == 2
    assert "shorter than 3" in capsys.readouterr().err
    assert contract_main(["cleanup", "--base-url", "http://10.255.255.1:9", "--token", "x", "--prefix", P]) == 2
    assert "--allow-mutations" in capsys.readouterr().err
