"""What the CLI does around the library: logging set-up, rendering, safe file writes."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click

from kpl.dsl.diagnostics import Diagnostic, render_diagnostic

__all__ = [
    "EXIT_CHANGES", "EXIT_FINDINGS", "EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "atomic_write", "write_file",
    "configure_logging", "emit", "format_paths", "logger", "render_conformance", "render_diagnostics",
    "run_interpret", "QUICK_EXIT", "allow_quick_exit", "quick_exit",
]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_CHANGES = 3
EXIT_INTERNAL = 4

QUICK_EXIT = "kpl.quick_exit"
"""The mark a command leaves in the root context's ``obj`` when the process may end without teardown."""


def allow_quick_exit(*keep: object) -> None:
    """Let :func:`kpl.cli.main`, run as the program, end the process once this command's output is flushed:
    everything it built is then dropped at once (no final collection, no object freed one by one). ``keep``
    (the command's large results) is held until then, so leaving the command's frame does not free it."""
    ctx = click.get_current_context(silent=True)
    marks = None if ctx is None else ctx.find_root().obj
    if isinstance(marks, dict):
        marks[QUICK_EXIT] = keep


def quick_exit(code: int) -> None:
    """Flush stdout and stderr and end the process with ``code`` at once (``os._exit``)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


# Where the running command keeps its log settings until the first log line (click's ``Context.meta``).
_LOG_SETTINGS = "kpl.log_settings"


def configure_logging(fmt: str, verbose: int, quiet: bool) -> None:
    """Log on stderr: text for people, JSON lines (ts in epoch ms, logger, level, msg) for tools.

    Inside a command, structlog (and rich, which it imports) is only set up when something is logged:
    the settings wait in the command's context until :func:`logger` is first called.
    """
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        _configure_structlog(fmt, level)
    else:
        ctx.meta[_LOG_SETTINGS] = (fmt, level)


def logger() -> Any:
    """The ``kpl`` structlog logger, set up first with the running command's settings."""
    import structlog

    ctx = click.get_current_context(silent=True)
    settings = None if ctx is None else ctx.meta.pop(_LOG_SETTINGS, None)
    if settings is not None:
        _configure_structlog(*settings)
    return structlog.get_logger("kpl")


