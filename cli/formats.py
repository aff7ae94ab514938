"""Machine formats for CI: SARIF 2.1.0, JUnit XML, GitHub workflow commands and Markdown.

Two kinds of results are rendered: **diagnostics** (``kpl check``), located in source files, and **case
results** (``kpl conformance``, ``kpl test``), one per test case, located in a file and sometimes a line.
Every renderer returns text; the caller writes it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import click

from kpl import __version__
from kpl.cli_support import EXIT_USAGE, emit, write_file
from kpl.dsl.diagnostics import Diagnostic, Severity, diagnostic_to_json

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

__all__ = [
    "CASE_FORMATS",
    "CHECK_FORMATS",
    "CODE_DESCRIPTIONS",
    "OUTPUT_FORMATS",
    "CaseRecord",
    "ResultLike",
    "case_records",
    "cases_github",
    "cases_junit",
    "cases_markdown",
    "cases_sarif",
    "diagnostics_github",
    "diagnostics_junit",
    "diagnostics_markdown",
    "diagnostics_sarif",
    "github_escape_data",
    "github_escape_property",
    "markdown_cell",
    "markdown_table",
    "rebase_records",
    "render_cases",
    "render_diagnostics_as",
    "write_output",
]

OUTPUT_FORMATS = ("text", "json", "sarif", "junit", "github", "markdown")
CHECK_FORMATS = OUTPUT_FORMATS
CASE_FORMATS = OUTPUT_FORMATS
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

CODE_DESCRIPTIONS: Mapping[str, str] = {
    "io.binary": "The file is binary, not kpl source.",
    "io.not_found": "A path given on the command line does not exist.",
    "io.not_utf8": "The file is not valid UTF-8.",
    "io.too_many_files": "Too many .kpl files under the given paths.",
    "io.unreadable": "The file cannot be read.",
    "parse.invalid": "The source is not valid kpl.",
    "parse.missing_token": "A token the grammar requires is missing.",
    "parse.too_deep": "The source is nested too deeply.",
    "parse.too_large": "The source file is too large.",
    "parse.unexpected_character": "A character that cannot start any kpl token.",
    "parse.unexpected_eof": "The file ends in the middle of a declaration.",
    "parse.unexpected_token": "A token that the grammar does not allow here.",
    "parse.unterminated_string": "A string literal is not closed.",
    "check.ambiguous_policies": "Two policies of the same priority claim the same resources.",
    "check.duplicate_interpreter": "Two interpreter blocks for the same kind.",
    "check.duplicate_member": "A member is defined twice in one block.",
    "check.duplicate_policy": "Two policies with the same name.",
    "check.duplicate_quota": "Two quotas with the same name.",
    "check.duplicate_resource": "A resource is selected twice.",
    "check.duplicate_spread": "Two spread constraints on the same field.",
    "check.invalid_jsonpath": "A Kubernetes JSONPath template that does not parse.",
    "check.invalid_label_key": "A label key that Kubernetes rejects.",
    "check.invalid_label_name": "A label name that Kubernetes rejects.",
    "check.invalid_quantity": "A resource quantity that does not parse.",
    "check.invalid_value": "A value Karmada rejects for this field.",
    "check.overrides_builtin": "A user rule replaces a built-in interpreter rule.",
    "check.recursive_function": "A function calls itself; rules must terminate.",
    "check.spread_bounds": "A spread constraint's minimum is above its maximum.",
    "check.spread_max_zero": "A spread constraint allows zero groups.",
    "check.spread_needs_cluster": "Spreading by region, zone or provider needs a cluster constraint too.",
    "check.state_preservation_multi_cluster": "State preservation needs a workload on exactly one cluster.",
    "check.state_preservation_purge_mode": "State preservation is not allowed with this purge mode.",
    "check.type_mismatch": "An expression of the wrong type.",
    "check.unknown_cluster": "A cluster name not found in the fleet snapshot.",
    "check.unknown_component_field": "A component block field kpl does not know.",
    "check.unknown_function": "A call to a function that does not exist.",
    "check.unknown_name": "A name that is not defined.",
    "check.unknown_operation": "An interpreter member that is not a Karmada operation.",
    "check.unsatisfiable_spread": "No cluster set in the snapshot satisfies the spread constraints.",
    "check.weight_on_excluded_cluster": "A weight for a cluster the placement excludes.",
    "check.wrong_arity": "A call with the wrong number of arguments.",
    "snapshot.duplicate_cluster": "A cluster appears twice in the snapshot.",
    "snapshot.invalid_json": "A snapshot file that is not valid JSON.",
    "snapshot.invalid_object": "A snapshot object without kind or metadata.name.",
    "snapshot.invalid_yaml": "A snapshot file that is not valid YAML.",
    "snapshot.too_deep": "A snapshot document nested too deeply.",
    "snapshot.too_large": "A snapshot file that is too large.",
}

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
PROBLEM_OUTCOMES = ("failed", "errored")


def describe(code: str) -> str:
    """A short description of a diagnostic code (known codes have their own; others are spelled out)."""
    if code in CODE_DESCRIPTIONS:
        return CODE_DESCRIPTIONS[code]
    phase, _, rest = code.partition(".")
    return f"{phase}: {rest.replace('_', ' ')}." if rest else f"{code}."


# ------------------------------------------------------------------------------------ building blocks


def artifact_uri(name: str) -> str:
    """A relative path as a percent-encoded URI reference; absolute paths become ``file://`` URIs."""
    path = PurePosixPath(name.replace("\\", "/"))
    encoded = quote(path.as_posix(), safe="/")
    return f"file://{encoded}" if path.is_absolute() else encoded


