"""Which schedules one cluster's change can move, so a re-plan recomputes only those.

A binding's schedule reads the fleet in three ways:

* the filter outcome of every cluster under the binding's filter plans (one per affinity term it may try);
  a cluster the filters reject contributes only its rejection (plugin and reason) to the result;
* for the clusters the filters pass, the cluster's topology (labels, provider, region, zones, which spread
  constraints, static weights and overflow tiers read) and its estimate for the binding's replica
  requirements (what the general estimator answers for that cluster alone: Karmada combines estimators
  cluster by cluster);
* for the clusters of the previous result and of graceful eviction tasks, everything (they are filtered
  with other flags, scored apart and decide whether the scheduler runs at all).

So when cluster ``c`` changes, a schedule must be recomputed only when ``c`` is in its previous or evicting
clusters, when ``c``'s outcome under one of its filter plans differs, or when ``c`` passes one of its plans
and ``c``'s topology or its general estimate for the binding's requirements differs. Labels are read only by
the filters, static weight rules and overflow affinities, so a change of ``c``'s labels alone moves a binding
without static weight rules or overflow affinities only through its filter outcomes. Every other schedule
keeps its result. :class:`DependencyIndex` keeps what each schedule reads (cached per binding object), and
:func:`affected_schedules` applies the rule; :func:`refreshed_fleet` swaps the cluster into the fleet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kpl.engine.features import FeatureGates
from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.estimator import general_estimates
from kpl.engine.scheduler.filters import FilterOutcome, FilterPlan, is_workload, observed_affinity_name
from kpl.engine.scheduler.fleet_patch import patched_fleet
from kpl.engine.scheduler.pipeline import Fleet
from kpl.engine.scheduler.shared import canonical
from kpl.engine.scheduler.types import BindingSpecView

__all__ = ["ClusterChange", "DependencyIndex", "ScheduleReads", "affected_schedules", "refreshed_fleet"]

FilterKey = tuple[str, str, str, str, bool]


@dataclass(frozen=True, slots=True)
class ScheduleReads:
    """What one binding's schedule reads from the fleet: its filter plans, the requirement its estimates
    are computed for (None when it estimates nothing), and the clusters read in full."""

    filters: tuple[FilterKey, ...]
    requirement: str | None
    touched: frozenset[str]
    labels: bool = True
    """Whether cluster labels are read beyond the filters (static weight rules, overflow affinities)."""


@dataclass(frozen=True, slots=True)
class ClusterChange:
    """One cluster before and after, as the scheduler digests it."""

    name: str
    old_view: ClusterView
    new_view: ClusterView
    old_capacity: ClusterCapacity
    new_capacity: ClusterCapacity

    @property
    def topology_changed(self) -> bool:
        return self.old_view != self.new_view

    @property
    def capacity_changed(self) -> bool:
        return self.old_capacity != self.new_capacity

    @property
    def labels_only(self) -> bool:
        """Whether the scheduler's facts of the cluster differ in its labels alone."""
        return replace(self.old_view, labels=self.new_view.labels) == self.new_view


def _observed_terms(spec: Mapping[str, Any], status: Mapping[str, Any]) -> list[str]:
    terms = (spec.get("placement") or {}).get("clusterAffinities") or ()
    names = [str(term.get("affinityName") or "") for term in terms if isinstance(term, Mapping)]
    observed = observed_affinity_name(status)
    return names if observed in names else [*names, observed]


def _filter_key(spec: Mapping[str, Any], observed: str) -> FilterKey:
    resource = spec.get("resource") or {}
    return (canonical(spec.get("placement") or {}), observed, str(resource.get("apiVersion") or ""),
            str(resource.get("kind") or ""), is_workload(spec))


def _requirement(spec: Mapping[str, Any]) -> str | None:
    components = spec.get("components") or ()
    if int(spec.get("replicas") or 0) == 0 and not components:
        return None
    placement = spec.get("placement") if components else None
    return canonical([spec.get("replicaRequirements"), components, placement])


def _reads_labels(spec: Mapping[str, Any]) -> bool:
    """Whether scheduling reads cluster labels other than through the filters: static weight rules select
    clusters by labels (division) and overflow affinities rank them (the global order); the filters' own
    affinities are covered by their outcomes, and spread constraints group by provider, region and zones."""
    placement = spec.get("placement") or {}
    if not isinstance(placement, Mapping):
        return True
    preference = (placement.get("replicaScheduling") or {}).get("weightPreference") or {}
    if preference.get("staticWeightList"):
        return True
    terms = placement.get("clusterAffinities") or ()
    return any(not isinstance(term, Mapping) or term.get("overflowAffinities") is not None for term in terms)


