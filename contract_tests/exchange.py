"""One request the harness sent and what came back, and how to show it to a person: a `curl`
line they can paste (the token replaced by `$CLOUDTOWER_TOKEN`, never printed)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

SECRET_HEADERS = ("authorization", "x-mock-admin-token", "cookie")
TOKEN_VAR = "$CLOUDTOWER_TOKEN"


@dataclass
class Exchange:
    op: str                          # "/get-vms"
    url: str
    body: Any = None                 # the JSON body sent (None: see raw)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None         # a raw body sent as is (not JSON, or deliberately broken)
    expect: str | None = None        # what the request was for: "invalid", "unauthenticated", ...
    response: Any = None             # requests.Response
    error: str | None = None         # transport error (no answer)
    seconds: float = 0.0
    auth_label: str | None = None    # how to show a probe's Authorization (derived from the real token)

    @property
    def status(self) -> int | None:
        return None if self.response is None else self.response.status_code

    def body_text(self) -> str:
        if self.raw is not None:
            return self.raw.decode("utf-8", "replace")
        if self.body is None:
            return ""
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":"), default=str)

    def curl(self) -> str:
        headers = self.headers
        if self.auth_label is not None:
            headers = {k: (self.auth_label if k.lower() == "authorization" else v) for k, v in headers.items()}
        # a probe's made-up token ("not-a-token") is what the request is about: shown as sent
        return curl_line(self.url, self.body_text(), headers,
                         mask_token=self.expect != "unauthenticated" or self.auth_label is not None)


def _header_value(name: str, value: str, mask_token: bool) -> str:
    low = name.lower()
    if low == "authorization":
        if not value or not mask_token or value.startswith("<"):
            return value
        if value[:7].lower() == "bearer ":
            return value[:7] + TOKEN_VAR
        return TOKEN_VAR
    if low in SECRET_HEADERS:
        return "***"
    return value


def curl_line(url: str, body: str, headers: dict[str, str], mask_token: bool = True) -> str:
    """`curl -sS -X POST URL -H ... --data-raw BODY`, with secrets masked. Authorization becomes
    "$CLOUDTOWER_TOKEN" in double quotes so the shell expands it when pasted."""
    parts = ["curl", "-sS", "-X", "POST", shlex.quote(url)]
    names = {k.lower() for k in headers}
    if "content-type" not in names:
        parts += ["-H", shlex.quote("Content-Type: application/json")]
    for k, v in headers.items():
        shown = _header_value(k, str(v), mask_token)
        if TOKEN_VAR in shown:
            parts += ["-H", '"' + f"{k}: {shown}".replace('"', '\\"') + '"']
        else:
            parts += ["-H", shlex.quote(f"{k}: {shown}")]
    if body:
        parts += ["--data-raw", shlex.quote(body)]
    return " ".join(parts)
