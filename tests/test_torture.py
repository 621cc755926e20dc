"""Churn: 16 threads of mixed reads, creates, updates, deletes, snapshots, resets, namespace
create/delete and clock moves for a few seconds (tools/torture.py; run it there for minutes),
then every namespace's store is checked whole. No 5xx may be seen."""

from __future__ import annotations

import importlib.util
import io
import os
import sys

import pytest

SECONDS = float(os.environ.get("TORTURE_SECONDS", "4"))


def _torture():
    path = os.path.join(os.path.dirname(__file__), "..", "tools", "torture.py")
    spec = importlib.util.spec_from_file_location("torture", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["torture"] = mod                 # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


torture = _torture()


@pytest.fixture
def served(sdk_contract):
    from mock_server.app import create_app
    from mock_server.server import serve_in_thread
    from mock_server.state import MockConfig
    app = create_app(MockConfig(task_speed=50.0), contract=sdk_contract)
    app.config["MOCK_STATE"].world()
    server = serve_in_thread(app, threads=16)
    yield app, server
    server.stop()


def test_sixteen_threads_of_churn_leave_the_store_whole(served):
    app, server = served
    out = io.StringIO()
    stats, problems = torture.run(app, server.url, threads=16, seconds=SECONDS, out=out)
    print(out.getvalue())
    assert not stats.errors, stats.errors[:10]
    assert not problems, problems[:20]
    calls = stats.calls
    assert sum(calls.values()) > 150, calls
    for label in ("create-label", "create-vm", "admin:reset", "admin:namespaces", "admin:clock"):
        assert calls[label] > 0, (label, calls)


def test_the_checks_catch_a_broken_store(served):
    """The checker is not a rubber stamp: a dangling relation, a stale index and a stuck task
    are each reported."""
    app, server = served
    state = app.config["MOCK_STATE"]
    import requests
    token = requests.post(server.api_url + "/login", json={"username": "root", "password": "root"}
                          ).json()["data"]["token"]
    client = torture.Client(server.url, token, torture.Stats())
    assert torture.check_world(state, "default", client) == []
    store = state.world("default").store
    with store.lock:
        disk = store.first("VmDisk")
        store.tables["VmDisk"].rows[disk["id"]] = dict(disk, vm="no-such-vm")     # behind the indexes' back
        task = store.first("Task")
        store.tables["Task"].rows[task["id"]] = dict(task, status="EXECUTING")
    problems = "\n".join(torture.check_world(state, "default", client))
    assert "VmDisk.vm" in problems and "missing Vm no-such-vm" in problems
    assert "relation index disagrees" in problems
    assert "tasks left pending/executing" in problems
    state.world("default").reset()
