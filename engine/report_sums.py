"""Cluster sections of the placement report kept up to date placement by placement.

:func:`kpl.engine.report.cluster_report` sums what the bindings placed on a cluster put there, in report
order. :class:`ClusterSums` holds the same sums for one cluster as counts that a placement can be added to
or taken out of, so a re-plan that moves a few bindings touches only their clusters. The totals equal
:func:`~kpl.engine.report.cluster_report`'s: per resource and distinct request value, the pods requesting it
are counted, and the total takes the format every present value shares. Where the order of the placements
could show (values written in more than one format, or a negative request) the cluster is summed again in
report order by :func:`~kpl.engine.report.cluster_report` itself.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kpl.engine.quantity import Format, Quantity
from kpl.engine.report import REQUEST_NAMES, ClusterReport, cluster_report, free_of, quantity_of, sum_total
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.types import TargetCluster

__all__ = [
    "ClusterSums", "ClusterTotals", "Placement", "RequestTerms", "placement_of", "placements_of", "request_terms",
]

_Key = tuple[type, Any]
RequestTerms = tuple[tuple[str, _Key, Quantity], ...]
"""A requirement's cpu/memory requests: (resource name, the JSON value's key, its quantity)."""


@dataclass(frozen=True, slots=True)
class Placement:
    """What one ``spec.clusters`` entry puts on its cluster: the binding's label, its pods, the requests per
    group of pods, and the entry as :func:`~kpl.engine.report.cluster_report` takes it."""

    label: str
    pods: int
    parts: tuple[tuple[int, RequestTerms], ...]
    source: tuple[str, Mapping[str, Any], TargetCluster]


def request_terms(requirements: Any, parsed: dict[_Key, Quantity | None]) -> RequestTerms:
    requests = requirements.get("resourceRequest") if isinstance(requirements, Mapping) else None
    if not isinstance(requests, Mapping):
        return ()
    terms: list[tuple[str, _Key, Quantity]] = []
    for name in REQUEST_NAMES:
        value = requests.get(name)
        if not isinstance(value, str | int | float):
            continue
        found = quantity_of(value, parsed)
        if found is not None:
            terms.append((name, (type(value), value), found))
    return tuple(terms)


def placements_of(label: str, spec: Mapping[str, Any], targets: Iterable[TargetCluster],
                  parsed: dict[_Key, Quantity | None]) -> dict[str, tuple[Placement, ...]]:
    """Per cluster, the placements of ``targets`` (entries of a binding with ``spec``), requests parsed once."""
    found: dict[str, tuple[Placement, ...]] = {}
    components = spec.get("components") or []
    if not components:
        terms = request_terms(spec.get("replicaRequirements"), parsed)
        for target in targets:
            placement = Placement(label, target.replicas, ((target.replicas, terms),), (label, spec, target))
            before = found.get(target.name)
            found[target.name] = (placement,) if before is None else (*before, placement)
        return found
    groups = [(str(c.get("name") or ""), int(c.get("replicas") or 0),
               request_terms(c.get("replicaRequirements"), parsed)) for c in components]
    for target in targets:
        counts = None if target.components is None else {c.name: c.replicas for c in target.components}
        parts = tuple((replicas if counts is None else counts.get(name, 0), terms) for name, replicas, terms in groups)
        placement = Placement(label, sum(count for count, _ in parts), parts, (label, spec, target))
        found[target.name] = (*found.get(target.name, ()), placement)
    return found


def placement_of(label: str, spec: Mapping[str, Any], target: TargetCluster,
                 parsed: dict[_Key, Quantity | None]) -> Placement:
    """The placement of ``target`` (an entry of a binding with ``spec``), with its requests parsed."""
    return placements_of(label, spec, (target,), parsed)[target.name][0]


class ClusterSums:
    """One cluster's placements (per binding, with the binding's report order key) and their sums.

    ``values`` holds per resource and request value ``[quantity, pods, terms]`` (terms: how many placed
    groups of pods request it, zero pods included, as the ordered sum meets them); ``formats`` how many
    present values are written in each format; ``nonzero`` how many terms add something; ``negative`` how
    many present values are negative."""

    __slots__ = ("formats", "labels", "members", "negative", "nonzero", "replicas", "values")

    def __init__(self) -> None:
        self.members: dict[str, tuple[tuple[str, ...], tuple[Placement, ...]]] = {}
        self.labels: list[str] = []
        self.replicas = 0
        self.values: dict[str, dict[_Key, list[Any]]] = {}
        self.formats: dict[str, dict[Format, int]] = {}
        self.nonzero: dict[str, int] = {}
        self.negative = 0

    def put(self, member: str, order: tuple[str, ...], placements: tuple[Placement, ...]) -> None:
        """Set (or, with no placements, remove) what ``member`` places here."""
        old = self.members.pop(member, None)
        if old is not None:
            for placement in old[1]:
                self._count(placement, -1)
        if placements:
            self.members[member] = (order, placements)
            for placement in placements:
                self._count(placement, 1)

    def _count(self, placement: Placement, sign: int) -> None:
        self.replicas += sign * placement.pods
        labels = self.labels
        if sign > 0:
            if not labels or labels[-1] <= placement.label:
                labels.append(placement.label)
            else:
                bisect.insort(labels, placement.label)
        else:
            del labels[bisect.bisect_left(labels, placement.label)]
        values, nonzero = self.values, self.nonzero
        for count, terms in placement.parts:
            for name, key, quantity in terms:
                per = values.get(name)
                entry = per.get(key) if per is not None else None
                if entry is None:
                    self._term(name, key, quantity, count, sign)
                    continue
                entry[1] += sign * count
                entry[2] += sign
                if count and quantity.mantissa:
                    nonzero[name] += sign
                if not entry[2]:
                    self._drop(name, key, quantity)

    def _term(self, name: str, key: _Key, quantity: Quantity, count: int, sign: int) -> None:
        per = self.values.get(name)
        if per is None:
            per = self.values[name] = {}
            self.formats[name] = {}
            self.nonzero[name] = 0
        formats = self.formats[name]
        formats[quantity.format] = formats.get(quantity.format, 0) + 1
        self.negative += quantity.mantissa < 0
        per[key] = [quantity, sign * count, sign]
        if count and quantity.mantissa:
            self.nonzero[name] += sign

    def _drop(self, name: str, key: _Key, quantity: Quantity) -> None:
        per, formats = self.values[name], self.formats[name]
        del per[key]
        formats[quantity.format] -= 1
        if not formats[quantity.format]:
            del formats[quantity.format]
        self.negative -= quantity.mantissa < 0
        if not per:
            del self.values[name], self.formats[name], self.nonzero[name]

    def _ordered(self) -> list[tuple[str, Mapping[str, Any], TargetCluster]]:
        members = sorted(self.members.values(), key=lambda member: member[0])
        return [placement.source for _, placements in members for placement in placements]

    def report(self, capacity: ClusterCapacity) -> ClusterReport:
        """The cluster's report, as :func:`~kpl.engine.report.cluster_report` gives it for the placements in
        report order."""
        if self.negative or any(len(formats) > 1 for formats in self.formats.values()):
            return cluster_report(capacity, self._ordered())
        requests: dict[str, Quantity] = {}
        for name, per in self.values.items():
            entries = list(per.values())
            requests[name] = sum_total(entries, entries[0][0] if self.nonzero[name] else None)
        return ClusterReport(capacity.name, self.replicas, tuple(self.labels), requests, free_of(capacity))


class _Tally:
    """One cluster's placements met so far in a one-pass sum: labels, entries (for an exact re-sum), pods, and
    per distinct request terms the pods requesting them."""

    __slots__ = ("labels", "pods", "replicas", "sources", "unsure")

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.sources: list[tuple[str, Mapping[str, Any], TargetCluster]] = []
        self.replicas = 0
        self.pods: dict[int, list[Any]] = {}
        self.unsure = False

    def add(self, terms: RequestTerms, count: int) -> None:
        found = self.pods.get(id(terms))
        if found is None:
            self.pods[id(terms)] = [terms, count]
        else:
            found[1] += count


class ClusterTotals:
    """Every cluster's sums in one pass over the bindings in report order: what
    :func:`~kpl.engine.report.cluster_report` gives for each cluster's placements, with the requests parsed
    and looked at once per binding rather than per placement.

    Pods are counted per distinct request terms (equal terms are one object); the totals take the format every
    present value shares. A cluster with values in more than one format, a negative value or a negative pod
    count is summed again by :func:`~kpl.engine.report.cluster_report` over its entries in report order."""

    __slots__ = ("_interned", "_parsed", "clusters")

    def __init__(self, parsed: dict[_Key, Quantity | None]) -> None:
        self._parsed = parsed
        self._interned: dict[tuple[tuple[str, _Key], ...], RequestTerms] = {}
        self.clusters: dict[str, _Tally] = {}

    def _terms(self, requirements: Any) -> RequestTerms:
        terms = request_terms(requirements, self._parsed)
        return self._interned.setdefault(tuple((name, key) for name, key, _ in terms), terms)

    def add(self, label: str, spec: Mapping[str, Any], targets: Iterable[TargetCluster]) -> None:
        """The entries ``targets`` of a binding with ``spec``, after every binding before it in report order."""
        components = spec.get("components") or []
        if components:
            self._add_components(label, spec, components, targets)
            return
        terms = self._terms(spec.get("replicaRequirements"))
        clusters = self.clusters
        for target in targets:
            tally = clusters.get(target.name)
            if tally is None:
                tally = clusters[target.name] = _Tally()
            replicas = target.replicas
            tally.labels.append(label)
            tally.sources.append((label, spec, target))
            tally.replicas += replicas
            tally.add(terms, replicas)
            if replicas < 0:
                tally.unsure = True

    def _add_components(self, label: str, spec: Mapping[str, Any], components: Any,
                        targets: Iterable[TargetCluster]) -> None:
        groups = [(str(c.get("name") or ""), int(c.get("replicas") or 0), self._terms(c.get("replicaRequirements")))
                  for c in components]
        for target in targets:
            tally = self.clusters.get(target.name)
            if tally is None:
                tally = self.clusters[target.name] = _Tally()
            tally.labels.append(label)
            tally.sources.append((label, spec, target))
            counts = None if target.components is None else {c.name: c.replicas for c in target.components}
            for name, replicas, terms in groups:
                count = replicas if counts is None else counts.get(name, 0)
                tally.replicas += count
                tally.add(terms, count)
                tally.unsure = tally.unsure or count < 0

    def report(self, capacity: ClusterCapacity) -> ClusterReport:
        """The cluster's section, as :func:`~kpl.engine.report.cluster_report` gives it for its entries in
        report order."""
        tally = self.clusters.get(capacity.name)
        if tally is None:
            return cluster_report(capacity, ())
        values: dict[str, dict[_Key, list[Any]]] = {}
        for terms, pods in tally.pods.values():
            for name, key, quantity in terms:
                per = values.get(name)
                if per is None:
                    per = values[name] = {}
                entry = per.get(key)
                if entry is None:
                    per[key] = [quantity, pods]
                else:
                    entry[1] += pods
        requests = _exact_totals(values) if not tally.unsure else None
        if requests is None:
            return cluster_report(capacity, tally.sources)
        return ClusterReport(capacity.name, tally.replicas, tuple(sorted(tally.labels)), requests, free_of(capacity))


def _exact_totals(values: dict[str, dict[_Key, list[Any]]]) -> dict[str, Quantity] | None:
    """Per resource the total of ``quantity * pods`` over the present values, or None when the values are not
    all of one format or one is negative (then the order of the terms can show)."""
    requests: dict[str, Quantity] = {}
    for name, per in values.items():
        entries = list(per.values())
        if len({entry[0].format for entry in entries}) > 1 or any(entry[0].mantissa < 0 for entry in entries):
            return None
        nonzero = next((entry[0] for entry in entries if entry[1] and entry[0].mantissa), None)
        requests[name] = sum_total(entries, nonzero)
    return requests
