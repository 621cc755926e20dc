"""Operations by path: their family (list / connection / get / create / update / delete /
action), the shape of their answer, and the resource a mutation changes."""

from __future__ import annotations

from dataclasses import dataclass

from .schemas import ref_name

PAGINATION_KEYS = frozenset({"where", "orderBy", "first", "last", "skip", "after", "before"})

# Operation families.
LIST, CONNECTION, GET, CREATE, UPDATE, DELETE, ACTION = (
    "list", "connection", "get", "create", "update", "delete", "action")


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


class OperationIndex:
    """The operation part of the Contract (needs its schema index and `resources`)."""

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
