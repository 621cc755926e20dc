"""The mock's admin API (/_mock/...) as Python calls of the pytest plugin's CloudTowerMock:
reset, clock, faults and journal (AdminCalls); stubs and request counts (StubCalls). Calls
go through the app in-process (no HTTP), in the view's namespace when it has one."""

from __future__ import annotations

from typing import Any

NAMESPACE_HEADER = "X-Mock-Namespace"


class AdminError(AssertionError):
    pass


_UNSET: Any = object()


class AdminCalls:
    """Needs the mock's `app`, `state` and `ns`."""

    def admin(self, method: str, path: str, json: Any = None, expect: int | None = 200) -> Any:
        client = self.app.test_client()
        headers = {}
        token = self.state.config.admin_token
        if token:
            headers["X-Mock-Admin-Token"] = token
        if self.ns:
            headers[NAMESPACE_HEADER] = self.ns
        resp = client.open("/_mock/" + path.lstrip("/"), method=method, json=json, headers=headers)
        payload = resp.get_json(silent=True)
        if expect is not None and resp.status_code != expect and not (expect == 200 and resp.status_code == 201):
            raise AdminError(f"{method} /_mock/{path.lstrip('/')}: {resp.status_code} "
                             f"{(payload or {}).get('message', resp.data[:200])}")
        return payload

    def reset(self, all: bool = False) -> dict:
        """Restore this namespace's world (or every namespace's with all=True)."""
        return self.admin("POST", "reset", {"all": True} if all else {})

    def advance(self, seconds: float | str) -> dict:
        return self.admin("POST", "clock/advance", {"seconds": seconds})

    def pause(self) -> dict:
        return self.admin("POST", "clock/pause")

    def resume(self) -> dict:
        return self.admin("POST", "clock/resume")

    def speed(self, speed: float) -> dict:
        return self.admin("POST", "clock/speed", {"speed": speed})

    def fault(self, **rule) -> str:
        """Add a fault rule (kind=latency|error|drop|task_failure, ...); returns its id."""
        return self.admin("POST", "faults", rule)["id"]

    def remove_fault(self, rule_id: str) -> None:
        self.admin("DELETE", f"faults/{rule_id}", expect=None)

    def faults(self) -> list[dict]:
        return self.admin("GET", "faults")["faults"]

    def journal(self, limit: int | None = None, operation: str | None = None, full: bool = False) -> list[dict]:
        q = []
        if limit is not None:
            q.append(f"limit={limit}")
        if operation:
            q.append(f"operation={operation}")
        if self.ns:
            q.append(f"namespace={self.ns}")
        if full:
            q.append("full=1")
        return self.admin("GET", "journal" + ("?" + "&".join(q) if q else ""))["entries"]


class StubCalls:
    """Stubs and journal queries (need `admin` and `ns`)."""

    def stub(self, operation: str, *, where: Any = None, headers: dict | None = None, status: int | None = None,
             body: Any = _UNSET, response_headers: dict | None = None, delay_ms: float | None = None,
             priority: int | None = None, times: int | None = None, unchecked: bool = False) -> str:
        """Answer `operation` requests whose body contains `where` (a JSON subset) and that carry
        `headers` with `status` / `body` / `response_headers` (after `delay_ms`); in this view's
        namespace when it has one. Returns the stub's id. Checked against the contract unless
        `unchecked`."""
        response: dict[str, Any] = {}
        if status is not None:
            response["status"] = status
        if body is not _UNSET:
            response["body"] = body
        if response_headers:
            response["headers"] = response_headers
        if delay_ms:
            response["delay_ms"] = delay_ms
        spec: dict[str, Any] = {"operation": operation, "response": response}
        for key, value in (("body", where), ("headers", headers), ("priority", priority), ("times", times)):
            if value is not None:
                spec[key] = value
        if unchecked:
            spec["unchecked"] = True
        return self.admin("POST", "stubs", spec)["id"]

    def remove_stub(self, stub_id: str) -> None:
        self.admin("DELETE", f"stubs/{stub_id}", expect=None)

    def stubs(self) -> list[dict]:
        return self.admin("GET", "stubs")["stubs"]

    def _filter(self, operation: str | None, where: Any, status: int | None) -> dict:
        flt: dict[str, Any] = {}
        if operation is not None:
            flt["operation"] = operation
        if where is not None:
            flt["body"] = where
        if status is not None:
            flt["status"] = status
        if self.ns:
            flt["namespace"] = self.ns
        return flt

    def calls(self, operation: str | None = None, where: Any = None, status: int | None = None) -> int:
        """How many requests of `operation` (in this view's namespace, when it has one) had a body
        containing `where`; e.g. ``calls("create-vm-snapshot", where={"data": {"name": "s1"}})``.
        Raises if the journal dropped older requests (the count would be too low)."""
        out = self.admin("POST", "requests/count", self._filter(operation, where, status))
        if not out["complete"]:
            raise AdminError(f"the journal keeps the last {out['capacity']} requests and dropped older "
                             f"ones; clear it (DELETE /_mock/journal) before the calls to count")
        return out["count"]

    def requests(self, operation: str | None = None, where: Any = None, status: int | None = None) -> list[dict]:
        """The journal entries (with bodies) of the matching requests, oldest first."""
        return self.admin("POST", "requests/find", self._filter(operation, where, status))["requests"]
