"""The admin API under `/_mock/`: reset, seed, state export/import, clock, fault rules,
the request journal and namespaces. Its own OpenAPI document is `GET /_mock/openapi.json`.

When the server runs with an admin token (`serve --admin-token T`), every admin call needs
`Authorization: Bearer T` or `X-Mock-Admin-Token: T`. Bad input gives 400 with a message,
and nothing is changed: every input is validated whole before it is applied.
"""

from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, request

from .journal import FaultError, FaultRules, Journal, JournalMiddleware, parse_rule

PREFIX = "/_mock"
NAMESPACE_HEADER = "X-Mock-Namespace"
EXT_KEY = "cloudtower_mock_admin"


class AdminError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class AdminContext:
    state: Any
    journal: Journal
    faults: FaultRules
    task_rules: dict[str, tuple[str, str]] = field(default_factory=dict)   # fault id -> (namespace, engine rule id)
    task_specs: dict[str, dict] = field(default_factory=dict)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS), status=status,
                    mimetype="application/json")


def _error(message: str, status: int = 400) -> Response:
    return _json({"message": message, "status": status, "path": request.path}, status)


# ---------------------------------------------------------------------- durations
_UNITS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, what: str = "seconds") -> float:
    """30, 2.5, "30", "30s", "5m", "1h30m", "250ms" -> seconds."""
    if isinstance(value, bool):
        raise AdminError(f"{what} must be a number of seconds or a duration like '5m', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = re.findall(r"(\d+(?:\.\d+)?)(ms|sec|min|s|m|h|d)", text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise AdminError(f"{what}: cannot read duration {value!r}; use seconds or e.g. '90s', '5m', "
                                 f"'1h30m', '250ms'")
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise AdminError(f"{what} must be a number of seconds or a duration like '5m', got {value!r}")
    if seconds < 0 or seconds != seconds:
        raise AdminError(f"{what} must not be negative")
    return seconds


# ------------------------------------------------------------------------ helpers
def _body() -> dict:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise AdminError(f"request body is not valid JSON: {e}")
    if not isinstance(body, dict):
        raise AdminError("request body must be a JSON object")
    return body


