"""Focused unit tests for the query engine's tricky rules (docs/query-semantics.md)."""

from __future__ import annotations

import pytest

from mock_server.query.collation import collation_key, instant
from mock_server.query.engine import (MSG_FIRST_AND_LAST, compile_where, count, find,
                                      parse_where_key, validate_args)
from mock_server.query.model import (BOOLEAN, DATETIME, ENUM, FLOAT, ID, INT, JSON, STRING,
                                     DictSource, FieldDesc, ModelDesc, QueryError, QuerySchema,
                                     RelationDesc)


def _schema():
    vm = ModelDesc("Vm", {
        "id": FieldDesc("id", ID, False),
        "name": FieldDesc("name", STRING),
        "vcpu": FieldDesc("vcpu", INT),
        "memory": FieldDesc("memory", FLOAT),
        "status": FieldDesc("status", ENUM, enum_values=("RUNNING", "STOPPED", "SUSPENDED")),
        "ha": FieldDesc("ha", BOOLEAN),
        "local_created_at": FieldDesc("local_created_at", DATETIME),
        "cpu": FieldDesc("cpu", JSON),
        "local_id": FieldDesc("local_id", STRING),
    }, {
        "cluster": RelationDesc("cluster", "Cluster", False),
        "labels": RelationDesc("labels", "Label", True),
        "vm_disks": RelationDesc("vm_disks", "VmDisk", True),
    })
    cluster = ModelDesc("Cluster", {"id": FieldDesc("id", ID, False), "name": FieldDesc("name", STRING)},
                        {"vms": RelationDesc("vms", "Vm", True)})
    label = ModelDesc("Label", {"id": FieldDesc("id", ID, False), "key": FieldDesc("key", STRING),
                                "value": FieldDesc("value", STRING)})
    disk = ModelDesc("VmDisk", {"id": FieldDesc("id", ID, False), "size": FieldDesc("size", INT)})
    return QuerySchema({"Vm": vm, "Cluster": cluster, "Label": label, "VmDisk": disk})


S = _schema()


def _vm(i, **kw):
    row = {"id": f"vm{i:02d}", "name": None, "vcpu": None, "memory": None, "status": None,
           "ha": None, "local_created_at": None, "cpu": None, "local_id": None,
           "cluster": None, "labels": [], "vm_disks": []}
    row.update(kw)
    return row


def ids(rows):
    return [r["id"] for r in rows]


def run(rows, args, extra=None):
    tables = {"Vm": rows, "Cluster": [], "Label": [], "VmDisk": []}
    tables.update(extra or {})
    src = DictSource(tables)
    got = ids(find(S, src, "Vm", args))
    assert count(S, src, "Vm", args) == len(got)
    return got


# ------------------------------------------------------------------ collation / ordering

def test_collation_order_lowercase_first_case_insensitive():
    words = ["banana", "Apple", "cherry", "apple", "Banana", "a b", "a_b", "ab", "a1", "A"]
    got = sorted(words, key=collation_key)
    assert got == ["A", "a b", "a_b", "a1", "ab", "apple", "Apple", "banana", "Banana", "cherry"] or \
        got.index("apple") < got.index("Apple") < got.index("banana") < got.index("Banana")
    assert sorted(["Apple", "banana", "apple", "Banana"], key=collation_key) == \
        ["apple", "Apple", "banana", "Banana"]


def test_string_orderby_and_lt_use_collation():
    rows = [_vm(1, name="apple"), _vm(2, name="Banana"), _vm(3, name="cherry"),
            _vm(4, name="Apple"), _vm(5, name="banana")]
    assert run(rows, {"orderBy": "name_ASC"}) == ["vm01", "vm04", "vm05", "vm02", "vm03"]
    assert run(rows, {"orderBy": "name_DESC"}) == ["vm03", "vm02", "vm05", "vm04", "vm01"]
    assert run(rows, {"where": {"name_lt": "b"}}) == ["vm01", "vm04"]
    assert run(rows, {"where": {"name_gte": "Apple"}}) == ["vm02", "vm03", "vm04", "vm05"]