def github_escape_data(text: str) -> str:
    """Escape a workflow command's message (``%``, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_escape_property(text: str) -> str:
    """Escape a workflow command's property value (also ``:`` and ``,``)."""
    return github_escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github_line(command: str, message: str, properties: Sequence[tuple[str, object]]) -> str:
    given = ",".join(f"{k}={github_escape_property(str(v))}" for k, v in properties if v not in (None, "", 0))
    head = f"::{command} {given}" if given else f"::{command}"
    return f"{head}::{github_escape_data(message)}"


def markdown_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, line breaks as ``<br>``."""
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r\n", "\n").replace("\n", "<br>")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(markdown_cell(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in rows)
    return lines


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def _xml(root: ET.Element) -> str:
    import xml.etree.ElementTree as ET  # only for JUnit output

    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: object) -> ET.Element:
    import xml.etree.ElementTree as ET  # only for JUnit output

    node = ET.SubElement(parent, tag, {k: _xml_text(str(v)) for k, v in attributes.items() if v is not None})
    if text:
        node.text = _xml_text(text)
    return node


def _sarif_log(rules: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    driver = {"name": "kpl", "version": __version__, "semanticVersion": __version__, "rules": rules}
    run = {"tool": {"driver": driver}, "columnKind": "unicodeCodePoints",
           "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The folder kpl was run from."}}},
           "results": results}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _is_file(name: str) -> bool:
    """Whether a result's file is a real path (not a placeholder such as ``(coverage)`` or ``<input>``)."""
    return bool(name) and not name.startswith(("(", "<"))


def _location(file: str, region: dict[str, int] | None) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": artifact_uri(file)}
    if not artifact["uri"].startswith("file://"):
        artifact["uriBaseId"] = "%SRCROOT%"
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if region:
        physical["region"] = region
    return {"physicalLocation": physical}


# ------------------------------------------------------------------------------------ diagnostics


def _region(found: Mapping[str, Any]) -> dict[str, int] | None:
    if not found["line"]:
        return None
    region = {"startLine": found["line"], "startColumn": max(found["column"], 1)}
    end_line, end_column = found["endLine"], found["endColumn"]
    if end_line and (end_line, end_column) >= (found["line"], found["column"]):
        region["endLine"], region["endColumn"] = end_line, max(end_column, 1)
    return region


def _message(found: Mapping[str, Any]) -> str:
    return f"{found['message']}\nhelp: {found['help']}" if found.get("help") else str(found["message"])