def _only(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise AdminError(f"unknown key(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed)) or 'none'}")


def _namespace(body: dict | None = None) -> str | None:
    ns = (body or {}).get("namespace")
    if ns is None:
        ns = request.headers.get(NAMESPACE_HEADER)
    if ns is not None and (not isinstance(ns, str) or not ns):
        raise AdminError("namespace must be a non-empty string")
    return ns


def clock_info(clock) -> dict:
    now = clock.now()
    return {"now": now, "iso": clock.iso(now), "paused": clock.paused, "speed": clock.speed}


# ------------------------------------------------------------------------ the API
def register_admin(app: Flask, state, journal_size: int = 1000) -> AdminContext:
    """Mount `/_mock/` and wrap the app with the journal/fault middleware."""
    ctx = AdminContext(state=state, journal=Journal(journal_size), faults=FaultRules())
    app.extensions[EXT_KEY] = ctx
    app.wsgi_app = JournalMiddleware(app.wsgi_app, ctx.journal, ctx.faults, clock=state.clock)
    bp = Blueprint("cloudtower_mock_admin", __name__, url_prefix=PREFIX)

    @bp.before_request
    def _auth():
        token = state.config.admin_token
        if not token:
            return None
        given = request.headers.get("X-Mock-Admin-Token")
        if given is None:
            auth = request.headers.get("Authorization", "")
            if auth.lower().startswith("bearer "):
                given = auth[7:].strip()
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            return _error("the admin API needs 'Authorization: Bearer <admin token>' or "
                          "'X-Mock-Admin-Token: <admin token>'", 401)
        return None

    @bp.errorhandler(AdminError)
    def _admin_error(e: AdminError):
        return _error(e.message, e.status)

    @bp.route("/openapi.json", methods=["GET"])
    def openapi():
        return _json(admin_openapi(state))

    # -------------------------------------------------------------- reset / seed
    @bp.route("/reset", methods=["POST"])
    def reset():
        body = _body()
        _only(body, {"namespace", "all"})
        all_ = body.get("all", False)
        if not isinstance(all_, bool):
            raise AdminError("all must be true or false")
        if all_ and body.get("namespace") is not None:
            raise AdminError("give either a namespace or all, not both")
        ns = None if all_ else _namespace(body)
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
        _forget_spent_task_rules(ctx)
        return _json({"reset": done, "ms": round(ms, 3)})

    @bp.route("/seed", methods=["POST"])
    def seed():
        body = _body()
        _only(body, {"world", "seed"})
        world = body.get("world", state.config.world)
        seed_ = body.get("seed")
        if not isinstance(world, str) or not world:
            raise AdminError("world must be a scenario name (default, large, xl) or a file path")
        if seed_ is not None and (isinstance(seed_, bool) or not isinstance(seed_, int)):
            raise AdminError(f"seed must be an integer, got {seed_!r}")
        t0 = time.perf_counter()
        store = build_store(state.contract, world, seed_)
        from .state import World
        new = World(store, state.clock)
        with state._lock:
            state.worlds.clear()
            state.worlds["default"] = new
            state.config.world, state.config.seed = world, seed_
        ctx.task_rules.clear()
        ctx.task_specs.clear()
        records = sum(len(t.rows) for t in store.tables.values())
        return _json({"world": world, "seed": seed_, "records": records,
                      "ms": round((time.perf_counter() - t0) * 1000, 3)})

    # -------------------------------------------------------------------- state
    @bp.route("/state", methods=["GET"])
    def get_state():
        from .persistence import dumps, export_state
        return Response(dumps(export_state(state)), mimetype="application/json")

    @bp.route("/state", methods=["POST"])
    def post_state():
        from .persistence import StateError, import_state, parse
        raw = request.get_data(cache=True)
        if not raw.strip():
            raise AdminError("POST /_mock/state needs the document GET /_mock/state exported")
        try:
            result = import_state(state, parse(raw, "state document"), "state document")
        except StateError as e:
            raise AdminError(str(e))
        ctx.task_rules.clear()
        ctx.task_specs.clear()
        return _json({"imported": result})

    # -------------------------------------------------------------- namespaces
    @bp.route("/namespaces", methods=["GET"])
    def namespaces():
        with state._lock:
            worlds = dict(state.worlds)
        return _json({"namespaces": [
            {"name": ns, "records": sum(len(t.rows) for t in w.store.tables.values()),
             "revision": w.store.revision} for ns, w in sorted(worlds.items())]})

    @bp.route("/namespaces/<name>", methods=["DELETE"])
    def delete_namespace(name: str):
        if name == "default":
            raise AdminError("the default namespace cannot be deleted; reset it instead")
        with state._lock:
            gone = state.worlds.pop(name, None) is not None
        for fid, (ns, _rid) in list(ctx.task_rules.items()):
            if ns == name:
                ctx.task_rules.pop(fid, None)
                ctx.task_specs.pop(fid, None)
        return _json({"deleted": gone})

    # -------------------------------------------------------------------- clock
    @bp.route("/clock", methods=["GET"])
    def clock_get():
        return _json(clock_info(state.clock))

    @bp.route("/clock/advance", methods=["POST"])
    def clock_advance():
        body = _body()
        _only(body, {"seconds", "duration"})
        if ("seconds" in body) == ("duration" in body):
            raise AdminError("give seconds (a number or a duration like '5m') or duration")
        key = "seconds" if "seconds" in body else "duration"
        seconds = parse_duration(body[key], key)
        state.clock.advance(seconds)
        return _json({"advanced": seconds, **clock_info(state.clock)})

    @bp.route("/clock/pause", methods=["POST"])
    def clock_pause():
        _only(_body(), set())
        state.clock.pause()
        return _json(clock_info(state.clock))

    @bp.route("/clock/resume", methods=["POST"])
    def clock_resume():
        _only(_body(), set())
        state.clock.resume()
        return _json(clock_info(state.clock))

    @bp.route("/clock/speed", methods=["POST"])
    def clock_speed():
        body = _body()
        _only(body, {"speed"})
        speed = body.get("speed")
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed > 0:
            raise AdminError(f"speed must be a positive number, got {speed!r}")
        state.clock.set_speed(float(speed))
        return _json(clock_info(state.clock))

    # ------------------------------------------------------------------- faults
    @bp.route("/faults", methods=["POST"])
    def faults_add():
        body = _body()
        return _json(add_fault(ctx, body), 201)

    @bp.route("/faults", methods=["GET"])
    def faults_list():
        return _json({"faults": list_faults(ctx)})

    @bp.route("/faults/<rule_id>", methods=["DELETE"])
    def faults_delete(rule_id: str):
        if not remove_fault(ctx, rule_id):
            raise AdminError(f"no fault rule {rule_id}", 404)
        return _json({"deleted": rule_id})

    @bp.route("/faults", methods=["DELETE"])
    def faults_clear():
        n = ctx.faults.clear()
        for fid in list(ctx.task_rules):
            remove_fault(ctx, fid)
            n += 1
        return _json({"deleted": n})

    # ------------------------------------------------------------------ journal
    @bp.route("/journal", methods=["GET"])
    def journal_get():
        args = request.args
        unknown = sorted(set(args) - {"limit", "operation", "namespace", "status", "full"})
        if unknown:
            raise AdminError(f"unknown query parameter(s): {', '.join(unknown)}")
        limit = _int_arg(args.get("limit"), "limit", 0)
        status = _int_arg(args.get("status"), "status", 100)
        full = args.get("full", "0").lower() in ("1", "true", "yes")
        entries = ctx.journal.entries(limit=limit, operation=args.get("operation"),
                                      namespace=args.get("namespace"), status=status, full=full)
        return _json({"entries": entries, "count": len(entries), "capacity": ctx.journal.maxlen,
                      "contract": {"version": state.contract.version, "source": state.contract.source}})

    @bp.route("/journal", methods=["DELETE"])
    def journal_clear():
        return _json({"deleted": ctx.journal.clear()})

    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def unknown(rest: str):
        return _error(f"no admin endpoint {request.method} {PREFIX}/{rest}; see GET {PREFIX}/openapi.json", 404)

    app.register_blueprint(bp)
    return ctx


def _int_arg(value: str | None, name: str, minimum: int) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        raise AdminError(f"{name} must be an integer, got {value!r}")
    if n < minimum:
        raise AdminError(f"{name} must be >= {minimum}")
    return n


# --------------------------------------------------------------------- world load
def build_store(contract, world: str, seed: int | None):
    """A store for `world`: a recorded file, or a scenario generated with `seed`."""
    from .world.loader import WorldError, load_world
    try:
        return load_world(contract, world, seed)[0]
    except WorldError as e:
        raise AdminError(str(e)) from e


# ------------------------------------------------------------------------ faults
TASK_KEYS = {"kind", "operation", "step", "error_code", "error_message", "name_regex", "probability", "times",
             "namespace", "scope", "seed"}


def add_fault(ctx: AdminContext, body: dict) -> dict:
    state = ctx.state
    kind = body.get("kind")
    if kind == "task_failure":
        spec = _task_rule(state, body)
        ns = spec.pop("namespace")
        world = state.world(ns)
        if world.tasks is None:
            raise AdminError("this world has no task engine; task_failure rules cannot apply", 409)
        fid = ctx.faults.new_id()
        try:
            rid = world.tasks.add_failure_rule(**spec)
        except ValueError as e:
            raise AdminError(str(e))
        ctx.task_rules[fid] = (ns or "default", rid)
        ctx.task_specs[fid] = {"operation": spec.get("operation"), "times": spec.get("times")}
        return _task_public(ctx, fid)
    try:
        parsed = parse_rule(body, {o.lstrip("/") for o in state.contract.operations})
    except FaultError as e:
        raise AdminError(str(e))
    if body.get("namespace") is not None:
        raise AdminError("namespace applies to task_failure rules only; HTTP faults are server-wide "
                         "(scope them with operation or the X-Mock-Fault header)")
    return ctx.faults.add(parsed).public()


def _task_rule(state, body: dict) -> dict:
    unknown = sorted(set(body) - TASK_KEYS)
    if unknown:
        raise AdminError(f"unknown key(s) for a task_failure rule: {', '.join(unknown)}")
    scope = body.get("scope")
    if scope not in (None, "operation", "global"):
        raise AdminError("a task_failure rule applies to the tasks of an operation or to all; "
                         "scope 'header' is for HTTP faults")
    op = body.get("operation")
    if op is not None:
        if not isinstance(op, str) or not op:
            raise AdminError("operation must be a non-empty string such as 'create-vm'")
        op = op.strip("/")
        if "-" in op and "/" + op not in state.contract.operations:
            raise AdminError(f"operation '{op}' does not exist in the loaded contract")
    step = body.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise AdminError(f"step must be a non-negative integer (0-based), got {step!r}")
    for key in ("error_code", "error_message", "name_regex"):
        v = body.get(key)
        if v is not None and not isinstance(v, str):
            raise AdminError(f"{key} must be a string")
    if body.get("name_regex") is not None:
        try:
            re.compile(body["name_regex"])
        except re.error as e:
            raise AdminError(f"name_regex: {e}")
    p = body.get("probability")
    if p is not None and (isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1):
        raise AdminError("probability must be a number within 0 .. 1")
    times = body.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise AdminError(f"times must be a positive integer, got {times!r}")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise AdminError("seed must be an integer")
    ns = body.get("namespace")
    if ns is None:
        ns = request.headers.get(NAMESPACE_HEADER)
    if ns is not None and (not isinstance(ns, str) or not ns):
        raise AdminError("namespace must be a non-empty string")
    out = {"operation": op, "name_regex": body.get("name_regex"), "probability": p,
           "error_code": body.get("error_code"), "error_message": body.get("error_message"),
           "at_step": step, "times": times, "namespace": ns}
    if seed is not None:
        out["seed"] = seed
    return out


def _task_public(ctx: AdminContext, fid: str) -> dict | None:
    ns, rid = ctx.task_rules[fid]
    world = ctx.state.worlds.get(ns)
    if world is None or world.tasks is None:
        return None
    rule = next((r for r in world.tasks.failure_rules() if r["id"] == rid), None)
    if rule is None:
        return None
    times, hits = rule.get("times"), rule.get("hits", 0)
    return {"id": fid, "kind": "task_failure", "scope": "operation" if rule.get("operation") else "global",
            "operation": rule.get("operation"), "namespace": ns, "engine_rule": rid,
            "step": rule.get("at_step"), "error_code": rule.get("error_code"),
            "error_message": rule.get("error_message"), "name_regex": rule.get("name_regex"),
            "probability": rule.get("probability"), "times": times, "hits": hits,
            "spent": times is not None and hits >= times}


def _forget_spent_task_rules(ctx: AdminContext) -> None:
    for fid in list(ctx.task_rules):
        if _task_public(ctx, fid) is None:          # the world was reset or replaced
            ctx.task_rules.pop(fid, None)
            ctx.task_specs.pop(fid, None)


def list_faults(ctx: AdminContext) -> list[dict]:
    out = [r.public() for r in ctx.faults.list()]
    _forget_spent_task_rules(ctx)
    out += [p for p in (_task_public(ctx, fid) for fid in list(ctx.task_rules)) if p is not None]
    out.sort(key=lambda r: int(r["id"].rsplit("-", 1)[1]))
    return out


def remove_fault(ctx: AdminContext, fid: str) -> bool:
    if ctx.faults.remove(fid):
        return True
    entry = ctx.task_rules.pop(fid, None)
    ctx.task_specs.pop(fid, None)
    if entry is None:
        return False
    ns, rid = entry
    world = ctx.state.worlds.get(ns)
    if world is not None and world.tasks is not None:
        world.tasks.remove_failure_rule(rid)
    return True


# ---------------------------------------------------------------------- openapi
def admin_openapi(state) -> dict:
    def op(summary: str, body: dict | None = None, params: list | None = None) -> dict:
        o: dict = {"summary": summary, "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": {"description": "bad input; nothing was changed",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AdminError"}}}},
            "401": {"description": "admin token missing or wrong (only with serve --admin-token)"}}}
        if body is not None:
            o["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
        if params:
            o["parameters"] = params
        return o

    def obj(**props) -> dict:
        return {"type": "object", "additionalProperties": False, "properties": props}

    ns_param = {"name": NAMESPACE_HEADER, "in": "header", "required": False, "schema": {"type": "string"}}
    s, n, b, i = {"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "integer"}
    duration = {"oneOf": [n, {"type": "string", "example": "5m"}]}
    fault = {"type": "object", "required": ["kind"], "properties": {
        "kind": {"type": "string", "enum": ["latency", "error", "drop", "task_failure"]},
        "scope": {"type": "string", "enum": ["operation", "global", "header"]},
        "operation": {"type": "string", "example": "get-vms"},
        "times": {"type": "integer", "minimum": 1},
        "ms": n, "distribution": {"type": "object", "properties": {
            "type": {"type": "string", "enum": ["uniform", "normal"]},
            "min_ms": n, "max_ms": n, "mean_ms": n, "stddev_ms": n}},
        "status": {"type": "integer", "minimum": 400, "maximum": 599}, "body": {},
        "step": i, "error_code": s, "error_message": s, "name_regex": s,
        "probability": n, "namespace": s}}
    paths = {
        "/reset": {"post": op("Restore the kept snapshot of the loaded world (one namespace, or all)",
                              obj(namespace=s, all=b), [ns_param])},
        "/seed": {"post": op("Generate a new world (scenario name or file, or a recording) and load it",
                             obj(world=s, seed=i))},
        "/state": {"get": op("Export the whole state (every namespace's rows, tasks, minter)"),
                   "post": op("Import a state document exported by GET /_mock/state", {"type": "object"})},
        "/namespaces": {"get": op("List the namespaces (worlds) in use")},
        "/namespaces/{name}": {"delete": op("Forget a namespace", params=[
            {"name": "name", "in": "path", "required": True, "schema": s}])},
        "/clock": {"get": op("The mock's clock")},
        "/clock/advance": {"post": op("Move the clock forward", obj(seconds=duration, duration=duration))},
        "/clock/pause": {"post": op("Stop the clock")},
        "/clock/resume": {"post": op("Let the clock run again")},
        "/clock/speed": {"post": op("Set the clock's speed", obj(speed=n))},
        "/faults": {"get": op("List fault rules"), "post": op("Add a fault rule", fault),
                    "delete": op("Remove every fault rule")},
        "/faults/{id}": {"delete": op("Remove one fault rule", params=[
            {"name": "id", "in": "path", "required": True, "schema": s}])},
        "/journal": {"get": op("The last requests (newest last); reading changes nothing", params=[
            {"name": "limit", "in": "query", "schema": i}, {"name": "operation", "in": "query", "schema": s},
            {"name": "namespace", "in": "query", "schema": s}, {"name": "status", "in": "query", "schema": i},
            {"name": "full", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]},
             "description": "1: include request bodies and query strings (for `cloudtower-mock compat`)"}]),
                     "delete": op("Clear the journal")},
        "/openapi.json": {"get": op("This document")},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "cloudtower-mock admin API", "version": "1",
                 "description": f"Test control surface of the mock (serving CloudTower {state.contract.version})."},
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {
            "schemas": {"AdminError": {"type": "object", "required": ["message", "status"], "properties": {
                "message": s, "status": i, "path": s}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "header": {"type": "apiKey", "in": "header", "name": "X-Mock-Admin-Token"}}},
        "security": [{"bearer": []}, {"header": []}, {}],
    }
