"""The HTTP layer: a Flask app factory over the pure parts.

It parses and validates a request against the contract, authenticates it, finds the
behaviour for the operation and serialises the answer. Nothing below this module knows
about HTTP.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Callable

import orjson
from flask import Flask, Response, request

from . import behaviour
from .behaviour import Ctx, RawJSON
from .contract.index import Contract
from .contract.validate import ValidationError
from .errors import ApiError, bad_request, not_found, unauthorized
from .state import MockConfig, MockState

log = logging.getLogger("cloudtower_mock")

API_PREFIX = "/v2/api"
NAMESPACE_HEADER = "X-Mock-Namespace"
JSON_TYPES = ("application/json", "application/*+json")


REQUEST_ID_ENV = "cloudtower_mock.request_id"


class RequestIdMiddleware:
    """Every response, errors and unknown routes included, carries a unique x-tower-request-id."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        rid = environ[REQUEST_ID_ENV] = uuid.uuid4().hex

        def start(status, headers, exc_info=None):
            headers.append(("x-tower-request-id", rid))
            return start_response(status, headers, exc_info)
        return self.app(environ, start)


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
    _languages = _language_enum(state.contract)

    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)

    @app.route(API_PREFIX + "/<path:name>", methods=["POST", "GET", "PUT", "DELETE", "PATCH"])
    def api(name: str):
        path = "/" + name
        lang = "en-US"
        req = request._get_current_object()     # one proxy lookup, not one per access
        try:
            op = state.contract.operations.get(path)
            if name == "openapi.json" and req.method == "GET" and op is None:
                return json_response(state.contract.doc)
            if op is None:
                raise not_found(f"Operation {path} does not exist in CloudTower {state.contract.version}",
                                f"接口 {path} 在 CloudTower {state.contract.version} 中不存在")
            if req.method.lower() != op.method:
                raise not_found(f"Operation {path} does not answer {req.method}; use {op.method.upper()}",
                                f"接口 {path} 不支持 {req.method}; 请使用 {op.method.upper()}")
            lang = _language(req, op, _languages)
            user = _authenticate(req, state, op)
            body, files = _body(req, state, op)
            world = state.world(req.headers.get(NAMESPACE_HEADER))
            ctx = Ctx(state=state, world=world, op=op, lang=lang, user=user,
                      headers=req.headers, files=files)
            handler = behaviour.resolve(op)
            # One world at a time: every operation runs under its store's lock, after the
            # tasks whose time has come have taken effect.
            with world.store.lock:
                if world.tasks is not None:
                    world.tasks.settle()
                result = handler(ctx, body)
            if isinstance(result, RawJSON):
                return Response(result.data, status=200, mimetype="application/json")
            if isinstance(result, Response):
                return result
            return json_response(result)
        except ApiError as e:
            return error_response(e, path, lang)
        except Exception:  # a bug of ours: still the API's error shape, never a traceback
            log.exception("unhandled error in %s", path)
            return error_response(ApiError(500, f"Internal error while serving {path}; see the mock's log "
                                                f"(request id {req.environ.get(REQUEST_ID_ENV)})"),
                                  path, lang)

    @app.route("/api", methods=["POST"])
    def graphql():
        from .graphql import execute
        return execute(state, request)

    @app.route("/api/healthz", methods=["GET"])
    def healthz():
        return json_response({"status": "ok"})

    @app.errorhandler(404)
    def _404(_e):
        return error_response(not_found(f"No route {request.path}"), request.path)

    @app.errorhandler(405)
    def _405(_e):
        return error_response(not_found(f"{request.method} is not served on {request.path}"), request.path)

    @app.errorhandler(500)
    def _500(_e):
        return error_response(ApiError(500, "Internal error"), request.path)

    try:
        from .admin import register_admin
        register_admin(app, state)
    except ImportError:
        pass
    return app


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


def _language(request, op, enum: frozenset[str] | None) -> str:
    value = request.headers.get("content-language")
    if value is None:
        return "en-US"
    allowed = enum
    for p in op.parameters:
        if p.get("in") == "header" and p.get("name", "").lower() == "content-language":
            schema = p.get("schema", {})
            inline = schema.get("enum")
            if inline:
                allowed = frozenset(inline)
            break
    else:
        return "en-US"      # the operation does not take the header: ignore it
    if allowed is not None and value not in allowed:
        raise bad_request(f"content-language: '{value}' is not one of {', '.join(sorted(allowed))}",
                          f"content-language: '{value}' 不是合法值, 可选值为 {', '.join(sorted(allowed))}")
    return "zh-CN" if value == "zh-CN" else "en-US"


