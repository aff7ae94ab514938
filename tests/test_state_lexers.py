"""The parse loop's state lexers read exactly the token Lark's contextual lexer reads, in every state.

Most states read with a pattern shared by many states and fall back to their own pattern for a token that is
not theirs (`kpl.dsl.state_lexers`); keywords are a dictionary lookup instead of Lark's keyword scanner. These
tests compare both with Lark's own per-state scanners, on valid and broken sources and on random text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark.lexer import UnlessCallback

from kpl.dsl import parser as parser_module
from kpl.dsl.state_lexers import Lexicon

REPO = Path(__file__).resolve().parents[1]
BLANKS = " \t\r\n\f"


def _lark_lexers() -> list[Any]:
    """Lark's own lexers of the parser states (the loop's lexers are compared with them by terminal names)."""
    lexers = parser_module._parser().parser.lexer.lexers
    return list({id(lexer): lexer for lexer in lexers.values()}.values())


def _lark_read(lark_lexer: Any, text: str, pos: int) -> tuple[str, int, int] | None:
    """Lark's own reading of the token at ``pos`` in this lexer's state (its scanner, then its keyword check)."""
    for pattern in lark_lexer.scanner._mres:
        found = pattern.match(text, pos)
        if found is not None:
            kind, value = str(found.lastgroup), found.group(0)
            callback = lark_lexer.callback.get(kind)
            if type(callback) is UnlessCallback:
                kind = callback.scanner.fullmatch(value) or kind
            return kind, pos, found.end()
    return None


def _mine(lexicon: Lexicon, cache: dict[int, Any], lark_lexer: Any, text: str, pos: int) -> Any:
    lexer = cache.get(id(lark_lexer))
    if lexer is None:
        lexer = cache[id(lark_lexer)] = lexicon.state_lexer(lark_lexer)
    return lexer.read(text, pos)


def _compare(texts: list[str], step: int = 1) -> int:
    frontend = parser_module._fast_frontend()
    cache: dict[int, Any] = {}
    compared = 0
    for lark_lexer in _lark_lexers():
        for text in texts:
            for pos in range(0, len(text), step):
                if text[pos] in BLANKS:  # the state patterns skip blanks before a token; Lark reads them as one
                    continue
                assert _mine(frontend.lexicon, cache, lark_lexer, text, pos) == _lark_read(lark_lexer, text, pos), (
                    text[pos:pos + 30], sorted(t.name for t in lark_lexer.terminals))
                compared += 1
    return compared


def test_every_state_reads_the_corpus_as_lark_does() -> None:
    broken = sorted((REPO / "tests" / "diagnostics").glob("*.kpl"))
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in broken]
    texts.append((REPO / "rules" / "apps" / "v1" / "Deployment.kpl").read_text(encoding="utf-8"))
    assert _compare(texts, step=3) > 100_000


_PIECES = st.sampled_from([
    "policy", "cluster", "in", "not in", "inside", "for", "if", "then", "else", "x", "_a1", "apps/v1", "v1",
    "10m", "2Gi", "1.5", "3", "1e3", "5m", "30s", "2h", "1.2.3x", '"s"', "'t'", "#c", ".a", ".", "..", "?",
    "??", "==", "!=", "<=", ">=", "<", ">", "=", "//", "/", "%", "*", "+", "-", "->", ":", ",", ";", "{", "}",
    "(", ")", "[", "]", "@", "!", "~", "$", "member-1", "a.b-c", "é", "\\", '"', "'",
])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_PIECES, st.sampled_from(["", " ", "\n"])), max_size=12))
def test_every_state_reads_random_text_as_lark_does(pieces: list[tuple[str, str]]) -> None:
    _compare(["".join(piece + gap for piece, gap in pieces)])


def test_most_states_read_with_a_shared_pattern() -> None:
    """The point of the analysis: a new process compiles a few patterns, not one per state."""
    frontend = parser_module._fast_frontend()
    lexers = [frontend.lexicon.state_lexer(lark_lexer) for lark_lexer in _lark_lexers()]
    patterns = {id(getattr(lexer.first, "shared", lexer.first)) for lexer in lexers}  # under a state's own ones
    assert len(lexers) > 100
    assert len(patterns) <= 3


def test_a_state_keeps_its_own_pattern_where_the_shared_one_failed() -> None:
    """After a token the shared pattern gave wrongly (a DNS name where the state wants an identifier), the state
    reads tokens beginning with that character with its own pattern, and still reads them as Lark does."""
    frontend = parser_module._fast_frontend()
    text = "replicas = 1\nrr-1 r.x r"
    retried = 0
    for lark_lexer in _lark_lexers():
        lexer = frontend.lexicon.state_lexer(lark_lexer)
        before = lexer.first["r"]
        for _ in range(2):  # the first read may put the state's own pattern in place; the second uses it
            for pos in (0, 13, 18, 22):
                assert lexer.read(text, pos) == _lark_read(lark_lexer, text, pos)
        retried += lexer.first["r"] is not before
    assert retried > 0


def test_a_state_missing_a_keyword_its_names_cover_falls_back_to_its_own_pattern() -> None:
    """`in` where no name is expected: the shared pattern reads `inside` as a name, the state as `in`."""
    frontend = parser_module._fast_frontend()
    for lark_lexer in _lark_lexers():
        names = {t.name for t in lark_lexer.terminals}
        if "IN" in names and not names & {"IDENT", "DNS_NAME"}:
            assert _lark_read(lark_lexer, "inside", 0) == ("IN", 0, 2)
            assert frontend.lexicon.state_lexer(lark_lexer).read("inside", 0) == ("IN", 0, 2)
            return
    pytest.fail("no state expects `in` without a name")


_TOY = r"""
start: item+
item: "ab" ";" | WORD ";" | "x" choice ";"
choice: SHORT | "in" | ONE_I
SHORT: /[a-b]+/
WORD: /[a-z]+\b/
ONE_I: /[i]/
%ignore /[ \n]+/
"""


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(["ab", "in", "in_", "inside", "i", "x", "zz", "b", ";", "_", " ", "\n"]),
                max_size=10))
def test_a_toy_grammar_with_keywords_only_some_names_cover(pieces: list[str]) -> None:
    """A keyword (`in`) that one name pattern covers and a state that expects it without that name: the
    shared patterns cannot hold that state's terminals. In `in_` the name fails (no word boundary) and the
    shared pattern reads `i` (ONE_I), but the state reads `in` first: its lexer must read what Lark's reads."""
    from lark import Lark

    toy = Lark(_TOY, parser="lalr")
    lexicon = Lexicon(toy.parser.lexer.root_lexer, frozenset())
    text = "".join(pieces)
    lexers = {id(lexer): lexer for lexer in toy.parser.lexer.lexers.values()}
    for lark_lexer in lexers.values():
        mine = lexicon.state_lexer(lark_lexer)
        for pos in range(len(text)):
            if text[pos] not in BLANKS:
                assert mine.read(text, pos) == _lark_read(lark_lexer, text, pos)


@pytest.mark.parametrize(("pattern", "chars"), [
    ("(?:==|!=|<|>)", {"=", "!", "<", ">"}), (r"\bab", {"a"}), ("(?:a|)b", {"a", "b"}), ("[0-9]+x", set("0123456789")),
    ("a|", None), (r"(?=a)a", None), (".b", None),
])
def test_first_characters_of_a_pattern(pattern: str, chars: set[str] | None) -> None:
    """Alternatives give the union of their first characters, an anchor none; unknown and empty-matching
    patterns give None (the terminal is then tried at every character)."""
    from kpl.dsl.regex_start import first_chars

    found = first_chars(pattern, ())
    assert (None if found is None else set(found)) == chars
