"""The grammar's tables kept as plain data: read back exactly, never stale, and `kpl check` then runs without Lark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lark import Lark

from kpl.dsl import parser as parser_module
from kpl.dsl.grammar_tables import LARK_OPTIONS, GrammarTables, extract_tables, load_tables, tables_key
from kpl.dsl.lalr_loop import LalrLoop
from kpl.dsl.treeless import located_value, passthrough, position_only_terminals, treeless_callbacks

_TOY = r"""
start: item+
expr: NAME
item: NAME "=" NUMBER ";"
NAME: /[a-z]+/
NUMBER: /[0-9]+/
%ignore /[ \n]+/
"""


def _plain(tables: GrammarTables) -> Any:
    """Everything the tables hold, as comparable data."""
    def terminals(group: Any) -> list[tuple[Any, ...]]:
        return [(t.name, t.pattern.type, t.pattern.value, t.pattern.flags, t.pattern.to_regexp(), t.priority)
                for t in group.terminals]

    return (
        tables.states, tables.start_states, tables.end_states,
        [(r.name, r.alias, r.expansion, r.keep_all_tokens, r.expand1, r.empty_indices) for r in tables.rules],
        terminals(tables.root), sorted(tables.root.ignore_types), sorted(tables.root.user_callbacks),
        {state: (terminals(group), sorted(group.newline_types)) for state, group in tables.state_lexers.items()},
    )


def _shape(tables: GrammarTables) -> Any:
    """What two builds of one grammar share (Lark may number the states of two builds differently)."""
    plain = _plain(tables)
    return sorted(map(repr, plain[3])), plain[4], plain[5], plain[6], len(tables.states)


def _parsed(tables: GrammarTables, text: str) -> list[tuple[str, list[str]]]:
    loop = LalrLoop(tables, treeless_callbacks(tables.rules), passthrough, position_only_terminals(tables.rules))
    items, _depth, _bound = located_value(loop.parse(text, "start"))
    return [(item.data, [str(token) for token in item.children]) for item in items]


class _Builds:
    """A ``build`` for ``load_tables`` that counts its calls."""

    def __init__(self, grammar: str) -> None:
        self.grammar = grammar
        self.calls = 0

    def __call__(self) -> Lark:
        self.calls += 1
        if self.grammar == _GRAMMAR:
            return parser_module._parser()
        return Lark(self.grammar, **LARK_OPTIONS)


_GRAMMAR = parser_module.GRAMMAR_FILE.read_text(encoding="utf-8")


def test_tables_are_written_once_and_read_back_exactly(tmp_path: Path) -> None:
    build = _Builds(_GRAMMAR)
    first = load_tables(_GRAMMAR, tmp_path, build)
    second = load_tables(_GRAMMAR, tmp_path, build)
    assert build.calls == 1
    assert len(list(tmp_path.glob(".kpl_tables_*"))) == 1
    assert _plain(first) == _plain(second) == _plain(extract_tables(parser_module._parser()))


def test_a_changed_grammar_does_not_read_stale_tables(tmp_path: Path) -> None:
    """Same folder, the grammar edited (a keyword renamed): new key, tables built from the new grammar."""
    changed = _TOY.replace('"="', '":="')
    old, new = _Builds(_TOY), _Builds(changed)
    load_tables(_TOY, tmp_path, old)
    assert tables_key(_TOY) != tables_key(changed)
    tables = load_tables(changed, tmp_path, new)
    assert new.calls == 1
    assert _shape(tables) == _shape(extract_tables(Lark(changed, **LARK_OPTIONS)))
    assert ":=" in [t.pattern.value for t in tables.root.terminals]
    assert _parsed(tables, "a := 1; b := 22;") == [("item", ["a", "1"]), ("item", ["b", "22"])]


def test_a_damaged_or_foreign_file_is_rebuilt(tmp_path: Path) -> None:
    build = _Builds(_TOY)
    expected = _shape(load_tables(_TOY, tmp_path, build))
    (path,) = tmp_path.glob(".kpl_tables_*")
    for damage in (b"", b"\x00garbage", path.read_bytes()[:100]):
        path.write_bytes(damage)
        tables = load_tables(_TOY, tmp_path, build)
        assert _shape(tables) == expected
        assert _parsed(tables, "a = 1;") == [("item", ["a", "1"])]
    assert build.calls == 4


def test_a_name_planted_in_the_folder_is_not_followed(tmp_path: Path) -> None:
    """In a shared temporary folder another user can guess a per-process name and link it to one of our files;
    the tables are written through a file created exclusively, so the linked file is left alone."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    folder = tmp_path / "shared"
    folder.mkdir()
    guessed = folder / f".kpl_tables_{tables_key(_TOY)[:32]}.marshal.{os.getpid()}.tmp"
    guessed.symlink_to(victim)
    tables = load_tables(_TOY, folder, _Builds(_TOY))
    assert _parsed(tables, "a = 1;") == [("item", ["a", "1"])]
    assert victim.read_text(encoding="utf-8") == "keep me"
    written = f".kpl_tables_{tables_key(_TOY)[:32]}.marshal"
    assert sorted(p.name for p in folder.iterdir()) == sorted([guessed.name, written])


def test_an_unwritable_folder_still_gives_tables(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    build = _Builds(_TOY)
    expected = _shape(extract_tables(Lark(_TOY, **LARK_OPTIONS)))
    assert _shape(load_tables(_TOY, blocked / "below", build)) == expected


_PROBE = """
import json, sys
from kpl.cli import main
code = main(sys.argv[1:])
sys.stdout.write("\\n" + json.dumps({"code": code, "lark": "lark" in sys.modules}))
"""


def test_check_of_a_clean_project_does_not_import_lark(tmp_path: Path) -> None:
    """Once the tables are written (the first run), a clean file is parsed and checked without Lark."""
    source = tmp_path / "clean.kpl"
    source.write_text('quota q in namespace a {\n  overall { cpu = 1 }\n}\n', encoding="utf-8")
    found = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", _PROBE, "check", "--no-cache", str(source)],
                              capture_output=True, text=True, check=False)
        found.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert found[-1] == {"code": 0, "lark": False}
