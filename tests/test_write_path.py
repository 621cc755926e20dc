"""The create-vm write path made cheaper (issue 13) keeps its answers: concurrent batched
bursts over real HTTP lose nothing and leave every VM whole, NICs checked once are the ones
inserted (a MAC named twice in one request is still refused), a replaced row moves only the
index entries of the fields that changed, and the C-speed depth count agrees with the walk."""

from __future__ import annotations

import json
import random
import threading

import pytest

from mock_server.store import Store
from mock_server.store.entries import fill
from mock_server.store.table import Table, build_table, members

requests = pytest.importorskip("requests")


# ------------------------------------------------------------------ bursts over HTTP

@pytest.fixture(scope="module")
def served(sdk_contract):
    from helpers import served_app

    from mock_server.app import create_app
    from mock_server.state import MockConfig
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract)
    with served_app(app, numthreads=16) as url:
        token = requests.post(f"{url}/login", json={"username": "root", "password": "root"}).json()["data"]["token"]
        yield url, token, app.config["MOCK_STATE"]


def _vm(cluster: str, vlan: str, name: str, **extra) -> dict:
    return {"cluster_id": cluster, "name": name, "vcpu": 2, "cpu_cores": 1, "cpu_sockets": 2,
            "memory": 2147483648, "ha": True, "firmware": "BIOS", "status": "STOPPED",
            "vm_nics": [{"connect_vlan_id": vlan, **extra}],
            "vm_disks": {"mount_new_create_disks": [{"boot": 1, "bus": "VIRTIO", "vm_volume": {
                "name": f"{name}-disk", "size": 10737418240, "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}}]}}


def _cluster_and_vlan(url: str, s) -> tuple[str, str]:
    for c in s.post(f"{url}/get-clusters", json={}).json():
        vlans = s.post(f"{url}/get-vlans", json={"where": {"vds": {"cluster": {"id": c["id"]}}, "type": "VM"},
                                                  "first": 1}).json()
        if vlans:
            return c["id"], vlans[0]["id"]
    pytest.skip("no cluster with a VM VLAN in this world")


def test_concurrent_batched_bursts_lose_nothing(served):
    url, token, state = served
    s = requests.Session()
    s.headers["Authorization"] = token
    cluster, vlan = _cluster_and_vlan(url, s)
    before = s.post(f"{url}/get-vms-connection", json={}).json()["aggregate"]["count"]
    vm_num = s.post(f"{url}/get-clusters", json={"where": {"id": cluster}}).json()[0]["vm_num"]
    threads, requests_each, per = 6, 8, 10
    answered: list[list[dict]] = [[] for _ in range(threads)]
    failures: list = []

    def run(n: int) -> None:
        c = requests.Session()
        c.headers["Authorization"] = token
        for r in range(requests_each):
            body = [_vm(cluster, vlan, f"burst-{n}-{r}-{k}") for k in range(per)]
            resp = c.post(f"{url}/create-vm", json=body, timeout=60)
            if resp.status_code != 200:
                failures.append((resp.status_code, resp.text[:300]))
                continue
            answered[n].extend(resp.json())

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not failures, failures[:3]
    made = [a for part in answered for a in part]
    total = threads * requests_each * per
    assert len(made) == total
    ids = {a["data"]["id"] for a in made}
    tasks = {a["task_id"] for a in made}
    assert len(ids) == total and len(tasks) == total
    assert s.post(f"{url}/get-vms-connection", json={}).json()["aggregate"]["count"] == before + total
    # the derived counter counts every one of them
    assert s.post(f"{url}/get-clusters", json={"where": {"id": cluster}}).json()[0]["vm_num"] == vm_num + total

    vms = s.post(f"{url}/get-vms", json={"where": {"name_starts_with": "burst-"}}).json()
    assert len(vms) == total
    for vm in vms:
        assert vm["status"] == "STOPPED" and vm["entityAsyncStatus"] is None
        assert len(vm["vm_disks"]) == 1 and len(vm["vm_nics"]) == 1
    store = state.world().store
    for vid in ids:
        disks = store.related_ids("Vm", store.get("Vm", vid), "vm_disks")
        assert len(disks) == 1
        vol = store.get("VmVolume", store.get("VmDisk", disks[0])["vm_volume"])
        assert vol is not None and store.get("IscsiLun", vol["lun"]) is not None
        nics = store.related_ids("Vm", store.get("Vm", vid), "vm_nics")
        assert len(nics) == 1 and store.get("VmNic", nics[0])["vm"] == vid
    done = s.post(f"{url}/get-tasks", json={"where": {"id_in": sorted(tasks)[:200]}}).json()
    assert {t["status"] for t in done} == {"SUCCESSED"}
    macs = [n["mac_address"] for n in s.post(f"{url}/get-vm-nics", json={"where": {"vm": {"id_in": sorted(ids)}}}).json()]
    assert len(macs) == total and len(set(macs)) == total


def test_a_mac_named_by_two_vms_of_one_request_is_refused(served):
    url, token, state = served
    s = requests.Session()
    s.headers["Authorization"] = token
    cluster, vlan = _cluster_and_vlan(url, s)
    mac = "52:54:00:ab:cd:%02x" % random.Random().randrange(256)
    while s.post(f"{url}/get-vm-nics", json={"where": {"mac_address": mac}}).json():
        mac = "52:54:00:ab:cd:%02x" % random.Random().randrange(256)
    body = [_vm(cluster, vlan, "mac-a", mac_address=mac), _vm(cluster, vlan, "mac-b", mac_address=mac)]
    r = s.post(f"{url}/create-vm", json=body)
    assert r.status_code == 400
    assert r.json()["message"] == f"vm_nics[0].mac_address: MAC address {mac} is already used by another NIC"
    # alone, the MAC is taken as given
    r = s.post(f"{url}/create-vm", json=[_vm(cluster, vlan, "mac-c", mac_address=mac.replace("cd", "ce"))])
    assert r.status_code == 200
    vm = s.post(f"{url}/get-vms", json={"where": {"id": r.json()[0]["data"]["id"]}}).json()[0]
    nic = s.post(f"{url}/get-vm-nics", json={"where": {"id": vm["vm_nics"][0]["id"]}}).json()[0]
    assert nic["mac_address"] == mac.replace("cd", "ce")


# ------------------------------------------------------------------ indexes

def _index_state(t: Table) -> dict:
    return {f: {k: set(members(e)) for k, e in idx.items()} for f, idx in (*t.scalar_index.items(),
                                                                             *t.rel_index.items())}


@pytest.mark.parametrize("seed", range(4))
def test_replacing_rows_keeps_every_index_exact(seed):
    """A replaced row moves the entries of its changed fields only; the indexes stay what
    indexing the rows afresh gives, on a table of its own and on a fork of a frozen base."""
    rng = random.Random(seed)
    keys = ["a", "b", "c", "d", None]

    def row(i: int) -> dict:
        return {"id": f"r{i:03d}", "owner": rng.choice(keys), "tags": rng.sample(["a", "b", "c", "d"], rng.randrange(4)),
                "name": rng.choice(["x", "y", "z", None, ["l"], {"d": 1}])}

    def with_name_index(t: Table) -> Table:       # a scalar index, as one built on demand
        t.scalar_index["name"] = {}
        fill(t.scalar_index["name"], t.rows, "name", lists=False)
        return t

    base = with_name_index(build_table("T", ["owner", "tags"], {f"r{i:03d}": row(i) for i in range(40)}))
    for t in (base.fork(), with_name_index(Table("T", ["owner", "tags"]))):
        for _ in range(300):
            i = rng.randrange(50)
            old = t.rows.get(f"r{i:03d}")
            if old is not None and rng.random() < 0.5:
                new = dict(old)                  # some fields the same objects, some changed
                for f in rng.sample(["owner", "tags", "name"], rng.randrange(1, 3)):
                    new[f] = row(i)[f]
                t.put(new)
            elif old is not None and rng.random() < 0.2:
                t.remove(old["id"])
            else:
                t.put(row(i))
        assert _index_state(t) == _index_state(with_name_index(build_table("T", ["owner", "tags"], t.rows)))


def test_store_update_invalidates_what_shows_the_changed_fields(sdk_contract):
    """The changed fields an update gives the render cache are the ones that changed."""
    store = Store(sdk_contract)
    c = store.insert("Cluster", {"id": "c1", "name": "one"})
    store.insert("Vm", {"id": "v1", "name": "vm", "cluster": c["id"]})
    first = store.render_json("Vm", store.get("Vm", "v1"))
    store.update("Cluster", "c1", {"name": "one", "vm_num": 5})          # nothing the VM shows
    assert store.render_json("Vm", store.get("Vm", "v1")) is first
    store.update("Cluster", "c1", {"name": "renamed"})
    assert json.loads(store.render_json("Vm", store.get("Vm", "v1")))["cluster"]["name"] == "renamed"


# ------------------------------------------------------------------ body depth

def test_the_depth_count_agrees_with_the_walk():
    from mock_server.request_body import bracket_depth

    def depth(v) -> int:
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        return 0

    rng = random.Random(5)

    def gen(d: int):
        if d == 0 or rng.random() < 0.2:
            return rng.choice([1, 'a{["}]\\', 'x\\"[[[', None, True, "]]]}}}", "\\\\", ""])
        if rng.random() < 0.5:
            return [gen(d - 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(["k", "{", ']"', "\\"]) + str(i): gen(d - 1) for i in range(rng.randint(0, 3))}

    for _ in range(3000):
        v = gen(rng.randint(0, 12))
        for raw in (json.dumps(v).encode(), json.dumps(v, indent=1, ensure_ascii=False).encode()):
            assert bracket_depth(raw) == depth(v), raw


def test_a_body_too_deep_inside_a_long_list_is_still_refused(app, auth):
    deep: object = 1
    for _ in range(70):
        deep = [deep]
    body = [{"name": f"n{i}"} for i in range(40)] + [{"name": "x", "description": deep}]
    r = app.test_client().post("/v2/api/create-vm", json=body, headers=auth)
    assert r.status_code == 400 and "deeper than the limit of 64 levels" in r.json["message"]
