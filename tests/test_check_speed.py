"""What keeps ``kpl check`` fast: it imports only what checking needs, and tests keep their own cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ast_plain import plain
from lark import Token, UnexpectedInput
from lark.lexer import BasicLexer

from kpl.cli import LAZY_COMMANDS, main
from kpl.dsl import lalr_loop
from kpl.dsl import parser as parser_module
from kpl.dsl.transformer import ToAst

_CLEAN = 'quota q in namespace a {\n  overall { cpu = 1 }\n}\n'

# Modules `kpl check` has no use for: logging and table rendering, YAML, XML, the plan graph, schemas,
# and the command modules of other commands.
_NOT_FOR_CHECK = (
    "structlog", "rich", "yaml", "xml.etree.ElementTree", "networkx", "jsonschema",
    "kpl.plan_command", "kpl.plan_output", "kpl.export_command", "kpl.test_command", "kpl.graph_command",
    "kpl.engine.plan", "kpl.engine.report",
)

_PROBE = """
import json, sys
from kpl.cli import main
code = main(sys.argv[1:])
sys.stdout.write("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules_after(args: list[str]) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=False)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return int(found["code"]), set(found["modules"])


def test_check_imports_only_what_checking_needs(tmp_path: Path) -> None:
    source = tmp_path / "clean.kpl"
    source.write_text(_CLEAN, encoding="utf-8")
    code, modules = _modules_after(["check", str(source)])
    assert code == 0
    assert "kpl.engine.check" in modules
    assert sorted(m for m in _NOT_FOR_CHECK if m in modules) == []


def test_version_imports_no_engine() -> None:
    code, modules = _modules_after(["--version"])
    assert code == 0
    assert sorted(m for m in (*_NOT_FOR_CHECK, "kpl.engine.check", "lark") if m in modules) == []


def test_every_lazy_command_is_listed_and_runs_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    for name in LAZY_COMMANDS:
        assert f"  {name} " in listed
        assert main([name, "--help"]) == 0
        assert "Usage: kpl " + name in capsys.readouterr().out


def test_unknown_command_is_a_usage_error() -> None:
    assert main(["no-such-command"]) == 2


def test_logging_is_set_up_when_something_is_logged(tmp_path: Path) -> None:
    source = tmp_path / "messy.kpl"
    source.write_text(_CLEAN.replace("  overall", "overall"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "kpl", "--logging-format", "json", "-v", "fmt", str(source)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stderr.splitlines()[0])
    assert (record["msg"], record["level"], record["file"]) == ("formatted", "info", str(source))


def test_tests_never_touch_the_users_cache(tmp_path: Path) -> None:
    home = Path(os.environ["XDG_CACHE_HOME"])
    assert home.is_absolute() and home != Path.home() / ".cache"
    source = tmp_path / "clean.kpl"
    source.write_text(_CLEAN, encoding="utf-8")
    assert main(["check", str(source)]) == 0
    assert any((home / "kpl").rglob("*")), "kpl check wrote no cache entry under the test's XDG_CACHE_HOME"


REPO = Path(__file__).resolve().parents[1]
SOURCES = [
    *sorted(REPO.joinpath("tests", "diagnostics").glob("*.kpl")),
    *sorted(REPO.joinpath("rules").rglob("*.kpl")),
    *sorted(REPO.joinpath("examples").rglob("*.kpl")),
]


def _token_fields(token: Token) -> tuple[object, ...]:
    return (token.type, str(token), token.start_pos, token.line, token.column, token.end_line, token.end_column,
            token.end_pos)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_lean_loop_reads_the_tokens_lark_reads(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same tokens, positions and lines as Lark's contextual lexer (comments included), same AST."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8")
    seen: list[tuple[object, ...]] = []
    original = BasicLexer.next_token

    def recording(self: BasicLexer, lex_state: Any, parser_state: Any = None) -> Token:
        token = original(self, lex_state, parser_state)
        seen.append(_token_fields(token))
        return token

    comments_by_lark: list[tuple[object, ...]] = []
    with monkeypatch.context() as patch:
        patch.setattr(BasicLexer, "next_token", recording)
        try:
            tree, comments_by_lark = parser_module._parse_text(text)
        except UnexpectedInput:
            tree = None
    lark_tokens = list(seen)
    traced: list[Token] = []
    with monkeypatch.context() as patch:
        patch.setattr(lalr_loop.LalrLoop, "parse", _tracing(lalr_loop.LalrLoop.parse, traced))
        fast = parser_module._parse_fast(text)
    mine = [_token_fields(token) for token in traced]
    if tree is None or fast is None:  # a syntax error or a deep tree: only the tokens before it compare
        assert mine[: len(lark_tokens)] == lark_tokens[: len(mine)]
        return
    assert mine == lark_tokens
    assert fast[1] == comments_by_lark
    assert plain(fast[0]) == plain(ToAst().transform(tree))


def _tracing(method: Any, into: list[Token]) -> Any:
    def tracing(self: Any, text: str, start: str) -> Any:
        return method(self, text, start, into)

    return tracing


def test_lean_loop_rejects_what_lark_rejects() -> None:
    for text in ("policy p {", "quota q in namespace a { overall { cpu = } }", "quota q in namespace a { ~ }"):
        assert parser_module._parse_fast(text) is None
        with pytest.raises(UnexpectedInput):
            parser_module._parse_text(text)


def test_only_dropped_terminals_travel_as_positions() -> None:
    """Punctuation and keywords no rule keeps may skip the Token; soft keywords and names may not."""
    from kpl.dsl.grammar_tables import rule_shape
    from kpl.dsl.treeless import position_only_terminals

    dropped = position_only_terminals([rule_shape(rule) for rule in parser_module._parser().rules])
    assert {"LBRACE", "RBRACE", "COMMA", "WHERE"} <= dropped
    assert not {"IDENT", "STRING", "INT", "SELECT", "POLICY", "IN", "COMP_OP"} & dropped
