"""Generic value synthesis from contract schemas.

`Synth` turns a property schema (plus the property's name, which carries most of the
meaning in CloudTower's API: `*_ip`, `local_id`, `*_at`, ...) into a plausible value.
Everything random comes from the seeded `random.Random` and from small pools filled once
from a seeded Faker, so the same seed gives the same values and the per-value cost is a
few rng calls (Faker itself is slow and is only used to fill the pools).

Only schema *shapes*, enum values and field names are used, never schema names, so the
spec-derived and SDK-derived contracts give the same kinds of values.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timezone
from typing import Any

from ..contract.index import Contract

INT32_MAX = 2 ** 31 - 1
GiB = 1024 ** 3
NEVER = "1970-01-01T00:00:00.000Z"

_intern = sys.intern


def iso(ms: int) -> str:
    """Epoch milliseconds -> `2025-12-25T06:31:40.000Z`."""
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def uuid4(rng: random.Random) -> str:
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def mac(rng: random.Random) -> str:
    n = rng.getrandbits(24)
    return "52:54:00:%02x:%02x:%02x" % (n >> 16, (n >> 8) & 255, n & 255)


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


def _norm(name: str) -> str:
    return name.lower()


class Synth:
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

    def boolean(self, name: str) -> bool:
        n = _norm(name)
        if n in ("internal", "deleted", "in_recycle_bin", "locked", "is_deleted", "expired"):
            return False
        if n.endswith("_locked") or n.startswith("is_deleted"):
            return False
        return self.rng.random() < 0.5

    def integer(self, name: str, schema: dict) -> int:
        n = _norm(name)
        rng = self.rng
        fmt = schema.get("format")
        cap = INT32_MAX if fmt == "int32" else 2 ** 62
        if n.endswith("num") or n.endswith("count"):          # namespace_group_num is a count
            v = rng.randrange(1, 9)
        elif "size" in n or "bytes" in n or "capacity" in n or n.endswith("memory") or "space" in n:
            v = rng.choice((1, 2, 4, 8, 16, 32, 64, 100, 200, 500)) * GiB
            if cap == INT32_MAX:
                v = rng.choice((4096, 65536, 1048576, 4194304, 268435456))
        elif n == "vlan_id":
            v = rng.randrange(0, 4095)
        elif "port" in n:
            v = rng.randrange(1024, 65536)
        elif n.endswith("_hz") or "hz_per" in n or n.endswith("hz"):
            v = rng.choice((2_100_000_000, 2_400_000_000, 2_900_000_000))
        elif n.endswith("_at") or n.endswith("_time") or "timestamp" in n:
            v = (self.p.base_ms - rng.randrange(10 ** 9)) // (1 if cap > INT32_MAX else 1000)
        elif "replica" in n:
            v = rng.choice((2, 3))
        elif "num" in n or "count" in n or n.startswith("total") or "cores" in n or "sockets" in n:
            v = rng.randrange(1, 9)
        elif "percent" in n or "usage" in n:
            v = rng.randrange(0, 101)
        elif "iops" in n or "bps" in n or "bandwidth" in n:
            v = 0
        else:
            v = rng.randrange(0, 100)
        v = min(v, cap)
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is not None and v < lo:
            v = int(lo)
        if hi is not None and v > hi:
            v = int(hi)
        return v

    def number(self, name: str, schema: dict) -> float:
        n = _norm(name)
        rng = self.rng
        if "usage" in n or "ratio" in n or "rate" in n or "progress" in n:
            v = round(rng.random(), 4)
        elif "bytes" in n or "size" in n:
            v = float(rng.randrange(1, 500) * GiB)
        else:
            v = round(rng.uniform(0, 1000), 2)
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is not None and v < lo:
            v = float(lo)
        if hi is not None and v > hi:
            v = float(hi)
        return v

    def ip(self) -> str:
        r = self.rng
        if r.random() < 0.5:
            return f"10.{r.randrange(0, 256)}.{r.randrange(0, 256)}.{r.randrange(2, 255)}"
        return f"192.168.{r.randrange(0, 256)}.{r.randrange(2, 255)}"

    def string(self, name: str, kind: str | None = None) -> str:
        n = _norm(name)
        p = self.p
        rng = self.rng
        if kind == "DateTime" or n.endswith(("_at", "_time", "_date")) or n in (
                "createdat", "updatedat", "createat", "local_created_at", "time", "date"):
            return p.ts()
        if n == "local_id" or "uuid" in n or n.endswith("_local_id") or n in ("serial", "zbs_volume_id", "chunk_id"):
            return uuid4(rng)
        if "mac" in n.split("_") or "mac_address" in n:
            return mac(rng)
        if n.endswith("_ip") or n in ("ip", "ips", "gateway", "dns", "address", "ip_address", "netmask") \
                or n.startswith("ip_") or "_ip_" in n:
            if "mask" in n:
                return "255.255.255.0"
            return self.ip()
        if "mask" in n:
            return "255.255.255.0"
        if "email" in n:
            return rng.choice(p.emails)
        if "phone" in n:
            return rng.choice(p.phones)
        if n.endswith("url") or n.endswith("uri") or "endpoint" in n:
            return f"https://{rng.choice(p.words)}.example.com/{rng.choice(p.words)}"
        if "iqn" in n:
            return f"iqn.2016-02.com.smartx:system:{rng.choice(p.words)}-{rng.randrange(1000)}"
        if n == "path" or n.endswith("_path"):
            return f"/usr/share/smartx/images/{uuid4(rng)}"
        if "hostname" in n or "domain" in n or n == "host" or n == "server":
            return f"{rng.choice(p.words)}.{rng.choice(p.words)}.local"
        if "version" in n:
            return f"{rng.choice((5, 6))}.{rng.randrange(0, 3)}.{rng.randrange(0, 6)}"
        if "password" in n or "secret" in n or "token" in n or n.endswith("key_hash"):
            return "%032x" % rng.getrandbits(128)
        if n in ("description", "message", "cause", "impact", "solution", "comment", "error_message", "detail"):
            return rng.choice(p.sentences)
        if n in ("username", "user_name", "login_name", "display_username") or n.endswith("_username"):
            return rng.choice(p.first_names)
        if n in ("name", "display_name", "full_name") or n.endswith("_name"):
            return p.readable_name()
        if "cpu_model" in n:
            return rng.choice(("Skylake-Server-IBRS", "Cascadelake-Server", "Icelake-Server", "EPYC-Rome"))
        if n in ("unit", "value_unit"):
            return rng.choice(("BYTE", "PERCENT", "COUNT"))
        if "color" in n:
            return "#%06X" % rng.getrandbits(24)
        if n in ("language", "locale"):
            return "en-US"
        if "timezone" in n:
            return "Asia/Shanghai"
        if "json" in n or n == "snapshot" or n == "args":
            return "{}"
        if n in ("city", "location", "position"):
            return rng.choice(p.cities)
        if "company" in n or "organization" in n:
            return rng.choice(p.companies)
        return rng.choice(p.words)

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
