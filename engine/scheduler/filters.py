"""The scheduler's filter plugins and the text of the error raised when no cluster passes.

Karmada runs its filter plugins in Go map order, which is random, and stops at the first failure,
so when a cluster fails several filters the reason it reports varies between runs. kpl uses one fixed
order, :data:`FILTER_ORDER`: APIEnablement, TaintToleration, ClusterAffinity, SpreadConstraint,
ClusterEviction.

A :class:`FilterPlan` is compiled once per distinct (placement, observed affinity term, resource
kind, workload or not); :meth:`FilterPlan.check` is then a pure function of the plan, the cluster
view, whether the cluster is in the previous result and whether it is being evicted, so a cache can
share outcomes across bindings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kpl.engine.scheduler.affinity import ClusterView, CompiledAffinity, compile_affinity
from kpl.engine.scheduler.taints import Toleration, first_untolerated_taint, parse_tolerations

__all__ = [
    "API_ENABLEMENT",
    "CLUSTER_AFFINITY",
    "CLUSTER_EVICTION",
    "FILTER_ORDER",
    "PASSED",
    "REASON_AFFINITY",
    "REASON_API",
    "REASON_EVICTION",
    "SPREAD_CONSTRAINT",
    "TAINT_TOLERATION",
    "FilterOutcome",
    "FilterPlan",
    "api_enablement_filter",
    "cluster_affinity_filter",
    "considered_affinities",
    "eviction_filter",
    "fit_error_message",
    "group_version",
    "is_workload",
    "observed_affinity_name",
    "spread_filter",
    "taint_filter",
]

API_ENABLEMENT = "APIEnablement"
TAINT_TOLERATION = "TaintToleration"
CLUSTER_AFFINITY = "ClusterAffinity"
SPREAD_CONSTRAINT = "SpreadConstraint"
CLUSTER_EVICTION = "ClusterEviction"
FILTER_ORDER = (API_ENABLEMENT, TAINT_TOLERATION, CLUSTER_AFFINITY, SPREAD_CONSTRAINT, CLUSTER_EVICTION)

REASON_API = "cluster(s) did not have the API resource"
REASON_AFFINITY = "cluster(s) did not match the placement cluster affinity constraint"
REASON_EVICTION = "cluster(s) is in the process of eviction"
_SPREAD_REASONS = {
    "provider": "cluster(s) did not have provider property",
    "region": "cluster(s) did not have region property",
    "zone": "cluster(s) did not have zones property",
}


@dataclass(frozen=True, slots=True)
class FilterOutcome:
    """A filter verdict: ``plugin`` and Karmada's ``reason`` text when rejected, both empty when passed."""

    plugin: str = ""
    reason: str = ""

    @property
    def passed(self) -> bool:
        return not self.plugin


PASSED = FilterOutcome()
_API_REJECTED = FilterOutcome(API_ENABLEMENT, REASON_API)
_AFFINITY_REJECTED = FilterOutcome(CLUSTER_AFFINITY, REASON_AFFINITY)
_EVICTION_REJECTED = FilterOutcome(CLUSTER_EVICTION, REASON_EVICTION)


def group_version(api_version: str) -> str:
    """An apiVersion normalised as Kubernetes prints a parsed GroupVersion (``/v1`` → ``v1``)."""
    if api_version in ("", "/"):
        return ""
    if api_version.count("/") > 1:
        return ""
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}" if group else version


def is_workload(spec: Mapping[str, Any]) -> bool:
    """A binding spec is a workload when it has replicas, replica requirements or components."""
    return (
        (spec.get("replicas") or 0) > 0
        or spec.get("replicaRequirements") is not None
        or bool(spec.get("components"))
    )


def observed_affinity_name(status: Mapping[str, Any] | None) -> str:
    """``status.schedulerObservingAffinityName`` (the Go field name is accepted too)."""
    status = status or {}
    return str(
        status.get("schedulerObservingAffinityName") or status.get("schedulerObservedAffinityName") or ""
    )


def considered_affinities(
    placement: Mapping[str, Any], observed: str, workload: bool
) -> tuple[Mapping[str, Any], ...] | None:
    """The affinities the ClusterAffinity filter ORs together; ``None`` when there are none.

    ``clusterAffinity`` if set; else the ``clusterAffinities`` term named ``observed`` plus, for
    workloads, its overflow affinities.
    """
    if placement.get("clusterAffinity") is not None:
        return (placement["clusterAffinity"],)
    for term in placement.get("clusterAffinities") or ():
        if (term.get("affinityName") or "") != observed:
            continue
        found: list[Mapping[str, Any]] = [term]
        if workload:
            found.extend(overflow for overflow in term.get("overflowAffinities") or ())
        return tuple(found)
    return None


