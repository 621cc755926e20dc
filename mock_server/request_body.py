"""Request bodies: query strings (GET) and multipart forms (uploads) through werkzeug's
parsers, and the decoding of JSON bodies the /v2/api dispatcher reads itself; each checked
against its operation."""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

import orjson

from .contract.index import ref_name
from .contract.operations import CONNECTION, GET, LIST
from .errors import bad_request
from .limits import check_depth, depth_error
from .state import MockState

JSON_TYPES = ("application/json", "application/*+json")
READ_FAMILIES = (LIST, CONNECTION, GET)      # queries: no body means {} (deployment scripts post none)
JSON_SPACE = b" \t\r\n"      # what JSON counts as whitespace (bytes.strip() would also take \x0b, \x0c)


def read_body(request, state: MockState, op) -> tuple[Any, dict]:
    """The body of a request the dispatcher does not read itself: query strings (GET) and
    multipart forms. (JSON bodies it reads and decodes itself, with `decode_json`.)"""
    if op.method == "get":
        args = request.args.to_dict()
        _check_query(state, op, args)
        return args, {}
    if op.content_type is not None and op.content_type.startswith("multipart/"):
        return _multipart(request, state, op)
    raise ValueError(f"{op.name}: not a query string or a form: the dispatcher reads this body")


def decode_json(raw: bytes, mime: str, max_depth: int, required: bool, empty_is_object: bool) -> Any:
    """A JSON request body: decoded, or `{}` / None when there is none (clients post no body to
    list queries; an empty object is what they mean); a 400 in the API's shape otherwise."""
    if not raw.strip(JSON_SPACE):
        if empty_is_object:
            return {}
        if required:
            raise bad_request("request body is required", "缺少请求体")
        return None
    if mime and mime not in JSON_TYPES and not mime.endswith("+json"):
        raise bad_request(f"Content-Type must be application/json, got {mime}",
                          f"Content-Type 必须为 application/json, 实际为 {mime}")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        if "depth limit" in str(e):     # deeper than the parser goes: say which limit
            raise depth_error(max_depth, "a part more than 1024 levels deep")
        raise bad_request(f"request body is not valid JSON: {e}", f"请求体不是合法的 JSON: {e}")
    # each level opens with a bracket: a body with no more brackets than the limit (strings'
    # included) cannot be too deep, and is not walked; nor is one whose brackets outside its
    # strings do not nest that deep (counted at C speed: most bodies with many brackets are
    # long lists of shallow items)
    if (type(body) is dict or type(body) is list) and raw.count(b"{") + raw.count(b"[") > max_depth \
            and bracket_depth(raw) > max_depth:
        check_depth(body, max_depth)
    return body


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"{}[]")
_DELTA = {ord("{"): 1, ord("["): 1, ord("}"): -1, ord("]"): -1}


def bracket_depth(raw: bytes) -> int:
    """How deep the brackets of a valid JSON text nest (those inside strings left out).
    Without a backslash every quote opens or closes a string: what lies between every other
    pair is outside them (12 us for a 10-VM create-vm body; a regex over every character
    took ten times that)."""
    if b"\\" in raw:
        outside = _STRING.sub(b"", raw)
    else:
        outside = b"".join(raw.split(b'"')[0::2])
    brackets = outside.translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0)


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
            if schema.get("additionalProperties") is False:
                raise bad_request(f"unknown multipart field '{key}'", f"未知的 multipart 字段 '{key}'")
            form.pop(key, None)     # the form is open (as in the spec): a field it does not
            files.pop(key, None)    # declare is ignored, as a multipart parser does
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


# ------------------------------------------------------------- batch-style bodies
def _shown_key(key: str) -> str:
    """A body key as a message shows it: JSON-quoted (so '' and a newline show), cut short."""
    text = orjson.dumps(key).decode()
    return text if len(text) <= 40 else text[:37] + '..."'


def data_body_check(contract, op):
    """The check of a top-level object body that carries `data` (a batch `{data: [...]}` or a
    `{where, data}` body), or None when the operation's body cannot be one. A key the body's
    schema does not declare next to `data` is a 400 naming it, before anything is read as an
    item: without it the whole object would be taken for ONE item (an array body's single
    value) and answered with a confusing message about that item's fields. An array body whose
    items do not declare `data` takes no `{data: [...]}` wrapper at all."""
    schema = op.request_schema
    if schema is None:
        return None
    r = contract.resolve(schema)
    what = None
    if r.get("type") == "array":
        item = contract.resolve(r.get("items"))
        what = ref_name(r.get("items")) or "objects"
        declared = item.get("properties") or {}
        wrapper = "data" not in declared          # {data: [...]} can only be a wrapper
    else:
        declared = r.get("properties") or {}
        wrapper = False
        if "data" not in declared:
            return None
    keys = frozenset(declared)
    name = op.name

    def check(body: dict) -> None:
        stray = [k for k in body if k not in keys] if not wrapper else [k for k in body if k != "data"]
        if stray:
            shown = ", ".join(_shown_key(k) for k in stray[:3]) + (", ..." if len(stray) > 3 else "")
            s = "s" if len(stray) > 1 else ""
            hint = f"; {name} takes a JSON array of {what}" if wrapper else ""
            raise bad_request(f"body: unexpected key{s} {shown} next to \"data\"{hint}",
                              f"请求体: \"data\" 旁有未知的键 {shown}" + (f"; {name} 的请求体是 {what} 的 JSON 数组" if wrapper else ""))
        if wrapper:
            raise bad_request(f"body: {name} takes a JSON array of {what}, not an object with \"data\"",
                              f"请求体: {name} 的请求体是 {what} 的 JSON 数组, 而不是带 \"data\" 的对象")
    return check
