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
and ``c``'s topology or its general estimate for the binding's requirements differs. Every other schedule
keeps its result. :class:`DependencyIndex` keeps what each schedule reads (cached per binding object), and
:func:`affected_schedules` applies the rule; :func:`refreshed_fleet` swaps the cluster into the fleet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kpl.engine.features import FeatureGates
from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.estimator import general_estimates
from kpl.engine.scheduler.filters import FilterOutcome, FilterPlan, is_workload, observed_affinity_name
from kpl.engine.scheduler.pipeline import Fleet
from kpl.engine.scheduler.shared import SharedWork, canonical
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
        reads = ScheduleReads(tuple(keys), requirement, _touched(spec))
        self._reads[node] = (binding, reads)
        return reads

    def requirement_specs(self) -> list[Mapping[str, Any]]:
        """One binding spec per replica requirement seen."""
        return list(self._specs.values())

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
    affected: list[str] = []
    for node, read in reads:
        if change.name in read.touched:
            affected.append(node)
            continue
        moved = topology or read.requirement in estimates
        for key in read.filters:
            differs, passes = outcomes[key]
            if differs or (passes and moved):
                affected.append(node)
                break
    return affected


def refreshed_fleet(fleet: Fleet, view: ClusterView, capacity: ClusterCapacity, index: DependencyIndex | None = None,
                    gates: FeatureGates | None = None) -> Fleet:
    """``fleet`` with one cluster's view and capacity replaced (its position kept).

    The new fleet's shared filter outcomes and estimates start from the old ones with only that cluster
    re-checked and re-estimated (estimates for requirements ``index`` has not seen are recomputed when
    needed); stages and memoised schedules start empty."""
    views = tuple(view if v.name == view.name else v for v in fleet.views)
    capacities = dict(fleet.capacities)
    capacities[view.name] = capacity
    fresh = Fleet.of(views, capacities)
    if fleet.shared is not None and fresh.shared is not None and index is not None:
        _carry_filters(fleet.shared, fresh.shared, view)
        _carry_estimates(fleet.shared, fresh.shared, capacity, index, gates or FeatureGates())
    return fresh


def _carry_filters(old: SharedWork, new: SharedWork, view: ClusterView) -> None:
    plans = getattr(old, "_filters", None)
    target = getattr(new, "_filters", None)
    position = new.positions.get(view.name)
    if not isinstance(plans, dict) or not isinstance(target, dict) or position is None:
        return
    for key, found in plans.items():
        outcomes = list(found.outcomes)
        outcomes[position] = _outcome(found.plan, view)
        target[key] = type(found)(found.plan, tuple(outcomes), *_split(new.views, outcomes))


def _split(views: tuple[ClusterView, ...], outcomes: list[FilterOutcome | None]) -> tuple[
        tuple[ClusterView, ...], tuple[tuple[ClusterView, FilterOutcome], ...]]:
    feasible = tuple(view for view, outcome in zip(views, outcomes, strict=True)
                     if outcome is not None and outcome.passed)
    rejected = tuple((view, outcome) for view, outcome in zip(views, outcomes, strict=True)
                     if outcome is not None and not outcome.passed)
    return feasible, rejected


def _carry_estimates(old: SharedWork, new: SharedWork, capacity: ClusterCapacity, index: DependencyIndex,
                     gates: FeatureGates) -> None:
    estimates = getattr(old, "_estimates", None)
    target = getattr(new, "_estimates", None)
    key_of = getattr(old, "_estimate_key", None)
    if not isinstance(estimates, dict) or not isinstance(target, dict) or key_of is None:
        return
    for spec in index.requirement_specs():
        key = key_of(spec, gates)
        if key in estimates and key not in target:
            general = general_estimates([capacity], BindingSpecView.from_spec(spec), gates)
            target[key] = {**estimates[key], **general}
