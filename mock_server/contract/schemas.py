"""The document's component schemas: found by name (spec and SDK names differ, see
norm_name) and resolved through `$ref` / `allOf` wrappers."""

from __future__ import annotations

import re
from typing import Any

REF_PREFIX = "#/components/schemas/"


def ref_name(schema: dict | None) -> str | None:
    """The component name a schema points at: `$ref`, or a nullable `allOf: [$ref]` wrapper."""
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if ref is None:
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            ref = all_of[0].get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        return ref[len(REF_PREFIX):]
    return None


def norm_name(name: str) -> str:
    """Spec names and SDK class names agree once non-alphanumerics are dropped."""
    return re.sub(r"[^0-9A-Za-z]", "", name)


class SchemaIndex:
    """The `components.schemas` of a document, by name and normalised name."""

    def __init__(self, schemas: dict[str, dict]):
        self.schemas = schemas
        self._norm = {norm_name(n): n for n in self.schemas}

    def schema(self, name: str) -> dict:
        return self.schemas[name]

    def find_schema(self, *names: str) -> str | None:
        """The component name matching any of `names` (exact, then normalised)."""
        for n in names:
            if n in self.schemas:
                return n
            hit = self._norm.get(norm_name(n))
            if hit:
                return hit
        return None

    def resolve(self, schema: dict | None) -> dict:
        """Follow `$ref` / single-`allOf` wrappers to the schema object itself."""
        seen = 0
        while isinstance(schema, dict) and seen < 32:
            name = ref_name(schema)
            if name is None:
                all_of = schema.get("allOf")
                if isinstance(all_of, list) and len(all_of) > 1:
                    return self.merge_all_of(all_of)
                return schema
            schema = self.schemas.get(name, {})
            seen += 1
        return schema or {}

    def merge_all_of(self, parts: list[dict]) -> dict:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for p in parts:
            r = self.resolve(p)
            merged["properties"].update(r.get("properties", {}))
            merged["required"].extend(r.get("required", []))
            if r.get("additionalProperties") is False:
                merged["additionalProperties"] = False
        return merged

    def properties(self, schema: dict | None) -> dict[str, dict]:
        return self.resolve(schema).get("properties", {}) or {}

    def enum_values(self, schema: dict | None) -> tuple[str, ...]:
        r = self.resolve(schema)
        return tuple(r.get("enum", ()) or ())
