"""Work shared by every binding scheduled over one fleet snapshot.

A fleet is scheduled against thousands of bindings that reuse a few dozen placements and a handful of
resource requests. :class:`SharedWork` keeps, for one fleet:

* filter outcomes per compiled filter plan (placement, observed term, resource kind, workload or
  not): every cluster is checked once per plan, and a binding only re-checks the clusters of its
  previous result or eviction tasks, the only inputs that change an outcome;
* the general estimator's answer per (replica requirements, components, set mode, gates) over the
  whole fleet, as integers; a binding's estimate is then a lookup plus Karmada's combination rule;
* cluster explanations interned by value, so equal explanations are one object (the report renders
  each once);
* whole scheduling results per :func:`schedule_key`: everything the scheduler reads from a binding
  (its spec without the template's name, namespace and UID, the UID's hash parity that orders Webster
  ties, the status fields it reads) and the run options. Two bindings with the same key get the same
  answer, so the result is computed once.

Counters (:meth:`SharedWork.stats`) say how much work was done: per-cluster estimator evaluations,
fleet-wide estimate computations, filter plans, schedules run and reused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from kpl.engine.features import MULTIPLE_POD_TEMPLATES_SCHEDULING, FeatureGates
from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.capacity import MAX_INT32, ClusterCapacity
from kpl.engine.scheduler.estimator import UNAUTHENTIC_REPLICA, general_estimates
from kpl.engine.scheduler.filters import FilterOutcome, FilterPlan, is_workload
from kpl.engine.scheduler.types import BindingSpecView, is_multi_template_applicable
from kpl.engine.scheduler.webster import odd_uid

__all__ = ["STATUS_FIELDS_READ", "CarriedChange", "FilteredClusters", "ScheduleKey", "SharedWork", "canonical",
           "schedule_key", "uid_parity"]

STATUS_FIELDS_READ = ("schedulerObservingAffinityName", "schedulerObservedAffinityName", "lastScheduledTime")
"""The binding status fields the scheduler reads; the rest of the status plays no part."""

_T = TypeVar("_T")
_TEMPLATE_IDENTITY = frozenset({"name", "namespace", "uid"})

FilteredClusters = tuple[Sequence[ClusterView], Sequence[tuple[ClusterView, FilterOutcome]]]


def canonical(value: Any) -> str:
    """A stable text for a JSON-like value (keys sorted), used as a cache key."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


_text = repr
"""The cache keys' text of a loaded value: the type and value of every part, in its key order (equal values
written in another key order only miss the cache); several times cheaper than :func:`canonical`."""


def uid_parity(uid: str) -> int:
    """What Webster's tie-breaker reads from a UID: 1 for a non-empty UID with an odd FNV-1a hash."""
    return 1 if uid and odd_uid(uid) else 0


ScheduleKey = tuple[str, str, int, tuple[tuple[str, bool], ...], bool]


def schedule_key(binding: Mapping[str, Any], gates: FeatureGates, padded: bool) -> ScheduleKey:
    """Everything :func:`kpl.engine.scheduler.pipeline.schedule` reads from ``binding``: the spec without the
    template's name, namespace and UID and the status fields read (as texts), the UID's parity, the gates and
    the padding option."""
    spec = binding.get("spec") or {}
    status = binding.get("status") or {}
    resource = spec.get("resource") or {}
    reduced = dict(spec)
    reduced["resource"] = {k: v for k, v in resource.items() if k not in _TEMPLATE_IDENTITY}
    watched = [(k, status[k]) for k in STATUS_FIELDS_READ if k in status]
    parity = uid_parity(str(resource.get("uid") or ""))
    return (_text(reduced), _text(watched), parity, gates.overrides, padded)


