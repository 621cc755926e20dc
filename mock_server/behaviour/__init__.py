"""Behaviour per operation family, with small per-operation modules on top.

A handler takes the request context and the validated body and returns the 200 payload
(or raises ApiError). Lookup order: a handler registered for the operation's name, then
one registered for its family, then the generic fallback (a contract-conformant answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..contract.index import Operation

Handler = Callable[["Ctx", Any], Any]

_BY_NAME: dict[str, Handler] = {}
_BY_FAMILY: dict[str, Handler] = {}
_FALLBACK: list[Handler] = []


@dataclass
class Ctx:
    """What a handler may use: the server state, the caller's world, the operation."""
    state: Any                      # mock_server.state.MockState
    world: Any                      # mock_server.state.World
    op: Operation
    lang: str = "en-US"
    user: dict | None = None        # token claims: {"id", "username"}
    headers: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)

    @property
    def contract(self):
        return self.state.contract

    @property
    def store(self):
        return self.world.store


class RawJSON:
    """A handler result that is already serialised JSON (bytes)."""
    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


def operation(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for n in names:
            _BY_NAME[n] = fn
        return fn
    return register


def family(*families: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for f in families:
            _BY_FAMILY[f] = fn
        return fn
    return register


def fallback(fn: Handler) -> Handler:
    _FALLBACK[:] = [fn]
    return fn


def resolve(op: Operation) -> Handler:
    h = _BY_NAME.get(op.name)
    if h is None:
        h = _BY_FAMILY.get(op.family)
    if h is None:
        h = _FALLBACK[0]
    return h


def load_all() -> None:
    """Import every behaviour module so that they register (idempotent)."""
    import importlib
    import pkgutil
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
