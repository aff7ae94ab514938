"""ResourceBindings as Karmada's resource detector builds them: a template, its policy and its interpretation.

The detector interprets a resource template (InterpretComponent when the ``MultiplePodTemplatesScheduling``
gate is on and the kind implements it, InterpretReplica otherwise; kinds with neither are non-workloads)
and writes a binding named ``<name>-<kind>`` in lower case (``:`` in the name becomes ``.``). When a binding
of that name already exists only the fields the detector owns are refreshed: the scheduling result
(``spec.clusters``), eviction tasks, reschedule triggers and the status stay as they are.

Per operation the first interpreter that implements it wins: the user's rules, then the built-in rules, then
Karmada's native interpreters (Deployment, ReplicaSet, StatefulSet, Job, Pod). An interpretation failure is
a value (:class:`Interpretation` with ``error``), never an exception.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpl.engine.features import (
    MULTIPLE_POD_TEMPLATES_SCHEDULING,
    POLICY_PREEMPTION,
    RESOURCE_QUOTA_ESTIMATE,
    FeatureGates,
)
from kpl.engine.matching import (
    CLUSTER_POLICY,
    POLICY,
    ImplicitPriority,
    PolicyView,
    ResourceView,
    claimed_policy,
    policy_priority,
    preempts,
    select_policy,
)
from kpl.engine.quantity import Quantity, QuantityError

if TYPE_CHECKING:  # the interpreter and the rule library are imported by the code that interprets workloads
    from kpl.engine.interpreter import CompiledInterpreter
    from kpl.engine.library import Library

__all__ = [
    "BINDING_API_VERSION",
    "CLUSTER_BINDING",
    "NATIVE_REPLICA_KINDS",
    "RESOURCE_BINDING",
    "Interpretation",
    "PolicyChoice",
    "PolicyRef",
    "binding_key",
    "binding_name",
    "build_binding",
    "choose_policy",
    "detector_ignores",
    "interpret_workload",
    "native_replicas",
    "stored_binding",
]

BINDING_API_VERSION = "work.karmada.io/v1alpha2"
RESOURCE_BINDING = "ResourceBinding"
CLUSTER_BINDING = "ClusterResourceBinding"
NATIVE = "native"

# Spec fields a policy hands to the binding (the detector copies them on every update).
_POLICY_FIELDS = (
    "propagateDeps", "schedulerName", "failover", "conflictResolution", "preserveResourcesOnDeletion",
)
_CLAIM_ANNOTATIONS = {
    "PropagationPolicy": ("propagationpolicy.karmada.io/namespace", "propagationpolicy.karmada.io/name"),
    "ClusterPropagationPolicy": ("", "clusterpropagationpolicy.karmada.io/name"),
}


@dataclass(frozen=True, slots=True)
class Interpretation:
    """What the detector learned from a template: replicas and requirements, or components.

    ``operation`` is the interpreter operation used (empty for a non-workload kind), ``origin`` where the
    rule came from (a rule file, or ``native``), ``error`` the failure text when interpretation failed.
    """

    operation: str = ""
    origin: str = ""
    replicas: int = 0
    replica_requirements: Mapping[str, Any] | None = None
    components: tuple[Mapping[str, Any], ...] | None = None
    error: str | None = None

    def spec_fields(self) -> dict[str, Any]:
        """The binding spec fields this interpretation sets; absent keys are cleared by the detector."""
        fields: dict[str, Any] = {}
        if self.replicas:
            fields["replicas"] = self.replicas
        if self.replica_requirements is not None:
            fields["replicaRequirements"] = copy.deepcopy(dict(self.replica_requirements))
        if self.components:
            fields["components"] = [copy.deepcopy(dict(c)) for c in self.components]
        return fields


# Namespaces the detector never propagates from: Karmada's own, and those matching the controller
# manager's default ``--skipped-propagating-namespaces`` (``kube-.*``, anchored).
_RESERVED_NAMESPACES = frozenset({"karmada-system", "karmada-cluster"})
_EXECUTION_SPACE_PREFIX = "karmada-es-"
_SKIPPED_NAMESPACES = re.compile(r"kube-.*")


def detector_ignores(obj: Mapping[str, Any]) -> bool:
    """Whether Karmada's detector filters this template out before any policy matching."""
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    if namespace in _RESERVED_NAMESPACES or namespace.startswith(_EXECUTION_SPACE_PREFIX):
        return True
    return _SKIPPED_NAMESPACES.fullmatch(namespace) is not None


