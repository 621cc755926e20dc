"""The contract-driven server, driven by the official SDK (cloudtower-sdk 2.20.0) and raw HTTP."""

from __future__ import annotations

import pytest
import requests

from cloudtower.api.cluster_api import ClusterApi
from cloudtower.api.user_api import UserApi
from cloudtower.api.vm_api import VmApi
from cloudtower.exceptions import ApiException, UnauthorizedException
from cloudtower.models import (GetClustersRequestBody, GetVmsConnectionRequestBody, GetVmsRequestBody,
                               LoginInput, UserSource, VmWhereInput)


def post(live, op, body=None, token=None, headers=None, **kw):
    h = dict(headers or {})
    if token:
        h["Authorization"] = token
    return requests.post(f"{live.url}/v2/api/{op}", json=body, headers=h, **kw)


# ------------------------------------------------------------------------- SDK
def test_sdk_login_and_list_vms_and_clusters(api_client):
    vms = VmApi(api_client).get_vms(GetVmsRequestBody(first=5))
    assert 0 < len(vms) <= 5
    assert all(v.id.startswith("c") and len(v.id) == 25 for v in vms)
    clusters = ClusterApi(api_client).get_clusters(GetClustersRequestBody())
    assert clusters
    cluster_ids = {c.id for c in clusters}
    assert all(v.cluster is None or v.cluster.id in cluster_ids for v in vms)


def test_sdk_filter_and_count_agree(api_client):
    api = VmApi(api_client)
    vm = api.get_vms(GetVmsRequestBody(first=1))[0]
    same = api.get_vms(GetVmsRequestBody(where=VmWhereInput(name=vm.name)))
    assert vm.id in {v.id for v in same}
    count = api.get_vms_connection(GetVmsConnectionRequestBody(where=VmWhereInput(name=vm.name)))
    assert count.aggregate.count == len(same)


def test_sdk_validation_error_is_400(api_client):
    with pytest.raises(ApiException) as err:
        VmApi(api_client).get_vms(GetVmsRequestBody(first=-1))
    assert err.value.status == 400
    assert "non negative" in err.value.body


def test_sdk_without_token_is_401(live):
    from cloudtower import ApiClient, Configuration
    client = ApiClient(Configuration(host=live.url + "/v2/api"))
    with pytest.raises(UnauthorizedException):
        VmApi(client).get_vms(GetVmsRequestBody())


def test_sdk_wrong_password_is_rejected(live):
    from cloudtower import ApiClient, Configuration
    client = ApiClient(Configuration(host=live.url + "/v2/api"))
    with pytest.raises(ApiException) as err:
        UserApi(client).login(LoginInput(username="root", password="nope", source=UserSource.LOCAL))
    assert 400 <= err.value.status < 500


# ------------------------------------------------------------------------- HTTP
def test_request_id_header_is_unique(live, token):
    ids = {post(live, "get-clusters", {}, token).headers["x-tower-request-id"] for _ in range(3)}
    assert len(ids) == 3


def test_bearer_and_raw_token_both_work(live, token):
    assert post(live, "get-clusters", {}, token).status_code == 200
    assert post(live, "get-clusters", {}, "Bearer " + token).status_code == 200
    assert post(live, "get-clusters", {}, "Bearer nonsense").status_code == 401


def test_unknown_operation_is_404_error_body(live, token):
    r = post(live, "get-unicorns", {}, token)
    assert r.status_code == 404
    assert r.json()["path"] == "/get-unicorns" and r.json()["status"] == 404


