"""FederatedResourceQuota accounting: what a ResourceBinding uses and whether Karmada admits it.

* :func:`binding_usage` is the resource usage Karmada charges a ResourceBinding: for a multi-component
  binding one set of components (each request times its replicas) per target cluster, otherwise the
  single-template request times the scheduled replicas. Zero quantities are left out.
* :func:`overall_used` is the enforcement controller's recomputation of ``status.overallUsed``: exact
  sums over every binding of the namespace, keeping only the resource names of ``spec.overall``.
* :func:`admit_binding` replays the ResourceBinding validating webhook: quota enforcement (gate
  ``FederatedQuotaEnforcement``) on the change a CREATE or UPDATE makes, the dependencies annotation
  check and, with ``MultiplePodTemplatesScheduling``, the component name checks. It returns an
  :class:`AdmissionDecision` carrying the overallUsed the webhook writes into each FRQ it touches.

The webhook adds the usage change to ``overallUsed`` in integer units (cpu in millicores, everything else
in whole units rounded up, only cpu, memory, ephemeral-storage, pods and scalar names, only positive
totals), so what it stores can differ from the controller's exact recomputation: a Flink usage of
``3072m`` bytes of memory is stored as ``4`` until the controller recomputes it.

Quantities are :class:`~kpl.engine.quantity.Quantity` values; API objects are camelCase mappings, and a
binding may be given as a whole object (with ``spec``) or as its spec alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from kpl.engine.features import FEDERATED_QUOTA_ENFORCEMENT, MULTIPLE_POD_TEMPLATES_SCHEDULING, FeatureGates
from kpl.engine.go_values import decode_go_json, go_quote
from kpl.engine.kube_resources import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    PODS,
    ResourceTotals,
)
from kpl.engine.quantity import Quantity

__all__ = [
    "CREATE",
    "DEPENDENCIES_ANNOTATION",
    "QUOTA_EXCEEDED_REASON",
    "UPDATE",
    "AdmissionDecision",
    "QuotaView",
    "admit_binding",
    "binding_spec",
    "binding_usage",
    "component_set_resources",
    "integer_sum",
    "overall_used",
    "quota_relevant_change",
    "resource_list",
    "resource_list_json",
    "sum_resources",
    "usage_delta",
]

CREATE: Final = "CREATE"
UPDATE: Final = "UPDATE"
QUOTA_EXCEEDED_REASON: Final = "QuotaExceeded"
DEPENDENCIES_ANNOTATION: Final = "resourcebinding.karmada.io/dependencies"
_FORBIDDEN: Final = 403
_OK: Final = 200
_INTEGER_ORDER: Final = (CPU, MEMORY, EPHEMERAL_STORAGE, PODS)
_DEPENDENCY_FIELDS: Final[Mapping[str, type]] = {
    "apiversion": str, "kind": str, "namespace": str, "name": str, "labelselector": dict,
}

Resources = dict[str, Quantity]
GateSource = FeatureGates | Mapping[str, bool] | None


def _gates(source: GateSource) -> FeatureGates:
    return source if isinstance(source, FeatureGates) else FeatureGates.from_mapping(source)


# -- resource lists ---------------------------------------------------------------------------------------


def resource_list(raw: Mapping[str, Any] | None) -> Resources:
    """A ``ResourceList`` read from JSON (strings or numbers); ``None`` reads as empty."""
    return {str(name): Quantity.from_json(value) for name, value in (raw or {}).items()}


def resource_list_json(resources: Mapping[str, Quantity]) -> dict[str, str]:
    """The serialized form of a ``ResourceList``, as Kubernetes writes it."""
    return {name: str(quantity) for name, quantity in resources.items()}


def sum_resources(lists: Iterable[Mapping[str, Quantity]]) -> Resources:
    """Exact per-name sums (Kubernetes ``Quantity.Add``; the first addend's format is kept)."""
    total: Resources = {}
    for resources in lists:
        for name, quantity in resources.items():
            total[name] = total[name] + quantity if name in total else quantity
    return total


def binding_spec(binding: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The spec of a ResourceBinding given as an object (``{spec: ...}``) or as the spec itself."""
    if not binding:
        return {}
    spec = binding.get("spec")
    return spec if isinstance(spec, Mapping) else binding


def _requests(requirements: Mapping[str, Any] | None) -> Resources:
    return resource_list((requirements or {}).get("resourceRequest"))


# -- usage ------------------------------------------------------------------------------------------------


def component_set_resources(components: Sequence[Mapping[str, Any]] | None) -> Resources:
    """One set of components: each request times the component's replicas, summed per resource.

    Components without replicas or without requests, and zero requests, are skipped.
    """
    parts: list[Resources] = []
    for component in components or ():
        replicas = int(component.get("replicas") or 0)
        requests = _requests(component.get("replicaRequirements"))
        if replicas == 0 or not requests:
            continue
        parts.append(_scaled(requests, replicas))
    return sum_resources(parts)


def _scaled(resources: Mapping[str, Quantity], factor: int) -> Resources:
    """Each non-zero quantity times ``factor`` (``Quantity.Mul``, which forgets the parsed text)."""
    return {name: quantity * factor for name, quantity in resources.items() if not quantity.is_zero()}


def binding_usage(binding: Mapping[str, Any] | None) -> Resources:
    """The usage a ResourceBinding is charged (Karmada's ``CalculateResourceUsage``)."""
    spec = binding_spec(binding)
    clusters = spec.get("clusters") or ()
    if spec.get("components"):
        if not clusters:
            return {}
        return _scaled(component_set_resources(spec.get("components")), len(clusters))
    requests = _requests(spec.get("replicaRequirements"))
    replicas = sum(int(cluster.get("replicas") or 0) for cluster in clusters)
    if not requests or replicas == 0:
        return {}
    return _scaled(requests, replicas)


def overall_used(bindings: Iterable[Mapping[str, Any]], overall: Mapping[str, Quantity]) -> Resources:
    """The controller's ``status.overallUsed``: usage of all bindings, restricted to ``overall``'s names."""
    used = sum_resources(binding_usage(binding) for binding in bindings)
    return {name: used[name] for name in overall if name in used}


def usage_delta(new: Mapping[str, Quantity], old: Mapping[str, Quantity]) -> Resources:
    """``new - old`` per resource name, keeping only non-zero differences."""
    delta: Resources = {}
    for name in [*new, *(name for name in old if name not in new)]:
        if name in new and name in old:
            difference = new[name] - old[name]
        else:
            difference = new[name] if name in new else Quantity.zero(old[name].format) - old[name]
        if not difference.is_zero():
            delta[name] = difference
    return delta


def integer_sum(base: Mapping[str, Quantity], delta: Mapping[str, Quantity]) -> Resources:
    """``base + delta`` through Karmada's integer ``util.Resource`` (what the webhook stores).

    cpu in millicores, other resources in whole units rounded up; names that are not cpu, memory,
    ephemeral-storage, pods or scalar names are dropped, and so is every total that is not positive.
    """
    totals = ResourceTotals()
    totals.add(base)
    totals.add(delta)
    result = totals.freeze().resource_list() or {}
    ordered = [name for name in _INTEGER_ORDER if name in result]
    return {name: result[name] for name in [*ordered, *(name for name in result if name not in ordered)]}


# -- admission --------------------------------------------------------------------------------------------


def _part(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``obj[key]``; a flat object (no ``kind``, as the conformance vectors write quotas) is its own part."""
    part = obj.get(key)
    if isinstance(part, Mapping):
        return part
    return {} if "kind" in obj else obj


@dataclass(frozen=True, slots=True)
class QuotaView:
    """The parts of a FederatedResourceQuota the webhook reads; ``overall`` None means no ``spec.overall``."""

    name: str
    namespace: str = ""
    overall: Mapping[str, Quantity] | None = None
    overall_used: Mapping[str, Quantity] = field(default_factory=dict)

    @classmethod
    def from_object(cls, obj: Mapping[str, Any], namespace: str = "") -> QuotaView:
        """Read an FRQ object (metadata, spec, status) or a flat ``{name, overall, overallUsed}``."""
        metadata = obj.get("metadata") or {}
        spec = _part(obj, "spec")
        status = _part(obj, "status")
        overall = spec.get("overall")
        return cls(
            name=str(metadata.get("name") or obj.get("name") or ""),
            namespace=str(metadata.get("namespace") or obj.get("namespace") or namespace),
            overall=None if overall is None else resource_list(overall),
            overall_used=resource_list(status.get("overallUsed")),
        )


@dataclass(frozen=True, slots=True)
class AdmissionDecision:
    """The webhook's answer. ``new_overall_used`` maps each FRQ it updates to the overallUsed it writes."""

    allowed: bool
    code: int = _OK
    reason: str = ""
    message: str = ""
    new_overall_used: Mapping[str, Mapping[str, Quantity]] = field(default_factory=dict)
    dry_run: bool = False

    def persisted_overall_used(self) -> Mapping[str, Mapping[str, Quantity]]:
        """The FRQ statuses actually changed: none for a dry-run request (its update is a dry run too)."""
        return {} if self.dry_run else self.new_overall_used


def _denied(message: str, reason: str = "Forbidden") -> AdmissionDecision:
    return AdmissionDecision(False, _FORBIDDEN, reason, message)


def _total_replicas(spec: Mapping[str, Any]) -> int:
    return sum(int(cluster.get("replicas") or 0) for cluster in spec.get("clusters") or ())


def _cluster_names(spec: Mapping[str, Any]) -> list[str]:
    return [str(cluster.get("name") or "") for cluster in spec.get("clusters") or ()]


def _component_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    if int(old.get("replicas") or 0) != int(new.get("replicas") or 0):
        return True
    old_requirements, new_requirements = old.get("replicaRequirements"), new.get("replicaRequirements")
    if (old_requirements is None) != (new_requirements is None):
        return True
    return old_requirements is not None and _requests(old_requirements) != _requests(new_requirements)


def quota_relevant_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether an UPDATE changes what quota charges: requests, scheduled replicas, components, clusters."""
    old_spec, new_spec = binding_spec(old), binding_spec(new)
    if _requests(old_spec.get("replicaRequirements")) != _requests(new_spec.get("replicaRequirements")):
        return True
    if _total_replicas(old_spec) != _total_replicas(new_spec):
        return True
    old_components, new_components = old_spec.get("components") or [], new_spec.get("components") or []
    old_clusters, new_clusters = _cluster_names(old_spec), _cluster_names(new_spec)
    if (old_components or new_components) and (
        len(old_clusters) != len(new_clusters) or not set(new_clusters) <= set(old_clusters)
    ):
        return True
    if len(old_components) != len(new_components):
        return True
    return any(_component_changed(a, b) for a, b in zip(old_components, new_components, strict=True))


def _check_frq(frq: QuotaView, delta: Mapping[str, Quantity]) -> Resources | str | None:
    """The FRQ's new overallUsed, a denial message, or None when the change does not concern it."""
    if frq.overall is None:
        return None
    tracked = {name: delta[name] for name in frq.overall if name in delta}
    if all(quantity.is_zero() for quantity in tracked.values()):
        return None
    requested = integer_sum(frq.overall_used, tracked)
    for name, quantity in requested.items():
        limit = frq.overall.get(name)
        if limit is not None and not quantity.is_zero() and quantity > limit:
            return (f"FederatedResourceQuota({frq.namespace}/{frq.name}) exceeded for resource {name}: "
                    f"requested sum {quantity}, limit {limit}.")
    return requested


def _enforce_quota(operation: str, frqs: Sequence[QuotaView], new: Mapping[str, Any],
                   old: Mapping[str, Any] | None) -> AdmissionDecision | None:
    """The quota part of the webhook: a denial, the FRQ updates, or None when nothing is checked."""
    new_spec = binding_spec(new)
    if operation == CREATE and not new_spec.get("clusters"):
        return None
    if operation == UPDATE and old is not None and not quota_relevant_change(old, new):
        return None
    delta = usage_delta(binding_usage(new), binding_usage(old) if old is not None else {})
    if not delta or not frqs:
        return None
    updates: dict[str, Mapping[str, Quantity]] = {}
    for frq in frqs:
        outcome = _check_frq(frq, delta)
        if isinstance(outcome, str):
            return _denied(outcome, QUOTA_EXCEEDED_REASON)
        if outcome is not None:
            updates[frq.name] = outcome
    return AdmissionDecision(True, new_overall_used=updates)


def _field_invalid(path: str, value: str, detail: str) -> str:
    return f"{path}: Invalid value: {go_quote(value)}: {detail}"


def _aggregate(messages: Sequence[str]) -> str:
    """A Kubernetes error aggregate's text: one message alone, several deduplicated in brackets."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _component_errors(components: Sequence[Mapping[str, Any]]) -> list[str]:
    errors: list[str] = []
    seen: set[str] = set()
    for index, component in enumerate(components):
        name = str(component.get("name") or "")
        path = f"spec.components[{index}].name"
        if not name:
            errors.append(_field_invalid(path, name, "component names must be non-empty"))
        elif name in seen:
            errors.append(_field_invalid(path, name, "component names must be unique"))
        else:
            seen.add(name)
    return errors


def _dependencies_error(binding: Mapping[str, Any]) -> str | None:
    annotations = (binding.get("metadata") or {}).get("annotations") or binding.get("annotations") or {}
    if DEPENDENCIES_ANNOTATION not in annotations:
        return None
    text = str(annotations[DEPENDENCIES_ANNOTATION])
    if _is_dependency_list(text):
        return None
    path = f"metadata.annotations.{DEPENDENCIES_ANNOTATION}"
    return _field_invalid(path, text, "annotation value must be a valid JSON")


def _is_dependency_list(text: str) -> bool:
    """Whether ``text`` decodes into a list of DependentObjectReference (Go's json rules, loosely)."""
    try:
        value = decode_go_json(text)
    except ValueError:
        return False
    if value is None:
        return True
    if not isinstance(value, list):
        return False
    for item in value:
        if item is None:
            continue
        if not isinstance(item, dict):
            return False
        for key, field_value in item.items():
            expected = _DEPENDENCY_FIELDS.get(key.lower())
            if expected is not None and field_value is not None and not isinstance(field_value, expected):
                return False
    return True


def admit_binding(gates: GateSource, operation: str, frqs: Iterable[QuotaView | Mapping[str, Any]],
                  new: Mapping[str, Any], old: Mapping[str, Any] | None = None, *,
                  namespace: str = "", dry_run: bool = False) -> AdmissionDecision:
    """Karmada's ResourceBinding validating webhook over one CREATE or UPDATE.

    ``frqs`` are the FederatedResourceQuotas of the binding's namespace in list order (views or
    objects); the first FRQ that would be exceeded denies the request with 403 ``QuotaExceeded``
    and then no FRQ is updated. ``namespace`` names the binding's namespace in messages when the
    FRQs do not carry one. A ``dry_run`` request is judged alike; its FRQ updates are dry runs too.
    """
    dependency_error = _dependencies_error(new)
    if dependency_error is not None:
        return _denied(dependency_error)
    resolved = _gates(gates)
    decision: AdmissionDecision | None = None
    if resolved.enabled(FEDERATED_QUOTA_ENFORCEMENT):
        views = [frq if isinstance(frq, QuotaView) else QuotaView.from_object(frq, namespace) for frq in frqs]
        decision = _enforce_quota(operation, views, new, old)
        if decision is not None and not decision.allowed:
            return decision
    if resolved.enabled(MULTIPLE_POD_TEMPLATES_SCHEDULING):
        errors = _component_errors(binding_spec(new).get("components") or [])
        if errors:  # the quota updates above have already been written by then
            written = decision.new_overall_used if decision else {}
            return replace(_denied(_aggregate(errors)), new_overall_used=written, dry_run=dry_run)
    return replace(decision or AdmissionDecision(True), dry_run=dry_run)
