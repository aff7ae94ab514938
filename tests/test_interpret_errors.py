"""Evaluation errors inside interpreter rules name the rule's file, line and column wherever they surface."""

from __future__ import annotations

from pathlib import Path

from kpl.cli import main
from kpl.dsl import ast
from kpl.dsl.parser import parse_source
from kpl.dsl.source import Source
from kpl.engine.interpreter import InterpretError, compile_interpreter
from kpl.engine.library import library_with

RULE = 'interpreter apps/v1 Deployment {\n  replicas = .spec.replicas + "x"\n}\n'
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "web"},
              "spec": {"replicas": 2}}


def _rule(source: Source | None) -> ast.Interpreter:
    node = parse_source(source or Source("bad.kpl", RULE)).module.declarations[0]
    assert isinstance(node, ast.Interpreter)
    return node


def _failure(source: Source | None) -> InterpretError:
    compiled = compile_interpreter(_rule(Source("bad.kpl", RULE)), source)
    try:
        compiled.run("InterpretReplica", desired=DEPLOYMENT)
    except InterpretError as error:
        return error
    raise AssertionError("the rule should fail")


def test_the_failing_expression_is_located() -> None:
    error = _failure(Source("bad.kpl", RULE))
    assert error.where() == "bad.kpl:2:14"
    assert error.describe() == "InterpretReplica failed at bad.kpl:2:14: cannot apply `+` to int and string"


def test_without_the_source_the_message_stays_whole() -> None:
    error = _failure(None)
    assert error.where() is None
    assert error.describe() == "InterpretReplica failed: cannot apply `+` to int and string"


def test_library_rules_keep_their_source() -> None:
    source = Source("policies/bad.kpl", RULE)
    library = library_with([(_rule(source), source)])
    rule = library.get("apps/v1", "Deployment")
    assert rule is not None and rule.source is source
    assert library.origin[("apps/v1", "Deployment")] == "policies/bad.kpl"
    builtin = library.get("apps.kruise.io/v1alpha1", "CloneSet")
    assert builtin is not None and builtin.source is not None
    assert builtin.source.name == "rules/apps.kruise.io/v1alpha1/CloneSet.kpl"


def test_plan_reports_the_rule_position(tmp_path: Path) -> None:
    (tmp_path / "bad.kpl").write_text(RULE + 'policy web in namespace web {\n  select apps/v1 Deployment\n}\n')
    (tmp_path / "snap.yaml").write_text(
        "apiVersion: cluster.karmada.io/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: web}\nspec: {replicas: 2}\n"
    )
    out = tmp_path / "plan.json"
    main(["plan", str(tmp_path / "bad.kpl"), "--snapshot", str(tmp_path / "snap.yaml"), "-o", "json",
          "--output-file", str(out)])
    text = out.read_text()
    assert f"InterpretReplica failed at {tmp_path / 'bad.kpl'}:2:14: cannot apply" in text
