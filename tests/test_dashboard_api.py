"""The admin endpoints the dashboard reads (and scripts can too): inventory tree and counts,
paged records with search, a VM's chains, the task center, journal entries with their bodies,
console links, status, namespace creation; bad input gets a 4xx with a message."""

from __future__ import annotations

import requests

from mock_server.pytest_plugin import start_mock
from helpers import served_mock_fixtures


mock, api = served_mock_fixtures(task_speed=0)


def get(mock, path, **params):
    return requests.get(mock.url + "/_mock" + path, params=params)


def test_landing_page_and_static_files(mock):
    page = requests.get(mock.url + "/")
    assert page.status_code == 200 and 'href="/_mock/ui/"' in page.text
    ui = requests.get(mock.url + "/_mock/ui/")
    assert ui.status_code == 200 and "app.js" in ui.text
    assert requests.get(mock.url + "/_mock/ui/vendor/novnc/core/rfb.js").status_code == 200
    assert requests.get(mock.url + "/_mock/ui/vendor/novnc/LICENSE.txt").status_code == 200
    assert requests.get(mock.url + "/_mock/ui/../admin/__init__.py").status_code == 404


def test_inventory_tree_matches_the_api(mock, api):
    inv = get(mock, "/inventory").json()
    vms = api.post(mock.api_url + "/get-vms", json={}).json()
    assert inv["counts"]["Vm"] == len(vms)
    hosts = {h["id"]: h for dc in inv["tree"] for c in dc["clusters"] for h in c["hosts"]}
    for hid, node in hosts.items():
        assert node["vms"] == sum(1 for v in vms if (v.get("host") or {}).get("id") == hid)
    assert sum(c["vms"] for dc in inv["tree"] for c in dc["clusters"]) == len(vms)


def test_records_search_paging_and_vm_chains(mock, api):
    vm = api.post(mock.api_url + "/get-vm-snapshots", json={"first": 1}).json()[0]["vm"]
    by_name = get(mock, "/resources/Vm", q=vm["name"]).json()
    assert vm["id"] in [i["id"] for i in by_name["items"]]
    assert get(mock, "/resources/Vm", q=vm["id"]).json()["items"][0]["id"] == vm["id"]
    p1, p2 = (get(mock, "/resources/Vm", first=7, skip=s).json() for s in (0, 7))
    assert len(p1["items"]) == 7 and not {i["id"] for i in p1["items"]} & {i["id"] for i in p2["items"]}
    d = get(mock, f"/resources/Vm/{vm['id']}").json()
    assert d["record"]["id"] == vm["id"] and d["relations"]["host"] == "Host"
    lun_snaps = [ls for s in d["tree"]["snapshots"] for ls in s["lun_snapshots"]]
    assert lun_snaps, "a VM with snapshots shows their LUN snapshots"
    ls = get(mock, f"/resources/IscsiLunSnapshot/{lun_snaps[0]['id']}").json()
    assert ls["record"]["id"] == lun_snaps[0]["id"]
    assert any(x["lun"] for x in d["tree"]["disks"])
    assert get(mock, "/resources/Vm/nope").status_code == 404
    assert get(mock, "/resources/NoSuchType").status_code == 404


def test_task_center_and_journal_bodies(mock, api):
    vm = api.post(mock.api_url + "/get-vms", json={"where": {"status": "RUNNING"}, "first": 1}).json()[0]
    r = api.post(mock.api_url + "/create-vm-snapshot", json={"data": [{"vm_id": vm["id"], "name": "j-snap"}]})
    task_id = r.json()[0]["task_id"]
    tasks = get(mock, "/tasks", status="SUCCESSED").json()
    assert tasks["items"][0]["id"] == task_id and tasks["items"][0]["progress"] == 1.0
    assert all(t["status"] == "SUCCESSED" for t in tasks["items"])
    assert get(mock, "/tasks", status="BOGUS").status_code == 400
    entries = get(mock, "/journal", operation="create-vm-snapshot").json()["entries"]
    last = entries[-1]
    assert last["request_id"] == r.headers["x-tower-request-id"]
    full = get(mock, f"/journal/{last['seq']}").json()
    assert full["body"]["data"][0]["name"] == "j-snap" and full["response_body"][0]["task_id"] == task_id
    assert get(mock, "/journal/999999").status_code == 404


def test_console_links_status_and_namespaces(mock, api):
    vm = api.post(mock.api_url + "/get-vms", json={"first": 1}).json()[0]
    c = requests.post(mock.url + "/_mock/console", json={"vm": vm["id"]}).json()
    assert c["redirect"].startswith("ws://") and "/websockify/?token=" in c["redirect"]
    assert c["terminal"].startswith(mock.url + "/_mock/ui/console.html?")
    assert requests.post(mock.url + "/_mock/console", json={"vm": "nope"}).status_code == 404
    assert requests.post(mock.url + "/_mock/console", json={"vm": 5}).status_code == 400
    created = requests.post(mock.url + "/_mock/namespaces", json={"name": "team-a"})
    assert created.status_code == 201
    assert requests.post(mock.url + "/_mock/namespaces", json={"name": "bad name!"}).status_code == 400
    st = get(mock, "/status").json()
    assert "team-a" in st["namespaces"] and st["journal"]["last"] >= 1
    assert get(mock, "/inventory", namespace="team-a").json()["counts"]["Vm"] == get(mock, "/inventory").json()["counts"]["Vm"]
    assert get(mock, "/inventory", namespace="ghost").status_code == 404


def test_answers_stay_small_at_ten_thousand_vms():
    m = start_mock(world="large", task_speed=0)
    try:
        inv = get(m, "/inventory")
        assert inv.json()["counts"]["Vm"] == 10000 and len(inv.content) < 64 * 1024
        for params in ({}, {"q": "db"}, {"skip": 9990}):
            page = get(m, "/resources/Vm", **params)
            assert len(page.json()["items"]) <= 50 and len(page.content) < 64 * 1024
        assert get(m, "/resources/Vm", skip=9990).json()["total"] == 10000
        assert len(get(m, "/tasks").json()["items"]) <= 50
    finally:
        m.stop()
