"""Small helpers shared by test modules: the 4.6.0 spec's path and its Contract, and a WSGI
app served in-process over real HTTP (cheroot) on a free port."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "specs", "cloudtower-4.6.0.json")
if not os.path.exists(SPEC):
    SPEC = os.path.join(os.environ.get("CLOUDTOWER_SHARED", ""), "specs", "cloudtower-4.6.0.json")


def load_spec_contract():
    from mock_server.contract.index import Contract
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
