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
import socket
import threading
import time
from typing import Any, Callable

log = logging.getLogger("cloudtower_mock.server")

STOPPING_ENV = "cloudtower_mock.stopping"     # a threading.Event: set when in-flight work is cut
DEFAULT_GRACE = 0.5                           # seconds in-flight requests get to finish on stop
JOIN_BUDGET = 0.5                             # seconds to wait for workers after the cut


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


class Server:
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

    # ------------------------------------------------------------------- stop
    def stop(self, grace: float | None = None) -> None:
        """Stop serving; returns within about `grace` + 0.6 seconds whatever the clients do."""
        with self._stop_lock:
            if self._stopped or self._srv is None:
                return
            self._stopped = True
        t0 = time.monotonic()
        grace = self.grace if grace is None else grace
        srv = self._srv
        self._stop_requested.set()
        srv.ready = False                      # workers close their connection after the answer
        srv.upgraded.stop(timeout=0.3)         # open consoles (websockets) end at once
        self._stop_accepting(srv)
        self._close_idle(srv)
        pool = srv.requests
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _busy(pool):
            time.sleep(0.01)
        self._cut.set()
        busy = [w for w in _workers(pool) if getattr(w, "conn", None) is not None]
        self.cut_requests = len(busy)
        for w in busy:
            _shutdown(w.conn)
        self._close_idle(srv)                  # anything handed over meanwhile
        self._join(pool)
        self._close_idle(srv)                  # a worker that was putting its connection back
        try:
            srv._connections._selector.close()
        except Exception:  # noqa: BLE001 - already closed or not there
            pass
        self.stop_seconds = time.monotonic() - t0
        if self.cut_requests:
            log.warning("stopped: %d request(s) still running after %.1f s were cut", self.cut_requests, grace)

    def _stop_accepting(self, srv) -> None:
        cm = getattr(srv, "_connections", None)
        if cm is not None:
            cm._stop_requested = True
            _touch(srv.socket, self.host, self.port)       # wake the selector now
            end = time.monotonic() + 1.0
            while getattr(cm, "_serving", False) and time.monotonic() < end:
                time.sleep(0.005)
        unservicable = getattr(srv, "_unservicable_conns", None)
        if unservicable is not None:
            from cheroot.server import _STOPPING_FOR_INTERRUPT
            unservicable.put(_STOPPING_FOR_INTERRUPT)
        sock = getattr(srv, "socket", None)
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    @staticmethod
    def _close_idle(srv) -> None:
        """Close the keep-alive connections waiting for a next request and those accepted but
        not yet taken by a worker."""
        cm = getattr(srv, "_connections", None)
        if cm is not None:
            try:
                idle = [c for _, c in cm._selector.connections if c is not srv]
            except Exception:  # noqa: BLE001 - the selector is closed
                idle = []
            for conn in idle:
                try:
                    cm._selector.unregister(conn.socket.fileno())
                except Exception:  # noqa: BLE001
                    pass
                _close(conn)
        import queue
        q = getattr(srv.requests, "_queue", None)
        while q is not None:
            try:
                item = q.get_nowait()
            except queue.Empty:
                break
            if hasattr(item, "socket"):
                _close(item)

    @staticmethod
    def _join(pool) -> None:
        from cheroot.workers.threadpool import _SHUTDOWNREQUEST
        workers = _workers(pool)
        for _ in workers:
            pool._queue.put(_SHUTDOWNREQUEST)
        end = time.monotonic() + JOIN_BUDGET
        for w in workers:
            w.join(max(0.0, end - time.monotonic()))
        alive = [w.name for w in workers if w.is_alive()]
        if alive:
            log.warning("stopped: %d worker thread(s) still busy in the app were left behind", len(alive))

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


def _workers(pool) -> list:
    return list(getattr(pool, "_threads", ()))


def _busy(pool) -> bool:
    return any(getattr(w, "conn", None) is not None for w in _workers(pool))


def _shutdown(conn) -> None:
    sock = getattr(conn, "socket", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


def _close(conn) -> None:
    _shutdown(conn)
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - closing a broken connection
        pass


def _touch(sock, host: str, port: int) -> None:
    """Connect to our own listening socket so that a waiting select() returns now."""
    if sock is None:
        return
    try:
        family = sock.family
        addr = sock.getsockname()[:2]
    except OSError:
        return
    if addr[0] in ("0.0.0.0", "::"):
        addr = ("127.0.0.1" if family == socket.AF_INET else "::1", addr[1])
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            s.connect(addr)
    except OSError:
        pass


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
