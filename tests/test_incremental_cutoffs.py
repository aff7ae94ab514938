"""Fine-grained re-planning after a cluster or binding change: only the schedules the change can move are
recomputed, and the result is always the full plan's."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine import plan as plan_module
from kpl.engine import plan_incremental
from kpl.engine.features import FeatureGates
from kpl.engine.plan import Plan, PlanInputs
from kpl.engine.plan_report import ReportState
from kpl.engine.plan_watch import apply_inputs
from kpl.engine.report import PlacementReport, render_json

REGIONS = {"c1": "east", "c2": "east", "c3": "west", "c4": "west", "c5": "north"}
NAMES = tuple(REGIONS)
API = [{"groupVersion": "apps/v1", "resources": [{"name": "deployments", "kind": "Deployment"}]},
       {"groupVersion": "v1", "resources": [{"name": "configmaps", "kind": "ConfigMap"}]}]


def cluster(name: str, allocated_cpu: str = "2", labels: Mapping[str, str] | None = None,
            taint: str = "", region: str | None = None, deleting: bool = False,
            allocated_pods: int = 10) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels or {"tier": "gold"})}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": meta,
        "spec": {"provider": "aws", "region": region or REGIONS[name], "zones": [f"{name}-a"],
                 "taints": [{"key": "k", "value": "v", "effect": taint}] if taint else []},
        "status": {"apiEnablements": API, "resourceSummary": {
            "allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110"},
            "allocated": {"cpu": allocated_cpu, "memory": "4Gi", "pods": str(allocated_pods)}}},
    }


DYNAMIC = {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
                                 "weightPreference": {"dynamicWeight": "AvailableReplicas"}}}
PLACEMENTS: dict[str, dict[str, Any]] = {
    "dynamic": DYNAMIC,
    "duplicated": {"replicaScheduling": {"replicaSchedulingType": "Duplicated"}},
    "aggregated": {"clusterAffinity": {"labelSelector": {"matchLabels": {"tier": "gold"}}},
                   "replicaScheduling": {"replicaSchedulingType": "Divided",
                                         "replicaDivisionPreference": "Aggregated"}},
    "region-spread": {**DYNAMIC, "spreadConstraints": [
        {"spreadByField": "region", "minGroups": 2, "maxGroups": 2},
        {"spreadByField": "cluster", "minGroups": 2, "maxGroups": 3}]},
    "cluster-spread": {**DYNAMIC, "spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1,
                                                          "maxGroups": 2}]},
    "terms": {"clusterAffinities": [
        {"affinityName": "silver", "labelSelector": {"matchLabels": {"tier": "silver"}}},
        {"affinityName": "any", "labelSelector": {"matchLabels": {"tier": "gold"}}}],
        "replicaScheduling": DYNAMIC["replicaScheduling"]},
    "static": {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
                                     "weightPreference": {"staticWeightList": [
                                         {"targetCluster": {"labelSelector": {"matchLabels": {"tier": "gold"}}},
                                          "weight": 2},
                                         {"targetCluster": {"clusterNames": ["c5"]}, "weight": 1}]}}},
    "config": {"clusterAffinity": {"clusterNames": ["c1", "c3"]}},
}
CPU = {"dynamic": "1", "duplicated": "2", "aggregated": "4", "region-spread": "1", "cluster-spread": "500m",
       "terms": "2", "static": "1"}


def binding(name: str, placement: str, replicas: int = 6, previous: tuple[str, ...] = ()) -> dict[str, Any]:
    kind = "ConfigMap" if placement == "config" else "Deployment"
    resource = {"apiVersion": "v1" if kind == "ConfigMap" else "apps/v1", "kind": kind, "namespace": "web",
                "name": name, "uid": f"uid-{name}"}
    spec: dict[str, Any] = {"resource": resource, "placement": copy.deepcopy(PLACEMENTS[placement])}
    if kind != "ConfigMap":
        spec["replicas"] = replicas
        spec["replicaRequirements"] = {"resourceRequest": {"cpu": CPU[placement], "memory": "1Gi"}}
    if previous:
        spec["clusters"] = [{"name": n, "replicas": replicas // len(previous)} for n in previous]
    return {"apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
            "metadata": {"name": f"{name}-{kind.lower()}", "namespace": "web"}, "spec": spec}


def base_inputs() -> PlanInputs:
    bindings = [binding(name, name) for name in PLACEMENTS]
    bindings.append(binding("moved", "dynamic", 4, previous=("c2", "c4")))
    return PlanInputs(clusters=tuple(cluster(n) for n in NAMES), bindings=tuple(bindings), from_policies=False)


QUOTA = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "FederatedResourceQuota",
         "metadata": {"name": "q", "namespace": "web"}, "spec": {"overall": {"cpu": "40", "memory": "60Gi"}}}


def quota_inputs(enforced: bool) -> PlanInputs:
    """The base inputs with a quota on the namespace (checked by the webhook when ``enforced``)."""
    gates = FeatureGates.parse("FederatedQuotaEnforcement=true") if enforced else FeatureGates()
    return replace(base_inputs(), quotas=(QUOTA,), gates=gates)


def fresh(inputs: PlanInputs) -> str:
    return render_json(Plan.compile(inputs).evaluate())


def evaluated(inputs: PlanInputs) -> Plan:
    plan = Plan.compile(inputs)
    plan.evaluate()
    return plan


def with_cluster(inputs: PlanInputs, new: Mapping[str, Any]) -> PlanInputs:
    name = new["metadata"]["name"]
    return replace(inputs, clusters=tuple(new if c["metadata"]["name"] == name else c for c in inputs.clusters))


def with_binding(inputs: PlanInputs, new: Mapping[str, Any]) -> PlanInputs:
    name = new["metadata"]["name"]
    return replace(inputs, bindings=tuple(new if b["metadata"]["name"] == name else b for b in inputs.bindings))


def schedule_of(name: str) -> str:
    kind = "configmap" if name == "config" else "deployment"
    return f"schedule:web/{name}-{kind}"


# ------------------------------------------------------------------------------------ the property

cluster_edits = st.tuples(
    st.sampled_from(NAMES),
    st.sampled_from(["0", "2", "9", "15", "16"]),
    st.sampled_from(["gold", "silver", "bronze"]),
    st.sampled_from(["", "NoSchedule", "NoExecute"]),
    st.sampled_from(["east", "west", "north", "south"]),
    st.booleans(),
).map(lambda e: ("cluster", cluster(e[0], e[1], {"tier": e[2]}, e[3], e[4], e[5])))
pod_edits = st.tuples(
    st.sampled_from(NAMES), st.integers(min_value=-2, max_value=2), st.sampled_from([10, 107, 108, 109, 110]),
).map(lambda e: ("cluster", cluster(e[0], f"{14000 + 250 * e[1]}m", allocated_pods=e[2])))
"""One pod more or less on a nearly full cluster (cpu or pod count): moves estimates by one replica."""
binding_edits = st.tuples(
    st.sampled_from([n for n in PLACEMENTS if n != "config"]), st.integers(min_value=0, max_value=30),
).map(lambda e: ("binding", binding(e[0], e[0], e[1])))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(cluster_edits, pod_edits, pod_edits, binding_edits), min_size=1, max_size=6), st.booleans(),
       st.sampled_from(["none", "counted", "enforced"]))
def test_random_edits_replan_to_the_full_plan(edits: list[tuple[str, dict[str, Any]]], each: bool,
                                              quota: str) -> None:
    inputs = overflow_inputs(base_inputs() if quota == "none" else quota_inputs(quota == "enforced"))
    plan = evaluated(inputs)
    for what, obj in edits:
        if what == "cluster":
            plan.update_cluster(obj)
            inputs = with_cluster(inputs, obj)
        else:
            plan.update_binding(obj)
            inputs = with_binding(inputs, obj)
        if each:
            assert render_json(plan.evaluate()) == fresh(inputs)
    assert render_json(plan.evaluate()) == fresh(inputs)


# ------------------------------------------------------------------------------------ each dependency

Scenario = Callable[[], Mapping[str, Any]]
SCENARIOS: dict[str, Scenario] = {
    "a cluster becomes infeasible (taint)": lambda: cluster("c1", taint="NoSchedule"),
    "a cluster becomes feasible (label)": lambda: cluster("c1", labels={"tier": "silver"}),
    "an estimate changes on a feasible cluster": lambda: cluster("c3", allocated_cpu="13"),
    "an estimate changes in a spread group": lambda: cluster("c5", allocated_cpu="15"),
    "a cluster moves to another region": lambda: cluster("c1", region="north"),
    "a previous cluster starts deleting": lambda: cluster("c4", deleting=True),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_dependency_is_followed(name: str) -> None:
    inputs = base_inputs()
    plan = evaluated(inputs)
    before = render_json(plan.evaluate())
    new = SCENARIOS[name]()
    plan.update_cluster(new)
    expected = fresh(with_cluster(inputs, new))
    assert expected != before, "the scenario must move a schedule"
    assert render_json(plan.evaluate()) == expected


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_missed_dependency_would_be_caught(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the cut-off invalidating no schedule, each scenario gives a stale plan (so the test above can fail)."""
    monkeypatch.setattr(plan_module, "affected_schedules", lambda *_: [])
    inputs = base_inputs()
    plan = evaluated(inputs)
    new = SCENARIOS[name]()
    plan.update_cluster(new)
    assert render_json(plan.evaluate()) != fresh(with_cluster(inputs, new))


