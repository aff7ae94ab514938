"""Parsing: source text to a ``Module`` plus diagnostics. Never raises on user input.

Source is first parsed without a tree by our own loop over the grammar's LALR tables
(:mod:`kpl.dsl.grammar_tables`, read from a file a first run writes, so this path does not import Lark),
its callbacks building AST nodes directly; only when that fails (a syntax
error, a bad literal, very deep nesting) is the text parsed again into a Lark tree and transformed, which
is the path every diagnostic comes from (Lark's parser, built once from ``grammar.lark`` with
``propagate_positions=True``), so both give the same modules and messages. A syntax
error is reported where a person would look for it (Lark notices a missing token only at the next one,
often on the next line: the caret goes right after the last good token instead), and parsing resumes at
the next top-level declaration so one run reports every broken declaration.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic, did_you_mean
from kpl.dsl.grammar_tables import LARK_OPTIONS, GrammarTables, load_tables
from kpl.dsl.lalr_loop import LalrLoop
from kpl.dsl.source import Source, Span
from kpl.dsl.treeless import (
    located_value,
    passthrough,
    position_only_terminals,
    text_reductions,
    treeless_callbacks,
)

if TYPE_CHECKING:
    from lark import Lark, Token, Tree, UnexpectedInput, UnexpectedToken

__all__ = ["GRAMMAR_FILE", "keywords", "ParseResult", "parse", "parse_expression", "parse_source"]

MAX_SOURCE_CHARS = 8 * 1024 * 1024
MAX_NESTING = 200
GRAMMAR_FILE = Path(__file__).with_name("grammar.lark")  # installed with the package

_DECLARATION_START = re.compile(r"^[ \t]*(?:interpreter|policy|cluster[ \t]+policy|quota)\b", re.M)

_PUNCTUATION = {
    "LBRACE": "{", "RBRACE": "}", "LPAR": "(", "RPAR": ")", "LSQB": "[", "RSQB": "]", "COMMA": ",",
    "COLON": ":", "SEMICOLON": ";", "EQUAL": "=", "DOT": ".", "QMARK": "?", "AT": "@",
}
_EXPRESSION_START = frozenset({"IDENT", "INT", "STRING", "LPAR", "LSQB"})
_OPERAND_START = frozenset({
    "NUMBER", "QUANTITY", "QUANTITY_LIKE", "TRUE", "FALSE", "NULL", "LBRACE", "DOT", "AT", "MINUS", "IF", "LET",
    "NOT",
})
_CLOSERS = frozenset({"`}`", "`)`", "`]`"})
_TERMINAL_WORDS = {
    "IDENT": "a name", "DNS_NAME": "a name", "STRING": "a string", "INT": "an integer",
    "NUMBER": "a number", "QUANTITY": "a quantity", "DURATION": "a duration such as `300s`",
    "API_VERSION": "an apiVersion such as `apps/v1`", "COMP_OP": "a comparison", "MUL_OP": "an operator",
    "PLUS": "`+`", "MINUS": "`-`", "STAR": "`*`", "IN": "`in`", "NOT_IN": "`not in`", "CLUSTER": "`cluster`",
    "$END": "end of file",
}


def _expression_parser() -> Lark:
    return _parser()


def keywords() -> frozenset[str]:
    """Every keyword of the language (for "did you mean" help elsewhere)."""
    return frozenset(
        t.pattern.value for t in _tables().root.terminals if t.pattern.type == "str" and t.pattern.value.isalpha()
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
        expr, shallow = _build_fast(text, "expr")
    except Exception:  # any failure: the tree path below reports it exactly as before
        pass
    else:
        if shallow or _too_deep(expr) is None:
            return expr, []
    from lark import UnexpectedInput
    from lark.exceptions import VisitError

    from kpl.dsl.transformer import ToAst

    try:
        tree = _expression_parser().parse(text, start="expr")
        expr = ToAst().transform(tree)
    except UnexpectedInput as error:
        return None, [_syntax_diagnostic(source, len(text), error)]
    except (VisitError, RecursionError):
        return None, [Diagnostic("parse.too_deep", "expression is nested too deeply", source, Span(0, 0))]
    deep = _too_deep(expr)
    return (expr, []) if deep is None else (None, [_too_deep_diagnostic(source, deep)])


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
    fast = _parse_fast(text)
    if fast is not None:
        comments.extend(fast[1])
        return fast[0], []
    return _parse_chunk_with_lark(source, start, end, text, comments)


def _parse_chunk_with_lark(
    source: Source, start: int, end: int, text: str, comments: list[tuple[Span, str]]
) -> tuple[list[ast.Declaration], list[Diagnostic]]:
    """The tree path: Lark's parser and the transformer, which report whatever the loop could not parse."""
    from lark import UnexpectedInput
    from lark.exceptions import VisitError

    from kpl.dsl.transformer import ToAst

    try:
        tree, found = _parse_text(text)
        declarations = ToAst().transform(tree)
    except UnexpectedInput as error:
        return [], [_syntax_diagnostic(source, end, error)]
    except (VisitError, RecursionError) as error:
        cause = getattr(error, "orig_exc", error)
        if isinstance(cause, RecursionError):
            message, code = f"declaration is nested more than {MAX_NESTING} levels deep", "parse.too_deep"
        else:
            message, code = str(cause), "parse.invalid"
        return [], [Diagnostic(code, message, source, Span(start, min(end, start + 1)))]
    comments.extend(found)
    kept: list[ast.Declaration] = []
    problems: list[Diagnostic] = []
    for declaration in declarations:
        deep = _too_deep(declaration)
        if deep is None:
            kept.append(declaration)
        else:
            problems.append(_too_deep_diagnostic(source, deep))
    return kept, problems


