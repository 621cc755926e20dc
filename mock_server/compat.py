"""The version matrix: what a client uses that an older CloudTower lacks.

`cloudtower-mock compat --old SPEC_OR_SDK --new SPEC_OR_SDK [--journal FILE] [--json]`

* With a journal (the JSON of `GET /_mock/journal?full=1`, which holds request bodies),
  every recorded request is checked against the *old* contract: operations it does not
  have, request-body keys (including `where` filter keys, at any depth) its schemas do not
  declare, and enum values they do not list. Exit status 1 when something is missing.
* Without a journal: the contract diff summary (operations added/removed, per schema the
  properties and enum values added/removed).

SPEC_OR_SDK: an OpenAPI JSON file, `sdk` (the installed cloudtower-sdk), or `sdk:DIR` / a
directory (a cloudtower-sdk package directory).
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from .contract.loader import ContractError, read_spec


class CompatError(Exception):
    pass


def load_doc(arg: str) -> dict:
    """An OpenAPI document from a spec file or an SDK."""
    if arg == "sdk" or arg.startswith("sdk:") or Path(arg).is_dir():
        from .contract.sdk_derive import load_sdk_contract
        pkg = arg[4:] if arg.startswith("sdk:") else (None if arg == "sdk" else arg)
        try:
            return load_sdk_contract(package_dir=pkg or None)
        except Exception as e:  # noqa: BLE001 - report any derivation problem plainly
            raise CompatError(f"cannot derive the contract from SDK {pkg or '(installed)'}: {e}") from e
    path = Path(arg)
    try:
        return _read_spec(str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0)
    except ContractError as e:
        raise CompatError(str(e)) from e


@lru_cache(maxsize=8)
def _read_spec(path: str, _mtime: int) -> dict:
    return read_spec(path)


def version_of(doc: dict) -> str:
    return str(doc.get("info", {}).get("version", "?"))


class Schemas:
    """Just enough schema walking: $ref, allOf, oneOf/anyOf (union), items, enum."""

    def __init__(self, doc: dict):
        self.doc = doc
        self.schemas = doc.get("components", {}).get("schemas", {})

    def deref(self, s: Any, depth: int = 0) -> dict:
        while isinstance(s, dict) and "$ref" in s and depth < 50:
            s = self.schemas.get(s["$ref"].rsplit("/", 1)[-1], {})
            depth += 1
        return s if isinstance(s, dict) else {}

    def variants(self, s: Any, depth: int = 0) -> list[dict]:
        s = self.deref(s)
        if depth > 20:
            return [s]
        out = [s]
        for key in ("allOf", "oneOf", "anyOf"):
            for sub in s.get(key, []) or []:
                out.extend(self.variants(sub, depth + 1))
        return out

    def properties(self, s: Any) -> dict[str, Any] | None:
        """Declared properties (None when the schema does not constrain keys)."""
        props: dict[str, Any] = {}
        constrained = False
        for v in self.variants(s):
            if "properties" in v:
                constrained = True
                props.update(v["properties"])
            if v.get("additionalProperties") not in (None, False) and "properties" not in v:
                return None
        return props if constrained else None

    def items(self, s: Any) -> Any:
        for v in self.variants(s):
            if "items" in v:
                return v["items"]
        return None

    def enum(self, s: Any) -> set | None:
        vals: set | None = None
        for v in self.variants(s):
            if "enum" in v:
                vals = (vals or set()) | {x for x in v["enum"]}
        return vals


def request_schema(doc: dict, op: str) -> tuple[dict | None, list]:
    item = doc.get("paths", {}).get("/" + op)
    if item is None:
        return None, []
    for method in ("post", "get", "put", "delete", "patch"):
        o = item.get(method)
        if o is None:
            continue
        content = (o.get("requestBody") or {}).get("content", {})
        schema = None
        for ctype, c in content.items():
            schema = c.get("schema")
            break
        return schema, o.get("parameters", [])
    return None, []


def walk(sch: Schemas, schema: Any, value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Yield ("field", path, None) / ("enum", path, value) for what `schema` lacks."""
    if schema is None:
        return
    if isinstance(value, dict):
        props = sch.properties(schema)
        if props is None:
            return
        for key, v in value.items():
            p = f"{path}.{key}" if path else key
            if key not in props:
                yield "field", p, None
                continue
            yield from walk(sch, props[key], v, p)
    elif isinstance(value, list):
        item = sch.items(schema)
        for v in value:
            yield from walk(sch, item, v, path + "[]")
    elif isinstance(value, str):
        enum = sch.enum(schema)
        if enum and value not in enum:
            yield "enum", path, value


