"""The pytest plugin, run with pytester on the example test of docs/testing-with-the-mock.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[1] / "docs" / "testing-with-the-mock.md"


def _contract_cache() -> str:
    # pytester points HOME at a temporary directory; keep using the derived-contract cache
    # of the real one (resolved now, at import) instead of deriving the contract again
    from mock_server.contract.sdk_derive import default_cache_dir
    return str(default_cache_dir())


CACHE = _contract_cache()


@pytest.fixture(autouse=True)
def _shared_contract_cache(monkeypatch):
    monkeypatch.setenv("CLOUDTOWER_MOCK_CACHE", CACHE)


def example_test() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Example test", 1)[1]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    assert m, "no python example in the guide"
    return m.group(1)


def test_the_documented_example_passes(pytester):
    pytester.makepyfile(test_example=example_test())
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=6)


def test_fixtures_clean_up_after_themselves(pytester):
    pytester.makeini("[pytest]\ncloudtower_mock_task_speed = 0\n")
    pytester.makepyfile(test_cleanup="""
        import pytest
        from cloudtower.api.label_api import LabelApi
        from cloudtower.models import GetLabelsRequestBody, LabelCreationParams, LabelWhereInput

        SEEN = {}

        def test_a(cloudtower_mock, cloudtower_faults, cloudtower_clock, cloudtower_namespace):
            SEEN["ns"] = cloudtower_namespace
            cloudtower_faults.add(kind="latency", ms=1, operation="get-vms")
            cloudtower_faults.add(kind="task_failure", operation="create-vm")
            assert len(cloudtower_mock.faults()) == 2
            cloudtower_clock.pause()
            cloudtower_clock.speed(5)
            LabelApi(cloudtower_mock.client()).create_label([LabelCreationParams(key="plugin-k", value="v")])

        def test_b(cloudtower_mock, cloudtower_mock_reset):
            assert cloudtower_mock.faults() == []
            clock = cloudtower_mock.admin("GET", "clock")
            assert clock["paused"] is False and clock["speed"] == 1
            assert SEEN["ns"] not in [n["name"] for n in cloudtower_mock.admin("GET", "namespaces")["namespaces"]]
            body = GetLabelsRequestBody(where=LabelWhereInput(key="plugin-k"))
            assert LabelApi(cloudtower_mock.client()).get_labels(body) == []

        def test_namespace_view(cloudtower_mock):
            a = cloudtower_mock.namespace("view-a")
            LabelApi(a.client()).create_label([LabelCreationParams(key="plugin-view", value="a")])
            body = GetLabelsRequestBody(where=LabelWhereInput(key="plugin-view"))
            assert len(LabelApi(a.client()).get_labels(body)) == 1
            assert LabelApi(cloudtower_mock.namespace("view-b").client()).get_labels(body) == []
            a.reset()
            assert LabelApi(a.client()).get_labels(body) == []
            assert cloudtower_mock.url.startswith("http://127.0.0.1:")
            assert cloudtower_mock.api_url == cloudtower_mock.url + "/v2/api"
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=3)


def test_options_are_registered(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--cloudtower-mock-world*", "*--cloudtower-mock-spec*",
                                 "*--cloudtower-mock-task-speed*"])
