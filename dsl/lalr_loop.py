"""A lean LALR driver for the tree-less parse: Lark's tables and terminals, our own loop and lexers.

Lark's parser feeds each token through a method call that looks its settings up again, hashes the
grammar rule of every reduction (a Python-level ``__hash__``) to find its callback, and asks a
generator for the next token. Here the parse table (:mod:`kpl.dsl.grammar_tables`, which a new process
reads without importing Lark) is rewritten once into a list of rows, one per
state, whose actions are plain values: a shift is the next state (an ``int``), a reduction that only
hands its one child on (an inlined ``?rule`` of one symbol) is the rule's name (a ``str``, the loop
just moves to the goto state), and any other reduction is ``(size, rule name, callback)``. One
function reads tokens with the lexer of the current state and runs the table, without a method call
per token. The lexers of the states come from one analysis of the terminals (:mod:`kpl.dsl.state_lexers`):
most states read with one of two shared sets of patterns, chosen by the token's first character; runs of
blanks are skipped with one match where that is provably exact, blanks never become ``Token`` objects,
punctuation travels as a position, and Lark's keyword check on names (its "unless" callback) is a
dictionary lookup. Tokens carry their offsets; lines and columns, which nothing built from them reads,
are worked out only for a trace.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kpl.dsl.grammar_tables import GrammarTables, StateTerminals
from kpl.dsl.state_lexers import BARE, CALLED, IGNORED, NAME, Lexicon, StateLexer

__all__ = ["LalrLoop", "LexError", "Token"]

_Reduction = tuple[int, str, Callable[[list[Any]], Any]]
_Action = int | str | _Reduction | list[Any]  # a list: a shift and the reductions it leads to (see LalrLoop)
_Row = dict[str, Any]  # symbol to _Action
_new_string = str.__new__


class Token(str):
    """A token of the parse loop: its text, with the fields of Lark's ``Token`` (``type``, ``value``, offsets,
    lines and columns)."""

    __slots__ = ("column", "end_column", "end_line", "end_pos", "line", "start_pos", "type", "value")

    type: str
    value: str
    start_pos: int | None
    end_pos: int | None
    line: int | None
    column: int | None
    end_line: int | None
    end_column: int | None

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"

    def __getattr__(self, name: str) -> Any:
        """Lines and columns never set (the loop leaves them out unless tracing) read as None, as Lark's do."""
        if name in _LOCATION_FIELDS:
            return None
        raise AttributeError(name)


_LOCATION_FIELDS = frozenset({"line", "column", "end_line", "end_column"})


class LexError(Exception):
    """No terminal of the parser state matches at a position (the caller reparses with Lark to report it)."""


def _token(kind: str, value: str, start: int, end: int) -> Token:
    """A ``Token`` with its type, text and offsets (its lines and columns are left unset, reading as None:
    nothing the parse builds reads them; :func:`_locate` fills them in for a trace)."""
    token: Token = _new_string(Token, value)
    token.type = kind
    token.value = value
    token.start_pos = start
    token.end_pos = end
    return token


def _locate(text: str, tokens: list[Token], multiline: frozenset[str]) -> None:
    """Lines and columns of ``tokens`` as Lark's lexer gives them (1-based; a multi-line token ends on its
    last line)."""
    breaks = [index for index, char in enumerate(text) if char == "\n"]
    for token in tokens:
        start, end = token.start_pos or 0, token.end_pos or 0
        line = bisect.bisect_left(breaks, start)
        token.line, token.column = line + 1, start - (breaks[line - 1] + 1 if line else 0) + 1
        last = bisect.bisect_left(breaks, end) if token.type in multiline and "\n" in token else line
        token.end_line = last + 1
        token.end_column = end - (breaks[last - 1] + 1 if last else 0) + 1


