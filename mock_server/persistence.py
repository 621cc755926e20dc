"""State export/import (the admin API's `GET/POST /_mock/state`) and the state file.

The exported document holds, for every namespace, every table's rows, the difference of
the kept (pristine) snapshot from the current rows (so `reset` still works after an
import or a restart), the task engine's running tasks and failure rules; plus the id
minter's state. It is canonical JSON (sorted keys, rows sorted by id), so
export -> import -> export gives identical bytes.

Not kept: the clock (it is wall time scaled), login tokens, behaviour modules' per-world
`extras`, and the callbacks of running tasks (a task imported while running still
finishes, commits or rolls back its row, but custom on-success hooks are lost).

`serve --state-file FILE`: :class:`StateFile` loads FILE at start (a corrupt or
incompatible file stops the server with a clear error) and writes it atomically (temp
file + fsync + os.replace) at most once a second after a change, and at shutdown.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

import orjson

from .fileutil import atomic_write

log = logging.getLogger("cloudtower_mock.persistence")

FORMAT = "cloudtower-mock-state"
VERSION = 1


class StateError(ValueError):
    """A state document (or file) that cannot be imported."""


def contract_fingerprint(contract) -> str:
    fp = getattr(contract, "_mock_state_fingerprint", None)
    if fp is None:
        h = hashlib.sha256()
        for model in sorted(contract.resources):
            h.update(model.encode() + b":" + ",".join(sorted(contract.resources[model].properties)).encode() + b";")
        fp = h.hexdigest()[:16]
        try:
            contract._mock_state_fingerprint = fp
        except AttributeError:
            pass
    return fp


def dumps(doc: dict) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


# ------------------------------------------------------------------------- minter
def minter_state(minter) -> dict:
    m = re.search(r"\((\d+)", repr(minter._counter))
    return {"fixed_ms": minter._fixed, "last_ms": minter._last_ms,
            "counter": int(m.group(1)) if m else 0, "fingerprint": minter._fp}


def make_minter(st: dict):
    from .store import IdMinter
    m = IdMinter(epoch_ms=st.get("fixed_ms"), fingerprint=st.get("fingerprint"))
    m._last_ms = st.get("last_ms") or 0
    m._counter = itertools.count(int(st.get("counter") or 0))
    return m


# ------------------------------------------------------------------------- export
def _tasks_state(engine) -> dict:
    if engine is None:
        return {"running": [], "failure_rules": []}
    running = []
    for meta in list(getattr(engine, "_meta", {}).values()):
        running.append({
            "task_id": meta.task_id, "model": meta.model, "resource_id": meta.resource_id, "kind": meta.kind,
            "start": meta.start, "duration": meta.duration, "step_keys": list(meta.step_keys),
            "before": meta.before, "changes": meta.changes,
            "fail": list(meta.fail) if meta.fail is not None else None,
            "locks": [list(lk) for lk in meta.locks], "status": meta.status, "done_steps": meta.done_steps,
        })
    running.sort(key=lambda t: t["task_id"])
    rules = []
    for r in getattr(engine, "_rules", {}).values():
        rules.append({k: getattr(r, k) for k in ("id", "operation", "name_regex", "probability", "error_code",
                                                  "error_message", "at_step", "times", "hits")})
    counter = re.search(r"\((\d+)", repr(getattr(engine, "_rule_ids", "")))
    return {"running": running, "failure_rules": rules,
            "next_rule": int(counter.group(1)) if counter else None}


def export_world(world) -> dict:
    store = world.store
    with store.lock:
        if world.tasks is not None:
            world.tasks.settle()
        current = store.snapshot()
        tasks = _tasks_state(world.tasks)
    pristine = world.pristine
    tables: dict[str, list] = {}
    p_rows: dict[str, list] = {}
    p_absent: dict[str, list] = {}
    for model in sorted(set(current) | set(pristine)):
        cur = current.get(model, {})
        pri = pristine.get(model, {})
        if cur:
            tables[model] = [cur[i] for i in sorted(cur)]
        changed = [pri[i] for i in sorted(pri) if cur.get(i) is not pri[i] and cur.get(i) != pri[i]]
        absent = sorted(i for i in cur if i not in pri)
        if changed:
            p_rows[model] = changed
        if absent:
            p_absent[model] = absent
    return {"tables": tables, "pristine": {"rows": p_rows, "absent": p_absent}, "tasks": tasks}


def export_state(state) -> dict:
    state.world()                         # the loaded world exists once anyone looks
    with state._lock:
        worlds = dict(state.worlds)
    minter = None
    if worlds:
        minter = minter_state(next(iter(worlds.values())).store.mint)
    return {
        "format": FORMAT, "version": VERSION,
        "contract": {"version": state.contract.version, "fingerprint": contract_fingerprint(state.contract)},
        "minter": minter,
        "namespaces": {ns: export_world(w) for ns, w in sorted(worlds.items())},
    }


# ------------------------------------------------------------------------- import
def parse(raw: bytes | str, source: str = "state") -> dict:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise StateError(f"{source} is not valid JSON ({e}); the file may be truncated or corrupt") from e
    return doc


def validate(contract, doc: Any, source: str = "state") -> None:
    """Check the whole document before anything is changed."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StateError(f"{source} is not a cloudtower-mock state document (format must be '{FORMAT}')")
    if doc.get("version") != VERSION:
        raise StateError(f"{source}: unsupported state format version {doc.get('version')!r} (expected {VERSION})")
    c = doc.get("contract") or {}
    if c.get("version") != contract.version or c.get("fingerprint") != contract_fingerprint(contract):
        raise StateError(f"{source} was written for CloudTower {c.get('version')} (contract {c.get('fingerprint')}); "
                         f"the server runs CloudTower {contract.version} (contract {contract_fingerprint(contract)}). "
                         f"Start with the same contract or remove the file")
    m = doc.get("minter")
    if m is not None and (not isinstance(m, dict) or not isinstance(m.get("fingerprint"), str)
                          or not isinstance(m.get("counter", 0), int)):
        raise StateError(f"{source}: bad minter state")
    nss = doc.get("namespaces")
    if not isinstance(nss, dict):
        raise StateError(f"{source}: 'namespaces' must be an object")
    for ns, w in nss.items():
        where = f"{source}: namespace '{ns}'"
        if not isinstance(w, dict) or not isinstance(w.get("tables"), dict):
            raise StateError(f"{where}: 'tables' must be an object")
        tables = w["tables"]
        pri = w.get("pristine") or {}
        if not isinstance(pri, dict):
            raise StateError(f"{where}: 'pristine' must be an object")
        for label, group in (("tables", tables), ("pristine.rows", pri.get("rows") or {}),
                             ("pristine.absent", pri.get("absent") or {})):
            if not isinstance(group, dict):
                raise StateError(f"{where}: '{label}' must be an object")
            for model, rows in group.items():
                if model not in contract.resources:
                    raise StateError(f"{where}: {label}: unknown resource type '{model}'")
                if not isinstance(rows, list):
                    raise StateError(f"{where}: {label}.{model} must be a list")
                for i, row in enumerate(rows):
                    if label == "pristine.absent":
                        ok = isinstance(row, str)
                    else:
                        ok = isinstance(row, dict) and isinstance(row.get("id"), str) and row["id"]
                    if not ok:
                        raise StateError(f"{where}: {label}.{model}[{i}] must be "
                                         + ("an id" if label == "pristine.absent" else "an object with a string id"))
        tasks = w.get("tasks") or {}
        if not isinstance(tasks, dict) or not isinstance(tasks.get("running", []), list) \
                or not isinstance(tasks.get("failure_rules", []), list):
            raise StateError(f"{where}: 'tasks' must be {{running: [...], failure_rules: [...]}}")
        for i, t in enumerate(tasks.get("running", [])):
            if not isinstance(t, dict) or not isinstance(t.get("task_id"), str) \
                    or not isinstance(t.get("step_keys"), list) or not t["step_keys"]:
                raise StateError(f"{where}: tasks.running[{i}] is not a task")


