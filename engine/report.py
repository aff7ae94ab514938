"""The placement report of ``kpl plan``: per binding where it goes and why, per cluster what it receives.

The report is plain data (frozen dataclasses) built by :mod:`kpl.engine.plan`; three renderers turn it
into JSON (``formatVersion: 2``, sorted keys, byte-stable for the same input; described in
``docs/report.md``), text (rich tables) and GitHub-flavoured markdown for pull-request comments.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpl.engine.bindings import Interpretation, PolicyChoice
from kpl.engine.plan_failover import FailoverOutcome, failover_text_lines
from kpl.engine.plan_quota import QuotaOutcome, quota_text_lines
from kpl.engine.plan_simulate import Simulation, simulation_text_lines
from kpl.engine.quantity import Quantity, QuantityError
from kpl.engine.report_index import ExplanationIndex, change_json, explanation_json, index_explanations
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.pipeline import ClusterExplanation, ScheduleFailure, SchedulingCondition
from kpl.engine.scheduler.types import TargetCluster, targets_to_api

if TYPE_CHECKING:
    from rich.table import Table

    from kpl.engine.plan_diff import PlanDiff

__all__ = [
    "FORMAT_VERSION",
    "REQUEST_NAMES",
    "BindingReport",
    "ClusterReport",
    "ExplanationIndex",
    "PlacementReport",
    "PolicyReport",
    "ResourceRef",
    "change_json",
    "cluster_report",
    "explanation_groups",
    "explanation_json",
    "free_of",
    "index_explanations",
    "quantity_of",
    "render_json",
    "render_markdown",
    "render_text",
    "report_to_json",
    "sum_total",
    "target_requests",
]

FORMAT_VERSION = 2
REQUEST_NAMES = ("cpu", "memory")
FREE_NAMES = ("cpu", "memory", "pods")


@dataclass(frozen=True, slots=True)
class ResourceRef:
    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> ResourceRef:
        meta = raw.get("metadata") if isinstance(raw.get("metadata"), Mapping) else raw
        assert isinstance(meta, Mapping)
        return cls(str(raw.get("apiVersion") or ""), str(raw.get("kind") or ""),
                   str(meta.get("namespace") or ""), str(meta.get("name") or ""))

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.api_version} {self.kind} {where}{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace,
                "name": self.name}


@dataclass(frozen=True, slots=True)
class PolicyReport:
    """The policy behind a binding; ``priority``/``match`` are None when only the binding's claim is known."""

    kind: str
    namespace: str
    name: str
    priority: int | None = None
    match: str | None = None
    claimed: bool = False
    preempted: bool = False
    lost: tuple[tuple[str, str, str, str], ...] = ()

    @classmethod
    def from_choice(cls, choice: PolicyChoice) -> PolicyReport | None:
        if choice.chosen is None:
            return None
        chosen = choice.chosen.to_json()
        lost = tuple((ref.kind, ref.namespace, ref.name, reason) for ref, reason in choice.losers)
        return cls(chosen["kind"], chosen["namespace"], chosen["name"], chosen["priority"], chosen["match"],
                   choice.claimed, choice.preempted, lost)

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "namespace": self.namespace, "name": self.name, "priority": self.priority,
            "match": self.match, "claimed": self.claimed, "preempted": self.preempted,
            "lost": [{"kind": k, "namespace": n, "name": m, "reason": r} for k, n, m, r in self.lost],
        }


@dataclass(frozen=True, slots=True)
class BindingReport:
    """One binding's outcome. ``clusters`` is None when scheduling failed or did not run (see ``trigger``)."""

    kind: str
    namespace: str
    name: str
    resource: ResourceRef
    policy: PolicyReport | None
    interpretation: Interpretation | None
    replicas: int
    components: tuple[tuple[str, int], ...]
    trigger: str | None
    clusters: tuple[TargetCluster, ...] | None
    previous: tuple[TargetCluster, ...] | None
    error: ScheduleFailure | None
    condition: SchedulingCondition | None
    affinity_name: str = ""
    explanations: Sequence[ClusterExplanation] = ()

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_json(self, explanations: Any = None) -> dict[str, Any]:
        """The binding's JSON; ``explanations`` is its reference into the report's explanation sets
        (:func:`explanation_reference`), which only the whole report can give."""
        return {
            "kind": self.kind, "namespace": self.namespace, "name": self.name,
            "resource": self.resource.to_json(),
            "policy": None if self.policy is None else self.policy.to_json(),
            "interpretation": _interpretation_json(self.interpretation),
            "replicas": self.replicas,
            "components": [{"name": n, "replicas": r} for n, r in self.components],
            "trigger": self.trigger,
            "clusters": None if self.clusters is None else targets_to_api(self.clusters),
            "previousClusters": None if self.previous is None else targets_to_api(self.previous),
            "error": None if self.error is None else self.error.to_api(),
            "condition": None if self.condition is None else self.condition.to_api(),
            "affinityName": self.affinity_name,
            "explanations": explanations,
        }


