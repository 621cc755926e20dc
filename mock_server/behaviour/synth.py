"""Minimal values from a schema, for the fields a mutation's request does not give.

Unlike the world generator's seeded synthesiser (`mock_server.world.values`, random and
Faker-backed, for building realistic worlds), these are the plain defaults CloudTower
itself would fill in at run time: enums take their first value, numbers their lower
bound or 0, booleans false; strings follow the field name (`*_at` → now, `local_id` →
a UUID, `*ip*` → an address, ...); objects get their required properties, arrays their
minimum number of items. No randomness, so a created record is predictable in tests.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from typing import Any

from ..clock import iso
from ..contract.index import ref_name

_counter = itertools.count(1)


# Ids of new records need to be unique, not secret: a generator seeded from the OS draws
# them without a system call each (os.urandom was ~2 us a UUID, several UUIDs a new VM).
_rng = random.Random(os.urandom(32))
random_bits = _rng.getrandbits


def new_uuid() -> str:
    """A random (version 4) UUID as text, as `str(uuid.uuid4())` shows one."""
    h = f"{random_bits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _string_for(name: str, schema: dict) -> str:
    n = (name or "").lower()
    fmt = schema.get("format")
    if fmt == "date-time" or n.endswith("_at") or n.endswith("_time") or n.endswith("_date") \
            or n in ("createdat", "updatedat", "createat", "local_created_at"):
        return iso(time.time())
    if fmt == "byte":
        return ""
    if n in ("local_id", "uuid") or n.endswith("_uuid") or n.endswith("local_id"):
        return new_uuid()
    if "mac" in n and "addr" in n:
        k = next(_counter)
        return "52:54:00:%02x:%02x:%02x" % ((k >> 16) & 255, (k >> 8) & 255, k & 255)
    if n.endswith("ip") or n.endswith("_ip") or n.endswith("ips") or n == "gateway" or n == "subnet_mask":
        k = next(_counter)
        return f"10.{(k >> 16) & 255}.{(k >> 8) & 255}.{k & 255 or 1}"
    if n == "path":
        return f"iscsi://iqn.2016-02.com.smartx:system:zbs-iscsi-datastore-{new_uuid()}/{next(_counter)}"
    if n.endswith("name") or n in ("description", "key", "value"):
        return f"mock-{n.replace('_', '-')}-{next(_counter)}" if n != "description" else ""
    if n == "version":
        return "6.1.0"
    return ""


def synth_value(contract, schema: dict | None, name: str = "", depth: int = 0) -> Any:
    """A value valid against `schema` (required parts only)."""
    if not isinstance(schema, dict):
        return None
    r = contract.resolve(schema)
    if "enum" in r and r["enum"]:
        return r["enum"][0]
    t = r.get("type")
    if t is None and "properties" in r:
        t = "object"
    if t == "string":
        s = _string_for(name, r)
        lo, hi = r.get("minLength"), r.get("maxLength")
        if lo and len(s) < lo:
            s = s + "x" * (lo - len(s))
        if hi is not None and len(s) > hi:
            s = s[:hi]
        return s
    if t == "integer":
        lo, hi = r.get("minimum"), r.get("maximum")
        v = 0 if lo is None else int(lo)
        if hi is not None and v > hi:
            v = int(hi)
        return v
    if t == "number":
        lo = r.get("minimum")
        return float(lo) if lo is not None else 0.0
    if t == "boolean":
        return False
    if t == "array":
        n = r.get("minItems") or 0
        if depth > 6:
            return []
        return [synth_value(contract, r.get("items"), name, depth + 1) for _ in range(n)]
    if t == "object":
        if depth > 6:
            return {}
        props = r.get("properties", {}) or {}
        out = {}
        for key in r.get("required", []) or []:
            if key in props:
                out[key] = synth_value(contract, props[key], key, depth + 1)
        return out
    return {}


def synth_full(contract, schema: dict | None, name: str = "", depth: int = 0) -> Any:
    """Like synth_value, but objects also get their optional properties (non-null where the
    schema allows) — for bare responses that should look complete."""
    r = contract.resolve(schema) if isinstance(schema, dict) else {}
    if r.get("type", "object" if "properties" in r else None) == "object" and depth < 3:
        props = r.get("properties", {}) or {}
        out = {}
        for key, ps in props.items():
            out[key] = synth_full(contract, ps, key, depth + 1)
        return out
    return synth_value(contract, schema, name, depth)


def scalar_default(contract, res, fname: str) -> Any:
    """A value for a required scalar field of a resource."""
    return synth_value(contract, res.properties.get(fname), fname)


def is_ref_to(schema: dict | None, name: str) -> bool:
    return ref_name(schema) == name


def minimal_world(contract, store=None):
    """A store with one synthesised row of every resource type, relations pointing at the
    first row of their target (for tests when no generated world is at hand)."""
    from ..store import Store
    store = store or Store(contract)
    for model, res in contract.resources.items():
        row = {}
        for fname in res.required:
            if fname == "id" or fname in res.relations:
                continue
            row[fname] = synth_value(contract, res.properties.get(fname), fname)
        if "name" in res.properties:
            row["name"] = f"{model.lower()}-1"
        if res.has_async_status:
            row["entityAsyncStatus"] = None
        if model == "User":
            row.update({k: "root" for k in ("name", "username") if k in res.properties})
        row["id"] = store.mint()
        store.insert(model, row)
    for model, res in contract.resources.items():
        for row in store.all(model):
            changes = {}
            for fname, plan in store.plans[model].items():
                if not plan.stored or plan.target not in store.tables:
                    continue
                ids = store.tables[plan.target].ordered_ids()
                if not ids:
                    continue
                if plan.many:
                    changes[fname] = [] if plan.target == model else [ids[0]]
                elif plan.target != model or not plan.nullable:
                    changes[fname] = ids[0] if (plan.target != model) else None
            store.update(model, row["id"], changes)
    if "Host" in store.tables:      # a host VMs can be scheduled on (connected, with memory)
        props = contract.resources["Host"].properties
        sane = {"status": "CONNECTED_HEALTHY", "total_memory_bytes": 256 * 1024 ** 3, "os_memory_bytes": 0}
        for h in store.all("Host"):
            store.update("Host", h["id"], {k: v for k, v in sane.items() if k in props})
    return store
