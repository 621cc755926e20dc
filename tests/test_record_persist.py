"""Recording a CloudTower (the mock itself) into a world file, the state file across
restarts, and the version matrix (`compat`)."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time

import orjson
import pytest
import requests

from mock_server.app import create_app
from mock_server.record import MASK, crawl, is_recording, load_recorded, mask, write_recording
from mock_server.state import MockConfig

from conftest import LiveServer, spec_path

SECRET = "hunter2-very-secret"


@pytest.fixture(scope="module")
def source(sdk_contract):
    """The mock serving its default world, with a secret set on a record."""
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract)
    store = app.config["MOCK_STATE"].world().store
    target = store.all("IscsiTarget")[0]
    store.update("IscsiTarget", target["id"], {"chap_secret": SECRET})
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def recording(source, sdk_contract, tmp_path_factory):
    progress = io.StringIO()
    doc = crawl(sdk_contract, source.url, "root", "root", page_size=40, budget=5000, progress=progress)
    path = tmp_path_factory.mktemp("rec") / "world.json"
    write_recording(doc, path)
    return path, doc, progress.getvalue()


def listings(store, contract):
    return {m: [store.render(m, r) for r in store.all(m)] for m, res in contract.resources.items() if res.list_path}


def test_recording_is_complete_paginated_and_masked(recording, source):
    path, doc, progress = recording
    assert is_recording(path)
    assert doc["complete"] and not doc["errors"]
    src = source.state.world().store
    assert len(doc["resources"]["Vm"]) == src.count("Vm") > 40        # more than one page
    assert "IscsiTarget" in progress and "requests" in progress
    text = path.read_text()
    assert SECRET not in text
    assert any(t["chap_secret"] == MASK for t in doc["resources"]["IscsiTarget"])
    labels = doc["resources"].get("Label", [])
    assert all(lab["key"] != MASK for lab in labels)                  # a label's key is not a secret


def test_loaded_recording_has_the_same_listings(recording, source, sdk_contract):
    path, _, _ = recording
    src = source.state.world().store
    loaded = load_recorded(sdk_contract, path)
    want = {m: [mask(r, frozenset(sdk_contract.resources[m].relations)) for r in rows]
            for m, rows in listings(src, sdk_contract).items()}
    got = listings(loaded, sdk_contract)
    diffs = [m for m in want if want[m] != got[m]]
    assert not diffs, f"listings differ for {diffs[:10]}"
    # relations are stored ids on the stored side only; the derived side is rebuilt
    vm = loaded.all("Vm")[0]
    for f, plan in loaded.plans["Vm"].items():
        if not plan.stored:
            assert f not in vm


def test_serving_a_recording(recording, source, sdk_contract):
    path, _, _ = recording
    app = create_app(MockConfig(task_speed=0, world=str(path)), contract=sdk_contract,
                     world_factory=lambda: load_recorded(sdk_contract, path))
    c = app.test_client()
    tok = c.post("/v2/api/login", json={"username": "root", "password": "root"}).json["data"]["token"]
    for op in ("get-vms", "get-vm-disks", "get-hosts", "get-clusters", "get-labels"):
        mine = c.post(f"/v2/api/{op}", json={}, headers={"Authorization": tok}).json
        theirs = requests.post(f"{source.url}/v2/api/{op}", json={}, headers=_login(source.url)).json()
        assert mine == theirs, op


def test_budget_cuts_the_crawl_and_the_file_still_loads(source, sdk_contract, tmp_path):
    doc = crawl(sdk_contract, source.url, "root", "root", page_size=5, budget=4, progress=None)
    assert not doc["complete"] and doc["requests"] <= 4
    path = tmp_path / "partial.json"
    write_recording(doc, path)
    store = load_recorded(sdk_contract, path)
    assert sum(len(t.rows) for t in store.tables.values()) == sum(len(v) for v in doc["resources"].values())


def test_bad_recordings(sdk_contract, tmp_path):
    from mock_server.record import RecordError
    p = tmp_path / "x.json"
    p.write_text('{"format": "cloudtower-mock-recording", "version": 1, "resources": {"Vm": [{"name": 1}]}}')
    with pytest.raises(RecordError, match="no string id"):
        load_recorded(sdk_contract, p)
    p.write_text('{"format": "cloudtower-mock-recording", "version": 1, "resources": {')
    with pytest.raises(RecordError, match="not valid JSON"):
        load_recorded(sdk_contract, p)


# ------------------------------------------------------------------ the CLI, over restarts
def _start(args, env=None) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", "--task-speed", "0",
                             "--quiet", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.wait(timeout=30)
        raise AssertionError(f"did not start: {line} {proc.stderr.read()}")
    return proc, line.split("listening on ", 1)[1].strip().rsplit("/v2/api", 1)[0]


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def _login(url):
    return {"Authorization": requests.post(url + "/v2/api/login",
                                           json={"username": "root", "password": "root"}).json()["data"]["token"]}


def _labels(url, h, key="persisted"):
    return requests.post(url + "/v2/api/get-labels", json={"where": {"key": key}}, headers=h).json()


def test_serve_a_recording_with_a_state_file_across_restarts(recording, source, tmp_path):
    path, _, _ = recording
    state_file = tmp_path / "state.json"
    proc, url = _start(["--world", str(path), "--state-file", str(state_file)])
    try:
        h = _login(url)
        vms = requests.post(url + "/v2/api/get-vms", json={}, headers=h).json()
        src_vms = requests.post(source.url + "/v2/api/get-vms", json={}, headers=_login(source.url)).json()
        assert [(v["id"], v["name"], v["cluster"], v["vm_disks"]) for v in vms] == \
               [(v["id"], v["name"], v["cluster"], v["vm_disks"]) for v in src_vms]
        r = requests.post(url + "/v2/api/create-label", json=[{"key": "persisted", "value": "yes"}], headers=h)
        assert r.status_code == 200, r.text
        requests.post(url + "/v2/api/create-label", json=[{"key": "persisted", "value": "ns"}],
                      headers=dict(h, **{"X-Mock-Namespace": "other"}))
    finally:
        _stop(proc)
    assert state_file.exists()
    proc, url = _start(["--state-file", str(state_file)])
    try:
        h = _login(url)
        assert [x["value"] for x in _labels(url, h)] == ["yes"]
        assert [x["value"] for x in _labels(url, dict(h, **{"X-Mock-Namespace": "other"}))] == ["ns"]
        n = len(requests.post(url + "/v2/api/get-vms", json={}, headers=h).json())
        assert n == source.state.world().store.count("Vm")
        requests.post(url + "/_mock/reset")                     # back to the recorded world
        assert _labels(url, h) == []
        time.sleep(1.6)                                         # the debounced write
        doc = orjson.loads(state_file.read_bytes())
        assert "persisted" not in json.dumps(doc["namespaces"]["default"]["tables"].get("Label", []))
    finally:
        _stop(proc)


def test_a_truncated_state_file_stops_the_server(tmp_path):
    f = tmp_path / "state.json"
    f.write_text('{"format": "cloudtower-mock-state", "version": 1, "namespaces": {"default": {"tab')
    proc = subprocess.run([sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", "--state-file", str(f)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "not valid JSON" in proc.stderr and "does not start" in proc.stderr
    assert "listening" not in proc.stdout


# ------------------------------------------------------------------ persistence in-process
def test_state_file_writes_atomically_and_debounced(sdk_contract, tmp_path):
    from mock_server.persistence import StateFile, read_state_file
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract)
    state = app.config["MOCK_STATE"]
    path = tmp_path / "s.json"
    sf = StateFile(state, path, interval=0.2)
    sf.save(force=True)
    sf.start()
    try:
        writes = sf.writes
        time.sleep(0.5)
        assert sf.writes == writes                              # nothing changed: no write
        state.world().store.insert("Label", {"key": "k", "value": "debounced"})
        deadline = time.time() + 5
        while sf.writes == writes and time.time() < deadline:
            time.sleep(0.05)
        assert sf.writes == writes + 1
    finally:
        sf.stop()
    assert "debounced" in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]      # no temp file left behind
    assert read_state_file(sdk_contract, path)["namespaces"]["default"]


def test_state_file_of_another_contract_is_refused(sdk_contract, tmp_path):
    from mock_server.contract.loader import load_contract
    from mock_server.persistence import StateError, dumps, export_state, read_state_file
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract,
                     world_factory=lambda: __import__("mock_server.store", fromlist=["Store"]).Store(sdk_contract))
    path = tmp_path / "s.json"
    path.write_bytes(dumps(export_state(app.config["MOCK_STATE"])))
    p = spec_path("4.3.0")
    if not p.exists():
        pytest.skip("4.3.0 spec not available")
    with pytest.raises(StateError, match="4.3.0"):
        read_state_file(load_contract(p), path)
    path.write_text("[]")
    with pytest.raises(StateError, match="not a cloudtower-mock state"):
        read_state_file(sdk_contract, path)


# ------------------------------------------------------------------ compat
@pytest.fixture(scope="module")
def specs():
    old, new = spec_path("4.3.0"), spec_path("4.6.0")
    if not (old.exists() and new.exists()):
        pytest.skip("specs not available")
    return str(old), str(new)


def test_compat_diff_summary(specs):
    from mock_server.compat import diff, load_doc, run
    d = diff(load_doc(specs[0]), load_doc(specs[1]))
    assert "get-backup-plans" in d["operations_added"] and not d["operations_removed"]
    assert "used_size_gt" in d["properties_added"]["VmWhereInput"]
    out, status = run(*specs)
    assert status == 0 and "operations: +52 -0" in out


def test_compat_reports_what_a_journal_uses(specs, tmp_path):
    from mock_server.compat import run
    journal = {"entries": [
        {"operation": "get-backup-plans", "method": "POST", "body": {}},
        {"operation": "get-vms", "method": "POST",
         "body": {"where": {"AND": [{"used_size_gt": 1}], "name_contains": "x"}, "orderBy": "used_size_DESC"}},
        {"operation": "get-vms", "method": "POST", "body": {"where": {"name_contains": "x"}, "first": 1}},
        {"operation": "login", "method": "POST", "body": {"username": "u", "password": "p", "source": "SSO"}},
        {"operation": "graphql", "method": "POST", "body": {"query": "{x}"}},
    ]}
    f = tmp_path / "journal.json"
    f.write_text(json.dumps(journal))
    out, status = run(*specs, journal_path=str(f), as_json=True)
    r = json.loads(out)
    assert status == 1 and not r["compatible"]
    assert [m["operation"] for m in r["missing_operations"]] == ["get-backup-plans"]
    assert r["missing_operations"][0]["in_new"] is True
    assert {(m["operation"], m["field"]) for m in r["missing_fields"]} == {("get-vms", "where.AND[].used_size_gt")}
    assert r["missing_fields"][0]["where"] is True
    enums = {(m["operation"], m["field"], m["value"]) for m in r["missing_enum_values"]}
    assert enums == {("get-vms", "orderBy", "used_size_DESC"), ("login", "source", "SSO")}
    text, _ = run(*specs, journal_path=str(f))
    assert "get-backup-plans" in text and "used_size_gt" in text and "SSO" in text
    # the same journal against 4.6.0 itself is compatible
    out, status = run(specs[1], specs[1], journal_path=str(f))
    assert status == 0 and "compatible" in out


def test_compat_on_a_journal_exported_by_the_mock(specs, sdk_contract, tmp_path):
    from mock_server.compat import run
    app = create_app(MockConfig(task_speed=0), contract=sdk_contract,
                     world_factory=lambda: __import__("mock_server.store", fromlist=["Store"]).Store(sdk_contract))
    c = app.test_client()
    h = {"Authorization": c.post("/v2/api/login", json={"username": "root", "password": "root"}).json["data"]["token"]}
    c.post("/v2/api/get-backup-plans", json={"first": 1}, headers=h)
    c.post("/v2/api/get-vms", json={"where": {"used_size_gt": 5}}, headers=h)
    f = tmp_path / "j.json"
    f.write_bytes(c.get("/_mock/journal?full=1").data)
    r = json.loads(run(*specs, journal_path=str(f), as_json=True)[0])
    assert [m["operation"] for m in r["missing_operations"]] == ["get-backup-plans"]
    assert [m["field"] for m in r["missing_fields"]] == ["where.used_size_gt"]


def test_compat_cli(specs, tmp_path):
    from mock_server.cli import main
    assert main(["compat", "--old", specs[0], "--new", specs[1]]) == 0
    assert main(["compat", "--old", str(tmp_path / "nope.json"), "--new", specs[1]]) == 2
