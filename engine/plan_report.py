"""The report node's parts, kept between evaluations and patched where the plan changed.

:class:`ReportState` remembers, per schedule node, what the report built from it: the binding's entry (from
the binding node's value, the schedule outcome and the quota decisions) and its place in the report order.
The first evaluation sums every cluster's placements in one pass over the bindings in report order
(:class:`~kpl.engine.report_sums.ClusterTotals`) and notes which schedule nodes placed something where. On the
next evaluation only the schedule nodes whose binding or outcome is another object (all of them when a quota
changed) are looked at again; a binding whose entry changed takes its old placements out of its clusters'
:class:`~kpl.engine.report_sums.ClusterSums` and puts the new ones in, and only those clusters, and clusters
whose capacity changed, get a new section. A cluster's sums (and the placements of the bindings on it) are
built when a re-plan first touches it, from the nodes the first pass noted; both ways give the sections
:func:`~kpl.engine.report.cluster_report` gives, so a patched report and a fresh one are the same data.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kpl.engine.bindings import binding_key, binding_name
from kpl.engine.matching import POLICY
from kpl.engine.plan_quota import adjust_for_quota
from kpl.engine.quantity import Quantity
from kpl.engine.report import BindingReport, ClusterReport, PolicyReport, ResourceRef
from kpl.engine.report_sums import ClusterSums, ClusterTotals, Placement, placements_of

if TYPE_CHECKING:
    from kpl.engine.plan import BuiltBinding, ClusterNode, Plan, ScheduleOutcome
    from kpl.engine.scheduler.types import TargetCluster

__all__ = ["ReportState", "binding_report"]

_PP_CLAIM = ("propagationpolicy.karmada.io/namespace", "propagationpolicy.karmada.io/name")
_CPP_CLAIM = "clusterpropagationpolicy.karmada.io/name"
_Order = tuple[str, ...]


def _claimed_policy(binding: Mapping[str, Any]) -> PolicyReport | None:
    meta = binding.get("metadata")
    notes = (meta.get("annotations") if isinstance(meta, Mapping) else None) or {}
    if notes.get(_PP_CLAIM[1]):
        return PolicyReport(POLICY, str(notes.get(_PP_CLAIM[0]) or ""), str(notes[_PP_CLAIM[1]]))
    if notes.get(_CPP_CLAIM):
        return PolicyReport("ClusterPropagationPolicy", "", str(notes[_CPP_CLAIM]))
    return None


def binding_report(built: BuiltBinding, outcome: ScheduleOutcome) -> BindingReport:
    """One binding's report entry from its binding node's value and its (quota-adjusted) schedule outcome."""
    binding = built.binding or {}
    spec = binding.get("spec") or {}
    result = outcome.result
    error = outcome.error
    policy = PolicyReport.from_choice(built.choice) if built.choice is not None else _claimed_policy(binding)
    components = tuple(
        (str(c.get("name") or ""), int(c.get("replicas") or 0)) for c in spec.get("components") or ()
    )
    return BindingReport(
        *_identity(built), resource=built.resource, policy=policy, interpretation=built.interpretation,
        replicas=int(spec.get("replicas") or 0), components=components, trigger=outcome.trigger,
        clusters=None if error is not None else outcome.effective(), previous=outcome.previous, error=error,
        condition=result.condition if result is not None else None,
        affinity_name=result.observed_affinity_name if result is not None else "",
        explanations=result.explanations if result is not None else (),
    )


def _identity(built: BuiltBinding) -> tuple[str, str, str]:
    if built.binding is not None:
        return binding_key(built.binding)
    namespace = built.resource.namespace
    kind = "ResourceBinding" if namespace else "ClusterResourceBinding"
    return kind, namespace, binding_name(built.resource.kind, built.resource.name)


class _Member:
    """What the report took from one schedule node."""

    __slots__ = ("adjusted", "built", "entry", "order", "outcome", "placements", "unmatched")

    def __init__(self, built: BuiltBinding, outcome: ScheduleOutcome | None) -> None:
        self.built, self.outcome = built, outcome
        self.adjusted: ScheduleOutcome | None = None
        self.entry: BindingReport | None = None
        self.unmatched: ResourceRef | None = None
        self.order: _Order = ()
        self.placements: dict[str, tuple[Placement, ...]] | None = None


def _order_of(member: _Member) -> _Order:
    return member.order


def _label(entry: BindingReport) -> str:
    return f"{entry.namespace}/{entry.name}" if entry.namespace else entry.name


def _same_placements(old: _Member, new: _Member) -> bool:
    """Whether two members of one schedule node place the same pods: same binding, same place in the report
    order (their label) and the same entries per cluster where the workload runs."""
    if old.built is not new.built or old.order != new.order or old.entry is None or new.entry is None:
        return False
    if old.adjusted is None or new.adjusted is None:
        return False
    before, after = old.adjusted.effective(), new.adjusted.effective()
    return before == after or _by_cluster(before) == _by_cluster(after)  # a cluster's pods, not the list's order


def _by_cluster(targets: tuple[TargetCluster, ...]) -> list[TargetCluster]:
    return sorted(targets, key=_cluster_name)  # stable: a cluster named twice keeps its entries' order


def _cluster_name(target: TargetCluster) -> str:
    return target.name


class ReportState:
    """The previous report's parts (see the module's description).

    The first evaluation sums each cluster's placements in one pass (:func:`~kpl.engine.report.cluster_report`)
    and only remembers which schedule nodes placed something on which cluster; a cluster's
    :class:`~kpl.engine.report_sums.ClusterSums` (and the placements of the bindings on it) are built when a
    re-plan first touches that cluster."""

    __slots__ = ("_bindings", "_clusters", "_members", "_nodes", "_on", "_parsed", "_quotas", "_sections",
                 "_unmatched")

    _nodes: list[str]
    _members: dict[str, _Member]
    _clusters: dict[str, ClusterSums]
    _on: dict[str, list[str]]
    _sections: dict[str, tuple[Any, ClusterReport]]
    _quotas: tuple[Any, ...]
    _parsed: dict[tuple[type, Any], Quantity | None]
    _bindings: tuple[BindingReport, ...] | None
    _unmatched: tuple[ResourceRef, ...] | None

    def __init__(self) -> None:
        self._reset([])

    def _reset(self, nodes: list[str]) -> None:
        self._nodes, self._members, self._clusters, self._on, self._sections = nodes, {}, {}, {}, {}
        self._quotas, self._parsed, self._bindings, self._unmatched = (), {}, None, None

    def refresh(self, plan: Plan) -> tuple[tuple[BindingReport, ...], tuple[ResourceRef, ...],
                                           tuple[ClusterReport, ...]]:
        """The report's bindings (in report order), unmatched resources and cluster sections for ``plan``'s
        current results."""
        schedules = plan.nodes_of("schedule")
        quotas = tuple(plan.results[n] for n in plan.nodes_of("quota"))
        if schedules != self._nodes or not self._members:
            return self._build(plan, schedules, quotas)
        every = len(quotas) != len(self._quotas) or any(a is not b for a, b in zip(quotas, self._quotas,
                                                                                   strict=True))
        self._quotas = quotas
        touched: set[str] = set()
        for node in schedules:
            if self._refresh_member(plan, node, every, touched):
                self._bindings = self._unmatched = None
        if self._bindings is None or self._unmatched is None:
            self._bindings, self._unmatched = self._ordered()
        return self._bindings, self._unmatched, self._sections_for(plan, touched)

    # ------------------------------------------------------------------------------ the first evaluation

    def _build(self, plan: Plan, schedules: list[str], quotas: tuple[Any, ...]) -> tuple[
            tuple[BindingReport, ...], tuple[ResourceRef, ...], tuple[ClusterReport, ...]]:
        """Every entry, and every cluster's sums in one pass over the bindings in report order."""
        self._reset(schedules)
        self._quotas = quotas
        results = plan.results
        for node in schedules:
            member = self._member(plan, node, results["binding:" + node[9:]], results[node])
            self._members[node] = member
        matched = self._sorted_matched()
        self._bindings, self._unmatched = self._ordered(matched)
        totals = ClusterTotals(self._parsed)
        on = self._on
        for member in matched:
            built, adjusted, entry, node = member.built, member.adjusted, member.entry, member.order[-1]
            if built.binding is None or adjusted is None or entry is None:
                continue
            targets = adjusted.effective()
            totals.add(_label(entry), built.binding.get("spec") or {}, targets)
            for target in targets:
                nodes = on.get(target.name)
                if nodes is None:
                    on[target.name] = [node]
                else:
                    nodes.append(node)
        sections: list[ClusterReport] = []
        for cluster_node in plan.nodes_of("cluster"):
            cluster: ClusterNode = results[cluster_node]
            section = totals.report(cluster.capacity)
            self._sections[cluster.view.name] = (cluster.capacity, section)
            sections.append(section)
        return self._bindings, self._unmatched, tuple(sections)

    def _member(self, plan: Plan, node: str, built: BuiltBinding, outcome: ScheduleOutcome | None) -> _Member:
        member = _Member(built, outcome)
        if outcome is None:
            member.unmatched = built.resource
            return member
        member.adjusted = adjust_for_quota(plan, node, outcome)
        entry = member.entry = binding_report(built, member.adjusted)
        member.order = (entry.namespace, entry.name, entry.kind, node)
        return member

    # ------------------------------------------------------------------------------ later evaluations

    def _refresh_member(self, plan: Plan, node: str, every: bool, touched: set[str]) -> bool:
        """Look at one schedule node again when it (or a quota) changed; True when its place in the order
        or its entry changed."""
        built: BuiltBinding = plan.results["binding:" + node[9:]]
        outcome: ScheduleOutcome | None = plan.results[node]
        old = self._members.get(node)
        if old is not None and old.built is built and old.outcome is outcome and not every:
            return False
        if outcome is not None and old is not None and old.entry is not None and old.built is built:
            adjusted = adjust_for_quota(plan, node, outcome)
            if old.adjusted is adjusted or old.adjusted == adjusted:
                old.outcome = outcome
                return False
        member = self._member(plan, node, built, outcome)
        if old is not None and _same_placements(old, member):
            member.placements = old.placements  # only the entry changed (its explanations, say): no cluster moves
        else:
            self._move(node, old, member, touched)
        self._members[node] = member
        return True

    def _placements(self, member: _Member) -> dict[str, tuple[Placement, ...]]:
        """The member's placements per cluster (worked out once, when first asked for)."""
        if member.placements is not None:
            return member.placements
        entry, built, adjusted = member.entry, member.built, member.adjusted
        if entry is None or adjusted is None or built.binding is None:
            member.placements = {}
        else:
            spec = built.binding.get("spec") or {}
            member.placements = placements_of(_label(entry), spec, adjusted.effective(), self._parsed)
        return member.placements

    def _sums(self, name: str) -> ClusterSums:
        """The cluster's sums, built from the members the first evaluation placed on it if not yet built."""
        sums = self._clusters.get(name)
        if sums is None:
            sums = self._clusters[name] = ClusterSums()
            for node in dict.fromkeys(self._on.pop(name, ())):
                member = self._members[node]
                sums.put(node, member.order, self._placements_on(member, name))
        return sums

    def _placements_on(self, member: _Member, name: str) -> tuple[Placement, ...]:
        """The member's placements on one cluster (from its entries for that cluster alone, unless all its
        placements are worked out already: a binding may run on a thousand clusters)."""
        if member.placements is not None:
            return member.placements.get(name, ())
        entry, built, adjusted = member.entry, member.built, member.adjusted
        if entry is None or adjusted is None or built.binding is None:
            return ()
        targets = [target for target in adjusted.effective() if target.name == name]
        if not targets:
            return ()
        return placements_of(_label(entry), built.binding.get("spec") or {}, targets, self._parsed)[name]

    def _move(self, node: str, old: _Member | None, new: _Member, touched: set[str]) -> None:
        """Take ``old``'s placements out of their clusters and put ``new``'s in (``old`` is still the
        node's member, so clusters first built here hold its placements)."""
        placements = self._placements(new)
        names = set(placements) | (set(self._placements(old)) if old is not None else set())
        for name in names:
            self._sums(name).put(node, new.order, placements.get(name, ()))
            touched.add(name)

    def _ordered(self, matched: list[_Member] | None = None) -> tuple[tuple[BindingReport, ...],
                                                                      tuple[ResourceRef, ...]]:
        members = self._members.values()
        if matched is None:
            matched = self._sorted_matched()
        unmatched = sorted((m.unmatched for m in members if m.unmatched is not None),
                           key=lambda r: (r.namespace, r.kind, r.name, r.api_version))
        return tuple(m.entry for m in matched if m.entry is not None), tuple(unmatched)

    def _sorted_matched(self) -> list[_Member]:
        """The members with an entry, in report order."""
        return sorted((m for m in self._members.values() if m.entry is not None), key=_order_of)

    def _sections_for(self, plan: Plan, touched: set[str]) -> tuple[ClusterReport, ...]:
        sections: list[ClusterReport] = []
        for node in plan.nodes_of("cluster"):
            cluster: ClusterNode = plan.results[node]
            name, capacity = cluster.view.name, cluster.capacity
            found = self._sections.get(name)
            if found is None or found[0] is not capacity or name in touched:
                found = self._sections[name] = (capacity, self._sums(name).report(capacity))
            sections.append(found[1])
        return tuple(sections)
