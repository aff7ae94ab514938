"""Diagnostics: stable codes, severities, spans, help; rendered as text with a caret or as JSON."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kpl.dsl.source import Source, Span

__all__ = [
    "Diagnostic",
    "Severity",
    "did_you_mean",
    "diagnostic_to_json",
    "render_diagnostic",
    "sort_diagnostics",
]

MAX_DIAGNOSTICS = 200


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: ``code`` is phase-prefixed and stable (``parse.unexpected_token``)."""

    code: str
    message: str
    source: Source | None
    span: Span | None
    severity: Severity = Severity.ERROR
    help: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def location(self) -> tuple[str, int, int]:
        if self.source is None:
            return "<input>", 0, 0
        if self.span is None:
            return self.source.name, 0, 0
        line, column = self.source.line_col(self.span.start)
        return self.source.name, line, column


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A ``did you mean`` help line for a misspelled word, or ``None``."""
    import difflib  # only when a name is unknown: keeps it out of a clean check's start-up

    matches = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.7)
    return f"did you mean `{matches[0]}`?" if matches else None


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by file and position, duplicates removed, capped at ``MAX_DIAGNOSTICS``."""
    unique = {(d.location(), d.code, d.message): d for d in diagnostics}
    ordered = sorted(unique.values(), key=lambda d: (d.location(), d.code, d.message))
    return ordered[:MAX_DIAGNOSTICS]


def _caret_lines(source: Source, span: Span) -> list[str]:
    line, column = source.line_col(span.start)
    text = source.line_text(line)
    end_line, end_column = source.line_col(max(span.end, span.start + 1) - 1)
    width = (end_column - column + 1) if end_line == line else max(len(text) - column + 1, 1)
    gutter = " " * len(str(line))
    return [
        f"{gutter} |",
        f"{line} | {text.expandtabs(1)}",
        f"{gutter} | {' ' * (column - 1)}{'^' * max(width, 1)}",
    ]


def render_diagnostic(diagnostic: Diagnostic) -> str:
    """``file:line:col: severity[code]: message``, the source line with a caret, and ``help:``."""
    name, line, column = diagnostic.location()
    where = f"{name}:{line}:{column}" if line else name
    lines = [f"{where}: {diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"]
    if diagnostic.source is not None and diagnostic.span is not None and diagnostic.source.text:
        lines.extend(_caret_lines(diagnostic.source, diagnostic.span))
    if diagnostic.help:
        lines.append(f"  = help: {diagnostic.help}")
    return "\n".join(lines)


def diagnostic_to_json(diagnostic: Diagnostic) -> dict[str, Any]:
    name, line, column = diagnostic.location()
    end_line, end_column = line, column
    if diagnostic.source is not None and diagnostic.span is not None:
        end_line, end_column = diagnostic.source.line_col(diagnostic.span.end)
    return {
        "code": diagnostic.code,
        "severity": diagnostic.severity.value,
        "message": diagnostic.message,
        "file": name,
        "line": line,
        "column": column,
        "endLine": end_line,
        "endColumn": end_column,
        "help": diagnostic.help,
    }


def count_errors(diagnostics: Sequence[Diagnostic]) -> int:
    return sum(1 for d in diagnostics if d.is_error)
