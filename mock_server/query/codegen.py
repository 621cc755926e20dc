"""A where plan compiled into one generated Python function: ``row -> bool`` (is the where
TRUE for the row), instead of a tree of closures called per node.

SQL's three-valued logic is kept by generating two expressions per node: T (the node is
TRUE) and F (the node is FALSE); UNKNOWN is neither. AND is TRUE when every part is TRUE and
FALSE when one is FALSE, OR the other way round, NOT swaps T and F, and a comparison is
TRUE/FALSE only for a non-null stored value. The comparison domains (collation keys,
numbers, instants) are the same `cmp_parts` the closures use, so answers are identical.

Relation filters are the id sets (SQL subselects) the binder computes once per query; the
generated code tests membership. Stored values are read inline as ``r.get(name)`` when the
data source says its rows are dicts whose values are the field values, else through the
source's getter.
"""

from __future__ import annotations

from typing import Any

from .domains import cmp_parts
from .plan import NOCOND, node_cost, not_

_OP_EXPR = {
    "eq": "{x} == {v}", "not": "{x} != {v}", "in": "{x} in {v}", "not_in": "{x} not in {v}",
    "lt": "{x} < {v}", "lte": "{x} <= {v}", "gt": "{x} > {v}", "gte": "{x} >= {v}",
    "contains": "{v} in {x}", "not_contains": "{v} not in {x}",
    "starts_with": "{x}.startswith({v})", "not_starts_with": "not {x}.startswith({v})",
    "ends_with": "{x}.endswith({v})", "not_ends_with": "not {x}.endswith({v})",
}


class _Gen:
    def __init__(self, binder, dict_rows: bool):
        self.b = binder
        self.dict_rows = dict_rows
        self.env: dict[str, Any] = {}
        self.n = 0
        self.columns: list[str] | None = None     # columnar mode: the fields read, in order
        self.columnar = True                      # every read is a plain r.get

    def const(self, obj: Any) -> str:
        self.n += 1
        name = f"_c{self.n}"
        self.env[name] = obj
        return name

    def var(self) -> str:
        self.n += 1
        return f"_x{self.n}"

    def value(self, model: str, name: str) -> str:
        if self.dict_rows:
            return self._read(name)
        self.columnar = False
        return f"{self.const(self.b.getter(model, name))}(r)"

    def related(self, model: str, name: str, stored_one: bool) -> str:
        if self.dict_rows and stored_one:
            return self._read(name)
        self.columnar = False
        return f"{self.const(self.b.rel_getter(model, name))}(r)"

    def _read(self, name: str) -> str:
        if self.columns is None:
            return f"r.get({name!r})"
        if name not in self.columns:
            self.columns.append(name)
        return f"_v{self.columns.index(name)}"

    # ------------------------------------------------------------------ nodes
    def t(self, model: str, node: tuple) -> str:
        return self.node(model, node, True)

    def node(self, model: str, node: tuple, want: bool) -> str:
        kind = node[0]
        if node is NOCOND:
            return "True" if want else "False"
        if kind == "const":
            return "True" if node[1] is want else "False"
        if kind in ("and", "or"):
            parts = sorted(node[1], key=node_cost) if kind == "and" else node[1]
            joiner = " and " if (kind == "and") == want else " or "
            return "(" + joiner.join(self.node(model, p, want) for p in parts) + ")"
        if kind == "not":
            return self.node(model, node[1], not want)
        if kind in ("isnull", "notnull"):
            is_null = (kind == "isnull") == want
            return f"({self.value(model, node[1].name)} is {'' if is_null else 'not '}None)"
        if kind == "cmp":
            _, f, op, value = node
            norm, v = cmp_parts(f, op, value)
            x = self.var()
            expr = _OP_EXPR[op].format(x=x, v=self.const(v))
            head = f"({x} := {self.value(model, f.name)}) is not None"
            if norm is not None:
                head += f" and ({x} := {self.const(norm)}({x})) is not None"
            return f"({head} and {'' if want else 'not '}({expr}))"
        r = node[1]
        plan = self._stored_one(model, r)
        x = self.var()
        get = self.related(model, r.name, plan)
        if kind == "relnull":
            return f"({get} is {'' if want else 'not '}None)"
        if kind == "rel":
            s = self.const(self.b.id_set(r.target, node[2]))
            expr = f"(({x} := {get}) is not None and {x} in {s})"
        elif kind == "some":
            s = self.const(self.b.id_set(r.target, node[2]))
            expr = f"(bool({x} := {get}) and not {s}.isdisjoint({x}))"
        elif kind == "none":
            s = self.const(self.b.id_set(r.target, node[2]))
            expr = f"(not ({x} := {get}) or {s}.isdisjoint({x}))"
        elif kind == "every":
            s = self.const(self.b.id_set(r.target, not_(node[2])))
            expr = f"(not ({x} := {get}) or {s}.isdisjoint({x}))"
        else:
            raise AssertionError(f"unknown plan node {kind}")
        return expr if want else f"(not {expr})"

    def _stored_one(self, model: str, r) -> bool:
        plans = getattr(self.b.source, "stored_to_one", None)
        return bool(plans and plans(model, r.name))


def compile_test(binder, model: str, plan: tuple) -> tuple:
    """(test, scan, count, columnar): ``test(row)`` is True when the where is TRUE for the row;
    ``scan(rows)`` lists the rows of an iterable for which it is, ``count(rows)`` counts them.
    ``columnar`` is None or (fields, cscan, ccount), the same over columns of the fields'
    values: ``cscan(ids, *columns)`` lists the ids whose values pass, ``ccount(*columns)``
    counts them."""
    gen = _Gen(binder, bool(getattr(binder.source, "dict_rows", False)))
    expr = gen.t(model, plan)
    src = (f"def _test(r):\n    return {expr}\n"
           f"def _scan(rows):\n    return [r for r in rows if {expr}]\n"
           f"def _count(rows):\n    n = 0\n    for r in rows:\n        if {expr}:\n            n += 1\n    return n\n")
    fields = None
    if gen.columnar:
        gen.columns = []
        cexpr = gen.t(model, plan)
        fields = gen.columns
        if fields:
            vs = ", ".join(f"_v{k}" for k in range(len(fields)))
            cs = ", ".join(f"_c_{k}" for k in range(len(fields)))
            one = len(fields) == 1
            it_ids = f"zip(ids, {cs})"
            it = "_c_0" if one else f"zip({cs})"
            src += (f"def _cscan(ids, {cs}):\n    return [i for i, {vs} in {it_ids} if {cexpr}]\n"
                    f"def _ccount({cs}):\n    n = 0\n    for {vs} in {it}:\n"
                    f"        if {cexpr}:\n            n += 1\n    return n\n")
        else:
            fields = None
    env = dict(gen.env)
    exec(_code(model, src), env)    # noqa: S102 (generated from a validated plan)
    columnar = (tuple(fields), env["_cscan"], env["_ccount"]) if fields else None
    return env["_test"], env["_scan"], env["_count"], columnar


# The generated text names every value (`_c1`, ...) and holds none, so it depends on the
# shape of the where only: compiled once per shape, the values bound per query in `env`.
_CODE: dict[tuple[str, str], Any] = {}
_CODE_MAX = 2048


def _code(model: str, src: str):
    key = (model, src)
    code = _CODE.get(key)
    if code is None:
        code = compile(src, f"<where {model}>", "exec")
        if len(_CODE) >= _CODE_MAX:
            _CODE.clear()
        _CODE[key] = code
    return code
