"""The JSON report's specialised writers (explanation table entries, target lists, the explanation index)
give what the general encoder and a plain index give."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.bindings import Interpretation
from kpl.engine.features import FeatureGates
from kpl.engine.plan import Plan, load_plan_inputs
from kpl.engine.quantity import parse_quantity
from kpl.engine.report import ClusterReport, explanation_json, index_explanations
from kpl.engine.report_json import (
    Raw,
    _binding_text,
    _cluster_text,
    _explanation_text,
    _ExplanationText,
    _target_text,
    encode,
)
from kpl.engine.scheduler.pipeline import ClusterExplanation, ScheduleFailure
from kpl.engine.scheduler.types import TargetCluster, TargetComponent

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet"
TEXT = st.text(alphabet=st.sampled_from('ab"\\\né/ '), max_size=4)
COUNT = st.none() | st.integers(-3, 10**12)
explanations = st.builds(ClusterExplanation, TEXT, st.sampled_from(["", "TaintToleration", 'x"y']), TEXT,
                         st.booleans(), COUNT, COUNT, COUNT, COUNT, st.booleans(), COUNT)
targets = st.builds(TargetCluster, TEXT, st.integers(-2, 10**9), st.none() | st.lists(
    st.builds(TargetComponent, TEXT, st.integers(0, 9)), max_size=2).map(tuple))


@settings(max_examples=200, deadline=None)
@given(explanations)
def test_a_table_entry_is_what_the_encoder_writes(found: ClusterExplanation) -> None:
    assert _explanation_text(found) == encode(explanation_json(found), 2)
    assert json.loads(_explanation_text(found)) == explanation_json(found)


@settings(max_examples=200, deadline=None)
@given(targets)
def test_a_target_is_what_the_encoder_writes(target: TargetCluster) -> None:
    assert _target_text(target) == encode(target.to_api(), 4)


def _plain_index(lists: list[tuple[ClusterExplanation, ...]]) -> tuple[Any, ...]:
    table: list[ClusterExplanation] = []
    sets: dict[tuple[int, ...], int] = {}
    references: list[Any] = []
    for found in lists:
        if not found:
            references.append(None)
            continue
        positions = []
        for explanation in found:
            base = replace(explanation, selected=False, replicas=None)
            if base not in table:
                table.append(base)
            positions.append(table.index(base))
        number = sets.setdefault(tuple(positions), len(sets))
        references.append((number, tuple(e for e in found if e.selected or e.replicas is not None)))
    return tuple(table), tuple(sets), tuple(references)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(explanations, max_size=4).map(tuple), max_size=6), st.data())
def test_the_index_equals_a_plain_one(lists: list[tuple[ClusterExplanation, ...]], data: Any) -> None:
    """Shared lists, equal explanations as other objects, and an object met again are all indexed by value."""
    if lists:
        lists.append(lists[data.draw(st.integers(0, len(lists) - 1))])  # the same list object again
        copied = [replace(e) for e in lists[0]]
        lists.append(tuple(copied))  # equal explanations, other objects
    index = index_explanations([cast(Any, _Binding(found)) for found in lists])
    assert (index.table, index.sets, index.references) == _plain_index(lists)


class _Binding:
    """Just what the index reads of a binding report."""

    def __init__(self, explanations: tuple[ClusterExplanation, ...]) -> None:
        self.explanations = explanations


def test_a_binding_is_what_the_encoder_writes() -> None:
    """Policies, interpretations, errors, conditions, components and both target lists, shared or not."""
    loaded = load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"],
                              FeatureGates.parse("FederatedQuotaEnforcement=true"))
    report = Plan.compile(loaded.inputs).evaluate()
    assert any(b.policy is not None for b in report.bindings) and any(b.condition for b in report.bindings)
    cache = _ExplanationText()
    interpretation = Interpretation("InterpretReplica", "native", error='bad "rule"')
    extra = [replace(report.bindings[0], components=(("jm", 1), ("tm", 2)), interpretation=interpretation,
                     previous=(), clusters=None, trigger=None, error=ScheduleFailure("FitError", "0/3 é"))]
    for binding in [*report.bindings, *report.bindings, *extra]:
        for reference in ("null", encode({"changes": [], "set": 3}, 3)):
            assert _binding_text(binding, reference, cache) == encode(binding.to_json(Raw(reference)), 2)


QUANTITIES = st.sampled_from(["0", "100m", "1.5", "2Gi", "512Mi", "3e3", "-1"]).map(parse_quantity)
clusters = st.builds(ClusterReport, TEXT, st.integers(-2, 10**6), st.lists(TEXT, max_size=4).map(tuple),
                     st.dictionaries(st.sampled_from(["cpu", "memory", "pods", 'a"b']), QUANTITIES, max_size=3),
                     st.none() | st.dictionaries(st.sampled_from(["cpu", "memory", "pods"]), QUANTITIES, max_size=3))


@settings(max_examples=200, deadline=None)
@given(clusters)
def test_a_cluster_entry_is_what_the_encoder_writes(cluster: ClusterReport) -> None:
    assert _cluster_text(cluster) == encode(cluster.to_json(), 2)
