"""The diagnostics corpus: broken ``.kpl`` files that state, in comments, exactly what ``kpl check`` reports.

Each file in ``tests/diagnostics/`` lists its expected errors and warnings as
``# expect: <code> at <line>:<col>`` (or ``# expect: nothing``), and optionally
``# expect-help: <line>:<col> <text>`` for help text that must appear on the diagnostic found there.
The test compares the exact multiset of (code, line, column) of errors and warnings.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from kpl.dsl.diagnostics import Diagnostic, Severity, diagnostic_to_json, render_diagnostic, sort_diagnostics
from kpl.engine.check import check_project
from kpl.engine.project import load_project

CORPUS = Path(__file__).resolve().parent / "diagnostics"
FILES = sorted(CORPUS.glob("*.kpl"))

_EXPECT = re.compile(r"^# expect: (?P<code>[a-z_]+\.[a-z_0-9]+) at (?P<line>\d+):(?P<col>\d+)$")
_NOTHING = "# expect: nothing"
_HELP = re.compile(r"^# expect-help: (?P<line>\d+):(?P<col>\d+) (?P<text>.+)$")


@dataclass(frozen=True, slots=True)
class Expectations:
    diagnostics: Counter[tuple[str, int, int]]
    helps: tuple[tuple[int, int, str], ...]
    declared: bool


def read_expectations(data: bytes) -> Expectations:
    found: Counter[tuple[str, int, int]] = Counter()
    helps: list[tuple[int, int, str]] = []
    declared = False
    for raw in data.decode("utf-8", errors="replace").splitlines():
        line = raw.rstrip()
        if not line.startswith("# expect"):
            continue
        declared = True
        if line == _NOTHING:
            continue
        if match := _EXPECT.match(line):
            found[(match["code"], int(match["line"]), int(match["col"]))] += 1
        elif match := _HELP.match(line):
            helps.append((int(match["line"]), int(match["col"]), match["text"]))
        else:
            raise ValueError(f"malformed expectation line: {line!r}")
    return Expectations(found, tuple(helps), declared)


def diagnose(path: Path) -> list[Diagnostic]:
    project = load_project([path])
    context = check_project(project)
    return sort_diagnostics([*project.diagnostics, *context.diagnostics])


def findings(diagnostics: list[Diagnostic]) -> Counter[tuple[str, int, int]]:
    """Errors and warnings (not informational notes) as (code, line, column)."""
    out: Counter[tuple[str, int, int]] = Counter()
    for diagnostic in diagnostics:
        if diagnostic.severity in (Severity.ERROR, Severity.WARNING):
            _, line, column = diagnostic.location()
            out[(diagnostic.code, line, column)] += 1
    return out


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 60


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_expected_diagnostics(path: Path) -> None:
    data = path.read_bytes()
    expected = read_expectations(data)
    assert expected.declared or not data.strip(), "a corpus file must say what it expects (or be blank)"
    diagnostics = diagnose(path)
    got = findings(diagnostics)
    shown = "\n".join(render_diagnostic(d) for d in diagnostics)
    assert got == expected.diagnostics, f"diagnostics differ for {path.name}:\n{shown}"
    for line, column, text in expected.helps:
        helps = [d.help or "" for d in diagnostics if d.location()[1:] == (line, column)]
        assert any(text in h for h in helps), f"no help containing {text!r} at {line}:{column}: {helps}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_diagnostics_render_as_text_and_json(path: Path) -> None:
    for diagnostic in diagnose(path):
        text = render_diagnostic(diagnostic)
        assert diagnostic.code in text
        assert not diagnostic.message.endswith(".")
        encoded = json.loads(json.dumps(diagnostic_to_json(diagnostic)))
        assert encoded["code"] == diagnostic.code
        assert (encoded["endLine"], encoded["endColumn"]) >= (encoded["line"], encoded["column"])


def test_corpus_covers_the_important_codes() -> None:
    codes = set()
    for path in FILES:
        codes.update(code for code, _, _ in read_expectations(path.read_bytes()).diagnostics)
    wanted = {
        "parse.unexpected_token", "parse.unexpected_character", "parse.unexpected_eof", "parse.missing_token",
        "parse.unterminated_string", "io.not_utf8", "io.binary", "check.unknown_operation",
        "check.unknown_function", "check.unknown_name", "check.unknown_component_field", "check.wrong_arity",
        "check.type_mismatch", "check.invalid_quantity", "check.duplicate_member", "check.duplicate_interpreter",
        "check.duplicate_policy", "check.duplicate_quota", "check.duplicate_resource",
        "check.recursive_function", "compile.unsupported_selector", "check.spread_bounds",
        "check.invalid_value", "check.state_preservation_multi_cluster", "check.state_preservation_purge_mode",
        "check.invalid_jsonpath", "check.invalid_label_name", "compile.invalid_label_key",
        "check.ambiguous_policies", "check.weight_on_excluded_cluster",
    }
    assert wanted <= codes, sorted(wanted - codes)


def test_malformed_expectation_is_refused() -> None:
    with pytest.raises(ValueError, match="malformed"):
        read_expectations(b"# expect: check.unknown_name 3:4\n")


def test_empty_and_blank_files_have_no_findings() -> None:
    for name in ("empty_file.kpl", "blank_lines_only.kpl", "comments_only.kpl"):
        assert not findings(diagnose(CORPUS / name)), name
