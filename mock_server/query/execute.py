"""Running a request body against a data source: `find` (the rows, in response order) and
`count` (exactly ``len(find(...))``). The where is bound once per query; the rows then go
through the path that fits: id order (id_order), a cached sorted order or a sorted window
(orders)."""

from __future__ import annotations

from .binder import Binder
from .model import QuerySchema
from .id_order import execute_id_order
from .orders import SORTED_CACHE_MIN, field_order, page_sorted, sorted_order
from .plan import FALSE, NOCOND, TRUE
from .request import Query, prepared


def find(schema: QuerySchema, source, model, args: dict | None) -> list:
    """The rows (as ``source.get`` returns them) a list request answers, in response order."""
    return execute(schema, source, prepared(schema, model, args), False)


def count(schema: QuerySchema, source, model, args: dict | None) -> int:
    """``aggregate.count`` for the same body: exactly ``len(find(...))``."""
    return execute(schema, source, prepared(schema, model, args), True)


def execute(schema: QuerySchema, source, q: Query, counting: bool):
    mname = q.model.name
    b = Binder(schema, source)
    plan = q.where
    if plan == FALSE:
        return 0 if counting else []
    test = fast = None
    if not (plan is NOCOND or plan == TRUE):
        test, *fast = b.compiled(mname, plan)
    cand = b.candidates(mname, plan)
    get = b.row_get(mname)

    cursors = [(c, is_after) for c, is_after in ((q.after, True), (q.before, False))
               if c is not None]
    crows = []
    for c, is_after in cursors:
        crow = get(c)
        if crow is None:
            return 0 if counting else []        # unknown cursor: NULL comparisons
        crows.append((c, is_after, crow))

    if q.order_field is None or (counting and not crows):
        # a count does not depend on the order (cursors aside): count in id order
        return execute_id_order(b, source, q, mname, test, fast, cand, crows, counting, get)
    if not crows and (cand is None or len(cand) > SORTED_CACHE_MIN):
        order = sorted_order(b, source, mname, q.order_field, q.desc)
        if order is not None:
            return page_sorted(order, q, test, cand, get)
    return field_order(b, source, q, mname, test, cand, crows, counting, get)
