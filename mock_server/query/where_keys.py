"""The keys of a where object: which field / relation a key filters and with which operator
(`name_contains`, `vcpu_gte`, `vm_disks_some`, ...), per field kind."""

from __future__ import annotations

from .model import BOOLEAN, DATETIME, ENUM, FLOAT, ID, INT, JSON, STRING, FieldDesc, ModelDesc

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
LOGIC = ("AND", "OR", "NOT")
_ID_FIELD = FieldDesc("id", ID, nullable=False)
TIMESTAMP_ORDER_FIELDS = ("createdAt", "updatedAt")


def field_of(model: ModelDesc, name: str) -> FieldDesc | None:
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
    f = field_of(model, key)
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
        f = field_of(model, base)
        if f is not None and suf in OPERATORS.get(f.kind, ()):
            best, best_len = ("field", f, suf), len(base)
            continue
        r = model.relations.get(base)
        if r is not None and r.many and suf in _REL_SUFFIXES:
            best, best_len = ("many", r, suf), len(base)
    return best
