"""The rule library: built-in interpreter rules from ``kpl.rules``, overridable per kind by users.

The built-in ``.kpl`` files are parsed and compiled once per process. A user's own ``interpreter``
block for a kind replaces the built-in rule for that kind as a whole (``kpl check`` reports it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic
from kpl.dsl.parser import parse_source
from kpl.dsl.source import Source
from kpl.engine.interpreter import CompiledInterpreter, compile_interpreter
from kpl.rules import rule_files, rules_root

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


@functools.lru_cache(maxsize=1)
def builtin_library() -> Library:
    rules: dict[GVK, CompiledInterpreter] = {}
    origin: dict[GVK, str] = {}
    diagnostics: list[Diagnostic] = []
    for path in rule_files():
        name = "rules/" + path.relative_to(rules_root()).as_posix()
        result = parse_source(Source(name, path.read_text(encoding="utf-8")))
        diagnostics.extend(result.diagnostics)
        for declaration in result.module.declarations:
            if isinstance(declaration, ast.Interpreter):
                key = (declaration.api_version, declaration.kind)
                rules[key] = compile_interpreter(declaration)
                origin[key] = name
    return Library(rules, origin, tuple(diagnostics))


def library_with(user_rules: Iterable[tuple[ast.Interpreter, str]]) -> Library:
    """The built-in library with the user's interpreter blocks layered on top."""
    base = builtin_library()
    rules = dict(base.rules)
    origin = dict(base.origin)
    for node, source_name in user_rules:
        key = (node.api_version, node.kind)
        rules[key] = compile_interpreter(node)
        origin[key] = source_name
    return Library(rules, origin, base.diagnostics)
