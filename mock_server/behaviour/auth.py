"""Login, the root user, who-am-I and the API version.

Logins as on a real tower: the account given to `serve` (--username/--password/--source) and
every user made with `create-user` (with a password) can log in, in the world of the
request's namespace. The source must match: a LOCAL user logs in with source LOCAL (the
default), an LDAP/AUTHN user with LDAP or AUTHN. Failures answer 400 with an ErrorBody whose
`props.code` (and message prefix) is the tower's error code:

* ``NOT_MATCH_USER_OR_PASSWORD_INCORRECT`` - no such user for that source;
* ``USER_PASSWORD_INCORRECT`` - a wrong password (`props.remain_miss_num`: attempts left);
* ``USER_LOCKED`` - too many wrong passwords: after `login_miss_num_threshold` misses (the
  world's GlobalSettings.auth; 5 when unset) within `login_miss_time_threshold` minutes (30
  when unset) the user is locked for that many minutes of the mock's clock
  (`props.remain_time`: minutes left). A right password does not unlock it early.

The codes are the CloudTower UI's error keys; the published ErrorCode enum lists only
ResourceLocked, so they go in `props`, keeping every answer valid against the contract.
"""

from __future__ import annotations

import math

from ..auth import check_password, hash_password, same_password
from ..errors import ApiError, bad_request, unauthorized
from . import Ctx, operation

CREDENTIAL = "_credential"              # a row key the renderer never shows: the password's hash
DIRECTORY_SOURCES = ("LDAP", "AUTHN")
DEFAULT_MISSES, DEFAULT_MINUTES = 5, 30


def user_row(ctx: Ctx, username: str) -> dict | None:
    if "User" not in ctx.contract.resources:
        return None
    rows = ctx.store.find_by("User", "username", username) if "username" in \
        ctx.contract.resources["User"].properties else ctx.store.find_by("User", "name", username)
    return rows[0] if rows else None


def set_password(fields: dict, password: str | None) -> dict:
    """`fields` of a User row with the hash of `password` (nothing when None)."""
    if password is not None:
        fields[CREDENTIAL] = hash_password(password)
    return fields


def _same_source(user_source: str | None, login_source: str) -> bool:
    user_source = user_source or "LOCAL"
    if login_source in DIRECTORY_SOURCES:
        return user_source in DIRECTORY_SOURCES
    return user_source == login_source


def _fail(code: str, message: str, message_zh: str, **props) -> ApiError:
    return bad_request(f"[{code}] {message}", f"[{code}] {message_zh}", props={"code": code, **props})


def _lock_policy(ctx: Ctx) -> tuple[int, float]:
    """(misses allowed, minutes) from the world's GlobalSettings.auth."""
    auth = {}
    if "GlobalSettings" in ctx.store.tables:
        rows = ctx.store.all("GlobalSettings")
        auth = (rows[0].get("auth") if rows else None) or {}
    misses, minutes = auth.get("login_miss_num_threshold"), auth.get("login_miss_time_threshold")
    misses = misses if isinstance(misses, int) and misses >= 1 else DEFAULT_MISSES
    minutes = minutes if isinstance(minutes, (int, float)) and minutes > 0 else DEFAULT_MINUTES
    return misses, float(minutes)


class _Locks:
    """Wrong-password times and locks per username, in one world (reset with it)."""

    def __init__(self):
        self.misses: dict[str, list[float]] = {}
        self.locked_until: dict[str, float] = {}

    def check(self, username: str, now: float) -> None:
        until = self.locked_until.get(username)
        if until is None:
            return
        if now < until:
            left = math.ceil((until - now) / 60)
            raise _fail("USER_LOCKED", f"The account has been locked after too many failed logins; try again in "
                                       f"{left} minutes", f"账户因多次登录失败已被锁定, 请 {left} 分钟后重试",
                        remain_time=left)
        self.locked_until.pop(username, None)
        self.misses.pop(username, None)

    def miss(self, username: str, now: float, allowed: int, minutes: float) -> ApiError:
        window = [t for t in self.misses.get(username, []) if now - t < minutes * 60] + [now]
        self.misses[username] = window
        left = allowed - len(window)
        if left <= 0:
            self.locked_until[username] = now + minutes * 60
            return _fail("USER_LOCKED", f"Wrong password; the account is now locked for {minutes:g} minutes",
                         f"密码错误; 账户已被锁定 {minutes:g} 分钟", remain_time=math.ceil(minutes))
        return _fail("USER_PASSWORD_INCORRECT",
                     f"The password is wrong; {left} attempts left before the account is locked for "
                     f"{minutes:g} minutes", f"密码错误; 还可尝试 {left} 次, 之后账户将被锁定 {minutes:g} 分钟",
                     remain_miss_num=left)

    def success(self, username: str) -> None:
        self.misses.pop(username, None)