def build_world(state, wdoc: dict, minter):
    from .state import World
    from .store import Store
    contract = state.contract
    store = Store(contract, minter=minter)
    snap = {m: {r["id"]: r for r in rows} for m, rows in wdoc["tables"].items()}
    store.restore(snap)
    world = World(store, state.clock)
    pristine = {m: dict(rows) for m, rows in store.snapshot().items()}
    pri = wdoc.get("pristine") or {}
    for model, ids in (pri.get("absent") or {}).items():
        for i in ids:
            pristine[model].pop(i, None)
    for model, rows in (pri.get("rows") or {}).items():
        for r in rows:
            pristine[model][r["id"]] = r
    world.pristine = pristine
    if world.tasks is not None:
        _import_tasks(world.tasks, wdoc.get("tasks") or {})
    return world


def _import_tasks(engine, tdoc: dict) -> None:
    from . import tasks as tasks_mod
    for r in tdoc.get("failure_rules", []):
        rule = tasks_mod.FailureRule(**r)
        engine._rules[rule.id] = rule
    if tdoc.get("next_rule") is not None:
        engine._rule_ids = itertools.count(int(tdoc["next_rule"]))
    for t in tdoc.get("running", []):
        meta = tasks_mod._Meta(t["task_id"], t["model"], t["resource_id"], t["kind"], t["start"], t["duration"],
                               list(t["step_keys"]), before=t.get("before"), changes=t.get("changes"),
                               fail=tuple(t["fail"]) if t.get("fail") else None,
                               locks=[tuple(lk) for lk in t.get("locks", [])],
                               status=t.get("status", tasks_mod.PENDING), done_steps=t.get("done_steps", 0))
        engine._meta[meta.task_id] = meta
        for lk in meta.locks:
            engine._locks[lk] = meta.task_id
        n = len(meta.step_keys)
        pf = tasks_mod.PENDING_FRACTION
        t_exec = meta.start + meta.duration * pf
        first = 0 if meta.status == tasks_mod.PENDING else meta.done_steps + 1
        for i in range(first, n + 1):
            at = t_exec if i == 0 else t_exec + (meta.duration - meta.duration * pf) * i / n
            heapq.heappush(engine._heap, (at, next(engine._seq), meta.task_id, i))


