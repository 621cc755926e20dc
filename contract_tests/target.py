"""A target under test: its base URL, login, the contract it speaks, and the safety rules.

Safety: a target that is not on this machine is read-only unless `--allow-mutations` is
given. With mutations, every name the harness creates starts with the prefix, a budget caps
how many resources may be created, resources whose name matches a `--protect` pattern are
never touched, and everything created is deleted at the end (`cleanup`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import requests

from .exchange import Exchange

API_PREFIX = "/v2/api"
TERMINAL_TASK_STATES = ("SUCCESSED", "FAILED")


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


def split_base_url(url: str) -> tuple[str, str]:
    """`http://h:p`, `http://h:p/v2/api` or `.../v2/api/` -> (root, api base)."""
    url = url.rstrip("/")
    if url.endswith(API_PREFIX):
        root = url[: -len(API_PREFIX)]
    else:
        root = url
    return root, root + API_PREFIX


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


class Target:
    """One CloudTower API endpoint with an authenticated session."""

    def __init__(self, base_url: str, *, token: str | None = None, username: str | None = None,
                 password: str | None = None, source: str = "LOCAL", timeout: float = 30.0,
                 safety: Safety | None = None, label: str | None = None):
        self.root, self.api = split_base_url(base_url)
        self.host = urlsplit(self.root).hostname
        self.local = is_local_host(self.host)
        self.label = label or self.root
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
        self.token = token
        self.username, self.password, self.source = username, password, source
        self.safety = safety or Safety(allow_mutations=self.local)
        self.requests_sent = 0
        self._served_doc: dict | None | bool = False
        self.extra_headers: dict[str, str] = {}
        self.op_counts: dict[str, int] = {}          # requests per operation
        self.observers: list[Callable[[Exchange], None]] = []
        self.last: Exchange | None = None

    # ------------------------------------------------------------------ plumbing
    def url(self, op: str) -> str:
        return f"{self.api}/{op.lstrip('/')}"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": self.token} if self.token else {}

    def login(self) -> str:
        if self.token:
            return self.token
        if not self.username:
            raise TargetError("no credentials: give --token or --username/--password")
        body = {"username": self.username, "password": self.password or ""}
        if self.source:
            body["source"] = self.source
        try:
            r = self.session.post(self.url("login"), json=body, timeout=self.timeout)
        except requests.RequestException as e:
            raise TargetError(f"cannot reach {self.api}: {e}") from e
        if r.status_code != 200:
            raise TargetError(f"login failed: HTTP {r.status_code}: {r.text[:300]}")
        try:
            self.token = r.json()["data"]["token"]
        except (ValueError, KeyError, TypeError) as e:
            raise TargetError(f"login answered without data.token: {r.text[:300]}") from e
        return self.token

    def post(self, op: str, body: Any = None, *, auth: bool = True, headers: dict | None = None,
             raw: bytes | None = None, expect: str | None = None,
             auth_label: str | None = None) -> requests.Response:
        """POST an operation. Only `get-*` and `login` pass unless mutations are allowed.

        Every exchange (answer or transport error) is passed to the observers; `expect`
        tells them what the request was for ("invalid", "unauthenticated", ...)."""
        name = op.lstrip("/")
        if not is_read_only(name):
            self.safety.check_mutation(name)
        h = dict(self.extra_headers)
        if auth:
            h.update(self.auth_headers())
        if headers:
            h.update(headers)
        self.requests_sent += 1
        self.op_counts["/" + name] = self.op_counts.get("/" + name, 0) + 1
        ex = Exchange("/" + name, self.url(name), body if raw is None else None, h, raw=raw, expect=expect,
                      auth_label=auth_label)
        t0 = time.monotonic()
        try:
            if raw is not None:
                r = self.session.post(self.url(name), data=raw, headers=h, timeout=self.timeout)
            else:
                r = self.session.post(self.url(name), json=body, headers=h, timeout=self.timeout)
        except requests.RequestException as e:
            ex.error = f"{type(e).__name__}: {e}"
            ex.seconds = time.monotonic() - t0
            self._observe(ex)
            raise TargetError(f"{name}: transport error: {ex.error}", exchange=ex) from e
        ex.seconds = time.monotonic() - t0
        ex.response = r
        self.last = ex
        self._observe(ex)
        return r

    def _observe(self, ex: Exchange) -> None:
        self.last = ex
        for fn in self.observers:
            fn(ex)

    def call(self, op: str, body: Any = None) -> Any:
        """POST and return the JSON answer; a non-200 raises TargetError."""
        r = self.post(op, body)
        if r.status_code != 200:
            raise TargetError(f"{op}: HTTP {r.status_code}: {r.text[:300]}", status=r.status_code,
                              exchange=self.last)
        try:
            return r.json()
        except ValueError as e:
            raise TargetError(f"{op}: HTTP 200 with a body that is not JSON: {r.text[:200]}", status=200,
                              exchange=self.last) from e

    # ------------------------------------------------------------------- reads
    def list_all(self, op: str, where: dict | None = None, page: int = 500, limit: int = 20000) -> list[dict]:
        """Every record of a standard list query, paginated with first/after. A page that
        brings nothing new ends it (a target that ignores `after` would loop forever)."""
        out: list[dict] = []
        seen: set = set()
        after = None
        while True:
            body: dict[str, Any] = {"first": page}
            if where:
                body["where"] = where
            if after:
                body["after"] = after
            chunk = self.call(op, body)
            if not isinstance(chunk, list):
                raise TargetError(f"{op}: HTTP 200 with a body that is not a list", status=200, exchange=self.last)
            fresh = [x for x in chunk if isinstance(x, dict) and x.get("id") not in seen]
            out.extend(fresh)
            seen.update(x.get("id") for x in fresh)
            if len(chunk) < page or len(out) >= limit or not fresh:
                return out
            after = chunk[-1]["id"]

    def served_contract_doc(self) -> dict | None:
        """The OpenAPI document the target serves at /v2/api/openapi.json, if any."""
        if self._served_doc is False:
            doc = None
            try:
                r = self.session.get(self.url("openapi.json"), timeout=self.timeout)
                if r.status_code == 200:
                    d = r.json()
                    if isinstance(d, dict) and "paths" in d and "components" in d:
                        doc = d
            except (requests.RequestException, ValueError):
                doc = None
            self._served_doc = doc
        return self._served_doc  # type: ignore[return-value]

    @property
    def is_mock(self) -> bool:
        """The mock serves its contract; a real CloudTower does not."""
        return self.served_contract_doc() is not None

    # ------------------------------------------------------------------- tasks
    def wait_tasks(self, task_ids: list[str], timeout: float = 60.0, interval: float = 0.2) -> dict[str, dict]:
        """Poll get-tasks until every task ended; returns {id: task}."""
        pending = {t for t in task_ids if t}
        done: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        while pending:
            tasks = self.call("get-tasks", {"where": {"id_in": sorted(pending)}})
            for t in tasks:
                if t.get("status") in TERMINAL_TASK_STATES:
                    done[t["id"]] = t
                    pending.discard(t["id"])
            if not pending:
                break
            if time.monotonic() > deadline:
                raise TargetError(f"tasks did not finish within {timeout:.0f}s: {sorted(pending)}")
            time.sleep(interval)
        return done


def make_target(args, url: str | None = None, username=None, password=None, source=None, token=None,
                label: str | None = None):
    """A Target from the parsed command line (the --base-url one, or another given here)."""
    url = url or args.base_url
    local = is_local_host(urlsplit(split_base_url(url)[0]).hostname)
    allow = bool(getattr(args, "allow_mutations", False)) or local
    if getattr(args, "read_only", False):
        allow = False
    safety = Safety(allow_mutations=allow, prefix=getattr(args, "prefix", "ctm-"),
                    max_created=getattr(args, "max_created", 10), protect=list(getattr(args, "protect", []) or []))
    return Target(url, token=token if token is not None else args.token,
                  username=username if username is not None else args.username,
                  password=password if password is not None else args.password,
                  source=source if source is not None else args.source,
                  timeout=args.timeout, safety=safety, label=label)


def is_read_only(op: str) -> bool:
    op = op.lstrip("/")
    return op.startswith("get-") or op in ("login", "openapi.json")


def load_target_contract(target: Target | None, spec: str | None = None):
    """--spec FILE, else what the target serves at /v2/api/openapi.json, else the project's
    derived contract. Returns (Contract, description)."""
    from mock_server.contract.index import Contract
    from mock_server.contract.loader import load_contract
    if spec:
        c = load_contract(spec)
        return c, f"--spec {spec} (CloudTower {c.version})"
    if target is not None:
        doc = target.served_contract_doc()
        if doc is not None:
            c = Contract(doc, source=f"served by {target.root}")
            return c, f"served by the target at {API_PREFIX}/openapi.json (CloudTower {c.version})"
    c = load_contract()
    return c, f"the project's derived contract ({c.source}, CloudTower {c.version})"
