"""``kpl export``: every exported object validates against Karmada's CRD schema, customizations carry Lua
generated from the rule (runnable in a Lua runtime), and what cannot be generated is a located error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpl.cli import main
from kpl.dsl.parser import parse
from kpl.engine.export import (
    customization_object,
    export_project,
    is_native_kind,
    load_crd_schemas,
    render_objects,
    validate_object,
)
from kpl.engine.project import Project, load_project

KARMADA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
CRDS = KARMADA / "crds"

PROJECT = """
policy web in namespace shop {
  select apps/v1 Deployment named web where labels.app == "web" and exists(labels.tier)
  priority 5
  preemption always
  propagate deps
  clusters where labels.env == "prod" and region in ["eu", "us"] and name not in ["old"]
  tolerate maintenance exists : NoExecute for 60s
  spread by region min 2 max 3
  replicas divided static { m1: 2, clusters where labels.pool == "spare": 1 }
  failover application {
    decision after 120s
    purge gracefully
    grace 300s
    preserve ready = "{ .readyReplicas }"
  }
  conflict overwrite
}

cluster policy everywhere {
  select v1 Namespace named team
  affinity first {
    clusters m1, m2
    overflow burst { clusters where provider in ["aws"] }
  }
  affinity second { exclude m3 }
  replicas duplicated
  suspend dispatching
}

quota team in namespace team {
  overall { cpu = 10, memory = 20Gi }
  assign m1 { cpu = 4 }
}

