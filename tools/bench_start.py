"""How long until `./scripts/serve` (or `cloudtower-mock serve`) listens on the default world.

    python tools/bench_start.py [--runs 5] [--world default] [--direct]

Starts the server `--runs` times on a free port, polls `GET /api/healthz` every 20 ms, and
prints per run and as medians: wall seconds to the first healthy answer, and the CPU seconds
the server process (with its children, e.g. the install check of scripts/serve) had used by
then. CPU seconds vary less than wall time on a shared machine. `--direct` runs
`python -m mock_server.cli serve` instead of the script. The first run of the script after a
change of pyproject.toml includes the install; run it once before measuring.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def one_run(cmd: list[str], port: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd + ["--port", str(port), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/healthz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0, cpu_seconds(proc.pid)
            except OSError:
                time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--world", default="default")
    p.add_argument("--direct", action="store_true", help="python -m mock_server.cli serve, not scripts/serve")
    p.add_argument("--script", default="./scripts/serve", help="another start script (e.g. an older one)")
    a = p.parse_args(argv)
    cmd = ([sys.executable, "-m", "mock_server.cli", "serve"] if a.direct
           else [a.script]) + ["--world", a.world]
    env_note = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    walls, cpus = [], []
    for i in range(a.runs):
        wall, cpu = one_run(cmd, free_port())
        walls.append(wall)
        cpus.append(cpu)
        print(f"run {i + 1}: listening after {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    label = "python -m mock_server.cli serve" if a.direct else a.script
    print(f"{label} --world {a.world}: median {statistics.median(walls):.2f} s "
          f"wall, {statistics.median(cpus):.2f} s CPU over {a.runs} runs ({env_note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
