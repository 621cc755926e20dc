"""Where values coerced to the comparison domain of their field (or a clear QueryError)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from .collation import instant, json_key
from .model import BOOLEAN, DATETIME, ENUM, FLOAT, ID, INT, JSON, STRING, FieldDesc, QueryError


def type_error(path: str, expected: str, value: Any) -> QueryError:
    return QueryError(f"Invalid value for '{path}': expected {expected}, got {value!r}", None, path)


def coerce(f: FieldDesc, v: Any, path: str) -> Any:
    """Coerce a non-null where value to the comparison domain of the field."""
    kind = f.kind
    if kind == STRING:
        if isinstance(v, str):
            return v
        raise type_error(path, "a string", v)
    if kind == ID:
        if isinstance(v, str):
            return v
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        raise type_error(path, "an ID string", v)
    if kind == INT:
        if isinstance(v, bool):
            raise type_error(path, "an integer", v)
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str):
            try:
                d = Decimal(v.strip())
                if d.is_finite() and d == d.to_integral_value():
                    return int(d)
            except (InvalidOperation, ValueError):
                pass
        raise type_error(path, "an integer", v)
    if kind == FLOAT:
        if isinstance(v, bool):
            raise type_error(path, "a number", v)
        try:
            if isinstance(v, int):
                return Decimal(v)
            if isinstance(v, float):
                d = Decimal(repr(v))
            elif isinstance(v, (str, Decimal)):
                d = Decimal(v.strip() if isinstance(v, str) else v)
            else:
                raise type_error(path, "a number", v)
        except (InvalidOperation, ValueError):
            raise type_error(path, "a number", v) from None
        if not d.is_finite():
            raise type_error(path, "a finite number", v)
        return d
    if kind == BOOLEAN:
        if isinstance(v, bool):
            return v
        raise type_error(path, "a boolean", v)
    if kind == DATETIME:
        t = instant(v) if isinstance(v, str) else None
        if t is None:
            raise type_error(path, "an ISO-8601 DateTime string", v)
        return t
    if kind == ENUM:
        if isinstance(v, str) and (not f.enum_values or v in f.enum_values):
            return v
        allowed = "|".join(f.enum_values)
        raise type_error(path, f"one of {allowed}" if allowed else "an enum value", v)
    if kind == JSON:
        return json_key(v)
    raise type_error(path, f"a value of kind {kind}", v)
