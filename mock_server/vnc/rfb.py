"""An RFB 3.8 server session (RFC 6143) over any byte transport: security type None,
Raw encoding, the client's true-colour pixel format honoured (8, 16 or 32 bits per pixel).

`RfbSession(transport, console_source).run()` serves one client until it leaves, the VM
goes away or the server stops. A refusal (`refuse=reason`) is sent the RFB way: zero
security types followed by the reason, which clients such as noVNC show.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from typing import Callable, Protocol

from .console import PALETTE, Console

log = logging.getLogger("cloudtower_mock.vnc")

VERSION = b"RFB 003.008\n"
SEC_NONE = 1

# keysyms the console understands besides printable Latin-1
_KEYS = {0xFF0D: "\n", 0xFF8D: "\n", 0xFF08: "\b", 0xFF09: " "}


class Transport(Protocol):
    def read(self, n: int) -> bytes: ...          # exactly n bytes, or EOFError
    def write(self, data: bytes) -> None: ...
    def wait(self, timeout: float) -> bool: ...   # True when input is ready
    def close(self) -> None: ...


class PixelFormat:
    def __init__(self, bpp=32, depth=24, big=False, true=True, rmax=255, gmax=255, bmax=255,
                 rshift=16, gshift=8, bshift=0):
        self.bpp, self.depth, self.big, self.true = bpp, depth, big, true
        self.max = (rmax, gmax, bmax)
        self.shift = (rshift, gshift, bshift)
        b = bpp // 8
        values = [sum(((c * m + 127) // 255) << s for c, m, s in zip(rgb, self.max, self.shift))
                  for rgb in PALETTE]
        packed = [v.to_bytes(b, "big" if big else "little") for v in values]
        # one translate table per output byte: palette index -> that byte of its pixel value
        self.planes = [bytes(packed[i][k] if i < len(packed) else 0 for i in range(256)) for k in range(b)]

    def pack(self) -> bytes:
        return struct.pack(">BBBBHHHBBB3x", self.bpp, self.depth, self.big, self.true,
                           *self.max, *self.shift)

    @classmethod
    def unpack(cls, data: bytes) -> "PixelFormat":
        bpp, depth, big, true, rm, gm, bm, rs, gs, bs = struct.unpack(">BBBBHHHBBB3x", data)
        if bpp not in (8, 16, 32) or not true:
            raise ValueError(f"unsupported pixel format: {bpp} bpp, true colour {bool(true)}")
        return cls(bpp, depth, bool(big), True, rm, gm, bm, rs, gs, bs)

    def encode(self, indices: bytes) -> bytes:
        b = len(self.planes)
        if b == 1:
            return indices.translate(self.planes[0])
        out = bytearray(len(indices) * b)
        for k, plane in enumerate(self.planes):
            out[k::b] = indices.translate(plane)
        return bytes(out)


class RfbSession:
    """One client. `source()` gives the VM's current row (None once it is gone) and is polled
    about once a second so that the header follows power-state changes."""

    def __init__(self, transport: Transport, console: Console | None, source: Callable[[], dict | None] | None = None,
                 refuse: str | None = None, stopping: threading.Event | None = None, poll: float = 0.5):
        self.t = transport
        self.console = console
        self.source = source
        self.refuse = refuse
        self.stopping = stopping or threading.Event()
        self.poll = poll
        self.pf = PixelFormat()
        self.want: tuple[int, int, int, int] | None = None      # a pending update request
        self.full = True

    # --------------------------------------------------------------- handshake
    def handshake(self) -> bool:
        t = self.t
        t.write(VERSION)
        version = t.read(12)
        if not version.startswith(b"RFB 003.") or version[-1:] != b"\n":
            raise EOFError(f"not an RFB client: {version!r}")
        minor = int(version[8:11]) if version[8:11].isdigit() else 0
        if self.refuse is not None:
            reason = self.refuse.encode()
            t.write(b"\x00" + struct.pack(">I", len(reason)) + reason if minor >= 7 else
                    struct.pack(">II", 0, len(reason)) + reason)
            return False
        if minor >= 7:
            t.write(b"\x01" + bytes([SEC_NONE]))
            if t.read(1)[0] != SEC_NONE:
                msg = b"only security type None (1) is offered"
                t.write(struct.pack(">II", 1, len(msg)) + msg)
                return False
            if minor >= 8:
                t.write(struct.pack(">I", 0))                   # SecurityResult OK
        else:                                                   # 3.3: the server decides
            t.write(struct.pack(">I", SEC_NONE))
        t.read(1)                                               # ClientInit (shared flag)
        fb = self.console.fb
        name = f"{self.console.vm.get('name', '')}".encode()
        t.write(struct.pack(">HH", fb.width, fb.height) + self.pf.pack() + struct.pack(">I", len(name)) + name)
        return True

    # -------------------------------------------------------------------- loop
    def run(self) -> None:
        try:
            if not self.handshake():
                return
            closing_until = None
            while not self.stopping.is_set():
                if self.t.wait(self.poll):
                    self._message()
                elif closing_until is None:
                    self._tick()
                self._flush()
                if self.console.mode == "closed":
                    # the closing message goes out with the client's next update request, then end
                    closing_until = closing_until or time.monotonic() + 2.0
                    if not self.console.dirty or time.monotonic() > closing_until:
                        return
        except (EOFError, OSError, ValueError, struct.error) as e:
            log.debug("vnc session ends: %s", e)
        finally:
            self.t.close()

    def _tick(self) -> None:
        if self.source is None:
            return
        vm = self.source()
        if vm is None:
            self.console.close("The VM was deleted; the console is closed.")
        elif self.console.update_vm(vm) and vm.get("status") == "STOPPED":
            self.console.close("The VM was powered off; the console is closed.")

    def _message(self) -> None:
        t = self.t
        kind = t.read(1)[0]
        if kind == 0:                                           # SetPixelFormat
            self.pf = PixelFormat.unpack(t.read(19)[3:])
            self.full = True
        elif kind == 2:                                         # SetEncodings
            n = struct.unpack(">xH", t.read(3))[0]
            t.read(4 * n)                                       # Raw is always understood
        elif kind == 3:                                         # FramebufferUpdateRequest
            inc, x, y, w, h = struct.unpack(">BHHHH", t.read(9))
            self.want = (x, y, w, h)
            if not inc:
                self.full = True
        elif kind == 4:                                         # KeyEvent
            down, key = struct.unpack(">B2xI", t.read(7))
            ch = _KEYS.get(key) or (chr(key) if 0x20 <= key <= 0x7E else None)
            if down and ch is not None:
                self.console.key(ch)
                self._maybe_switch()
        elif kind == 5:                                         # PointerEvent
            t.read(5)
        elif kind == 6:                                         # ClientCutText
            n = struct.unpack(">3xI", t.read(7))[0]
            if n > 1 << 20:
                raise ValueError("cut text too long")
            text = t.read(n).decode("latin-1")
            paste = getattr(self.console, "paste", None)
            if paste is not None:                               # the chooser takes a pasted token
                paste(text)
        else:
            raise ValueError(f"unknown client message type {kind}")

    def _maybe_switch(self) -> None:
        if self.console.switch is not None:
            self.console, self.source = self.console.switch
            self.full = True
            self.console.render_dirty()

    def _flush(self) -> None:
        if self.want is None:
            return
        console = self.console
        rect = console.render_dirty()
        fb = console.fb
        if self.full:
            rect, self.full = (0, 0, fb.width, fb.height), False
        if rect is None:
            return                                  # nothing changed: the request stays pending
        x, y, w, h = rect
        self.want = None
        data = self.pf.encode(fb.region(x, y, w, h))
        self.t.write(struct.pack(">BxHHHHHi", 0, 1, x, y, w, h, 0) + data)
