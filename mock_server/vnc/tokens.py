"""Console tokens: minted by `get-vm-vnc-info` and the GraphQL `vnc` query for one VM of
one namespace, valid for `TOKEN_TTL` seconds of the mock's clock (advance the clock to
expire them). Both forms open the console: the 32-hex `raw_token` and its base64 `token`."""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass

TOKEN_TTL = 120.0


@dataclass
class Grant:
    raw: str
    namespace: str
    vm_id: str
    expires: float


class Tokens:
    def __init__(self, clock):
        self.clock = clock
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}

    def mint(self, namespace: str | None, vm_id: str) -> tuple[str, str]:
        """(raw_token, token) for a VM."""
        raw = secrets.token_hex(16)
        now = self.clock.now()
        with self._lock:
            for k in [k for k, g in self._grants.items() if g.expires < now]:
                del self._grants[k]
            self._grants[raw] = Grant(raw, namespace or "default", vm_id, now + TOKEN_TTL)
        return raw, base64.b64encode(raw.encode()).decode()

    def check(self, token: str) -> tuple[Grant | None, str]:
        """The grant a token opens, or None with the reason."""
        raw = token
        if len(token) != 32:
            try:
                raw = base64.b64decode(token, validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                return None, "the console token is not valid"
        with self._lock:
            grant = self._grants.get(raw)
        if grant is None:
            return None, "the console token is not valid"
        if grant.expires < self.clock.now():
            return None, "the console token has expired; ask get-vm-vnc-info for a new one"
        return grant, ""


def tokens_of(state) -> Tokens:
    """The server's token book (made on first use)."""
    tokens = state.__dict__.get("_vnc_tokens")
    if tokens is None:
        with state._lock:
            tokens = state.__dict__.setdefault("_vnc_tokens", Tokens(state.clock))
    return tokens