# ------------------------------------------------------------------------------------ the cut-offs


def test_an_unchanged_estimate_recomputes_no_schedule() -> None:
    plan = evaluated(base_inputs())
    plan.update_cluster(cluster("c1", allocated_cpu="1900m"))  # 14.1 free cores: no estimate moves
    assert not any(n.startswith("schedule:") for n in plan.pending)
    assert "report" in plan.pending and "fleet" not in plan.pending


def test_an_estimate_change_moves_only_the_schedules_that_read_it() -> None:
    plan = evaluated(base_inputs())
    plan.update_cluster(cluster("c1", allocated_cpu="15"))
    pending = {n for n in plan.pending if n.startswith("schedule:")}
    assert schedule_of("dynamic") in pending and schedule_of("aggregated") in pending
    assert schedule_of("config") not in pending  # no replicas: no estimate read


def test_a_label_change_on_a_rejected_cluster_keeps_its_schedules() -> None:
    inputs = base_inputs()
    inputs = with_cluster(inputs, cluster("c2", labels={"tier": "bronze"}))
    plan = evaluated(inputs)
    plan.update_cluster(cluster("c2", labels={"tier": "bronze", "team": "a"}))
    assert schedule_of("aggregated") not in plan.pending  # rejected before and after, with the same reason
    assert schedule_of("dynamic") not in plan.pending  # passes, but reads labels only through its filters
    assert schedule_of("static") in plan.pending  # passes, and its weight rules read labels
    assert render_json(plan.evaluate()) == fresh(with_cluster(inputs, cluster("c2", labels={"tier": "bronze",
                                                                                               "team": "a"})))


