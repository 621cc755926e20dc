"""Standard reads: every `get-<plural>` and `get-<plural>-connection` of the contract,
served from the store through the query engine."""

from __future__ import annotations

from ..contract.index import CONNECTION, LIST
from ..errors import ApiError
from ..query import QueryError
from ..query import engine
from ..store import StoreSource
from ..texts import LOCALIZED, localize
from . import Ctx, RawJSON, family


def query_error(e: QueryError) -> ApiError:
    """ErrorBody.code is the contract's ErrorCode enum (only `ResourceLocked`), so Prisma's
    numeric code (3014, 3026-3028, 3033) travels in `props.code`, keeping the body valid."""
    props = {"code": e.code} if e.code is not None else None
    if e.field:
        props = {**(props or {}), "field": e.field}
    return ApiError(400, e.message, props=props, message_zh=f"查询参数无效: {e.message}")


def find_rows(ctx: Ctx, model: str, args: dict | None) -> list[dict]:
    """The rows a where/orderBy/pagination body selects (for reads and where-based mutations)."""
    args = args or {}
    schema = ctx.contract.query_schema
    try:
        return engine.find(schema, StoreSource(ctx.store), model, args)
    except QueryError as e:
        raise query_error(e) from e


@family(LIST)
def list_resources(ctx: Ctx, body: dict | None):
    model = ctx.op.resource
    store = ctx.store
    rows = find_rows(ctx, model, body)
    if ctx.lang != "en-US" and model in LOCALIZED:
        return [localize(model, store.render(model, r), ctx.lang) for r in rows]
    return RawJSON(b"[" + b",".join([store.render_json(model, r) for r in rows]) + b"]")


@family(CONNECTION)
def count_resources(ctx: Ctx, body: dict | None):
    model = ctx.op.resource
    schema = ctx.contract.query_schema
    try:
        n = engine.count(schema, StoreSource(ctx.store), model, body or {})
    except QueryError as e:
        raise query_error(e) from e
    return {"aggregate": {"count": n}}
