"""Cluster resource models: virtual nodes per grade and first-fit packing of replica sets (spec §6.3).

A cluster's ``spec.resourceModels`` describe node grades by resource ranges and
``status.resourceSummary.allocatableModelings`` count the nodes of each grade. Karmada estimates with one
virtual node per counted node whose capacity is the grade's **minimum** of each resource plus 110 pods,
then packs whole replica sets onto those nodes first-fit.

Amounts are integers as in Karmada's ``util.Resource``: cpu in millicores, everything else in whole
units (both rounded up); names other than cpu, memory, ephemeral-storage, pods and scalar resource names
are dropped. Every replica needs exactly one pod.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kpl.engine.kube_resources import is_scalar_resource_name
from kpl.engine.quantity import Quantity, QuantityError

__all__ = [
    "MAX_PODS_PER_NODE",
    "ModelError",
    "NodeGroup",
    "SetComponent",
    "build_model_nodes",
    "parse_resource_list",
    "resource_vector",
    "simulate_sets",
]

MAX_PODS_PER_NODE = 110
_CPU, _MEMORY, _EPHEMERAL, _PODS = "cpu", "memory", "ephemeral-storage", "pods"
_UNIT_NAMES = frozenset({_MEMORY, _EPHEMERAL, _PODS})


class ModelError(ValueError):
    """Resource models cannot be used for this cluster (the caller falls back to the summary)."""


def parse_resource_list(resources: Mapping[str, Any] | None) -> dict[str, Quantity]:
    """A ResourceList mapping (name to quantity text or number) as quantities.

    Raises :class:`QuantityError` naming the resource when a value is not a quantity.
    """
    parsed: dict[str, Quantity] = {}
    for name, value in (resources or {}).items():
        try:
            parsed[str(name)] = Quantity.from_json(value)
        except QuantityError as error:
            raise QuantityError(f"resource `{name}`: {error}") from None
    return parsed


def resource_vector(resources: Mapping[str, Quantity]) -> dict[str, int]:
    """Karmada's ``util.NewResource``: cpu in millis, other kept names in units, others dropped."""
    vector: dict[str, int] = {}
    for name, quantity in resources.items():
        if name == _CPU:
            vector[name] = vector.get(name, 0) + quantity.milli_value()
        elif name in _UNIT_NAMES or is_scalar_resource_name(name):
            vector[name] = vector.get(name, 0) + quantity.value()
    return vector


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """``count`` identical virtual nodes of one grade with integer ``capacity``."""

    grade: int
    count: int
    capacity: Mapping[str, int]


def _grade_capacities(models: Iterable[Mapping[str, Any]]) -> dict[int, dict[str, int]]:
    capacities: dict[int, dict[str, int]] = {}
    for model in models:
        minimums: dict[str, Quantity] = {}
        for entry in model.get("ranges") or ():
            minimums.update(parse_resource_list({str(entry.get("name")): entry.get("min") or "0"}))
        capacity = resource_vector({name: q for name, q in minimums.items() if name != _PODS})
        capacity[_PODS] = MAX_PODS_PER_NODE
        capacities[int(model.get("grade") or 0)] = capacity
    return capacities


def build_model_nodes(
    models: Sequence[Mapping[str, Any]] | None, modelings: Sequence[Mapping[str, Any]] | None
) -> tuple[NodeGroup, ...]:
    """The virtual nodes of a cluster, grade by grade in ascending order.

    Raises :class:`ModelError` when no models are defined or a count is negative. A grade that has a
    model but no count (or a zero count) yields no nodes.
    """
    if not models:
        raise ModelError("no resource models defined")
    capacities = _grade_capacities(models)
    counts: dict[int, int] = {}
    for modeling in modelings or ():
        grade, count = int(modeling.get("grade") or 0), int(modeling.get("count") or 0)
        if count < 0:
            raise ModelError(f"negative node count for grade {grade}")
        counts[grade] = counts.get(grade, 0) + count
    return tuple(
        NodeGroup(grade, counts[grade], capacities[grade])
        for grade in sorted(capacities)
        if counts.get(grade, 0) > 0
    )


