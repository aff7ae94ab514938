"""Small value types shared by cluster selection and replica division.

Inputs stay Karmada API shapes (camelCase mappings); these types hold the few facts the division and
selection steps read, digested once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BindingSpecView",
    "ClusterDetail",
    "TargetCluster",
    "TargetComponent",
    "is_multi_template_applicable",
    "sum_of_replicas",
    "targets_from_api",
    "targets_to_api",
]


@dataclass(frozen=True, slots=True)
class TargetComponent:
    """Per-component replicas recorded in a target cluster entry (multi-template workloads)."""

    name: str
    replicas: int

    def to_api(self) -> dict[str, Any]:
        return {"name": self.name, "replicas": self.replicas}


@dataclass(frozen=True, slots=True)
class TargetCluster:
    """One entry of ``spec.clusters``: a cluster name and the replicas it runs."""

    name: str
    replicas: int = 0
    components: tuple[TargetComponent, ...] | None = None

    @classmethod
    def from_api(cls, entry: Mapping[str, Any]) -> TargetCluster:
        components = entry.get("components")
        return cls(
            name=str(entry["name"]),
            replicas=int(entry.get("replicas") or 0),
            components=None if components is None else tuple(
                TargetComponent(str(c["name"]), int(c.get("replicas") or 0)) for c in components
            ),
        )

    def to_api(self) -> dict[str, Any]:
        """The API mapping; ``replicas`` is always present (0 for entries without replicas)."""
        result: dict[str, Any] = {"name": self.name, "replicas": self.replicas}
        if self.components is not None:
            result["components"] = [component.to_api() for component in self.components]
        return result


def targets_from_api(entries: Iterable[Mapping[str, Any]] | None) -> tuple[TargetCluster, ...]:
    return tuple(TargetCluster.from_api(entry) for entry in entries or ())


def targets_to_api(targets: Iterable[TargetCluster]) -> list[dict[str, Any]]:
    return [target.to_api() for target in targets]


def sum_of_replicas(targets: Iterable[TargetCluster]) -> int:
    return sum(target.replicas for target in targets)


@dataclass(frozen=True, slots=True)
class ClusterDetail:
    """A candidate cluster as selection and division see it.

    ``allocatable_replicas`` is the estimator's answer (§6); ``available_replicas`` adds the replicas the
    cluster already holds in the previous result; ``overflow_order`` ranks the cluster's affinity tier
    (0 primary, ``i + 1`` for the i-th overflow affinity, 1000 for none). ``cluster`` is the Cluster object.
    """

    name: str
    score: int = 0
    allocatable_replicas: int = 0
    available_replicas: int = 0
    overflow_order: int = 0
    cluster: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class BindingSpecView:
    """The parts of a ResourceBinding spec that scheduling reads.

    ``components`` and ``replica_requirements`` stay API mappings (the estimator digests them);
    ``previous`` is the current ``spec.clusters``.
    """

    replicas: int = 0
    uid: str = ""
    previous: tuple[TargetCluster, ...] = ()
    components: tuple[Mapping[str, Any], ...] = ()
    replica_requirements: Mapping[str, Any] | None = None
    reschedule_triggered_at: Any = None
    namespace: str = ""
    placement: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> BindingSpecView:
        """Read a ResourceBinding ``spec`` mapping."""
        resource = spec.get("resource") or {}
        return cls(
            replicas=int(spec.get("replicas") or 0),
            uid=str(resource.get("uid") or ""),
            previous=targets_from_api(spec.get("clusters")),
            components=tuple(spec.get("components") or ()),
            replica_requirements=spec.get("replicaRequirements"),
            reschedule_triggered_at=spec.get("rescheduleTriggeredAt"),
            namespace=str(resource.get("namespace") or ""),
            placement=spec.get("placement"),
        )

    @property
    def is_single_template_workload(self) -> bool:
        """Whether replica assignment applies (``replicas > 0`` or requirements, at most one component)."""
        return (self.replicas > 0 or self.replica_requirements is not None) and len(self.components) <= 1

    def previous_names(self) -> Sequence[str]:
        return [target.name for target in self.previous]


def is_multi_template_applicable(
    components: Sequence[Mapping[str, Any]], placement: Mapping[str, Any] | None
) -> bool:
    """Whether a multi-template workload is scheduled as a whole set (spec §5.8).

    True when there is at least one component and a ``cluster`` spread constraint pins exactly one
    cluster (``minGroups == maxGroups == 1``).
    """
    if not components or placement is None:
        return False
    return any(
        constraint.get("spreadByField") == "cluster"
        and constraint.get("minGroups") == 1
        and constraint.get("maxGroups") == 1
        for constraint in placement.get("spreadConstraints") or ()
    )
