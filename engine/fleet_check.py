"""Checks that need a fleet snapshot: unknown cluster names and spread constraints no fleet satisfies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic, Severity, did_you_mean
from kpl.engine.check import CheckContext
from kpl.engine.policy import CompiledPolicy
from kpl.engine.snapshot import load_snapshot

__all__ = ["check_fleet"]


def _named_clusters(policy: CompiledPolicy) -> Iterator[tuple[str, Any]]:
    for item in policy.node.items:
        if isinstance(item, (ast.ClusterSelection, ast.Exclude)):
            yield from ((name, item) for name in item.names)
        elif isinstance(item, ast.ReplicaScheduling):
            yield from ((w.cluster, w) for w in item.static_weights if w.cluster is not None)
        elif isinstance(item, ast.Affinity):
            for member in (*item.items, *(m for o in item.overflow for m in o.items)):
                yield from ((name, member) for name in member.names)


def _spread_problems(policy: CompiledPolicy, clusters: Sequence[Mapping[str, Any]]) -> Iterator[Diagnostic]:
    groups = {
        "cluster": {c["metadata"]["name"] for c in clusters},
        "region": {(c.get("spec") or {}).get("region") for c in clusters} - {None, ""},
        "provider": {(c.get("spec") or {}).get("provider") for c in clusters} - {None, ""},
        "zone": {z for c in clusters for z in ((c.get("spec") or {}).get("zones") or ())},
    }
    for item in policy.node.items:
        if isinstance(item, ast.SpreadConstraint) and item.spread_by_field in groups:
            available = len(groups[item.spread_by_field])
            if (item.min_groups or 1) > available:
                yield Diagnostic(
                    "check.unsatisfiable_spread",
                    f"`spread by {item.spread_by_field} min {item.min_groups}` needs {item.min_groups} groups, "
                    f"the fleet has {available}", policy.source, item.span, Severity.ERROR,
                )


def check_fleet(ctx: CheckContext, path: Path) -> list[Diagnostic]:
    snapshot, problems = load_snapshot([path])
    found: list[Diagnostic] = list(problems)
    names = [c["metadata"]["name"] for c in snapshot.clusters]
    for policy in ctx.policies:
        for name, node in _named_clusters(policy):
            if name not in names:
                found.append(Diagnostic(
                    "check.unknown_cluster", f"no cluster `{name}` in the snapshot", policy.source, node.span,
                    Severity.WARNING, did_you_mean(name, names),
                ))
        found.extend(_spread_problems(policy, snapshot.clusters))
    return found
