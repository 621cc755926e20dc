"""No input reaches a traceback: deep, wide, huge, badly encoded and wrongly typed inputs get a
4xx in the API's error shape (never a 5xx), the server stays alive after each, and the admin
journal still serialises whatever was sent."""

from __future__ import annotations

import http.client
import socket

import orjson
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.limits import parse_size, too_deep

LIST_OPS = ["get-vms", "get-clusters", "get-hosts", "get-labels", "get-tasks", "get-vm-snapshots"]
ANY_OPS = LIST_OPS + ["create-label", "update-label", "delete-label", "create-vm", "vm-start", "get-vms-connection"]
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(scope="module")
def server(sdk_contract):
    from mock_server.app import create_app
    from mock_server.server import serve_in_thread
    from mock_server.state import MockConfig
    app = create_app(MockConfig(task_speed=0, max_body=parse_size("2MiB")), contract=sdk_contract)
    app.config["MOCK_STATE"].world()
    srv = serve_in_thread(app, threads=4)
    srv.session = requests.Session()
    token = srv.session.post(srv.api_url + "/login", json={"username": "root", "password": "root"}).json()
    srv.auth = {"Authorization": token["data"]["token"]}
    yield srv
    srv.stop()


def send(server, op: str, raw: bytes, ctype: str = "application/json") -> requests.Response:
    r = server.session.post(f"{server.api_url}/{op}", data=raw, headers=dict(server.auth, **{"Content-Type": ctype}),
                            timeout=60)
    assert r.status_code < 500, (op, r.status_code, r.text[:300])
    return r


def assert_error_body(r: requests.Response, status: int | None = None) -> dict:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if status is not None:
        assert r.status_code == status, r.text[:300]
    body = r.json()
    assert isinstance(body.get("message"), str) and body.get("status") == r.status_code
    return body


def assert_alive(server) -> None:
    assert requests.get(server.url + "/api/healthz", timeout=10).status_code == 200
    j = requests.get(server.url + "/_mock/journal?full=1&limit=3", timeout=30)
    assert j.status_code == 200, j.text[:300]
    orjson.loads(j.content)


# ------------------------------------------------------------------ building inputs
KEYS = st.sampled_from(["where", "AND", "OR", "NOT", "host", "vms_some", "cluster", "name", "id_in", "x"])


def nested(depth: int, keys: list[str], leaf: bytes = b'"x"') -> bytes:
    """`depth` levels of objects/arrays (raw bytes: deeper than any encoder goes)."""
    out = leaf
    for i in range(depth):
        k = keys[i % len(keys)]
        out = b"[" + out + b"]" if k == "[" else b'{"' + k.encode() + b'":' + out + b"}"
    return out


@FUZZ
@given(op=st.sampled_from(ANY_OPS), depth=st.integers(65, 3000),
       keys=st.lists(st.one_of(KEYS, st.just("[")), min_size=1, max_size=5))
def test_deep_nesting_is_refused_naming_the_limit(server, op, depth, keys):
    r = send(server, op, nested(depth, keys))
    body = assert_error_body(r, 400)
    assert "64 levels" in body["message"] or "not valid JSON" not in body["message"]
    assert_alive(server)


def test_nesting_within_the_limit_is_served(server):
    where = b'{"name":"x"}'
    for _ in range(30):                                    # 30 relation hops: 62 levels
        where = b'{"host":{"vms_some":' + where + b"}}"
    r = send(server, "get-vms", b'{"where":' + where + b"}")
    assert r.status_code == 200 and r.json() == []
    deeper = b'{"where":' + b'{"host":{"vms_some":' * 40 + b'{"name":"x"}' + b"}}" * 40 + b"}"
    body = assert_error_body(send(server, "get-vms", deeper), 400)
    assert "limit of 64 levels" in body["message"] and "where.host.vms_some" in body["message"]


@FUZZ
@given(op=st.sampled_from(LIST_OPS), n=st.integers(10_000, 100_000),
       kind=st.sampled_from(["strings", "ints", "nulls", "objects", "mixed"]),
       key=st.sampled_from(["id_in", "name_in", "id_not_in", "local_id_in"]))
def test_wide_in_lists(server, op, n, kind, key):
    items = {"strings": [f"id-{i}" for i in range(n)], "ints": list(range(n)), "nulls": [None] * n,
             "objects": [{"a": i} for i in range(n)], "mixed": [i if i % 2 else str(i) for i in range(n)]}[kind]
    r = send(server, op, orjson.dumps({"where": {key: items}}))
    if kind != "strings":
        assert_error_body(r, 400)
    assert_alive(server)


@FUZZ
@given(n=st.integers(1000, 20_000))
def test_wide_objects(server, n):
    assert_error_body(send(server, "get-vms", orjson.dumps({"where": {f"k{i}": i for i in range(n)}})), 400)
    assert_alive(server)


