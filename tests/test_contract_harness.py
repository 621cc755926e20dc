"""The contract-test harness (`cloudtower-contract`): catches a broken server with the defects
named in all three reports, drift side by side, 404 vs transport errors, the import graph."""

from __future__ import annotations


import orjson
import pytest

from contract_tests.cli import main as contract_main
from contract_tests.mockserver import InProcessMock

BUDGET = ["--seed", "3", "--max-examples", "3", "--max-operations", "40", "--query-examples", "5",
          "--stateful-examples", "1", "--stateful-steps", "5", "--time-budget", "20"]


@pytest.fixture(scope="module")
def mock(sdk_contract):
    m = InProcessMock(contract=sdk_contract, task_speed=20)
    yield m
    m.stop()


# ------------------------------------------------------------------ a deliberately broken server
def answer_rewritten(app, environ, start_response, rewrite):
    """Serve through `app`, and when its answer is a 200, its JSON as `rewrite(data)` returns it."""
    captured = {}

    def sr(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return lambda data: None
    chunks = b"".join(app(environ, sr))
    status, headers = captured["status"], captured["headers"]
    if status.startswith("200"):
        new = rewrite(orjson.loads(chunks))
        if new is not None:
            chunks = orjson.dumps(new)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(chunks))))
    start_response(status, headers)
    return [chunks]


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

        def rewrite(data):
            if path == "/v2/api/get-vms":
                for vm in data:
                    if isinstance(vm.get("vcpu"), int):
                        vm["vcpu"] = str(vm["vcpu"])
            elif path == "/v2/api/get-vms-connection":
                data["aggregate"]["count"] += 1
            else:
                return None
            return data
        return answer_rewritten(self.app, environ, start_response, rewrite)


def test_a_broken_server_fails_with_the_defects_named(sdk_contract, tmp_path, capsys):
    with InProcessMock(contract=sdk_contract, task_speed=20, wrap=Broken) as broken:
        rc = contract_main(["--base-url", broken.url, "--username", "root", "--password", "root",
                            "--report-dir", str(tmp_path), "--suites", "schema,query", *BUDGET])
    out = capsys.readouterr().out
    report = (tmp_path / "report.md").read_text()
    assert rc != 0
    rows = [line for line in report.splitlines() if line.startswith("- **`/")]

    def row(op, kind):
        return any(f"**`{op}`**" in r and kind in r for r in rows)
    assert row("/get-vms", "response does not match the schema"), report
    assert "vcpu" in report
    assert row("/get-hosts", "server error (5xx)"), report
    assert row("/get-vms-connection", "wrong count"), report
    assert "FAIL /get-hosts: server error" in out
    assert "curl -sS -X POST" in report and "$CLOUDTOWER_TOKEN" in report
    html = (tmp_path / "report.html").read_text()
    for r in rows[:5]:            # the same defects in the HTML report
        op = r.split("`")[1]
        assert f"<code>{op}</code>" in html
    junit = (tmp_path / "junit.xml").read_text()
    assert "<failure" in junit and "get-vms-connection" in junit


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
    # side by side, the differing field highlighted: vcpu is an integer on A, a string on B
    assert any("≠ `vcpu`" in ln and "(integer)~~" in ln and "(string)++" in ln for ln in report.splitlines()), report
    html = (tmp_path / "report.html").read_text()
    assert "<del>" in html and "<ins>" in html


def test_remote_targets_are_read_only_by_default():
    from contract_tests.target import SafetyError, Target
    t = Target("http://10.1.2.3", token="x")
    assert not t.local and not t.safety.allow_mutations
    with pytest.raises(SafetyError):
        t.post("delete-vm", {"where": {}})
    assert Target("http://127.0.0.1:9/v2/api", token="x").safety.allow_mutations


