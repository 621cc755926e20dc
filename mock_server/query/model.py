"""What the query engine needs to know about a resource, and where it reads records from.

The engine never sees Flask, the store or the OpenAPI document: the contract index
turns each resource type into a :class:`ModelDesc`, and the store (or a test, or the
query-vector tool) hands the engine a :class:`DataSource`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

# Scalar kinds the engine knows. They decide the operator set and the comparison rules.
ID, STRING, INT, FLOAT, BOOLEAN, DATETIME, ENUM, JSON = (
    "ID", "String", "Int", "Float", "Boolean", "DateTime", "Enum", "Json")
SCALAR_KINDS = (ID, STRING, INT, FLOAT, BOOLEAN, DATETIME, ENUM, JSON)


@dataclass(frozen=True)
class FieldDesc:
    name: str
    kind: str                       # one of SCALAR_KINDS
    nullable: bool = True
    enum_values: tuple[str, ...] = ()
    sortable: bool = True           # appears in <X>OrderByInput


@dataclass(frozen=True)
class RelationDesc:
    name: str
    target: str                     # model name of the related records
    many: bool                      # to-many (`rel_some/_every/_none`) or to-one (`rel: {...}`)


@dataclass
class ModelDesc:
    name: str
    fields: dict[str, FieldDesc] = field(default_factory=dict)
    relations: dict[str, RelationDesc] = field(default_factory=dict)
    # where keys the contract's <X>WhereInput offers; None = derive from fields/relations
    where_keys: frozenset[str] | None = None


@dataclass
class QuerySchema:
    models: dict[str, ModelDesc]

    def model(self, name: str) -> ModelDesc:
        return self.models[name]


class QueryError(Exception):
    """An argument error the API answers with HTTP 400 (Prisma's message and code)."""

    def __init__(self, message: str, code: int | str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class DataSource(Protocol):
    """Where the engine reads records. Rows are opaque to the engine except through these calls."""

    def ids(self, model: str) -> Iterable[str]:
        """Every id of the model, in ascending (string) order."""

    def get(self, model: str, id: str) -> Any | None:
        """The row with this id, or None."""

    def value(self, model: str, row: Any, field: str) -> Any:
        """A scalar field's value (None when null or absent)."""

    def related(self, model: str, row: Any, relation: str) -> Any:
        """To-one: the related id or None. To-many: a list of related ids."""

    def lookup(self, model: str, field: str, value: Any) -> set[str] | None:
        """Ids whose `field` equals `value` (scalar field or to-one relation id), from an index;
        None when the field is not indexed (the engine then scans)."""

    def referrers(self, model: str, relation: str, target_ids: set[str]) -> set[str] | None:
        """Ids of `model` rows whose `relation` points at any of `target_ids`, from an index;
        None when not indexed."""

    # Optional, not part of the protocol: a source may also offer
    #   row_getter(model) -> Callable[[id], row | None] | None
    #   value_getter(model, field) -> Callable[[row], Any] | None
    #   related_getter(model, relation) -> Callable[[row], Any] | None
    # returning per-field accessors equivalent to value()/related(); the engine precomputes
    # them once per query when present (None = use value()/related()).


class DictSource:
    """A DataSource over plain dicts: {model: [row, ...]}, relations held as ids (to-one) or
    id lists (to-many). Used by tests and the query-vector tool."""

    def __init__(self, tables: dict[str, list[dict]]):
        self._tables = {m: {r["id"]: r for r in rows} for m, rows in tables.items()}
        self._order = {m: sorted(t) for m, t in self._tables.items()}

    def ids(self, model):
        return self._order.get(model, [])

    def get(self, model, id):
        return self._tables.get(model, {}).get(id)

    def value(self, model, row, field):
        return row.get(field)

    def related(self, model, row, relation):
        return row.get(relation)

    def lookup(self, model, field, value):
        return None

    def referrers(self, model, relation, target_ids):
        return None

    # Optional fast paths (the engine uses them when a source has them; see DataSource).
    def row_getter(self, model):
        """A callable id -> row or None, equivalent to get(model, id)."""
        if type(self).get is not DictSource.get:      # a subclass changed get(): use it
            return None
        return self._tables.get(model, {}).get

    def value_getter(self, model, field):
        """A callable row -> value, equivalent to value(model, row, field)."""
        if type(self).value is not DictSource.value:
            return None
        return operator.methodcaller("get", field)

    def related_getter(self, model, relation):
        """A callable row -> related id / id list, equivalent to related(model, row, relation)."""
        if type(self).related is not DictSource.related:
            return None
        return operator.methodcaller("get", relation)

    @property
    def dict_rows(self) -> bool:
        """Rows are dicts and value(model, row, f) is row.get(f) (generated code reads inline)."""
        return type(self).value is DictSource.value

    def stored_to_one(self, model, relation) -> bool:
        """related(model, row, relation) is row.get(relation) for this to-one relation."""
        return type(self).related is DictSource.related

    def rows_view(self, model):
        """The {id: row} map of a model, equivalent to get() over ids() (any order)."""
        if type(self).get is not DictSource.get or type(self).ids is not DictSource.ids:
            return None
        return self._tables.get(model, {})

    def sort_cache(self, model):
        """(a dict the engine may keep sorted id orders in, the data's version)."""
        if type(self).get is not DictSource.get or type(self).ids is not DictSource.ids:
            return None
        caches = self.__dict__.setdefault("_sort_caches", {})
        return caches.setdefault(model, {}), 0
