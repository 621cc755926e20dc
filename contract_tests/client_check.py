"""`cloudtower-contract client [--port P] [--world W] [--spec F] [--chaos] -- <command...>`: run a
user's client against the mock and report what it did.

The mock runs in-process (strict validation), wrapped in a recorder and, with `--chaos`, an
injector of seeded latency and 503 ErrorBody answers (plus a rule making some tasks fail).
The command runs with these variables set (see ENV_HELP). The report lists the operations the
client called and how often; every request the mock rejected as invalid (a client bug: the
field and the reason); the operations, fields and enum values it used that older CloudTower
versions lack (`--compat SPEC`, default: the older specs in $CLOUDTOWER_SHARED/specs); the
tasks it started and never polled; and under chaos which disturbances it survived.
Exit status 1 when the client sent an invalid request or the command failed (and, with
`--strict-tasks`, when it left a task un-awaited).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from .recorder import Chaos, Recorded, Recorder
from .render import write_reports
from .report import CLIENT_FAILED, CLIENT_INVALID, CLIENT_TASK, SuiteResult, summary_lines

ENV_HELP = """environment of the command:
  CLOUDTOWER_ENDPOINT   the API base, http://127.0.0.1:PORT/v2/api (what the SDK's Configuration(host=) takes)
  CLOUDTOWER_URL        the server root, http://127.0.0.1:PORT
  CLOUDTOWER_USERNAME   login user (root)
  CLOUDTOWER_PASSWORD   its password (root)
  CLOUDTOWER_SOURCE     login source (LOCAL)
  CLOUDTOWER_MOCK_ADMIN the mock's admin API, http://127.0.0.1:PORT/_mock (reset, clock, faults)"""


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


def _json(b: bytes) -> Any:
    try:
        return orjson.loads(b) if b.strip() else None
    except orjson.JSONDecodeError:
        return None


def invalid_reason(ex: Recorded, op, validator, req: Any) -> tuple[str, str]:
    """(field, reason) of a request the mock rejected: the contract's validation error if the
    body breaks the schema, else the field the mock's ErrorBody message names."""
    from mock_server.contract.validate import ValidationError
    if op.request_schema is not None and req is not None and not (op.content_type or "").startswith("multipart"):
        try:
            validator.validate(op.request_schema, validator.coerce(op.request_schema, req))
        except ValidationError as e:
            key = e.params.get("key")
            field = f"{e.path}.{key}" if key and e.kind in ("unknown", "required") else e.path
            return field, e.message("en-US")
    resp = _json(ex.response)
    msg = resp.get("message") if isinstance(resp, dict) else ex.response[:200].decode("utf-8", "replace")
    msg = str(msg)
    m = re.match(r"([A-Za-z_][\w.\[\]]*): ", msg)
    return (m.group(1) if m else "(request)"), msg


def analyse(exchanges: list[Recorded], contract, result: SuiteResult, strict_tasks: bool = True,
            base_url: str = "http://127.0.0.1:8080/v2/api") -> dict:
    """Invalid requests, coverage and un-awaited tasks of a recorded client run."""
    from mock_server.contract.validate import Validator
    validator = Validator(contract, strict_additional=True)
    started: dict[str, str] = {}      # task id -> operation that returned it
    polled: set[str] = set()
    invalid: list[tuple[str, int, str, str, str]] = []     # (op, status, field, reason, body)
    failed_tasks: set[str] = set()
    journal = []
    for ex in exchanges:
        result.sent(ex.op)
        result.check(ex.op)
        if ex.injected:
            continue
        req = _json(ex.request)
        op = contract.operations.get(ex.op)
        if op is None:
            if not ex.op.endswith("openapi.json"):
                invalid.append((ex.op, ex.status, "(operation)", f"no such operation in CloudTower "
                                                                 f"{contract.version}", ""))
            continue
        if ex.status < 400:          # what older versions must serve: the requests that worked
            journal.append({"operation": ex.op.lstrip("/"), "method": ex.method, "body": req})
        if 400 <= ex.status < 500 and ex.status != 401:
            field, reason = invalid_reason(ex, op, validator, req)
            invalid.append((ex.op, ex.status, field, reason, ex.request))
        if ex.op == "/get-tasks" and isinstance(req, dict):
            _strings(req.get("where"), polled)
        if ex.status == 200:
            resp = _json(ex.response)
            items = resp if isinstance(resp, list) else [resp]
            for it in items:
                if not isinstance(it, dict):
                    continue
                if ex.op == "/get-tasks" and it.get("status") == "FAILED":
                    failed_tasks.add(it.get("id"))
                if it.get("task_id"):
                    started.setdefault(it["task_id"], ex.op)
    from .exchange import Exchange
    for op, status, field, reason, body in invalid:
        shown = Exchange(op, base_url + op, raw=body if isinstance(body, bytes) else b"",
                         headers={"Authorization": "(token)"})
        text = shown.body_text()[:300]
        f = result.fail(op, CLIENT_INVALID, f"HTTP {status}: field `{field}`: {reason}; request body {text}", shown)
        f.status = f.status or status
    unawaited = {t: op for t, op in started.items() if t not in polled}
    for t, op in sorted(unawaited.items()) if strict_tasks else ():
        result.fail(op, CLIENT_TASK, f"task {t} returned by {op} was never polled with get-tasks")
    return {"used": dict(result.requests), "started": started, "unawaited": unawaited, "invalid": invalid,
            "failed_tasks": failed_tasks, "journal": journal}