def import_state(state, doc: dict, source: str = "state") -> dict:
    """Replace every namespace of `state` with the document's (validated first)."""
    validate(state.contract, doc, source)
    minter = make_minter(doc["minter"]) if doc.get("minter") else None
    if minter is None:
        from .store import IdMinter
        minter = IdMinter()
    try:
        worlds = {ns: build_world(state, w, minter) for ns, w in doc["namespaces"].items()}
    except (KeyError, TypeError, ValueError) as e:
        raise StateError(f"{source}: cannot rebuild the state: {e}") from e
    with state._lock:
        state.worlds.clear()
        state.worlds.update(worlds)
    return {"namespaces": sorted(worlds),
            "records": {ns: sum(len(t.rows) for t in w.store.tables.values()) for ns, w in worlds.items()}}


# ----------------------------------------------------------------------- the file
def read_state_file(contract, path: str | os.PathLike) -> dict | None:
    """The validated document of an existing state file; None when the file does not exist."""
    p = Path(path)
    if not p.exists():
        return None
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise StateError(f"cannot read state file {p}: {e.strerror}") from e
    source = f"state file {p}"
    doc = parse(raw, source)
    validate(contract, doc, source)
    return doc


class StateFile:
    """Writes the state to `path` after changes (debounced) and at shutdown."""

    def __init__(self, state, path: str | os.PathLike, interval: float = 1.0):
        self.state = state
        self.path = Path(path)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: Any = None
        self._write_lock = threading.Lock()
        self.writes = 0

    def signature(self) -> Any:
        with self.state._lock:
            worlds = list(self.state.worlds.items())
        return tuple((ns, id(w.store), w.store.revision, id(w.pristine),
                      len(getattr(w.tasks, "_rules", ()) or ()) if w.tasks is not None else 0)
                     for ns, w in sorted(worlds, key=lambda x: x[0]))

    def load(self) -> bool:
        """Import the file into the state if it exists. Raises StateError when it is unusable."""
        doc = read_state_file(self.state.contract, self.path)
        if doc is None:
            return False
        import_state(self.state, doc, f"state file {self.path}")
        self._last = self.signature()
        return True

    def save(self, force: bool = False) -> bool:
        with self._write_lock:
            self.state.world()                   # the loaded world exists once anyone looks
            with self.state._lock:
                worlds = list(self.state.worlds.values())
            for w in worlds:                     # due task milestones count as the change they are
                if w.tasks is not None:
                    with w.store.lock:
                        w.tasks.settle()
            sig = self.signature()
            if not force and sig == self._last:
                return False
            data = dumps(export_state(self.state))
            atomic_write(self.path, data)
            self._last = sig
            self.writes += 1
            return True

    def start(self) -> None:
        if self._last is None:
            self._last = self.signature()
        self._thread = threading.Thread(target=self._run, name="cloudtower-mock-state-file", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.save()
            except Exception:            # keep serving; report it
                log.exception("cannot write the state file %s", self.path)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.save()
