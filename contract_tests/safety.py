"""The safety rules of a target (what may be mutated, the name prefix, the creation budget,
protected names) and the errors a target raises.

A target that is not on this machine is read-only unless `--allow-mutations` is given."""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .exchange import Exchange


class TargetError(Exception):
    """The target cannot be used (unreachable, login refused, ...), or a call failed.

    `status` is the HTTP status when the target answered (a 4xx / 5xx), None when the
    request never got an answer (a transport error: refused, reset, timed out)."""

    def __init__(self, message: str, status: int | None = None, exchange: "Exchange | None" = None):
        super().__init__(message)
        self.status = status
        self.exchange = exchange

    @property
    def transport(self) -> bool:
        return self.status is None


class SafetyError(Exception):
    """A request the safety rules forbid (never sent)."""


def is_local_host(host: str | None) -> bool:
    if not host:
        return False
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        try:
            ip = ipaddress.ip_address(socket.gethostbyname(host))
        except (OSError, ValueError):
            return False
        # a name resolving to loopback is local too
    return ip.is_loopback


@dataclass
class Safety:
    allow_mutations: bool = False
    prefix: str = "ctm-"
    max_created: int = 10
    protect: list[str] = field(default_factory=list)
    created: list[tuple[str, str, str]] = field(default_factory=list)   # (resource, id, name)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self._protect = [re.compile(p) for p in self.protect]

    def is_protected(self, name: str | None) -> bool:
        return bool(name) and any(p.search(name) for p in self._protect)

    def check_mutation(self, op: str) -> None:
        if not self.allow_mutations:
            raise SafetyError(f"{op}: mutations are not allowed against this target (use --allow-mutations)")

    def name(self, stem: str) -> str:
        n = stem if stem.startswith(self.prefix) else self.prefix + stem
        if self.is_protected(n):
            raise SafetyError(f"name {n!r} matches a --protect pattern")
        return n

    def reserve(self, n: int = 1) -> None:
        with self._lock:
            if len(self.created) + n > self.max_created:
                raise SafetyError(f"creation budget exhausted ({self.max_created}; raise --max-created)")

    def record(self, resource: str, rid: str, name: str) -> None:
        with self._lock:
            self.created.append((resource, rid, name))

    def owns(self, name: str | None) -> bool:
        return bool(name) and name.startswith(self.prefix) and not self.is_protected(name)


def is_read_only(op: str) -> bool:
    op = op.lstrip("/")
    return op.startswith("get-") or op in ("login", "openapi.json")
