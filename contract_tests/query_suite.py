"""The query-conformance suite: the target's answers to generated queries against the
project's query engine (the model the mock implements) run on the target's own data.

For each resource (Vm, Cluster, Host, VmDisk, Label, Task by default) the suite fetches the
target's full listing (first/after pages) and the listings of the related types, loads them
into a DictSource (to-one relations as ids, to-many as id lists), then hypothesis draws
where / orderBy / pagination bodies from the contract's ModelDesc with values taken from
the live data. Each body goes to `get-<plural>` and `get-<plural>-connection`; the ids (in
order) and the count must equal the engine's answer, and a body the engine rejects must get
a 400 from the target. The listings themselves are checked against the response schema, and
`-connection {}` must count the full listing.
"""

from __future__ import annotations

import time
from typing import Callable

from .query_compare import ORDER_FAMILIES, Comparison, body_family, ids_diff, where_family
from .query_strategies import body_strategy
from .report import HARNESS, HTTP_ERROR, PAGINATION, QUERY_COUNT, RESPONSE_SCHEMA, SuiteResult
from .target import Target, TargetError

__all__ = ["QuerySuite", "Dataset", "DEFAULT_RESOURCES", "ORDER_FAMILIES", "body_family", "where_family",
           "ids_diff", "body_strategy"]

DEFAULT_RESOURCES = ("Vm", "Cluster", "Host", "VmDisk", "Label", "Task")
MAX_RECORDS = 5000


class Dataset:
    """Listings of a target, as engine rows."""

    def __init__(self, contract):
        self.contract = contract
        self.records: dict[str, list[dict]] = {}
        self.rows: dict[str, list[dict]] = {}

    def load(self, target: Target, model: str) -> list[dict]:
        res = self.contract.resources[model]
        recs = target.list_all(res.list_path, limit=MAX_RECORDS)
        self.records[model] = recs
        return recs

    def build(self) -> None:
        for model, recs in self.records.items():
            res = self.contract.resources[model]
            rows = []
            for x in recs:
                row = {f: x.get(f) for f in res.scalar_fields}
                row["id"] = x.get("id")
                for f, rel in res.relations.items():
                    if rel.target not in self.records:
                        continue
                    v = x.get(f)
                    if rel.many:
                        row[f] = [e["id"] for e in v or [] if isinstance(e, dict) and "id" in e]
                    else:
                        row[f] = v.get("id") if isinstance(v, dict) else None
                rows.append(row)
            self.rows[model] = rows

    def source(self):
        from mock_server.query.model import DictSource
        return DictSource(self.rows)


