"""Which clusters a ClusterAffinity term matches: label selectors, field selectors and zones.

A :class:`ClusterView` holds the facts of one cluster that filters and scores read, built once per
cluster from either a Karmada ``Cluster`` object (``metadata``/``spec``/``status``) or a flat mapping
(``name``, ``labels``, ``provider``, ``region``, ``zones``, ``taints``, ``apiEnablements``,
``conditions``) as the conformance vectors spell it.

Selectors follow Kubernetes: :func:`compile_label_selector` turns a ``LabelSelector`` into a
:class:`Selector` or ``None`` when it is invalid (an invalid selector matches nothing, it is not an
error). :func:`compile_affinity` does the same for a whole ClusterAffinity so that one placement term
is compiled once and matched against many clusters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ClusterView",
    "CompiledAffinity",
    "Requirement",
    "Selector",
    "Taint",
    "cluster_matches",
    "compile_affinity",
    "compile_field_selector",
    "compile_label_selector",
    "is_label_key",
    "is_label_value",
    "match_zones",
]

_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DECIMAL = re.compile(r"[+-]?[0-9]+")
_INT64 = 1 << 63
_ZONE_KEY = "zone"


@dataclass(frozen=True, slots=True)
class Taint:
    """A cluster taint (``spec.taints[]``)."""

    key: str
    value: str
    effect: str

    def __str__(self) -> str:
        if not self.value:
            return f"{self.key}:{self.effect}"
        return f"{self.key}={self.value}:{self.effect}"


@dataclass(frozen=True, slots=True)
class ClusterView:
    """The facts of one cluster the scheduler reads, extracted once."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    provider: str = ""
    region: str = ""
    zones: tuple[str, ...] = ()
    taints: tuple[Taint, ...] = ()
    api_enablements: frozenset[tuple[str, str]] = frozenset()
    complete_api_enablements: bool = False
    deleting: bool = False
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> ClusterView:
        """Build a view from a Cluster object or a flat vector mapping."""
        if "metadata" in obj or "spec" in obj or "status" in obj:
            meta = obj.get("metadata") or {}
            spec = obj.get("spec") or {}
            status = obj.get("status") or {}
            name, labels, deleting = (
                meta.get("name") or "",
                meta.get("labels"),
                bool(meta.get("deletionTimestamp")),
            )
        else:
            spec = status = obj
            name, labels, deleting = (
                obj.get("name") or "",
                obj.get("labels"),
                bool(obj.get("deletionTimestamp")),
            )
        return cls(
            name=name,
            labels={str(k): v for k, v in (labels or {}).items()},
            provider=spec.get("provider") or "",
            region=spec.get("region") or "",
            zones=tuple(spec.get("zones") or ()),
            taints=tuple(_taint(t) for t in spec.get("taints") or ()),
            api_enablements=_api_enablements(status.get("apiEnablements") or ()),
            complete_api_enablements=_condition_true(
                status.get("conditions") or (), "CompleteAPIEnablements"
            ),
            deleting=deleting,
            source=obj,
        )

    def fields(self) -> dict[str, str]:
        """The field set a non-zone field selector expression is matched against."""
        found: dict[str, str] = {}
        if self.provider:
            found["provider"] = self.provider
        if self.region:
            found["region"] = self.region
        return found


def _taint(raw: Mapping[str, Any]) -> Taint:
    return Taint(key=raw.get("key") or "", value=raw.get("value") or "", effect=raw.get("effect") or "")


def _api_enablements(entries: Iterable[Mapping[str, Any]]) -> frozenset[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for entry in entries:
        group_version = entry.get("groupVersion") or ""
        for resource in entry.get("resources") or ():
            found.add((group_version, resource.get("kind") or ""))
    return frozenset(found)


def _condition_true(conditions: Iterable[Mapping[str, Any]], kind: str) -> bool:
    for condition in conditions:
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


def is_label_key(key: str) -> bool:
    """Whether ``key`` is a valid label key: an optional DNS-subdomain prefix and ``/``, then a name."""
    parts = key.split("/")
    if len(parts) > 2:
        return False
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix):
            return False
    name = parts[-1]
    return 0 < len(name) <= 63 and _NAME.fullmatch(name) is not None


def is_label_value(value: str) -> bool:
    """Whether ``value`` is a valid label value (empty, or a name of at most 63 characters)."""
    return value == "" or (len(value) <= 63 and _NAME.fullmatch(value) is not None)


def _parse_int64(text: str) -> int | None:
    if not _DECIMAL.fullmatch(text):
        return None
    number = int(text)
    return number if -_INT64 <= number < _INT64 else None


@dataclass(frozen=True, slots=True)
class Requirement:
    """One selector requirement: ``key`` ``operator`` ``values``."""

    key: str
    operator: str
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator in ("In", "="):
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator in ("Gt", "Lt") and present:
            return self._compare(labels[self.key])
        return False

    def _compare(self, value: str) -> bool:
        have, want = _parse_int64(value), _parse_int64(self.values[0])
        if have is None or want is None:
            return False
        return have > want if self.operator == "Gt" else have < want