# ------------------------------------------------------------------------------------ native interpreters


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _template_replicas(obj: Mapping[str, Any]) -> tuple[int, Any]:
    spec = obj.get("spec") or {}
    return _count(spec.get("replicas")), spec.get("template") or {}


def _job_replicas(obj: Mapping[str, Any]) -> tuple[int, Any]:
    spec = obj.get("spec") or {}
    parallelism = _count(spec.get("parallelism"))
    completions = spec.get("completions")
    limit = _count(completions) if completions is not None else parallelism
    return min(parallelism, limit), spec.get("template") or {}


def _pod_replicas(obj: Mapping[str, Any]) -> tuple[int, Any]:
    return 1, {"spec": obj.get("spec") or {}}


NATIVE_REPLICA_KINDS: Mapping[tuple[str, str], Callable[[Mapping[str, Any]], tuple[int, Any]]] = {
    ("apps/v1", "Deployment"): _template_replicas,
    ("apps/v1", "ReplicaSet"): _template_replicas,
    ("apps/v1", "StatefulSet"): _template_replicas,
    ("batch/v1", "Job"): _job_replicas,
    ("v1", "Pod"): _pod_replicas,
}


def native_replicas(
    obj: Mapping[str, Any], gates: FeatureGates | None = None
) -> tuple[int, dict[str, Any] | None]:
    """Karmada's built-in InterpretReplica for the five native kinds (raises ``KeyError`` for others)."""
    from kpl.engine.kube import replica_requirements

    reader = NATIVE_REPLICA_KINDS[(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))]
    replicas, template = reader(obj)
    estimate = (gates or FeatureGates()).enabled(RESOURCE_QUOTA_ESTIMATE)
    return replicas, replica_requirements(template, resource_quota_estimate=estimate)


# ------------------------------------------------------------------------------------ interpretation


def _quantity_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise QuantityError(f"a quantity must be a string or a number, not {type(value).__name__}")
    return str(Quantity.from_json(value))


def _requirements_api(raw: Any) -> dict[str, Any] | None:
    """Requirements as the API stores them: every request decoded as a Kubernetes quantity."""
    if not isinstance(raw, Mapping) or not raw:
        return None
    out = copy.deepcopy(dict(raw))
    requests = out.get("resourceRequest")
    if isinstance(requests, Mapping):
        out["resourceRequest"] = {str(k): _quantity_text(v) for k, v in requests.items()}
    return out


def _component_api(raw: Any) -> dict[str, Any]:
    item = dict(raw) if isinstance(raw, Mapping) else {}
    out: dict[str, Any] = {"name": str(item.get("name") or ""), "replicas": _count(item.get("replicas"))}
    requirements = _requirements_api(item.get("replicaRequirements"))
    if requirements is not None:
        out["replicaRequirements"] = requirements
    return out


def _run_components(
    obj: Mapping[str, Any], rule: CompiledInterpreter, origin: str, gates: FeatureGates
) -> Interpretation:
    found = rule.run("InterpretComponent", desired=dict(obj), gates=gates)["components"]
    items = found if isinstance(found, list) else []
    return Interpretation("InterpretComponent", origin, components=tuple(_component_api(c) for c in items))


