"""Where the contract comes from: the installed official SDK (default) or a spec file."""

from __future__ import annotations

import json
from pathlib import Path

from .index import Contract


def load_contract(spec: str | Path | None = None, cache_dir: str | Path | None = None) -> Contract:
    """A real CloudTower OpenAPI document when `spec` is given, else the one derived from
    the installed `cloudtower-sdk` package (cached on disk, keyed by the SDK version)."""
    if spec is not None:
        return Contract(read_spec(spec), source=f"spec {Path(spec).name}")
    from .sdk_derive import load_sdk_contract
    doc = load_sdk_contract(cache_dir=cache_dir)
    sdk = doc.get("info", {}).get("x-sdk-version", "?")
    return Contract(doc, source=f"cloudtower-sdk {sdk}")


def read_spec(spec: str | Path) -> dict:
    """A CloudTower OpenAPI document from a file; ContractError says what is wrong with it."""
    path = Path(spec)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ContractError(f"cannot read spec file {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ContractError(f"spec file {path} is not valid JSON: line {e.lineno}: {e.msg}") from e
    except (UnicodeDecodeError, RecursionError) as e:
        raise ContractError(f"spec file {path} is not a UTF-8 JSON document ({e})") from e
    if not isinstance(doc, dict) or "paths" not in doc or "components" not in doc:
        raise ContractError(f"spec file {path} is not an OpenAPI document (no paths/components)")
    return doc


class ContractError(Exception):
    pass