@dataclass(frozen=True, slots=True)
class Selector:
    """A conjunction of requirements; no requirements matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)


def _requirement(key: Any, operator: str, values: Any) -> Requirement | None:
    """Build a validated requirement, or ``None`` when Kubernetes would reject it."""
    if not isinstance(key, str) or not is_label_key(key):
        return None
    if values is None:
        values = []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None
    if operator in ("In", "NotIn") and not values:
        return None
    if operator == "=" and len(values) != 1:
        return None
    if operator in ("Exists", "DoesNotExist") and values:
        return None
    if operator in ("Gt", "Lt") and (len(values) != 1 or _parse_int64(values[0]) is None):
        return None
    if not all(is_label_value(v) for v in values):
        return None
    return Requirement(key, operator, tuple(values))


def compile_label_selector(selector: Mapping[str, Any]) -> Selector | None:
    """A ``LabelSelector`` (``matchLabels`` and ``matchExpressions``) as a selector, ``None`` if invalid."""
    requirements: list[Requirement] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        requirement = _requirement(key, "=", ["" if value is None else value])
        if requirement is None:
            return None
        requirements.append(requirement)
    for expression in selector.get("matchExpressions") or ():
        operator = expression.get("operator")
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return None
        requirement = _requirement(expression.get("key"), operator, expression.get("values"))
        if requirement is None:
            return None
        requirements.append(requirement)
    return Selector(tuple(requirements))


def compile_field_selector(expressions: Sequence[Mapping[str, Any]]) -> Selector | None:
    """Non-zone field expressions as a node-selector-style selector, ``None`` if any is invalid."""
    requirements: list[Requirement] = []
    for expression in expressions:
        operator = expression.get("operator")
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"):
            return None
        requirement = _requirement(expression.get("key"), operator, expression.get("values"))
        if requirement is None:
            return None
        requirements.append(requirement)
    return Selector(tuple(requirements))


def match_zones(requirement: Mapping[str, Any], zones: Sequence[str] | None) -> bool:
    """Whether a ``zone`` field expression matches a cluster's zone list."""
    operator = requirement.get("operator")
    values = requirement.get("values") or ()
    zones = zones or ()
    if operator == "In":
        return any(zone in values for zone in zones)
    if operator == "NotIn":
        return not any(zone in values for zone in zones)
    if operator == "Exists":
        return len(zones) > 0
    if operator == "DoesNotExist":
        return len(zones) == 0
    return False


@dataclass(frozen=True, slots=True)
class CompiledAffinity:
    """A ClusterAffinity compiled once; ``valid`` is false when a selector can never match."""

    exclude: frozenset[str] = frozenset()
    cluster_names: frozenset[str] = frozenset()
    labels: Selector | None = None
    zone_expressions: tuple[Mapping[str, Any], ...] = ()
    fields: Selector | None = None
    valid: bool = True

    def matches(self, cluster: ClusterView) -> bool:
        if cluster.name in self.exclude or not self.valid:
            return False
        if self.labels is not None and not self.labels.matches(cluster.labels):
            return False
        if not all(match_zones(expression, cluster.zones) for expression in self.zone_expressions):
            return False
        if self.fields is not None and not self.fields.matches(cluster.fields()):
            return False
        return not self.cluster_names or cluster.name in self.cluster_names


def compile_affinity(affinity: Mapping[str, Any]) -> CompiledAffinity:
    """Compile a ClusterAffinity (``exclude``, ``labelSelector``, ``fieldSelector``, ``clusterNames``)."""
    valid = True
    labels: Selector | None = None
    if affinity.get("labelSelector") is not None:
        labels = compile_label_selector(affinity["labelSelector"])
        valid = labels is not None
    zones: tuple[Mapping[str, Any], ...] = ()
    fields: Selector | None = None
    field_selector = affinity.get("fieldSelector")
    if field_selector is not None:
        expressions = field_selector.get("matchExpressions") or ()
        zones = tuple(e for e in expressions if e.get("key") == _ZONE_KEY)
        others = [e for e in expressions if e.get("key") != _ZONE_KEY]
        if others:
            fields = compile_field_selector(others)
            valid = valid and fields is not None
    return CompiledAffinity(
        exclude=frozenset(affinity.get("exclude") or ()),
        cluster_names=frozenset(affinity.get("clusterNames") or ()),
        labels=labels,
        zone_expressions=zones,
        fields=fields,
        valid=valid,
    )


def cluster_matches(cluster: ClusterView | Mapping[str, Any], affinity: Mapping[str, Any]) -> bool:
    """Karmada's ClusterMatches: exclusion, label selector, field selector and names, all ANDed."""
    view = cluster if isinstance(cluster, ClusterView) else ClusterView.from_object(cluster)
    return compile_affinity(affinity).matches(view)
