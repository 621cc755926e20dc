"""Derived counters after writes: recomputed when what they read changes, and only then."""

from __future__ import annotations

from mock_server.app import create_app
from mock_server.state import MockConfig
from mock_server.world import derived


def test_refresh_skips_what_no_derivation_reads_and_keeps_what_it_does(sdk_contract, monkeypatch):
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract)
    c = app.test_client()
    auth = {"Authorization": c.post("/v2/api/login", json={"username": "root", "password": "root"})
            .get_json()["data"]["token"]}
    vm = next(v for v in c.post("/v2/api/get-vms", json={}, headers=auth).get_json() if v["host"])
    cluster = lambda: c.post("/v2/api/get-clusters", json={"where": {"id": vm["cluster"]["id"]}},  # noqa: E731
                             headers=auth).get_json()[0]
    before = cluster()
    applied = []
    real_apply = derived.Deriver.apply
    monkeypatch.setattr(derived.Deriver, "apply",
                        lambda self, store, targets: applied.append(list(targets)) or real_apply(self, store, targets))
    r = c.post("/v2/api/update-vm-basic-info", headers=auth,
               json={"where": {"id": vm["id"]}, "data": {"description": "only words"}})
    assert r.status_code == 200
    assert all(m not in ("Cluster", "Host") for batch in applied for m, _ in batch)   # nothing to recount
    assert cluster()["provisioned_cpu_cores"] == before["provisioned_cpu_cores"]
    r = c.post("/v2/api/update-vm-basic-info", headers=auth,
               json={"where": {"id": vm["id"]}, "data": {"vcpu": vm["vcpu"] + 2, "cpu_cores": 1,
                                                          "cpu_sockets": vm["vcpu"] + 2}})
    assert r.status_code == 200, r.get_json()
    assert cluster()["provisioned_cpu_cores"] == before["provisioned_cpu_cores"] + 2


def test_refresh_all_recounts_every_luns_snapshots_in_bulk(sdk_contract):
    """The bulk pass over the LUN snapshots' index gives each LUN what the per-row derivation
    gives it: stale counts are corrected, right ones are left alone (not rewritten)."""
    store = create_app(MockConfig(task_speed=0), contract=sdk_contract).config["MOCK_STATE"].world().store
    d = derived.deriver(store)
    luns = store.tables["IscsiLun"].rows
    with_snaps = [rid for rid in luns if d.values(store, "IscsiLun", luns[rid])["snapshot_num"] > 0]
    without = [rid for rid in luns if rid not in with_snaps]
    assert with_snaps and without
    stale = {with_snaps[0]: 0, without[0]: 7}
    for rid, v in stale.items():
        store.update("IscsiLun", rid, {"snapshot_num": v})
    assert derived.refresh_all(store) == 2
    luns = store.tables["IscsiLun"].rows          # a written table holds a new row map
    for rid in (*stale, with_snaps[-1], without[-1]):
        assert luns[rid]["snapshot_num"] == d.values(store, "IscsiLun", luns[rid])["snapshot_num"]
    assert luns[without[0]]["snapshot_num"] == 0
    assert derived.refresh_all(store) == 0
