"""The HTTP server runner: bind, serve, and stop cleanly within a bounded time.

Used by ``cloudtower-mock serve``, the pytest plugin, the contract harness and the tests, so
that every mock is served (and stopped) the same way::

    server = Server(app, "127.0.0.1", 0, threads=16).bind()   # ServerError: one-line reason
    server.start()                # serve in a background (daemon) thread
    ...
    server.stop()                 # bounded: about `grace` seconds at most, never a hang

or, in a command-line process, ``server.run_until_signal()`` (SIGTERM / SIGINT stop it).

How a stop goes (cheroot underneath; the steps do not rely on cheroot's own ``stop()``, whose
thread-pool join waits without bound on workers stuck in a connection or in the app):

0. connections taken over by a websocket upgrade (VM consoles, see vnc/upgrade.py) are closed;
1. stop accepting: the selector loop ends and the listening socket is closed;
2. idle keep-alive connections and accepted-but-unserved connections are closed (nothing of
   them has run, so the client sees a closed connection and may retry);
3. requests in flight get ``grace`` seconds to finish (answers that finish are delivered);
4. then they are cut: the ``STOPPING_ENV`` event is set (fault latency sleeps wake on it and
   drop the connection), their sockets are shut down, and the app refuses any request that
   reaches it after this point;
5. workers are told to exit and joined for a short, bounded time. Every thread of the server
   is a daemon thread, so a worker stuck in application code never keeps the process alive.

After ``stop()`` returns, no answer can reach a client any more: a state file written then
holds every write a client was told succeeded.
"""

from __future__ import annotations

import errno
import logging
import signal
import threading
from typing import Any, Callable

from .server_stop import JOIN_BUDGET, BoundedStop

__all__ = ["Server", "ServerError", "serve_in_thread", "limit_malloc_arenas", "STOPPING_ENV", "DEFAULT_GRACE",
           "JOIN_BUDGET"]

log = logging.getLogger("cloudtower_mock.server")

STOPPING_ENV = "cloudtower_mock.stopping"     # a threading.Event: set when in-flight work is cut
DEFAULT_GRACE = 0.5                           # seconds in-flight requests get to finish on stop


class ServerError(Exception):
    """The server cannot start (e.g. the port is in use); the message is one line."""


class _Gate:
    """WSGI wrapper: hands the app the stop event; refuses requests once the stop cut them."""

    def __init__(self, app: Callable, cut: threading.Event):
        self.app = app
        self.cut = cut

    def __call__(self, environ, start_response):
        if self.cut.is_set():
            # an errno cheroot ignores: it closes the connection without answering
            raise ConnectionAbortedError(errno.ECONNRESET, "the server is stopping")
        environ[STOPPING_ENV] = self.cut
        return self.app(environ, start_response)


class Server(BoundedStop):
    """One WSGI app served on host:port by a pool of `threads` worker threads."""

    def __init__(self, app: Callable, host: str = "127.0.0.1", port: int = 0, threads: int = 16, *,
                 grace: float = DEFAULT_GRACE, name: str = "cloudtower-mock",
                 ssl_adapter: Any = None, timeout: float = 10.0):
        self.app = app
        self.host, self.port = host, port
        self.threads = max(1, int(threads))
        self.grace = grace
        self.name = name
        self.ssl_adapter = ssl_adapter
        self.timeout = timeout
        self._cut = threading.Event()
        self._stop_requested = threading.Event()
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._srv: Any = None
        self._thread: threading.Thread | None = None
        self.stop_seconds: float | None = None        # how long the last stop took
        self.cut_requests = 0                         # requests still running when the grace ended

    # ------------------------------------------------------------------ start
    @property
    def scheme(self) -> str:
        return "https" if self.ssl_adapter is not None else "http"

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + "/v2/api"

    def bind(self) -> "Server":
        """Listen on host:port (port 0: a free one, then `self.port` tells which). Raises ServerError."""
        if self._srv is not None:
            return self
        from cheroot import wsgi
        srv = wsgi.Server((self.host, self.port), _Gate(self.app, self._cut), numthreads=self.threads,
                          server_name=self.name, timeout=self.timeout)
        if self.ssl_adapter is not None:
            srv.ssl_adapter = self.ssl_adapter
        from .vnc.upgrade import enable_upgrades
        self.upgraded = enable_upgrades(srv)          # websocket connections (VM consoles)
        # Threads inherit daemon-ness from their creator: preparing (which starts the worker pool)
        # in a daemon thread makes every worker a daemon, so none can keep the process alive.
        failure: list[BaseException] = []

        def prepare():
            try:
                srv.prepare()
            except BaseException as e:  # noqa: BLE001 - handed to the caller below
                failure.append(e)
        t = threading.Thread(target=prepare, name=f"{self.name}-bind", daemon=True)
        t.start()
        t.join()
        if failure:
            raise ServerError(f"cannot listen on {self.host}:{self.port}: {_reason(failure[0])}") from failure[0]
        self._srv = srv
        self.host, self.port = srv.bind_addr[:2]
        return self

    def start(self) -> "Server":
        """Serve in a background daemon thread (binding first if needed)."""
        self.bind()
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
            self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            self._srv.serve()
        except BaseException:  # noqa: BLE001 - a dying server must still be stoppable
            if not self._stop_requested.is_set():
                log.exception("the HTTP server stopped unexpectedly")
        finally:
            self._stop_requested.set()

    def run_until_signal(self, signals: tuple = (signal.SIGTERM, signal.SIGINT)) -> int | None:
        """Serve until one of `signals` arrives (main thread only), then stop. Returns the signal."""
        received: list[int] = []

        def handler(signum, _frame):
            received.append(signum)
            self._stop_requested.set()
        for s in signals:
            signal.signal(s, handler)         # kept during the stop: a second signal changes nothing
        self.start()
        while not self._stop_requested.wait(0.5):
            pass
        self.stop()
        return received[0] if received else None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------------- process memory
M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas for this process (what MALLOC_ARENA_MAX does).

    By default glibc gives each busy thread an arena of its own (up to 8 per core); with a pool
    of worker threads allocating and freeing request-sized buffers the arenas fragment and the
    resident memory creeps up for as long as the server runs (measured with tools/soak.py:
    190 MiB and +9 MiB/min after 2 minutes, against 98 MiB and flat with 2 arenas). Call before
    the worker threads start; a no-op (False) off glibc or when MALLOC_ARENA_MAX is set."""
    import os
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):
        return False


# ---------------------------------------------------------------------- helpers


def serve_in_thread(app: Callable, host: str = "127.0.0.1", port: int = 0, threads: int = 8, **kw) -> Server:
    """Bind `app` on a free port (by default) and serve it in the background."""
    return Server(app, host, port, threads, **kw).start()


def _reason(e: BaseException) -> str:
    """The innermost OS reason of a bind failure, without cheroot's wrapping."""
    inner = e.__cause__ or e.__context__ or e
    while (inner.__cause__ or inner.__context__) is not None and inner is not (inner.__cause__ or inner.__context__):
        nxt = inner.__cause__ or inner.__context__
        if not isinstance(nxt, OSError):
            break
        inner = nxt
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    return str(inner) or type(inner).__name__
