"""Every command-line error of `cloudtower-mock serve` is one line on stderr naming the problem,
and exit status 2; never a traceback, never the whole usage, never a server that starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")


def run_serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mock_server.cli", "serve", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def assert_one_line(proc: subprocess.CompletedProcess, *needles: str) -> None:
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "listening" not in proc.stdout
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err and "usage:" not in err
    for n in needles:
        assert n in err, (n, err)


@pytest.fixture
def scenario(tmp_path):
    with open(os.path.join(ROOT, "fixtures", "default.toml"), encoding="utf-8") as f:
        text = f.read()

    def write(old: str, new: str) -> str:
        assert old in text
        p = tmp_path / "world.toml"
        p.write_text(text.replace(old, new, 1))
        return str(p)
    return write


@pytest.mark.parametrize("args,needles", [
    (["--port", "99999"], ["--port", "99999", "out of range", "0 .. 65535"]),
    (["--port", "-1"], ["--port", "out of range"]),
    (["--port", "http"], ["--port", "'http' is not a port number"]),
    (["--task-speed", "-1"], ["--task-speed", "out of range", "at least 0"]),
    (["--task-speed", "abc"], ["--task-speed", "'abc' is not a number"]),
    (["--task-speed", "nan"], ["--task-speed", "out of range"]),
    (["--threads", "0"], ["--threads", "out of range"]),
    (["--seed", "x"], ["--seed", "'x' is not an integer"]),
    (["--max-body", "lots"], ["--max-body", "'lots' is not a size"]),
    (["--journal-max", "-5"], ["--journal-max", "is not a size"]),
    (["--stop-grace", "-1"], ["--stop-grace", "out of range"]),
    (["--no-such-flag"], ["unrecognized arguments: --no-such-flag"]),
])
def test_bad_flag_values(args, needles):
    assert_one_line(run_serve(*args), *needles)


def test_port_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert_one_line(run_serve("--port", str(port)), f"127.0.0.1:{port}", "in use")


def test_unknown_world():
    assert_one_line(run_serve("--port", "0", "--world", "no-such-world"), "no-such-world")


def test_missing_world_file(tmp_path):
    assert_one_line(run_serve("--port", "0", "--world", str(tmp_path / "nope.json")), "nope.json", "does not exist")


def test_invalid_world_file(tmp_path):
    p = tmp_path / "broken.toml"
    p.write_text("vms = [1,\n")
    assert_one_line(run_serve("--port", "0", "--world", str(p)), "broken.toml", "invalid TOML")


def test_bad_enum_in_a_scenario(scenario):
    path = scenario('status = "RUNNING"', 'status = "RUNNIN"')
    assert_one_line(run_serve("--port", "0", "--world", path), "status", "'RUNNIN' is not one of", "RUNNING")


def test_wrong_type_in_a_scenario(scenario):
    path = scenario("vms = 50", 'vms = "many"')
    assert_one_line(run_serve("--port", "0", "--world", path), "vms", "expected integer")


def test_missing_spec(tmp_path):
    assert_one_line(run_serve("--port", "0", "--spec", str(tmp_path / "none.json")), "none.json",
                    "No such file")


def test_unreadable_spec(tmp_path):
    assert_one_line(run_serve("--port", "0", "--spec", str(tmp_path)), str(tmp_path), "Is a directory")
    p = tmp_path / "spec.json"
    p.write_text('{"openapi": "3.0.0", "paths": {')
    assert_one_line(run_serve("--port", "0", "--spec", str(p)), "spec.json", "not valid JSON")
    p.write_bytes(b"\xff\xfe\x00garbage")
    assert_one_line(run_serve("--port", "0", "--spec", str(p)), "spec.json")


def test_state_file_in_a_missing_folder(tmp_path):
    target = tmp_path / "no" / "such" / "state.json"
    assert_one_line(run_serve("--port", "0", "--task-speed", "0", "--state-file", str(target)),
                    "state file", "No such file or directory")


def test_corrupt_state_file(tmp_path):
    p = tmp_path / "state.json"
    p.write_text("{not json")
    assert_one_line(run_serve("--port", "0", "--state-file", str(p)), "state.json", "not valid JSON")
