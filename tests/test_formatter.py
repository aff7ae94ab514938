"""Formatter properties on every valid input: meaning kept, idempotent, comments kept; and its layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_parser import AFFINITY, EXPRESSIONS, INTERPRETER, POLICY, QUOTA

from kpl.dsl import ast
from kpl.dsl.formatter import format_expr, format_module
from kpl.dsl.parser import parse, parse_expression

REPO = Path(__file__).resolve().parents[1]
FILES = sorted([*(REPO / "rules").rglob("*.kpl"), *(REPO / "examples").rglob("*.kpl")])
SNIPPETS = {"interpreter": INTERPRETER, "policy": POLICY, "affinity": AFFINITY, "quota": QUOTA}
SNIPPETS.update({f"expr {text}": f"interpreter a.io/v1 K {{\n  replicas = {text}\n}}\n" for text, _ in EXPRESSIONS})


def inputs() -> list[tuple[str, str]]:
    found = [(p.relative_to(REPO).as_posix(), p.read_text(encoding="utf-8")) for p in FILES]
    return found + sorted(SNIPPETS.items())


INPUTS = inputs()


def assert_formats_well(text: str) -> str:
    original = parse(text)
    assert original.diagnostics == [], original.diagnostics
    formatted = format_module(original.module)
    again = parse(formatted)
    assert again.diagnostics == [], (formatted, again.diagnostics)
    assert again.module == original.module, formatted
    assert format_module(again.module) == formatted
    for _, comment in original.module.comments:
        assert comment.rstrip() in formatted, comment
    assert len(again.module.comments) == len(original.module.comments)
    return formatted


@pytest.mark.parametrize(("name", "text"), INPUTS, ids=[n for n, _ in INPUTS])
def test_format_keeps_meaning_and_comments_and_is_idempotent(name: str, text: str) -> None:
    assert_formats_well(text)


def test_every_valid_input_is_covered() -> None:
    assert len(FILES) >= 20
    assert len(INPUTS) >= len(FILES) + len(EXPRESSIONS)


@pytest.mark.parametrize(("text", "expected"), EXPRESSIONS, ids=[t for t, _ in EXPRESSIONS])
def test_expression_text_parses_back_to_the_same_tree(text: str, expected: ast.Expr) -> None:
    printed = format_expr(expected)
    found, diagnostics = parse_expression(printed)
    assert diagnostics == []
    assert found == expected, printed


def test_canonical_layout() -> None:
    text = ('policy  web   in namespace shop{select apps/v1 Deployment where labels.app=="web" priority 3\n'
            "replicas divided static {member1:2,member2:1}}\n")
    assert format_module(parse(text).module) == (
        "policy web in namespace shop {\n"
        '  select apps/v1 Deployment where labels.app == "web"\n'
        "  priority 3\n"
        "  replicas divided static { member1: 2, member2: 1 }\n"
        "}\n"
    )


def test_minimal_parentheses() -> None:
    cases = {
        "(a + b) * c": "(a + b) * c",
        "a + (b * c)": "a + b * c",
        "a - (b - c)": "a - (b - c)",
        "(a - b) - c": "a - b - c",
        "not (a and b)": "not (a and b)",
        "(a ?? b) or c": "(a ?? b) or c",
        "-(x + 1)": "-(x + 1)",
        "(0).a": "(0).a",
        "(1.5)[0]": "(1.5)[0]",
        "(2Gi)[*]": "(2Gi)[*]",
    }
    for source, expected in cases.items():
        found, diagnostics = parse_expression(source)
        assert diagnostics == [] and found is not None
        assert format_expr(found) == expected


def test_comments_stay_with_their_members() -> None:
    text = (
        "# The web policy.\n"
        "policy web in namespace shop {\n"
        "  # what it selects\n"
        "  select apps/v1 Deployment   # trailing note\n"
        "  priority 3\n"
        "  # closing remark\n"
        "}\n"
        "# end of file\n"
    )
    formatted = assert_formats_well(text)
    lines = formatted.splitlines()
    assert lines[0] == "# The web policy."
    assert lines[2] == "  # what it selects"
    assert lines[3] == "  select apps/v1 Deployment  # trailing note"
    assert lines[-1] == "# end of file"
    assert "  # closing remark" in lines


def test_long_expressions_are_broken_and_still_round_trip() -> None:
    entries = ", ".join(f"key{i}: .spec.values.entry{i}" for i in range(12))
    text = f"interpreter a.io/v1 K {{\n  status = {{ {entries} }}\n}}\n"
    formatted = assert_formats_well(text)
    assert max(len(line) for line in formatted.splitlines()) <= 110


def test_names_that_need_quotes_are_quoted() -> None:
    text = ('quota "team a" in namespace "ns-1" {\n  overall { "nvidia.com/gpu" = 4 }\n}\n'
            'policy "in" { select v1 Pod named "with space" }\n')
    formatted = assert_formats_well(text)
    assert '"team a"' in formatted and '"with space"' in formatted


def test_comment_only_and_empty_modules() -> None:
    assert format_module(parse("").module) == ""
    assert format_module(parse("# only\n# comments\n").module) == "# only\n# comments\n"
