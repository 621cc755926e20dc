"""Scalar values by field name: what a CloudTower field called `*_ip`, `local_id`, `*_at`,
`*size*`, `description`, ... plausibly holds (strings, integers, numbers, booleans)."""

from __future__ import annotations

import random

from .primitives import GiB, INT32_MAX, mac, uuid4


def _norm(name: str) -> str:
    return name.lower()


class ScalarSynth:
    """The scalar part of `Synth` (needs `rng` and the pools `p`)."""

    rng: random.Random

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
