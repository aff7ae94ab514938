"""Parsing on several cores, and the proof that lets the parse loop skip blanks inside its token patterns."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from ast_plain import plain

from kpl.dsl import parser as parser_module
from kpl.dsl.regex_start import first_chars, may_start_with
from kpl.dsl.source import Source
from kpl.engine import parse_parallel
from kpl.engine.parse_cache import ParseCache
from kpl.engine.parse_parallel import parse_all
from kpl.engine.project import load_project

REPO = Path(__file__).resolve().parents[1]
CORPUS = [
    *sorted(REPO.joinpath("tests", "diagnostics").glob("*.kpl")),
    *sorted(REPO.joinpath("rules").rglob("*.kpl")),
    *sorted(REPO.joinpath("examples").rglob("*.kpl")),
]
BLANKS = frozenset(" \t\f\r\n")


def _sources() -> list[Source]:
    found = []
    for path in CORPUS:
        try:
            found.append(Source(path.as_posix(), path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    return found


def _results(sources: list[Source], **options: object) -> list[object]:
    return [
        (plain(r.module.declarations), r.module.comments, [(d.code, d.span, d.message) for d in r.diagnostics])
        for r in parse_all(sources, **options)  # type: ignore[arg-type]
    ]


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_parallel, "MIN_PARALLEL_CHARS", 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_workers_give_what_one_process_gives(small_threshold: None) -> None:
    sources = _sources()
    assert len(sources) > 40
    one = _results(sources, jobs=1)
    assert _results(sources, jobs=2) == one
    assert _results(sources, jobs=3) == one


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_workers_really_parse(small_threshold: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """With two jobs this process parses only its share; the rest comes back from the worker."""
    sources = _sources()
    parsed_here: list[str] = []
    real = parse_parallel.parse_source

    def counting(source: Source) -> object:
        parsed_here.append(source.name)
        return real(source)

    monkeypatch.setattr(parse_parallel, "parse_source", counting)
    results = parse_all(sources, jobs=2)
    assert len(results) == len(sources)
    assert 0 < len(parsed_here) < len(sources)  # the worker's calls happen in its own process


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_worker_that_dies_costs_time_not_results(small_threshold: None, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _sources()
    one = _results(sources, jobs=1)

    def dying(*_: object) -> None:
        os._exit(3)

    monkeypatch.setattr(parse_parallel, "_work", dying)
    assert _results(sources, jobs=2) == one


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_workers_fill_the_cache(small_threshold: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for path in CORPUS[:30]:
        shutil.copy(path, project / path.name)
    cache = ParseCache(tmp_path / "cache")
    first = load_project([project], cache=cache, jobs=2)
    assert len(list((tmp_path / "cache").rglob("*"))) > 30

    def no_parsing(source: Source) -> object:
        raise AssertionError(f"{source.name} parsed although cached")

    monkeypatch.setattr(parse_parallel, "parse_source", no_parsing)
    again = load_project([project], cache=cache, jobs=2)
    assert [plain(m.declarations) for m in again.modules] == [plain(m.declarations) for m in first.modules]
    assert [(d.code, d.span) for d in again.diagnostics] == [(d.code, d.span) for d in first.diagnostics]


def test_small_loads_stay_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise AssertionError("forked for a small load")

    monkeypatch.setattr(os, "fork", no_fork)
    assert len(parse_all(_sources()[:3], jobs=4)) == 3


def test_sharing_out_balances_sizes_and_keeps_file_order() -> None:
    groups = parse_parallel._share_out([10**6, 5, 10**6, 7, 10**6], 2)
    assert sorted(i for g in groups for i in g) == [0, 1, 2, 3, 4]
    assert all(g == sorted(g) for g in groups) and len(groups) == 2


def test_first_characters_of_the_blank_terminal() -> None:
    assert first_chars(r"(?:[ \t\f\r\n])+", []) == BLANKS
    assert first_chars(r"\s+", []) is None  # a category: not spelled out
    assert first_chars(r"a?", []) is None  # may match nothing
    assert first_chars(r"x", ["i"]) is None


@pytest.mark.parametrize(("pattern", "blank_start"), [
    (r"#[^\n]*", False), (r"\d+", False), (r"[a-z_][\w-]*", False), (r'"(?:[^"\\]|\\.)*"', False),
    (r"(?:ms|s|m|h)", False), (r"\s*x", True), (r"x?", True), (r" ab", True), (r"(?:a|\t)", True),
    (r".x", True), (r"[^a]", True), (r"(?=a)a", True), (r"\Sx", True),
])
def test_a_terminal_that_may_begin_with_a_blank_is_caught(pattern: str, blank_start: bool) -> None:
    assert may_start_with(pattern, [], BLANKS) is blank_start


def test_every_state_of_the_grammar_skips_blanks_in_its_pattern() -> None:
    """The grammar's terminals never begin with a blank, so every state's lexer gets the one-match pattern
    (the token tests in test_check_speed.py show the tokens stay Lark's)."""
    frontend = parser_module._fast_frontend()
    lexers = {id(lexer): lexer for lexer in frontend._lark_lexers.values()}
    for lexer in lexers.values():
        assert frontend.lexicon.skips_blanks(lexer)


def test_check_command_takes_jobs(small_threshold: None, capsys: pytest.CaptureFixture[str]) -> None:
    from kpl.cli import main

    examples = str(REPO / "examples")
    assert main(["check", "--no-cache", "-j", "1", "-o", "json", examples]) == 0
    one = capsys.readouterr().out
    assert main(["check", "--no-cache", "-j", "2", "-o", "json", examples]) == 0
    assert capsys.readouterr().out == one
    assert main(["check", "-j", "0", examples]) == 2
