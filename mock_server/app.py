"""The HTTP layer: the app factory over the pure parts.

`/v2/api/*` goes through the small dispatcher of `dispatch.py` (parse, validate against the
contract, authenticate, run the behaviour, serialise); the admin API, GraphQL and pages are
Flask routes. Nothing below this module knows about HTTP.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import orjson
from flask import Flask, Response, request

from . import behaviour
from .contract.index import Contract
from .dispatch import EXT_KEY, REQUEST_ID_ENV, ApiDispatcher, Front  # noqa: F401 (re-exported)
from .errors import ApiError, not_found
from .limits import body_too_large
from .state import MockConfig, MockState

log = logging.getLogger("cloudtower_mock")

API_PREFIX = "/v2/api"
NAMESPACE_HEADER = "X-Mock-Namespace"


def json_response(payload: Any, status: int = 200, headers: dict | None = None) -> Response:
    resp = Response(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS), status=status,
                    mimetype="application/json")
    if headers:
        resp.headers.update(headers)
    return resp


def error_response(err: ApiError, path: str, lang: str = "en-US") -> Response:
    return json_response(err.body(path, lang), err.status)


def create_app(config: MockConfig | None = None, contract: Contract | None = None,
               world_factory: Callable | None = None, state: MockState | None = None) -> Flask:
    """Build the WSGI app. Without arguments: the SDK-derived contract and the default world."""
    config = config or MockConfig()
    if state is None:
        if contract is None:
            from .contract.loader import load_contract
            contract = load_contract(config.spec)
        if world_factory is None:
            world_factory = default_world_factory(contract, config)
        state = MockState(contract=contract, config=config, world_factory=world_factory)
    behaviour.load_all()
    app = Flask("cloudtower_mock")
    app.config["MOCK_STATE"] = state
    app.config["MAX_CONTENT_LENGTH"] = config.max_upload      # GraphQL and admin bodies (413 above)
    _languages = _language_enum(state.contract)

    # /v2/api/* is served by the dispatcher; the rest (admin, GraphQL, pages) by Flask
    api = app.extensions[EXT_KEY] = ApiDispatcher(state, _languages)
    app.wsgi_app = Front(api, app.wsgi_app)

    @app.route("/api", methods=["POST"])
    @app.route("/api/", methods=["POST"])
    def graphql():
        from .graphql import execute
        return execute(state, request)

    @app.route("/api/healthz", methods=["GET"])
    def healthz():
        return json_response({"status": "ok"})

    @app.errorhandler(404)
    def _404(_e):
        return error_response(not_found(f"No route {request.path}", f"路径 {request.path} 不存在"), request.path,
                              _error_language(request))

    @app.errorhandler(405)
    def _405(_e):
        return error_response(not_found(f"{request.method} is not served on {request.path}",
                                        f"{request.path} 不支持 {request.method}"), request.path,
                              _error_language(request))

    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):          # raised below an admin or GraphQL route (a namespace limit)
        return error_response(e, request.path)

    @app.errorhandler(413)
    def _413(_e):
        return error_response(body_too_large(request.content_length or 0, app.config["MAX_CONTENT_LENGTH"],
                                             "--max-upload"), request.path)

    @app.errorhandler(500)
    def _500(_e):
        return error_response(ApiError(500, "Internal error", message_zh="内部错误"), request.path,
                              _error_language(request))

    try:
        from .admin import register_admin
        register_admin(app, state)
    except ImportError:
        pass
    from .vnc.routes import register_vnc
    from .ui import register_ui
    from .export_files import register_export_files
    register_vnc(app, state)            # /websockify/ (VM consoles)
    register_export_files(app, state)   # /export-files/ (the files of VM exports)
    register_ui(app, state)             # / and the dashboard under /_mock/ui/
    return app


def _error_language(request) -> str:
    return "zh-CN" if request.headers.get("content-language") == "zh-CN" else "en-US"


def default_world_factory(contract: Contract, config: MockConfig) -> Callable:
    """The configured world (`config.world`: a scenario or a recording), built on first use."""
    def make():
        from .world.loader import load_world
        return load_world(contract, config.world, config.seed)[0]
    return make


# ---------------------------------------------------------------------- request parts
def _language_enum(contract: Contract) -> frozenset[str] | None:
    name = contract.find_schema("ContentLanguage")
    if name:
        return frozenset(contract.enum_values({"$ref": "#/components/schemas/" + name}))
    return None
