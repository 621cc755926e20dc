"""`cloudtower-contract`: contract tests against a CloudTower API target (the mock or a real tower).

  cloudtower-contract [run] --base-url URL (--username U --password P [--source S] | --token T) ...
  cloudtower-contract cleanup --base-url URL ... --prefix ctm-
  cloudtower-contract drift --base-url A --other-url B ...
  cloudtower-contract client [--chaos] -- <command...>
"""

from __future__ import annotations

import argparse
import sys
import time

SUITES = ("schema", "query", "stateful")
COMMANDS = ("run", "cleanup", "drift", "client")


def _target_args(p: argparse.ArgumentParser, other: bool = False) -> None:
    p.add_argument("--base-url", required=True, metavar="URL",
                   help="the target: http://host:port or http://host:port/v2/api")
    p.add_argument("--username", "-u")
    p.add_argument("--password", "-p")
    p.add_argument("--source", default="LOCAL", help="login source (LOCAL, LDAP, AUTHN)")
    p.add_argument("--token", help="an API token instead of username/password")
    if other:
        p.add_argument("--other-url", required=True, metavar="URL", help="the second target")
        p.add_argument("--other-username")
        p.add_argument("--other-password")
        p.add_argument("--other-source", default=None)
        p.add_argument("--other-token")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (s)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", metavar="FILE",
                   help="the OpenAPI document to test against (default: the target's "
                        "/v2/api/openapi.json, else the project's derived contract)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-examples", type=int, default=5, help="schema suite: examples per operation and mode")
    p.add_argument("--max-operations", type=int, default=60,
                   help="schema suite: operations sampled (0 = every operation in scope)")
    p.add_argument("--query-examples", type=int, default=25, help="query suite: bodies per resource")
    p.add_argument("--query-resources", default="Vm,Cluster,Host,VmDisk,Label,Task")
    p.add_argument("--stateful-examples", type=int, default=2, help="stateful suite: runs of the machine")
    p.add_argument("--stateful-steps", type=int, default=6, help="stateful suite: steps per run")
    p.add_argument("--time-budget", type=float, default=300.0, metavar="SECONDS",
                   help="overall time budget; suites stop generating when it is spent")
    p.add_argument("--report-dir", default="contract-report", metavar="DIR")
    p.add_argument("-q", "--quiet", action="store_true")


