"""Small helpers shared by test modules: the 4.6.0 spec's path and its Contract, and a WSGI
app served in-process over real HTTP (cheroot) on a free port."""

from __future__ import annotations

import json
import os
import threading
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
    """Serve `app` with cheroot on 127.0.0.1 (a free port); yields the API base URL."""
    from cheroot import wsgi as cheroot_wsgi
    srv = cheroot_wsgi.Server(("127.0.0.1", 0), app, numthreads=numthreads)
    srv.prepare()
    thread = threading.Thread(target=srv.serve, daemon=True)
    thread.start()
    host, port = srv.bind_addr[:2]
    try:
        yield f"http://{host}:{port}/v2/api"
    finally:
        srv.stop()
