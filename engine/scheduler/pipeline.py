"""The whole scheduler for one ResourceBinding: filter, score, select, assign, with Karmada's outcome.

:func:`schedule` runs Karmada's generic algorithm over a fleet snapshot and returns the new
``spec.clusters`` (or ``None`` when Karmada would leave them untouched), the error, the ``Scheduled``
condition, the observed clusterAffinities term and a per-cluster explanation (the filter that
rejected it with Karmada's reason text, its score and its capacity estimate).

With ``clusterAffinities`` the terms are tried in order from the currently observed one (from the
first when a reschedule was triggered); the first success wins. When every term fails the first
error is reported; a FitError empties ``spec.clusters``, any other error keeps them. A single
``clusterAffinity`` behaves the same way. :func:`needs_scheduling` says whether Karmada would run the
scheduler for a binding at all.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import compress, repeat
from operator import attrgetter, itemgetter, not_
from typing import Any, TypeVar, cast

from kpl.engine.features import MULTIPLE_POD_TEMPLATES_SCHEDULING, FeatureGates
from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.carried import CarriedMarks
from kpl.engine.scheduler.division import assign_replica_targets, reschedule_required, selection_votes
from kpl.engine.scheduler.errors import FitError, SchedulingError, wrap_error
from kpl.engine.scheduler.estimator import ClusterCapacity, max_available_replicas
from kpl.engine.scheduler.filters import (
    FilterOutcome,
    FilterPlan,
    fit_error_message,
    is_workload,
    observed_affinity_name,
)
from kpl.engine.scheduler.marked import overlay, rebased
from kpl.engine.scheduler.scoring import score_clusters
from kpl.engine.scheduler.shared import SharedWork, schedule_key
from kpl.engine.scheduler.spread import (
    GroupedClusters,
    group_clusters,
    ignores_spread_constraints,
    overflow_orders,
    replica_scheduling_type,
    select_best_clusters,
    sort_clusters,
)
from kpl.engine.scheduler.types import (
    BindingSpecView,
    ClusterDetail,
    TargetCluster,
    is_multi_template_applicable,
    targets_to_api,
)

__all__ = [
    "APPLIED_PLACEMENT_ANNOTATION",
    "INVALID",
    "SUCCESS_MESSAGE",
    "Attempt",
    "ClusterExplanation",
    "ErrorNode",
    "Estimate",
    "Fleet",
    "ScheduleFailure",
    "ScheduleResult",
    "SchedulingCondition",
    "affinity_index",
    "build_cluster_details",
    "condition_for_error",
    "filter_clusters",
    "needs_scheduling",
    "placement_changed",
    "quota_exceeded",
    "replicas_changed",
    "run_algorithm",
    "schedule",
    "select_clusters",
]

_T = TypeVar("_T")

INVALID = "Invalid"
SUCCESS_MESSAGE = "Binding has been scheduled successfully."
APPLIED_PLACEMENT_ANNOTATION = "policy.karmada.io/applied-placement"

Estimate = Callable[[Sequence[ClusterView], Mapping[str, Any], FeatureGates], Sequence[int]]
"""Available replicas per cluster for a binding spec (Karmada's combined estimators, §6)."""


@dataclass(frozen=True, slots=True)
class ClusterExplanation:
    """What happened to one cluster in the attempt that decided the result."""

    name: str
    filter_plugin: str = ""
    reason: str = ""
    skipped_deleting: bool = False
    score: int | None = None
    allocatable_replicas: int | None = None
    available_replicas: int | None = None
    overflow_order: int | None = None
    selected: bool = False
    replicas: int | None = None

    @property
    def passed_filters(self) -> bool:
        return not self.filter_plugin and not self.skipped_deleting


@dataclass(frozen=True, slots=True)
class ScheduleFailure:
    """A failed run: ``type`` is FitError, Unschedulable, Error or Invalid; ``message`` Karmada's text."""

    type: str
    message: str

    def to_api(self) -> dict[str, str]:
        return {"type": self.type, "message": self.message}


@dataclass(frozen=True, slots=True)
class Attempt:
    """One run of the generic algorithm with one observed affinity term."""

    affinity_name: str
    targets: tuple[TargetCluster, ...] | None
    error: SchedulingError | None
    explanations: Sequence[ClusterExplanation]


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    """The scheduler's outcome for one binding.

    ``clusters`` is the new ``spec.clusters`` or ``None`` when the previous result stays. ``condition``
    is ``None`` only for an invalid binding, where Karmada writes no condition.
    """

    clusters: tuple[TargetCluster, ...] | None
    error: ScheduleFailure | None
    condition: SchedulingCondition | None
    observed_affinity_name: str
    explanations: Sequence[ClusterExplanation] = ()
    """One explanation per fleet cluster, in fleet order: a tuple, or a
    :class:`~kpl.engine.scheduler.marked.MarkedExplanations` (a stage's shared tuple plus the binding's own
    entries), which reads, compares and prints as that tuple."""
    attempts: tuple[Attempt, ...] = field(default=(), repr=False)

    def clusters_to_api(self) -> list[dict[str, Any]] | None:
        return None if self.clusters is None else targets_to_api(self.clusters)


@dataclass(frozen=True, slots=True)
class ErrorNode:
    """An error as Go's unwrapping sees it, to derive the binding condition.

    ``kind`` is FitError, Unschedulable or Error for leaves, ``Wrapped`` for an error wrapping its only
    member, ``Aggregate`` for a Kubernetes error aggregate (which unwrapping does not look into), and
    ``Status`` for an API status error with ``code`` and ``reason`` (the quota webhook's denial).
    """

    kind: str
    message: str = ""
    members: tuple[ErrorNode, ...] = ()
    code: int = 0
    reason: str = ""

    @classmethod
    def from_error(cls, error: SchedulingError) -> ErrorNode:
        return cls(error.kind, error.message)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> ErrorNode:
        """Read ``{kind, message?, of?[...], code?, reason?}``; kind ``QuotaExceeded`` is a 403 denial."""
        kind = str(raw.get("kind") or "Error")
        members = tuple(cls.from_mapping(member) for member in raw.get("of") or ())
        if kind == "QuotaExceeded":
            return quota_exceeded(str(raw.get("message") or ""))
        return cls(
            kind,
            str(raw.get("message") or ""),
            members,
            int(raw.get("code") or 0),
            str(raw.get("reason") or ""),
        )

    def text(self) -> str:
        """The error's ``Error()`` text."""
        if self.kind == "Aggregate":
            return _aggregate_text(self)
        if self.kind == "Wrapped" and not self.message and self.members:
            return self.members[0].text()
        return self.message

    def find(self, kind: str) -> ErrorNode | None:
        """Go's ``errors.As``: this error or one it wraps, never looking inside an aggregate."""
        node: ErrorNode | None = self
        while node is not None:
            if node.kind == kind:
                return node
            node = node.members[0] if node.kind == "Wrapped" and node.members else None
        return None


def quota_exceeded(message: str) -> ErrorNode:
    """The federated-quota admission denial (403, reason QuotaExceeded)."""
    return ErrorNode("Status", message, code=403, reason="QuotaExceeded")


def _flatten(node: ErrorNode) -> list[ErrorNode]:
    found: list[ErrorNode] = []
    for member in node.members:
        found.extend(_flatten(member) if member.kind == "Aggregate" else [member])
    return found


def _aggregate_text(node: ErrorNode) -> str:
    if len(node.members) == 1:
        return node.members[0].text()
    seen: list[str] = []
    for member in _flatten(node):
        if member.text() not in seen:
            seen.append(member.text())
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


@dataclass(frozen=True, slots=True)
class SchedulingCondition:
    """The binding's ``Scheduled`` condition; ``retry`` says whether the scheduler requeues the binding."""

    status: str
    reason: str
    message: str
    retry: bool
    type: str = "Scheduled"

    def to_api(self) -> dict[str, str]:
        return {"type": self.type, "status": self.status, "reason": self.reason, "message": self.message}


_SUCCESS = SchedulingCondition("True", "Success", SUCCESS_MESSAGE, False)


def _aggregate_condition(error: ErrorNode) -> SchedulingCondition | None:
    aggregate = error.find("Aggregate")
    for member in aggregate.members if aggregate else ():
        if member.find("FitError") is not None:
            return SchedulingCondition("False", "NoClusterFit", error.text(), True)
        status = member.find("Status")
        if status is not None and status.code == 403 and status.reason == "QuotaExceeded":
            return SchedulingCondition("False", "QuotaExceeded", member.text(), True)
    return None


def condition_for_error(error: ErrorNode | None) -> SchedulingCondition:
    """Karmada's condition for a scheduling outcome (spec §10)."""
    if error is None:
        return _SUCCESS
    if error.find("Unschedulable") is not None:
        return SchedulingCondition("False", "Unschedulable", error.text(), True)
    if error.find("FitError") is not None:
        return SchedulingCondition("False", "NoClusterFit", error.text(), False)
    aggregated = _aggregate_condition(error)
    if aggregated is not None:
        return aggregated
    return SchedulingCondition("False", "SchedulerError", error.text(), True)


def affinity_index(terms: Sequence[Mapping[str, Any]], observed: str) -> int:
    """The position of the term named ``observed`` in ``clusterAffinities`` (0 if empty or missing)."""
    if not observed:
        return 0
    for index, term in enumerate(terms):
        if (term.get("affinityName") or "") == observed:
            return index
    return 0


def filter_clusters(
    plan: FilterPlan, views: Sequence[ClusterView], previous: frozenset[str], evicting: frozenset[str]
) -> tuple[list[ClusterView], list[tuple[ClusterView, FilterOutcome]]]:
    """The feasible clusters and the rejected ones with their outcome; deleting clusters are skipped."""
    feasible: list[ClusterView] = []
    rejected: list[tuple[ClusterView, FilterOutcome]] = []
    for view in views:
        if view.deleting:
            continue
        outcome = plan.check(view, view.name in previous, view.name in evicting)
        if outcome.passed:
            feasible.append(view)
        else:
            rejected.append((view, outcome))
    return feasible, rejected


def _default_estimate(
    views: Sequence[ClusterView], spec: Mapping[str, Any], gates: FeatureGates
) -> Sequence[int]:
    found = max_available_replicas([view.source for view in views], spec, gates)
    return [found[view.name] for view in views]


@dataclass(frozen=True, slots=True)
class Fleet:
    """A fleet snapshot digested once and shared by many bindings: views and estimation capacities.

    ``shared`` (made by :meth:`build` and :meth:`of`) lets bindings share filter outcomes, estimates,
    explanations and whole results (:mod:`kpl.engine.scheduler.shared`); without it every binding is
    scheduled from scratch, with the same answers.
    """

    views: tuple[ClusterView, ...]
    capacities: Mapping[str, ClusterCapacity]
    shared: SharedWork | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(cls, clusters: Iterable[Mapping[str, Any] | ClusterView]) -> Fleet:
        views = tuple(c if isinstance(c, ClusterView) else ClusterView.from_object(c) for c in clusters)
        return cls.of(views, {view.name: ClusterCapacity.from_cluster(view.source) for view in views})

    @classmethod
    def of(cls, views: Sequence[ClusterView], capacities: Mapping[str, ClusterCapacity]) -> Fleet:
        """A fleet from digested views and capacities, with shared work across bindings."""
        return cls(tuple(views), capacities, SharedWork(views, capacities))

    def estimate(
        self, views: Sequence[ClusterView], spec: Mapping[str, Any], gates: FeatureGates
    ) -> list[int]:
        """The built-in estimators over the pre-digested capacities."""
        if self.shared is not None:
            return self.shared.estimate(views, spec, gates)
        found = max_available_replicas([self.capacities.get(v.name) or v.source for v in views], spec, gates)
        return [found[view.name] for view in views]

    def stats(self) -> dict[str, int]:
        """Work counters of the shared caches (empty without them)."""
        return {} if self.shared is None else self.shared.stats()


def build_cluster_details(
    scored: Sequence[tuple[ClusterView, int]],
    spec: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    gates: FeatureGates,
    estimate: Estimate | None = None,
    orders: Sequence[int] | None = None,
) -> list[ClusterDetail]:
    """Each scored cluster with its estimate, the replicas it already holds and its overflow tier (``orders``
    when given, one per scored cluster)."""
    views = [view for view, _ in scored]
    allocatable = list((estimate or _default_estimate)(views, spec, gates))
    held = {t.name: t.replicas for t in BindingSpecView.from_spec(spec).previous}
    if orders is None:
        orders = overflow_orders(views, spec.get("placement"), observed_affinity_name(status))
    return [
        ClusterDetail(
            name=view.name,
            score=score,
            allocatable_replicas=allocatable[index],
            available_replicas=allocatable[index] + held.get(view.name, 0),
            overflow_order=orders[index],
            cluster=view.source,
        )
        for index, (view, score) in enumerate(scored)
    ]


def select_clusters(
    scored: Sequence[tuple[ClusterView, int]],
    spec: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    gates: FeatureGates | None,
    estimate: Estimate | None = None,
) -> list[ClusterDetail]:
    """Karmada's SelectClusters: estimate, sort and group the candidates, then apply spread constraints."""
    gates = gates or FeatureGates()
    placement = spec.get("placement") or {}
    details = build_cluster_details(scored, spec, status, gates, estimate)
    replicas = int(spec.get("replicas") or 0)
    grouped = group_clusters(details, placement, replicas, {view.name: view for view, _ in scored})
    return _select_grouped(grouped, spec, gates)


def _select_grouped(
    grouped: GroupedClusters, spec: Mapping[str, Any], gates: FeatureGates
) -> list[ClusterDetail]:
    placement = spec.get("placement") or {}
    components = tuple(spec.get("components") or ())
    if gates.enabled(MULTIPLE_POD_TEMPLATES_SCHEDULING) and is_multi_template_applicable(
        components, placement
    ):
        return select_best_clusters(placement, grouped, 1)
    return select_best_clusters(placement, grouped, int(spec.get("replicas") or 0))


def _attach_zero_replicas(
    selected: Sequence[ClusterDetail], targets: list[TargetCluster]
) -> list[TargetCluster]:
    present = {target.name for target in targets}
    return targets + [TargetCluster(d.name, 0) for d in selected if d.name not in present]


@dataclass(frozen=True, slots=True)
class _Context:
    spec: Mapping[str, Any]
    views: tuple[ClusterView, ...]
    gates: FeatureGates
    estimate: Estimate | None
    empty_workload_propagation: bool
    previous: frozenset[str] = frozenset()
    evicting: frozenset[str] = frozenset()
    shared: SharedWork | None = None

    @classmethod
    def create(
        cls,
        spec: Mapping[str, Any],
        fleet: Fleet | Sequence[Mapping[str, Any] | ClusterView],
        gates: FeatureGates,
        estimate: Estimate | None,
        padded: bool,
    ) -> _Context:
        shared: SharedWork | None = None
        if isinstance(fleet, Fleet):
            views, shared, estimate = fleet.views, fleet.shared, estimate or fleet.estimate
        else:
            views = tuple(c if isinstance(c, ClusterView) else ClusterView.from_object(c) for c in fleet)
        previous = frozenset(str(t.get("name")) for t in spec.get("clusters") or ())
        evicting = frozenset(str(t.get("fromCluster")) for t in spec.get("gracefulEvictionTasks") or ())
        return cls(spec, views, gates, estimate, padded, previous, evicting, shared)


def _explain(
    rejected: Sequence[tuple[ClusterView, FilterOutcome]],
    views: Sequence[ClusterView],
    details: Sequence[ClusterDetail],
    selected: Sequence[ClusterDetail],
    targets: Sequence[TargetCluster] | None,
    shared: SharedWork | None = None,
) -> tuple[ClusterExplanation, ...]:
    """One explanation per cluster; with ``shared`` equal explanations are the same object."""
    if shared is None:
        return tuple(ClusterExplanation(*fields) for fields in _explanation_rows(
            rejected, views, details, selected, targets))
    rows = _explanation_rows(rejected, views, details, selected, targets, shared.positions)
    return tuple(shared.intern_rows(rows, ClusterExplanation))


def _explanation_rows(
    rejected: Sequence[tuple[ClusterView, FilterOutcome]],
    views: Sequence[ClusterView],
    details: Sequence[ClusterDetail],
    selected: Sequence[ClusterDetail],
    targets: Sequence[TargetCluster] | None,
    positions: Mapping[str, int] | None = None,
) -> list[tuple[Any, ...]]:
    """The fields of each cluster's explanation, in the order of ``views`` (``positions`` gives each name's
    place there, the fleet's own when the views are the fleet's), in C loops: every cluster as skipped, then
    the rejected ones and the candidates (all among ``views``) put in their places."""
    if positions is None:
        positions = {view.name: index for index, view in enumerate(views)}
    nothing = repeat(None)
    rows = list(zip(map(_NAME, views), repeat(""), repeat(""), map(_DELETING, views), nothing, nothing, nothing,
                    nothing, repeat(False), nothing))
    if rejected:
        names = list(map(_NAME, map(_FIRST, rejected)))
        outcomes = list(map(_SECOND, rejected))
        where = list(map(positions.__getitem__, names))
        _place(rows, where, zip(names, map(_PLUGIN, outcomes), map(_REASON, outcomes),
                                map(_DELETING, map(views.__getitem__, where)), nothing, nothing, nothing, nothing,
                                repeat(False), nothing))
    if details:
        given = targets or ()
        assigned = dict(zip(map(_NAME, given), map(_REPLICAS, given), strict=True))
        chosen = frozenset(map(_NAME, selected))
        names = list(map(_NAME, details))
        where = list(map(positions.__getitem__, names))
        _place(rows, where, _candidate_rows(details, names, map(_DELETING, map(views.__getitem__, where)),
                                            map(chosen.__contains__, names), map(assigned.get, names)))
    return rows


def _candidate_rows(details: Sequence[ClusterDetail], names: Iterable[str], deleting: Iterable[bool],
                    selected: Iterable[bool], replicas: Iterable[int | None]) -> Iterator[tuple[Any, ...]]:
    """The explanation fields of candidates (``names`` are theirs), which passed every filter."""
    return zip(names, repeat(""), repeat(""), deleting, map(_SCORE, details), map(_ALLOCATABLE, details),
               map(_AVAILABLE, details), map(_OVERFLOW, details), selected, replicas)


def run_algorithm(context: _Context, status: Mapping[str, Any]) -> Attempt:
    """One run of Karmada's generic scheduling algorithm with the affinity term named in ``status``."""
    observed = observed_affinity_name(status)
    shared = context.shared
    if shared is not None:
        staged = _run_staged(context, status, observed, shared)
        if staged is not None:
            return staged
    feasible, rejected = _filter(context, observed)
    if not feasible:
        error = FitError(fit_error_message(len(context.views), [o.reason for _, o in rejected]))
        return Attempt(observed, None, error, _explain(rejected, context.views, (), (), None, shared))
    scored = score_clusters(feasible, context.previous)
    details: list[ClusterDetail] = []
    selected: list[ClusterDetail] = []
    try:
        details = build_cluster_details(scored, context.spec, status, context.gates, context.estimate)
        selected = _select(scored, details, context, status)
        targets = _assign(selected, context, status)
    except SchedulingError as error:
        explained = _explain(rejected, context.views, details, selected, None, shared)
        return Attempt(observed, None, error, explained)
    explained = _explain(rejected, context.views, details, selected, targets, shared)
    return Attempt(observed, tuple(targets), None, explained)


@dataclass(frozen=True, slots=True)
class _Stage:
    """Filtering, estimates and the global cluster order as if no cluster held replicas or was being evicted,
    shared by bindings (:meth:`SharedWork.stage_key`); ``explanations`` has no cluster selected yet."""

    rejected: Sequence[tuple[ClusterView, FilterOutcome]]
    ordered: tuple[ClusterDetail, ...]
    views: Mapping[str, ClusterView]
    explanations: Sequence[ClusterExplanation]
    """A shared stage's explanations are a tuple; a stage patched for one binding has that tuple with its own
    clusters' entries over it (:func:`~kpl.engine.scheduler.marked.overlay`)."""
    marked: dict[tuple[Any, ...], Sequence[ClusterExplanation]] | None = field(default=None, compare=False)
    """The explanations after selection, per selection (one of ``selections``) and assigned replicas, for a
    stage shared by bindings; ``None`` for a stage patched for one binding."""
    selections: dict[tuple[Any, ...], tuple[ClusterDetail, ...] | SchedulingError] | None = field(
        default=None, compare=False)
    """The selected clusters (or the selection's error) per replicas and gates, for a stage shared by bindings:
    the stage fixes the placement, the order and the components."""
    origin: tuple[Mapping[str, Any], str, FeatureGates] | None = field(default=None, compare=False)
    """What a shared stage was built from (a binding spec without its previous clusters, the observed term and
    the gates), so a fleet with one cluster changed can patch it (:mod:`kpl.engine.scheduler.fleet_patch`)."""
    carried: CarriedMarks | None = field(default=None, compare=False)
    """For a shared stage patched for one changed cluster: the explanations after selection of the stage it was
    patched from; for the same selected clusters and assigned replicas only that cluster's row can differ."""
    assignments: dict[tuple[Any, ...], tuple[TargetCluster, ...]] = field(default_factory=dict, compare=False)
    """Duplicated assignments per selection and what else they read (:func:`_stage_assign`), on a shared stage."""
    votes: dict[int, dict[str, int] | None] = field(default_factory=dict, compare=False)
    """Webster's votes per selection (by its identity, one of ``selections``; :func:`selection_votes`)."""
    rows: dict[tuple[str, int | None], ClusterExplanation] = field(default_factory=dict, compare=False)
    """A selected cluster's explanation per name and assigned replicas, on a shared stage (a name has one
    detail in the stage's order, so these two fix the row)."""
    parent_rows: dict[tuple[str, int | None], ClusterExplanation] | None = field(default=None, compare=False)
    """For a stage patched for one binding: the ``rows`` of the shared stage it was patched from, right for
    every cluster but ``own``."""
    own: frozenset[str] = field(default=frozenset(), compare=False)
    """For a stage patched for one binding: its previous and evicting clusters, whose details are its own."""


def _stage(context: _Context, status: Mapping[str, Any], observed: str, shared: SharedWork) -> _Stage:
    feasible, rejected = shared.filtered(context.spec, observed, (), ())
    details: list[ClusterDetail] = []
    spec = {key: value for key, value in context.spec.items() if key != "clusters"}
    if feasible:
        scored = score_clusters(feasible, ())
        orders = shared.overflow_orders(context.spec, observed, lambda: overflow_orders(
            feasible, spec.get("placement"), observed_affinity_name(status)))
        details = build_cluster_details(scored, spec, status, context.gates, context.estimate, orders)
    explanations = _stage_explanations(context, observed, details, shared)
    return _Stage(rejected, tuple(sort_clusters(details)), {v.name: v for v in feasible}, explanations, {}, {},
                  (spec, observed, context.gates))


def _stage_explanations(
    context: _Context, observed: str, details: Sequence[ClusterDetail], shared: SharedWork
) -> tuple[ClusterExplanation, ...]:
    """:func:`_explain` for a stage (nothing selected): the filter plan's explanations of the clusters it does
    not pass, shared by the plan's stages, with one row per candidate in its fleet position."""
    explained = list(shared.unfeasible_rows(context.spec, observed, partial(_unfeasible_rows, context.views, shared)))
    positions = shared.positions
    # A candidate passed the filters, so it is not being deleted.
    names = list(map(_NAME, details))
    rows = list(_candidate_rows(details, names, repeat(False), repeat(False), repeat(None)))
    _place(explained, map(positions.__getitem__, names), shared.intern_rows(rows, ClusterExplanation))
    return tuple(explained)


def _unfeasible_rows(views: Sequence[ClusterView], shared: SharedWork,
                     outcomes: Sequence[FilterOutcome | None]) -> list[ClusterExplanation | None]:
    rows = [None if outcome is not None and outcome.passed else
            (view.name, outcome.plugin if outcome else "", outcome.reason if outcome else "", view.deleting,
             None, None, None, None, False, None)
            for view, outcome in zip(views, outcomes, strict=True)]
    made = iter(shared.intern_rows([row for row in rows if row is not None], ClusterExplanation))
    return [None if row is None else next(made) for row in rows]


def _run_staged(
    context: _Context, status: Mapping[str, Any], observed: str, shared: SharedWork
) -> Attempt | None:
    """:func:`run_algorithm` from a shared stage; ``None`` when the stage cannot be built."""
    key = shared.stage_key(context.spec, observed, context.gates)
    try:
        stage = shared.stage(key, partial(_stage, context, status, observed, shared))
    except SchedulingError:
        return None
    if context.previous or context.evicting:
        try:
            patched = _patched(stage, context, status, observed, shared)
        except SchedulingError:
            return None
        if patched is None:
            return None
        stage = patched
    if not stage.ordered:
        error = FitError(fit_error_message(len(context.views), [o.reason for _, o in stage.rejected]))
        return Attempt(observed, None, error, stage.explanations)
    selected: Sequence[ClusterDetail] = ()
    try:
        selected = _stage_selection(stage, context)
        targets = _stage_assign(stage, selected, context, status)
    except SchedulingError as error:
        return Attempt(observed, None, error, _mark_selected(stage, selected, None, shared))
    return Attempt(observed, tuple(targets), None, _mark_selected(stage, selected, targets, shared))


def _stage_selection(stage: _Stage, context: _Context) -> Sequence[ClusterDetail]:
    """The clusters selected from the stage's order, remembered per gates on a shared stage, and per replicas
    where the placement's spread constraints read them (without constraints, or for static weights, which
    ignore them, every candidate is selected whatever the replicas)."""
    if stage.selections is None:
        return _selection(stage, context)
    placement = context.spec.get("placement") or {}
    reads_replicas = bool(placement.get("spreadConstraints")) and not ignores_spread_constraints(placement)
    key = (int(context.spec.get("replicas") or 0) if reads_replicas else None, context.gates.overrides)
    found = stage.selections.get(key)
    if found is None:
        try:
            found = tuple(_selection(stage, context))
        except SchedulingError as error:
            found = error
        stage.selections[key] = found
    if isinstance(found, SchedulingError):
        raise found.with_traceback(None)
    return found


def _stage_assign(stage: _Stage, selected: Sequence[ClusterDetail], context: _Context,
                  status: Mapping[str, Any]) -> Sequence[TargetCluster]:
    """:func:`_assign`, remembered on a shared stage for Duplicated placements: every selected cluster then gets
    ``spec.replicas`` whatever the binding's UID, previous result or status, so the answer depends only on the
    selection (one of the stage's), the replicas, whether requirements are given, the components (fixed by the
    stage's estimate), the gates and the padding option."""
    spec = context.spec
    if stage.selections is None:
        return _assign(selected, context, status)
    if replica_scheduling_type(spec.get("placement")) != "Duplicated":
        # A shared stage's bindings have no previous result, so Webster's votes are fixed by the selection.
        if id(selected) in stage.votes:
            votes = stage.votes[id(selected)]
        else:
            votes = stage.votes[id(selected)] = selection_votes(selected, spec.get("placement") or {})
        return _assign(selected, context, status, votes)
    key = (id(selected), int(spec.get("replicas") or 0), spec.get("replicaRequirements") is not None,
           len(spec.get("components") or ()), context.gates.overrides, context.empty_workload_propagation)
    found = stage.assignments.get(key)
    if found is None:
        found = stage.assignments[key] = tuple(_assign(selected, context, status))
    return found


def _selection(stage: _Stage, context: _Context) -> list[ClusterDetail]:
    placement = context.spec.get("placement") or {}
    replicas = int(context.spec.get("replicas") or 0)
    grouped = group_clusters(stage.ordered, placement, replicas, stage.views, presorted=True)
    try:
        return _select_grouped(grouped, context.spec, context.gates)
    except SchedulingError as error:
        raise wrap_error("failed to select clusters", error) from error


def _patched(
    stage: _Stage, context: _Context, status: Mapping[str, Any], observed: str, shared: SharedWork
) -> _Stage | None:
    """The stage of a binding with a previous result or evictions: its previous and evicting clusters
    re-filtered, re-scored and re-estimated, the other clusters kept in the stage's order; ``None`` when
    nothing is feasible (the path without stages explains that)."""
    feasible, outcomes = shared.touched(context.spec, observed, context.previous, context.evicting)
    if not feasible:
        return None
    touched = sorted(outcomes)
    touched_views = [context.views[index] for index in touched]
    names = {view.name for view in touched_views}
    candidates = [context.views[i] for i in touched if (outcome := outcomes[i]) is not None and outcome.passed]
    rejected = [(context.views[i], o) for i in touched if (o := outcomes[i]) is not None and not o.passed]
    details: list[ClusterDetail] = []
    if candidates:
        scored = score_clusters(candidates, context.previous)
        details = build_cluster_details(scored, context.spec, status, context.gates, context.estimate)
    ordered = [detail for detail in stage.ordered if detail.name not in names]
    for detail in details:
        bisect.insort(ordered, detail, key=_order_key)
    views = {**stage.views, **{view.name: view for view in candidates}}
    rows = _explanation_rows(rejected, touched_views, details, (), None)
    explained = overlay(stage.explanations, touched, shared.intern_rows(rows, ClusterExplanation))
    # Something passes the filters, so the order is never empty and the rejected clusters (only the touched
    # ones here) are never read for a FitError.
    return _Stage(rejected, tuple(ordered), views, explained, parent_rows=stage.rows, own=frozenset(names))


def _order_key(detail: ClusterDetail) -> tuple[int, int, int, str]:
    """:func:`~kpl.engine.scheduler.spread.sort_clusters`' order."""
    return (detail.overflow_order, -detail.score, -detail.available_replicas, detail.name)


def _mark_selected(
    stage: _Stage, selected: Sequence[ClusterDetail], targets: Sequence[TargetCluster] | None,
    shared: SharedWork,
) -> Sequence[ClusterExplanation]:
    if not selected:
        return stage.explanations
    if stage.marked is None:  # patched for one binding from a shared stage
        return _stage_marked(stage, selected, targets or (), shared)
    # A shared stage's selections are the tuples its ``selections`` keep, so their identity names them.
    given = targets or ()
    key = (id(selected), tuple(map(_NAME, given)), tuple(map(_REPLICAS, given)))
    found = stage.marked.get(key)
    if found is None and stage.carried is not None:
        found = _carried_marks(stage, stage.carried, selected, key, given, shared)
        if found is not None:
            stage.marked[key] = found
    if found is None:
        found = stage.marked[key] = _stage_marked(stage, selected, given, shared)
    return found


def _stage_marked(
    stage: _Stage, selected: Sequence[ClusterDetail], targets: Sequence[TargetCluster], shared: SharedWork,
) -> Sequence[ClusterExplanation]:
    """The stage's explanations with ``selected`` marked selected with the replicas ``targets`` give them, on a
    shared stage (or one patched from it): each selected cluster's explanation is remembered per name and
    assigned replicas (a name has one detail in the stage's order, so these two fix the row). The stage's tuple
    is shared, with the selected clusters' entries over it."""
    assigned = dict(zip(map(_NAME, targets), map(_REPLICAS, targets), strict=True))
    names = list(map(_NAME, selected))
    replicas = list(map(assigned.get, names))
    keys = list(zip(names, replicas, strict=True))
    rows = stage.rows if stage.parent_rows is None else stage.parent_rows
    looked: list[ClusterExplanation | None] = list(map(rows.get, keys))
    if stage.own:
        # The binding's own clusters (previous, evicting) have details of their own: never the shared rows.
        where = dict(zip(names, range(len(names)), strict=True))
        for name in stage.own:
            index = where.get(name, -1)
            if index >= 0:
                looked[index] = shared.intern_rows(
                    _selected_rows([selected[index]], [name], [replicas[index]]), ClusterExplanation)[0]
    if not all(looked):
        missing = list(compress(range(len(looked)), map(not_, looked)))
        made = shared.intern_rows(_selected_rows([selected[i] for i in missing], [names[i] for i in missing],
                                                 [replicas[i] for i in missing]), ClusterExplanation)
        _place(looked, missing, made)
        rows.update(zip([keys[i] for i in missing], made, strict=True))
    return overlay(stage.explanations, map(shared.positions.__getitem__, names), cast(list[ClusterExplanation], looked))


def _selected_rows(selected: Sequence[ClusterDetail], names: Sequence[str],
                   replicas: Sequence[int | None]) -> list[tuple[Any, ...]]:
    """The explanation fields of selected clusters given ``replicas``."""
    return list(_candidate_rows(selected, names, repeat(False), repeat(True), replicas))


def _place(items: list[_T], positions: Iterable[int], values: Iterable[_T]) -> None:
    """``items[position] = value`` for each pair (a loop: calling ``items.__setitem__`` through ``map`` goes
    through a slot wrapper and costs about twice as much)."""
    for position, value in zip(positions, values, strict=True):
        items[position] = value


_NAME = attrgetter("name")
_REPLICAS = attrgetter("replicas")
_SCORE = attrgetter("score")
_ALLOCATABLE = attrgetter("allocatable_replicas")
_AVAILABLE = attrgetter("available_replicas")
_OVERFLOW = attrgetter("overflow_order")
_DELETING = attrgetter("deleting")
_PLUGIN = attrgetter("plugin")
_REASON = attrgetter("reason")
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)