def _too_deep_diagnostic(source: Source, node: object) -> Diagnostic:
    span = getattr(node, "span", Span(0, 0))
    return Diagnostic(
        "parse.too_deep", f"expression is nested more than {MAX_NESTING} levels deep", source, span,
        help="split it with `let` bindings or `fn` helpers",
    )


_CHILD_FIELDS: dict[type, tuple[str, ...] | None] = {}  # per type: its fields but spans, None if not a dataclass


def _child_fields(kind: type) -> tuple[str, ...] | None:
    if kind not in _CHILD_FIELDS:
        _CHILD_FIELDS[kind] = (
            tuple(f.name for f in dataclasses.fields(kind) if not f.name.endswith("span"))
            if dataclasses.is_dataclass(kind) else None
        )
    return _CHILD_FIELDS[kind]


def _too_deep(root: object) -> object | None:
    """The member or item holding a node nested deeper than ``MAX_NESTING`` (found without recursion).

    Later passes (checks, formatting, evaluation) walk the tree recursively; bounding the depth here
    keeps them within Python's recursion limit on any input."""
    known = _CHILD_FIELDS
    stack: list[tuple[object, int, object]] = [(root, 0, root)]
    while stack:
        node, depth, member = stack.pop()
        if depth > MAX_NESTING:
            return member
        names = known[type(node)] if type(node) in known else _child_fields(type(node))
        for name in names or ():
            value = getattr(node, name)
            for child in value if isinstance(value, tuple) else (value,):
                kind = type(child)
                if (known[kind] if kind in known else _child_fields(kind)) is not None:
                    stack.append((child, depth + 1, child if depth == 0 else member))
    return None


_COMMENTS: list[Any] = []  # the comment tokens of the parse under way (a lexer callback fills it)
_LEXER_CALLBACKS = {"COMMENT": _COMMENTS.append}


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    from lark import Lark

    grammar = GRAMMAR_FILE.read_text(encoding="utf-8")
    # `cache=True`: Lark keeps the built LALR tables in a file keyed by the grammar's hash, so only the
    # first run on a machine pays for building them.
    return Lark(grammar, **LARK_OPTIONS, lexer_callbacks=_LEXER_CALLBACKS, cache=True)


@functools.lru_cache(maxsize=1)
def _tables() -> GrammarTables:
    """The grammar's tables, from the file next to Lark's cache (written from Lark's parser when missing)."""
    return load_tables(GRAMMAR_FILE.read_text(encoding="utf-8"), Path(tempfile.gettempdir()), _parser)


