"""Auth probes: every secured read operation (and, when mutations are allowed, a few
mutations aimed at nothing) without a token, with a bogus token, with an expired one and with
a tampered signature: each must answer 401 with an ErrorBody."""

from __future__ import annotations

import base64
import json
import time

from .report import AUTH
from .target import TargetError, is_read_only

NO_SUCH_ID = "cnosuchid000000000000000000"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def expired_token(token: str) -> str:
    """The login token with its expiry moved an hour into the past (signature kept), or a JWT
    of the same shape when the token is not one."""
    now = int(time.time())
    header, payload = {"alg": "HS256", "typ": "JWT"}, {}
    sig = _b64(b"ctm-expired-signature-000000000")
    parts = token.split(".")
    if len(parts) == 3:
        try:
            header = json.loads(_unb64(parts[0]))
            payload = json.loads(_unb64(parts[1]))
            sig = parts[2]
        except (ValueError, TypeError):
            pass
    if not isinstance(payload, dict):
        payload = {}
    payload = dict(payload, iat=now - 7200, exp=now - 3600)
    return ".".join([_b64(json.dumps(header, separators=(",", ":")).encode()),
                     _b64(json.dumps(payload, separators=(",", ":")).encode()), sig])


def tampered_token(token: str) -> str:
    """The login token with one character of its signature changed. Not the last character:
    in base64url its low bits may be padding, and the signature would decode the same."""
    if len(token) < 12:
        return token + "x"
    i = len(token) - 8
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


class AuthProbes:
    """The auth part of the ProbeSuite (needs its target, contract, resources, result, left)."""

    def secured_reads(self) -> list[str]:
        ops = []
        for path, op in sorted(self.contract.operations.items()):
            if op.method == "post" and op.security and "Basic" not in op.security and is_read_only(path) \
                    and not (op.content_type or "").startswith("multipart/"):
                ops.append(path)
        first = [self.contract.resources[m].list_path for m in self.resources]
        return first + [p for p in ops if p not in first]

    def auth(self) -> None:
        t = self.target
        token = t.token or ""
        variants = [("no token", None, None), ("a bogus token", "not-a-token", None),
                    ("an expired token", self.expired or expired_token(token),
                     "<an expired token: the login token with its exp claim in the past>"),
                    ("a token with a tampered signature", tampered_token(token),
                     "<the login token with one character of its signature changed>")]
        ops = self.secured_reads()
        core = set(ops[: len(self.resources)]) | {self.contract.resources[m].connection_path for m in self.resources}
        muts = []
        if t.safety.allow_mutations:
            muts = [p for p in ("/delete-vm", "/start-vm", "/delete-label") if p in self.contract.operations]
        budget_end = time.monotonic() + self.left()
        done = 0
        for path in ops + muts:
            if time.monotonic() > budget_end or self.result.enough():
                self.result.note(f"auth probes: {done} of {len(ops) + len(muts)} operations before the "
                                 f"{'budget' if not self.result.enough() else '--max-defects'}")
                break
            body = {} if path in ops else {"where": {"id": NO_SUCH_ID}}
            # every variant on the resources' operations and mutations; two, in turn, elsewhere
            use = variants if path in core or path in muts else \
                [variants[done % 4], variants[(done + 1) % 4]]
            for label, tok, shown in use:
                self.result.check(path)
                hdr = {} if tok is None else {"Authorization": tok}
                try:
                    r = t.post(path, body, auth=False, headers=hdr, expect="unauthenticated", auth_label=shown)
                except TargetError:
                    break
                if r.status_code != 401 and r.status_code < 500:
                    self.result.fail(path, AUTH, f"HTTP {r.status_code} for a request with {label}", t.last)
            done += 1