@dataclass(frozen=True, slots=True)
class SetComponent:
    """One component of a replica set: ``replicas`` replicas, each needing ``per_replica`` (pods = 1)."""

    replicas: int
    per_replica: Mapping[str, int]

    @classmethod
    def from_requests(cls, replicas: int, requests: Mapping[str, Quantity] | None) -> SetComponent:
        vector = resource_vector(requests or {})
        vector[_PODS] = 1
        return cls(replicas, {name: amount for name, amount in vector.items() if amount > 0})


def _fit(node: Mapping[str, int], need: Mapping[str, int]) -> int:
    """How many replicas of ``need`` fit on ``node`` (Karmada's ``MaxDivided``, capped by free pods)."""
    fit = node.get(_PODS, 0)
    for name, amount in need.items():
        if name != _PODS:
            fit = min(fit, node.get(name, 0) // amount)
    return max(fit, 0)


def _take(node: dict[str, int], need: Mapping[str, int], replicas: int) -> None:
    for name, amount in need.items():
        if name in node or name in (_CPU, _MEMORY, _EPHEMERAL, _PODS):
            node[name] = max(node.get(name, 0) - amount * replicas, 0)


class _Packer:
    """First-fit placement state over the expanded virtual nodes.

    ``starts`` remembers, per component, the first node that may still fit it: capacity only shrinks,
    so a node that cannot take one replica of a shape never can again.
    """

    __slots__ = ("nodes", "starts")

    def __init__(self, groups: Sequence[NodeGroup]) -> None:
        self.nodes = [dict(group.capacity) for group in groups for _ in range(group.count)]
        self.starts: dict[int, int] = {}

    def place(self, component: SetComponent, key: int) -> bool:
        remaining = component.replicas
        if remaining <= 0:
            return True
        index = self.starts.get(key, 0)
        for position in range(index, len(self.nodes)):
            node = self.nodes[position]
            fit = _fit(node, component.per_replica)
            if fit == 0:
                index += position == index
                continue
            placed = min(fit, remaining)
            _take(node, component.per_replica, placed)
            remaining -= placed
            if remaining == 0:
                break
        self.starts[key] = index
        return remaining == 0

    def place_set(self, components: Sequence[SetComponent]) -> bool:
        return all(self.place(component, key) for key, component in enumerate(components))


def simulate_sets(
    groups: Sequence[NodeGroup],
    components: Sequence[SetComponent],
    upper_bound: int,
    assumed: Sequence[Sequence[SetComponent]] = (),
) -> int:
    """Complete sets of ``components`` that fit first-fit on the nodes, at most ``upper_bound``.

    ``assumed`` sets (in-flight workloads) are placed first, one set each, keeping whatever they
    consumed even when they do not fit completely. A set that cannot be completed ends the count.
    Components with no replicas always fit (Karmada's validation keeps replicas non-negative).
    """
    active = [component for component in components if component.replicas > 0]
    if not active or upper_bound <= 0:
        return max(upper_bound, 0)
    if len(active) == 1 and not any(assumed):
        # One shape: first-fit fills nodes in order, so the sets are the total fit divided by the set size.
        total = sum(group.count * _fit(group.capacity, active[0].per_replica) for group in groups)
        return min(upper_bound, total // active[0].replicas)
    packer = _Packer(groups)
    for assumed_set in assumed:
        packer.place_set(assumed_set)
        packer.starts.clear()
    if len(active) == 1:
        total = sum(_fit(node, active[0].per_replica) for node in packer.nodes)
        return min(upper_bound, total // active[0].replicas)
    sets = 0
    while sets < upper_bound and packer.place_set(active):
        sets += 1
    return sets