def test_id_compares_as_plain_strings():
    rows = [_vm(1), _vm(2)]
    rows[0]["id"], rows[1]["id"] = "B", "a"
    assert run(rows, {"where": {"id_lt": "a"}}) == ["B"]
    assert run(rows, {}) == ["B", "a"]


def test_nulls_last_on_asc_first_on_desc_ties_by_id():
    rows = [_vm(1, vcpu=2), _vm(2, vcpu=None), _vm(3, vcpu=2), _vm(4, vcpu=1), _vm(5, vcpu=None)]
    assert run(rows, {"orderBy": "vcpu_ASC"}) == ["vm04", "vm01", "vm03", "vm02", "vm05"]
    assert run(rows, {"orderBy": "vcpu_DESC"}) == ["vm02", "vm05", "vm01", "vm03", "vm04"]
    assert run(rows, {"orderBy": "vcpu_ASC", "last": 2}) == ["vm02", "vm05"]


def test_enum_sorts_by_name_booleans_false_first():
    rows = [_vm(1, status="STOPPED", ha=True), _vm(2, status="RUNNING", ha=False),
            _vm(3, status="SUSPENDED", ha=None)]
    assert run(rows, {"orderBy": "status_ASC"}) == ["vm02", "vm01", "vm03"]
    assert run(rows, {"orderBy": "ha_ASC"}) == ["vm02", "vm01", "vm03"]


def test_orderby_on_json_and_timestamps_accepted():
    rows = [_vm(1, cpu={"b": 1, "a": 2}), _vm(2, cpu={"a": 1}), _vm(3)]
    assert run(rows, {"orderBy": "cpu_ASC"}) == ["vm02", "vm01", "vm03"]
    assert run(rows, {"orderBy": "createdAt_DESC"}) == ["vm01", "vm02", "vm03"]
    with pytest.raises(QueryError, match="Unknown orderBy value 'nope_ASC' for VmOrderByInput"):
        run(rows, {"orderBy": "nope_ASC"})


# ------------------------------------------------------------------ operators and nulls

def test_every_on_empty_and_unknown_related_rows():
    labels = [{"id": "l1", "key": "env", "value": None}, {"id": "l2", "key": "env", "value": "dev"},
              {"id": "l3", "key": "tier", "value": "web"}]
    rows = [_vm(1, labels=[]), _vm(2, labels=["l1"]), _vm(3, labels=["l2", "l3"]),
            _vm(4, labels=["l2"])]
    ex = {"Label": labels}
    assert run(rows, {"where": {"labels_every": {"value": "dev"}}}, ex) == ["vm01", "vm02", "vm04"]
    assert run(rows, {"where": {"labels_every": {}}}, ex) == ["vm01", "vm02", "vm03", "vm04"]
    assert run(rows, {"where": {"labels_every": {"OR": []}}}, ex) == ["vm01"]
    assert run(rows, {"where": {"labels_some": {}}}, ex) == ["vm02", "vm03", "vm04"]
    assert run(rows, {"where": {"labels_none": {}}}, ex) == ["vm01"]
    assert run(rows, {"where": {"labels_some": {"value": "dev"}}}, ex) == ["vm03", "vm04"]
    assert run(rows, {"where": {"labels_none": {"key": "tier"}}}, ex) == ["vm01", "vm02", "vm04"]
    # relation tests are two-valued: NOT(_some) returns the complement
    assert run(rows, {"where": {"NOT": {"labels_some": {"value": "dev"}}}}, ex) == ["vm01", "vm02"]


