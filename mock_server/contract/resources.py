"""Resource types served by the list operations, their scalar fields and relations (from the
response schema and the WhereInput), and the query engine's schema built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..query.model import (BOOLEAN, DATETIME, ENUM, FLOAT, ID, INT, JSON, STRING, FieldDesc, ModelDesc,
                           QuerySchema, RelationDesc)
from .operations import CONNECTION, LIST
from .schemas import REF_PREFIX, ref_name


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


OPERATOR_SUFFIXES = tuple(sorted((
    "_not", "_in", "_not_in", "_lt", "_lte", "_gt", "_gte", "_contains", "_not_contains",
    "_starts_with", "_not_starts_with", "_ends_with", "_not_ends_with", "_some", "_every", "_none"),
    key=len, reverse=True))


def _strip_suffix(key: str) -> str:
    for s in OPERATOR_SUFFIXES:
        if key.endswith(s):
            return key[: -len(s)]
    return key


class ResourceIndex:
    """The resource part of the Contract (needs its schema index and `operations`)."""

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
