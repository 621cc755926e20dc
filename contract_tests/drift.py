"""`cloudtower-contract drift --base-url A --other-url B`: the same read-only checks against two
targets, differences listed side by side.

* shapes: for each list resource (a seeded sample plus the query resources), the field set
  of the records each target returns, and the field sets of their nested objects;
* errors: the same bad requests (unknown where key, wrong type, first+last, negative skip,
  unknown orderBy, no token, bogus token, unknown operation) sent to both: status codes and
  ErrorBody keys;
* semantics: each target's query answers against the project's query engine on its own data
  (the query suite, same seed); a defect on one target and not on the other is drift.
Both targets are used read-only.
"""

from __future__ import annotations

import random
import time

from .report import DRIFT, SuiteResult, summary_lines, write_reports

BAD_REQUESTS = (
    ("unknown where key", "get-vms", {"where": {"no_such_field_xyz": 1}}, True),
    ("wrong value type", "get-vms", {"where": {"vcpu": "not-a-number"}}, True),
    ("first and last together", "get-vms", {"first": 1, "last": 1}, True),
    ("negative skip", "get-vms", {"skip": -1}, True),
    ("unknown orderBy", "get-vms", {"orderBy": "no_such_ASC"}, True),
    ("unknown top-level key", "get-clusters", {"colour": "blue"}, True),
    ("to-many filtered by null", "get-vms", {"where": {"vm_disks_some": None}}, True),
    ("unknown cursor", "get-vms", {"after": "cnosuchcursor00000000000000", "first": 1}, True),
    ("no token", "get-vms", {}, False),
    ("bogus token", "get-clusters", {}, "Bearer not-a-token"),
    ("unknown operation", "get-unicorns", {}, True),
)


def _shape(records: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"": set()}
    for r in records:
        out[""].update(r)
        for k, v in r.items():
            items = v if isinstance(v, list) else [v]
            for it in items:
                if isinstance(it, dict):
                    out.setdefault(k, set()).update(it)
    return out


def _probe(target, op: str, body, auth) -> tuple[int, str]:
    headers = {}
    if auth is False:
        use_auth = False
    elif isinstance(auth, str):
        use_auth, headers = False, {"Authorization": auth}
    else:
        use_auth = True
    try:
        r = target.post(op, body, auth=use_auth, headers=headers)
    except Exception as e:
        return -1, type(e).__name__
    keys = ""
    try:
        j = r.json()
        if isinstance(j, dict):
            keys = ",".join(sorted(j))
        elif isinstance(j, list):
            keys = f"[{len(j)}]"
    except ValueError:
        keys = "(not JSON)"
    return r.status_code, keys


