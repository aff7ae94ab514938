"""The fast paths of ``kpl plan`` give byte-identical answers to the plain ones.

* Shared work over a fleet (filter outcomes per placement, estimates per requirement, interned
  explanations, memoised whole schedules) against a fleet scheduled binding by binding from scratch.
* The streaming JSON writer against ``json.dumps``.
* The schedule memo key: bindings that differ only in what the key leaves out (template name,
  namespace, UID of the same hash parity, unread status fields) get equal results from scratch.
* Estimator work is counted: one fleet-wide evaluation per distinct replica requirement.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from bench_generator import fleet_generator
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.features import FeatureGates
from kpl.engine.plan import Plan, PlanInputs
from kpl.engine.report import explanation_json, render_json, report_to_json
from kpl.engine.report_json import encode, write_report_json
from kpl.engine.scheduler.estimator import max_available_replicas
from kpl.engine.scheduler.filters import FilterPlan, observed_affinity_name
from kpl.engine.scheduler.pipeline import Fleet, filter_clusters, schedule
from kpl.engine.scheduler.shared import schedule_key, uid_parity

GENERATOR = fleet_generator()


def _fleet(clusters: int, bindings: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    items = GENERATOR.generate_fleet(GENERATOR.FleetShape(clusters, bindings, seed))["items"]
    return ([i for i in items if i["kind"] == "Cluster"], [i for i in items if i["kind"] != "Cluster"])


def _inputs(clusters: list[dict[str, Any]], bindings: list[dict[str, Any]]) -> PlanInputs:
    return PlanInputs(clusters=tuple(clusters), bindings=tuple(bindings), from_policies=False)


def _plain_text(inputs: PlanInputs) -> str:
    report = Plan.compile(inputs).evaluate()
    return json.dumps(report_to_json(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(("clusters", "bindings", "seed"), [(12, 150, 1), (40, 300, 2), (25, 200, 7)])
def test_shared_work_gives_the_plain_report_byte_for_byte(
    clusters: int, bindings: int, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = _inputs(*_fleet(clusters, bindings, seed))
    plan = Plan.compile(inputs)
    fast = render_json(plan.evaluate())
    stats = plan.results["fleet"].stats()
    assert stats["schedules_reused"] > 0 and stats["filter_plans"] < bindings
    plain = classmethod(lambda cls, views, capacities: cls(tuple(views), capacities))
    monkeypatch.setattr(Fleet, "of", plain)
    assert fast == _plain_text(inputs)


def test_streamed_report_is_the_rendered_report() -> None:
    report = Plan.compile(_inputs(*_fleet(10, 60, 3))).evaluate()
    pieces: list[str] = []
    write_report_json(report, pieces.append)
    assert "".join(pieces) == render_json(report)
    assert len(pieces) >= 1


def test_explanation_sets_rebuild_every_binding_explanation() -> None:
    report = Plan.compile(_inputs(*_fleet(30, 250, 4))).evaluate()
    data = json.loads(render_json(report))
    table = data["clusterExplanations"]
    assert len(data["explanationSets"]) < len(report.bindings)
    for position, binding in enumerate(report.bindings):
        reference = data["bindings"][position]["explanations"]
        rebuilt: list[dict[str, Any]] = []
        if reference is not None:
            changes = {change["cluster"]: change for change in reference["changes"]}
            rebuilt = [{**table[n], **changes.get(table[n]["cluster"], {})}
                       for n in data["explanationSets"][reference["set"]]["explanations"]]
        assert rebuilt == [explanation_json(e) for e in binding.explanations], binding.name


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_encoder_writes_what_json_dumps_writes(value: Any) -> None:
    assert encode(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _same_parity_uid(uid: str, rng: random.Random) -> str:
    while True:
        other = f"{rng.getrandbits(64):016x}-{rng.getrandbits(32):08x}"
        if uid_parity(other) == uid_parity(uid):
            return other


def _disguised(binding: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same binding under another identity, with status the scheduler does not read."""
    other = copy.deepcopy(binding)
    other["metadata"]["name"] = f"other-{rng.randrange(10**6)}"
    resource = other["spec"]["resource"]
    resource["name"], resource["namespace"] = f"other-{rng.randrange(10**6)}", "elsewhere"
    resource["uid"] = _same_parity_uid(str(resource.get("uid") or ""), rng)
    status = other.setdefault("status", {})
    status["aggregatedStatus"] = [{"clusterName": "member-0000", "applied": True}]
    status["conditions"] = [{"type": "Scheduled", "status": "True"}]
    return other