def test_to_one_relation_filters():
    clusters = [{"id": "c1", "name": "prod"}, {"id": "c2", "name": None}]
    rows = [_vm(1, cluster="c1"), _vm(2, cluster="c2"), _vm(3, cluster=None)]
    ex = {"Cluster": clusters}
    assert run(rows, {"where": {"cluster": {"name_not": "x"}}}, ex) == ["vm01"]
    assert run(rows, {"where": {"NOT": [{"cluster": {"name": "prod"}}]}}, ex) == ["vm02", "vm03"]
    assert run(rows, {"where": {"cluster": None}}, ex) == ["vm03"]
    assert run(rows, {"where": {"cluster": {}}}, ex) == ["vm01", "vm02"]
    assert run(rows, {"where": {"cluster": {"id": "c2"}}}, ex) == ["vm02"]


def test_three_valued_logic_excludes_nulls():
    rows = [_vm(1, vcpu=2, name="a"), _vm(2, vcpu=None, name=None), _vm(3, vcpu=4, name="b")]
    assert run(rows, {"where": {"vcpu_not": 2}}) == ["vm03"]
    assert run(rows, {"where": {"vcpu_not_in": [2]}}) == ["vm03"]
    assert run(rows, {"where": {"NOT": [{"vcpu": 2}]}}) == ["vm03"]
    assert run(rows, {"where": {"name_not_contains": "z"}}) == ["vm01", "vm03"]
    assert run(rows, {"where": {"vcpu_lt": None}}) == []
    assert run(rows, {"where": {"NOT": {"vcpu_lt": None}}}) == []
    assert run(rows, {"where": {"vcpu": None}}) == ["vm02"]
    assert run(rows, {"where": {"vcpu_in": None}}) == ["vm02"]
    assert run(rows, {"where": {"vcpu_not": None}}) == ["vm01", "vm03"]
    assert run(rows, {"where": {"vcpu_in": []}}) == []
    assert run(rows, {"where": {"vcpu_not_in": []}}) == ["vm01", "vm02", "vm03"]
    assert run(rows, {"where": {"OR": [{"vcpu_gt": 3}, {"vcpu": None}]}}) == ["vm02", "vm03"]


def test_empty_logic_cases():
    rows = [_vm(1, vcpu=1), _vm(2, vcpu=16)]
    assert run(rows, {"where": {"AND": []}}) == ["vm01", "vm02"]
    assert run(rows, {"where": {"OR": []}}) == []
    assert run(rows, {"where": {"NOT": []}}) == ["vm01", "vm02"]
    assert run(rows, {"where": {"NOT": [{}]}}) == []
    assert run(rows, {"where": {"NOT": {}}}) == []
    assert run(rows, {"where": {"OR": [{}, {"vcpu": 16}]}}) == ["vm02"]
    assert run(rows, {"where": {"OR": [{"AND": []}, {"vcpu": 16}]}}) == ["vm01", "vm02"]
    assert run(rows, {"where": {"AND": [{}], "OR": [{}]}}) == ["vm01", "vm02"]
    assert run(rows, {"where": {"OR": [], "vcpu": 1}}) == []


def test_numeric_strings_accepted_for_numeric_fields():
    rows = [_vm(1, vcpu=2, memory=100.5), _vm(2, vcpu=4, memory=100.500000000001)]
    assert run(rows, {"where": {"vcpu_gt": "2"}}) == ["vm02"]
    assert run(rows, {"where": {"vcpu_in": ["2", 4]}}) == ["vm01", "vm02"]
    assert run(rows, {"where": {"memory_gt": 100.5}}) == ["vm02"]
    assert run(rows, {"where": {"memory_gt": "100.500000000001"}}) == []
    assert run(rows, {"where": {"memory_lt": "100.5000000000000000001"}}) == ["vm01"]
    assert run(rows, {"where": {"memory": "100.5"}}) == ["vm01"]
    with pytest.raises(QueryError):
        run(rows, {"where": {"vcpu_gt": "two"}})
    with pytest.raises(QueryError):
        run(rows, {"where": {"vcpu_gt": True}})


