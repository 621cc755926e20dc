"""`serve --vnc-port N`: every VM's console as plain RFB over TCP, for desktop VNC viewers.

A viewer connects without any path or query, so the first screen asks for a console token
(typed, or pasted through the viewer's clipboard) or, when the mock runs without
`--admin-token`, a VM's name or id in the default namespace; then it shows that VM's console,
exactly as `/websockify/` does."""

from __future__ import annotations

import socket
import threading

from .console import ChooserConsole, Console
from .rfb import RfbSession
from .service import refusal
from .tokens import tokens_of
from .transport import SocketTransport
from .upgrade import Sessions, consoles_of


def resolver(state):
    """text -> (Console, source) or the reason it cannot open."""
    def resolve(text: str):
        grant, why = tokens_of(state).check(text)
        if grant is not None:
            world = state.worlds.get(grant.namespace)
            vm = world.store.get("Vm", grant.vm_id) if world is not None else None
        elif state.config.admin_token or len(text) in (32, 44):
            return why
        else:
            world = state.world()
            vm = world.store.get("Vm", text)
            if vm is None:
                rows = world.store.find_by("Vm", "name", text)
                vm = rows[0] if rows else None
            if vm is None:
                return f"no VM named {text[:40]} (nor with that id)"
        reason = refusal(vm)
        if reason:
            return reason
        store, vm_id = world.store, vm["id"]
        host = store.get("Host", vm["host"]) if vm.get("host") else None
        return Console(vm, (host or {}).get("name") or "", now=state.clock.now), lambda: store.get("Vm", vm_id)
    return resolve


class VncListener:
    def __init__(self, state, host: str = "127.0.0.1", port: int = 5900):
        self.state = state
        self.host, self.port = host, port
        self.sessions = Sessions()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def bind(self) -> "VncListener":
        """Listen (port 0: any free port; `self.port` tells which). Raises OSError."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(16)
        except OSError:
            sock.close()
            raise
        sock.settimeout(0.25)
        self._sock = sock
        self.port = sock.getsockname()[1]
        return self

    def start(self) -> "VncListener":
        if self._sock is None:
            self.bind()
        self._thread = threading.Thread(target=self._accept, name="cloudtower-mock-vnc", daemon=True)
        self._thread.start()
        return self

    def _accept(self) -> None:
        hint = ("Type a console token from get-vm-vnc-info (or paste it), then Return." if
                self.state.config.admin_token else
                "Type a console token from get-vm-vnc-info, or a VM's name or id, then Return.")
        while not self.sessions.stopping.is_set():
            try:
                conn, _addr = self._sock.accept()
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = SocketTransport(conn)
            chooser = ChooserConsole(resolver(self.state), hint, now=self.state.clock.now)
            self.sessions.start(transport, lambda t=transport, c=chooser: self._serve(t, c))

    def _serve(self, transport, chooser) -> None:
        counter = consoles_of(self.state)
        counter.add(1)
        try:
            RfbSession(transport, chooser, stopping=self.sessions.stopping).run()
        finally:
            counter.add(-1)

    def stop(self) -> None:
        self.sessions.stopping.set()
        if self._sock is not None:
            self._sock.close()
        self.sessions.stop(timeout=0.3)
        if self._thread is not None:
            self._thread.join(0.5)
