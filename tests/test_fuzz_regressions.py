"""Regressions found by fuzzing the real 4.6.0 spec against the mock (schemathesis, run from
outside with the spec file): each test pins one defect's fix, on the SDK-derived contract the
server uses by default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def post(app, auth):
    client = app.test_client()

    def call(op: str, body):
        r = client.post(f"/v2/api/{op}", json=body, headers=auth)
        return r.status_code, r.get_json()
    return call


def _error_body(status: int, data, op: str) -> None:
    assert 400 <= status < 500, (status, data)
    assert set(data) >= {"message", "status", "path"} and data["status"] == status and data["path"] == f"/{op}"


def test_null_on_an_optional_rest_param_is_rejected(post):
    """The spec's REST params (tsoa) take no null on an optional key; the SDK cannot say so,
    so the derivation used to make every optional key nullable and accepted `null`."""
    status, data = post("update-password-security", {"password_expire_days": None})
    _error_body(status, data, "update-password-security")
    assert "password_expire_days" in data["message"]
    status, data = post("update-alert-notifier", {"disabled": None})
    _error_body(status, data, "update-alert-notifier")
    status, data = post("create-vm-snapshot", {"data": [{"vm_id": "x", "name": "s", "consistent_type": None}]})
    _error_body(status, data, "create-vm-snapshot")
    assert "consistent_type" in data["message"]


def test_null_stays_accepted_where_the_spec_allows_it(post, sdk_contract):
    # GraphQL-side inputs: every optional key nullable
    status, _ = post("get-vms", {"where": {"name": None, "AND": None}, "first": None})
    assert status == 200
    # a REST param field the spec itself declares nullable (generated table)
    sch = sdk_contract.doc["components"]["schemas"]
    assert sch["VmNicQosTraffic"]["properties"]["rate_limit"].get("nullable") is True
    assert sch["LoginInput"]["properties"]["source"].get("nullable") is True
    assert not sch["VmCreationParams"]["properties"]["description"].get("nullable")
    # response models keep nullable optional keys
    assert sch["Vm"]["properties"]["description"].get("nullable") is not False


def test_open_and_closed_inputs_follow_the_spec(post, sdk_contract):
    """Get*RequestBody is closed by rule, but the spec leaves a few open (an extra key is
    valid there); LogServiceConfigsInput is closed although the rule leaves *Input open."""
    sch = sdk_contract.doc["components"]["schemas"]
    assert "additionalProperties" not in sch["GetMetaLeaderRequestBody"]
    assert sch["LogServiceConfigsInput"].get("additionalProperties") is False
    assert sch["GetVmsRequestBody"].get("additionalProperties") is False
    status, data = post("get-meta-leader", {"where": {}, "zz_extra": 1})
    assert not (status == 400 and "zz_extra" in data.get("message", "")), data
    status, data = post("get-log-service-configs", {"input": {"cluster": {"id": "x"}, "zz_extra": 1}})
    _error_body(status, data, "get-log-service-configs")
    assert "zz_extra" in data["message"]


def test_an_undeclared_key_of_an_open_params_object_is_not_stored(post):
    """update-password-security merged every body key into GlobalSettings.auth, so a key the
    params do not declare came back in `auth` (closed in the spec): a non-conforming 200."""
    status, data = post("update-password-security", {"zz_unknown": 1, "password_expire_days": 30})
    assert status == 200
    auth = data["data"]["auth"]
    assert "zz_unknown" not in auth and auth["password_expire_days"] == 30
    status, rows = post("get-global-settingses", {})
    assert status == 200 and rows and all("zz_unknown" not in (r.get("auth") or {}) for r in rows)


def test_input_facts_table_is_what_the_tool_generates_from_the_spec(tmp_path):
    from helpers import SPEC
    out = tmp_path / "facts.json"
    subprocess.run([sys.executable, str(REPO / "tools" / "gen_input_facts.py"), SPEC, "-o", str(out)],
                   check=True, capture_output=True)
    committed = json.loads((REPO / "mock_server" / "contract" / "input_facts.json").read_text())
    assert json.loads(out.read_text()) == committed
    assert "GetMetaLeaderRequestBody" in committed["open"] and "VmNicQosTraffic.rate_limit" in committed["nullable"]
    bad = subprocess.run([sys.executable, str(REPO / "tools" / "gen_input_facts.py"), str(tmp_path / "none.json")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


@pytest.mark.parametrize("raw", [b"\x0b", b"\x0c", b" \x0b\n"])
def test_a_body_of_non_json_whitespace_is_invalid_json(app, auth, raw):
    """`bytes.strip()` also strips \\x0b and \\x0c, so such a body passed for an empty one
    (schemathesis: a schema-violating request accepted); JSON whitespace is only space, tab,
    CR and LF."""
    r = app.test_client().post("/v2/api/get-ipmis", data=raw, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.get_json()["message"]
    r = app.test_client().post("/v2/api/get-ipmis", data=b" \r\n\t", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 200


def test_where_on_a_security_group_key_the_sdk_lacks_is_a_clear_400(post):
    """The spec's SecurityGroupWhereInput is open and has keys (member_type, ips*) that the SDK
    2.20.0 and so the mock's resource lack: no 500, an ErrorBody naming the key; and where such
    a filter is only stored (an isolation policy's target), it is refused, not kept unchecked."""
    for where, key in (({"member_type": "VM"}, "member_type"), ({"ips_contains": "10."}, "ips_contains"),
                       ({"zz_unknown": 1}, "zz_unknown")):
        status, data = post("get-security-groups", {"where": where})
        _error_body(status, data, "get-security-groups")
        assert key in data["message"]
    status, data = post("get-security-groups", {"where": {"name_contains": "a"}})
    assert status == 200 and isinstance(data, list)
    target = {"type": "ALL", "security_groups": {"ips_starts_with": ["not", "a string"]}}
    status, data = post("update-isolation-policy", {"where": {"id": "nope"}, "data": {"egress": [{"target": target}]}})
    _error_body(status, data, "update-isolation-policy")
    assert "ips_starts_with" in data["message"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "TRACE"])
