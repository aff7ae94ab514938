"""The schedule phase's short cuts give the answers of the plain computations they replace."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.features import FeatureGates
from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.division import (
    Strategy,
    _divide,
    _scale_up,
    _sorted_desc,
    assign_replica_targets,
    selection_votes,
)
from kpl.engine.scheduler.errors import SchedulingError
from kpl.engine.scheduler.gosort import go_order_desc, go_sort_by_key_desc
from kpl.engine.scheduler.types import BindingSpecView, ClusterDetail, TargetCluster
from kpl.engine.scheduler.webster import divide_seats, fnv1a_32, odd_uid

NAMES = [f"member-{index:02d}" for index in range(24)]
UIDS = ["", "4858ca61-3ff8-4095-8267-f3d059d8074c", "d43fdeeb-d750-4e2b-bee3-64eb94534f4c"]


def _webster(seats: int, votes: dict[str, int], uid: str) -> dict[str, int]:
    """Seat by seat over every party, exact priorities, the dispenser's tie-breaker for ``uid``."""
    held = dict.fromkeys(votes, 0)
    descending = bool(uid) and odd_uid(uid)
    for _ in range(max(seats, 0)):
        def rank(name: str) -> tuple[Fraction, int, str]:
            return (Fraction(votes[name], 2 * held[name] + 1), -held[name], name)
        best = max(votes, key=rank) if descending else max(
            votes, key=lambda name: (rank(name)[0], rank(name)[1], [-ord(c) for c in name]))
        held[best] += 1
    return held


votes_st = st.dictionaries(st.sampled_from(NAMES), st.integers(0, 40), min_size=1, max_size=20)


@settings(max_examples=120, deadline=None)
@given(votes_st, st.integers(0, 30), st.sampled_from(UIDS), st.sets(st.sampled_from(NAMES), max_size=5))
def test_divide_seats_looks_only_at_contenders_and_gives_webster(
    votes: dict[str, int], seats: int, uid: str, zeros: set[str]
) -> None:
    found = divide_seats(seats, votes, uid, zeros)
    if sum(votes.values()) == 0:
        assert found == []
        return
    expected = _webster(seats, votes, uid)
    wanted = sorted(name for name in votes if expected[name] or name in zeros)
    assert found == [TargetCluster(name, expected[name]) for name in wanted]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=80))
def test_go_order_desc_is_go_sort_order(keys: list[int]) -> None:
    order = go_order_desc(tuple(keys))
    assert [keys[index] for index in order] == go_sort_by_key_desc(keys, lambda key: key)
    assert list(order) == go_sort_by_key_desc(list(range(len(keys))), keys.__getitem__)


candidates_st = st.lists(st.tuples(st.sampled_from(NAMES), st.integers(0, 12)), max_size=24,
                         unique_by=lambda pair: pair[0])


@settings(max_examples=120, deadline=None)
@given(candidates_st, st.integers(1, 60), st.sampled_from([Strategy.AGGREGATED, Strategy.DYNAMIC_WEIGHT]),
       st.sampled_from(UIDS), st.data())
def test_scale_up_over_arrays_is_the_division_over_targets(
    pairs: list[tuple[str, int]], target: int, strategy: Strategy, uid: str, data: st.DataObject
) -> None:
    candidates = [ClusterDetail(name, allocatable_replicas=replicas) for name, replicas in pairs]
    held = data.draw(st.lists(st.sampled_from([name for name, _ in pairs] or ["none"]), unique=True, max_size=4))
    scheduled = [TargetCluster(name, data.draw(st.integers(0, 3))) for name in held if pairs]
    available = _sorted_desc([TargetCluster(c.name, c.allocatable_replicas) for c in candidates])
    try:
        expected: list[TargetCluster] | str = _divide(strategy, target, available, scheduled, uid,
                                                      {t.name for t in scheduled})
    except SchedulingError as error:
        expected = str(error)
    try:
        found: list[TargetCluster] | str = _scale_up(strategy, candidates, target, scheduled, uid)
    except SchedulingError as error:
        found = str(error)
    assert found == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_odd_uid_is_the_parity_of_the_fnv_hash(uid: str) -> None:
    assert odd_uid(uid) == bool(fnv1a_32(uid.encode("utf-8")) & 1)


PLACEMENTS = [
    {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
                           "weightPreference": {"dynamicWeight": "AvailableReplicas"}}},
    {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}},
    {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
                           "weightPreference": {"staticWeightList": [
                               {"targetCluster": {"labelSelector": {"matchLabels": {"tier": "gold"}}}, "weight": 3},
                               {"targetCluster": {"clusterNames": [NAMES[1], NAMES[2]]}, "weight": 2}]}}},
    {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"}},
    {"replicaScheduling": {"replicaSchedulingType": "Duplicated"}},
    {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Nothing"}},
]


def _candidate(name: str, replicas: int, gold: bool) -> ClusterDetail:
    cluster = {"metadata": {"name": name, "labels": {"tier": "gold"} if gold else {}}}
    return ClusterDetail(name, allocatable_replicas=replicas, available_replicas=replicas,
                         cluster=ClusterView.from_object(cluster))


def _assigned(candidates: list[ClusterDetail], spec: BindingSpecView, placement: dict[str, object],
              votes: dict[str, int] | None) -> list[TargetCluster] | str:
    try:
        return assign_replica_targets(candidates, spec, placement, {}, FeatureGates(), votes)
    except SchedulingError as error:
        return str(error)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.integers(0, 12), st.booleans()), min_size=1, max_size=16,
                unique_by=lambda item: item[0]),
       st.integers(1, 60), st.sampled_from(PLACEMENTS), st.sampled_from(UIDS))
def test_votes_shared_by_a_selection_give_the_division_without_them(
    items: list[tuple[str, int, bool]], replicas: int, placement: dict[str, object], uid: str
) -> None:
    """Bindings of a shared stage (no previous result) divide by votes made once per selection."""
    candidates = [_candidate(name, count, gold) for name, count, gold in items]
    spec = BindingSpecView(replicas=replicas, uid=uid, replica_requirements={})
    votes = selection_votes(candidates, placement)
    assert _assigned(candidates, spec, placement, votes) == _assigned(candidates, spec, placement, None)
