"""Built-in rules for batch and platform kinds, judged by Karmada's own interpreter test data.

Kinds: FlinkDeployment, Volcano Job, SparkApplication, Kubeflow Notebook, Kyverno ClusterPolicy and Policy.
Every case of their ``*-test.yaml`` files must pass; the data is read in place from the shared folder.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpl.dsl import ast
from kpl.dsl.parser import parse_source
from kpl.dsl.source import Source
from kpl.engine.conformance.runner import CaseResult, run_paths
from kpl.engine.interpreter import CompiledInterpreter, InterpretError, compile_interpreter
from kpl.engine.library import builtin_library

KARMADA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
INTERPRETER = KARMADA / "interpreter"
KINDS = (
    "flink.apache.org/v1beta1/FlinkDeployment",
    "batch.volcano.sh/v1alpha1/Job",
    "sparkoperator.k8s.io/v1beta2/SparkApplication",
    "kubeflow.org/v1/Notebook",
    "kyverno.io/v1/ClusterPolicy",
    "kyverno.io/v1/Policy",
)


def _cases() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for kind in KINDS:
        folder = INTERPRETER / kind
        for path in sorted(folder.glob("*-test.yaml")):
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
def test_every_kind_has_cases_and_a_rule() -> None:
    library = builtin_library()
    mine = {f"rules/{kind}.kpl" for kind in KINDS}
    ours = [d for d in library.diagnostics if d.source is not None and d.source.name in mine]
    assert not ours, [d.message for d in ours]
    for kind in KINDS:
        group, version, name = kind.split("/")
        assert library.get(f"{group}/{version}", name) is not None, kind
        assert any(file.startswith(f"interpreter/{kind}/") for file, _ in CASES), kind
    assert len(CASES) >= 60


# ------------------------------------------------------------------------------ engine behaviour


def _rule(text: str) -> CompiledInterpreter:
    result = parse_source(Source("test.kpl", text))
    assert not result.diagnostics
    node = result.module.declarations[0]
    assert isinstance(node, ast.Interpreter)
    return compile_interpreter(node)


def test_absent_status_items_are_null_not_an_empty_list() -> None:
    rule = _rule('interpreter x.io/v1 K { aggregate = . with { .status.seen: status_items == null } }')
    absent = rule.run("AggregateStatus", desired={"kind": "K"}, status_items=None)
    empty = rule.run("AggregateStatus", desired={"kind": "K"}, status_items=[])
    assert absent["aggregatedStatus"]["status"] == {"seen": True}
    assert empty["aggregatedStatus"]["status"] == {"seen": False}


def test_runner_hands_the_only_object_to_single_object_operations(tmp_path: Path) -> None:
    data = {
        "name": "observed only", "operation": "InterpretComponent",
        "observedObj": {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
                        "spec": {"jobManager": {"replicas": 2}, "taskManager": {"replicas": 3}}},
        # No resources: the empty request table vanishes, the requirements object stays.
        "output": {"components": [{"name": "jobmanager", "replicas": 2, "replicaRequirements": {}},
                                  {"name": "taskmanager", "replicas": 3, "replicaRequirements": {}}]},
    }
    path = tmp_path / "interpretcomponent-test.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    summary = run_paths([path])
    assert [r.outcome for r in summary.results] == ["passed"], summary.results


# ------------------------------------------------------------------------------ semantics beyond Karmada's data


def _run(api_version: str, kind: str, operation: str, **objects: Any) -> dict[str, Any]:
    rule = builtin_library().get(api_version, kind)
    assert rule is not None
    return rule.run(operation, **objects)


def _flink(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
            "metadata": {"name": "f", "namespace": "ns"}, "spec": spec}


def test_flink_memory_is_read_as_a_kubernetes_quantity() -> None:
    obj = _flink({"jobManager": {"resource": {"cpu": 1, "memory": "1024m"}},
                  "taskManager": {"resource": {"cpu": "2", "memory": "1Gi"}}})
    components = _run("flink.apache.org/v1beta1", "FlinkDeployment", "InterpretComponent", desired=obj)
    requests = {c["name"]: c["replicaRequirements"]["resourceRequest"] for c in components["components"]}
    assert requests == {"jobmanager": {"cpu": 1, "memory": 1.024},
                        "taskmanager": {"cpu": "2", "memory": 1073741824}}


def test_flink_legacy_replicas_take_the_larger_request_and_count_task_slots() -> None:
    obj = _flink({"job": {"parallelism": "7"}, "flinkConfiguration": {"taskmanager.numberOfTaskSlots": "2"},
                  "jobManager": {"replicas": "2", "resource": {"cpu": "0.5", "memory": "1Gi"}},
                  "taskManager": {"resource": {"cpu": 2, "memory": "1024Mi"}}})
    result = _run("flink.apache.org/v1beta1", "FlinkDeployment", "InterpretReplica", desired=obj)
    # Equal memory keeps the task manager's spelling; cpu becomes a number.
    assert result == {"replica": 6, "requires": {"resourceRequest": {"cpu": 2, "memory": "1024Mi"},
                                                 "namespace": "ns"}}


def test_flink_rejects_memory_that_is_not_a_kubernetes_quantity() -> None:
    obj = _flink({"jobManager": {"resource": {"memory": "2g"}}})
    with pytest.raises(InterpretError):
        _run("flink.apache.org/v1beta1", "FlinkDeployment", "InterpretComponent", desired=obj)


def _spark(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication", "spec": spec}


def test_spark_memory_adds_the_overhead_in_the_smaller_unit() -> None:
    obj = _spark({"type": "Scala", "driver": {"memory": "512m"},
                  "executor": {"memory": "1.5g", "memoryOverhead": "200m", "instances": "2"}})
    result = _run("sparkoperator.k8s.io/v1beta2", "SparkApplication", "InterpretComponent", desired=obj)
    memory = {c["name"]: (c["replicas"], c["replicaRequirements"]["resourceRequest"]["memory"])
              for c in result["components"]}
    assert memory == {"driver": (1, "896.000000Mi"), "executor": (2, "1736.000000Mi")}


def test_spark_rejects_a_memory_size_without_a_unit() -> None:
    with pytest.raises(InterpretError):
        _run("sparkoperator.k8s.io/v1beta2", "SparkApplication", "InterpretComponent",
             desired=_spark({"type": "Java", "driver": {"memory": "1024"}}))


def _items(*statuses: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"clusterName": f"member{n}", "status": s} for n, s in enumerate(statuses, 1)]


def test_volcano_aggregation_reports_failed_clusters_and_their_conditions() -> None:
    failed = {"state": {"phase": "Failed"}, "failed": 2, "runningDuration": "1h",
              "conditions": [{"status": "Running", "lastTransitionTime": "t1"}, {"status": "Failed"}]}
    running = {"state": {"phase": "Running"}, "running": 3, "runningDuration": "59m",
               "conditions": [{"status": "Running", "lastTransitionTime": "t2"}]}
    result = _run("batch.volcano.sh/v1alpha1", "Job", "AggregateStatus",
                  desired={"kind": "Job", "status": {"pending": 9}}, status_items=_items(running, failed))
    status = result["aggregatedStatus"]["status"]
    assert status["state"]["phase"] == "Failed"
    assert status["state"]["message"] == "Job failed in clusters: member2"
    assert status["conditions"] == failed["conditions"]
    assert (status["failed"], status["running"], status["runningDuration"]) == (2, 3, "1h")
    assert "pending" not in status


def test_notebook_aggregation_lets_a_failed_member_win() -> None:
    result = _run("kubeflow.org/v1", "Notebook", "AggregateStatus", desired={"kind": "Notebook"},
                  status_items=_items({"containerState": {"running": {"startedAt": "a"}}, "readyReplicas": 1},
                                      {"containerState": {}}))
    status = result["aggregatedStatus"]["status"]
    assert status["containerState"] == {"waiting": {"reason": "Unschedulable"}}
    assert [c["type"] for c in status["conditions"]] == ["Failed"]
    assert status["readyReplicas"] == 1