def test_contains_is_literal_and_case_sensitive():
    rows = [_vm(1, name="prod_web"), _vm(2, name="prod web"), _vm(3, name="Prod%db"),
            _vm(4, name="prodXweb")]
    assert run(rows, {"where": {"name_contains": "d_w"}}) == ["vm01"]
    assert run(rows, {"where": {"name_contains": "%"}}) == ["vm03"]
    assert run(rows, {"where": {"name_starts_with": "prod"}}) == ["vm01", "vm02", "vm04"]
    assert run(rows, {"where": {"name_ends_with": "_web"}}) == ["vm01"]
    assert run(rows, {"where": {"name_not_starts_with": "p"}}) == ["vm03"]
    assert run(rows, {"where": {"name": "prod web"}}) == ["vm02"]
    assert run(rows, {"where": {"name_contains": ""}}) == ["vm01", "vm02", "vm03", "vm04"]


def test_datetime_instants_and_partial_dates():
    rows = [_vm(1, local_created_at="2016-09-24T12:29:32.342Z"),
            _vm(2, local_created_at="2017-01-01T00:00:00.000Z"),
            _vm(3, local_created_at="2019-12-24T00:00:00.001Z"),
            _vm(4, local_created_at="2019-12-23T23:00:00-02:00")]
    assert run(rows, {"where": {"local_created_at": "2016-09-24T12:29:32.342"}}) == ["vm01"]
    assert run(rows, {"where": {"local_created_at_gte": "2017"}}) == ["vm02", "vm03", "vm04"]
    assert run(rows, {"where": {"local_created_at_gt": "2017"}}) == ["vm03", "vm04"]
    assert run(rows, {"where": {"local_created_at_gte": "2019-12-24"}}) == ["vm03", "vm04"]
    assert run(rows, {"where": {"local_created_at_lt": "2019-12-24"}}) == ["vm01", "vm02"]
    assert run(rows, {"orderBy": "local_created_at_DESC"}) == ["vm04", "vm03", "vm02", "vm01"]
    assert instant("2017") == instant("2017-01-01T00:00:00Z") == instant("2017-01-01T00:00:00.000")
    with pytest.raises(QueryError):
        run(rows, {"where": {"local_created_at_gt": "yesterday"}})


def test_booleans_and_enums():
    rows = [_vm(1, ha=True, status="RUNNING"), _vm(2, ha=False, status="STOPPED"), _vm(3)]
    assert run(rows, {"where": {"ha_not": True}}) == ["vm02"]
    assert run(rows, {"where": {"status_not_in": ["RUNNING"]}}) == ["vm02"]
    with pytest.raises(QueryError):
        run(rows, {"where": {"status": "BOGUS"}})
    with pytest.raises(QueryError, match="Unknown where key 'ha_in'"):
        run(rows, {"where": {"ha_in": [True]}})
    with pytest.raises(QueryError, match="Unknown where key 'status_lt'"):
        run(rows, {"where": {"status_lt": "RUNNING"}})


# ------------------------------------------------------------------ keys

def test_where_key_parsing_prefers_longest_field():
    vm = S.model("Vm")
    assert parse_where_key(vm, "local_created_at_gte")[1:] == (vm.fields["local_created_at"], "_gte")
    assert parse_where_key(vm, "vm_disks_some")[0:2] == ("many", vm.relations["vm_disks"])
    assert parse_where_key(vm, "name_not_starts_with")[1:] == (vm.fields["name"], "_not_starts_with")
    odd = ModelDesc("Odd", {"name": FieldDesc("name", STRING), "name_not": FieldDesc("name_not", STRING)})
    assert parse_where_key(odd, "name_not")[1:] == (odd.fields["name_not"], "")
    assert parse_where_key(odd, "name_not_in")[1:] == (odd.fields["name_not"], "_in")
    assert parse_where_key(odd, "name_not_starts_with")[1:] == (odd.fields["name_not"], "_starts_with")
    assert parse_where_key(odd, "name_contains")[1:] == (odd.fields["name"], "_contains")
    assert parse_where_key(vm, "cpu_in") is None          # JSON has no operators
    assert parse_where_key(vm, "labels") is None
    assert parse_where_key(vm, "cluster_some") is None