interpreter example.io/v1 Widget {
  let ready = .status.readyReplicas ?? 0
  replicas = .spec.replicas ?? 1
  requirements = pod_requirements(.spec.template)
  revise = . with { .spec.replicas: desired_replicas }
  health = ready >= (.spec.replicas ?? 1)
  dependencies = pod_dependencies(.spec.template, .metadata.namespace)
  status = {readyReplicas: ready}
  aggregate = . with { .status.readyReplicas: sum(i.status.readyReplicas ?? 0 for i in status_items) }
  retain = . with { .spec.paused: observed.spec.paused }
}
"""


def _project(text: str, name: str = "project.kpl") -> Project:
    result = parse(text, name)
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    return Project(modules=[result.module])


@pytest.fixture(scope="module")
def schemas() -> dict[tuple[str, str], dict[str, Any]]:
    if not CRDS.is_dir():
        pytest.skip("the shared Karmada CRDs are not next to the repository")
    return load_crd_schemas(CRDS)


def test_every_exported_object_validates_against_its_crd(schemas: dict[tuple[str, str], Any]) -> None:
    result = export_project(_project(PROJECT), builtin=True)
    assert result.ok, [d.message for d in result.diagnostics]
    kinds = {o["kind"] for o in result.objects}
    assert kinds == {"PropagationPolicy", "ClusterPropagationPolicy", "FederatedResourceQuota",
                     "ResourceInterpreterCustomization"}
    for obj in result.objects:
        assert validate_object(obj, schemas) == [], obj["metadata"]["name"]


def test_validation_can_fail(schemas: dict[tuple[str, str], Any]) -> None:
    obj = export_project(_project(PROJECT)).objects[0]
    broken = {**obj, "spec": {**obj["spec"], "priority": "high"}}
    assert any("priority" in p for p in validate_object(broken, schemas))
    assert validate_object({"apiVersion": "x/v1", "kind": "Nothing"}, schemas) == ["no CRD schema for x/v1 Nothing"]


def test_a_customization_has_one_script_per_operation() -> None:
    project = _project(PROJECT)
    node = project.modules[0].declarations[-1]
    obj, problems = customization_object(node, project.modules[0].source)  # type: ignore[arg-type]
    assert problems == [] and obj is not None
    assert obj["spec"]["target"] == {"apiVersion": "example.io/v1", "kind": "Widget"}
    scripts = obj["spec"]["customizations"]
    assert sorted(scripts) == ["dependencyInterpretation", "healthInterpretation", "replicaResource",
                               "replicaRevision", "retention", "statusAggregation", "statusReflection"]
    assert "function GetReplicas(obj)" in scripts["replicaResource"]["luaScript"]
    assert "function Retain(desiredObj, observedObj)" in scripts["retention"]["luaScript"]


def test_exported_lua_runs_and_answers_like_kpl() -> None:
    pytest.importorskip("lupa.lua51")
    from test_lua import compare_both

    from kpl.engine.interpreter import compile_interpreter

    project = _project(PROJECT)
    node = project.modules[0].declarations[-1]
    obj, _ = customization_object(node, project.modules[0].source)  # type: ignore[arg-type]
    assert obj is not None
    rule = compile_interpreter(node)  # type: ignore[arg-type]
    widget = {"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"},
              "spec": {"replicas": 3, "template": {"spec": {"containers": [
                  {"name": "c", "resources": {"requests": {"cpu": "250m"}}, "envFrom": [
                      {"configMapRef": {"name": "cfg"}}]}]}}},
              "status": {"readyReplicas": 2}}
    items = [{"clusterName": "m1", "status": {"readyReplicas": 1}}, {"clusterName": "m2", "status": {}}]
    scripts = {k: v["luaScript"] for k, v in obj["spec"]["customizations"].items()}
    cases: list[tuple[str, str, list[Any]]] = [
        ("InterpretReplica", "replicaResource", [widget]), ("ReviseReplica", "replicaRevision", [widget, 5]),
        ("InterpretHealth", "healthInterpretation", [widget]),
        ("InterpretDependency", "dependencyInterpretation", [widget]),
        ("InterpretStatus", "statusReflection", [widget]), ("AggregateStatus", "statusAggregation", [widget, items]),
        ("Retain", "retention", [widget, {**widget, "spec": {"paused": True}}]),
    ]
    for operation, field, args in cases:
        assert compare_both(rule, scripts[field], operation, args) is None, operation


def test_rules_lua_cannot_express_are_located_errors_and_nothing_is_exported() -> None:
    text = ("interpreter example.io/v1 Gadget {\n  replicas = 1\n"
            "  health = gate(\"SomeGate\")\n}\n")
    result = export_project(_project(text, "gadget.kpl"))
    assert not result.ok and result.objects == ()
    [diagnostic] = result.diagnostics
    assert diagnostic.code == "export.lua_unsupported"
    assert diagnostic.location() == ("gadget.kpl", 3, 12)


def test_policy_errors_stop_the_export() -> None:
    result = export_project(_project("policy p { clusters where labels.a > \"b\" }"))
    assert not result.ok
    assert {d.code for d in result.diagnostics} >= {"compile.no_selector", "compile.unsupported_selector"}


def test_builtin_exports_third_party_kinds_only() -> None:
    result = export_project(Project(), builtin=True)
    targets = {(o["spec"]["target"]["apiVersion"], o["spec"]["target"]["kind"]) for o in result.objects}
    assert ("apps.kruise.io/v1alpha1", "CloneSet") in targets
    assert all(not is_native_kind(api_version) for api_version, _ in targets)
    assert is_native_kind("apps/v1") and is_native_kind("v1") and is_native_kind("networking.k8s.io/v1")
    assert not is_native_kind("ray.io/v1")


def test_a_user_rule_replaces_the_builtin_one() -> None:
    text = "interpreter apps.kruise.io/v1alpha1 CloneSet {\n  replicas = 7\n}\n"
    result = export_project(_project(text), builtin=True)
    clone_sets = [o for o in result.objects if o["spec"]["target"].get("kind") == "CloneSet"]
    assert len(clone_sets) == 1 and list(clone_sets[0]["spec"]["customizations"]) == ["replicaResource"]


def test_yaml_and_json_renderings_read_back_to_the_same_objects() -> None:
    objects = export_project(_project(PROJECT)).objects
    assert list(yaml.safe_load_all(render_objects(objects))) == list(objects)
    listing = json.loads(render_objects(objects, "json"))
    assert listing["kind"] == "List" and listing["items"] == list(objects)
    assert "luaScript: |" in render_objects(objects)


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "project.kpl"
    source.write_text(PROJECT, encoding="utf-8")
    assert main(["export", str(source), "-o", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 4
    target = tmp_path / "out.yaml"
    args = ["export", str(tmp_path), "--output-file", str(target)]
    if CRDS.is_dir():
        args += ["--crds", str(CRDS)]
    assert main(args) == 0
    assert len(list(yaml.safe_load_all(target.read_text(encoding="utf-8")))) == 4
    assert load_project([tmp_path]).modules
    broken = tmp_path / "broken.kpl"
    broken.write_text("interpreter example.io/v1 G {\n  health = gate(\"X\")\n}\n", encoding="utf-8")
    assert main(["export", str(broken)]) == 1
    assert "broken.kpl:2:" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.kpl")]) == 2
