"""How a Server stops within a bounded time (the steps are described in server.py): stop
accepting, close idle connections, give requests in flight their grace, cut the rest, join
the workers for a short, bounded time."""

from __future__ import annotations

import logging
import socket
import time

log = logging.getLogger("cloudtower_mock.server")

JOIN_BUDGET = 0.5                             # seconds to wait for workers after the cut


class BoundedStop:
    """The stop part of a Server (needs its `_srv`, `_cut`, `_stop_requested`, `_stop_lock`,
    `_stopped`, `grace`, `host` and `port`)."""

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
