"""Cluster sections kept placement by placement (``ClusterSums``) equal a fresh ``cluster_report`` of the
placements in report order, whatever was added and taken out before."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.quantity import Quantity
from kpl.engine.report import ClusterReport, cluster_report
from kpl.engine.report_sums import ClusterSums, ClusterTotals, placement_of
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.types import TargetCluster, TargetComponent

QUANTITIES = ["0", "1", "500m", "250m", "2Gi", "512Mi", "1G", "1e3", "3", 2, 0.5, "1Ki", "0Mi", "bad", None]
SAME_FORMAT = ["0", "1", "500m", "250m", "3", "100m"]
NEGATIVE = ["-1", "-500m"]
CAPACITY = ClusterCapacity.from_summary("x", {"allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110"},
                                              "allocated": {"cpu": "4", "memory": "16Gi"}})


def _spec(cpu: Any, memory: Any, components: list[tuple[int, Any]] | None) -> dict[str, Any]:
    if components is None:
        return {"replicaRequirements": {"resourceRequest": {"cpu": cpu, "memory": memory}}}
    return {"components": [{"name": f"c{n}", "replicas": r, "replicaRequirements": {
        "resourceRequest": {"cpu": c, "memory": memory}}} for n, (r, c) in enumerate(components)]}


@st.composite
def edits(draw: Any, values: list[Any]) -> list[tuple[str, list[tuple[dict[str, Any], TargetCluster]]]]:
    """A sequence of (member, what it places now): a member placing nothing is taken out."""
    value = st.sampled_from(values)
    components = st.none() | st.lists(st.tuples(st.integers(0, 4), value), min_size=1, max_size=3)
    target = st.tuples(st.integers(0, 9), st.booleans())
    one = st.tuples(value, value, components, target)
    steps = draw(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "e"]), st.lists(one, max_size=2)),
                          min_size=1, max_size=12))
    found = []
    for member, entries in steps:
        placed = []
        for cpu, memory, comps, (replicas, recorded) in entries:
            spec = _spec(cpu, memory, comps)
            parts = (TargetComponent("c0", replicas),) if comps is not None and recorded else None
            placed.append((spec, TargetCluster("x", replicas, parts)))
        found.append((member, placed))
    return found


def _text(report: ClusterReport) -> tuple[Any, ...]:
    requests = {name: (str(q), q.amount, q.format) for name, q in report.requests.items()}
    return report.name, report.replicas, report.bindings, requests, report.free


def _replay(steps: list[tuple[str, list[tuple[dict[str, Any], TargetCluster]]]]) -> None:
    sums = ClusterSums()
    current: dict[str, list[tuple[str, dict[str, Any], TargetCluster]]] = {}
    parsed: dict[tuple[type, Any], Quantity | None] = {}
    for member, placed in steps:
        label = f"ns/{member}"
        sources = [(label, spec, target) for spec, target in placed]
        sums.put(member, (member,), tuple(placement_of(label, spec, target, parsed) for spec, target in placed))
        current[member] = sources
        ordered = [source for name in sorted(current) for source in current[name]]
        assert _text(sums.report(CAPACITY)) == _text(cluster_report(CAPACITY, ordered))


@settings(max_examples=80, deadline=None)
@given(edits(QUANTITIES + NEGATIVE))
def test_patched_sums_equal_a_fresh_sum_in_report_order(steps: Any) -> None:
    _replay(steps)


@settings(max_examples=40, deadline=None)
@given(edits(SAME_FORMAT))
def test_patched_sums_of_one_format_equal_a_fresh_sum(steps: Any) -> None:
    _replay(steps)


def test_taking_a_placement_out_takes_its_pods_labels_and_requests() -> None:
    parsed: dict[tuple[type, Any], Quantity | None] = {}
    sums = ClusterSums()
    big = placement_of("ns/a", _spec("2", "1Gi", None), TargetCluster("x", 3), parsed)
    small = placement_of("ns/b", _spec("500m", "512Mi", None), TargetCluster("x", 1), parsed)
    sums.put("a", ("a",), (big,))
    sums.put("b", ("b",), (small,))
    report = sums.report(CAPACITY)
    assert (report.replicas, report.bindings, str(report.requests["cpu"])) == (4, ("ns/a", "ns/b"), "6500m")
    sums.put("a", ("a",), ())
    report = sums.report(CAPACITY)
    assert (report.replicas, report.bindings, str(report.requests["cpu"])) == (1, ("ns/b",), "500m")
    assert str(report.requests["memory"]) == "512Mi"
    sums.put("b", ("b",), ())
    assert sums.report(CAPACITY).requests == {} and not sums.values


def test_mixed_formats_take_the_first_nonzero_term_in_report_order() -> None:
    parsed: dict[tuple[type, Any], Quantity | None] = {}
    sums = ClusterSums()
    sums.put("b", ("b",), (placement_of("ns/b", _spec("1", "1Gi", None), TargetCluster("x", 1), parsed),))
    sums.put("a", ("a",), (placement_of("ns/a", _spec("1", "1G", None), TargetCluster("x", 1), parsed),))
    assert sums.report(CAPACITY).requests["memory"].format == "DecimalSI"  # ns/a's term comes first
    sums.put("a", ("a",), ())
    assert str(sums.report(CAPACITY).requests["memory"]) == "1Gi"


@st.composite
def bindings(draw: Any, values: list[Any]) -> list[tuple[str, dict[str, Any], list[TargetCluster]]]:
    """Bindings in report order: a label, a spec, and entries on clusters ``x`` and ``y`` (some replicas
    negative, some clusters named twice)."""
    value = st.sampled_from(values)
    components = st.none() | st.lists(st.tuples(st.integers(-1, 4), value), min_size=1, max_size=3)
    entry = st.tuples(st.sampled_from(["x", "y"]), st.integers(-1, 5), st.booleans())
    found = []
    for number, (cpu, memory, comps, entries) in enumerate(draw(st.lists(
            st.tuples(value, value, components, st.lists(entry, max_size=3)), max_size=8))):
        spec = _spec(cpu, memory, comps)
        targets = [TargetCluster(name, replicas, (TargetComponent("c0", replicas),)
                                 if comps is not None and recorded else None)
                   for name, replicas, recorded in entries]
        found.append((f"ns/b{number % 3}", spec, targets))
    return found


def _one_pass(placed: list[tuple[str, dict[str, Any], list[TargetCluster]]]) -> None:
    totals = ClusterTotals({})
    for label, spec, targets in placed:
        totals.add(label, spec, targets)
    for name in ("x", "y", "z"):
        capacity = ClusterCapacity.from_summary(name, {"allocatable": {"cpu": "8"}})
        ordered = [(label, spec, t) for label, spec, targets in placed for t in targets if t.name == name]
        assert _text(totals.report(capacity)) == _text(cluster_report(capacity, ordered))


@settings(max_examples=150, deadline=None)
@given(bindings(QUANTITIES + NEGATIVE))
def test_one_pass_totals_equal_a_sum_in_report_order(placed: Any) -> None:
    _one_pass(placed)


@settings(max_examples=60, deadline=None)
@given(bindings(["1Gi", "1G", "0", "2Gi", "500m"]))
def test_one_pass_totals_of_mixed_formats_equal_a_sum_in_report_order(placed: Any) -> None:
    _one_pass(placed)


@settings(max_examples=60, deadline=None)
@given(bindings(SAME_FORMAT))
def test_one_pass_totals_of_one_format_equal_a_sum_in_report_order(placed: Any) -> None:
    _one_pass(placed)


def test_one_pass_totals_keep_the_format_of_the_first_nonzero_term() -> None:
    totals = ClusterTotals({})
    totals.add("ns/a", _spec("1", "1Gi", None), [TargetCluster("x", 0)])
    totals.add("ns/b", _spec("1", "1G", None), [TargetCluster("x", 1)])
    totals.add("ns/c", _spec("1", "1Gi", None), [TargetCluster("x", 1)])
    report = totals.report(CAPACITY)
    assert report.requests["memory"].format == "DecimalSI" and report.bindings == ("ns/a", "ns/b", "ns/c")
    assert (report.replicas, str(report.requests["cpu"])) == (2, "2")
