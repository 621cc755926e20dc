"""/_mock/faults: HTTP faults (latency, error, drop; applied by the journal middleware) and
task failures (kept by each world's task engine)."""

from __future__ import annotations

import re

from flask import Blueprint, request

from ..journal import FaultError, parse_rule
from .common import NAMESPACE_HEADER, AdminContext, AdminError, json_response, read_body
from .spec import I, N, S, op, path_param

TASK_KEYS = {"kind", "operation", "step", "error_code", "error_message", "name_regex", "probability", "times",
             "namespace", "scope", "seed"}


def register(bp: Blueprint, ctx: AdminContext) -> None:
    @bp.route("/faults", methods=["POST"])
    def faults_add():
        return json_response(add_fault(ctx, read_body()), 201)

    @bp.route("/faults", methods=["GET"])
    def faults_list():
        return json_response({"faults": list_faults(ctx)})

    @bp.route("/faults/<rule_id>", methods=["DELETE"])
    def faults_delete(rule_id: str):
        if not remove_fault(ctx, rule_id):
            raise AdminError(f"no fault rule {rule_id}", 404)
        return json_response({"deleted": rule_id})

    @bp.route("/faults", methods=["DELETE"])
    def faults_clear():
        n = ctx.faults.clear()
        for fid in list(ctx.task_rules):
            remove_fault(ctx, fid)
            n += 1
        return json_response({"deleted": n})


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
    op_ = body.get("operation")
    if op_ is not None:
        if not isinstance(op_, str) or not op_:
            raise AdminError("operation must be a non-empty string such as 'create-vm'")
        op_ = op_.strip("/")
        if "-" in op_ and "/" + op_ not in state.contract.operations:
            raise AdminError(f"operation '{op_}' does not exist in the loaded contract")
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
    out = {"operation": op_, "name_regex": body.get("name_regex"), "probability": p,
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


def forget_spent_task_rules(ctx: AdminContext) -> None:
    for fid in list(ctx.task_rules):
        if _task_public(ctx, fid) is None:          # the world was reset or replaced
            ctx.task_rules.pop(fid, None)
            ctx.task_specs.pop(fid, None)


def forget_all_task_rules(ctx: AdminContext) -> None:
    ctx.task_rules.clear()
    ctx.task_specs.clear()


def forget_namespace_rules(ctx: AdminContext, name: str) -> None:
    for fid, (ns, _rid) in list(ctx.task_rules.items()):
        if ns == name:
            ctx.task_rules.pop(fid, None)
            ctx.task_specs.pop(fid, None)


def list_faults(ctx: AdminContext) -> list[dict]:
    out = [r.public() for r in ctx.faults.list()]
    forget_spent_task_rules(ctx)
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


def paths() -> dict:
    fault = {"type": "object", "required": ["kind"], "properties": {
        "kind": {"type": "string", "enum": ["latency", "error", "drop", "task_failure"]},
        "scope": {"type": "string", "enum": ["operation", "global", "header"]},
        "operation": {"type": "string", "example": "get-vms"},
        "times": {"type": "integer", "minimum": 1},
        "ms": N, "distribution": {"type": "object", "properties": {
            "type": {"type": "string", "enum": ["uniform", "normal"]},
            "min_ms": N, "max_ms": N, "mean_ms": N, "stddev_ms": N}},
        "status": {"type": "integer", "minimum": 400, "maximum": 599}, "body": {},
        "step": I, "error_code": S, "error_message": S, "name_regex": S,
        "probability": N, "namespace": S, "seed": I}}
    return {
        "/faults": {"get": op("List fault rules"), "post": op("Add a fault rule", fault, created=True),
                    "delete": op("Remove every fault rule")},
        "/faults/{id}": {"delete": op("Remove one fault rule", params=[path_param("id")], not_found=True)},
    }
