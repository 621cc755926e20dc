"""A small RFB 3.8 client over a websocket (or plain TCP), for tests: handshake with
security None, ask for 32-bit true colour, read Raw framebuffer updates into a pixel
array, type keys."""

from __future__ import annotations

import base64
import os
import socket
import struct
from urllib.parse import urlsplit

from mock_server.vnc.console import PALETTE, read_text


class WsError(Exception):
    def __init__(self, status: int, headers: str, body: bytes):
        super().__init__(f"websocket refused: {status} {body[:200]!r}")
        self.status, self.headers, self.body = status, headers, body


class WsSocket:
    """Client side of a websocket: masked frames out, the payload stream in."""

    def __init__(self, url: str, protocols: tuple[str, ...] = ("binary",), timeout: float = 10,
                 ca_file: str | None = None):
        u = urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port or 80), timeout=timeout)
        if u.scheme == "wss":
            import ssl
            ctx = ssl.create_default_context(cafile=ca_file)
            if ca_file is None:                  # a test certificate: encryption, no verification
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock, server_hostname=u.hostname)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {u.path}?{u.query} HTTP/1.1", f"Host: {u.hostname}:{u.port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if protocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        text = head.decode("latin-1")
        status = int(text.split(" ", 2)[1]) if text else 0
        self.headers = text
        if status != 101:
            length = next((int(line.split(":", 1)[1]) for line in text.split("\r\n")
                           if line.lower().startswith("content-length:")), 0)
            body = rest
            while len(body) < length:           # the refusal's body; the connection may stay open
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                body += chunk
            self.sock.close()
            raise WsError(status, text, body)
        self.raw = bytearray(rest)              # frames that came with the 101
        self.buf = bytearray()                  # their payload stream
        self.closed = False

    def _recv_exact(self, n: int) -> bytes:
        while len(self.raw) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed")
            self.raw += chunk
        out = bytes(self.raw[:n])
        del self.raw[:n]
        return out

    def _frame(self) -> None:
        b0, b1 = self._recv_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._recv_exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._recv_exact(8))[0]
        payload = self._recv_exact(n)
        op = b0 & 0x0F
        if op == 0x8:
            self.closed = True
            raise EOFError("websocket closed by the server")
        if op in (0, 1, 2):
            self.buf += payload

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._frame()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def write(self, data: bytes, opcode: int = 2) -> None:
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x80 | opcode])
        head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + masked)

    def close(self) -> None:
        self.sock.close()


class TcpSocket:
    def __init__(self, host: str, port: int, timeout: float = 10):
        self.sock = socket.create_connection((host, port), timeout=timeout)

    def read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("server closed")
            buf += chunk
        return buf

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()


class RfbRefused(Exception):
    pass


class RfbClient:
    def __init__(self, stream):
        self.s = stream
        self.version = stream.read(12)
        assert self.version == b"RFB 003.008\n", self.version
        stream.write(b"RFB 003.008\n")
        n = stream.read(1)[0]
        if n == 0:
            length = struct.unpack(">I", stream.read(4))[0]
            raise RfbRefused(stream.read(length).decode())
        self.security_types = list(stream.read(n))
        stream.write(b"\x01")
        result = struct.unpack(">I", stream.read(4))[0]
        assert result == 0, result
        stream.write(b"\x01")                                   # shared
        self.width, self.height = struct.unpack(">HH", stream.read(4))
        self.server_format = stream.read(16)
        length = struct.unpack(">I", stream.read(4))[0]
        self.name = stream.read(length).decode()
        # 32 bpp, depth 24, little endian, true colour, red at shift 0 (noVNC's choice)
        stream.write(struct.pack(">B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255, 0, 8, 16))
        stream.write(struct.pack(">BxHi", 2, 1, 0))              # SetEncodings: Raw
        self.pixels = bytearray(self.width * self.height * 4)

    def request(self, incremental: bool = False) -> None:
        self.s.write(struct.pack(">BBHHHH", 3, int(incremental), 0, 0, self.width, self.height))

    def read_update(self) -> int:
        kind = self.s.read(1)[0]
        assert kind == 0, f"unexpected server message {kind}"
        (n,) = struct.unpack(">xH", self.s.read(3))
        for _ in range(n):
            x, y, w, h, enc = struct.unpack(">HHHHi", self.s.read(12))
            assert enc == 0, enc
            data = self.s.read(w * h * 4)
            for row in range(h):
                start = ((y + row) * self.width + x) * 4
                self.pixels[start:start + w * 4] = data[row * w * 4:(row + 1) * w * 4]
        return n

    def key(self, text: str) -> None:
        for ch in text:
            sym = 0xFF0D if ch == "\n" else ord(ch)
            self.s.write(struct.pack(">BBxxI", 4, 1, sym) + struct.pack(">BBxxI", 4, 0, sym))

    def text(self) -> list[str]:
        bg = PALETTE[0]
        px = self.pixels
        values = [(px[i], px[i + 1], px[i + 2]) != bg for i in range(0, len(px), 4)]
        return read_text(values, self.width, self.height, is_set=bool)
