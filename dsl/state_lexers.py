"""The token patterns of the parse loop's lexer states, built from one analysis of the grammar's terminals.

Lark's contextual lexer gives each parser state a scanner of its own: a regular expression over the terminals
that state accepts (135 distinct sets for kpl's grammar), and one more per name terminal for the keywords a name
may spell, each compiled on first use. Python compiles regular expressions in Python, so in a new process that
was most of the cost of the first parse. Here the terminals are analysed once per parser:

- which keyword strings each name pattern covers (Lark's "unless" rule: same priority, and the pattern's match
  of the string is the whole string), so a keyword check is a dictionary lookup;
- which terminals may begin with a blank character (see :mod:`kpl.dsl.regex_start`);
- one *shared pattern* over every terminal, in Lark's terminal order, without the keywords a name covers.

**Why a state may read with the shared pattern.** Lark orders terminals by one key (priority, width, length,
name), the same for every state, and a state's pattern is its terminals in that order without the keywords its
own names cover. Python tries the alternatives of a pattern left to right and the first that matches decides
(blanks skipped before them alike, see below). So when the shared pattern's match at a position is a terminal
``g`` of the state's pattern, and every terminal before ``g`` in the state's pattern is also in the shared one
(where it was tried before ``g`` and failed), the state's own pattern matches ``g`` with the same span. The one
kind of terminal a state has that the shared pattern lacks is a keyword that no name of the state covers (a
state expecting ``policy`` but no name): the state's lexer only accepts shared matches that come before its
first such keyword. Any other match, or none, is decided by the state's own pattern, compiled on first need.

Blanks: a pattern may begin with the blank terminal's own pattern, made optional, so that one match reads a
token and the blanks before it. That is exact when no other terminal of the pattern can begin with a blank
character. A state reads with the shared pattern only when the shared pattern and its own one are alike in
this respect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lark.lexer import PatternRE, PatternStr, TerminalDef

from kpl.dsl.regex_start import first_chars, may_start_with

__all__ = ["BARE", "IGNORED", "KEPT", "NAME", "Lexicon", "StateLexer"]

BARE, KEPT, NAME, IGNORED = 0, 1, 2, 3  # what the loop does with a token of a terminal (see StateLexer)

_Match = Callable[[str, int], Any]  # a compiled pattern's match: a match object or None


class StateLexer:
    """How the parse loop reads tokens in one parser state: ``match`` (a compiled pattern's ``match``), per
    terminal it may accept ``how`` (position only, kept, a name that may spell a keyword, ignored), in
    ``extra`` a name's keywords (text to terminal) or a terminal's user callback, and ``bare``, the terminals
    (keywords included) that travel as a position only. A terminal the match may give that is missing from
    ``how`` is not this state's to accept: the loop asks ``own()``, the state's own pattern, instead."""

    __slots__ = ("_own", "bare", "extra", "how", "match")

    def __init__(self, match: _Match, how: dict[str, int], extra: dict[str, Any], bare: frozenset[str],
                 own: Callable[[], StateLexer] | None) -> None:
        self.match = match
        self.how = how
        self.extra = extra
        self.bare = bare
        self._own = own

    def read(self, text: str, pos: int) -> tuple[str, int, int] | None:
        """The token at ``pos`` as this state reads it: terminal (a name's keyword when it spells one), start
        and end; None when no terminal of the state matches. (The parse loop does the same steps inline.)"""
        lexer: StateLexer = self
        found = lexer.match(text, pos)
        if found is None or found.lastgroup not in lexer.how:
            lexer = self.own()
            found = lexer.match(text, pos)
            if found is None:
                return None
        kind = str(found.lastgroup)
        begin, end = found.span(kind)
        if lexer.how[kind] == NAME:
            kind = lexer.extra[kind].get(text[begin:end], kind)
        return kind, begin, end

    def own(self) -> StateLexer:
        """The lexer with the state's own pattern (this one when it already is)."""
        if self._own is None:
            return self
        built = self._own()
        self._own = lambda: built
        return built


class Lexicon:
    """The analysis of a Lark contextual lexer's terminals, shared by the lexers of every parser state."""

    def __init__(self, contextual_lexer: Any, position_only: frozenset[str]) -> None:
        root = contextual_lexer.root_lexer
        terminals: list[TerminalDef] = list(root.terminals)
        if any(t.pattern.flags for t in terminals) or getattr(root, "use_bytes", False):
            raise ValueError("terminals with flags or byte patterns are not supported by the parse loop")
        self._order = {t.name: index for index, t in enumerate(terminals)}
        self._terminals = {t.name: t for t in terminals}
        self._flags: int = root.g_regex_flags
        self._ignored: frozenset[str] = frozenset(root.ignore_types)
        self._callbacks: dict[str, Callable[..., Any]] = dict(root.user_callbacks)
        self._position_only = position_only
        self._covers = _covering_names(terminals)
        self._blank_name = ""
        if any(name in self._callbacks for names in self._covers.values() for name in names):
            raise ValueError("a name terminal with both keywords and a callback is not supported by the parse loop")
        self._blank = self._blank_pattern()
        self._may_begin_blank = {t.name: self._begins_blank(t) for t in terminals}
        embedded = {name for name, names in self._covers.items() if names}
        covering = set().union(*self._covers.values())
        self._shared = []
        for excluded in (embedded, covering):
            kept = [t for t in terminals if t.name not in excluded]
            self._shared.append(_Shared(kept, self._blank, self._skips(kept), self._flags))

    def state_lexer(self, lark_lexer: Any) -> StateLexer:
        """The lexer of the parser states that share Lark's ``lark_lexer``."""
        terminals = [self._terminals[t.name] for t in lark_lexer.terminals]
        names = {t.name for t in terminals}
        own_terminals = [t for t in terminals if not (self._covers.get(t.name, frozenset()) & names)]
        keywords = self._keywords(terminals, names)
        bare = self._position_only - frozenset(keywords) - frozenset(self._callbacks) - self._ignored

        def own() -> StateLexer:
            skips = self._skips(own_terminals)
            match = _compile(own_terminals, self._blank if skips else None, self._flags)
            how = {t.name: self._how(t.name, keywords, bare) for t in own_terminals}
            return StateLexer(match, how, self._extra(keywords), bare, None)

        own_skips = self._skips(own_terminals)
        candidates = [shared for shared in self._shared if shared.skips == own_skips]
        if not candidates:
            return own()
        best, first_state_only = candidates[0], -1
        for shared in candidates:  # the one that has every terminal of the state, else the one that has most
            state_only = [self._order[t.name] for t in own_terminals if t.name not in shared.names]
            first = min(state_only, default=len(self._order))
            if first > first_state_only:
                best, first_state_only = shared, first
        how = {t.name: self._how(t.name, keywords, bare) for t in own_terminals
               if self._order[t.name] < first_state_only}
        return StateLexer(best.match(), how, self._extra(keywords), bare, own)

    def skips_blanks(self, lark_lexer: Any) -> bool:
        """Whether the lexer of the states sharing ``lark_lexer`` reads blanks and a token in one match."""
        names = {t.name for t in lark_lexer.terminals}
        return self._skips([self._terminals[t.name] for t in lark_lexer.terminals
                            if not (self._covers.get(t.name, frozenset()) & names)])

    def _how(self, name: str, keywords: Mapping[str, object], bare: frozenset[str]) -> int:
        if name in self._ignored:
            return IGNORED
        if name in bare:
            return BARE
        return NAME if name in keywords else KEPT

    def _keywords(self, terminals: list[TerminalDef], names: set[str]) -> dict[str, dict[str, str]]:
        """Per name terminal of the state, the keywords (text to terminal) of the state it covers, first in
        Lark's order winning."""
        found: dict[str, dict[str, str]] = {}
        for keyword in terminals:
            for name in sorted(self._covers.get(keyword.name, frozenset()) & names):
                found.setdefault(name, {}).setdefault(keyword.pattern.value, keyword.name)
        return found

    def _extra(self, keywords: dict[str, dict[str, str]]) -> dict[str, Any]:
        extra: dict[str, Any] = dict(self._callbacks)
        extra.update(keywords)
        return extra

    def _blank_pattern(self) -> str | None:
        """The pattern of the one blank terminal (ignored, no callback) when it spells out its first
        characters, else None."""
        blanks = [t for name, t in self._terminals.items() if name in self._ignored and name not in self._callbacks]
        if len(blanks) != 1 or first_chars(blanks[0].pattern.to_regexp(), ()) is None:
            return None
        self._blank_name = blanks[0].name
        return str(blanks[0].pattern.to_regexp())

    def _begins_blank(self, terminal: TerminalDef) -> bool:
        if self._blank is None:
            return True
        if terminal.name == self._blank_name:
            return False
        chars = first_chars(self._blank, ()) or frozenset()
        if isinstance(terminal.pattern, PatternStr):
            return not terminal.pattern.value or terminal.pattern.value[0] in chars
        return may_start_with(terminal.pattern.to_regexp(), (), chars)

    def _skips(self, terminals: list[TerminalDef]) -> bool:
        """Whether a pattern over ``terminals`` may skip blanks before each token."""
        return self._blank is not None and not any(self._may_begin_blank[t.name] for t in terminals)


class _Shared:
    """A pattern over many terminals in Lark's order, for the states whose terminals it has; compiled when a
    state first reads with it."""

    __slots__ = ("_blank", "_compiled", "_flags", "_terminals", "names", "skips")

    def __init__(self, terminals: list[TerminalDef], blank: str | None, skips: bool, flags: int) -> None:
        self._terminals = terminals
        self._blank = blank if skips else None
        self._flags = flags
        self._compiled: _Match | None = None
        self.names = frozenset(t.name for t in terminals)
        self.skips = skips

    def match(self) -> _Match:
        """The compiled pattern's ``match``."""
        if self._compiled is None:
            self._compiled = _compile(self._terminals, self._blank, self._flags)
        return self._compiled


def _covering_names(terminals: list[TerminalDef]) -> dict[str, frozenset[str]]:
    """Per string terminal, the pattern terminals that cover it as Lark's lexer decides: same priority, and
    the pattern's match at the start of the string is the whole string."""
    patterns = [t for t in terminals if isinstance(t.pattern, PatternRE)]
    covers: dict[str, frozenset[str]] = {}
    for keyword in terminals:
        if not isinstance(keyword.pattern, PatternStr):
            continue
        text = keyword.pattern.value
        covers[keyword.name] = frozenset(
            name.name for name in patterns
            if name.priority == keyword.priority and _whole_match(name.pattern.to_regexp(), text)
        )
    return covers


def _whole_match(pattern: str, text: str) -> bool:
    found = re.match(pattern, text)
    return found is not None and found.group(0) == text


def _compile(terminals: list[TerminalDef], blank: str | None, flags: int) -> _Match:
    alternation = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals)
    pattern = alternation if blank is None else f"(?:{blank})?(?:{alternation})"
    return re.compile(pattern, flags).match
