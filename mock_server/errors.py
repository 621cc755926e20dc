"""The API's own error shape: ErrorBody {message, status, path, code?, props?}."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised anywhere below the HTTP layer; answered as ErrorBody with `status`."""

    def __init__(self, status: int, message: str, code: str | int | None = None, props: Any = None,
                 message_zh: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.message_zh = message_zh
        self.code = code
        self.props = props

    def body(self, path: str, lang: str = "en-US") -> dict:
        msg = self.message_zh if (lang == "zh-CN" and self.message_zh) else self.message
        out: dict[str, Any] = {"message": msg, "status": self.status, "path": path}
        if self.code is not None:
            out["code"] = self.code
        if self.props is not None:
            out["props"] = self.props
        return out


def bad_request(message: str, message_zh: str | None = None, **kw: Any) -> ApiError:
    return ApiError(400, message, message_zh=message_zh, **kw)


def not_found(message: str, message_zh: str | None = None) -> ApiError:
    return ApiError(404, message, message_zh=message_zh)


def unauthorized(message: str = "Unauthorized: a valid token is required in the Authorization header",
                 message_zh: str = "未授权: 请在 Authorization 请求头中提供有效的 token") -> ApiError:
    return ApiError(401, message, message_zh=message_zh)
