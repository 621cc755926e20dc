#!/usr/bin/env python3
"""The baselines: a bare Flask app, and a raw WSGI callable (the server's ceiling), under the
same WSGI server and settings as the mock (cheroot through the mock's runner,
mock_server/server.py; waitress and granian for the comparison of servers).

    bare_app.py --port P [--threads N] [--server cheroot|waitress|granian]

`POST /v2/api/get-vms` (Flask) and `POST /raw/v2/api/get-vms` (no framework) answer a fixed
one-VM JSON array of the size a point lookup returns; `GET .../get-version` answers a string.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import orjson
from flask import Flask, Response, request

flask_app = Flask("bare")
VM = {"id": "c" + "0" * 24, "name": "vm-00001", "vcpu": 4, "memory": 8589934592, "status": "RUNNING",
      "cluster": {"id": "c" + "1" * 24, "name": "prod"}, **{f"field_{i}": None for i in range(60)}}
VM_JSON = orjson.dumps([VM])


@flask_app.route("/v2/api/get-vms", methods=["POST"])
def get_vms():
    request.get_data()
    return Response(VM_JSON, mimetype="application/json")


@flask_app.route("/v2/api/get-version", methods=["GET"])
def version():
    return Response(b'"bare"', mimetype="application/json")


def app(environ, start_response):
    """`/raw/...` without a framework (what the server itself can do); the rest is Flask."""
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/raw/"):
        return flask_app.wsgi_app(environ, start_response)
    length = environ.get("CONTENT_LENGTH")
    if length and length.isdigit():
        environ["wsgi.input"].read(int(length))
    data = VM_JSON if path.endswith("/get-vms") else b'"bare"'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def serve(wsgi_app, host: str, port: int, threads: int, server: str, target: str | None = None) -> None:
    """Serve until SIGTERM/SIGINT with one of the compared servers (one process, `threads`
    worker threads). granian imports its app by name (`target`, "module:attr")."""
    if server == "cheroot":
        # the mock's own runner (cheroot with its gate and websocket gateway): the same settings
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        try:
            from mock_server.server import Server
        except ImportError:          # a checkout from before the runner (to measure an old version)
            from cheroot import wsgi
            srv = wsgi.Server((host, port), wsgi_app, numthreads=threads, server_name="bare")
            def interrupt(*_):
                raise KeyboardInterrupt
            signal.signal(signal.SIGTERM, interrupt)
            srv.safe_start()                 # stops the server on KeyboardInterrupt
            return
        srv = Server(wsgi_app, host, port, threads, name="bare").bind()
        print(f"listening on http://{host}:{port}", flush=True)
        srv.run_until_signal()
    elif server == "waitress":
        from waitress.server import create_server
        srv = create_server(wsgi_app, host=host, port=port, threads=threads, backlog=1024,
                            connection_limit=1000, channel_timeout=30, ident="bare")

        def stop_w(*_):
            srv.close()
            raise SystemExit(0)
        signal.signal(signal.SIGTERM, stop_w)
        print(f"listening on http://{host}:{port}", flush=True)
        try:
            srv.run()
        except (KeyboardInterrupt, SystemExit):
            pass
    elif server == "granian":
        from granian import Granian
        from granian.constants import Interfaces
        Granian(target, address=host, port=port, interface=Interfaces.WSGI, workers=1,
                blocking_threads=threads, runtime_threads=1, log_enabled=False).serve()
    else:
        raise SystemExit(f"unknown server {server!r}; use cheroot, waitress or granian")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--server", default="cheroot", choices=("cheroot", "waitress", "granian"))
    a = p.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    serve(app, "127.0.0.1", a.port, a.threads, a.server, target="bare_app:app")


if __name__ == "__main__":
    main()
