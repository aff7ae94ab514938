"""The whole scheduler on small fleets whose answers follow from the spec by hand, and its vectors."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpl.engine.conformance.registry import lookup
from kpl.engine.features import FeatureGates
from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.pipeline import (
    ErrorNode,
    Estimate,
    Fleet,
    ScheduleResult,
    condition_for_error,
    needs_scheduling,
    placement_changed,
    quota_exceeded,
    schedule,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada" / "vectors"
OPS = ("condition_by_error", "affinity_index")


def _cases(file: str, ops: tuple[str, ...]) -> list[dict[str, Any]]:
    path = VECTORS / file
    if not path.exists():
        return []
    return [
        case
        for case in yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["cases"]
        if case["op"] in ops
    ]


CASES = _cases("affinity_taints.yaml", OPS)
ASSIGN_CASES = [c for c in _cases("division.yaml", ("assign_replicas",)) if c["input"]["candidates"]]


@pytest.mark.skipif(not VECTORS.exists(), reason="shared conformance data not present")
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_vector_case(case: dict[str, Any]) -> None:
    op = lookup(case["op"])
    assert op is not None
    assert op(case["input"], case["expected"]) is None


@pytest.mark.skipif(not VECTORS.exists(), reason="shared conformance data not present")
def test_every_op_has_cases() -> None:
    assert {case["op"] for case in CASES} == set(OPS)
    assert ASSIGN_CASES


DEPLOYMENT_API = [{"groupVersion": "apps/v1", "resources": [{"name": "deployments", "kind": "Deployment"}]}]


def cluster(
    name: str,
    *,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Mapping[str, str]] = (),
    region: str = "",
    deleting: bool = False,
    api: bool = True,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels or {})}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "spec": {"region": region, "taints": list(taints)},
        "status": {"apiEnablements": DEPLOYMENT_API if api else []},
    }


def binding(
    placement: Mapping[str, Any] | None,
    replicas: int = 0,
    *,
    previous: Sequence[Mapping[str, Any]] = (),
    status: Mapping[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "web", "name": "nginx"},
        "replicas": replicas,
        "clusters": list(previous),
        **spec,
    }
    if placement is not None:
        body["placement"] = placement
    return {"spec": body, "status": dict(status or {})}


def capacity(caps: Mapping[str, int]) -> Estimate:
    def estimate(views: Sequence[ClusterView], spec: Mapping[str, Any], gates: FeatureGates) -> list[int]:
        return [caps.get(view.name, 1000) for view in views]

    return estimate


def targets(result: ScheduleResult) -> dict[str, int] | None:
    return None if result.clusters is None else {t.name: t.replicas for t in result.clusters}


TAINT = {"key": "k", "value": "v", "effect": "NoSchedule"}
DIVIDED_DYNAMIC = {
    "replicaSchedulingType": "Divided",
    "replicaDivisionPreference": "Weighted",
    "weightPreference": {"dynamicWeight": "AvailableReplicas"},
}


def test_duplicated_goes_to_every_fitting_cluster() -> None:
    fleet = [
        cluster("a", labels={"env": "prod"}),
        cluster("b", labels={"env": "prod"}, taints=[TAINT]),
        cluster("c", labels={"env": "dev"}),
    ]
    placement = {"clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}}}
    result = schedule(binding(placement, 4), fleet, estimate=capacity({}))
    assert targets(result) == {"a": 4}
    assert result.error is None and result.condition is not None
    assert result.condition.to_api() == {
        "type": "Scheduled",
        "status": "True",
        "reason": "Success",
        "message": "Binding has been scheduled successfully.",
    }
    reasons = {e.name: e.reason for e in result.explanations}
    assert reasons == {
        "a": "",
        "b": "cluster(s) had untolerated taint {k=v:NoSchedule}",
        "c": "cluster(s) did not match the placement cluster affinity constraint",
    }


def test_fit_error_empties_the_previous_result() -> None:
    fleet = [
        cluster("a", taints=[TAINT]),
        cluster("b", taints=[TAINT]),
        cluster("c"),
        cluster("d", deleting=True),
    ]
    placement = {"clusterAffinity": {"clusterNames": ["a", "b", "d"]}}
    result = schedule(binding(placement, 2, previous=[{"name": "x", "replicas": 2}]), fleet, estimate=capacity({}))
    message = (
        "0/4 clusters are available: 1 cluster(s) did not match the placement cluster affinity constraint, "
        "2 cluster(s) had untolerated taint {k=v:NoSchedule}."
    )
    assert result.error is not None and result.error.to_api() == {"type": "FitError", "message": message}
    assert result.clusters == ()
    assert result.condition is not None
    assert (result.condition.reason, result.condition.message, result.condition.retry) == (
        "NoClusterFit",
        message,
        False,
    )
    assert [e.name for e in result.explanations if e.skipped_deleting] == ["d"]


def test_no_cluster_exists() -> None:
    assert schedule(binding({}, 1), []).error.message == (  # type: ignore[union-attr]
        "0/0 clusters are available: no cluster exists."
    )
    deleting = [cluster("a", deleting=True), cluster("b", deleting=True)]
    assert schedule(binding({}, 1), deleting).error.message == (  # type: ignore[union-attr]
        "0/2 clusters are available: no cluster exists."
    )


def test_previous_clusters_bypass_taints_and_api_and_score_higher() -> None:
    fleet = [cluster("a", taints=[TAINT], api=False), cluster("b"), cluster("c")]
    placement = {"spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 1}]}
    result = schedule(binding(placement, 2, previous=[{"name": "a", "replicas": 2}]), fleet, estimate=capacity({}))
    assert targets(result) == {"a": 2}
    assert {e.name: e.score for e in result.explanations} == {"a": 100, "b": 0, "c": 0}
    fresh = schedule(binding(placement, 2), fleet, estimate=capacity({}))
    assert targets(fresh) == {"b": 2}


def test_eviction_excludes_cluster() -> None:
    fleet = [cluster("a"), cluster("b")]
    evicted = binding({}, 1, gracefulEvictionTasks=[{"fromCluster": "a"}])
    assert targets(schedule(evicted, fleet, estimate=capacity({}))) == {"b": 1}


def test_dynamic_weight_by_capacity() -> None:
    fleet = [cluster("a"), cluster("b"), cluster("c")]
    placement = {"replicaScheduling": DIVIDED_DYNAMIC}
    result = schedule(binding(placement, 12), fleet, estimate=capacity({"a": 18, "b": 12, "c": 6}))
    assert targets(result) == {"a": 6, "b": 4, "c": 2}


def test_static_weights() -> None:
    fleet = [cluster("a", region="r1"), cluster("b", region="r2")]
    placement = {
        "replicaScheduling": {
            "replicaSchedulingType": "Divided",
            "replicaDivisionPreference": "Weighted",
            "weightPreference": {
                "staticWeightList": [
                    {"targetCluster": {"clusterNames": ["a"]}, "weight": 1},
                    {
                        "targetCluster": {
                            "fieldSelector": {
                                "matchExpressions": [{"key": "region", "operator": "In", "values": ["r2"]}]
                            }
                        },
                        "weight": 2,
                    },
                ]
            },
        }
    }
    assert targets(schedule(binding(placement, 3), fleet, estimate=capacity({"a": 0, "b": 0}))) == {
        "a": 1,
        "b": 2,
    }


def test_unschedulable_keeps_previous_result() -> None:
    fleet = [cluster("a"), cluster("b")]
    placement = {"replicaScheduling": DIVIDED_DYNAMIC}
    result = schedule(binding(placement, 10), fleet, estimate=capacity({"a": 3, "b": 2}))
    assert result.clusters is None
    assert result.error is not None and result.error.type == "Unschedulable"
    assert result.error.message.startswith("failed to assign replicas: ")
    assert result.error.message.endswith("Clusters available replicas 5 are not enough to schedule.")
    assert result.condition is not None and (result.condition.reason, result.condition.retry) == (
        "Unschedulable",
        True,
    )


def test_spread_error_is_wrapped() -> None:
    placement = {"spreadConstraints": [{"spreadByField": "cluster", "minGroups": 3, "maxGroups": 3}]}
    result = schedule(binding(placement, 1), [cluster("a"), cluster("b")], estimate=capacity({}))
    assert result.error is not None and result.error.to_api() == {
        "type": "Error",
        "message": "failed to select clusters: the number of feasible clusters is less than spreadConstraint.MinGroups",
    }
    assert result.clusters is None and result.condition is not None and result.condition.reason == "SchedulerError"


TERMS = [
    {"affinityName": "primary", "clusterNames": ["a"]},
    {"affinityName": "backup", "clusterNames": ["b"]},
]


def test_affinity_terms_fall_back_in_order() -> None:
    fleet = [cluster("a", taints=[TAINT]), cluster("b")]
    result = schedule(binding({"clusterAffinities": TERMS}, 1), fleet, estimate=capacity({}))
    assert targets(result) == {"b": 1} and result.observed_affinity_name == "backup"
    assert [a.affinity_name for a in result.attempts] == ["primary", "backup"]
    assert result.attempts[0].error is not None and result.attempts[0].error.kind == "FitError"


def test_affinity_terms_start_at_observed_term_unless_rescheduled() -> None:
    fleet = [cluster("a"), cluster("b")]
    status = {"schedulerObservingAffinityName": "backup", "lastScheduledTime": "2024-01-01T00:00:00Z"}
    stays = schedule(binding({"clusterAffinities": TERMS}, 1, status=status), fleet, estimate=capacity({}))
    assert targets(stays) == {"b": 1} and stays.observed_affinity_name == "backup"
    triggered = binding({"clusterAffinities": TERMS}, 1, status=status, rescheduleTriggeredAt="2024-01-02T00:00:00Z")
    moved = schedule(triggered, fleet, estimate=capacity({}))
    assert targets(moved) == {"a": 1} and moved.observed_affinity_name == "primary"


def test_all_terms_fail_reports_the_first_error() -> None:
    fleet = [cluster("a"), cluster("b", taints=[TAINT])]
    placement = {"clusterAffinities": TERMS, "replicaScheduling": DIVIDED_DYNAMIC}
    status = {"schedulerObservingAffinityName": "primary"}
    result = schedule(
        binding(placement, 5, status=status, previous=[{"name": "a", "replicas": 1}]),
        fleet,
        estimate=capacity({"a": 1}),
    )
    assert result.error is not None and result.error.type == "Unschedulable"
    assert result.clusters is None and result.observed_affinity_name == "primary"
    reversed_terms = {**placement, "clusterAffinities": list(reversed(TERMS))}
    fit_first = schedule(
        binding(reversed_terms, 5, previous=[{"name": "a", "replicas": 1}]),
        fleet,
        estimate=capacity({"a": 1}),
    )
    assert [a.error.kind for a in fit_first.attempts if a.error] == ["FitError", "Unschedulable"]
    assert fit_first.error is not None and fit_first.error.type == "FitError"
    assert fit_first.clusters == () and fit_first.observed_affinity_name == ""


def test_all_terms_fit_error_empties_result() -> None:
    fleet = [cluster("a", taints=[TAINT]), cluster("b", taints=[TAINT])]
    result = schedule(
        binding({"clusterAffinities": TERMS}, 1, previous=[{"name": "z", "replicas": 1}]),
        fleet,
        estimate=capacity({}),
    )
    assert result.clusters == () and result.error is not None and result.error.type == "FitError"
    assert result.observed_affinity_name == ""


def test_empty_workload_propagation_readds_zero_clusters() -> None:
    fleet = [cluster("a"), cluster("b")]
    placement = {"replicaScheduling": DIVIDED_DYNAMIC}
    plain = schedule(binding(placement, 1), fleet, estimate=capacity({"a": 5, "b": 1}))
    assert targets(plain) == {"a": 1}
    padded = schedule(
        binding(placement, 1),
        fleet,
        estimate=capacity({"a": 5, "b": 1}),
        enable_empty_workload_propagation=True,
    )
    assert targets(padded) == {"a": 1, "b": 0}


def test_invalid_bindings() -> None:
    missing = schedule(binding(None, 1), [cluster("a")])
    assert missing.error is not None and missing.error.type == "Invalid" and missing.condition is None
    both = schedule(binding({"clusterAffinity": {}, "clusterAffinities": TERMS}, 1), [cluster("a")])
    assert both.error is not None and both.error.type == "Invalid"


@pytest.mark.skipif(not VECTORS.exists(), reason="shared conformance data not present")
@pytest.mark.parametrize("case", ASSIGN_CASES, ids=[case["name"] for case in ASSIGN_CASES])
def test_pipeline_agrees_with_assign_replicas_vectors(case: dict[str, Any]) -> None:
    given, expected = case["input"], case["expected"]
    fleet = [cluster(c["name"]) for c in given["candidates"]]
    caps = {c["name"]: int(c.get("allocatable", c.get("available", 1000))) for c in given["candidates"]}
    spec = given["spec"]
    extra = {"components": spec["components"]} if "components" in spec else {}
    body = binding(
        given.get("placement") or {},
        spec["replicas"],
        previous=spec.get("previous") or (),
        status=given.get("status"),
        **extra,
    )
    body["spec"]["resource"]["uid"] = spec.get("uid", "")
    result = schedule(body, fleet, FeatureGates.from_mapping(given.get("feature_gates")), estimate=capacity(caps))
    if "error" in expected:
        assert result.error is not None and result.error.type == expected["error"]["kind"]
        assert expected["error"]["message_contains"] in result.error.message
        return
    assert result.error is None and result.clusters is not None
    actual = sorted((t.to_api() for t in result.clusters), key=lambda t: t["name"])
    assert actual == sorted(expected["targets"], key=lambda t: t["name"])


def test_condition_for_errors() -> None:
    fit = ErrorNode("FitError", "0/1 clusters are available: no cluster exists.")
    aggregate = ErrorNode("Aggregate", members=(fit, ErrorNode("Error", "patch failed")))
    condition = condition_for_error(aggregate)
    assert (condition.reason, condition.retry) == ("NoClusterFit", True)
    assert condition.message == "[0/1 clusters are available: no cluster exists., patch failed]"
    denied = ErrorNode("Aggregate", members=(quota_exceeded("exceeded quota"),))
    assert (condition_for_error(denied).reason, condition_for_error(denied).message) == (
        "QuotaExceeded",
        "exceeded quota",
    )
    nested = ErrorNode("Aggregate", members=(ErrorNode("Aggregate", members=(fit,)),))
    assert condition_for_error(nested).reason == "SchedulerError"
    wrapped = ErrorNode("Wrapped", "outer: 0/1", members=(fit,))
    assert (condition_for_error(wrapped).reason, condition_for_error(wrapped).retry) == (
        "NoClusterFit",
        False,
    )
    same = ErrorNode("Aggregate", members=(ErrorNode("Error", "x"), ErrorNode("Error", "x")))
    assert condition_for_error(same).message == "x"


def test_placement_changed() -> None:
    placement = {
        "clusterAffinities": TERMS,
        "spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1}],
    }
    applied = json.dumps(placement)
    assert placement_changed(placement, None, "primary")
    assert not placement_changed(placement, "{not json", "primary")
    assert not placement_changed(placement, applied, "")
    defaulted = {
        **placement,
        "spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 0}],
    }
    assert not placement_changed(defaulted, applied, "primary")
    other_terms = {
        **placement,
        "clusterAffinities": [TERMS[0], {"affinityName": "backup", "clusterNames": ["c"]}],
    }
    assert not placement_changed(other_terms, applied, "primary")
    assert placement_changed(other_terms, applied, "backup")
    assert placement_changed(other_terms, applied, "")
    assert placement_changed({**placement, "clusterTolerations": [{"operator": "Exists"}]}, applied, "primary")


def test_needs_scheduling() -> None:
    placement = {"replicaScheduling": DIVIDED_DYNAMIC}
    annotated = {"policy.karmada.io/applied-placement": json.dumps(placement)}
    steady = {
        **binding(placement, 3, previous=[{"name": "a", "replicas": 3}]),
        "metadata": {"annotations": annotated},
    }
    assert needs_scheduling(steady) is None
    assert needs_scheduling(steady, {"a"}) == "TargetClusterDeleting"
    scaled = {**steady, "spec": {**steady["spec"], "replicas": 4}}
    assert needs_scheduling(scaled) == "ReplicasChanged"
    assert needs_scheduling({**steady, "metadata": {}}) == "PlacementChanged"
    triggered = {
        **steady,
        "spec": {**steady["spec"], "rescheduleTriggeredAt": "2024-01-02T00:00:00Z"},
        "status": {"lastScheduledTime": "2024-01-01T00:00:00Z"},
    }
    assert needs_scheduling(triggered) == "RescheduleTriggered"
    config = {**steady, "spec": {**steady["spec"], "replicas": 0, "clusters": []}}
    assert needs_scheduling(config) == "AlwaysScheduled"


def with_capacity(entry: dict[str, Any], cpu: str) -> dict[str, Any]:
    summary = {"allocatable": {"cpu": cpu, "memory": "64Gi", "pods": "110"}, "allocated": {"cpu": "0"}}
    return {**entry, "status": {**entry["status"], "resourceSummary": summary}}


def test_built_in_estimator_and_fleet_agree() -> None:
    fleet = [with_capacity(cluster("a"), "4"), with_capacity(cluster("b"), "2"), cluster("c")]
    placement = {"replicaScheduling": DIVIDED_DYNAMIC}
    body = binding(placement, 6, replicaRequirements={"resourceRequest": {"cpu": "1"}})
    direct = schedule(body, fleet)
    shared = schedule(body, Fleet.build(fleet))
    assert targets(direct) == targets(shared) == {"a": 4, "b": 2}
    estimates = {e.name: e.allocatable_replicas for e in shared.explanations}
    assert estimates == {"a": 4, "b": 2, "c": 0}
    too_many = schedule(binding(placement, 7, replicaRequirements={"resourceRequest": {"cpu": "1"}}), fleet)
    assert too_many.error is not None and too_many.error.message == (
        "failed to assign replicas: failed to scale up: Clusters available replicas 6 are not enough to schedule."
    )
