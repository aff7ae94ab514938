"""The parse cache and the tree-less parser: both must give exactly what the tree path gives."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from ast_plain import plain
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.cli import main as cli_main
from kpl.dsl import ast
from kpl.dsl import parser as parser_module
from kpl.dsl.parser import ParseResult, parse_source
from kpl.dsl.source import Source
from kpl.dsl.transformer import ToAst
from kpl.engine import parse_cache
from kpl.engine.parse_cache import ParseCache, cache_key, decode, default_cache_folder, encode, parse_cached
from kpl.engine.project import load_project

REPO = Path(__file__).resolve().parents[1]
DIAGNOSTICS = sorted(REPO.joinpath("tests", "diagnostics").glob("*.kpl"))
CORPUS = [*DIAGNOSTICS, *sorted(REPO.joinpath("rules").rglob("*.kpl"))]

SAMPLE = """# a comment
interpreter example.io/v1 Widget {
  let wanted = .spec.replicas ?? 1  # trailing comment
  fn per_slot(n) = ceil(n / int(.spec.slots ?? 1))
  replicas = per_slot(wanted)
  requirements = { cpu: .spec.cpu ?? 500m, memory: 1Gi }
  status = { ready: (.status.ready ?? 0), items: [x * 2 for x in .spec.items if x > 0] }
}
policy web in namespace shop {
  select apps/v1 Deployment named web where labels.app == "web"
  priority -3
  tolerate dedicated = batch : NoSchedule for 5m
  replicas divided static { member-1: 2, clusters where region == "eu": 1, }
}
quota q in namespace shop {
  overall { cpu = 10, memory = 4Gi, }
}
"""


def _result(result: ParseResult) -> Any:
    return plain((result.module.source, result.module.declarations, result.module.comments, result.diagnostics))


def _read(path: Path) -> Source | None:
    try:
        return Source(path.name, path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None


# ------------------------------------------------------------------------------------ tree-less parsing


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_treeless_parse_equals_tree_parse(path: Path) -> None:
    source = _read(path)
    if source is None:
        pytest.skip("not UTF-8")
    fast = parser_module._parse_fast(source.text)
    if fast is None:
        return  # errors and deep nesting go down the tree path only
    tree, comments = parser_module._parse_text(source.text)
    assert plain(fast[0]) == plain(ToAst().transform(tree))
    assert fast[1] == comments


def test_treeless_parse_keeps_spans_of_parenthesized_and_inlined_rules() -> None:
    fast = parser_module._parse_fast(SAMPLE)
    assert fast is not None
    tree, comments = parser_module._parse_text(SAMPLE)
    assert plain(fast[0]) == plain(ToAst().transform(tree))
    assert fast[1] == comments
    assert [text for _, text in fast[1]] == ["# a comment", "# trailing comment"]


def test_deep_nesting_takes_the_tree_path() -> None:
    text = "interpreter a/v1 K {\n  replicas = " + "-(" * 300 + "1" + ")" * 300 + "\n}\n"
    assert parser_module._parse_fast(text) is None  # the tree path decides: here, it parses
    result = parse_source(Source("deep.kpl", text))
    assert result.diagnostics == []
    interpreter = result.module.declarations[0]
    assert isinstance(interpreter, ast.Interpreter)
    assert interpreter.members[0] == ast.Operation("replicas", ast.Literal(1))


# ------------------------------------------------------------------------------------ the cache


def test_hit_gives_an_identical_module_and_diagnostics(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    sources = [s for s in (_read(p) for p in DIAGNOSTICS) if s is not None]
    assert len(sources) > 20
    for source in sources:
        fresh = parse_cached(source, cache)
        again = Source(source.name, source.text)
        hit = cache.load(again)
        assert hit is not None, source.name
        assert _result(hit) == _result(fresh), source.name
        assert hit.module.source is again


def test_a_hit_does_not_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ParseCache(tmp_path)
    first = parse_cached(Source("a.kpl", SAMPLE), cache)

    def fail(source: Source) -> ParseResult:
        raise AssertionError("parsed again")

    monkeypatch.setattr(parse_cache, "parse_source", fail)
    second = parse_cached(Source("renamed.kpl", SAMPLE), cache)
    assert second.module.source.name == "renamed.kpl"
    assert plain(second.module.declarations) == plain(first.module.declarations)


def test_different_text_is_a_miss(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    parse_cached(Source("a.kpl", SAMPLE), cache)
    changed = SAMPLE.replace("priority -3", "priority 4")
    assert cache_key(changed) != cache_key(SAMPLE)
    assert cache.load(Source("a.kpl", changed)) is None
    assert cache.load(Source("a.kpl", SAMPLE)) is not None


def test_errors_are_cached_with_their_diagnostics(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    text = "policy p {\n  priority\n}\npolicy q { select apps/v1 Deployment }\nquota"
    fresh = parse_cached(Source("bad.kpl", text), cache)
    assert fresh.diagnostics
    hit = cache.load(Source("bad.kpl", text))
    assert hit is not None and _result(hit) == _result(fresh)


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage", "flipped", "other-key", "wrong-shape"])
def test_a_corrupt_entry_is_ignored_and_rewritten(tmp_path: Path, damage: str) -> None:
    cache = ParseCache(tmp_path)
    source = Source("a.kpl", SAMPLE)
    fresh = parse_cached(source, cache)
    entry = cache.entry(cache_key(SAMPLE))
    data = entry.read_bytes()
    header = data.index(b"\n", len(parse_cache.FORMAT)) + 1
    damaged = {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "garbage": data[:header] + os.urandom(200),
        "flipped": data[:header] + bytes(b ^ 0x5A for b in data[header:]),
        "other-key": encode(fresh, cache_key("something else")),
        "wrong-shape": data[:header] + pickle.dumps(("not", "an", "entry")),
    }[damage]
    entry.write_bytes(damaged)
    assert cache.load(source) is None
    again = parse_cached(Source("a.kpl", SAMPLE), cache)
    assert _result(again) == _result(fresh)
    assert cache.load(Source("a.kpl", SAMPLE)) is not None  # rewritten


def test_an_entry_cannot_name_other_code(tmp_path: Path) -> None:
    key = cache_key(SAMPLE)
    hostile = parse_cache.FORMAT + key.encode() + b"\n" + pickle.dumps((os.getpid, (), []))
    assert decode(hostile, key, Source("a.kpl", SAMPLE)) is None


def test_writes_are_atomic_and_failures_harmless(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache")
    parse_cached(Source("a.kpl", SAMPLE), cache)
    written = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert [p.name for p in written] == [cache_key(SAMPLE)[2:]]
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    result = parse_cached(Source("a.kpl", SAMPLE), ParseCache(blocked))
    assert plain(result.module.declarations) == plain(parse_source(Source("a.kpl", SAMPLE)).module.declarations)


def test_default_folder_follows_xdg() -> None:
    home = Path("/home/someone")
    assert default_cache_folder({"XDG_CACHE_HOME": "/var/cache/me"}, home) == Path("/var/cache/me/kpl")
    assert default_cache_folder({}, home) == home / ".cache" / "kpl"
    assert default_cache_folder({"XDG_CACHE_HOME": "relative"}, home) == home / ".cache" / "kpl"


_PIECES = st.sampled_from([
    "policy ", "interpreter ", "quota ", "p", " in namespace ns", "{", "}", "(", ")", "[", "]", "\n", " ",
    "select apps/v1 Deployment", "replicas = ", ".spec.x", "?? 1", "500m", "1Gi", "12Zi", '"s"', "#c\n",
    "let a = 1", "fn f(x) = x", "priority 3", "-", "*", ",", ":", "a/v1 K ",
])


@settings(max_examples=60, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_cache_round_trip_matches_a_fresh_parse(text: str) -> None:
    source = Source("f.kpl", text)
    fresh = parse_source(source)
    key = cache_key(text)
    hit = decode(encode(fresh, key), key, Source("f.kpl", text))
    assert hit is not None
    assert _result(hit) == _result(fresh)


# ------------------------------------------------------------------------------------ project and CLI


def test_load_project_with_a_cache_gives_the_same_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.kpl").write_text(SAMPLE, encoding="utf-8")
    (project / "b.kpl").write_text("policy broken {\n", encoding="utf-8")
    cache = ParseCache(tmp_path / "cache")
    uncached = load_project([project])
    cold = load_project([project], cache=cache)
    warm = load_project([project], cache=cache)
    for loaded in (cold, warm):
        assert [plain(m.declarations) for m in loaded.modules] == [plain(m.declarations) for m in uncached.modules]
        assert plain(loaded.diagnostics) == plain(uncached.diagnostics)


def test_cli_check_uses_the_cache_folder_unless_told_not_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "a.kpl"
    project.write_text(SAMPLE, encoding="utf-8")
    runs = []
    for options in (["--no-cache", "--cache-dir", str(tmp_path / "off")], ["--cache-dir", str(tmp_path / "on")],
                    ["--cache-dir", str(tmp_path / "on")]):
        code = cli_main(["check", *options, str(project)])
        runs.append((code, capsys.readouterr().out))
    assert not (tmp_path / "off").exists()
    assert [p for p in (tmp_path / "on").rglob("*") if p.is_file()]
    assert runs[0] == runs[1] == runs[2]
