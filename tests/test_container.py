"""The container recipe: the healthcheck logs in over HTTP or HTTPS, and the Dockerfile runs the
server as a non-root user on 0.0.0.0 with that healthcheck (the image itself is not built here:
no container engine or registry is reachable from the test machines)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.healthcheck import check
from mock_server.server import Server
from mock_server.state import MockConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def app(sdk_contract):
    return create_app(MockConfig(task_speed=0, username="admin", password="s3cret"), contract=sdk_contract)


@pytest.mark.parametrize("tls", [False, True])
def test_healthcheck_logs_in(app, tls):
    files = None
    if tls:
        from mock_server.tls import make_certificate
        files = make_certificate("127.0.0.1")
    server = Server(app, "127.0.0.1", 0, threads=2, ssl_adapter=files.adapter() if files else None).bind()
    server.start()
    try:
        assert check(server.port, "admin", "s3cret") is None
        assert "400" in check(server.port, "admin", "wrong")
    finally:
        server.stop()
        if files:
            files.cleanup()
    assert check(server.port, "admin", "s3cret", timeout=1) is not None      # nobody listens any more


def test_dockerfile_recipe():
    text = (ROOT / "Dockerfile").read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert re.fullmatch(r"FROM python:3\.\d+-slim", lines[0])
    user = [ln for ln in lines if ln.startswith("USER ")]
    assert user and user[-1] != "USER root"
    assert any("HEALTHCHECK" in ln for ln in lines) and "mock_server.healthcheck" in text
    cmd = [ln for ln in lines if ln.startswith("CMD ")][-1]          # the last one is the image's command
    assert '"--host", "0.0.0.0"' in cmd and '"serve"' in cmd
    for copied in re.findall(r"^COPY (\S+)", text, re.M):
        if copied not in ("pyproject.toml",):
            assert (ROOT / copied).exists(), copied
