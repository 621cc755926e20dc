"""Small builders for the admin API's OpenAPI fragments (each module describes its own paths)."""

from __future__ import annotations

from .common import NAMESPACE_HEADER

S, N, B, I = {"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "integer"}
ANY_OBJECT = {"type": "object"}
DURATION = {"oneOf": [N, {"type": "string", "example": "5m"}]}
NS_PARAM = {"name": NAMESPACE_HEADER, "in": "header", "required": False, "schema": S}


def op(summary: str, body: dict | None = None, params: list | None = None, created: bool = False,
       not_found: bool = False) -> dict:
    ok = "201" if created else "200"
    o: dict = {"summary": summary, "responses": {
        ok: {"description": "Created" if created else "OK",
             "content": {"application/json": {"schema": {"type": "object"}}}},
        "400": {"description": "bad input; nothing was changed",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AdminError"}}}},
        "401": {"description": "admin token missing or wrong (only with serve --admin-token)"}}}
    if not_found:
        o["responses"]["404"] = {"description": "no such item",
                                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AdminError"}}}}
    if body is not None:
        o["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    if params:
        o["parameters"] = params
    return o


def obj(required: list[str] | None = None, **props) -> dict:
    out = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        out["required"] = required
    return out


def path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": S}


def query_param(name: str, schema: dict, description: str | None = None) -> dict:
    out = {"name": name, "in": "query", "schema": schema}
    if description:
        out["description"] = description
    return out
