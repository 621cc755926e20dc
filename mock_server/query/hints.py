"""Index hints: a superset of the ids a plan can be TRUE for, from the source's indexes
(lookups by value, referrers of a relation), so a query tests candidates instead of scanning."""

from __future__ import annotations

from .model import BOOLEAN, ENUM, ID, INT, STRING, RelationDesc
from .plan import FALSE

_LOOKUP_KINDS = (ID, STRING, INT, ENUM, BOOLEAN)


class IndexHints:
    """The `candidates` part of the binder (needs its `source` and `id_set`)."""

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
        if len(values) == 1:
            (only,) = values
            return lookup(model, name, only)
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
