"""The serving process's GC policy (mock_server.gcpolicy), in a process of its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_what_outlives_a_full_pass_is_frozen_and_young_passes_are_rarer():
    assert run("""
        import gc
        from mock_server import gcpolicy
        gcpolicy.install(); gcpolicy.install()          # idempotent
        assert gc.get_threshold()[0] == gcpolicy.YOUNG_THRESHOLD
        assert gc.callbacks.count(gcpolicy._freeze_after_pass) == 1
        before = gc.get_freeze_count()
        rows = [{"id": str(i), "tags": []} for i in range(5000)]   # young passes may freeze some already
        gc.collect()
        assert gc.get_freeze_count() >= before + 10000, (before, gc.get_freeze_count())
        assert all(gc.get_count()[g] == 0 for g in (1, 2))
        print("ok")
    """) == "ok"


def test_frozen_objects_are_still_freed_by_reference_counting():
    assert run("""
        import gc, weakref
        from mock_server import gcpolicy
        gcpolicy.install()
        class Row(dict): pass
        row = Row(id="x")
        ref = weakref.ref(row)
        gc.collect()                                     # row is frozen now
        del row
        assert ref() is None                             # freed at once, frozen or not
        print("ok")
    """) == "ok"


def test_what_outlives_a_young_pass_is_frozen_too():
    """A write burst's survivors do not pile up for a middle-generation pass (a 100+ ms stop
    of every request at 200,000 objects)."""
    assert run("""
        import gc
        from mock_server import gcpolicy
        gcpolicy.install()
        gc.collect()
        kept = []
        frozen = gc.get_freeze_count()
        for i in range(gcpolicy.YOUNG_THRESHOLD * 3):
            kept.append({"id": i, "tags": []})         # survivors, as a burst's new rows
        assert gc.get_freeze_count() >= frozen + gcpolicy.YOUNG_THRESHOLD * 2, gc.get_freeze_count()
        assert gc.get_count()[1] == 0 and len(gc.get_objects(1)) == 0
        # a cycle that dies before a pass is still collected
        class Node: pass
        a, b = Node(), Node()
        a.other, b.other = b, a
        import weakref
        ref = weakref.ref(a)
        del a, b
        gc.collect(0)
        assert ref() is None
        print("ok")
    """) == "ok"


def test_a_dropped_namespace_is_freed_by_reference_counting():
    """What the policy freezes is never walked again, so a store must not need the cyclic GC
    to be freed: a namespace's store, used (rendered, cached, written) then dropped, goes at
    once with the collector off. Its renderer and render cache held it in a cycle, which
    leaked every deleted namespace once frozen (70 MiB/min in tools/soak.py)."""
    assert run("""
        import gc, weakref
        from mock_server.app import create_app
        from mock_server.state import MockConfig
        app = create_app(MockConfig(task_speed=0))
        c = app.test_client()
        tok = c.post("/v2/api/login", json={"username": "root", "password": "root"}).get_json()["data"]["token"]
        h = {"Authorization": tok, "X-Mock-Namespace": "scratch"}
        vms = c.post("/v2/api/get-vms", json={"first": 5}, headers=h).get_json()
        assert len(vms) == 5
        r = c.post("/v2/api/update-vm-basic-info", json={"where": {"id": vms[0]["id"]}, "data": {"description": "x"}},
                   headers=h)
        assert r.status_code == 200, r.get_data()
        state = app.config["MOCK_STATE"]
        ref = weakref.ref(state.world("scratch").store)
        gc.collect()
        gc.disable()
        r = c.delete("/_mock/namespaces/scratch", headers={"Authorization": tok})
        assert r.status_code in (200, 204), (r.status_code, r.get_data())
        assert "scratch" not in state.worlds
        assert ref() is None, gc.get_referrers(ref())
        print("ok")
    """) == "ok"