def api_enablement_filter(
    cluster: ClusterView, api_version: str, kind: str, in_previous: bool
) -> FilterOutcome:
    """Pass when already scheduled there, or when the cluster reports the resource's API as enabled."""
    if in_previous or (group_version(api_version), kind) in cluster.api_enablements:
        return PASSED
    return FilterOutcome(API_ENABLEMENT, REASON_API)


def taint_filter(cluster: ClusterView, tolerations: Sequence[Toleration], in_previous: bool) -> FilterOutcome:
    """Pass when already scheduled there, or when every NoSchedule/NoExecute taint is tolerated."""
    if in_previous:
        return PASSED
    taint = first_untolerated_taint(cluster.taints, tolerations)
    if taint is None:
        return PASSED
    return FilterOutcome(TAINT_TOLERATION, f"cluster(s) had untolerated taint {{{taint}}}")


def cluster_affinity_filter(
    cluster: ClusterView, affinities: Sequence[CompiledAffinity] | None
) -> FilterOutcome:
    """Pass when no affinity applies or the cluster matches any of them."""
    if affinities is None or any(affinity.matches(cluster) for affinity in affinities):
        return PASSED
    return FilterOutcome(CLUSTER_AFFINITY, REASON_AFFINITY)


def spread_filter(cluster: ClusterView, spread_fields: Iterable[str]) -> FilterOutcome:
    """Reject a cluster lacking the provider/region/zones a spread constraint groups by."""
    for spread_field in spread_fields:
        missing = (
            (spread_field == "provider" and not cluster.provider)
            or (spread_field == "region" and not cluster.region)
            or (spread_field == "zone" and not cluster.zones)
        )
        if missing:
            return FilterOutcome(SPREAD_CONSTRAINT, _SPREAD_REASONS[spread_field])
    return PASSED


def eviction_filter(cluster: ClusterView, evicting: bool) -> FilterOutcome:
    """Reject a cluster the binding is being gracefully evicted from."""
    return FilterOutcome(CLUSTER_EVICTION, REASON_EVICTION) if evicting else PASSED


@dataclass(frozen=True, slots=True)
class FilterPlan:
    """Everything the filters need from a binding, compiled once."""

    api_version: str
    kind: str
    tolerations: tuple[Toleration, ...]
    affinities: tuple[CompiledAffinity, ...] | None
    spread_fields: tuple[str, ...]
    api_key: tuple[str, str] = field(init=False, repr=False, compare=False)
    """What the APIEnablement filter looks up in a cluster's enablements (from ``api_version`` and ``kind``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_key", (group_version(self.api_version), self.kind))

    @classmethod
    def compile(cls, spec: Mapping[str, Any], observed: str) -> FilterPlan:
        """Compile the filters of binding ``spec`` with ``observed`` as the current affinity term."""
        placement = spec.get("placement") or {}
        resource = spec.get("resource") or {}
        affinities = considered_affinities(placement, observed, is_workload(spec))
        return cls(
            api_version=resource.get("apiVersion") or "",
            kind=resource.get("kind") or "",
            tolerations=parse_tolerations(placement.get("clusterTolerations")),
            affinities=None if affinities is None else tuple(compile_affinity(a) for a in affinities),
            spread_fields=tuple(
                c.get("spreadByField") or "" for c in placement.get("spreadConstraints") or ()
            ),
        )

    def check(self, cluster: ClusterView, in_previous: bool, evicting: bool) -> FilterOutcome:
        """Run the filters in :data:`FILTER_ORDER`, stopping at the first rejection (the plugins above, inlined
        where they pass, since a plan checks every cluster of the fleet)."""
        if not in_previous:
            if self.api_key not in cluster.api_enablements:
                return _API_REJECTED
            if cluster.taints:
                outcome = taint_filter(cluster, self.tolerations, False)
                if outcome.plugin:
                    return outcome
        affinities = self.affinities
        if affinities is not None and not any(affinity.matches(cluster) for affinity in affinities):
            return _AFFINITY_REJECTED
        if self.spread_fields:
            outcome = spread_filter(cluster, self.spread_fields)
            if outcome.plugin:
                return outcome
        return _EVICTION_REJECTED if evicting else PASSED


def fit_error_message(num_all_clusters: int, reasons: Iterable[str]) -> str:
    """Karmada's FitError text: ``0/N clusters are available: <count> <reason>, ...``.

    ``reasons`` holds one reason per rejected cluster. Rendered ``"<count> <reason>"`` strings are
    sorted as plain strings; with no rejection at all the text says ``no cluster exists``.
    """
    counts = Counter(reasons)
    if num_all_clusters == 0 or not counts:
        return f"0/{num_all_clusters} clusters are available: no cluster exists."
    rendered = sorted(f"{count} {reason}" for reason, count in counts.items())
    return f"0/{num_all_clusters} clusters are available: {', '.join(rendered)}."
