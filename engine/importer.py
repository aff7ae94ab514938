"""``kpl import``: Karmada YAML back to kpl, formatted.

PropagationPolicy, ClusterPropagationPolicy and FederatedResourceQuota become ``policy``, ``cluster policy``
and ``quota`` declarations whose export (:mod:`kpl.engine.export`) gives the same objects once Karmada's
admission defaults are applied. A field kpl has no syntax for is a diagnostic at its line, never dropped
quietly; so is every Lua script of a ResourceInterpreterCustomization (its rule has to be written in kpl).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic, Severity
from kpl.dsl.formatter import format_module
from kpl.dsl.source import Source, Span
from kpl.engine.import_selectors import SelectorError, affinity_items, label_where, weight_target
from kpl.engine.project import read_source

__all__ = ["ImportResult", "import_files", "import_source"]

_SERVER_FIELDS = frozenset({"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                            "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"})
_POLICY_KINDS = ("PropagationPolicy", "ClusterPropagationPolicy")
Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The formatted kpl text, its declarations and what could not be imported."""

    text: str
    declarations: tuple[ast.Declaration, ...]
    diagnostics: tuple[Diagnostic, ...]
    io_failed: bool = False

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


class _Located:
    """One YAML document with the span of every value, by path."""

    def __init__(self, source: Source, node: yaml.Node, loader: yaml.SafeLoader) -> None:
        self.source = source
        self.spans: dict[Path_, Span] = {}
        self._walk(node, ())
        self.value: Any = loader.construct_document(node)
        self.diagnostics: list[Diagnostic] = []

    def _walk(self, node: yaml.Node, path: Path_) -> None:
        self.spans[path] = Span(node.start_mark.index, node.end_mark.index)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self._walk(value, (*path, str(key.value)))
                self.spans[(*path, str(key.value))] = Span(key.start_mark.index, value.end_mark.index)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def report(self, path: Path_, message: str, *, code: str = "import.unsupported",
               severity: Severity = Severity.ERROR, help_text: str | None = None) -> None:
        span = self.spans.get(path)
        while span is None and path:
            path = path[:-1]
            span = self.spans.get(path)
        self.diagnostics.append(Diagnostic(code, message, self.source, span, severity, help_text))

    def unknown(self, mapping: Mapping[str, Any], path: Path_, known: Iterable[str]) -> None:
        allowed = set(known)
        for key in mapping:
            if key not in allowed:
                self.report((*path, key), f"kpl has no syntax for `{_dotted((*path, key))}`",
                            help_text="keep this object in YAML, or drop the field if it is not needed")


