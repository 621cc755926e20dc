"""Rows built by the hundred thousand as key-sharing dicts.

The instance dicts of one class share one key table (PEP 412), so such a row costs its
values only: a 13-key VmVolume row ~200 bytes instead of ~480, which on the 100,000-VM world
saves ~100 MiB over volumes, disks and NICs. They are plain dicts (`type(row) is dict`, same
keys in the same order, same values): nothing reading a row can tell. CPython shares at most
30 keys per class, so wider rows are left as they are.

A row is converted right after it is built (not later, in bulk): the dict it replaces is
freed while the next row of the same size is allocated, so the freed blocks are reused at
once instead of being left as holes between the strings built meanwhile.
"""

from __future__ import annotations

from keyword import iskeyword

MAX_SHARED_KEYS = 30


class RowShape:
    """`shape(row)` -> an equal key-sharing dict, for the rows of one model."""

    def __init__(self, model: str):
        self.cls = type(f"{model}Row", (), {})
        self._makers: dict[tuple, object] = {}

    def __call__(self, row: dict) -> dict:
        keys = tuple(row)
        make = self._makers.get(keys)
        if make is None:
            make = self._makers[keys] = self._compile(keys)
        return make(*row.values()) if make is not None else row

    def _compile(self, keys: tuple):
        """A function of the values setting each key as an attribute, in order (None when
        the keys cannot be shared: too many, or a dunder name)."""
        if len(keys) > MAX_SHARED_KEYS or any(type(k) is not str or k.startswith("__") for k in keys):
            return None
        args = ", ".join(f"v{i}" for i in range(len(keys)))
        body = "".join(f"    o.{k} = v{i}\n" if k.isidentifier() and not iskeyword(k) else
                       f"    setattr(o, {k!r}, v{i})\n" for i, k in enumerate(keys))
        ns = {"cls": self.cls}
        exec(f"def make({args}):\n    o = cls()\n{body}    return o.__dict__\n", ns)
        return ns["make"]
