#!/usr/bin/env python3
"""Benchmarks: the mock beside a bare Flask app on the same WSGI server, in one run, with wrk.

    python tools/bench.py [--world default|large|xl] [--seconds 5] [--connections 4] [--rounds 3]
                          [--out reports/bench-WORLD] [--skip CASE ...]

Load comes from `wrk` (Debian/Ubuntu: `apt-get install -y wrk`; macOS: `brew install wrk`)
on loopback, with `tools/bench.lua` spreading the requests over every id / name / local_id of
the world (fetched from the server first). Each case runs for `--seconds`; throughput is a
ratio to bare Flask (`tools/bare_app.py`, same server, same threads) measured in the same run,
in turn with the lookups, round after round (medians reported), and as server CPU time per
request, which a busy machine disturbs much less than throughput. The raw WSGI endpoint of the bare app is the server's
ceiling: wrk driving it well above bare Flask shows the load generator is not the bottleneck
(wrk's own CPU time is reported too). Writes a Markdown table and JSON (`--out`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
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
LUA = TOOLS / "bench.lua"
PY = sys.executable
CASES = ("ceiling", "lookups", "queries", "writes", "reset", "namespaces")
INSTALL_WRK = ("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu), `brew install wrk` "
               "(macOS), or build it from https://github.com/wg/wrk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """A keep-alive-less JSON client for set-up calls (not for load)."""

    def __init__(self, base: str):
        self.base = base
        self.token: str | None = None

    def post(self, path: str, body=None, headers: dict | None = None, timeout: float = 300):
        h = {"Content-Type": "application/json", **({"Authorization": self.token} if self.token else {}),
             **(headers or {})}
        req = urllib.request.Request(self.base + path, data=json.dumps(body or {}).encode(), method="POST",
                                     headers=h)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def timed(self, path: str, body=None, headers: dict | None = None) -> float:
        t0 = time.perf_counter()
        self.post(path, body, headers)
        return (time.perf_counter() - t0) * 1000


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 600) -> float:
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = round(int(line.split()[1]) / 1024)
    return {"rss_mib": out.get("VmRSS"), "peak_mib": out.get("VmHWM")}


# ------------------------------------------------------------------------------- servers
def start_mock(world: str, port: int, threads: int) -> tuple[subprocess.Popen, float]:
    t0 = time.perf_counter()
    # --quiet: no access log (a line per request would fill the unread pipe and measure logging)
    proc = subprocess.Popen([PY, "-m", "mock_server.cli", "serve", "--port", str(port), "--world", world,
                             "--task-speed", "0", "--quiet", "--threads", str(threads)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    wait_up(f"http://127.0.0.1:{port}/v2/api/get-version", proc)
    return proc, time.perf_counter() - t0


def start_bare(port: int, threads: int) -> subprocess.Popen:
    proc = subprocess.Popen([PY, str(TOOLS / "bare_app.py"), "--port", str(port), "--threads", str(threads)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_up(f"http://127.0.0.1:{port}/v2/api/get-version", proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ------------------------------------------------------------------------------- wrk
class Wrk:
    def __init__(self, seconds: float, connections: int, tmp: Path):
        self.seconds = seconds
        self.connections = connections
        self.tmp = tmp
        self.n = 0

    def bodies(self, lines: list) -> Path:
        self.n += 1
        p = self.tmp / f"bodies-{self.n}.txt"
        p.write_text("\n".join(json.dumps(b, separators=(",", ":")) for b in lines) + "\n")
        return p

    def start(self, url: str, bodies: Path, token: str = "", namespace: str = "",
              connections: int | None = None, seconds: float | None = None) -> subprocess.Popen:
        c = connections or self.connections
        cmd = ["wrk", "-t", str(min(2, c)), "-c", str(c), "-d", f"{max(1, round(seconds or self.seconds))}s",
               "--timeout", "30s", "-s", str(LUA), url, "--", str(bodies), token, namespace]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @staticmethod
    def result(proc: subprocess.Popen) -> dict:
        out, _ = proc.communicate(timeout=600)
        line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk failed: {out.strip()[-400:]}")
        r = json.loads(line[8:])
        secs = r["duration_us"] / 1e6
        errors = sum(r[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
        return {"rps": round(r["requests"] / secs, 1), "requests": r["requests"], "errors": errors,
                "status_errors": r["status_errors"], "p50_ms": round(r["p50_us"] / 1000, 2),
                "p99_ms": round(r["p99_us"] / 1000, 2), "seconds": round(secs, 2)}

    def run(self, url: str, bodies: Path, pid: int | None = None, **kw) -> dict:
        """One wrk run; with the server's `pid`, also the server's CPU time per request (a
        figure a busy machine disturbs much less than throughput)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0 = cpu_seconds(pid) if pid else 0.0
        r = self.result(self.start(url, bodies, **kw))
        if pid and r["requests"]:
            r["server_cpu_us"] = round((cpu_seconds(pid) - cpu0) / r["requests"] * 1e6)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        r["wrk_cpu_share"] = round(cpu / r["seconds"], 2) if r["seconds"] else None
        return r


