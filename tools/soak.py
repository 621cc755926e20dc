#!/usr/bin/env python3
"""Soak: mixed traffic against a real `cloudtower-mock serve` process for N minutes, sampling
the server's resident memory (RSS), to show that it stays flat (bounded journal, expiring
tasks, bounded namespaces and caches).

The traffic is tools/torture.py's mix (reads, label / VM / snapshot writes and deletes,
resets, namespace create/delete, clock moves, state exports, journal reads) from --threads
client threads. Prints one line per sample and a summary: RSS over the first and the last
quarter, growth per minute over the second half, requests served, errors.

    python tools/soak.py --minutes 30 --threads 8 --sample 30
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import torture  # noqa: E402


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_server(args) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", "--task-speed", str(args.task_speed),
           "--world", args.world, "--threads", str(args.server_threads), "-q"]
    if args.journal_max:
        cmd += ["--journal-max", args.journal_max]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=os.path.dirname(HERE))
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"soak: the server did not start: {line.strip()}")
    url = line.split("listening on ", 1)[1].strip().rsplit("/v2/api", 1)[0]
    threading.Thread(target=proc.stdout.read, daemon=True).start()        # drain
    return proc, url


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=8, help="client threads")
    p.add_argument("--server-threads", type=int, default=16)
    p.add_argument("--sample", type=float, default=15.0, help="seconds between RSS samples")
    p.add_argument("--world", default="default")
    p.add_argument("--task-speed", type=float, default=50.0)
    p.add_argument("--journal-max", default=None, help="the server's --journal-max (default: its own)")
    a = p.parse_args(argv)
    import requests
    proc, url = start_server(a)
    try:
        token = requests.post(url + "/v2/api/login", json={"username": "root", "password": "root"}
                              ).json()["data"]["token"]
        stats = torture.Stats()
        probe = torture.Client(url, token, stats)
        facts = torture.facts_over_http(probe)
        t0 = time.monotonic()
        stop_at = t0 + a.minutes * 60
        seq = itertools.count(1)
        workers = [threading.Thread(target=torture.worker, args=(n, torture.Client(url, token, stats), facts,
                                                                 stop_at, seq), daemon=True)
                   for n in range(a.threads)]
        for w in workers:
            w.start()
        samples: list[tuple[float, int, int]] = []
        print(f"soak: {a.minutes:g} min, {a.threads} client threads, server pid {proc.pid} at {url}")
        print(f"{'t (s)':>7} {'RSS (MiB)':>10} {'requests':>9} {'errors':>7}")
        while True:
            now = time.monotonic()
            calls = sum(stats.calls.values())
            samples.append((now - t0, rss_kib(proc.pid), calls))
            print(f"{now - t0:7.0f} {samples[-1][1] / 1024:10.1f} {calls:9d} {len(stats.errors):7d}", flush=True)
            if now >= stop_at:
                break
            time.sleep(min(a.sample, max(0.1, stop_at - now)))
        for w in workers:
            w.join(120)
        _summary(samples, stats)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed"
        print(f"server stopped: exit {code}")
    return 1 if stats.errors else 0


def _summary(samples, stats) -> None:
    n = len(samples)
    q = max(1, n // 4)
    first = sum(s[1] for s in samples[:q]) / q / 1024
    last = sum(s[1] for s in samples[-q:]) / q / 1024
    half = samples[n // 2:]
    if len(half) >= 2 and half[-1][0] > half[0][0]:
        xs = [s[0] / 60 for s in half]
        ys = [s[1] / 1024 for s in half]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        var = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0
    else:
        slope = 0.0
    total = samples[-1][2]
    secs = samples[-1][0] or 1
    print(f"RSS: first quarter {first:.1f} MiB, last quarter {last:.1f} MiB, peak "
          f"{max(s[1] for s in samples) / 1024:.1f} MiB; second half {slope:+.2f} MiB/min")
    print(f"{total} requests ({total / secs:.0f}/s), {sum(stats.refusals.values())} refusals (4xx), "
          f"{len(stats.errors)} errors")
    for e in stats.errors[:10]:
        print("  ERROR", e)


if __name__ == "__main__":
    sys.exit(main())