def diagnostics_sarif(diagnostics: Sequence[Diagnostic]) -> str:
    """A SARIF 2.1.0 log: one rule per diagnostic code, one result per diagnostic."""
    codes = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    levels = {d.code: _SARIF_LEVEL[d.severity] for d in diagnostics}
    rules = [{"id": code, "name": code.replace(".", "/"), "shortDescription": {"text": describe(code)},
              "defaultConfiguration": {"level": levels[code]}} for code in codes]
    results = []
    for diagnostic in diagnostics:
        found = diagnostic_to_json(diagnostic)
        results.append({
            "ruleId": diagnostic.code, "ruleIndex": index[diagnostic.code],
            "level": _SARIF_LEVEL[diagnostic.severity], "message": {"text": _message(found)},
            "locations": [_location(found["file"], _region(found))] if _is_file(found["file"]) else [],
        })
    return json.dumps(_sarif_log(rules, results), indent=2)


def diagnostics_junit(diagnostics: Sequence[Diagnostic], files: Sequence[str], *,
                      fail_on_warn: bool = False) -> str:
    """JUnit XML: a test case per checked file, failing on its errors (and warnings with ``fail_on_warn``)."""
    import xml.etree.ElementTree as ET  # only for JUnit output

    by_file: dict[str, list[Diagnostic]] = {name: [] for name in files}
    for diagnostic in diagnostics:
        by_file.setdefault(diagnostic.location()[0], []).append(diagnostic)
    failing = {Severity.ERROR, Severity.WARNING} if fail_on_warn else {Severity.ERROR}
    failures = sum(1 for found in by_file.values() if any(d.severity in failing for d in found))
    root = ET.Element("testsuites", {"name": "kpl check", "tests": str(len(by_file)),
                                     "failures": str(failures), "errors": "0"})
    suite = _element(root, "testsuite", name="kpl check", tests=len(by_file), failures=failures, errors=0,
                     skipped=0)
    for name, found in by_file.items():
        case = _element(suite, "testcase", classname="kpl.check", name=name)
        bad = [d for d in found if d.severity in failing]
        if bad:
            first = diagnostic_to_json(bad[0])
            text = "\n".join(_diagnostic_line(d) for d in bad)
            _element(case, "failure", text, message=first["message"], type=bad[0].code)
        rest = [d for d in found if d.severity not in failing]
        if rest:
            _element(case, "system-out", "\n".join(_diagnostic_line(d) for d in rest))
    return _xml(root)


def _diagnostic_line(diagnostic: Diagnostic) -> str:
    found = diagnostic_to_json(diagnostic)
    where = f"{found['file']}:{found['line']}:{found['column']}" if found["line"] else found["file"]
    return f"{where}: {found['severity']}[{found['code']}]: {_message(found)}"


def diagnostics_github(diagnostics: Sequence[Diagnostic], files: Sequence[str] = ()) -> str:
    """One workflow command per diagnostic (``::error file=..,line=..::message``), then a summary line."""
    lines = []
    for diagnostic in diagnostics:
        found = diagnostic_to_json(diagnostic)
        located = bool(found["line"])
        properties = [("file", found["file"] if _is_file(found["file"]) else ""),
                      ("line", found["line"]), ("col", found["column"]),
                      ("endLine", found["endLine"] if located else 0),
                      ("endColumn", found["endColumn"] if located else 0), ("title", diagnostic.code)]
        lines.append(_github_line(_GITHUB_COMMAND[diagnostic.severity], _message(found), properties))
    lines.append(_check_summary(diagnostics, files))
    return "\n".join(lines)


def _check_summary(diagnostics: Sequence[Diagnostic], files: Sequence[str]) -> str:
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    return f"checked {len(files)} file(s): {errors} error(s), {warnings} warning(s)"


def diagnostics_markdown(diagnostics: Sequence[Diagnostic], files: Sequence[str]) -> str:
    lines = ["## kpl check", "", _check_summary(diagnostics, files) + "."]
    if diagnostics:
        rows = []
        for diagnostic in diagnostics:
            found = diagnostic_to_json(diagnostic)
            where = f"{found['file']}:{found['line']}:{found['column']}" if found["line"] else found["file"]
            rows.append((found["severity"], f"`{found['code']}`", where, _message(found)))
        lines += ["", *markdown_table(("severity", "code", "location", "message"), rows)]
    return "\n".join(lines)


