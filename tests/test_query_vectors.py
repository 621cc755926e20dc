"""The worked query vectors (shared docs/query-vectors.json) all pass through the engine, both
in-process and through the tools/query_vectors.py command line."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "query_vectors.py"


def _shared_dir() -> Path:
    env = os.environ.get("CLOUDTOWER_SHARED")
    return Path(env) if env else REPO.parent / "shared"


VECTORS = _shared_dir() / "docs" / "query-vectors.json"


def _load_tool():
    spec = importlib.util.spec_from_file_location("query_vectors_tool", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


tool = _load_tool()
needs_vectors = pytest.mark.skipif(not VECTORS.exists(), reason=f"{VECTORS} not found")


def _run(*paths: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, str(TOOL), *map(str, paths)], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)


@needs_vectors
def test_all_vectors_pass_in_process():
    passed, failures = tool.run_file(str(VECTORS))
    assert failures == []
    assert passed == len(json.loads(VECTORS.read_text()))


@needs_vectors
@pytest.mark.parametrize("vec", json.loads(VECTORS.read_text()) if VECTORS.exists() else [],
                         ids=lambda v: v.get("id", v.get("name")))
def test_vector(vec):
    ok, why = tool.run_vector(vec)
    assert ok, why


@needs_vectors
def test_tool_cli_passes():
    proc = _run(VECTORS)
    lines = proc.stdout.strip().splitlines()
    n = len(json.loads(VECTORS.read_text()))
    assert lines[-1] == f"{n} passed, 0 failed", proc.stdout + proc.stderr
    assert proc.returncode == 0


def _wrong_vectors() -> list[dict]:
    schema = {"Vm": {"id": "ID", "name": "String", "cpu": "Int?"},
              "Cluster": {"id": "ID", "name": "String"}}
    schema["Vm"]["cluster"] = "Relation(Cluster)?"
    data = [{"id": "a", "name": "x", "cpu": 1, "cluster": {"id": "c1", "name": "p"}},
            {"id": "b", "name": "y", "cpu": None, "cluster": None},
            {"id": "c", "name": "z", "cpu": 3, "cluster": {"id": "c1", "name": "p"}}]
    base = {"op": "list", "model": "Vm", "schema": schema, "dataset": data}
    return [
        {**base, "id": "w1", "name": "right answer", "args": {"where": {"cluster": {"name": "p"}}},
         "expected_ids": ["a", "c"]},
        {**base, "id": "w2", "name": "deliberately wrong order", "args": {"where": {"cpu_not": 2}},
         "expected_ids": ["c", "a"]},
        {**base, "id": "w3", "name": "deliberately wrong count", "op": "count", "args": {},
         "expected_count": 2},
        {**base, "id": "w4", "name": "deliberately wrong error code", "args": {"first": -1},
         "expected_error": "The 'first' argument must be non negative", "expected_error_code": 3027},
    ]


def test_tool_reports_wrong_expectations(tmp_path):
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(_wrong_vectors()))
    proc = _run(path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.strip().splitlines()[-1] == "1 passed, 3 failed"
    for vid, name in (("w2", "deliberately wrong order"), ("w3", "deliberately wrong count"),
                      ("w4", "deliberately wrong error code")):
        assert f"{vid} {name}" in out
    assert "w1 " not in out


def test_tool_infers_models_missing_from_schema():
    vecs = _wrong_vectors()[:1]
    del vecs[0]["schema"]["Cluster"]
    passed, failures = tool.run_vectors(vecs)
    assert (passed, failures) == (1, [])


def test_tool_merges_repeated_related_records():
    schema = {"Vm": {"id": "ID", "labels": "Relation[](Label)"}, "Label": {"id": "ID", "k": "String?"}}
    data = [{"id": "v1", "labels": [{"id": "l1", "k": "env"}]},
            {"id": "v2", "labels": [{"id": "l1"}, {"id": "l2", "k": None}]}]
    qs = tool.build_schema(schema, data, "Vm")
    tables = tool.normalise(qs, "Vm", data)
    labels = {r["id"]: r for r in tables["Label"]}
    assert labels["l1"]["k"] == "env" and labels["l2"]["k"] is None
    assert {r["id"]: r["labels"] for r in tables["Vm"]} == {"v1": ["l1"], "v2": ["l1", "l2"]}
