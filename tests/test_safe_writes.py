"""Nothing lost: ``kpl fmt`` never damages a user's file, whatever happens while it writes."""

from __future__ import annotations

import contextlib
import io
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from kpl.cli import main

UNFORMATTED = "policy p in namespace d {\nselect apps/v1 Deployment named w\n     clusters member1\n}\n"
FORMATTED = "policy p in namespace d {\n  select apps/v1 Deployment named w\n  clusters member1\n}\n"


def fmt(*paths: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["fmt", *map(str, paths)])
    return code, out.getvalue() + err.getvalue()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "p.kpl"
    path.write_text(UNFORMATTED, encoding="utf-8")
    return path


def test_fmt_rewrites_an_unformatted_file(source: Path) -> None:
    assert fmt(source)[0] == 0
    assert source.read_text(encoding="utf-8") == FORMATTED
    assert leftovers(source.parent) == []


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
@pytest.mark.parametrize("stage", ["replace", "fsync", "chmod"])
def test_an_interrupted_write_keeps_the_original(source: Path, monkeypatch: pytest.MonkeyPatch,
                                                 failure: type[BaseException], stage: str) -> None:
    def fail(*_: Any, **__: Any) -> None:
        raise failure()

    monkeypatch.setattr(os, stage, fail)
    code, output = fmt(source)
    monkeypatch.undo()
    assert code == 2  # click turns an interrupt into "aborted"
    assert "Traceback" not in output
    assert ("aborted" if failure is KeyboardInterrupt else "cannot write") in output
    assert source.read_text(encoding="utf-8") == UNFORMATTED
    assert leftovers(source.parent) == []


def test_permissions_are_kept(source: Path) -> None:
    source.chmod(0o640)
    assert fmt(source)[0] == 0
    assert stat.S_IMODE(source.stat().st_mode) == 0o640
    assert source.read_text(encoding="utf-8") == FORMATTED


def test_a_file_changed_since_it_was_read_is_not_overwritten(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kpl.dsl.formatter as formatter

    real = formatter.format_module
    edited = UNFORMATTED + "# the user typed this meanwhile\n"

    def format_while_the_user_edits(module: Any) -> str:
        source.write_text(edited, encoding="utf-8")
        return real(module)

    monkeypatch.setattr(formatter, "format_module", format_while_the_user_edits)
    code, output = fmt(source)
    assert code == 2 and "changed while kpl was formatting it" in output
    assert source.read_text(encoding="utf-8") == edited
    assert leftovers(source.parent) == []


def test_unchanged_files_are_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "ok.kpl"
    path.write_text(FORMATTED, encoding="utf-8")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = path.stat()
    assert fmt(path)[0] == 0
    after = path.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


def test_a_symlink_stays_a_link_and_its_target_is_formatted(source: Path) -> None:
    link = source.parent / "link.kpl"
    link.symlink_to(source)
    assert fmt(link)[0] == 0
    assert link.is_symlink()
    assert source.read_text(encoding="utf-8") == FORMATTED


def test_a_file_with_syntax_errors_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "bad.kpl"
    path.write_text("policy {{{\n", encoding="utf-8")
    before = path.stat().st_mtime_ns
    code, output = fmt(path)
    assert code == 1 and "not formatted" in output
    assert path.read_text(encoding="utf-8") == "policy {{{\n" and path.stat().st_mtime_ns == before


def test_non_utf8_and_binary_files_are_left_alone(tmp_path: Path) -> None:
    latin = tmp_path / "latin.kpl"
    latin.write_bytes("# caf\xe9\n".encode("latin-1"))
    binary = tmp_path / "bin.kpl"
    binary.write_bytes(b"\x00\x01\x02")
    code, output = fmt(latin, binary)
    assert code == 2 and "latin.kpl" in output and "bin.kpl" in output
    assert latin.read_bytes() == "# caf\xe9\n".encode("latin-1") and binary.read_bytes() == b"\x00\x01\x02"
