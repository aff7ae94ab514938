"""The rule library: built-in interpreter rules from ``kpl.rules``, overridable per kind by users.

The built-in ``.kpl`` files are parsed and compiled once per process. A user's own ``interpreter``
block for a kind replaces the built-in rule for that kind as a whole (``kpl check`` reports it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kpl.dsl.source import Source
from kpl.rules import builtin_kinds, rules_root

if TYPE_CHECKING:  # the parser and the interpreter are imported when a rule is first compiled
    from kpl.dsl import ast
    from kpl.dsl.diagnostics import Diagnostic
    from kpl.engine.interpreter import CompiledInterpreter

__all__ = ["Library", "builtin_library", "library_with"]

GVK = tuple[str, str]


@dataclass(frozen=True)
class Library:
    """Interpreter rules keyed by ``(apiVersion, kind)``; ``origin`` says where each came from."""

    rules: Mapping[GVK, CompiledInterpreter]
    origin: Mapping[GVK, str] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()

    def get(self, api_version: str, kind: str) -> CompiledInterpreter | None:
        return self.rules.get((api_version, kind))

    def kinds(self) -> list[GVK]:
        return sorted(self.rules)


class _BuiltinRules(Mapping[GVK, "CompiledInterpreter"]):
    """The built-in rules, each file parsed and compiled the first time its kind is asked for.

    A plan over a fleet that runs three kinds compiles three rule files, not the whole library.
    """

    def __init__(self, paths: Mapping[GVK, Path]) -> None:
        self._paths = dict(paths)
        self._compiled: dict[GVK, CompiledInterpreter] = {}

    def __getitem__(self, key: GVK) -> CompiledInterpreter:
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile_file(self._paths[key], key)
        return found

    def __iter__(self) -> Iterator[GVK]:
        return iter(sorted(self._paths))

    def __len__(self) -> int:
        return len(self._paths)


def _compile_file(path: Path, key: GVK) -> CompiledInterpreter:
    from kpl.dsl import ast
    from kpl.dsl.parser import parse_source
    from kpl.engine.interpreter import compile_interpreter

    source = Source(_origin(path), path.read_text(encoding="utf-8"))
    result = parse_source(source)
    for declaration in result.module.declarations:
        if isinstance(declaration, ast.Interpreter) and (declaration.api_version, declaration.kind) == key:
            return compile_interpreter(declaration, source)
    problem = result.diagnostics[0].message if result.diagnostics else "no interpreter for its kind"
    raise RuntimeError(f"built-in rule {source.name} is broken: {problem}")


def _origin(path: Path) -> str:
    return "rules/" + path.relative_to(rules_root()).as_posix()


class _Overlay(Mapping[GVK, "CompiledInterpreter"]):
    """User rules over the built-in ones, without compiling the built-in ones up front."""

    def __init__(self, top: Mapping[GVK, CompiledInterpreter], base: Mapping[GVK, CompiledInterpreter]) -> None:
        self._top = top
        self._base = base

    def __getitem__(self, key: GVK) -> CompiledInterpreter:
        return self._top[key] if key in self._top else self._base[key]

    def __iter__(self) -> Iterator[GVK]:
        return iter(sorted(set(self._top) | set(self._base)))

    def __len__(self) -> int:
        return len(set(self._top) | set(self._base))


@functools.lru_cache(maxsize=1)
def builtin_library() -> Library:
    paths = builtin_kinds()
    return Library(_BuiltinRules(paths), {key: _origin(path) for key, path in paths.items()})


def library_with(user_rules: Iterable[tuple[ast.Interpreter, str | Source]]) -> Library:
    """The built-in library with the user's interpreter blocks layered on top.

    Each block comes with its source (or only the source's name): with the source, evaluation errors name
    their line and column."""
    from kpl.engine.interpreter import compile_interpreter

    base = builtin_library()
    top: dict[GVK, CompiledInterpreter] = {}
    origin = dict(base.origin)
    for node, source in user_rules:
        key = (node.api_version, node.kind)
        top[key] = compile_interpreter(node, source if isinstance(source, Source) else None)
        origin[key] = source.name if isinstance(source, Source) else source
    return Library(_Overlay(top, base.rules), origin, base.diagnostics)
