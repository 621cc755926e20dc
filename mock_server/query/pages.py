"""Paging helpers shared by the execution paths."""

from __future__ import annotations

from .request import Query


def page_bounds(n: int, q: Query) -> tuple[int, int]:
    """Slice [start, end) of a forward-ordered window of n rows after skip/first/last."""
    if q.last is not None:
        end = max(0, n - q.skip)
        return max(0, end - q.last), end
    start = min(n, q.skip)
    if q.first is not None:
        return start, min(n, start + q.first)
    return start, n


def first_item(t):
    return t[0]


def row_id(row):
    return row["id"]