# ------------------------------------------------------------------------------- the world's keys
def _median_run(runs: list[dict]) -> dict:
    """The median of each figure over rounds (each figure on its own)."""
    keys = [k for k in runs[0] if isinstance(runs[0][k], (int, float))]
    out = {k: round(statistics.median(r[k] for r in runs), 2) for k in keys}
    out["runs"] = [{k: r[k] for k in ("rps", "p50_ms", "p99_ms", "server_cpu_us") if k in r} for r in runs]
    return out


def world_keys(c: Client, page: int = 2000) -> dict:
    """Every VM's id, name and local_id, paged (an xl world is too big for one answer)."""
    ids, names, local_ids = [], [], []
    after = None
    while True:
        body = {"first": page, **({"after": after} if after else {})}
        vms = c.post("/get-vms", body)
        for v in vms:
            ids.append(v["id"])
            names.append(v["name"])
            if v.get("local_id"):
                local_ids.append(v["local_id"])
        if len(vms) < page:
            break
        after = vms[-1]["id"]
    clusters = c.post("/get-clusters", {})
    return {"ids": ids, "names": names, "local_ids": local_ids, "clusters": [x["name"] for x in clusters],
            "cluster_ids": [x["id"] for x in clusters]}


def query_cases(keys: dict) -> list[tuple[str, str, str, list]]:
    """(key, label, operation, bodies) of the query cases."""
    cl = keys["clusters"]
    return [
        ("filtered_scan", "filtered scan (name_contains + vcpu_gt + cluster{name}, first 50)", "get-vms",
         [{"where": {"name_contains": "1", "vcpu_gt": 1, "cluster": {"name": n}}, "first": 50} for n in cl]),
        ("scan_nothing", "scan matching nothing (name_contains a missing text)", "get-vms",
         [{"where": {"name_contains": "no-such-vm-zz"}}]),
        ("count_where", "get-vms-connection count with a where (status + vcpu_gte)", "get-vms-connection",
         [{"where": {"status": "RUNNING", "vcpu_gte": 2}}]),
        ("order_first", "orderBy memory_DESC + first 50", "get-vms",
         [{"orderBy": "memory_DESC", "first": 50}]),
        ("relation_filter", "relation filter host -> cluster -> name, first 50", "get-vms",
         [{"where": {"host": {"cluster": {"name": n}}}, "first": 50} for n in cl]),
    ]


