"""The `/v2/api/*` request path: a small WSGI dispatcher in front of Flask.

`Front` is the WSGI entry. It gives every request its `x-tower-request-id`, sends
`/v2/api/*` to `ApiDispatcher` and everything else (the admin API `/_mock/*`, GraphQL
`/api`, pages) to the Flask app. An API request passes one short pipeline, one method each:

    route     path -> Route (operation, handler, language rule, body check); cached per path
    read      the raw request body (bytes)
    before    hooks `fn(req) -> Answer | None`: the first that answers ends the request
              (stubbed answers, request limits, recording for verification)
    prepare   content-language, authentication, parse + validate the body, namespace -> world
    handle    the behaviour under the world's lock, after due tasks settle; point lookups
              (where {id} / {name} / {local_id} / id_in) take a direct index path
    after     hooks `fn(req, answer)`: see every answer, errors included (access log)
    respond   status line, headers, body bytes

Add a hook with `dispatcher.before.append(fn)` / `dispatcher.after.append(fn)`; the
dispatcher of an app is `app.extensions["cloudtower_mock_api"]`. Hooks run outside the
world's lock. Errors are always the API's ErrorBody with the request's language.
"""

from __future__ import annotations

import itertools
import logging
import os
from http import HTTPStatus
from typing import Any, Callable

import orjson
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from . import behaviour
from .behaviour import Ctx, RawJSON
from .contract.validate import ValidationError
from .direct import direct_lookup
from .errors import ApiError, bad_request, not_found, unauthorized
from .limits import body_too_large, content_length, read_limited
from .request_body import READ_FAMILIES, data_body_check, decode_json, read_body
from .texts import LOCALIZED
from .world.derived import refresh as refresh_derived

log = logging.getLogger("cloudtower_mock")

API_PREFIX = "/v2/api"
REQUEST_ID_ENV = "cloudtower_mock.request_id"
EXT_KEY = "cloudtower_mock_api"

_STATUS = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
_JSON_CT = ("Content-Type", "application/json")

# Request ids: a random per-process prefix and a counter, 32 hex digits like a uuid4 hex,
# unique within and (by the prefix) across processes; cheaper than uuid4() per request.
_RID_PREFIX = os.urandom(10).hex()
_rid_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_RID_PREFIX}{next(_rid_counter):012x}"


def status_line(code: int) -> str:
    return _STATUS.get(code) or f"{code} Unknown"


class Answer:
    """What goes back to the client: status, body bytes, content type, extra headers."""
    __slots__ = ("status", "data", "content_type", "headers")

    def __init__(self, status: int, data: bytes, content_type: str = "application/json",
                 headers: list[tuple[str, str]] | None = None):
        self.status = status
        self.data = data
        self.content_type = content_type
        self.headers = headers

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> "Answer":
        return cls(status, orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS))


class ApiRequest:
    """One API request as it goes through the pipeline."""
    __slots__ = ("environ", "rid", "method", "path", "route", "raw", "body", "files", "lang",
                 "user", "namespace", "world", "_headers")

    def __init__(self, environ: dict, rid: str):
        self.environ = environ
        self.rid = rid
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.path = environ.get("PATH_INFO", "")[len(API_PREFIX):]     # "/get-vms"
        self.route: Route | None = None
        self.raw: bytes | None = None
        self.body: Any = None
        self.files: dict = {}
        self.lang = "en-US"
        self.user: dict | None = None
        self.namespace: str | None = environ.get("HTTP_X_MOCK_NAMESPACE")
        self.world = None
        self._headers = None

    @property
    def headers(self) -> EnvironHeaders:
        if self._headers is None:
            self._headers = EnvironHeaders(self.environ)
        return self._headers

    @property
    def operation(self) -> str:
        return self.path[1:]


class Route:
    """What the dispatcher knows of one operation, worked out once."""
    __slots__ = ("op", "handler", "takes_lang", "lang_allowed", "check", "coerce", "empty_body", "direct",
                 "data_check")

    def __init__(self, state, op, languages: frozenset[str] | None):
        self.op = op
        self.handler = behaviour.resolve(op)
        self.takes_lang, self.lang_allowed = _language_rule(op, languages)
        schema = op.request_schema
        self.check = state.validator.compile(schema, False) if schema is not None else None
        self.coerce = state.validator.coercer(schema)       # a single value for a list (GraphQL)
        self.data_check = data_body_check(state.contract, op)   # {data, <stray key>}: a clear 400
        self.empty_body = None
        if schema is not None and state.contract.resolve(schema).get("type", "object") == "object" \
                and op.family in READ_FAMILIES:     # a mutation's missing body stays missing
            self.empty_body = {}
        from .behaviour.reads import list_resources
        self.direct = self.handler is list_resources


