"""`GET /_mock/openapi.json`: the admin API's own document, assembled from each module's paths,
and the catch-all that answers 404 for anything else under /_mock/."""

from __future__ import annotations

from flask import Blueprint, request

from .common import PREFIX, AdminContext, error_response, json_response
from .spec import I, S, op


def register(bp: Blueprint, ctx: AdminContext, modules) -> None:
    @bp.route("/openapi.json", methods=["GET"])
    def openapi():
        return json_response(admin_openapi(ctx.state, modules))

    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def unknown(rest: str):
        return error_response(f"no admin endpoint {request.method} {PREFIX}/{rest}; "
                              f"see GET {PREFIX}/openapi.json", 404)


def admin_openapi(state, modules=None) -> dict:
    if modules is None:
        from . import MODULES
        modules = MODULES
    paths: dict = {}
    for module in modules:
        paths.update(module.paths())
    paths["/openapi.json"] = {"get": op("This document")}
    return {
        "openapi": "3.0.3",
        "info": {"title": "cloudtower-mock admin API", "version": "1",
                 "description": f"Test control surface of the mock (serving CloudTower {state.contract.version})."},
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {
            "schemas": {"AdminError": {"type": "object", "required": ["message", "status"], "properties": {
                "message": S, "status": I, "path": S}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "header": {"type": "apiKey", "in": "header", "name": "X-Mock-Admin-Token"}}},
        "security": [{"bearer": []}, {"header": []}, {}],
    }