@functools.lru_cache(maxsize=1)
def _fast_frontend() -> LalrLoop:
    """A parser on the grammar's tables whose callbacks build the AST while parsing."""
    tables = _tables()
    callbacks = treeless_callbacks(tables.rules, cache_folder=Path(tempfile.gettempdir()), tables_key=tables.key)
    return LalrLoop(tables, callbacks, passthrough, position_only_terminals(tables.rules),
                    _LEXER_CALLBACKS, text_reductions(tables.rules))


def _build_fast(text: str, start: str) -> tuple[Any, bool]:
    """The AST of ``text`` parsed without a tree, and whether its nesting is surely within ``MAX_NESTING``
    (else a walk decides); ValueError when Lark's tree would be deeper than ``MAX_NESTING`` (the tree path
    decides those exactly as it always has)."""
    value, depth, bound = located_value(_fast_frontend().parse(text, start=start))
    if depth > MAX_NESTING:
        raise ValueError("nested too deeply for the tree-less path")
    return value, bound <= MAX_NESTING


def _parse_fast(text: str) -> tuple[list[ast.Declaration], list[tuple[Span, str]]] | None:
    """The declarations and comments of a chunk parsed without a tree, or None when anything is wrong
    (a syntax error, a bad literal, deep nesting): the tree path then finds and reports it as always."""
    _COMMENTS.clear()
    try:
        declarations, shallow = _build_fast(text, "start")
        found = [(Span(t.start_pos or 0, t.end_pos or 0), str(t)) for t in _COMMENTS]
    except Exception:  # see the docstring
        return None
    finally:
        _COMMENTS.clear()
    if not shallow and any(_too_deep(declaration) is not None for declaration in declarations):
        return None
    return declarations, found


def _parse_text(text: str) -> tuple[Tree[Token], list[tuple[Span, str]]]:
    """Parse with the cached parser; comments are collected by its lexer callback (not re-entrant)."""
    _COMMENTS.clear()
    try:
        tree = _parser().parse(text, start="start")
        return tree, [(Span(t.start_pos or 0, t.end_pos or 0), str(t)) for t in _COMMENTS]
    finally:
        _COMMENTS.clear()


def _expected_of(error: UnexpectedInput) -> set[str]:
    """The terminals that could really come next (Lark's own set is widened by LALR state merging)."""
    from lark import UnexpectedInput

    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        try:
            return set(interactive.accepts())
        except (UnexpectedInput, AttributeError, KeyError):
            pass
    return set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())


@functools.lru_cache(maxsize=1)
def _soft_keyword_terminals() -> frozenset[str]:
    rules = _parser().rules
    return frozenset(
        str(symbol.name) for rule in rules if rule.origin.name == "soft_keyword" for symbol in rule.expansion
    )


def _describe_expected(expected: set[str]) -> list[str]:
    parser = _parser()
    words: set[str] = set()
    if "IDENT" in expected:
        expected = expected - _soft_keyword_terminals()  # they are names too: "a name" covers them
    if expected >= _EXPRESSION_START:
        expected = expected - _EXPRESSION_START - _OPERAND_START
        words.add("an expression")
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
    return sorted(words, key=_expected_order)


def _expected_order(word: str) -> tuple[int, str]:
    """Closing brackets first (the usual omission), then keywords, then names, then other punctuation."""
    if word in _CLOSERS:
        return 0, word
    if word[1:2].isalpha():
        return 1, word
    return (2 if not word.startswith("`") else 3), word


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


def _syntax_diagnostic(source: Source, chunk_end: int, error: UnexpectedInput) -> Diagnostic:
    """A syntax error of the chunk ending at ``chunk_end`` (the next declaration starts there)."""
    from lark import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(error, UnexpectedCharacters):
        return _unexpected_character(source, error)
    if isinstance(error, UnexpectedEOF):
        return _unexpected_end(source, chunk_end, _expected_of(error))
    assert isinstance(error, UnexpectedToken)
    if error.token.type == "$END":
        return _unexpected_end(source, chunk_end, _expected_of(error))
    return _unexpected_token(source, error)


