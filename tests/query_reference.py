"""A deliberately simple reference implementation of the query rules (docs/query-semantics.md).

No compilation, no indexes, no early exits: plain recursive evaluation of the where tree over
records with their relations *embedded* (to-one as a dict or None, to-many as a list of dicts),
a comparator-based sort, and pagination following the rule book's §5 recipe literally.

Inputs are in the query-vector format: ``schema`` = {Model: {field: "Int?" | "Enum(A|B)" |
"Relation(X)?" | "Relation[](X)" ...}}, ``dataset`` = records of the root model.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from functools import cmp_to_key

NOC = "no-condition"          # jOOQ's noCondition(): dropped by AND/OR, TRUE at the top

MSG_3014 = ("Including a value for both first and last is not supported. See the spec for a "
            "discussion of why https://facebook.github.io/relay/graphql/connections.htm"
            "#sec-Pagination-algorithm")


class RefError(Exception):
    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        self.code = code


# --------------------------------------------------------------------------- schema reading

def field_type(schema, model, name):
    """(base type, argument) e.g. ("Int", None), ("Enum", "A|B"), ("Relation", "Cluster"),
    ("Relation[]", "Label")."""
    spec = schema[model].get(name)
    if spec is None:
        return ("ID", None) if name == "id" else (None, None)
    spec = spec.rstrip("?")
    m = re.match(r"^(\w+(?:\[\])?)(?:\((.*)\))?$", spec)
    return m.group(1), m.group(2)


OPS = {
    "ID": ["", "_not", "_in", "_not_in", "_lt", "_lte", "_gt", "_gte", "_contains", "_not_contains",
           "_starts_with", "_not_starts_with", "_ends_with", "_not_ends_with"],
}
OPS["String"] = OPS["ID"]
OPS["Int"] = OPS["Float"] = OPS["DateTime"] = OPS["ID"][:8]
OPS["Enum"] = OPS["ID"][:4]
OPS["Boolean"] = OPS["ID"][:2]


def split_key(schema, model, key):
    fields = schema[model]
    if key in fields or key == "id":
        return key, ""
    best = None
    for name in list(fields) + ["id"]:
        if key.startswith(name + "_"):
            suffix = key[len(name):]
            base, _ = field_type(schema, model, name)
            allowed = ["_some", "_every", "_none"] if base == "Relation[]" else OPS.get(base, [])
            if suffix in allowed and (best is None or len(name) > len(best[0])):
                best = (name, suffix)
    if best is None:
        raise RefError(f"unknown key {key}")
    return best


# --------------------------------------------------------------------------- value ordering

_CHARS = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz"


def collate_cmp(a: str, b: str) -> int:
    """en_US-like: compare letters ignoring case first, then lowercase before uppercase."""
    def weight(c):
        lc = c.lower()
        return _CHARS.index(lc) if lc in _CHARS else 1000 + ord(lc)
    pa, pb = [weight(c) for c in a], [weight(c) for c in b]
    if pa != pb:
        return -1 if pa < pb else 1
    for x, y in zip(a, b):
        if x != y:
            return -1 if x.islower() else 1
    return 0


def parse_dt(s):
    if isinstance(s, datetime):
        return s if s.tzinfo else s.replace(tzinfo=timezone.utc)
    s = s.strip()
    if re.fullmatch(r"\d{4}", s):
        s += "-01-01"
    elif re.fullmatch(r"\d{4}-\d{2}", s):
        s += "-01"
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    d = datetime.fromisoformat(s)
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def compare(base, a, b) -> int:
    """Three-way compare of two non-null values of a field type."""
    if base == "String":
        return collate_cmp(a, b)
    if base in ("ID", "Enum"):
        return (a > b) - (a < b)
    if base == "DateTime":
        a, b = parse_dt(a), parse_dt(b)
    elif base in ("Int", "Float"):
        a, b = Decimal(str(a)), Decimal(str(b))
    elif base == "Boolean":
        a, b = int(a), int(b)
    return (a > b) - (a < b)


def _num(base, v):
    if base == "Int":
        return int(v)
    if base == "Float":
        return Decimal(str(v))
    return v


# --------------------------------------------------------------------------- where

def and3(values):
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def or3(values):
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def not3(v):
    return None if v is None else not v


def combine(results, how):
    results = [r for r in results if r is not NOC]
    if not results:
        return NOC
    return and3(results) if how == "and" else or3(results)


def holds(v):
    """A nested relation condition holds for a related row (NOC = no condition = TRUE)."""
    return v is True or v is NOC


def evaluate(schema, model, where, rec):
    """True / False / None (UNKNOWN) / NOC."""
    if where is None:
        return NOC
    results = []
    for key, val in where.items():
        if key in ("AND", "OR", "NOT"):
            items = [] if val is None else ([val] if isinstance(val, dict) else val)
            if val is None:
                results.append(NOC)
            elif key == "AND":
                results.append(True if not items else
                               combine([evaluate(schema, model, w, rec) for w in items], "and"))
            elif key == "OR":
                results.append(False if not items else
                               combine([evaluate(schema, model, w, rec) for w in items], "or"))
            else:
                negs = []
                for w in items:
                    r = evaluate(schema, model, w, rec)
                    negs.append(False if r is NOC else not3(r))
                results.append(True if not items else combine(negs, "and"))
            continue
        name, suffix = split_key(schema, model, key)
        base, arg = field_type(schema, model, name)
        value = rec.get(name)
        if base == "Relation":
            if val is None:
                results.append(value is None)
            else:
                results.append(value is not None and holds(evaluate(schema, arg, val, value)))
            continue
        if base == "Relation[]":
            related = value or []
            if val is None:
                raise RefError(f"The field '{name}' is a toMany relation. This cannot be filtered by null.", 3033)
            subs = [evaluate(schema, arg, val, r) for r in related]
            if suffix == "_some":
                results.append(any(holds(s) for s in subs))
            elif suffix == "_none":
                results.append(not any(holds(s) for s in subs))
            else:   # violators: rows where NOT W is TRUE, i.e. W is FALSE
                results.append(not any(s is False for s in subs))
            continue
        results.append(scalar(base, suffix, value, val))
    return combine(results, "and")


def scalar(base, suffix, value, val):
    if val is None:
        if suffix in ("", "_in"):
            return value is None
        if suffix in ("_not", "_not_in"):
            return value is not None
        return None
    if suffix in ("_in", "_not_in"):
        if not val:
            return suffix == "_not_in"
        if value is None:
            return None
        found = any(compare(base, value, _num(base, v)) == 0 if base != "String" else value == v
                    for v in val)
        return found if suffix == "_in" else not found
    if value is None:
        return None
    if suffix in ("", "_not"):
        if base in ("String", "ID", "Enum", "Boolean"):
            eq = value == val
        else:
            eq = compare(base, value, _num(base, val)) == 0
        return eq if suffix == "" else not eq
    if suffix in ("_lt", "_lte", "_gt", "_gte"):
        c = compare(base, value, _num(base, val))
        return {"_lt": c < 0, "_lte": c <= 0, "_gt": c > 0, "_gte": c >= 0}[suffix]
    neg = suffix.startswith("_not_")
    test = suffix[5:] if neg else suffix[1:]
    if test == "contains":
        r = val in value
    elif test == "starts_with":
        r = value.startswith(val)
    else:
        r = value.endswith(val)
    return (not r) if neg else r


def has_null_to_many(schema, model, where):
    if not isinstance(where, dict):
        return None
    for key, val in where.items():
        if key in ("AND", "OR", "NOT"):
            for w in ([val] if isinstance(val, dict) else (val or [])):
                hit = has_null_to_many(schema, model, w)
                if hit:
                    return hit
            continue
        name, _ = split_key(schema, model, key)
        base, arg = field_type(schema, model, name)
        if base == "Relation[]" and val is None:
            return name
        if base in ("Relation", "Relation[]") and val is not None:
            hit = has_null_to_many(schema, arg, val)
            if hit:
                return hit
    return None


# --------------------------------------------------------------------------- the query

def query(schema, model, dataset, args):
    """The ids a list request returns, in order (raises RefError)."""
    args = args or {}
    where = args.get("where")
    bad = has_null_to_many(schema, model, where)
    if bad:
        raise RefError(f"The field '{bad}' is a toMany relation. This cannot be filtered by null.", 3033)
    first, last, skip = args.get("first"), args.get("last"), args.get("skip")
    if first is not None and last is not None:
        raise RefError(MSG_3014, 3014)
    for name, code in (("first", 3026), ("last", 3027), ("skip", 3028)):
        if args.get(name) is not None and args[name] < 0:
            raise RefError(f"The '{name}' argument must be non negative", code)
    skip = skip or 0

    # 1. filter
    rows = [r for r in dataset if evaluate(schema, model, where, r) in (True, NOC)]

    # sort field and direction
    order = args.get("orderBy")
    if order:
        fname, direction = order.rsplit("_", 1)
    else:
        fname, direction = "id", "ASC"
    base, _ = field_type(schema, model, fname)
    desc = direction == "DESC"

    def cmp_rows(a, b):
        va, vb = a.get(fname), b.get(fname)
        if va is None and vb is None:
            c = 0
        elif va is None:
            c = 1            # NULL is the largest value
        elif vb is None:
            c = -1
        else:
            c = compare(base, va, vb)
        if desc:
            c = -c
        if c == 0 and fname != "id":
            c = (a["id"] > b["id"]) - (a["id"] < b["id"])
        return c

    # 2. cursors, positioned from the full collection
    for cursor, is_after in ((args.get("after"), True), (args.get("before"), False)):
        if cursor is None:
            continue
        crow = next((r for r in dataset if r["id"] == cursor), None)
        if crow is None:
            return []
        if fname != "id" and crow.get(fname) is None:
            return []
        rows = [r for r in rows if r.get(fname) is not None
                and (cmp_rows(r, crow) > 0 if is_after else cmp_rows(r, crow) < 0)]

    # 3. sort
    rows = sorted(rows, key=cmp_to_key(cmp_rows))

    # 4. page
    if last is not None:
        rows = list(reversed(rows))[skip:][:last]
        rows.reverse()
    else:
        rows = rows[skip:]
        if first is not None:
            rows = rows[:first]
    return [r["id"] for r in rows]


def count(schema, model, dataset, args):
    return len(query(schema, model, dataset, args))
