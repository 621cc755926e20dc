"""A plan as a tree of closures ``row -> True | False | None`` (SQL three-valued logic): the
binder's `pred`, used by `CompiledWhere.bind` (the engine's queries use the generated code)."""

from __future__ import annotations

import operator
from typing import Any, Callable

from .domains import cmp_parts
from .plan import NOCOND, node_cost, not_


def _p_true(row):
    return True


def _p_false(row):
    return False


def _p_unknown(row):
    return None


_CONST = {True: _p_true, False: _p_false, None: _p_unknown}


def _contains(x, v):
    return v in x


def _not_contains(x, v):
    return v not in x


def _starts(x, v):
    return x.startswith(v)


def _not_starts(x, v):
    return not x.startswith(v)


def _ends(x, v):
    return x.endswith(v)


def _not_ends(x, v):
    return not x.endswith(v)


def _in(x, v):
    return x in v


def _not_in(x, v):
    return x not in v


_OPFUNCS = {
    "eq": operator.eq, "not": operator.ne, "in": _in, "not_in": _not_in,
    "lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge,
    "contains": _contains, "not_contains": _not_contains,
    "starts_with": _starts, "not_starts_with": _not_starts,
    "ends_with": _ends, "not_ends_with": _not_ends,
}


def _p_and(ps):
    if len(ps) == 2:
        a, b = ps

        def p_and2(row):
            x = a(row)
            if x is False:
                return False
            y = b(row)
            if y is False:
                return False
            return True if (x is True and y is True) else None
        return p_and2

    def p_and(row):
        res = True
        for p in ps:
            v = p(row)
            if v is False:
                return False
            if v is None:
                res = None
        return res
    return p_and


def _p_or(ps):
    def p_or(row):
        res = False
        for p in ps:
            v = p(row)
            if v is True:
                return True
            if v is None:
                res = None
        return res
    return p_or


class PredicateBuilder:
    """The `pred` part of the binder (needs its `getter`, `rel_getter` and `id_set`)."""

    def pred(self, model: str, node: tuple) -> Callable[[Any], bool | None]:
        t = node[0]
        if node is NOCOND:
            return _p_true
        if t == "const":
            return _CONST[node[1]]
        if t == "and":
            # Kleene AND is commutative: run cheap (and usually selective) tests first
            return _p_and([self.pred(model, c) for c in sorted(node[1], key=node_cost)])
        if t == "or":
            return _p_or([self.pred(model, c) for c in node[1]])
        if t == "not":
            inner = self.pred(model, node[1])

            def p_not(row):
                v = inner(row)
                return None if v is None else not v
            return p_not
        if t == "isnull":
            g = self.getter(model, node[1].name)
            return lambda row: g(row) is None
        if t == "notnull":
            g = self.getter(model, node[1].name)
            return lambda row: g(row) is not None
        if t == "cmp":
            return self._p_cmp(model, node)
        r = node[1]
        rg = self.rel_getter(model, r.name)
        if t == "relnull":
            return lambda row: rg(row) is None
        if t == "rel":
            s = self.id_set(r.target, node[2])

            def p_rel(row):
                x = rg(row)
                return x is not None and x in s
            return p_rel
        if t == "some":
            s = self.id_set(r.target, node[2])

            def p_some(row):
                xs = rg(row)
                return bool(xs) and not s.isdisjoint(xs)
            return p_some
        if t == "none":
            s = self.id_set(r.target, node[2])

            def p_none(row):
                xs = rg(row)
                return not xs or s.isdisjoint(xs)
            return p_none
        if t == "every":
            # no related row for which NOT W is TRUE (UNKNOWN is not a violator)
            violators = self.id_set(r.target, not_(node[2]))

            def p_every(row):
                xs = rg(row)
                return not xs or violators.isdisjoint(xs)
            return p_every
        raise AssertionError(f"unknown plan node {t}")

    def _p_cmp(self, model: str, node: tuple):
        _, f, op, value = node
        g = self.getter(model, f.name)
        fn = _OPFUNCS[op]
        norm, v = cmp_parts(f, op, value)
        if norm is None:
            if op == "eq":
                def p_eq(row):
                    x = g(row)
                    return None if x is None else x == v
                return p_eq
            if op == "contains":
                def p_contains(row):
                    x = g(row)
                    return None if x is None else v in x
                return p_contains

            def p_cmp(row):
                x = g(row)
                return None if x is None else fn(x, v)
            return p_cmp

        def p_cmp_norm(row):
            x = g(row)
            if x is None:
                return None
            x = norm(x)
            return None if x is None else fn(x, v)
        return p_cmp_norm
