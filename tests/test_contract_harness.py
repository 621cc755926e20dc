"""The contract-test harness (`cloudtower-contract`): clean against the mock, catches a broken
server, and reports on a client run under `client` mode. Bounded budgets (< 120 s in all)."""

from __future__ import annotations

import json
import sys
import textwrap
import threading

import orjson
import pytest

from contract_tests.cli import main as contract_main
from contract_tests.mockserver import InProcessMock

BUDGET = ["--seed", "3", "--max-examples", "3", "--max-operations", "40", "--query-examples", "5",
          "--stateful-examples", "1", "--stateful-steps", "5", "--time-budget", "90"]


@pytest.fixture(scope="module")
def mock(sdk_contract):
    m = InProcessMock(contract=sdk_contract, task_speed=20)
    yield m
    m.stop()


def test_clean_run_against_the_mock(mock, tmp_path, capsys):
    rc = contract_main(["run", "--base-url", mock.url, "--username", "root", "--password", "root",
                        "--report-dir", str(tmp_path), *BUDGET])
    out = capsys.readouterr().out
    report = (tmp_path / "report.md").read_text()
    assert rc == 0, out[-4000:]
    assert "PASSED" in out and "PASSED" in report
    for suite in ("schema", "query", "stateful"):
        assert f"| {suite} |" in report
    junit = (tmp_path / "junit.xml").read_text()
    assert "<testsuite name=\"schema\"" in junit and 'failures="0"' in junit
    # the stateful suite cleaned up after itself
    import requests
    tok = requests.post(mock.api + "/login", json={"username": "root", "password": "root"}).json()["data"]["token"]
    left = requests.post(mock.api + "/get-vms", json={"where": {"name_starts_with": "ctm-"}},
                         headers={"Authorization": tok}).json()
    assert left == []


