"""Request (and response) validation against the contract's OpenAPI 3.0 schemas.

Schemas are compiled once into small closures (memoised per component), so validating a
request costs a walk over the body only. Errors name the offending field by its path in
the body and say what was expected, in the request's language.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .coerce import Coercer
from .index import Contract, ref_name
from .schema_checks import Check, LeafChecks
from .validation_error import MESSAGES, ValidationError, type_name

__all__ = ["Validator", "ValidationError", "Coercer", "MESSAGES"]

INLINE_CACHE = 4096         # inline schemas whose checks are kept (a contract has a few hundred)


class Validator(LeafChecks):
    """Compiles contract schemas into checks. One per contract; thread-safe once built."""

    def __init__(self, contract: Contract, strict_additional: bool = True):
        self.contract = contract
        self.strict_additional = strict_additional
        self._compiled: dict[tuple[str, bool], Check] = {}     # complete checks only
        # Checks are compiled on first use, by whichever request thread needs one first. A
        # build in progress (a recursive schema refers to itself through a placeholder) is
        # kept in `_pending` and published only when the outermost build is complete, so a
        # thread never runs another's half-built check.
        self._lock = threading.RLock()
        self._pending: dict[tuple[str, bool], Check] = {}
        self._depth = 0
        # complete checks by the schema object (an inline `{type: string}` has no name; a
        # `$ref` is found without parsing it): the contract's schemas live as long as it; the
        # schema is kept with its check, so its id is not reused meanwhile
        self._inline: dict[tuple[int, bool], tuple[dict, Check]] = {}

    def validate(self, schema: dict | None, value: Any, path: str = "") -> None:
        if schema is None:
            return
        self.compile(schema, False)(value, path)

    def coerce(self, schema: dict | None, value: Any) -> Any:
        """A request body after GraphQL input coercion (see Coercer); validate it after."""
        fn = self.coercer(schema)
        return value if fn is None else fn(value)

    def coercer(self, schema: dict | None) -> Callable[[Any], Any] | None:
        """The compiled coercion of request bodies of `schema` (None: nothing to coerce)."""
        coercer = self.__dict__.get("_coercer")
        if coercer is None:
            coercer = self.__dict__["_coercer"] = Coercer(self.contract)
        return coercer.compiled(schema)

    def compile(self, schema: dict, in_where: bool) -> Check:
        ikey = (id(schema), in_where)
        hit = self._inline.get(ikey)
        if hit is not None and hit[0] is schema:
            return hit[1]
        name = ref_name(schema) if len(schema) == 1 else None
        if name is not None and "$ref" in schema:
            key = (name, in_where)
            check = self._compiled.get(key)
            if check is None:
                with self._lock:
                    check = self._compile_ref(key, name, in_where)
            if self._compiled.get(key) is check:      # complete: found by the schema object next time
                self._keep(ikey, schema, check)
            return check
        check = self._build(schema, in_where, None)
        if not self._depth:                 # else part of a named schema's build: its owner keeps it
            self._keep(ikey, schema, check)
        return check

    def _keep(self, ikey: tuple[int, bool], schema: dict, check: Check) -> None:
        if len(self._inline) >= INLINE_CACHE:
            self._inline.clear()
        self._inline[ikey] = (schema, check)

    def _compile_ref(self, key: tuple[str, bool], name: str, in_where: bool) -> Check:
        """Under the lock: a named schema's check (see `__init__` on publishing)."""
        hit = self._compiled.get(key) or self._pending.get(key)
        if hit is not None:
            return hit
        box: list[Check] = []
        self._pending[key] = lambda v, p: box[0](v, p)     # recursion guard
        self._depth += 1
        try:
            target = self.contract.schemas.get(name, {})
            check = self._build(target, in_where or name.endswith("WhereInput"), name)
            box.append(check)
            self._pending[key] = check
        except BaseException:
            self._pending.pop(key, None)
            raise
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._compiled.update(self._pending)
                self._pending.clear()
        return check

    # ------------------------------------------------------------------ builders
    def _build(self, schema: dict, in_where: bool, name: str | None) -> Check:
        nullable = bool(schema.get("nullable"))
        if "$ref" in schema:
            inner = self.compile({"$ref": schema["$ref"]}, in_where)
            return self._nullable(inner, nullable)
        all_of = schema.get("allOf")
        if all_of:
            parts = [self.compile(p, in_where) for p in all_of]

            def check_all(v, p, parts=parts):
                for c in parts:
                    c(v, p)
            return self._nullable(check_all, nullable)
        for combinator in ("oneOf", "anyOf"):
            if schema.get(combinator):
                options = [self.compile(p, in_where) for p in schema[combinator]]

                def check_any(v, p, options=options):
                    first_error = None
                    for c in options:
                        try:
                            c(v, p)
                            return
                        except ValidationError as e:
                            first_error = first_error or e
                    raise first_error  # type: ignore[misc]
                return self._nullable(check_any, nullable)
        t = schema.get("type")
        if t is None and "properties" in schema:
            t = "object"
        if t == "object":
            check = self._object(schema, in_where, name)
        elif t == "array":
            check = self._array(schema, in_where)
        elif t == "string":
            check = self._string(schema)
        elif t in ("integer", "number"):
            check = self._number(schema, t == "integer", in_where)
        elif t == "boolean":
            def check(v, p):
                if not isinstance(v, bool):
                    raise ValidationError("type", p, expected="boolean", got=type_name(v))
        elif "enum" in schema:
            check = self._string(schema)
        else:
            def check(v, p):
                return None
            return check            # {} accepts anything, null included
        return self._nullable(check, nullable)
