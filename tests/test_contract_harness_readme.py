"""The README's harness commands for the local mock are green against the project's own default
mock (the default world and settings of `cloudtower-mock serve`), run as written (the port
aside). This is the front door: a new user's first command must pass on our own mock."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from contract_tests.cli import main as contract_main

README = Path(__file__).resolve().parents[1] / "README.md"
LOCAL = "http://127.0.0.1:8080"


def readme_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Checking a client"):]
    section = section[: section.index("\n## ")]
    cmds = []
    for line in section.splitlines():
        line = line.strip()
        if line.startswith("cloudtower-contract ") and LOCAL in line:
            cmds.append(shlex.split(line.split("#")[0])[1:])
    return cmds


def test_the_readme_names_local_commands():
    cmds = readme_commands()
    assert len(cmds) >= 2
    assert cmds[0] == ["--base-url", LOCAL, "-u", "root", "-p", "root"]     # the front door: all defaults


@pytest.fixture(scope="module")
def default_mock(sdk_contract):
    from contract_tests.mockserver import InProcessMock
    from mock_server.state import MockConfig
    d = MockConfig()
    with InProcessMock(contract=sdk_contract, task_speed=d.task_speed, username=d.username,
                       password=d.password, world=d.world) as m:
        yield m


@pytest.mark.parametrize("index", range(3))
def test_readme_harness_command_is_green_on_the_default_mock(default_mock, tmp_path, capsys, index):
    cmds = readme_commands()
    if index >= len(cmds):
        pytest.skip("fewer local commands in the README")
    argv = [a.replace(LOCAL, default_mock.url) for a in cmds[index]] + ["--report-dir", str(tmp_path)]
    if argv[0] == "cleanup":
        argv = argv[:-2]
    rc = contract_main(argv)
    out = capsys.readouterr().out
    assert rc == 0, out[-6000:]
    if argv[0] not in ("cleanup",):
        assert "PASSED" in out and "PASSED" in (tmp_path / "report.md").read_text()
