"""Comparison domains: how a stored value is normalised to compare with a coerced where value
(collation keys, numbers, instants) and to sort. The closures and the generated code share them,
so their answers are identical."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable

from .collation import collation_key, instant, json_key
from .model import BOOLEAN, DATETIME, ENUM, FLOAT, ID, INT, JSON, STRING, FieldDesc


def _to_decimal(x) -> Decimal | None:
    try:
        if isinstance(x, float):
            return Decimal(repr(x))
        return Decimal(x)
    except (InvalidOperation, ValueError, TypeError):
        return None


def _float_domain(values: Iterable[Decimal]):
    """Filter values for a Float field: plain floats when every value round-trips exactly
    (fast compare against stored floats), else Decimals (stored values converted per row)."""
    values = list(values)
    if all(Decimal(repr(float(d))) == d for d in values):
        return [float(d) if d != d.to_integral_value() else int(d) for d in values], None
    return values, _to_decimal


def _as_number(x):
    if isinstance(x, (int, float, Decimal)) and not isinstance(x, bool):
        return x
    if isinstance(x, str):
        return _to_decimal(x.strip())
    return None


def sort_norm(kind: str) -> Callable[[Any], Any] | None:
    """Stored value -> sort/compare key (None when the value can't be ordered = null)."""
    if kind == STRING:
        return lambda x: collation_key(x) if isinstance(x, str) else collation_key(str(x))
    if kind == ID:
        return lambda x: x if isinstance(x, str) else str(x)
    if kind in (INT, FLOAT):
        return _as_number
    if kind == DATETIME:
        return instant
    if kind == ENUM:
        return lambda x: x if isinstance(x, str) else str(x)
    if kind == BOOLEAN:
        return bool
    return json_key


_ORDER_OPS = ("lt", "lte", "gt", "gte")
_LIKE_OPS = ("contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with")


def _as_str(x):
    return x if isinstance(x, str) else str(x)


def cmp_parts(f: FieldDesc, op: str, value):
    """(norm, value) for a comparison: ``op(norm(stored), value)``; norm None = identity."""
    kind = f.kind
    multi = op in ("in", "not_in")
    if op in _LIKE_OPS:
        return (None if kind == STRING else _as_str), value
    if kind == FLOAT:
        vals, norm = _float_domain(value if multi else [value])
        if multi:
            return norm, frozenset(vals)
        return norm, vals[0]
    if kind == STRING:
        if op in _ORDER_OPS:
            return sort_norm(STRING), collation_key(value)
        return None, (frozenset(value) if multi else value)
    if kind in (DATETIME, JSON):
        norm = instant if kind == DATETIME else json_key
        return norm, (frozenset(value) if multi else value)
    if kind == BOOLEAN:
        return None, value
    # ID, INT, ENUM: stored values compare as they are
    return None, (frozenset(value) if multi else value)
