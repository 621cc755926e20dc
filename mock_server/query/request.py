"""Request bodies: a where / orderBy / pagination body validated into a :class:`Query`
(Prisma's error codes 3014, 3026-3028, 3033), memoised per schema."""

from __future__ import annotations

import orjson

from .coerce import type_error
from .model import DATETIME, FieldDesc, ModelDesc, QueryError, QuerySchema
from .where import Compiler, raise_null_to_many, resolve_model
from .where_keys import TIMESTAMP_ORDER_FIELDS, field_of

INT32_MAX = 2 ** 31 - 1

MSG_FIRST_AND_LAST = (
    "Including a value for both first and last is not supported. See the spec for a discussion "
    "of why https://facebook.github.io/relay/graphql/connections.htm#sec-Pagination-algorithm")
MSG_NEGATIVE = "The '{}' argument must be non negative"


class Query:
    """A validated request body."""
    __slots__ = ("model", "where", "order_field", "desc", "first", "last", "skip",
                 "after", "before")

    def __init__(self, model, where, order_field, desc, first, last, skip, after, before):
        self.model = model
        self.where = where
        self.order_field = order_field      # FieldDesc, or None for id order
        self.desc = desc
        self.first = first
        self.last = last
        self.skip = skip
        self.after = after
        self.before = before


def _int_arg(args: dict, name: str):
    v = args.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise type_error(name, "an integer", v)
    if not -2 ** 31 <= v <= INT32_MAX:
        raise QueryError(f"Invalid value for '{name}': {v} is outside the 32-bit integer range",
                         None, name)
    return v


def _cursor_arg(args: dict, name: str):
    v = args.get(name)
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    raise type_error(name, "an ID string", v)


def _order_arg(model: ModelDesc, v) -> tuple[FieldDesc | None, bool]:
    if v is None:
        return None, False
    if not isinstance(v, str):
        raise type_error("orderBy", f"a {model.name}OrderByInput value", v)
    for suf, desc in (("_ASC", False), ("_DESC", True)):
        if v.endswith(suf):
            name = v[:-len(suf)]
            f = field_of(model, name)
            if f is None and name in TIMESTAMP_ORDER_FIELDS:
                f = FieldDesc(name, DATETIME)
            if f is not None and f.sortable:
                if f.name == "id":
                    return None, desc
                return f, desc
    raise QueryError(f"Unknown orderBy value '{v}' for {model.name}OrderByInput", None, "orderBy")


def prepare(schema: QuerySchema, model, args: dict | None) -> Query:
    """Validate a request body into a :class:`Query` (raises QueryError). Malformed input
    first, then 3033, 3014, 3026, 3027, 3028."""
    model = resolve_model(schema, model)
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise type_error("body", "an object", args)
    c = Compiler(schema)
    plan = c.obj(model, args.get("where"), "where")
    order_field, desc = _order_arg(model, args.get("orderBy"))
    first, last, skip = _int_arg(args, "first"), _int_arg(args, "last"), _int_arg(args, "skip")
    after, before = _cursor_arg(args, "after"), _cursor_arg(args, "before")
    raise_null_to_many(c.null_to_many)
    if first is not None and last is not None:
        raise QueryError(MSG_FIRST_AND_LAST, 3014, "last")
    if first is not None and first < 0:
        raise QueryError(MSG_NEGATIVE.format("first"), 3026, "first")
    if last is not None and last < 0:
        raise QueryError(MSG_NEGATIVE.format("last"), 3027, "last")
    if skip is not None and skip < 0:
        raise QueryError(MSG_NEGATIVE.format("skip"), 3028, "skip")
    return Query(model, plan, order_field, desc, first, last, skip or 0, after, before)


def validate_args(schema: QuerySchema, model, args: dict | None) -> None:
    """Raise QueryError when the request body is not acceptable."""
    prepare(schema, model, args)


_PREPARED_MAX = 2048


def prepared(schema: QuerySchema, model, args: dict | None) -> Query:
    """`prepare`, memoised on the body's canonical JSON: clients repeat the same queries
    (task polling, point lookups), and a prepared Query is immutable. Errors are not kept."""
    try:
        # the key in a block of its own size (orjson's output keeps an 8 KiB+ buffer: 2,048 kept
        # keys were 16 MiB)
        key = (model if isinstance(model, str) else model.name,
               bytes(memoryview(orjson.dumps(args, option=orjson.OPT_SORT_KEYS))))
    except (TypeError, orjson.JSONEncodeError):
        return prepare(schema, model, args)
    cache = schema.__dict__.get("_prepared")
    if cache is None:
        cache = schema.__dict__["_prepared"] = {}
    q = cache.get(key)
    if q is None:
        q = prepare(schema, model, args)
        if len(cache) >= _PREPARED_MAX:
            cache.clear()
        cache[key] = q
    return q
