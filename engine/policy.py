"""Policies and quotas: kpl declarations to the Karmada objects they stand for.

Each construct maps onto one Karmada API field, so a ``policy`` compiles to a PropagationPolicy (a
``cluster policy`` to a ClusterPropagationPolicy) and a ``quota`` to a FederatedResourceQuota. A
``where`` condition is a conjunction the API can express: label requirements become a ``labelSelector``,
``provider``/``region``/``zone`` requirements a ``fieldSelector``, ``name`` requirements
``clusterNames``/``exclude``. Anything else is a located diagnostic, never a silent approximation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic, did_you_mean
from kpl.dsl.source import Source, Span
from kpl.engine.scheduler.affinity import is_label_key

__all__ = ["CompiledPolicy", "apply_admission_defaults", "compile_policy", "compile_quota", "label_selector"]

FIELD_KEYS = ("provider", "region", "zone")
API_VERSION = "policy.karmada.io/v1alpha1"


@dataclass
class _Selector:
    match_labels: dict[str, str] = field(default_factory=dict)
    label_expressions: list[dict[str, Any]] = field(default_factory=list)
    field_expressions: list[dict[str, Any]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)


@dataclass
class CompiledPolicy:
    """A Karmada policy object plus what the compiler found wrong with the declaration."""

    node: ast.Policy
    source: Source
    object: dict[str, Any]
    diagnostics: list[Diagnostic]


class _Compiler:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, message: str, span: Span, help_text: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, self.source, span, help=help_text))

    # ---------------------------------------------------------------- selectors
    def selector(self, expr: ast.Expr, *, for_clusters: bool) -> _Selector:
        out = _Selector()
        for term in _conjuncts(expr):
            self.requirement(term, out, for_clusters=for_clusters)
        return out

    def requirement(self, term: ast.Expr, out: _Selector, *, for_clusters: bool) -> None:
        negated = False
        if isinstance(term, ast.Not):
            negated, term = True, term.operand
        if isinstance(term, ast.Call) and term.function == "exists" and len(term.args) == 1:
            key = self.label_key(term.args[0])
            if key is not None:
                operator = "DoesNotExist" if negated else "Exists"
                out.label_expressions.append({"key": key, "operator": operator})
                return
        if isinstance(term, ast.Binary) and not negated and term.op in ("==", "!=", "in", "not in"):
            values = _string_values(term.right)
            if values is not None and self.place(term, values, out, for_clusters=for_clusters):
                return
        if self.unknown_name(term, for_clusters=for_clusters):
            return
        allowed = "`labels.KEY`, `region`, `zone`, `provider` or `name`" if for_clusters else "`labels.KEY`"
        self.error(
            "compile.unsupported_selector", "this condition cannot be expressed as a Karmada selector",
            term.span, help_text=f"use `and` of `==`, `!=`, `in`, `not in` or `exists(...)` on {allowed}",
        )

    def unknown_name(self, term: ast.Expr, *, for_clusters: bool) -> bool:
        """A misspelled selector field (``regon == "a"``) is reported as such, with a suggestion."""
        left = term.left if isinstance(term, ast.Binary) else None
        if not isinstance(left, ast.Var) or left.name == "labels":
            return False
        known = ("labels", *FIELD_KEYS, "name") if for_clusters else ("labels",)
        if left.name in known:
            return False
        self.error("compile.unknown_selector_field", f"unknown selector field `{left.name}`", left.span,
                   help_text=did_you_mean(left.name, known) or f"use one of {', '.join(known)}")
        return True

    def label_key(self, expr: ast.Expr) -> str | None:
        """The label key ``expr`` names, reporting a key Kubernetes would reject."""
        key = _label_key(expr)
        if key is not None and not is_label_key(key):
            self.error("compile.invalid_label_key", f"`{key}` is not a valid label key", expr.span,
                       help_text="a key is an optional DNS prefix and `/`, then up to 63 letters, digits, "
                       "`-`, `_` or `.`, starting and ending with a letter or digit")
        return key

    def place(self, term: ast.Binary, values: list[str], out: _Selector, *, for_clusters: bool) -> bool:
        positive = term.op in ("==", "in")
        key = self.label_key(term.left)
        if key is not None:
            if term.op == "==" and len(values) == 1 and key not in out.match_labels:
                out.match_labels[key] = values[0]
            else:
                out.label_expressions.append(
                    {"key": key, "operator": "In" if positive else "NotIn", "values": values}
                )
            return True
        if not for_clusters or not isinstance(term.left, ast.Var):
            return False
        name = term.left.name
        if name in FIELD_KEYS:
            out.field_expressions.append({"key": name, "operator": "In" if positive else "NotIn", "values": values})
            return True
        if name == "name":
            (out.names if positive else out.exclude).extend(values)
            return True
        return False

    # ---------------------------------------------------------------- affinity
    def affinity(self, items: tuple[ast.ClusterSelection | ast.Exclude, ...]) -> dict[str, Any]:
        names: list[str] = []
        exclude: list[str] = []
        merged = _Selector()
        has_labels = has_fields = False
        for item in items:
            if isinstance(item, ast.Exclude):
                exclude.extend(item.names)
                continue
            names.extend(item.names)
            if item.where is not None:
                found = self.selector(item.where, for_clusters=True)
                merged.match_labels.update(found.match_labels)
                merged.label_expressions.extend(found.label_expressions)
                merged.field_expressions.extend(found.field_expressions)
                names.extend(found.names)
                exclude.extend(found.exclude)
                has_labels = has_labels or bool(found.match_labels or found.label_expressions)
                has_fields = has_fields or bool(found.field_expressions)
        out: dict[str, Any] = {}
        if has_labels:
            out["labelSelector"] = _label_selector_object(merged)
        if has_fields:
            out["fieldSelector"] = {"matchExpressions": merged.field_expressions}
        if names:
            out["clusterNames"] = list(dict.fromkeys(names))
        if exclude:
            out["exclude"] = list(dict.fromkeys(exclude))
        return out

    # ---------------------------------------------------------------- items
    def resource_selector(self, item: ast.ResourceSelector, namespace: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"apiVersion": item.api_version, "kind": item.kind}
        if item.namespace or namespace:
            out["namespace"] = item.namespace or namespace
        if item.name:
            out["name"] = item.name
        if item.label_selector is not None:
            found = self.selector(item.label_selector, for_clusters=False)
            out["labelSelector"] = _label_selector_object(found)
        return out

    def replica_scheduling(self, item: ast.ReplicaScheduling) -> dict[str, Any]:
        if item.mode == "duplicated":
            return {"replicaSchedulingType": "Duplicated"}
        if item.mode == "aggregated":
            return {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"}
        out: dict[str, Any] = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}
        if item.mode == "dynamic":
            out["weightPreference"] = {"dynamicWeight": "AvailableReplicas"}
        elif item.static_weights:
            rules = [self.static_weight(w) for w in item.static_weights]
            out["weightPreference"] = {"staticWeightList": rules}
        return out

    def static_weight(self, weight: ast.StaticWeight) -> dict[str, Any]:
        if weight.weight < 1:
            self.error("compile.invalid_weight", "a static weight must be at least 1", weight.span)
        if weight.cluster is not None:
            target: dict[str, Any] = {"clusterNames": [weight.cluster]}
        else:
            assert weight.where is not None
            target = self.affinity((ast.ClusterSelection((), weight.where, span=weight.span),))
        return {"targetCluster": target, "weight": weight.weight}

    def failover(self, items: tuple[ast.Failover, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for block in items:
            if block.kind not in ("cluster", "application"):
                self.error("compile.unknown_failover", f"unknown failover kind `{block.kind}`", block.span,
                           help_text="use `failover cluster { ... }` or `failover application { ... }`")
                continue
            behaviour: dict[str, Any] = {}
            rules = []
            for member in block.items:
                if isinstance(member, ast.PurgeMode):
                    behaviour["purgeMode"] = member.mode
                elif isinstance(member, ast.GracePeriod):
                    behaviour["gracePeriodSeconds"] = member.seconds
                elif isinstance(member, ast.DecisionConditions):
                    behaviour["decisionConditions"] = {"tolerationSeconds": member.toleration_seconds}
                else:
                    rules.append({"aliasLabelName": member.alias_label_name, "jsonPath": member.json_path})
            if rules:
                behaviour["statePreservation"] = {"rules": rules}
            out[block.kind] = behaviour
        return out


def _conjuncts(expr: ast.Expr) -> list[ast.Expr]:
    if isinstance(expr, ast.Binary) and expr.op == "and":
        return [*_conjuncts(expr.left), *_conjuncts(expr.right)]
    return [expr]


def _label_key(expr: ast.Expr) -> str | None:
    """``labels.app`` or ``labels["app.kubernetes.io/name"]``."""
    if isinstance(expr, ast.GetField) and isinstance(expr.target, ast.Var) and expr.target.name == "labels":
        return expr.name
    if (isinstance(expr, ast.GetIndex) and isinstance(expr.target, ast.Var) and expr.target.name == "labels"
            and isinstance(expr.index, ast.Literal) and isinstance(expr.index.value, str)):
        return expr.index.value
    return None


def _string_values(expr: ast.Expr) -> list[str] | None:
    if isinstance(expr, ast.Literal) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.ListExpr) and all(
        isinstance(i, ast.Literal) and isinstance(i.value, str) for i in expr.items
    ):
        return [i.value for i in expr.items]  # type: ignore[union-attr,misc]
    return None


def _label_selector_object(selector: _Selector) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if selector.match_labels:
        out["matchLabels"] = dict(selector.match_labels)
    if selector.label_expressions:
        out["matchExpressions"] = list(selector.label_expressions)
    return out


def label_selector(expr: ast.Expr, source: Source) -> tuple[dict[str, Any], list[Diagnostic]]:
    """A Kubernetes label selector for a ``where`` condition over ``labels``."""
    compiler = _Compiler(source)
    return _label_selector_object(compiler.selector(expr, for_clusters=False)), compiler.diagnostics


def _placement(compiler: _Compiler, node: ast.Policy) -> dict[str, Any]:
    placement: dict[str, Any] = {}
    plain = tuple(i for i in node.items if isinstance(i, (ast.ClusterSelection, ast.Exclude)))
    affinities = [i for i in node.items if isinstance(i, ast.Affinity)]
    if plain:
        placement["clusterAffinity"] = compiler.affinity(plain)
    if affinities:
        if plain:
            compiler.error("compile.affinity_conflict", "`clusters`/`exclude` and ordered `affinity` groups "
                           "cannot be combined", affinities[0].span,
                           help_text="move the plain cluster selection into an `affinity` group")
        placement["clusterAffinities"] = [_affinity_term(compiler, a) for a in affinities]
    tolerations = [_toleration(t) for t in node.items if isinstance(t, ast.Toleration)]
    if tolerations:
        placement["clusterTolerations"] = tolerations
    spreads = [_spread(s) for s in node.items if isinstance(s, ast.SpreadConstraint)]
    if spreads:
        placement["spreadConstraints"] = spreads
    for item in node.items:
        if isinstance(item, ast.ReplicaScheduling):
            placement["replicaScheduling"] = compiler.replica_scheduling(item)
    return placement


def _affinity_term(compiler: _Compiler, node: ast.Affinity) -> dict[str, Any]:
    term: dict[str, Any] = {"affinityName": node.name, **compiler.affinity(node.items)}
    if node.overflow:
        term["overflowAffinities"] = [
            {"affinityName": o.name, **compiler.affinity(o.items)} for o in node.overflow
        ]
    return term


def _toleration(node: ast.Toleration) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node.key:
        out["key"] = node.key
    out["operator"] = node.operator
    if node.value:
        out["value"] = node.value
    if node.effect:
        out["effect"] = node.effect
    if node.toleration_seconds is not None:
        out["tolerationSeconds"] = node.toleration_seconds
    return out


def _spread(node: ast.SpreadConstraint) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node.spread_by_field:
        out["spreadByField"] = node.spread_by_field
    if node.spread_by_label:
        out["spreadByLabel"] = node.spread_by_label
    if node.min_groups is not None:
        out["minGroups"] = node.min_groups
    if node.max_groups is not None:
        out["maxGroups"] = node.max_groups
    return out


_SINGLE: dict[type, tuple[str, Callable[[Any], Any]]] = {
    ast.Priority: ("priority", lambda i: i.value),
    ast.Preemption: ("preemption", lambda i: i.mode.capitalize()),
    ast.PropagateDeps: ("propagateDeps", lambda i: True),
    ast.SchedulerName: ("schedulerName", lambda i: i.name),
    ast.ConflictResolution: ("conflictResolution", lambda i: i.mode.capitalize()),
}


def compile_policy(node: ast.Policy, source: Source) -> CompiledPolicy:
    compiler = _Compiler(source)
    spec: dict[str, Any] = {}
    namespace = None if node.cluster_scoped else (node.namespace or "default")
    selectors = [compiler.resource_selector(i, namespace) for i in node.items if isinstance(i, ast.ResourceSelector)]
    if not selectors:
        compiler.error("compile.no_selector", f"policy `{node.name}` selects nothing", node.span,
                       help_text="add `select <apiVersion> <Kind> ...`")
    spec["resourceSelectors"] = selectors
    for item in node.items:
        entry = _SINGLE.get(type(item))
        if isinstance(item, ast.Suspension):  # suspending dispatching and scheduling add up
            spec.setdefault("suspension", {})[item.what.lower()] = True
        elif entry is not None:
            spec[entry[0]] = entry[1](item)
    spec["placement"] = _placement(compiler, node)
    failover = [i for i in node.items if isinstance(i, ast.Failover)]
    if failover:
        spec["failover"] = compiler.failover(tuple(failover))
    metadata: dict[str, Any] = {"name": node.name}
    if namespace is not None:
        metadata["namespace"] = namespace
    kind = "ClusterPropagationPolicy" if node.cluster_scoped else "PropagationPolicy"
    obj = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}
    return CompiledPolicy(node, source, obj, compiler.diagnostics)


def compile_quota(node: ast.Quota) -> dict[str, Any]:
    spec: dict[str, Any] = {"overall": {limit.resource: limit.value for limit in node.overall}}
    if node.assignments:
        spec["staticAssignments"] = [
            {"clusterName": a.cluster, "hard": {limit.resource: limit.value for limit in a.limits}}
            for a in node.assignments
        ]
    return {
        "apiVersion": API_VERSION, "kind": "FederatedResourceQuota",
        "metadata": {"name": node.name, "namespace": node.namespace}, "spec": spec,
    }


def apply_admission_defaults(policy: dict[str, Any]) -> dict[str, Any]:
    """What Karmada's mutating webhook does to a (Cluster)PropagationPolicy before it is stored."""
    spec = policy.setdefault("spec", {})
    namespace = policy.get("metadata", {}).get("namespace")
    if policy.get("kind") == "PropagationPolicy" and namespace:
        for selector in spec.get("resourceSelectors") or ():
            selector.setdefault("namespace", namespace) if not selector.get("namespace") else None
    placement = spec.setdefault("placement", {})
    for constraint in placement.get("spreadConstraints") or ():
        if not constraint.get("spreadByField") and not constraint.get("spreadByLabel"):
            constraint["spreadByField"] = "cluster"
        if not constraint.get("minGroups"):
            constraint["minGroups"] = 1
    scheduling = placement.get("replicaScheduling")
    if scheduling is not None:
        scheduling.setdefault("replicaSchedulingType", "Divided")
        if scheduling["replicaSchedulingType"] == "Divided" and not scheduling.get("replicaDivisionPreference"):
            scheduling["replicaDivisionPreference"] = "Weighted"
    failover = spec.get("failover") or {}
    application = failover.get("application")
    if application is not None:
        application.setdefault("purgeMode", "Gracefully")
        if application["purgeMode"] == "Gracefully" and application.get("gracePeriodSeconds") is None:
            application["gracePeriodSeconds"] = 600
        application.setdefault("decisionConditions", {}).setdefault("tolerationSeconds", 300)
    if failover.get("cluster") is not None:
        failover["cluster"].setdefault("purgeMode", "Gracefully")
    return policy
