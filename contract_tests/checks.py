"""Checks every answer the harness receives, whatever suite sent the request.

Each exchange is checked against the contract: an answer came (else a transport error), no
5xx, an `x-tower-request-id` header, a JSON content type, a status the operation declares
(401 / 403 / 404 are always allowed), a 200 body that matches the operation's response
schema (required fields, types, nulls where not nullable; extra fields are allowed, a newer
tower may add some), and an error answer that is an ErrorBody. A defect names the operation
and carries the request (a curl line) that showed it.
"""

from __future__ import annotations

from typing import Any

from .exchange import Exchange
from .report import (CONTENT_TYPE, ERROR_BODY, REQUEST_ID, RESPONSE_SCHEMA, SERVER_ERROR, STATUS_CODE,
                     TRANSPORT, SuiteResult)

ALWAYS_ALLOWED = {"401", "403", "404"}


class Inspector:
    """An observer for Target.post: counts requests and records defects into the bound suite."""

    def __init__(self, contract):
        from mock_server.contract.validate import Validator
        self.contract = contract
        self.validator = Validator(contract, strict_additional=False)
        name = contract.find_schema("ErrorBody")
        self.error_schema = {"$ref": "#/components/schemas/" + name} if name else None
        self.result: SuiteResult | None = None
        self.answers = 0

    def bind(self, result: SuiteResult) -> None:
        self.result = result

    def __call__(self, ex: Exchange) -> None:
        res = self.result
        if res is None:
            return
        res.sent(ex.op)
        if ex.error is not None:
            res.check(ex.op)
            res.fail(ex.op, TRANSPORT, f"no answer: {ex.error}", ex)
            return
        self.answers += 1
        self.check(res, ex)

    def check(self, res: SuiteResult, ex: Exchange) -> None:
        r = ex.response
        status = r.status_code
        op = self.contract.operations.get(ex.op)
        res.check(ex.op)
        if status >= 500:
            res.fail(ex.op, SERVER_ERROR, f"HTTP {status}: {r.text[:300]}", ex)
        if not r.headers.get("x-tower-request-id"):
            res.fail(ex.op, REQUEST_ID, f"HTTP {status} answer without an x-tower-request-id header", ex)
        ctype = r.headers.get("content-type", "")
        body: Any = None
        is_json = False
        if r.content:
            if ctype.split(";")[0].strip().lower() != "application/json":
                res.fail(ex.op, CONTENT_TYPE, f"HTTP {status} answer with content-type {ctype or '(none)'!r}, "
                                              f"expected application/json", ex)
            try:
                body = r.json()
                is_json = True
            except ValueError:
                body = None
        if op is None:           # an unknown operation: its 404 must still be an ErrorBody
            if status >= 400 and self.error_schema is not None:
                err = self.validate(self.error_schema, body) if is_json else "body is not JSON"
                if err:
                    res.fail(ex.op, ERROR_BODY, f"HTTP {status}: {err}; body {r.text[:200]}", ex)
            return
        sent = (getattr(getattr(r, "request", None), "method", None) or "").lower()
        wrong_method = status == 405 and sent and sent != op.method    # HTTP's answer to it, with Allow
        if str(status) not in op.response_codes and str(status) not in ALWAYS_ALLOWED and status < 500 \
                and not wrong_method:
            res.fail(ex.op, STATUS_CODE, f"HTTP {status} is not among the declared statuses "
                                         f"{', '.join(op.response_codes)}", ex)
        if status == 200:
            if not is_json:
                res.fail(ex.op, RESPONSE_SCHEMA, f"HTTP 200 body is not JSON: {r.text[:200]!r}", ex)
            elif op.response_schema is not None:
                err = self.validate(op.response_schema, body)
                if err:
                    res.fail(ex.op, RESPONSE_SCHEMA, f"HTTP 200: {err}", ex)
        elif status >= 400 and self.error_schema is not None:
            if not is_json:
                res.fail(ex.op, ERROR_BODY, f"HTTP {status} body is not JSON: {r.text[:200]!r}", ex)
            else:
                err = self.validate(self.error_schema, body)
                if err:
                    res.fail(ex.op, ERROR_BODY, f"HTTP {status}: {err}; body {r.text[:200]}", ex)

    def validate(self, schema: dict, body: Any) -> str | None:
        from mock_server.contract.validate import ValidationError
        try:
            self.validator.validate(schema, body)
        except ValidationError as e:
            return _with_record(str(e), body)
        return None


def _with_record(msg: str, body: Any) -> str:
    """Add the full id (and name) of the record the error is in, when the path starts `[i]`."""
    import re
    m = re.match(r"\[(\d+)\]", msg)
    if m and isinstance(body, list):
        i = int(m.group(1))
        if i < len(body) and isinstance(body[i], dict):
            rec = body[i]
            who = f"record id {rec.get('id')!s}" + (f" name {rec.get('name')!r}" if rec.get("name") else "")
            return f"{msg} ({who})"
    return msg
