"""The plan graph: bindings built as Karmada's detector does, scheduled as its scheduler does."""

from __future__ import annotations

import copy
import json
import os
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.cli import main
from kpl.engine.bindings import (
    NATIVE_REPLICA_KINDS,
    binding_name,
    build_binding,
    choose_policy,
    interpret_workload,
    native_replicas,
)
from kpl.engine.features import FeatureGates
from kpl.engine.library import Library
from kpl.engine.matching import PolicyView, ResourceView
from kpl.engine.plan import REPORT, Plan, PlanInputs, load_plan_inputs
from kpl.engine.report import PlacementReport, render_json

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "fleet"
GOLDEN = Path(__file__).resolve().parent / "golden" / "plan_example_fleet.json"
VECTORS = REPO.parent / "shared" / "conformance" / "karmada" / "vectors" / "interpreter.yaml"


# ------------------------------------------------------------------------------------ builders


def cluster(name: str, *, cpu: str = "8", pods: str = "110", labels: Mapping[str, str] | None = None,
            region: str = "", taints: Sequence[Mapping[str, str]] = (),
            apis: Sequence[str] = ("apps/v1",)) -> dict[str, Any]:
    return {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
        "metadata": {"name": name, "labels": dict(labels or {})},
        "spec": {"region": region, "taints": list(taints)},
        "status": {
            "apiEnablements": [
                {"groupVersion": g, "resources": [{"name": "any", "kind": "Deployment"}]} for g in apis
            ],
            "resourceSummary": {"allocatable": {"cpu": cpu, "memory": "64Gi", "pods": pods}},
        },
    }


