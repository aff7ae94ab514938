"""The parse's bound on AST nesting: never below the real depth, so skipping the depth walk is exact."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.dsl import parser as parser_module
from kpl.dsl.parser import MAX_NESTING, parse, parse_expression
from kpl.dsl.treeless import located_value

REPO = Path(__file__).resolve().parents[1]
SOURCES = [
    *sorted(REPO.joinpath("tests", "diagnostics").glob("*.kpl")),
    *sorted(REPO.joinpath("rules").rglob("*.kpl")),
    *sorted(REPO.joinpath("examples").rglob("*.kpl")),
]


def _depth(node: Any) -> int:
    """The nesting depth the parser bounds: a node's deepest node below it (tuples are transparent)."""
    deepest = 0
    for item in dataclasses.fields(node):
        if item.name.endswith("span"):
            continue
        value = getattr(node, item.name)
        for child in value if isinstance(value, tuple) else (value,):
            if dataclasses.is_dataclass(child) and not isinstance(child, type):
                deepest = max(deepest, 1 + _depth(child))
    return deepest


def _bound_and_depth(text: str, start: str) -> tuple[int, int] | None:
    try:
        value, _tree_depth, bound = located_value(parser_module._fast_frontend().parse(text, start=start))
    except Exception:  # not parsable by the loop: the tree path decides, no bound is used
        return None
    roots = value if start == "start" else [value]
    return bound, max((_depth(root) for root in roots), default=0)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_the_bound_is_never_below_the_depth(path: Path) -> None:
    found = _bound_and_depth(path.read_text(encoding="utf-8", errors="replace"), "start")
    if found is not None:
        bound, depth = found
        assert bound > depth


_OPERATORS = ["+", "-", "*", "/", "??", "and", "or", "==", "<", "in"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_OPERATORS), st.sampled_from(["x", "1", "(y)", "f(x)", "[a, b]", ".a.b"])),
                max_size=40),
       st.sampled_from(["{}", "sum(v for v in {})", "-({})", "[{}]", "{{a: {}}}", "not ({})", "{} with {{ .a: 1 }}"]))
def test_the_bound_holds_for_chains_and_wrappers(pieces: list[tuple[str, str]], wrapper: str) -> None:
    text = wrapper.format("x" + "".join(f" {op} {operand}" for op, operand in pieces))
    found = _bound_and_depth(text, "expr")
    assert found is not None
    bound, depth = found
    assert bound >= depth


@pytest.mark.parametrize("operands", [MAX_NESTING - 10, MAX_NESTING + 5, 3 * MAX_NESTING])
def test_long_chains_are_judged_by_their_real_depth(operands: int) -> None:
    """A chain of additions nests one node per operand: past the limit it is reported, below it kept."""
    expression = " + ".join(["1"] * operands)
    expr, problems = parse_expression(expression)
    too_deep = operands - 1 > MAX_NESTING
    assert (expr is None, [p.code for p in problems]) == (too_deep, ["parse.too_deep"] if too_deep else [])
    result = parse(f"interpreter example.io/v1 W {{\n  replicas = {expression}\n}}\n")
    assert [d.code for d in result.diagnostics] == (["parse.too_deep"] if too_deep else [])
