"""Write mock_server/contract/int32_fields.json: which integer fields a CloudTower spec
declares int32.

The Python SDK's models say only `int`, so a contract derived from the SDK cannot tell
int32 from int64; this small generated table (field names, not the spec) gives the
derivation back the formats, so seeded values and `where` arguments are range-checked as
typed clients (Java, Go) parse them.

    python tools/gen_int32_fields.py SPEC.json [-o mock_server/contract/int32_fields.json]

A field name is listed under "int32" when every schema that has it as an integer says
int32 (a WhereInput's `count_gt`, `count_in`, ... count as `count`); a name that is int32
in some schemas only is listed under "by_schema" with those schemas.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spec_tables import table_main  # noqa: E402

WHERE_SUFFIX = re.compile(r"_(gt|gte|lt|lte|in|not_in|not)$")
OUT = Path(__file__).resolve().parents[1] / "mock_server" / "contract" / "int32_fields.json"


def integer_format(schema: dict) -> tuple[bool, str | None]:
    for cand in [schema] + list(schema.get("allOf", [])):
        if cand.get("type") == "array":
            cand = cand.get("items") or {}
        if cand.get("type") == "integer":
            return True, cand.get("format")
    return False, None


def table(spec: dict) -> dict:
    formats: dict[str, dict[str, set[str]]] = {}
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        for field, ps in (schema.get("properties") or {}).items():
            is_int, fmt = integer_format(ps)
            if not is_int:
                continue
            base = WHERE_SUFFIX.sub("", field) if name.endswith("WhereInput") else field
            formats.setdefault(base, {}).setdefault(fmt or "int64", set()).add(name)
    int32 = sorted(f for f, by in formats.items() if set(by) == {"int32"})
    by_schema = {f: sorted(by["int32"]) for f, by in sorted(formats.items()) if "int32" in by and len(by) > 1}
    return {"source": spec.get("info", {}).get("version"), "int32": int32, "by_schema": by_schema}


def main(argv: list[str] | None = None) -> int:
    return table_main("gen_int32_fields", __doc__.splitlines()[0], OUT, table,
                      lambda t: f"{len(t['int32'])} int32 field names, {len(t['by_schema'])} schema-specific", argv)


if __name__ == "__main__":
    sys.exit(main())