def test_an_undeclared_method_gets_405_with_allow(app, auth, method):
    """schemathesis' unsupported_method check: an operation's path answers a method the spec
    does not declare with 405 and `Allow`, in the API's error shape (it was a 404)."""
    r = app.test_client().open("/v2/api/get-vms", method=method, headers=auth)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    body = r.get_json()
    assert body["status"] == 405 and body["path"] == "/get-vms" and "use POST" in body["message"]
    assert r.headers.get("x-tower-request-id")
    r = app.test_client().open("/v2/api/get-vms", method=method)      # before auth, as routing
    assert r.status_code == 405


def test_a_bounded_scalar_of_the_spec_is_range_checked(post):
    """GetClusterStorageInfoEffect.replica items are ReplicaNum (2..3) in the spec; the SDK
    says only `int`, so 7 was accepted."""
    status, data = post("get-cluster-storage-info", {"effect": {"replica": [7]}, "where": {}})
    _error_body(status, data, "get-cluster-storage-info")
    assert "replica" in data["message"]
    status, _ = post("get-cluster-storage-info", {"effect": {"replica": [2, 3]}, "where": {}})
    assert status == 200


def test_an_integer_literal_past_int64_is_out_of_range(app, auth):
    """-9223372036854775809 parses as a float that rounds to int64's minimum, so it passed
    the int64 range check (the harness' schema suite: an invalid request accepted)."""
    client = app.test_client()
    for lit in (b"-9223372036854775809", b"9223372036854775808", b"1e300"):
        raw = b'{"where": {"id": "nope"}, "data": {"size": ' + lit + b'}}'
        r = client.post("/v2/api/update-vm-volume", data=raw, headers={**auth, "Content-Type": "application/json"})
        assert r.status_code == 400 and "data.size" in r.get_json()["message"], (lit, r.get_json())
    raw = b'{"where": {"id": "nope"}, "data": {"size": -9223372036854775808}}'
    r = client.post("/v2/api/update-vm-volume", data=raw, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 200


def test_the_harness_takes_405_for_a_method_the_operation_does_not_answer(sdk_contract):
    """The harness' checker: a 405 is HTTP's answer to another method (not an undeclared
    status of the operation); a 405 to the operation's own method still is one."""
    import requests

    from contract_tests.checks import Inspector
    from contract_tests.exchange import Exchange
    from contract_tests.report import STATUS_CODE, SuiteResult

    def exchange(method: str) -> Exchange:
        r = requests.Response()
        r.status_code = 405
        r.headers.update({"Content-Type": "application/json", "x-tower-request-id": "a" * 32, "Allow": "GET"})
        r._content = json.dumps({"message": "no", "status": 405, "path": "/get-version"}).encode()
        r.request = requests.Request(method, "http://x/v2/api/get-version").prepare()
        return Exchange(op="/get-version", url="http://x/v2/api/get-version", response=r)

    for method, flagged in (("POST", False), ("GET", True)):
        res = SuiteResult("schema")
        inspector = Inspector(sdk_contract)
        inspector.bind(res)
        inspector(exchange(method))
        assert any(f.kind == STATUS_CODE for f in res.failures) is flagged, (method, res.failures)


def test_a_mutation_without_a_body_is_refused_but_a_query_without_one_is_empty(app, auth):
    """The spec requires every body; queries posted with none stay {} (real scripts do that),
    but update-alert-notifier without a body ran as {} (schemathesis: a schema-violating
    request accepted)."""
    client = app.test_client()
    for op in ("update-alert-notifier", "update-password-security", "create-vm-snapshot"):
        r = client.post(f"/v2/api/{op}", headers=auth)
        assert r.status_code == 400 and r.get_json()["message"] == "request body is required", op
    for op in ("get-vms", "get-vms-connection", "get-tasks"):
        r = client.post(f"/v2/api/{op}", headers=auth)
        assert r.status_code == 200, op


def test_an_undeclared_multipart_field_of_an_open_form_is_ignored(app, auth):
    """The spec's multipart forms are open; parse-ovf answered 400 "unknown multipart field"
    to an extra text field (schemathesis: a schema-valid request rejected)."""
    import io
    client = app.test_client()
    data = {"file": (io.BytesIO(b"<Envelope/>"), "a.ovf"), "cluster_id": "nope", "zz_extra": "1"}
    r = client.post("/v2/api/parse-ovf", data=data, headers=auth, content_type="multipart/form-data")
    assert "zz_extra" not in (r.get_json() or {}).get("message", ""), r.get_json()
    assert r.status_code < 500
    r = client.post("/v2/api/parse-ovf", data={"cluster_id": "nope"}, headers=auth, content_type="multipart/form-data")
    assert r.status_code == 400 and "file" in r.get_json()["message"]