def _authenticate(request, state: MockState, op) -> dict | None:
    if not op.security:
        return None
    header = request.headers.get("Authorization")
    if "Basic" in op.security:
        acc = state.auth.check_basic(header)
        if acc is not None:
            return {"id": None, "username": acc.username}
    if "Authorization" in op.security:
        claims = state.auth.verify(header)
        if claims is not None:
            return claims
    raise unauthorized()


def _body(request, state: MockState, op) -> tuple[Any, dict]:
    if op.method == "get":
        args = request.args.to_dict()
        _check_query(state, op, args)
        return args, {}
    if op.content_type is None:
        return None, {}
    if op.content_type.startswith("multipart/"):
        return _multipart(request, state, op)
    length = request.environ.get("CONTENT_LENGTH")
    if length and length.isdigit() and "HTTP_TRANSFER_ENCODING" not in request.environ:
        raw = request.environ["wsgi.input"].read(int(length))    # the common case, without wrappers
    else:
        raw = request.get_data(cache=False)
    ctype = (request.mimetype or "").lower()
    if not raw.strip():
        # clients post no body to list queries; an empty object is what they mean
        body: Any = {} if op.request_schema is not None and _is_object(state, op.request_schema) else None
        if body is None and op.body_required:
            raise bad_request("request body is required", "缺少请求体")
    else:
        if ctype and ctype not in JSON_TYPES and not ctype.endswith("+json"):
            raise bad_request(f"Content-Type must be application/json, got {request.mimetype}",
                              f"Content-Type 必须为 application/json, 实际为 {request.mimetype}")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise bad_request(f"request body is not valid JSON: {e}", f"请求体不是合法的 JSON: {e}")
    try:
        state.validator.validate(op.request_schema, body)
    except ValidationError as e:
        raise _validation_error(e)
    return body, {}


def _validation_error(e: ValidationError) -> ApiError:
    return ApiError(400, e.message("en-US"), message_zh=e.message("zh-CN"))


def _is_object(state: MockState, schema: dict) -> bool:
    r = state.contract.resolve(schema)
    return r.get("type", "object") == "object"


def _multipart(request, state: MockState, op) -> tuple[dict, dict]:
    if not (request.mimetype or "").startswith("multipart/"):
        raise bad_request(f"Content-Type must be multipart/form-data, got {request.mimetype or 'none'}",
                          "Content-Type 必须为 multipart/form-data")
    schema = state.contract.resolve(op.request_schema)
    props = schema.get("properties", {})
    form = request.form.to_dict()
    files = {k: request.files[k] for k in request.files}
    for key in schema.get("required", []):
        if key not in form and key not in files:
            raise bad_request(f"multipart field '{key}' is required", f"缺少 multipart 字段 '{key}'")
    for key in list(form) + list(files):
        if key not in props:
            raise bad_request(f"unknown multipart field '{key}'", f"未知的 multipart 字段 '{key}'")
    for key, item in props.items():
        if item.get("format") == "binary" and key in form:
            raise bad_request(f"multipart field '{key}' must be a file", f"multipart 字段 '{key}' 必须是文件")
    return form, files


def _check_query(state: MockState, op, args: dict) -> None:
    known = {p["name"]: p for p in op.parameters if p.get("in") == "query"}
    for key, value in args.items():
        if key not in known:
            raise bad_request(f"unknown query parameter '{key}'", f"未知的查询参数 '{key}'")
        schema = state.contract.resolve(known[key].get("schema", {}))
        if schema.get("type") == "integer":
            try:
                n = int(value)
            except ValueError:
                raise bad_request(f"query parameter '{key}' must be an integer, got '{value[:40]}'",
                                  f"查询参数 '{key}' 必须为整数")
            lo, hi = schema.get("minimum"), schema.get("maximum")
            if (lo is not None and n < lo) or (hi is not None and n > hi):
                raise bad_request(f"query parameter '{key}' must be within {lo} .. {hi}, got {n}",
                                  f"查询参数 '{key}' 超出范围 {lo} .. {hi}")
