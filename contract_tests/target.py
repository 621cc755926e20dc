"""A target under test: its base URL, login, the contract it speaks, and the safety rules.

Safety: a target that is not on this machine is read-only unless `--allow-mutations` is
given. With mutations, every name the harness creates starts with the prefix, a budget caps
how many resources may be created, resources whose name matches a `--protect` pattern are
never touched, and everything created is deleted at the end (`cleanup`).
"""

from __future__ import annotations

import time
from typing import Any, Callable
from urllib.parse import urlsplit

import requests

from .exchange import Exchange
from .safety import Safety, SafetyError, TargetError, is_local_host, is_read_only
from .target_reads import TERMINAL_TASK_STATES, TargetReads

__all__ = ["Target", "TargetError", "SafetyError", "Safety", "make_target", "load_target_contract",
           "is_read_only", "is_local_host", "split_base_url", "API_PREFIX", "TERMINAL_TASK_STATES"]

API_PREFIX = "/v2/api"


def split_base_url(url: str) -> tuple[str, str]:
    """`http://h:p`, `http://h:p/v2/api` or `.../v2/api/` -> (root, api base)."""
    url = url.rstrip("/")
    if url.endswith(API_PREFIX):
        root = url[: -len(API_PREFIX)]
    else:
        root = url
    return root, root + API_PREFIX


class Target(TargetReads):
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
