#!/usr/bin/env python
"""Run query vectors (docs/query-vectors.json format) through the query engine.

    python tools/query_vectors.py FILE [FILE ...]

Each vector carries its own `schema` (type strings per model), an embedded `dataset`, the
request `args` and one expectation (`expected_ids`, `expected_count` or `expected_error` with
an optional `expected_error_code`). Prints every failure and ends with `N passed, M failed`;
exits 1 on any failure.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from mock_server.query.engine import count, find
from mock_server.query.model import (BOOLEAN, DATETIME, ENUM, FLOAT, ID, INT, JSON, STRING,
                                     DictSource, FieldDesc, ModelDesc, QueryError, QuerySchema,
                                     RelationDesc)

_TYPE_RE = re.compile(r"^\s*(?:(Relation)(\[\])?\(\s*(\w+)\s*\)|(Enum)\(([^)]*)\)|(\w+))\s*(\?)?\s*$")
_SCALARS = {"ID": ID, "String": STRING, "Int": INT, "Float": FLOAT, "Boolean": BOOLEAN,
            "DateTime": DATETIME, "Json": JSON, "JSON": JSON, "Long": INT}


def parse_type(name: str, spec: str):
    """A schema type string -> FieldDesc or RelationDesc."""
    m = _TYPE_RE.match(spec)
    if m is None:
        raise ValueError(f"unknown type {spec!r} for field {name!r}")
    rel, many, target, enum, values, scalar, optional = m.groups()
    nullable = optional is not None
    if rel:
        return RelationDesc(name, target, bool(many))
    if enum:
        return FieldDesc(name, ENUM, nullable, tuple(v.strip() for v in values.split("|") if v.strip()))
    if scalar not in _SCALARS:
        raise ValueError(f"unknown type {spec!r} for field {name!r}")
    return FieldDesc(name, _SCALARS[scalar], nullable)


def _is_record(v) -> bool:
    return isinstance(v, dict) and "id" in v


def _infer_field(name: str, values: list, model_name: str):
    """Guess a field's description from the values records carry (for models without schema)."""
    present = [v for v in values if v is not None]
    if present and all(_is_record(v) for v in present):
        return RelationDesc(name, name[:1].upper() + name[1:], False)
    if present and all(isinstance(v, list) and all(_is_record(x) for x in v) for v in present) \
            and any(v for v in present):
        return RelationDesc(name, name[:1].upper() + name[1:], True)
    kind = STRING
    if name == "id":
        kind = ID
    elif present and all(isinstance(v, bool) for v in present):
        kind = BOOLEAN
    elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        kind = INT
    elif present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        kind = FLOAT
    elif present and not all(isinstance(v, str) for v in present):
        kind = JSON
    return FieldDesc(name, kind, nullable=name != "id")


def build_schema(schema: dict, dataset: list, root: str) -> QuerySchema:
    """QuerySchema from a vector's `schema`, inferring models the schema doesn't describe."""
    models: dict[str, ModelDesc] = {}
    for mname, fields in schema.items():
        md = ModelDesc(mname)
        for fname, spec in fields.items():
            d = parse_type(fname, spec)
            (md.relations if isinstance(d, RelationDesc) else md.fields)[fname] = d
        if "id" not in md.fields:
            md.fields["id"] = FieldDesc("id", ID, nullable=False)
        models[mname] = md
    # records per model, to infer the models the schema leaves out
    pending = [(root, r) for r in dataset]
    samples: dict[str, list[dict]] = {}
    seen = set()
    while pending:
        mname, rec = pending.pop()
        if not isinstance(rec, dict) or (mname, id(rec)) in seen:
            continue
        seen.add((mname, id(rec)))
        samples.setdefault(mname, []).append(rec)
        md = models.get(mname)
        for k, v in rec.items():
            rd = md.relations.get(k) if md is not None else None
            if rd is None and md is None:
                guess = _infer_field(k, [v], mname)
                rd = guess if isinstance(guess, RelationDesc) else None
            if rd is None:
                continue
            for x in (v if isinstance(v, list) else [v]):
                if _is_record(x):
                    pending.append((rd.target, x))
    for mname, recs in samples.items():
        if mname in models:
            continue
        md = ModelDesc(mname)
        keys = sorted({k for r in recs for k in r})
        for k in keys:
            d = _infer_field(k, [r.get(k) for r in recs], mname)
            (md.relations if isinstance(d, RelationDesc) else md.fields)[k] = d
        md.fields.setdefault("id", FieldDesc("id", ID, nullable=False))
        models[mname] = md
    # relation targets never seen in the data still need a model
    for md in list(models.values()):
        for rd in md.relations.values():
            models.setdefault(rd.target, ModelDesc(rd.target, {"id": FieldDesc("id", ID, False)}))
    return QuerySchema(models)


