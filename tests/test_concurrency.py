"""8 clients mutate one world at once over real HTTP (cheroot, in-process) for a bounded
time: creating, updating, starting, stopping and deleting VMs, adding and removing NICs,
taking and deleting snapshots, on their own VMs and on each other's (tasks overlap, so
400 ResourceLocked is expected). No 5xx may ever come back. Afterwards, once every task
has ended, the store must be whole: every stored relation points at an existing row, both
ends of VM → disks / NICs / snapshots agree, every VM snapshot's disks resolve to LUN
snapshots by name, no task is left running, no entityAsyncStatus is left set, and no VM
was lost or resurrected."""

from __future__ import annotations

import random
import threading
import time

import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("cheroot.wsgi")

from mock_server.app import create_app  # noqa: E402
from mock_server.state import MockConfig  # noqa: E402

from helpers import load_spec_contract, served_app  # noqa: E402


THREADS = 8
DURATION = 8.0          # seconds of load
TASK_SPEED = 50.0
# 400s that are the world saying no, not the mock failing
EXPECTED_400 = ("locked", "Cannot ", "power it off", "does not exist", "is RUNNING", "no NIC at index",
                "already has a snapshot", "No host of the cluster can run")      # placement refusals


@pytest.fixture(scope="module")
def served():
    from mock_server.world.generator import generate
    contract = load_spec_contract()
    app = create_app(MockConfig(task_speed=TASK_SPEED), contract=contract,
                     world_factory=lambda: generate(contract, None, seed=11))
    with served_app(app, numthreads=16) as url:
        yield url, app.config["MOCK_STATE"]


class Client:
    def __init__(self, url: str, token: str):
        self.url = url
        self.s = requests.Session()
        self.s.headers["Authorization"] = token
        self.errors: list = []
        self.locked = 0
        self.refused = 0
        self.calls = 0

    def post(self, op: str, body):
        r = self.s.post(f"{self.url}/{op}", json=body, timeout=30)
        self.calls += 1
        if r.status_code >= 500:
            self.errors.append((op, r.status_code, r.text[:300]))
            return None
        if r.status_code == 400:
            msg = r.json().get("message", "")
            if r.json().get("code") == "ResourceLocked":
                self.locked += 1
            elif any(x in msg for x in EXPECTED_400):
                self.refused += 1
            else:
                self.errors.append((op, 400, msg, body))
            return None
        if r.status_code != 200:
            self.errors.append((op, r.status_code, r.text[:300]))
            return None
        return r.json()


def test_concurrent_mutations_keep_the_store_whole(served):
    url, state = served
    token = requests.post(f"{url}/login", json={"username": "root", "password": "root"}).json()["data"]["token"]
    world = state.world()
    store = world.store
    assert not world.extras.get("vm_recycle_bin")      # delete-vm deletes

    # a cluster with a VM VLAN for each thread's VMs
    vds_cluster = {d["id"]: d["cluster"] for d in store.all("Vds")}
    vlan_of = {}
    for v in store.all("Vlan"):
        if v.get("type") == "VM":
            vlan_of.setdefault(vds_cluster[v["vds"]], v["id"])
    clusters = sorted(vlan_of)

    pool: list[str] = []                 # every VM created by a thread (shared, for cross-thread ops)
    pool_lock = threading.Lock()
    created: list[set] = [set() for _ in range(THREADS)]
    deleted: list[set] = [set() for _ in range(THREADS)]
    clients = [Client(url, token) for _ in range(THREADS)]
    stop_at = time.monotonic() + DURATION

    def run(n: int):
        c, rng = clients[n], random.Random(n)
        cluster = clusters[n % len(clusters)]
        mine: list[str] = []
        snaps: list[str] = []
        k = 0
        while time.monotonic() < stop_at:
            with pool_lock:
                recent = pool[-4:]
            r = rng.random()
            if r < 0.22 or not mine:
                k += 1
                out = c.post("create-vm", [{
                    "cluster_id": cluster, "name": f"conc-{n}-{k}", "vcpu": 1, "memory": 1, "memory_unit": "GB",
                    "cpu_cores": 1, "cpu_sockets": 1, "ha": False, "firmware": "BIOS", "status": "STOPPED",
                    "vm_nics": [{"connect_vlan_id": vlan_of[cluster]}],
                    "vm_disks": {"mount_new_create_disks": [{"vm_volume": {
                        "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "size": 1, "size_unit": "GB",
                        "name": f"conc-{n}-{k}-d0"}, "bus": "VIRTIO", "boot": 0}]}}])
                if out:
                    vid = out[0]["data"]["id"]
                    mine.append(vid)
                    created[n].add(vid)
                    with pool_lock:
                        pool.append(vid)
            elif r < 0.36 and recent:
                c.post("update-vm-basic-info", {"where": {"id": rng.choice(recent)},
                                                "data": {"description": f"touched by {n}"}})
            elif r < 0.50 and recent:
                out = c.post("create-vm-snapshot", {"data": [{"vm_id": rng.choice(recent), "name": f"s-{n}-{k}-{r:.6f}"}]})
                if out:
                    snaps.append(out[0]["data"]["id"])
            elif r < 0.58 and snaps:
                c.post("delete-vm-snapshot", {"where": {"id": snaps.pop(rng.randrange(len(snaps)))}})
            elif r < 0.66:
                c.post("start-vm", {"where": {"id": rng.choice(mine)}})
            elif r < 0.74:
                c.post("poweroff-vm", {"where": {"id": rng.choice(mine)}})
            elif r < 0.80:
                c.post("add-vm-nic", {"where": {"id": rng.choice(mine)},
                                      "data": {"vm_nics": [{"connect_vlan_id": vlan_of[cluster]}]}})
            elif r < 0.85:
                c.post("remove-vm-nic", {"where": {"id": rng.choice(mine)}, "data": {"nic_index": [0]}})
            elif r < 0.93 and len(mine) > 1:
                vid = mine[rng.randrange(len(mine))]
                if c.post("delete-vm", {"where": {"id": vid}}) is not None:
                    mine.remove(vid)
                    deleted[n].add(vid)
            else:
                c.post("get-vms", {"where": {"name_starts_with": f"conc-{n}-"}, "first": 20})

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DURATION + 30)
    assert not any(t.is_alive() for t in threads)

    errors = [e for c in clients for e in c.errors]
    assert not errors, errors[:10]
    calls, locked = sum(c.calls for c in clients), sum(c.locked for c in clients)
    assert calls > 200 and locked > 0, (calls, locked)
    print(f"\n{calls} calls, {locked} ResourceLocked, {sum(c.refused for c in clients)} other refusals, "
          f"{sum(map(len, created))} VMs created, {sum(map(len, deleted))} deleted")

    # let every task end (reads settle the engine)
    probe = Client(url, token)
    deadline = time.monotonic() + 15
    while True:
        out = probe.post("get-tasks-connection", {"where": {"status_in": ["PENDING", "EXECUTING"]}})
        if out["aggregate"]["count"] == 0:
            break
        assert time.monotonic() < deadline, "tasks still running"
        time.sleep(0.05)

    with store.lock:
        check_store(state.contract, store)
        tasks = store.all("Task")
        assert all(t["status"] in ("SUCCESSED", "FAILED") for t in tasks)
        assert world.tasks.running() == 0
        for n in range(THREADS):
            for vid in created[n] - deleted[n]:
                assert store.get("Vm", vid) is not None, f"VM {vid} of thread {n} was lost"
            for vid in deleted[n]:
                assert store.get("Vm", vid) is None, f"VM {vid} deleted by thread {n} is still there"
    assert not probe.errors


