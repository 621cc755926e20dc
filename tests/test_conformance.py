"""Conformance sweep: every read operation of the real 4.6.0 spec (every list and connection
query, every other get-*: metrics, meta leader, witness services, ...) answers the seeded
world with a body that the spec's response schema accepts, checked by an independent
validator (jsonschema, with OpenAPI's nullable and int32 made explicit), on the default world
and again after clusters were deleted (no required relation may then read null)."""

from __future__ import annotations

import json

import pytest

from helpers import SPEC
from mock_server.world.generator import generate
from test_invariants import Api

jsonschema_rs = pytest.importorskip("jsonschema_rs")

INT32 = (-(2 ** 31), 2 ** 31 - 1)


def to_json_schema(node):
    """OpenAPI 3.0 -> JSON Schema: `nullable` becomes a null alternative, int32 a range."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in ("nullable", "example", "discriminator")}
    if out.get("type") == "integer" and out.get("format") == "int32":
        out.setdefault("minimum", INT32[0])
        out.setdefault("maximum", INT32[1])
    if node.get("nullable"):
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
        if isinstance(out.get("type"), str) and "allOf" not in out and "$ref" not in out:
            out["type"] = [out["type"], "null"]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def spec_validator():
    """(spec, validate(path, body) -> errors): one compiled validator whose properties are the
    200 response schemas of the read operations, keyed by path."""
    with open(SPEC) as f:
        raw = json.load(f)
    doc = to_json_schema(raw)
    responses = {path: item["post"]["responses"]["200"]["content"]["application/json"]["schema"]
                 for path, item in doc["paths"].items()
                 if "post" in item and path.startswith("/get-")
                 and "application/json" in item["post"]["responses"].get("200", {}).get("content", {})}
    root = {"type": "object", "properties": responses, "components": {"schemas": doc["components"]["schemas"]}}
    validator = jsonschema_rs.Draft4Validator(root)

    def validate(path, body):
        return list(validator.iter_errors({path: body}))
    return raw, validate


def _read_operations(contract):
    for path, op in sorted(contract.operations.items()):
        if op.method == "post" and op.name.startswith("get-") and op.response_schema is not None \
                and not (op.content_type or "").startswith("multipart/"):
            yield path, op


def _sweep(api, contract, spec_validator):
    from test_mutations import build_body
    doc, validate = spec_validator
    problems, answered = [], 0
    for path, op in _read_operations(contract):
        if op.family in ("list", "connection") or not contract.resolve(op.request_schema or {}).get("required"):
            body = {}
        else:
            body = build_body(contract, api.store, op.request_schema)
        r = api(op.name, body)
        if r.status_code != 200:
            if r.status_code != 400:
                problems.append(f"{path}: status {r.status_code}")
            continue
        answered += 1
        errors = validate(path, r.json)
        if errors:
            e = errors[0]
            problems.append(f"{path}: {len(errors)} violation(s), first at "
                            f"{'/'.join(map(str, e.instance_path[1:]))}: {e.message[:160]}")
    return problems, answered


def test_every_read_conforms_to_the_spec(contract, spec_validator):
    api = Api(contract, generate(contract, "default"))
    problems, answered = _sweep(api, contract, spec_validator)
    assert not problems, "\n".join(problems[:40])
    assert answered > 150


def test_reads_conform_after_clusters_are_deleted(contract, spec_validator):
    api = Api(contract, generate(contract, "default"))
    clusters = api.store.all("Cluster")
    assert api("delete-cluster", {"where": {"id_in": [c["id"] for c in clusters[:2]]}}).status_code == 200
    problems, answered = _sweep(api, contract, spec_validator)
    assert not problems, "\n".join(problems[:40])
    assert answered > 150


def test_the_sweep_catches_what_breaks_clients(spec_validator):
    _, validate = spec_validator
    assert validate("/get-clusters", []) == []
    # a required relation reading null, an int32 overflow, a non-object filter
    assert validate("/get-ipmis", [{"id": "c1", "host": None, "ip": "10.0.0.1", "user": "root"}])
    assert any("2147483648" in e.message for e in validate("/get-nvmf-namespaces", [{"namespace_id": 2 ** 31}]))
    assert validate("/get-report-templates", [{"id": "r", "name": "r", "createdAt": "", "description": "",
                                               "execute_plan": [], "task_num": 0,
                                               "resource_meta": [{"type": "VM", "name": "v", "fields": [],
                                                                  "filter": None}]}])
