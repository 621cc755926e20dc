"""The reports, one content in three forms: JUnit XML (for CI), Markdown and HTML (for people).

Each holds: the run's header, a table per suite, every defect with the operation, the kind,
how often, the HTTP status, the detail and the request that showed it as a curl line; the
suites' extra sections and notes; and the coverage table (requests per operation and suite,
and every operation no suite exercised, with why).
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from pathlib import Path

from .report import SuiteResult, coverage, one_line


def _status(f) -> str:
    return "no answer" if f.status is None and f.request else ("–" if f.status is None else str(f.status))


# ------------------------------------------------------------------------------ JUnit
def write_junit(results: list[SuiteResult], path: Path, header: list[str], name: str = "cloudtower-contract",
                all_operations=()) -> None:
    names, rows, skipped = coverage(results, all_operations)
    root = ET.Element("testsuites", name=name,
                      tests=str(sum(max(1, len(r.requests) + len(r.failures)) for r in results)),
                      failures=str(sum(len(r.failures) for r in results)),
                      time=f"{sum(r.duration for r in results):.3f}")
    for r in results:
        ops = sorted(set(r.requests) | set(r.per_operation) | {f.operation for f in r.failures}) or [r.name]
        suite = ET.SubElement(root, "testsuite", name=r.name, tests=str(len(ops) + len(r.skipped_ops)),
                              failures=str(len(r.failures)),
                              skipped=str(len(r.skipped_ops) + (1 if r.skipped else 0)),
                              time=f"{r.duration:.3f}")
        by_op: dict[str, list] = {}
        for f in r.failures:
            by_op.setdefault(f.operation, []).append(f)
        for op in ops:
            case = ET.SubElement(suite, "testcase", classname=f"contract.{r.name}", name=op, time="0")
            case.set("requests", str(r.requests.get(op, 0)))
            case.set("checks", str(r.per_operation.get(op, 0)))
            if r.skipped:
                ET.SubElement(case, "skipped", message=r.skipped)
            for f in by_op.get(op, []):
                el = ET.SubElement(case, "failure", message=f"{f.operation}: {f.kind}: {one_line(f.message, 300)}",
                                   type=f.kind)
                el.text = (f"{f.operation}: {f.kind} (seen {f.count}x, HTTP {_status(f)})\n{f.message}"
                           + (f"\nrequest:\n{f.request}" if f.request else ""))
        for op, why in sorted(r.skipped_ops.items()):
            case = ET.SubElement(suite, "testcase", classname=f"contract.{r.name}", name=op, time="0")
            ET.SubElement(case, "skipped", message=why)
        out = list(header)
        for title, lines in r.sections:
            out += ["", title] + lines
        if r.notes:
            out += ["", "Notes:"] + [f"- {n}" for n in r.notes]
        ET.SubElement(suite, "system-out").text = "\n".join(out)
    orphans = {op: why for op, why in skipped.items() if not any(op in r.skipped_ops for r in results)}
    if orphans:
        suite = ET.SubElement(root, "testsuite", name="not exercised", tests=str(len(orphans)), failures="0",
                              skipped=str(len(orphans)), time="0")
        for op, why in orphans.items():
            case = ET.SubElement(suite, "testcase", classname="contract.coverage", name=op, time="0")
            ET.SubElement(case, "skipped", message="; ".join(why))
    ET.indent(root)
    path.write_text(ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------ Markdown
def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown(results: list[SuiteResult], header: list[str], all_operations=()) -> str:
    out = ["# CloudTower contract test report", ""] + header + [""]
    out += ["| suite | requests | checks | operations | defects | time |", "|---|---|---|---|---|---|"]
    for r in results:
        if r.skipped:
            out.append(f"| {r.name} | – | – | – | skipped: {_md(r.skipped)} | – |")
        else:
            out.append(f"| {r.name} | {sum(r.requests.values())} | {r.checks} | {len(r.per_operation)} | "
                       f"{len(r.failures)} | {r.duration:.1f}s |")
    total = sum(len(r.failures) for r in results)
    out += ["", f"**Result: {'PASSED' if total == 0 else f'FAILED, {total} defect(s)'}**", ""]
    for r in results:
        if r.skipped and not r.notes:
            continue
        out += [f"## {r.name}", ""]
        if r.failures:
            for f in r.failures:
                out.append(f"- **`{f.operation}`**: {f.kind} (seen {f.count}x, HTTP {_status(f)}): "
                           f"{_md(one_line(f.message, 1200))}")
                if f.request:
                    out += ["", "  ```sh", f"  {f.request}", "  ```", ""]
            out.append("")
        elif not r.skipped:
            out += [f"No defects in {r.checks} checks.", ""]
        for title, lines in r.sections:
            out += [f"### {title}", ""] + lines + [""]
        if r.notes:
            out += ["Notes:", ""] + [f"- {_md(n)}" for n in r.notes] + [""]
    names, rows, skipped = coverage(results, all_operations)
    out += ["## Coverage", "", f"{len(rows)} operation(s) exercised; {len(skipped)} not exercised.", ""]
    if rows:
        out += ["| operation | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        out += [f"| `{op}` | " + " | ".join(str(per.get(n, "")) for n in names) + " |" for op, per in rows]
        out.append("")
    if skipped:
        out += ["Not exercised:", "", "| operation | why |", "|---|---|"]
        out += [f"| `{op}` | {_md('; '.join(why))} |" for op, why in skipped.items()]
        out.append("")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------ HTML
CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;"
       "margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}"
       "pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;word-break:break-all}"
       ".fail{color:#a00}.pass{color:#070}del{background:#fdd}ins{background:#dfd;text-decoration:none}")


def _e(s) -> str:
    return html.escape(str(s))


def _md_table_to_html(lines: list[str]) -> list[str]:
    """Sections are written as Markdown (tables or bullet lines); shown in HTML the same."""
    out: list[str] = []
    rows = [ln for ln in lines if ln.startswith("|")]
    if rows and len(rows) == len([ln for ln in lines if ln.strip()]):
        out.append("<table>")
        for i, ln in enumerate(rows):
            if i == 1 and set(ln.replace("|", "").strip()) <= {"-", " "}:
                continue
            cells = [c.strip().replace("\\|", "|") for c in ln.strip().strip("|").split(" | ")]
            tag = "th" if i == 0 else "td"
            out.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in cells) + "</tr>")
        out.append("</table>")
        return out
    out.append("<ul>" + "".join(f"<li>{_inline(ln.lstrip('- ').strip())}</li>" for ln in lines if ln.strip()) + "</ul>")
    return out


def _inline(s: str) -> str:
    """`code`, **bold**, ~~removed~~ / ++added++ (drift highlights) of a Markdown cell, escaped."""
    import re
    t = _e(s)
    t = re.sub(r"`([^`]*)`", r"<code>\1</code>", t)
    t = re.sub(r"\*\*([^*]*)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"~~([^~]*)~~", r"<del>\1</del>", t)
    t = re.sub(r"\+\+([^+]*)\+\+", r"<ins>\1</ins>", t)
    return t


def html_report(results: list[SuiteResult], header: list[str], all_operations=()) -> str:
    total = sum(len(r.failures) for r in results)
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>CloudTower contract test report</title>",
           f"<style>{CSS}</style></head><body><h1>CloudTower contract test report</h1>", "<ul>"]
    out += [f"<li>{_inline(h.lstrip('- '))}</li>" for h in header] + ["</ul>", "<table>",
            "<tr><th>suite</th><th>requests</th><th>checks</th><th>operations</th><th>defects</th><th>time</th></tr>"]
    for r in results:
        if r.skipped:
            out.append(f"<tr><td>{_e(r.name)}</td><td>–</td><td>–</td><td>–</td><td>skipped: {_e(r.skipped)}</td>"
                       "<td>–</td></tr>")
        else:
            out.append(f"<tr><td>{_e(r.name)}</td><td>{sum(r.requests.values())}</td><td>{r.checks}</td>"
                       f"<td>{len(r.per_operation)}</td><td>{len(r.failures)}</td><td>{r.duration:.1f}s</td></tr>")
    verdict = "PASSED" if total == 0 else f"FAILED, {total} defect(s)"
    out += ["</table>", f"<p class='{'pass' if total == 0 else 'fail'}'><b>Result: {verdict}</b></p>"]
    for r in results:
        if r.skipped and not r.notes:
            continue
        out.append(f"<h2>{_e(r.name)}</h2>")
        if r.failures:
            out.append("<ul>")
            for f in r.failures:
                out.append(f"<li class='fail'><b><code>{_e(f.operation)}</code></b>: {_e(f.kind)} (seen {f.count}x, "
                           f"HTTP {_e(_status(f))}): {_e(one_line(f.message, 1200))}"
                           + (f"<pre>{_e(f.request)}</pre>" if f.request else "") + "</li>")
            out.append("</ul>")
        elif not r.skipped:
            out.append(f"<p>No defects in {r.checks} checks.</p>")
        for title, lines in r.sections:
            out.append(f"<h3>{_e(title)}</h3>")
            out += _md_table_to_html(lines)
        if r.notes:
            out.append("<p>Notes:</p><ul>" + "".join(f"<li>{_e(n)}</li>" for n in r.notes) + "</ul>")
    names, rows, skipped = coverage(results, all_operations)
    out += ["<h2>Coverage</h2>", f"<p>{len(rows)} operation(s) exercised; {len(skipped)} not exercised.</p>"]
    if rows:
        out.append("<table><tr><th>operation</th>" + "".join(f"<th>{_e(n)}</th>" for n in names) + "</tr>")
        out += ["<tr><td><code>" + _e(op) + "</code></td>" + "".join(f"<td>{per.get(n, '')}</td>" for n in names)
                + "</tr>" for op, per in rows]
        out.append("</table>")
    if skipped:
        out.append("<p>Not exercised:</p><table><tr><th>operation</th><th>why</th></tr>")
        out += [f"<tr><td><code>{_e(op)}</code></td><td>{_e('; '.join(why))}</td></tr>" for op, why in skipped.items()]
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_reports(results: list[SuiteResult], report_dir: str | Path, header: list[str],
                  all_operations=()) -> tuple[Path, Path, Path]:
    """junit.xml, report.md and report.html in `report_dir`; `all_operations` (the contract's)
    lets the coverage table list the operations no suite touched."""
    d = Path(report_dir)
    d.mkdir(parents=True, exist_ok=True)
    junit, md, page = d / "junit.xml", d / "report.md", d / "report.html"
    write_junit(results, junit, header, all_operations=all_operations)
    md.write_text(markdown(results, header, all_operations), encoding="utf-8")
    page.write_text(html_report(results, header, all_operations), encoding="utf-8")
    return junit, md, page
