"""Store-side latencies over HTTP: the query cases, reset after changes, namespaces, start-up
and RSS of one world. A quick check for the store's goals (tools/bench.py is the full benchmark).

    python tools/bench_store.py [--world large] [--n 30] [--skip reset,ns,burst]

Starts `python -m mock_server serve` on a free port (task speed 0), prints its start time
(until /api/healthz answers), then the median / p90 of each case over one keep-alive connection.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

print = functools.partial(print, flush=True)  # noqa: A001 (progress as it happens)
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.token = None

    def post(self, path: str, body, headers=None) -> tuple[float, object]:
        h = {"Content-Type": "application/json"}
        if self.token:
            h["Authorization"] = self.token
        h.update(headers or {})
        t0 = time.perf_counter()
        self.conn.request("POST", path, json.dumps(body), h)
        resp = self.conn.getresponse()
        data = resp.read()
        ms = (time.perf_counter() - t0) * 1000
        if resp.status >= 400:
            raise RuntimeError(f"{path}: {resp.status} {data[:300]!r}")
        return ms, json.loads(data) if data else None


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stats(ts: list[float]) -> str:
    ts = sorted(ts)
    return f"p50 {ts[len(ts) // 2]:.2f} ms  p90 {ts[int(len(ts) * 0.9)]:.2f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", default="large")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--skip", default="")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "mock_server.cli", "serve", "--port", str(port), "--world", a.world,
                             "--task-speed", "0"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/api/healthz")
                if c.getresponse().status == 200:
                    break
                time.sleep(0.1)
            except OSError:
                if proc.poll() is not None:
                    print(proc.stderr.read().decode()[-2000:])
                    return 1
                time.sleep(0.1)
        print(f"start {a.world}: {time.perf_counter() - t0:.2f} s, RSS {rss_mib(proc.pid):.0f} MiB")
        cl = Client(port)
        _, r = cl.post("/v2/api/login", {"username": "root", "password": "root"})
        cl.token = r["data"]["token"]
        _, vms = cl.post("/v2/api/get-vms", {"first": 1})
        _, clusters = cl.post("/v2/api/get-clusters", {"first": 1})
        cases = {
            "scan matching nothing (name_contains)": ("/v2/api/get-vms", {"where": {"name_contains": "zzzz-nothing"}}),
            "scan matching nothing (name)": ("/v2/api/get-vms", {"where": {"name": "zzzz-nothing"}}),
            "count with a where": ("/v2/api/get-vms-connection", {"where": {"status": "RUNNING", "vcpu_gte": 2}}),
            "orderBy name + first 50": ("/v2/api/get-vms", {"orderBy": "name_ASC", "first": 50}),
            "orderBy memory desc + first 50": ("/v2/api/get-vms", {"orderBy": "memory_DESC", "first": 50}),
            "relation filter host.cluster.name, first 50": (
                "/v2/api/get-vms", {"where": {"host": {"cluster": {"name": clusters[0]["name"]}}}, "first": 50}),
            "relation filter count": (
                "/v2/api/get-vms-connection", {"where": {"host": {"cluster": {"name": clusters[0]["name"]}}}}),
            "lookup by id": ("/v2/api/get-vms", {"where": {"id": vms[0]["id"]}}),
        }
        for label, (path, body) in cases.items():
            cl.post(path, body)
            ts = [cl.post(path, body)[0] for _ in range(a.n)]
            print(f"{label:48s} {stats(ts)}")
        if "reset" not in skip:
            ts = []
            for _ in range(5):
                _, page = cl.post("/v2/api/get-vms", {"first": 100})
                for v in page:
                    cl.post("/v2/api/update-vm-basic-info", {"where": {"id": v["id"]}, "data": {"description": "x"}})
                ts.append(cl.post("/_mock/reset", {})[0])
            print(f"{'reset after 100 changes':48s} {stats(ts)}")
        if "ns" not in skip:
            ts, before = [], rss_mib(proc.pid)
            for i in range(20):
                ts.append(cl.post("/v2/api/get-vms", {"first": 1}, {"X-Mock-Namespace": f"bench-{i}"})[0])
            print(f"{'namespace create + first request':48s} {stats(ts)}  "
                  f"+{(rss_mib(proc.pid) - before) / 20:.1f} MiB each")
        print(f"RSS now {rss_mib(proc.pid):.0f} MiB")
    finally:
        proc.terminate()
        proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
