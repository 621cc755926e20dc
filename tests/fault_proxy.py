"""A fault-injecting HTTP proxy for the harness' own tests: it sits between the harness and the
in-process mock (a WSGI app on its own HTTP server, forwarding over HTTP) and, when a fault is
set, breaks requests or answers the way a faulty CloudTower would. One fault per family the
harness claims to catch (FAULTS); `proxy.fault = None` passes everything through unchanged.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson
import requests

API = "/v2/api"
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class _JsonBody:
    """A message whose `body` holds JSON bytes."""
    body: bytes

    def json(self) -> Any:
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None

    def set_json(self, v: Any) -> None:
        self.body = orjson.dumps(v)


@dataclass
class Req(_JsonBody):
    op: str | None            # "/get-vms" for API calls
    path: str
    method: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Resp(_JsonBody):
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Fault:
    """`on_request` may change the request or answer it itself (return a Resp); `on_response`
    may change the answer. `ops`: the operations it applies to (None: all)."""
    name: str
    on_request: Callable[[Req], Resp | None] | None = None
    on_response: Callable[[Req, Resp], None] | None = None
    ops: tuple[str, ...] | None = None

    def applies(self, req: Req) -> bool:
        return req.op is not None and (self.ops is None or req.op in self.ops)


class FaultProxy:
    """WSGI app forwarding to `upstream` (http://host:port) with the current `fault` applied."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.fault: Fault | None = None
        self._local = threading.local()
        self.token: str | None = None      # a valid token, for the auth faults

    def session(self) -> requests.Session:
        s = getattr(self._local, "s", None)
        if s is None:
            s = self._local.s = requests.Session()
        return s

    def valid_token(self) -> str:
        if self.token is None:
            r = self.session().post(self.upstream + API + "/login", json={"username": "root", "password": "root"})
            self.token = r.json()["data"]["token"]
        return self.token

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            n = 0
        body = environ["wsgi.input"].read(n) if n > 0 else b""
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        op = path[len(API):] if path.startswith(API + "/") else None
        req = Req(op, path, environ.get("REQUEST_METHOD", "GET"), headers, body)
        fault = self.fault
        resp = None
        if fault and fault.applies(req) and fault.on_request:
            resp = fault.on_request(req)
        if resp is None:
            url = self.upstream + req.path + (("?" + environ["QUERY_STRING"]) if environ.get("QUERY_STRING") else "")
            r = self.session().request(req.method, url, data=req.body, headers=req.headers, timeout=60)
            resp = Resp(r.status_code, {k: v for k, v in r.headers.items() if k.lower() not in HOP}, r.content)
            if fault and fault.applies(req) and fault.on_response:
                fault.on_response(req, resp)
        out = [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP]
        out.append(("Content-Length", str(len(resp.body))))
        start_response(f"{resp.status} {STATUS_TEXT.get(resp.status, 'Status')}", out)
        return [resp.body]


STATUS_TEXT = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"}


# ------------------------------------------------------------------------------ helpers
def rewrite_keys(v: Any, fn: Callable[[str, Any], tuple[str, Any] | None]) -> Any:
    """Apply fn(key, value) -> (key, value) | None (drop) to every key of every where, deep."""
    if isinstance(v, list):
        return [rewrite_keys(x, fn) for x in v]
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            kv = fn(k, rewrite_keys(x, fn))
            if kv is not None:
                out[kv[0]] = kv[1]
        return out
    return v


def where_rewrite(fn) -> Callable[[Req], None]:
    def on_request(req: Req) -> None:
        b = req.json()
        if isinstance(b, dict) and isinstance(b.get("where"), dict):
            b["where"] = rewrite_keys(b["where"], fn)
            req.set_json(b)
    return on_request


def body_rewrite(fn) -> Callable[[Req], None]:
    def on_request(req: Req) -> None:
        b = req.json()
        if isinstance(b, dict):
            fn(b)
            req.set_json(b)
    return on_request


def records(fn) -> Callable[[Req, Resp], None]:
    """Apply fn to every record of a 200 list answer."""
    def on_response(req: Req, resp: Resp) -> None:
        data = resp.json()
        if resp.status == 200 and isinstance(data, list):
            for x in data:
                if isinstance(x, dict):
                    fn(x)
            resp.set_json(data)
    return on_response


def tasks(fn) -> Callable[[Req, Resp], None]:
    return records(fn)


def _list_ops(ops: str) -> tuple[str, ...]:
    return tuple(f"/{o}" for o in ops.split())


LISTS = _list_ops("get-vms get-clusters get-hosts get-vm-disks get-labels get-tasks")
COUNTS = tuple(o + "-connection" for o in LISTS)


def _auth_fix(proxy: FaultProxy, bad: Callable[[str | None], bool]) -> Callable[[Req], None]:
    def on_request(req: Req) -> None:
        cur = next((v for k, v in req.headers.items() if k.lower() == "authorization"), None)
        if bad(cur) and req.op not in ("/login",):
            req.headers = {k: v for k, v in req.headers.items() if k.lower() != "authorization"}
            req.headers["Authorization"] = proxy.valid_token()
    return on_request


def _jwt_expired(tok: str | None) -> bool:
    import base64
    import json
    if not tok or tok.count(".") != 2:
        return False
    try:
        p = json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "=="))
    except ValueError:
        return False
    return isinstance(p, dict) and isinstance(p.get("exp"), (int, float)) and p["exp"] < time.time()


