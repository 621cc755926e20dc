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
