"""The query engine: where / orderBy / pagination / count as pure functions.

Semantics: Prisma 1.34 SQL connector on PostgreSQL (en_US collation), as written down in
`docs/query-semantics.md` (the rule book). Public API:

* :func:`validate_args` -- raise :class:`QueryError` for a bad request body.
* :func:`find` / :func:`count` -- run a request body against a :class:`DataSource`.
* :func:`compile_where` -- validate and compile a where tree once; ``.bind(source)`` gives a
  predicate ``row -> True | False | None`` (SQL three-valued logic).

A where tree is compiled in two steps: ``compile`` parses and type-checks it into a small plan
(tuples), ``bind`` turns the plan into closures over a data source, with per-field getters
precomputed. Relation filters are evaluated like the SQL ``id IN (subselect)`` Prisma emits: the
nested where runs once over the target model into a set of ids, rows then test membership.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable

import orjson

from .codegen import compile_test
from .collation import collation_key, instant, json_key
from .model import (BOOLEAN, DATETIME, ENUM, FLOAT, ID, INT, JSON, STRING, FieldDesc, ModelDesc,
                    QueryError, QuerySchema, RelationDesc)

__all__ = ["validate_args", "find", "count", "compile_where", "CompiledWhere", "Query",
           "prepare", "parse_where_key", "OPERATORS", "INT32_MAX"]

INT32_MAX = 2 ** 31 - 1

MSG_FIRST_AND_LAST = (
    "Including a value for both first and last is not supported. See the spec for a discussion "
    "of why https://facebook.github.io/relay/graphql/connections.htm#sec-Pagination-algorithm")
MSG_NEGATIVE = "The '{}' argument must be non negative"
MSG_TO_MANY_NULL = "The field '{}' is a toMany relation. This cannot be filtered by null."

# ---------------------------------------------------------------------------------------------
# operators

_ALL_OPS = ("", "_not", "_in", "_not_in", "_lt", "_lte", "_gt", "_gte",
            "_contains", "_not_contains", "_starts_with", "_not_starts_with",
            "_ends_with", "_not_ends_with")
_ORDERED_OPS = _ALL_OPS[:8]
OPERATORS: dict[str, tuple[str, ...]] = {
    ID: _ALL_OPS, STRING: _ALL_OPS,
    INT: _ORDERED_OPS, FLOAT: _ORDERED_OPS, DATETIME: _ORDERED_OPS,
    ENUM: _ALL_OPS[:4], BOOLEAN: _ALL_OPS[:2],
    JSON: ("",),
}
_REL_SUFFIXES = ("_some", "_every", "_none")
_SUFFIXES = tuple(sorted({s for s in _ALL_OPS if s} | set(_REL_SUFFIXES), key=len, reverse=True))
_LOGIC = ("AND", "OR", "NOT")
_ID_FIELD = FieldDesc("id", ID, nullable=False)
_TIMESTAMP_ORDER_FIELDS = ("createdAt", "updatedAt")


def _field(model: ModelDesc, name: str) -> FieldDesc | None:
    f = model.fields.get(name)
    if f is None and name == "id":
        return _ID_FIELD
    return f


def parse_where_key(model: ModelDesc, key: str):
    """Split a where key into what it filters.

    Returns ``("field", FieldDesc, suffix)``, ``("rel", RelationDesc, "")`` (to-one),
    ``("many", RelationDesc, suffix)`` (to-many, suffix in _some/_every/_none), or None.
    The longest field / relation name that exists wins.
    """
    f = _field(model, key)
    if f is not None:
        return ("field", f, "")
    r = model.relations.get(key)
    if r is not None and not r.many:
        return ("rel", r, "")
    best = None
    best_len = -1
    for suf in _SUFFIXES:
        if not key.endswith(suf):
            continue
        base = key[:-len(suf)]
        if len(base) <= best_len or not base:
            continue
        f = _field(model, base)
        if f is not None and suf in OPERATORS.get(f.kind, ()):
            best, best_len = ("field", f, suf), len(base)
            continue
        r = model.relations.get(base)
        if r is not None and r.many and suf in _REL_SUFFIXES:
            best, best_len = ("many", r, suf), len(base)
    return best


# ---------------------------------------------------------------------------------------------
# plan nodes (tuples; the first element names the node)

NOCOND = ("nocond",)          # "no condition": identity in AND/OR, TRUE at the top, NOT -> FALSE
TRUE = ("const", True)
FALSE = ("const", False)
UNKNOWN = ("const", None)


def _and(parts: list) -> tuple:
    flat = []
    for p in parts:
        if p is NOCOND:
            continue
        if p[0] == "and":
            flat.extend(p[1])
        else:
            flat.append(p)
    if not flat:
        return NOCOND
    if len(flat) == 1:
        return flat[0]
    return ("and", flat)


def _or(parts: list) -> tuple:
    flat = [p for p in parts if p is not NOCOND]
    if not flat:
        return NOCOND
    if len(flat) == 1:
        return flat[0]
    return ("or", flat)


def _not(p: tuple) -> tuple:
    if p is NOCOND:
        return FALSE            # NOT (1 = 1)
    return ("not", p)


# ---------------------------------------------------------------------------------------------
# value coercion (where values)

def _type_error(path: str, expected: str, value: Any) -> QueryError:
    return QueryError(f"Invalid value for '{path}': expected {expected}, got {value!r}", None, path)


def _coerce(f: FieldDesc, v: Any, path: str) -> Any:
    """Coerce a non-null where value to the comparison domain of the field."""
    kind = f.kind
    if kind == STRING:
        if isinstance(v, str):
            return v
        raise _type_error(path, "a string", v)
    if kind == ID:
        if isinstance(v, str):
            return v
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        raise _type_error(path, "an ID string", v)
    if kind == INT:
        if isinstance(v, bool):
            raise _type_error(path, "an integer", v)
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
        raise _type_error(path, "an integer", v)
    if kind == FLOAT:
        if isinstance(v, bool):
            raise _type_error(path, "a number", v)
        try:
            if isinstance(v, int):
                return Decimal(v)
            if isinstance(v, float):
                d = Decimal(repr(v))
            elif isinstance(v, (str, Decimal)):
                d = Decimal(v.strip() if isinstance(v, str) else v)
            else:
                raise _type_error(path, "a number", v)
        except (InvalidOperation, ValueError):
            raise _type_error(path, "a number", v) from None
        if not d.is_finite():
            raise _type_error(path, "a finite number", v)
        return d
    if kind == BOOLEAN:
        if isinstance(v, bool):
            return v
        raise _type_error(path, "a boolean", v)
    if kind == DATETIME:
        t = instant(v) if isinstance(v, str) else None
        if t is None:
            raise _type_error(path, "an ISO-8601 DateTime string", v)
        return t
    if kind == ENUM:
        if isinstance(v, str) and (not f.enum_values or v in f.enum_values):
            return v
        allowed = "|".join(f.enum_values)
        raise _type_error(path, f"one of {allowed}" if allowed else "an enum value", v)
    if kind == JSON:
        return json_key(v)
    raise _type_error(path, f"a value of kind {kind}", v)


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


def _sort_norm(kind: str) -> Callable[[Any], Any] | None:
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


# ---------------------------------------------------------------------------------------------
# compiling a where tree

class _Compiler:
    def __init__(self, schema: QuerySchema):
        self.schema = schema
        self.null_to_many: list[tuple[str, str]] = []   # (path, relation) of `rel_some: null`

    def model(self, name: str) -> ModelDesc:
        m = self.schema.models.get(name)
        return m if m is not None else ModelDesc(name)

    def obj(self, model: ModelDesc, where: Any, path: str) -> tuple:
        if where is None:
            return NOCOND
        if not isinstance(where, dict):
            raise _type_error(path, f"a {model.name}WhereInput object", where)
        parts = []
        for key, val in where.items():
            kp = f"{path}.{key}"
            if key in _LOGIC:
                parts.append(self.logic(model, key, val, kp))
                continue
            parsed = parse_where_key(model, key) if isinstance(key, str) else None
            if parsed is None or (model.where_keys is not None and key not in model.where_keys):
                raise QueryError(f"Unknown where key '{key}' on {model.name}WhereInput", None, kp)
            what, desc, suf = parsed
            if what == "field":
                parts.append(self.scalar(desc, suf, val, kp))
            elif what == "rel":
                if val is None:
                    parts.append(("relnull", desc))
                else:
                    target = self.model(desc.target)
                    if not isinstance(val, dict):
                        raise _type_error(kp, f"a {target.name}WhereInput object or null", val)
                    parts.append(("rel", desc, self.obj(target, val, kp)))
            else:
                if val is None:
                    self.null_to_many.append((kp, desc.name))
                    parts.append(FALSE)
                    continue
                target = self.model(desc.target)
                if not isinstance(val, dict):
                    raise _type_error(kp, f"a {target.name}WhereInput object", val)
                parts.append((suf[1:], desc, self.obj(target, val, kp)))
        return _and(parts)

    def logic(self, model: ModelDesc, key: str, val: Any, path: str) -> tuple:
        if val is None:
            return NOCOND
        items = [val] if isinstance(val, dict) else val
        if not isinstance(items, list):
            raise _type_error(path, f"a list of {model.name}WhereInput", val)
        nodes = [self.obj(model, item, f"{path}[{i}]") if isinstance(item, dict)
                 else self._bad_item(model, item, f"{path}[{i}]")
                 for i, item in enumerate(items)]
        if key == "AND":
            return TRUE if not nodes else _and(nodes)
        if key == "OR":
            return FALSE if not nodes else _or(nodes)
        return TRUE if not nodes else _and([_not(n) for n in nodes])

    def _bad_item(self, model, item, path):
        raise _type_error(path, f"a {model.name}WhereInput object", item)

    def scalar(self, f: FieldDesc, suf: str, val: Any, path: str) -> tuple:
        op = suf[1:] or "eq"
        if val is None:
            if op in ("eq", "in"):
                return ("isnull", f)
            if op in ("not", "not_in"):
                return ("notnull", f)
            return UNKNOWN                      # comparison with NULL
        if op in ("in", "not_in"):
            items = val if isinstance(val, list) else [val]
            coerced = []
            for i, item in enumerate(items):
                if item is None:
                    raise _type_error(f"{path}[{i}]", "a non-null value", item)
                coerced.append(_coerce(f, item, f"{path}[{i}]"))
            if not coerced:
                return FALSE if op == "in" else TRUE
            return ("cmp", f, op, coerced)
        if op in ("contains", "not_contains", "starts_with", "not_starts_with",
                  "ends_with", "not_ends_with"):
            if not isinstance(val, str):
                raise _type_error(path, "a string", val)
            return ("cmp", f, op, val)
        return ("cmp", f, op, _coerce(f, val, path))


class CompiledWhere:
    """A validated where tree. ``bind(source)`` gives ``row -> True | False | None``."""

    def __init__(self, schema: QuerySchema, model: ModelDesc, plan: tuple,
                 null_to_many: list[tuple[str, str]] = ()):
        self.schema = schema
        self.model = model
        self.plan = plan
        self.null_to_many = list(null_to_many)

    @property
    def is_trivial(self) -> bool:
        return self.plan is NOCOND or self.plan == TRUE

    def bind(self, source) -> Callable[[Any], bool | None]:
        """A predicate over rows of ``source``. Relation subselects are evaluated now, so bind
        again after the data changed."""
        return _Binder(self.schema, source).pred(self.model.name, self.plan)

    def __call__(self, source, row) -> bool | None:
        return self.bind(source)(row)


def _raise_null_to_many(null_to_many):
    if null_to_many:
        path, rel = null_to_many[0]
        raise QueryError(MSG_TO_MANY_NULL.format(rel), 3033, path)


def _resolve_model(schema: QuerySchema, model) -> ModelDesc:
    if isinstance(model, ModelDesc):
        return model
    m = schema.models.get(model)
    if m is None:
        raise QueryError(f"Unknown model '{model}'", None, None)
    return m


def compile_where(schema: QuerySchema, model, where: Any, path: str = "where") -> CompiledWhere:
    """Validate and compile a where tree (raises QueryError, incl. 3033)."""
    model = _resolve_model(schema, model)
    c = _Compiler(schema)
    plan = c.obj(model, where, path)
    _raise_null_to_many(c.null_to_many)
    return CompiledWhere(schema, model, plan, c.null_to_many)


# ---------------------------------------------------------------------------------------------
# binding plans to closures

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
_ORDER_OPS = ("lt", "lte", "gt", "gte")
_LIKE_OPS = ("contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with")
_LOOKUP_KINDS = (ID, STRING, INT, ENUM, BOOLEAN)


def _as_str(x):
    return x if isinstance(x, str) else str(x)


def _cmp_parts(f: FieldDesc, op: str, value):
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
            return _sort_norm(STRING), collation_key(value)
        return None, (frozenset(value) if multi else value)
    if kind in (DATETIME, JSON):
        norm = instant if kind == DATETIME else json_key
        return norm, (frozenset(value) if multi else value)
    if kind == BOOLEAN:
        return None, value
    # ID, INT, ENUM: stored values compare as they are
    return None, (frozenset(value) if multi else value)


class _Binder:
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

    # -- candidate sets from indexes
    def candidates(self, model: str, plan: tuple) -> set | None:
        """A superset of the ids for which `plan` is TRUE, from index lookups; None = scan."""
        conj = plan[1] if plan[0] == "and" else (plan,)
        best: list[set] = []
        for node in conj:
            s = self._hint(model, node)
            if s is not None:
                if not s:
                    return set()
                best.append(s)
        if not best:
            return None
        best.sort(key=len)
        if len(best) == 1:
            return best[0]
        out = set(best[0])
        for s in best[1:]:
            out &= s
            if not out:
                break
        return out

    def _lookup_union(self, model: str, name: str, values) -> set | None:
        lookup = self.source.lookup
        out: set = set()
        for v in values:
            s = lookup(model, name, v)
            if s is None:
                return None
            out |= s
        return out

    def _hint(self, model: str, node: tuple) -> set | None:
        t = node[0]
        if node == FALSE:
            return set()
        if t == "cmp":
            _, f, op, v = node
            if op not in ("eq", "in") or f.kind not in _LOOKUP_KINDS:
                return None
            values = v if op == "in" else (v,)
            if f.name == "id" and f.kind == ID:
                return set(values)
            return self._lookup_union(model, f.name, values)
        if t == "rel":
            _, r, sub = node
            if sub[0] == "cmp" and sub[1].name == "id" and sub[2] in ("eq", "in"):
                values = sub[3] if sub[2] == "in" else (sub[3],)
                s = self._lookup_union(model, r.name, values)
                if s is not None:
                    return s
            return self._referrers(model, r, sub)
        if t == "some":
            return self._referrers(model, node[1], node[2])
        return None

    def _referrers(self, model: str, r: RelationDesc, sub: tuple) -> set | None:
        referrers = getattr(self.source, "referrers", None)
        if referrers is None:
            return None
        if referrers(model, r.name, set()) is None:   # not indexed: don't compute the subselect
            return None
        return referrers(model, r.name, self.id_set(r.target, sub))

    # -- predicates
    def pred(self, model: str, node: tuple) -> Callable[[Any], bool | None]:
        t = node[0]
        if node is NOCOND:
            return _p_true
        if t == "const":
            return _CONST[node[1]]
        if t == "and":
            # Kleene AND is commutative: run cheap (and usually selective) tests first
            return _p_and([self.pred(model, c) for c in sorted(node[1], key=_cost)])
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
            violators = self.id_set(r.target, _not(node[2]))

            def p_every(row):
                xs = rg(row)
                return not xs or violators.isdisjoint(xs)
            return p_every
        raise AssertionError(f"unknown plan node {t}")

    def _p_cmp(self, model: str, node: tuple):
        _, f, op, value = node
        g = self.getter(model, f.name)
        fn = _OPFUNCS[op]
        norm, v = _cmp_parts(f, op, value)
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


_NODE_COST = {"const": 0, "isnull": 1, "notnull": 1, "relnull": 1, "rel": 2, "some": 3,
              "none": 3, "every": 3, "cmp": 4, "not": 6, "and": 6, "or": 7}
_OP_COST = {"eq": 0, "in": 0, "not": 1, "not_in": 1}


def _cost(node: tuple) -> int:
    c = _NODE_COST.get(node[0], 8)
    if node[0] == "cmp":
        c += _OP_COST.get(node[2], 1 if node[1].kind in (INT, FLOAT, ID) else 2)
    return c


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


# ---------------------------------------------------------------------------------------------
# request bodies

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
            raise _type_error(name, "an integer", v)
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
    raise _type_error(name, "an ID string", v)


def _order_arg(model: ModelDesc, v) -> tuple[FieldDesc | None, bool]:
    if v is None:
        return None, False
    if not isinstance(v, str):
        raise _type_error("orderBy", f"a {model.name}OrderByInput value", v)
    for suf, desc in (("_ASC", False), ("_DESC", True)):
        if v.endswith(suf):
            name = v[:-len(suf)]
            f = _field(model, name)
            if f is None and name in _TIMESTAMP_ORDER_FIELDS:
                f = FieldDesc(name, DATETIME)
            if f is not None and f.sortable:
                if f.name == "id":
                    return None, desc
                return f, desc
    raise QueryError(f"Unknown orderBy value '{v}' for {model.name}OrderByInput", None, "orderBy")


def prepare(schema: QuerySchema, model, args: dict | None) -> Query:
    """Validate a request body into a :class:`Query` (raises QueryError). Malformed input
    first, then 3033, 3014, 3026, 3027, 3028."""
    model = _resolve_model(schema, model)
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise _type_error("body", "an object", args)
    c = _Compiler(schema)
    plan = c.obj(model, args.get("where"), "where")
    order_field, desc = _order_arg(model, args.get("orderBy"))
    first, last, skip = _int_arg(args, "first"), _int_arg(args, "last"), _int_arg(args, "skip")
    after, before = _cursor_arg(args, "after"), _cursor_arg(args, "before")
    _raise_null_to_many(c.null_to_many)
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


# ---------------------------------------------------------------------------------------------
# execution

def find(schema: QuerySchema, source, model, args: dict | None) -> list:
    """The rows (as ``source.get`` returns them) a list request answers, in response order."""
    return _execute(schema, source, _prepared(schema, model, args), False)


def count(schema: QuerySchema, source, model, args: dict | None) -> int:
    """``aggregate.count`` for the same body: exactly ``len(find(...))``."""
    return _execute(schema, source, _prepared(schema, model, args), True)


_PREPARED_MAX = 2048


def _prepared(schema: QuerySchema, model, args: dict | None) -> Query:
    """`prepare`, memoised on the body's canonical JSON: clients repeat the same queries
    (task polling, point lookups), and a prepared Query is immutable. Errors are not kept."""
    try:
        key = (model if isinstance(model, str) else model.name, orjson.dumps(args, option=orjson.OPT_SORT_KEYS))
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


def _page_bounds(n: int, q: Query) -> tuple[int, int]:
    """Slice [start, end) of a forward-ordered window of n rows after skip/first/last."""
    if q.last is not None:
        end = max(0, n - q.skip)
        return max(0, end - q.last), end
    start = min(n, q.skip)
    if q.first is not None:
        return start, min(n, start + q.first)
    return start, n


def _execute(schema: QuerySchema, source, q: Query, counting: bool):
    mname = q.model.name
    b = _Binder(schema, source)
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
        return _execute_id_order(b, source, q, mname, test, fast, cand, crows, counting, get)
    if not crows and (cand is None or len(cand) > _SORTED_CACHE_MIN):
        order = _sorted_order(b, source, mname, q.order_field, q.desc)
        if order is not None:
            return _page_sorted(order, q, test, cand, get)

    # ---- orderBy on a field: window, sort, page
    f = q.order_field
    g = b.getter(mname, f.name)
    norm = _sort_norm(f.kind)
    desc = q.desc
    bounds = []
    for c, is_after, crow in crows:
        raw = g(crow)
        vc = None if raw is None else norm(raw)
        if vc is None:
            return 0 if counting else []
        # keep r when r is beyond (after) / before the cursor in direction D, ties by id
        bounds.append((c, vc, is_after != desc, is_after))   # greater: need key > vc

    ids = source.ids(mname) if cand is None else sorted(cand)
    keyed: list = []          # (key, id, row) with non-null key, in id order
    nulls: list = []
    for i in ids:
        row = get(i)
        if row is None or (test is not None and not test(row)):
            continue
        raw = g(row)
        k = None if raw is None else norm(raw)
        if bounds:
            if k is None:
                continue
            ok = True
            for c, vc, greater, is_after in bounds:
                if k == vc:
                    ok = (i > c) if is_after else (i < c)
                elif greater:
                    ok = k > vc
                else:
                    ok = k < vc
                if not ok:
                    break
            if not ok:
                continue
        if k is None:
            nulls.append(row)
        else:
            keyed.append((k, row))
    n = len(keyed) + len(nulls)
    start, end = _page_bounds(n, q)
    if counting:
        return end - start
    keyed.sort(key=_first_item, reverse=desc)
    rows = [r for _, r in keyed]
    rows = nulls + rows if desc else rows + nulls
    return rows[start:end]


def _first_item(t):
    return t[0]


_SORTED_CACHE_MIN = 512        # fewer candidates are sorted on the spot


def _sorted_order(b: _Binder, source, mname: str, f: FieldDesc, desc: bool) -> list | None:
    """Every id of the model in response order for orderBy `f` (ties by id, nulls last
    ascending / first descending), kept in the source's sort cache until the data changes."""
    sc = getattr(source, "sort_cache", None)
    got = sc(mname) if sc is not None else None
    if got is None:
        return None
    cache, version = got
    key = (f.name, f.kind, desc)
    hit = cache.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    g = b.getter(mname, f.name)
    norm = _sort_norm(f.kind)
    get = b.row_get(mname)
    keyed: list = []
    nulls: list = []
    for i in source.ids(mname):
        row = get(i)
        if row is None:
            continue
        raw = g(row)
        k = None if raw is None else norm(raw)
        if k is None:
            nulls.append(i)
        else:
            keyed.append((k, i))
    keyed.sort(key=_first_item, reverse=desc)
    ids = [i for _, i in keyed]
    order = nulls + ids if desc else ids + nulls
    cache[key] = (version, order)
    return order


