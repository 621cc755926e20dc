"""Both languages: every error the server raises has a zh-CN text, alerts and task
descriptions answer in Chinese when the request says content-language: zh-CN."""

from __future__ import annotations

import ast
import pathlib

from mock_server.texts import ALERTS, zh
from mock_server.world.generator import generate
from test_invariants import Api

ROOT = pathlib.Path(__file__).resolve().parents[1] / "mock_server"


def test_every_raised_error_has_a_chinese_text():
    missing = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            kws = {k.arg for k in node.keywords}
            if name in ("bad_request", "not_found") and len(node.args) < 2 and "message_zh" not in kws:
                missing.append(f"{path.name}:{node.lineno}")
            if name == "ApiError" and "message_zh" not in kws and len(node.args) < 5:
                missing.append(f"{path.name}:{node.lineno}")
    assert missing == []


def test_task_descriptions_translate_verb_and_resource():
    assert zh("Create vm web-1") == "创建虚拟机 web-1"
    assert zh("Create virtual machine snapshot db-1-snap") == "创建虚拟机快照 db-1-snap"
    assert zh("Create iSCSI LUN lun-1") == "创建iSCSI LUN lun-1"
    assert zh("Something unknown") == "Something unknown"
    for kind in ALERTS:
        for en, cn in kind.values():
            assert zh(en) == cn and cn != en


def test_alerts_and_tasks_in_chinese(contract):
    api = Api(contract, generate(contract, "default"))
    en = api("get-alerts", {"first": 5}).json
    cn = api("get-alerts", {"first": 5}, lang="zh-CN").json
    assert [a["id"] for a in en] == [a["id"] for a in cn]
    for a, b in zip(en, cn):
        for f in ("message", "cause", "impact", "solution"):
            assert a[f] and b[f] and a[f] != b[f] and zh(a[f]) == b[f]
    vm = api.store.all("Vm")[0]
    api("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"description": "x"}})
    tasks = api("get-tasks", {"orderBy": "local_created_at_DESC", "first": 1}, lang="zh-CN").json
    assert tasks and not tasks[0]["description"].startswith("Update")
    r = api("get-vms", {"where": {"nosuchfield": 1}}, lang="zh-CN")
    assert r.status_code == 400 and any("\u4e00" <= ch <= "\u9fff" for ch in r.json["message"])
