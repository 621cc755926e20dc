"""Login, tokens and API keys.

Tokens are HS256 JWTs whose payload carries the user id (as CloudTower's do). They are
verified by signature, so they survive a world reset and never expire. API keys (GraphQL
`createApiKey`) authenticate like a token until deleted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass, field


def hash_password(password: str) -> str:
    """A salted hash of a user's password (what a User row keeps)."""
    salt = secrets.token_hex(8)
    return "sha256$" + salt + "$" + hashlib.sha256((salt + password).encode()).hexdigest()


def check_password(stored: str, password: str) -> bool:
    """Does `password` match `stored`, a hash_password() result?"""
    if not isinstance(password, str) or not isinstance(stored, str) or stored.count("$") != 2:
        return False
    _, salt, digest = stored.split("$")
    return hmac.compare_digest(digest, hashlib.sha256((salt + password).encode()).hexdigest())


def same_password(plain: str, password: str) -> bool:
    """A configured (plain) password compared in constant time."""
    return isinstance(password, str) and hmac.compare_digest(plain.encode(), password.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Account:
    username: str
    password: str
    source: str = "LOCAL"


@dataclass
class Auth:
    accounts: list[Account] = field(default_factory=lambda: [Account("root", "root", "LOCAL")])
    secret: bytes = field(default_factory=lambda: os.urandom(32))
    api_keys: dict[str, dict] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _verified: dict[str, dict] = field(default_factory=dict)   # token -> claims (tokens never expire)

    def issue_token(self, user_id: str, username: str) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps({"id": user_id, "username": username, "nonce": secrets.token_hex(4)},
                                  separators=(",", ":")).encode())
        sig = hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(sig)}"

    def verify(self, authorization: str | None) -> dict | None:
        """The token's claims, or None. Accepts `<token>` and `Bearer <token>`."""
        if not authorization:
            return None
        token = authorization.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        key = self.api_keys.get(token)
        if key is not None:
            return {"id": key["user_id"], "username": key["username"], "api_key": key["id"]}
        claims = self._verified.get(token)
        if claims is not None:
            return claims
        claims = self._verify_jwt(token)
        if claims is not None:
            if len(self._verified) > 10000:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def _verify_jwt(self, token: str) -> dict | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            expected = hmac.new(self.secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(parts[2])):
                return None
            return json.loads(_unb64(parts[1]))
        except (ValueError, json.JSONDecodeError):
            return None

    def check_basic(self, authorization: str | None) -> Account | None:
        if not authorization or not authorization[:6].lower() == "basic ":
            return None
        try:
            user, _, pw = base64.b64decode(authorization[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return next((a for a in self.accounts if a.username == user and hmac.compare_digest(a.password, pw)), None)

    def create_api_key(self, name: str, user_id: str, username: str, key_id: str) -> dict:
        with self._lock:
            key = "ak-" + secrets.token_hex(20)
            record = {"id": key_id, "key": key, "name": name, "user_id": user_id, "username": username}
            self.api_keys[key] = record
            return record

    def delete_api_key(self, key: str) -> dict | None:
        with self._lock:
            return self.api_keys.pop(key, None)
