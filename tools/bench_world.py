"""Time (wall and CPU) and peak RSS of the seeded-world generator, one fresh process per scenario.

    python tools/bench_world.py [--spec PATH] [scenario ...]     (default: default large xl)

Each scenario runs in a child process so its peak RSS (ru_maxrss) is its own; the figure
includes the interpreter and the loaded contract (printed separately as `base`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def default_spec() -> Path:
    shared = os.environ.get("CLOUDTOWER_SHARED")
    base = Path(shared) if shared else ROOT.parent / "shared"
    return base / "specs" / "cloudtower-4.6.0.json"


def child(spec: str, scenario: str) -> None:
    sys.path.insert(0, str(ROOT))
    from mock_server.contract.index import Contract
    from mock_server.world.generator import generate
    from mock_server.world.scenario import load_scenario

    contract = Contract(json.loads(Path(spec).read_text()))
    sc = load_scenario(scenario)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    store = generate(contract, sc)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = sum(len(t.rows) for t in store.tables.values())
    print(json.dumps({"scenario": scenario, "seconds": round(dt, 3), "cpu_seconds": round(cpu, 3), "peak_rss_mib": round(peak / 1024, 1),
                      "base_rss_mib": round(base / 1024, 1), "rows": rows, "vms": store.count("Vm")}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", default=["default", "large", "xl"])
    ap.add_argument("--spec", default=str(default_spec()))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.spec, args.scenarios[0])
        return
    print(f"{'scenario':<10} {'seconds':>8} {'cpu s':>7} {'peak RSS':>10} {'base RSS':>9} {'rows':>10} {'VMs':>8}")
    for sc in args.scenarios:
        out = subprocess.run([sys.executable, __file__, "--child", "--spec", args.spec, sc],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{sc:<10} FAILED\n{out.stderr}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['scenario']:<10} {r['seconds']:>8.2f} {r['cpu_seconds']:>7.2f} {r['peak_rss_mib']:>8.0f} MiB {r['base_rss_mib']:>5.0f} MiB"
              f" {r['rows']:>10,} {r['vms']:>8,}")


if __name__ == "__main__":
    main()