class LalrLoop:
    """Parses text with a grammar's LALR tables and terminals, calling ``callbacks`` (per rule index) on
    reductions; ``lexer_callbacks`` are called with the tokens of their terminals.

    ``passthrough`` is the callback that returns its one child unchanged: reductions with it are done
    by the loop itself. Tokens of the terminals in ``position_only`` (ones every rule drops, such as
    punctuation) reach the callbacks as ``(None, start, end, 0, 0)`` instead of a ``Token``. The rules in
    ``text_rules`` (by index: see :func:`kpl.dsl.treeless.text_reductions`) have a value made from the token's
    text alone, ``(text(value), start, end, 1, 1)``, which the loop makes itself where it can.

    Where a shift leads to a state that reduces by one rule of one symbol whatever comes next (an LR
    parser's *default reduction*), the shift and that reduction are one table entry: the goto after a
    reduction of one symbol is the goto of the state the token was shifted from, so a chain of them depends on
    that state and the token alone. Reducing before the next token is read does not change what a valid text
    gives, and on an invalid one the parse still fails before the offending token is shifted. ``fuse=False``
    keeps every step apart (tests compare the two)."""

    __slots__ = ("_chains", "_defaults", "_end_states", "_lark_lexers", "_lexers", "_lexicon", "_multiline", "_plain",
                 "_position_only", "_rows", "_rules_of", "_shared", "_start_states", "_texts")

    def __init__(self, tables: GrammarTables, callbacks: Sequence[Callable[[list[Any]], Any]],
                 passthrough: Callable[[list[Any]], Any] | None = None,
                 position_only: frozenset[str] = frozenset(),
                 lexer_callbacks: Mapping[str, Callable[[Token], Any]] | None = None,
                 text_rules: Mapping[int, Callable[[str], Any] | None] | None = None, fuse: bool = True) -> None:
        reductions: dict[int, _Action] = {}
        rules_of: dict[int, int] = {}  # id of a reduction to its rule's index
        rows: list[_Row] = [{} for _ in tables.states]
        for state, row in enumerate(tables.states):
            actions = rows[state]
            for symbol, action in row.items():
                if action >= 0:
                    actions[symbol] = action
                    continue
                reduction = reductions.get(action)
                if reduction is None:
                    rule = tables.rules[-1 - action]
                    callback, size = callbacks[-1 - action], len(rule.expansion)
                    reduction = rule.name if (size == 1 and callback is passthrough) else (size, rule.name, callback)
                    reductions[action] = reduction
                    rules_of[id(reduction)] = -1 - action
                actions[symbol] = reduction
        # The states that reduce at once by a rule of one symbol, to that reduction (see _fused).
        self._defaults: dict[int, str | _Reduction] = {} if not fuse else {
            state: default for state, row in enumerate(rows) if (default := _default_reduction(row)) is not None}
        self._rules_of = rules_of
        self._texts: Mapping[int, Callable[[str], Any] | None] = text_rules or {}
        self._plain = position_only | frozenset(lexer_callbacks or ()) | frozenset(
            getattr(tables.root, "user_callbacks", ()))
        self._rows = rows
        self._start_states: dict[str, int] = tables.start_states
        self._end_states: dict[str, int] = tables.end_states
        self._lark_lexers: dict[int, StateTerminals] = tables.state_lexers
        self._lexers: list[StateLexer | None] = [None] * len(rows)
        self._shared: dict[int, StateLexer] = {}
        # Where a chain of pass-through reductions ends: (state below, top state, token) to the new top state.
        self._chains: dict[tuple[int, int, str], int] = {}
        self._position_only = position_only
        self._lexicon = Lexicon(tables.root, position_only, lexer_callbacks)
        self._multiline: frozenset[str] = frozenset().union(
            *(lexer.newline_types for lexer in self._lark_lexers.values())
        )

    def _fused(self, state: int, kind: str, target: int) -> list[Any]:
        """The entry for shifting ``kind`` in ``state`` into ``target``, a state that reduces at once by a rule of
        one symbol: ``[state, text, reducers]``, the state after every such reduction in a row (each one's goto
        is from ``state``: the states below do not change), ``text`` (``str`` for the text as it is, or a
        function of it) when the first is a text rule of a token that travels as one, and the callbacks of the
        others (pass-through ones left out). The grammar has no cycle of rules of one symbol."""
        row, text, reducers = self._rows[state], None, []
        first = target
        while (reduction := self._defaults.get(target)) is not None:
            if isinstance(reduction, str):
                name = reduction
            else:
                _, name, callback = reduction
                index = self._rules_of.get(id(reduction), -1)
                if target == first and index in self._texts and kind not in self._plain:
                    text = self._texts[index] or str
                else:
                    reducers.append(callback)
            target = row[name]
        return [target, text, tuple(reducers)]

    @property
    def lexicon(self) -> Lexicon:
        """The analysis of the terminals every state's lexer is built from."""
        return self._lexicon

    def _lexer_of(self, state: int) -> StateLexer:
        lark_lexer = self._lark_lexers[state]
        found = self._shared.get(id(lark_lexer))
        if found is None:
            found = self._shared[id(lark_lexer)] = self._lexicon.state_lexer(lark_lexer)
        self._lexers[state] = found
        return found

    def parse(self, text: str, start: str, trace: list[Token] | None = None) -> Any:
        """The value the callbacks build for ``text`` from the rule ``start`` (every kept token is also
        appended to ``trace`` when it is given, with its lines and columns)."""
        if trace is None:
            return self._parse(text, start, None)
        traced: list[Token] = []
        try:
            return self._parse(text, start, traced)
        finally:
            _locate(text, traced, self._multiline)
            trace.extend(traced)

    def _parse(self, text: str, start: str, trace: list[Token] | None) -> Any:
        rows, lexers, chains, defaults = self._rows, self._lexers, self._chains, self._defaults
        runs = self._lexicon.blank_runs
        state = self._start_states[start]
        stack = [state]  # the states, ``state`` on top
        values: list[Any] = []
        pos, text_end = 0, len(text)
        value = ""
        while pos < text_end:
            lexer = lexers[state] or self._lexer_of(state)
            char = text[pos]
            if char in lexer.blanks:
                pos += 1  # one blank before a character that cannot begin a blank is a whole run
                if pos == text_end:
                    break
                char = text[pos]
                if not runs or char in lexer.blanks:
                    pos = lexer.skip(text, pos - 1).end()  # type: ignore[misc]
                    if pos == text_end:
                        break
                    char = text[pos]
            match = lexer.first[char](text, pos)
            if match is None or (how := lexer.how.get(kind := match.lastgroup)) is None:
                lexer = lexer.retry(char)  # not this state's token: its own terminals decide
                match = lexer.first[char](text, pos)
                if match is None:
                    raise LexError(f"no token matches at offset {pos}")
                how = lexer.how[kind := match.lastgroup]
            begin, pos = pos, match.end()  # a match at ``pos`` of one named group: the token's own extent
            if how == BARE:  # only its position matters
                item: Any = (None, begin, pos, 0, 0)
                if trace is not None:
                    trace.append(_token(kind, text[begin:pos], begin, pos))
            elif how == IGNORED:  # blanks (when not skipped by the pattern) and comments
                extra = lexer.extra.get(kind)
                if extra is not None:
                    extra(_token(kind, text[begin:pos], begin, pos))
                continue
            else:  # kept: its ``Token`` is made when it is shifted (a text rule's value needs none)
                value = text[begin:pos]
                item = None
                if how == NAME:
                    kind = lexer.extra[kind].get(value, kind)  # the keyword the name spells, if any
                    if kind in lexer.bare:
                        item = (None, begin, pos, 0, 0)
                elif how == CALLED:
                    item = lexer.extra[kind](_token(kind, value, begin, pos))
                    if not isinstance(item, Token):
                        raise LexError("a lexer callback must return a token")
                    kind = item.type
                if trace is not None:
                    if item is None:
                        item = _token(kind, value, begin, pos)
                    trace.append(item if type(item) is not tuple else _token(kind, value, begin, pos))
            while True:
                action = rows[state][kind]
                if type(action) is int:
                    if action in defaults:  # first shift of this token here: made one entry with what follows
                        rows[state][kind] = self._fused(state, kind, action)
                        continue
                    if item is None:
                        item = _new_string(Token, value)
                        item.type = kind
                        item.value = value
                        item.start_pos = begin
                        item.end_pos = pos
                    state = action
                    stack.append(state)
                    values.append(item)
                    break
                if type(action) is list:  # a shift and the reductions of one symbol its state does at once
                    state, text_value, reducers = action
                    if text_value is None:
                        if item is None:
                            item = _token(kind, value, begin, pos)
                    elif item is None:  # a text rule: its value from the text alone
                        item = (value if text_value is str else text_value(value), begin, pos, 1, 1)
                    else:  # a token made already (traced, or given by a lexer callback)
                        item = (text_value(item), item.start_pos, item.end_pos, 1, 1)
                    for reducer in reducers:
                        item = reducer([item])
                    stack.append(state)
                    values.append(item)
                    break
                if type(action) is str:  # hands its one child on: only the top state changes
                    key = (stack[-2], state, kind)
                    top = chains.get(key)
                    state = stack[-1] = top if top is not None else _follow_chain(rows, chains, key)
                    continue
                size, name, callback = action
                if size == 1:
                    values[-1] = callback(values[-1:])
                    state = stack[-1] = rows[stack[-2]][name]
                    continue
                if size:
                    matched = values[-size:]
                    del stack[-size:]
                    del values[-size:]
                else:
                    matched = []
                values.append(callback(matched))
                state = rows[stack[-1]][name]
                stack.append(state)
        return _finish(rows, stack, values, self._end_states[start])


