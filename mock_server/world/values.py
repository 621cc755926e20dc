"""Generic value synthesis from contract schemas.

`Synth` turns a property schema (plus the property's name, which carries most of the
meaning in CloudTower's API: `*_ip`, `local_id`, `*_at`, ...) into a plausible value.
Everything random comes from the seeded `random.Random` and from small pools filled once
from a seeded Faker, so the same seed gives the same values and the per-value cost is a
few rng calls (Faker itself is slow and is only used to fill the pools).

Only schema *shapes*, enum values and field names are used, never schema names, so the
spec-derived and SDK-derived contracts give the same kinds of values.

Parts: `primitives` (timestamps, uuid4, MAC, constants; re-exported here), `synth_scalars`
(scalars by field name), this module (pools, schema walking: objects, arrays, enums, rows).
"""

from __future__ import annotations

import random
import sys
from typing import Any

from ..contract.index import Contract
from .primitives import GiB, INT32_MAX, NEVER, iso, mac, uuid4
from .synth_scalars import ScalarSynth

__all__ = ["GiB", "INT32_MAX", "NEVER", "Pools", "Synth", "iso", "mac", "uuid4"]

_intern = sys.intern


class Pools:
    """Small pools of readable strings, filled once from a seeded Faker."""

    def __init__(self, fake, rng: random.Random, base_ms: int):
        self.rng = rng
        self.base_ms = base_ms
        words = {w.lower() for w in fake.words(nb=400) if w.isalpha()}
        self.words = sorted(words)
        self.first_names = sorted({fake.first_name().lower() for _ in range(120)})
        self.full_names = [fake.name() for _ in range(60)]
        self.companies = [fake.company() for _ in range(30)]
        self.sentences = [fake.sentence(nb_words=8) for _ in range(80)]
        self.cities = [fake.city() for _ in range(30)]
        self.emails = [fake.email() for _ in range(40)]
        self.phones = [fake.numerify("1##########") for _ in range(20)]
        # Timestamps: spread over the two years before the base date, shared objects.
        span = 2 * 365 * 24 * 3600 * 1000
        self.timestamps = sorted(_intern(iso(base_ms - rng.randrange(span) // 1000 * 1000))
                                 for _ in range(4096))
        self.recent = self.timestamps[-512:]

    def word(self) -> str:
        return self.rng.choice(self.words)

    def ts(self) -> str:
        return self.rng.choice(self.timestamps)

    def readable_name(self, stem: str | None = None) -> str:
        r = self.rng
        return f"{stem or r.choice(self.words)}-{r.choice(self.words)}-{r.randrange(1, 100)}"


class Synth(ScalarSynth):
    """Values for contract schemas, by shape and field-name heuristics."""

    def __init__(self, contract: Contract, rng: random.Random, pools: Pools, mint=None):
        self.c = contract
        self.rng = rng
        self.p = pools
        self.mint = mint
        self._props_cache: dict[int, tuple[dict, frozenset]] = {}

    # ------------------------------------------------------------ schema helpers
    def obj_shape(self, schema: dict) -> tuple[dict, frozenset]:
        r = self.c.resolve(schema)
        key = id(r)
        hit = self._props_cache.get(key)
        if hit is None:
            hit = (r.get("properties", {}) or {}, frozenset(r.get("required", ()) or ()))
            self._props_cache[key] = hit
        return hit

    # ------------------------------------------------------------------ values
    def value(self, name: str, schema: dict | None, depth: int = 0, kind: str | None = None) -> Any:
        r = self.c.resolve(schema or {})
        if "enum" in r:
            return self.enum(name, r["enum"])
        t = r.get("type")
        if t is None and "properties" in r:
            t = "object"
        if t == "string":
            if r.get("format") in ("binary", "byte"):
                return ""
            return self.string(name, kind)
        if t == "integer":
            return self.integer(name, r)
        if t == "number":
            return self.number(name, r)
        if t == "boolean":
            return self.boolean(name)
        if t == "array":
            return self.array(name, r, depth)
        if t == "object" or r.get("properties"):
            props = r.get("properties")
            if not props:
                return {}
            return self.obj(r, depth + 1)
        return {}          # JSON / any

    def obj(self, schema: dict, depth: int = 1, optional_p: float = 0.8) -> dict:
        props, required = self.obj_shape(schema)
        out = {}
        rng = self.rng
        for k, ps in props.items():
            if k in required or (depth < 4 and rng.random() < optional_p):
                if k == "id" and self.mint is not None:
                    out[k] = self.mint()
                    continue
                if k in required or depth < 4:
                    out[k] = self.value(k, ps, depth)
        return out

    def enum(self, name: str, values: list) -> Any:
        vals = [v for v in values if v is not None]
        if not vals:
            return None
        prefer = {"status": ("RUNNING", "SUCCESSED", "CONNECTED", "OK", "HEALTHY", "NORMAL", "ACTIVE", "ENABLED"),
                  "state": ("CONNECTED", "IDLE", "RUNNING", "OK", "HEALTHY", "NORMAL", "ACTIVE"),
                  "connect_state": ("CONNECTED",)}.get(name)
        if prefer:
            for p in prefer:
                if p in vals and self.rng.random() < 0.8:
                    return p
        return self.rng.choice(vals)

    def array(self, name: str, schema: dict, depth: int) -> list:
        items = schema.get("items") or {}
        ir = self.c.resolve(items)
        rng = self.rng
        lo = schema.get("minItems") or 0
        if "enum" in ir:
            vals = [v for v in ir["enum"] if v is not None]
            k = max(lo, min(len(vals), rng.randrange(1, 3)))
            return sorted(rng.sample(vals, k)) if vals else []
        t = ir.get("type")
        if t is None and "properties" in ir:
            t = "object"
        singular = name[:-1] if name.endswith("s") else name
        if t == "object":
            if depth >= 4:
                return []
            count = max(lo, rng.randrange(1, 3))
            return [self.value(singular, items, depth + 1) for _ in range(count)]
        count = max(lo, rng.randrange(1, 3))
        return [self.value(singular, items, depth + 1) for _ in range(count)]

    # --------------------------------------------------------------- resources
    def row(self, res, optional_p: float = 0.8, also_required: frozenset = frozenset(),
            skip: frozenset = frozenset()) -> dict:
        """Scalar fields of a resource record (relations are not touched, nor `id`)."""
        out = {}
        rng = self.rng
        rels = res.relations
        for k, ps in res.properties.items():
            if k == "id" or k in rels or k in skip:
                continue
            if k == "entityAsyncStatus":
                continue                    # null = idle; non-null would mean locked
            if k in res.required or k in also_required or rng.random() < optional_p:
                fd = res.scalar_fields.get(k)
                out[k] = self.value(k, ps, 0, fd.kind if fd else None)
        return out
