"""The few GraphQL calls CloudTower clients make on `POST /api` (contract.md section 7):
`authnStrategies` (the SDKs' LDAP login path, no token), `createApiKey` / `deleteApiKey`,
and the `vnc` query. A small parser reads the document; unknown fields get a GraphQL error.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from flask import Response

_TOKEN = re.compile(r'\s*(?:(#[^\n]*)|("(?:[^"\\]|\\.)*")|(\$?[A-Za-z_][A-Za-z0-9_]*)|(-?\d+(?:\.\d+)?)|(\.\.\.)|([{}()\[\]:!,=@]))')


class GraphQLError(Exception):
    pass


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise GraphQLError(f"Syntax Error: unexpected character {text[pos:pos + 10]!r}")
        pos = m.end()
        if m.group(1) is None:
            tok = next(g for g in m.groups()[1:] if g is not None)
            if tok != ",":
                out.append(tok)
    return out


class _Parser:
    def __init__(self, text: str, variables: dict):
        self.toks = _tokens(text)
        self.i = 0
        self.vars = variables or {}

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise GraphQLError(f"Syntax Error: expected {expected or 'a token'}, found {tok or 'end of document'}")
        self.i += 1
        return tok

    def document(self) -> tuple[str, list]:
        kind = "query"
        if self.peek() in ("query", "mutation", "subscription"):
            kind = self.take()
            if self.peek() not in ("{", "("):
                self.take()                         # operation name
            if self.peek() == "(":                  # variable definitions: skip
                depth = 0
                while True:
                    t = self.take()
                    depth += t == "("
                    depth -= t == ")"
                    if depth == 0:
                        break
        return kind, self.selection_set()

    def selection_set(self) -> list:
        self.take("{")
        fields = []
        while self.peek() != "}":
            name = self.take()
            alias = None
            if self.peek() == ":":
                self.take()
                alias, name = name, self.take()
            args = self.arguments() if self.peek() == "(" else {}
            sub = self.selection_set() if self.peek() == "{" else None
            fields.append((alias or name, name, args, sub))
        self.take("}")
        return fields

    def arguments(self) -> dict:
        self.take("(")
        out = {}
        while self.peek() != ")":
            key = self.take()
            self.take(":")
            out[key] = self.value()
        self.take(")")
        return out

    def value(self) -> Any:
        tok = self.take()
        if tok.startswith("$"):
            return self.vars.get(tok[1:])
        if tok.startswith('"'):
            return orjson.loads(tok)
        if tok == "{":
            obj = {}
            while self.peek() != "}":
                k = self.take()
                self.take(":")
                obj[k] = self.value()
            self.take("}")
            return obj
        if tok == "[":
            arr = []
            while self.peek() != "]":
                arr.append(self.value())
            self.take("]")
            return arr
        if tok in ("true", "false"):
            return tok == "true"
        if tok == "null":
            return None
        if re.fullmatch(r"-?\d+", tok):
            return int(tok)
        if re.fullmatch(r"-?\d+\.\d+", tok):
            return float(tok)
        return tok                                   # enum literal


def _select(value: Any, sub: list | None) -> Any:
    if sub is None or value is None:
        return value
    if isinstance(value, list):
        return [_select(v, sub) for v in value]
    return {alias: _select(value.get(name), s) for alias, name, _a, s in sub}


def _read_json(state, request) -> Any:
    """The JSON body (None when it is not JSON); 400 when it nests past the depth limit."""
    from .limits import too_deep
    try:
        doc = orjson.loads(request.get_data(cache=True) or b"null")
    except orjson.JSONDecodeError:
        return None
    where = too_deep(doc, state.config.max_depth)
    if where is not None:
        raise GraphQLError(f"request body nests deeper than the limit of {state.config.max_depth} levels "
                           f"(at {where})")
    return doc


def execute(state, request) -> Response:
    def answer(payload: dict, status: int = 200) -> Response:
        return Response(orjson.dumps(payload), status=status, mimetype="application/json")

    try:
        doc = _read_json(state, request)
        if not isinstance(doc, dict) or not isinstance(doc.get("query"), str):
            raise GraphQLError("Must provide a query string in a JSON body: {\"query\": \"...\"}")
        variables = doc.get("variables") or {}
        if not isinstance(variables, dict):
            raise GraphQLError("Variables must be an object")
        kind, fields = _Parser(doc["query"], variables).document()
    except GraphQLError as e:
        return answer({"data": None, "errors": [{"message": str(e)}]}, 400)
    data: dict[str, Any] = {}
    errors: list[dict] = []
    user = state.auth.verify(request.headers.get("Authorization"))
    world = state.world(request.headers.get("X-Mock-Namespace"))
    for alias, name, args, sub in fields:
        try:
            resolver = RESOLVERS.get((kind, name))
            if resolver is None:
                raise GraphQLError(f"Cannot query field \"{name}\" on type "
                                   f"\"{'Mutation' if kind == 'mutation' else 'Query'}\".")
            if name != "authnStrategies" and user is None:
                raise GraphQLError("Not authorised: a valid token is required in the Authorization header")
            value = resolver(state, world, user, args, request.environ) if name == "vnc" else \
                resolver(state, world, user, args)
            data[alias] = _select(value, sub)
        except GraphQLError as e:
            data[alias] = None
            errors.append({"message": str(e), "path": [alias]})
    payload: dict[str, Any] = {"data": data}
    if errors:
        payload["errors"] = errors
    return answer(payload)


def _authn_strategies(state, world, user, args):
    ldap_id = world.extras.setdefault("ldap_strategy_id", world.store.mint())
    return [
        {"id": "local", "type": "LOCAL", "enabled": True, "name": "local"},
        {"id": ldap_id, "type": "LDAP", "enabled": True, "name": "ldap"},
    ]


def _create_api_key(state, world, user, args):
    data = args.get("data") or {}
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise GraphQLError("Argument \"data\" has invalid value: name is required")
    rec = state.auth.create_api_key(name, user.get("id"), user.get("username"), world.store.mint())
    return {"id": rec["id"], "key": rec["key"], "name": name, "roles": [{"id": "root", "preset": "ROOT"}]}


def _delete_api_key(state, world, user, args):
    key = (args.get("where") or {}).get("key")
    rec = state.auth.delete_api_key(key) if isinstance(key, str) else None
    if rec is None:
        raise GraphQLError("No ApiKey found for the given key")
    return {"id": rec["id"], "key": rec["key"]}


def _vnc(state, world, user, args, environ=None):
    from .vnc.service import console_info, find_vm, origins
    vm_id = ((args.get("input") or {}).get("vm") or {}).get("id")
    vm = find_vm(world, {"id": vm_id}) if isinstance(vm_id, str) else None
    if vm is None:
        raise GraphQLError(f"Vm {vm_id} not found")
    info = console_info(state, world_namespace(state, world), world, vm, *origins(environ or {}))
    return {k: info[k] for k in ("vm_uuid", "host_ip", "cluster_ip", "raw_token", "token")}


def world_namespace(state, world) -> str:
    return next((ns for ns, w in list(state.worlds.items()) if w is world), "default")


RESOLVERS = {
    ("query", "authnStrategies"): _authn_strategies,
    ("mutation", "createApiKey"): _create_api_key,
    ("mutation", "deleteApiKey"): _delete_api_key,
    ("query", "vnc"): _vnc,
}