@pytest.mark.parametrize("body, fragment", [
    ({"where": {"vcpu_gt": "abc"}}, "where.vcpu_gt"),
    ({"where": {"no_such_field": 1}}, "no_such_field"),
    ({"first": 2 ** 31}, "first"),
    ({"orderBy": "bogus_ASC"}, "orderBy"),
    ({"where": {"status": "FLYING"}}, "where.status"),
    ({"where": {"name_in": [None]}}, "where.name_in[0]"),
    ({"unknown_top": 1}, "unknown_top"),
    ([1, 2], "expected object"),
])
def test_bad_bodies_are_400_naming_the_field(live, token, body, fragment):
    r = post(live, "get-vms", body, token)
    assert r.status_code == 400, r.text
    err = r.json()
    assert fragment in err["message"]
    assert err["status"] == 400 and err["path"] == "/get-vms"


def test_malformed_json_and_wrong_content_type(live, token):
    h = {"Authorization": token, "Content-Type": "application/json"}
    r = requests.post(f"{live.url}/v2/api/get-vms", data=b"{nope", headers=h)
    assert r.status_code == 400 and "JSON" in r.json()["message"]
    r = requests.post(f"{live.url}/v2/api/get-vms", data=b"a=1",
                      headers={"Authorization": token, "Content-Type": "text/plain"})
    assert r.status_code == 400 and "Content-Type" in r.json()["message"]


def test_numeric_strings_in_numeric_where_fields(live, token):
    as_string = post(live, "get-vms", {"where": {"vcpu_gt": "2"}}, token).json()
    as_int = post(live, "get-vms", {"where": {"vcpu_gt": 2}}, token).json()
    assert [v["id"] for v in as_string] == [v["id"] for v in as_int]
    assert all(v["vcpu"] > 2 for v in as_int)


def test_empty_body_on_list_and_connection(live, token):
    r = requests.post(f"{live.url}/v2/api/get-vms-connection", headers={"Authorization": token})
    assert r.status_code == 200 and r.json()["aggregate"]["count"] > 0


def test_content_language(live, token):
    r = post(live, "get-vms", {"where": {"bogus": 1}}, token, headers={"content-language": "zh-CN"})
    assert r.status_code == 400 and "未知字段" in r.json()["message"]
    r = post(live, "get-vms", {"where": {"bogus": 1}}, token, headers={"content-language": "en-US"})
    assert "unknown field" in r.json()["message"]
    assert post(live, "get-vms", {}, token, headers={"content-language": "*"}).status_code == 200
    r = post(live, "get-vms", {}, token, headers={"content-language": "fr-FR"})
    assert r.status_code == 400 and "content-language" in r.json()["message"]


def test_get_operations_and_openapi(live, sdk_contract):
    r = requests.get(f"{live.url}/v2/api/get-version")
    assert r.status_code == 200 and r.json().startswith("4.6")
    doc = requests.get(f"{live.url}/v2/api/openapi.json").json()
    assert len(doc["paths"]) == len(sdk_contract.operations) == 554
    r = requests.post(f"{live.url}/v2/api/get-version")
    assert r.status_code == 405 and r.headers["Allow"] == "GET"


def test_resource_changes_takes_basic_auth(live, token):
    url = f"{live.url}/v2/api/resource-changes"
    assert requests.get(url).status_code == 401
    r = requests.get(url, auth=("root", "root"), params={"resource_type": "VM,HOST", "limit": 100})
    assert r.status_code == 200 and {"currentRevision", "compactRevision", "data", "ec"} <= set(r.json())
    assert requests.get(url, auth=("root", "root"), params={"limit": 0}).status_code == 400


def test_no_auth_operations(live):
    assert requests.get(f"{live.url}/v2/api/get-version").status_code == 200
    assert post(live, "login", {"username": "root", "password": "root"}).status_code == 200


# ---------------------------------------------------------------------- GraphQL
def gql(live, query, variables=None, token=None):
    h = {"Authorization": token} if token else {}
    return requests.post(f"{live.url}/api", json={"query": query, "variables": variables or {}}, headers=h)


def test_graphql_authn_strategies_without_token(live):
    r = gql(live, "{authnStrategies{id type}}")
    assert r.status_code == 200
    types = {s["type"] for s in r.json()["data"]["authnStrategies"]}
    assert "LDAP" in types


