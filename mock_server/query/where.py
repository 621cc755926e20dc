"""Compiling a where tree: parse and type-check it once into a plan (see plan.py);
:class:`CompiledWhere` binds the plan to a data source."""

from __future__ import annotations

from typing import Any, Callable

from .binder import Binder
from .coerce import coerce, type_error
from .model import FieldDesc, ModelDesc, QueryError, QuerySchema
from .plan import FALSE, NOCOND, TRUE, UNKNOWN, and_, not_, or_
from .where_keys import LOGIC, parse_where_key

MSG_TO_MANY_NULL = "The field '{}' is a toMany relation. This cannot be filtered by null."


class Compiler:
    """A where object parsed and type-checked into a plan; `rel_some: null` paths are kept
    for the 3033 error the caller raises once the whole body was validated."""

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
            raise type_error(path, f"a {model.name}WhereInput object", where)
        parts = []
        for key, val in where.items():
            kp = f"{path}.{key}"
            if key in LOGIC:
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
                        raise type_error(kp, f"a {target.name}WhereInput object or null", val)
                    parts.append(("rel", desc, self.obj(target, val, kp)))
            else:
                if val is None:
                    self.null_to_many.append((kp, desc.name))
                    parts.append(FALSE)
                    continue
                target = self.model(desc.target)
                if not isinstance(val, dict):
                    raise type_error(kp, f"a {target.name}WhereInput object", val)
                parts.append((suf[1:], desc, self.obj(target, val, kp)))
        return and_(parts)

    def logic(self, model: ModelDesc, key: str, val: Any, path: str) -> tuple:
        if val is None:
            return NOCOND
        items = [val] if isinstance(val, dict) else val
        if not isinstance(items, list):
            raise type_error(path, f"a list of {model.name}WhereInput", val)
        nodes = [self.obj(model, item, f"{path}[{i}]") if isinstance(item, dict)
                 else self._bad_item(model, item, f"{path}[{i}]")
                 for i, item in enumerate(items)]
        if key == "AND":
            return TRUE if not nodes else and_(nodes)
        if key == "OR":
            return FALSE if not nodes else or_(nodes)
        return TRUE if not nodes else and_([not_(n) for n in nodes])

    def _bad_item(self, model, item, path):
        raise type_error(path, f"a {model.name}WhereInput object", item)

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
                    raise type_error(f"{path}[{i}]", "a non-null value", item)
                coerced.append(coerce(f, item, f"{path}[{i}]"))
            if not coerced:
                return FALSE if op == "in" else TRUE
            return ("cmp", f, op, coerced)
        if op in ("contains", "not_contains", "starts_with", "not_starts_with",
                  "ends_with", "not_ends_with"):
            if not isinstance(val, str):
                raise type_error(path, "a string", val)
            return ("cmp", f, op, val)
        return ("cmp", f, op, coerce(f, val, path))


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
        return Binder(self.schema, source).pred(self.model.name, self.plan)

    def __call__(self, source, row) -> bool | None:
        return self.bind(source)(row)


def raise_null_to_many(null_to_many):
    if null_to_many:
        path, rel = null_to_many[0]
        raise QueryError(MSG_TO_MANY_NULL.format(rel), 3033, path)


def resolve_model(schema: QuerySchema, model) -> ModelDesc:
    if isinstance(model, ModelDesc):
        return model
    m = schema.models.get(model)
    if m is None:
        raise QueryError(f"Unknown model '{model}'", None, None)
    return m


def compile_where(schema: QuerySchema, model, where: Any, path: str = "where") -> CompiledWhere:
    """Validate and compile a where tree (raises QueryError, incl. 3033)."""
    model = resolve_model(schema, model)
    c = Compiler(schema)
    plan = c.obj(model, where, path)
    raise_null_to_many(c.null_to_many)
    return CompiledWhere(schema, model, plan, c.null_to_many)