def test_an_http_404_is_not_a_transport_error(mock, tmp_path):
    """drift and the reports label an HTTP 404 as such; only a request with no answer is a
    transport error."""
    from contract_tests.drift import answer
    from contract_tests.target import Target, TargetError
    t = Target(mock.url, username="root", password="root")
    t.login()
    status, body = answer(t, "get-unicorns", {}, True)
    assert status == "HTTP 404" and isinstance(body, dict) and "message" in body
    gone = Target("http://127.0.0.1:9", token="x", timeout=2)
    status, _ = answer(gone, "get-vms", {}, True)
    assert status.startswith("transport error")
    with pytest.raises(TargetError) as e:
        t.call("get-unicorns", {})
    assert e.value.status == 404 and not e.value.transport


def test_reports_carry_full_ids(mock, tmp_path):
    from contract_tests.query_suite import ids_diff
    ids = ["cmifgmg4j00002g060v40g1h6", "cmifgmg4j00003g060v40g1h6"]
    text = ids_diff(ids[::-1], ids)
    assert ids[0] in text and ids[1] in text


def test_no_import_cycles_in_the_harness():
    """Module-level imports between contract_tests modules form no cycle (cli <-> drift was one)."""
    import ast
    from pathlib import Path
    pkg = Path(__file__).resolve().parents[1] / "contract_tests"
    graph = {}
    for f in pkg.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                deps.add(node.module.split(".")[0])
        graph[f.stem] = deps

    def reach(a, seen):
        for b in graph.get(a, ()):
            if b not in seen:
                seen.add(b)
                reach(b, seen)
        return seen
    cycles = sorted(a for a in graph if a in reach(a, set()))
    assert not cycles, cycles


class StatusLiar:
    """WSGI wrapper: get-vms shows every RUNNING VM as STOPPED (a server that lies about power
    state; the tasks and everything else are right)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != "/v2/api/get-vms":
            return self.app(environ, start_response)

        def rewrite(data):
            for vm in data:
                if vm.get("status") == "RUNNING":
                    vm["status"] = "STOPPED"
            return data
        return answer_rewritten(self.app, environ, start_response, rewrite)


@pytest.mark.parametrize("seed", ["1", "2", "3"])
def test_the_stateful_suite_catches_a_server_that_lies_about_power_state(sdk_contract, tmp_path, seed):
    with InProcessMock(contract=sdk_contract, task_speed=20, wrap=StatusLiar) as liar:
        rc = contract_main(["--base-url", liar.url, "--username", "root", "--password", "root",
                            "--report-dir", str(tmp_path), "--suites", "stateful", "--seed", seed,
                            "--time-budget", "60"])        # the suite's default runs and steps
    report = (tmp_path / "report.md").read_text()
    assert rc != 0
    assert "expected RUNNING" in report, report


class NoDelete:
    """WSGI wrapper: delete-vm answers as usual (a task that ends SUCCESSED) but deletes nothing:
    the request goes to the mock as an update-vm-basic-info that changes nothing."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != "/v2/api/delete-vm":
            return self.app(environ, start_response)
        import io
        body = orjson.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        raw = orjson.dumps({"where": body["where"], "data": {}})
        environ = {**environ, "PATH_INFO": "/v2/api/update-vm-basic-info", "wsgi.input": io.BytesIO(raw),
                   "CONTENT_LENGTH": str(len(raw))}
        return answer_rewritten(self.app, environ, start_response, lambda data: [
            {"task_id": x["task_id"], "data": {"id": x["data"]["id"]}} for x in data])


@pytest.mark.parametrize("seed", ["1", "2"])
def test_the_stateful_suite_catches_a_delete_that_deletes_nothing(sdk_contract, tmp_path, seed):
    with InProcessMock(contract=sdk_contract, task_speed=20, wrap=NoDelete) as server:
        rc = contract_main(["--base-url", server.url, "--username", "root", "--password", "root",
                            "--report-dir", str(tmp_path), "--suites", "stateful", "--seed", seed,
                            "--time-budget", "60"])
    report = (tmp_path / "report.md").read_text()
    assert rc != 0
    assert "is listed after its delete task ended" in report, report