def cmd_drift(args) -> int:
    from .cli import make_target
    from .query_suite import QuerySuite
    from .target import TargetError, load_target_contract
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    a = make_target(args, label="A")
    b = make_target(args, url=args.other_url, username=args.other_username or args.username,
                    password=args.other_password or args.password, source=args.other_source or args.source,
                    token=args.other_token if args.other_token is not None else args.token, label="B")
    for t in (a, b):
        t.safety.allow_mutations = False            # drift is read-only, whatever the target
        try:
            t.login()
        except TargetError as e:
            print(f"cloudtower-contract drift: error: {t.root}: {e}")
            return 2
    contract, where = load_target_contract(a, args.spec)
    res = SuiteResult("drift")
    t0 = time.monotonic()
    log(f"cloudtower-contract drift: A = {a.api}, B = {b.api}; contract: {where}")

    # ---- shapes
    rng = random.Random(args.seed)
    listable = sorted(r for r, d in contract.resources.items() if d.list_path)
    qres = [r.strip() for r in args.query_resources.split(",") if r.strip()]
    sample = [r for r in qres if r in contract.resources] + rng.sample(
        [r for r in listable if r not in qres], min(max(0, args.max_operations // 3), len(listable)))
    shape_lines = ["| operation | object | only in A | only in B |", "|---|---|---|---|"]
    for model in sample:
        op = contract.resources[model].list_path
        res.check(op)
        try:
            ra, rb = a.call(op, {"first": 5}), b.call(op, {"first": 5})
        except TargetError as e:
            res.fail(op, DRIFT, f"listing failed on one side: {e}")
            shape_lines.append(f"| `{op}` | – | {_esc(str(e)[:120])} | |")
            continue
        if not ra or not rb:
            continue
        sa, sb = _shape(ra), _shape(rb)
        for obj in sorted(set(sa) | set(sb)):
            only_a, only_b = sorted(sa.get(obj, set()) - sb.get(obj, set())), sorted(sb.get(obj, set()) - sa.get(obj, set()))
            if (only_a or only_b) and obj in sa and obj in sb:
                res.fail(op, DRIFT, f"field sets differ{' in ' + obj if obj else ''}: only A {only_a[:8]}, "
                                    f"only B {only_b[:8]}")
                shape_lines.append(f"| `{op}` | {obj or '(record)'} | {', '.join(only_a) or '–'} | "
                                   f"{', '.join(only_b) or '–'} |")
    res.sections.append(("Shapes (field sets)", shape_lines if len(shape_lines) > 2 else ["No differences."]))

    # ---- errors
    err_lines = ["| request | operation | A status | B status | A body keys | B body keys |",
                 "|---|---|---|---|---|---|"]
    for label, op, body, auth in BAD_REQUESTS:
        res.check("/" + op)
        sa, ka = _probe(a, op, body, auth)
        sb, kb = _probe(b, op, body, auth)
        mark = "" if (sa, ka) == (sb, kb) else " **≠**"
        err_lines.append(f"| {label}{mark} | `/{op}` | {sa} | {sb} | {ka} | {kb} |")
        if sa != sb:
            res.fail("/" + op, DRIFT, f"{label}: A answers {sa}, B answers {sb}")
        elif ka != kb:
            res.fail("/" + op, DRIFT, f"{label}: error bodies differ: A {{{ka}}}, B {{{kb}}}")
    res.sections.append(("Errors for the same bad requests", err_lines))

    # ---- semantics
    sem = {}
    for t in (a, b):
        q = QuerySuite(t, contract, seed=args.seed, examples=args.query_examples, resources=tuple(qres),
                       time_budget=max(10.0, args.time_budget / 3), log=log, name=f"query {t.label}")
        sem[t.label] = q.run()
    keys = {lab: {(f.operation, f.kind) for f in r.failures} for lab, r in sem.items()}
    sem_lines = ["| operation | defect | A | B |", "|---|---|---|---|"]
    for op, kind in sorted(keys["A"] | keys["B"]):
        in_a, in_b = (op, kind) in keys["A"], (op, kind) in keys["B"]
        sem_lines.append(f"| `{op}` | {kind} | {'yes' if in_a else 'no'} | {'yes' if in_b else 'no'} |")
        if in_a != in_b:
            res.fail(op, DRIFT, f"semantics: '{kind}' on {'A' if in_a else 'B'} only")
    for lab, r in sem.items():
        res.checks += r.checks
        for f in r.failures[:10]:
            sem_lines.append(f"| `{f.operation}` | {lab}: {f.kind} | {_esc(f.message[:200])} | |")
    res.sections.append(("Semantics (query answers vs the model, each on its own data)",
                         sem_lines if len(sem_lines) > 2 else ["Both targets agree with the model."]))
    res.finish()
    res.duration = time.monotonic() - t0
    results = [res] + list(sem.values())
    for line in summary_lines(results):
        print(line, flush=True)
    junit, md = write_reports(results, args.report_dir, [f"- A: `{a.api}`", f"- B: `{b.api}`",
                                                         f"- contract: {where}"])
    print(f"  reports: {junit} {md}", flush=True)
    return 1 if any(r.failures for r in results) else 0


def _esc(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")