class Front:
    """The WSGI entry: a request id for every response, `/v2/api/*` to the dispatcher."""

    def __init__(self, api: "ApiDispatcher", other: Callable):
        self.api = api
        self.other = other

    def __call__(self, environ, start_response):
        rid = environ[REQUEST_ID_ENV] = new_request_id()
        if environ.get("PATH_INFO", "").startswith("/v2/api/"):
            return self.api(environ, start_response, rid)

        def start(status, headers, exc_info=None):
            headers.append(("x-tower-request-id", rid))
            return start_response(status, headers, exc_info)
        return self.other(environ, start)


class _BodyReader:
    """An API request's body, caller and language, read and checked before the behaviour
    runs (the dispatcher's `state` gives the limits)."""

    def read(self, req: ApiRequest) -> None:
        """The raw body of a JSON request (GET and multipart bodies are read in `prepare`)."""
        op = req.route.op
        if op.method == "get" or op.content_type is None or op.content_type.startswith("multipart/"):
            return
        env = req.environ
        length = env.get("CONTENT_LENGTH")
        limit = self.state.config.max_body
        if length and length.isdigit() and "HTTP_TRANSFER_ENCODING" not in env and int(length) <= limit:
            req.raw = env["wsgi.input"].read(int(length))
        else:                        # chunked, over the limit (413) or no length
            req.raw = read_limited(env, limit, "--max-body")

    def prepare(self, req: ApiRequest) -> None:
        """Language, caller, body, world: everything the behaviour needs."""
        r = req.route
        env = req.environ
        if r.takes_lang:
            req.lang = _language(env.get("HTTP_CONTENT_LANGUAGE"), r.lang_allowed)
        elif env.get("HTTP_CONTENT_LANGUAGE") == "zh-CN":
            # not declared by this operation: never a 400 for it, but texts follow the caller
            req.lang = "zh-CN"
        if r.op.security:
            req.user = _authenticate(env.get("HTTP_AUTHORIZATION"), self.state, r.op)
        if req.raw is None:
            if r.op.content_type is not None and r.op.method != "get":
                length = content_length(env) or 0
                if length > self.state.config.max_upload:
                    raise body_too_large(length, self.state.config.max_upload, "--max-upload")
            if r.op.content_type is not None or r.op.method == "get":
                wr = Request(env)
                wr.max_content_length = self.state.config.max_upload
                try:
                    req.body, req.files = read_body(wr, self.state, r.op)  # werkzeug's parsers
                except RequestEntityTooLarge:
                    raise body_too_large(content_length(env) or self.state.config.max_upload + 1,
                                         self.state.config.max_upload, "--max-upload") from None
        else:
            req.body = self._json_body(req, r)
        req.world = self.state.world(req.namespace)

    def _json_body(self, req: ApiRequest, r: Route) -> Any:
        mime = req.environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        body = decode_json(req.raw, mime, self.state.config.max_depth, r.op.body_required, r.empty_body is not None)
        if r.data_check is not None and type(body) is dict and "data" in body:
            r.data_check(body)
        if r.coerce is not None:
            body = r.coerce(body)
        if r.check is not None:
            try:
                r.check(body, "")
            except ValidationError as e:
                raise ApiError(400, e.message("en-US"), message_zh=e.message("zh-CN"))
        return body


