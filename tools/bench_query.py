"""In-process latency of the query engine (no HTTP): find / count of typical bodies over a
seeded world, median and best of N runs per case, in milliseconds.

    python tools/bench_query.py [--world large] [--n 20] [--spec PATH]

A check that a change to the engine did not slow the hot path (compare before / after on the
same machine); tools/bench_store.py measures the same cases over HTTP.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def default_spec() -> Path:
    shared = os.environ.get("CLOUDTOWER_SHARED")
    base = Path(shared) if shared else ROOT.parent / "shared"
    return base / "specs" / "cloudtower-4.6.0.json"


def cases(store) -> dict[str, tuple[str, str, dict]]:
    vm = store.first("Vm")
    cluster = store.get("Cluster", vm["cluster"])
    host_where = {"host": {"cluster": {"name": cluster["name"]}}}
    return {
        "scan matching nothing (name_contains)": ("find", "Vm", {"where": {"name_contains": "zzzz-nothing"}}),
        "scan, two conditions, first 50": ("find", "Vm", {"where": {"status": "RUNNING", "vcpu_gte": 2}, "first": 50}),
        "count with a where": ("count", "Vm", {"where": {"status": "RUNNING", "vcpu_gte": 2}}),
        "count, OR + NOT": ("count", "Vm", {"where": {"OR": [{"vcpu_gt": 4}, {"NOT": {"memory_lt": 2 ** 31}}]}}),
        "orderBy name + first 50": ("find", "Vm", {"orderBy": "name_ASC", "first": 50}),
        "orderBy memory desc + where + first 50": ("find", "Vm", {"where": {"vcpu_gte": 2}, "orderBy": "memory_DESC", "first": 50}),
        "relation filter + first 50": ("find", "Vm", {"where": host_where, "first": 50}),
        "relation filter count": ("count", "Vm", {"where": host_where}),
        "to-many some": ("count", "Vm", {"where": {"vm_disks_some": {"boot_gte": 0}}}),
        "cursor page (after, orderBy name)": ("find", "Vm", {"orderBy": "name_ASC", "after": vm["id"], "first": 20}),
        "lookup by id": ("find", "Vm", {"where": {"id": vm["id"]}}),
        "last 10, id DESC": ("find", "Vm", {"orderBy": "id_DESC", "last": 10}),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", default="large")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--spec", default=str(default_spec()))
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from mock_server.contract.index import Contract
    from mock_server.query import engine
    from mock_server.store import StoreSource
    from mock_server.world.generator import generate
    from mock_server.world.scenario import load_scenario

    contract = Contract(json.loads(Path(a.spec).read_text()))
    store = generate(contract, load_scenario(a.world))
    schema = contract.query_schema
    print(f"world {a.world}: {store.count('Vm')} VMs; median / best of {a.n} (ms)")
    for name, (fn, model, body) in cases(store).items():
        run = engine.find if fn == "find" else engine.count
        times = []
        for _ in range(a.n):
            t0 = time.perf_counter()
            run(schema, StoreSource(store), model, body)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"  {name:45s} {statistics.median(times):9.3f} {min(times):9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