def test_unknown_keys_and_where_keys_restriction():
    with pytest.raises(QueryError) as e:
        validate_args(S, "Vm", {"where": {"AND": [{"cluster": {"foo": 1}}]}})
    assert e.value.message == "Unknown where key 'foo' on ClusterWhereInput"
    assert e.value.field == "where.AND[0].cluster.foo"
    restricted = QuerySchema(dict(S.models))
    vm = S.model("Vm")
    restricted.models["Vm"] = ModelDesc("Vm", vm.fields, vm.relations, frozenset({"id", "name"}))
    validate_args(restricted, "Vm", {"where": {"name": "x", "OR": [{"id": "y"}]}})
    with pytest.raises(QueryError, match="Unknown where key 'vcpu' on VmWhereInput"):
        validate_args(restricted, "Vm", {"where": {"vcpu": 1}})


# ------------------------------------------------------------------ errors

def _err(args):
    with pytest.raises(QueryError) as e:
        validate_args(S, "Vm", args)
    return e.value


def test_error_order_and_messages():
    e = _err({"where": {"OR": [{"cluster": {"vms_every": None}}]}, "first": 1, "last": 1})
    assert (e.code, e.message) == (3033, "The field 'vms' is a toMany relation. This cannot be filtered by null.")
    assert e.field == "where.OR[0].cluster.vms_every"
    e = _err({"where": {"labels_some": None}})
    assert e.field == "where.labels_some" and e.code == 3033
    assert (_err({"first": 0, "last": 0}).code, _err({"first": -1, "last": -3}).message) == (3014, MSG_FIRST_AND_LAST)
    assert _err({"first": -1, "skip": -1}).code == 3026
    assert _err({"last": -1, "skip": -1}).code == 3027
    assert _err({"skip": -1}).message == "The 'skip' argument must be non negative"
    # malformed input beats the Prisma checks
    e = _err({"where": {"labels_some": None, "bogus": 1}})
    assert e.code is None and "bogus" in e.message
    assert _err({"first": "3"}).code is None
    assert _err({"first": 2 ** 31}).code is None
    assert _err({"where": {"name_in": [None]}}).code is None
    assert _err({"where": {"name": 5}}).field == "where.name"
    assert _err({"where": []}).code is None
    assert _err({"orderBy": 5}).code is None


def test_first_int32_max_serves_everything():
    rows = [_vm(i) for i in range(1, 4)]
    assert run(rows, {"first": 2 ** 31 - 1}) == ["vm01", "vm02", "vm03"]
    assert run(rows, {"last": 2 ** 31 - 1, "skip": 1}) == ["vm01", "vm02"]


# ------------------------------------------------------------------ pagination

@pytest.mark.parametrize("args,expected", [
    ({"first": 3}, [1, 2, 3]), ({"last": 3}, [6, 7, 8]), ({"skip": 6}, [7, 8]),
    ({"skip": 5, "first": 2}, [6, 7]), ({"skip": 1, "last": 2}, [6, 7]),
    ({"after": "vm02", "first": 2}, [3, 4]), ({"after": "vm02", "skip": 1, "first": 2}, [4, 5]),
    ({"before": "vm05", "last": 2}, [3, 4]), ({"before": "vm07", "skip": 1, "last": 2}, [4, 5]),
    ({"before": "vm04"}, [1, 2, 3]), ({"after": "vm02", "before": "vm06"}, [3, 4, 5]),
    ({"after": "vm06", "before": "vm02"}, []), ({"first": 2, "before": "vm02"}, [1]),
    ({"last": 3, "after": "vm06"}, [7, 8]), ({"after": "nope"}, []), ({"before": "nope", "last": 1}, []),
    ({"orderBy": "id_DESC", "after": "vm06", "first": 2}, [5, 4]),
    ({"orderBy": "id_DESC", "last": 2, "skip": 1}, [3, 2]),
    ({"orderBy": "id_ASC", "first": 0}, []),
])
def test_pagination_table(args, expected):
    rows = [_vm(i) for i in range(8, 0, -1)]
    assert run(rows, args) == [f"vm{i:02d}" for i in expected]