class ApiDispatcher(_BodyReader):
    """`/v2/api/*` without Flask: see the module's docstring for the pipeline."""

    def __init__(self, state, languages: frozenset[str] | None):
        self.state = state
        self.languages = languages
        self.routes: dict[str, Route | None] = {}
        self.before: list[Callable[[ApiRequest], Answer | None]] = []
        self.after: list[Callable[[ApiRequest, Answer], None]] = []

    # ----------------------------------------------------------------- pipeline
    def __call__(self, environ, start_response, rid: str | None = None):
        req = ApiRequest(environ, rid or environ.get(REQUEST_ID_ENV) or new_request_id())
        try:
            answer = self.route(req)
            if answer is None:
                self.read(req)
                for hook in self.before:
                    answer = hook(req)
                    if answer is not None:
                        break
                else:
                    self.prepare(req)
                    answer = self.handle(req)
        except ApiError as e:
            answer = Answer.json(e.body(req.path, req.lang), e.status)
        except Exception:  # a bug of ours: still the API's error shape, never a traceback
            log.exception("unhandled error in %s", req.path)
            e = ApiError(500, f"Internal error while serving {req.path}; see the mock's log "
                              f"(request id {req.rid})",
                         message_zh=f"处理 {req.path} 时发生内部错误; 请查看 mock 的日志 (request id {req.rid})")
            answer = Answer.json(e.body(req.path, req.lang), 500)
        for hook in self.after:
            try:
                hook(req, answer)
            except Exception:
                log.exception("after-hook %r failed", hook)
        return self.respond(req, answer, start_response)

    def route(self, req: ApiRequest) -> Answer | None:
        """Find the operation (404 when the contract has none, or for the wrong method)."""
        path = req.path
        try:
            r = self.routes[path]
        except KeyError:
            op = self.state.contract.operations.get(path)
            r = self.routes[path] = Route(self.state, op, self.languages) if op is not None else None
        version = self.state.contract.version
        if r is None:
            if path == "/openapi.json" and req.method == "GET":
                return Answer.json(self.state.contract.doc)
            raise not_found(f"Operation {path} does not exist in CloudTower {version}",
                            f"接口 {path} 在 CloudTower {version} 中不存在")
        op = r.op
        if req.method.lower() != op.method:
            # 405 with Allow (RFC 9110), still an ErrorBody
            e = ApiError(405, f"Operation {path} does not answer {req.method}; use {op.method.upper()}",
                         message_zh=f"接口 {path} 不支持 {req.method}; 请使用 {op.method.upper()}")
            answer = Answer.json(e.body(req.path, req.lang), 405)
            answer.headers = [*(answer.headers or ()), ("Allow", op.method.upper())]
            return answer
        req.route = r
        return None

    def handle(self, req: ApiRequest) -> Answer:
        """Run the behaviour under the world's lock, after the tasks whose time has come."""
        r = req.route
        world = req.world
        ctx = Ctx(state=self.state, world=world, op=r.op, lang=req.lang, user=req.user,
                  headers=req.headers, files=req.files)
        with world.store.lock:
            if world.tasks is not None:
                world.tasks.settle()
            refresh_derived(world.store)
            direct = r.direct and not (req.lang != "en-US" and r.op.resource in LOCALIZED)
            result = direct_lookup(ctx, req.body) if direct else None
            if result is None:
                result = r.handler(ctx, req.body)
            refresh_derived(world.store)
        if isinstance(result, RawJSON):
            return Answer(200, result.data)
        if isinstance(result, Answer):
            return result
        if isinstance(result, Response):
            return Answer(result.status_code, result.get_data(), result.content_type,
                          [(k, v) for k, v in result.headers.items()
                           if k.lower() not in ("content-type", "content-length")])
        return Answer(200, orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS))

    @staticmethod
    def respond(req: ApiRequest, answer: Answer, start_response):
        data = answer.data
        headers = [("Content-Type", answer.content_type), ("Content-Length", str(len(data))),
                   ("x-tower-request-id", req.rid)]
        if answer.headers:
            headers.extend(answer.headers)
        start_response(_STATUS.get(answer.status) or f"{answer.status} Unknown", headers)
        return [data]


# ------------------------------------------------------------------------- request parts
def _language_rule(op, languages: frozenset[str] | None) -> tuple[bool, frozenset[str] | None]:
    """(does the operation take content-language, the values it allows or None for any)."""
    for p in op.parameters:
        if p.get("in") == "header" and p.get("name", "").lower() == "content-language":
            inline = p.get("schema", {}).get("enum")
            return True, frozenset(inline) if inline else languages
    return False, None


def _language(value: str | None, allowed: frozenset[str] | None) -> str:
    if value is None:
        return "en-US"
    if allowed is not None and value not in allowed:
        raise bad_request(f"content-language: '{value}' is not one of {', '.join(sorted(allowed))}",
                          f"content-language: '{value}' 不是合法值, 可选值为 {', '.join(sorted(allowed))}")
    return "zh-CN" if value == "zh-CN" else "en-US"


def _authenticate(header: str | None, state, op) -> dict | None:
    if "Basic" in op.security:
        acc = state.auth.check_basic(header)
        if acc is not None:
            return {"id": None, "username": acc.username}
        if header and header[:6].lower() != "basic ":
            # the Go SDK's ResourceChangeWatchClient polls with its logged-in client's session token
            claims = state.auth.verify(header)
            if claims is not None:
                return claims
    if "Authorization" in op.security:
        claims = state.auth.verify(header)
        if claims is not None:
            return claims
    raise unauthorized()
