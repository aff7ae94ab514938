"""A lean LALR driver for the tree-less parse: Lark's tables and contextual lexer, our own loop.

Lark's parser feeds each token through a method call that looks its settings up again, hashes the
grammar rule of every reduction (a Python-level ``__hash__``) to find its callback, and asks a
generator for the next token. Here the parse table is rewritten once into a list of rows, one per
state, whose actions are plain values: a shift is the next state (an ``int``), a reduction that only
hands its one child on (an inlined ``?rule`` of one symbol) is the rule's name (a ``str``, the loop
just moves to the goto state), and any other reduction is ``(size, rule name, callback)``. One
function reads tokens with the lexer of the current state and runs the table, without a method call
per token. Ignored tokens without a callback (blanks) never become ``Token`` objects, and Lark's
keyword check on names (its "unless" callback) is done on the matched text before the token is made.

It accepts exactly the inputs Lark's parser accepts, reduces in the same order and makes the same
tokens (type, text, offsets, lines and columns); on anything else it raises (``KeyError`` for a token
no state expects, or ``LexError``), and the caller falls back to Lark's parser, which reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lark import Token
from lark.exceptions import LexError
from lark.lexer import UnlessCallback
from lark.parsers.lalr_analysis import Reduce

__all__ = ["LalrLoop"]

_Reduction = tuple[int, str, Callable[[list[Any]], Any]]
_Action = int | str | _Reduction
_Row = dict[str, Any]  # symbol to _Action
_new_string = str.__new__


class _StateLexer:
    """What Lark's lexer for one parser state matches with: one compiled pattern (or several, tried in
    order), the ignored and multi-line terminals, and per terminal its callback or, for names that may
    spell a keyword (Lark's "unless" callback), the keyword patterns."""

    __slots__ = ("bare", "extra", "ignored", "match", "multiline")

    def __init__(self, lark_lexer: Any, position_only: frozenset[str]) -> None:
        scanner = lark_lexer.scanner  # built on first use, as Lark does
        patterns = tuple(scanner._mres)
        self.match: Callable[[str, int], Any] = patterns[0].match if len(patterns) == 1 else _first_of(patterns)
        self.extra: dict[str, Callable[[Token], Token] | tuple[Any, ...]] = {
            kind: tuple(callback.scanner._mres) if type(callback) is UnlessCallback else callback
            for kind, callback in lark_lexer.callback.items()
        }
        self.ignored: frozenset[str] = frozenset(lark_lexer.ignore_types)
        self.multiline: frozenset[str] = frozenset(lark_lexer.newline_types)
        callbacks = {kind for kind, extra in self.extra.items() if type(extra) is not tuple}
        self.bare: frozenset[str] = position_only - self.multiline - callbacks - self.ignored


def _first_of(patterns: tuple[Any, ...]) -> Callable[[str, int], Any]:
    def match(text: str, pos: int) -> Any:
        for pattern in patterns:
            found = pattern.match(text, pos)
            if found is not None:
                return found
        return None

    return match


def _retype(patterns: tuple[Any, ...], value: str, kind: str) -> str:
    """The keyword a name's text spells (Lark's "unless" callback), or the name's own terminal."""
    for pattern in patterns:
        found = pattern.fullmatch(value)
        if found is not None:
            return str(found.lastgroup)
    return kind


def _ignored_token(callback: Callable[[Token], Any], kind: str, value: str, pos: int, line: int,
                   line_start: int, lines: int) -> None:
    """Hands an ignored token (a comment) to its callback, made as Lark makes it."""
    if lines:
        last_start = pos + value.rindex("\n") + 1
        end_line, end_column = line + lines, pos + len(value) - last_start + 1
    else:
        end_line, end_column = line, pos - line_start + 1 + len(value)
    callback(_token(kind, value, pos, line, pos - line_start + 1, end_line, pos + len(value), end_column))


def _make_token(kind: str, value: str, pos: int, line: int, line_start: int, stop: int,
                multiline: frozenset[str]) -> tuple[Token, int, int]:
    """The token of a kept terminal, and the line and the offset of its start after it."""
    column = pos - line_start + 1
    if kind in multiline and "\n" in value:
        end_line, after = line + value.count("\n"), pos + value.rindex("\n") + 1
        return _token(kind, value, pos, line, column, end_line, stop, stop - after + 1), end_line, after
    return _token(kind, value, pos, line, column, line, stop, column + stop - pos), line, line_start


def _token(kind: str, value: str, pos: int, line: int, column: int, end_line: int, end: int,
           end_column: int) -> Token:
    """A ``Token`` made as Lark's lexer makes it, without its constructor's argument handling."""
    token: Token = _new_string(Token, value)
    token.type = kind
    token.start_pos = pos
    token.value = value
    token.line = line
    token.column = column
    token.end_line = end_line
    token.end_column = end_column
    token.end_pos = end
    return token


class LalrLoop:
    """Parses text with a Lark LALR front end's tables and lexer, calling ``callbacks`` on reductions.

    ``passthrough`` is the callback that returns its one child unchanged: reductions with it are done
    by the loop itself. Tokens of the terminals in ``position_only`` (ones every rule drops, such as
    punctuation) reach the callbacks as ``(None, start, end, 0)`` instead of a ``Token``."""

    __slots__ = ("_end_states", "_lark_lexers", "_lexers", "_position_only", "_rows", "_shared", "_start_states")

    def __init__(self, frontend: Any, callbacks: Mapping[Any, Callable[[list[Any]], Any]],
                 passthrough: Callable[[list[Any]], Any] | None = None,
                 position_only: frozenset[str] = frozenset()) -> None:
        table = frontend.parser.parser.parse_table
        reductions: dict[int, _Action] = {}
        rows: list[_Row] = [{} for _ in range(max(table.states) + 1)]
        for state, row in table.states.items():
            actions = rows[state]
            for symbol, (action, argument) in row.items():
                if action is not Reduce:
                    actions[symbol] = int(argument)
                    continue
                reduction = reductions.get(id(argument))
                if reduction is None:
                    callback, size = callbacks[argument], len(argument.expansion)
                    name = str(argument.origin.name)
                    reduction = name if (size == 1 and callback is passthrough) else (size, name, callback)
                    reductions[id(argument)] = reduction
                actions[symbol] = reduction
        self._rows = rows
        self._start_states: dict[str, int] = dict(table.start_states)
        self._end_states: dict[str, int] = dict(table.end_states)
        self._lark_lexers: dict[int, Any] = dict(frontend.lexer.lexers)
        self._lexers: list[_StateLexer | None] = [None] * len(rows)
        self._shared: dict[int, _StateLexer] = {}
        self._position_only = position_only

    def _lexer_of(self, state: int) -> _StateLexer:
        lark_lexer = self._lark_lexers[state]
        found = self._shared.get(id(lark_lexer))
        if found is None:
            found = self._shared[id(lark_lexer)] = _StateLexer(lark_lexer, self._position_only)
        self._lexers[state] = found
        return found

    def parse(self, text: str, start: str, trace: list[Token] | None = None) -> Any:
        """The value the callbacks build for ``text`` from the rule ``start`` (every kept token is also
        appended to ``trace`` when it is given)."""
        rows, lexers = self._rows, self._lexers
        stack = [self._start_states[start]]
        values: list[Any] = []
        pos, line, line_start, text_end = 0, 1, 0, len(text)
        while pos < text_end:
            lexer = lexers[stack[-1]] or self._lexer_of(stack[-1])
            match = lexer.match(text, pos)
            if match is None:
                raise LexError(f"no token matches at offset {pos}")
            kind, stop = match.lastgroup, match.end()
            extra = lexer.extra.get(kind)
            if kind in lexer.ignored:  # blanks and comments
                lines = text.count("\n", pos, stop) if kind in lexer.multiline else 0
                if extra is not None:
                    _ignored_token(extra, kind, match.group(), pos, line, line_start, lines)  # type: ignore[arg-type]
                if lines:
                    line += lines
                    line_start = text.rindex("\n", pos, stop) + 1
                pos = stop
                continue
            if type(extra) is tuple:
                kind, extra = _retype(extra, match.group(), kind), None
            if kind in lexer.bare:  # only its position matters
                item: Any = (None, pos, stop, 0)
                if trace is not None:
                    column = pos - line_start + 1
                    trace.append(_token(kind, match.group(), pos, line, column, line, stop, column + stop - pos))
                pos = stop
                symbol = kind
            else:
                item, line, line_start = _make_token(kind, match.group(), pos, line, line_start, stop, lexer.multiline)
                token, pos = item, stop
                if extra is not None:
                    item = token = extra(token)  # type: ignore[operator]
                    if not isinstance(token, Token):
                        raise LexError("a lexer callback must return a token")
                if trace is not None:
                    trace.append(token)
                symbol = token.type
            while True:
                action = rows[stack[-1]][symbol]
                if type(action) is int:
                    stack.append(action)
                    values.append(item)
                    break
                if type(action) is str:  # hands its one child on: only the state changes
                    stack[-1] = rows[stack[-2]][action]
                    continue
                size, name, callback = action
                if size:
                    matched = values[-size:]
                    del stack[-size:]
                    del values[-size:]
                else:
                    matched = []
                values.append(callback(matched))
                stack.append(rows[stack[-1]][name])
        return _finish(rows, stack, values, self._end_states[start])


def _finish(rows: list[_Row], stack: list[int], values: list[Any], end_state: int) -> Any:
    """Reduce on the end of input until the start rule is complete."""
    while True:
        action = rows[stack[-1]]["$END"]
        if type(action) is int:
            raise KeyError("$END")
        if type(action) is str:
            stack[-1] = rows[stack[-2]][action]
        else:
            size, name, callback = action
            matched = values[-size:] if size else []
            if size:
                del stack[-size:]
                del values[-size:]
            values.append(callback(matched))
            stack.append(rows[stack[-1]][name])
        if stack[-1] == end_state:
            return values[-1]
