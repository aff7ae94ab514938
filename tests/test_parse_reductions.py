"""Reductions compiled per rule give what the generic callbacks give: same values, extents, depths and bounds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ast_plain import plain
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.dsl import parser as parser_module
from kpl.dsl.lalr_loop import LalrLoop
from kpl.dsl.reductions import nullable_rules
from kpl.dsl.treeless import passthrough, position_only_terminals, treeless_callbacks

REPO = Path(__file__).resolve().parents[1]
SOURCES = [
    *sorted(REPO.joinpath("tests", "diagnostics").glob("*.kpl")),
    *sorted(REPO.joinpath("rules").rglob("*.kpl")),
    *sorted(REPO.joinpath("examples").rglob("*.kpl")),
]


def _loop(compiled: bool, record: list[tuple[int, Any]] | None = None) -> LalrLoop:
    tables = parser_module._tables()
    callbacks = treeless_callbacks(tables.rules, compiled=compiled)
    if record is not None:
        callbacks = [_recording(index, callback, record) if callback is not passthrough else callback
                     for index, callback in enumerate(callbacks)]
    return LalrLoop(tables, callbacks, passthrough, position_only_terminals(tables.rules),
                    parser_module._LEXER_CALLBACKS)


def _recording(index: int, callback: Callable[[list[Any]], Any], into: list[tuple[int, Any]]) -> Any:
    def recording(matched: list[Any]) -> Any:
        result = callback(matched)
        into.append((index, _located(result)))
        return result

    return recording


def _located(result: Any) -> Any:
    """A reduction's result with its value spelled out (spans included) next to its extent, depth and bound."""
    if type(result) is tuple:
        return (plain(result[0]), *result[1:])
    return ("token", result.type, str(result), result.start_pos, result.end_pos)


GENERIC: list[tuple[int, Any]] = []
COMPILED: list[tuple[int, Any]] = []
_GENERIC_LOOP = _loop(False, GENERIC)
_COMPILED_LOOP = _loop(True, COMPILED)


def _both(text: str, start: str = "start") -> tuple[list[tuple[int, Any]], list[tuple[int, Any]]]:
    GENERIC.clear()
    COMPILED.clear()
    outcomes = []
    for loop in (_GENERIC_LOOP, _COMPILED_LOOP):
        try:
            outcomes.append(("value", _located(loop.parse(text, start))))
        except Exception as error:  # both must fail alike
            outcomes.append(("error", type(error).__name__))
    assert outcomes[0] == outcomes[1]
    return list(GENERIC), list(COMPILED)


def test_most_rules_are_compiled() -> None:
    tables = parser_module._tables()
    def made_here(callbacks: list[Any]) -> int:
        return sum(getattr(getattr(c, "__code__", None), "co_filename", "") == "<kpl reductions>" for c in callbacks)

    assert made_here(treeless_callbacks(tables.rules)) > len(tables.rules) // 2
    assert made_here(treeless_callbacks(tables.rules, compiled=False)) == 0