def _carried_marks(
    stage: _Stage, carried: CarriedMarks, selected: Sequence[ClusterDetail], key: tuple[Any, ...],
    targets: Sequence[TargetCluster], shared: SharedWork,
) -> Sequence[ClusterExplanation] | None:
    """The explanations after selection from those of the stage this one was patched from, with the same
    selection and assignment, where only the changed cluster's row is made again (None when that stage had
    no such selection and assignment)."""
    position = carried.position
    found = carried.find(selected, key[1], key[2])
    if found is None:
        return None
    name = stage.explanations[position].name
    detail = next((d for d in selected if d.name == name), None)
    base = cast(tuple[ClusterExplanation, ...], stage.explanations)  # a shared stage's
    if detail is None:
        return rebased(found, base, position, None)
    replicas: int | None = None
    for target in targets:
        if target.name == name:
            replicas = target.replicas
    row = (name, "", "", False, detail.score, detail.allocatable_replicas, detail.available_replicas,
           detail.overflow_order, True, replicas)
    return rebased(found, base, position, shared.intern(row, partial(ClusterExplanation, *row)))


def _filter(context: _Context, observed: str) -> tuple[
        Sequence[ClusterView], Sequence[tuple[ClusterView, FilterOutcome]]]:
    if context.shared is not None:
        return context.shared.filtered(context.spec, observed, context.previous, context.evicting)
    plan = FilterPlan.compile(context.spec, observed)
    return filter_clusters(plan, context.views, context.previous, context.evicting)


