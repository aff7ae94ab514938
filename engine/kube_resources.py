"""Integer resource totals of a pod, as Karmada's ``util.Resource`` computes them.

Every quantity becomes an integer as it is added: cpu in millicores (``milli_value``), everything else in
whole units (``value``), both rounded up, so the rounding happens per container. Only cpu, memory,
ephemeral-storage, pods and *scalar* resource names count; other names are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from kpl.engine.quantity import Format, Quantity
from kpl.engine.scheduler.affinity import is_label_key

__all__ = [
    "CPU",
    "EPHEMERAL_STORAGE",
    "MEMORY",
    "PODS",
    "PodResources",
    "ResourceTotals",
    "is_extended_resource_name",
    "is_hugepage_resource_name",
    "is_scalar_resource_name",
    "pod_spec_totals",
]

CPU: Final = "cpu"
MEMORY: Final = "memory"
EPHEMERAL_STORAGE: Final = "ephemeral-storage"
PODS: Final = "pods"

_NATIVE_DOMAIN: Final = "kubernetes.io/"
_REQUESTS_PREFIX: Final = "requests."
_HUGEPAGES_PREFIX: Final = "hugepages-"
_ATTACHABLE_VOLUMES_PREFIX: Final = "attachable-volumes-"


def _is_native_resource_name(name: str) -> bool:
    return "/" not in name or _NATIVE_DOMAIN in name


def is_extended_resource_name(name: str) -> bool:
    """A name outside the ``kubernetes.io/`` domain that is a qualified name once prefixed ``requests.``."""
    if _is_native_resource_name(name) or name.startswith(_REQUESTS_PREFIX):
        return False
    return is_label_key(_REQUESTS_PREFIX + name)  # Kubernetes IsQualifiedName


def is_hugepage_resource_name(name: str) -> bool:
    return name.startswith(_HUGEPAGES_PREFIX)


def is_scalar_resource_name(name: str) -> bool:
    """Extended, hugepages, ``*kubernetes.io/*`` and attachable-volume names (Karmada's scalar names)."""
    return (
        is_extended_resource_name(name)
        or is_hugepage_resource_name(name)
        or _NATIVE_DOMAIN in name
        or name.startswith(_ATTACHABLE_VOLUMES_PREFIX)
    )


@dataclass(frozen=True, slots=True)
class PodResources:
    """Integer totals: millicores, bytes, bytes, pod count and scalar resources in whole units."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    allowed_pod_number: int = 0
    scalar_resources: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The Go field names Karmada's tests use (``milliCPU``, ``memory``, ...)."""
        return {
            "milliCPU": self.milli_cpu,
            "memory": self.memory,
            "ephemeralStorage": self.ephemeral_storage,
            "allowedPodNumber": self.allowed_pod_number,
            "scalarResources": dict(self.scalar_resources),
        }

    def resource_list(self) -> dict[str, Quantity] | None:
        """Positive totals as quantities (``ResourceList``): None when there are none.

        cpu is a milli DecimalSI quantity, memory, ephemeral-storage and hugepages are BinarySI
        byte counts, pods and other scalar resources are DecimalSI.
        """
        result: dict[str, Quantity] = {}
        if self.milli_cpu > 0:
            result[CPU] = Quantity.from_milli(self.milli_cpu, Format.DECIMAL_SI)
        if self.memory > 0:
            result[MEMORY] = Quantity.from_int(self.memory, Format.BINARY_SI)
        if self.ephemeral_storage > 0:
            result[EPHEMERAL_STORAGE] = Quantity.from_int(self.ephemeral_storage, Format.BINARY_SI)
        if self.allowed_pod_number > 0:
            result[PODS] = Quantity.from_int(self.allowed_pod_number, Format.DECIMAL_SI)
        for name, amount in sorted(self.scalar_resources.items()):
            if amount > 0:
                fmt = Format.BINARY_SI if is_hugepage_resource_name(name) else Format.DECIMAL_SI
                result[name] = Quantity.from_int(amount, fmt)
        return result or None


_FIELDS: Final = {CPU: "milli_cpu", MEMORY: "memory", EPHEMERAL_STORAGE: "ephemeral_storage",
                  PODS: "allowed_pod_number"}


class ResourceTotals:
    """A mutable accumulator used while summing one pod; :meth:`freeze` gives :class:`PodResources`."""

    __slots__ = ("_scalars", "_totals")

    def __init__(self) -> None:
        self._totals: dict[str, int] = dict.fromkeys(_FIELDS.values(), 0)
        self._scalars: dict[str, int] = {}

    @staticmethod
    def _units(name: str, quantity: Quantity) -> int:
        return quantity.milli_value() if name == CPU else quantity.value()

    def add(self, resources: Mapping[str, Quantity]) -> None:
        """Add every counted resource (Karmada's ``Resource.Add``)."""
        for name, quantity in resources.items():
            if name in _FIELDS:
                self._totals[_FIELDS[name]] += self._units(name, quantity)
            elif is_scalar_resource_name(name):
                self._scalars[name] = self._scalars.get(name, 0) + quantity.value()

    def raise_to(self, resources: Mapping[str, Quantity]) -> None:
        """Raise each counted resource to at least the given amount (``Resource.SetMaxResource``)."""
        for name, quantity in resources.items():
            amount = self._units(name, quantity)
            if name in _FIELDS:
                self._totals[_FIELDS[name]] = max(self._totals[_FIELDS[name]], amount)
            elif is_scalar_resource_name(name) and amount > self._scalars.get(name, 0):
                self._scalars[name] = amount

    def freeze(self) -> PodResources:
        totals = self._totals
        return PodResources(totals["milli_cpu"], totals["memory"], totals["ephemeral_storage"],
                            totals["allowed_pod_number"], dict(self._scalars))


def _requests_with_limits(requests: Mapping[str, Quantity] | None,
                          limits: Mapping[str, Quantity] | None) -> Mapping[str, Quantity]:
    """A container's requests, where a resource only limited takes its limit."""
    merged = dict(requests or {})
    for name, quantity in (limits or {}).items():
        merged.setdefault(name, quantity)
    return merged


ContainerResources = tuple[Mapping[str, Quantity] | None, Mapping[str, Quantity] | None]


def pod_spec_totals(containers: Iterable[ContainerResources], init_containers: Iterable[ContainerResources],
                    overhead: Mapping[str, Quantity] | None) -> PodResources:
    """Karmada's ``AddPodTemplateRequest`` over (requests, limits) pairs.

    Per resource: the sum over app containers, raised to the largest single init container, plus the
    pod overhead. Sidecar init containers get no special treatment; ephemeral containers are ignored.
    """
    totals = ResourceTotals()
    for requests, limits in containers:
        totals.add(_requests_with_limits(requests, limits))
    for requests, limits in init_containers:
        totals.raise_to(_requests_with_limits(requests, limits))
    if overhead is not None:
        totals.add(overhead)
    return totals.freeze()
