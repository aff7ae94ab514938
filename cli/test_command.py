"""``kpl test``: run a project's test files (interpreter outputs and placements) and report rule coverage.

Exit codes: 0 every case passed (and coverage reached ``--threshold``); 1 a case failed, errored or matched
nothing, or coverage is below the threshold; 2 a path does not exist or a file is unreadable or not YAML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kpl.cli_support import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from kpl.formats import CASE_FORMATS, CaseRecord, case_records, markdown_table, render_cases, write_output

__all__ = ["coverage_record", "render_test_text", "test"]

TITLE = "kpl test"


def coverage_record(result: Any, threshold: float | None) -> CaseRecord | None:
    """A pseudo-case for the coverage threshold: passed or failed, None without ``--threshold``."""
    if threshold is None:
        return None
    percent = result.coverage.user_percent()
    if percent is None:
        return CaseRecord("(coverage)", "rule coverage", "Coverage", "passed", "no user rules to cover")
    if percent + 1e-9 >= threshold:
        return CaseRecord("(coverage)", "rule coverage", "Coverage", "passed", f"{percent:.1f}%")
    missed = [f"{r.kind}.{m}" for r in result.coverage.rules if r.user
              for m in r.members if m not in r.covered]
    message = f"coverage of your rules is {percent:.1f}%, below the threshold of {threshold:g}%"
    if missed:
        message += f"; never evaluated: {', '.join(missed[:20])}" + (" ..." if len(missed) > 20 else "")
    return CaseRecord("(coverage)", "rule coverage", "Coverage", "failed", message)


def _coverage_rows(result: Any) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for rule in result.coverage.rules:
        missed = [m for m in rule.members if m not in rule.covered]
        evaluated = f"{len(rule.covered)}/{len(rule.members)} ({rule.percent:.0f}%)"
        rows.append((f"{rule.api_version} {rule.kind}", rule.origin, "yours" if rule.user else "built-in",
                     evaluated, ", ".join(missed) or "-"))
    return rows


def _coverage_line(result: Any) -> str:
    percent = result.coverage.user_percent()
    return "no user rules" if percent is None else f"coverage of your rules: {percent:.1f}%"


def render_test_text(records: list[CaseRecord], result: Any, show: int) -> str:
    """Failures first (file:line, case, message), then the coverage table and a summary line."""
    lines = []
    failures = [r for r in records if r.outcome in ("failed", "errored")]
    for record in failures[:show]:
        where = f"{record.file}:{record.line}" if record.line else record.file
        operation = f" [{record.operation}]" if record.operation else ""
        message = record.message.replace("\n", "\n  ")
        lines.append(f"{record.outcome.upper()} {where} :: {record.case}{operation}\n  {message}")
    if len(failures) > show:
        lines.append(f"... and {len(failures) - show} more failure(s)")
    rows = _coverage_rows(result)
    if rows:
        width = max(len(r[0]) for r in rows)
        lines.append("coverage:")
        lines.extend(f"  {r[0]:<{width}}  {r[3]:>12}  {r[2]:<8}  missed: {r[4]}" for r in rows)
    passed = sum(1 for r in records if r.outcome == "passed")
    lines.append(f"{passed} passed, {len(failures)} failed; {_coverage_line(result)}")
    return "\n".join(lines)


def _render(fmt: str, records: list[CaseRecord], result: Any, threshold: float | None, show: int) -> str:
    if fmt == "text":
        return render_test_text(records, result, show)
    if fmt == "json":
        found = result.to_json()
        found["threshold"] = threshold
        if records and records[-1].file == "(coverage)":
            found["coverage"]["passed"] = records[-1].outcome == "passed"
        return json.dumps(found, indent=2)
    text = render_cases(fmt, records, tool="kpl-test", title=TITLE)
    if fmt == "markdown" and result.coverage.rules:
        header = ("rule", "origin", "", "members evaluated", "never evaluated")
        text += "\n\n### Rule coverage\n\n" + _coverage_line(result) + ".\n\n"
        text += "\n".join(markdown_table(header, _coverage_rows(result)))
    return text


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path),
              help="Your interpreter rules: .kpl files or folders (repeatable).")
@click.option("--threshold", type=click.FloatRange(0, 100), metavar="PCT",
              help="Fail when fewer than PCT percent of your rules' members were evaluated.")
@click.option("-o", "--output", "fmt", type=click.Choice(CASE_FORMATS), default="text", show_default=True)
@click.option("--output-file", type=click.Path(dir_okay=False, path_type=Path), help="Write results here.")
@click.option("--show", default=20, show_default=True, help="How many failures to show in text output.")
def test(paths: tuple[Path, ...], rule_paths: tuple[Path, ...], threshold: float | None, fmt: str,
         output_file: Path | None, show: int) -> None:
    """Run kpl test files (and Karmada interpreter test data) against your rules and policies.

    PATHS are test files or folders of them (.yaml). Each case checks an interpreter operation's output
    or where a binding is placed; rule coverage says which members of your rules were evaluated.
    """
    from kpl.engine.testing import run_tests

    result = run_tests(paths, rule_paths)
    records = case_records(result.results)
    extra = coverage_record(result, threshold)
    if extra is not None:
        records.append(extra)
    write_output(_render(fmt, records, result, threshold, show), output_file)
    if result.io_failed:
        raise SystemExit(EXIT_USAGE)
    failed = any(r.outcome in ("failed", "errored") for r in records)
    raise SystemExit(EXIT_FINDINGS if failed else EXIT_OK)
