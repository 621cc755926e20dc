#!/usr/bin/env python3
"""A small keep-alive HTTP load generator, run as its own process by the benchmarks.

    loadgen.py URL --body JSON [--header K:V ...] [--seconds S] [--concurrency N]

Prints one JSON line: requests, errors, rps, p50/p90/p99 latency in ms. Bounded in time."""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlparse


def worker(url, body, headers, deadline, out, bodies):
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    lat, errors, i = [], 0, 0
    while True:
        t0 = time.perf_counter()
        if t0 >= deadline:
            break
        payload = bodies[i % len(bodies)] if bodies else body
        i += 1
        try:
            conn.request("POST", u.path, body=payload, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            continue
        lat.append(time.perf_counter() - t0)
    conn.close()
    out.append((lat, errors))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--body", default="{}")
    p.add_argument("--bodies", help="a JSON file with a list of bodies to cycle through")
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=4)
    a = p.parse_args()
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    for h in a.header:
        k, _, v = h.partition(":")
        headers[k.strip()] = v.strip()
    bodies = [json.dumps(b).encode() for b in json.load(open(a.bodies))] if a.bodies else None
    out: list = []
    start = time.perf_counter()
    deadline = start + a.seconds
    threads = [threading.Thread(target=worker, args=(a.url, a.body.encode(), headers, deadline, out, bodies))
               for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    lat = sorted(x for l, _ in out for x in l)
    errors = sum(e for _, e in out)

    def pct(q):
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 2) if lat else None
    print(json.dumps({"requests": len(lat), "errors": errors, "rps": round(len(lat) / elapsed, 1),
                      "p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99)}))


if __name__ == "__main__":
    main()