def _interpretation_json(found: Interpretation | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"operation": found.operation, "origin": found.origin, "error": found.error}


@dataclass(frozen=True, slots=True)
class ClusterReport:
    """What one cluster would run: replicas (pods, every component's counted) and cpu/memory requests,
    against what it has free."""

    name: str
    replicas: int
    bindings: tuple[str, ...]
    requests: Mapping[str, Quantity] = field(default_factory=dict)
    free: Mapping[str, Quantity] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.name, "replicas": self.replicas, "bindings": list(self.bindings),
            "requests": {name: str(q) for name, q in sorted(self.requests.items())},
            "free": None if self.free is None else {name: str(q) for name, q in sorted(self.free.items())},
        }


@dataclass(frozen=True, slots=True)
class PlacementReport:
    """The whole plan: how bindings were found (``mode``), the gates set, and the outcomes."""

    mode: str
    feature_gates: Mapping[str, bool]
    bindings: tuple[BindingReport, ...]
    clusters: tuple[ClusterReport, ...]
    unmatched: tuple[ResourceRef, ...] = ()
    quotas: tuple[QuotaOutcome, ...] = ()
    failed_clusters: tuple[str, ...] = ()
    failovers: tuple[FailoverOutcome, ...] = ()
    failover_notes: tuple[str, ...] = ()
    simulation: Simulation | None = None
    diff: PlanDiff | None = None  # set by `kpl plan --baseline`: the changes against the baseline plan

    @property
    def ok(self) -> bool:
        return not any(binding.failed for binding in self.bindings)

    def summary(self) -> dict[str, int]:
        failed = sum(1 for b in self.bindings if b.failed)
        kept = sum(1 for b in self.bindings if not b.failed and b.trigger is None)
        return {"bindings": len(self.bindings), "failed": failed, "unchanged": kept,
                "scheduled": len(self.bindings) - failed - kept, "unmatched": len(self.unmatched)}


# ------------------------------------------------------------------------------------ cluster usage


_Parsed = dict[tuple[type, Any], Quantity | None]
"""Quantities already parsed, by the JSON value's type and value (Quantity is immutable)."""


def quantity_of(value: Any, parsed: _Parsed | None = None) -> Quantity | None:
    if not isinstance(value, str | int | float):
        return None
    key = (type(value), value)
    if parsed is not None and key in parsed:
        return parsed[key]
    try:
        found: Quantity | None = Quantity.from_json(value)
    except QuantityError:
        found = None
    if parsed is not None:
        parsed[key] = found
    return found


def _add_requests(
    total: dict[str, Quantity], requirements: Any, count: int, parsed: _Parsed | None = None
) -> None:
    requests = (requirements or {}).get("resourceRequest") if isinstance(requirements, Mapping) else None
    for name in REQUEST_NAMES:
        found = quantity_of((requests or {}).get(name), parsed)
        if found is not None:
            total[name] = total[name] + found * count if name in total else found * count


def _pod_counts(spec: Mapping[str, Any], target: TargetCluster) -> list[tuple[int, Any]]:
    """(replicas, requirements) pairs one ``spec.clusters`` entry runs on its cluster.

    Multi-component bindings run every component on each cluster (with the entry's per-component
    replicas when it records them); single-template ones run the entry's replicas.
    """
    components = spec.get("components") or []
    if not components:
        return [(target.replicas, spec.get("replicaRequirements"))]
    counts = None if target.components is None else {c.name: c.replicas for c in target.components}
    pairs: list[tuple[int, Any]] = []
    for component in components:
        name, replicas = str(component.get("name") or ""), int(component.get("replicas") or 0)
        count = replicas if counts is None else counts.get(name, 0)
        pairs.append((count, component.get("replicaRequirements")))
    return pairs


