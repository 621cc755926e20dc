"""The synthetic console of a VM: a palette-indexed framebuffer with a text grid on top.

The screen shows a header (the VM's name, power state, size, host), a boot line and a
login prompt; keystrokes are echoed, a login (any user, any password) gives a shell that
answers a few commands. Text is drawn with the built-in 5x7 font scaled by 2 into cells of
`CELL_W` x `CELL_H` pixels, so a client can read the screen back cell by cell.
"""

from __future__ import annotations

import time
from typing import Callable

from .screen import (AMBER, BG, BLUE, CELL_H, CELL_W, COLS, DIM, FG, GLYPH_X, GLYPH_Y, GREEN, HEADER_ROWS, HEIGHT,
                     PALETTE, RED, ROWS, SCALE, STATUS_COLOUR, WIDTH, Framebuffer, TextScreen, header, read_text)

__all__ = ["Console", "ChooserConsole", "Framebuffer", "TextScreen", "header", "shell_reply", "read_text",
           "PALETTE", "SCALE", "CELL_W", "CELL_H", "GLYPH_X", "GLYPH_Y", "COLS", "ROWS", "WIDTH", "HEIGHT",
           "BG", "FG", "BLUE", "GREEN", "AMBER", "RED", "DIM", "STATUS_COLOUR", "HEADER_ROWS"]


class Console(TextScreen):
    """A terminal on a TextScreen: boot line, login prompt (any user, any password) and a
    shell that answers a few commands; keystrokes are echoed."""

    def __init__(self, vm: dict, host_name: str = "", now: Callable[[], float] = time.time,
                 greet: bool = True):
        self.now = now
        self.hostname = _hostname(vm.get("name") or "vm")
        self.mode = "login"              # login | password | shell
        self.user = ""
        self.line = ""
        self.switch: tuple | None = None      # (console, source): what the session shows next
        super().__init__(vm, host_name)
        if not greet:
            return
        self.write(f"{vm.get('os') or 'Linux'} {self.hostname} tty1", DIM)
        self.newline()
        self.newline()
        self.prompt()

    def prompt(self) -> None:
        if self.mode == "login":
            self.write(f"{self.hostname} login: ")
        elif self.mode == "password":
            self.write("Password: ")
        else:
            self.write(f"[{self.user}@{self.hostname} ~]{'#' if self.user == 'root' else '$'} ")

    def key(self, ch: str) -> None:
        """A typed character: printable text, "\\n" (Return) or "\\b" (BackSpace)."""
        if self.mode == "closed":
            return
        if ch == "\b":
            if self.line:
                self.line = self.line[:-1]
                if self.mode != "password" and self.cur_col > 0:
                    self.cur_col -= 1
                    self.put(self.cur_row, self.cur_col, " ")
            return
        if ch == "\n":
            line, self.line = self.line, ""
            self.newline()
            self._enter(line)
            return
        if len(self.line) < 200:
            self.line += ch
            if self.mode != "password":
                self.write(ch)
            else:
                self.dirty.add(self.cur_row)

    def _enter(self, line: str) -> None:
        if self.mode == "login":
            if line.strip():
                self.user, self.mode = line.strip(), "password"
        elif self.mode == "password":
            self.mode = "shell"
            self.write(f"Last login: {time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(self.now()))} on tty1")
            self.newline()
        else:
            self._command(line.strip())
        if self.mode != "closed":
            self.prompt()

    def _command(self, cmd: str) -> None:
        name = cmd.split(" ", 1)[0] if cmd else ""
        if not name:
            return
        if name in ("exit", "logout"):
            self.mode, self.user = "login", ""
            self.newline()
            return
        if name == "clear":
            for r in range(HEADER_ROWS, ROWS):
                self.clear_row(r)
            self.cur_row, self.cur_col = HEADER_ROWS, 0
            return
        for text in shell_reply(cmd, self.vm, self.hostname, self.user):
            self.write(text)
            self.newline()

    def close(self, reason: str) -> None:
        self.newline()
        self.write(reason, RED)
        self.mode = "closed"


class ChooserConsole(Console):
    """The first screen of a plain-TCP console (`serve --vnc-port`): type (or paste) a console
    token, or without an admin token a VM's name or id; `resolve(text)` answers (console,
    source) or the reason it cannot open."""

    def __init__(self, resolve: Callable[[str], tuple | str], hint: str, now: Callable[[], float] = time.time):
        super().__init__({"name": "choose a VM", "status": "VNC"}, now=now, greet=False)
        self.resolve = resolve
        self.mode = "choose"
        for line in ("cloudtower-mock serves every VM's console on this port.", hint, ""):
            self.write(line, DIM)
            self.newline()
        self.prompt()

    def prompt(self) -> None:
        if self.mode == "choose":
            self.write("console> ")
        else:
            super().prompt()

    def paste(self, text: str) -> None:
        for ch in text:
            if 0x20 <= ord(ch) <= 0x7E:
                self.key(ch)

    def _enter(self, line: str) -> None:
        if not line.strip():
            self.prompt()
            return
        answer = self.resolve(line.strip())
        if isinstance(answer, str):
            self.write(answer, RED)
            self.newline()
            self.prompt()
            return
        self.switch = answer


def shell_reply(cmd: str, vm: dict, hostname: str, user: str) -> list[str]:
    """What the console's shell prints for a command line."""
    name = cmd.split(" ", 1)[0]
    answers = {
        "hostname": [hostname],
        "whoami": [user],
        "uname": [f"Linux {hostname} 5.14.0 x86_64 GNU/Linux" if "-a" in cmd else "Linux"],
        "nproc": [str(vm.get("vcpu") or 1)],
        "help": ["commands: hostname whoami uname nproc free clear exit"],
        "free": [f"Mem: {int((vm.get('memory') or 0) / 2 ** 20)} MiB"],
    }
    return answers.get(name, [f"-bash: {name}: command not found"])


def _hostname(name: str) -> str:
    out = "".join(c if c.isalnum() or c in "-." else "-" for c in name)
    return out[:40] or "vm"
