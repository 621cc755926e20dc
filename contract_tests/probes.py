"""The probe suite: deterministic checks of every fault family, run first, within its budget.

* auth: every secured read operation (and, when mutations are allowed, a few mutations aimed
  at nothing) without a token, with a bogus token, with an expired one (the login token with
  `exp` moved into the past, or `--expired-token`) and with a tampered signature: each must
  answer 401 with an ErrorBody;
* invalid requests: unknown where keys, wrong types, unknown top-level keys, unknown orderBy,
  a body that is not JSON or not an object, mutations missing their required fields: each
  must get a 4xx ErrorBody;
* query: every where-operator family and every pagination / ordering argument (probe_query),
  list and count against the query engine on the target's data;
* lifecycle (when mutations are allowed): tasks end, end SUCCESSED only when the change
  happened, leave no entityAsyncStatus; updates and deletes take effect; snapshots' LUN
  snapshot references resolve (probe_lifecycle).

Every answer also goes through the Inspector (schema, content type, request id, 5xx).
"""

from __future__ import annotations

import random
import time
from typing import Callable

from .probe_auth import AuthProbes, expired_token, tampered_token
from .probe_requests import RequestProbes
from .report import HARNESS, SuiteResult
from .target import Target

__all__ = ["ProbeSuite", "expired_token", "tampered_token", "breadth_first", "PART_SHARE"]


PART_SHARE = {"reads": 0.2, "auth": 0.1, "invalid": 0.05, "query": 0.4, "lifecycle": 0.25}


def breadth_first(bodies: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """One body of each family, then a second of each, ...: a short budget still tries every family."""
    groups: dict[str, list] = {}
    for fam, body in bodies:
        groups.setdefault(fam, []).append((fam, body))
    out = []
    while any(groups.values()):
        for fam in list(groups):
            if groups[fam]:
                out.append(groups[fam].pop(0))
    return out


class ProbeSuite(RequestProbes, AuthProbes):
    """The probe parts in turn, each within its share of the budget: reads and invalid
    requests (RequestProbes), auth (AuthProbes), query (probe_query) and lifecycle
    (probe_lifecycle)."""

    def __init__(self, target: Target, contract, *, seed: int = 0, resources: tuple[str, ...] = (),
                 time_budget: float = 60.0, log: Callable[[str], None] = print, expired: str | None = None,
                 parts: tuple[str, ...] = ("reads", "auth", "invalid", "query", "lifecycle"),
                 task_timeout: float = 30.0):
        self.task_timeout = task_timeout
        self.target = target
        self.contract = contract
        self.seed = seed
        self.resources = [r for r in resources if r in contract.resources and contract.resources[r].list_path]
        self.time_budget = time_budget
        self.log = log
        self.expired = expired
        self.parts = parts
        self.result = SuiteResult("probe")
        self.deadline = self.result.started + time_budget
        self.part_deadline = self.deadline

    def left(self) -> float:
        """Seconds left for the running part (its share of the suite's budget)."""
        return min(self.deadline, self.part_deadline) - time.monotonic()

    def run(self) -> SuiteResult:
        res = self.result
        steps = [("reads", self.reads), ("auth", self.auth), ("invalid", self.invalid),
                 ("query", self.query), ("lifecycle", self.lifecycle)]
        steps = [(n, fn) for n, fn in steps if n in self.parts]
        for i, (name, fn) in enumerate(steps):
            # each part gets its share of what is left; what a part leaves unused goes to the next
            rest = sum(PART_SHARE[n] for n, _ in steps[i:])
            self.part_deadline = time.monotonic() + (self.deadline - time.monotonic()) * PART_SHARE[name] / rest
            if self.left() <= 0 or res.enough():
                res.note(f"{name} probes not run: time budget spent or --max-defects reached")
                continue
            t0 = time.monotonic()
            try:
                fn()
            except Exception as e:
                import traceback
                res.fail(f"probe:{name}", HARNESS, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")
            self.log(f"[probe] {name}: {time.monotonic() - t0:.1f}s, {len(res.failures)} defect(s) so far")
        return res.finish()

    def query(self) -> None:
        from .probe_query import count_bodies, page_bodies, where_bodies
        from .query_suite import QuerySuite
        q = QuerySuite(self.target, self.contract, seed=self.seed, resources=tuple(self.resources),
                       time_budget=self.left(), log=lambda s: None)
        q.result = self.result
        if not q.load():
            self.result.note("query probes: no listable resource")
            return
        rng = random.Random(self.seed)
        qs = self.contract.query_schema
        plans = {}
        for m in q.resources:
            wb = where_bodies(qs, q.dataset, m, rng)
            plans[m] = breadth_first(page_bodies(self.contract, q.dataset, m, rng) + wb
                                     + count_bodies(q.dataset, m, wb))
        total = sum(map(len, plans.values()))
        sent = 0
        # round-robin over the resources, so a short budget still probes each of them
        queues = {m: list(p) for m, p in plans.items()}
        while any(queues.values()):
            for m in list(queues):
                if not queues[m]:
                    continue
                if self.left() <= 0 or self.result.enough():
                    self.result.note(f"query probes: {sent} of {total} bodies before the time budget "
                                     f"or --max-defects")
                    return
                fam, body = queues[m].pop(0)
                q.compare(m, body, fam)
                sent += 1
        self.result.note(f"query probes: {total} bodies over {', '.join(plans)}")

    # -------------------------------------------------------------------- lifecycle
    def lifecycle(self) -> None:
        from .probe_lifecycle import Lifecycle
        t = self.target
        if not t.safety.allow_mutations:
            self.result.note("lifecycle probes skipped: read-only target (mutations need --allow-mutations)")
            from .probe_lifecycle import check_seeded_snapshots
            check_seeded_snapshots(t, self.result)
            return
        from .probe_lifecycle import check_seeded_snapshots
        check_seeded_snapshots(t, self.result)
        Lifecycle(t, self.contract, self.result, min(self.deadline, self.part_deadline), self.log,
                  self.task_timeout).run()
