"""Loading a kpl project: files and folders to parsed modules, with I/O problems as diagnostics."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic
from kpl.dsl.source import Source, Span
from kpl.engine.collector import paused_gc
from kpl.engine.limits import DEFAULT_LIMITS, current_limits
from kpl.engine.parse_cache import ParseCache
from kpl.engine.parse_parallel import parse_all

__all__ = ["Project", "find_kpl_files", "load_project", "paused_gc", "read_source"]

MAX_FILES = DEFAULT_LIMITS.project_files  # the default; see kpl.engine.limits


@dataclass
class Project:
    """Every parsed module of a project and the diagnostics met while reading and parsing it."""

    modules: list[ast.Module] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    io_failed: bool = False

    def declarations(self) -> Iterator[tuple[ast.Declaration, Source]]:
        for module in self.modules:
            for declaration in module.declarations:
                yield declaration, module.source


def _walk(root: Path) -> Iterator[Path]:
    """``.kpl`` files below ``root`` in a stable order; symlinked folders are not followed (no loops)."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".kpl"):
                yield Path(folder) / name


def find_kpl_files(paths: Iterable[Path]) -> tuple[list[Path], list[Diagnostic]]:
    files: list[Path] = []
    problems: list[Diagnostic] = []
    most = current_limits().project_files
    for path in paths:
        if path.is_dir():
            files.extend(_walk(path))
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            problems.append(Diagnostic("io.not_found", f"no such file or directory `{path}`", None, None))
        if len(files) > most:
            problems.append(Diagnostic("io.too_many_files", f"more than {most} `.kpl` files", None, None))
            return files[:most], problems
    return sorted(dict.fromkeys(files), key=lambda p: p.as_posix()), problems


def read_source(path: Path, display: str | None = None) -> tuple[Source | None, Diagnostic | None]:
    """Read one file as UTF-8; a failure is a located diagnostic, never an exception."""
    name = display or path.as_posix()
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return None, Diagnostic("io.unreadable", f"cannot read `{name}`: {reason.lower()}", None, None)
    if b"\0" in data[:8192]:
        return None, Diagnostic("io.binary", f"`{name}` is a binary file, not kpl source", Source(name, ""), None)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        good = data[: error.start].decode("utf-8", errors="replace")
        source = Source(name, good + data[error.start:].decode("utf-8", errors="replace"))
        return None, Diagnostic(
            "io.not_utf8", f"`{name}` is not valid UTF-8 (byte 0x{data[error.start]:02x})", source,
            Span(len(good), len(good) + 1), help="save the file as UTF-8",
        )
    return Source(name, text.removeprefix("\ufeff")), None


def load_project(paths: Iterable[Path], *, cache: ParseCache | None = None, jobs: int | None = None) -> Project:
    """Read and parse every ``.kpl`` file below ``paths``; with ``cache``, unchanged files are not parsed
    again; a large load is parsed on up to ``jobs`` cores (default: all; 1 for this process only). The
    result is the same either way."""
    project = Project()
    files, problems = find_kpl_files(paths)
    project.diagnostics.extend(problems)
    project.io_failed = bool(problems)
    with paused_gc():
        read = [read_source(path) for path in files]
        sources = [source for source, _ in read if source is not None]
        parsed = iter(parse_all(sources, cache, jobs))
        for source, problem in read:
            if problem is not None:
                project.diagnostics.append(problem)
                project.io_failed = True
            if source is None:
                continue
            result = next(parsed)
            project.modules.append(result.module)
            project.diagnostics.extend(result.diagnostics)
    return project
