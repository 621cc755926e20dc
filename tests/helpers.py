"""Small helpers shared by test modules: the 4.6.0 spec's path and its Contract, and a WSGI
app served in-process over real HTTP (cheroot) on a free port."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

SHARED = os.environ.get("CLOUDTOWER_SHARED") or os.path.join(os.path.dirname(__file__), "..", "..", "shared")
SPEC = os.path.join(SHARED, "specs", "cloudtower-4.6.0.json")
NO_SHARED = ("needs the real CloudTower specs (../shared/specs, or set CLOUDTOWER_SHARED); "
             "not found on this checkout")


def load_spec_contract():
    """The 4.6.0 spec as a Contract; skips the calling test when the specs are not there."""
    from mock_server.contract.index import Contract
    if not os.path.exists(SPEC):
        import pytest
        pytest.skip(NO_SHARED)
    with open(SPEC) as f:
        return Contract(json.load(f))


@contextmanager
def served_app(app, numthreads: int):
    """Serve `app` (mock_server.server) on 127.0.0.1 (a free port); yields the API base URL."""
    from mock_server.server import serve_in_thread
    srv = serve_in_thread(app, threads=numthreads)
    try:
        yield srv.api_url
    finally:
        srv.stop()


def served_mock_fixtures(task_speed: float = 0):
    """Module-scoped fixtures `mock` (a mock served over HTTP by the pytest plugin's
    start_mock) and `api` (a requests session logged in to it). In a test module:
    `mock, api = served_mock_fixtures(task_speed=0)`."""
    import pytest
    import requests

    @pytest.fixture(scope="module")
    def mock():
        from mock_server.pytest_plugin import start_mock
        m = start_mock(task_speed=task_speed)
        yield m
        m.stop()

    @pytest.fixture(scope="module")
    def api(mock):
        s = requests.Session()
        s.headers["Authorization"] = mock.token()
        return s

    return mock, api