def render_diagnostics_as(fmt: str, diagnostics: Sequence[Diagnostic], files: Sequence[str], *,
                          fail_on_warn: bool = False) -> str:
    """``sarif``, ``junit``, ``github`` or ``markdown`` output for ``kpl check``."""
    if fmt == "sarif":
        return diagnostics_sarif(diagnostics)
    if fmt == "junit":
        return diagnostics_junit(diagnostics, files, fail_on_warn=fail_on_warn)
    if fmt == "github":
        return diagnostics_github(diagnostics, files)
    if fmt == "markdown":
        return diagnostics_markdown(diagnostics, files)
    raise ValueError(f"unknown format `{fmt}`")


# ------------------------------------------------------------------------------------ case results


class ResultLike(Protocol):
    """What a case result offers: conformance's ``CaseResult`` and ``kpl test``'s ``CaseOutcome`` both do."""

    @property
    def file(self) -> str: ...
    @property
    def case(self) -> str: ...
    @property
    def operation(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """One case as the renderers see it; ``line`` 0 when unknown."""

    file: str
    case: str
    operation: str
    outcome: str
    message: str = ""
    line: int = 0


def case_records(results: Iterable[ResultLike],
                 load_errors: Iterable[tuple[str, str]] = ()) -> list[CaseRecord]:
    """Records from case results (a ``line`` attribute is kept), with unreadable files as errored cases."""
    records = [CaseRecord(r.file, r.case, r.operation, r.outcome, r.message, int(getattr(r, "line", 0) or 0))
               for r in results]
    records.extend(CaseRecord(name, "(file)", "", "errored", message) for name, message in load_errors)
    return records


def _case_title(record: CaseRecord) -> str:
    operation = f" [{record.operation}]" if record.operation else ""
    return f"{record.case}{operation}"


def cases_sarif(records: Sequence[CaseRecord], tool: str) -> str:
    """A SARIF log with a result per failed or errored case (rules ``<tool>.failed``/``<tool>.errored``)."""
    texts = {"failed": "A case gave a different answer than expected.",
             "errored": "A case could not be evaluated, or its file could not be read."}
    ids = [f"{tool}.{outcome}" for outcome in PROBLEM_OUTCOMES]
    rules = [{"id": rule_id, "name": rule_id.replace(".", "/"), "shortDescription": {"text": texts[outcome]},
              "defaultConfiguration": {"level": "error"}}
             for rule_id, outcome in zip(ids, PROBLEM_OUTCOMES, strict=True)]
    results = []
    for record in records:
        if record.outcome not in PROBLEM_OUTCOMES:
            continue
        region = {"startLine": record.line} if record.line else None
        results.append({
            "ruleId": f"{tool}.{record.outcome}", "ruleIndex": PROBLEM_OUTCOMES.index(record.outcome),
            "level": "error",
            "message": {"text": f"{_case_title(record)}: {record.message or record.outcome}"},
            "locations": [_location(record.file, region)] if _is_file(record.file) else [],
        })
    return json.dumps(_sarif_log(rules, results), indent=2)


def cases_junit(records: Sequence[CaseRecord], name: str) -> str:
    """JUnit XML: a test suite per file, a test case per case (excluded cases are skipped)."""
    import xml.etree.ElementTree as ET  # only for JUnit output

    by_file: dict[str, list[CaseRecord]] = {}
    for record in records:
        by_file.setdefault(record.file, []).append(record)
    totals = Counter(r.outcome for r in records)
    root = ET.Element("testsuites", {"name": name, "tests": str(len(records)),
                                     "failures": str(totals["failed"]), "errors": str(totals["errored"]),
                                     "skipped": str(totals["excluded"])})
    for file, found in by_file.items():
        counts = Counter(r.outcome for r in found)
        suite = _element(root, "testsuite", name=file, tests=len(found), failures=counts["failed"],
                         errors=counts["errored"], skipped=counts["excluded"], file=file)
        for record in found:
            case = _element(suite, "testcase", classname=record.operation or name, name=record.case,
                            file=file, line=record.line or None)
            first = record.message.splitlines()[0] if record.message else record.outcome
            if record.outcome == "failed":
                _element(case, "failure", record.message, message=first, type="failed")
            elif record.outcome == "errored":
                _element(case, "error", record.message, message=first, type="errored")
            elif record.outcome == "excluded":
                _element(case, "skipped", None, message=record.message or "excluded")
    return _xml(root)


def cases_github(records: Sequence[CaseRecord], tool: str) -> str:
    """A workflow ``::error`` per failed or errored case, then a plain summary line."""
    lines = []
    for record in records:
        if record.outcome in PROBLEM_OUTCOMES:
            located = _is_file(record.file)
            properties = [("file", record.file if located else ""), ("line", record.line if located else 0),
                          ("title", f"{tool} {record.outcome}: {_case_title(record)}")]
            lines.append(_github_line("error", record.message or record.outcome, properties))
    lines.append(_summary_line(records))
    return "\n".join(lines)


def _summary_line(records: Sequence[CaseRecord]) -> str:
    counts = Counter(r.outcome for r in records)
    text = f"{counts['passed']} passed, {counts['failed'] + counts['errored']} failed"
    return text + (f", {counts['excluded']} excluded" if counts["excluded"] else "")


def cases_markdown(records: Sequence[CaseRecord], title: str, *, show: int = 50) -> str:
    """A summary table per operation and a table of the first ``show`` failures."""
    table: dict[str, Counter[str]] = {}
    for record in records:
        table.setdefault(record.operation or "(file)", Counter())[record.outcome] += 1
    columns = ("passed", "failed", "errored", "excluded")
    rows = [(op, sum(c.values()), *(c[k] for k in columns)) for op, c in sorted(table.items())]
    lines = [f"## {title}", "", _summary_line(records) + ".", "",
             *markdown_table(("operation", "total", *columns), rows)]
    failures = [r for r in records if r.outcome in PROBLEM_OUTCOMES]
    if failures:
        shown = [(f"{r.file}:{r.line}" if r.line else r.file, r.case, r.operation, r.outcome, r.message)
                 for r in failures[:show]]
        header = ("file", "case", "operation", "outcome", "message")
        lines += ["", "### Failures", "", *markdown_table(header, shown)]
        if len(failures) > show:
            lines += ["", f"... and {len(failures) - show} more."]
    return "\n".join(lines)


def render_cases(fmt: str, records: Sequence[CaseRecord], *, tool: str, title: str) -> str:
    """``sarif``, ``junit``, ``github`` or ``markdown`` output for case results."""
    if fmt == "sarif":
        return cases_sarif(records, tool)
    if fmt == "junit":
        return cases_junit(records, title)
    if fmt == "github":
        return cases_github(records, tool)
    if fmt == "markdown":
        return cases_markdown(records, title)
    raise ValueError(f"unknown format `{fmt}`")


def write_output(text: str, output_file: Path | None) -> None:
    """Print ``text``, or write it to ``output_file`` (an unwritable file is a usage error, exit 2)."""
    if output_file is None:
        emit(text.rstrip("\n"))
        return
    try:
        write_file(output_file, text if text.endswith("\n") else text + "\n")
    except OSError as error:
        click.echo(f"kpl: error: cannot write `{output_file}`: {error.strerror or error}", err=True)
        raise SystemExit(EXIT_USAGE) from None


def rebase_records(records: Sequence[CaseRecord], base: Path | None) -> list[CaseRecord]:
    """Records whose file names were relative to ``base`` renamed relative to the working folder."""
    if base is None:
        return list(records)
    cwd = Path.cwd().resolve()
    found = []
    for record in records:
        path = base / record.file
        try:
            name = Path(os.path.relpath(path.resolve(), cwd)).as_posix()
        except ValueError:
            name = path.as_posix()
        found.append(dataclasses.replace(record, file=name))
    return found
