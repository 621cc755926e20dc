#!/usr/bin/env python3
"""Benchmarks: the mock beside a bare Flask app on the same WSGI server, in one run.

    python tools/bench.py [--seconds 5] [--concurrency 4] [--out reports/bench] [--skip xl]

Load comes from a separate process (tools/loadgen.py, keep-alive connections) on loopback,
bounded in time. Prints a table and writes it as Markdown and JSON. Figures are ratios to the
bare endpoint where that makes sense, so they survive a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body, token: str | None = None, timeout: float = 60):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": token} if token else {})})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 300) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("server did not come up")


def start_mock(world: str, port: int, env=None, extra=()) -> tuple[subprocess.Popen, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([PY, "-m", "mock_server.cli", "serve", "--port", str(port), "--world", world,
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})}, cwd=ROOT)
    wait_up(f"http://127.0.0.1:{port}/v2/api/get-version", proc)
    return proc, time.perf_counter() - t0


def start_bare(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([PY, str(TOOLS / "bare_app.py"), "--port", str(port), "--threads", "16"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_up(f"http://127.0.0.1:{port}/v2/api/get-version", proc)
    return proc


def load(url: str, seconds: float, concurrency: int, body=None, bodies=None, token=None) -> dict:
    cmd = [PY, str(TOOLS / "loadgen.py"), url, "--seconds", str(seconds), "--concurrency", str(concurrency)]
    if token:
        cmd += ["--header", f"Authorization: {token}"]
    tmp = None
    if bodies is not None:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(bodies, tmp)
        tmp.close()
        cmd += ["--bodies", tmp.name]
    else:
        cmd += ["--body", json.dumps(body or {})]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    if tmp:
        os.unlink(tmp.name)
    return json.loads(out.stdout.strip().splitlines()[-1])


def latency(url: str, body, token: str, n: int = 60) -> dict:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        post(url, body, token)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 2), "p90_ms": round(times[int(0.9 * len(times))], 2),
            "n": n}


def measure_world(world: str) -> dict:
    code = (
        "import json,resource,time,sys\n"
        "t0=time.perf_counter()\n"
        "from mock_server.contract.loader import load_contract\n"
        "c=load_contract()\n"
        "from mock_server.world.scenario import load_scenario\n"
        "from mock_server.world.generator import generate\n"
        "t1=time.perf_counter()\n"
        f"s=generate(c, load_scenario({world!r}))\n"
        "t2=time.perf_counter()\n"
        "rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024\n"
        "print(json.dumps({'seconds':round(t2-t1,2),'peak_rss_mib':round(rss),"
        "'vms':s.count('Vm'),'records':sum(len(t.rows) for t in s.tables.values())}))\n")
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=900)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_reset() -> dict:
    code = (
        "import json,time\n"
        "from mock_server.contract.loader import load_contract\n"
        "from mock_server.world.scenario import load_scenario\n"
        "from mock_server.world.generator import generate\n"
        "from mock_server.state import World\n"
        "from mock_server.clock import Clock\n"
        "c=load_contract(); w=World(generate(c, load_scenario('default')), Clock())\n"
        "ts=[]\n"
        "for _ in range(30):\n"
        "    t=time.perf_counter(); w.reset(); ts.append((time.perf_counter()-t)*1000)\n"
        "ts.sort(); print(json.dumps({'median_ms':round(ts[len(ts)//2],2),'max_ms':round(ts[-1],2)}))\n")
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def mutation_burst(base: str, token: str, n: int = 1000, batch: int = 10) -> dict:
    clusters = post(base + "/get-clusters", {"first": 1}, token)
    vlans = post(base + "/get-vlans", {"where": {"name": "default", "vds": {"cluster": {"id": clusters[0]["id"]}}}},
                 token)
    t0 = time.perf_counter()
    task_ids = []
    for start in range(0, n, batch):
        body = [{"cluster_id": clusters[0]["id"], "name": f"bench-{start + i:05d}", "vcpu": 2, "cpu_cores": 1,
                 "cpu_sockets": 2, "memory": 2147483648, "ha": True, "firmware": "BIOS", "status": "STOPPED",
                 "vm_nics": [{"connect_vlan_id": vlans[0]["id"]}] if vlans else [],
                 "vm_disks": {"mount_new_create_disks": [{"boot": 1, "bus": "VIRTIO", "vm_volume": {
                     "name": f"bench-{start + i:05d}-disk", "size": 10737418240,
                     "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}}]}}
                for i in range(min(batch, n - start))]
        res = post(base + "/create-vm", body, token)
        task_ids += [r["task_id"] for r in res if r.get("task_id")]
    t1 = time.perf_counter()
    pending = set(task_ids)
    polls = 0
    while pending and time.perf_counter() - t1 < 300:
        ids = sorted(pending)
        for i in range(0, len(ids), 200):
            tasks = post(base + "/get-tasks", {"where": {"id_in": ids[i:i + 200]}}, token)
            polls += 1
            for t in tasks:
                if t["status"] in ("SUCCESSED", "FAILED"):
                    pending.discard(t["id"])
        if pending:
            time.sleep(0.1)
    t2 = time.perf_counter()
    return {"vms": n, "tasks": len(task_ids), "unfinished": len(pending), "submit_s": round(t1 - t0, 2),
            "total_s": round(t2 - t0, 2), "vms_per_s": round(n / (t2 - t0), 1), "polls": polls}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--out", default=str(ROOT / "reports" / "bench"))
    ap.add_argument("--skip", action="append", default=[], help="skip a case: lookups, scan, count, burst, "
                                                                "startup, world, xl, reset")
    a = ap.parse_args()
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    rows: list[tuple[str, str, str, str]] = []

    if "startup" not in a.skip:
        with tempfile.TemporaryDirectory() as cache:
            env = {"CLOUDTOWER_MOCK_CACHE": cache}
            port = free_port()
            proc, cold = start_mock("default", port, env)
            proc.terminate(); proc.wait()
            port = free_port()
            proc, warm = start_mock("default", port, env)
            proc.terminate(); proc.wait()
        results["startup"] = {"cold_s": round(cold, 2), "warm_s": round(warm, 2)}
        rows.append(("start-up to first answer, default world", f"cold {cold:.2f} s, warm {warm:.2f} s",
                     "warm <= 1.5 s", "ok" if warm <= 1.5 else "MISSED"))

    if "reset" not in a.skip:
        r = measure_reset()
        results["reset"] = r
        rows.append(("reset of the default world", f"median {r.get('median_ms')} ms", "<= 10 ms",
                     "ok" if r.get("median_ms", 1e9) <= 10 else "MISSED"))

    if "world" not in a.skip:
        for world in ("large", "xl"):
            if world in a.skip:
                continue
            r = measure_world(world)
            results[f"world_{world}"] = r
            goal = "<= 5 s" if world == "large" else "<= 60 s, < 2 GiB"
            ok = (r.get("seconds", 1e9) <= 5) if world == "large" else \
                (r.get("seconds", 1e9) <= 60 and r.get("peak_rss_mib", 1e9) < 2048)
            rows.append((f"world generation, {world} ({r.get('vms')} VMs)",
                         f"{r.get('seconds')} s, peak RSS {r.get('peak_rss_mib')} MiB", goal,
                         "ok" if ok else "MISSED"))

    need_server = any(c not in a.skip for c in ("lookups", "scan", "count", "burst"))
    if need_server:
        port, bport = free_port(), free_port()
        mock, _ = start_mock("large", port, extra=("--task-speed", "1"))
        bare = start_bare(bport)
        try:
            base = f"http://127.0.0.1:{port}/v2/api"
            token = post(base + "/login", {"username": "root", "password": "root"})["data"]["token"]
            vms = post(base + "/get-vms", {"first": 2000}, token)
            sample = vms[::40][:50]
            if "lookups" not in a.skip:
                bare_url = f"http://127.0.0.1:{bport}/v2/api/get-vms"
                id_bodies = [{"where": {"id": v["id"]}} for v in sample]
                name_bodies = [{"where": {"name": v["name"]}} for v in sample]
                load(bare_url, 1, a.concurrency, body={})                  # warm both servers up
                load(base + "/get-vms", 1, a.concurrency, token=token, bodies=id_bodies + name_bodies)
                # bare before and after, so that a drift of the machine shows in the baseline
                b1 = load(bare_url, a.seconds, a.concurrency, body={})
                by_id = load(base + "/get-vms", a.seconds, a.concurrency, token=token, bodies=id_bodies)
                by_name = load(base + "/get-vms", a.seconds, a.concurrency, token=token, bodies=name_bodies)
                b2 = load(bare_url, a.seconds, a.concurrency, body={})
                b = {**b1, "rps": round((b1["rps"] + b2["rps"]) / 2, 1), "runs": [b1, b2]}
                results["lookups"] = {"bare": b, "by_id": by_id, "by_name": by_name}
                for label, r in (("id", by_id), ("name", by_name)):
                    ratio = r["rps"] / b["rps"] if b["rps"] else 0
                    rows.append((f"point lookup get-vms where {{{label}}}, 10k VMs",
                                 f"{r['rps']} req/s = {ratio:.0%} of bare {b['rps']} req/s; p99 {r['p99_ms']} ms",
                                 ">= 70% of bare", "ok" if ratio >= 0.7 else "MISSED"))
            if "scan" not in a.skip:
                cluster = vms[0]["cluster"]["name"]
                body = {"where": {"name_contains": "1", "vcpu_gt": 1, "cluster": {"name": cluster}}, "first": 50}
                r = latency(base + "/get-vms", body, token)
                results["scan"] = r
                rows.append(("filtered scan (name_contains + vcpu_gt + cluster{name}, first 50), 10k VMs",
                             f"median {r['median_ms']} ms, p90 {r['p90_ms']} ms", "median <= 15 ms",
                             "ok" if r["median_ms"] <= 15 else "MISSED"))
            if "count" not in a.skip:
                body = {"where": {"status": "RUNNING", "vcpu_gte": 2}}
                r = latency(base + "/get-vms-connection", body, token)
                results["count"] = r
                rows.append(("get-vms-connection count with a where, 10k VMs",
                             f"median {r['median_ms']} ms, p90 {r['p90_ms']} ms", "(reported)", ""))
            if "burst" not in a.skip:
                r = mutation_burst(base, token)
                results["burst"] = r
                rows.append(("mutation burst: create 1,000 VMs, poll tasks to the end",
                             f"{r['vms_per_s']} VMs/s ({r['total_s']} s; submit {r['submit_s']} s; "
                             f"{r['unfinished']} unfinished)", "(reported)", ""))
        finally:
            for p in (mock, bare):
                p.terminate()
                p.wait()

    table = ["| case | result | goal | |", "|---|---|---|---|"]
    table += [f"| {c} | {r} | {g} | {s} |" for c, r, g, s in rows]
    text = "\n".join(table)
    print(text)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text + "\n")
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
