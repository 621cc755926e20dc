"""/_mock/stubs: stubbed answers (see mock_server/stubs.py for matching).

    POST   /_mock/stubs        add one: {"operation": "get-vms", "body": {"where": {"name": "x"}},
                               "headers": {...}, "namespace": "ns", "priority": 1, "times": 2,
                               "response": {"status": 500, "headers": {...}, "body": {...},
                               "delay_ms": 200}, "unchecked": false}
    GET    /_mock/stubs        list them (with hits)
    GET    /_mock/stubs/{id}   one
    DELETE /_mock/stubs/{id}   remove one; DELETE /_mock/stubs removes all

A stub's answer is checked against the contract when it is added: the status must be one the
operation declares (or 401), a 200 body must match the operation's response schema and an
error body ErrorBody. `"unchecked": true` skips the check (to test a client against answers
a real tower should never give). Stubs go with the world: resetting a namespace removes the
stubs bound to it (resetting the default one also removes the unbound ones; `all` removes
every stub), and so does deleting a namespace.
"""

from __future__ import annotations

from flask import Blueprint

from ..contract.validate import ValidationError
from ..stubs import DEFAULT_PRIORITY, Stub, StubRules
from .common import AdminContext, AdminError, json_response, namespace_of, read_body
from .spec import B, S, obj, op, path_param

EXT = "stubs"


def rules_of(ctx: AdminContext) -> StubRules:
    return ctx.extras[EXT]


def register(bp: Blueprint, ctx: AdminContext) -> None:
    rules = ctx.extras.setdefault(EXT, StubRules())
    ctx.reset_hooks.append(lambda namespaces: forget(rules, namespaces))

    @bp.route("/stubs", methods=["POST"])
    def stubs_add():
        stub = parse_stub(ctx.state, read_body())
        return json_response(rules.add(stub).public(), 201)

    @bp.route("/stubs", methods=["GET"])
    def stubs_list():
        return json_response({"stubs": [s.public() for s in rules.list()]})

    @bp.route("/stubs/<stub_id>", methods=["GET"])
    def stubs_get(stub_id: str):
        stub = rules.get(stub_id)
        if stub is None:
            raise AdminError(f"no stub {stub_id}", 404)
        return json_response(stub.public())

    @bp.route("/stubs/<stub_id>", methods=["DELETE"])
    def stubs_delete(stub_id: str):
        if not rules.remove(stub_id):
            raise AdminError(f"no stub {stub_id}", 404)
        return json_response({"deleted": stub_id})

    @bp.route("/stubs", methods=["DELETE"])
    def stubs_clear():
        return json_response({"deleted": rules.clear()})


def forget(rules: StubRules, namespaces: list[str] | None) -> int:
    """Remove the stubs of worlds that were reset (None: every world)."""
    if namespaces is None:
        return rules.clear()
    gone = set(namespaces)
    return rules.remove_where(lambda s: (s.namespace or "default") in gone)


def parse_stub(state, body: dict) -> Stub:
    """A Stub from admin input (already checked against the admin schema), or AdminError."""
    contract = state.contract
    operation = body["operation"].strip("/")
    op_ = contract.operations.get("/" + operation)
    if op_ is None:
        raise AdminError(f"operation: '{operation}' does not exist in CloudTower {contract.version}")
    resp = body.get("response") or {}
    status = resp.get("status")
    delay = float(resp.get("delay_ms") or 0)
    if status is None and "body" in resp:
        status = 200
    if status is None and not delay:
        raise AdminError("response: give a status (and a body), or a delay_ms")
    if status is not None and not 100 <= status <= 599:
        raise AdminError(f"response.status: {status} is not an HTTP status")
    unchecked = bool(body.get("unchecked", False))
    if status is not None and not unchecked:
        check_answer(state, op_, status, resp)
    headers = {k.lower(): v for k, v in (body.get("headers") or {}).items()}
    for where, values in (("headers", headers), ("response.headers", resp.get("headers") or {})):
        for k, v in values.items():
            if not isinstance(v, str):
                raise AdminError(f"{where}.{k}: expected a string, got {type(v).__name__}")
    return Stub(id="", operation=operation, body=body.get("body"), headers=headers,
                namespace=namespace_of(body), priority=body.get("priority", DEFAULT_PRIORITY),
                times=body.get("times"), status=status, response_headers=dict(resp.get("headers") or {}),
                response_body=resp.get("body"), has_body="body" in resp, delay_ms=delay,
                unchecked=unchecked)


def check_answer(state, op_, status: int, resp: dict) -> None:
    """The answer as the contract allows it, or AdminError saying what is wrong."""
    declared = set(op_.response_codes) | {"401"}
    if str(status) not in declared:
        raise AdminError(f"response.status: {op_.path[1:]} declares {', '.join(sorted(declared))}, not "
                         f"{status} (add \"unchecked\": true to send it anyway)")
    if status == 200:
        if "body" not in resp:
            raise AdminError("response.body: a 200 answer needs a body (what the operation returns)")
        schema = op_.response_schema
    elif "body" in resp:
        name = state.contract.find_schema("ErrorBody")
        schema = {"$ref": "#/components/schemas/" + name} if name else None
    else:
        return                                  # an ErrorBody is made up for it
    try:
        state.validator.validate(schema, resp["body"], "response.body")
    except ValidationError as e:
        raise AdminError(f"{e.message('en-US')} (add \"unchecked\": true to send it anyway)") from None


def paths() -> dict:
    headers = {"type": "object", "additionalProperties": S}
    response = obj(status={"type": "integer", "minimum": 100, "maximum": 599}, headers=headers, body={},
                   delay_ms={"type": "number", "minimum": 0, "maximum": 600000})
    stub = obj(["operation"], operation={"type": "string", "minLength": 1, "example": "get-vms"},
               body={"description": "a JSON subset the request body must contain"},
               headers=headers, namespace=S,
               priority={"type": "integer", "minimum": 1, "maximum": 1000,
                         "description": "lower first; default 5"},
               times={"type": "integer", "minimum": 1}, response=response, unchecked=B)
    one = [path_param("id")]
    return {
        "/stubs": {"get": op("List the stubs"), "post": op("Add a stubbed answer", stub, created=True),
                   "delete": op("Remove every stub")},
        "/stubs/{id}": {"get": op("One stub", params=one, not_found=True),
                        "delete": op("Remove one stub", params=one, not_found=True)},
    }

