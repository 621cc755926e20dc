"""Generated where code is compiled once per shape of the where; values are bound per query."""

from __future__ import annotations

from mock_server.query import codegen, engine
from mock_server.query.model import DictSource, FieldDesc, ModelDesc, QuerySchema


def test_one_compile_per_shape_and_the_values_of_each_query():
    schema = QuerySchema({"Vm": ModelDesc("Vm", {"name": FieldDesc("name", "String"),
                                                 "vcpu": FieldDesc("vcpu", "Int")})})
    rows = [{"id": f"v{i}", "name": f"vm-{i}", "vcpu": i % 4} for i in range(40)]
    src = DictSource({"Vm": rows})
    codegen._CODE.clear()
    for text, cpus in (("1", 1), ("2", 3), ("3", 0)):
        got = engine.find(schema, src, "Vm", {"where": {"name_contains": text, "vcpu_gt": cpus}})
        assert [r["id"] for r in got] == sorted(r["id"] for r in rows if text in r["name"] and r["vcpu"] > cpus)
    assert len(codegen._CODE) == 1
    engine.find(schema, src, "Vm", {"where": {"name_starts_with": "vm-1"}})
    assert len(codegen._CODE) == 2
