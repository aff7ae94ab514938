"""Every documented limit of kpl in one place, so hostile input is bounded in time and memory.

:class:`KplLimits` holds the limits; :data:`DEFAULT_LIMITS` are the values documented in
``docs/limits.md``. The limits in force are read with :func:`current_limits` and changed for a block of
code with :func:`using_limits` (a context variable, so concurrent runs do not see each other's limits).
The command line sets them with ``kpl --limit KEY=VALUE`` (repeatable) or the ``KPL_LIMITS`` environment
variable (``KEY=VALUE`` pairs separated by commas).

Regular expressions given to ``match``/``match_all`` come from rules, which may come from an untrusted pull
request, and are run over objects from a live fleet. :func:`compile_regex` refuses the shapes whose
backtracking is exponential (a repeated sub-pattern that itself repeats or alternates, backreferences)
and over-long patterns; :func:`run_regex` refuses over-long subjects and, on the main thread of a POSIX
process, stops a match that runs longer than ``regex_seconds``.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_LIMITS",
    "KplLimits",
    "LimitsError",
    "RegexLimitError",
    "compile_regex",
    "current_limits",
    "limit_names",
    "limits_from_env",
    "parse_limits",
    "run_regex",
    "using_limits",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class KplLimits:
    """The bounds kpl applies to its input; see ``docs/limits.md`` for each one's meaning."""

    snapshot_file_bytes: int = 256 * 1024 * 1024
    snapshot_files: int = 20_000
    yaml_aliases: int = 1_000
    yaml_alias_nodes: int = 100_000
    nesting_depth: int = 200
    project_files: int = 20_000
    quantity_text_length: int = 128
    quantity_exponent: int = 100
    regex_pattern_length: int = 1_000
    regex_text_length: int = 1_000_000
    regex_seconds: float = 2.0

    def replace(self, **changes: Any) -> KplLimits:
        return dataclasses.replace(self, **changes)


DEFAULT_LIMITS = KplLimits()

_ACTIVE: ContextVar[KplLimits] = ContextVar("kpl_limits", default=DEFAULT_LIMITS)


class LimitsError(ValueError):
    """A ``KEY=VALUE`` limit setting that names no limit or has a bad value."""


class RegexLimitError(ValueError):
    """A regular expression or its subject is outside the limits (or the match took too long)."""


def current_limits() -> KplLimits:
    """The limits in force for the running code."""
    return _ACTIVE.get()


@contextmanager
def using_limits(limits: KplLimits) -> Iterator[KplLimits]:
    """Apply ``limits`` inside the ``with`` block (and restore the previous ones after it)."""
    token = _ACTIVE.set(limits)
    try:
        yield limits
    finally:
        _ACTIVE.reset(token)


def limit_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(KplLimits))


def _value(name: str, text: str, kind: type) -> int | float:
    try:
        value: int | float = int(text.replace("_", "")) if kind is int else float(text)
    except ValueError:
        raise LimitsError(f"limit `{name}` takes {'an integer' if kind is int else 'a number'}, "
                          f"got `{text}`") from None
    if not value > 0 or value != value:
        raise LimitsError(f"limit `{name}` must be positive, got `{text}`")
    return value


def parse_limits(settings: Mapping[str, str] | list[str], base: KplLimits = DEFAULT_LIMITS) -> KplLimits:
    """``base`` with ``KEY=VALUE`` settings applied; raises :class:`LimitsError` on a bad one."""
    pairs: list[tuple[str, str]] = []
    if isinstance(settings, Mapping):
        pairs = [(str(k), str(v)) for k, v in settings.items()]
    else:
        for setting in settings:
            key, equals, text = setting.partition("=")
            if not equals:
                raise LimitsError(f"a limit is set as KEY=VALUE, got `{setting}`")
            pairs.append((key.strip(), text.strip()))
    kinds = {f.name: (int if f.type in (int, "int") else float) for f in dataclasses.fields(KplLimits)}
    changes: dict[str, int | float] = {}
    for key, text in pairs:
        name = key.replace("-", "_")
        if name not in kinds:
            raise LimitsError(f"no limit `{key}` (limits: {', '.join(limit_names())})")
        changes[name] = _value(name, text, kinds[name])
    return base.replace(**changes)


