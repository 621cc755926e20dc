"""The admin API is described by its own OpenAPI document and every request is checked against
it: a wrong type, an unknown key or query parameter gets 400 naming the field, nothing changed."""

from __future__ import annotations

import pytest

from mock_server.app import create_app
from mock_server.state import MockConfig


@pytest.fixture(scope="module")
def app(sdk_contract):
    return create_app(MockConfig(task_speed=0), contract=sdk_contract)


@pytest.fixture
def client(app):
    return app.test_client()


def _shape(path: str) -> str:
    import re
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def test_every_admin_route_is_in_the_document(app, client):
    doc = client.get("/_mock/openapi.json").json
    documented = {(m.upper(), _shape(p)) for p, item in doc["paths"].items() for m in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/_mock/") or "<path:rest>" in rule.rule or rule.rule.startswith("/_mock/ui"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, _shape(rule.rule[len("/_mock"):])) in documented, (method, rule.rule)


@pytest.mark.parametrize("path, body, field", [
    ("clock/speed", {"speed": "fast"}, "speed"),
    ("clock/advance", {"seconds": [1]}, "seconds"),
    ("clock/advance", {"secs": 1}, "secs"),
    ("reset", {"all": "yes"}, "all"),
    ("seed", {"seed": 1.5}, "seed"),
    ("faults", {"kind": "error", "status": "bad"}, "status"),
    ("faults", {"kind": "boom"}, "kind"),
])
def test_bad_admin_input_names_the_field(client, path, body, field):
    before = client.get("/_mock/clock").json
    r = client.post(f"/_mock/{path}", json=body)
    assert r.status_code == 400, r.json
    assert field in r.json["message"] and r.json["path"] == f"/_mock/{path}"
    assert client.get("/_mock/faults").json["faults"] == []
    assert client.get("/_mock/clock").json["speed"] == before["speed"]


@pytest.mark.parametrize("query, word", [("limit=x", "limit"), ("colour=red", "colour"), ("full=2", "full")])
def test_bad_query_parameters_are_named(client, query, word):
    r = client.get(f"/_mock/journal?{query}")
    assert r.status_code == 400 and word in r.json["message"]


def test_body_must_be_a_json_object(client):
    r = client.post("/_mock/clock/speed", data="[1]", content_type="application/json")
    assert r.status_code == 400 and "JSON object" in r.json["message"]
    r = client.post("/_mock/clock/speed", data="{", content_type="application/json")
    assert r.status_code == 400 and "not valid JSON" in r.json["message"]
