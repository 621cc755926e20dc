"""Reads every suite needs of a target: a full listing through first/after pages, the
contract the target serves, and waiting for tasks to end."""

from __future__ import annotations

import time
from typing import Any

import requests

from .safety import TargetError

TERMINAL_TASK_STATES = ("SUCCESSED", "FAILED")


class TargetReads:
    """The read helpers of a Target (need its `call`, `session`, `url` and `timeout`)."""

    def list_all(self, op: str, where: dict | None = None, page: int = 500, limit: int = 20000) -> list[dict]:
        """Every record of a standard list query, paginated with first/after. A page that
        brings nothing new ends it (a target that ignores `after` would loop forever)."""
        out: list[dict] = []
        seen: set = set()
        after = None
        while True:
            body: dict[str, Any] = {"first": page}
            if where:
                body["where"] = where
            if after:
                body["after"] = after
            chunk = self.call(op, body)
            if not isinstance(chunk, list):
                raise TargetError(f"{op}: HTTP 200 with a body that is not a list", status=200, exchange=self.last)
            fresh = [x for x in chunk if isinstance(x, dict) and x.get("id") not in seen]
            out.extend(fresh)
            seen.update(x.get("id") for x in fresh)
            if len(chunk) < page or len(out) >= limit or not fresh:
                return out
            after = chunk[-1]["id"]

    def served_contract_doc(self) -> dict | None:
        """The OpenAPI document the target serves at /v2/api/openapi.json, if any."""
        if self._served_doc is False:
            doc = None
            try:
                r = self.session.get(self.url("openapi.json"), timeout=self.timeout)
                if r.status_code == 200:
                    d = r.json()
                    if isinstance(d, dict) and "paths" in d and "components" in d:
                        doc = d
            except (requests.RequestException, ValueError):
                doc = None
            self._served_doc = doc
        return self._served_doc  # type: ignore[return-value]

    @property
    def is_mock(self) -> bool:
        """The mock serves its contract; a real CloudTower does not."""
        return self.served_contract_doc() is not None

    # ------------------------------------------------------------------- tasks
    def wait_tasks(self, task_ids: list[str], timeout: float = 60.0, interval: float = 0.2) -> dict[str, dict]:
        """Poll get-tasks until every task ended; returns {id: task}."""
        pending = {t for t in task_ids if t}
        done: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        while pending:
            tasks = self.call("get-tasks", {"where": {"id_in": sorted(pending)}})
            for t in tasks:
                if t.get("status") in TERMINAL_TASK_STATES:
                    done[t["id"]] = t
                    pending.discard(t["id"])
            if not pending:
                break
            if time.monotonic() > deadline:
                raise TargetError(f"tasks did not finish within {timeout:.0f}s: {sorted(pending)}")
            time.sleep(interval)
        return done