def compat_specs(given: list[str], contract) -> list[str]:
    """--compat files, else the specs older than the contract in $CLOUDTOWER_SHARED/specs."""
    if given:
        return given
    root = os.environ.get("CLOUDTOWER_SHARED")
    d = Path(root) / "specs" if root else None
    if not d or not d.is_dir():
        return []

    def ver(p: Path) -> tuple:
        return tuple(int(x) for x in re.findall(r"\d+", p.stem))
    mine = tuple(int(x) for x in re.findall(r"\d+", str(contract.version)))
    return [str(p) for p in sorted(d.glob("cloudtower-*.json"), key=ver) if ver(p)[: len(mine)] < mine]


def compat_section(specs: list[str], contract, journal: list[dict]) -> list[str]:
    from mock_server.compat import CompatError, check_journal, load_doc
    if not specs:
        return ["- no older CloudTower spec given (--compat SPEC, or $CLOUDTOWER_SHARED/specs)"]
    lines = ["| CloudTower | operations missing | request fields missing | enum values missing |", "|---|---|---|---|"]
    for spec in specs:
        try:
            r = check_journal(load_doc(spec), contract.doc, {"entries": journal})
        except CompatError as e:
            lines.append(f"| {Path(spec).name} | error: {e} | | |")
            continue
        ops = ", ".join(f"`{m['operation']}` x{m['requests']}" for m in r["missing_operations"]) or "–"
        fields = ", ".join(f"`{m['operation']}`: `{m['field']}`" for m in r["missing_fields"][:12]) or "–"
        enums = ", ".join(f"`{m['operation']}`: {m['field']}={m['value']}" for m in r["missing_enum_values"][:8]) or "–"
        lines.append(f"| {r['old']} | {ops} | {fields} | {enums} |")
    return lines


def chaos_section(rec: Recorder, ch: Chaos, info: dict, rc: int, rate: float) -> list[str]:
    """Per disturbance: how many were injected and whether the client came through."""
    ex = rec.exchanges
    shed = [i for i, e in enumerate(ex) if e.injected == "503"]
    retried = sum(1 for i in shed if any(x.op == ex[i].op and x.request == ex[i].request and not x.injected
                                          and x.status < 500 for x in ex[i + 1:]))
    slow = [e for e in ex if e.injected == "latency"]
    slow_ok = sum(1 for e in slow if e.status and e.status < 500)
    failed = info["failed_tasks"]
    verdict = "succeeded" if rc == 0 else f"failed (exit status {rc})"
    return ["| disturbance | injected | survived | how it is judged |", "|---|---|---|---|",
            f"| 503 answer | {len(shed)} | {retried} | the same request re-sent later and answered |",
            f"| delayed answer (50-400 ms) | {len(slow)} | {slow_ok} | the client waited for the answer |",
            f"| failed task (p={min(1.0, rate):.2f}) | {len(failed)} seen | {len(failed)} | the client polled it and "
            f"saw FAILED |",
            f"| the whole run | – | {'yes' if rc == 0 else 'no'} | the command {verdict} |"]


