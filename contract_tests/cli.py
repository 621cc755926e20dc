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


SUITES = ("probe", "query", "schema", "stateful")
# shares of the time budget
SUITE_WEIGHT = {"probe": 4.0, "query": 1.5, "schema": 3.0, "stateful": 1.5}
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


def _port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"port must be within 0 .. 65535, got {n}")
    return n


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
    p.add_argument("--probe-parts", default="reads,auth,invalid,query,lifecycle",
                   help="probe suite: which probes (reads, auth, invalid, query, lifecycle)")
    p.add_argument("--expired-token", metavar="TOKEN",
                   help="a genuinely expired token of the target, for the auth probe (default: the login "
                        "token with its exp claim moved into the past)")
    p.add_argument("--task-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="a task not finished after this long is reported as never finishing (default 30)")
    p.add_argument("--stateful-examples", type=int, default=3, help="stateful suite: runs of the machine")
    p.add_argument("--stateful-steps", type=int, default=10, help="stateful suite: steps per run")
    p.add_argument("--time-budget", type=float, default=60.0, metavar="SECONDS",
                   help="overall time budget (default 60); suites stop when their share is spent, and "
                        "the run ends within 10%% of it")
    p.add_argument("--max-defects", type=int, default=0, metavar="N",
                   help="stop each suite once it found N defects (default 0: never)")
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
    run.add_argument("--suites", default=",".join(SUITES), help="comma-separated: probe,query,schema,stateful (default: all)")

    clean = sub.add_parser("cleanup", help="delete resources whose name starts with the prefix")
    _target_args(clean)
    _safety_args(clean)
    clean.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")

    drift = sub.add_parser("drift", help="the same read-only checks against two targets, side by side")
    _target_args(drift, other=True)
    _common(drift)

    from .client_check import ENV_HELP
    client = sub.add_parser("client", help="run a client command against the mock and report on it",
                            epilog=ENV_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    client.add_argument("--port", type=_port, default=0, help="the mock's port (default: a free one)")
    client.add_argument("--world", default="default", metavar="NAME|FILE",
                        help="the seeded world: default, large, xl or a scenario / recorded world file")
    client.add_argument("--spec", metavar="FILE", help="a CloudTower OpenAPI document (default: the installed SDK's)")
    client.add_argument("--compat", action="append", default=[], metavar="SPEC",
                        help="an older CloudTower OpenAPI document to check the client's calls against "
                             "(repeatable; default: the older specs in $CLOUDTOWER_SHARED/specs)")
    client.add_argument("--chaos", action="store_true", help="inject latency, 503 answers and failing tasks")
    client.add_argument("--chaos-rate", type=float, default=0.15, help="fraction of requests disturbed")
    client.add_argument("--seed", type=int, default=0)
    client.add_argument("--task-speed", type=float, default=10.0, help="task speed (0 = tasks end at once)")
    client.add_argument("--strict-tasks", action="store_true", help="fail when the client leaves a task un-awaited")
    client.add_argument("--timeout", type=float, default=600.0, help="command timeout (s)")
    client.add_argument("--report-dir", default="contract-report", metavar="DIR")
    client.add_argument("-q", "--quiet", action="store_true")
    client.add_argument("cmd", nargs=argparse.REMAINDER, help="-- command and its arguments")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv.insert(0, "run")
    started = time.monotonic()      # the time budget counts from here
    args = build_parser().parse_args(argv)
    args.started = started
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


def cmd_run(args) -> int:
    from .checks import Inspector
    from .render import write_reports
    from .report import summary_lines
    from .target import TargetError, load_target_contract, make_target
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        return _err(f"unknown suite(s): {', '.join(unknown)} (choose from {', '.join(SUITES)})")
    if args.time_budget <= 0:
        return _err("--time-budget must be positive")
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    t0 = args.started
    target = make_target(args)
    try:
        target.login()
    except TargetError as e:
        return _err(str(e))
    try:
        contract, where = load_target_contract(target, args.spec)
    except Exception as e:
        return _err(f"cannot load the contract: {e}")
    inspector = Inspector(contract)
    target.observers.append(inspector)
    mode = "mutations allowed" if target.safety.allow_mutations else "read-only"
    log(f"cloudtower-contract: target {target.api} ({'local' if target.local else 'remote'}, {mode})")
    log(f"  contract: {where}; {len(contract.operations)} operations; time budget {args.time_budget:.0f}s")
    results = []
    # suites share 90% of the budget less the reports and the exit; the rest absorbs the
    # last request, cleanup and reports
    deadline = t0 + args.time_budget * 0.9 - min(3.0, args.time_budget * 0.05)
    for i, name in enumerate(suites):
        remaining = deadline - time.monotonic()
        # each suite gets its weighted share of what is left; the last one gets all of it
        weights = [SUITE_WEIGHT[s] for s in suites[i:]]
        share = max(1.0, remaining * weights[0] / sum(weights))
        results.append(run_suite(name, target, contract, args, share, log, inspector))
    elapsed = time.monotonic() - t0
    for line in summary_lines(results):
        print(line, flush=True)
    header = [f"- target: `{target.api}` ({'local' if target.local else 'remote'}, {mode})",
              f"- contract: {where}",
              f"- suites {', '.join(suites)}; seed {args.seed}; time budget {args.time_budget:.0f}s, "
              f"used {elapsed:.1f}s; {target.requests_sent} requests"]
    paths = write_reports(results, args.report_dir, header, all_operations=sorted(contract.operations))
    print(f"  {elapsed:.1f}s (budget {args.time_budget:.0f}s); reports: {' '.join(map(str, paths))}", flush=True)
    return 1 if any(r.failures for r in results) else 0


def run_suite(name: str, target, contract, args, budget: float, log, inspector):
    from .report import HARNESS, SuiteResult
    try:
        suite = make_suite(name, target, contract, args, budget, log)
        suite.result.max_defects = max(0, args.max_defects)
        inspector.bind(suite.result)
        return suite.run()
    except Exception as e:     # a crash of one suite is reported, the others still run
        import traceback
        r = SuiteResult(name)
        r.fail(name, HARNESS, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}")
        return r.finish()
    finally:
        inspector.bind(None)


def make_suite(name: str, target, contract, args, budget: float, log):
    if name == "schema":
        from .schema_suite import SchemaSuite
        return SchemaSuite(target, contract, seed=args.seed, max_examples=args.max_examples,
                           max_operations=args.max_operations or None, time_budget=budget, log=log)
    if name == "query":
        from .query_suite import QuerySuite
        res = tuple(r.strip() for r in args.query_resources.split(",") if r.strip())
        return QuerySuite(target, contract, seed=args.seed, examples=args.query_examples, resources=res,
                          time_budget=budget, log=log)
    if name == "probe":
        from .probes import ProbeSuite
        res = tuple(r.strip() for r in args.query_resources.split(",") if r.strip())
        parts = tuple(x.strip() for x in args.probe_parts.split(",") if x.strip())
        return ProbeSuite(target, contract, seed=args.seed, resources=res, time_budget=budget, log=log,
                          expired=args.expired_token, parts=parts, task_timeout=args.task_timeout)
    if name == "stateful":
        from .stateful import StatefulSuite
        return StatefulSuite(target, contract, seed=args.seed, examples=args.stateful_examples,
                             steps=args.stateful_steps, time_budget=budget, log=log)
    raise ValueError(name)


def cmd_cleanup(args) -> int:
    from .cleanup import cleanup
    from .target import SafetyError, TargetError, make_target
    target = make_target(args)
    if not args.dry_run and not target.safety.allow_mutations:
        return _err("cleanup deletes resources: give --allow-mutations for a non-local target (or --dry-run)")
    try:
        target.login()
        listed = cleanup(target, args.prefix, dry_run=True, log=print)
        print(f"cloudtower-contract cleanup: {len(listed)} resource(s) named {args.prefix}*"
              f"{' (dry run: nothing deleted)' if args.dry_run else ', to delete in this order:'}")
        for res, rid, name in listed:
            print(f"  {res} {name} ({rid})")
        if args.dry_run or not listed:
            return 0
        deleted = cleanup(target, args.prefix, log=print)
    except (TargetError, SafetyError) as e:
        return _err(str(e))
    left = cleanup(target, args.prefix, dry_run=True, log=lambda s: None)
    print(f"cloudtower-contract cleanup: deleted {len(deleted)}; {len(left)} left")
    for res, rid, name in left:
        print(f"  left: {res} {name} ({rid})")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