def test_a_previous_cluster_is_read_in_full() -> None:
    plan = evaluated(base_inputs())
    plan.update_cluster(cluster("c4", taint="NoSchedule"))
    assert schedule_of("moved") in plan.pending


def test_an_identical_cluster_invalidates_nothing() -> None:
    plan = evaluated(base_inputs())
    plan.update_cluster(cluster("c1"))
    assert not plan.pending


def test_one_binding_recomputes_its_own_schedule_and_the_report() -> None:
    inputs = base_inputs()
    plan = evaluated(inputs)
    new = binding("dynamic", "dynamic", 11)
    plan.update_binding(new)
    assert plan.pending == {"binding:web/dynamic-deployment", schedule_of("dynamic"), "report"}
    assert render_json(plan.evaluate()) == fresh(with_binding(inputs, new))


def test_a_new_cluster_or_unevaluated_plan_recomputes_every_schedule() -> None:
    inputs = base_inputs()
    plan = evaluated(inputs)
    extra = cluster("c1")
    extra["metadata"]["name"] = "c6"
    plan.update_cluster(extra)
    assert {schedule_of(n) for n in PLACEMENTS} <= plan.pending
    assert render_json(plan.evaluate()) == fresh(replace(inputs, clusters=(*inputs.clusters, extra)))
    unevaluated = Plan.compile(inputs)
    unevaluated.update_cluster(cluster("c1", allocated_cpu="15"))
    assert render_json(unevaluated.evaluate()) == fresh(with_cluster(inputs, cluster("c1", allocated_cpu="15")))


def test_watch_updates_a_changed_snapshot_binding_and_cluster_in_place() -> None:
    inputs = base_inputs()
    plan = evaluated(inputs)
    changed = with_cluster(with_binding(inputs, binding("aggregated", "aggregated", 9)),
                           cluster("c3", allocated_cpu="12"))
    update = apply_inputs(plan, changed)
    assert not update.recompiled
    assert set(update.nodes) == {"binding:web/aggregated-deployment", "cluster:c3"}
    assert render_json(plan.evaluate()) == fresh(changed)
    removed = replace(changed, bindings=changed.bindings[1:])
    assert apply_inputs(plan, removed).recompiled
    assert render_json(plan.evaluate()) == fresh(removed)


