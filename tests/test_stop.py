"""Stopping is always clean: bounded in time with idle keep-alive connections, half-sent
requests and requests in flight; the state file holds the last acknowledged write; a kill -9
during a write burst never leaves a corrupt state file.

The real process is started a few times (STOP_LOOPS, default 3) and the in-process runner
many more (STOP_LOOPS_INPROCESS, default 10): each loop is a fresh chance for the old hang.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import orjson
import pytest
import requests

STOP_BUDGET = 2.0
LOOPS = int(os.environ.get("STOP_LOOPS", "3"))
LOOPS_INPROCESS = int(os.environ.get("STOP_LOOPS_INPROCESS", "10"))


# ------------------------------------------------------------------ load shapes
def _idle_keepalive(host: str, port: int, n: int) -> list[http.client.HTTPConnection]:
    """n connections that each made one request and now sit idle, kept alive."""
    conns = []
    for _ in range(n):
        c = http.client.HTTPConnection(host, port, timeout=10)
        c.request("GET", "/api/healthz")
        r = c.getresponse()
        r.read()
        assert r.status == 200
        conns.append(c)
    return conns


def _half_sent(host: str, port: int, n: int) -> list[socket.socket]:
    """n connections that sent headers promising a body that never comes (a worker waits on each)."""
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(b"POST /v2/api/get-vms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"wh")
        socks.append(s)
    return socks


def _in_flight(url: str, n: int, headers: dict | None = None) -> list[threading.Thread]:
    """n requests to a delayed operation (a latency fault holds each in the server)."""
    def call():
        try:
            requests.post(url + "/v2/api/get-clusters", json={}, headers=headers or {}, timeout=15)
        except requests.RequestException:
            pass                                   # cut by the stop: expected
    threads = [threading.Thread(target=call, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def _close_all(conns, socks) -> None:
    for c in conns:
        c.close()
    for s in socks:
        s.close()


# ------------------------------------------------------------------ in-process runner
@pytest.fixture(scope="module")
def app(sdk_contract):
    from mock_server.app import create_app
    from mock_server.state import MockConfig
    a = create_app(MockConfig(task_speed=0), contract=sdk_contract)
    a.config["MOCK_STATE"].world()
    return a


@pytest.mark.parametrize("loop", range(LOOPS_INPROCESS))
def test_runner_stops_within_budget_under_load(app, loop):
    from mock_server.server import Server
    server = Server(app, "127.0.0.1", 0, threads=16, grace=0.5).start()
    admin = requests.post(server.url + "/_mock/faults", json={"kind": "latency", "ms": 5000,
                                                              "operation": "get-clusters"})
    assert admin.status_code in (200, 201), admin.text
    token = requests.post(server.api_url + "/login", json={"username": "root", "password": "root"}).json()
    h = {"Authorization": token["data"]["token"]}
    conns = _idle_keepalive(server.host, server.port, 50)
    socks = _half_sent(server.host, server.port, 3)
    flying = _in_flight(server.url, 4, h)
    time.sleep(0.2)                                # the delayed requests are inside the app now
    try:
        t0 = time.monotonic()
        server.stop()
        took = time.monotonic() - t0
        assert took < STOP_BUDGET, f"stop took {took:.2f}s"
        assert server.cut_requests >= 4            # the delayed ones were cut, not waited for
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/api/healthz", timeout=2)
        for t in flying:
            t.join(timeout=3)
            assert not t.is_alive(), "a client of a cut request was left waiting"
    finally:
        _clear_faults(app)
        _close_all(conns, socks)


def _clear_faults(app) -> None:
    client = app.test_client()
    for rule in client.get("/_mock/faults").get_json()["faults"]:
        client.delete(f"/_mock/faults/{rule['id']}")


def test_requests_that_finish_within_the_grace_are_answered(app):
    from mock_server.server import Server
    server = Server(app, "127.0.0.1", 0, threads=4, grace=1.5).start()
    rule = app.test_client().post("/_mock/faults", json={"kind": "latency", "ms": 300,
                                                         "operation": "get-clusters"}).get_json()["id"]
    got: list = []

    def call():
        got.append(requests.post(server.api_url + "/get-clusters", json={}, timeout=10).status_code)
    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.1)
    try:
        server.stop()
        t.join(5)
        assert got == [401]                        # answered (unauthenticated), not cut
        assert server.cut_requests == 0
    finally:
        app.test_client().delete(f"/_mock/faults/{rule}")


def test_bind_failure_is_one_line(app):
    from mock_server.server import Server, ServerError
    first = Server(app, "127.0.0.1", 0, threads=1).start()
    try:
        with pytest.raises(ServerError) as e:
            Server(app, "127.0.0.1", first.port, threads=1).bind()
        assert "\n" not in str(e.value)
        assert f"127.0.0.1:{first.port}" in str(e.value) and "in use" in str(e.value)
    finally:
        first.stop()


# ------------------------------------------------------------------ the real process
def _serve(args: list[str], env=None) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "mock_server.cli", "serve", "--port", "0",
                             "--task-speed", "0", "--quiet", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise AssertionError(f"did not start: {line} {proc.stderr.read()}")
    return proc, line.split("listening on ", 1)[1].strip().rsplit("/v2/api", 1)[0]


def _label_values(path) -> set[str]:
    doc = orjson.loads(path.read_bytes())
    rows = doc["namespaces"]["default"]["tables"].get("Label", [])
    return {r.get("value") for r in rows if r.get("key") == "stop-test"}


class Writer(threading.Thread):
    """Creates labels one after another; remembers the last one the server acknowledged."""

    def __init__(self, url: str, headers: dict, prefix: str = "w"):
        super().__init__(daemon=True)
        self.url, self.headers, self.prefix = url, headers, prefix
        self.acked: list[str] = []
        self.stop_event = threading.Event()

    def run(self):
        s = requests.Session()
        i = 0
        while not self.stop_event.is_set():
            value = f"{self.prefix}{i}"
            try:
                r = s.post(self.url + "/v2/api/create-label", json=[{"key": "stop-test", "value": value}],
                           headers=self.headers, timeout=10)
            except requests.RequestException:
                return                             # the server went away
            if r.status_code == 200:
                self.acked.append(value)
            i += 1


@pytest.mark.parametrize("loop", range(LOOPS))
def test_sigterm_stops_the_process_cleanly(tmp_path, loop):
    state_file = tmp_path / "state.json"
    proc, url = _serve(["--state-file", str(state_file)])
    try:
        h = {"Authorization": requests.post(url + "/v2/api/login", json={"username": "root", "password": "root"}
                                            ).json()["data"]["token"]}
        r = requests.post(url + "/_mock/faults", json={"kind": "latency", "ms": 5000, "operation": "get-clusters"})
        assert r.status_code in (200, 201), r.text
        host, port = url.split("//", 1)[1].split(":")
        conns = _idle_keepalive(host, int(port), 50)
        socks = _half_sent(host, int(port), 3)
        flying = _in_flight(url, 4, h)
        writer = Writer(url, h)
        writer.start()
        deadline = time.monotonic() + 10
        while len(writer.acked) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(writer.acked) >= 5
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM if loop % 2 == 0 else signal.SIGINT)
        code = proc.wait(timeout=30)
        took = time.monotonic() - t0
        writer.join(5)
        _close_all(conns, socks)
        for t in flying:
            t.join(5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert code == 0, err
    assert took < STOP_BUDGET, f"stop took {took:.2f}s"
    assert "Traceback" not in err, err
    values = _label_values(state_file)
    assert writer.acked[-1] in values                          # the last acknowledged write is kept
    assert set(writer.acked) <= values
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]     # no temp file left behind


def test_kill_9_during_a_write_burst_leaves_a_loadable_state_file(tmp_path):
    state_file = tmp_path / "state.json"
    proc, url = _serve(["--state-file", str(state_file)])
    try:
        h = {"Authorization": requests.post(url + "/v2/api/login", json={"username": "root", "password": "root"}
                                            ).json()["data"]["token"]}
        writers = [Writer(url, h, prefix=f"w{n}-") for n in range(4)]
        for w in writers:
            w.start()
        # wait for a few debounced writes of the file, then kill in the middle of the burst
        first = state_file.stat().st_mtime_ns
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if state_file.stat().st_mtime_ns != first and sum(len(w.acked) for w in writers) > 50:
                break
            time.sleep(0.05)
        time.sleep(0.37)                                        # off the debounce beat
        proc.kill()
        proc.wait(timeout=10)
        for w in writers:
            w.join(5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    from mock_server.contract.loader import load_contract
    from mock_server.persistence import read_state_file
    doc = read_state_file(load_contract(), state_file)          # parses and validates: never corrupt
    assert doc is not None
    kept = _label_values(state_file)
    assert len(kept) > 10
    proc, url = _serve(["--state-file", str(state_file)])      # a restart loads it
    try:
        h = {"Authorization": requests.post(url + "/v2/api/login", json={"username": "root", "password": "root"}
                                            ).json()["data"]["token"]}
        rows = requests.post(url + "/v2/api/get-labels", json={"where": {"key": "stop-test"}}, headers=h).json()
        assert {r["value"] for r in rows} == kept
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
        proc.stderr.close()
