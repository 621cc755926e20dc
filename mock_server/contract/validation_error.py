"""A request that breaks its schema: the error names the offending field by its path in the
body and says what was expected, in the request's language."""

from __future__ import annotations

from typing import Any

MESSAGES = {
    "en-US": {
        "type": "{path}: expected {expected}, got {got}",
        "required": "{path}: required field '{key}' is missing",
        "unknown": "{path}: unknown field '{key}' (not in {schema})",
        "enum": "{path}: '{value}' is not one of {allowed}",
        "null": "{path}: must not be null",
        "range": "{path}: {value} is out of range for {fmt} ({lo} .. {hi})",
        "min": "{path}: must be >= {limit}, got {value}",
        "max": "{path}: must be <= {limit}, got {value}",
        "minLength": "{path}: must be at least {limit} characters long",
        "maxLength": "{path}: must be at most {limit} characters long",
        "minItems": "{path}: must have at least {limit} items",
        "maxItems": "{path}: must have at most {limit} items",
    },
    "zh-CN": {
        "type": "{path}: 类型错误, 需要 {expected}, 实际为 {got}",
        "required": "{path}: 缺少必填字段 '{key}'",
        "unknown": "{path}: 未知字段 '{key}' (不属于 {schema})",
        "enum": "{path}: '{value}' 不是合法值, 可选值为 {allowed}",
        "null": "{path}: 不能为 null",
        "range": "{path}: {value} 超出 {fmt} 的范围 ({lo} .. {hi})",
        "min": "{path}: 必须 >= {limit}, 实际为 {value}",
        "max": "{path}: 必须 <= {limit}, 实际为 {value}",
        "minLength": "{path}: 长度至少为 {limit}",
        "maxLength": "{path}: 长度至多为 {limit}",
        "minItems": "{path}: 至少需要 {limit} 项",
        "maxItems": "{path}: 至多 {limit} 项",
    },
}


class ValidationError(Exception):
    def __init__(self, kind: str, path: Any, **params: Any):
        self.kind = kind
        self.path = render_path(path) or "body"
        self.params = params
        super().__init__(self.message("en-US"))

    def message(self, lang: str = "en-US") -> str:
        table = MESSAGES.get(lang, MESSAGES["en-US"])
        return table[self.kind].format(path=self.path, **self.params)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def join_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def render_path(path: Any) -> str:
    """A path as text: a string as it is, a (parent path, key) pair joined (see schema_checks)."""
    keys = []
    while type(path) is tuple:
        path, key = path
        keys.append(key)
    path = path or ""
    for key in reversed(keys):
        path = join_path(path, key)
    return path
