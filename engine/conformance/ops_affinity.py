"""Vector ops of ``affinity_taints.yaml``: affinity matching, filters, scores, conditions, policy choice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kpl.engine.conformance.compare import deep_diff
from kpl.engine.conformance.ops_spread import filter_result_diff
from kpl.engine.conformance.registry import vector_op
from kpl.engine.matching import (
    CLUSTER_POLICY,
    PolicyView,
    ResourceView,
    higher_by_name,
    highest_priority_policy,
    select_policy,
)
from kpl.engine.scheduler.affinity import ClusterView, cluster_matches, match_zones
from kpl.engine.scheduler.filters import (
    FilterPlan,
    api_enablement_filter,
    cluster_affinity_filter,
    eviction_filter,
    taint_filter,
)
from kpl.engine.scheduler.scoring import locality_score
from kpl.engine.scheduler.taints import parse_tolerations

__all__: list[str] = []


def _cluster(input: Mapping[str, Any]) -> ClusterView:
    return ClusterView.from_object(input["cluster"])


def _previous(input: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(str(name) for name in input.get("previous_clusters") or ())


@vector_op("cluster_matches")
def cluster_matches_op(input: Mapping[str, Any], expected: Any) -> str | None:
    return deep_diff(cluster_matches(_cluster(input), input.get("affinity") or {}), expected["matches"])


@vector_op("match_zones")
def match_zones_op(input: Mapping[str, Any], expected: Any) -> str | None:
    return deep_diff(match_zones(input["requirement"], input.get("zones")), expected["matches"])


@vector_op("taint_filter")
def taint_filter_op(input: Mapping[str, Any], expected: Any) -> str | None:
    cluster = _cluster(input)
    tolerations = parse_tolerations(input.get("tolerations"))
    outcome = taint_filter(cluster, tolerations, cluster.name in _previous(input))
    return filter_result_diff(outcome.passed, outcome.reason, expected)


@vector_op("cluster_affinity_filter")
def cluster_affinity_filter_op(input: Mapping[str, Any], expected: Any) -> str | None:
    from kpl.engine.scheduler.filters import observed_affinity_name

    spec = dict(input.get("spec") or {})
    spec["placement"] = input.get("placement") or spec.get("placement") or {}
    plan = FilterPlan.compile(spec, observed_affinity_name(input.get("status")))
    outcome = cluster_affinity_filter(_cluster(input), plan.affinities)
    return filter_result_diff(outcome.passed, outcome.reason, expected)


@vector_op("api_enablement_filter")
def api_enablement_filter_op(input: Mapping[str, Any], expected: Any) -> str | None:
    cluster = _cluster(input)
    resource = input.get("resource") or {}
    outcome = api_enablement_filter(
        cluster,
        resource.get("apiVersion") or "",
        resource.get("kind") or "",
        cluster.name in _previous(input),
    )
    return filter_result_diff(outcome.passed, outcome.reason, expected)


@vector_op("eviction_filter")
def eviction_filter_op(input: Mapping[str, Any], expected: Any) -> str | None:
    cluster = _cluster(input)
    evicting = any(
        task.get("fromCluster") == cluster.name for task in input.get("gracefulEvictionTasks") or ()
    )
    outcome = eviction_filter(cluster, evicting)
    return filter_result_diff(outcome.passed, outcome.reason, expected)


@vector_op("locality_score")
def locality_score_op(input: Mapping[str, Any], expected: Any) -> str | None:
    return deep_diff(locality_score(_cluster(input), _previous(input)), expected["score"])


@vector_op("affinity_index")
def affinity_index_op(input: Mapping[str, Any], expected: Any) -> str | None:
    from kpl.engine.scheduler.pipeline import affinity_index

    terms = [
        name if isinstance(name, Mapping) else {"affinityName": name}
        for name in input.get("affinities") or ()
    ]
    return deep_diff(affinity_index(terms, str(input.get("observed") or "")), expected["index"])


@vector_op("condition_by_error")
def condition_by_error_op(input: Mapping[str, Any], expected: Any) -> str | None:
    from kpl.engine.scheduler.pipeline import ErrorNode, condition_for_error

    raw = input.get("error")
    condition = condition_for_error(None if raw is None else ErrorNode.from_mapping(raw))
    actual = condition.to_api() | {"retry": condition.retry}
    return deep_diff({k: actual.get(k) for k in expected}, dict(expected))


def _policies(raw: Any, kind: str) -> list[PolicyView]:
    return [PolicyView.from_object(policy, kind) for policy in raw or ()]


@vector_op("policy_select")
def policy_select_op(input: Mapping[str, Any], expected: Any) -> str | None:
    resource = ResourceView.from_object(input["resource"])
    policies = _policies(input.get("policies"), "PropagationPolicy")
    if "cluster_policies" in input:
        cluster_policies = _policies(input.get("cluster_policies"), CLUSTER_POLICY)
        for_namespace = [
            p
            if p.namespace
            else PolicyView(
                p.kind,
                resource.namespace,
                p.name,
                p.priority,
                p.selectors,
                p.preemption,
                p.deleting,
                p.source,
            )
            for p in policies
        ]
        chosen = select_policy(resource, [*for_namespace, *cluster_policies])
    else:
        chosen = highest_priority_policy([p for p in policies if not p.deleting], resource)
    return deep_diff(None if chosen is None else chosen.name, expected["selected"])


@vector_op("policy_name_tiebreak")
def policy_name_tiebreak_op(input: Mapping[str, Any], expected: Any) -> str | None:
    def named(name: Any) -> PolicyView | None:
        return None if name is None else PolicyView("PropagationPolicy", "", str(name), None, ())

    second = named(input.get("b"))
    if second is None:
        return "the second policy must be given"
    return deep_diff(higher_by_name(named(input.get("a")), second).name, expected["winner"])