def _run_replicas(
    obj: Mapping[str, Any], library: Library, origin: str, gates: FeatureGates
) -> Interpretation:
    rule = library.get(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
    if rule is not None and rule.implements("InterpretReplica"):
        answer = rule.run("InterpretReplica", desired=dict(obj), gates=gates)
        replicas, requirements = _count(answer.get("replica")), _requirements_api(answer.get("requires"))
    else:
        origin = NATIVE
        replicas, requirements = native_replicas(obj, gates)
        requirements = _requirements_api(requirements)
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    if requirements is not None and gates.enabled(RESOURCE_QUOTA_ESTIMATE):
        requirements["namespace"] = requirements.get("namespace") or namespace
    return Interpretation("InterpretReplica", origin, replicas, requirements)


def interpret_workload(
    obj: Mapping[str, Any], library: Library, gates: FeatureGates | None = None
) -> Interpretation:
    """Interpret a resource template as the detector does before it writes the binding."""
    from kpl.engine.interpreter import InterpretError

    gates = gates or FeatureGates()
    key = (str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
    rule = library.get(*key)
    origin = library.origin.get(key, "")
    try:
        if gates.enabled(MULTIPLE_POD_TEMPLATES_SCHEDULING) and rule is not None and rule.implements(
            "InterpretComponent"
        ):
            return _run_components(obj, rule, origin, gates)
        if (rule is not None and rule.implements("InterpretReplica")) or key in NATIVE_REPLICA_KINDS:
            return _run_replicas(obj, library, origin, gates)
    except InterpretError as error:
        return Interpretation(error.operation, origin, error=error.describe())
    except (QuantityError, ValueError, TypeError) as error:
        return Interpretation("", origin, error=f"interpretation failed: {error}")
    return Interpretation()


# ------------------------------------------------------------------------------------ binding objects


def binding_name(kind: str, name: str) -> str:
    """``<name>-<kind>`` in lower case, with ``:`` replaced by ``.`` (not allowed in binding names)."""
    return f"{name.replace(':', '.')}-{kind}".lower()


def binding_key(binding: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(kind, namespace, name)`` of a binding object."""
    meta = binding.get("metadata") or {}
    kind = str(binding.get("kind") or RESOURCE_BINDING)
    return kind, str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _resource_reference(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    reference: dict[str, Any] = {"apiVersion": obj.get("apiVersion") or "", "kind": obj.get("kind") or ""}
    if meta.get("namespace"):
        reference["namespace"] = meta["namespace"]
    reference["name"] = meta.get("name") or ""
    for source, target in (("uid", "uid"), ("resourceVersion", "resourceVersion")):
        if meta.get(source):
            reference[target] = meta[source]
    return reference


def _fresh_binding(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    metadata: dict[str, Any] = {"name": binding_name(str(obj.get("kind") or ""), str(meta.get("name") or ""))}
    if namespace:
        metadata["namespace"] = namespace
    kind = RESOURCE_BINDING if namespace else CLUSTER_BINDING
    return {"apiVersion": BINDING_API_VERSION, "kind": kind, "metadata": metadata, "spec": {}}


def _claim(binding: dict[str, Any], policy: Mapping[str, Any]) -> None:
    meta = policy.get("metadata") or {}
    namespace_key, name_key = _CLAIM_ANNOTATIONS.get(str(policy.get("kind")), ("", ""))
    annotations = binding["metadata"].setdefault("annotations", {})
    if namespace_key:
        annotations[namespace_key] = meta.get("namespace") or ""
    if name_key:
        annotations[name_key] = meta.get("name") or ""


_NON_API_STATUS_FIELDS = ("schedulerObservedAffinityName",)
"""Status keys that are Go field names, not JSON names: the API server prunes them and Karmada's JSON
decoding never sees them (the observed term is ``schedulerObservingAffinityName``)."""


def stored_binding(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Binding ``obj`` as Karmada reads it back from the API: status keys that are not JSON field names are
    dropped, so they cannot steer the scheduler.

    The binding and its ``metadata``, ``spec`` and ``status`` are new dictionaries; the values inside them are
    shared with ``obj`` (the planner only reads them), so a caller that changes a nested value copies it first.
    """
    binding = dict(obj)
    for key in ("metadata", "spec", "status"):
        part = binding.get(key)
        if isinstance(part, Mapping):
            binding[key] = dict(part)
    status = binding.get("status")
    if isinstance(status, dict):
        for key in _NON_API_STATUS_FIELDS:
            status.pop(key, None)
    return binding


def build_binding(
    obj: Mapping[str, Any],
    policy: Mapping[str, Any],
    interpretation: Interpretation,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The binding the detector writes for template ``obj`` claimed by ``policy``.

    ``previous`` is the binding of the same name when one exists: its scheduling result and status are
    kept, while the resource, interpretation and policy fields are replaced.
    """
    binding = copy.deepcopy(stored_binding(previous)) if previous is not None else _fresh_binding(obj)
    binding.setdefault("metadata", {})
    spec = binding.setdefault("spec", {})
    policy_spec = policy.get("spec") or {}
    spec["resource"] = _resource_reference(obj)
    for key in ("replicas", "replicaRequirements", "components"):
        spec.pop(key, None)
    spec.update(interpretation.spec_fields())
    spec["placement"] = copy.deepcopy(policy_spec.get("placement") or {})
    for key in _POLICY_FIELDS:
        spec.pop(key, None)
        if policy_spec.get(key) is not None:
            spec[key] = copy.deepcopy(policy_spec[key])
    if policy_spec.get("suspension") is not None:
        spec["suspension"] = copy.deepcopy(policy_spec["suspension"])
    _claim(binding, policy)
    return binding


# ------------------------------------------------------------------------------------ policy choice

_MATCH_WORDS = {
    ImplicitPriority.MATCH_NAME: "name",
    ImplicitPriority.MATCH_LABEL_SELECTOR: "labelSelector",
    ImplicitPriority.MATCH_ALL: "all",
    ImplicitPriority.MISMATCH: "none",
}


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """A policy that matched a template: its identity, explicit priority and how precisely it matched."""

    kind: str
    namespace: str
    name: str
    priority: int
    implicit: ImplicitPriority

    @classmethod
    def of(cls, policy: PolicyView, resource: ResourceView) -> PolicyRef:
        implicit = policy_priority(resource, policy.selectors)
        return cls(policy.kind, policy.namespace, policy.name, policy.explicit_priority, implicit)

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} `{where}{self.name}`"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "priority": self.priority,
                "match": _MATCH_WORDS[self.implicit]}


@dataclass(frozen=True, slots=True)
class PolicyChoice:
    """The policy that claims a template (``chosen``, None when none matches) and the losers with why.

    ``claimed`` says the template already carried this policy's claim, ``preempted`` that the claim was taken
    over by preemption.
    """

    chosen: PolicyRef | None = None
    claimed: bool = False
    preempted: bool = False
    losers: tuple[tuple[PolicyRef, str], ...] = ()


def _same(policy: PolicyView, kind: str, namespace: str, name: str) -> bool:
    return (policy.kind, policy.namespace, policy.name) == (kind, namespace, name)


def _candidates(resource: ResourceView, policies: Sequence[PolicyView]) -> list[PolicyView]:
    def in_scope(policy: PolicyView) -> bool:
        if policy.kind == CLUSTER_POLICY:
            return True
        return bool(resource.namespace) and policy.kind == POLICY and policy.namespace == resource.namespace

    live = [p for p in policies if not p.deleting and in_scope(p)]
    return [p for p in live if policy_priority(resource, p.selectors) != ImplicitPriority.MISMATCH]


def _preemptor(
    resource: ResourceView, candidates: Sequence[PolicyView], claimed: PolicyView
) -> PolicyView | None:
    named = [
        p for p in candidates
        if policy_priority(resource, p.selectors) == ImplicitPriority.MATCH_NAME
        and preempts(p, claimed, True)
    ]
    named.sort(key=lambda p: (p.kind != POLICY, -p.explicit_priority, p.name))
    return named[0] if named else None


def _lost_reason(loser: PolicyRef, winner: PolicyRef, choice: PolicyChoice) -> str:
    if choice.claimed:
        return f"the template is already claimed by {winner}"
    if choice.preempted and loser.priority < winner.priority:
        return f"preempted by {winner} (priority {loser.priority} < {winner.priority})"
    if winner.kind == POLICY and loser.kind == CLUSTER_POLICY:
        return "a PropagationPolicy matched; ClusterPropagationPolicies apply only when none does"
    if loser.priority != winner.priority:
        return f"lower priority ({loser.priority} < {winner.priority})"
    if loser.implicit != winner.implicit:
        return f"less precise match ({_MATCH_WORDS[loser.implicit]} < {_MATCH_WORDS[winner.implicit]})"
    return f"name `{loser.name}` sorts after `{winner.name}`"


def _claimed_view(resource: ResourceView, candidates: Sequence[PolicyView]) -> PolicyView | None:
    claim = claimed_policy(resource)
    if claim is None:
        return None
    return next((p for p in candidates if _same(p, claim.kind, claim.namespace, claim.name)), None)


def choose_policy(
    resource: ResourceView, policies: Sequence[PolicyView], gates: FeatureGates | None = None
) -> PolicyChoice:
    """Which policy claims ``resource``: a live claim sticks (unless preempted), else Karmada's matching."""
    candidates = _candidates(resource, policies)
    claimed = _claimed_view(resource, candidates)
    winner, preempted = claimed, False
    if claimed is not None and (gates or FeatureGates()).enabled(POLICY_PREEMPTION):
        taker = _preemptor(resource, candidates, claimed)
        winner, preempted = (taker, True) if taker is not None else (claimed, False)
    if winner is None:
        winner = select_policy(resource, candidates)
    if winner is None:
        return PolicyChoice()
    chosen = PolicyRef.of(winner, resource)
    choice = PolicyChoice(chosen, claimed is not None and not preempted, preempted)
    losers = [PolicyRef.of(p, resource) for p in candidates if p is not winner]
    losers.sort(key=lambda ref: (ref.kind, ref.namespace, ref.name))
    reasons = tuple((ref, _lost_reason(ref, chosen, choice)) for ref in losers)
    return PolicyChoice(chosen, choice.claimed, preempted, reasons)
