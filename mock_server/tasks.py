"""The task engine: asynchronous mutations as rows of the store's `Task` table.

A mutation applies its change at once (a created row appears with `entityAsyncStatus:
CREATING`, an updated one with `UPDATING`, a deleted one stays with `DELETING`) and starts
a task. The task's life is a function of the mock's clock: each task stores its start and
duration, and its milestones (EXECUTING, each step done, SUCCESSED / FAILED) sit in one heap
of deadlines. Nothing runs in the background: :meth:`TaskEngine.settle`, called under the
store lock before every read, pops the milestones whose time has come and writes only the
rows that changed, so it costs nothing when nothing is due.

When a task ends well its effect is made final (async status cleared, deferred changes
applied, deleted rows removed with their cascade). When it fails (a failure rule matched)
the change is rolled back: a created row disappears, an update restores the previous row, a
delete restores the row as it was.

With `instant` set (``MockConfig.task_speed == 0``) every task completes on creation.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from .clock import iso
from .errors import ApiError
from .task_rules import DEFAULT_ERROR, KNOWN_ERRORS, FailureRule, FailureRules, wrap_error  # noqa: F401 (re-exported)

PENDING, EXECUTING, SUCCESSED, FAILED = "PENDING", "EXECUTING", "SUCCESSED", "FAILED"
CREATING, UPDATING, DELETING = "CREATING", "UPDATING", "DELETING"

# virtual seconds per operation family (the clock runs at MockConfig.task_speed)
DEFAULT_DURATIONS = {"create": 0.6, "update": 0.3, "delete": 0.4, "action": 0.5, "get": 0.2}
PENDING_FRACTION = 0.1          # share of a task's duration spent PENDING


@functools.lru_cache(maxsize=1024)
def typename_token(model: str) -> str:
    """`Vm` -> `VM`, `VmVolume` -> `VM_VOLUME` (the locked-resource type of ErrorBody.props)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", model).upper()


@dataclass
class _Meta:
    task_id: str
    model: str | None
    resource_id: str | None
    kind: str                            # create / update / delete / action
    start: float
    duration: float
    step_keys: list[str]
    before: dict | None = None           # the resource row before the change (update/delete rollback)
    changes: dict | None = None          # deferred changes applied on success
    on_success: Callable[[], None] | None = None
    on_failure: Callable[[], None] | None = None
    fail: tuple[int, str, str] | None = None   # (step, error_code, error_message)
    locks: list[tuple[str, str]] = field(default_factory=list)
    status: str = PENDING
    done_steps: int = 0