def create_vm_bodies(c: Client, keys: dict, n: int, tag: str) -> list:
    cluster = keys["cluster_ids"][0]
    vlans = c.post("/get-vlans", {"where": {"vds": {"cluster": {"id": cluster}}}, "first": 1})
    return [[{"cluster_id": cluster, "name": f"bench-{tag}-{i:06d}", "vcpu": 2, "cpu_cores": 1, "cpu_sockets": 2,
              "memory": 2147483648, "ha": True, "firmware": "BIOS", "status": "STOPPED",
              "vm_nics": [{"connect_vlan_id": vlans[0]["id"]}] if vlans else [],
              "vm_disks": {"mount_new_create_disks": [{"boot": 1, "bus": "VIRTIO", "vm_volume": {
                  "name": f"bench-{tag}-{i:06d}-disk", "size": 10737418240,
                  "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}}]}}]
            for i in range(n)]


def vm_count(c: Client) -> int:
    return c.post("/get-vms-connection", {})["aggregate"]["count"]


# ------------------------------------------------------------------------------- the run
class _WriteCases:
    """The cases that write: reads beside writes, mutation bursts, reset, namespaces
    (`self.results`, `self.row`, `self.a` and `self.mock_pid` are the Bench's)."""

    def writes(self, wrk: Wrk, c: Client, keys: dict, api: str) -> None:
        res, tok = self.results, c.token
        reads = wrk.bodies([{"where": {"id": i}} for i in keys["ids"]])
        quiet = res["reads_quiet"] = wrk.run(api + "get-vms", reads, token=tok, connections=2)
        updates = wrk.bodies([{"where": {"id": i}, "data": {"description": f"bench {j}"}}
                              for j, i in enumerate(keys["ids"][:5000])])
        w = wrk.start(api + "update-vm-basic-info", updates, token=tok, connections=2)
        busy = wrk.run(api + "get-vms", reads, token=tok, connections=2)
        wr = wrk.result(w)
        res["reads_during_writes"], res["writes_beside_reads"] = busy, wr
        self.row("reads (where {id}, 2 connections) alone", quiet)
        self.row("reads (where {id}, 2 connections) during a write burst", busy,
                 note=f"beside {wr['rps']:.0f} update-vm-basic-info/s")
        one = create_vm_bodies(c, keys, 20000, "burst")
        self.burst(wrk, c, api, "mutation_burst", wrk.bodies(one), 1)
        tens = create_vm_bodies(c, keys, 60000, "batch")
        self.burst(wrk, c, api, "mutation_burst_batch", wrk.bodies([sum(tens[i:i + 10], [])
                                                                   for i in range(0, len(tens), 10)]), 10)

    def burst(self, wrk: Wrk, c: Client, api: str, key: str, bodies: Path, per: int) -> None:
        """create-vm as fast as it answers, `per` VMs a request (the SDK's create_vm takes a
        list); nothing lost: the VM count grows by every VM of every 200 answer."""
        before = vm_count(c)
        r = self.results[key] = wrk.run(api + "create-vm", bodies, token=c.token, pid=self.mock_pid)
        ok = (r["requests"] - r["status_errors"]) * per
        gained = vm_count(c) - before
        # a request still in flight when wrk stops is created but not counted by wrk
        r["vms_created"], r["lost"] = gained, max(0, ok - gained)
        r["vms_per_s"] = round(r["rps"] * per, 1)
        if per == 1:
            self.row(f"mutation burst: create-vm, one VM a request, {self.a.connections} connections", r,
                     note=f"({gained} VMs created, {r['lost']} lost)")
        else:
            self.row(f"mutation burst: create-vm, {per} VMs a request, {self.a.connections} connections", r,
                     note=f"= **{r['vms_per_s']:.0f} VMs/s** ({gained} VMs created, {r['lost']} lost)")

    def reset(self, c: Client, keys: dict, mock_base: str) -> None:
        admin = Client(mock_base + "/_mock")
        admin.post("/reset", {})
        times, server_ms = [], []
        for rnd in range(5):
            for j, i in enumerate(keys["ids"][:100]):
                c.post("/update-vm-basic-info", {"where": {"id": i}, "data": {"description": f"r{rnd}-{j}"}})
            t0 = time.perf_counter()
            server_ms.append(admin.post("/reset", {})["ms"])
            times.append((time.perf_counter() - t0) * 1000)
        r = self.results["reset_after_100"] = {"p50_ms": round(statistics.median(times), 2),
                                               "p99_ms": round(max(times), 2),
                                               "server_ms": server_ms}
        self.row("POST /_mock/reset after 100 changes (5 rounds; p99 = max)", r)

    def namespaces(self, c: Client, keys: dict, mock: subprocess.Popen, mock_base: str) -> None:
        admin = Client(mock_base + "/_mock")
        rss0 = rss_mib(mock.pid)["rss_mib"]
        firsts, seconds = [], []
        names = [f"bench-ns-{os.getpid()}-{k}" for k in range(5)]
        for ns in names:
            h = {"X-Mock-Namespace": ns}
            firsts.append(c.timed("/get-vms", {"where": {"id": keys["ids"][0]}}, h))
            seconds.append(c.timed("/get-vms", {"where": {"id": keys["ids"][1]}}, h))
        rss1 = rss_mib(mock.pid)["rss_mib"]
        for ns in names:
            req = urllib.request.Request(admin.base + "/namespaces/" + ns, method="DELETE")
            try:
                urllib.request.urlopen(req, timeout=60).read()
            except OSError:
                pass
        per = round((rss1 - rss0) / len(names), 1)
        r = self.results["namespace_first_request"] = {
            "p50_ms": round(statistics.median(firsts), 2), "p99_ms": round(max(firsts), 2),
            "second_request_ms": round(statistics.median(seconds), 2), "rss_mib_per_namespace": per}
        self.row("new namespace: first request (5 namespaces; p99 = max)", r,
                 note=f"(+{per} MiB RSS each; its second request {r['second_request_ms']} ms)")


class Bench(_WriteCases):
    def __init__(self, a):
        self.a = a
        self.results: dict = {"world": a.world, "seconds": a.seconds, "connections": a.connections,
                              "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                                          "load_before": os.getloadavg()[0]}}
        self.rows: list[tuple[str, str, str, str, str]] = []   # case, mock, vs bare, p50, p99

    def row(self, case: str, r: dict, ratio: float | None = None, note: str = "",
            bare_cpu: float | None = None) -> None:
        """A table row; `bare_cpu` (µs of server CPU per bare request) adds the CPU ratio."""
        rate = f"{r['rps']:.0f} req/s" if "rps" in r else ""
        if r.get("errors"):
            rate += f" ({r['errors']} errors)"
        cpu = ""
        if r.get("server_cpu_us"):
            cpu = f"{r['server_cpu_us']} µs"
            if bare_cpu:
                cpu += f" ({bare_cpu / r['server_cpu_us']:.0%})"
        self.rows.append((case, (rate + (" " + note if note else "")).strip(),
                          f"{ratio:.0%}" if ratio is not None else "", cpu,
                          f"{r['p50_ms']} ms" if "p50_ms" in r else "",
                          f"{r['p99_ms']} ms" if "p99_ms" in r else ""))

    def run(self) -> int:
        a = self.a
        with tempfile.TemporaryDirectory() as tmp:
            wrk = Wrk(a.seconds, a.connections, Path(tmp))
            mport, bport = free_port(), free_port()
            bare = start_bare(bport, a.threads)
            self.bare_pid = bare.pid
            mock, startup = start_mock(a.world, mport, a.threads)
            self.mock_pid = mock.pid
            try:
                self.results["startup_s"] = round(startup, 2)
                self.results["rss_at_rest"] = rss_mib(mock.pid)
                self.rows.append((f"start-up to first answer, {a.world} world", f"{startup:.2f} s", "", "", "", ""))
                self.cases(wrk, f"http://127.0.0.1:{bport}", f"http://127.0.0.1:{mport}", mock)
                self.results["rss_after"] = rss_mib(mock.pid)
                rest, after = self.results["rss_at_rest"], self.results["rss_after"]
                self.rows.append((f"RSS of the mock, {a.world} world",
                                  f"{rest['rss_mib']} MiB at rest, {after['rss_mib']} MiB after the run "
                                  f"(peak {after['peak_mib']} MiB)", "", "", "", ""))
            finally:
                stop(mock)
                stop(bare)
        return self.write()

    def cases(self, wrk: Wrk, bare_base: str, mock_base: str, mock: subprocess.Popen) -> None:
        a, res = self.a, self.results
        c = Client(mock_base + "/v2/api")
        c.token = c.post("/login", {"username": "root", "password": "root"})["data"]["token"]
        keys = world_keys(c)
        res["vms"] = len(keys["ids"])
        one = wrk.bodies([{"where": {"id": "x"}}])
        bare_url = bare_base + "/v2/api/get-vms"
        bpid, mpid = self.bare_pid, mock.pid
        wrk.run(bare_url, one, seconds=1)                           # warm-up
        api = mock_base + "/v2/api/"
        tok = c.token
        n = len(keys["ids"])
        bodies = {"id": wrk.bodies([{"where": {"id": i}} for i in keys["ids"]]),
                  "name": wrk.bodies([{"where": {"name": x}} for x in keys["names"]]),
                  "local_id": wrk.bodies([{"where": {"local_id": x}} for x in keys["local_ids"]])}
        wrk.run(api + "get-vms", bodies["id"], token=tok, seconds=2)    # warm-up (render cache)
        # bare and mock in turn, round after round: a drift of the machine hits both alike
        rounds = res["rounds"] = []
        for _ in range(a.rounds):
            rnd = {"bare": wrk.run(bare_url, one, pid=bpid)}
            if "lookups" not in a.skip:
                for k, f in bodies.items():
                    rnd[k] = wrk.run(api + "get-vms", f, token=tok, pid=mpid)
            rounds.append(rnd)
        bare = res["bare"] = _median_run([r["bare"] for r in rounds])
        self.row(f"bare Flask, one-VM answer (the 100%; median of {a.rounds} rounds)", bare, 1.0,
                 bare_cpu=bare["server_cpu_us"])
        if "ceiling" not in a.skip:
            raw = res["ceiling"] = wrk.run(bare_base + "/raw/v2/api/get-vms", one, pid=bpid)
            self.row("server ceiling: the raw WSGI answer, no framework", raw, raw["rps"] / bare["rps"],
                     f"(wrk used {raw['wrk_cpu_share']:.0%} of a core)", bare_cpu=bare["server_cpu_us"])
        if "lookups" not in a.skip:
            for k in bodies:
                r = res[f"lookup_{k}"] = _median_run([rnd[k] for rnd in rounds])
                ratio = statistics.median(rnd[k]["rps"] / rnd["bare"]["rps"] for rnd in rounds)
                r["ratio"] = round(ratio, 3)
                self.row(f"point lookup get-vms where {{{k}}}, over all {len(keys[k + 's'])} VMs", r, ratio,
                         bare_cpu=bare["server_cpu_us"])
        if "queries" not in a.skip:
            bare_c1 = res["bare_1_connection"] = wrk.run(bare_url, one, connections=1, pid=bpid)
            self.row("bare Flask, 1 connection (the 100% of the 1-connection cases)", bare_c1, 1.0,
                     bare_cpu=bare_c1["server_cpu_us"])
            for key, label, opname, bodies_ in query_cases(keys):
                r = res[key] = wrk.run(api + opname, wrk.bodies(bodies_), token=tok, connections=1, pid=mpid)
                r["body"] = bodies_[0]
                self.row(f"{label}, {n} VMs (1 connection)", r, r["rps"] / bare_c1["rps"],
                         bare_cpu=bare_c1["server_cpu_us"])
        if "writes" not in a.skip:
            self.writes(wrk, c, keys, api)
        if "reset" not in a.skip:
            self.reset(c, keys, mock_base)
        if "namespaces" not in a.skip:
            self.namespaces(c, keys, mock, mock_base)

    def write(self) -> int:
        self.results["machine"]["load_after"] = os.getloadavg()[0]
        head = (f"world `{self.a.world}` ({self.results.get('vms', '?')} VMs), wrk {self.a.connections} "
                f"connections unless said, {self.a.seconds:g} s a case, server threads {self.a.threads}; "
                f"load average {self.results['machine']['load_before']:.1f} -> "
                f"{self.results['machine']['load_after']:.1f} on {os.cpu_count()} CPUs")
        table = [head, "", "| case | mock | vs bare Flask (req/s) | server CPU / request (bare / mock) | p50 | p99 |",
                 "|---|---|---|---|---|---|"]
        table += [f"| {' | '.join(r)} |" for r in self.rows]
        text = "\n".join(table)
        print(text)
        out = Path(self.a.out or ROOT / "reports" / f"bench-{self.a.world}")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text(text + "\n")
        out.with_suffix(".json").write_text(json.dumps(self.results, indent=1) + "\n")
        return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", default="large", choices=("default", "large", "xl"))
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of bare and lookups in turn")
    ap.add_argument("--threads", type=int, default=16, help="server worker threads (mock and bare)")
    ap.add_argument("--out", default=None, help="report path without suffix (default reports/bench-WORLD)")
    ap.add_argument("--skip", action="append", default=[], choices=CASES)
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        print(INSTALL_WRK, file=sys.stderr)
        return 2
    if a.seconds <= 0 or a.connections < 1 or a.threads < 1 or a.rounds < 1:
        print("bench.py: --seconds, --connections and --threads and --rounds must be positive", file=sys.stderr)
        return 2
    return Bench(a).run()


if __name__ == "__main__":
    sys.exit(main())
