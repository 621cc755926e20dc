"""Server state: the contract, the auth realm, and one world per namespace."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .auth import Auth
from .contract.index import Contract
from .contract.validate import Validator
from .errors import ApiError
from .store import Store

DERIVED_REVISION_ATTR = "_derived_revision"      # world.derived: revision its fields are fresh at


@dataclass
class MockConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    spec: str | None = None
    world: str = "default"
    seed: int | None = None
    username: str = "root"
    password: str = "root"
    source: str = "LOCAL"
    task_speed: float = 1.0          # >1 = faster; 0 = instant (every task completes on creation)
    strict: bool = True              # reject unknown keys where the schema is closed
    admin_token: str | None = None
    threads: int = 16
    state_file: str | None = None
    max_body: int = 8 * 1024 ** 2    # bytes of a JSON request body (413 above); see limits.py
    max_upload: int = 64 * 1024 ** 2  # bytes of a multipart (upload) request body
    max_depth: int = 64              # nesting levels of a JSON request body (400 above)
    journal_max: int = 64 * 1024 ** 2  # bytes the request journal keeps (oldest dropped first)
    max_namespaces: int = 256        # worlds alive at once (each X-Mock-Namespace is one)


class World:
    """One store plus the things that live with it (tasks, clock). The store's rows at
    creation are frozen as the pristine base: reset drops what was written since, and a
    namespace's world is a fork of that base (nothing is copied until it is written)."""

    def __init__(self, store: Store, clock: Any = None):
        self.store = store
        if store.base is None:
            store.freeze()
        # derived counters (world.derived) up to date in the base: reset and forks keep them so
        self._base_fresh = getattr(store, DERIVED_REVISION_ATTR, None) == store.revision
        self.tasks = None
        self.extras: dict[str, Any] = {}     # per-world state of behaviour modules
        if clock is not None:
            self.attach_tasks(clock)

    @property
    def pristine(self) -> dict[str, dict[str, dict]]:
        """The rows reset returns to, per model (read-only)."""
        return self.store.pristine

    @pristine.setter
    def pristine(self, rows: dict[str, dict[str, dict]]) -> None:
        self.store.set_pristine(rows)

    def attach_tasks(self, clock: Any) -> None:
        from .tasks import TaskEngine
        self.tasks = TaskEngine(self.store, clock)

    def reset(self) -> None:
        with self.store.lock:
            self.store.reset()
            if self._base_fresh:
                setattr(self.store, DERIVED_REVISION_ATTR, self.store.revision)
            self.extras.clear()
            if self.tasks is not None:
                self.tasks.reset()

    def clone(self) -> "World":
        store = self.store.fork()
        if self._base_fresh:
            setattr(store, DERIVED_REVISION_ATTR, store.revision)
        w = World(store)
        if self.tasks is not None:
            w.attach_tasks(self.tasks.clock)
        return w


class NamespaceLimit(ApiError):
    """A new namespace past the limit: 400 naming it and how to free or raise it."""

    def __init__(self, limit: int, name: str):
        super().__init__(400, f"namespace '{name}' cannot be created: the limit of {limit} namespaces is reached "
                              f"(DELETE /_mock/namespaces/<name> frees one; serve --max-namespaces raises it)",
                         code="NamespaceLimit",
                         message_zh=f"命名空间数量已达上限 {limit}, 无法创建 '{name}'")


@dataclass
class MockState:
    contract: Contract
    config: MockConfig
    world_factory: Callable[[], Store]
    auth: Auth = field(default_factory=Auth)
    worlds: dict[str, World] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    clock: Any = None

    def __post_init__(self):
        from .clock import Clock
        from .auth import Account
        self.validator = Validator(self.contract, strict_additional=self.config.strict)
        self.auth.accounts = [Account(self.config.username, self.config.password, self.config.source)]
        if self.clock is None:
            self.clock = Clock(speed=self.config.task_speed)

    def world(self, namespace: str | None = None) -> World:
        ns = namespace or "default"
        w = self.worlds.get(ns)
        if w is not None:
            return w
        with self._lock:
            w = self.worlds.get(ns)
            if w is None:
                if ns == "default":
                    w = World(self.world_factory(), self.clock)
                elif len(self.worlds) >= self.config.max_namespaces:
                    raise NamespaceLimit(self.config.max_namespaces, ns)
                else:
                    w = self.world("default").clone()
                self.worlds[ns] = w
            return w
