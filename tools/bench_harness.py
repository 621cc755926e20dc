"""How long the harness takes, and whether --time-budget holds: the README's default run
against the default mock (`cloudtower-mock serve`, its default world and task speed, in its own
process), then runs with smaller budgets. Prints wall time, the budget, the overshoot and the
result of each run.

    python tools/bench_harness.py [--budgets 20,40] [--skip-default]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(url: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url + "/v2/api/openapi.json", timeout=2).read(1)
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"the mock did not answer at {url} within {timeout:.0f}s")


def run(url: str, extra: list[str]) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "contract_tests.cli", "--base-url", url, "-u", "root", "-p", "root",
               "-q", "--report-dir", d, *extra]
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        verdict = "PASSED" if "PASSED" in p.stdout else "FAILED"
        return wall, p.returncode, verdict


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budgets", default="20,40", help="comma-separated --time-budget values to check")
    ap.add_argument("--skip-default", action="store_true", help="do not time the default run")
    args = ap.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "mock_server.cli", "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        wait_listening(url)
        if not args.skip_default:
            wall, rc, verdict = run(url, [])
            rows.append(("default run (budget 60 s)", 60.0, wall, rc, verdict))
        for b in [float(x) for x in args.budgets.split(",") if x.strip()]:
            wall, rc, verdict = run(url, ["--time-budget", str(b)])
            rows.append((f"--time-budget {b:.0f}", b, wall, rc, verdict))
    finally:
        server.terminate()
        server.wait(10)
    print("| run | budget | wall time (harness process, incl. start-up) | overshoot | result |")
    print("|---|---|---|---|---|")
    for name, budget, wall, rc, verdict in rows:
        over = 100.0 * (wall - budget) / budget
        print(f"| {name} | {budget:.0f} s | {wall:.1f} s | {over:+.0f}% | {verdict} (exit {rc}) |")
    bad = [r for r in rows if r[2] > r[1] * 1.10]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
