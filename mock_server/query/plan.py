"""Plan nodes of a compiled where (tuples; the first element names the node), the
constructors that keep them flat, and the cost order AND runs its parts in."""

from __future__ import annotations

from .model import FLOAT, ID, INT

NOCOND = ("nocond",)          # "no condition": identity in AND/OR, TRUE at the top, NOT -> FALSE
TRUE = ("const", True)
FALSE = ("const", False)
UNKNOWN = ("const", None)


def and_(parts: list) -> tuple:
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


def or_(parts: list) -> tuple:
    flat = [p for p in parts if p is not NOCOND]
    if not flat:
        return NOCOND
    if len(flat) == 1:
        return flat[0]
    return ("or", flat)


def not_(p: tuple) -> tuple:
    if p is NOCOND:
        return FALSE            # NOT (1 = 1)
    return ("not", p)


_NODE_COST = {"const": 0, "isnull": 1, "notnull": 1, "relnull": 1, "rel": 2, "some": 3,
              "none": 3, "every": 3, "cmp": 4, "not": 6, "and": 6, "or": 7}
_OP_COST = {"eq": 0, "in": 0, "not": 1, "not_in": 1}


def node_cost(node: tuple) -> int:
    c = _NODE_COST.get(node[0], 8)
    if node[0] == "cmp":
        c += _OP_COST.get(node[2], 1 if node[1].kind in (INT, FLOAT, ID) else 2)
    return c