def _select(
    scored: Sequence[tuple[ClusterView, int]],
    details: Sequence[ClusterDetail],
    context: _Context,
    status: Mapping[str, Any],
) -> list[ClusterDetail]:
    precomputed = [d.allocatable_replicas for d in details]
    try:
        return select_clusters(scored, context.spec, status, context.gates, lambda *_: precomputed)
    except SchedulingError as error:
        raise wrap_error("failed to select clusters", error) from error


def _assign(
    selected: Sequence[ClusterDetail], context: _Context, status: Mapping[str, Any],
    votes: Mapping[str, int] | None = None,
) -> list[TargetCluster]:
    spec = BindingSpecView.from_spec(context.spec)
    placement = context.spec.get("placement") or {}
    try:
        targets = assign_replica_targets(selected, spec, placement, status, context.gates, votes)
    except SchedulingError as error:
        raise wrap_error("failed to assign replicas", error) from error
    if context.empty_workload_propagation:
        targets = _attach_zero_replicas(selected, list(targets))
    return list(targets)


def _invalid(message: str, status: Mapping[str, Any]) -> ScheduleResult:
    return ScheduleResult(None, ScheduleFailure(INVALID, message), None, observed_affinity_name(status))


def _finish(
    attempts: Sequence[Attempt], success: Attempt | None, first_error: SchedulingError | None, observed: str
) -> ScheduleResult:
    if success is not None:
        return ScheduleResult(
            success.targets,
            None,
            condition_for_error(None),
            success.affinity_name,
            success.explanations,
            tuple(attempts),
        )
    if first_error is None:
        return ScheduleResult(None, None, condition_for_error(None), observed, (), tuple(attempts))
    clusters: tuple[TargetCluster, ...] | None = () if isinstance(first_error, FitError) else None
    failure = ScheduleFailure(first_error.kind, first_error.message)
    explanations = attempts[0].explanations if attempts else ()
    return ScheduleResult(
        clusters,
        failure,
        condition_for_error(ErrorNode.from_error(first_error)),
        observed,
        explanations,
        tuple(attempts),
    )


