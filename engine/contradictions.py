"""Cross-declaration checks: what is valid alone but contradicts itself or another policy."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic, Severity
from kpl.engine.policy import CompiledPolicy

__all__ = ["find_contradictions"]

_LABEL_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                         r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def _warn(policy: CompiledPolicy, code: str, message: str, node: Any, help_text: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, policy.source, node.span, Severity.WARNING, help_text)


def _error(policy: CompiledPolicy, code: str, message: str, node: Any, help_text: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, policy.source, node.span, Severity.ERROR, help_text)


def _may_overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if (a["apiVersion"], a["kind"]) != (b["apiVersion"], b["kind"]):
        return False
    if a.get("namespace") and b.get("namespace") and a["namespace"] != b["namespace"]:
        return False
    if a.get("name") and b.get("name"):
        return bool(a["name"] == b["name"])
    if a.get("name") or b.get("name"):
        return not (a.get("labelSelector") or b.get("labelSelector"))
    selector_a, selector_b = a.get("labelSelector") or {}, b.get("labelSelector") or {}
    labels_a, labels_b = selector_a.get("matchLabels") or {}, selector_b.get("matchLabels") or {}
    return all(labels_b.get(k, v) == v for k, v in labels_a.items())


def _implicit(selector: Mapping[str, Any]) -> int:
    if selector.get("name"):
        return 3
    return 2 if selector.get("labelSelector") else 1


def _rivals(policies: list[CompiledPolicy]) -> Iterator[tuple[CompiledPolicy, CompiledPolicy]]:
    """Every pair of policies of one kind, namespace and priority, in the order of
    ``itertools.combinations`` (grouped first: comparing every pair is quadratic in the project)."""
    groups: dict[tuple[Any, Any, Any], list[int]] = defaultdict(list)
    for index, policy in enumerate(policies):
        body = policy.object
        key = (body["kind"], body["metadata"].get("namespace"), _hashable(body["spec"].get("priority", 0)))
        groups[key].append(index)
    pairs = sorted(pair for group in groups.values() for pair in itertools.combinations(group, 2))
    for first, second in pairs:
        yield policies[first], policies[second]


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (int, str, float, type(None))) else repr(value)


def _ambiguous(policies: list[CompiledPolicy]) -> Iterator[Diagnostic]:
    for first, second in _rivals(policies):
        a, b = first.object, second.object
        if a["kind"] != b["kind"] or a["metadata"].get("namespace") != b["metadata"].get("namespace"):
            continue
        if a["spec"].get("priority", 0) != b["spec"].get("priority", 0):
            continue
        for sa, sb in itertools.product(a["spec"]["resourceSelectors"], b["spec"]["resourceSelectors"]):
            if _may_overlap(sa, sb) and _implicit(sa) == _implicit(sb):
                winner = min(a["metadata"]["name"], b["metadata"]["name"])
                yield _warn(
                    second, "check.ambiguous_policies",
                    f"policies `{a['metadata']['name']}` and `{b['metadata']['name']}` have the same priority "
                    f"and may select the same {sa['kind']}", second.node,
                    help_text=f"Karmada would pick `{winner}` by name order; give one a higher `priority`",
                )
                break


def _weights(policy: CompiledPolicy) -> Iterator[Diagnostic]:
    placement = policy.object["spec"].get("placement", {})
    affinity = placement.get("clusterAffinity") or {}
    excluded = set(affinity.get("exclude") or ())
    allowed = set(affinity.get("clusterNames") or ())
    for item in policy.node.items:
        if not isinstance(item, ast.ReplicaScheduling):
            continue
        for weight in item.static_weights:
            if weight.cluster is None:
                continue
            if weight.cluster in excluded or (allowed and weight.cluster not in allowed):
                yield _warn(policy, "check.weight_on_excluded_cluster",
                            f"static weight for `{weight.cluster}`, which the cluster affinity excludes",
                            weight, help_text="that weight never applies: remove it or admit the cluster")


def _pins_one_cluster(placement: Mapping[str, Any]) -> bool:
    for constraint in placement.get("spreadConstraints") or ():
        if constraint.get("spreadByField", "cluster") == "cluster" and constraint.get("maxGroups") == 1:
            return True
    affinity = placement.get("clusterAffinity") or {}
    names = affinity.get("clusterNames") or ()
    return len(names) == 1 and not affinity.get("labelSelector") and not affinity.get("fieldSelector")


def _state_preservation(policy: CompiledPolicy) -> Iterator[Diagnostic]:
    placement = policy.object["spec"].get("placement", {})
    for block in policy.node.items:
        if not isinstance(block, ast.Failover):
            continue
        rules = [m for m in block.items if isinstance(m, ast.StatePreservationRule)]
        purge = next((m.mode for m in block.items if isinstance(m, ast.PurgeMode)), "Gracefully")
        for rule in rules:
            if not _LABEL_NAME.match(rule.alias_label_name):
                yield _error(policy, "check.invalid_label_name", f"`{rule.alias_label_name}` is not a valid label key",
                             rule)
            yield from _json_path(policy, rule)
        if rules and not _pins_one_cluster(placement):
            yield _warn(policy, "check.state_preservation_multi_cluster",
                        "state preservation only applies to a workload placed on exactly one cluster", block,
                        help_text="add `spread by cluster min 1 max 1` (or select exactly one cluster)")
        if rules and purge != "Directly":
            yield _warn(policy, "check.state_preservation_purge_mode",
                        f"preserved labels are injected only with `purge directly`, not `{purge.lower()}`", block)


def _json_path(policy: CompiledPolicy, rule: ast.StatePreservationRule) -> Iterator[Diagnostic]:
    try:
        from kpl.engine import k8s_jsonpath
    except ImportError:  # pragma: no cover - the module ships with the engine
        return
    parse = getattr(k8s_jsonpath, "parse_template", None)
    if parse is None:
        return
    try:
        parse(rule.json_path)
    except ValueError as error:
        yield _error(policy, "check.invalid_jsonpath", f"invalid JSONPath `{rule.json_path}`: {error}", rule)


def find_contradictions(policies: list[CompiledPolicy]) -> list[Diagnostic]:
    found: list[Diagnostic] = list(_ambiguous(policies))
    for policy in policies:
        found.extend(_weights(policy))
        found.extend(_state_preservation(policy))
    return found
