"""Property tests: the query engine against the simple reference implementation
(tests/query_reference.py), plus metamorphic properties and the index paths."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mock_server.query.engine import count, find
from mock_server.query.model import DictSource, QueryError

sys.path.insert(0, str(Path(__file__).resolve().parent))
import query_reference as ref  # noqa: E402

_TOOL = Path(__file__).resolve().parents[1] / "tools" / "query_vectors.py"
_spec = importlib.util.spec_from_file_location("query_vectors_tool_props", _TOOL)
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)

PROPS = settings(max_examples=1500, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(PROPS, max_examples=300)

SCHEMA = {
    "Vm": {"id": "ID", "name": "String?", "title": "String", "pos": "Int", "cpu": "Int?",
           "memory": "Float?", "status": "Enum(A|B|C)?", "ha": "Boolean?", "created": "DateTime?",
           "cluster": "Relation(Cluster)?", "labels": "Relation[](Label)"},
    "Cluster": {"id": "ID", "name": "String?", "size": "Int?"},
    "Label": {"id": "ID", "key": "String", "value": "String?"},
}

STRINGS = ["", "a", "A", "b", "B", "ab", "Ab", "a b", "a_b", "a%b", "ba", "abc", "B_a"]
POOLS = {
    "String": STRINGS,
    "Int": [-1, 0, 1, 2, 3],
    "Float": [0.5, 1.0, 1.5, 2, 100.5],
    "DateTime": ["2021-01-01T00:00:00.000Z", "2021-01-01T00:00:00.000", "2021-01-02T10:00:00Z",
                 "2020-12-31T23:59:59.999Z", "2021-01-01T01:00:00+01:00"],
    "Enum": ["A", "B", "C"],
    "Boolean": [False, True],
}
# where values may also use forms the stored data doesn't (numeric strings, partial dates)
WHERE_EXTRA = {"Int": ["2", "-1"], "Float": ["1.5", 1], "DateTime": ["2021", "2021-01-02", "2020-12"]}
VM_IDS = [f"v{i:02d}" for i in range(20)]
POOLS["ID"] = VM_IDS[:8] + ["c0", "c1", "c2", "l0", "l1", "l3", "v"]


def _base(spec: str):
    return spec.rstrip("?").split("(")[0]


def _scalar_fields(model):
    return [(f, _base(t)) for f, t in SCHEMA[model].items() if not t.startswith("Relation")]


# ----------------------------------------------------------------------------- generators
# Datasets, where trees and arguments are built from a seeded random.Random with explicit
# weights; hypothesis picks the seeds (a failure report names the seed). Hypothesis' own
# strategies (and its `randoms()`) lean so hard toward "simple" choices that most trees came
# out empty and NOT-over-NULL cases were never generated.

def gen_dataset(rnd):
    clusters = [{"id": f"c{i}", "name": rnd.choice([None] + STRINGS[:6]),
                 "size": rnd.choice([None, 1, 2])} for i in range(rnd.randint(0, 3))]
    labels = [{"id": f"l{i}", "key": rnd.choice(["env", "tier", "Env"]),
               "value": rnd.choice([None, "dev", "prod", "Dev"])} for i in range(rnd.randint(0, 4))]
    rows = []
    for vid in rnd.sample(VM_IDS, rnd.randint(0, 10)):
        row = {"id": vid}
        for f, base in _scalar_fields("Vm"):
            if f == "id":
                continue
            nullable = SCHEMA["Vm"][f].endswith("?")
            row[f] = None if nullable and rnd.random() > 0.75 else rnd.choice(POOLS[base])
        row["cluster"] = rnd.choice(clusters) if clusters and rnd.random() > 0.2 else None
        row["labels"] = rnd.sample(labels, rnd.randint(0, min(3, len(labels))))
        rows.append(row)
    return rows


_LIKE_VALUES = ["", "a", "b", "_", "%", "a b", "B", "ab"]


def gen_value(rnd, base, op):
    if rnd.random() > (0.8 if op in ("", "_not", "_in", "_not_in") else 0.95):
        return None
    pool = POOLS[base] + WHERE_EXTRA.get(base, [])
    if op in ("_in", "_not_in"):
        return [rnd.choice(pool) for _ in range(rnd.choice([0, 1, 1, 2, 3]))]
    if "contains" in op or "starts" in op or "ends" in op:
        return rnd.choice(_LIKE_VALUES)
    return rnd.choice(pool)


def gen_where(rnd, model="Vm", depth=2):
    where = {}
    for _ in range(rnd.choice([0, 1, 1, 1, 2, 2, 3])):
        kind = rnd.choices(["field", "logic", "not1", "rel"], [6, 2, 1, 2] if depth else [1, 0, 0, 0])[0]
        if kind == "field":
            f, base = rnd.choice([x for x in _scalar_fields(model)])
            op = rnd.choice(ref.OPS[base])
            where[f + op] = gen_value(rnd, base, op)
        elif kind == "logic":
            where[rnd.choice(["AND", "OR", "NOT"])] = [
                gen_where(rnd, model, depth - 1) for _ in range(rnd.choice([0, 1, 1, 2, 2, 3]))]
        elif kind == "not1":
            where["NOT"] = gen_where(rnd, model, depth - 1)
        else:
            rels = [(r, sp) for r, sp in SCHEMA[model].items() if sp.startswith("Relation")]
            if not rels:
                continue
            rel, spec = rnd.choice(rels)
            target = spec.split("(")[1].rstrip(")?")
            if spec.startswith("Relation[]"):
                where[rel + rnd.choice(["_some", "_every", "_none"])] = gen_where(rnd, target, depth - 1)
            else:
                where[rel] = None if rnd.random() > 0.8 else gen_where(rnd, target, depth - 1)
    return where


ORDER_FIELDS = [f for f, _ in _scalar_fields("Vm")]


def gen_args(rnd, dataset, with_errors=True):
    ids = [r["id"] for r in dataset] + ["nope"]
    args = {}
    r = rnd.random()
    args["where"] = None if r > 0.9 else {} if r > 0.85 else gen_where(rnd, "Vm", rnd.choice([0, 1, 2, 2]))
    if rnd.random() > 0.5:
        args["orderBy"] = rnd.choice(ORDER_FIELDS) + rnd.choice(["_ASC", "_DESC"])
    if rnd.random() > 0.7:
        args["skip"] = rnd.randint(0, 4)
    r = rnd.random()
    if r < 0.35:
        args["first"] = rnd.randint(0, 6)
    elif r < 0.6:
        args["last"] = rnd.randint(0, 6)
    for c in ("after", "before"):
        if rnd.random() > 0.85:
            args[c] = rnd.choice(ids)
    if with_errors and rnd.random() > 0.96:
        args["where"] = {"AND": [args["where"] or {}, {"labels_some": None}]}      # 3033
    if with_errors and rnd.random() > 0.96:
        args[rnd.choice(["first", "last", "skip"])] = rnd.randint(-2, 2)
    for k in list(args):
        if rnd.random() > 0.95:
            args[k] = None
    return args


RANDOMS = st.integers(0, 2 ** 32 - 1).map(random.Random)
datasets = lambda: RANDOMS.map(gen_dataset)  # noqa: E731
wheres = lambda: RANDOMS.map(gen_where)  # noqa: E731


def scenarios(with_errors=True):
    def build(rnd):
        dataset = gen_dataset(rnd)
        return dataset, gen_args(rnd, dataset, with_errors)
    return RANDOMS.map(build)


def engine_source(dataset):
    qs = tool.build_schema(SCHEMA, dataset, "Vm")
    return qs, DictSource(tool.normalise(qs, "Vm", dataset))


def _engine(dataset, args):
    qs, src = engine_source(dataset)
    try:
        rows = find(qs, src, "Vm", args)
    except QueryError as e:
        return ("error", e.message, e.code), None
    return [r["id"] for r in rows], count(qs, src, "Vm", args)


def _reference(dataset, args):
    try:
        return ref.query(SCHEMA, "Vm", dataset, args)
    except ref.RefError as e:
        return ("error", e.message, e.code)


# ----------------------------------------------------------------------------- properties

@PROPS
@given(scenarios())
def test_engine_matches_reference(scenario):
    dataset, args = scenario
    got, n = _engine(dataset, args)
    assert got == _reference(dataset, args)
    if n is not None:
        assert n == len(got)


@FEW
@given(datasets(), st.one_of(st.none(), wheres()),
       st.sampled_from([None, "pos_ASC", "pos_DESC", "title_ASC", "title_DESC", "id_DESC"]),
       st.integers(1, 3))
def test_paging_with_after_rebuilds_full_list(dataset, where, order, page):
    qs, src = engine_source(dataset)
    base = {"where": where, "orderBy": order}
    try:
        full = [r["id"] for r in find(qs, src, "Vm", base)]
    except QueryError:
        assume(False)
    walked, cursor = [], None
    for _ in range(len(dataset) + 2):
        rows = find(qs, src, "Vm", {**base, "first": page, "after": cursor})
        if not rows:
            break
        walked += [r["id"] for r in rows]
        cursor = rows[-1]["id"]
    assert walked == full
    # and backwards with before + last
    walked, cursor = [], None
    for _ in range(len(dataset) + 2):
        rows = find(qs, src, "Vm", {**base, "last": page, "before": cursor})
        if not rows:
            break
        walked = [r["id"] for r in rows] + walked
        cursor = rows[0]["id"]
    assert walked == full


@PROPS
@given(datasets(), wheres())
def test_where_and_not_where_never_overlap(dataset, where):
    qs, src = engine_source(dataset)
    try:
        yes = {r["id"] for r in find(qs, src, "Vm", {"where": where})}
    except QueryError:
        assume(False)
    no = {r["id"] for r in find(qs, src, "Vm", {"where": {"NOT": [where]}})}
    assert not yes & no
    assert count(qs, src, "Vm", {"where": {"NOT": where}}) == len(no)


@FEW
@given(datasets(), st.sampled_from([f for f, _ in _scalar_fields("Vm")]))
def test_in_all_values_is_identity_on_non_null_rows(dataset, field):
    qs, src = engine_source(dataset)
    values = [r[field] for r in dataset if r[field] is not None]
    non_null = sorted(r["id"] for r in dataset if r[field] is not None)
    if SCHEMA["Vm"][field].startswith("Boolean"):      # no _in on booleans: OR of equalities
        where = {"OR": [{field: v} for v in values]}
    else:
        where = {f"{field}_in": values}
    got = [r["id"] for r in find(qs, src, "Vm", {"where": where})]
    assert got == (non_null if values else [])
    assert [r["id"] for r in find(qs, src, "Vm", {"where": {f"{field}_not": None}})] == non_null


class IndexedSource(DictSource):
    """DictSource with indexes: lookup for every scalar field and to-one relation, referrers for
    every relation."""

    def __init__(self, tables):
        super().__init__(tables)
        self.index: dict = {}
        for model, rows in tables.items():
            for row in rows:
                for k, v in row.items():
                    for x in (v if isinstance(v, list) else [v]):
                        if x is not None:
                            self.index.setdefault((model, k), {}).setdefault(x, set()).add(row["id"])

    def lookup(self, model, field, value):
        if field == "labels":
            return None
        return set(self.index.get((model, field), {}).get(value, ()))

    def referrers(self, model, relation, target_ids):
        idx = self.index.get((model, relation), {})
        out = set()
        for t in target_ids:
            out |= idx.get(t, set())
        return out


@PROPS
@given(scenarios(with_errors=False))
def test_index_paths_match_plain_scans(scenario):
    dataset, args = scenario
    qs = tool.build_schema(SCHEMA, dataset, "Vm")
    tables = tool.normalise(qs, "Vm", dataset)
    plain, indexed = DictSource(tables), IndexedSource(tables)
    try:
        want = [r["id"] for r in find(qs, plain, "Vm", args)]
    except QueryError:
        assume(False)
    assert [r["id"] for r in find(qs, indexed, "Vm", args)] == want
    assert count(qs, indexed, "Vm", args) == len(want)


@FEW
@given(datasets(), st.sampled_from(VM_IDS), st.sampled_from(["c0", "c1", "c2", "zz"]))
def test_point_lookups_via_index(dataset, vid, cid):
    qs = tool.build_schema(SCHEMA, dataset, "Vm")
    tables = tool.normalise(qs, "Vm", dataset)
    plain, indexed = DictSource(tables), IndexedSource(tables)
    for where in ({"id": vid}, {"id_in": [vid, "v03"]}, {"cluster": {"id": cid}},
                  {"cluster": {"id_in": [cid, "c0"]}, "pos_gte": 1}, {"labels_some": {"key": "env"}},
                  {"title": "a"}, {"pos_in": [1, "2"]}):
        args = {"where": where}
        assert find(qs, indexed, "Vm", args) == find(qs, plain, "Vm", args)


_JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 40, 2 ** 40), st.floats(allow_nan=True),
              st.sampled_from(["", "x", "2", "1.5", "2021", "A", "v01", "nope"] + STRINGS)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["AND", "OR", "NOT", "id", "name_in",
                                                             "cpu_gt", "cluster", "labels_some",
                                                             "bogus", "key", "value"]),
                                            inner, max_size=3)),
    max_leaves=8)
_WHERE_KEYS = [f + op for f, base in _scalar_fields("Vm") for op in ref.OPS[base]] + \
    ["AND", "OR", "NOT", "cluster", "labels_some", "labels_every", "labels_none", "bogus", "labels"]


@settings(PROPS, max_examples=400)
@given(st.dictionaries(st.sampled_from(_WHERE_KEYS), _JUNK, max_size=3),
       st.dictionaries(st.sampled_from(["orderBy", "first", "last", "skip", "after", "before"]),
                       _JUNK, max_size=3),
       datasets())
def test_junk_input_raises_only_query_errors(where, rest, dataset):
    qs, src = engine_source(dataset)
    args = {"where": where, **rest}
    try:
        rows = find(qs, src, "Vm", args)
    except QueryError as e:
        assert e.message
        return
    assert count(qs, src, "Vm", args) == len(rows)
