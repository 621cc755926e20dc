"""The console's screen: a palette-indexed framebuffer with a text grid on top, drawn with the
built-in 5x7 font scaled by 2 into cells of `CELL_W` x `CELL_H` pixels (so a client can read
the screen back cell by cell, see read_text), and a header showing the VM."""

from __future__ import annotations

from typing import Callable

from . import font

SCALE = 2
CELL_W, CELL_H = 12, 18                  # pixels per character cell
GLYPH_X, GLYPH_Y = 1, 2                  # the glyph's offset inside its cell
COLS, ROWS = 80, 30
WIDTH, HEIGHT = COLS * CELL_W, ROWS * CELL_H      # 960 x 540

BG, FG, BLUE, GREEN, AMBER, RED, DIM = range(7)
PALETTE = [(18, 22, 28), (214, 220, 226), (110, 170, 240), (96, 200, 120), (240, 190, 80),
           (235, 95, 85), (120, 130, 140)]
STATUS_COLOUR = {"RUNNING": GREEN, "SUSPENDED": AMBER, "STOPPED": RED}
HEADER_ROWS = 4                          # title, state, rule, blank


class Framebuffer:
    """Pixels as palette indices, one byte each, row-major."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT):
        self.width, self.height = width, height
        self.pixels = bytearray(width * height)

    def fill(self, x: int, y: int, w: int, h: int, colour: int) -> None:
        line = bytes([colour]) * w
        for yy in range(y, y + h):
            start = yy * self.width + x
            self.pixels[start:start + w] = line

    def draw_char(self, col: int, row: int, ch: str, colour: int, bg: int = BG) -> None:
        x0, y0 = col * CELL_W, row * CELL_H
        self.fill(x0, y0, CELL_W, CELL_H, bg)
        if ch == " ":
            return
        on = bytes([colour]) * SCALE
        for gy, bits in enumerate(font.glyph(ch)):
            for gx, bit in enumerate(bits):
                if bit:
                    for dy in range(SCALE):
                        start = (y0 + GLYPH_Y + gy * SCALE + dy) * self.width + x0 + GLYPH_X + gx * SCALE
                        self.pixels[start:start + SCALE] = on

    def region(self, x: int, y: int, w: int, h: int) -> bytes:
        W = self.width
        return b"".join(bytes(self.pixels[(y + r) * W + x:(y + r) * W + x + w]) for r in range(h))


class TextScreen:
    """A text grid (with a cursor and a fixed header) drawn into a Framebuffer; `dirty` holds
    the rows changed since the last `take_dirty()`. Needs `mode` ("closed" hides the cursor)."""

    def __init__(self, vm: dict, host_name: str = ""):
        self.fb = Framebuffer()
        self.grid = [[(" ", FG)] * COLS for _ in range(ROWS)]
        self.dirty: set[int] = set(range(ROWS))
        self.vm = dict(vm)
        self.host_name = host_name
        self.cur_row, self.cur_col = HEADER_ROWS, 0
        self.fb.fill(0, 0, WIDTH, HEIGHT, BG)
        self._header()

    def put(self, row: int, col: int, text: str, colour: int = FG) -> None:
        for i, ch in enumerate(text):
            if 0 <= col + i < COLS:
                self.grid[row][col + i] = (ch, colour)
        self.dirty.add(row)

    def clear_row(self, row: int) -> None:
        self.grid[row] = [(" ", FG)] * COLS
        self.dirty.add(row)

    def _header(self) -> None:
        for r in range(HEADER_ROWS):
            self.clear_row(r)
        for row, col, text, colour in header(self.vm, self.host_name):
            self.put(row, col, text, colour)

    def update_vm(self, vm: dict) -> bool:
        """Redraw the header when the VM's state changed; True when it did."""
        keys = ("name", "status", "vcpu", "memory")
        if all(vm.get(k) == self.vm.get(k) for k in keys):
            return False
        self.vm = dict(vm)
        self._header()
        return True

    def render_dirty(self) -> tuple[int, int, int, int] | None:
        """Draw the changed rows into the framebuffer; the rectangle that changed."""
        rows = self.take_dirty()
        if not rows:
            return None
        for r in rows:
            for c, (ch, colour) in enumerate(self.grid[r]):
                self.fb.draw_char(c, r, ch, colour)
        if (self.cur_row in rows) and self.mode != "closed":
            self.fb.draw_char(self.cur_col, self.cur_row, font.CURSOR, FG)
        top, bottom = min(rows), max(rows)
        return 0, top * CELL_H, WIDTH, (bottom - top + 1) * CELL_H

    def take_dirty(self) -> list[int]:
        rows = sorted(self.dirty)
        self.dirty.clear()
        return rows

    # ------------------------------------------------------------ text and cursor
    def write(self, text: str, colour: int = FG) -> None:
        for ch in text:
            if self.cur_col >= COLS:
                self.newline()
            self.put(self.cur_row, self.cur_col, ch, colour)
            self.cur_col += 1
        self.dirty.add(self.cur_row)

    def newline(self) -> None:
        self.dirty.add(self.cur_row)
        self.cur_col = 0
        if self.cur_row < ROWS - 1:
            self.cur_row += 1
        else:                                         # scroll the body, keep the header
            del self.grid[HEADER_ROWS]
            self.grid.append([(" ", FG)] * COLS)
            self.dirty.update(range(HEADER_ROWS, ROWS))
        self.dirty.add(self.cur_row)


def header(vm: dict, host_name: str) -> list[tuple[int, int, str, int]]:
    """The header's texts: (row, column, text, colour)."""
    status = str(vm.get("status") or "UNKNOWN")
    mem = vm.get("memory")
    facts = [f"{vm.get('vcpu')} vCPU" if vm.get("vcpu") else "",
             f"{mem / 2 ** 30:.1f} GiB" if isinstance(mem, (int, float)) and mem else "",
             f"host {host_name}" if host_name else "", f"id {vm.get('id', '')}" if vm.get("id") else ""]
    return [(0, 0, f"CloudTower mock console: {vm.get('name', '')}"[:COLS], BLUE),
            (1, 0, status, STATUS_COLOUR.get(status, FG)),
            (1, len(status), ("  " + "  ".join(f for f in facts if f))[:COLS - len(status)], DIM),
            (2, 0, "-" * COLS, DIM)]


def read_text(pixels: bytes, width: int, height: int, is_set: Callable[[int], bool] | None = None) -> list[str]:
    """Read the screen back: each cell's set pixels matched against the font (for tests and
    tools). `pixels` holds one value per pixel; `is_set` tells foreground from background."""
    is_set = is_set or (lambda v: v != BG)
    table = {}
    for ch in font.chars():
        table.setdefault(font.glyph(ch), " " if ch == font.CURSOR else ch)
    lines = []
    for row in range(height // CELL_H):
        text = []
        for col in range(width // CELL_W):
            x0, y0 = col * CELL_W + GLYPH_X, row * CELL_H + GLYPH_Y
            bits = tuple(tuple(is_set(pixels[(y0 + gy * SCALE) * width + x0 + gx * SCALE])
                               for gx in range(font.WIDTH)) for gy in range(font.HEIGHT))
            text.append(table.get(bits, "?" if any(any(b) for b in bits) else " "))
        lines.append("".join(text).rstrip())
    return lines
