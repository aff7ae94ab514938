"""Built-in rules for distributed training and Ray workloads, judged by Karmada's own interpreter test data.

Kinds: kubeflow.org/v1 PyTorchJob and TFJob, kubeflow.org/v2beta1 MPIJob, ray.io/v1 RayCluster, RayJob and
RayService. Every case of their ``*-test.yaml`` files must pass (the data is read in place from the shared
folder); the remaining tests pin down behaviour of Karmada's scripts that the data does not cover.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.conformance.runner import CaseResult, run_paths
from kpl.engine.interpreter import CompiledInterpreter, InterpretError
from kpl.engine.library import builtin_library

KARMADA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
INTERPRETER = KARMADA / "interpreter"
KINDS = (
    "kubeflow.org/v1/PyTorchJob",
    "kubeflow.org/v1/TFJob",
    "kubeflow.org/v2beta1/MPIJob",
    "ray.io/v1/RayCluster",
    "ray.io/v1/RayJob",
    "ray.io/v1/RayService",
)
# The operations each bundled customization defines.
OPERATIONS = {
    "PyTorchJob": {"InterpretComponent", "AggregateStatus", "InterpretHealth", "InterpretDependency"},
    "TFJob": {"InterpretComponent", "AggregateStatus", "InterpretHealth", "InterpretDependency"},
    "MPIJob": {"InterpretComponent", "AggregateStatus", "InterpretHealth", "InterpretStatus"},
    "RayCluster": {"InterpretComponent", "AggregateStatus", "InterpretHealth"},
    "RayJob": {"InterpretComponent", "AggregateStatus", "InterpretHealth", "InterpretDependency"},
    "RayService": {"InterpretReplica", "ReviseReplica", "AggregateStatus", "InterpretHealth",
                   "InterpretDependency"},
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
    assert {file.split("/")[-2] for file, _ in CASES} == set(OPERATIONS)


def _rule(api_version: str, kind: str) -> CompiledInterpreter:
    rule = builtin_library().get(api_version, kind)
    assert rule is not None, f"no built-in rule for {api_version} {kind}"
    return rule


@pytest.mark.parametrize("kind", KINDS)
def test_rule_implements_exactly_the_bundled_operations(kind: str) -> None:
    group, version, name = kind.split("/")
    assert set(_rule(f"{group}/{version}", name).operations()) == OPERATIONS[name]


def test_rule_files_parse_cleanly() -> None:
    names = {f"rules/{kind}.kpl" for kind in KINDS}
    assert [d for d in builtin_library().diagnostics if d.source is not None and d.source.name in names] == []


# ------------------------------------------------------------------------------------ helpers


def _template(cpu: str | None = None, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "img"}
    if cpu is not None:
        container["resources"] = {"requests": {"cpu": cpu}}
    return {"spec": {"containers": [container], **spec}}


def _pytorch(**specs: Any) -> dict[str, Any]:
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "metadata": {"name": "job", "namespace": "ml"}, "spec": {"pytorchReplicaSpecs": specs}}


def _tfjob(**specs: Any) -> dict[str, Any]:
    return {"apiVersion": "kubeflow.org/v1", "kind": "TFJob",
            "metadata": {"name": "job", "namespace": "ml"}, "spec": {"tfReplicaSpecs": specs}}


def _item(cluster: str, status: Any) -> dict[str, Any]:
    return {"clusterName": cluster, "applied": True, "status": status}


def _condition(kind: str, status: str = "True", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "status": status, **extra}


# ------------------------------------------------------------------------------------ Kubeflow


def test_replica_counts_accept_numeric_strings_and_default_otherwise() -> None:
    obj = _pytorch(Master={"replicas": "3", "template": _template("1")}, Worker={"replicas": "many"})
    components = _rule("kubeflow.org/v1", "PyTorchJob").run("InterpretComponent", desired=obj)["components"]
    assert [(c["name"], c["replicas"]) for c in components] == [("master", 3), ("worker", 1)]
    assert components[0]["replicaRequirements"] == {"resourceRequest": {"cpu": "1"}}
    assert "replicaRequirements" not in components[1]


def test_tfjob_components_follow_the_fixed_replica_type_order() -> None:
    obj = _tfjob(Evaluator={}, Chief={"replicas": 1}, PS={"replicas": 2}, Other={"replicas": 9})
    components = _rule("kubeflow.org/v1", "TFJob").run("InterpretComponent", desired=obj)["components"]
    assert [c["name"] for c in components] == ["ps", "chief", "evaluator"]


def test_dependencies_shared_by_several_templates_are_listed_once() -> None:
    volumes = [{"name": "cfg", "configMap": {"name": "settings"}}]
    obj = _tfjob(PS={"template": _template(volumes=volumes)}, Worker={"template": _template(volumes=volumes)})
    deps = _rule("kubeflow.org/v1", "TFJob").run("InterpretDependency", desired=obj)["dependencies"]
    assert deps == [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "ml", "name": "settings"}]


def test_tfjob_aggregation_tells_a_missing_list_from_an_empty_one() -> None:
    rule, obj = _rule("kubeflow.org/v1", "TFJob"), _tfjob(PS={"replicas": 1})
    obj["status"] = {"startTime": "t0", "completionTime": "t1", "lastReconcileTime": "t2"}
    missing = rule.run("AggregateStatus", desired=obj, status_items=None)["aggregatedStatus"]
    assert missing["status"] == {"lastReconcileTime": "t2"}
    empty = rule.run("AggregateStatus", desired=obj, status_items=[])["aggregatedStatus"]
    assert empty["status"] == {"completionTime": "t1"}


def test_tfjob_reports_failed_members_and_stamps_the_condition() -> None:
    items = [_item("a", {"conditions": [_condition("Failed")], "replicaStatuses": {"Worker": {"failed": 2}}}),
             _item("b", {"conditions": [_condition("Succeeded")], "replicaStatuses": {"Worker": {"succeeded": 1}}})]
    out = _rule("kubeflow.org/v1", "TFJob").run("AggregateStatus", desired=_tfjob(), status_items=items)
    status = out["aggregatedStatus"]["status"]
    assert status["replicaStatuses"] == {"Worker": {"failed": 2, "succeeded": 1}}
    [failed] = status["conditions"]
    assert failed["message"] == "TFJob executed failed in member clusters: a"
    assert failed["lastProbeTime"] == failed["lastTransitionTime"]


def test_pytorchjob_running_condition_turns_false_once_every_member_succeeded() -> None:
    running = _condition("Running", "False", lastUpdateTime="u", lastTransitionTime="t")
    items = [_item(name, {"conditions": [_condition("Created"), running, _condition("Succeeded")],
                          "startTime": start, "completionTime": end})
             for name, start, end in (("a", "s2", "e1"), ("b", "s1", "e2"))]
    out = _rule("kubeflow.org/v1", "PyTorchJob").run("AggregateStatus", desired=_pytorch(), status_items=items)
    status = out["aggregatedStatus"]["status"]
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [
        ("Created", "True"), ("Running", "False"), ("Succeeded", "True")]
    assert (status["startTime"], status["completionTime"]) == ("s1", "e2")
    assert status["conditions"][1]["lastUpdateTime"] == "u"


def test_mpijob_components_keep_key_names_and_workers_default_to_zero() -> None:
    obj = {"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob", "metadata": {"name": "m"},
           "spec": {"mpiReplicaSpecs": {"Launcher": {"template": _template()}, "worker": {"template": _template()},
                                        "Extra": {"replicas": 4}}}}
    components = _rule("kubeflow.org/v2beta1", "MPIJob").run("InterpretComponent", desired=obj)["components"]
    assert sorted((c["name"], c["replicas"]) for c in components) == [("Launcher", 1), ("worker", 0)]


def test_mpijob_aggregation_keeps_the_latest_condition_of_each_type_in_first_seen_order() -> None:
    items = [_item("a", {"conditions": [_condition("Running", lastUpdateTime="2"), _condition("Created",
                                                                                              lastUpdateTime="1")]}),
             _item("b", {"conditions": [_condition("Created", lastTransitionTime="3", reason="late"),
                                        _condition("Failed", lastUpdateTime="")]})]
    obj = {"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob", "metadata": {"name": "m"}}
    out = _rule("kubeflow.org/v2beta1", "MPIJob").run("AggregateStatus", desired=obj, status_items=items)
    conditions = out["aggregatedStatus"]["status"]["conditions"]
    assert [(c["type"], c.get("reason")) for c in conditions] == [("Running", None), ("Created", "late")]


# ------------------------------------------------------------------------------------ Ray


def _ray_service(groups: list[dict[str, Any]], head: dict[str, Any] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"workerGroupSpecs": groups}
    if head is not None:
        config["headGroupSpec"] = {"template": head}
    return {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "svc", "namespace": "ray"},
            "spec": {"rayClusterConfig": config}}


def test_rayservice_requirements_take_the_largest_request_by_value() -> None:
    groups: list[dict[str, Any]] = [{"replicas": "2", "template": _template("1500m")},
                                    {"replicas": 1, "template": _template("1.5")}]
    out = _rule("ray.io/v1", "RayService").run("InterpretReplica", desired=_ray_service(groups, _template("1")))
    # 1500m and 1.5 are equal: the first of them stays.
    assert out == {"replica": 4, "requires": {"resourceRequest": {"cpu": "1500m"}}}


def test_rayservice_without_a_head_template_has_no_replicas() -> None:
    out = _rule("ray.io/v1", "RayService").run("InterpretReplica", desired=_ray_service([{"replicas": 3}]))
    assert out == {"replica": 0}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=5), st.integers(0, 60))
def test_rayservice_revision_gives_the_workers_every_replica_but_the_head(sizes: list[int], wanted: int) -> None:
    obj = _ray_service([{"groupName": f"g{i}", "replicas": n} for i, n in enumerate(sizes)])
    revised = _rule("ray.io/v1", "RayService").run("ReviseReplica", desired=copy.deepcopy(obj),
                                                    desired_replicas=wanted)["revised"]
    groups = revised["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    assert sum(g["replicas"] for g in groups) == max(0, wanted - 1)
    assert [g["groupName"] for g in groups] == [f"g{i}" for i in range(len(sizes))]


def test_raycluster_aggregation_adds_resources_step_by_step() -> None:
    desired = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "c"}, "spec": {"x": 1}}
    items = [_item("a", {"desiredCPU": "500m", "desiredMemory": "1Gi", "desiredGPU": "1", "state": "ready",
                         "readyWorkerReplicas": 1}),
             _item("b", {"desiredCPU": "1", "desiredMemory": "", "desiredGPU": 0.5, "state": "other",
                         "stateTransitionTimes": {"other": "t"}, "readyWorkerReplicas": "2"})]
    status = _rule("ray.io/v1", "RayCluster").run("AggregateStatus", desired=desired,
                                                  status_items=items)["aggregatedStatus"]
    assert "spec" not in status
    assert {k: status["status"][k] for k in ("desiredCPU", "desiredMemory", "desiredGPU", "desiredTPU", "state",
                                             "readyWorkerReplicas")} == {
        "desiredCPU": "1500m", "desiredMemory": "1Gi", "desiredGPU": "1.5", "desiredTPU": "0", "state": "ready",
        "readyWorkerReplicas": 3}
    assert "stateTransitionTimes" not in status["status"]


def test_raycluster_aggregation_fails_on_a_gpu_count_that_is_not_a_number() -> None:
    desired = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "c"}}
    items = [_item("a", {"desiredGPU": "one"}), _item("b", {})]
    with pytest.raises(InterpretError):
        _rule("ray.io/v1", "RayCluster").run("AggregateStatus", desired=desired, status_items=items)


def test_rayjob_dependencies_cover_the_submitter_and_skip_the_default_account() -> None:
    head = _template(serviceAccountName="default", imagePullSecrets=[{"name": "pull"}, {"name": ""}])
    obj = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "j"},
           "spec": {"rayClusterSpec": {"headGroupSpec": {"template": head}},
                    "submitterPodTemplate": _template(serviceAccountName="submit")}}
    deps = _rule("ray.io/v1", "RayJob").run("InterpretDependency", desired=obj)["dependencies"]
    # Without a namespace on the job the references carry none.
    assert sorted((d["kind"], d["name"]) for d in deps) == [("Secret", "pull"), ("ServiceAccount", "submit")]
    assert all("namespace" not in d for d in deps)


def test_rayjob_aggregation_reports_the_most_severe_deployment_state() -> None:
    items = [_item("a", {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING", "reason": "r1"}),
             _item("b", {"jobDeploymentStatus": "Unknown", "jobStatus": "", "message": "m2"}),
             _item("c", {"jobDeploymentStatus": "Failed", "jobStatus": "PENDING", "reason": "r3"})]
    desired = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "j"},
               "status": {"reason": "old", "message": "old", "startTime": "s"}}
    out = _rule("ray.io/v1", "RayJob").run("AggregateStatus", desired=desired, status_items=items)
    assert out["aggregatedStatus"]["status"] == {"jobDeploymentStatus": "Failed", "jobStatus": "RUNNING",
                                                 "reason": "r3", "startTime": "s"}


def test_rayservice_aggregation_merges_applications_worst_first() -> None:
    apps_a = {"app1": {"status": "RUNNING"}, "app2": {"status": "DEPLOYING", "from": "a"}}
    apps_b = {"app1": {"status": "UNHEALTHY"}, "app2": {"status": "DEPLOYING", "from": "b"}}
    items = [_item("a", {"activeServiceStatus": {"applicationStatuses": apps_a, "name": "a"},
                         "numServeEndpoints": 2, "observedGeneration": 3}),
             _item("b", {"activeServiceStatus": {"applicationStatuses": apps_b, "name": "b"},
                         "numServeEndpoints": 1, "serviceStatus": ""})]
    desired = {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "s"},
               "status": {"pendingServiceStatus": {"name": "kept"}}}
    status = _rule("ray.io/v1", "RayService").run("AggregateStatus", desired=desired,
                                                  status_items=items)["aggregatedStatus"]["status"]
    assert status["activeServiceStatus"] == {"name": "a", "applicationStatuses": {
        "app1": {"status": "UNHEALTHY"}, "app2": {"status": "DEPLOYING", "from": "a"}}}
    assert (status["numServeEndpoints"], status["observedGeneration"], status["serviceStatus"]) == (3, 3, "")
    assert status["pendingServiceStatus"] == {"name": "kept"}
