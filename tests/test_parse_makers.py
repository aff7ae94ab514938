"""The AST's makers (every field positional, no class call) make what the class's constructor makes."""

from __future__ import annotations

import dataclasses

import pytest
from ast_plain import plain

from kpl.dsl import ast
from kpl.dsl.lalr_loop import Token
from kpl.dsl.nodes import maker
from kpl.dsl.regex_start import run_chars
from kpl.dsl.source import Span

NODE_CLASSES = [kind for kind in (getattr(ast, name) for name in ast.__all__)
                if isinstance(kind, type) and kind is not ast.Module]


@pytest.mark.parametrize("kind", NODE_CLASSES, ids=lambda kind: kind.__name__)
def test_maker_makes_what_the_constructor_makes(kind: type) -> None:
    fields = dataclasses.fields(kind)
    positional = [f"v{index}" for index, f in enumerate(fields) if not f.kw_only]
    keyword = {f.name: Span(index, index + 2) for index, f in enumerate(fields) if f.kw_only}
    made = maker(kind)(*positional, *keyword.values())
    expected = kind(*positional, **keyword)
    assert type(made) is kind
    assert plain(made) == plain(expected)
    assert all(getattr(made, f.name) == getattr(expected, f.name) for f in fields)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, fields[0].name, 1)
    with pytest.raises(TypeError):
        maker(kind)(*positional)  # every field must be given, keyword-only ones included


def test_an_untraced_token_reads_no_lines() -> None:
    token = Token.__new__(Token, "name")
    token.type, token.start_pos, token.end_pos = "IDENT", 3, 7
    assert (token.line, token.column, token.end_line, token.end_column) == (None, None, None, None)
    token.line = 2
    assert token.line == 2
    with pytest.raises(AttributeError):
        token.no_such_field  # noqa: B018


def test_run_chars() -> None:
    assert run_chars("(?:[ \t\f\r\n])+") == frozenset(" \t\f\r\n")
    assert run_chars(" +") == frozenset(" ")
    for other in ("[ab]+x", "[^a]+", "[a-c]+", "(?:[ \t])*", "a+?", "a{1,3}", "(", ""):
        assert run_chars(other) is None
