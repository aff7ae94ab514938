"""Which PropagationPolicy or ClusterPropagationPolicy claims a resource template.

A resource selector matches a resource with an *implicit* priority (name match 3, label-selector
match 2, match-all 1, mismatch 0); a policy's implicit priority is the best over its selectors. Among
matching policies the one with the highest *explicit* ``spec.priority`` wins (unset is 0), then the
highest implicit priority, then the smallest name. PropagationPolicies in the resource's namespace
are tried first; ClusterPropagationPolicies only when none matched (cluster-scoped resources only
see ClusterPropagationPolicies). Policies being deleted are skipped.

Once claimed, a template keeps its policy unless preemption applies (:func:`preempts`).

Policies and resources are read either as Kubernetes objects (``metadata``/``spec``) or as flat
mappings (``name``, ``namespace``, ``priority``, ``resourceSelectors``, ``labels``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from kpl.engine.scheduler.affinity import compile_label_selector

__all__ = [
    "CLUSTER_POLICY",
    "POLICY",
    "Claim",
    "ImplicitPriority",
    "PolicyView",
    "ResourceView",
    "claimed_policy",
    "deprioritized_requeue",
    "higher_by_name",
    "highest_priority_policy",
    "policy_priority",
    "preempts",
    "select_policy",
    "selector_priority",
]

POLICY = "PropagationPolicy"
CLUSTER_POLICY = "ClusterPropagationPolicy"

_PP_NAMESPACE = "propagationpolicy.karmada.io/namespace"
_PP_NAME = "propagationpolicy.karmada.io/name"
_PP_ID = "propagationpolicy.karmada.io/permanent-id"
_CPP_NAME = "clusterpropagationpolicy.karmada.io/name"
_CPP_ID = "clusterpropagationpolicy.karmada.io/permanent-id"


class ImplicitPriority(IntEnum):
    """How precisely a resource selector matches a resource."""

    MISMATCH = 0
    MATCH_ALL = 1
    MATCH_LABEL_SELECTOR = 2
    MATCH_NAME = 3


@dataclass(frozen=True, slots=True)
class ResourceView:
    """The identity and labels of a resource template."""

    api_version: str
    kind: str
    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> ResourceView:
        raw_meta = obj.get("metadata")
        meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else obj
        return cls(
            api_version=obj.get("apiVersion") or "",
            kind=obj.get("kind") or "",
            namespace=meta.get("namespace") or "",
            name=meta.get("name") or "",
            labels=dict(meta.get("labels") or {}),
            annotations=dict(meta.get("annotations") or {}),
        )


@dataclass(frozen=True, slots=True)
class PolicyView:
    """The parts of a (Cluster)PropagationPolicy that matching and preemption read."""

    kind: str
    namespace: str
    name: str
    priority: int | None
    selectors: tuple[Mapping[str, Any], ...]
    preemption: str = "Never"
    deleting: bool = False
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def explicit_priority(self) -> int:
        return self.priority if self.priority is not None else 0

    @classmethod
    def from_object(cls, obj: Mapping[str, Any], default_kind: str = POLICY) -> PolicyView:
        is_object = isinstance(obj.get("metadata"), Mapping)
        meta: Mapping[str, Any] = obj["metadata"] if is_object else obj
        spec: Mapping[str, Any] = (obj.get("spec") or {}) if is_object else obj
        kind = obj.get("kind") or default_kind
        return cls(
            kind=kind,
            namespace="" if kind == CLUSTER_POLICY else meta.get("namespace") or "",
            name=meta.get("name") or "",
            priority=spec.get("priority"),
            selectors=tuple(spec.get("resourceSelectors") or ()),
            preemption=spec.get("preemption") or "Never",
            deleting=bool(meta.get("deletionTimestamp")),
            source=obj,
        )


def selector_priority(resource: ResourceView, selector: Mapping[str, Any]) -> ImplicitPriority:
    """How one resource selector matches ``resource``."""
    namespace = selector.get("namespace") or ""
    if (
        resource.api_version != (selector.get("apiVersion") or "")
        or resource.kind != (selector.get("kind") or "")
        or (namespace and resource.namespace != namespace)
    ):
        return ImplicitPriority.MISMATCH
    if selector.get("name"):
        return ImplicitPriority.MATCH_NAME if selector["name"] == resource.name else ImplicitPriority.MISMATCH
    if selector.get("labelSelector") is None:
        return ImplicitPriority.MATCH_ALL
    compiled = compile_label_selector(selector["labelSelector"])
    if compiled is not None and compiled.matches(resource.labels):
        return ImplicitPriority.MATCH_LABEL_SELECTOR
    return ImplicitPriority.MISMATCH


def policy_priority(resource: ResourceView, selectors: Iterable[Mapping[str, Any]]) -> ImplicitPriority:
    """The best implicit priority of any selector (mismatch when there are none)."""
    return max((selector_priority(resource, s) for s in selectors), default=ImplicitPriority.MISMATCH)


def higher_by_name(a: PolicyView | None, b: PolicyView) -> PolicyView:
    """The name tie-break: the byte-wise smaller name wins; on equal names the later one."""
    if a is None:
        return b
    return a if a.name < b.name else b


def highest_priority_policy(policies: Iterable[PolicyView], resource: ResourceView) -> PolicyView | None:
    """The winner among policies of one kind: explicit priority, then implicit priority, then name."""
    best: PolicyView | None = None
    best_implicit = ImplicitPriority.MISMATCH
    for policy in policies:
        implicit = policy_priority(resource, policy.selectors)
        if implicit == ImplicitPriority.MISMATCH:
            continue
        if best is None or best.explicit_priority < policy.explicit_priority:
            best, best_implicit = policy, implicit
        elif best.explicit_priority == policy.explicit_priority:
            if implicit > best_implicit:
                best, best_implicit = policy, implicit
            elif implicit == best_implicit:
                best = higher_by_name(best, policy)
    return best


def select_policy(resource: ResourceView, policies: Sequence[PolicyView]) -> PolicyView | None:
    """The policy that claims an unclaimed ``resource``: PropagationPolicies first, then cluster ones."""
    live = [policy for policy in policies if not policy.deleting]
    if resource.namespace:
        local = [p for p in live if p.kind == POLICY and p.namespace == resource.namespace]
        found = highest_priority_policy(local, resource)
        if found is not None:
            return found
    return highest_priority_policy([p for p in live if p.kind == CLUSTER_POLICY], resource)


@dataclass(frozen=True, slots=True)
class Claim:
    """Which policy a template is claimed by, read from its claim annotations and labels."""

    kind: str
    namespace: str
    name: str


def claimed_policy(resource: ResourceView) -> Claim | None:
    """The policy claiming ``resource``; the PropagationPolicy claim is checked first."""
    notes, labels = resource.annotations, resource.labels
    namespace, name = notes.get(_PP_NAMESPACE) or "", notes.get(_PP_NAME) or ""
    if namespace and name and labels.get(_PP_ID):
        return Claim(POLICY, namespace, name)
    name = notes.get(_CPP_NAME) or ""
    if name and labels.get(_CPP_ID):
        return Claim(CLUSTER_POLICY, "", name)
    return None


def preempts(preemptor: PolicyView, claimed: PolicyView | None, gate_enabled: bool) -> bool:
    """Whether ``preemptor`` (with ``preemption: Always``) takes a template over from ``claimed``.

    A PropagationPolicy takes over from a PropagationPolicy of strictly lower explicit priority and
    from any ClusterPropagationPolicy; a ClusterPropagationPolicy only from a ClusterPropagationPolicy
    of strictly lower priority. A policy never preempts itself; nothing happens with the gate off.
    """
    if not gate_enabled or preemptor.preemption != "Always" or claimed is None:
        return False
    if (claimed.kind, claimed.namespace, claimed.name) == (
        preemptor.kind,
        preemptor.namespace,
        preemptor.name,
    ):
        return False
    if preemptor.kind == POLICY and claimed.kind == CLUSTER_POLICY:
        return True
    if preemptor.kind != claimed.kind:
        return False
    return preemptor.explicit_priority > claimed.explicit_priority


def deprioritized_requeue(
    old_priority: int, new_priority: int, candidates: Iterable[PolicyView]
) -> list[PolicyView]:
    """Policies to re-queue when a policy's priority drops from ``old_priority`` to ``new_priority``.

    Those with an explicit priority strictly between the two and ``preemption: Always``, highest first.
    """
    chosen = [
        policy
        for policy in candidates
        if policy.priority is not None
        and policy.preemption == "Always"
        and new_priority < policy.priority < old_priority
    ]
    return sorted(chosen, key=lambda policy: -policy.explicit_priority)
