#!/usr/bin/env python3
"""Which WSGI server: cheroot, waitress and granian (one process, threads) compared with wrk
on the raw WSGI ceiling, bare Flask and the mock (point lookups over every VM id), plus
keep-alive and the time a SIGTERM takes to stop the server.

    python tools/bench_servers.py [--world large] [--seconds 5] [--connections 4]
                                  [--servers cheroot,waitress,granian]

waitress and granian are not dependencies of the mock: `pip install waitress granian` first.
Prints a Markdown table (and writes reports/servers.md / .json).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import PY, ROOT, TOOLS, Client, Wrk, free_port, stop, wait_up, INSTALL_WRK  # noqa: E402

_app = None
_lock = threading.Lock()


def mock_app(environ, start_response):
    """The mock as a module-level WSGI callable (granian imports its app by name); the world
    (`BENCH_WORLD`) is built on the first request."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                sys.path.insert(0, str(ROOT))
                from mock_server.app import create_app
                from mock_server.state import MockConfig
                app = create_app(MockConfig(task_speed=0, world=os.environ.get("BENCH_WORLD", "large")))
                app.config["MOCK_STATE"].world()
                import gc
                gc.collect()
                gc.freeze()
                _app = app
    return _app(environ, start_response)


def serve_mock(server: str, port: int, threads: int) -> None:
    from bare_app import serve
    mock_app({"PATH_INFO": "/none", "REQUEST_METHOD": "GET", "wsgi.input": None, "SERVER_NAME": "x",
              "SERVER_PORT": "0", "wsgi.url_scheme": "http"}, lambda *a, **k: None)   # build it now
    serve(mock_app, "127.0.0.1", port, threads, server, target="bench_servers:mock_app")


def start(cmd: list[str], port: int, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=TOOLS,
                            env={**os.environ, "PYTHONPATH": f"{ROOT}:{TOOLS}", **(env or {})},
                            start_new_session=True)
    wait_up(f"http://127.0.0.1:{port}/v2/api/get-version", proc)
    return proc


def keep_alive(port: int) -> bool:
    """Two requests on one connection without a reconnect."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/v2/api/get-version")
        conn.getresponse().read()
        sock = conn.sock
        conn.request("GET", "/v2/api/get-version")
        conn.getresponse().read()
        return sock is not None and conn.sock is sock
    finally:
        conn.close()


def stop_time(proc: subprocess.Popen, port: int) -> float | None:
    """Seconds from SIGTERM to exit, with an idle keep-alive connection open; None = > 10 s."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/v2/api/get-version")
    conn.getresponse().read()
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
        return round(time.perf_counter() - t0, 2)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None
    finally:
        conn.close()


def compare(server: str, a, wrk: Wrk, ids_file: Path, one: Path) -> dict:
    out: dict = {"server": server}
    port = free_port()
    bare = start([PY, "bare_app.py", "--port", str(port), "--threads", str(a.threads), "--server", server], port)
    try:
        wrk.run(f"http://127.0.0.1:{port}/v2/api/get-vms", one, seconds=1)
        out["raw"] = wrk.run(f"http://127.0.0.1:{port}/raw/v2/api/get-vms", one)
        out["bare"] = wrk.run(f"http://127.0.0.1:{port}/v2/api/get-vms", one)
        out["keep_alive"] = keep_alive(port)
    finally:
        out["stop_s"] = stop_time(bare, port)
    port = free_port()
    mock = start([PY, "bench_servers.py", "--serve-mock", server, "--port", str(port), "--threads",
                  str(a.threads)], port, {"BENCH_WORLD": a.world})
    try:
        c = Client(f"http://127.0.0.1:{port}/v2/api")
        token = c.post("/login", {"username": "root", "password": "root"})["data"]["token"]
        url = f"http://127.0.0.1:{port}/v2/api/get-vms"
        wrk.run(url, ids_file, token=token, seconds=2)
        out["mock"] = wrk.run(url, ids_file, token=token)
    finally:
        out["mock_stop_s"] = stop_time(mock, port)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", default="large", choices=("default", "large", "xl"))
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--servers", default="cheroot,waitress,granian")
    ap.add_argument("--serve-mock", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve_mock:
        serve_mock(a.serve_mock, a.port, a.threads)
        return 0
    if shutil.which("wrk") is None:
        print(INSTALL_WRK, file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        wrk = Wrk(a.seconds, a.connections, Path(tmp))
        one = wrk.bodies([{"where": {"id": "x"}}])
        port = free_port()
        mock = subprocess.Popen([PY, "-m", "mock_server.cli", "serve", "--port", str(port), "--world", a.world,
                                 "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        try:
            wait_up(f"http://127.0.0.1:{port}/v2/api/get-version", mock)
            c = Client(f"http://127.0.0.1:{port}/v2/api")
            c.token = c.post("/login", {"username": "root", "password": "root"})["data"]["token"]
            from bench import world_keys
            ids_file = wrk.bodies([{"where": {"id": i}} for i in world_keys(c)["ids"]])
        finally:
            stop(mock)
        for server in a.servers.split(","):
            try:
                rows.append(compare(server, a, wrk, ids_file, one))
            except Exception as e:      # a server that does not run here is reported, not fatal
                rows.append({"server": server, "error": str(e)[:200]})
    lines = ["| server | raw WSGI | bare Flask | mock, where {id} over all VMs | mock vs bare | p50 / p99 mock "
             "| keep-alive | SIGTERM to exit (bare / mock) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['server']} | failed: {r['error']} |  |  |  |  |  |  |")
            continue
        m, b = r["mock"], r["bare"]
        lines.append(f"| {r['server']} | {r['raw']['rps']:.0f} req/s | {b['rps']:.0f} req/s | {m['rps']:.0f} req/s "
                     f"| {m['rps'] / b['rps']:.0%} | {m['p50_ms']} / {m['p99_ms']} ms | "
                     f"{'yes' if r['keep_alive'] else 'no'} | {r['stop_s']} s / {r['mock_stop_s']} s |")
    text = "\n".join(lines)
    print(text)
    out = ROOT / "reports" / "servers"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text + "\n")
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
