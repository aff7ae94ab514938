"""Parsing: source text to a ``Module`` plus diagnostics. Never raises on user input.

One LALR parser is built once from ``grammar.lark`` (``propagate_positions=True``) and cached. A syntax
error is reported where a person would look for it (Lark notices a missing token only at the next one,
often on the next line: the caret goes right after the last good token instead), and parsing resumes at
the next top-level declaration so one run reports every broken declaration.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic, did_you_mean
from kpl.dsl.source import Source, Span
from kpl.dsl.transformer import ToAst
from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.exceptions import VisitError

__all__ = ["keywords", "ParseResult", "parse", "parse_expression", "parse_source"]

MAX_SOURCE_CHARS = 8 * 1024 * 1024
MAX_NESTING = 200

_DECLARATION_START = re.compile(r"^[ \t]*(?:interpreter|policy|cluster[ \t]+policy|quota)\b", re.M)

_PUNCTUATION = {
    "LBRACE": "{", "RBRACE": "}", "LPAR": "(", "RPAR": ")", "LSQB": "[", "RSQB": "]", "COMMA": ",",
    "COLON": ":", "SEMICOLON": ";", "EQUAL": "=", "DOT": ".", "QMARK": "?", "AT": "@",
}
_TERMINAL_WORDS = {
    "IDENT": "a name", "DNS_NAME": "a name", "STRING": "a string", "INT": "an integer",
    "NUMBER": "a number", "QUANTITY": "a quantity", "DURATION": "a duration such as `300s`",
    "API_VERSION": "an apiVersion such as `apps/v1`", "COMP_OP": "a comparison", "MUL_OP": "an operator",
    "PLUS": "`+`", "MINUS": "`-`", "STAR": "`*`", "IN": "`in`", "NOT_IN": "`not in`", "CLUSTER": "`cluster`",
    "$END": "end of file",
}


@functools.lru_cache(maxsize=1)
def _expression_parser() -> Lark:
    grammar = resources.files("kpl.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True, start="expr")


def keywords() -> frozenset[str]:
    """Every keyword of the language (for "did you mean" help elsewhere)."""
    return frozenset(
        t.pattern.value for t in _parser().terminals if t.pattern.type == "str" and t.pattern.value.isalpha()
    )


class ParseResult:
    """A module (possibly partial) and the diagnostics found while parsing it."""

    __slots__ = ("diagnostics", "module")

    def __init__(self, module: ast.Module, diagnostics: list[Diagnostic]) -> None:
        self.module = module
        self.diagnostics = diagnostics


def parse(text: str, name: str = "<input>") -> ParseResult:
    return parse_source(Source(name, text))


def parse_source(source: Source) -> ParseResult:
    if len(source.text) > MAX_SOURCE_CHARS:
        message = f"file is larger than the limit of {MAX_SOURCE_CHARS} characters"
        return ParseResult(ast.Module(source, ()), [Diagnostic("parse.too_large", message, source, Span(0, 0))])
    comments: list[tuple[Span, str]] = []
    declarations, diagnostics = _parse_chunk(source, 0, len(source.text), comments)
    if diagnostics:
        declarations, diagnostics = _parse_with_recovery(source, comments)
    comments.sort(key=lambda c: c[0].start)
    return ParseResult(ast.Module(source, tuple(declarations), tuple(comments)), diagnostics)


def parse_expression(text: str, name: str = "<expression>") -> tuple[ast.Expr | None, list[Diagnostic]]:
    """Parse one expression (used by ``kpl interpret --expr`` and tests)."""
    source = Source(name, text)
    try:
        tree = _expression_parser().parse(text)
        return ToAst().transform(tree), []
    except UnexpectedInput as error:
        return None, [_syntax_diagnostic(source, 0, error)]
    except (VisitError, RecursionError):
        return None, [Diagnostic("parse.too_deep", "expression is nested too deeply", source, Span(0, 0))]


def _parse_with_recovery(
    source: Source, comments: list[tuple[Span, str]]
) -> tuple[list[ast.Declaration], list[Diagnostic]]:
    """Parse declaration by declaration, so one error does not hide the next one."""
    comments.clear()
    starts = [m.start() for m in _DECLARATION_START.finditer(source.text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    bounds = list(zip(starts, [*starts[1:], len(source.text)], strict=True))
    declarations: list[ast.Declaration] = []
    diagnostics: list[Diagnostic] = []
    for start, end in bounds:
        found, problems = _parse_chunk(source, start, end, comments)
        declarations.extend(found)
        diagnostics.extend(problems)
    return declarations, diagnostics


def _parse_chunk(
    source: Source, start: int, end: int, comments: list[tuple[Span, str]]
) -> tuple[list[ast.Declaration], list[Diagnostic]]:
    # Blank out (keeping newlines) what precedes the chunk, so Lark's positions are file offsets.
    prefix = re.sub(r"[^\n]", " ", source.text[:start])
    text = prefix + source.text[start:end]
    try:
        tree, found = _parse_text(text)
        declarations = ToAst().transform(tree)
    except UnexpectedInput as error:
        return [], [_syntax_diagnostic(source, start, error)]
    except (VisitError, RecursionError) as error:
        cause = getattr(error, "orig_exc", error)
        message = "declaration is nested too deeply" if isinstance(cause, RecursionError) else str(cause)
        return [], [Diagnostic("parse.invalid", message, source, Span(start, min(end, start + 1)))]
    comments.extend(found)
    return list(declarations), []


_COMMENTS: list[Token] = []


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files("kpl.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True,
        lexer_callbacks={"COMMENT": _COMMENTS.append},
    )


def _parse_text(text: str) -> tuple[Tree[Token], list[tuple[Span, str]]]:
    """Parse with the cached parser; comments are collected by its lexer callback (not re-entrant)."""
    _COMMENTS.clear()
    try:
        tree = _parser().parse(text)
        return tree, [(Span(t.start_pos or 0, t.end_pos or 0), str(t)) for t in _COMMENTS]
    finally:
        _COMMENTS.clear()


def _describe_expected(expected: set[str]) -> list[str]:
    parser = _parser()
    words: set[str] = set()
    for name in expected:
        if name in _PUNCTUATION:
            words.add(f"`{_PUNCTUATION[name]}`")
        elif name in _TERMINAL_WORDS:
            words.add(_TERMINAL_WORDS[name])
        else:
            try:
                pattern = parser.get_terminal(name).pattern
            except KeyError:
                continue
            if pattern.type == "str":
                words.add(f"`{pattern.value}`")
    return sorted(words)


def _expected_keywords(expected: set[str]) -> list[str]:
    parser = _parser()
    out = []
    for name in expected:
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type == "str" and pattern.value.isalpha():
            out.append(pattern.value)
    return out


def _syntax_diagnostic(source: Source, chunk_start: int, error: UnexpectedInput) -> Diagnostic:
    if isinstance(error, UnexpectedCharacters):
        offset = error.pos_in_stream or 0
        char = source.text[offset : offset + 1]
        expected = _describe_expected(set(error.allowed or ()))
        help_text = f"expected {_join(expected)}" if expected else None
        shown = char if char.isprintable() else repr(char)
        return Diagnostic(
            "parse.unexpected_character", f"unexpected character `{shown}`", source, Span(offset, offset + 1),
            help=help_text,
        )
    if isinstance(error, UnexpectedEOF):
        end = len(source.text)
        expected = _describe_expected(set(error.expected or ()))
        return Diagnostic(
            "parse.unexpected_eof", "unexpected end of file", source, Span(end, end),
            help=f"expected {_join(expected)}" if expected else None,
        )
    assert isinstance(error, UnexpectedToken)
    return _unexpected_token(source, error)


def _unexpected_token(source: Source, error: UnexpectedToken) -> Diagnostic:
    token = error.token
    expected_set = set(error.expected or ())
    expected = _describe_expected(expected_set)
    if token.type == "$END":
        end = len(source.text.rstrip())
        return Diagnostic(
            "parse.unexpected_eof", "unexpected end of file", source, Span(end, end),
            help=f"expected {_join(expected)}" if expected else None,
        )
    start = token.start_pos or 0
    span = Span(start, token.end_pos or start + len(token))
    text = str(token)
    suggestion = did_you_mean(text, _expected_keywords(expected_set)) if text.isidentifier() else None
    previous = _previous_end(source, start)
    if previous is not None and suggestion is None:
        prev_end, prev_word = previous
        if source.line_col(prev_end)[0] < source.line_col(start)[0]:
            # A missing token: point just after the last good one, on its own line.
            what = _join(expected) if expected else "more input"
            return Diagnostic(
                "parse.missing_token", f"expected {what} after `{prev_word}`", source,
                Span(prev_end, prev_end + 1), help=f"the next line starts with `{text}`",
            )
    help_text = suggestion or (f"expected {_join(expected)}" if expected else None)
    return Diagnostic("parse.unexpected_token", f"unexpected `{text}`", source, span, help=help_text)


_COMMENT_TAIL = re.compile(r"""^((?:[^#"']|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')*)#.*$""")


def _previous_end(source: Source, offset: int) -> tuple[int, str] | None:
    """The end offset and text of the last word before ``offset``, skipping blanks and comments."""
    line, column = source.line_col(offset)
    text = source.line_text(line)[: column - 1]
    while True:
        match = _COMMENT_TAIL.match(text)
        code = (match.group(1) if match else text).rstrip()
        if code:
            word = re.split(r"\s", code)[-1]
            return source.offset(line, 1) + len(code), word
        line -= 1
        if line < 1:
            return None
        text = source.line_text(line)


def _join(words: list[str]) -> str:
    if len(words) > 8:
        words = [*words[:8], "..."]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]