def _entries(journal: Any) -> list[dict]:
    if isinstance(journal, dict):
        journal = journal.get("entries")
    if not isinstance(journal, list):
        raise CompatError("the journal must be the JSON of GET /_mock/journal?full=1 (an object with 'entries')")
    return [e for e in journal if isinstance(e, dict) and isinstance(e.get("operation"), str)]


def check_journal(old: dict, new: dict, journal: Any) -> dict:
    entries = _entries(journal)
    sch = Schemas(old)
    ops: Counter = Counter()
    fields: Counter = Counter()
    enums: Counter = Counter()
    used: Counter = Counter()
    without_body = 0
    for e in entries:
        op = e["operation"]
        if op == "graphql":
            continue
        used[op] += 1
        if "/" + op not in old.get("paths", {}):
            ops[op] += 1
            continue
        schema, params = request_schema(old, op)
        if "body" not in e and e.get("method", "POST") != "GET":
            without_body += 1
        body = e.get("body")
        if body is not None:
            for kind, path, value in walk(sch, schema, body):
                if kind == "field":
                    fields[(op, path)] += 1
                else:
                    enums[(op, path, value)] += 1
        q = e.get("query")
        if isinstance(q, str) and q:
            names = {p.get("name") for p in params if isinstance(p, dict) and p.get("in") == "query"}
            for part in q.split("&"):
                key = part.split("=", 1)[0]
                if key and key not in names:
                    fields[(op, "?" + key)] += 1
    new_paths = new.get("paths", {})
    return {
        "old": version_of(old), "new": version_of(new), "requests": len(entries),
        "operations_used": len(used), "requests_without_body": without_body,
        "missing_operations": [{"operation": op, "requests": n, "in_new": "/" + op in new_paths}
                               for op, n in sorted(ops.items())],
        "missing_fields": [{"operation": op, "field": p, "where": p.startswith("where") or ".where" in p,
                            "requests": n} for (op, p), n in sorted(fields.items())],
        "missing_enum_values": [{"operation": op, "field": p, "value": v, "requests": n}
                                for (op, p, v), n in sorted(enums.items())],
        "compatible": not (ops or fields or enums),
    }


def diff(old: dict, new: dict) -> dict:
    po, pn = set(old.get("paths", {})), set(new.get("paths", {}))
    so = old.get("components", {}).get("schemas", {})
    sn = new.get("components", {}).get("schemas", {})
    props_added, props_removed, enum_added, enum_removed = {}, {}, {}, {}
    for name in sorted(set(so) & set(sn)):
        a, b = so[name], sn[name]
        pa, pb = set(a.get("properties", {})), set(b.get("properties", {}))
        if pb - pa:
            props_added[name] = sorted(pb - pa)
        if pa - pb:
            props_removed[name] = sorted(pa - pb)
        ea, eb = a.get("enum"), b.get("enum")
        if ea is not None and eb is not None:
            if set(eb) - set(ea):
                enum_added[name] = sorted(map(str, set(eb) - set(ea)))
            if set(ea) - set(eb):
                enum_removed[name] = sorted(map(str, set(ea) - set(eb)))
    return {
        "old": version_of(old), "new": version_of(new),
        "operations_added": sorted(p.lstrip("/") for p in pn - po),
        "operations_removed": sorted(p.lstrip("/") for p in po - pn),
        "schemas_added": sorted(set(sn) - set(so)), "schemas_removed": sorted(set(so) - set(sn)),
        "properties_added": props_added, "properties_removed": props_removed,
        "enum_values_added": enum_added, "enum_values_removed": enum_removed,
    }


