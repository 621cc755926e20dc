"""The leaf checks a Validator compiles a schema into: objects, arrays, strings, numbers,
and the null rule around each."""

from __future__ import annotations

import math
from typing import Any, Callable

from .validation_error import ValidationError, join_path, type_name

INT32 = (-(2 ** 31), 2 ** 31 - 1)
INT64 = (-(2 ** 63), 2 ** 63 - 1)

# A check takes the value and its path: a string, or (parent path, key) joined only when an
# error names it (most values pass: formatting every path cost a fifth of a body's check).
Check = Callable[[Any, Any], None]


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


class LeafChecks:
    """The builders of the Validator for one schema node each (needs its `compile` and
    `strict_additional`)."""

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
                raise ValidationError("type", p, expected="object", got=type_name(v))
            for key in required:
                if key not in v:
                    raise ValidationError("required", p, key=key)
            for key in json_required:
                if v[key] is None:
                    raise ValidationError("null", join_path(p, key))
            for key, item in v.items():
                c = compiled.get(key)
                if c is None:
                    if key in props:
                        c = prop_check(key)
                    elif closed:
                        raise ValidationError("unknown", p, key=key, schema=label)
                    else:
                        continue
                c(item, (p, key))                  # a path joined only for an error
        return check

    def _array(self, schema: dict, in_where: bool) -> Check:
        items = schema.get("items")
        item_check = self.compile(items, in_where) if isinstance(items, dict) else None
        lo, hi = schema.get("minItems"), schema.get("maxItems")

        def check(v, p):
            if not isinstance(v, list):
                raise ValidationError("type", p, expected="array", got=type_name(v))
            if lo is not None and len(v) < lo:
                raise ValidationError("minItems", p, limit=lo)
            if hi is not None and len(v) > hi:
                raise ValidationError("maxItems", p, limit=hi)
            if item_check is not None:
                for i, item in enumerate(v):
                    item_check(item, (p, i))
        return check

    def _string(self, schema: dict) -> Check:
        enum = schema.get("enum")
        allowed = frozenset(enum) if enum else None
        shown = ", ".join(map(str, enum[:12])) + (", ..." if enum and len(enum) > 12 else "") if enum else ""
        lo, hi = schema.get("minLength"), schema.get("maxLength")

        def check(v, p):
            if not isinstance(v, str):
                raise ValidationError("type", p, expected="string", got=type_name(v))
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
                raise ValidationError("type", p, expected=expected, got=type_name(v))
            if integer:
                if isinstance(v, float):
                    if not v.is_integer():
                        raise ValidationError("type", p, expected=expected, got=type_name(v))
                    if abs(v) >= 2 ** 63:   # an integer literal past int64 parses as a rounded float
                        raise ValidationError("range", p, value=v, fmt=fmt, lo=lo, hi=hi)
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
