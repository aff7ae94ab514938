"""Failover: NoExecute eviction timing, purge modes, state preservation, tasks and injection, plus the vectors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpl.engine.conformance.registry import lookup
from kpl.engine.failover import (
    APPLIED_PLACEMENT_ANNOTATION,
    EvictionTask,
    FailoverError,
    application_eviction_task,
    binding_need_eviction,
    build_preserved_label_state,
    cluster_purge_mode,
    directly_purged_clusters,
    extract_state_for_eviction,
    graceful_evict_cluster,
    injected_labels,
    need_eviction,
    parse_json_value,
    taint_eviction_task,
    work_target_clusters,
)
from kpl.engine.k8s_jsonpath import JsonPathError

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada" / "vectors"
FAILOVER_OPS = {
    "build_preserved_label_state", "parse_json_value", "need_eviction", "cluster_purge_mode",
    "extract_state_for_eviction", "directly_purged_clusters",
}
NOW = datetime(2025, 9, 23, 12, 0, 0, tzinfo=UTC)
INJECTION = {"StatefulFailoverInjection": True}


def _cases() -> list[dict[str, Any]]:
    path = VECTORS / "failover.yaml"
    if not path.exists():
        return []
    return list(yaml.safe_load(path.read_text())["cases"])


CASES = _cases()


@pytest.mark.skipif(not CASES, reason="shared conformance data not present")
def test_every_failover_op_has_cases_and_an_implementation() -> None:
    assert {case["op"] for case in CASES} == FAILOVER_OPS
    assert all(lookup(op) is not None for op in FAILOVER_OPS)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_failover_vector(case: dict[str, Any]) -> None:
    op = lookup(case["op"])
    assert op is not None, f"no vector op {case['op']}"
    assert op(case["input"], case["expected"]) is None


def test_a_wrong_expectation_fails() -> None:
    op = lookup("parse_json_value")
    assert op is not None
    assert op({"rawStatus": '{"a": 1}', "jsonPath": "{.a}"}, {"value": "1"}) is None
    assert op({"rawStatus": '{"a": 1}', "jsonPath": "{.a}"}, {"value": "1.0"}) is not None
    assert op({"rawStatus": '{"a": 1}', "jsonPath": "{.b}"}, {"value": ""}) is not None


# -- NoExecute taints ---------------------------------------------------------------------------------------


def _taint(key: str, seconds_ago: int, effect: str = "NoExecute") -> dict[str, Any]:
    return {"key": key, "effect": effect, "timeAdded": (NOW - timedelta(seconds=seconds_ago)).isoformat()}


def _toleration(key: str, seconds: int | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"key": key, "operator": "Exists", "effect": "NoExecute"}
    return raw if seconds is None else raw | {"tolerationSeconds": seconds}


@pytest.mark.parametrize(("taints", "tolerations", "evict", "seconds"), [
    ([_taint("k", 1)], [], True, 0),
    ([_taint("k", 1)], [_toleration("k", 0)], True, 0),
    ([_taint("k", 1)], [_toleration("k", 60)], False, 59),
    ([_taint("k", 1)], [_toleration("k")], False, -1),
    ([_taint("k", 60)], [_toleration("k", 60)], True, 0),
    ([_taint("k", 1, "NoSchedule")], [], False, -1),
    ([_taint("a", 10), _taint("b", 0)], [_toleration("", 30)], False, 20),
    ([_taint("a", 10), _taint("b", 0)], [_toleration("a", 300), _toleration("", 30)], False, 20),
    ([_taint("a", 10), _taint("b", 0)], [_toleration("a"), _toleration("b", 30)], False, 30),
    ([{"key": "k", "effect": "NoExecute"}], [_toleration("k", 5)], False, -1),
])
def test_need_eviction(taints: list[dict[str, Any]], tolerations: list[dict[str, Any]], evict: bool,
                       seconds: float) -> None:
    check = need_eviction(taints, tolerations, NOW)
    assert (check.need_eviction, check.toleration_seconds) == (evict, seconds)


def test_eviction_needs_the_controller_flag() -> None:
    assert not need_eviction([_taint("k", 1)], [], NOW, enabled=False).need_eviction


def test_binding_need_eviction_reads_the_applied_placement() -> None:
    placement = json.dumps({"clusterTolerations": [_toleration("k", 60)]})
    cluster = {"spec": {"taints": [_taint("k", 1)]}}
    check = binding_need_eviction({APPLIED_PLACEMENT_ANNOTATION: placement}, cluster, NOW)
    assert check.wait == timedelta(seconds=59)
    assert binding_need_eviction({APPLIED_PLACEMENT_ANNOTATION: placement}, None, NOW).toleration_seconds == -1
    with pytest.raises(FailoverError, match="can not be empty"):
        binding_need_eviction({}, cluster, NOW)
    with pytest.raises(FailoverError):
        binding_need_eviction({APPLIED_PLACEMENT_ANNOTATION: "invalid-json"}, cluster, NOW)


def test_purge_mode_resolution() -> None:
    assert cluster_purge_mode(None, "Directly") == "Directly"
    assert cluster_purge_mode(None, "Never") == "Gracefully"
    assert cluster_purge_mode({"cluster": {}}, "Directly") == "Gracefully"
    assert cluster_purge_mode({"application": {"purgeMode": "Directly"}}, "") == "Gracefully"


# -- state preservation -------------------------------------------------------------------------------------

FLINK_STATUS = {"jobStatus": {"jobID": "abc", "state": "RUNNING", "savepoints": 3}, "lifecycleState": "STABLE"}
RULES = [{"aliasLabelName": "flink.io/job-id", "jsonPath": "{ .jobStatus.jobID }"},
         {"aliasLabelName": "flink.io/savepoints", "jsonPath": "{.jobStatus.savepoints}"}]


def test_extract_state_reads_the_evicted_clusters_status() -> None:
    status = [{"clusterName": "m2", "status": {}}, {"clusterName": "m1", "status": FLINK_STATUS}]
    extraction = extract_state_for_eviction(RULES, status, "m1")
    assert extraction.labels == {"flink.io/job-id": "abc", "flink.io/savepoints": "3"}
    assert extract_state_for_eviction([], status, "m1").labels is None
    failed = extract_state_for_eviction(RULES, status, "m2")
    assert failed.labels is None
    assert failed.error == 'failed to execute jsonpath "{ .jobStatus.jobID }": jobStatus is not found'


def test_parse_json_value_errors() -> None:
    with pytest.raises(JsonPathError):
        parse_json_value("{}", "{ %x }")
    with pytest.raises(FailoverError, match=r"^failed to unmarshal rawStatus: "):
        parse_json_value("{", "{.a}")
    assert parse_json_value('{"a": 1}', "literal") == "literal"
    assert build_preserved_label_state([], "{}") == {}


# -- tasks and injection ------------------------------------------------------------------------------------


def _binding(failover: dict[str, Any]) -> dict[str, Any]:
    return {
        "spec": {"clusters": [{"name": "m1", "replicas": 2}, {"name": "m2", "replicas": 1}], "failover": failover},
        "status": {"aggregatedStatus": [{"clusterName": "m1", "status": FLINK_STATUS}]},
    }


def test_taint_eviction_task_with_state() -> None:
    binding = _binding({"cluster": {"purgeMode": "Directly", "statePreservation": {"rules": RULES[:1]}}})
    outcome = taint_eviction_task(binding, "m1", gates=INJECTION)
    assert outcome.task == EvictionTask("m1", "TaintManager", "TaintUntolerated", "Directly",
                                        preserved_label_state={"flink.io/job-id": "abc"})
    assert taint_eviction_task(binding, "m1").task == EvictionTask("m1", "TaintManager", "TaintUntolerated", "Directly")
    missing = taint_eviction_task(binding, "m2", gates=INJECTION)
    assert missing.error == "the application status has not yet been collected from Cluster(m2)"


def test_application_eviction_tasks() -> None:
    graceful = _binding({"application": {"purgeMode": "Gracefully", "gracePeriodSeconds": 600}})
    task = application_eviction_task(graceful, "m1").task
    assert task is not None and task.grace_period_seconds == 600 and task.reason == "ApplicationFailure"
    assert application_eviction_task(graceful, "m1", gates={"GracefulEviction": False}).error is not None
    never = application_eviction_task(_binding({"application": {"purgeMode": "Never"}}), "m1").task
    assert never is not None and never.suppress_deletion is True
    stateful = _binding({"application": {"purgeMode": "Directly", "statePreservation": {"rules": RULES[:1]}}})
    task = application_eviction_task(stateful, "m1", gates=INJECTION).task
    assert task is not None and task.clusters_before_failover == ("m1", "m2")


def test_graceful_evict_cluster() -> None:
    spec = _binding({})["spec"]
    task = EvictionTask("m1", "TaintManager", "TaintUntolerated", "Directly", preserved_label_state={"a": "b"})
    evicted = graceful_evict_cluster(spec, task)
    assert evicted["clusters"] == [{"name": "m2", "replicas": 1}]
    assert evicted["gracefulEvictionTasks"] == [{
        "fromCluster": "m1", "reason": "TaintUntolerated", "producer": "TaintManager", "purgeMode": "Directly",
        "replicas": 2, "preservedLabelState": {"a": "b"},
    }]
    assert graceful_evict_cluster(spec, EvictionTask("m9", "p", "r")) == spec
    again = graceful_evict_cluster(evicted | {"clusters": [{"name": "m1"}]}, task)
    assert again["clusters"] == [] and len(again["gracefulEvictionTasks"]) == 1
    assert directly_purged_clusters(evicted) == ["m1"]


def test_injection_conditions() -> None:
    task = {"fromCluster": "m1", "purgeMode": "Directly", "preservedLabelState": {"job": "abc"},
            "clustersBeforeFailover": ["m1"]}
    spec = {"clusters": [{"name": "m3"}], "gracefulEvictionTasks": [task]}
    assert injected_labels(spec, "m3", INJECTION) == {"job": "abc"}
    assert injected_labels(spec, "m3") == {}
    assert injected_labels(spec, "m1", INJECTION) == {}
    graceful = spec | {"gracefulEvictionTasks": [task | {"purgeMode": "Gracefully"}]}
    assert injected_labels(graceful, "m3", INJECTION) == {}
    required = spec | {"requiredBy": [{"clusters": [{"name": "m4"}]}]}
    assert [target["name"] for target in work_target_clusters(required)] == ["m3", "m4"]
    assert injected_labels(required, "m3", INJECTION) == {}
    assert injected_labels({"clusters": [{"name": "m3"}]}, "m3", INJECTION) == {}


def test_need_eviction_op_without_an_applied_placement_is_an_error() -> None:
    op = lookup("need_eviction")
    assert op is not None
    case = {"now": NOW.isoformat(), "placement": None, "taints": [_taint("k", 1)]}
    message = "the applied placement for ResourceBining can not be empty"
    assert op(case, {"error": {"kind": "Error", "message": message}}) is None
    assert op(case, {"need_eviction": True, "toleration_time": 0}) is not None


def test_status_objects_read_from_yaml_keep_their_timestamps() -> None:
    status = yaml.safe_load("savepoint:\n  time: 2024-01-01T00:00:00Z\n  day: 2024-01-02\n  count: 3\n")
    assert parse_json_value(status, "{.savepoint.time}/{.savepoint.day}/{.savepoint.count}") == (
        "2024-01-01T00:00:00Z/2024-01-02/3")
