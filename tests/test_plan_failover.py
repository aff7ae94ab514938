"""Cluster failover in the plan: taint-manager eviction, rescheduling, state preservation and injection."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kpl.cli import main
from kpl.engine.features import FeatureGates
from kpl.engine.library import Library
from kpl.engine.plan import Plan, PlanInputs, load_plan_inputs
from kpl.engine.plan_failover import NOT_READY_TAINT, FailoverOutcome, failed_cluster
from kpl.engine.report import PlacementReport, render_text, report_to_json

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet"
JOB_LABEL = "application.karmada.io/cluster-failover-jobid"
JOB_ID = "8f3d2c1b0a99e7f6d5c4b3a291807f6e"
ON = FeatureGates.parse("Failover=true,StatefulFailoverInjection=true")


def cluster(name: str, region: str = "r1") -> dict[str, Any]:
    return {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": name},
        "spec": {"region": region}, "status": {
            "apiEnablements": [{"groupVersion": "apps/v1", "resources": [{"name": "d", "kind": "Deployment"}]}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "resourceSummary": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "500"}},
        },
    }


def deployment(replicas: int = 1) -> dict[str, Any]:
    container = {"name": "c", "resources": {"requests": {"cpu": "1"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "web"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}}}


def policy(placement: Mapping[str, Any] | None = None, purge: str = "Directly",
           path: str = "{ .jobStatus.jobID }") -> dict[str, Any]:
    default = {"spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 1}],
               "replicaScheduling": {"replicaSchedulingType": "Duplicated"}}
    failover = {"cluster": {"purgeMode": purge,
                            "statePreservation": {"rules": [{"aliasLabelName": JOB_LABEL, "jsonPath": path}]}}}
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
            "metadata": {"name": "pp", "namespace": "web"},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                     "placement": dict(placement if placement is not None else default), "failover": failover}}


def previous(on: Sequence[str] = ("m1",)) -> dict[str, Any]:
    return {
        "apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
        "metadata": {"name": "app-deployment", "namespace": "web"},
        "spec": {"clusters": [{"name": name, "replicas": 1} for name in on]},
        "status": {"aggregatedStatus": [
            {"clusterName": name, "status": {"jobStatus": {"jobID": JOB_ID}}} for name in on]},
    }


def run(fail: Sequence[str], gates: FeatureGates = ON, *, pol: Mapping[str, Any] | None = None,
        replicas: int = 1, on: Sequence[str] = ("m1",), clusters: Sequence[Mapping[str, Any]] = ()) -> PlacementReport:
    fleet = tuple(clusters) or (cluster("m1"), cluster("m2"))
    inputs = PlanInputs(fleet, (deployment(replicas),), (pol or policy(),), (previous(on),), Library({}), gates,
                        failed_clusters=tuple(fail))
    return Plan.compile(inputs).evaluate()


def outcome(report: PlacementReport) -> FailoverOutcome:
    assert len(report.failovers) == 1
    return report.failovers[0]


def names(found: FailoverOutcome) -> list[str]:
    return [t.name for t in found.clusters or ()]


# ------------------------------------------------------------------------------------ the example


@pytest.mark.parametrize("extra", ["", ",MultiplePodTemplatesScheduling=true"])
def test_example_flink_moves_to_member2_with_its_job_id(extra: str) -> None:
    gates = FeatureGates.parse("Failover=true,StatefulFailoverInjection=true" + extra)
    loaded = load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"], gates)
    report = Plan.compile(replace(loaded.inputs, failed_clusters=("member1",))).evaluate()
    flink = next(f for f in report.failovers if f.binding == "streaming/fraud-detector-flinkdeployment")
    assert flink.evicted == ("member1",) and flink.purge_mode == "Directly" and names(flink) == ["member2"]
    assert flink.preserved == {JOB_LABEL: JOB_ID}
    assert flink.injected == {"member2": {JOB_LABEL: JOB_ID}}
    assert f"{JOB_LABEL}: {JOB_ID}" in render_text(report)


def test_cli_fail_example(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", str(EXAMPLE / "policies"), "--snapshot", str(EXAMPLE / "snapshot"), "--fail", "member1",
            "--feature-gates", "Failover=true,StatefulFailoverInjection=true", "-o", "json"]
    main(args)
    found = json.loads(capsys.readouterr().out)["failover"]
    assert found["failedClusters"] == ["member1"]
    flink = next(b for b in found["bindings"] if b["binding"].startswith("streaming/"))
    assert flink["injectedLabels"] == {"member2": {JOB_LABEL: JOB_ID}}
    assert flink["gracefulEvictionTasks"][0]["producer"] == "TaintManager"


def test_cli_fail_unknown_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", str(EXAMPLE / "policies"), "--snapshot", str(EXAMPLE / "snapshot"), "--fail", "nowhere"]
    assert main(args) == 2
    assert "unknown cluster" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ gates and conditions


def test_failover_gate_off_evicts_nothing() -> None:
    found = outcome(run(["m1"], FeatureGates()))
    assert found.evicted == () and found.clusters is None
    assert any("Failover feature gate is off" in note for note in found.notes)


def test_injection_gate_off_moves_without_labels() -> None:
    found = outcome(run(["m1"], FeatureGates.parse("Failover=true")))
    assert names(found) == ["m2"] and found.preserved is None and found.injected is None
    assert any("StatefulFailoverInjection" in note for note in found.notes)


def test_missing_key_fails_the_eviction_with_an_explanation() -> None:
    found = outcome(run(["m1"], pol=policy(path="{ .jobStatus.nope }")))
    assert found.evicted == () and found.eviction_error is not None
    assert "nope is not found" in found.eviction_error
    assert any("retried" in note for note in found.notes)


def test_gracefully_preserves_but_does_not_inject() -> None:
    found = outcome(run(["m1"], pol=policy(purge="Gracefully")))
    assert found.preserved == {JOB_LABEL: JOB_ID} and found.injected == {}
    assert any("Directly" in note for note in found.notes)


def test_several_target_clusters_prevent_injection() -> None:
    duplicated = {"replicaScheduling": {"replicaSchedulingType": "Duplicated"}}
    found = outcome(run(["m1"], pol=policy(duplicated), on=("m1", "m2"),
                        clusters=(cluster("m1"), cluster("m2"), cluster("m3"))))
    assert names(found) == ["m2", "m3"] and found.injected == {}
    assert any("single cluster" in note for note in found.notes)


def test_toleration_seconds_delay_the_eviction() -> None:
    placement = {"spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 1}],
                 "clusterTolerations": [{"key": NOT_READY_TAINT, "operator": "Exists", "effect": "NoExecute",
                                         "tolerationSeconds": 300}]}
    found = outcome(run(["m1"], pol=policy(placement)))
    assert found.evicted == ("m1",) and found.after_seconds == 300


def test_toleration_forever_keeps_the_workload() -> None:
    placement = {"clusterTolerations": [{"key": NOT_READY_TAINT, "operator": "Exists"}]}
    found = outcome(run(["m1"], pol=policy(placement)))
    assert found.evicted == () and any("forever" in note for note in found.notes)


def test_cluster_affinities_fall_back_to_the_next_term() -> None:
    placement = {"clusterAffinities": [{"affinityName": "primary", "clusterNames": ["m1"]},
                                       {"affinityName": "backup", "clusterNames": ["m2"]}]}
    found = outcome(run(["m1"], pol=policy(placement), clusters=(cluster("m1"), cluster("m2"), cluster("m3"))))
    assert names(found) == ["m2"]


def test_divided_replicas_move_to_the_survivors() -> None:
    divided = {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}}
    report = run(["m1"], pol=policy(divided), replicas=4, on=("m1", "m2"))
    found = outcome(report)
    assert [(t.name, t.replicas) for t in found.clusters or ()] == [("m2", 4)]
    assert found.tasks[0]["fromCluster"] == "m1" and found.purge_mode == "Directly"
    assert report_to_json(report)["failover"]["bindings"][0]["evicted"] == ["m1"]


def test_unaffected_bindings_are_not_listed() -> None:
    assert run(["m2"]).failovers == ()


def test_failed_cluster_is_tainted_and_not_ready() -> None:
    from datetime import UTC, datetime

    found = failed_cluster(cluster("m1"), datetime(2024, 1, 1, tzinfo=UTC))
    effects = {(t["key"], t["effect"]) for t in found["spec"]["taints"]}
    assert effects == {(NOT_READY_TAINT, "NoSchedule"), (NOT_READY_TAINT, "NoExecute")}
    assert {"type": "Ready", "status": "False", "reason": "ClusterNotReachable"} in found["status"]["conditions"]
