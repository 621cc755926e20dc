"""Request (and response) validation against the contract's OpenAPI 3.0 schemas.

Schemas are compiled once into small closures (memoised per component), so validating a
request costs a walk over the body only. Errors name the offending field by its path in
the body and say what was expected, in the request's language.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .index import Contract, ref_name

INT32 = (-(2 ** 31), 2 ** 31 - 1)
INT64 = (-(2 ** 63), 2 ** 63 - 1)

Check = Callable[[Any, str], None]

MESSAGES = {
    "en-US": {
        "type": "{path}: expected {expected}, got {got}",
        "required": "{path}: required field '{key}' is missing",
        "unknown": "{path}: unknown field '{key}' (not in {schema})",
        "enum": "{path}: '{value}' is not one of {allowed}",
        "null": "{path}: must not be null",
        "range": "{path}: {value} is out of range for {fmt} ({lo} .. {hi})",
        "min": "{path}: must be >= {limit}, got {value}",
        "max": "{path}: must be <= {limit}, got {value}",
        "minLength": "{path}: must be at least {limit} characters long",
        "maxLength": "{path}: must be at most {limit} characters long",
        "minItems": "{path}: must have at least {limit} items",
        "maxItems": "{path}: must have at most {limit} items",
    },
    "zh-CN": {
        "type": "{path}: 类型错误, 需要 {expected}, 实际为 {got}",
        "required": "{path}: 缺少必填字段 '{key}'",
        "unknown": "{path}: 未知字段 '{key}' (不属于 {schema})",
        "enum": "{path}: '{value}' 不是合法值, 可选值为 {allowed}",
        "null": "{path}: 不能为 null",
        "range": "{path}: {value} 超出 {fmt} 的范围 ({lo} .. {hi})",
        "min": "{path}: 必须 >= {limit}, 实际为 {value}",
        "max": "{path}: 必须 <= {limit}, 实际为 {value}",
        "minLength": "{path}: 长度至少为 {limit}",
        "maxLength": "{path}: 长度至多为 {limit}",
        "minItems": "{path}: 至少需要 {limit} 项",
        "maxItems": "{path}: 至多 {limit} 项",
    },
}


class ValidationError(Exception):
    def __init__(self, kind: str, path: str, **params: Any):
        self.kind = kind
        self.path = path or "body"
        self.params = params
        super().__init__(self.message("en-US"))

    def message(self, lang: str = "en-US") -> str:
        table = MESSAGES.get(lang, MESSAGES["en-US"])
        return table[self.kind].format(path=self.path, **self.params)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _is_numeric_string(value: Any, integer: bool) -> bool:
    if not isinstance(value, str):
        return False
    try:
        if integer:
            int(value.strip())
        else:
            f = float(value.strip())
            return math.isfinite(f)
        return True
    except ValueError:
        return False


class Validator:
    """Compiles contract schemas into checks. One per contract; thread-safe once built."""

    def __init__(self, contract: Contract, strict_additional: bool = True):
        self.contract = contract
        self.strict_additional = strict_additional
        self._compiled: dict[tuple[str, bool], Check] = {}

    def validate(self, schema: dict | None, value: Any, path: str = "") -> None:
        if schema is None:
            return
        self.compile(schema, False)(value, path)

    def coerce(self, schema: dict | None, value: Any) -> Any:
        """A request body after GraphQL input coercion (see Coercer); validate it after."""
        fn = self.coercer(schema)
        return value if fn is None else fn(value)

    def coercer(self, schema: dict | None) -> Callable[[Any], Any] | None:
        """The compiled coercion of request bodies of `schema` (None: nothing to coerce)."""
        coercer = self.__dict__.get("_coercer")
        if coercer is None:
            coercer = self.__dict__["_coercer"] = Coercer(self.contract)
        return coercer.compiled(schema)

    def compile(self, schema: dict, in_where: bool) -> Check:
        name = ref_name(schema) if len(schema) == 1 else None
        if name is not None and "$ref" in schema:
            key = (name, in_where)
            hit = self._compiled.get(key)
            if hit is not None:
                return hit
            box: list[Check] = []
            self._compiled[key] = lambda v, p: box[0](v, p)     # recursion guard
            target = self.contract.schemas.get(name, {})
            check = self._build(target, in_where or name.endswith("WhereInput"), name)
            box.append(check)
            self._compiled[key] = check
            return check
        return self._build(schema, in_where, None)

    # ------------------------------------------------------------------ builders
    def _build(self, schema: dict, in_where: bool, name: str | None) -> Check:
        nullable = bool(schema.get("nullable"))
        if "$ref" in schema:
            inner = self.compile({"$ref": schema["$ref"]}, in_where)
            return self._nullable(inner, nullable)
        all_of = schema.get("allOf")
        if all_of:
            parts = [self.compile(p, in_where) for p in all_of]

            def check_all(v, p, parts=parts):
                for c in parts:
                    c(v, p)
            return self._nullable(check_all, nullable)
        for combinator in ("oneOf", "anyOf"):
            if schema.get(combinator):
                options = [self.compile(p, in_where) for p in schema[combinator]]

                def check_any(v, p, options=options):
                    first_error = None
                    for c in options:
                        try:
                            c(v, p)
                            return
                        except ValidationError as e:
                            first_error = first_error or e
                    raise first_error  # type: ignore[misc]
                return self._nullable(check_any, nullable)
        t = schema.get("type")
        if t is None and "properties" in schema:
            t = "object"
        if t == "object":
            check = self._object(schema, in_where, name)
        elif t == "array":
            check = self._array(schema, in_where)
        elif t == "string":
            check = self._string(schema)
        elif t in ("integer", "number"):
            check = self._number(schema, t == "integer", in_where)
        elif t == "boolean":
            def check(v, p):
                if not isinstance(v, bool):
                    raise ValidationError("type", p, expected="boolean", got=_type_name(v))
        elif "enum" in schema:
            check = self._string(schema)
        else:
            def check(v, p):
                return None
            return check            # {} accepts anything, null included
        return self._nullable(check, nullable)

    @staticmethod
    def _nullable(check: Check, nullable: bool) -> Check:
        if nullable:
            def wrapped(v, p):
                if v is not None:
                    check(v, p)
            return wrapped

        def strict(v, p):
            if v is None:
                raise ValidationError("null", p)
            check(v, p)
        return strict

    def _object(self, schema: dict, in_where: bool, name: str | None) -> Check:
        props = schema.get("properties", {}) or {}
        required = tuple(schema.get("required", ()) or ())
        closed = schema.get("additionalProperties") is False and self.strict_additional
        label = name or "the schema"
        # A required JSON value (`{}`, GraphQL `JSON!`) is non-null (ResourceMeta.filter).
        json_required = tuple(k for k in required if props.get(k) == {})
        compiled: dict[str, Check] = {}

        def prop_check(key: str) -> Check:
            c = compiled.get(key)
            if c is None:
                c = compiled[key] = self.compile(props[key], in_where)
            return c

        def check(v, p):
            if not isinstance(v, dict):
                raise ValidationError("type", p, expected="object", got=_type_name(v))
            for key in required:
                if key not in v:
                    raise ValidationError("required", p, key=key)
            for key in json_required:
                if v[key] is None:
                    raise ValidationError("null", _join(p, key))
            for key, item in v.items():
                if key in props:
                    prop_check(key)(item, _join(p, key))
                elif closed:
                    raise ValidationError("unknown", p, key=key, schema=label)
        return check

    def _array(self, schema: dict, in_where: bool) -> Check:
        items = schema.get("items")
        item_check = self.compile(items, in_where) if isinstance(items, dict) else None
        lo, hi = schema.get("minItems"), schema.get("maxItems")

        def check(v, p):
            if not isinstance(v, list):
                raise ValidationError("type", p, expected="array", got=_type_name(v))
            if lo is not None and len(v) < lo:
                raise ValidationError("minItems", p, limit=lo)
            if hi is not None and len(v) > hi:
                raise ValidationError("maxItems", p, limit=hi)
            if item_check is not None:
                for i, item in enumerate(v):
                    item_check(item, _join(p, i))
        return check

    def _string(self, schema: dict) -> Check:
        enum = schema.get("enum")
        allowed = frozenset(enum) if enum else None
        shown = ", ".join(map(str, enum[:12])) + (", ..." if enum and len(enum) > 12 else "") if enum else ""
        lo, hi = schema.get("minLength"), schema.get("maxLength")

        def check(v, p):
            if not isinstance(v, str):
                raise ValidationError("type", p, expected="string", got=_type_name(v))
            if allowed is not None and v not in allowed:
                raise ValidationError("enum", p, value=v[:60], allowed=shown)
            if lo is not None and len(v) < lo:
                raise ValidationError("minLength", p, limit=lo)
            if hi is not None and len(v) > hi:
                raise ValidationError("maxLength", p, limit=hi)
        return check

    def _number(self, schema: dict, integer: bool, in_where: bool) -> Check:
        fmt = schema.get("format") or ("int64" if integer else "double")
        lo, hi = INT32 if fmt == "int32" else INT64 if integer else (None, None)
        minimum, maximum = schema.get("minimum"), schema.get("maximum")
        expected = f"integer ({fmt})" if integer else "number"

        def check(v, p):
            if in_where and _is_numeric_string(v, integer):
                v = int(v.strip()) if integer else float(v.strip())
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValidationError("type", p, expected=expected, got=_type_name(v))
            if integer:
                if isinstance(v, float):
                    if not v.is_integer():
                        raise ValidationError("type", p, expected=expected, got=_type_name(v))
                    v = int(v)
                if not lo <= v <= hi:
                    raise ValidationError("range", p, value=v, fmt=fmt, lo=lo, hi=hi)
            elif not math.isfinite(v):
                raise ValidationError("type", p, expected=expected, got=str(v))
            if minimum is not None and v < minimum:
                raise ValidationError("min", p, limit=minimum, value=v)
            if maximum is not None and v > maximum:
                raise ValidationError("max", p, limit=maximum, value=v)
        return check


# ------------------------------------------------------------------ input coercion

Coerce = Callable[[Any], Any]


def _same(v: Any) -> Any:
    return v


def _integral(v: Any) -> Any:
    if type(v) is float and v.is_integer() and abs(v) < 2 ** 63:
        return int(v)
    return v


def _cloud_init_network(v: Any) -> Any:
    """The SDK's cloud-init example sends `net_mask` and no `type`: the address says which."""
    if isinstance(v, dict):
        if "netmask" not in v and isinstance(v.get("net_mask"), str):
            v["netmask"] = v.pop("net_mask")
        if "type" not in v:
            v["type"] = "IPV4" if v.get("ip_address") else "IPV4_DHCP"
    return v