# ------------------------------------------------------------------------------------ the patched report


def _section(report: PlacementReport, name: str) -> Any:
    return next(c for c in report.clusters if c.name == name).to_json()


def test_a_binding_change_updates_its_clusters_sections_and_the_quota_sum() -> None:
    inputs = quota_inputs(False)
    plan = evaluated(inputs)
    before = plan.evaluate()
    new = binding("duplicated", "duplicated", 9)
    plan.update_binding(new)
    after = plan.evaluate()
    expected = Plan.compile(with_binding(inputs, new)).evaluate()
    for name in NAMES:  # a Duplicated binding runs on every feasible cluster: every section moves
        assert _section(before, name) != _section(after, name)
        assert _section(after, name) == _section(expected, name)
    assert before.quotas[0].used != after.quotas[0].used
    assert after.quotas[0].to_json() == expected.quotas[0].to_json()
    assert render_json(after) == render_json(expected)


def test_an_enforced_quota_change_reaches_every_entry_of_its_namespace() -> None:
    inputs = quota_inputs(True)
    plan = evaluated(inputs)
    new = binding("aggregated", "aggregated", 30)  # 120 cpu: over the quota, denied
    plan.update_binding(new)
    report = plan.evaluate()
    assert report.quotas[0].denied
    assert render_json(report) == fresh(with_binding(inputs, new))


