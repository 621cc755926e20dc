"""Byte transports for an RFB session: a plain TCP socket and a server-side websocket
(RFC 6455: masked client frames in, unmasked binary frames out, ping/pong/close)."""

from __future__ import annotations

import base64
import hashlib
import select
import socket
import struct

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_FRAME = 1 << 20


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


class SocketTransport:
    """RFB straight over a connected socket (plain or TLS)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.settimeout(None)
        self.closed = False

    def _recv(self, n: int) -> bytes:
        data = self.sock.recv(n)
        if not data:
            raise EOFError("peer closed the connection")
        return data

    def read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            buf += self._recv(n - len(buf))
        return buf

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait(self, timeout: float) -> bool:
        pending = getattr(self.sock, "pending", None)           # TLS: bytes already decrypted
        if pending is not None and pending():
            return True
        r, _, _ = select.select([self.sock], [], [], timeout)
        return bool(r)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class WebSocketTransport(SocketTransport):
    """The RFB byte stream carried in websocket binary messages."""

    def __init__(self, sock: socket.socket):
        super().__init__(sock)
        self.buf = bytearray()

    def _frame(self) -> None:
        raw = SocketTransport.read
        b0, b1 = raw(self, 2)
        opcode, masked, n = b0 & 0x0F, b1 & 0x80, b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", raw(self, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", raw(self, 8))[0]
        if not masked:
            raise ValueError("client frames must be masked")
        if n > MAX_FRAME:
            raise ValueError("websocket frame too large")
        mask = raw(self, 4)
        payload = raw(self, n) if n else b""
        if n:
            key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
            payload = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
        if opcode == 0x8:                                       # close: answer and end
            self._send(0x8, payload[:2])
            raise EOFError("websocket closed by the client")
        if opcode == 0x9:
            self._send(0xA, payload)
        elif opcode in (0x0, 0x1, 0x2):
            self.buf += payload
        elif opcode != 0xA:
            raise ValueError(f"unknown websocket opcode {opcode}")

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._frame()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def wait(self, timeout: float) -> bool:
        return bool(self.buf) or super().wait(timeout)

    def _send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            head = struct.pack(">BB", 0x80 | opcode, n)
        elif n < 1 << 16:
            head = struct.pack(">BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack(">BBQ", 0x80 | opcode, 127, n)
        self.sock.sendall(head + payload)

    def write(self, data: bytes) -> None:
        self._send(0x2, data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._send(0x8, struct.pack(">H", 1000))
            except OSError:
                pass
        super().close()