def _unexpected_character(source: Source, error: Any) -> Diagnostic:
    offset = error.pos_in_stream or 0
    char = source.text[offset : offset + 1]
    expected = _describe_expected(_expected_of(error))
    help_text = f"expected {_join(expected)}" if expected else None
    if char in "\"'":
        line_end = source.text.find("\n", offset)
        rest = source.text[offset + 1 : len(source.text) if line_end < 0 else line_end]
        if char not in rest.replace("\\" + char, ""):
            return Diagnostic(
                "parse.unterminated_string", "string is not closed on this line", source,
                Span(offset, offset + 1), help=f"add the closing {char} (strings cannot span lines)",
            )
    shown = char if char.isprintable() else repr(char)
    return Diagnostic(
        "parse.unexpected_character", f"unexpected character `{shown}`", source, Span(offset, offset + 1),
        help=help_text,
    )


def _unexpected_end(source: Source, chunk_end: int, expected_set: set[str]) -> Diagnostic:
    """Input ended inside a declaration: point right after its last token (not at a later line)."""
    expected = _describe_expected(expected_set)
    previous = _previous_end(source, chunk_end)
    end = previous[0] if previous is not None else 0
    span = Span(end, end)
    if source.text[chunk_end:].strip():
        what = _join(expected) if expected else "more input"
        word = previous[1] if previous is not None else ""
        next_line = source.line_col(chunk_end)[0]
        return Diagnostic(
            "parse.missing_token", f"expected {what} after `{word}`", source, Span(end, end + 1),
            help=f"the declaration is not finished when the next one starts on line {next_line}",
        )
    unclosed = _unclosed_bracket(source.text[:chunk_end])
    message = "unexpected end of file"
    if unclosed is not None:
        line, column = source.line_col(unclosed)
        message += f": the `{source.text[unclosed]}` at {line}:{column} is not closed"
    return Diagnostic(
        "parse.unexpected_eof", message, source, span,
        help=f"expected {_join(expected)}" if expected else None,
    )


_BRACKET_SCAN = re.compile(r"""#[^\n]*|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?|[(){}\[\]]""")
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _unclosed_bracket(text: str) -> int | None:
    """The offset of the innermost bracket still open at the end of ``text`` (strings and comments skipped)."""
    stack: list[tuple[str, int]] = []
    for match in _BRACKET_SCAN.finditer(text):
        token = match.group()
        if token in "({[":
            stack.append((token, match.start()))
        elif token in _PAIRS and stack and stack[-1][0] == _PAIRS[token]:
            stack.pop()
    return stack[-1][1] if stack else None


def _unexpected_token(source: Source, error: UnexpectedToken) -> Diagnostic:
    token = error.token
    expected_set = _expected_of(error)
    expected = _describe_expected(expected_set)
    start = token.start_pos or 0
    span = Span(start, token.end_pos or start + len(token))
    text = str(token)
    suggestion = did_you_mean(text, _expected_keywords(expected_set)) if text.isidentifier() else None
    previous = _previous_end(source, start)
    dangling = _dangling_line(source, start, previous)
    if dangling is not None:
        return dangling
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


def _dangling_line(source: Source, start: int, previous: tuple[int, str] | None) -> Diagnostic | None:
    """``x =`` followed by a line ``y = ...``: the parser read ``y`` as the value and fails on the second
    ``=``; the value is really missing on the line before."""
    if previous is None or source.text[start : start + 1] != "=" or source.text[start : start + 2] == "==":
        return None
    word_start = previous[0] - len(previous[1])
    line = source.line_col(word_start)[0]
    if source.line_text(line)[: source.line_col(word_start)[1] - 1].strip():
        return None  # the word before `=` does not start its line
    before = _previous_end(source, word_start)
    if before is None or before[1][-1:] not in ("=", "+", "-", "*", "/", "%", ",", "?", "("):
        return None
    end = before[0]
    return Diagnostic(
        "parse.missing_token", f"expected a value after `{before[1]}`", source, Span(end, end + 1),
        help=f"the next line starts a new member, `{previous[1]} =`",
    )


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
