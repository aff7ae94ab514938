"""The token patterns of the parse loop's lexer states, built from one analysis of the grammar's terminals.

Lark's contextual lexer gives each parser state a scanner of its own: a regular expression over the terminals
that state accepts (135 distinct sets for kpl's grammar), and one more per name terminal for the keywords a name
may spell, each compiled on first use. Python compiles regular expressions in Python, so in a new process that
was most of the cost of the first parse; and a match tries the alternatives one by one, each a named group
the regular expression engine cannot reject by its first character. Here the terminals are analysed once:

- which keyword strings each name pattern covers (Lark's "unless" rule: same priority, and the pattern's match
  of the string is the whole string), so a keyword check is a dictionary lookup;
- which characters each terminal can begin with (see :mod:`kpl.dsl.regex_start`; unknown counts as any);
- two *shared* terminal lists in Lark's order: every terminal but the keywords a name covers, and every
  terminal but those names.

A list is read through patterns chosen by the first character of the token: each holds only the terminals that
can begin with that character, in the list's order, and is compiled the first time a token begins with it. A
terminal that cannot begin with the character at a position cannot match there, so the first terminal to match
is the one the whole list's pattern would give.

**Why a state may read with a shared list.** Lark orders terminals by one key (priority, width, length, name),
the same for every state, and a state's pattern is its terminals in that order without the keywords its own
names cover. Python tries the alternatives of a pattern left to right and the first that matches decides. So
when a shared list's match at a position is a terminal ``g`` of the state, and every terminal before ``g`` in
the state's list is also in the shared one (where it was tried before ``g`` and failed), the state's own
pattern matches ``g`` with the same span. A state reads with the shared list that has the most of its
terminals, and only accepts matches that come before its first terminal missing from that list (for kpl's
grammar every state's terminals are all in one of the two). Any other match, or none, is decided by the
state's own terminals, read the same way.

Blanks: where no terminal of a list but the blank terminal can begin with a blank character, the loop skips a
run of blanks with the blank terminal's own pattern before reading a token (Lark reads the run as an ignored
token, then the token). A state reads with a shared list only when the two are alike in this respect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from kpl.dsl.regex_start import first_chars, may_start_with, run_chars

__all__ = ["BARE", "CALLED", "IGNORED", "KEPT", "NAME", "Lexicon", "StateLexer"]

BARE, KEPT, NAME, IGNORED, CALLED = 0, 1, 2, 3, 4  # what the loop does with a token of a terminal (see StateLexer)

_Match = Callable[[str, int], Any]  # a compiled pattern's match: a match object or None
TerminalDef = Any  # a terminal: ``name``, ``priority``, ``pattern`` (``type``, ``value``, ``flags``, ``to_regexp()``)


class StateLexer:
    """How the parse loop reads tokens in one parser state.

    - ``blanks``: characters that begin a run of blanks the loop skips with ``skip`` before reading a token
      (empty when the state reads blanks as tokens);
    - ``first``: per first character of a token, a compiled pattern's ``match`` over only the terminals that
      can begin with that character, in Lark's order (built on first need);
    - ``how`` per terminal it may accept (position only, kept, a name that may spell a keyword, ignored, kept
      and handed to a user callback),
      ``extra`` a name's keywords (text to terminal) or a terminal's user callback, ``bare`` the terminals
      (keywords included) that travel as a position only.

    A terminal the match may give that is missing from ``how`` is not this state's to accept: the loop asks
    ``retry(char)`` for the lexer of the state's own terminals instead, which also makes this state read
    tokens beginning with ``char`` with its own pattern from then on (the own lexer's answer is always the
    state's true one; only its patterns cost more to compile, so they are used where the shared ones failed)."""

    __slots__ = ("_own", "bare", "blanks", "extra", "first", "how", "skip")

    def __init__(self, scanner: _Scanner, how: dict[str, int], extra: dict[str, Any], bare: frozenset[str],
                 own: Callable[[], StateLexer] | None) -> None:
        self.blanks = scanner.blanks
        self.skip = scanner.skip
        self.first: dict[str, _Match] = scanner.first if own is None else _Overlay(scanner.first)
        self.how = how
        self.extra = extra
        self.bare = bare
        self._own = own

    def read(self, text: str, pos: int) -> tuple[str, int, int] | None:
        """The token at ``pos`` as this state reads it (after the blanks it skips): terminal (a name's keyword
        when it spells one), start and end; None when no terminal of the state matches there. (The parse loop
        does the same steps inline.)"""
        if pos < len(text) and text[pos] in self.blanks:
            pos = self.skip(text, pos).end()  # type: ignore[misc]
        if pos >= len(text):
            return None
        lexer: StateLexer = self
        found = lexer.first[text[pos]](text, pos)
        if found is None or found.lastgroup not in lexer.how:
            lexer = self.retry(text[pos])
            found = lexer.first[text[pos]](text, pos)
            if found is None:
                return None
        kind = str(found.lastgroup)
        begin, end = found.span(kind)
        if lexer.how[kind] == NAME:
            kind = lexer.extra[kind].get(text[begin:end], kind)
        return kind, begin, end

    def own(self) -> StateLexer:
        """The lexer of the state's own terminals (this one when it already is)."""
        if self._own is None:
            return self
        built = self._own()
        self._own = lambda: built
        return built

    def retry(self, char: str) -> StateLexer:
        """The lexer of the state's own terminals, for a token beginning with ``char`` that this one could not
        read; tokens beginning with ``char`` are read with its pattern from now on."""
        own = self.own()
        if own is not self:
            self.first[char] = own.first[char]
        return own


class Lexicon:
    """The analysis of a grammar's terminals, shared by the lexers of every parser state.

    ``root`` is a lexer over every terminal: Lark's ``BasicLexer`` (the root of its contextual lexer) or the
    same fields in :class:`kpl.dsl.grammar_tables.StateTerminals`; ``callbacks`` replace its user callbacks."""

    def __init__(self, root: Any, position_only: frozenset[str],
                 callbacks: Mapping[str, Callable[..., Any]] | None = None) -> None:
        terminals: list[TerminalDef] = list(root.terminals)
        if any(t.pattern.flags for t in terminals) or getattr(root, "use_bytes", False):
            raise ValueError("terminals with flags or byte patterns are not supported by the parse loop")
        self._order = {t.name: index for index, t in enumerate(terminals)}
        self._terminals = {t.name: t for t in terminals}
        self._flags: int = root.g_regex_flags
        self._ignored: frozenset[str] = frozenset(root.ignore_types)
        self._callbacks: dict[str, Callable[..., Any]] = dict(root.user_callbacks if callbacks is None else callbacks)
        self._position_only = position_only
        self._covers = _covering_names(terminals)
        self._blank_name = ""
        if any(name in self._callbacks for names in self._covers.values() for name in names):
            raise ValueError("a name terminal with both keywords and a callback is not supported by the parse loop")
        self._blank = self._blank_pattern()
        # Whether a run of blanks is exactly a run of their first characters (``[ \t\n]+``): then a blank
        # followed by a character that cannot begin one is a whole run, and the loop steps over it alone.
        self.blank_runs = self._blank is not None and run_chars(self._blank) == first_chars(self._blank, ())
        self._may_begin_blank = {t.name: self._begins_blank(t) for t in terminals}
        self._firsts = {t.name: _first_chars(t) for t in terminals}
        self._compiled: dict[str, _Match] = {}
        embedded = {name for name, names in self._covers.items() if names}
        covering = set().union(*self._covers.values())
        self._shared = [self._scanner([t for t in terminals if t.name not in excluded])
                        for excluded in (embedded, covering)]

    def state_lexer(self, lark_lexer: Any) -> StateLexer:
        """The lexer of the parser states that share Lark's ``lark_lexer``."""
        terminals = [self._terminals[t.name] for t in lark_lexer.terminals]
        names = {t.name for t in terminals}
        own_terminals = [t for t in terminals if not (self._covers.get(t.name, frozenset()) & names)]
        keywords = self._keywords(terminals, names)
        bare = self._position_only - frozenset(keywords) - frozenset(self._callbacks) - self._ignored

        def own() -> StateLexer:
            how = {t.name: self._how(t.name, keywords, bare) for t in own_terminals}
            return StateLexer(self._scanner(own_terminals), how, self._extra(keywords), bare, None)

        own_skips = self._skips(own_terminals)
        candidates = [shared for shared in self._shared if (shared.skip is not None) == own_skips]
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
        return StateLexer(best, how, self._extra(keywords), bare, own)

    def _scanner(self, terminals: list[TerminalDef]) -> _Scanner:
        skips = self._skips(terminals)
        blank = self._blank if skips else None
        return _Scanner(terminals, self._firsts, self._compile, blank)

    def _compile(self, terminals: list[TerminalDef]) -> _Match:
        """A pattern over ``terminals`` (compiled once per distinct list)."""
        if not terminals:
            return _no_match
        pattern = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals)
        found = self._compiled.get(pattern)
        if found is None:
            found = self._compiled[pattern] = re.compile(pattern, self._flags).match
        return found

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
        if name in keywords:
            return NAME
        return CALLED if name in self._callbacks else KEPT

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
        chars = first_chars(blanks[0].pattern.to_regexp(), ()) if len(blanks) == 1 else None
        if chars is None or not all(_whole_match(blanks[0].pattern.to_regexp(), char) for char in chars):
            return None  # the loop skips a run of blanks from any of their first characters
        self._blank_name = blanks[0].name
        return str(blanks[0].pattern.to_regexp())

    def _begins_blank(self, terminal: TerminalDef) -> bool:
        if self._blank is None:
            return True
        if terminal.name == self._blank_name:
            return False
        chars = first_chars(self._blank, ()) or frozenset()
        if terminal.pattern.type == "str":
            return not terminal.pattern.value or terminal.pattern.value[0] in chars
        return may_start_with(terminal.pattern.to_regexp(), (), chars)

    def _skips(self, terminals: list[TerminalDef]) -> bool:
        """Whether a pattern over ``terminals`` may skip blanks before each token."""
        return self._blank is not None and not any(self._may_begin_blank[t.name] for t in terminals)