@dataclass(frozen=True, slots=True)
class _PlanOutcomes:
    """One filter plan's outcomes over the fleet for a binding with no previous result or eviction."""

    plan: FilterPlan
    outcomes: tuple[FilterOutcome | None, ...]
    feasible: tuple[ClusterView, ...]
    rejected: tuple[tuple[ClusterView, FilterOutcome], ...]

    @classmethod
    def of(cls, plan: FilterPlan, views: Sequence[ClusterView]) -> _PlanOutcomes:
        outcomes = tuple(None if view.deleting else plan.check(view, False, False) for view in views)
        return cls(plan, outcomes, *_split(views, outcomes))


def _split(views: Sequence[ClusterView], outcomes: Sequence[FilterOutcome | None]) -> tuple[
        tuple[ClusterView, ...], tuple[tuple[ClusterView, FilterOutcome], ...]]:
    feasible: list[ClusterView] = []
    rejected: list[tuple[ClusterView, FilterOutcome]] = []
    for view, outcome in zip(views, outcomes, strict=True):
        if outcome is None:
            continue
        if outcome.passed:
            feasible.append(view)
        else:
            rejected.append((view, outcome))
    return tuple(feasible), tuple(rejected)


class SharedWork:
    """Caches for one fleet (views and capacities); safe to share by every binding scheduled on it."""

    __slots__ = ("_bases", "_estimate_specs", "_estimates", "_explanations", "_filters", "_orders", "_plans",
                 "_schedules", "_stages", "_unbounded", "capacities", "counts", "deleting", "positions", "views")

    def __init__(self, views: Sequence[ClusterView], capacities: Mapping[str, ClusterCapacity]) -> None:
        self.views = tuple(views)
        self.capacities = capacities
        self.positions = {view.name: index for index, view in enumerate(self.views)}
        self.deleting = frozenset(view.name for view in self.views if view.deleting)
        self._plans: dict[tuple[str, str, str, str, bool], _PlanOutcomes] = {}
        self._filters = self._plans
        self._estimates: dict[tuple[Any, ...], Mapping[str, int]] = {}
        self._estimate_specs: dict[tuple[Any, ...], tuple[Mapping[str, Any], FeatureGates]] = {}
        self._explanations: dict[tuple[Any, ...], Any] = {}
        self._schedules: dict[ScheduleKey, Any] = {}
        self._stages: dict[tuple[Any, ...], Any] = {}
        self._unbounded: dict[tuple[Any, ...], bool] = {}
        self._orders: dict[tuple[Any, ...], list[int]] = {}
        self._bases: dict[tuple[Any, ...], list[Any]] = {}
        self.counts = {"estimator_evaluations": 0, "fleet_estimates": 0, "filter_plans": 0,
                       "schedules_run": 0, "schedules_reused": 0, "stages": 0}

    # ------------------------------------------------------------------ filters
    def filter_plan(self, spec: Mapping[str, Any], observed: str) -> tuple[str, str, str, str, bool]:
        """The cache key of the filter plan of ``spec`` with ``observed`` as the current term."""
        resource = spec.get("resource") or {}
        return (_text(spec.get("placement") or {}), observed, str(resource.get("apiVersion") or ""),
                str(resource.get("kind") or ""), is_workload(spec))

    def filtered(self, spec: Mapping[str, Any], observed: str, previous: Collection[str],
                 evicting: Collection[str]) -> FilteredClusters:
        """The feasible and rejected clusters, as :func:`~kpl.engine.scheduler.pipeline.filter_clusters`."""
        key = self.filter_plan(spec, observed)
        found = self._plans.get(key)
        if found is None:
            self.counts["filter_plans"] += 1
            found = self._plans[key] = _PlanOutcomes.of(FilterPlan.compile(spec, observed), self.views)
        touched = [self.positions[n] for n in {*previous, *evicting} if n in self.positions]
        if not touched:
            return found.feasible, found.rejected
        outcomes = list(found.outcomes)
        for index in touched:
            view = self.views[index]
            if not view.deleting:
                outcomes[index] = found.plan.check(view, view.name in previous, view.name in evicting)
        return _split(self.views, outcomes)

    def touched(self, spec: Mapping[str, Any], observed: str, previous: Collection[str],
                evicting: Collection[str]) -> tuple[bool, dict[int, FilterOutcome | None]]:
        """For a binding with previous or evicting clusters: whether any cluster passes the filters, and the
        outcome of each of those clusters by fleet position (``None`` for a deleting one); every other
        cluster's outcome is the filter plan's."""
        key = self.filter_plan(spec, observed)
        found = self._plans.get(key)
        if found is None:
            self.counts["filter_plans"] += 1
            found = self._plans[key] = _PlanOutcomes.of(FilterPlan.compile(spec, observed), self.views)
        outcomes: dict[int, FilterOutcome | None] = {}
        passed_before = 0
        for name in {*previous, *evicting}:
            index = self.positions.get(name)
            if index is None:
                continue
            view, before = self.views[index], found.outcomes[index]
            passed_before += before is not None and before.passed
            outcomes[index] = None if view.deleting else found.plan.check(view, name in previous, name in evicting)
        passing = len(found.feasible) > passed_before or any(o is not None and o.passed for o in outcomes.values())
        return passing, outcomes

    def unfeasible_rows(self, spec: Mapping[str, Any], observed: str,
                        make: Callable[[tuple[FilterOutcome | None, ...]], list[Any]]) -> list[Any]:
        """Per fleet position, the explanation of each cluster the filter plan of ``spec`` and ``observed`` does
        not pass (rejected or deleting; ``None`` for a feasible one), made by ``make`` from the plan's outcomes
        the first time: every stage of the plan shares them, whatever its estimate."""
        key = self.filter_plan(spec, observed)
        found = self._bases.get(key)
        if found is None:
            found = self._bases[key] = make(self._plans[key].outcomes)
        return found

    def overflow_orders(self, spec: Mapping[str, Any], observed: str, make: Callable[[], list[int]]) -> list[int]:
        """The overflow tiers of the feasible clusters of the filter plan of ``spec`` and ``observed`` (the
        placement and the observed term fix them), made by ``make`` the first time."""
        key = self.filter_plan(spec, observed)
        found = self._orders.get(key)
        if found is None:
            found = self._orders[key] = make()
        return found

    # ------------------------------------------------------------------ estimates
    def estimate(
        self, views: Sequence[ClusterView], spec: Mapping[str, Any], gates: FeatureGates
    ) -> list[int]:
        """What :func:`~kpl.engine.scheduler.estimator.max_available_replicas` gives ``views``, from the
        shared general estimates."""
        replicas = int(spec.get("replicas") or 0)
        components = tuple(spec.get("components") or ())
        if replicas == 0 and not components:
            return [MAX_INT32] * len(views)
        general = self._general_for(spec, gates)
        missing = [view for view in views if view.name not in general]
        if missing:
            general = {**general, **general_estimates(self._capacities(missing), _spec_view(spec), gates)}
        # Karmada's combination (combine_estimates) with the general estimator alone: its answer where it
        # bounds the replicas, else ``spec.replicas``.
        return [replicas if (found := general[view.name]) >= MAX_INT32 or found == UNAUTHENTIC_REPLICA else found
                for view in views]

    def _estimate_key(self, spec: Mapping[str, Any], gates: FeatureGates) -> tuple[Any, ...]:
        components = tuple(spec.get("components") or ())
        as_sets = gates.enabled(MULTIPLE_POD_TEMPLATES_SCHEDULING) and is_multi_template_applicable(
            components, spec.get("placement"))
        return (_text(spec.get("replicaRequirements")), _text(components), as_sets, gates.overrides)

    def _general_for(self, spec: Mapping[str, Any], gates: FeatureGates,
                     key: tuple[Any, ...] | None = None) -> Mapping[str, int]:
        key = key or self._estimate_key(spec, gates)
        general = self._estimates.get(key)
        if general is None:
            general = self._estimates[key] = self._general(spec, gates)
            self._estimate_specs[key] = (spec, gates)
        return general

    def stage_key(self, spec: Mapping[str, Any], observed: str, gates: FeatureGates) -> tuple[Any, ...]:
        """What filtering, estimating and ordering read from a binding, leaving out its previous and evicting
        clusters (patched in per binding): the filter plan, the estimate, the observed term, and the replicas
        only where an estimate is unbounded (Karmada then puts ``spec.replicas`` in its place)."""
        replicas = int(spec.get("replicas") or 0)
        workload = replicas != 0 or bool(spec.get("components"))
        estimate_key = self._estimate_key(spec, gates) if workload else None
        unbounded = True
        if estimate_key is not None:
            known = self._unbounded.get(estimate_key)
            if known is None:
                general = self._general_for(spec, gates, estimate_key)
                unbounded = self._unbounded[estimate_key] = _unbounded(general)
            else:
                unbounded = known
        return (self.filter_plan(spec, observed), estimate_key, replicas if unbounded else None)

    def stage(self, key: tuple[Any, ...], make: Callable[[], _T]) -> _T:
        """The stage for a :meth:`stage_key`, made by ``make`` the first time."""
        found = self._stages.get(key)
        if found is None:
            self.counts["stages"] += 1
            found = self._stages[key] = make()
        return cast(_T, found)

    def _capacities(self, views: Sequence[ClusterView]) -> list[ClusterCapacity | Mapping[str, Any]]:
        return [self.capacities.get(view.name) or view.source for view in views]

    def _general(self, spec: Mapping[str, Any], gates: FeatureGates) -> Mapping[str, int]:
        self.counts["fleet_estimates"] += 1
        self.counts["estimator_evaluations"] += len(self.views)
        return general_estimates(self._capacities(self.views), _spec_view(spec), gates)

    # ------------------------------------------------------------------ explanations and results
    def intern(self, key: tuple[Any, ...], make: Callable[[], _T]) -> _T:
        """The one object for ``key`` (built by ``make`` the first time)."""
        found = self._explanations.get(key)
        if found is None:
            found = self._explanations[key] = make()
        return cast(_T, found)

    def intern_rows(self, rows: Iterable[tuple[Any, ...]], make: Callable[..., _T]) -> list[_T]:
        """:meth:`intern` for many keys at once; ``make(*row)`` builds a missing one. The objects must be true
        (the default for class instances): the lookups run in one pass and only the misses are walked."""
        listed = rows if isinstance(rows, list) else list(rows)
        table = self._explanations
        found: list[Any] = list(map(table.get, listed))
        if not all(found):
            for index, item in enumerate(found):
                if item is None:
                    row = listed[index]
                    item = table.get(row)  # an earlier row of this batch may have made it
                    if item is None:
                        item = table[row] = make(*row)
                    found[index] = item
        return cast(list[_T], found)

    def schedule(self, key: ScheduleKey, run: Callable[[], Any]) -> Any:
        """The result for a :func:`schedule_key`, computed by ``run`` the first time."""
        found = self._schedules.get(key)
        if found is None:
            self.counts["schedules_run"] += 1
            found = self._schedules[key] = run()
        else:
            self.counts["schedules_reused"] += 1
        return found

    def stats(self) -> dict[str, int]:
        return dict(self.counts)

    # ------------------------------------------------------------------ one cluster changed
    def carry(self, old: SharedWork, name: str) -> CarriedChange:
        """Start from ``old``'s work, where this fleet differs from ``old``'s only in the cluster ``name`` (same
        names in the same order): every filter plan's outcomes with that cluster checked again, every estimate
        with that cluster estimated again, the unbounded flags, the overflow tiers the cluster cannot move and
        the interned explanations (keyed by value, so they stay right). Stages are carried by
        :meth:`carry_stages`; memoised schedules start empty."""
        position = self.positions[name]
        view, before = self.views[position], old.views[position]
        self._explanations = old._explanations
        moved_plans: set[tuple[str, str, str, str, bool]] = set()
        for key, found in old._plans.items():
            outcomes = list(found.outcomes)
            outcome = None if view.deleting else found.plan.check(view, False, False)
            if outcome != outcomes[position]:
                moved_plans.add(key)
                outcomes[position] = outcome
                self._plans[key] = _PlanOutcomes(found.plan, tuple(outcomes), *_split(self.views, outcomes))
            else:
                self._plans[key] = _swapped(found, before, view, outcome)
            tiers = old._orders.get(key)
            if tiers is not None and key not in moved_plans and (view == before or not outcome or not outcome.passed):
                self._orders[key] = tiers
        moved, flipped = self._carry_estimates(old, name)
        return CarriedChange(position, view != before, frozenset(moved_plans), frozenset(moved), frozenset(flipped))

    def _carry_estimates(self, old: SharedWork, name: str) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
        moved: set[tuple[Any, ...]] = set()
        flipped: set[tuple[Any, ...]] = set()
        capacity = self.capacities.get(name) or self.views[self.positions[name]].source
        for key, general in old._estimates.items():
            spec, gates = old._estimate_specs[key]
            found = general_estimates([capacity], _spec_view(spec), gates)
            self._estimate_specs[key] = (spec, gates)
            if found.get(name) == general.get(name):
                self._estimates[key] = general
                if key in old._unbounded:
                    self._unbounded[key] = old._unbounded[key]
                continue
            moved.add(key)
            merged = self._estimates[key] = {**general, **found}
            if key in old._unbounded:
                unbounded = self._unbounded[key] = _unbounded(merged)
                if unbounded != old._unbounded[key]:
                    flipped.add(key)
        return moved, flipped

    def carry_stages(self, old: SharedWork, change: CarriedChange,
                     patch: Callable[[tuple[Any, ...], Any], Any | None]) -> None:
        """``old``'s stages, each given to ``patch`` (which returns it as it is, a patched copy, or None to
        leave it to be built again); stages whose estimate turned bounded or unbounded are left out, their
        key meaning another thing now."""
        for key, stage in old._stages.items():
            if key[1] is not None and key[1] in change.flipped_estimates:
                continue
            found = patch(key, stage)
            if found is not None:
                self._stages[key] = found

    def plan_outcome(self, key: tuple[str, str, str, str, bool], position: int) -> FilterOutcome | None:
        """The outcome of the cluster at ``position`` under a filter plan this fleet has (by its key)."""
        return self._plans[key].outcomes[position]


