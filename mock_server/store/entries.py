"""Index entries: a value -> the ids of the rows holding it, kept small.

An entry is the id string itself when one row holds the value (most names, local ids and
one-to-one relations), a tuple when a table is bulk-loaded (a world's seed: a VM's 2-3 disks
cost 56-64 bytes instead of a 216-byte set, a cluster's 10,000 volumes 80 KB instead of
512 KB), and a set once a write touches it (copied then, as copy-on-write wants anyway).
:func:`members` reads an entry any way.

`owned` (a table's set of keys whose set entry it owns, or None for a table that is not a
fork) tells the writers which set entries must be copied before they change.
"""

from __future__ import annotations

from typing import Any, Iterable

_EMPTY: tuple = ()


def members(entry) -> Iterable[str]:
    """The ids of an index entry (None, one id, a tuple or a set); never mutate the result."""
    if entry is None:
        return _EMPTY
    if type(entry) is str:
        return (entry,)
    return entry


def indexable(v) -> bool:
    return v is not None and not isinstance(v, (list, dict))


def entry_add(idx: dict, owned: set | None, key: Any, rid: str) -> None:
    cur = idx.get(key)
    if cur is None:
        idx[key] = rid
    elif type(cur) is str:
        if cur != rid:
            idx[key] = {cur, rid}
            if owned is not None:
                owned.add(key)
    else:
        if type(cur) is tuple or (owned is not None and key not in owned):
            cur = idx[key] = set(cur)
            if owned is not None:
                owned.add(key)
        cur.add(rid)


def entry_remove(idx: dict, owned: set | None, key: Any, rid: str) -> None:
    cur = idx.get(key)
    if cur is None:
        return
    if type(cur) is str:
        if cur == rid:
            del idx[key]
        return
    if rid not in cur:
        return
    if len(cur) <= 2:
        rest = [x for x in cur if x != rid]
        if rest:
            idx[key] = rest[0]
        else:
            del idx[key]
        if owned is not None:
            owned.discard(key)
        return
    if type(cur) is tuple or (owned is not None and key not in owned):
        cur = idx[key] = set(cur)
        if owned is not None:
            owned.add(key)
    cur.discard(rid)


def fill(idx: dict, rows: dict[str, dict], field: str, lists: bool) -> None:
    """Index `field` of every row of `rows` ({id: row}) into the empty `idx`; a list value
    (a to-many relation, when `lists`) indexes each of its ids. Entries of several ids are
    tuples."""
    fill_many(((field, idx, lists),), rows)


def fill_many(specs: Iterable[tuple[str, dict, bool]], rows: dict[str, dict]) -> None:
    """`fill` for several (field, empty index, lists) at once, in one pass over the rows: a
    big table's rows are read from memory once, not once per index."""
    specs = tuple(specs)
    if not specs:
        return
    for rid, row in rows.items():
        for field, idx, lists in specs:
            v = row.get(field)
            if v is None:
                continue
            if type(v) is str or not isinstance(v, (list, dict)):
                cur = idx.get(v)
                if cur is None:
                    idx[v] = rid             # most keys: one row (a one-to-one relation, a name)
                elif type(cur) is list:
                    cur.append(rid)
                else:
                    idx[v] = [cur, rid]
            elif lists and type(v) is list:
                for key in dict.fromkeys(v):     # each id once, in order
                    cur = idx.get(key)
                    if cur is None:
                        idx[key] = rid
                    elif type(cur) is list:
                        cur.append(rid)
                    else:
                        idx[key] = [cur, rid]
    for _, idx, _ in specs:
        for key, cur in idx.items():
            if type(cur) is list:
                idx[key] = tuple(cur)