def _default_reduction(row: _Row) -> str | _Reduction | None:
    """The reduction of one symbol a state makes whatever comes next (its only action), else None."""
    for action in row.values():
        if type(action) is int or (type(action) is tuple and action[0] != 1):
            return None
        if list(row.values()).count(action) == len(row):  # the same reduction on every token
            return action  # type: ignore[no-any-return]
        return None
    return None


def _follow_chain(rows: list[_Row], chains: dict[tuple[int, int, str], int], key: tuple[int, int, str]) -> int:
    """The top state after every pass-through reduction on token ``key[2]`` from the states ``key[:2]``.
    Each such reduction replaces the top state by the goto of the state below it, which stays the same,
    so the end of the chain depends on the key alone and is remembered (a token no state on the way
    expects raises ``KeyError`` and nothing is remembered)."""
    below, top, kind = key
    action = rows[top][kind]
    while type(action) is str:
        top = rows[below][action]
        action = rows[top][kind]
    chains[key] = top
    return top


def _finish(rows: list[_Row], stack: list[int], values: list[Any], end_state: int) -> Any:
    """Reduce on the end of input until the start rule is complete."""
    while True:
        action: Any = rows[stack[-1]]["$END"]
        if type(action) is str:
            stack[-1] = rows[stack[-2]][action]
        elif type(action) is tuple:
            size, name, callback = action
            matched = values[-size:] if size else []
            if size:
                del stack[-size:]
                del values[-size:]
            values.append(callback(matched))
            stack.append(rows[stack[-1]][name])
        else:  # a shift of the end: no such thing
            raise KeyError("$END")
        if stack[-1] == end_state:
            return values[-1]