def _page_sorted(order: list, q: Query, test, cand, get) -> list:
    """The page of a sorted order: rows for which the where is TRUE (all when no where)."""
    if test is None and cand is None:
        start, end = _page_bounds(len(order), q)
        return [r for r in (get(i) for i in order[start:end]) if r is not None]
    want = None if q.last is not None else (q.skip + q.first if q.first is not None else None)
    rows: list = []
    append = rows.append
    if want == 0:
        return rows
    for i in order:
        if cand is not None and i not in cand:
            continue
        row = get(i)
        if row is None or (test is not None and not test(row)):
            continue
        append(row)
        if len(rows) == want:
            break
    start, end = _page_bounds(len(rows), q)
    return rows[start:end]


def _execute_id_order(b: _Binder, source, q: Query, mname: str, test, fast, cand, crows, counting: bool, get):
    """Order is id (ASC, or DESC for `id_DESC`): iterate ids directly, stop early."""
    desc = q.desc
    lo = hi = None                 # exclusive id bounds in ascending terms
    for c, is_after, _ in crows:
        if is_after != desc:       # after in ASC / before in DESC: ids > c
            lo = c if lo is None or c > lo else lo
        else:
            hi = c if hi is None or c < hi else hi
    n = q.first if q.last is None else q.last
    limit = None if n is None else q.skip + n
    if limit == 0:
        return 0 if counting else []
    if not crows and test is not None and (limit is None or counting):
        got = _columnar(b, source, mname, fast[2], cand, counting, q)
        if got is not None:
            return got
    if cand is None and not crows and test is not None and (limit is None or counting):
        # the whole table through the generated scan (any order), then id order
        view = source.rows_view(mname) if hasattr(source, "rows_view") else None
        if view is not None and getattr(source, "dict_rows", False):
            scan, count_rows = fast[:2]
            if counting:
                start, end = _page_bounds(count_rows(view.values()), q)
                return end - start
            hits = scan(view.values())
            hits.sort(key=_row_id, reverse=desc)
            start, end = _page_bounds(len(hits), q)
            return hits[start:end]
    if counting and not crows and cand is not None:
        # counting index candidates: no order needed
        rows = filter(None, map(get, cand))
        n_match = sum(1 for _ in rows) if test is None else fast[1](rows)
        start, end = _page_bounds(n_match, q)
        return end - start
    if cand is None:
        ids = source.ids(mname)
        if not isinstance(ids, list):
            ids = list(ids)
    else:
        ids = sorted(cand)
    a = 0 if lo is None else bisect_right(ids, lo)
    z = len(ids) if hi is None else bisect_left(ids, hi)
    if a >= z:
        return 0 if counting else []
    # iteration direction: the response order, reversed when taking `last`
    backwards = desc != (q.last is not None)
    rng = range(z - 1, a - 1, -1) if backwards else range(a, z)
    if counting and test is None and cand is None:
        total = z - a
        if limit is not None:
            total = min(total, limit)
        return max(0, total - q.skip)
    out: list = []
    append = out.append
    matched = 0
    for k in rng:
        row = get(ids[k])
        if row is None or (test is not None and not test(row)):
            continue
        matched += 1
        if not counting:
            append(row)
        if matched == limit:
            break
    if counting:
        return max(0, matched - q.skip)
    out = out[q.skip:]
    if backwards != desc:
        out.reverse()
    return out


