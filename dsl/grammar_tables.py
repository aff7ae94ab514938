"""The grammar's LALR tables, rules and terminals as plain data, kept in a file so a new process parses without Lark.

Building Lark's parser, even from Lark's own cache, costs a new process more than parsing a file of a few
hundred lines (importing Lark, unpickling its grammar and rebuilding its lexers). The tree-less parse needs
only the parse table, the shape of each rule and the terminals, so those are extracted once from a Lark
parser and written with :mod:`marshal` (plain tuples, strings and integers: the fastest form to read back)
to a file next to Lark's cache, named by a hash of everything they depend on: the grammar text, the Lark
version, the parser options and this format. A changed grammar or Lark has another name, so stale tables
are never read; a file that cannot be read back exactly, or that another user owns, is ignored and the
tables are extracted from Lark again.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "GrammarTables", "PatternShape", "RuleShape", "StateTerminals", "TerminalShape", "extract_tables",
    "lark_version", "load_tables", "read_owned", "rule_shape", "tables_key", "write_owned",
]

FORMAT = "kpl-grammar-tables/1"
LARK_OPTIONS: dict[str, Any] = {
    "parser": "lalr", "propagate_positions": True, "maybe_placeholders": True, "start": ["start", "expr"],
}

Symbol = tuple[str, bool, bool]  # name, is a terminal, filtered out of the tree


class PatternShape:
    """A terminal's pattern as the lexer reads it (Lark's ``Pattern`` interface: ``type`` is "str" or "re")."""

    __slots__ = ("_regexp", "flags", "type", "value")

    def __init__(self, type_: str, value: str, flags: tuple[str, ...], regexp: str) -> None:
        self.type = type_
        self.value = value
        self.flags = flags
        self._regexp = regexp

    def to_regexp(self) -> str:
        return self._regexp


class TerminalShape:
    """A terminal: its name, pattern and priority (Lark's ``TerminalDef`` interface)."""

    __slots__ = ("name", "pattern", "priority")

    def __init__(self, name: str, pattern: PatternShape, priority: int) -> None:
        self.name = name
        self.pattern = pattern
        self.priority = priority


class StateTerminals:
    """The terminals one group of parser states accepts (the interface of a lexer of Lark's contextual
    lexer: ``terminals`` and ``newline_types``); the root holds every terminal and the lexer's settings."""

    __slots__ = ("g_regex_flags", "ignore_types", "newline_types", "terminals", "use_bytes", "user_callbacks")

    def __init__(self, terminals: list[TerminalShape], newline_types: frozenset[str],
                 ignore_types: frozenset[str] = frozenset(), user_callbacks: dict[str, Any] | None = None) -> None:
        self.terminals = terminals
        self.newline_types = newline_types
        self.ignore_types = ignore_types
        self.user_callbacks = user_callbacks or {}
        self.g_regex_flags = 0
        self.use_bytes = False


class RuleShape:
    """What the tree-less callbacks need of a grammar rule: its name, alias, symbols and tree options."""

    __slots__ = ("alias", "empty_indices", "expand1", "expansion", "keep_all_tokens", "name")

    def __init__(self, name: str, alias: str | None, expansion: tuple[Symbol, ...], keep_all_tokens: bool,
                 expand1: bool, empty_indices: tuple[bool, ...]) -> None:
        self.name = name
        self.alias = alias
        self.expansion = expansion
        self.keep_all_tokens = keep_all_tokens
        self.expand1 = expand1
        self.empty_indices = empty_indices


class GrammarTables:
    """The parse table (per state, symbol to action: a shift is the next state, ``>= 0``; a reduction by rule
    ``i`` is ``-1 - i``), start and end states, rules, and the terminals of every group of states."""

    __slots__ = ("end_states", "key", "root", "rules", "start_states", "state_lexers", "states")

    def __init__(self, states: list[dict[str, int]], start_states: dict[str, int], end_states: dict[str, int],
                 rules: list[RuleShape], root: StateTerminals, state_lexers: dict[int, StateTerminals]) -> None:
        self.states = states
        self.start_states = start_states
        self.end_states = end_states
        self.rules = rules
        self.root = root
        self.state_lexers = state_lexers
        self.key = ""  # the hash naming the tables' file ("" for tables taken from a parser in this process)


def lark_version() -> str:
    """The installed Lark's version, read from its package without importing it (importing Lark is what
    the tables spare a new process)."""
    import importlib.util

    spec = importlib.util.find_spec("lark")
    if spec is not None and spec.origin:
        with open(spec.origin, encoding="utf-8") as handle:
            found = re.search(r"""^__version__\b[^=\n]*=\s*["']([^"']+)["']""", handle.read(), re.M)
        if found is not None:
            return found.group(1)
    import lark

    return str(lark.__version__)


def tables_key(grammar: str) -> str:
    """The hash that names the tables of ``grammar`` (with this format, the Lark version and the options)."""
    digest = hashlib.sha256()
    for part in (FORMAT, lark_version(), repr(sorted(LARK_OPTIONS.items())), sys.implementation.cache_tag or "",
                 grammar):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def load_tables(grammar: str, folder: Path, build: Callable[[], Any]) -> GrammarTables:
    """The tables of ``grammar``: read from ``folder`` when a file of this key is there and sound, else
    extracted from the Lark parser ``build()`` returns and written there for the next process (a failure to
    write only costs the next process the same work)."""
    key = tables_key(grammar)
    path = folder / f".kpl_tables_{key[:32]}.marshal"
    data = _read(path, key)
    if data is None:
        data = _encode(build(), key)
        write_owned(path, data)
    return _decode(data)


def extract_tables(lark_parser: Any) -> GrammarTables:
    """The tables of a Lark LALR parser with a contextual lexer."""
    return _decode(_encode(lark_parser, ""))


def read_owned(path: Path) -> Any:
    """What ``path`` holds in :mod:`marshal` form when the file is ours (in a shared temporary folder only our own
    files are trusted); None when it is missing, another user's or unreadable."""
    try:
        with open(path, "rb") as handle:
            if hasattr(os, "getuid") and os.fstat(handle.fileno()).st_uid != os.getuid():
                return None
            return marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None


def _read(path: Path, key: str) -> tuple[Any, ...] | None:
    data = read_owned(path)
    if type(data) is not tuple or len(data) != 9 or data[0] != FORMAT or data[1] != key:
        return None
    return data


def write_owned(path: Path, data: Any) -> None:
    """Write ``data`` in :mod:`marshal` form through a new file of our own (created exclusively, so a name
    planted in a shared temporary folder is never followed), then rename it into place."""
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(marshal.dumps(data))
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _encode(lark_parser: Any, key: str) -> tuple[Any, ...]:
    """Lark's parser as one tuple of plain data (see ``_decode`` for the order)."""
    frontend = lark_parser.parser
    table = frontend.parser.parser.parse_table
    rules = list(dict.fromkeys(
        rule for row in table.states.values() for action, rule in row.values() if action.name == "Reduce"
    ))
    index = {id(rule): number for number, rule in enumerate(rules)}
    states: list[dict[str, int]] = [{} for _ in range(max(table.states) + 1)]
    for state, row in table.states.items():
        states[state] = {symbol: (-1 - index[id(argument)] if action.name == "Reduce" else int(argument))
                         for symbol, (action, argument) in row.items()}
    root = frontend.lexer.root_lexer
    terminals = tuple(
        (t.name, t.pattern.type, t.pattern.value, tuple(t.pattern.flags), t.pattern.to_regexp(), t.priority)
        for t in root.terminals
    )
    groups: dict[int, int] = {}
    lexers: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    state_lexers: dict[int, int] = {}
    for state, lexer in frontend.lexer.lexers.items():
        if id(lexer) not in groups:
            groups[id(lexer)] = len(lexers)
            lexers.append((tuple(t.name for t in lexer.terminals), tuple(sorted(lexer.newline_types))))
        state_lexers[int(state)] = groups[id(lexer)]
    lexer_settings = (root.g_regex_flags, bool(getattr(root, "use_bytes", False)), tuple(sorted(root.ignore_types)),
                      tuple(sorted(root.user_callbacks)), tuple(sorted(root.newline_types)))
    return (FORMAT, key, states, (dict(table.start_states), dict(table.end_states)),
            tuple(_rule_data(rule) for rule in rules), terminals, lexer_settings, tuple(lexers), state_lexers)


def rule_shape(rule: Any) -> RuleShape:
    """The shape of a Lark ``Rule``."""
    name, alias, symbols, keep, expand1, empty = _rule_data(rule)
    return RuleShape(name, alias, symbols, keep, expand1, empty)


def _rule_data(rule: Any) -> tuple[Any, ...]:
    options = rule.options
    symbols = tuple((str(s.name), bool(s.is_term), bool(getattr(s, "filter_out", False))) for s in rule.expansion)
    alias = None if rule.alias is None else str(rule.alias)
    return (str(rule.origin.name), alias, symbols, bool(options.keep_all_tokens), bool(options.expand1),
            tuple(bool(b) for b in (options.empty_indices or ())))


def _decode(data: tuple[Any, ...]) -> GrammarTables:
    _, _, states, (start_states, end_states), rules, terminals, settings, lexers, state_lexers = data
    shapes = {name: TerminalShape(name, PatternShape(kind, value, flags, regexp), priority)
              for name, kind, value, flags, regexp, priority in terminals}
    flags, use_bytes, ignore, callbacks, newline = settings
    root = StateTerminals(list(shapes.values()), frozenset(newline), frozenset(ignore), dict.fromkeys(callbacks))
    root.g_regex_flags, root.use_bytes = flags, use_bytes
    groups = [StateTerminals([shapes[name] for name in names], frozenset(newline_types))
              for names, newline_types in lexers]
    tables = GrammarTables(
        list(states), dict(start_states), dict(end_states),
        [RuleShape(name, alias, tuple(map(tuple, symbols)), keep, expand1, tuple(empty))
         for name, alias, symbols, keep, expand1, empty in rules],
        root, {state: groups[group] for state, group in state_lexers.items()},
    )
    tables.key = str(data[1])
    return tables
