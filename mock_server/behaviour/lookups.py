"""One record named by a `<X>WhereUniqueInput` (`{id}`, `{local_id}`, `{data_port_id}`, ...)
for the non-standard reads that take one: the row, a 400 when the input names nothing, a 404
in the API's ErrorBody shape when it names no record of the world."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, bad_request
from . import Ctx


def unique_row(ctx: Ctx, model: str, where: Any, field: str) -> dict:
    """The `model` row `where` names; every key given must agree with it."""
    keys = {k: v for k, v in where.items() if v is not None} if isinstance(where, dict) else {}
    if not keys:
        names = " or ".join(ctx.contract.properties(_unique_schema(ctx, model)) or ("id",))
        raise bad_request(f"{field}: give the {model}'s {names}", f"{field}: 请提供 {model} 的 {names}")
    store = ctx.store
    row = None
    if "id" in keys:
        row = store.get(model, keys["id"]) if isinstance(keys["id"], str) else None
    else:
        key, value = next(iter(keys.items()))
        rows = store.find_by(model, key, value)
        row = rows[0] if rows else None
    if row is None or any(row.get(k) != v for k, v in keys.items()):
        raise not_found_where(model, keys)
    return row


def not_found_where(model: str, keys: dict) -> ApiError:
    what = ", ".join(f"{k}: {v}" for k, v in keys.items())
    return ApiError(404, f"{model} not found ({what})", message_zh=f"{model} 不存在 ({what})")


def _unique_schema(ctx: Ctx, model: str) -> dict:
    name = ctx.contract.find_schema(f"{model}WhereUniqueInput")
    return {"$ref": f"#/components/schemas/{name}"} if name else {}
