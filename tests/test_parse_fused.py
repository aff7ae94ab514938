"""The parse loop's fused entries (a shift with the reductions of one symbol its state makes at once, and text
rules made from the text alone) give what the loop gives step by step: same values, spans, traced tokens, and
the same failures on broken input."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from ast_plain import plain
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.dsl import parser as parser_module
from kpl.dsl.builder import BUILDER, TEXT_RULES, unquote
from kpl.dsl.lalr_loop import LalrLoop, Token
from kpl.dsl.source import Span
from kpl.dsl.treeless import passthrough, position_only_terminals, text_reductions, treeless_callbacks

REPO = Path(__file__).resolve().parents[1]
SOURCES = [
    *sorted(REPO.joinpath("tests", "diagnostics").glob("*.kpl")),
    *sorted(REPO.joinpath("rules").rglob("*.kpl")),
    *sorted(REPO.joinpath("examples").rglob("*.kpl")),
]


def _loop(fuse: bool) -> LalrLoop:
    tables = parser_module._tables()
    return LalrLoop(tables, treeless_callbacks(tables.rules), passthrough, position_only_terminals(tables.rules),
                    parser_module._LEXER_CALLBACKS, text_reductions(tables.rules), fuse=fuse)


_STEPWISE = _loop(False)
_FUSED = _loop(True)


def _outcome(loop: LalrLoop, text: str, start: str, traced: bool) -> Any:
    trace: list[Token] | None = [] if traced else None
    parser_module._COMMENTS.clear()
    try:
        result = loop.parse(text, start, trace)
    except Exception:  # both must fail (where, and how, may differ: the caller reparses with Lark to report it)
        return "error"
    finally:
        parser_module._COMMENTS.clear()
    value = (plain(result[0]), *result[1:]) if type(result) is tuple else ("token", str(result))
    tokens = [(t.type, str(t), t.start_pos, t.end_pos, t.line, t.column, t.end_line, t.end_column)
              for t in trace or ()]
    return "value", value, tokens


def _assert_alike(text: str, start: str = "start") -> None:
    for traced in (False, True):
        assert _outcome(_FUSED, text, start, traced) == _outcome(_STEPWISE, text, start, traced)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_fused_loop_matches_the_stepwise_one(path: Path) -> None:
    _assert_alike(_read(path))


@pytest.mark.parametrize("path", SOURCES[::7], ids=lambda p: p.relative_to(REPO).as_posix())
def test_fused_loop_fails_where_the_stepwise_one_fails(path: Path) -> None:
    """Cut, doubled and dropped pieces of real files: a default reduction done early never accepts a broken
    text, nor changes a sound one's value."""
    text = _read(path)
    chooser = random.Random(path.name)
    for _ in range(12):
        cut = chooser.randrange(len(text) + 1)
        other = chooser.randrange(len(text) + 1)
        for broken in (text[:cut], text[:cut] + text[other:], text[:cut] + text[cut:other] * 2 + text[other:]):
            _assert_alike(broken)


def test_fused_entries_are_used() -> None:
    loop = _loop(True)
    loop.parse("interpreter a.io/v1 K {\n  replicas = .spec.x ?? 1\n}\n", "start")
    entries = [action for row in loop._rows for action in row.values() if type(action) is list]
    assert entries and any(text is not None for _, text, _ in entries)
    assert any(reducers for _, _, reducers in entries)
    assert not [action for row in _loop(False)._rows for action in row.values() if type(action) is list]


def test_text_rules_are_the_rule_methods() -> None:
    """Every rule the loop makes from the text gives, through its method, that text for each of its terminals
    (a ``STRING`` unquoted where the table says so)."""
    tables = parser_module._tables()
    found = text_reductions(tables.rules)
    assert {tables.rules[index].alias or tables.rules[index].name for index in found} == set(TEXT_RULES)
    samples = {"STRING": ['"a\\"b"', "'x'"], "IDENT": ["abc"], "DNS_NAME": ["a.b-c"], "API_VERSION": ["a.io/v1"]}
    for index, text in found.items():
        rule = tables.rules[index]
        kind = rule.expansion[0][0]
        for sample in samples.get(kind, [kind.lower()]):
            token = Token(sample)
            token.type, token.value, token.start_pos, token.end_pos = kind, sample, 3, 3 + len(sample)
            made = getattr(BUILDER, rule.alias or rule.name)(Span(3, 3 + len(sample)), [token])
            assert type(made) is str
            assert made == (sample if text is None else text(sample))
            assert (text is unquote) == (TEXT_RULES[rule.alias or rule.name] and kind == "STRING")


_WORDS = st.sampled_from(["x", "1", '"s"', "'t'", "a.b", "500m", "select", "spread", "replicas", ".spec.a", "@",
                          "f(x)", "[1, 2]", "{a: 1}", "x[0]", "-x", "not x", "+", "*", "(", ")", ",", "??"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=8))
def test_fused_loop_matches_on_random_words(words: list[str]) -> None:
    _assert_alike(" ".join(words), "expr")
    _assert_alike(f"interpreter a.io/v1 K {{\n  replicas = {' '.join(words)}\n}}\n")