def limits_from_env(environ: Mapping[str, str]) -> KplLimits:
    """The limits with the ``KPL_LIMITS`` variable of ``environ`` applied."""
    text = environ.get("KPL_LIMITS", "")
    return parse_limits([s for s in text.split(",") if s.strip()])


# ------------------------------------------------------------------------------------ regular expressions

_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _parser() -> Any:
    return importlib.import_module("re._parser")


def _children(name: str, argument: Any) -> list[Any]:
    """The sub-patterns of one parsed item."""
    if name == "BRANCH":
        return list(argument[1])
    if name in ("SUBPATTERN", "ASSERT", "ASSERT_NOT") or name in _REPEATS:
        return [argument[-1]]
    if name == "ATOMIC_GROUP":
        return [argument]
    return []


def _risky(items: Any, inside_repeat: bool) -> str | None:
    """Why a parsed pattern may backtrack exponentially, or None.

    Exponential backtracking needs a repeated sub-pattern that can match the same text in more than one
    way: a variable repetition or an alternation inside a repetition. Backreferences are refused outright.
    """
    for op, argument in items:
        name = str(op)
        if name in ("GROUPREF", "GROUPREF_EXISTS"):
            return "backreferences"
        repeats = inside_repeat
        if name in _REPEATS:
            low, high, _ = argument
            if inside_repeat and high != low:
                return "a repetition inside a repetition"
            repeats = inside_repeat or (high > 1 and name != "POSSESSIVE_REPEAT")
        elif name == "BRANCH" and inside_repeat:
            return "alternation inside a repetition"
        for child in _children(name, argument):
            found = _risky(child, repeats)
            if found:
                return found
    return None


def compile_regex(pattern: str, flags: int = re.ASCII) -> re.Pattern[str]:
    """Compile a regular expression from a rule, refusing the exponentially backtracking shapes.

    Raises :class:`RegexLimitError` for those and over-long patterns, ``re.error`` for invalid syntax.
    """
    limits = current_limits()
    if len(pattern) > limits.regex_pattern_length:
        raise RegexLimitError(f"the pattern is longer than {limits.regex_pattern_length} characters")
    compiled = re.compile(pattern, flags)
    reason = _risky(_parser().parse(pattern, flags), False)
    if reason:
        raise RegexLimitError(f"the pattern may take exponential time: {reason}")
    return compiled


class _Expired(BaseException):
    """Raised inside a match by the timer; never escapes :func:`run_regex`."""


def _can_time() -> bool:
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return False
    return signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0) and signal.getsignal(signal.SIGALRM) in (
        signal.SIG_DFL, signal.SIG_IGN, None)


def run_regex(text: str, work: Callable[[str], T]) -> T:
    """``work(text)`` (a search over ``text``) within the subject-length and time limits.

    Raises :class:`RegexLimitError` when ``text`` is too long or the match outlives ``regex_seconds``.
    The time bound needs POSIX interval timers and the main thread; elsewhere only the length bound holds.
    """
    limits = current_limits()
    if len(text) > limits.regex_text_length:
        raise RegexLimitError(f"the text to match is longer than {limits.regex_text_length} characters")
    if not _can_time():
        return work(text)
    armed = [True]

    def expire(_signum: int, _frame: FrameType | None) -> None:
        if armed[0]:
            raise _Expired()

    previous = signal.signal(signal.SIGALRM, expire)
    try:
        signal.setitimer(signal.ITIMER_REAL, limits.regex_seconds)
        return work(text)
    except _Expired:
        raise RegexLimitError(f"the match took longer than {limits.regex_seconds:g} s") from None
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