def _dotted(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# ------------------------------------------------------------------------------------ policies


def _metadata(doc: _Located) -> tuple[str, str | None]:
    metadata = _mapping(doc.value.get("metadata"))
    for key in metadata:
        if key in ("labels", "annotations", "finalizers", "ownerReferences"):
            doc.report(("metadata", key), f"kpl does not keep `metadata.{key}`", code="import.dropped",
                       severity=Severity.WARNING)
        elif key not in ("name", "namespace", "generateName", *_SERVER_FIELDS):
            doc.unknown({key: None}, ("metadata",), ())
    return str(metadata.get("name", "")), metadata.get("namespace")


def _empty_label_selector(doc: _Located, where: ast.Expr | None, path: Path_) -> None:
    """An empty label selector matches every object but ranks above a selector without one when policies
    compete; a kpl ``select`` without ``where`` ranks as the latter, so the import would change the winner."""
    if where is None:
        doc.report(path, "kpl has no form for an empty label selector (it matches everything, yet ranks as a "
                   "label-selector match when policies compete)",
                   help_text="drop `labelSelector` (the policy then ranks as a match-all selector) or give it "
                   "a requirement")


def _resource_selectors(doc: _Located, spec: Mapping[str, Any], namespace: str | None) -> list[ast.PolicyItem]:
    items: list[ast.PolicyItem] = []
    for index, selector in enumerate(spec.get("resourceSelectors") or ()):
        path: Path_ = ("spec", "resourceSelectors", index)
        selector = _mapping(selector)
        doc.unknown(selector, path, ("apiVersion", "kind", "name", "namespace", "labelSelector"))
        where = None
        if selector.get("labelSelector") is not None:
            try:
                where = label_where(_mapping(selector["labelSelector"]))
            except SelectorError as error:
                doc.report((*path, "labelSelector", *error.path), error.message)
            else:
                _empty_label_selector(doc, where, (*path, "labelSelector"))
        selector_namespace = selector.get("namespace")
        if selector_namespace == namespace:
            selector_namespace = None
        items.append(ast.ResourceSelector(str(selector.get("apiVersion", "")), str(selector.get("kind", "")),
                                          selector.get("name") or None, selector_namespace or None, where))
    return items


def _scalars(doc: _Located, spec: Mapping[str, Any]) -> list[ast.PolicyItem]:
    items: list[ast.PolicyItem] = []
    if spec.get("priority") is not None:
        items.append(ast.Priority(int(spec["priority"])))
    if spec.get("preemption") is not None:
        items.append(ast.Preemption(str(spec["preemption"])))
    if spec.get("propagateDeps") is True:
        items.append(ast.PropagateDeps())
    if spec.get("schedulerName") is not None:
        items.append(ast.SchedulerName(str(spec["schedulerName"])))
    if spec.get("conflictResolution") is not None:
        items.append(ast.ConflictResolution(str(spec["conflictResolution"])))
    suspension = _mapping(spec.get("suspension"))
    doc.unknown(suspension, ("spec", "suspension"), ("dispatching", "scheduling"))
    for what in ("dispatching", "scheduling"):
        if suspension.get(what) is True:
            items.append(ast.Suspension(what))
    return items


def _placement(doc: _Located, placement: Mapping[str, Any]) -> list[ast.PolicyItem]:
    path: Path_ = ("spec", "placement")
    doc.unknown(placement, path, ("clusterAffinity", "clusterAffinities", "clusterTolerations",
                                  "spreadConstraints", "replicaScheduling"))
    items: list[ast.PolicyItem] = []
    if placement.get("clusterAffinity") and placement.get("clusterAffinities"):
        doc.report((*path, "clusterAffinities"), "kpl cannot combine `clusterAffinity` with `clusterAffinities`")
    if placement.get("clusterAffinity"):
        items.extend(_affinity(doc, _mapping(placement["clusterAffinity"]), (*path, "clusterAffinity")))
    for index, term in enumerate(placement.get("clusterAffinities") or ()):
        items.append(_ordered_affinity(doc, _mapping(term), (*path, "clusterAffinities", index)))
    for index, toleration in enumerate(placement.get("clusterTolerations") or ()):
        found = _toleration(doc, _mapping(toleration), (*path, "clusterTolerations", index))
        if found is not None:
            items.append(found)
    for index, constraint in enumerate(placement.get("spreadConstraints") or ()):
        found_spread = _spread(doc, _mapping(constraint), (*path, "spreadConstraints", index))
        if found_spread is not None:
            items.append(found_spread)
    if placement.get("replicaScheduling") is not None:
        scheduling = _replicas(doc, _mapping(placement["replicaScheduling"]), (*path, "replicaScheduling"))
        if scheduling is not None:
            items.append(scheduling)
    return items


def _affinity(doc: _Located, term: Mapping[str, Any], path: Path_,
              extra: tuple[str, ...] = ()) -> list[ast.ClusterSelection | ast.Exclude]:
    doc.unknown(term, path, ("clusterNames", "exclude", "labelSelector", "fieldSelector", *extra))
    try:
        return affinity_items(term)
    except SelectorError as error:
        doc.report((*path, *error.path), error.message)
        return []


def _ordered_affinity(doc: _Located, term: Mapping[str, Any], path: Path_) -> ast.Affinity:
    items = _affinity(doc, term, path, ("affinityName", "overflowAffinities"))
    overflow = tuple(
        ast.Overflow(str(_mapping(o).get("affinityName", "")),
                     tuple(_affinity(doc, _mapping(o), (*path, "overflowAffinities", i), ("affinityName",))))
        for i, o in enumerate(term.get("overflowAffinities") or ())
    )
    return ast.Affinity(str(term.get("affinityName", "")), tuple(items), overflow)


def _toleration(doc: _Located, toleration: Mapping[str, Any], path: Path_) -> ast.Toleration | None:
    doc.unknown(toleration, path, ("key", "operator", "value", "effect", "tolerationSeconds"))
    operator = str(toleration.get("operator") or "Equal")
    key, value = str(toleration.get("key") or ""), str(toleration.get("value") or "")
    if operator not in ("Equal", "Exists") or (operator == "Equal" and not key):
        doc.report(path, "kpl can tolerate `key = value`, `key exists` or `all`")
        return None
    if operator == "Exists" and value:
        doc.report((*path, "value"), "an `Exists` toleration has no value")
        return None
    seconds = toleration.get("tolerationSeconds")
    return ast.Toleration(key, operator, value, str(toleration.get("effect") or ""),
                          None if seconds is None else int(seconds))


def _spread(doc: _Located, constraint: Mapping[str, Any], path: Path_) -> ast.SpreadConstraint | None:
    doc.unknown(constraint, path, ("spreadByField", "spreadByLabel", "minGroups", "maxGroups"))
    by_field, by_label = constraint.get("spreadByField") or None, constraint.get("spreadByLabel") or None
    if by_field and by_label:
        doc.report(path, "a spread constraint spreads by a field or by a label, not both")
        return None
    low, high = constraint.get("minGroups"), constraint.get("maxGroups")
    return ast.SpreadConstraint(None if by_label else str(by_field or "cluster"), by_label,
                                None if low is None else int(low), None if high is None else int(high))


def _replicas(doc: _Located, scheduling: Mapping[str, Any], path: Path_) -> ast.ReplicaScheduling | None:
    doc.unknown(scheduling, path, ("replicaSchedulingType", "replicaDivisionPreference", "weightPreference"))
    if scheduling.get("replicaSchedulingType") == "Duplicated":
        return ast.ReplicaScheduling("duplicated", ())
    if scheduling.get("replicaDivisionPreference") == "Aggregated":
        return ast.ReplicaScheduling("aggregated", ())
    preference = _mapping(scheduling.get("weightPreference"))
    doc.unknown(preference, (*path, "weightPreference"), ("staticWeightList", "dynamicWeight"))
    if preference.get("dynamicWeight"):
        return ast.ReplicaScheduling("dynamic", ())
    weights = []
    for index, rule in enumerate(preference.get("staticWeightList") or ()):
        rule_path: Path_ = (*path, "weightPreference", "staticWeightList", index)
        rule = _mapping(rule)
        doc.unknown(rule, rule_path, ("targetCluster", "weight"))
        try:
            cluster, where = weight_target(_mapping(rule.get("targetCluster")))
        except SelectorError as error:
            doc.report((*rule_path, "targetCluster", *error.path), error.message)
            continue
        weights.append(ast.StaticWeight(cluster, where, int(rule.get("weight") or 0)))
    return ast.ReplicaScheduling("static", tuple(weights))


def _failover(doc: _Located, failover: Mapping[str, Any]) -> list[ast.PolicyItem]:
    doc.unknown(failover, ("spec", "failover"), ("application", "cluster"))
    items: list[ast.PolicyItem] = []
    for kind in ("application", "cluster"):
        if failover.get(kind) is None:
            continue
        path: Path_ = ("spec", "failover", kind)
        behaviour = _mapping(failover[kind])
        known = ("decisionConditions", "purgeMode", "gracePeriodSeconds", "statePreservation")
        doc.unknown(behaviour, path, known if kind == "application" else ("purgeMode", "statePreservation"))
        members: list[ast.FailoverItem] = []
        decision = _mapping(behaviour.get("decisionConditions"))
        if decision.get("tolerationSeconds") is not None:
            members.append(ast.DecisionConditions(int(decision["tolerationSeconds"])))
        if behaviour.get("purgeMode"):
            members.append(ast.PurgeMode(str(behaviour["purgeMode"])))
        if behaviour.get("gracePeriodSeconds") is not None:
            members.append(ast.GracePeriod(int(behaviour["gracePeriodSeconds"])))
        preservation = _mapping(behaviour.get("statePreservation"))
        doc.unknown(preservation, (*path, "statePreservation"), ("rules",))
        for rule in preservation.get("rules") or ():
            rule = _mapping(rule)
            members.append(ast.StatePreservationRule(str(rule.get("aliasLabelName", "")),
                                                     str(rule.get("jsonPath", ""))))
        items.append(ast.Failover(kind, tuple(members)))
    return items


def _policy(doc: _Located) -> ast.Policy:
    cluster_scoped = doc.value.get("kind") == "ClusterPropagationPolicy"
    name, namespace = _metadata(doc)
    if not cluster_scoped:
        namespace = namespace or "default"
    spec = _mapping(doc.value.get("spec"))
    doc.unknown(spec, ("spec",), ("resourceSelectors", "priority", "preemption", "propagateDeps", "schedulerName",
                                  "conflictResolution", "suspension", "placement", "failover"))
    items = [*_resource_selectors(doc, spec, namespace), *_scalars(doc, spec)]
    items.extend(_placement(doc, _mapping(spec.get("placement"))))
    items.extend(_failover(doc, _mapping(spec.get("failover"))))
    return ast.Policy(name, None if cluster_scoped else namespace, cluster_scoped, tuple(items))


# ------------------------------------------------------------------------------------ quotas and customizations


def _limits(values: Any) -> tuple[ast.ResourceLimit, ...]:
    return tuple(ast.ResourceLimit(str(k), str(v)) for k, v in _mapping(values).items())


def _quota(doc: _Located) -> ast.Quota:
    name, namespace = _metadata(doc)
    spec = _mapping(doc.value.get("spec"))
    doc.unknown(spec, ("spec",), ("overall", "staticAssignments"))
    assignments = []
    for index, assignment in enumerate(spec.get("staticAssignments") or ()):
        assignment = _mapping(assignment)
        doc.unknown(assignment, ("spec", "staticAssignments", index), ("clusterName", "hard"))
        assignments.append(ast.StaticAssignment(str(assignment.get("clusterName", "")),
                                                _limits(assignment.get("hard"))))
    return ast.Quota(name, str(namespace or "default"), _limits(spec.get("overall")), tuple(assignments))


def _customization(doc: _Located) -> None:
    spec = _mapping(doc.value.get("spec"))
    target = _mapping(spec.get("target"))
    what = f"{target.get('apiVersion')} {target.get('kind')}"
    for name, customization in _mapping(spec.get("customizations")).items():
        if _mapping(customization).get("luaScript") is not None:
            doc.report(("spec", "customizations", name, "luaScript"), f"the Lua script of `{name}` for {what} "
                       "is not translated to kpl", code="import.lua_not_translated",
                       help_text=f"write an `interpreter {target.get('apiVersion')} {target.get('kind')}` rule "
                       "in kpl; `kpl interpret` and `kpl conformance` check it against the same cases")


def _declaration(doc: _Located) -> ast.Declaration | None:
    kind = doc.value.get("kind") if isinstance(doc.value, Mapping) else None
    if kind in _POLICY_KINDS:
        return _policy(doc)
    if kind == "FederatedResourceQuota":
        return _quota(doc)
    if kind == "ResourceInterpreterCustomization":
        _customization(doc)
        return None
    doc.report((), f"`{kind}` is not a Karmada policy object; it is not imported", code="import.skipped",
               severity=Severity.WARNING)
    return None


def import_source(source: Source) -> tuple[list[ast.Declaration], list[Diagnostic]]:
    """The kpl declarations of one Karmada YAML text and what could not be imported from it."""
    declarations: list[ast.Declaration] = []
    diagnostics: list[Diagnostic] = []
    loader = yaml.SafeLoader(source.text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            doc = _Located(source, node, loader)
            if doc.value is None:
                continue
            found = _declaration(doc)
            diagnostics.extend(doc.diagnostics)
            if found is not None:
                declarations.append(found)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        span = None if mark is None else Span(mark.index, mark.index + 1)
        diagnostics.append(Diagnostic("io.invalid_yaml", f"invalid YAML: {getattr(error, 'problem', error)}",
                                      source, span))
    finally:
        loader.dispose()
    return declarations, diagnostics


def import_files(paths: Iterable[Path]) -> ImportResult:
    """Every file's objects as one formatted kpl text (declarations in file order)."""
    declarations: list[ast.Declaration] = []
    diagnostics: list[Diagnostic] = []
    io_failed = False
    for path in paths:
        source, problem = read_source(path)
        if problem is not None:
            diagnostics.append(problem)
            io_failed = True
        if source is None:
            continue
        found, problems = import_source(source)
        declarations.extend(found)
        diagnostics.extend(problems)
        io_failed = io_failed or any(d.code == "io.invalid_yaml" for d in problems)
    module = ast.Module(Source("<import>", ""), tuple(declarations))
    return ImportResult(format_module(module), tuple(declarations), tuple(diagnostics), io_failed)
