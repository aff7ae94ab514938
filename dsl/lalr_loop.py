"""A lean LALR driver for the tree-less parse: Lark's tables and contextual lexer, our own loop.

Lark's parser feeds each token through a method call that looks its settings up again, hashes the
grammar rule of every reduction (a Python-level ``__hash__``) to find its callback, and asks a
generator for the next token. Here the parse table is rewritten once into plain tuples, a shift as
``(True, next_state)`` and a reduction as ``(False, (size, rule name, callback))``, and one loop pulls
tokens from the lexer of the current state. It accepts exactly the inputs Lark's parser accepts and
reduces in the same order; on anything else it raises (``KeyError`` for a token no state expects, or
the lexer's own error), and the caller falls back to Lark's parser, which reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lark import Token
from lark.exceptions import LexError
from lark.parsers.lalr_analysis import Reduce

__all__ = ["LalrLoop"]

_Reduction = tuple[int, str, Callable[[list[Any]], Any]]
_Action = tuple[bool, Any]  # (True, next state) or (False, _Reduction)


class LalrLoop:
    """Parses text with a Lark LALR front end's tables and lexer, calling ``callbacks`` on reductions."""

    __slots__ = ("_built", "_end_states", "_lexers", "_shared", "_start_states", "_states")

    def __init__(self, frontend: Any, callbacks: Mapping[Any, Callable[[list[Any]], Any]]) -> None:
        table = frontend.parser.parser.parse_table
        reductions: dict[int, _Reduction] = {}
        states: dict[int, dict[str, _Action]] = {}
        for state, row in table.states.items():
            actions: dict[str, _Action] = {}
            for symbol, (action, argument) in row.items():
                if action is Reduce:
                    reduction = reductions.get(id(argument))
                    if reduction is None:
                        reduction = (len(argument.expansion), argument.origin.name, callbacks[argument])
                        reductions[id(argument)] = reduction
                    actions[symbol] = (False, reduction)
                else:
                    actions[symbol] = (True, argument)
            states[state] = actions
        self._states = states
        self._start_states: dict[str, int] = dict(table.start_states)
        self._end_states: dict[str, int] = dict(table.end_states)
        self._lexers: dict[int, Any] = dict(frontend.lexer.lexers)
        self._built: dict[int, _StateLexer] = {}
        self._shared: dict[int, _StateLexer] = {}

    def parse(self, text: str, start: str) -> Any:
        """The value the callbacks build for ``text`` from the rule ``start``."""
        states = self._states
        stack = [self._start_states[start]]
        values: list[Any] = []
        tokens = _Tokens(text, self._lexer_of)
        while True:
            token = tokens.next(stack[-1])
            if token is None:
                break
            symbol = token.type
            while True:
                shift, argument = states[stack[-1]][symbol]
                if shift:
                    stack.append(argument)
                    values.append(token)
                    break
                size, name, callback = argument  # _reduce, inlined: this is the hot loop
                if size:
                    matched = values[-size:]
                    del stack[-size:]
                    del values[-size:]
                else:
                    matched = []
                values.append(callback(matched))
                stack.append(states[stack[-1]][name][1])
        return _finish(states, stack, values, self._end_states[start])

    def _lexer_of(self, state: int) -> _StateLexer:
        found = self._built.get(state)
        if found is None:
            lark_lexer = self._lexers[state]
            found = self._shared.get(id(lark_lexer))
            if found is None:
                found = _StateLexer(lark_lexer)
                self._shared[id(lark_lexer)] = found
            self._built[state] = found
        return found


class _StateLexer:
    """What Lark's lexer for one parser state matches with: its patterns, callbacks and ignored terminals."""

    __slots__ = ("callbacks", "ignored", "multiline", "patterns")

    def __init__(self, lark_lexer: Any) -> None:
        scanner = lark_lexer.scanner  # built on first use, as Lark does
        self.patterns: tuple[Any, ...] = tuple(scanner._mres)
        self.callbacks: dict[str, Callable[[Token], Token]] = dict(lark_lexer.callback)
        self.ignored: frozenset[str] = frozenset(lark_lexer.ignore_types)
        self.multiline: frozenset[str] = frozenset(lark_lexer.newline_types)


class _Tokens:
    """Tokens of a text with Lark's positions (offset, line and column of both ends), read one at a time
    with the lexer of the parser's current state, as Lark's contextual lexer does."""

    __slots__ = ("end", "lexer_of", "line", "line_start", "pos", "text")

    def __init__(self, text: str, lexer_of: Callable[[int], _StateLexer]) -> None:
        self.text = text
        self.end = len(text)
        self.lexer_of = lexer_of
        self.pos = 0
        self.line = 1
        self.line_start = 0

    def next(self, state: int) -> Token | None:
        """The next kept token (ignored ones go to their callbacks only), None at the end of the text."""
        lexer = self.lexer_of(state)
        text = self.text
        while self.pos < self.end:
            pos = self.pos
            for pattern in lexer.patterns:
                match = pattern.match(text, pos)
                if match is not None:
                    break
            else:
                raise LexError(f"no token matches at offset {pos}")
            value, kind = match.group(0), match.lastgroup
            assert kind is not None
            token = Token(kind, value, pos, self.line, pos - self.line_start + 1)
            if kind in lexer.multiline and "\n" in value:
                self.line += value.count("\n")
                self.line_start = pos + value.rindex("\n") + 1
            self.pos = pos + len(value)
            token.end_line, token.end_column, token.end_pos = self.line, self.pos - self.line_start + 1, self.pos
            callback = lexer.callbacks.get(kind)
            if callback is not None:
                token = callback(token)
            if kind not in lexer.ignored:
                return token
        return None


def _reduce(states: dict[int, dict[str, _Action]], stack: list[int], values: list[Any],
            reduction: _Reduction) -> None:
    size, name, callback = reduction
    if size:
        matched = values[-size:]
        del stack[-size:]
        del values[-size:]
    else:
        matched = []
    values.append(callback(matched))
    stack.append(states[stack[-1]][name][1])


def _finish(states: dict[int, dict[str, _Action]], stack: list[int], values: list[Any], end_state: int) -> Any:
    """Reduce on the end of input until the start rule is complete."""
    while True:
        shift, argument = states[stack[-1]]["$END"]
        if shift:
            raise KeyError("$END")
        _reduce(states, stack, values, argument)
        if stack[-1] == end_state:
            return values[-1]