def deployment(name: str, namespace: str = "web", *, replicas: int | None = 3, cpu: str = "1",
               labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"template": {"spec": {"containers": [
        {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    metadata = {"name": name, "namespace": namespace, "labels": dict(labels or {}), "uid": f"uid-{name}"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}


def policy(name: str, placement: Mapping[str, Any], *, namespace: str = "web", priority: int | None = None,
           selector: Mapping[str, Any] | None = None, kind: str = "PropagationPolicy") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "resourceSelectors": [dict(selector or {"apiVersion": "apps/v1", "kind": "Deployment"})],
        "placement": copy.deepcopy(dict(placement)),
    }
    if priority is not None:
        spec["priority"] = priority
    metadata = {"name": name} if kind != "PropagationPolicy" else {"name": name, "namespace": namespace}
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}


def run(clusters: Sequence[Mapping[str, Any]], workloads: Sequence[Mapping[str, Any]],
        policies: Sequence[Mapping[str, Any]], **options: Any) -> PlacementReport:
    options.setdefault("library", NATIVE_ONLY)
    inputs = PlanInputs(tuple(clusters), tuple(workloads), tuple(policies), **options)
    return Plan.compile(inputs).evaluate()


def targets(report: PlacementReport, index: int = 0) -> dict[str, int] | None:
    found = report.bindings[index].clusters
    return None if found is None else {t.name: t.replicas for t in found}


NATIVE_ONLY = Library({})  # Deployments need no rule file: Karmada's native interpreter answers them
DIVIDED = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}
STATIC: dict[str, Any] = {"replicaScheduling": dict(DIVIDED)}
DYNAMIC: dict[str, Any] = {
    "replicaScheduling": {**DIVIDED, "weightPreference": {"dynamicWeight": "AvailableReplicas"}},
}


# ------------------------------------------------------------------------------------ scheduling outcomes


def test_duplicated_skips_a_tainted_cluster_with_karmadas_reason() -> None:
    taint = {"key": "maintenance", "value": "yes", "effect": "NoSchedule"}
    report = run([cluster("a"), cluster("b", taints=[taint]), cluster("c")], [deployment("app")],
                 [policy("pp", {})])
    assert targets(report) == {"a": 3, "c": 3}
    why = {e.name: e.reason for e in report.bindings[0].explanations}
    assert why["b"] == "cluster(s) had untolerated taint {maintenance=yes:NoSchedule}"
    assert report.bindings[0].condition is not None and report.bindings[0].condition.reason == "Success"


def test_static_weights_use_webster() -> None:
    weights = {"staticWeightList": [{"targetCluster": {"clusterNames": ["a"]}, "weight": 2},
                                    {"targetCluster": {"clusterNames": ["b"]}, "weight": 1}]}
    placement = copy.deepcopy(STATIC)
    placement["replicaScheduling"]["weightPreference"] = weights
    report = run([cluster("a"), cluster("b")], [deployment("app", replicas=9)], [policy("pp", placement)])
    assert targets(report) == {"a": 6, "b": 3}


def test_no_cluster_fits_is_a_fit_error_and_no_clusters() -> None:
    placement = {"clusterAffinity": {"clusterNames": ["elsewhere"]}}
    report = run([cluster("a"), cluster("b")], [deployment("app")], [policy("pp", placement)])
    binding = report.bindings[0]
    assert binding.clusters is None and not report.ok
    assert binding.error is not None and binding.error.type == "FitError"
    assert binding.error.message == (
        "0/2 clusters are available: 2 cluster(s) did not match the placement cluster affinity constraint.")


def test_not_enough_capacity_is_unschedulable() -> None:
    report = run([cluster("a", cpu="3"), cluster("b", cpu="2")], [deployment("app", replicas=10)],
                 [policy("pp", DYNAMIC)])
    error = report.bindings[0].error
    assert error is not None and error.type == "Unschedulable"
    assert error.message == ("failed to assign replicas: failed to scale up: "
                             "Clusters available replicas 5 are not enough to schedule.")


def test_dynamic_weights_follow_capacity_and_cluster_usage_adds_up() -> None:
    report = run([cluster("a", cpu="8"), cluster("b", cpu="4")], [deployment("app", replicas=6)],
                 [policy("pp", DYNAMIC)])
    assert targets(report) == {"a": 4, "b": 2}
    usage = {c.name: c for c in report.clusters}
    assert usage["a"].replicas == 4 and str(usage["a"].requests["cpu"]) == "4"
    assert str(usage["a"].requests["memory"]) == "4Gi" and usage["a"].free is not None
    assert str(usage["b"].free["cpu"]) == "4" if usage["b"].free else False


def test_unmatched_workloads_are_listed_not_scheduled() -> None:
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "web"}}
    report = run([cluster("a")], [deployment("app"), other], [policy("pp", {}, selector={
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "app"})])
    assert [b.name for b in report.bindings] == ["app-deployment"]
    assert [r.name for r in report.unmatched] == ["cfg"]


# ------------------------------------------------------------------------------------ policy choice


def test_policy_choice_explains_the_losers() -> None:
    named = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"}
    policies = [
        policy("broad", {}, priority=5), policy("low", {}, priority=1, selector=named),
        policy("precise", {}, priority=5, selector=named), policy("zzz", {}, priority=5, selector=named),
        policy("everywhere", {}, kind="ClusterPropagationPolicy", priority=100),
    ]
    report = run([cluster("a")], [deployment("app")], policies)
    chosen = report.bindings[0].policy
    assert chosen is not None and (chosen.name, chosen.priority, chosen.match) == ("precise", 5, "name")
    reasons = {name: why for _, _, name, why in chosen.lost}
    assert reasons == {
        "broad": "less precise match (all < name)",
        "low": "lower priority (1 < 5)",
        "zzz": "name `zzz` sorts after `precise`",
        "everywhere": "a PropagationPolicy matched; ClusterPropagationPolicies apply only when none does",
    }


def test_a_claimed_template_keeps_its_policy() -> None:
    app = deployment("app")
    app["metadata"]["annotations"] = {"propagationpolicy.karmada.io/namespace": "web",
                                      "propagationpolicy.karmada.io/name": "old"}
    app["metadata"]["labels"] = {"propagationpolicy.karmada.io/permanent-id": "x"}
    views = [PolicyView.from_object(policy("old", {})), PolicyView.from_object(policy("new", {}, priority=9))]
    choice = choose_policy(ResourceView.from_object(app), views)
    assert choice.chosen is not None and choice.chosen.name == "old" and choice.claimed
    assert choice.losers[0][1] == "the template is already claimed by PropagationPolicy `web/old`"