def target_requests(
    spec: Mapping[str, Any], target: TargetCluster, parsed: _Parsed | None = None
) -> tuple[int, dict[str, Quantity]]:
    """The pods and cpu/memory requests one ``spec.clusters`` entry puts on its cluster (``parsed`` keeps
    quantities parsed for other entries)."""
    total: dict[str, Quantity] = {}
    pods = 0
    for count, requirements in _pod_counts(spec, target):
        pods += count
        _add_requests(total, requirements, count, parsed)
    return pods, total


def free_of(capacity: ClusterCapacity) -> dict[str, Quantity] | None:
    if not capacity.has_summary:
        return None
    free: dict[str, Quantity] = {}
    for name in FREE_NAMES:
        if name in capacity.allocatable:
            amount = capacity.allocatable[name]
            for used in (capacity.allocated.get(name), capacity.allocating.get(name)):
                amount = amount - used if used is not None else amount
            free[name] = amount
    return free


class _Sums:
    """Per resource name, how many pods request each distinct quantity, in the order first met.

    Kubernetes sums keep the format of their first non-zero operand while no operand is negative, so the
    counts give the same total and text as adding the per-placement products one by one. A negative request
    makes ``exact`` false and the caller adds products in order instead.
    """

    __slots__ = ("counts", "exact", "first", "parsed")

    def __init__(self) -> None:
        self.counts: dict[str, dict[tuple[type, Any], list[Any]]] = {}
        self.first: dict[str, Quantity] = {}
        self.parsed: _Parsed = {}
        self.exact = True

    def add(self, requirements: Any, count: int) -> None:
        requests = requirements.get("resourceRequest") if isinstance(requirements, Mapping) else None
        if not isinstance(requests, Mapping):
            return
        for name in REQUEST_NAMES:
            value = requests.get(name)
            if not isinstance(value, str | int | float):
                continue
            key = (type(value), value)
            entry = self.counts.get(name, {}).get(key)
            if entry is None:
                found = quantity_of(value, self.parsed)
                if found is None:
                    continue
                entry = self.counts.setdefault(name, {})[key] = [found, 0]
                self.exact = self.exact and found.mantissa >= 0
            entry[1] += count
            if count and entry[0].mantissa and name not in self.first:
                self.first[name] = entry[0]

    def totals(self) -> dict[str, Quantity]:
        return {name: sum_total(per_value.values(), self.first.get(name)) for name, per_value in self.counts.items()}


def sum_total(entries: Iterable[list[Any]], first: Quantity | None) -> Quantity:
    """``sum(quantity * count)`` printed in the format of the first non-zero term."""
    pairs: list[tuple[Quantity, int]] = [(entry[0], entry[1]) for entry in entries]
    low = min(q.exponent for q, _ in pairs)
    mantissa = sum(q.mantissa * count * 10 ** (q.exponent - low) for q, count in pairs)
    if first is None:
        return Quantity(0, 0, pairs[-1][0].format)
    big = any(q.big for q, _ in pairs) or not -(1 << 63) <= mantissa < (1 << 63)
    return Quantity(mantissa, low, first.format, big=big)


def cluster_report(
    capacity: ClusterCapacity, placements: Iterable[tuple[str, Mapping[str, Any], TargetCluster]]
) -> ClusterReport:
    """Sum what ``placements`` (binding label, binding spec, its entry here) put on the cluster."""
    sums = _Sums()
    replicas, names = 0, []
    placements = list(placements)
    for label, spec, target in placements:
        names.append(label)
        if not spec.get("components"):
            replicas += target.replicas
            sums.add(spec.get("replicaRequirements"), target.replicas)
            continue
        for count, requirements in _pod_counts(spec, target):
            replicas += count
            sums.add(requirements, count)
    requests = sums.totals() if sums.exact else _ordered_sums(placements)
    return ClusterReport(capacity.name, replicas, tuple(sorted(names)), requests, free_of(capacity))


def _ordered_sums(placements: Iterable[tuple[str, Mapping[str, Any], TargetCluster]]) -> dict[str, Quantity]:
    """The requests added product by product, as Kubernetes would (any operand may be negative)."""
    requests: dict[str, Quantity] = {}
    parsed: _Parsed = {}
    for _, spec, target in placements:
        for name, amount in target_requests(spec, target, parsed)[1].items():
            requests[name] = requests[name] + amount if name in requests else amount
    return requests