class _Outcomes:
    """How a task's milestones show in the store: its Task row's steps and status, and its
    resource's change made final (success) or rolled back (failure)."""

    def _milestone(self, meta: _Meta, milestone: int, t: float) -> None:
        n = len(meta.step_keys)
        if milestone == 0:
            meta.status = EXECUTING
            self._write(meta, {"status": EXECUTING, "started_at": iso(t), "progress": 0.0})
            return
        step = milestone - 1
        if meta.fail is not None and step >= meta.fail[0]:
            self._finish(meta, t)
            return
        if milestone >= n:
            self._finish(meta, t)
            return
        meta.done_steps = milestone
        self._write(meta, {"progress": round(milestone / n, 4), "steps": self._steps(meta, milestone)})

    def _steps(self, meta: _Meta, done: int, failed: bool = False) -> list[dict]:
        out = []
        for i, k in enumerate(meta.step_keys):
            fin = i < done
            out.append({"key": k, "current": 1.0 if fin else 0.0, "total": 1.0, "per_second": None,
                        "finished": fin, "unit": "PERCENT"})
        return out

    def _write(self, meta: _Meta, changes: dict) -> None:
        if self.has_task_table and self.store.get("Task", meta.task_id) is not None:
            self.store.update("Task", meta.task_id, changes)

    def _expire_finished(self, task_id: str) -> None:
        finished = self._finished
        finished.append(task_id)
        if len(finished) <= self.keep_finished:
            return
        while len(finished) > self.keep_finished:
            old = finished.popleft()
            if old not in self._meta and self.has_task_table and self.store.get("Task", old) is not None:
                self.store.delete("Task", old, cascade=False)

    def _finish(self, meta: _Meta, t: float) -> None:
        self._meta.pop(meta.task_id, None)
        self._expire_finished(meta.task_id)
        for lk in meta.locks:
            if self._locks.get(lk) == meta.task_id:
                del self._locks[lk]
        started = iso(meta.start + meta.duration * PENDING_FRACTION) if not self.instant else iso(t)
        if meta.fail is not None:
            step, code, message = meta.fail
            self._rollback(meta)
            self._write(meta, {"status": FAILED, "error_code": code, "error_message": message,
                               "progress": round(step / len(meta.step_keys), 4),
                               "steps": self._steps(meta, step), "finished_at": iso(t),
                               "started_at": started, "resource_rollbacked": True})
            return
        self._commit(meta)
        self._write(meta, {"status": SUCCESSED, "progress": 1.0, "finished_at": iso(t), "started_at": started,
                           "steps": self._steps(meta, len(meta.step_keys))})

    def _has_async(self, model: str | None) -> bool:
        res = self.store.contract.resources.get(model) if model else None
        return bool(res and res.has_async_status)

    def _commit(self, meta: _Meta) -> None:
        store, model, rid = self.store, meta.model, meta.resource_id
        if meta.kind == "delete":
            if model and rid:
                store.delete(model, rid)
        elif model and rid and (row := store.get(model, rid)) is not None:
            changes = dict(meta.changes or {})
            if self._has_async(model):
                changes["entityAsyncStatus"] = None
            changes = {k: v for k, v in changes.items() if k not in row or row[k] != v}
            if changes:
                store.update(model, rid, changes)
        if meta.on_success is not None:
            meta.on_success()

    def _rollback(self, meta: _Meta) -> None:
        store, model, rid = self.store, meta.model, meta.resource_id
        if model and rid:
            if meta.kind == "create":
                if store.get(model, rid) is not None:
                    store.delete(model, rid)
            elif meta.before is not None:
                restored = dict(meta.before)
                if self._has_async(model):
                    restored["entityAsyncStatus"] = None
                store.put(model, restored)
        if meta.on_failure is not None:
            meta.on_failure()

    def _task_row(self, meta: _Meta, description: str | None, mutation: str | None, op_name: str | None,
                  user_id: str | None, cluster_id: str | None, created: str | None = None,
                  steps: list | None = None) -> dict:
        store, model, kind, rid = self.store, meta.model, meta.kind, meta.resource_id
        return {
            "id": meta.task_id, "description": description or f"{mutation or kind} {model or ''}".strip(),
            "status": PENDING, "progress": 0.0, "args": {}, "snapshot": "",
            "steps": self._steps(meta, 0) if steps is None else steps,
            "internal": False, "local_created_at": created or iso(meta.start), "started_at": None,
            "finished_at": None,
            "error_code": None, "error_message": None, "key": f"{op_name or mutation or kind}:{rid or meta.task_id}",
            "resource_id": rid, "resource_type": model, "resource_mutation": mutation or "",
            "resource_rollback_error": None, "resource_rollback_retry_count": None,
            "resource_rollbacked": None, "type": None,
            "cluster": cluster_id if cluster_id and store.get("Cluster", cluster_id) else None,
            "user": user_id if user_id and store.get("User", user_id) else None,
        }

    def _run_instantly(self, meta: _Meta, *row_args) -> None:
        """A task of an instant clock that no failure rule fails: nothing can observe its
        intermediate states, so its Task row is written once, finished, and its resource
        goes straight to its final state."""
        if self.has_task_table:
            at = iso(meta.start)
            row = self._task_row(meta, *row_args, created=at, steps=self._steps(meta, len(meta.step_keys)))
            row.update(status=SUCCESSED, progress=1.0, started_at=at, finished_at=at)
            self.store.insert("Task", row)
        self._expire_finished(meta.task_id)
        self._commit(meta)


class _RulesAndLocks:
    """The failure rules a task engine applies, and the resources its running tasks lock."""

    # ------------------------------------------------------------ failure rules
    def add_failure_rule(self, *args, **kw) -> str:
        return self.rules.add(*args, **kw)

    def remove_failure_rule(self, rule_id: str) -> bool:
        return self.rules.remove(rule_id)

    def failure_rules(self) -> list[dict]:
        return self.rules.public()

    # the state file reads and restores the rules through these
    @property
    def _rules(self) -> dict[str, FailureRule]:
        return self.rules.by_id

    @property
    def _rule_ids(self):
        return self.rules.ids

    @_rule_ids.setter
    def _rule_ids(self, counter) -> None:
        self.rules.ids = counter

    @property
    def rng(self):
        return self.rules.rng

    # ------------------------------------------------------------------ locks
    def locked_by(self, model: str, rid: str) -> str | None:
        return self._locks.get((model, rid))

    def check_unlocked(self, model: str, ids, contract=None) -> None:
        """400 ResourceLocked when one of the rows has a running task (specs with ErrorCode)."""
        locked = [rid for rid in ids if (model, rid) in self._locks]
        if not locked:
            return
        contract = contract or self.store.contract
        if not contract.find_schema("ErrorCode"):
            return
        token = typename_token(model)
        raise ApiError(400, f"Resource [{token}-{locked[0]}] locked", code="ResourceLocked",
                       props={"locked_resources": [{"id": rid, "type": token} for rid in locked]},
                       message_zh=f"资源 [{token}-{locked[0]}] 已被锁定")


