"""Write mock_server/contract/input_facts.json: what a CloudTower spec says about request
inputs that the Python SDK cannot tell.

The SDK's models carry no nullability and no `additionalProperties`, so the derivation
restores them by rule (see mock_server/contract/sdk_derive.py): GraphQL-side inputs
(`*WhereInput`, `*WhereUniqueInput`, `*OrderByInput`, `Get*RequestBody`) take null for every
optional key; the REST parameter objects (`*Params` and the objects only they reach) do not,
as tsoa validates them. This small generated table lists the spec's exceptions to those
rules, so the derived contract rejects and accepts what the spec does:

* "nullable": request-only fields (`Schema.field`) outside the GraphQL inputs that the spec
  declares nullable although optional;
* "open": request schemas the name rule would close that the spec leaves open (not the
  `*WhereInput`s: a where key the SDK lacks could be accepted but not evaluated);
* "closed": request schemas the name rule would leave open that the spec closes;
* "bounds": request fields (`Schema.field`) whose values the spec bounds through a named
  scalar component (e.g. `ReplicaNum`, 2..3), as {"minimum", "maximum", "items"?}.

    python tools/gen_input_facts.py SPEC.json [-o mock_server/contract/input_facts.json]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spec_tables import table_main  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "mock_server" / "contract" / "input_facts.json"
GRAPHQL_INPUT = re.compile(r"^(.*WhereInput|.*WhereUniqueInput|.*OrderByInput|Get.*RequestBody)$")
STRICT_NAME = re.compile(r"^(Nested.*|.*WhereInput|.*WhereUniqueInput|Get.*RequestBody|.*Connection)$")
NEVER_STRICT = re.compile(r"^(WithTask.*|Delete.*|ErrorBody)$")


def _reach(spec: dict, roots) -> set[str]:
    schemas = spec.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def walk(x) -> None:
        if isinstance(x, dict):
            ref = x.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if name not in seen and name in schemas:
                    seen.add(name)
                    walk(schemas[name])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(roots)
    return seen


def _objects(schema: dict):
    """The object schemas a component is made of (itself, or its allOf parts)."""
    yield schema
    for part in schema.get("allOf", []) or []:
        if isinstance(part, dict) and "$ref" not in part:
            yield part


def _bounds(schemas: dict, ps: dict) -> dict | None:
    """minimum/maximum of a property given as a $ref (or an array of them) to a scalar component."""
    items = ps.get("type") == "array"
    target = ps.get("items") if items else ps
    ref = (target or {}).get("$ref") or next((p.get("$ref") for p in (target or {}).get("allOf", []) or []
                                              if isinstance(p, dict) and "$ref" in p), None)
    comp = schemas.get(ref.rsplit("/", 1)[-1], {}) if isinstance(ref, str) else {}
    b = {k: comp[k] for k in ("minimum", "maximum") if k in comp and comp.get("type") in ("integer", "number")}
    return {**b, "items": True} if b and items else (b or None)


def table(spec: dict) -> dict:
    schemas = spec.get("components", {}).get("schemas", {})
    ops = [o for item in spec.get("paths", {}).values() for o in item.values() if isinstance(o, dict)]
    request = _reach(spec, [o.get("requestBody", {}) for o in ops])
    response = _reach(spec, [(o.get("responses") or {}).get("200", {}) for o in ops])
    nullable, opened, closed, bounds = [], [], [], {}
    for name in sorted(request):
        s = schemas[name]
        if name not in response and not GRAPHQL_INPUT.match(name):
            for part in _objects(s):
                req = set(part.get("required", ()) or ())
                for field, ps in (part.get("properties") or {}).items():
                    if field not in req and isinstance(ps, dict) and ps.get("nullable"):
                        nullable.append(f"{name}.{field}")
        for part in _objects(s):
            for field, ps in (part.get("properties") or {}).items():
                b = _bounds(schemas, ps) if isinstance(ps, dict) else None
                if b:
                    bounds[f"{name}.{field}"] = b
        if s.get("type") == "object" and not NEVER_STRICT.match(name):
            is_closed = s.get("additionalProperties") is False
            rule = bool(STRICT_NAME.match(name)) or name not in request
            if rule and not is_closed and not name.endswith("WhereInput"):
                opened.append(name)     # (a where key the SDK lacks cannot be evaluated: stays 400)
            elif is_closed and not rule:
                closed.append(name)
    return {"source": spec.get("info", {}).get("version"), "nullable": sorted(set(nullable)),
            "open": opened, "closed": closed, "bounds": bounds}


def main(argv: list[str] | None = None) -> int:
    return table_main("gen_input_facts", __doc__.splitlines()[0], OUT, table,
                      lambda t: (f"{len(t['nullable'])} nullable fields, {len(t['open'])} open, "
                                   f"{len(t['closed'])} closed, {len(t['bounds'])} bounded"), argv)


if __name__ == "__main__":
    sys.exit(main())
