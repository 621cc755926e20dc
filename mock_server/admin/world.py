"""/_mock/reset, /_mock/seed and /_mock/state: the loaded world, restored, replaced or exported."""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from .common import AdminContext, AdminError, check_depth, json_response, namespace_of, only, read_body
from .faults import forget_all_task_rules, forget_spent_task_rules
from .spec import ANY_OBJECT, NS_PARAM, B, I, S, obj, op


def register(bp: Blueprint, ctx: AdminContext) -> None:
    state = ctx.state

    @bp.route("/reset", methods=["POST"])
    def reset():
        body = read_body()
        only(body, {"namespace", "all"})
        all_ = body.get("all", False)
        if not isinstance(all_, bool):
            raise AdminError("all must be true or false")
        if all_ and body.get("namespace") is not None:
            raise AdminError("give either a namespace or all, not both")
        ns = None if all_ else namespace_of(body)
        t0 = time.perf_counter()
        if all_:
            with state._lock:
                worlds = dict(state.worlds)
            for w in worlds.values():
                w.reset()
            done = sorted(worlds)
        else:
            name = ns or "default"
            w = state.worlds.get(name)
            if w is None and name == "default":
                w = state.world()
            if w is not None:
                w.reset()
            done = [name] if w is not None else []
        ms = (time.perf_counter() - t0) * 1000
        forget_spent_task_rules(ctx)
        ctx.after_reset(None if all_ else done)
        return json_response({"reset": done, "ms": round(ms, 3)})

    @bp.route("/seed", methods=["POST"])
    def seed():
        body = read_body()
        only(body, {"world", "seed"})
        world = body.get("world", state.config.world)
        seed_ = body.get("seed")
        if not isinstance(world, str) or not world:
            raise AdminError("world must be a scenario name (default, large, xl) or a file path")
        if seed_ is not None and (isinstance(seed_, bool) or not isinstance(seed_, int)):
            raise AdminError(f"seed must be an integer, got {seed_!r}")
        t0 = time.perf_counter()
        store = build_store(state.contract, world, seed_)
        from ..state import World
        new = World(store, state.clock)
        with state._lock:
            state.worlds.clear()
            state.worlds["default"] = new
            state.config.world, state.config.seed = world, seed_
        forget_all_task_rules(ctx)
        ctx.after_reset(None)
        records = sum(len(t.rows) for t in store.tables.values())
        return json_response({"world": world, "seed": seed_, "records": records,
                              "ms": round((time.perf_counter() - t0) * 1000, 3)})

    @bp.route("/state", methods=["GET"])
    def get_state():
        from ..persistence import dumps, export_state
        return Response(dumps(export_state(state)), mimetype="application/json")

    @bp.route("/state", methods=["POST"])
    def post_state():
        from ..persistence import StateError, import_state, parse
        raw = request.get_data(cache=True)
        if not raw.strip():
            raise AdminError("POST /_mock/state needs the document GET /_mock/state exported")
        try:
            doc = parse(raw, "state document")
            check_depth(doc)
            result = import_state(state, doc, "state document")
        except StateError as e:
            raise AdminError(str(e))
        forget_all_task_rules(ctx)
        return json_response({"imported": result})


def build_store(contract, world: str, seed: int | None):
    """A store for `world`: a recorded file, or a scenario generated with `seed`."""
    from ..world.loader import WorldError, load_world
    try:
        return load_world(contract, world, seed)[0]
    except WorldError as e:
        raise AdminError(str(e)) from e


def paths() -> dict:
    return {
        "/reset": {"post": op("Restore the kept snapshot of the loaded world (one namespace, or all)",
                              obj(namespace=S, all=B), [NS_PARAM])},
        "/seed": {"post": op("Generate a new world (scenario name or file, or a recording) and load it",
                             obj(world=S, seed=I))},
        "/state": {"get": op("Export the whole state (every namespace's rows, tasks, minter)"),
                   "post": op("Import a state document exported by GET /_mock/state", ANY_OBJECT)},
    }