def _with_observed(status: Mapping[str, Any], name: str) -> dict[str, Any]:
    updated = {k: v for k, v in status.items() if k != "schedulerObservedAffinityName"}
    updated["schedulerObservingAffinityName"] = name
    return updated


def _schedule_terms(context: _Context, status: Mapping[str, Any]) -> ScheduleResult:
    terms = (context.spec.get("placement") or {}).get("clusterAffinities") or []
    observed = observed_affinity_name(status)
    start = affinity_index(terms, observed)
    if reschedule_required(context.spec.get("rescheduleTriggeredAt"), status.get("lastScheduledTime")):
        start = 0
    attempts: list[Attempt] = []
    first_error: SchedulingError | None = None
    for term in terms[start:]:
        attempt = run_algorithm(context, _with_observed(status, str(term.get("affinityName") or "")))
        attempts.append(attempt)
        if attempt.error is None:
            return _finish(attempts, attempt, None, observed)
        first_error = first_error or attempt.error
    return _finish(attempts, None, first_error, observed)


def schedule(
    binding: Mapping[str, Any],
    clusters: Fleet | Sequence[Mapping[str, Any] | ClusterView],
    feature_gates: FeatureGates | None = None,
    *,
    estimate: Estimate | None = None,
    enable_empty_workload_propagation: bool = False,
) -> ScheduleResult:
    """Schedule one ResourceBinding (an object with ``spec`` and ``status``) over a fleet snapshot.

    ``clusters`` are Cluster objects, views, or a :class:`Fleet` digested once for many bindings.
    ``estimate`` replaces the built-in estimators (§6) when given.
    """
    gates = feature_gates or FeatureGates()
    shared = clusters.shared if isinstance(clusters, Fleet) and estimate is None else None
    if shared is None:
        return _schedule(binding, clusters, gates, estimate, enable_empty_workload_propagation)
    key = schedule_key(binding, gates, enable_empty_workload_propagation)
    return cast(ScheduleResult, shared.schedule(
        key, lambda: _schedule(binding, clusters, gates, None, enable_empty_workload_propagation)))