def _lun_deletion(v: Any) -> Any:
    """The Go and Java SDKs' integration suites delete LUNs with `where` alone and wait for the
    task to succeed: no `data` means `remove_snapshot: false` (a LUN with snapshots is then refused)."""
    if isinstance(v, dict) and "data" not in v:
        v["data"] = {"remove_snapshot": False}
    return v


# Input shapes the documented clients send that the tower reads as their schema's (by name).
NORMALISERS: dict[str, Callable[[Any], Any]] = {"CloudInitNetWork": _cloud_init_network,
                                                "IscsiLunDeletionParams": _lun_deletion,
                                                "NvmfNamespaceDeletionParams": _lun_deletion}


class Coercer:
    """GraphQL input coercion, the pre-pass before validation of a request: wherever the
    schema expects a list, a single non-null value stands for a one-element list (`NOT: {}`
    is `NOT: [{}]`, `id_in: "x"` is `id_in: ["x"]`), at any depth; an integral float where
    an integer is expected is that integer. Driven by the schemas
    alone (compiled once per component, like the Validator); values of other shapes pass
    through unchanged for the validator to judge. Objects are rewritten in place."""

    def __init__(self, contract: Contract):
        self.contract = contract
        self._compiled: dict[str, Coerce | None] = {}

    def coerce(self, schema: dict | None, value: Any) -> Any:
        fn = self.compiled(schema)
        return value if fn is None else fn(value)

    def compiled(self, schema: dict | None) -> Coerce | None:
        return None if schema is None else self._compile(schema)

    def _compile(self, schema: dict, seen: frozenset = frozenset()) -> Coerce | None:
        """A coercing function, or None when nothing under `schema` is a list."""
        if "$ref" in schema:
            name = ref_name(schema)
            if name in self._compiled:
                return self._compiled[name]
            if name in seen:            # recursion: resolved through the box below
                return lambda v: self._compiled[name](v) if self._compiled.get(name) else v  # type: ignore
            fn = self._compile(self.contract.schemas.get(name, {}), seen | {name})
            norm = NORMALISERS.get(name)
            if norm is not None:
                inner = fn
                fn = (lambda v, inner=inner, norm=norm: inner(norm(v))) if inner else norm
            self._compiled[name] = fn
            return fn
        parts = schema.get("allOf") or schema.get("anyOf") or schema.get("oneOf")
        if parts:
            fns = [f for f in (self._compile(p, seen) for p in parts) if f is not None]
            if not fns:
                return None

            def each(v, fns=fns):
                for f in fns:
                    v = f(v)
                return v
            return each
        t = schema.get("type") or ("object" if "properties" in schema else None)
        if t == "array":
            items = schema.get("items")
            inner = self._compile(items, seen) if isinstance(items, dict) else None
            inner = inner or _same

            def as_list(v, inner=inner):
                if v is None:
                    return v
                if not isinstance(v, list):
                    return [inner(v)]
                return [inner(x) for x in v]
            return as_list
        if t == "integer":
            return _integral          # 8589934592.0 (a Go client's float64) is the integer it names
        if t == "object":
            props = schema.get("properties") or {}
            fns = {k: f for k, f in ((k, self._compile(s, seen)) for k, s in props.items()) if f is not None}
            if not fns:
                return None

            def obj(v, fns=fns):
                if isinstance(v, dict):
                    for k, item in v.items():
                        f = fns.get(k)
                        if f is not None:
                            v[k] = f(item)
                return v
            return obj
        return None
