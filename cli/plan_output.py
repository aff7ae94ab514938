"""``kpl plan`` output in every format: the report (text, JSON, markdown, HTML) and the plan's findings for
CI (SARIF, JUnit, GitHub annotations), located in the files the objects come from."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from kpl.cli_support import EXIT_USAGE, write_file
from kpl.engine.plan_diff import diff_markdown_lines, diff_text_lines
from kpl.engine.plan_findings import FINDING_CODES, PlanCheck, locate_inputs, plan_checks
from kpl.engine.report import PlacementReport, render_json, render_markdown, render_text
from kpl.engine.report_html import render_html
from kpl.engine.report_json import iter_report_json
from kpl.formats import CaseRecord, cases_junit, diagnostics_github, diagnostics_sarif, write_output

__all__ = ["PLAN_FORMATS", "render_plan", "write_plan"]

PLAN_FORMATS = ("text", "json", "markdown", "html", "sarif", "junit", "github")
_CI_FORMATS = ("sarif", "junit", "github")


def render_plan(report: PlacementReport, fmt: str, *, color: bool = False, policy_paths: Sequence[Path] = (),
                snapshot_paths: Sequence[Path] = ()) -> str:
    """The report (with its diff, when it has one) in ``fmt``; CI formats read the inputs for positions."""
    if fmt in _CI_FORMATS:
        checks = plan_checks(report, locate_inputs(policy_paths, snapshot_paths))
        return _render_checks(fmt, checks)
    if fmt == "json":
        return render_json(report)
    if fmt == "html":
        return render_html(report)
    if fmt == "markdown":
        extra = diff_markdown_lines(report.diff) if report.diff is not None else []
        return render_markdown(report) + "".join(line + "\n" for line in extra)
    text = render_text(report, color=color)
    if report.diff is not None:
        text = text.rstrip("\n") + "\n\n" + "\n".join(diff_text_lines(report.diff)) + "\n"
    return text


def write_plan(report: PlacementReport, fmt: str, output_file: Path | None, *, color: bool = False,
               policy_paths: Sequence[Path] = (), snapshot_paths: Sequence[Path] = ()) -> None:
    """Print the report in ``fmt`` or write it to ``output_file`` (atomically); JSON is streamed in pieces,
    never built whole."""
    if fmt != "json":
        text = render_plan(report, fmt, color=color, policy_paths=policy_paths, snapshot_paths=snapshot_paths)
        write_output(text, output_file)
        return
    if output_file is None:
        for piece in _batched(iter_report_json(report)):
            sys.stdout.write(piece)
        sys.stdout.flush()
        return
    try:
        write_file(output_file, _batched(iter_report_json(report)))
    except OSError as error:
        click.echo(f"kpl: error: cannot write `{output_file}`: {error.strerror or error}", err=True)
        raise SystemExit(EXIT_USAGE) from None


def _batched(pieces: Iterator[str], size: int = 1 << 20) -> Iterator[str]:
    """The pieces joined into strings of about ``size`` characters (fewer, larger writes)."""
    pending: list[str] = []
    length = 0
    for piece in pieces:
        pending.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(pending)
            pending, length = [], 0
    if pending:
        yield "".join(pending)


def _summary(checks: Sequence[PlanCheck]) -> str:
    failed = sum(1 for check in checks if check.finding is not None)
    return f"kpl plan: {len(checks)} check(s), {failed} finding(s)"


def _sarif(checks: Sequence[PlanCheck]) -> str:
    log: dict[str, Any] = json.loads(diagnostics_sarif([c.finding for c in checks if c.finding is not None]))
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        if rule["id"] in FINDING_CODES:
            rule["shortDescription"] = {"text": FINDING_CODES[rule["id"]]}
    return json.dumps(log, indent=2)


def _render_checks(fmt: str, checks: Sequence[PlanCheck]) -> str:
    if fmt == "sarif":
        return _sarif(checks)
    if fmt == "github":
        found = diagnostics_github([c.finding for c in checks if c.finding is not None])
        return "\n".join([*found.splitlines()[:-1], _summary(checks)])  # the last line is check's summary
    records = [CaseRecord(c.file or "(plan)", c.subject, c.step, "passed" if c.finding is None else "failed",
                          "" if c.finding is None else c.finding.message, c.line) for c in checks]
    return cases_junit(records, "kpl plan")