def _swapped(found: _PlanOutcomes, before: ClusterView, view: ClusterView,
             outcome: FilterOutcome | None) -> _PlanOutcomes:
    """``found`` with the view ``before`` replaced by ``view``, whose outcome (``outcome``) is the same."""
    feasible, rejected = found.feasible, found.rejected
    if outcome is not None and outcome.passed:
        index = list(map(id, feasible)).index(id(before))
        feasible = (*feasible[:index], view, *feasible[index + 1:])
    elif outcome is not None:
        index = [id(v) for v, _ in rejected].index(id(before))
        rejected = (*rejected[:index], (view, outcome), *rejected[index + 1:])
    return _PlanOutcomes(found.plan, found.outcomes, feasible, rejected)


def _unbounded(general: Mapping[str, int]) -> bool:
    return any(v == UNAUTHENTIC_REPLICA or v >= MAX_INT32 for v in general.values())


@dataclass(frozen=True, slots=True)
class CarriedChange:
    """What one changed cluster moved when its fleet's work was carried (:meth:`SharedWork.carry`): its fleet
    position, whether its scheduling facts (labels, topology, taints, APIs, deletion) changed, the filter plans
    whose outcome for it changed, the estimates whose value for it changed and those among them that turned
    bounded or unbounded."""

    position: int
    view_changed: bool
    moved_plans: frozenset[tuple[str, str, str, str, bool]]
    moved_estimates: frozenset[tuple[Any, ...]]
    flipped_estimates: frozenset[tuple[Any, ...]]


def _spec_view(spec: Mapping[str, Any]) -> BindingSpecView:
    return BindingSpecView.from_spec(spec)
