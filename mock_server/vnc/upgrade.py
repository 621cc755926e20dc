"""Websocket upgrade under cheroot (a WSGI server without websocket support), done the way
ws4py's CherryPy plugin did it: the app answers `101 Switching Protocols` and leaves a
hand-over callable in the environ; this gateway sends the 101, marks the connection to be
left open (cheroot's `linger`) and gives its socket to that callable, which serves it on
a thread of its own (`Sessions.start`). The worker thread goes back to the pool at once.

The server runner (mock_server/server.py) installs the gateway with `enable_upgrades(srv)`
and closes every taken-over connection first when it stops, so none holds a stop up.
"""

from __future__ import annotations

import logging
import threading

from cheroot import wsgi

log = logging.getLogger("cloudtower_mock.vnc")

TAKEOVER_ENV = "cloudtower_mock.takeover"        # set by the app: callable(socket)
SUPPORTED_ENV = "cloudtower_mock.takeover_ok"    # set by the gateway: upgrades work here


class UpgradeGateway(wsgi.Gateway_10):
    def get_environ(self):
        env = super().get_environ()
        env[SUPPORTED_ENV] = True
        return env

    def respond(self):
        super().respond()
        hand_over = self.env.get(TAKEOVER_ENV)
        if hand_over is None or not self.req.status.startswith(b"101"):
            return
        conn = self.req.conn
        conn.wfile.flush()
        self.req.close_connection = True      # cheroot is done with this connection ...
        conn.linger = True                    # ... but must not close its socket: it is ours now
        hand_over(conn.socket, self.req.server.upgraded)


def enable_upgrades(server: wsgi.Server) -> "Sessions":
    """Let a cheroot WSGI server hand websocket connections over; its Sessions."""
    server.gateway = UpgradeGateway
    server.upgraded = Sessions()
    return server.upgraded


class Sessions:
    """Live taken-over connections: each served on a daemon thread, all closed by stop()."""

    def __init__(self):
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._live: dict[int, tuple[threading.Thread, object]] = {}

    def start(self, transport, serve) -> None:
        """Run `serve()` (which owns `transport`) on its own thread."""
        if self.stopping.is_set():
            transport.close()
            return

        def run():
            try:
                serve()
            except Exception:                                   # a bug of ours: log, never crash
                log.exception("console session failed")
            finally:
                transport.close()
                with self._lock:
                    self._live.pop(threading.get_ident(), None)

        th = threading.Thread(target=run, name="cloudtower-mock-console", daemon=True)
        with self._lock:
            th.start()
            self._live[th.ident] = (th, transport)

    def count(self) -> int:
        with self._lock:
            return len(self._live)

    def stop(self, timeout: float = 1.0) -> None:
        self.stopping.set()
        with self._lock:
            live = list(self._live.values())
        for _th, transport in live:
            transport.close()
        for th, _t in live:
            th.join(timeout)


class Counter:
    """How many consoles are open (for the admin status)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int) -> None:
        with self._lock:
            self.value += n


def consoles_of(state) -> Counter:
    c = state.__dict__.get("_vnc_consoles")
    if c is None:
        with state._lock:
            c = state.__dict__.setdefault("_vnc_consoles", Counter())
    return c
