"""Results of the suites, and the reports: a console summary, JUnit XML and Markdown."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

# Defect kinds (the names reports use).
SERVER_ERROR = "server error (5xx)"
RESPONSE_SCHEMA = "response does not match the schema"
STATUS_CODE = "undeclared status code"
CONTENT_TYPE = "wrong content type"
RESPONSE_HEADERS = "response headers do not match the contract"
REQUEST_ID = "missing x-tower-request-id header"
NEGATIVE_ACCEPTED = "invalid request accepted (expected 4xx)"
POSITIVE_REJECTED = "valid request rejected"
AUTH = "authentication not enforced (expected 401)"
ERROR_BODY = "error answer is not an ErrorBody"
QUERY_IDS = "query answer differs from the model (ids/order)"
QUERY_COUNT = "wrong count from the -connection query"
QUERY_ERROR = "query argument error handled differently"
PAGINATION = "cursor pagination does not rebuild the full list"
INVARIANT = "state invariant broken"
TASK = "task did not behave as the contract says"
TRANSPORT = "request failed (transport)"
HARNESS = "harness error"
DRIFT = "targets differ"
CLIENT_CONTRACT = "client request broke the contract"
CLIENT_TASK = "task started and never awaited"
CLIENT_FAILED = "client command failed"


@dataclass
class Failure:
    suite: str
    operation: str
    kind: str
    message: str
    count: int = 1


@dataclass
class SuiteResult:
    name: str
    started: float = field(default_factory=time.monotonic)
    duration: float = 0.0
    checks: int = 0
    per_operation: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None          # why the suite did not run
    sections: list[tuple[str, list[str]]] = field(default_factory=list)   # extra report sections

    def check(self, operation: str, n: int = 1) -> None:
        self.checks += n
        self.per_operation[operation] = self.per_operation.get(operation, 0) + n

    def fail(self, operation: str, kind: str, message: str) -> Failure:
        """Record a defect; repeats of the same (operation, kind) are counted, not listed."""
        for f in self.failures:
            if f.operation == operation and f.kind == kind:
                f.count += 1
                return f
        f = Failure(self.name, operation, kind, message.strip())
        self.failures.append(f)
        self.per_operation.setdefault(operation, 0)
        return f

    def note(self, text: str) -> None:
        self.notes.append(text)

    def finish(self) -> "SuiteResult":
        self.duration = time.monotonic() - self.started
        return self

    @property
    def ok(self) -> bool:
        return not self.failures


def summary_lines(results: list[SuiteResult]) -> list[str]:
    lines = ["", "Summary"]
    for r in results:
        if r.skipped:
            lines.append(f"  {r.name:<9} skipped: {r.skipped}")
            continue
        state = "ok" if r.ok else f"{len(r.failures)} defect(s)"
        lines.append(f"  {r.name:<9} {r.checks} checks over {len(r.per_operation)} operation(s), "
                     f"{state}, {r.duration:.1f}s")
        for f in r.failures:
            times = f" (x{f.count})" if f.count > 1 else ""
            lines.append(f"    FAIL {f.operation}: {f.kind}{times}: {_one_line(f.message, 240)}")
    total = sum(len(r.failures) for r in results)
    lines.append(f"  => {'PASSED' if total == 0 else f'FAILED: {total} defect(s)'}")
    return lines


def _one_line(text: str, limit: int) -> str:
    s = " ".join(text.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def write_junit(results: list[SuiteResult], path: Path, name: str = "cloudtower-contract") -> None:
    root = ET.Element("testsuites", name=name,
                      tests=str(sum(max(1, len(r.per_operation)) for r in results)),
                      failures=str(sum(len(r.failures) for r in results)),
                      time=f"{sum(r.duration for r in results):.3f}")
    for r in results:
        ops = sorted(r.per_operation) or [r.name]
        suite = ET.SubElement(root, "testsuite", name=r.name, tests=str(len(ops)),
                              failures=str(len(r.failures)), skipped="1" if r.skipped else "0",
                              time=f"{r.duration:.3f}")
        by_op: dict[str, list[Failure]] = {}
        for f in r.failures:
            by_op.setdefault(f.operation, []).append(f)
        for op in ops:
            case = ET.SubElement(suite, "testcase", classname=f"contract.{r.name}", name=op,
                                 time="0")
            case.set("checks", str(r.per_operation.get(op, 0)))
            if r.skipped:
                ET.SubElement(case, "skipped", message=r.skipped)
            for f in by_op.get(op, []):
                el = ET.SubElement(case, "failure", message=f"{f.kind}: {_one_line(f.message, 200)}",
                                   type=f.kind)
                el.text = f"{f.operation}: {f.kind} (seen {f.count}x)\n{f.message}"
        if r.notes:
            ET.SubElement(suite, "system-out").text = "\n".join(r.notes)
    ET.indent(root)
    path.write_text(ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n", encoding="utf-8")


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def write_markdown(results: list[SuiteResult], path: Path, header: list[str]) -> str:
    out = ["# CloudTower contract test report", ""]
    out += header + [""]
    out += ["| suite | checks | operations | defects | time |", "|---|---|---|---|---|"]
    for r in results:
        if r.skipped:
            out.append(f"| {r.name} | – | – | skipped: {_md_escape(r.skipped)} | – |")
        else:
            out.append(f"| {r.name} | {r.checks} | {len(r.per_operation)} | {len(r.failures)} | {r.duration:.1f}s |")
    total = sum(len(r.failures) for r in results)
    out += ["", f"**Result: {'PASSED' if total == 0 else f'FAILED, {total} defect(s)'}**", ""]
    for r in results:
        if r.skipped and not r.notes:
            continue
        out += [f"## {r.name}", ""]
        if r.failures:
            out += ["| operation | defect | seen | detail |", "|---|---|---|---|"]
            for f in r.failures:
                out.append(f"| `{f.operation}` | {f.kind} | {f.count} | {_md_escape(_one_line(f.message, 600))} |")
            out.append("")
        elif not r.skipped:
            out += [f"No defects in {r.checks} checks.", ""]
        for title, lines in r.sections:
            out += [f"### {title}", ""] + lines + [""]
        if r.notes:
            out += ["Notes:", ""] + [f"- {_md_escape(n)}" for n in r.notes] + [""]
    text = "\n".join(out) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def write_reports(results: list[SuiteResult], report_dir: str | Path, header: list[str]) -> tuple[Path, Path]:
    d = Path(report_dir)
    d.mkdir(parents=True, exist_ok=True)
    junit, md = d / "junit.xml", d / "report.md"
    write_junit(results, junit)
    write_markdown(results, md, header)
    return junit, md