def test_sdk_ldap_login_path(live, token):
    """The SDK's own LDAP helper asks GraphQL for the strategy, then logs in with source AUTHN
    (as an LDAP user: the LOCAL root does not log in through LDAP)."""
    from cloudtower import ApiClient, Configuration
    from cloudtower.utils import login
    role = post(live, "get-user-role-nexts", {"first": 1}, token).json()[0]["id"]
    made = post(live, "create-user", [{"username": "ldap-sdk", "name": "L", "role_id": role, "password": "dir-pw",
                                       "source": "LDAP"}], token)
    assert made.status_code == 200, made.text
    client = ApiClient(Configuration(host=live.url + "/v2/api"))
    login(client, "ldap-sdk", "dir-pw", UserSource.LDAP)
    assert client.configuration.api_key["Authorization"]
    assert VmApi(client).get_vms(GetVmsRequestBody(first=1))
    with pytest.raises(ApiException) as e:
        login(ApiClient(Configuration(host=live.url + "/v2/api")), "root", "root", UserSource.LDAP)
    assert e.value.status == 400 and "NOT_MATCH_USER_OR_PASSWORD_INCORRECT" in e.value.body


def test_graphql_api_key_lifecycle(live, token):
    q = "mutation createApiKey($name: String!) { createApiKey(data:{name:$name}) { id key roles { id preset } } }"
    created = gql(live, q, {"name": "ci"}, token).json()["data"]["createApiKey"]
    key = created["key"]
    assert post(live, "get-clusters", {}, key).status_code == 200
    q = "mutation deleteApiKey($key: String!) { deleteApiKey(where:{key:$key}) { id } }"
    assert gql(live, q, {"key": key}, token).json()["data"]["deleteApiKey"]["id"] == created["id"]
    assert post(live, "get-clusters", {}, key).status_code == 401


def test_graphql_vnc_and_unknown_field(live, token):
    vm = post(live, "get-vms", {"first": 1}, token).json()[0]
    q = ("query vnc($input: VncInput!) { vnc(input: $input) { vm_uuid host_ip cluster_ip raw_token token } }")
    vnc = gql(live, q, {"input": {"vm": {"id": vm["id"]}}}, token).json()["data"]["vnc"]
    assert vnc["vm_uuid"] == vm["local_id"] and len(vnc["raw_token"]) == 32
    r = gql(live, "{ unicorns { id } }", token=token)
    assert r.status_code == 200 and r.json()["errors"][0]["message"].startswith("Cannot query field")
    assert gql(live, "{ broken", token=token).status_code == 400


def test_resource_changes_feed_follows_writes(live, token):
    url = f"{live.url}/v2/api/resource-changes"
    before = requests.get(url, auth=("root", "root")).json()["currentRevision"]
    r = post(live, "create-label", [{"key": "feed", "value": "v1"}], token)
    assert r.status_code == 200, r.text
    label_id = r.json()[0]["data"]["id"]
    feed = requests.get(url, auth=("root", "root"),
                        params={"start_revision": before, "resource_type": "LABEL,VM"}).json()
    created = [e for e in feed["data"] if e["resource_id"] == label_id and e["action"] == "CREATE"]
    assert created and created[0]["resource_type"] == "LABEL" and '"feed"' in created[0]["new_value"]
    assert int(feed["currentRevision"]) > int(before) >= int(feed["compactRevision"])
    only = requests.get(url, auth=("root", "root"), params={"resource_id": label_id, "limit": 1}).json()
    assert len(only["data"]) == 1 and only["data"][0]["resource_id"] == label_id
    # a watcher polls again from the last revision it has seen: nothing is repeated
    last = feed["data"][-1]["revision"]
    again = requests.get(url, auth=("root", "root"), params={"start_revision": last}).json()
    assert all(int(e["revision"]) > int(last) for e in again["data"])
