"""The server speaks whichever real CloudTower spec it is given (--spec): 2.8.0 .. 4.6.0."""

from __future__ import annotations

import pytest

from conftest import spec_path

VERSIONS = ["2.8.0", "3.4.4", "4.3.0", "4.6.0"]


@pytest.fixture(scope="module", params=VERSIONS)
def spec_app(request):
    p = spec_path(request.param)
    if not p.exists():
        pytest.skip(f"spec not available: {p}")
    from mock_server.app import create_app
    from mock_server.contract.loader import load_contract
    from mock_server.state import MockConfig
    contract = load_contract(p)
    app = create_app(MockConfig(spec=str(p), task_speed=0), contract=contract)
    client = app.test_client()
    token = client.post("/v2/api/login", json={"username": "root", "password": "root", "source": "LOCAL"}).json["data"]["token"]
    return request.param, contract, app.config["MOCK_STATE"], client, {"Authorization": token}


def test_every_list_and_count_answers_valid_and_non_empty(spec_app):
    version, contract, state, client, h = spec_app
    assert contract.version == version
    checked = 0
    for op in contract.operations.values():
        if op.family not in ("list", "connection"):
            continue
        r = client.post("/v2/api" + op.path, json={}, headers=h)
        assert r.status_code == 200, (op.path, r.json)
        state.validator.validate(op.response_schema, r.json, op.path)
        if op.family == "list":
            assert r.json, f"{op.path} is empty in the default world of {version}"
        else:
            assert r.json["aggregate"]["count"] > 0, op.path
        checked += 1
    assert checked == sum(1 for o in contract.operations.values() if o.family in ("list", "connection"))


def test_version_specific_error_shapes(spec_app):
    version, contract, state, client, h = spec_app
    r = client.post("/v2/api/get-vms", json={"where": {"nope": 1}}, headers=h)
    assert r.status_code == 400 and r.json["path"] == "/get-vms"
    state.validator.validate({"$ref": "#/components/schemas/ErrorBody"}, r.json)
    r = client.post("/v2/api/get-vms", json={}, headers={**h, "content-language": "xx"})
    assert r.status_code == 400
    assert client.get("/v2/api/get-version").json == version
    assert client.post("/v2/api/get-vms", json={}).status_code == 401
