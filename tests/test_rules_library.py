"""The built-in rule library as a whole: layout, syntax, checks, canonical format, lazy loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpl.dsl import ast
from kpl.dsl.formatter import format_module
from kpl.dsl.parser import parse_source
from kpl.dsl.source import Source
from kpl.engine.check import check_project
from kpl.engine.library import builtin_library, library_with
from kpl.engine.project import load_project
from kpl.rules import builtin_kinds, rule_files, rules_root

FILES = rule_files()


def test_there_is_a_rule_per_kind_under_its_group_and_version() -> None:
    assert len(FILES) >= 32
    assert len(builtin_kinds()) == len(FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(rules_root()).as_posix())
def test_rule_file_is_clean_and_canonical(path: Path) -> None:
    source = Source(path.name, path.read_text(encoding="utf-8"))
    result = parse_source(source)
    assert result.diagnostics == []
    interpreters = [d for d in result.module.declarations if isinstance(d, ast.Interpreter)]
    group, version = path.relative_to(rules_root()).parts[:2]
    expected = (version if group == "core" else f"{group}/{version}", path.stem)
    assert [(i.api_version, i.kind) for i in interpreters] == [expected]
    assert format_module(result.module) == source.text, "run `kpl fmt rules/`"


def test_rule_library_checks_without_errors() -> None:
    ctx = check_project(load_project([rules_root()]))
    errors = [d for d in [*ctx.project.diagnostics, *ctx.diagnostics] if d.is_error]
    assert errors == []


def test_library_compiles_kinds_on_demand() -> None:
    builtin_library.cache_clear()
    library = builtin_library()
    rules = library.rules
    assert library.get("apps/v1", "Deployment") is not None
    compiled = rules._compiled  # type: ignore[attr-defined]
    assert list(compiled) == [("apps/v1", "Deployment")]
    assert library.get("example.io/v1", "Nothing") is None


def test_user_rule_overrides_builtin_only_for_its_kind(tmp_path: Path) -> None:
    rule = tmp_path / "deploy.kpl"
    rule.write_text("interpreter apps/v1 Deployment { replicas = 42 }\n")
    project = load_project([rule])
    user = [(d, s.name) for d, s in project.declarations() if isinstance(d, ast.Interpreter)]
    library = library_with(user)
    deployment = library.get("apps/v1", "Deployment")
    assert deployment is not None
    assert deployment.run("InterpretReplica", desired={"spec": {"replicas": 3}}) == {"replica": 42}
    assert library.origin[("apps/v1", "Deployment")] == rule.as_posix()
    assert library.get("apps/v1", "StatefulSet") is not None
