"""Input limits: how large a request body and how deep its nesting may be.

No input may reach a traceback: a body over the size limit is answered 413 before it is read,
a body nested deeper than the depth limit 400 before anything walks it (the validator, the
query engine and the JSON encoder all recurse). Both answers are the API's ErrorBody and name
the limit and the flag that changes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

KiB, MiB, GiB = 1024, 1024 ** 2, 1024 ** 3
DEFAULT_MAX_BODY = 8 * MiB        # a JSON body; real clients send far less
DEFAULT_MAX_UPLOAD = 64 * MiB     # a multipart body (the SDK uploads files in 8 MiB chunks)
DEFAULT_MAX_DEPTH = 64            # nesting levels of a JSON body (objects and arrays)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.I)
_UNITS = {"": 1, "k": KiB, "m": MiB, "g": GiB, "t": 1024 * GiB}


def parse_size(text: str | int) -> int:
    """'64MiB', '64M', '512k', '1048576' -> bytes (binary units). ValueError names the problem."""
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"a size must not be negative, got {text}")
        return text
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError(f"'{text}' is not a size (use bytes or a unit: 512k, 64MiB, 1G)")
    n = float(m.group(1)) * _UNITS[m.group(2).lower()]
    return int(n)


def human_size(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % (size // 1024 or 1) == 0:
            v = n / size
            return f"{v:g} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class Limits:
    max_body: int = DEFAULT_MAX_BODY
    max_upload: int = DEFAULT_MAX_UPLOAD
    max_depth: int = DEFAULT_MAX_DEPTH


def body_too_large(length: int, limit: int, flag: str = "--max-body") -> ApiError:
    return ApiError(413, f"request body of {length} bytes is larger than the mock's limit of "
                         f"{human_size(limit)} (serve {flag} changes it)",
                    message_zh=f"请求体 {length} 字节, 超过上限 {human_size(limit)}")


def content_length(environ: dict) -> int | None:
    """The declared body length, or None when there is none (or it is not a number)."""
    v = environ.get("CONTENT_LENGTH")
    if not v:
        return None
    try:
        return int(v)
    except ValueError:
        return None


def read_limited(environ: dict, limit: int, flag: str = "--max-body") -> bytes:
    """The request body, refusing (413) one declared or found larger than `limit` before
    reading more than limit + 1 bytes."""
    stream = environ["wsgi.input"]
    length = content_length(environ)
    if "HTTP_TRANSFER_ENCODING" in environ:
        chunks, total = [], 0
        while True:
            chunk = stream.read(min(64 * KiB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise body_too_large(total, limit, flag)
        return b"".join(chunks)
    if not length or length < 0:
        return b""
    if length > limit:
        raise body_too_large(length, limit, flag)
    return stream.read(length)


def too_deep(value: Any, limit: int) -> str | None:
    """The path (`where.AND[0].host`) of the first value nested deeper than `limit` levels,
    or None. A scalar is level 0; each object or array around it adds one."""
    if type(value) not in (dict, list):
        return None
    stack: list[tuple[Any, int, tuple]] = [(value, 1, ())]
    while stack:
        v, depth, path = stack.pop()
        if depth > limit:
            return _path(path)
        items = v.items() if type(v) is dict else enumerate(v)
        for k, x in items:
            if type(x) is dict or type(x) is list:
                stack.append((x, depth + 1, (path, k)))
    return None


def _path(link: tuple) -> str:
    parts: list[Any] = []
    while link:
        link, key = link
        parts.append(key)
    out = ""
    for k in reversed(parts):
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    if len(out) > 160:
        out = out[:80] + " ... " + out[-60:]
    return out or "(the body)"


def depth_error(limit: int, where: str, flag: str = "--max-depth") -> ApiError:
    return ApiError(400, f"request body nests deeper than the limit of {limit} levels "
                         f"(at {where}; serve {flag} changes it)",
                    message_zh=f"请求体嵌套超过 {limit} 层 (位于 {where})")


def check_depth(value: Any, limit: int, flag: str = "--max-depth") -> None:
    """400 when `value` nests deeper than `limit` levels."""
    where = too_deep(value, limit)
    if where is not None:
        raise depth_error(limit, where, flag)
