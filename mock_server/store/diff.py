"""What a write changed: the fields whose values differ between a row's old and new versions."""

from __future__ import annotations

_MISSING = object()


def changed_fields(old: dict | None, new: dict | None) -> set[str] | None:
    """The fields a write changed (None for an insert or a delete: everything). Rows are
    replaced, not changed in place, so most values are the same objects: compared by
    identity first."""
    if old is None or new is None:
        return None
    out = set()
    for k, v in new.items():
        ov = old.get(k, _MISSING)
        if ov is not v and ov != v:
            out.add(k)
    if len(old) > len(new) or not old.keys() <= new.keys():
        out.update(old.keys() - new.keys())
    return out