def _schedule(
    binding: Mapping[str, Any],
    clusters: Fleet | Sequence[Mapping[str, Any] | ClusterView],
    gates: FeatureGates,
    estimate: Estimate | None,
    enable_empty_workload_propagation: bool,
) -> ScheduleResult:
    spec = binding.get("spec") or {}
    status = binding.get("status") or {}
    placement = spec.get("placement")
    if placement is None:
        return _invalid("failed to get placement from resourceBinding", status)
    if placement.get("clusterAffinity") is not None and placement.get("clusterAffinities") is not None:
        return _invalid("clusterAffinity and clusterAffinities can not co-exist", status)
    context = _Context.create(spec, clusters, gates, estimate, enable_empty_workload_propagation)
    if placement.get("clusterAffinities") is not None:
        return _schedule_terms(context, status)
    attempt = run_algorithm(context, status)
    success = attempt if attempt.error is None else None
    return _finish([attempt], success, attempt.error, observed_affinity_name(status))


def _normalized(value: Any) -> Any:
    """A placement as Go structs compare it: zero scalars, empty lists and maps count as absent."""
    if isinstance(value, Mapping):
        kept = {str(k): _normalized(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", 0, False, [], {})}
    if isinstance(value, list | tuple):
        return [_normalized(item) for item in value]
    return value


def _term(terms: Any, name: str) -> Any:
    return next((t for t in terms or () if (t.get("affinityName") or "") == name), None)


def _as_json(value: Any) -> str | None:
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError):
        return None


def placement_changed(placement: Mapping[str, Any], applied: str | None, observed: str) -> bool:
    """Whether ``placement`` differs from the one recorded at the last result patch (spec §4.7)."""
    if not applied:
        return True
    if _as_json(placement) == applied:
        return False
    try:
        old = _normalized(json.loads(applied))
    except ValueError:
        return False
    new = _normalized(placement)
    if new == old:
        return False
    if any(
        new.get(k) != old.get(k)
        for k in ("clusterAffinity", "clusterTolerations", "spreadConstraints", "replicaScheduling")
    ):
        return True
    if not observed:
        return True
    current, recorded = (
        _term(new.get("clusterAffinities"), observed),
        _term(old.get("clusterAffinities"), observed),
    )
    return current is None or recorded is None or current != recorded


def replicas_changed(spec: Mapping[str, Any], gates: FeatureGates) -> bool:
    """Karmada's replica-change trigger: the previous result no longer adds up to ``spec.replicas``."""
    strategy = (spec.get("placement") or {}).get("replicaScheduling")
    if strategy is None:
        return False
    previous = [int(entry.get("replicas") or 0) for entry in spec.get("clusters") or ()]
    if gates.enabled(MULTIPLE_POD_TEMPLATES_SCHEDULING) and spec.get("components") and not previous:
        return True
    replicas = int(spec.get("replicas") or 0)
    kind = strategy.get("replicaSchedulingType")
    if kind == "Duplicated":
        return any(held != replicas for held in previous)
    if kind == "Divided":
        return sum(previous) != replicas
    return False


def needs_scheduling(
    binding: Mapping[str, Any],
    deleting_clusters: Collection[str] = (),
    feature_gates: FeatureGates | None = None,
) -> str | None:
    """Why Karmada would run the scheduler for ``binding`` now, or ``None`` when it keeps the result.

    The reasons, checked in Karmada's order: ``PlacementChanged``, ``ReplicasChanged``,
    ``RescheduleTriggered``, ``AlwaysScheduled`` (non-workloads and Duplicated placements),
    ``TargetClusterDeleting``.
    """
    spec, status = binding.get("spec") or {}, binding.get("status") or {}
    placement = spec.get("placement") or {}
    applied = ((binding.get("metadata") or {}).get("annotations") or {}).get(APPLIED_PLACEMENT_ANNOTATION)
    if placement_changed(placement, applied, observed_affinity_name(status)):
        return "PlacementChanged"
    if replicas_changed(spec, feature_gates or FeatureGates()):
        return "ReplicasChanged"
    if reschedule_required(spec.get("rescheduleTriggeredAt"), status.get("lastScheduledTime")):
        return "RescheduleTriggered"
    if not is_workload(spec) or replica_scheduling_type(placement) == "Duplicated":
        return "AlwaysScheduled"
    if any(str(t.get("name")) in deleting_clusters for t in spec.get("clusters") or ()):
        return "TargetClusterDeleting"
    return None