def test_cluster_policy_applies_when_no_namespaced_policy_matches() -> None:
    report = run([cluster("a")], [deployment("app")], [policy("cpp", {}, kind="ClusterPropagationPolicy")])
    chosen = report.bindings[0].policy
    assert chosen is not None and chosen.kind == "ClusterPropagationPolicy"
    assert report.bindings[0].kind == "ResourceBinding"


# ------------------------------------------------------------------------------------ bindings


def test_binding_names_follow_the_detector() -> None:
    assert binding_name("Deployment", "web") == "web-deployment"
    assert binding_name("ClusterRole", "system:admin") == "system.admin-clusterrole"


def test_native_replicas() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "spec": {"parallelism": 5, "completions": 3}}
    assert native_replicas(job)[0] == 3
    assert native_replicas({"apiVersion": "batch/v1", "kind": "Job", "spec": {"parallelism": 4}})[0] == 4
    assert native_replicas({"apiVersion": "v1", "kind": "Pod", "spec": {}}) == (1, None)
    assert native_replicas(deployment("d", replicas=None))[0] == 0
    assert sorted(f"{g}/{k}" for g, k in NATIVE_REPLICA_KINDS) == [
        "apps/v1/Deployment", "apps/v1/ReplicaSet", "apps/v1/StatefulSet", "batch/v1/Job", "v1/Pod"]


def _native_cases() -> list[Any]:
    import yaml

    if not VECTORS.exists():
        return []
    cases = yaml.safe_load(VECTORS.read_text(encoding="utf-8"))["cases"]
    return [pytest.param(c, id=c["name"]) for c in cases if c["op"] == "native_get_replicas"]


@pytest.mark.parametrize("case", _native_cases())
def test_native_replicas_match_karmadas_tests(case: Mapping[str, Any]) -> None:
    replicas, requirements = native_replicas(case["input"]["object"])
    assert replicas == case["expected"]["replicas"]
    assert requirements == case["expected"]["replicaRequirements"]


def test_quota_estimate_gate_fills_the_namespace() -> None:
    gates = FeatureGates.parse("ResourceQuotaEstimate=true")
    found = interpret_workload(deployment("app"), NATIVE_ONLY, gates)
    assert found.replica_requirements is not None and found.replica_requirements["namespace"] == "web"
    assert "namespace" not in (interpret_workload(deployment("app"), NATIVE_ONLY).replica_requirements or {})


def test_previous_binding_keeps_result_and_status() -> None:
    previous = {"apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
                "metadata": {"name": "app-deployment", "namespace": "web"},
                "spec": {"clusters": [{"name": "a", "replicas": 3}], "replicas": 1, "placement": {"x": 1}},
                "status": {"schedulerObservingAffinityName": "x"}}
    interpretation = interpret_workload(deployment("app"), NATIVE_ONLY)
    built = build_binding(deployment("app"), policy("pp", {"clusterAffinity": {}}), interpretation, previous)
    assert built["spec"]["clusters"] == [{"name": "a", "replicas": 3}]
    assert built["status"] == {"schedulerObservingAffinityName": "x"}
    assert built["spec"]["placement"] == {"clusterAffinity": {}}
    assert built["spec"]["replicas"] == 3 and built["spec"]["resource"]["uid"] == "uid-app"
    assert built["metadata"]["annotations"]["propagationpolicy.karmada.io/name"] == "pp"


def test_interpretation_failure_is_a_value() -> None:
    from kpl.dsl import ast
    from kpl.dsl.parser import parse_source
    from kpl.dsl.source import Source
    from kpl.engine.interpreter import compile_interpreter

    text = 'interpreter apps/v1 Deployment {\n  replicas = .spec.replicas + "x"\n}\n'
    node = parse_source(Source("bad.kpl", text)).module.declarations[0]
    assert isinstance(node, ast.Interpreter)
    key = ("apps/v1", "Deployment")
    library = Library({key: compile_interpreter(node)}, {key: "bad.kpl"})
    report = run([cluster("a")], [deployment("app")], [policy("pp", {})], library=library)
    binding = report.bindings[0]
    assert binding.error is not None and binding.error.message.startswith("InterpretReplica failed")
    assert not report.ok


