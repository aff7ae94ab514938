"""A binding's explanations as a stage's shared tuple plus its own entries
(:class:`~kpl.engine.scheduler.marked.MarkedExplanations`): read as the tuple they stand for, indexed for the
report exactly as that tuple is, and made by the scheduler with the right base and every entry of its own."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest
from bench_generator import fleet_generator
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.report import index_explanations
from kpl.engine.scheduler.marked import MarkedExplanations, overlay, rebased
from kpl.engine.scheduler.pipeline import ClusterExplanation, Fleet, schedule

NAMES = ("a", "b", "c", "d", "e", "f")
ROWS = st.builds(ClusterExplanation, st.sampled_from(NAMES), st.sampled_from(["", "TaintToleration"]),
                 st.sampled_from(["", "taint"]), st.booleans(), st.none() | st.integers(0, 2),
                 st.none() | st.integers(0, 2), st.none(), st.none() | st.integers(0, 1))
MARKS = st.builds(ClusterExplanation, st.sampled_from(NAMES), score=st.none() | st.integers(0, 2),
                  allocatable_replicas=st.none() | st.integers(0, 2), selected=st.booleans(),
                  replicas=st.none() | st.integers(0, 3))


@st.composite
def _marked(draw: st.DrawFn, bases: list[tuple[ClusterExplanation, ...]]) -> MarkedExplanations:
    base = draw(st.sampled_from(bases))
    positions = sorted(draw(st.sets(st.integers(0, len(base) - 1), max_size=len(base))))
    entries = [draw(ROWS | MARKS) for _ in positions]
    return MarkedExplanations(base, tuple(positions), tuple(entries))


def _whole(found: MarkedExplanations) -> tuple[ClusterExplanation, ...]:
    items = list(found.base)
    for position, entry in zip(found.positions, found.entries, strict=True):
        items[position] = entry
    return tuple(items)


@settings(max_examples=150, deadline=None)
@given(st.lists(ROWS, min_size=1, max_size=6).map(tuple).flatmap(lambda base: _marked([base])), st.data())
def test_marked_explanations_read_as_the_tuple_they_stand_for(found: MarkedExplanations, data: Any) -> None:
    whole = _whole(found)
    assert len(found) == len(whole) and bool(found) is bool(whole)
    assert list(found) == list(whole) and list(reversed(found)) == list(reversed(whole))
    assert [found[i] for i in range(-len(whole), len(whole))] == [whole[i] for i in range(-len(whole), len(whole))]
    assert found[1:] == whole[1:] and found[::-1] == whole[::-1]
    assert found == whole and whole == found and not found != whole  # noqa: SIM202
    assert found != list(whole) and found != whole[:-1]
    assert hash(found) == hash(whole) and repr(found) == repr(whole)
    assert all(entry in found for entry in whole)
    with pytest.raises(IndexError):
        found[len(whole)]
    other = MarkedExplanations(tuple(whole), (), ())
    assert other == found and found == other
    position = data.draw(st.integers(0, len(whole) - 1))
    entry = data.draw(ROWS)
    changed = list(whole)
    changed[position] = entry
    assert overlay(found, [position], [entry]) == tuple(changed)
    assert overlay(found, [], []) == whole
    moved = list(found.base)
    moved[position] = entry
    expected = list(whole)
    expected[position] = entry
    assert rebased(found, tuple(moved), position, None) == tuple(expected)
    marked = data.draw(MARKS)
    expected[position] = marked
    assert rebased(found, tuple(moved), position, marked) == tuple(expected)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(ROWS, min_size=3, max_size=3).map(tuple), min_size=1, max_size=3), st.data())
def test_the_index_of_marked_lists_is_the_index_of_their_tuples(bases: list[tuple[ClusterExplanation, ...]],
                                                               data: Any) -> None:
    """Shared bases, own entries over entries never met, changes and non-changes among them, bases with a
    change of their own, the same marked list again and equal lists as other objects: same table, sets and
    changes as the whole tuples, entry by entry."""
    if data.draw(st.booleans()):
        bases.append(tuple(replace(e, selected=True) for e in bases[0]))  # a base with changes in it
    lists: list[Any] = data.draw(st.lists(_marked(bases), min_size=1, max_size=8))
    lists.append(lists[data.draw(st.integers(0, len(lists) - 1))])
    first = lists[0]
    lists.append(MarkedExplanations(first.base, first.positions, tuple(replace(e) for e in first.entries)))
    lists.insert(data.draw(st.integers(0, len(lists))), ())
    marked = index_explanations([cast(Any, _Binding(found)) for found in lists])
    plain = index_explanations([cast(Any, _Binding(tuple(found))) for found in lists])
    assert (marked.table, marked.sets, marked.references) == (plain.table, plain.sets, plain.references)


class _Binding:
    def __init__(self, explanations: Any) -> None:
        self.explanations = explanations


@pytest.mark.parametrize(("clusters", "bindings", "seed"), [(30, 250, 4), (60, 200, 9)])
def test_the_scheduler_shares_a_stage_tuple_and_keeps_every_own_entry(clusters: int, bindings: int,
                                                                      seed: int) -> None:
    """On a generated fleet: every binding's explanations equal those scheduled without shared work; marked
    ones sit over a base shared by several bindings, with nothing selected in it, and hold every selected
    cluster and every cluster where the binding differs from its base as their own."""
    generator = fleet_generator()
    items = generator.generate_fleet(generator.FleetShape(clusters, bindings, seed))["items"]
    cluster_objects = [i for i in items if i["kind"] == "Cluster"]
    fleet = Fleet.build(cluster_objects)
    plain = Fleet(fleet.views, fleet.capacities)
    bases: dict[int, int] = {}
    marked = 0
    for binding in (i for i in items if i["kind"] != "Cluster"):
        shared, alone = schedule(binding, fleet), schedule(binding, plain)
        assert isinstance(alone.explanations, tuple)
        assert shared.explanations == alone.explanations and tuple(shared.explanations) == alone.explanations
        found = shared.explanations
        if not isinstance(found, MarkedExplanations):
            continue
        marked += 1
        bases[id(found.base)] = bases.get(id(found.base), 0) + 1
        assert not any(e.selected or e.replicas is not None for e in found.base)
        own = set(found.positions)
        assert {i for i, e in enumerate(alone.explanations) if e.selected} <= own
        assert {i for i, e in enumerate(alone.explanations) if e is not found.base[i] and e != found.base[i]} <= own
    assert marked > bindings // 4
    assert len(bases) < marked and max(bases.values()) > 1
