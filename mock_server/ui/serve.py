"""Serves the dashboard's static files (shipped in the package, nothing fetched at run time)
under `/_mock/ui/`, and a small landing page at `/` that links to it."""

from __future__ import annotations

import os

from flask import Flask, Response, redirect, send_from_directory

STATIC = os.path.join(os.path.dirname(__file__), "static")
UI_PREFIX = "/_mock/ui"

LANDING = """<!doctype html><html><head><meta charset="utf-8"><title>cloudtower-mock</title>
<style>body{{font:15px system-ui,sans-serif;margin:3em;color:#1d2733}}a{{color:#1f6feb}}code{{background:#eef1f4;padding:1px 4px}}</style>
</head><body><h1>cloudtower-mock</h1>
<p>A mock of the SmartX CloudTower API (CloudTower {version}).</p>
<ul>
<li><a href="/_mock/ui/">Dashboard</a>: inventory, tasks, journal, control, VM consoles</li>
<li><a href="/v2/api/openapi.json">The API's OpenAPI document</a> (<code>POST /v2/api/&lt;operation&gt;</code>)</li>
<li><a href="/_mock/openapi.json">The admin API's OpenAPI document</a> (<code>/_mock/</code>)</li>
</ul></body></html>
"""


def register(app: Flask, state) -> None:
    page = LANDING.format(version=state.contract.version).encode()

    @app.route("/", methods=["GET"])
    def landing():
        return Response(page, mimetype="text/html")

    @app.route(UI_PREFIX, methods=["GET"])
    def ui_bare():
        return redirect(UI_PREFIX + "/", 308)

    @app.route(UI_PREFIX + "/", methods=["GET"])
    def ui_index():
        return _static("index.html")

    @app.route(UI_PREFIX + "/<path:name>", methods=["GET"])
    def ui_file(name: str):
        return _static(name)


def _static(name: str) -> Response:
    resp = send_from_directory(STATIC, name, max_age=0)      # a 404 for anything outside STATIC
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