# ------------------------------------------------------------------ a deliberately broken server
class Broken:
    """WSGI wrapper around the mock: (a) `vcpu` as a string in get-vms, (b) 500 for get-hosts,
    (c) get-vms-connection counts one too many."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/v2/api/get-hosts":
            body = orjson.dumps({"message": "boom", "status": 500, "path": "/get-hosts"})
            start_response("500 Internal Server Error", [("Content-Type", "application/json"),
                                                         ("x-tower-request-id", "broken")])
            return [body]
        captured = {}

        def sr(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None
        chunks = b"".join(self.app(environ, sr))
        status, headers = captured["status"], captured["headers"]
        if status.startswith("200") and path in ("/v2/api/get-vms", "/v2/api/get-vms-connection"):
            data = orjson.loads(chunks)
            if path.endswith("get-vms"):
                for vm in data:
                    if isinstance(vm.get("vcpu"), int):
                        vm["vcpu"] = str(vm["vcpu"])
            else:
                data["aggregate"]["count"] += 1
            chunks = orjson.dumps(data)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(chunks))))
        start_response(status, headers)
        return [chunks]


def test_a_broken_server_fails_with_the_defects_named(sdk_contract, tmp_path, capsys):
    with InProcessMock(contract=sdk_contract, task_speed=20, wrap=Broken) as broken:
        rc = contract_main(["--base-url", broken.url, "--username", "root", "--password", "root",
                            "--report-dir", str(tmp_path), "--suites", "schema,query", *BUDGET])
    out = capsys.readouterr().out
    report = (tmp_path / "report.md").read_text()
    assert rc != 0
    rows = [line for line in report.splitlines() if line.startswith("| `/")]
    def row(op, kind):
        return any(f"`{op}`" in r and kind in r for r in rows)
    assert row("/get-vms", "response does not match the schema"), report
    assert "vcpu" in report
    assert row("/get-hosts", "server error (5xx)"), report
    assert row("/get-vms-connection", "wrong count"), report
    assert "FAIL /get-hosts: server error" in out
    junit = (tmp_path / "junit.xml").read_text()
    assert "<failure" in junit and "get-vms-connection" in junit


# ------------------------------------------------------------------ client mode
CLIENT = textwrap.dedent('''
    import os, requests
    api = os.environ["CLOUDTOWER_ENDPOINT"]
    tok = requests.post(api + "/login", json={"username": os.environ["CLOUDTOWER_USERNAME"],
                        "password": os.environ["CLOUDTOWER_PASSWORD"]}).json()["data"]["token"]
    h = {"Authorization": tok}
    vms = requests.post(api + "/get-vms", json={"first": 3}, headers=h).json()
    print("vms", len(vms))
    r = requests.post(api + "/get-vms", json={"where": {"colour": "blue"}}, headers=h)
    print("unknown key", r.status_code)
    r = requests.post(api + "/create-vm-snapshot", json={"data": [{"vm_id": vms[0]["id"], "name": "forgotten"}]},
                      headers=h)
    print("snapshot", r.status_code)
''')


def test_client_mode_reports_violations_coverage_and_unawaited_tasks(tmp_path, capsys):
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    rc = contract_main(["client", "--report-dir", str(tmp_path), "--", sys.executable, str(script)])
    out = capsys.readouterr().out
    report = (tmp_path / "report.md").read_text()
    assert rc != 0, out
    assert "client request broke the contract" in report and "colour" in report
    assert "`/get-vms`" in report and "`/login`" in report and "`/create-vm-snapshot`" in report
    assert "Operations used (3 of" in report
    assert "task started and never awaited" in report and "never polled" in report
    assert "1 task(s) started, 0 awaited, 1 never polled" in report


# ------------------------------------------------------------------ drift
def test_drift_lists_differences_side_by_side(mock, sdk_contract, tmp_path, capsys):
    with InProcessMock(contract=sdk_contract, task_speed=20, wrap=Broken) as broken:
        rc = contract_main(["drift", "--base-url", mock.url, "--other-url", broken.url, "--username", "root",
                            "--password", "root", "--report-dir", str(tmp_path), "--query-examples", "3",
                            "--max-operations", "6", "--time-budget", "30"])
    report = (tmp_path / "report.md").read_text()
    assert rc != 0
    assert "Errors for the same bad requests" in report and "Shapes" in report
    assert "`/get-vms-connection`" in report and "| no | yes |" in report     # B only: wrong count


# ------------------------------------------------------------------ cleanup after a crash
def test_cleanup_deletes_only_prefixed_unprotected_resources(mock, capsys):
    from contract_tests.stateful import GiB, Env
    from contract_tests.target import Target
    t = Target(mock.url, username="root", password="root")
    t.login()
    env = Env(t, mock.contract)
    assert env.discover() is None
    for name in ("ctm-crash-1", "ctm-keep-1"):
        r = t.post("create-vm", [{"cluster_id": env.cluster["id"], "host_id": env.host["id"], "name": name,
                                  "ha": False, "cpu_sockets": 1, "cpu_cores": 1, "vcpu": 1, "memory": GiB,
                                  "status": "STOPPED", "firmware": "BIOS", "vm_nics": [],
                                  "vm_disks": {"mount_new_create_disks": []}}])
        assert r.status_code == 200, r.text
        t.wait_tasks([r.json()[0]["task_id"]])
    rc = contract_main(["cleanup", "--base-url", mock.url, "-u", "root", "-p", "root", "--prefix", "ctm-",
                        "--protect", "keep"])
    assert rc == 0
    names = {v["name"] for v in t.call("get-vms", {"where": {"name_starts_with": "ctm-"}})}
    assert names == {"ctm-keep-1"}
    t.call("delete-vm", {"where": {"name": "ctm-keep-1"}})


def test_remote_targets_are_read_only_by_default():
    from contract_tests.target import SafetyError, Target
    t = Target("http://10.1.2.3", token="x")
    assert not t.local and not t.safety.allow_mutations
    with pytest.raises(SafetyError):
        t.post("delete-vm", {"where": {}})
    assert Target("http://127.0.0.1:9/v2/api", token="x").safety.allow_mutations