class QuerySuite(Comparison):
    """Loads the target's listings into a Dataset, then fuzzes each resource with generated
    bodies (query_strategies), each compared with the engine's answer (Comparison)."""

    def __init__(self, target: Target, contract, *, seed: int = 0, examples: int = 25,
                 resources: tuple[str, ...] = DEFAULT_RESOURCES, time_budget: float = 120.0,
                 log: Callable[[str], None] = print, name: str = "query"):
        self.target = target
        self.contract = contract
        self.seed = seed
        self.examples = examples
        self.resources = [r for r in resources if r in contract.resources and contract.resources[r].list_path]
        self.time_budget = time_budget
        self.log = log
        self.result = SuiteResult(name)
        self.dataset = Dataset(contract)
        from mock_server.contract.validate import Validator
        self.validator = Validator(contract, strict_additional=True)
        self.answers: list[dict] = []          # (for drift) every body and the target's answer

    def load(self) -> bool:
        res = self.result
        wanted: list[str] = []
        for m in self.resources:
            wanted.append(m)
            for rel in self.contract.resources[m].relations.values():
                if rel.target in self.contract.resources and self.contract.resources[rel.target].list_path:
                    wanted.append(rel.target)
        seen = set()
        # the resources' own listings first, then the related types while the budget lasts
        wanted = list(self.resources) + [m for m in wanted if m not in self.resources]
        load_until = self.result.started + self.time_budget * 0.5
        for m in wanted:
            if m in seen:
                continue
            if m not in self.resources and time.monotonic() > load_until:
                res.note(f"related listings not loaded (time budget): {m} and after; relation filters "
                         f"on them are not generated")
                break
            seen.add(m)
            r = self.contract.resources[m]
            try:
                recs = self.dataset.load(self.target, m)
            except TargetError as e:
                if e.status is not None and e.status < 500:     # transport and 5xx: the Inspector's
                    res.fail(r.list_path, HTTP_ERROR, f"the plain listing was refused: {e}", e.exchange)
                if m in self.resources:
                    self.resources.remove(m)
                continue
            except Exception as e:
                res.fail(r.list_path, RESPONSE_SCHEMA, f"listing unreadable: {type(e).__name__}: {e}",
                         self.target.last)
                if m in self.resources:
                    self.resources.remove(m)
                continue
            if m in self.resources:
                self._check_listing(m, recs)
        self.dataset.build()
        return bool(self.resources)

    def _check_listing(self, model: str, recs: list[dict]) -> None:
        """`-connection {}` counts the listing; first/after pages rebuild it. (Each record was
        checked against the schema by the Inspector.)"""
        res = self.result
        r = self.contract.resources[model]
        if r.connection_path:
            res.check(r.connection_path)
            try:
                n = self.target.call(r.connection_path, {})["aggregate"]["count"]
            except TargetError:
                return
            except (KeyError, TypeError) as e:
                res.fail(r.connection_path, RESPONSE_SCHEMA, f"no aggregate.count: {e}", self.target.last)
                return
            if n != len(recs):
                res.fail(r.connection_path, f"{QUERY_COUNT} [where {{}}]",
                         f"-connection {{}} counts {n}, the full listing has {len(recs)} {model} records",
                         self.target.last)
        if len(recs) >= 2:
            res.check(r.list_path)
            try:
                paged = self.target.list_all(r.list_path, page=max(1, len(recs) // 3 + 1))
            except TargetError:
                return
            if [x["id"] for x in paged] != [x["id"] for x in recs]:
                res.fail(r.list_path, f"{PAGINATION} [cursor (after/before)]",
                         f"pages of first/after give {len(paged)} ids, the full listing {len(recs)}: "
                         f"{ids_diff([x['id'] for x in paged], [x['id'] for x in recs])}", self.target.last)

    def run(self) -> SuiteResult:
        res = self.result
        self.log(f"[query] loading listings of {', '.join(self.resources)} and related types")
        if not self.load():
            res.skipped = res.skipped or "no listable resource"
            return res.finish()
        sizes = ", ".join(f"{m} {len(self.dataset.rows.get(m, []))}" for m in self.resources)
        res.note(f"listings: {sizes}; {len(self.dataset.rows)} types loaded for relation filters")
        deadline = res.started + self.time_budget
        for m in list(self.resources):
            if time.monotonic() > deadline or res.enough():
                res.note("time budget reached" if not res.enough() else "stopped at --max-defects")
                break
            self._fuzz(m, deadline)
            self.log(f"[query]   {m}: {res.per_operation.get(self.contract.resources[m].list_path, 0)} checks, "
                     f"{len(res.failures)} defect(s) so far")
        return res.finish()

    def _fuzz(self, model: str, deadline: float) -> None:
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import seed as hseed
        strategy = body_strategy(self.contract, self.dataset, model)

        @hseed(self.seed)
        @settings(max_examples=self.examples, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def one(body):
            if time.monotonic() > deadline or self.result.enough():
                return
            self.compare(model, body)

        try:
            one()
        except Exception as e:
            self.result.fail(self.contract.resources[model].list_path, HARNESS,
                             f"query generation failed: {type(e).__name__}: {str(e)[:300]}")