def test_components_with_the_gate() -> None:
    gates = FeatureGates.parse("MultiplePodTemplatesScheduling=true")
    loaded = load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"], gates)
    report = Plan.compile(loaded.inputs).evaluate()
    fraud = next(b for b in report.bindings if b.name == "fraud-detector-flinkdeployment")
    assert fraud.components == (("jobmanager", 1), ("taskmanager", 1))
    assert fraud.clusters is not None and [t.name for t in fraud.clusters] == ["member1"]
    assert fraud.clusters[0].components is not None and len(fraud.clusters[0].components) == 2


def test_snapshot_bindings_are_scheduled_by_their_own_placement() -> None:
    binding = {"apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
               "metadata": {"name": "app-deployment", "namespace": "web",
                            "annotations": {"propagationpolicy.karmada.io/name": "pp",
                                            "propagationpolicy.karmada.io/namespace": "web"}},
               "spec": {"resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "web",
                                     "name": "app"}, "replicas": 2, "placement": {}}}
    inputs = PlanInputs(clusters=(cluster("a"), cluster("b")), bindings=(binding,), library=NATIVE_ONLY,
                        from_policies=False)
    report = Plan.compile(inputs).evaluate()
    assert report.mode == "bindings" and targets(report) == {"a": 2, "b": 2}
    assert report.bindings[0].policy is not None and report.bindings[0].policy.name == "pp"


# ------------------------------------------------------------------------------------ graph and determinism


def _example_inputs() -> PlanInputs:
    loaded = load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"])
    assert not loaded.diagnostics and not loaded.io_failed
    return loaded.inputs


def test_graph_shape() -> None:
    plan = Plan.compile(_example_inputs())
    schedule = "schedule:shop/storefront-deployment"
    assert set(plan.graph.predecessors(schedule)) == {"binding:shop/storefront-deployment", "fleet"}
    assert set(plan.graph.predecessors("fleet")) == {"cluster:member1", "cluster:member2", "cluster:member3"}
    assert set(plan.graph.predecessors("binding:shop/storefront-deployment")) == {
        "workload:shop/Deployment/storefront", "match:shop/Deployment/storefront"}
    match = "match:shop/Deployment/storefront"
    assert "policy:PropagationPolicy/shop/storefront" in plan.graph.predecessors(match)
    assert REPORT in plan.graph


def test_incremental_reevaluation_equals_a_fresh_plan() -> None:
    inputs = _example_inputs()
    plan = Plan.compile(inputs)
    plan.evaluate()
    interpretation = plan.results["workload:shop/Deployment/storefront"]
    changed = copy.deepcopy(dict(next(c for c in inputs.clusters if c["metadata"]["name"] == "member2")))
    changed["status"]["resourceSummary"]["allocated"]["cpu"] = "31"
    plan.update_cluster(changed)
    again = plan.evaluate()
    assert plan.results["workload:shop/Deployment/storefront"] is interpretation  # not recomputed
    clusters = tuple(changed if c["metadata"]["name"] == "member2" else c for c in inputs.clusters)
    fresh = Plan.compile(PlanInputs(clusters, inputs.workloads, inputs.policies, inputs.bindings,
                                    inputs.library, inputs.gates, quotas=inputs.quotas)).evaluate()
    assert render_json(again) == render_json(fresh)
    assert render_json(again) != render_json(Plan.compile(inputs).evaluate())


def test_same_bytes_twice() -> None:
    inputs = _example_inputs()
    assert render_json(Plan.compile(inputs).evaluate()) == render_json(Plan.compile(inputs).evaluate())