def test_nullable_rules() -> None:
    tables = parser_module._tables()
    nullable = nullable_rules(tables.rules)
    assert "expr" not in nullable and "start" in nullable


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_compiled_reductions_match_the_generic_ones(path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8")
    generic, compiled = _both(text)
    assert compiled == generic


_ATOMS = st.sampled_from(["x", "1", "2.5", '"s"', "500m", "true", "null", ".spec.a", "@", ".", ".x[0]", "f(x)",
                          "[1, 2]", "{a: 1}", "x.y", "x[*]", "x[?(@ > 1)]", "-x", "not x"])
_OPS = st.sampled_from([" + ", " - ", " * ", " / ", " and ", " or ", " ?? ", " == ", " < ", " in ", " not in "])


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        return draw(_ATOMS)
    shape = draw(st.integers(0, 7))
    inner = [draw(_expressions(depth + 1)) for _ in range(draw(st.integers(1, 3)))]
    if shape == 0:
        return draw(_OPS).join(inner)
    if shape == 1:
        return f"({inner[0]})"
    if shape == 2:
        return f"[{', '.join(inner)}]"
    if shape == 3:
        return "{" + ", ".join(f"k{i}: {e}" for i, e in enumerate(inner)) + "}"
    if shape == 4:
        return f"f({', '.join(inner)})"
    if shape == 5:
        return f"if {inner[0]} then {inner[-1]} else {inner[0]}"
    if shape == 6:
        return f"let a = {inner[0]} in {inner[-1]}"
    return f"[{inner[0]} for v in {inner[-1]} if {inner[0]}]"


@settings(max_examples=150, deadline=None)
@given(_expressions())
def test_compiled_reductions_match_on_random_expressions(text: str) -> None:
    generic, compiled = _both(text, "expr")
    assert compiled == generic


@settings(max_examples=60, deadline=None)
@given(st.lists(_expressions(), min_size=1, max_size=4))
def test_compiled_reductions_match_in_interpreters(bodies: list[str]) -> None:
    members = "\n".join(f"  let m{i} = {body}" for i, body in enumerate(bodies))
    text = f"interpreter a.io/v1 K {{\n{members}\n  replicas = m0\n}}\n"
    generic, compiled = _both(text)
    assert compiled == generic


def test_compiled_code_is_kept_and_a_bad_file_is_ignored(tmp_path: Path) -> None:
    tables = parser_module._tables()
    first = treeless_callbacks(tables.rules, cache_folder=tmp_path)
    kept = sorted(tmp_path.glob(".kpl_reductions_*.marshal"))
    assert len(kept) == 1
    again = treeless_callbacks(tables.rules, cache_folder=tmp_path)
    assert [c.__code__.co_code for c in again] == [c.__code__.co_code for c in first]
    kept[0].write_bytes(b"not marshal data")
    damaged = treeless_callbacks(tables.rules, cache_folder=tmp_path)
    assert [c.__code__.co_code for c in damaged] == [c.__code__.co_code for c in first]
    _assert_parses_as_compiled(tables, damaged, "quota q in namespace a {\n  overall { cpu = 1 }\n}\n")


def _assert_parses_as_compiled(tables: Any, callbacks: Any, text: str) -> None:
    loop = LalrLoop(tables, callbacks, passthrough, position_only_terminals(tables.rules),
                    parser_module._LEXER_CALLBACKS)
    assert plain(loop.parse(text, "start")[0]) == plain(_COMPILED_LOOP.parse(text, "start")[0])


def test_a_cached_file_of_other_code_is_not_used(tmp_path: Path) -> None:
    import marshal

    tables = parser_module._tables()
    treeless_callbacks(tables.rules, cache_folder=tmp_path)
    (path,) = tmp_path.glob(".kpl_reductions_*.marshal")
    codes = marshal.loads(path.read_bytes())
    path.write_bytes(marshal.dumps(codes[:-1]))  # one function short: not this source's code
    callbacks = treeless_callbacks(tables.rules, cache_folder=tmp_path)
    _assert_parses_as_compiled(tables, callbacks, "interpreter a.io/v1 K {\n  replicas = .spec.x ?? 1\n}\n")


def test_code_found_by_the_tables_key_is_used_without_the_rules(tmp_path: Path) -> None:
    tables = parser_module._tables()
    assert tables.key
    first = treeless_callbacks(tables.rules, cache_folder=tmp_path, tables_key=tables.key)
    (path,) = tmp_path.glob(".kpl_reductions_*.marshal")
    again = treeless_callbacks(tables.rules, cache_folder=tmp_path, tables_key=tables.key)
    assert [c.__code__.co_code for c in again] == [c.__code__.co_code for c in first]
    assert [c.__code__.co_code for c in again] == [
        c.__code__.co_code for c in treeless_callbacks(tables.rules, cache_folder=tmp_path)]
    other = treeless_callbacks(tables.rules, cache_folder=tmp_path, tables_key="other grammar")
    assert len(list(tmp_path.glob(".kpl_reductions_*.marshal"))) == 3  # by key, by shapes, other key
    assert [c.__code__.co_code for c in other] == [c.__code__.co_code for c in first]
    for damage in (b"not marshal data", __import__("marshal").dumps(((10**6,), (first[0].__code__,)))):
        path.write_bytes(damage)
        damaged = treeless_callbacks(tables.rules, cache_folder=tmp_path, tables_key=tables.key)
        assert [c.__code__.co_code for c in damaged] == [c.__code__.co_code for c in first]
