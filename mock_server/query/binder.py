"""Binding plans to a data source: per-field getters, the generated test of a plan (see
codegen) and the id sets of relation subselects, memoised per bind."""

from __future__ import annotations

from typing import Any, Callable

from .codegen import compile_test
from .hints import IndexHints
from .model import QuerySchema
from .plan import NOCOND, TRUE
from .predicates import PredicateBuilder


class Binder(PredicateBuilder, IndexHints):
    """A plan bound to one data source: getters, generated tests, subselect id sets, index
    candidates (IndexHints) and closure predicates (PredicateBuilder)."""

    def __init__(self, schema: QuerySchema, source):
        self.schema = schema
        self.source = source
        self._vget = getattr(source, "value_getter", None)
        self._rget = getattr(source, "related_getter", None)
        self._sets: dict[int, tuple[tuple, set]] = {}   # id(plan) -> (plan, ids where TRUE)
        self._tests: dict[int, tuple[tuple, tuple]] = {}  # id(plan) -> (plan, compiled)

    def compiled(self, model: str, plan: tuple) -> tuple:
        """(test, scan, count) generated for `plan` (see codegen)."""
        hit = self._tests.get(id(plan))
        if hit is not None and hit[0] is plan:
            return hit[1]
        out = compile_test(self, model, plan)
        self._tests[id(plan)] = (plan, out)
        return out

    # -- getters
    def getter(self, model: str, name: str) -> Callable[[Any], Any]:
        if self._vget is not None:
            g = self._vget(model, name)
            if g is not None:
                return g
        value = self.source.value
        return lambda row: value(model, row, name)

    def rel_getter(self, model: str, name: str) -> Callable[[Any], Any]:
        if self._rget is not None:
            g = self._rget(model, name)
            if g is not None:
                return g
        related = self.source.related
        return lambda row: related(model, row, name)

    def row_get(self, model: str) -> Callable[[str], Any]:
        rg = getattr(self.source, "row_getter", None)
        if rg is not None:
            g = rg(model)
            if g is not None:
                return g
        get = self.source.get
        return lambda i: get(model, i)

    # -- id sets (the SQL subselects)
    def id_set(self, model: str, plan: tuple) -> set:
        """Ids of `model` rows for which `plan` is TRUE (NOCOND = every row)."""
        hit = self._sets.get(id(plan))
        if hit is not None and hit[0] is plan:
            return hit[1]
        src = self.source
        cand = self.candidates(model, plan)
        get = self.row_get(model)
        if plan is NOCOND or plan == TRUE:
            if cand is None:
                result = set(src.ids(model))
            else:
                result = {i for i in cand if get(i) is not None}
        else:
            test, scan = self.compiled(model, plan)[:2]
            view = src.rows_view(model) if cand is None and hasattr(src, "rows_view") else None
            if view is not None:
                result = {r["id"] for r in scan(view.values())} if src.dict_rows else \
                    {i for i, r in view.items() if test(r)}
            else:
                ids = src.ids(model) if cand is None else cand
                result = {i for i in ids if (row := get(i)) is not None and test(row)}
        self._sets[id(plan)] = (plan, result)
        return result
