"""What changes between two plans, the way ``terraform plan`` shows it.

:func:`diff_reports` compares a baseline plan (old policies, or an older snapshot) with a new one binding by
binding: a binding is **added** or **removed** (its template is newly matched, or no longer), **moved** (its
set of clusters changed), **scaled** (same clusters, other replica counts), **failing** (it scheduled before
and fails now) or **recovered** (the reverse). :func:`diff_against_current` compares a plan with the
result each binding has today (``spec.clusters`` in the snapshot), so ``--detailed-exitcode`` means "this
plan would change something" even without a baseline.

The replicas that change clusters are counted as flows ``source -> target`` (an empty source is a new
replica, an empty target one that goes away), summed over all bindings for the one-line summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kpl.engine.report import BindingReport, PlacementReport
from kpl.engine.scheduler.types import TargetCluster, targets_to_api

__all__ = [
    "ADDED",
    "CHANGE_KINDS",
    "FAILING",
    "MOVED",
    "RECOVERED",
    "REMOVED",
    "SCALED",
    "BindingChange",
    "Flow",
    "PlanDiff",
    "aggregate_flows",
    "binding_placement",
    "diff_against_current",
    "diff_markdown_lines",
    "diff_reports",
    "diff_text_lines",
    "replica_flows",
]

ADDED, REMOVED, MOVED, SCALED = "added", "removed", "moved", "scaled"
FAILING, RECOVERED = "failing", "recovered"
CHANGE_KINDS = (ADDED, REMOVED, MOVED, SCALED, FAILING, RECOVERED)
_SIGN = {ADDED: "+", REMOVED: "-", MOVED: "~", SCALED: "~", FAILING: "!", RECOVERED: "~"}
_KEEPS_RESULT_ON_ERROR = "FitError"


@dataclass(frozen=True, slots=True)
class Flow:
    """``replicas`` going from cluster ``source`` to cluster ``target`` ("" for new or removed replicas)."""

    source: str
    target: str
    replicas: int

    def __str__(self) -> str:
        if not self.source:
            return f"{self.replicas} new replica(s) on {self.target}"
        if not self.target:
            return f"{self.replicas} replica(s) leave {self.source}"
        return f"{self.replicas} replica(s) move from {self.source} to {self.target}"

    def to_json(self) -> dict[str, Any]:
        return {"from": self.source or None, "to": self.target or None, "replicas": self.replicas}


@dataclass(frozen=True, slots=True)
class BindingChange:
    """One binding whose outcome differs. ``before``/``after`` are where it runs (None: no binding, or a
    failed run that leaves nothing); ``error`` is the new failure for ``failing`` (and failing ``added``)."""

    binding: str
    kind: str
    before: tuple[TargetCluster, ...] | None
    after: tuple[TargetCluster, ...] | None
    flows: tuple[Flow, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "binding": self.binding, "change": self.kind,
            "before": None if self.before is None else targets_to_api(self.before),
            "after": None if self.after is None else targets_to_api(self.after),
            "flows": [flow.to_json() for flow in self.flows], "error": self.error,
        }

    def line(self) -> str:
        """``~ web/shop-deployment: member1: 3 -> member2: 3``, the way ``--watch`` prints a move."""
        before, after = _targets_text(self.before), _targets_text(self.after)
        if self.kind == ADDED:
            text = after + (f" ({self.error})" if self.error else "")
        elif self.kind == REMOVED:
            text = f"was {before}"
        elif self.kind == FAILING:
            text = f"{before} -> {self.error}"
        else:
            text = f"{before} -> {after}"
        return f"{_SIGN[self.kind]} {self.binding} ({self.kind}): {text}"


@dataclass(frozen=True, slots=True)
class PlanDiff:
    """The changes between two plans; ``baseline`` says what was compared (``baseline`` or ``current``)."""

    baseline: str
    changes: tuple[BindingChange, ...]
    unchanged: int

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def flows(self) -> tuple[Flow, ...]:
        return aggregate_flows(flow for change in self.changes for flow in change.flows)

    def counts(self) -> dict[str, int]:
        found = Counter(change.kind for change in self.changes)
        return {kind: found[kind] for kind in CHANGE_KINDS}

    def summary(self) -> str:
        """One line: how many bindings change and where their replicas go."""
        if not self.changes:
            return f"no changes: {self.unchanged} binding(s) keep their placement"
        parts = [str(flow) for flow in self.flows]
        failing = self.counts()[FAILING] + sum(1 for c in self.changes if c.kind == ADDED and c.error)
        if failing:
            parts.append(f"{failing} newly failing")
        detail = ", ".join(parts) if parts else "no replicas move"
        return f"{len(self.changes)} binding(s) change: {detail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "against": self.baseline, "summary": self.summary(), "counts": self.counts(),
            "unchanged": self.unchanged, "changes": [change.to_json() for change in self.changes],
            "flows": [flow.to_json() for flow in self.flows],
        }


# ------------------------------------------------------------------------------------ comparing


def _label(binding: BindingReport) -> str:
    return f"{binding.namespace}/{binding.name}" if binding.namespace else binding.name


def binding_placement(binding: BindingReport) -> tuple[TargetCluster, ...] | None:
    """Where a binding runs after the plan, or None when it fails. (A failed run keeps the previous result
    except on a FitError, which empties it; replica flows count that through :func:`_runs_on`.)"""
    return None if binding.error is not None else (binding.clusters or ())


def _runs_on(binding: BindingReport) -> tuple[TargetCluster, ...]:
    if binding.error is None:
        return binding.clusters or ()
    return () if binding.error.type == _KEEPS_RESULT_ON_ERROR else (binding.previous or ())


def _replicas(target: TargetCluster) -> int:
    if target.components:
        return sum(component.replicas for component in target.components)
    return target.replicas


def _by_cluster(targets: Iterable[TargetCluster]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for target in targets:
        counts[target.name] = counts.get(target.name, 0) + _replicas(target)
    return counts


def replica_flows(before: Iterable[TargetCluster], after: Iterable[TargetCluster]) -> tuple[Flow, ...]:
    """The replicas that leave clusters matched to those that arrive elsewhere, clusters in name order.

    Replicas are conserved: what leaves and does not arrive anywhere is a flow to "", and what arrives
    beyond what left is a flow from "".
    """
    old, new = _by_cluster(before), _by_cluster(after)
    names = sorted({*old, *new})
    losses = {name: old.get(name, 0) - new.get(name, 0) for name in names}
    gains = {name: -delta for name, delta in losses.items() if delta < 0}
    flows: list[Flow] = []
    for source in (name for name in names if losses[name] > 0):
        for target in gains:
            moved = min(losses[source], gains[target])
            if moved > 0:
                flows.append(Flow(source, target, moved))
                losses[source] -= moved
                gains[target] -= moved
        if losses[source] > 0:
            flows.append(Flow(source, "", losses[source]))
    flows.extend(Flow("", name, count) for name, count in gains.items() if count > 0)
    return tuple(flows)


def aggregate_flows(flows: Iterable[Flow]) -> tuple[Flow, ...]:
    """Flows summed per (source, target), largest first, then by names."""
    totals: Counter[tuple[str, str]] = Counter()
    for flow in flows:
        totals[flow.source, flow.target] += flow.replicas
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return tuple(Flow(source, target, count) for (source, target), count in ordered if count)


def _error_text(binding: BindingReport) -> str | None:
    return None if binding.error is None else f"{binding.error.type}: {binding.error.message}"


def _change(old: BindingReport | None, new: BindingReport | None) -> BindingChange | None:
    """The change from ``old`` to ``new`` (either may be missing), or None when nothing differs."""
    before = None if old is None else binding_placement(old)
    after = None if new is None else binding_placement(new)
    label = _label(new) if new is not None else _label(old) if old is not None else ""
    flows = replica_flows(() if old is None else _runs_on(old), () if new is None else _runs_on(new))
    if old is None or new is None:
        kind = ADDED if old is None else REMOVED
        return BindingChange(label, kind, before, after, flows, None if new is None else _error_text(new))
    if before is None or after is None:
        if before is None and after is None:
            return None
        kind = FAILING if after is None else RECOVERED
        return BindingChange(label, kind, before, after, flows, _error_text(new))
    if _ordered(before) == _ordered(after):
        return None
    kind = SCALED if {t.name for t in before} == {t.name for t in after} else MOVED
    return BindingChange(label, kind, before, after, flows)


def _ordered(targets: Sequence[TargetCluster]) -> list[TargetCluster]:
    return sorted(targets, key=lambda t: t.name)


def _keyed(bindings: Iterable[BindingReport]) -> dict[tuple[str, str, str], BindingReport]:
    return {(b.namespace, b.name, b.kind): b for b in bindings}


def diff_reports(baseline: PlacementReport, planned: PlacementReport) -> PlanDiff:
    """The bindings whose outcome differs between ``baseline`` and ``planned``, in namespace/name order."""
    old, new = _keyed(baseline.bindings), _keyed(planned.bindings)
    changes: list[BindingChange] = []
    unchanged = 0
    for key in sorted({*old, *new}):
        found = _change(old.get(key), new.get(key))
        if found is None:
            unchanged += 1
        else:
            changes.append(found)
    return PlanDiff("baseline", tuple(changes), unchanged)


def _as_current(binding: BindingReport) -> BindingReport | None:
    """The binding as it stands before the plan (None when it does not exist yet)."""
    if binding.previous is None:
        return None
    return replace(binding, clusters=binding.previous, error=None)


def diff_against_current(planned: PlacementReport) -> PlanDiff:
    """The bindings whose planned result differs from ``spec.clusters`` today (in the snapshot)."""
    changes: list[BindingChange] = []
    unchanged = 0
    for binding in planned.bindings:
        found = _change(_as_current(binding), binding)
        if found is None:
            unchanged += 1
        else:
            changes.append(found)
    return PlanDiff("current", tuple(changes), unchanged)


# ------------------------------------------------------------------------------------ rendering


def _target_text(target: TargetCluster) -> str:
    if target.components:
        return f"{target.name} (" + ", ".join(f"{c.name}: {c.replicas}" for c in target.components) + ")"
    return f"{target.name}: {target.replicas}" if target.replicas else target.name


def _targets_text(targets: Sequence[TargetCluster] | None) -> str:
    if targets is None:
        return "-"
    return ", ".join(_target_text(t) for t in targets) if targets else "(none)"


def diff_text_lines(diff: PlanDiff) -> list[str]:
    """A ``changes`` block: one line per changed binding, then the summary line."""
    against = "the baseline plan" if diff.baseline == "baseline" else "the current bindings"
    lines = [f"changes against {against}:"] if diff.changes else []
    lines += ["  " + change.line() for change in diff.changes]
    return [*lines, diff.summary()]


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def diff_markdown_lines(diff: PlanDiff) -> list[str]:
    """A ``### changes`` section: the summary, then a table of the changed bindings."""
    lines = ["", "### changes", "", f"**{_md(diff.summary())}**"]
    if not diff.changes:
        return lines
    lines += ["", "| binding | change | before | after |", "| --- | --- | --- | --- |"]
    for change in diff.changes:
        after = change.error if change.kind == FAILING else _targets_text(change.after)
        lines.append(f"| `{_md(change.binding)}` | {change.kind} | {_md(_targets_text(change.before))} | "
                     f"{_md(after or '-')} |")
    return lines