def cmd_client(args) -> int:
    from mock_server.contract.loader import load_contract
    from .mockserver import InProcessMock
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("cloudtower-contract client: error: give the command after --", file=sys.stderr)
        return 2
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    try:
        contract = load_contract(args.spec)
    except Exception as e:
        print(f"cloudtower-contract client: error: cannot load the contract: {e}", file=sys.stderr)
        return 2
    holder: dict[str, Any] = {}

    def wrap(app):
        inner = app
        if args.chaos:
            holder["chaos"] = inner = Chaos(inner, rate=args.chaos_rate, seed=args.seed)
        holder["recorder"] = rec = Recorder(inner)
        return rec
    result = SuiteResult("client")
    try:
        mock = InProcessMock(contract=contract, task_speed=args.task_speed, strict=True, wrap=wrap, seed=None,
                             world=args.world, port=args.port)
    except OSError as e:
        print(f"cloudtower-contract client: error: cannot listen on port {args.port}: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        print(f"cloudtower-contract client: error: cannot start the mock: {e}", file=sys.stderr)
        return 2
    if args.chaos:
        tasks = mock.state.world().tasks
        if tasks is not None:
            tasks.add_failure_rule(probability=min(1.0, args.chaos_rate), seed=args.seed,
                                   error_message="injected by cloudtower-contract --chaos")
    env = dict(os.environ, CLOUDTOWER_ENDPOINT=mock.api, CLOUDTOWER_URL=mock.url, CLOUDTOWER_USERNAME=mock.username,
               CLOUDTOWER_PASSWORD=mock.password, CLOUDTOWER_SOURCE="LOCAL", CLOUDTOWER_MOCK_ADMIN=mock.url + "/_mock")
    log(f"cloudtower-contract client: mock at {mock.api} (world {args.world}, CloudTower {contract.version})"
        f"{' with chaos' if args.chaos else ''}; running: " + " ".join(cmd))
    try:
        rc = subprocess.run(cmd, env=env, timeout=args.timeout).returncode
    except FileNotFoundError:
        rc = 127
    except subprocess.TimeoutExpired:
        rc = 124
    finally:
        mock.stop()
    rec: Recorder = holder["recorder"]
    info = analyse(rec.exchanges, contract, result, strict_tasks=args.strict_tasks, base_url=mock.api)
    if rc != 0:
        result.fail("command", CLIENT_FAILED, f"`{' '.join(cmd)}` exited with status {rc}")
    total = len(contract.operations)
    used = sorted(info["used"])
    in_contract = [o for o in used if o in contract.operations]
    result.sections.append((f"Operations called ({len(in_contract)} of {total}, "
                            f"{100.0 * len(in_contract) / max(1, total):.1f}% of the contract)",
                            ["| operation | requests |", "|---|---|"] + [f"| `{o}` | {info['used'][o]} |" for o in used]))
    result.sections.append((f"Invalid requests ({len(info['invalid'])}; each a client bug)",
                            ["| operation | HTTP | field | reason |", "|---|---|---|---|"]
                            + [f"| `{o}` | {s} | `{f}` | {r.replace('|', '/')} |" for o, s, f, r, _ in info["invalid"]]
                            if info["invalid"] else ["- none"]))
    result.sections.append(("Operations older CloudTower versions lack",
                            compat_section(compat_specs(args.compat, contract), contract, info["journal"])))
    result.sections.append(("Tasks", [f"- {len(info['started'])} task(s) started, "
                                      f"{len(info['started']) - len(info['unawaited'])} awaited, "
                                      f"{len(info['unawaited'])} never polled"]
                            + [f"  - `{t}` from `{op}`" for t, op in sorted(info["unawaited"].items())]))
    if args.chaos:
        result.sections.append(("Chaos: disturbances survived",
                                chaos_section(rec, holder["chaos"], info, rc, args.chaos_rate)))
    result.note(f"{len(rec.exchanges)} request(s) recorded; command exit status {rc}")
    result.finish()
    for line in summary_lines([result]):
        print(line, flush=True)
    for title, lines in result.sections:
        print(f"  {title}")
        for line in lines:
            print(f"    {line}")
    paths = write_reports([result], args.report_dir,
                          [f"- client command: `{' '.join(cmd)}`", f"- mock: CloudTower {contract.version} "
                           f"({contract.source}), world {args.world}, strict validation{', chaos' if args.chaos else ''}"])
    print(f"  reports: {' '.join(map(str, paths))}", flush=True)
    return 1 if result.failures else 0