def normalise(qs: QuerySchema, root: str, dataset: list) -> dict[str, list[dict]]:
    """Embedded records -> flat tables {model: [row]}: to-one relations as ids, to-many as id
    lists. The same related record may appear many times; its fields are merged."""
    tables: dict[str, dict[str, dict]] = {m: {} for m in qs.models}

    def add(mname: str, rec: dict) -> str:
        md = qs.models.get(mname) or ModelDesc(mname)
        rid = rec["id"]
        row = tables.setdefault(mname, {}).setdefault(rid, {"id": rid})
        for k, v in rec.items():
            rd = md.relations.get(k)
            if rd is None:
                if k not in row or row[k] is None:
                    row[k] = v
                continue
            if rd.many:
                ids = [add(rd.target, x) if isinstance(x, dict) else x for x in (v or [])]
                old = row.get(k) or []
                row[k] = old + [i for i in ids if i not in old]
            else:
                if isinstance(v, dict):
                    row[k] = add(rd.target, v)
                elif k not in row or row[k] is None:
                    row[k] = v
        return rid

    for rec in dataset:
        add(root, rec)
    # unset to-many relations are empty lists
    for mname, rows in tables.items():
        md = qs.models.get(mname)
        if md is None:
            continue
        for row in rows.values():
            for rd in md.relations.values():
                if rd.many and row.get(rd.name) is None:
                    row[rd.name] = []
    return {m: list(rows.values()) for m, rows in tables.items()}


def run_vector(vec: dict) -> tuple[bool, str]:
    """(passed, description of the mismatch)."""
    root = vec["model"]
    qs = build_schema(vec.get("schema") or {}, vec.get("dataset") or [], root)
    source = DictSource(normalise(qs, root, vec.get("dataset") or []))
    op = vec.get("op", "list")
    args = vec.get("args") or {}
    try:
        if op == "count":
            got: Any = count(qs, source, root, args)
        elif op == "list":
            got = [r["id"] for r in find(qs, source, root, args)]
        else:
            return False, f"unknown op {op!r}"
    except QueryError as e:
        if "expected_error" not in vec:
            return False, f"expected {_expectation(vec)}, got error {e.code}: {e.message}"
        want_code = vec.get("expected_error_code")
        if e.message != vec["expected_error"] or (want_code is not None and e.code != want_code):
            return False, (f"expected error {want_code}: {vec['expected_error']!r}, "
                           f"got error {e.code}: {e.message!r}")
        return True, ""
    except Exception as e:  # noqa: BLE001 - report engine crashes as failures
        return False, f"expected {_expectation(vec)}, got exception {type(e).__name__}: {e}"
    if "expected_error" in vec:
        return False, f"expected error {vec['expected_error']!r}, got {got!r}"
    if "expected_ids" in vec:
        ok = got == vec["expected_ids"] if op == "list" else False
    elif "expected_count" in vec:
        ok = got == vec["expected_count"]
    else:
        return False, "vector has no expectation"
    return (True, "") if ok else (False, f"expected {_expectation(vec)}, got {got!r}")


def _expectation(vec: dict) -> str:
    for k in ("expected_ids", "expected_count", "expected_error"):
        if k in vec:
            return repr(vec[k])
    return "?"


def run_vectors(vectors: list[dict]) -> tuple[int, list[str]]:
    """(passed, failure lines)."""
    passed = 0
    failures = []
    for i, vec in enumerate(vectors):
        ok, why = run_vector(vec)
        if ok:
            passed += 1
        else:
            failures.append(f"FAIL {vec.get('id', f'#{i}')} {vec.get('name', '')}: {why}")
    return passed, failures


def run_file(path: str) -> tuple[int, list[str]]:
    with open(path, encoding="utf-8") as fh:
        vectors = json.load(fh)
    if isinstance(vectors, dict):
        vectors = vectors.get("vectors", [])
    return run_vectors(vectors)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    passed = failed = 0
    for path in argv:
        try:
            p, failures = run_file(path)
        except OSError as e:
            print(f"query_vectors: cannot read {path}: {e.strerror or e}", file=sys.stderr)
            return 2
        except ValueError as e:            # not JSON, or not a list of vectors
            print(f"query_vectors: {path} is not a query-vectors document: {e}", file=sys.stderr)
            return 2
        passed += p
        failed += len(failures)
        for line in failures:
            print(line)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
