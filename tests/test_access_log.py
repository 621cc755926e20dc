"""The access log (one line per request, text or JSON), `--quiet`, `--log-format`, `--version`."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest

from mock_server.access_log import AccessLog
from mock_server.app import create_app
from mock_server.state import MockConfig


@pytest.fixture(scope="module")
def app(sdk_contract):
    return create_app(MockConfig(task_speed=0), contract=sdk_contract)


def logged(app, fmt, calls):
    stream = io.StringIO()
    wrapped = AccessLog(app.wsgi_app, fmt, stream)
    original, app.wsgi_app = app.wsgi_app, wrapped
    try:
        c = app.test_client()
        for call in calls:
            call(c)
    finally:
        app.wsgi_app = original
    return stream.getvalue().splitlines()


def test_one_text_line_per_request(app):
    lines = logged(app, "text", [
        lambda c: c.post("/v2/api/login", json={"username": "root", "password": "root"}),
        lambda c: c.post("/v2/api/get-vms", json={}, headers={"X-Mock-Namespace": "ns-log"}),
        lambda c: c.post("/_mock/clock/pause"),
        lambda c: c.post("/api", json={"query": "{authnStrategies{id type}}"}),
    ])
    assert len(lines) == 4
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) (\S+) (\S+) (\d{3}) \d+\.\dms ([0-9a-f]{32})"
    parsed = [re.fullmatch(pattern, line) for line in lines]
    assert all(parsed), lines
    assert [m.groups()[:4] for m in parsed] == [
        ("default", "POST", "login", "200"), ("ns-log", "POST", "get-vms", "401"),
        ("default", "POST", "/_mock/clock/pause", "200"), ("default", "POST", "graphql", "200")]
    app.test_client().post("/_mock/clock/resume")


def test_json_lines_carry_the_request_id_of_the_answer(app):
    seen = []
    lines = logged(app, "json", [lambda c: seen.append(c.post("/v2/api/login", json={"username": "root", "password": "root"}))])
    (entry,) = [json.loads(line) for line in lines]
    assert set(entry) == {"time", "namespace", "method", "operation", "status", "ms", "request_id"}
    assert entry["operation"] == "login" and entry["status"] == 200 and entry["ms"] >= 0
    assert entry["request_id"] == seen[0].headers["x-tower-request-id"]


def test_fault_answers_are_logged_too(app):
    c = app.test_client()
    fid = c.post("/_mock/faults", json={"kind": "error", "status": 503, "operation": "get-hosts"}).json["id"]
    try:
        lines = logged(app, "text", [lambda c: c.post("/v2/api/get-hosts", json={})])
    finally:
        c.delete(f"/_mock/faults/{fid}")
    assert " get-hosts 503 " in lines[0] and lines[0].endswith(f"fault-{fid}")


def test_bad_format_is_refused(app):
    with pytest.raises(ValueError):
        AccessLog(app.wsgi_app, "xml")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "mock_server.cli", *args], capture_output=True, text=True,
                          timeout=60)


def test_version_and_flags():
    out = _cli("--version")
    assert out.returncode == 0 and re.match(r"cloudtower-mock \d+\.\d+\.\d+ \(cloudtower-sdk 2\.", out.stdout)
    bad = _cli("serve", "--log-format", "xml")
    assert bad.returncode == 2 and "--log-format" in bad.stderr and "Traceback" not in bad.stderr
    assert "--quiet" in _cli("serve", "--help").stdout