@pytest.mark.parametrize("size", [2 * 1024 ** 2 + 1, 10_000_000, 50_000_000])
def test_huge_bodies_get_413_in_the_error_shape(server, size):
    raw = b'{"where":{"name":"' + b"a" * (size - 20) + b'"}}'
    body = assert_error_body(send(server, "get-vms", raw), 413)
    assert "2 MiB" in body["message"] and "--max-body" in body["message"]
    assert_alive(server)


def test_huge_chunked_body_gets_413(server):
    def gen():
        yield b'{"where":{"name":"'
        for _ in range(400):
            yield b"a" * 65536
        yield b'"}}'
    r = requests.post(server.api_url + "/get-vms", data=gen(), headers=dict(server.auth, **{
        "Content-Type": "application/json"}), timeout=60)
    assert_error_body(r, 413)
    assert_alive(server)


def test_a_declared_huge_body_is_refused_before_it_is_sent(server):
    """A client that declares 10 GB gets 413 at once (nothing is read) and the connection closes."""
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.sendall(b"POST /v2/api/get-vms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 10000000000\r\n\r\n{")
        data = s.recv(65536)
    assert data.startswith(b"HTTP/1.1 413")
    assert_alive(server)


@FUZZ
@given(junk=st.binary(min_size=1, max_size=300), op=st.sampled_from(ANY_OPS))
def test_invalid_utf8_and_junk_bytes(server, junk, op):
    raw = b'{"where":{"name":"' + b"\xff\xfe" + junk + b'"}}'
    assert_error_body(send(server, op, raw), 400)
    r = send(server, op, junk)
    if r.status_code >= 400:
        assert_error_body(r)
    assert_alive(server)


# ------------------------------------------------------------------ wrong types at every level
SAMPLE = {"where": {"name": "x", "AND": [{"id": "y", "cluster": {"name_in": ["a", "b"]}}],
                    "vcpu_gt": 1, "in_recycle_bin": False},
          "orderBy": "name_ASC", "first": 2, "skip": 0}
WRONG = st.one_of(st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False), st.booleans(), st.text(max_size=5),
                  st.just([]), st.just({}), st.lists(st.integers(), max_size=3),
                  st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


PATHS = list(_paths(SAMPLE))


def _replace(value, path, new):
    if not path:
        return new
    value = orjson.loads(orjson.dumps(value))
    node = value
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = new
    return value


@FUZZ
@given(path=st.sampled_from(PATHS), new=WRONG, op=st.sampled_from(["get-vms", "get-vms-connection"]))
def test_wrong_types_at_every_level(server, path, new, op):
    body = _replace(SAMPLE, path, new)
    r = send(server, op, orjson.dumps(body))
    if r.status_code >= 400:
        assert_error_body(r)
    assert_alive(server)


# ------------------------------------------------------------------ the other entry points
def test_graphql_and_admin_refuse_deep_and_huge_inputs(server):
    deep = nested(600, ["a", "["])
    r = requests.post(server.url + "/api", data=b'{"query":"{ vms { id } }","variables":' + deep + b"}",
                      headers=dict(server.auth, **{"Content-Type": "application/json"}), timeout=30)
    assert r.status_code == 400 and "64 levels" in r.text
    for path in ("/_mock/faults", "/_mock/stubs", "/_mock/requests/find", "/_mock/state", "/_mock/reset"):
        r = requests.post(server.url + path, data=b'{"body":' + deep + b"}",
                          headers={"Content-Type": "application/json"}, timeout=30)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])
        assert isinstance(r.json().get("message"), str)
    r = requests.post(server.url + "/_mock/state", data=b"[" * 100_000, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    big = b'{"query":"' + b"a" * (70 * 1024 ** 2) + b'"}'
    r = requests.post(server.url + "/api", data=big, headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413 and r.json()["status"] == 413
    assert_alive(server)


def test_the_journal_keeps_deep_bodies_and_still_serialises(server):
    raw = b'{"where":' + nested(300, ["AND", "["]) + b"}"
    assert_error_body(send(server, "get-vms", raw), 400)
    j = requests.get(server.url + "/_mock/journal?full=1&operation=get-vms&limit=1").json()
    assert j["entries"][-1]["status"] == 400
    assert too_deep(j["entries"][-1]["body"], 250) is not None        # kept as sent


def test_bad_http_framing(server):
    """Nonsense on the wire: the HTTP server answers or closes; the mock lives on."""
    for junk in (b"GARBAGE\r\n\r\n", b"POST /v2/api/get-vms HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                 b"POST /v2/api/get-vms HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        with socket.create_connection((server.host, server.port), timeout=10) as s:
            s.sendall(junk)
            try:
                s.recv(4096)
            except OSError:
                pass
    c = http.client.HTTPConnection(server.host, server.port, timeout=10)
    c.request("GET", "/api/healthz")
    assert c.getresponse().status == 200
    assert_alive(server)
