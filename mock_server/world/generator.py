"""The seeded world: `generate(contract, scenario, seed=None) -> Store`.

A CloudTower a user recognises (datacenters, SMTX OS clusters, hosts, VDSes and VLANs,
images, templates, VMs with disks -> volumes -> iSCSI LUNs, NICs, snapshots whose frozen
disks name real LUN snapshots, tasks, alerts, users) plus a few generic, schema-valid
records of every other listable resource of the contract.

Determinism: everything random comes from `random.Random(seed)` and a Faker seeded with
`seed_instance(seed)`; ids come from an `IdMinter` with a fixed epoch and a seeded
fingerprint; timestamps from a fixed base date. The wall clock is never read.

Speed: the scale resources (Vm, VmDisk, VmVolume, IscsiLun, VmNic, VmSnapshot,
IscsiLunSnapshot) are built by copying a per-resource template row (synthesised once
from the schema) and setting the few fields that vary, with values picked from pools.
Rows omit None values (the renderer fills nulls) and share immutable values.

Relations are written on the side the store keeps (`store.plans`): `_link` sets the
stored field of whichever row holds the pair, so the world is correct whatever side a
contract version makes the stored one.

Parts (one builder per family, composed by `WorldBuilder`): `build_base` (shared state, row
and relation helpers), `build_infra`, `build_people`, `build_catalog`, `build_storage`,
`build_vms` (+ `vm_kit`, `build_vm_devices`, `build_vm_disks`),
`build_snapshots`, `build_history`, `build_finish` (generic rows, required relations,
devices, alert rules), `build_agree` (records that must agree with the rest); `vocab` holds
the names and shapes they pick from.
"""

from __future__ import annotations

import gc
import sys
import time

from ..contract.index import Contract
from ..store import Store
from .build_agree import AgreementBuilder
from .build_base import BuilderBase
from .build_finish import FinishingBuilder
from .build_history import HistoryBuilder
from .build_infra import InfrastructureBuilder
from .build_people import PeopleBuilder
from .build_snapshots import VmSnapshotBuilder
from .build_storage import StorageBuilder
from .build_vms import VmBuilder
from .derived import refresh_all
from .scenario import Scenario, load_scenario

PROGRESS_MIN_VMS = 20_000      # worlds this big say on stderr how far the build got


def _progress_printer(total: int):
    t0 = time.perf_counter()

    def say(step: int, label: str) -> None:
        state = "done" if step == total else f"{step + 1}/{total}"
        print(f"world: {state} {label} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    return say


def generate(contract: Contract, scenario: Scenario | str | None = None, seed: int | None = None) -> Store:
    """Build the seeded world of `scenario` (a Scenario, a name or a path) for `contract`."""
    if scenario is None or isinstance(scenario, str):
        scenario = load_scenario(scenario or "default")
    # Millions of small dicts would trigger the cyclic GC over and over; nothing here
    # builds cycles, so it stays off while the world is built.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return WorldBuilder(contract, scenario, seed).build()
    finally:
        if was_enabled:
            gc.enable()


class WorldBuilder(InfrastructureBuilder, PeopleBuilder, StorageBuilder, VmBuilder, VmSnapshotBuilder,
                   HistoryBuilder, FinishingBuilder, AgreementBuilder, BuilderBase):
    """The whole world, built step by step (each step a builder of one family)."""

    def build(self) -> Store:
        steps = (("infrastructure", self.build_infrastructure), ("people and catalog", self.build_people_and_catalog),
                 ("storage", self.build_storage), (f"{self.sc.vms} VMs", self.build_vms),
                 ("history", self.build_history), ("other resources", self.build_generic),
                 ("relations", self.repair), ("backups", self.agree_backups),
                 ("log collections", self.agree_log_collections), ("exports", self.agree_exports), ("devices", self.attach_devices),
                 ("alert rules", self.alert_rules),
                 ("indexes", self._load_store), ("counters", lambda: refresh_all(self.store)))
        say = _progress_printer(len(steps)) if self.sc.vms >= PROGRESS_MIN_VMS else None
        for i, (label, step) in enumerate(steps):
            if say is not None:
                say(i, label)
            step()
        if say is not None:
            say(len(steps), f"{sum(len(t.rows) for t in self.store.tables.values())} rows")
        return self.store

    def _load_store(self) -> None:
        for model, rows in self.rows.items():
            if rows:
                self.store.load(model, rows)
        self.rows = {}
