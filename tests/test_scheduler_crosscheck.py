"""Snapshot bindings scheduled by ``kpl plan`` against answers from Karmada's own scheduler.

Every expectation below was confirmed against karmada-scheduler's generic scheduler at f8fdd02df, driven
the way ``pkg/scheduler/scheduler.go`` drives it (re-run decision, clusterAffinities loop, default plugin
registry, general estimator only), on exactly these objects.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from kpl.engine.bindings import Interpretation, build_binding, stored_binding
from kpl.engine.library import Library
from kpl.engine.plan import Plan, PlanInputs
from kpl.engine.report import BindingReport, PlacementReport

NATIVE_ONLY = Library({})


def _cluster(name: str, tier: str, provider: str, region: str, cpu: str, used: str,
             taints: Sequence[Mapping[str, str]] = ()) -> dict[str, Any]:
    enablements = [{"groupVersion": "apps/v1", "resources": [{"name": "deployments", "kind": "Deployment"}]}]
    summary = {"allocatable": {"cpu": cpu, "memory": "64Gi", "pods": "110"},
               "allocated": {"cpu": used, "memory": "8Gi", "pods": "10"}}
    return {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": name, "labels": {"tier": tier}},
            "spec": {"provider": provider, "region": region, "taints": list(taints)},
            "status": {"apiEnablements": enablements, "resourceSummary": summary}}


CLUSTERS = (
    _cluster("m1", "gold", "aws", "r1", "8", "2000m"),
    _cluster("m2", "gold", "gcp", "r2", "16", "4000m"),
    _cluster("m3", "silver", "gcp", "r2", "4", "1000m"),
    _cluster("m4", "bronze", "gcp", "r3", "32", "0", [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
)
DYNAMIC = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
           "weightPreference": {"dynamicWeight": "AvailableReplicas"}}
TERMS = [
    {"affinityName": "primary", "labelSelector": {"matchLabels": {"tier": "gold"}}},
    {"affinityName": "backup",
     "fieldSelector": {"matchExpressions": [{"key": "provider", "operator": "In", "values": ["gcp"]}]}},
]
STATIC = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
          "weightPreference": {"staticWeightList": [
              {"targetCluster": {"clusterNames": ["m1"]}, "weight": 2},
              {"targetCluster": {"clusterNames": ["m2", "m3"]}, "weight": 1}]}}
GPU_TOLERATION = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]


def _binding(name: str, placement: Mapping[str, Any], replicas: int, *, cpu: str = "1",
             status: Mapping[str, Any] | None = None,
             clusters: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "web", "name": name,
                     "uid": f"uid-{name}"},
        "placement": dict(placement), "replicas": replicas,
        "replicaRequirements": {"resourceRequest": {"cpu": cpu, "memory": "1Gi"}},
    }
    if clusters is not None:
        spec["clusters"] = [dict(c) for c in clusters]
    binding: dict[str, Any] = {"apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
                               "metadata": {"name": f"{name}-deployment", "namespace": "web"}, "spec": spec}
    if status is not None:
        binding["status"] = dict(status)
    return binding


BINDINGS = (
    # The Go field name is not part of the API: Karmada never sees it and starts at the first term.
    _binding("go-name", {"clusterAffinities": TERMS, "replicaScheduling": DYNAMIC}, 6,
             status={"schedulerObservedAffinityName": "backup"}),
    _binding("json-name", {"clusterAffinities": TERMS, "replicaScheduling": DYNAMIC}, 6,
             status={"schedulerObservingAffinityName": "backup"}),
    _binding("spread", {"replicaScheduling": DYNAMIC,
                        "spreadConstraints": [{"spreadByField": "region", "minGroups": 3, "maxGroups": 3}]}, 2,
             clusters=[{"name": "m1", "replicas": 1}, {"name": "m2", "replicas": 1}]),
    _binding("too-big", {"replicaScheduling": DYNAMIC}, 40, clusters=[{"name": "m3", "replicas": 3}]),
    _binding("static", {"clusterAffinity": {"clusterNames": ["m1", "m2", "m3"]}, "replicaScheduling": STATIC}, 7),
    _binding("no-fit", {"clusterAffinity": {"labelSelector": {"matchLabels": {"tier": "platinum"}}}}, 3,
             clusters=[{"name": "m1", "replicas": 3}]),
    _binding("aggregated", {"replicaScheduling": {"replicaSchedulingType": "Divided",
                                                  "replicaDivisionPreference": "Aggregated"}}, 20, cpu="500m"),
    _binding("duplicated", {"clusterTolerations": GPU_TOLERATION,
                            "replicaScheduling": {"replicaSchedulingType": "Duplicated"}}, 2),
)

# name -> (where the workload runs afterwards, error type, error message or None when Karmada's text depends
# on its random filter-plugin order because a cluster fails several filters)
EXPECTED: dict[str, tuple[dict[str, int], str | None, str | None]] = {
    "go-name-deployment": ({"m1": 2, "m2": 4}, None, None),
    "json-name-deployment": ({"m2": 5, "m3": 1}, None, None),
    "spread-deployment": ({"m1": 1, "m2": 1}, "Error",
                          "failed to select clusters: the number of feasible region is less than "
                          "spreadConstraint.MinGroups"),
    "too-big-deployment": ({"m3": 3}, "Unschedulable",
                           "failed to assign replicas: failed to scale up: Clusters available replicas 21 are "
                           "not enough to schedule."),
    "static-deployment": ({"m1": 3, "m2": 2, "m3": 2}, None, None),
    "no-fit-deployment": ({}, "FitError", None),
    "aggregated-deployment": ({"m2": 20}, None, None),
    "duplicated-deployment": ({"m1": 2, "m2": 2, "m3": 2, "m4": 2}, None, None),
}


def _report() -> PlacementReport:
    inputs = PlanInputs(clusters=CLUSTERS, bindings=BINDINGS, library=NATIVE_ONLY, from_policies=False)
    return Plan.compile(inputs).evaluate()


def _runs_on(binding: BindingReport) -> dict[str, int]:
    """Where Karmada leaves the workload: the new result; nothing after a FitError; else the old result."""
    if binding.error is None:
        found = binding.clusters or ()
    elif binding.error.type == "FitError":
        found = ()
    else:
        found = binding.previous or ()
    return {target.name: target.replicas for target in found}


@pytest.fixture(scope="module")
def report() -> PlacementReport:
    return _report()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_binding_matches_karmada_scheduler(report: PlacementReport, name: str) -> None:
    binding = next(b for b in report.bindings if b.name == name)
    clusters, error_type, message = EXPECTED[name]
    assert _runs_on(binding) == clusters
    assert (binding.error.type if binding.error is not None else None) == error_type
    if message is not None:
        assert binding.error is not None and binding.error.message == message


def test_observed_term_only_from_the_api_field(report: PlacementReport) -> None:
    names = {b.name: b.affinity_name for b in report.bindings}
    assert names["go-name-deployment"] == "primary"
    assert names["json-name-deployment"] == "backup"


def test_stored_binding_drops_only_non_api_status_keys() -> None:
    original = _binding("x", {}, 1, status={"schedulerObservedAffinityName": "a",
                                            "schedulerObservingAffinityName": "b", "lastScheduledTime": "t"})
    before = copy.deepcopy(original)
    stored = stored_binding(original)
    assert original == before
    assert stored["status"] == {"schedulerObservingAffinityName": "b", "lastScheduledTime": "t"}
    assert stored["spec"] == original["spec"] and stored["spec"] is not original["spec"]


def test_a_previous_binding_keeps_its_api_status_only() -> None:
    template = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "namespace": "web"}}
    policy = {"kind": "PropagationPolicy", "metadata": {"name": "pp", "namespace": "web"},
              "spec": {"placement": {"clusterAffinities": TERMS}}}
    previous = _binding("x", {}, 1, status={"schedulerObservedAffinityName": "backup",
                                            "schedulerObservingAffinityName": "primary"})
    built = build_binding(template, policy, Interpretation(replicas=1), previous)
    assert built["status"] == {"schedulerObservingAffinityName": "primary"}