def _touched(spec: Mapping[str, Any]) -> frozenset[str]:
    previous = {str(t.get("name")) for t in spec.get("clusters") or () if isinstance(t, Mapping)}
    evicting = {str(t.get("fromCluster")) for t in spec.get("gracefulEvictionTasks") or ()
                if isinstance(t, Mapping)}
    return frozenset(previous | evicting)


class DependencyIndex:
    """What each schedule node reads, recomputed only when its binding object is replaced."""

    __slots__ = ("_plans", "_reads", "_specs")

    def __init__(self) -> None:
        self._reads: dict[str, tuple[object, ScheduleReads]] = {}
        self._plans: dict[FilterKey, tuple[Mapping[str, Any], str]] = {}
        self._specs: dict[str, Mapping[str, Any]] = {}

    def reads(self, node: str, binding: Mapping[str, Any]) -> ScheduleReads:
        """What ``node`` (scheduling ``binding``) reads; cached while the binding is the same object."""
        found = self._reads.get(node)
        if found is not None and found[0] is binding:
            return found[1]
        spec, status = binding.get("spec") or {}, binding.get("status") or {}
        keys: list[FilterKey] = []
        for observed in _observed_terms(spec, status):
            key = _filter_key(spec, observed)
            self._plans.setdefault(key, (spec, observed))
            keys.append(key)
        requirement = _requirement(spec)
        if requirement is not None:
            self._specs.setdefault(requirement, spec)
        reads = ScheduleReads(tuple(keys), requirement, _touched(spec), _reads_labels(spec))
        self._reads[node] = (binding, reads)
        return reads

    def outcomes(self, keys: Iterable[FilterKey], change: ClusterChange) -> dict[FilterKey, tuple[bool, bool]]:
        """Per filter plan: (the changed cluster's outcome differs, it passes before or after)."""
        found: dict[FilterKey, tuple[bool, bool]] = {}
        for key in keys:
            spec, observed = self._plans[key]
            plan = FilterPlan.compile(spec, observed)
            before, after = _outcome(plan, change.old_view), _outcome(plan, change.new_view)
            passes = (before is not None and before.passed) or (after is not None and after.passed)
            found[key] = (before != after, passes)
        return found

    def estimates_changed(self, requirements: Iterable[str], change: ClusterChange,
                          gates: FeatureGates) -> set[str]:
        """The requirements whose general estimate on the changed cluster differs."""
        if not change.capacity_changed:
            return set()
        changed: set[str] = set()
        for requirement in requirements:
            view = BindingSpecView.from_spec(self._specs[requirement])
            before = general_estimates([change.old_capacity], view, gates)
            after = general_estimates([change.new_capacity], view, gates)
            if before != after:
                changed.add(requirement)
        return changed


def _outcome(plan: FilterPlan, view: ClusterView) -> FilterOutcome | None:
    return None if view.deleting else plan.check(view, False, False)


def affected_schedules(index: DependencyIndex, schedules: Iterable[tuple[str, Mapping[str, Any]]],
                       change: ClusterChange, gates: FeatureGates) -> list[str]:
    """The schedule nodes (given with their bindings) whose result may differ after ``change``."""
    reads = [(node, index.reads(node, binding)) for node, binding in schedules]
    outcomes = index.outcomes({key for _, r in reads for key in r.filters}, change)
    estimates = index.estimates_changed({r.requirement for _, r in reads if r.requirement is not None},
                                        change, gates)
    topology = change.topology_changed
    labels_only = topology and change.labels_only
    affected: list[str] = []
    for node, read in reads:
        if change.name in read.touched:
            affected.append(node)
            continue
        # A change of labels alone reaches a binding through its filters' outcomes (compared below) or, when
        # it reads labels elsewhere, through its division or order.
        moved = (topology and (read.labels or not labels_only)) or read.requirement in estimates
        for key in read.filters:
            differs, passes = outcomes[key]
            if differs or (passes and moved):
                affected.append(node)
                break
    return affected


def refreshed_fleet(fleet: Fleet, view: ClusterView, capacity: ClusterCapacity) -> Fleet:
    """``fleet`` with one cluster's view and capacity replaced (its position kept), starting from the old
    fleet's shared work with only that cluster's entries computed again
    (:func:`kpl.engine.scheduler.fleet_patch.patched_fleet`); memoised schedules start empty."""
    return patched_fleet(fleet, view, capacity)
