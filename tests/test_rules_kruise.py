"""Built-in rules for OpenKruise workloads and Argo Workflow, judged by Karmada's own interpreter test data.

Kinds: apps.kruise.io/v1alpha1 AdvancedCronJob, BroadcastJob, CloneSet, DaemonSet, SidecarSet,
UnitedDeployment; apps.kruise.io/v1beta1 StatefulSet; argoproj.io/v1alpha1 Workflow. Every case of their
``*-test.yaml`` files must pass (the data is read in place from the shared folder); the remaining tests pin
down behaviour the data does not cover.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.conformance.runner import CaseResult, run_paths
from kpl.engine.interpreter import CompiledInterpreter
from kpl.engine.library import builtin_library

KARMADA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
INTERPRETER = KARMADA / "interpreter"
KINDS = (
    "apps.kruise.io/v1alpha1/AdvancedCronJob",
    "apps.kruise.io/v1alpha1/BroadcastJob",
    "apps.kruise.io/v1alpha1/CloneSet",
    "apps.kruise.io/v1alpha1/DaemonSet",
    "apps.kruise.io/v1alpha1/SidecarSet",
    "apps.kruise.io/v1alpha1/UnitedDeployment",
    "apps.kruise.io/v1beta1/StatefulSet",
    "argoproj.io/v1alpha1/Workflow",
)
# The operations each bundled customization defines.
OPERATIONS = {
    "AdvancedCronJob": {"AggregateStatus", "InterpretDependency"},
    "BroadcastJob": {"InterpretReplica", "ReviseReplica", "InterpretHealth", "AggregateStatus", "Retain",
                     "InterpretStatus", "InterpretDependency"},
    "CloneSet": {"InterpretReplica", "ReviseReplica", "InterpretHealth", "AggregateStatus", "InterpretStatus",
                 "InterpretDependency"},
    "DaemonSet": {"AggregateStatus", "InterpretStatus", "InterpretHealth", "InterpretDependency"},
    "SidecarSet": {"InterpretStatus", "InterpretReplica", "AggregateStatus", "Retain", "InterpretHealth",
                   "InterpretDependency"},
    "UnitedDeployment": {"InterpretReplica", "ReviseReplica", "AggregateStatus", "InterpretStatus",
                         "InterpretHealth", "InterpretDependency"},
    "StatefulSet": {"InterpretReplica", "ReviseReplica", "AggregateStatus", "InterpretStatus", "InterpretHealth",
                    "InterpretDependency"},
    "Workflow": {"InterpretReplica", "ReviseReplica", "InterpretHealth", "Retain", "InterpretDependency"},
}


def _cases() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for kind in KINDS:
        for path in sorted((INTERPRETER / kind).glob("*-test.yaml")):
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if isinstance(doc, dict):
                    found.append((path.relative_to(KARMADA).as_posix(), str(doc.get("name"))))
    return found


CASES = _cases() if INTERPRETER.is_dir() else []


@functools.lru_cache(maxsize=1)
def _results() -> dict[tuple[str, str], CaseResult]:
    summary = run_paths([INTERPRETER / kind for kind in KINDS], base=KARMADA)
    assert not summary.load_errors, summary.load_errors
    return {(r.file, r.case): r for r in summary.results}


@pytest.mark.skipif(not CASES, reason="Karmada conformance data is not present beside the repository")
@pytest.mark.parametrize(("file", "case"), CASES, ids=[f"{f.split('/')[-2]}:{c}" for f, c in CASES])
def test_karmada_case_passes(file: str, case: str) -> None:
    result = _results()[(file, case)]
    assert result.outcome == "passed", f"{result.operation}: {result.message}"


@pytest.mark.skipif(not CASES, reason="Karmada conformance data is not present beside the repository")
def test_every_kind_has_cases() -> None:
    for kind in KINDS:
        assert any(file.startswith(f"interpreter/{kind}/") for file, _ in CASES), kind
    assert len(CASES) >= 100


def test_rules_parse_and_answer_exactly_the_bundled_operations() -> None:
    library = builtin_library()
    ours = [d for d in library.diagnostics if any(d.source.name == f"rules/{kind}.kpl" for kind in KINDS)]
    assert not ours, [d.message for d in ours]
    for kind in KINDS:
        group, version, name = kind.split("/")
        rule = library.get(f"{group}/{version}", name)
        assert rule is not None, kind
        assert set(rule.operations()) == OPERATIONS[name], kind


def _rule(api_version: str, kind: str) -> CompiledInterpreter:
    rule = builtin_library().get(api_version, kind)
    assert rule is not None
    return rule


def _kruise(kind: str) -> CompiledInterpreter:
    return _rule("apps.kruise.io/v1alpha1", kind)


# ------------------------------------------------------------------------------ aggregation properties

COUNT = st.integers(min_value=0, max_value=1000)
MEMBER_STATUS = st.fixed_dictionaries(
    {},
    optional={
        "replicas": COUNT, "readyReplicas": COUNT, "updatedReplicas": COUNT, "availableReplicas": COUNT,
        "currentReplicas": COUNT, "updatedReadyReplicas": COUNT, "unavailableReplicas": COUNT,
        "generation": st.integers(1, 3), "observedGeneration": st.integers(1, 3),
        "resourceTemplateGeneration": st.integers(1, 3),
    },
)
ITEMS = st.lists(st.builds(lambda s: {"clusterName": "m", "status": s}, MEMBER_STATUS), max_size=5)


@settings(max_examples=40, deadline=None)
@given(items=ITEMS, generation=st.integers(1, 3), previous=st.integers(0, 3))
def test_statefulset_aggregate_sums_members_and_advances_only_when_all_caught_up(
        items: list[dict[str, Any]], generation: int, previous: int) -> None:
    desired = {"apiVersion": "apps.kruise.io/v1beta1", "kind": "StatefulSet",
               "metadata": {"name": "s", "generation": generation}, "status": {"observedGeneration": previous}}
    status = _rule("apps.kruise.io/v1beta1", "StatefulSet").run(
        "AggregateStatus", desired=desired, status_items=items)["aggregatedStatus"]["status"]
    for field in ("replicas", "readyReplicas", "updatedReplicas", "availableReplicas", "currentReplicas"):
        assert status[field] == sum(i["status"].get(field, 0) for i in items)
    caught_up = all(i["status"].get("resourceTemplateGeneration", 0) == generation
                    and i["status"].get("generation", 0) == i["status"].get("observedGeneration", 0)
                    for i in items)
    assert status["observedGeneration"] == (generation if caught_up else previous)


@settings(max_examples=40, deadline=None)
@given(items=ITEMS, generation=st.integers(1, 3))
def test_uniteddeployment_member_without_status_holds_observed_generation(
        items: list[dict[str, Any]], generation: int) -> None:
    desired = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "UnitedDeployment",
               "metadata": {"name": "u", "generation": generation}, "status": {"observedGeneration": 0}}
    current = [{"status": {"generation": generation, "observedGeneration": generation,
                           "resourceTemplateGeneration": generation, "replicas": 1}} for _ in items]
    rule = _kruise("UnitedDeployment")
    alone = rule.run("AggregateStatus", desired=desired, status_items=current)["aggregatedStatus"]["status"]
    assert alone["observedGeneration"] == generation
    assert alone["replicas"] == len(items)
    held = rule.run("AggregateStatus", desired=desired,
                    status_items=[*current, {"clusterName": "x"}])["aggregatedStatus"]["status"]
    assert held["observedGeneration"] == 0
    assert held["replicas"] == len(items)


def test_daemonset_member_without_status_counts_as_generation_zero() -> None:
    rule = _kruise("DaemonSet")
    desired = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "DaemonSet", "metadata": {"name": "d"}}
    out = rule.run("AggregateStatus", desired=desired, status_items=[{"clusterName": "a"}])["aggregatedStatus"]
    assert out["metadata"]["generation"] == 0
    assert out["status"]["observedGeneration"] == 0
    assert out["status"]["daemonSetHash"] == 0


def test_uniteddeployment_conditions_merge_by_type_and_keep_desired_ones_when_none_reported() -> None:
    rule = _kruise("UnitedDeployment")
    desired = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "UnitedDeployment", "metadata": {"name": "u"},
               "status": {"conditions": [{"type": "Old", "status": "True"}]}}
    items = [
        {"status": {"conditions": [{"type": "Available", "status": "False"}, {"type": "Progressing"}]}},
        {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
    ]
    merged = rule.run("AggregateStatus", desired=desired, status_items=items)["aggregatedStatus"]
    assert merged["status"]["conditions"] == [{"type": "Available", "status": "True"}, {"type": "Progressing"}]
    kept = rule.run("AggregateStatus", desired=desired, status_items=[{"status": {}}])["aggregatedStatus"]
    assert kept["status"]["conditions"] == [{"type": "Old", "status": "True"}]


# ------------------------------------------------------------------------------ jobs


def _broadcast(items: list[dict[str, Any]] | None) -> Any:
    desired = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "BroadcastJob", "metadata": {"name": "b"}}
    return _kruise("BroadcastJob").run("AggregateStatus", desired=desired, status_items=items)["aggregatedStatus"]


def test_broadcastjob_verdict_carries_over_to_later_members() -> None:
    complete = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}
    out = _broadcast([{"clusterName": "a", "status": complete}, {"clusterName": "b", "status": {"active": 1}}])
    assert out["status"]["conditions"] == [
        {"type": "Completed", "status": "True", "reason": "Completed", "message": "Job completed"}]
    failed = {"conditions": [{"type": "Failed", "status": "True"}]}
    out = _broadcast([{"clusterName": "a", "status": {}}, {"clusterName": "b", "status": failed},
                      {"clusterName": "c", "status": {}}])
    assert out["status"]["conditions"] == [{"type": "Failed", "status": "True", "reason": "JobFailed",
                                            "message": "Job executed failed in member clusters: b, c"}]
    assert out["status"]["failed"] == 0


def test_broadcastjob_and_advancedcronjob_without_items_return_the_object() -> None:
    assert _broadcast(None) == {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "BroadcastJob",
                                "metadata": {"name": "b"}}
    assert _broadcast([])["status"] == {"active": 0, "succeeded": 0, "failed": 0, "desired": 0, "phase": ""}
    cron = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "AdvancedCronJob", "metadata": {"name": "c"},
            "status": {"active": [{"name": "old"}], "lastScheduleTime": "t0"}}
    rule = _kruise("AdvancedCronJob")
    assert rule.run("AggregateStatus", desired=cron, status_items=None)["aggregatedStatus"] == cron
    emptied = rule.run("AggregateStatus", desired=cron, status_items=[])["aggregatedStatus"]
    assert emptied["status"] == {"type": ""}


def test_broadcastjob_health_treats_missing_failed_count_as_failure() -> None:
    rule = _kruise("BroadcastJob")
    status: dict[str, Any] = {"desired": 1, "active": 1}
    obj = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "BroadcastJob", "status": status}
    assert rule.run("InterpretHealth", observed=obj)["healthy"] is False
    assert rule.run("InterpretHealth", observed={**obj, "status": {**status, "failed": 0}})["healthy"] is True


def test_advancedcronjob_prefers_the_broadcast_job_template() -> None:
    def template(origin: str) -> dict[str, Any]:
        spec = {"volumes": [{"name": "v", "configMap": {"name": f"from-{origin}"}}], "containers": [{"name": "c"}]}
        return {"spec": {"template": {"spec": spec}}}

    obj = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "AdvancedCronJob",
           "metadata": {"name": "c", "namespace": "ns"},
           "spec": {"template": {"jobTemplate": template("job"), "broadcastJobTemplate": template("broadcast")}}}
    deps = _kruise("AdvancedCronJob").run("InterpretDependency", desired=obj)["dependencies"]
    assert deps == [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "ns", "name": "from-broadcast"}]


# ------------------------------------------------------------------------------ dependencies


def test_sidecarset_dependencies_are_distinct() -> None:
    obj = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "SidecarSet", "metadata": {"namespace": "ns"},
           "spec": {"containers": [{"name": "a", "envFrom": [{"configMapRef": {"name": "cm"}}]},
                                   {"name": "b", "envFrom": [{"configMapRef": {"name": "cm"}}]}],
                    "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "ignored"}}]}],
                    "volumes": [{"name": "p", "projected": {"sources": [{"secret": {"name": "s"}}]}}]}}
    deps = _kruise("SidecarSet").run("InterpretDependency", desired=obj)["dependencies"]
    assert sorted((d["kind"], d["name"]) for d in deps) == [("ConfigMap", "cm"), ("Secret", "s")]


def test_workflow_dependencies_follow_the_bundled_field_choices() -> None:
    obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"namespace": "ns"},
           "spec": {"serviceAccountName": "default", "executor": {"serviceAccountName": "default"},
                    "imagePullSecrets": [{"name": "pull"}, {"name": ""}],
                    "volumeClaimTemplates": [{"metadata": {"name": "work"}}],
                    "volumes": [{"name": "a", "secret": {"secretName": "by-secret-name"}},
                                {"name": "b", "secret": {"name": "by-name"}},
                                {"name": "c", "rbd": {"secretRef": {"name": "rbd"}}},
                                {"name": "d", "persistentVolumeClaim": {"claimName": "work"}}]}}
    deps = _rule("argoproj.io/v1alpha1", "Workflow").run("InterpretDependency", desired=obj)["dependencies"]
    assert sorted((d["kind"], d["name"]) for d in deps) == [
        ("PersistentVolumeClaim", "work"), ("Secret", "by-name"), ("Secret", "pull"), ("Secret", "rbd"),
        ("ServiceAccount", "default"),
    ]
    assert {d["namespace"] for d in deps} == {"ns"}


def test_workflow_requirements_carry_only_placement() -> None:
    obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
           "spec": {"parallelism": 4, "nodeSelector": {"zone": "a"},
                    "templates": [{"name": "t", "container": {"resources": {"requests": {"cpu": "1"}}}}]}}
    out = _rule("argoproj.io/v1alpha1", "Workflow").run("InterpretReplica", desired=obj)
    assert out == {"replica": 4, "requires": {"nodeClaim": {"nodeSelector": {"zone": "a"}}}}
