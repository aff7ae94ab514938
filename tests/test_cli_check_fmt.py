"""``kpl check`` and ``kpl fmt`` in-process: exit codes, JSON output, atomic and minimal rewrites."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpl.cli import main
from kpl.dsl.formatter import format_module
from kpl.dsl.parser import parse

CLEAN = "policy web in namespace shop {\n  select apps/v1 Deployment\n  replicas duplicated\n}\n"
UNFORMATTED = "policy web   in namespace shop { select apps/v1 Deployment\n replicas duplicated }\n"
BROKEN = "policy web in namespace shop {\n  selct apps/v1 Deployment\n}\n"
WARNING_ONLY = CLEAN + "\n" + CLEAN.replace("policy web", "policy web-2")  # equal priority: ambiguous
CORPUS = Path(__file__).resolve().parent / "diagnostics"


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


# ------------------------------------------------------------------------------------ check


def test_check_clean_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(write(tmp_path, "ok.kpl", CLEAN))]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_check_errors_exit_1_with_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bad.kpl", BROKEN)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path.as_posix()}:2:3: error[parse.unexpected_token]" in out
    assert "did you mean `select`?" in out


def test_check_missing_path_and_unreadable_bytes_exit_2(tmp_path: Path) -> None:
    assert main(["check", str(tmp_path / "nope.kpl")]) == 2
    assert main(["check", str(write(tmp_path, "latin1.kpl", b"policy caf\xe9 { select v1 Pod }\n"))]) == 2


def test_check_warnings_fail_only_with_fail_on_warn(tmp_path: Path) -> None:
    path = write(tmp_path, "warn.kpl", WARNING_ONLY)
    assert main(["check", str(path)]) == 0
    assert main(["check", "--fail-on-warn", str(path)]) == 1


def test_check_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "ok.kpl", CLEAN)
    path = write(tmp_path, "bad.kpl", BROKEN)
    assert main(["check", "-o", "json", str(tmp_path)]) == 1
    found = json.loads(capsys.readouterr().out)
    assert found["files"] == 2 and found["errors"] == 1 and found["warnings"] == 0
    (diagnostic,) = found["diagnostics"]
    assert diagnostic == {
        "code": "parse.unexpected_token", "severity": "error", "message": "unexpected `selct`",
        "file": path.as_posix(), "line": 2, "column": 3, "endLine": 2, "endColumn": 8,
        "help": "did you mean `select`?",
    }


def test_check_a_folder_recursively(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    write(tmp_path / "a" / "b", "deep.kpl", BROKEN)
    write(tmp_path / "a", "ok.kpl", CLEAN.replace("web", "other"))
    write(tmp_path, "notes.txt", "not kpl")
    assert main(["check", str(tmp_path)]) == 1
    assert "checked 2 file(s): 1 error(s)" in capsys.readouterr().out


# ------------------------------------------------------------------------------------ fmt


def test_fmt_check_reports_without_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = write(tmp_path, "clean.kpl", CLEAN)
    messy = write(tmp_path, "messy.kpl", UNFORMATTED)
    assert main(["fmt", "--check", str(clean)]) == 0
    assert main(["fmt", "--check", str(messy)]) == 1
    captured = capsys.readouterr()
    assert "(formatted)" in captured.out and "+  select apps/v1 Deployment" in captured.out
    assert messy.read_text() == UNFORMATTED


def test_fmt_diff_shows_changes_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messy = write(tmp_path, "messy.kpl", UNFORMATTED)
    assert main(["fmt", "--diff", str(messy)]) == 0
    assert "-policy web   in namespace shop" in capsys.readouterr().out
    assert messy.read_text() == UNFORMATTED


def test_fmt_syntax_errors_exit_1_and_missing_paths_exit_2(tmp_path: Path) -> None:
    broken = write(tmp_path, "bad.kpl", BROKEN)
    assert main(["fmt", str(broken)]) == 1
    assert broken.read_text() == BROKEN
    assert main(["fmt", str(tmp_path / "missing.kpl")]) == 2
    assert main(["fmt", "--check", str(write(tmp_path, "bin.kpl", b"\x00\x01"))]) == 2


def test_fmt_rewrites_only_changed_files(tmp_path: Path) -> None:
    clean = write(tmp_path, "clean.kpl", CLEAN)
    messy = write(tmp_path, "messy.kpl", UNFORMATTED)
    past = 1_000_000_000
    for path in (clean, messy):
        os.utime(path, (past, past))
    clean_inode = clean.stat().st_ino
    assert main(["fmt", str(tmp_path)]) == 0
    assert clean.stat().st_mtime == past and clean.stat().st_ino == clean_inode
    assert messy.read_text() == format_module(parse(UNFORMATTED).module) == CLEAN
    assert messy.stat().st_mtime != past
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.kpl", "messy.kpl"]  # no temporary left
    assert main(["fmt", "--check", str(tmp_path)]) == 0


def test_fmt_keeps_permissions(tmp_path: Path) -> None:
    messy = write(tmp_path, "messy.kpl", UNFORMATTED)
    messy.chmod(0o640)
    assert main(["fmt", str(messy)]) == 0
    assert stat.S_IMODE(messy.stat().st_mode) == 0o640
    assert messy.read_text() == CLEAN


def test_fmt_refuses_to_overwrite_a_file_changed_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    messy = write(tmp_path, "messy.kpl", UNFORMATTED)
    edited = UNFORMATTED + "# typed by someone while kpl ran\n"
    import kpl.dsl.formatter as formatter

    real = formatter.format_module

    def format_while_someone_edits(module: object) -> str:
        messy.write_text(edited)  # the file changes between reading and writing
        return real(module)  # type: ignore[arg-type]

    monkeypatch.setattr(formatter, "format_module", format_while_someone_edits)
    assert main(["fmt", str(messy)]) == 2
    assert messy.read_text() == edited
    assert "changed while kpl was formatting it" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messy.kpl"]


def test_fmt_formats_the_whole_valid_corpus_idempotently(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    sources = sorted((repo / "examples").rglob("*.kpl"))
    for index, source in enumerate(sources):
        write(tmp_path, f"{index}.kpl", source.read_text(encoding="utf-8"))
    assert main(["fmt", str(tmp_path)]) == 0
    assert main(["fmt", "--check", str(tmp_path)]) == 0


# ------------------------------------------------------------------------------------ no tracebacks


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.kpl")), ids=lambda p: p.stem)
def test_corpus_never_crashes_the_cli(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["check"], ["check", "-o", "json"], ["fmt", "--check"]):
        code = main([*args, str(path)])
        captured = capsys.readouterr()
        assert code in (0, 1, 2), (args, captured.err)
        assert "Traceback" not in captured.out + captured.err
        assert "internal error" not in captured.err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_file_gives_an_exit_code_not_a_traceback(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, "input.kpl", data)
    for args in (["check", "-o", "json"], ["fmt", "--check"]):
        assert main([*args, str(path)]) in (0, 1, 2)


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert main(["fmt", "--no-such-flag", "x.kpl"]) == 2
    assert "Traceback" not in capsys.readouterr().err
