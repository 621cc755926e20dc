"""Login, the root user, who-am-I and the API version."""

from __future__ import annotations

from ..errors import ApiError, bad_request
from . import Ctx, operation


def user_row(ctx: Ctx, username: str) -> dict | None:
    if "User" not in ctx.contract.resources:
        return None
    rows = ctx.store.find_by("User", "username", username) if "username" in \
        ctx.contract.resources["User"].properties else ctx.store.find_by("User", "name", username)
    return rows[0] if rows else None


@operation("login")
def login(ctx: Ctx, body: dict):
    acc = ctx.state.auth.check_login(body.get("username", ""), body.get("password", ""), body.get("source"))
    if acc is None:
        raise bad_request("Login failed: invalid username, password or source",
                          "登录失败: 用户名、密码或来源错误")
    row = user_row(ctx, acc.username)
    user_id = row["id"] if row else "c" + "0" * 24
    return {"task_id": None, "data": {"token": ctx.state.auth.issue_token(user_id, acc.username)}}


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
    username = (ctx.user or {}).get("username", "")
    row = ctx.store.get("User", (ctx.user or {}).get("id") or "") or user_row(ctx, username)
    if row is None:
        raise ApiError(404, f"User {username} not found", message_zh=f"用户 {username} 不存在")
    return ctx.store.render("User", row)


@operation("get-version")
def version(ctx: Ctx, body):
    v = ctx.contract.version
    return v[:-2] + ".0" if v.endswith(".x") else v
