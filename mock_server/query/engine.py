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

The engine is split into modules with one job each: `where_keys` (what a where key filters),
`coerce` and `domains` (values and comparison domains), `plan` and `where` (compiling a where),
`binder`, `hints`, `predicates` and `codegen` (binding a plan to a data source), `request`
(validating a body), `execute`, `id_order`, `orders`, `columnar` and `pages` (running it).
This module is their public face.
"""

from __future__ import annotations

from .execute import count, find
from .request import INT32_MAX, MSG_FIRST_AND_LAST, MSG_NEGATIVE, Query, prepare, validate_args
from .where import MSG_TO_MANY_NULL, CompiledWhere, compile_where
from .where_keys import OPERATORS, parse_where_key

__all__ = ["validate_args", "find", "count", "compile_where", "CompiledWhere", "Query",
           "prepare", "parse_where_key", "OPERATORS", "INT32_MAX",
           "MSG_FIRST_AND_LAST", "MSG_NEGATIVE", "MSG_TO_MANY_NULL"]
