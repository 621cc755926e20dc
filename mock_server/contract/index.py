"""The loaded OpenAPI document, indexed: operations by path, their families, resource types.

Everything here is derived from the document itself (a real CloudTower spec or the one
derived from the SDK), never from a hand-kept list of operations. Schema *names* differ
between the two sources (`WithTask_Vm_` in the spec, `WithTaskVm` from the SDK), so the
index follows `$ref`s and shapes rather than names wherever it can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..query.model import (BOOLEAN, DATETIME, ENUM, FLOAT, ID, INT, JSON, STRING, FieldDesc, ModelDesc,
                           QuerySchema, RelationDesc)

PAGINATION_KEYS = frozenset({"where", "orderBy", "first", "last", "skip", "after", "before"})
REF_PREFIX = "#/components/schemas/"

# Operation families.
LIST, CONNECTION, GET, CREATE, UPDATE, DELETE, ACTION = (
    "list", "connection", "get", "create", "update", "delete", "action")


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


@dataclass
class Operation:
    path: str                       # "/get-vms" (without the /v2/api prefix)
    method: str                     # "post" / "get"
    operation_id: str
    family: str
    request_schema: dict | None     # the JSON (or multipart) body schema, unresolved
    content_type: str | None        # "application/json", "multipart/form-data" or None
    body_required: bool
    response_schema: dict | None    # 200 schema, unresolved
    response_codes: tuple[str, ...]
    security: tuple[str, ...]       # scheme names; () = no auth
    parameters: tuple[dict, ...]    # header / query parameters
    resource: str | None = None     # resource type served or changed (if known)
    irregular: bool = False         # does not follow its family's standard shape
    response_kind: str = "other"    # list | connection | withtask_list | withtask | bare_list | bare | string | none

    @property
    def name(self) -> str:
        return self.path.lstrip("/")


@dataclass
class Resource:
    name: str
    schema_name: str
    properties: dict[str, dict]
    required: frozenset[str]
    list_path: str | None = None
    connection_path: str | None = None
    where_input: str | None = None
    order_by_input: str | None = None
    order_by_values: tuple[str, ...] = ()
    scalar_fields: dict[str, FieldDesc] = field(default_factory=dict)
    relations: dict[str, RelationDesc] = field(default_factory=dict)
    nested_schema: dict[str, str] = field(default_factory=dict)   # relation field -> Nested* schema name
    has_async_status: bool = False


class Contract:
    """An OpenAPI 3.0 CloudTower document with indexes built once."""

    def __init__(self, doc: dict, source: str = "spec"):
        self.doc = doc
        self.source = source
        self.schemas: dict[str, dict] = doc.get("components", {}).get("schemas", {})
        self._norm = {norm_name(n): n for n in self.schemas}
        info = doc.get("info", {})
        self.version: str = str(info.get("version", "unknown"))
        self.sdk_version: str | None = info.get("x-sdk-version")
        self.operations: dict[str, Operation] = {}
        self.resources: dict[str, Resource] = {}
        self._build_operations()
        self._build_resources()
        self._classify_mutations()

    # ------------------------------------------------------------------ schemas
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

    # --------------------------------------------------------------- operations
    def _build_operations(self) -> None:
        for path, item in self.doc.get("paths", {}).items():
            for method, op in item.items():
                if method not in ("get", "post", "put", "delete", "patch"):
                    continue
                body = op.get("requestBody") or {}
                content = body.get("content") or {}
                ctype = next(iter(content), None)
                req_schema = content[ctype].get("schema") if ctype else None
                responses = op.get("responses", {})
                ok = responses.get("200", {}).get("content", {})
                resp_schema = next(iter(ok.values()), {}).get("schema") if ok else None
                security = tuple(name for req in op.get("security", []) or [] for name in req)
                params = tuple(p for p in op.get("parameters", []) or [] if isinstance(p, dict))
                o = Operation(
                    path=path, method=method, operation_id=op.get("operationId", path),
                    family=ACTION, request_schema=req_schema, content_type=ctype,
                    body_required=bool(body.get("required")), response_schema=resp_schema,
                    response_codes=tuple(responses), security=security, parameters=params)
                o.family, o.response_kind = self._family(o)
                self.operations[path] = o

    def _family(self, o: Operation) -> tuple[str, str]:
        resp = o.response_schema
        kind = self._response_kind(resp)
        name = o.path.lstrip("/")
        if o.method == "get":
            return GET, kind
        req_props = set(self.properties(o.request_schema)) if o.request_schema else set()
        if name.startswith("get-"):
            if kind == "connection" and req_props and req_props <= PAGINATION_KEYS:
                return CONNECTION, kind
            if kind == "list" and req_props == PAGINATION_KEYS:
                return LIST, kind
            return GET, kind
        for prefix, fam in (("create-", CREATE), ("update-", UPDATE), ("delete-", DELETE)):
            if name.startswith(prefix):
                return fam, kind
        return ACTION, kind

    def _response_kind(self, schema: dict | None) -> str:
        if schema is None:
            return "none"
        r = schema
        if r.get("type") == "array":
            item = self.resolve(r.get("items"))
            if self._is_withtask(item):
                return "withtask_list"
            if ref_name(r.get("items")) and item.get("type", "object") == "object" and "properties" in item:
                return "list"
            return "bare_list"
        name = ref_name(r)
        if name:
            target = self.resolve(r)
            if self._is_withtask(target):
                return "withtask"
            props = target.get("properties", {})
            if set(props) == {"aggregate"}:
                return "connection"
            return "bare"
        if r.get("type") == "string":
            return "string"
        return "bare"

    @staticmethod
    def _is_withtask(schema: dict) -> bool:
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        return set(props) == {"task_id", "data"}

    def withtask_data_schema(self, o: Operation) -> dict | None:
        """The schema of `data` inside the WithTask an operation answers with."""
        r = o.response_schema
        if r is None:
            return None
        if r.get("type") == "array":
            r = r.get("items")
        return self.resolve(r).get("properties", {}).get("data")

    # ---------------------------------------------------------------- resources
    def _build_resources(self) -> None:
        lists = [o for o in self.operations.values() if o.family == LIST]
        for o in lists:
            item_name = ref_name(o.response_schema.get("items"))
            if not item_name:
                continue
            where = ref_name(self.properties(o.request_schema).get("where"))
            order = ref_name(self.properties(o.request_schema).get("orderBy"))
            # The list's own resource: X with XWhereInput. Two GPU views reuse another's body.
            # Several lists may serve one resource (get-backup-plans and
            # get-backup-plans-without-executions in 4.7+): the shortest path is its list.
            known = self.resources.get(item_name)
            if known is not None:
                o.resource = item_name
                if len(o.path) < len(known.list_path or o.path + "-"):
                    known.list_path = o.path
                continue
            item = self.resolve({"$ref": REF_PREFIX + item_name})
            res = Resource(
                name=item_name, schema_name=item_name,
                properties=item.get("properties", {}), required=frozenset(item.get("required", [])),
                list_path=o.path, where_input=where, order_by_input=order,
                order_by_values=self.enum_values({"$ref": REF_PREFIX + order}) if order else ())
            res.has_async_status = "entityAsyncStatus" in res.properties
            o.resource = item_name
            self.resources[item_name] = res
        # Connection twins pair by response schema name: <X>Connection -> X.
        for o in self.operations.values():
            if o.family != CONNECTION:
                continue
            cname = ref_name(o.response_schema) or ""
            base = cname[:-len("Connection")] if cname.endswith("Connection") else None
            target = base if base in self.resources else None
            if target is None:
                where = ref_name(self.properties(o.request_schema).get("where"))
                target = next((r.name for r in self.resources.values()
                               if r.where_input == where and r.connection_path is None), None)
            if target:
                o.resource = target
                self.resources[target].connection_path = o.path
        for res in self.resources.values():
            self._describe(res)

    def _describe(self, res: Resource) -> None:
        where_props = self.properties({"$ref": REF_PREFIX + res.where_input}) if res.where_input else {}
        sortable = {v.rsplit("_", 1)[0] for v in res.order_by_values}
        for fname, fschema in res.properties.items():
            target, many, nested = self._relation_target(fname, fschema, where_props)
            if target:
                res.relations[fname] = RelationDesc(fname, target, many)
                if nested:
                    res.nested_schema[fname] = nested
                continue
            kind, enum = self._scalar_kind(fname, fschema, where_props)
            res.scalar_fields[fname] = FieldDesc(
                fname, kind, nullable=fname not in res.required, enum_values=enum,
                sortable=fname in sortable)
        # where keys that name no response property (ClusterImage.version_semantic_*, ...)
        for key, ks in where_props.items():
            if key in ("AND", "OR", "NOT") or key in res.properties:
                continue
            if any(key.endswith(sfx) and key[: -len(sfx)] in res.properties for sfx in OPERATOR_SUFFIXES):
                continue
            stem = _strip_suffix(key)
            if stem in res.scalar_fields or (ref_name(ks) or "").endswith("WhereInput"):
                continue
            kind, enum = self._scalar_kind(stem, where_props.get(stem, ks), where_props)
            res.scalar_fields[stem] = FieldDesc(stem, kind, True, enum, sortable=False)

    def _relation_target(self, fname: str, fschema: dict, where_props: dict) -> tuple[str | None, bool, str | None]:
        many = fschema.get("type") == "array"
        nested_ref = ref_name(fschema.get("items")) if many else ref_name(fschema)
        # The WhereInput says it is a relation and to what.
        wkey = where_props.get(fname + "_some") if many else where_props.get(fname)
        wref = ref_name(wkey) if wkey else None
        if wref and wref.endswith("WhereInput"):
            target = self._resource_for_where(wref)
            if target:
                return target, many, nested_ref
        # No filter (UsbDevice.vm): a Nested<X> projection with an id is still a relation.
        if nested_ref and nested_ref.startswith("Nested") and not nested_ref.startswith("NestedAggregate"):
            nested = self.resolve({"$ref": REF_PREFIX + nested_ref})
            base = nested_ref[len("Nested"):]
            if "id" in nested.get("properties", {}) and base in self.resources:
                return base, many, nested_ref
        return None, many, None

    def _resource_for_where(self, where_name: str) -> str | None:
        base = where_name[: -len("WhereInput")]
        if base in self.resources:
            return base
        for r in self.resources.values():
            if r.where_input == where_name and r.name == base:
                return r.name
        return None

    def _scalar_kind(self, fname: str, fschema: dict, where_props: dict) -> tuple[str, tuple[str, ...]]:
        r = self.resolve(fschema)
        if fname == "id":
            return ID, ()
        if "enum" in r:
            return ENUM, tuple(r["enum"])
        t = r.get("type")
        if t == "string" and r.get("format") not in ("binary", "byte"):
            if fname + "_gt" in where_props and fname + "_contains" not in where_props:
                return DATETIME, ()
            if r.get("format") == "date-time":
                return DATETIME, ()
            return STRING, ()
        if t == "integer":
            return INT, ()
        if t == "number":
            return FLOAT, ()
        if t == "boolean":
            return BOOLEAN, ()
        return JSON, ()

    @cached_property
    def query_schema(self) -> QuerySchema:
        models = {}
        for res in self.resources.values():
            where_keys = None
            if res.where_input:
                where_keys = frozenset(self.properties({"$ref": REF_PREFIX + res.where_input}))
            models[res.name] = ModelDesc(res.name, dict(res.scalar_fields), dict(res.relations), where_keys)
        return QuerySchema(models)

    # ---------------------------------------------------------------- mutations
    def _classify_mutations(self) -> None:
        for o in self.operations.values():
            if o.family in (LIST, CONNECTION):
                continue
            if o.family in (CREATE, UPDATE, DELETE, ACTION):
                o.irregular = o.response_kind != "withtask_list"
            else:
                o.irregular = True
            o.resource = o.resource or self._mutation_resource(o)

    def _mutation_resource(self, o: Operation) -> str | None:
        data = self.withtask_data_schema(o) if o.response_kind in ("withtask_list", "withtask") else None
        candidate = ref_name(data) if data else None
        if candidate is None and o.response_schema is not None:
            r = o.response_schema
            candidate = ref_name(r.get("items")) if r.get("type") == "array" else ref_name(r)
        if candidate is None and data is not None and data.get("type") == "array":
            candidate = ref_name(data.get("items"))
        if candidate is None:
            return None
        if candidate in self.resources:
            return candidate
        if candidate.startswith("Delete") and candidate[6:] in self.resources:
            return candidate[6:]
        return None

    # ------------------------------------------------------------------ helpers
    def operation(self, name: str) -> Operation | None:
        return self.operations.get("/" + name.lstrip("/"))

    def families(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.operations.values():
            out[o.family] = out.get(o.family, 0) + 1
        return out


OPERATOR_SUFFIXES = tuple(sorted((
    "_not", "_in", "_not_in", "_lt", "_lte", "_gt", "_gte", "_contains", "_not_contains",
    "_starts_with", "_not_starts_with", "_ends_with", "_not_ends_with", "_some", "_every", "_none"),
    key=len, reverse=True))


def _strip_suffix(key: str) -> str:
    for s in OPERATOR_SUFFIXES:
        if key.endswith(s):
            return key[: -len(s)]
    return key
