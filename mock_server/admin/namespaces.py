"""/_mock/namespaces: the worlds in use (one per X-Mock-Namespace), and forgetting one."""

from __future__ import annotations

import re

from flask import Blueprint

from .common import AdminContext, AdminError, json_response, read_body
from .faults import forget_namespace_rules
from .spec import S, obj, op, path_param

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def register(bp: Blueprint, ctx: AdminContext) -> None:
    state = ctx.state

    @bp.route("/namespaces", methods=["GET"])
    def namespaces():
        with state._lock:
            worlds = dict(state.worlds)
        return json_response({"namespaces": [
            {"name": ns, "records": sum(len(t.rows) for t in w.store.tables.values()),
             "revision": w.store.revision} for ns, w in sorted(worlds.items())]})

    @bp.route("/namespaces", methods=["POST"])
    def create_namespace():
        body = read_body()
        name = body.get("name")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise AdminError("name must be 1-64 letters, digits, '.', '_' or '-'")
        existed = name in state.worlds
        w = state.world(name)                   # a copy of the default world's loaded state
        return json_response({"name": name, "created": not existed, "revision": w.store.revision},
                             200 if existed else 201)

    @bp.route("/namespaces/<name>", methods=["DELETE"])
    def delete_namespace(name: str):
        if name == "default":
            raise AdminError("the default namespace cannot be deleted; reset it instead")
        with state._lock:
            gone = state.worlds.pop(name, None) is not None
        forget_namespace_rules(ctx, name)
        ctx.after_reset([name])          # what lives with the world (stubs) goes with it
        return json_response({"deleted": gone})


def paths() -> dict:
    return {
        "/namespaces": {"get": op("List the namespaces (worlds) in use"),
                        "post": op("Create a namespace now (what the first request naming it does): a copy of "
                                   "the loaded world", obj(["name"], name=S), created=True)},
        "/namespaces/{name}": {"delete": op("Forget a namespace", params=[path_param("name")])},
    }
