"""GraphQL input coercion of request bodies, the pre-pass before validation."""

from __future__ import annotations

from typing import Any, Callable

from .index import Contract, ref_name

Coerce = Callable[[Any], Any]


def _same(v: Any) -> Any:
    return v


def _integral(v: Any) -> Any:
    if type(v) is float and v.is_integer() and abs(v) < 2 ** 63:
        return int(v)
    return v


def _cloud_init_network(v: Any) -> Any:
    """The SDK's cloud-init example sends `net_mask` and no `type`: the address says which."""
    if isinstance(v, dict):
        if "netmask" not in v and isinstance(v.get("net_mask"), str):
            v["netmask"] = v.pop("net_mask")
        if "type" not in v:
            v["type"] = "IPV4" if v.get("ip_address") else "IPV4_DHCP"
    return v


def _lun_deletion(v: Any) -> Any:
    """The Go and Java SDKs' integration suites delete LUNs with `where` alone and wait for the
    task to succeed: no `data` means `remove_snapshot: false` (a LUN with snapshots is then refused)."""
    if isinstance(v, dict) and "data" not in v:
        v["data"] = {"remove_snapshot": False}
    return v


# Input shapes the documented clients send that the tower reads as their schema's (by name).
NORMALISERS: dict[str, Callable[[Any], Any]] = {"CloudInitNetWork": _cloud_init_network,
                                                "IscsiLunDeletionParams": _lun_deletion,
                                                "NvmfNamespaceDeletionParams": _lun_deletion}


class Coercer:
    """GraphQL input coercion, the pre-pass before validation of a request: wherever the
    schema expects a list, a single non-null value stands for a one-element list (`NOT: {}`
    is `NOT: [{}]`, `id_in: "x"` is `id_in: ["x"]`), at any depth; an integral float where
    an integer is expected is that integer. Driven by the schemas
    alone (compiled once per component, like the Validator); values of other shapes pass
    through unchanged for the validator to judge. Objects are rewritten in place."""

    def __init__(self, contract: Contract):
        self.contract = contract
        self._compiled: dict[str, Coerce | None] = {}

    def coerce(self, schema: dict | None, value: Any) -> Any:
        fn = self.compiled(schema)
        return value if fn is None else fn(value)

    def compiled(self, schema: dict | None) -> Coerce | None:
        return None if schema is None else self._compile(schema)

    def _compile(self, schema: dict, seen: frozenset = frozenset()) -> Coerce | None:
        """A coercing function, or None when nothing under `schema` is a list."""
        if "$ref" in schema:
            name = ref_name(schema)
            if name in self._compiled:
                return self._compiled[name]
            if name in seen:            # recursion: resolved through the box below
                return lambda v: self._compiled[name](v) if self._compiled.get(name) else v  # type: ignore
            fn = self._compile(self.contract.schemas.get(name, {}), seen | {name})
            norm = NORMALISERS.get(name)
            if norm is not None:
                inner = fn
                fn = (lambda v, inner=inner, norm=norm: inner(norm(v))) if inner else norm
            self._compiled[name] = fn
            return fn
        parts = schema.get("allOf") or schema.get("anyOf") or schema.get("oneOf")
        if parts:
            fns = [f for f in (self._compile(p, seen) for p in parts) if f is not None]
            if not fns:
                return None

            def each(v, fns=fns):
                for f in fns:
                    v = f(v)
                return v
            return each
        t = schema.get("type") or ("object" if "properties" in schema else None)
        if t == "array":
            items = schema.get("items")
            inner = self._compile(items, seen) if isinstance(items, dict) else None
            inner = inner or _same

            def as_list(v, inner=inner):
                if v is None:
                    return v
                if not isinstance(v, list):
                    return [inner(v)]
                return [inner(x) for x in v]
            return as_list
        if t == "integer":
            return _integral          # 8589934592.0 (a Go client's float64) is the integer it names
        if t == "object":
            props = schema.get("properties") or {}
            fns = {k: f for k, f in ((k, self._compile(s, seen)) for k, s in props.items()) if f is not None}
            if not fns:
                return None

            def obj(v, fns=fns):
                if isinstance(v, dict):
                    for k, item in v.items():
                        f = fns.get(k)
                        if f is not None:
                            v[k] = f(item)
                return v
            return obj
        return None
