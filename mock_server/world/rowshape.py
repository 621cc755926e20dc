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

    @staticmethod
    def _shareable(keys: tuple) -> bool:
        return len(keys) <= MAX_SHARED_KEYS and all(type(k) is str and not k.startswith("__") for k in keys)

    def _compile(self, keys: tuple):
        """A function of the values setting each key as an attribute, in order (None when
        the keys cannot be shared: too many, or a dunder name)."""
        if not self._shareable(keys):
            return None
        args = ", ".join(f"v{i}" for i in range(len(keys)))
        body = "".join(f"    o.{k} = v{i}\n" if k.isidentifier() and not iskeyword(k) else
                       f"    setattr(o, {k!r}, v{i})\n" for i, k in enumerate(keys))
        ns = {"cls": self.cls}
        exec(f"def make({args}):\n    o = cls()\n{body}    return o.__dict__\n", ns)
        return ns["make"]

    def builder(self, template: dict, varying: tuple[str, ...]):
        """A function of the `varying` values (positional, in that order) -> a row equal to
        `template.copy()` updated with them (new keys after the template's, in `varying`
        order), key-sharing when it can: one call instead of copy, update and `self(row)`."""
        keys = tuple(template) + tuple(k for k in varying if k not in template)
        arg = {k: f"a{i}" for i, k in enumerate(varying)}
        ns: dict = {"cls": self.cls}
        value = {}
        for i, k in enumerate(keys):
            if k in arg:
                value[k] = arg[k]
            else:
                ns[f"c{i}"] = template[k]      # shared, as `template.copy()` shares it
                value[k] = f"c{i}"
        params = ", ".join(arg.values())
        if not self._shareable(keys):          # too wide to share keys: a copy, set in place
            ns["template"] = template
            body = "".join(f"    o[{k!r}] = {a}\n" for k, a in arg.items())
            src = f"def build({params}):\n    o = template.copy()\n{body}    return o\n"
        else:
            body = "".join(f"    o.{k} = {value[k]}\n" if k.isidentifier() and not iskeyword(k) else
                           f"    setattr(o, {k!r}, {value[k]})\n" for k in keys)
            src = f"def build({params}):\n    o = cls()\n{body}    return o.__dict__\n"
        exec(src, ns)
        return ns["build"]
