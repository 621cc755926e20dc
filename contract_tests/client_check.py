"""`cloudtower-contract client [--chaos] -- <command...>`: run a user's client against the mock.

The mock runs in-process (create_app + cheroot on a free port, strict validation), wrapped in
a recording WSGI middleware (method, path, status, request and response bodies) and, with
`--chaos`, an injector adding seeded latency and 503 ErrorBody answers (plus a failure rule
making some tasks fail). The command runs with CLOUDTOWER_ENDPOINT / _USERNAME / _PASSWORD
set. The report lists every request that broke the contract (with the validation error),
the operations used (coverage of the contract), the tasks the client started and never
polled with get-tasks, and under chaos how the client fared. Exit status non-zero when the
client broke the contract, left tasks un-awaited, or the command failed.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson

from .report import CLIENT_CONTRACT, CLIENT_FAILED, CLIENT_TASK, SuiteResult, summary_lines, write_reports

API = "/v2/api/"


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    request: bytes
    response: bytes
    injected: str | None = None
    seconds: float = 0.0

    @property
    def op(self) -> str:
        return self.path[len(API) - 1:] if self.path.startswith(API) else self.path


class Recorder:
    """WSGI middleware keeping every API exchange."""

    def __init__(self, app):
        self.app = app
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(API):
            return self.app(environ, start_response)
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            n = 0
        body = environ["wsgi.input"].read(n) if n > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        seen: dict[str, Any] = {}

        def sr(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            seen["injected"] = next((v for k, v in headers if k.lower() == "x-chaos"), None)
            return start_response(status, headers, exc_info)
        t0 = time.monotonic()
        out = b"".join(self.app(environ, sr))
        with self._lock:
            self.exchanges.append(Exchange(environ.get("REQUEST_METHOD", ""), path, seen.get("status", 0),
                                           body, out, seen.get("injected"), time.monotonic() - t0))
        return [out]


class Chaos:
    """WSGI middleware: seeded latency and 503 ErrorBody answers (never on login)."""

    def __init__(self, app, rate: float = 0.15, seed: int = 0):
        self.app = app
        self.rate = rate
        self.rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected = {"latency": 0, "503": 0}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(API) or path.endswith("/login") or path.endswith("openapi.json"):
            return self.app(environ, start_response)
        with self._lock:
            roll, delay = self.rng.random(), self.rng.uniform(0.05, 0.4)
        if roll < self.rate / 2:
            with self._lock:
                self.injected["503"] += 1
            body = orjson.dumps({"message": "Service temporarily unavailable (injected by cloudtower-contract "
                                            "--chaos)", "status": 503, "path": path[len(API) - 1:]})
            start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                       ("Content-Length", str(len(body))),
                                                       ("x-tower-request-id", "chaos-%08x" % self.rng.getrandbits(32)),
                                                       ("x-chaos", "503")])
            return [body]
        if roll < self.rate:
            with self._lock:
                self.injected["latency"] += 1
            time.sleep(delay)
        return self.app(environ, start_response)


def _strings(v: Any, out: set[str]) -> set[str]:
    if isinstance(v, str):
        out.add(v)
    elif isinstance(v, list):
        for x in v:
            _strings(x, out)
    elif isinstance(v, dict):
        for x in v.values():
            _strings(x, out)
    return out


def analyse(exchanges: list[Exchange], contract, result: SuiteResult) -> dict:
    """Contract violations, coverage and un-awaited tasks of a recorded client run."""
    from mock_server.contract.validate import Validator
    validator = Validator(contract, strict_additional=True)
    used: dict[str, int] = {}
    started: dict[str, str] = {}      # task id -> operation that returned it
    polled: set[str] = set()
    violations = []
    failed_tasks: set[str] = set()
    for ex in exchanges:
        op = contract.operations.get(ex.op)
        used[ex.op] = used.get(ex.op, 0) + 1
        result.check(ex.op)
        if ex.injected:
            continue
        try:
            req = orjson.loads(ex.request) if ex.request.strip() else None
        except orjson.JSONDecodeError:
            req = None
        if op is None:
            if not ex.op.endswith("openapi.json"):
                violations.append((ex.op, f"HTTP {ex.status}: no such operation in CloudTower {contract.version}"))
            continue
        if 400 <= ex.status < 500:
            reason = None
            if op.request_schema is not None and req is not None and not (op.content_type or "").startswith("multipart"):
                try:
                    validator.validate(op.request_schema, req)
                except Exception as e:
                    reason = f"request does not match the contract: {e}"
            if reason is None:
                try:
                    reason = orjson.loads(ex.response).get("message")
                except Exception:
                    reason = ex.response[:200].decode("utf-8", "replace")
                reason = f"HTTP {ex.status}: {reason}"
            else:
                reason = f"HTTP {ex.status}: {reason}"
            body = ex.request[:200].decode("utf-8", "replace")
            violations.append((ex.op, f"{reason}; request body {body}"))
        if ex.op == "/get-tasks" and req:
            _strings(req.get("where") if isinstance(req, dict) else req, polled)
        if ex.status == 200:
            try:
                resp = orjson.loads(ex.response)
            except orjson.JSONDecodeError:
                continue
            items = resp if isinstance(resp, list) else [resp]
            if ex.op == "/get-tasks":
                for it in items:
                    if isinstance(it, dict) and it.get("status") == "FAILED":
                        failed_tasks.add(it.get("id"))
            for it in items:
                if isinstance(it, dict) and it.get("task_id"):
                    started.setdefault(it["task_id"], ex.op)
    for op, msg in violations:
        result.fail(op, CLIENT_CONTRACT, msg)
    unawaited = {t: op for t, op in started.items() if t not in polled}
    for t, op in sorted(unawaited.items()):
        result.fail(op, CLIENT_TASK, f"task {t} returned by {op} was never polled with get-tasks")
    return {"used": used, "started": started, "unawaited": unawaited, "violations": violations,
            "failed_tasks": failed_tasks}


def cmd_client(args) -> int:
    from mock_server.contract.loader import load_contract
    from .mockserver import InProcessMock
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("cloudtower-contract client: give the command after --", file=sys.stderr)
        return 2
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    contract = load_contract(args.spec)
    holder: dict[str, Any] = {}

    def wrap(app):
        inner = app
        if args.chaos:
            holder["chaos"] = inner = Chaos(inner, rate=args.chaos_rate, seed=args.seed)
        holder["recorder"] = rec = Recorder(inner)
        return rec
    result = SuiteResult("client")
    mock = InProcessMock(contract=contract, task_speed=args.task_speed, strict=True, wrap=wrap, seed=None)
    if args.chaos:
        tasks = mock.state.world().tasks
        if tasks is not None:
            tasks.add_failure_rule(probability=min(1.0, args.chaos_rate), seed=args.seed,
                                   error_message="injected by cloudtower-contract --chaos")
    env = dict(os.environ, CLOUDTOWER_ENDPOINT=mock.api, CLOUDTOWER_USERNAME=mock.username,
               CLOUDTOWER_PASSWORD=mock.password, CLOUDTOWER_SOURCE="LOCAL")
    log(f"cloudtower-contract client: mock at {mock.api}{' with chaos' if args.chaos else ''}; running: "
        + " ".join(cmd))
    try:
        proc = subprocess.run(cmd, env=env, timeout=args.timeout)
        rc = proc.returncode
    except FileNotFoundError as e:
        rc, _ = 127, e
    except subprocess.TimeoutExpired:
        rc = 124
    finally:
        mock.stop()
    rec: Recorder = holder["recorder"]
    info = analyse(rec.exchanges, contract, result)
    if rc != 0:
        result.fail("command", CLIENT_FAILED, f"`{' '.join(cmd)}` exited with status {rc}")
    total = len(contract.operations)
    used = sorted(info["used"])
    in_contract = [o for o in used if o in contract.operations]
    result.sections.append((f"Operations used ({len(in_contract)} of {total}, "
                            f"{100.0 * len(in_contract) / max(1, total):.1f}% of the contract)",
                            [f"- `{o}` x{info['used'][o]}" for o in used]))
    result.sections.append(("Tasks", [f"- {len(info['started'])} task(s) started, "
                                      f"{len(info['started']) - len(info['unawaited'])} awaited, "
                                      f"{len(info['unawaited'])} never polled"]
                            + [f"  - `{t}` from `{op}`" for t, op in sorted(info["unawaited"].items())]))
    if args.chaos:
        ch: Chaos = holder["chaos"]
        injected = [e for e in rec.exchanges if e.injected]
        retried = sum(1 for i, e in enumerate(rec.exchanges) if e.injected and any(
            x.op == e.op and x.request == e.request and not x.injected for x in rec.exchanges[i + 1:]))
        result.sections.append(("Chaos", [
            f"- injected: {ch.injected['503']} 503 answer(s), {ch.injected['latency']} delayed answer(s), "
            f"task failure probability {min(1.0, args.chaos_rate):.2f}",
            f"- the client retried {retried} of {len(injected)} failed request(s)",
            f"- the client saw {len(info['failed_tasks'])} task(s) end FAILED",
            f"- the command {'succeeded' if rc == 0 else f'failed (exit status {rc})'} under chaos"]))
    result.note(f"{len(rec.exchanges)} request(s) recorded; command exit status {rc}")
    result.finish()
    for line in summary_lines([result]):
        print(line, flush=True)
    for title, lines in result.sections:
        print(f"  {title}")
        for line in lines:
            print(f"    {line}")
    junit, md = write_reports([result], args.report_dir,
                              [f"- client command: `{' '.join(cmd)}`", f"- mock: CloudTower {contract.version} "
                               f"({contract.source}), strict validation{', chaos' if args.chaos else ''}"])
    print(f"  reports: {junit} {md}", flush=True)
    return 1 if result.failures else 0
