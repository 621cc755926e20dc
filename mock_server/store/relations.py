"""Which side of each relation pair of the contract is stored (the other is derived)."""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass

from ..contract.index import Contract


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def plural_forms(word: str) -> set[str]:
    forms = {word, word + "s", word + "es"}
    if word.endswith("y"):
        forms.add(word[:-1] + "ies")
    return forms


@dataclass(frozen=True)
class RelationPlan:
    model: str
    field: str
    target: str
    many: bool
    stored: bool
    inverse: tuple[str, str] | None = None      # (model, field) of the stored side, when derived
    nullable: bool = True


_PLANS: "weakref.WeakKeyDictionary[Contract, dict]" = weakref.WeakKeyDictionary()
_PLANS_LOCK = threading.Lock()


def relation_plans(contract: Contract) -> dict[str, dict[str, RelationPlan]]:
    """`plan_relations`, computed once per contract (every namespace's store shares it)."""
    with _PLANS_LOCK:
        try:
            plans = _PLANS.get(contract)
        except TypeError:                       # an unhashable / un-weakref-able contract
            return plan_relations(contract)
        if plans is None:
            plans = plan_relations(contract)
            try:
                _PLANS[contract] = plans
            except TypeError:
                pass
        return plans


def plan_relations(contract: Contract) -> dict[str, dict[str, RelationPlan]]:
    """Decide, for every relation of every resource, whether it is stored or derived."""
    res = contract.resources
    plans: dict[str, dict[str, RelationPlan]] = {m: {} for m in res}
    decided: set[tuple[str, str]] = set()

    def candidates(a: str, f: str) -> list[str]:
        rel = res[a].relations[f]
        b = rel.target
        if b not in res:
            return []
        cands = [g for g, r in res[b].relations.items() if r.target == a and (b, g) != (a, f)]
        if len(cands) > 1:
            named = [g for g in cands if g in plural_forms(snake(a))]
            cands = named
        if len(cands) > 1:
            # UsbDevice has `vms` and the deprecated `vm`: Vm.usb_devices pairs with the list.
            cands = [g for g in cands if res[b].relations[g].many == rel.many]
        return cands

    for a, r in res.items():
        for f, rel in r.relations.items():
            if (a, f) in decided:
                continue
            b = rel.target
            cands = candidates(a, f)
            g = cands[0] if len(cands) == 1 else None
            if g is not None and candidates(b, g) != [f]:
                g = None
            if g is None or (a, f) in decided or (b, g) in decided:
                plans[a][f] = RelationPlan(a, f, b, rel.many, True, nullable=f not in r.required)
                decided.add((a, f))
                continue
            other = res[b].relations[g]
            # Store the to-one side of a one-to-many; otherwise the lexicographically first.
            if rel.many != other.many:
                store_a = not rel.many
            else:
                store_a = (a, f) <= (b, g)
            sa, sf = (a, f) if store_a else (b, g)
            da, df = (b, g) if store_a else (a, f)
            plans[sa][sf] = RelationPlan(sa, sf, res[sa].relations[sf].target, res[sa].relations[sf].many, True,
                                         nullable=sf not in res[sa].required)
            plans[da][df] = RelationPlan(da, df, res[da].relations[df].target, res[da].relations[df].many, False,
                                         inverse=(sa, sf), nullable=df not in res[da].required)
            decided.update({(a, f), (b, g)})
    return plans