# ------------------------------------------------------------------------------------ renderers


def report_to_json(report: PlacementReport) -> dict[str, Any]:
    index = index_explanations(report.bindings)
    return {
        "formatVersion": FORMAT_VERSION,
        "mode": report.mode,
        "featureGates": dict(sorted(report.feature_gates.items())),
        "summary": report.summary(),
        "bindings": [binding.to_json(index.reference_json(n)) for n, binding in enumerate(report.bindings)],
        "explanationSets": index.sets_json(),
        "clusterExplanations": index.table_json(),
        "clusters": [cluster.to_json() for cluster in report.clusters],
        "unmatched": [resource.to_json() for resource in report.unmatched],
        "quotas": [quota.to_json() for quota in report.quotas],
        "failover": None if not report.failed_clusters else {
            "failedClusters": list(report.failed_clusters), "assumptions": list(report.failover_notes),
            "bindings": [found.to_json() for found in report.failovers]},
        "simulation": None if report.simulation is None else report.simulation.to_json(),
        **({} if report.diff is None else {"diff": report.diff.to_json()}),
    }


def render_json(report: PlacementReport) -> str:
    """The JSON report: sorted keys, two-space indent, a final newline.

    The text is ``json.dumps(report_to_json(report), indent=2, sort_keys=True, ensure_ascii=False)``
    plus a newline, written by :mod:`kpl.engine.report_json`, which renders shared explanations once.
    """
    from kpl.engine.report_json import render_report_json

    return render_report_json(report)


