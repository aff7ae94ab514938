"""What keeps ``kpl check`` fast: it imports only what checking needs, and tests keep their own cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpl.cli import LAZY_COMMANDS, main

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
