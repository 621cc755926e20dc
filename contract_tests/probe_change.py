"""One change of a lifecycle probe: made, its tasks awaited (TASK_NEVER_ENDS, TASK), its
effect read back (EFFECT, ASYNC_LEFT) or its disappearance checked (DELETE_NOOP)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from .report import ASYNC_LEFT, DELETE_NOOP, EFFECT, HTTP_ERROR, TASK, TASK_NEVER_ENDS, SuiteResult
from .target import SafetyError, Target, TargetError


class ChangeProbe:
    """Changes under a time budget, every name with the prefix and a run nonce."""

    def __init__(self, target: Target, contract, result: SuiteResult, deadline: float, log,
                 task_timeout: float = 30.0):
        self.task_timeout = task_timeout
        self.t = target
        self.contract = contract
        self.res = result
        self.deadline = deadline
        self.log = log
        self.nonce = uuid.uuid4().hex[:8]

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def name(self, stem: str) -> str:
        return self.t.safety.name(f"probe-{self.nonce}-{stem}")

    # ------------------------------------------------------------------ plumbing
    def mutate(self, op: str, body: Any, expect_fail: bool = False) -> tuple[list[dict], dict] | None:
        """Send a change and await its tasks. (items, {task id: task}) or None after a defect."""
        t, res = self.t, self.res
        path = "/" + op
        if self.left() <= 0:
            return None             # the budget is spent: no new change (the cleanup still runs)
        res.check(path)
        try:
            r = t.post(op, body)
        except (TargetError, SafetyError) as e:
            res.note(f"{op}: not done: {e}")
            return None
        ex = t.last
        if r.status_code != 200:
            if r.status_code < 500:
                res.fail(path, HTTP_ERROR, f"HTTP {r.status_code} for a valid change: {r.text[:300]}", ex)
            return None
        try:
            data = r.json()
        except ValueError:
            return None
        items = [x for x in (data if isinstance(data, list) else [data]) if isinstance(x, dict)]
        tids = [x["task_id"] for x in items if x.get("task_id")]
        tasks: dict[str, dict] = {}
        if tids:
            timeout = max(0.5, min(self.task_timeout, self.left()))
            try:
                tasks = t.wait_tasks(tids, timeout=timeout, interval=0.1)
            except TargetError as e:
                if e.status is None and "did not finish" in str(e):
                    if timeout >= self.task_timeout:
                        res.fail(path, TASK_NEVER_ENDS, f"{op}: {e} (get-tasks still shows them running; "
                                                        f"--task-timeout {self.task_timeout:.0f})", t.last)
                    else:       # the budget cut the wait short: not evidence of a defect
                        res.note(f"{op}: tasks still running when the time budget ran out: {tids}")
                return None
            failed = [x for x in tasks.values() if x.get("status") != "SUCCESSED"]
            if failed and not expect_fail:
                res.fail(path, TASK, f"task {failed[0].get('id')} of a valid change ended "
                                     f"{failed[0].get('status')}: {failed[0].get('error_message')}", ex)
                return None
        return items, tasks

    def read(self, list_op: str, rid: str) -> dict | None | bool:
        """The record, None when absent, False when the read failed."""
        try:
            rows = self.t.call(list_op, {"where": {"id": rid}})
        except TargetError:
            return False
        return rows[0] if rows else None

    def settled(self, op: str, list_op: str, rid: str, what: str) -> dict | None:
        """Read back a changed record: it exists and carries no entityAsyncStatus."""
        row = self.read(list_op, rid)
        self.res.check("/" + list_op)
        if row is False:
            return None
        if row is None:
            self.res.fail("/" + op, EFFECT, f"{what} {rid}: the task ended SUCCESSED but {list_op} does not "
                                            f"list it", self.t.last)
            return None
        if row.get("entityAsyncStatus") is not None:
            self.res.fail("/" + list_op, ASYNC_LEFT, f"{what} {rid} ({row.get('name')!r}) still has entityAsyncStatus "
                                                     f"{row['entityAsyncStatus']!r} after its task ended "
                                                     f"(after {op})", self.t.last)
        return row

    def gone(self, op: str, list_op: str, rid: str, what: str) -> None:
        row = self.read(list_op, rid)
        self.res.check("/" + op)
        if row:
            self.res.fail("/" + op, DELETE_NOOP, f"{what} {rid} ({row.get('name') or row.get('key')!r}) is still "
                                                 f"listed by {list_op} after the delete's task ended SUCCESSED",
                          self.t.last)
