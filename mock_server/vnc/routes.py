"""The `/websockify/` endpoint: checks the token and the websocket handshake, answers 101
and hands the socket to a console session (see upgrade.py). Refusals before the upgrade
are JSON errors in the API's ErrorBody shape."""

from __future__ import annotations

from flask import Flask, Response, request

from ..plain_errors import plain_error
from .service import WS_PATH, start_console
from .tokens import tokens_of
from .transport import WebSocketTransport, accept_key
from .upgrade import SUPPORTED_ENV, TAKEOVER_ENV


def register_vnc(app: Flask, state) -> None:
    def websockify():
        env = request.environ
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            return plain_error(400, "this is the VNC console endpoint: open it with a websocket client "
                               "(noVNC), with the token from get-vm-vnc-info")
        if request.headers.get("Sec-WebSocket-Version") != "13":
            return plain_error(426, "websocket version 13 is required", {"Sec-WebSocket-Version": "13"})
        key = request.headers.get("Sec-WebSocket-Key", "")
        if len(key) != 24:
            return plain_error(400, "Sec-WebSocket-Key is missing or malformed")
        token = request.args.get("token", "")
        grant, why = tokens_of(state).check(token) if token else (None, "the token query parameter is required")
        if grant is None:
            return plain_error(403, why)
        world = state.worlds.get(grant.namespace)
        if world is None:
            return plain_error(404, f"namespace {grant.namespace} no longer exists")
        vm = world.store.get("Vm", grant.vm_id)
        uuid = request.args.get("uuid")
        if vm is not None and uuid and uuid != vm.get("local_id"):
            return plain_error(403, "the token was issued for another VM (uuid does not match)")
        if not env.get(SUPPORTED_ENV):
            return plain_error(501, "websocket upgrades need the mock's own server (cloudtower-mock serve or "
                               "the pytest plugin); this WSGI server cannot hand connections over")
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        resp = Response(status=101)
        resp.headers["Upgrade"] = "websocket"
        resp.headers["Connection"] = "Upgrade"
        resp.headers["Sec-WebSocket-Accept"] = accept_key(key)
        if "binary" in offered:
            resp.headers["Sec-WebSocket-Protocol"] = "binary"
        resp.headers.pop("Content-Type", None)
        resp.headers.pop("Content-Length", None)
        vm_id = grant.vm_id
        env[TAKEOVER_ENV] = lambda sock, sessions: start_console(state, world, vm_id, WebSocketTransport(sock),
                                                                 sessions)
        return resp

    def plain():
        return plain_error(400, "this is the VNC console endpoint: open it with a websocket client (noVNC), "
                           "with the token from get-vm-vnc-info")

    # werkzeug matches websocket handshakes only against rules marked websocket=True
    for path in (WS_PATH, WS_PATH.rstrip("/")):
        app.add_url_rule(path, "websockify" + path, websockify, methods=["GET"], websocket=True)
        app.add_url_rule(path, "websockify_plain" + path, plain, methods=["GET"])