def _row_id(row):
    return row["id"]


_COLUMNAR_MIN_SHARE = 3        # columns beat index candidates holding over 1/3 of the table


def _columnar(b: _Binder, source, mname: str, columnar, cand, counting: bool, q: Query):
    """The answer of a whole-table where (no cursor, no first/last unless counting) over
    cached columns of the fields it reads, or None when columns do not apply."""
    if columnar is None or not getattr(source, "dict_rows", False):
        return None
    sc = getattr(source, "sort_cache", None)
    got = sc(mname) if sc is not None else None
    if got is None:
        return None
    cache, version = got
    ids = source.ids(mname)
    if not isinstance(ids, list):
        return None
    if cand is not None and len(cand) * _COLUMNAR_MIN_SHARE <= len(ids):
        return None
    fields, cscan, ccount = columnar
    get = b.row_get(mname)
    cols = []
    for f in fields:
        hit = cache.get(("col", f))
        if hit is None or hit[0] != version or hit[1] is not ids:
            hit = (version, ids, [r.get(f) if (r := get(i)) is not None else None for i in ids])
            cache[("col", f)] = hit
        cols.append(hit[2])
    if counting:
        start, end = _page_bounds(ccount(*cols), q)
        return end - start
    hits = cscan(ids, *cols)
    if q.desc:
        hits.reverse()
    start, end = _page_bounds(len(hits), q)
    return [r for r in map(get, hits[start:end]) if r is not None]