def _safety_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-mutations", action="store_true",
                   help="allow mutating operations against a non-local target")
    p.add_argument("--read-only", action="store_true", help="never mutate, even a local target")
    p.add_argument("--prefix", default="ctm-", help="every name the harness creates starts with this")
    p.add_argument("--max-created", type=int, default=10, help="budget of resources the harness may create")
    p.add_argument("--protect", action="append", default=[], metavar="NAME_REGEX",
                   help="never touch resources whose name matches (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudtower-contract", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suites against a target")
    _target_args(run)
    _common(run)
    _safety_args(run)
    run.add_argument("--suites", default=",".join(SUITES), help="comma-separated: schema,query,stateful")

    clean = sub.add_parser("cleanup", help="delete resources whose name starts with the prefix")
    _target_args(clean)
    _safety_args(clean)

    drift = sub.add_parser("drift", help="the same read-only checks against two targets, side by side")
    _target_args(drift, other=True)
    _common(drift)

    client = sub.add_parser("client", help="run a client command against the mock and report on it")
    client.add_argument("--chaos", action="store_true", help="inject latency, 503 answers and failing tasks")
    client.add_argument("--chaos-rate", type=float, default=0.15, help="fraction of requests disturbed")
    client.add_argument("--seed", type=int, default=0)
    client.add_argument("--task-speed", type=float, default=10.0)
    client.add_argument("--spec", metavar="FILE")
    client.add_argument("--timeout", type=float, default=600.0, help="command timeout (s)")
    client.add_argument("--report-dir", default="contract-report", metavar="DIR")
    client.add_argument("-q", "--quiet", action="store_true")
    client.add_argument("cmd", nargs=argparse.REMAINDER, help="-- command and its arguments")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv.insert(0, "run")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "cleanup":
            return cmd_cleanup(args)
        if args.command == "drift":
            from .drift import cmd_drift
            return cmd_drift(args)
        if args.command == "client":
            from .client_check import cmd_client
            return cmd_client(args)
    except KeyboardInterrupt:
        print("cloudtower-contract: interrupted", file=sys.stderr)
        return 130
    return 2


def _err(msg: str) -> int:
    print(f"cloudtower-contract: error: {msg}", file=sys.stderr)
    return 2


def make_target(args, url: str | None = None, username=None, password=None, source=None, token=None,
                label: str | None = None):
    from .target import Safety, Target, is_local_host, split_base_url
    from urllib.parse import urlsplit
    url = url or args.base_url
    local = is_local_host(urlsplit(split_base_url(url)[0]).hostname)
    allow = bool(getattr(args, "allow_mutations", False)) or local
    if getattr(args, "read_only", False):
        allow = False
    safety = Safety(allow_mutations=allow, prefix=getattr(args, "prefix", "ctm-"),
                    max_created=getattr(args, "max_created", 10), protect=list(getattr(args, "protect", []) or []))
    return Target(url, token=token if token is not None else args.token,
                  username=username if username is not None else args.username,
                  password=password if password is not None else args.password,
                  source=source if source is not None else args.source,
                  timeout=args.timeout, safety=safety, label=label)


def cmd_run(args) -> int:
    from .report import SuiteResult, summary_lines, write_reports
    from .target import TargetError, load_target_contract
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        return _err(f"unknown suite(s): {', '.join(unknown)} (choose from {', '.join(SUITES)})")
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    target = make_target(args)
    try:
        target.login()
    except TargetError as e:
        return _err(str(e))
    try:
        contract, where = load_target_contract(target, args.spec)
    except Exception as e:
        return _err(f"cannot load the contract: {e}")
    mode = "mutations allowed" if target.safety.allow_mutations else "read-only"
    log(f"cloudtower-contract: target {target.api} ({'local' if target.local else 'remote'}, {mode})")
    log(f"  contract: {where}; {len(contract.operations)} operations")
    t0 = time.monotonic()
    deadline = t0 + args.time_budget
    results: list[SuiteResult] = []
    for i, name in enumerate(suites):
        remaining = max(5.0, deadline - time.monotonic())
        share = remaining / (len(suites) - i)
        results.append(run_suite(name, target, contract, args, share, log))
    for line in summary_lines(results):
        print(line, flush=True)
    header = [f"- target: `{target.api}` ({'local' if target.local else 'remote'}, {mode})",
              f"- contract: {where}",
              f"- seed {args.seed}, max examples {args.max_examples}, time budget {args.time_budget:.0f}s, "
              f"{target.requests_sent} requests, {time.monotonic() - t0:.1f}s"]
    junit, md = write_reports(results, args.report_dir, header)
    print(f"  reports: {junit} {md}", flush=True)
    return 1 if any(r.failures for r in results) else 0


def run_suite(name: str, target, contract, args, budget: float, log):
    from .report import HARNESS, SuiteResult
    try:
        if name == "schema":
            from .schema_suite import SchemaSuite
            return SchemaSuite(target, contract, seed=args.seed, max_examples=args.max_examples,
                               max_operations=args.max_operations or None, time_budget=budget, log=log).run()
        if name == "query":
            from .query_suite import QuerySuite
            res = tuple(r.strip() for r in args.query_resources.split(",") if r.strip())
            return QuerySuite(target, contract, seed=args.seed, examples=args.query_examples, resources=res,
                              time_budget=budget, log=log).run()
        if name == "stateful":
            from .stateful import StatefulSuite
            return StatefulSuite(target, contract, seed=args.seed, examples=args.stateful_examples,
                                 steps=args.stateful_steps, time_budget=budget, log=log).run()
    except Exception as e:     # a crash of one suite is reported, the others still run
        r = SuiteResult(name)
        r.fail(name, HARNESS, f"{type(e).__name__}: {e}")
        return r.finish()
    raise ValueError(name)


def cmd_cleanup(args) -> int:
    from .target import SafetyError, TargetError, cleanup
    target = make_target(args)
    if not target.safety.allow_mutations:
        return _err("cleanup deletes resources: give --allow-mutations for a non-local target")
    try:
        target.login()
        deleted = cleanup(target, args.prefix)
    except (TargetError, SafetyError) as e:
        return _err(str(e))
    print(f"cloudtower-contract cleanup: deleted {len(deleted)} resource(s) named {args.prefix}*")
    for res, rid, name in deleted:
        print(f"  {res} {name} ({rid})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