def _qualified(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _target_text(target: TargetCluster) -> str:
    if target.components:
        return f"{target.name} (" + ", ".join(f"{c.name}: {c.replicas}" for c in target.components) + ")"
    return f"{target.name}: {target.replicas}" if target.replicas else target.name


def _targets_text(targets: Sequence[TargetCluster] | None) -> str:
    if targets is None:
        return "-"
    return ", ".join(_target_text(t) for t in targets) if targets else "(none)"


def _outcome_text(binding: BindingReport) -> str:
    if binding.error is not None:
        return f"{binding.error.type}: {binding.error.message}"
    if binding.trigger is None:
        return "unchanged: the scheduler would keep the current result"
    return f"scheduled ({binding.trigger})"


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def _why(found: ClusterExplanation) -> str:
    if found.skipped_deleting:
        return "being deleted"
    if found.filter_plugin:
        return f"{found.filter_plugin}: {found.reason}"
    if not found.selected:
        return "not selected" if found.score is not None else "-"
    return "selected" if found.replicas is not None else "selected, no replicas left for it"


def _explanation_row(found: ClusterExplanation) -> list[str]:
    counts = (found.score, found.available_replicas, found.replicas)
    return [found.name, _why(found), *(_cell(count) for count in counts)]


def explanation_groups(explanations: Sequence[ClusterExplanation]) -> list[tuple[ClusterExplanation, int]]:
    """How renderers show a binding's explanations: each selected cluster on its own, then the others grouped
    by outcome (being deleted, a filter and its reason, not selected), as (first member, count), as Karmada
    summarises filter failures. A group of one stands for its cluster. The JSON report keeps every detail."""
    chosen: list[tuple[ClusterExplanation, int]] = []
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for found in explanations:
        if found.selected:
            chosen.append((found, 1))
            continue
        key = (found.skipped_deleting, found.filter_plugin, found.reason, found.score is None)
        group = groups.get(key)
        if group is None:
            groups[key] = [found, 1]
        else:
            group[1] += 1
    return chosen + [(first, count) for first, count in groups.values()]


def _explanation_rows(explanations: Sequence[ClusterExplanation]) -> list[list[str]]:
    return [_explanation_row(first) if count == 1 else [f"{count} clusters", _why(first), "-", "-", "-"]
            for first, count in explanation_groups(explanations)]


_EXPLANATION_COLUMNS = ("cluster", "outcome", "score", "available replicas", "replicas")
_CLUSTER_COLUMNS = ("cluster", "replicas", "cpu requested", "cpu free", "memory requested", "memory free",
                    "pods free")


def _cluster_row(cluster: ClusterReport) -> list[str]:
    free = cluster.free or {}
    return [cluster.name, str(cluster.replicas), _cell(cluster.requests.get("cpu")), _cell(free.get("cpu")),
            _cell(cluster.requests.get("memory")), _cell(free.get("memory")), _cell(free.get("pods"))]


def _lost_lines(policy: PolicyReport | None, prefix: str) -> list[str]:
    lost = policy.lost if policy is not None else ()
    return [f"{prefix}{kind} {_qualified(ns, name)} lost: {why}" for kind, ns, name, why in lost]


def _binding_lines(binding: BindingReport) -> list[str]:
    return [
        f"{binding.kind} {_qualified(binding.namespace, binding.name)}",
        f"  resource: {binding.resource}",
        f"  policy:   {_cell(binding.policy)}",
        *_lost_lines(binding.policy, "    "),
        f"  result:   {_outcome_text(binding)}",
        f"  clusters: {_targets_text(binding.clusters)} (before: {_targets_text(binding.previous)})",
    ]


def _table(columns: Sequence[str], rows: Iterable[Sequence[str]], title: str | None = None) -> Table:
    from rich import box  # rich is imported only when text is rendered
    from rich.table import Table

    table = Table(*columns, title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  title_justify="left")
    for row in rows:
        table.add_row(*row)
    return table


def render_text(report: PlacementReport, *, color: bool = False, width: int = 120) -> str:
    """Human-readable tables; no colour codes unless ``color``."""
    from rich.console import Console

    stream = io.StringIO()
    console = Console(file=stream, width=width, force_terminal=color, color_system="auto" if color else None,
                      highlight=False, emoji=False, markup=False)
    for binding in report.bindings:
        console.print("\n".join(_binding_lines(binding)))
        if binding.explanations:
            console.print(_table(_EXPLANATION_COLUMNS, _explanation_rows(binding.explanations)))
        console.print()
    console.print(_table(_CLUSTER_COLUMNS, map(_cluster_row, report.clusters), "clusters"))
    for resource in report.unmatched:
        console.print(f"no policy matches {resource}")
    for line in [*quota_text_lines(report.quotas),
                 *failover_text_lines(report.failed_clusters, report.failovers, report.failover_notes),
                 *simulation_text_lines(report.simulation)]:
        console.print(line)
    counts = report.summary()
    console.print(f"{counts['bindings']} binding(s): {counts['scheduled']} scheduled, "
                  f"{counts['unchanged']} unchanged, {counts['failed']} failed")
    return stream.getvalue()


def _md(value: Any) -> str:
    return _cell(value).replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines.extend("| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows)
    return lines


def _md_binding(binding: BindingReport) -> list[str]:
    lines = ["", f"### `{_qualified(binding.namespace, binding.name)}`", ""]
    lost = _lost_lines(binding.policy, "- ")
    lines += [*lost, ""] if lost else []
    if binding.explanations:
        lines += _md_table(_EXPLANATION_COLUMNS, _explanation_rows(binding.explanations))
    return lines


def render_markdown(report: PlacementReport) -> str:
    """GitHub-flavoured markdown: a summary table, one table per binding, the cluster table."""
    rows = [[f"`{_qualified(b.namespace, b.name)}`", str(b.resource), _cell(b.policy),
             _targets_text(b.clusters), _outcome_text(b)] for b in report.bindings]
    lines = ["## kpl plan", "", *_md_table(("binding", "resource", "policy", "clusters", "result"), rows)]
    for binding in report.bindings:
        lines += _md_binding(binding)
    lines += ["", "### clusters", "", *_md_table(_CLUSTER_COLUMNS, map(_cluster_row, report.clusters))]
    if report.unmatched:
        lines += ["", "No policy matches: " + ", ".join(f"`{r}`" for r in report.unmatched)]
    if report.quotas:
        lines += ["", "### quotas", "", *_md_table(_QUOTA_COLUMNS, map(_quota_row, report.quotas))]
    return "\n".join(lines) + "\n"


_QUOTA_COLUMNS = ("quota", "limit", "used", "enforced", "denied")


def _quota_row(quota: QuotaOutcome) -> list[str]:
    def listed(values: Mapping[str, Quantity]) -> str:
        return ", ".join(f"{name}={q}" for name, q in sorted(values.items())) or "-"
    denied = ", ".join(f"`{d.binding}`" for d in quota.denied) or "-"
    return [f"`{quota.namespace}/{quota.name}`", listed(quota.limit), listed(quota.used),
            "yes" if quota.enforced else "no", denied]