def test_the_memo_key_leaves_out_only_what_the_scheduler_does_not_read() -> None:
    clusters, bindings = _fleet(30, 200, 11)
    plain = Fleet(Fleet.build(clusters).views, Fleet.build(clusters).capacities)
    rng = random.Random(5)
    gates = FeatureGates()
    for binding in bindings[:120]:
        other = _disguised(binding, rng)
        assert schedule_key(other, gates, False) == schedule_key(binding, gates, False)
        assert schedule(other, plain, gates) == schedule(binding, plain, gates)


def test_the_memo_key_keeps_what_the_scheduler_reads() -> None:
    _, bindings = _fleet(5, 40, 4)
    gates = FeatureGates()
    binding = next(b for b in bindings if "replicas" in b["spec"])
    changed = copy.deepcopy(binding)
    changed["spec"]["replicas"] += 1
    observed = copy.deepcopy(binding)
    observed.setdefault("status", {})["schedulerObservedAffinityName"] = "backup"
    flipped = copy.deepcopy(binding)
    uid = str(binding["spec"]["resource"]["uid"])
    flipped["spec"]["resource"]["uid"] = next(
        f"u{n}" for n in range(100) if uid_parity(f"u{n}") != uid_parity(uid))
    keys = {schedule_key(b, gates, False) for b in (binding, changed, observed, flipped)}
    keys.add(schedule_key(binding, FeatureGates.parse("MultiplePodTemplatesScheduling=true"), False))
    keys.add(schedule_key(binding, gates, True))
    assert len(keys) == 6


def test_a_memoised_result_is_the_result_from_scratch() -> None:
    clusters, bindings = _fleet(20, 150, 9)
    shared = Fleet.build(clusters)
    plain = Fleet(shared.views, shared.capacities)
    rng = random.Random(2)
    for binding in bindings:
        other = _disguised(binding, rng)
        first, again = schedule(binding, shared), schedule(other, shared)
        assert again is first
        assert first == schedule(other, plain)
    assert shared.stats()["schedules_reused"] >= len(bindings)


def _has_previous(binding: dict[str, Any]) -> bool:
    spec = binding["spec"]
    return bool(spec.get("clusters") or spec.get("gracefulEvictionTasks"))


@pytest.mark.parametrize(("seed", "previous_first"), [(21, True), (22, False), (23, True)])
def test_patched_stages_give_the_result_from_scratch(seed: int, previous_first: bool) -> None:
    """Bindings with a previous result or evictions reuse a stage (patched for their own clusters); the
    stage is the same whichever binding built it first."""
    clusters, bindings = _fleet(30, 240, seed)
    shared = Fleet.build(clusters)
    plain = Fleet(shared.views, shared.capacities)
    bindings.sort(key=lambda binding: not _has_previous(binding) if previous_first else _has_previous(binding))
    assert sum(map(_has_previous, bindings)) >= 10
    for binding in bindings:
        assert schedule(binding, shared) == schedule(binding, plain)
    assert shared.shared is not None and shared.shared.stats()["stages"] < len(bindings)


def test_shared_filter_outcomes_match_the_filters() -> None:
    clusters, bindings = _fleet(30, 200, 13)
    fleet = Fleet.build(clusters)
    assert fleet.shared is not None
    for binding in bindings:
        spec, status = binding["spec"], binding.get("status") or {}
        previous = frozenset(t["name"] for t in spec.get("clusters") or ())
        evicting = frozenset(t["fromCluster"] for t in spec.get("gracefulEvictionTasks") or ())
        observed = observed_affinity_name(status)
        feasible, rejected = fleet.shared.filtered(spec, observed, previous, evicting)
        expected = filter_clusters(FilterPlan.compile(spec, observed), fleet.views, previous, evicting)
        assert (list(feasible), list(rejected)) == expected


def test_estimates_are_shared_per_requirement_and_counted() -> None:
    clusters, bindings = _fleet(25, 300, 17)
    fleet = Fleet.build(clusters)
    gates = FeatureGates()
    requirements = set()
    for binding in bindings:
        spec = binding["spec"]
        views = [v for v in fleet.views if not v.deleting]
        expected = max_available_replicas([fleet.capacities[v.name] for v in views], spec, gates)
        assert fleet.estimate(views, spec, gates) == [expected[v.name] for v in views]
        if spec.get("replicas"):
            requirements.add(json.dumps(spec.get("replicaRequirements"), sort_keys=True))
    stats = fleet.stats()
    assert stats["fleet_estimates"] == len(requirements)
    assert stats["estimator_evaluations"] == len(requirements) * len(fleet.views)
    assert stats["fleet_estimates"] / len(bindings) < 1


def test_a_plan_counts_less_than_one_fleet_estimate_per_binding() -> None:
    plan = Plan.compile(_inputs(*_fleet(30, 400, 21)))
    plan.evaluate()
    stats = plan.results["fleet"].stats()
    assert 0 < stats["fleet_estimates"] < 400
    assert stats["schedules_run"] + stats["schedules_reused"] <= 400