def _configure_structlog(fmt: str, level: int) -> None:
    import structlog

    def rename(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        message = event.pop("event", "")
        head = {"ts": event.pop("ts", None), "logger": event.pop("logger", "kpl"), "level": event.pop("level", None)}
        return {**head, "msg": message, **event}

    def epoch_ms(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        import time

        event["ts"] = round(time.time() * 1000, 3)
        return event

    processors: list[Any] = [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level]
    if fmt == "json":
        processors += [epoch_ms, rename, structlog.processors.JSONRenderer(sort_keys=False)]
    else:
        processors += [structlog.processors.TimeStamper(fmt="%H:%M:%S"), structlog.dev.ConsoleRenderer(colors=False)]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def emit(text: str) -> None:
    click.echo(text)


def render_diagnostics(diagnostics: Sequence[Diagnostic]) -> str:
    return "\n\n".join(render_diagnostic(d) for d in diagnostics)


# ------------------------------------------------------------------------------------ fmt


def atomic_write(path: Path, text: str, expected_original: bytes) -> None:
    """Replace ``path`` with ``text`` through a temporary file and a rename, keeping its permissions.

    Refuses (``OSError``) when the file changed since it was read, so nothing a user wrote meanwhile
    is lost. An interrupted run leaves either the old or the new file, never a mix. A symbolic link is
    followed: the file it points to is replaced and the link stays a link.
    """
    path = Path(os.path.realpath(path))
    if path.read_bytes() != expected_original:
        raise OSError(f"`{path}` changed while kpl was formatting it; nothing written")
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_file(path: Path, text: str | Iterable[str]) -> None:
    """Write a result file through a temporary file and a rename: readers never see half a report.

    ``text`` may come in pieces (an iterable of strings), written as they come without joining them.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or Path("."))
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            if isinstance(text, str):
                stream.write(text)
            else:
                stream.writelines(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def format_paths(paths: Sequence[Path], *, check_only: bool, show_diff: bool) -> int:
    from kpl.dsl.formatter import format_module
    from kpl.dsl.parser import parse_source
    from kpl.engine.project import find_kpl_files, read_source

    files, problems = find_kpl_files(paths)
    status = EXIT_USAGE if problems else EXIT_OK
    for found in problems:
        click.echo(render_diagnostic(found), err=True)
    changed = 0
    for path in files:
        try:
            original = path.read_bytes()
        except OSError:
            original = b""
        source, problem = read_source(path)
        if source is None:
            if problem is not None:
                click.echo(render_diagnostic(problem), err=True)
            status = EXIT_USAGE
            continue
        result = parse_source(source)
        if result.diagnostics:
            click.echo(render_diagnostics(result.diagnostics), err=True)
            click.echo(f"{path}: not formatted: it has syntax errors", err=True)
            status = max(status, EXIT_FINDINGS)
            continue
        formatted = format_module(result.module)
        if formatted == source.text:
            continue
        if original.startswith(b"\xef\xbb\xbf"):
            formatted = "\ufeff" + formatted  # keep the byte-order mark the author's editor wrote
        changed += 1
        if check_only or show_diff:
            import difflib  # only for a diff: keeps it out of a check's start-up

            diff = difflib.unified_diff(source.text.splitlines(True), formatted.splitlines(True),
                                        f"{path} (original)", f"{path} (formatted)")
            emit("".join(diff).rstrip("\n"))
            continue
        try:
            atomic_write(path, formatted, original)
            logger().info("formatted", file=str(path))
        except OSError as error:
            click.echo(f"kpl: error: cannot write `{path}`: {error}", err=True)
            status = EXIT_USAGE
    verb = "would reformat" if (check_only or show_diff) else "reformatted"
    click.echo(f"{verb} {changed} of {len(files)} file(s)", err=True)
    if check_only and changed and status == EXIT_OK:
        return EXIT_FINDINGS
    return status


# ------------------------------------------------------------------------------------ conformance


def render_conformance(summary: Any, show: int) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=None, width=120, record=True, force_terminal=False, color_system=None)
    for title, rows in (("by operation", summary.by_operation()), ("by file", summary.by_file())):
        table = Table(title=f"Karmada conformance {title}", show_lines=False)
        for column in ("", "total", "passed", "failed", "errored", "excluded"):
            table.add_column(column, justify="left" if not column else "right")
        for name, row in rows.items():
            table.add_row(name, *(str(row[c]) for c in ("total", "passed", "failed", "errored", "excluded")))
        with console.capture() as capture:
            console.print(table)
        console.print(capture.get(), end="")
    failures = [r for r in summary.results if r.outcome in ("failed", "errored")]
    lines = [console.export_text()]
    for result in failures[:show]:
        head = f"{result.outcome.upper()} {result.file} :: {result.case} [{result.operation}]"
        lines.append(f"{head}\n  {result.message}")
    for name, message in summary.load_errors:
        lines.append(f"ERROR {name}: {message}")
    total = summary.to_json()
    lines.append(f"{total['passed']} passed, {total['failed'] + total['errored']} failed, "
                 f"{total['excluded']} excluded of {total['total']} cases")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ interpret


def _load_yaml(path: Path | None) -> Any:
    """The first document of a YAML/JSON input, read with the snapshot loader's limits; exit 2 on a problem."""
    from kpl.engine.snapshot import parse_documents, read_documents

    if path is None:
        return None
    if str(path) == "-":
        documents, problems = parse_documents("<stdin>", sys.stdin.read())
    elif not path.exists():
        raise click.UsageError(f"cannot read `{path}`: no such file or directory")
    else:
        documents, problems = read_documents(path)
    if problems:
        click.echo(render_diagnostics(problems), err=True)
        raise SystemExit(EXIT_USAGE)
    return documents[0] if documents else None


def run_interpret(rules: Sequence[Path], operation: str, desired_file: Path | None, observed_file: Path | None,
                  status_file: Path | None, desired_replica: int | None, expect: Path | None) -> int:
    import json

    import yaml

    from kpl.dsl import ast
    from kpl.engine.conformance.runner import compare_output
    from kpl.engine.interpreter import InterpretError
    from kpl.engine.library import library_with
    from kpl.engine.project import load_project

    project = load_project(rules)
    if project.diagnostics:
        click.echo(render_diagnostics(project.diagnostics), err=True)
        return EXIT_USAGE if project.io_failed else EXIT_FINDINGS
    user = [(d, s) for d, s in project.declarations() if isinstance(d, ast.Interpreter)]
    library = library_with(user)
    desired, observed = _load_yaml(desired_file), _load_yaml(observed_file)
    obj = desired if isinstance(desired, dict) else observed
    if not isinstance(obj, dict):
        raise click.UsageError("give the object with --desired-file or --observed-file")
    rule = library.get(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    if rule is None or not rule.implements(operation):
        click.echo(f"kpl: error: no rule implements {operation} for {obj.get('apiVersion')} {obj.get('kind')}",
                   err=True)
        return EXIT_FINDINGS
    try:
        result = rule.run(operation, desired=desired, observed=observed, status_items=_load_yaml(status_file),
                          desired_replicas=desired_replica)
    except InterpretError as error:
        subject = f"{operation} failed on {obj.get('kind')} `{(obj.get('metadata') or {}).get('name')}`"
        if error.source is not None and error.span is not None:
            failure = Diagnostic("interpret.failed", f"{subject}: {error.message}", error.source, error.span)
            click.echo(render_diagnostics([failure]), err=True)
        else:
            origin = library.origin.get((obj.get("apiVersion"), obj.get("kind")), "rule")  # type: ignore[arg-type]
            click.echo(f"kpl: error: {subject} ({origin}): {error.message}", err=True)
        return EXIT_FINDINGS
    emit(yaml.safe_dump(json.loads(json.dumps(result)), sort_keys=False).rstrip())
    if expect is not None:
        wanted = _load_yaml(expect)
        message = compare_output(result, wanted.get("output", wanted) if isinstance(wanted, dict) else {})
        if message:
            click.echo(f"kpl: expected output differs: {message}", err=True)
            return EXIT_FINDINGS
    return EXIT_OK
