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
from typing import Any
from urllib.parse import urlsplit

import requests

API_PREFIX = "/v2/api"
TERMINAL_TASK_STATES = ("SUCCESSED", "FAILED")


class TargetError(Exception):
    """The target cannot be used (unreachable, login refused, ...)."""


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
             raw: bytes | None = None) -> requests.Response:
        """POST an operation. Only `get-*` and `login` pass unless mutations are allowed."""
        name = op.lstrip("/")
        if not is_read_only(name):
            self.safety.check_mutation(name)
        h = dict(self.extra_headers)
        if auth:
            h.update(self.auth_headers())
        if headers:
            h.update(headers)
        self.requests_sent += 1
        if raw is not None:
            return self.session.post(self.url(name), data=raw, headers=h, timeout=self.timeout)
        return self.session.post(self.url(name), json=body, headers=h, timeout=self.timeout)

    def call(self, op: str, body: Any = None) -> Any:
        """POST and return the JSON answer; a non-200 raises TargetError."""
        r = self.post(op, body)
        if r.status_code != 200:
            raise TargetError(f"{op}: HTTP {r.status_code}: {r.text[:300]}")
        return r.json()

    # ------------------------------------------------------------------- reads
    def list_all(self, op: str, where: dict | None = None, page: int = 500, limit: int = 20000) -> list[dict]:
        """Every record of a standard list query, paginated with first/after."""
        out: list[dict] = []
        after = None
        while True:
            body: dict[str, Any] = {"first": page}
            if where:
                body["where"] = where
            if after:
                body["after"] = after
            chunk = self.call(op, body)
            out.extend(chunk)
            if len(chunk) < page or len(out) >= limit:
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


# Resources the harness knows how to delete by name prefix (cleanup after a crash), in order.
CLEANUP_ORDER = (
    ("VmSnapshot", "get-vm-snapshots", "delete-vm-snapshot"),
    ("IscsiLunSnapshot", "get-iscsi-lun-snapshots", "delete-iscsi-lun-snapshot"),
    ("Vm", "get-vms", "delete-vm"),
    ("VmVolume", "get-vm-volumes", "delete-vm-volume"),
)


def cleanup(target: Target, prefix: str, log=print, wait: bool = True) -> list[tuple[str, str, str]]:
    """Delete every resource of the known kinds whose name starts with `prefix` (never a
    protected one). Returns what was deleted: (resource, id, name)."""
    if not prefix or len(prefix) < 3:
        raise SafetyError("refusing to clean up with a prefix shorter than 3 characters")
    target.safety.check_mutation("cleanup")
    deleted = []
    for resource, list_op, delete_op in CLEANUP_ORDER:
        try:
            rows = target.list_all(list_op, where={"name_starts_with": prefix})
        except TargetError as e:
            log(f"  cleanup: {list_op}: {e}")
            continue
        rows = [r for r in rows if target.safety.owns(r.get("name"))]
        if not rows:
            continue
        ids = [r["id"] for r in rows]
        body: dict[str, Any] = {"where": {"id_in": ids}}
        if delete_op == "delete-vm-volume":
            continue        # volumes go with their VM
        if resource == "Vm":
            running = [r["id"] for r in rows if r.get("status") not in ("STOPPED", None)]
            if running:
                pr = target.post("poweroff-vm", {"where": {"id_in": running}})
                if pr.status_code == 200 and wait:
                    try:
                        target.wait_tasks([x.get("task_id") for x in pr.json() if x.get("task_id")], timeout=120)
                    except TargetError as e:
                        log(f"  cleanup: {e}")
        try:
            r = target.post(delete_op, body)
        except SafetyError as e:
            log(f"  cleanup: {e}")
            continue
        if r.status_code != 200:
            log(f"  cleanup: {delete_op}: HTTP {r.status_code}: {r.text[:200]}")
            continue
        tasks = [x.get("task_id") for x in (r.json() if isinstance(r.json(), list) else [])]
        if wait and any(tasks):
            try:
                target.wait_tasks([t for t in tasks if t], timeout=120)
            except TargetError as e:
                log(f"  cleanup: {e}")
        for row in rows:
            deleted.append((resource, row["id"], row.get("name")))
        log(f"  cleanup: deleted {len(rows)} {resource} named {prefix}*")
    return deleted
