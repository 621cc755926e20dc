"""`cloudtower-contract drift --base-url A --other-url B`: the same read-only checks against two
targets, their answers side by side with the differing fields highlighted.

* shapes: for each list resource (the query resources plus a seeded sample), one record of
  each target, field by field (the JSON type of each value; nested objects flattened): a
  field only one side has, or of another type, is drift;
* errors: the same bad requests (unknown where key, wrong type, first+last, negative skip,
  unknown orderBy, no token, bogus token, unknown operation) sent to both: the status (or
  "transport error" when no answer came) and the ErrorBody fields side by side;
* semantics: each target's query answers against the project's query engine on its own data
  (the query suite, same seed); a defect on one target and not on the other is drift.
Both targets are used read-only. In the reports, differing fields are marked ~~A~~ / ++B++
(struck / underlined in HTML) and the row is flagged **≠**.
"""

from __future__ import annotations

import random
import time
from typing import Any

from .render import write_reports
from .report import DRIFT, SuiteResult, summary_lines

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


def type_of(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def flatten(v: Any, prefix: str = "") -> dict[str, Any]:
    """field path -> value; objects are walked, arrays by their first item (`field[]`)."""
    out: dict[str, Any] = {}
    if isinstance(v, dict):
        for k, x in v.items():
            p = f"{prefix}.{k}" if prefix else k
            out[p] = x
            if isinstance(x, dict):
                out.update(flatten(x, p))
            elif isinstance(x, list) and x and isinstance(x[0], dict):
                out.update(flatten(x[0], p + "[]"))
    return out


def _cell(v: Any, limit: int = 60) -> str:
    import json
    s = json.dumps(v, ensure_ascii=False, default=str) if not isinstance(v, str) else repr(v)
    s = s.replace("|", "\\|").replace("\n", " ")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def side_by_side(a: dict | None, b: dict | None, compare=type_of) -> tuple[list[str], list[str]]:
    """(table lines, differing fields) of two answers, field by field; a field differs when
    one side lacks it or compare(value) differs. Differing rows are marked."""
    fa, fb = flatten(a or {}), flatten(b or {})
    lines = ["| field | A | B |", "|---|---|---|"]
    diff = []
    for f in sorted(set(fa) | set(fb)):
        in_a, in_b = f in fa, f in fb
        va = f"{_cell(fa[f])} ({type_of(fa[f])})" if in_a else "(absent)"
        vb = f"{_cell(fb[f])} ({type_of(fb[f])})" if in_b else "(absent)"
        differs = in_a != in_b or (in_a and in_b and compare(fa[f]) != compare(fb[f])
                                   and None not in (fa[f], fb[f]))
        if differs:
            diff.append(f)
            lines.append(f"| **≠ `{f}`** | ~~{va}~~ | ++{vb}++ |")
        else:
            lines.append(f"| `{f}` | {va} | {vb} |")
    return lines, diff


def answer(target, op: str, body, auth) -> tuple[str, Any]:
    """(status text, JSON body) of one probe: 'HTTP 404' or 'transport error: ...'."""
    from .target import TargetError
    headers = {}
    if auth is False:
        use_auth = False
    elif isinstance(auth, str):
        use_auth, headers = False, {"Authorization": auth}
    else:
        use_auth = True
    try:
        r = target.post(op, body, auth=use_auth, headers=headers)
    except TargetError as e:
        return f"transport error: {str(e)[:80]}", None
    try:
        j = r.json()
    except ValueError:
        j = {"(body is not JSON)": r.text[:80]}
    return f"HTTP {r.status_code}", j


def shapes(a, b, contract, models: list[str], res: SuiteResult) -> list[str]:
    from .target import TargetError
    out: list[str] = []
    for model in models:
        op = contract.resources[model].list_path
        res.check(op)
        got = {}
        for t in (a, b):
            try:
                got[t.label] = t.call(op, {"first": 1})
            except TargetError as e:
                got[t.label] = f"HTTP {e.status}" if e.status is not None else "transport error"
        if any(isinstance(v, str) for v in got.values()):
            if got["A"] != got["B"]:
                res.fail(op, DRIFT, f"A answers {got['A'] if isinstance(got['A'], str) else 'HTTP 200'}, "
                                    f"B answers {got['B'] if isinstance(got['B'], str) else 'HTTP 200'}")
            continue
        if not got["A"] or not got["B"]:
            continue
        lines, diff = side_by_side(got["A"][0], got["B"][0])
        if diff:
            res.fail(op, DRIFT, f"record fields differ: {', '.join(diff[:10])}", b.last)
            out += [f"**`{op}`** (first record of each)", ""] + [ln for ln in lines if "≠" in ln or ln.startswith("|-")
                                                                 or ln.startswith("| field")] + [""]
    return out or ["No differences in the field sets and types of the records."]


def errors(a, b, res: SuiteResult) -> list[str]:
    out = ["| request | operation | A | B |", "|---|---|---|---|"]
    details: list[str] = []
    for label, op, body, auth in BAD_REQUESTS:
        res.check("/" + op)
        sa, ja = answer(a, op, body, auth)
        sb, jb = answer(b, op, body, auth)
        lines, diff = side_by_side(ja if isinstance(ja, dict) else {"(answer)": ja},
                                   jb if isinstance(jb, dict) else {"(answer)": jb},
                                   compare=lambda v: v if not isinstance(v, str) else "string")
        same = sa == sb and not diff
        if same:
            out.append(f"| {label} | `/{op}` | {sa} | {sb} |")
            continue
        out.append(f"| **≠ {label}** | `/{op}` | ~~{sa}~~ | ++{sb}++ |")
        why = f"A answers {sa}, B answers {sb}" if sa != sb else f"error bodies differ in {', '.join(diff)}"
        res.fail("/" + op, DRIFT, f"{label}: {why}", b.last)
        details += [f"**{label}** (`/{op}`): A {sa}, B {sb}", ""] + lines + [""]
    return out + ([""] + details if details else [])


def cmd_drift(args) -> int:
    from .query_suite import QuerySuite
    from .target import TargetError, load_target_contract, make_target
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
    rng = random.Random(args.seed)
    listable = sorted(r for r, d in contract.resources.items() if d.list_path)
    qres = [r.strip() for r in args.query_resources.split(",") if r.strip()]
    sample = [r for r in qres if r in contract.resources] + rng.sample(
        [r for r in listable if r not in qres], min(max(0, args.max_operations // 3), len(listable)))
    res.sections.append(("Shapes: one record of each side, field by field", shapes(a, b, contract, sample, res)))
    res.sections.append(("Errors for the same bad requests", errors(a, b, res)))
    from .checks import Inspector
    sem = {}
    for t in (a, b):
        inspector = Inspector(contract)
        t.observers.append(inspector)
        q = QuerySuite(t, contract, seed=args.seed, examples=args.query_examples, resources=tuple(qres),
                       time_budget=max(5.0, (args.time_budget - (time.monotonic() - t0)) / 2), log=log,
                       name=f"query {t.label}")
        inspector.bind(q.result)
        sem[t.label] = q.run()
        inspector.bind(None)
    keys = {lab: {(f.operation, f.kind) for f in r.failures} for lab, r in sem.items()}
    sem_lines = ["| operation | defect | A | B |", "|---|---|---|---|"]
    for op, kind in sorted(keys["A"] | keys["B"]):
        in_a, in_b = (op, kind) in keys["A"], (op, kind) in keys["B"]
        mark = "**≠** " if in_a != in_b else ""
        sem_lines.append(f"| {mark}`{op}` | {kind} | {'yes' if in_a else 'no'} | {'yes' if in_b else 'no'} |")
        if in_a != in_b:
            res.fail(op, DRIFT, f"semantics: '{kind}' on {'A' if in_a else 'B'} only")
    res.sections.append(("Semantics (query answers vs the model, each on its own data)",
                         sem_lines if len(sem_lines) > 2 else ["Both targets agree with the model."]))
    res.finish()
    res.duration = time.monotonic() - t0
    results = [res] + list(sem.values())
    for line in summary_lines(results):
        print(line, flush=True)
    paths = write_reports(results, args.report_dir, [f"- A: `{a.api}`", f"- B: `{b.api}`", f"- contract: {where}"])
    print(f"  reports: {' '.join(map(str, paths))}", flush=True)
    return 1 if any(r.failures for r in results) else 0