# --------------------------------------------------------------------------- text
def format_journal_report(r: dict) -> str:
    lines = [f"{r['requests']} recorded requests ({r['operations_used']} operations) checked against "
             f"CloudTower {r['old']} (new: {r['new']})"]
    if r["compatible"]:
        lines.append(f"compatible: CloudTower {r['old']} has every operation, field and enum value used")
        return "\n".join(lines)
    if r["missing_operations"]:
        lines.append(f"operations missing in {r['old']}:")
        lines += [f"  {m['operation']}  ({m['requests']} requests)" for m in r["missing_operations"]]
    if r["missing_fields"]:
        lines.append(f"request fields missing in {r['old']}:")
        lines += [f"  {m['operation']}: {m['field']}{'  (where filter)' if m['where'] else ''}  "
                  f"({m['requests']} requests)" for m in r["missing_fields"]]
    if r["missing_enum_values"]:
        lines.append(f"enum values missing in {r['old']}:")
        lines += [f"  {m['operation']}: {m['field']} = {m['value']}  ({m['requests']} requests)"
                  for m in r["missing_enum_values"]]
    return "\n".join(lines)


def format_diff(d: dict, limit: int = 20) -> str:
    def few(items) -> str:
        items = list(items)
        more = f", ... (+{len(items) - limit})" if len(items) > limit else ""
        return ", ".join(items[:limit]) + more

    lines = [f"CloudTower {d['old']} -> {d['new']}",
             f"operations: +{len(d['operations_added'])} -{len(d['operations_removed'])}"]
    if d["operations_added"]:
        lines.append("  added: " + few(d["operations_added"]))
    if d["operations_removed"]:
        lines.append("  removed: " + few(d["operations_removed"]))
    lines.append(f"schemas: +{len(d['schemas_added'])} -{len(d['schemas_removed'])}")
    n_pa = sum(map(len, d["properties_added"].values()))
    n_pr = sum(map(len, d["properties_removed"].values()))
    lines.append(f"properties of existing schemas: +{n_pa} -{n_pr}")
    for name, props in list(d["properties_removed"].items())[:limit]:
        lines.append(f"  {name}: removed {', '.join(props)}")
    n_ea = sum(map(len, d["enum_values_added"].values()))
    n_er = sum(map(len, d["enum_values_removed"].values()))
    lines.append(f"enum values: +{n_ea} -{n_er}")
    for name, vals in list(d["enum_values_added"].items())[:limit]:
        lines.append(f"  {name}: added {', '.join(vals)}")
    for name, vals in d["enum_values_removed"].items():
        lines.append(f"  {name}: removed {', '.join(vals)}")
    return "\n".join(lines)


def run(old_arg: str, new_arg: str, journal_path: str | None = None, as_json: bool = False) -> tuple[str, int]:
    """(output, exit status)."""
    old, new = load_doc(old_arg), load_doc(new_arg)
    if journal_path is None:
        d = diff(old, new)
        return (json.dumps(d, indent=1) if as_json else format_diff(d)), 0
    try:
        journal = json.loads(Path(journal_path).read_text(encoding="utf-8"))
    except OSError as e:
        raise CompatError(f"cannot read journal {journal_path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise CompatError(f"journal {journal_path} is not valid JSON: line {e.lineno}: {e.msg}") from e
    r = check_journal(old, new, journal)
    return (json.dumps(r, indent=1) if as_json else format_journal_report(r)), (0 if r["compatible"] else 1)