class TaskEngine(_Outcomes, _RulesAndLocks):
    """Starts tasks, keeps their resources locked while they run, and settles the milestones
    that are due on the mock's clock (see the module doc)."""

    def __init__(self, store, clock, durations: dict | None = None, instant: bool | None = None,
                 seed: int = 0):
        self.store = store
        self.clock = clock
        self.durations = dict(DEFAULT_DURATIONS)
        if durations:
            self.durations.update(durations)
        self.instant = bool(getattr(clock, "instant", False)) if instant is None else instant
        self.rules = FailureRules(seed)
        self.reset()

    # ------------------------------------------------------------------ state
    # Finished tasks kept per world: past this many, the oldest finished task rows this engine
    # created are dropped (as a real tower expires old tasks), so a long run's memory stays flat.
    keep_finished = 10_000

    def reset(self) -> None:
        """Forget every running task (the store's Task table is restored by the world) and
        every failure rule."""
        with self.store.lock:
            self._finished: deque[str] = deque()
            self._heap: list[tuple[float, int, str, int]] = []
            self._seq = itertools.count()
            self._meta: dict[str, _Meta] = {}
            self._locks: dict[tuple[str, str], str] = {}
            self.rules.clear()

    @property
    def has_task_table(self) -> bool:
        return "Task" in self.store.tables

    def running(self) -> int:
        return len(self._meta)

    # ------------------------------------------------------------------ start
    def start(self, *, model: str | None, resource_id: str | None, kind: str = "action",
              mutation: str | None = None, description: str | None = None, op_name: str | None = None,
              user_id: str | None = None, cluster_id: str | None = None, name: str | None = None,
              before: dict | None = None, changes: dict | None = None,
              on_success: Callable[[], None] | None = None, on_failure: Callable[[], None] | None = None,
              steps: list[str] | None = None, lock: bool = True, duration: float | None = None,
              async_status: bool = True, extra_locks: list[tuple[str, str]] | None = None) -> str:
        """Create a task for one affected resource; returns the task id.

        kind: create (the row is already inserted), update (already applied; `before` is the
        previous row), delete (the row stays until the task ends), action (`changes` are
        applied when it ends). Must be called under the store lock.
        """
        store = self.store
        now = self.clock.now()
        step_keys = steps or [f"{kind.upper()}_{typename_token(model or 'RESOURCE')}"]
        if len(step_keys) < 2:
            step_keys = ["PREPARE"] + step_keys
        dur = duration if duration is not None else self.durations.get(kind, self.durations["action"])
        if name is None and model and resource_id:
            row = store.get(model, resource_id)
            name = row.get("name") if row else None
        fail = self.rules.match(op_name, mutation, name, len(step_keys)) if self.rules.by_id else None
        if model and resource_id and before is None and kind in ("delete", "action", "update"):
            before = store.get(model, resource_id)
        has_async = bool(async_status and model and model in store.contract.resources
                         and store.contract.resources[model].has_async_status)
        task_id = store.mint()
        meta = _Meta(task_id, model, resource_id, kind, now, dur, step_keys, before=before,
                     changes=changes, on_success=on_success, on_failure=on_failure, fail=fail)
        if self.instant and fail is None:
            self._run_instantly(meta, description, mutation, op_name, user_id, cluster_id)
            return task_id
        if model and resource_id and lock:
            meta.locks.append((model, resource_id))
        for lk in extra_locks or ():
            meta.locks.append(lk)
        for lk in meta.locks:
            self._locks[lk] = task_id
        if has_async and store.get(model, resource_id) is not None:
            status = {"create": CREATING, "delete": DELETING}.get(kind, UPDATING)
            store.update(model, resource_id, {"entityAsyncStatus": status})
        if self.has_task_table:
            store.insert("Task", self._task_row(meta, description, mutation, op_name, user_id, cluster_id))
        self._meta[task_id] = meta
        if self.instant:
            self._finish(meta, now)
            return task_id
        # milestones: 0 = start executing, 1..n = step i-1 done (the last one ends the task)
        n = len(step_keys)
        t_exec = now + dur * PENDING_FRACTION
        self._push(t_exec, task_id, 0)
        for i in range(1, n + 1):
            self._push(t_exec + (dur - dur * PENDING_FRACTION) * i / n, task_id, i)
        return task_id

    def _push(self, t: float, task_id: str, milestone: int) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), task_id, milestone))

    # ------------------------------------------------------------------ settle
    def settle(self, now: float | None = None) -> int:
        """Apply every milestone whose time has come. Returns how many were applied."""
        heap = self._heap
        if not heap:
            return 0
        now = self.clock.now() if now is None else now
        if heap[0][0] > now:
            return 0
        applied = 0
        with self.store.lock:
            while heap and heap[0][0] <= now:
                t, _, task_id, milestone = heapq.heappop(heap)
                meta = self._meta.get(task_id)
                if meta is None:
                    continue
                applied += 1
                self._milestone(meta, milestone, t)
        return applied

    def settle_all(self) -> None:
        """Finish every running task now (whatever the clock says)."""
        with self.store.lock:
            for meta in list(self._meta.values()):
                self._finish(meta, self.clock.now())
            self._heap.clear()