class _Scanner:
    """Terminals read in Lark's order: ``first`` maps a token's first character to a pattern over only the
    terminals that can begin with it (a terminal that cannot begin with the character at a position cannot
    match there, so the first terminal that matches is the same as in the pattern over all of them)."""

    __slots__ = ("blanks", "first", "names", "skip")

    def __init__(self, terminals: list[TerminalDef], firsts: Mapping[str, frozenset[str] | None],
                 compile_: Callable[[list[TerminalDef]], _Match], blank: str | None) -> None:
        self.names = frozenset(t.name for t in terminals)
        self.blanks: frozenset[str] = frozenset() if blank is None else first_chars(blank, ()) or frozenset()
        self.skip: _Match | None = None if blank is None else re.compile(blank).match
        self.first = _ByFirstChar(terminals, firsts, compile_)


class _ByFirstChar(dict[str, _Match]):
    """First character to pattern, each built when a token first begins with that character."""

    def __init__(self, terminals: list[TerminalDef], firsts: Mapping[str, frozenset[str] | None],
                 compile_: Callable[[list[TerminalDef]], _Match]) -> None:
        super().__init__()
        self._terminals = terminals
        self._firsts = firsts
        self._compile = compile_

    def __missing__(self, char: str) -> _Match:
        kept = [t for t in self._terminals if (chars := self._firsts[t.name]) is None or char in chars]
        found = self[char] = self._compile(kept)
        return found


class _Overlay(dict[str, _Match]):
    """A state's patterns per first character: the shared lexer's, except where the state put its own."""

    def __init__(self, shared: dict[str, _Match]) -> None:
        super().__init__()
        self.shared = shared

    def __missing__(self, char: str) -> _Match:
        found = self[char] = self.shared[char]
        return found


def _first_chars(terminal: TerminalDef) -> frozenset[str] | None:
    """The characters a token of ``terminal`` can begin with (None when the analysis cannot tell)."""
    if terminal.pattern.type == "str":
        return frozenset(terminal.pattern.value[:1]) or None
    return first_chars(terminal.pattern.to_regexp(), ())


def _no_match(text: str, pos: int) -> None:
    return None


def _covering_names(terminals: list[TerminalDef]) -> dict[str, frozenset[str]]:
    """Per string terminal, the pattern terminals that cover it as Lark's lexer decides: same priority, and
    the pattern's match at the start of the string is the whole string."""
    patterns = [t for t in terminals if t.pattern.type == "re"]
    covers: dict[str, frozenset[str]] = {}
    for keyword in terminals:
        if keyword.pattern.type != "str":
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
