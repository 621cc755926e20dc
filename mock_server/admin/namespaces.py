"""/_mock/namespaces: the worlds in use (one per X-Mock-Namespace), and forgetting one."""

from __future__ import annotations

from flask import Blueprint

from .common import AdminContext, AdminError, json_response
from .faults import forget_namespace_rules
from .spec import op, path_param


def register(bp: Blueprint, ctx: AdminContext) -> None:
    state = ctx.state

    @bp.route("/namespaces", methods=["GET"])
    def namespaces():
        with state._lock:
            worlds = dict(state.worlds)
        return json_response({"namespaces": [
            {"name": ns, "records": sum(len(t.rows) for t in w.store.tables.values()),
             "revision": w.store.revision} for ns, w in sorted(worlds.items())]})

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
        "/namespaces": {"get": op("List the namespaces (worlds) in use")},
        "/namespaces/{name}": {"delete": op("Forget a namespace", params=[path_param("name")])},
    }