def _reorder_ties(req: Req, resp: Resp) -> None:
    b = req.json() or {}
    ob = b.get("orderBy") if isinstance(b, dict) else None
    data = resp.json()
    if resp.status != 200 or not ob or not isinstance(data, list):
        return
    f = ob.rsplit("_", 1)[0]
    out, i = [], 0
    while i < len(data):
        j = i
        while j < len(data) and data[j].get(f) == data[i].get(f):
            j += 1
        out += sorted(data[i:j], key=lambda x: x["id"], reverse=True)
        i = j
    resp.set_json(out)


def _not_list_as_and(k: str, v: Any):
    if k == "NOT" and isinstance(v, list) and len(v) > 1:
        return "NOT", [{"AND": v}]           # NOT (a AND b) instead of NOT a AND NOT b
    return k, v


def _task_status(frm: str, to: str):
    def fn(t: dict) -> None:
        if t.get("status") == frm:
            t["status"] = to
    return fn


def make_faults(proxy: FaultProxy) -> dict[str, Fault]:
    F = Fault
    faults = [
        F("missing_required_field", on_response=records(lambda x: x.pop("name", None)), ops=("/get-clusters",)),
        F("wrong_type", on_response=records(lambda x: x.__setitem__("vcpu", str(x.get("vcpu")))), ops=("/get-vms",)),
        F("null_not_nullable", on_response=records(lambda x: x.__setitem__("local_id", None)), ops=("/get-hosts",)),
        F("wrong_content_type", on_response=lambda q, r: r.headers.__setitem__("Content-Type", "text/plain"),
          ops=("/get-labels",)),
        F("missing_request_id", on_response=lambda q, r: [r.headers.pop(k) for k in list(r.headers)
                                                           if k.lower() == "x-tower-request-id"],
          ops=("/get-vm-disks",)),
        F("server_error", on_request=lambda q: Resp(500, {"Content-Type": "application/json",
                                                          "x-tower-request-id": "proxy"},
                                                    b'{"message":"boom","status":500,"path":"x"}'),
          ops=("/get-hosts-connection",)),
        F("invalid_accepted", on_response=lambda q, r: (r.status == 400) and (
            r.__setattr__("status", 200), r.set_json([])), ops=("/get-vms",)),
        F("error_body_shape", on_response=lambda q, r: (r.status >= 400) and r.set_json({"error": "bad request"}),
          ops=("/get-clusters",)),
        F("auth_no_token", on_request=_auth_fix(proxy, lambda t: not t)),
        F("auth_bogus_token", on_request=_auth_fix(proxy, lambda t: bool(t) and t.count(".") != 2)),
        F("auth_expired_token", on_request=_auth_fix(proxy, _jwt_expired)),
        F("default_order", on_response=lambda q, r: (not (q.json() or {}).get("orderBy")) and r.status == 200
          and isinstance(r.json(), list) and r.set_json(list(reversed(r.json()))), ops=("/get-hosts",)),
        F("orderby_desc_ignored", on_request=body_rewrite(
            lambda b: isinstance(b.get("orderBy"), str) and b.__setitem__("orderBy", b["orderBy"].replace("_DESC", "_ASC"))),
          ops=("/get-vms",)),
        F("order_ties", on_response=_reorder_ties, ops=("/get-vms",)),
        F("skip_off_by_one", on_request=body_rewrite(
            lambda b: isinstance(b.get("skip"), int) and b["skip"] > 0 and b.__setitem__("skip", b["skip"] + 1)),
          ops=("/get-clusters",)),
        F("after_ignored", on_request=body_rewrite(lambda b: b.pop("after", None)), ops=("/get-labels",)),
        F("before_ignored", on_request=body_rewrite(lambda b: b.pop("before", None)), ops=("/get-vm-disks",)),
        F("first_ignored", on_request=body_rewrite(
            lambda b: isinstance(b.get("first"), int) and b["first"] > 0 and b.__setitem__("first", b["first"] + 1)),
          ops=("/get-tasks",)),
        F("contains_as_starts_with", on_request=where_rewrite(
            lambda k, v: (k.replace("_contains", "_starts_with"), v))),
        F("ends_with_ignored", on_request=where_rewrite(lambda k, v: None if k.endswith("_ends_with") else (k, v))),
        F("in_empty_matches_all", on_request=where_rewrite(
            lambda k, v: None if k.endswith("_in") and not k.endswith("_not_in") and v == [] else (k, v))),
        F("not_in_null_ignored", on_request=where_rewrite(
            lambda k, v: None if k.endswith("_not_in") and v is None else (k, v))),
        F("every_as_some", on_request=where_rewrite(lambda k, v: (k[:-6] + "_some", v) if k.endswith("_every")
                                                    else (k, v))),
        F("none_as_every", on_request=where_rewrite(lambda k, v: (k[:-5] + "_every", v) if k.endswith("_none")
                                                    else (k, v))),
        F("not_list_as_nand", on_request=where_rewrite(_not_list_as_and)),
        F("or_empty_matches_all", on_request=where_rewrite(lambda k, v: None if k == "OR" and v == [] else (k, v))),
        F("gt_as_gte", on_request=where_rewrite(lambda k, v: (k[:-3] + "_gte", v) if k.endswith("_gt") else (k, v))),
        F("lte_as_lt", on_request=where_rewrite(lambda k, v: (k[:-4] + "_lt", v) if k.endswith("_lte") else (k, v))),
        F("count_ignores_where", on_request=body_rewrite(lambda b: b.pop("where", None)), ops=("/get-vms-connection",)),
        F("count_ignores_pagination", on_request=body_rewrite(
            lambda b: [b.pop(k, None) for k in ("first", "skip", "last", "after", "before")]), ops=COUNTS),
        F("task_never_finishes", on_response=tasks(_task_status("SUCCESSED", "EXECUTING")), ops=("/get-tasks",)),
        F("task_false_success", on_response=tasks(_task_status("FAILED", "SUCCESSED")), ops=("/get-tasks",)),
        F("async_status_left", on_response=records(
            lambda x: str(x.get("name", "")).startswith("ctm-") and x.__setitem__("entityAsyncStatus", "UPDATING")),
          ops=("/get-vms",)),
        F("delete_does_nothing", on_request=body_rewrite(lambda b: b.__setitem__("where", {"id": "cnosuch0000"})),
          ops=("/delete-vm",)),
        F("snapshot_refs_dangling", on_response=records(lambda s: [d.__setitem__("snapshot_local_id", "gone-" + str(
            d.get("snapshot_local_id"))) for d in s.get("vm_disks") or [] if d.get("snapshot_local_id")]),
          ops=("/get-vm-snapshots",)),
    ]
    return {f.name: f for f in faults}