@operation("login")
def login(ctx: Ctx, body: dict):
    username, password = body.get("username", ""), body.get("password", "")
    source = body.get("source") or "LOCAL"
    locks: _Locks = ctx.world.extras.setdefault("login_locks", _Locks())
    now = ctx.state.clock.now()
    account = next((a for a in ctx.state.auth.accounts if a.username == username), None)
    row = user_row(ctx, username)
    if account is not None:
        known_source, known = account.source, (lambda: same_password(account.password, password))
    elif row is not None and row.get(CREDENTIAL):
        known_source, known = row.get("source"), (lambda: check_password(row[CREDENTIAL], password))
    else:
        known_source, known = None, None
    if known is None or not _same_source(known_source, source):
        raise _fail("NOT_MATCH_USER_OR_PASSWORD_INCORRECT",
                    f"Unable to log in: no {source} user '{username}' (wrong user name, or another login source)",
                    f"无法登录: 没有来源为 {source} 的用户 '{username}' (用户名错误, 或需切换登录方式)")
    locks.check(username, now)
    if not known():
        raise locks.miss(username, now, *_lock_policy(ctx))
    locks.success(username)
    user_id = row["id"] if row else "c" + "0" * 24
    return {"task_id": None, "data": {"token": ctx.state.auth.issue_token(user_id, username)}}


@operation("create-root-user")
def create_root_user(ctx: Ctx, body: dict):
    row = user_row(ctx, ctx.state.config.username)
    if row is not None:
        raise bad_request("The root user already exists", "root 用户已存在")
    ctx.state.auth.accounts[0].password = body["password"]
    row = ctx.store.insert("User", {
        "name": ctx.state.config.username, "username": ctx.state.config.username,
        "display_username": ctx.state.config.username, "internal": False, "source": "LOCAL", "role": "ROOT"})
    return {"task_id": None, "data": ctx.store.render("User", row)}


@operation("get-my-info")
def my_info(ctx: Ctx, body):
    user = ctx.user
    if user is None:
        # 2.8.0 .. 3.4.4 declare get-my-info with `security: []`: the token still says who asks
        user = ctx.state.auth.verify(ctx.headers.get("Authorization"))
        if user is None:
            raise unauthorized()
    username = user.get("username", "")
    row = ctx.store.get("User", user.get("id") or "") or user_row(ctx, username)
    if row is None:
        raise ApiError(404, f"User {username} not found", message_zh=f"用户 {username} 不存在")
    return ctx.store.render("User", row)


@operation("update-password-security")
def update_password_security(ctx: Ctx, body):
    """GlobalSettings.auth: password expiry and complexity, and the lock policy logins follow."""
    from .mutations import fill_required, respond, row_restorer, start_task
    body = body or {}
    for key in ("login_miss_num_threshold", "login_miss_time_threshold", "password_expire_days"):
        v = body.get(key)
        if v is not None and v < (0 if key == "password_expire_days" else 1):
            raise bad_request(f"{key}: must be a positive integer, got {v}", f"{key}: 必须为正整数")
    store = ctx.store
    rows = store.all("GlobalSettings") or [store.insert("GlobalSettings", fill_required(ctx, "GlobalSettings", {}))]
    before = list(rows)
    known = ctx.contract.properties(ctx.op.request_schema) if ctx.op.request_schema else {}
    # the params object is open: a key it does not declare is no setting of auth
    changes = {k: v for k, v in body.items() if v is not None and k in known}
    for r in rows:
        store.update("GlobalSettings", r["id"], {"auth": {**(r.get("auth") or {}), **changes}})
    first = rows[0]["id"]
    tid = start_task(ctx, "GlobalSettings", first, "update", before=before[0], mutation="updatePasswordSecurity",
                     on_failure=row_restorer(ctx, "GlobalSettings", before[1:]))
    return respond(ctx, [(tid, "GlobalSettings", first)])


@operation("get-version")
def version(ctx: Ctx, body):
    v = ctx.contract.version
    return v[:-2] + ".0" if v.endswith(".x") else v
