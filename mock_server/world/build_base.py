"""What every part of the world builder shares: the seeded rng, Faker pools and value
synthesiser, the rows being built (`self.rows[model][id]`), and the ways to make a row
(`make`, or `template` + copy for rows built by the thousand) and to relate two rows
(`link` / `linker`, writing whichever side of the pair the store keeps)."""

from __future__ import annotations

import random
from typing import Any, Callable

from faker import Faker

from ..contract.index import Contract
from ..store import Store, _b36
from .ids import FastIdMinter
from .scenario import Scenario
from .primitives import picker, uuid4_of, uuid4s_of
from .values import Pools, Synth
from .vocab import BASE_MS, DAY_MS


def projection_required(contract: Contract) -> dict[str, frozenset]:
    """Fields a Nested<X> projection requires, so X's rows must carry them."""
    res = contract.resources
    need: dict[str, set] = {m: set() for m in res}
    for r in res.values():
        for f, nested in r.nested_schema.items():
            tgt = r.relations[f].target
            ns = contract.resolve({"$ref": "#/components/schemas/" + nested})
            req = set(ns.get("required", ()))
            need[tgt].update(k for k, v in (ns.get("properties") or {}).items()
                             if (k in req or not v.get("nullable")) and k != "id"
                             and k in res[tgt].properties and k not in res[tgt].relations)
    return {m: frozenset(v) for m, v in need.items()}


class BuilderBase:
    def __init__(self, contract: Contract, scenario: Scenario, seed: int | None = None):
        self.c = contract
        self.sc = scenario
        self.seed = scenario.seed if seed is None else seed
        rng = self.rng = random.Random(self.seed)
        fake = Faker("en_US")
        fake.seed_instance(self.seed)
        epoch = BASE_MS - rng.randrange(1, 30) * DAY_MS - rng.randrange(DAY_MS)
        self.store = Store(contract, FastIdMinter(epoch_ms=epoch, fingerprint=_b36(rng.getrandbits(51), 10)))
        self.mint = self.store.mint.unlocked()
        self.uuid = uuid4_of(rng)             # uuid4(rng), faster
        self.uuids = uuid4s_of(rng)           # n of them from one draw
        self.pick = picker(rng)               # rng.choice, faster
        self.plans = self.store.plans
        self.res = contract.resources
        self.pools = Pools(fake, rng, BASE_MS)
        self.synth = Synth(contract, rng, self.pools, mint=self.mint)
        self.rows: dict[str, dict[str, dict]] = {m: {} for m in self.res}
        self.generic: set[str] = set()        # ids of generically built rows
        self.need = projection_required(contract)
        self.clusters: list[dict] = []
        self.cl: list[dict[str, Any]] = []    # per-cluster context

    # ------------------------------------------------------------------ basics
    def has(self, model: str, field: str | None = None) -> bool:
        r = self.res.get(model)
        return r is not None and (field is None or field in r.properties)

    def enum(self, model: str, field: str, *preferred: str) -> str | None:
        r = self.res.get(model)
        if r is None or field not in r.properties:
            return None
        vals = self.c.enum_values(r.properties[field])
        if not vals:
            s = self.c.resolve(r.properties[field])
            if s.get("type") == "string":
                return preferred[0] if preferred else None
            return None
        for p in preferred:
            if p in vals:
                return p
        return self.rng.choice(vals)

    def _clean(self, model: str, row: dict) -> dict:
        props = self.res[model].properties
        rels = self.res[model].relations
        return {k: v for k, v in row.items() if v is not None and k in props and k not in rels}


    def _keep(self, model: str, row: dict) -> dict:
        props = self.res[model].properties
        return {k: v for k, v in row.items() if k in props and v is not None}


    def add(self, model: str, row: dict, rid: str | None = None) -> dict:
        row["id"] = rid or self.mint()
        self.rows[model][row["id"]] = row
        return row

    def make(self, model: str, fields: dict | None = None, rels: dict | None = None,
             optional_p: float = 0.8, generic: bool = False) -> dict | None:
        """A row of `model`: synthesised scalars, `fields` on top, relations linked."""
        if model not in self.res:
            return None
        row = self.synth.row(self.res[model], optional_p, self.need[model])
        if fields:
            row.update(self._clean(model, fields))
        row = self.add(model, row)
        if generic:
            self.generic.add(row["id"])
        for f, v in (rels or {}).items():
            if isinstance(v, list):
                for t in v:
                    self.link(model, row, f, t)
            else:
                self.link(model, row, f, v)
        return row

    def link(self, model: str, row: dict, field: str, target_id: str | None) -> None:
        """Relate `row`.`field` to target_id, writing whichever side the store keeps."""
        if target_id is None:
            return
        plan = self.plans.get(model, {}).get(field)
        if plan is None:
            return
        if plan.stored:
            if plan.many:
                cur = row.get(field)
                if cur is None:
                    row[field] = [target_id]
                elif target_id not in cur:
                    cur.append(target_id)
            else:
                row[field] = target_id
            return
        sm, sf = plan.inverse
        trow = self.rows[sm].get(target_id)
        if trow is None:
            return
        if self.plans[sm][sf].many:
            cur = trow.get(sf)
            if cur is None:
                trow[sf] = [row["id"]]
            elif row["id"] not in cur:
                cur.append(row["id"])
        else:
            trow[sf] = row["id"]

    def stores_one(self, model: str, field: str) -> bool:
        """True when `model`'s rows hold `field` as one id (the relation's stored side)."""
        plan = self.plans.get(model, {}).get(field)
        return plan is not None and plan.stored and not plan.many

    def linker(self, model: str, field: str) -> Callable[[dict, str | None], None]:
        """A fast `link` for hot loops (no-op when the contract lacks the relation)."""
        plan = self.plans.get(model, {}).get(field)
        if plan is None:
            return lambda row, t: None
        if plan.stored and not plan.many:
            def set_one(row, t):
                if t is not None:
                    row[field] = t
            return set_one
        return lambda row, t, m=model, f=field: self.link(m, row, f, t)

    def template(self, model: str, optional: tuple[str, ...] = ()) -> dict:
        """Required scalars (+ the named optional ones) synthesised once, to copy per row."""
        res = self.res[model]
        tpl = self.synth.row(res, 0.0, self.need[model] | frozenset(f for f in optional if f in res.properties))
        return tpl

    def ts(self) -> str:
        return self.pools.ts()

    def _complete(self, schema: dict, obj: dict) -> dict:
        """`obj` with the required fields of `schema` it lacks synthesised."""
        props, req = self.synth.obj_shape(schema)
        for k in props:                 # in schema order (a set's order would vary by process)
            if k in req and k not in obj:
                obj[k] = self.synth.value(k, props[k])
        return obj