@settings(max_examples=8, deadline=None)
@given(st.randoms(use_true_random=False))
def test_input_order_does_not_matter(rng: random.Random) -> None:
    inputs = _example_inputs()
    expected = render_json(Plan.compile(inputs).evaluate())
    shuffled = [list(inputs.clusters), list(inputs.workloads), list(inputs.policies)]
    for items in shuffled:
        rng.shuffle(items)
    again = PlanInputs(tuple(shuffled[0]), tuple(shuffled[1]), tuple(shuffled[2]), inputs.bindings,
                       inputs.library, inputs.gates, quotas=inputs.quotas)
    assert render_json(Plan.compile(again).evaluate()) == expected


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=60), st.lists(st.integers(min_value=1, max_value=9), min_size=1,
                                                        max_size=4))
def test_static_division_sums_to_the_replicas(replicas: int, weights: list[int]) -> None:
    names = [f"m{i}" for i in range(len(weights))]
    placement = copy.deepcopy(STATIC)
    placement["replicaScheduling"]["weightPreference"] = {"staticWeightList": [
        {"targetCluster": {"clusterNames": [n]}, "weight": w} for n, w in zip(names, weights, strict=True)]}
    report = run([cluster(n) for n in names], [deployment("app", replicas=replicas)],
                 [policy("pp", placement)])
    found = targets(report)
    assert found is not None and sum(found.values()) == replicas
    assert sum(c.replicas for c in report.clusters) == replicas


# ------------------------------------------------------------------------------------ the example and the CLI


def test_example_report_matches_the_golden_file() -> None:
    text = render_json(Plan.compile(_example_inputs()).evaluate())
    if os.environ.get("KPL_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_example_placements() -> None:
    report = Plan.compile(_example_inputs()).evaluate()
    by_name = {b.name: b for b in report.bindings}
    assert targets(report, list(by_name).index("storefront-deployment")) == {"member1": 4, "member2": 2}
    fraud = by_name["fraud-detector-flinkdeployment"]
    assert fraud.clusters is not None and [(t.name, t.replicas) for t in fraud.clusters] == [("member1", 2)]
    member3 = next(e for e in fraud.explanations if e.name == "member3")
    assert member3.reason == "cluster(s) did not have the API resource"


def test_cli_plan_example(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = [str(EXAMPLE / "policies"), "--snapshot", str(EXAMPLE / "snapshot")]
    assert main(["plan", *args]) == 0
    out = capsys.readouterr().out
    assert "storefront-deployment" in out and "fraud-detector-flinkdeployment" in out and "\x1b[" not in out
    target = tmp_path / "report.json"
    assert main(["plan", *args, "-o", "json", "--output-file", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["formatVersion"] == 2
    assert main(["plan", *args, "-o", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("## kpl plan")


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Cluster\nmetadata: [\n", encoding="utf-8")
    assert main(["plan", "--snapshot", str(bad)]) == 2
    assert f"{bad.as_posix()}:" in capsys.readouterr().err
    assert main(["plan", "--snapshot", str(EXAMPLE / "snapshot"), "--feature-gates", "Nope=true"]) == 2
    assert main(["plan", "--snapshot", str(tmp_path / "missing")]) == 2
    broken = tmp_path / "broken.kpl"
    text = "policy p in namespace shop {\n  select apps/v1 Deployment named storefront\n  spread by\n}\n"
    broken.write_text(text, encoding="utf-8")
    assert main(["plan", str(broken), "--snapshot", str(EXAMPLE / "snapshot")]) == 1
    failing = tmp_path / "nowhere.yaml"
    failing.write_text(json.dumps(policy("nowhere", {"clusterAffinity": {"clusterNames": ["none"]}},
                                         namespace="shop")), encoding="utf-8")
    capsys.readouterr()
    assert main(["plan", str(failing), "--snapshot", str(EXAMPLE / "snapshot"), "-o", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["failed"] == 1


def test_detector_skips_reserved_and_kube_namespaces() -> None:
    namespaces = ("kube-system", "karmada-es-m1", "karmada-system", "mykube-x")
    workloads = [deployment(f"app{i}", namespace) for i, namespace in enumerate(namespaces)]
    cpp = policy("all", {}, kind="ClusterPropagationPolicy")
    report = run([cluster("m1")], workloads, [cpp])
    assert [b.resource.namespace for b in report.bindings] == ["mykube-x"] and not report.unmatched