def test_cursor_ignores_where_and_drops_null_sort_values():
    rows = [_vm(i, vcpu=c, status=s) for i, (c, s) in enumerate(
        [(2, "RUNNING"), (4, "STOPPED"), (2, "RUNNING"), (8, "RUNNING"), (4, "RUNNING"),
         (None, "RUNNING"), (2, "STOPPED"), (16, "RUNNING")], start=1)]
    assert run(rows, {"orderBy": "vcpu_ASC", "after": "vm02"}) == ["vm05", "vm04", "vm08"]
    assert run(rows, {"where": {"status": "RUNNING"}, "orderBy": "vcpu_ASC", "after": "vm07"}) == \
        ["vm05", "vm04", "vm08"]
    assert run(rows, {"orderBy": "vcpu_ASC", "after": "vm06"}) == []
    assert run(rows, {"orderBy": "vcpu_DESC", "before": "vm02"}) == ["vm08", "vm04"]
    assert run(rows, {"where": {"status": "STOPPED"}, "after": "vm01"}) == ["vm02", "vm07"]


# ------------------------------------------------------------------ compile_where

def test_compile_where_three_valued_predicate():
    cw = compile_where(S, "Vm", {"vcpu_gt": 2})
    src = DictSource({"Vm": [_vm(1, vcpu=1), _vm(2, vcpu=3), _vm(3)]})
    p = cw.bind(src)
    assert [p(src.get("Vm", i)) for i in ("vm01", "vm02", "vm03")] == [False, True, None]
    assert cw(src, src.get("Vm", "vm02")) is True
    with pytest.raises(QueryError) as e:
        compile_where(S, "Vm", {"labels_none": None})
    assert e.value.code == 3033


def test_index_paths_used_for_point_lookups():
    class Spy(DictSource):
        def __init__(self, tables):
            super().__init__(tables)
            self.scanned = 0
            by_local = {}
            by_cluster = {}
            for r in tables["Vm"]:
                by_local.setdefault(r["local_id"], set()).add(r["id"])
                by_cluster.setdefault(r["cluster"], set()).add(r["id"])
            self.idx = {"local_id": by_local, "cluster": by_cluster}

        def ids(self, model):
            if model == "Vm":
                self.scanned += 1
            return super().ids(model)

        def lookup(self, model, field, value):
            if model == "Vm" and field in self.idx:
                return set(self.idx[field].get(value, ()))
            return None

    rows = [_vm(i, local_id=f"l{i % 5}", name=f"n{i}", cluster=f"c{i % 3}") for i in range(1, 60)]
    src = Spy({"Vm": rows, "Cluster": [{"id": f"c{i}", "name": f"x{i}"} for i in range(3)]})
    for where, n in (({"id": "vm07"}, 1), ({"id_in": ["vm07", "vm09", "zz"]}, 2),
                     ({"local_id": "l2"}, 12), ({"cluster": {"id": "c1"}}, 20),
                     ({"cluster": {"id_in": ["c1", "c2"]}, "name_contains": "1"}, 10),
                     ({"AND": [{"local_id": "l1"}, {"id_in": ["vm01", "vm02"]}]}, 1)):
        got = find(S, src, "Vm", {"where": where})
        assert len(got) == n, where
        assert count(S, src, "Vm", {"where": where}) == n
    assert src.scanned == 0