def check_store(contract, store) -> None:
    problems = []
    # every stored relation id points at an existing row
    for model, plans in store.plans.items():
        for field, plan in plans.items():
            if not plan.stored or plan.target not in store.tables:
                continue
            for row in store.tables[model].rows.values():
                v = row.get(field)
                ids = v if isinstance(v, list) else ([v] if v is not None else [])
                for i in ids:
                    if store.get(plan.target, i) is None:
                        problems.append(f"{model}.{field} of {row['id']} -> missing {plan.target} {i}")
    # no entityAsyncStatus left set
    for model, res in contract.resources.items():
        if res.has_async_status:
            for row in store.tables[model].rows.values():
                if row.get("entityAsyncStatus") is not None:
                    problems.append(f"{model} {row['id']} still {row['entityAsyncStatus']}")
    # both ends agree: the VM's rendered lists == the rows pointing at it
    by_vm = {f: {} for f in ("VmDisk", "VmNic", "VmSnapshot")}
    for model in by_vm:
        for row in store.tables[model].rows.values():
            if row.get("vm"):
                by_vm[model].setdefault(row["vm"], set()).add(row["id"])
    for vm in store.tables["Vm"].rows.values():
        shown = store.render("Vm", vm)
        for field, model in (("vm_disks", "VmDisk"), ("vm_nics", "VmNic"), ("snapshots", "VmSnapshot")):
            ids = {x["id"] for x in shown.get(field) or []}
            if ids != by_vm[model].get(vm["id"], set()):
                problems.append(f"Vm {vm['id']}.{field} {sorted(ids)} != {sorted(by_vm[model].get(vm['id'], ()))}")
        nics = sorted(store.get("VmNic", i).get("order") for i in by_vm["VmNic"].get(vm["id"], ()))
        if nics != list(range(len(nics))):
            problems.append(f"Vm {vm['id']} NIC order {nics}")
    for vol in store.tables["VmVolume"].rows.values():
        shown = store.render("VmVolume", vol)
        if vol.get("lun") and (shown.get("lun") or {}).get("id") != vol["lun"]:
            problems.append(f"VmVolume {vol['id']} lun not rendered")
    # every VM snapshot's disks resolve to LUN snapshots by name (the backup join)
    for snap in store.tables["VmSnapshot"].rows.values():
        for fd in snap.get("vm_disks") or []:
            name = fd.get("snapshot_local_id")
            if fd.get("type") == "DISK" and name and not store.find_by("IscsiLunSnapshot", "name", name):
                problems.append(f"VmSnapshot {snap['id']} disk {fd.get('index')}: no LUN snapshot named {name}")
    assert not problems, "\n".join(problems[:30]) + f"\n({len(problems)} problems)"
