#!/usr/bin/env python3
"""The baseline: a bare Flask app under the same WSGI server (cheroot) and settings as the mock.

    bare_app.py --port P [--threads N]

`POST /v2/api/get-vms` answers a fixed one-VM JSON array of the size a point lookup returns."""

from __future__ import annotations

import argparse

import orjson
from cheroot import wsgi
from flask import Flask, Response, request

app = Flask("bare")
VM = {"id": "c" + "0" * 24, "name": "vm-00001", "vcpu": 4, "memory": 8589934592, "status": "RUNNING",
      "cluster": {"id": "c" + "1" * 24, "name": "prod"}, **{f"field_{i}": None for i in range(60)}}


@app.route("/v2/api/get-vms", methods=["POST"])
def get_vms():
    request.get_data()
    return Response(orjson.dumps([VM]), mimetype="application/json")


@app.route("/v2/api/get-version", methods=["GET"])
def version():
    return Response(b'"bare"', mimetype="application/json")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--threads", type=int, default=16)
    a = p.parse_args()
    server = wsgi.Server(("127.0.0.1", a.port), app, numthreads=a.threads, server_name="bare")
    print(f"bare listening on http://127.0.0.1:{a.port}", flush=True)
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