@pytest.mark.parametrize("stale", ["sections", "entries"])
def test_a_report_left_unpatched_would_be_caught(stale: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without moving placements between cluster sections (or without looking at changed schedules again),
    the re-planned report is stale, so the tests above can fail."""
    original = ReportState._refresh_member

    def first_time_only(self: ReportState, plan: Plan, node: str, every: bool, touched: set[str]) -> bool:
        return original(self, plan, node, every, touched) if node not in self._members else False

    inputs = quota_inputs(False)
    new = binding("duplicated", "duplicated", 9)
    expected = fresh(with_binding(inputs, new))
    plan = evaluated(inputs)
    if stale == "sections":
        monkeypatch.setattr(ReportState, "_move", lambda *_: None)
    else:
        monkeypatch.setattr(ReportState, "_refresh_member", first_time_only)
    plan.update_binding(new)
    assert render_json(plan.evaluate()) != expected


# ------------------------------------------------------------------------------------ the carried stages


def _fleet(plan: Plan) -> Any:
    return plan.results["fleet"]


def test_a_pod_sized_change_patches_the_stages_instead_of_building_them() -> None:
    inputs = base_inputs()
    plan = evaluated(inputs)
    old = _fleet(plan).shared
    new_cluster = cluster("c3", "14250m")  # 1.75 free cores: one replica of a 1-cpu binding less
    plan.update_cluster(new_cluster)
    plan.evaluate()
    shared = _fleet(plan).shared
    assert shared.counts["stages"] == 0 and shared.counts["fleet_estimates"] == 0
    assert shared._explanations is old._explanations
    kept = [key for key, stage in shared._stages.items() if old._stages.get(key) is stage]
    patched = [key for key, stage in shared._stages.items() if old._stages.get(key) is not stage]
    assert kept and patched  # stages whose estimate for c3 is the same are kept whole
    assert render_json(plan.evaluate()) == fresh(with_cluster(inputs, new_cluster))


@pytest.mark.parametrize("edit", [
    cluster("c3", "14250m"), cluster("c1", taint="NoSchedule"), cluster("c2", labels={"tier": "silver"}),
    cluster("c1", region="north"), cluster("c4", deleting=True), cluster("c1", allocated_pods=110),
])
def test_a_stage_left_unpatched_would_be_caught(edit: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """With every stage carried as it was, each change gives a stale plan (so the property can fail)."""
    from kpl.engine.scheduler import fleet_patch

    monkeypatch.setattr(fleet_patch, "_patch_stage", lambda fleet, change, key, stage: stage)
    inputs = base_inputs()
    plan = evaluated(inputs)
    plan.update_cluster(edit)
    assert render_json(plan.evaluate()) != fresh(with_cluster(inputs, edit))


def test_a_stage_turning_bounded_is_built_again() -> None:
    """An estimate that turns bounded changes the stage keys (replicas leave them): stages are built again and
    the result is the full plan's."""
    inputs = base_inputs()
    unbounded = cluster("c1", allocated_pods=0)  # room for 2^31 - 1 pods: the estimate is unbounded there
    unbounded["status"]["resourceSummary"]["allocatable"] = {"cpu": "100G", "memory": "100Ei", "pods": "2147483647"}
    inputs = with_cluster(inputs, unbounded)
    plan = evaluated(inputs)
    plan.update_cluster(cluster("c1"))
    plan.evaluate()
    assert _fleet(plan).shared.counts["stages"] > 0
    assert render_json(plan.evaluate()) == fresh(with_cluster(inputs, cluster("c1")))


# ------------------------------------------------------------------------------------ labels alone


OVERFLOW = {"clusterAffinities": [{"affinityName": "main", "labelSelector": {"matchLabels": {"tier": "gold"}},
                                   "overflowAffinities": [{"clusterNames": list(NAMES)}]}],
            "replicaScheduling": DYNAMIC["replicaScheduling"]}


def overflow_inputs(inputs: PlanInputs | None = None) -> PlanInputs:
    """``inputs`` (the base inputs by default) with a binding whose overflow affinity ranks clusters by labels."""
    inputs = inputs or base_inputs()
    extra = binding("overflow", "dynamic")
    extra["spec"]["placement"] = copy.deepcopy(OVERFLOW)
    extra["status"] = {"schedulerObservedAffinityName": "main"}
    return replace(inputs, bindings=(*inputs.bindings, extra))


def test_a_label_change_moves_only_bindings_that_read_labels() -> None:
    plan = evaluated(base_inputs())
    plan.update_cluster(cluster("c5", labels={"tier": "gold", "team": "a"}))  # no filter outcome moves
    pending = {n for n in plan.pending if n.startswith("schedule:")}
    assert pending == {schedule_of("static")}  # its weight rules select clusters by labels


@pytest.mark.parametrize("edit", [cluster("c1", labels={"tier": "bronze"}), cluster("c5", labels={"tier": "x"})])
def test_labels_read_by_overflow_affinities_are_followed(edit: dict[str, Any],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Overflow affinities read labels (the global order): without following that, the plan is stale."""
    inputs = overflow_inputs()
    expected = fresh(with_cluster(inputs, edit))
    plan = evaluated(inputs)
    plan.update_cluster(edit)
    assert render_json(plan.evaluate()) == expected
    plan = evaluated(inputs)
    # Static weights still followed: the overflow binding alone goes stale.
    monkeypatch.setattr(plan_incremental, "_reads_labels", lambda spec: "staticWeightList" in repr(spec))
    plan.update_cluster(edit)
    assert render_json(plan.evaluate()) != expected


def test_carried_explanations_get_the_changed_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Explanations after selection carried from the old stage are used, and without making the changed
    cluster's row again they would be stale."""
    from kpl.engine.scheduler import pipeline

    inputs = base_inputs()
    edit = cluster("c3", "14250m")
    expected = fresh(with_cluster(inputs, edit))
    used: list[int] = []
    original = pipeline._carried_marks

    def counted(*args: Any) -> Any:
        found = original(*args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(pipeline, "_carried_marks", counted)
    plan = evaluated(inputs)
    plan.update_cluster(edit)
    assert render_json(plan.evaluate()) == expected
    assert any(used)
    monkeypatch.setattr(pipeline, "_carried_marks", lambda stage, carried, selected, key, targets, shared:
                        carried.find(selected, key[1], key[2]))
    plan = evaluated(inputs)
    plan.update_cluster(edit)
    assert render_json(plan.evaluate()) != expected


def test_an_entry_whose_targets_stay_moves_no_placement(monkeypatch: pytest.MonkeyPatch) -> None:
    """One more core allocated on c1 moves its estimates, so every schedule that reads them runs again and its
    entry (explanations) is new; a Duplicated binding still runs where it ran, so its placements are not
    taken out of its clusters and put back, and the report still equals a full plan."""
    inputs = base_inputs()
    plan = evaluated(inputs)
    moved: list[str] = []
    original = ReportState._move

    def recording(self: ReportState, node: str, *rest: Any) -> None:
        moved.append(node)
        original(self, node, *rest)

    monkeypatch.setattr(ReportState, "_move", recording)
    changed = cluster("c1", allocated_cpu="3")
    plan.update_cluster(changed)
    assert schedule_of("duplicated") in plan.pending
    report = plan.evaluate()
    assert schedule_of("duplicated") not in moved
    assert render_json(report) == fresh(with_cluster(inputs, changed))
