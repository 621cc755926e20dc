"""The harness' power to catch faults, measured: a fault-injecting HTTP proxy (tests/fault_proxy.py)
sits between the harness and the in-process mock; each test injects one fault family and
checks the harness names the operation and the problem, with the request as a curl line.
Through the same proxy with no fault, the same runs find nothing (no false alarms)."""

from __future__ import annotations

import re

import pytest

from contract_tests.cli import main as contract_main
from contract_tests.mockserver import InProcessMock
from fault_proxy import FaultProxy, make_faults
from helpers import served_app


@pytest.fixture(scope="module")
def proxy(sdk_contract):
    with InProcessMock(contract=sdk_contract, task_speed=0) as mock:
        p = FaultProxy(mock.url)
        with served_app(p, numthreads=8) as api:
            p.url = api[: -len("/v2/api")]
            p.faults = make_faults(p)
            yield p


def run(proxy, tmp_path, fault: str | None, parts: str, resources: str, extra=()) -> tuple[int, str]:
    proxy.fault = proxy.faults[fault] if fault else None
    try:
        rc = contract_main(["--base-url", proxy.url, "-u", "root", "-p", "root", "-q", "--report-dir",
                            str(tmp_path), "--suites", "probe", "--probe-parts", parts, "--query-resources",
                            resources, "--time-budget", "40", *extra])
    finally:
        proxy.fault = None
    return rc, (tmp_path / "report.md").read_text()


def defect_lines(report: str) -> list[str]:
    return [ln for ln in report.splitlines() if ln.startswith("- **`/")]


def assert_caught(report: str, op: str, kind: str, detail: str | None = None) -> None:
    lines = [ln for ln in defect_lines(report) if f"**`{op}`**" in ln and kind in ln]
    assert lines, f"{op} / {kind} not reported; defects:\n" + "\n".join(defect_lines(report))
    if detail:
        assert any(re.search(detail, ln) for ln in lines), lines
    # the request that showed it, as a curl line with the token masked
    block = report[report.index(lines[0]):]
    assert "curl -sS -X POST" in block.split("\n- **")[0]
    assert "eyJ" not in block.split("\n- **")[0]          # no JWT in the report


# (fault, probe parts, resources, operation, defect kind (substring), detail regex)
CASES = [
    ("missing_required_field", "query", "Cluster", "/get-clusters", "response does not match", "'name' is missing"),
    ("wrong_type", "query", "Vm", "/get-vms", "response does not match", r"vcpu: expected integer"),
    ("null_not_nullable", "query", "Host", "/get-hosts", "response does not match", r"local_id: must not be null"),
    ("wrong_content_type", "query", "Label", "/get-labels", "wrong content type", "text/plain"),
    ("missing_request_id", "query", "VmDisk", "/get-vm-disks", "x-tower-request-id", None),
    ("server_error", "query", "Host", "/get-hosts-connection", "server error (5xx)", "HTTP 500"),
    ("invalid_accepted", "invalid", "Vm", "/get-vms", "invalid request accepted", None),
    ("error_body_shape", "invalid", "Cluster", "/get-clusters", "not an ErrorBody", None),
    ("auth_no_token", "auth", "Vm", "/get-vms", "authentication not enforced", "no token"),
    ("auth_bogus_token", "auth", "Vm", "/get-vms", "authentication not enforced", "bogus token"),
    ("auth_expired_token", "auth", "Vm", "/get-vms", "authentication not enforced", "expired token"),
    ("default_order", "query", "Host", "/get-hosts", "ordering", r"\[default order\]"),
    ("orderby_desc_ignored", "query", "Vm", "/get-vms", "ordering", r"\[orderBy\]"),
    ("order_ties", "query", "Vm", "/get-vms", "ordering", None),
    ("skip_off_by_one", "query", "Cluster", "/get-clusters", "ordering", r"\[(pagination|cursor)"),
    ("after_ignored", "query", "Label", "/get-labels", "", r"cursor"),
    ("before_ignored", "query", "VmDisk", "/get-vm-disks", "ordering", r"\[cursor"),
    ("first_ignored", "query", "Task", "/get-tasks", "ordering", r"\[(pagination|cursor)"),
    ("contains_as_starts_with", "query", "Vm", "/get-vms", "where filter", r"\[string operators\]"),
    ("ends_with_ignored", "query", "Vm", "/get-vms", "where filter", r"\[string operators\]"),
    ("in_empty_matches_all", "query", "Vm", "/get-vms", "where filter", r"\[_in / _not_in\]"),
    ("not_in_null_ignored", "query", "Vm", "/get-vms", "where filter", r"\[_in / _not_in\]"),
    ("every_as_some", "query", "Vm", "/get-vms", "where filter", r"\[some / every / none\]"),
    ("none_as_every", "query", "Vm", "/get-vms", "where filter", r"\[some / every / none\]"),
    ("not_list_as_nand", "query", "Vm", "/get-vms", "where filter", r"\[NOT / OR / AND\]"),
    ("or_empty_matches_all", "query", "Vm", "/get-vms", "where filter", r"\[NOT / OR / AND\]"),
    ("gt_as_gte", "query", "Vm", "/get-vms", "where filter", r"\[comparison bounds\]"),
    ("lte_as_lt", "query", "Vm", "/get-vms", "where filter", r"\[comparison bounds\]"),
    ("count_ignores_where", "query", "Vm", "/get-vms-connection", "wrong count", None),
    ("count_ignores_pagination", "query", "Vm", "/get-vms-connection", "wrong count", r"\[pagination"),
    ("task_never_finishes", "lifecycle", "Vm", "/create-vm", "task never finished", None),
    ("task_false_success", "lifecycle", "Vm", "/create-vm-folder", "task reported success", None),
    ("async_status_left", "lifecycle", "Vm", "/get-vms", "entityAsyncStatus left set", None),
    ("delete_does_nothing", "lifecycle", "Vm", "/delete-vm", "delete reported done", None),
    ("snapshot_refs_dangling", "lifecycle", "Vm", "/get-vm-snapshots", "snapshot reference", None),
]


@pytest.mark.parametrize("fault,parts,resources,op,kind,detail", CASES, ids=[c[0] for c in CASES])
def test_each_fault_family_is_caught(proxy, tmp_path, fault, parts, resources, op, kind, detail):
    extra = ["--max-defects", "3"] + (["--task-timeout", "4"] if fault == "task_never_finishes" else [])
    rc, report = run(proxy, tmp_path, fault, parts, resources, extra)
    assert rc == 1, report
    assert_caught(report, op, kind, detail)


def test_no_false_alarms_through_the_proxy(proxy, tmp_path):
    rc, report = run(proxy, tmp_path, None, "reads,auth,invalid,query,lifecycle", "Vm,Cluster,Host,VmDisk,Label,Task",
                     ("--time-budget", "120"))
    assert rc == 0, "\n".join(defect_lines(report)) or report
    assert "No defects" in report


def test_every_family_has_a_fault(proxy):
    assert {c[0] for c in CASES} == set(proxy.faults)
