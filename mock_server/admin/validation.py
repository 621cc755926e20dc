"""Every admin request is checked against the admin API's own OpenAPI document before its
handler runs, with the validator the /v2 API uses: a wrong type, an unknown key or a value out of
range gets 400 naming the field. Handlers then check what a schema cannot say (durations,
regular expressions, operation names, combinations)."""

from __future__ import annotations

import re
from typing import Any, Callable

from flask import request

from ..contract.index import Contract
from ..contract.validate import ValidationError, Validator
from .common import PREFIX, AdminError, read_body

_PARAM = re.compile(r"<(?:[^:>]+:)?[^>]+>|\{[^}]+\}")


def _shape(path: str) -> str:
    return _PARAM.sub("{}", path)


class AdminValidator:
    """Compiled request checks of one admin document, keyed by (method, path shape)."""

    def __init__(self, doc: dict):
        self._validator = Validator(Contract(doc, source="admin"))
        self._ops: dict[tuple[str, str], dict] = {}
        for path, item in doc.get("paths", {}).items():
            for method, operation in item.items():
                self._ops[(method.upper(), _shape(path))] = operation
        self._checks: dict[tuple[str, str], Callable[[Any, str], None] | None] = {}

    def check_request(self) -> None:
        rule = request.url_rule
        if rule is None or not rule.rule.startswith(PREFIX):
            return
        key = (request.method, _shape(rule.rule[len(PREFIX):]))
        operation = self._ops.get(key)
        if operation is None:
            return
        self._check_query(operation)
        schema = (operation.get("requestBody", {}).get("content", {})
                  .get("application/json", {}).get("schema"))
        if schema is None:
            return
        body = read_body()
        try:
            self._validator.validate(schema, body)
        except ValidationError as e:
            raise AdminError(e.message("en-US")) from None

    def _check_query(self, operation: dict) -> None:
        declared = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "query"}
        for name, value in request.args.items():
            param = declared.get(name)
            if param is None:
                allowed = ", ".join(sorted(declared)) or "none"
                raise AdminError(f"unknown query parameter '{name}'; allowed: {allowed}")
            schema = param.get("schema", {})
            if schema.get("type") == "integer":
                try:
                    int(value)
                except ValueError:
                    raise AdminError(f"query parameter '{name}' must be an integer, got {value[:40]!r}") from None
            enum = schema.get("enum")
            if enum and value not in enum and value.lower() not in enum:
                raise AdminError(f"query parameter '{name}': {value[:40]!r} is not one of {', '.join(enum)}")
