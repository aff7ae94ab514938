"""FederatedResourceQuota usage, overallUsed recomputation and the admission webhook, plus the quota vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.conformance.registry import lookup
from kpl.engine.features import FeatureGates
from kpl.engine.quantity import parse_quantity
from kpl.engine.quota import (
    CREATE,
    DEPENDENCIES_ANNOTATION,
    UPDATE,
    QuotaView,
    admit_binding,
    binding_usage,
    integer_sum,
    overall_used,
    quota_relevant_change,
    resource_list,
    resource_list_json,
    usage_delta,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada" / "vectors"
QUOTA_OPS = {"binding_usage", "component_set_resources", "overall_used", "rb_admission"}
ENFORCING = {"FederatedQuotaEnforcement": True}


def _cases() -> list[dict[str, Any]]:
    path = VECTORS / "quota.yaml"
    if not path.exists():
        return []
    return list(yaml.safe_load(path.read_text())["cases"])


CASES = _cases()


@pytest.mark.skipif(not CASES, reason="shared conformance data not present")
def test_every_quota_op_has_cases_and_an_implementation() -> None:
    assert {case["op"] for case in CASES} == QUOTA_OPS
    assert all(lookup(op) is not None for op in QUOTA_OPS)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_quota_vector(case: dict[str, Any]) -> None:
    op = lookup(case["op"])
    assert op is not None, f"no vector op {case['op']}"
    assert op(case["input"], case["expected"]) is None


def test_a_wrong_expectation_fails() -> None:
    op = lookup("binding_usage")
    assert op is not None
    binding = {"clusters": [{"name": "a", "replicas": 2}], "replicaRequirements": {"resourceRequest": {"cpu": "1"}}}
    assert op({"binding": binding}, {"usage": {"cpu": "2"}}) is None
    assert op({"binding": binding}, {"usage": {"cpu": "3"}}) is not None


# -- usage ------------------------------------------------------------------------------------------------

FLINK = {
    "clusters": [{"name": "member1"}],
    "components": [
        {"name": "jobmanager", "replicas": 1, "replicaRequirements": {"resourceRequest": {"cpu": 1, "memory": 1.024}}},
        {"name": "taskmanager", "replicas": 1,
         "replicaRequirements": {"resourceRequest": {"cpu": 2, "memory": 2.048}}},
    ],
}


def test_flink_usage_prints_like_karmada() -> None:
    assert resource_list_json(binding_usage({"spec": FLINK})) == {"cpu": "3", "memory": "3072m"}


def test_single_component_usage_drops_the_parsed_text() -> None:
    requirements = {"resourceRequest": {"memory": "1.024"}}
    component = {"name": "x", "replicas": 1, "replicaRequirements": requirements}
    binding = {"clusters": [{"name": "m1"}], "components": [component]}
    assert resource_list_json(binding_usage(binding)) == {"memory": "1024m"}


def test_unscheduled_or_requestless_bindings_use_nothing() -> None:
    assert binding_usage({"components": FLINK["components"], "clusters": []}) == {}
    assert binding_usage({"clusters": [{"name": "a", "replicas": 3}]}) == {}
    assert binding_usage({"clusters": [{"name": "a"}], "replicaRequirements": {"resourceRequest": {"cpu": "1"}}}) == {}
    zero = {"clusters": [{"name": "a", "replicas": 1}], "replicaRequirements": {"resourceRequest": {"cpu": "0"}}}
    assert binding_usage(zero) == {}


def test_overall_keys_like_requests_cpu_never_match() -> None:
    bindings = [{"clusters": [{"name": "a", "replicas": 2}], "replicaRequirements": {"resourceRequest": {"cpu": "1"}}}]
    assert overall_used(bindings, resource_list({"requests.cpu": "10", "pods": "5"})) == {}


def test_usage_delta_keeps_only_changes() -> None:
    new = resource_list({"cpu": "1", "memory": "1Gi"})
    old = resource_list({"cpu": "1", "pods": "2"})
    assert resource_list_json(usage_delta(new, old)) == {"memory": "1Gi", "pods": "-2"}


def test_integer_sum_rounds_up_and_drops_unknown_and_empty() -> None:
    base = resource_list({"cpu": "100m", "requests.cpu": "5", "memory": "1Gi", "nvidia.com/gpu": "1"})
    delta = resource_list({"cpu": "1.0005", "memory": "-1Gi", "hugepages-2Mi": "2Mi"})
    assert resource_list_json(integer_sum(base, delta)) == {
        "cpu": "1101m", "nvidia.com/gpu": "1", "hugepages-2Mi": "2Mi",
    }
    assert resource_list_json(integer_sum({}, resource_list({"memory": "3072m"}))) == {"memory": "4"}


BINDING_STRATEGY = st.fixed_dictionaries({
    "clusters": st.lists(st.fixed_dictionaries({"name": st.sampled_from("abc"), "replicas": st.integers(0, 5)}),
                         max_size=3),
    "replicaRequirements": st.fixed_dictionaries({"resourceRequest": st.fixed_dictionaries({
        "cpu": st.sampled_from(["100m", "0.5", "1", "1.024", "250m"]),
        "memory": st.sampled_from(["1Gi", "500Mi", "1.024", "3", "0"]),
    })}),
})


@settings(deadline=None, max_examples=60)
@given(st.lists(BINDING_STRATEGY, max_size=5), st.randoms())
def test_overall_used_does_not_depend_on_binding_order(bindings: list[dict[str, Any]], rnd: Any) -> None:
    overall = resource_list({"cpu": "100", "memory": "100Gi"})
    shuffled = list(bindings)
    rnd.shuffle(shuffled)
    assert overall_used(bindings, overall) == overall_used(shuffled, overall)


@settings(deadline=None, max_examples=60)
@given(st.lists(BINDING_STRATEGY, min_size=1, max_size=5))
def test_overall_used_is_the_exact_sum_of_usages(bindings: list[dict[str, Any]]) -> None:
    used = overall_used(bindings, resource_list({"cpu": "1", "memory": "1"}))
    for name in ("cpu", "memory"):
        total = sum((binding_usage(b)[name].amount for b in bindings if name in binding_usage(b)), start=0)
        assert (used[name].amount if name in used else 0) == total


# -- admission --------------------------------------------------------------------------------------------


def _rb(cpu: str, replicas: int, clusters: int = 1, **extra: Any) -> dict[str, Any]:
    targets = [{"name": f"m{i}", "replicas": replicas if i == 0 else 0} for i in range(clusters)]
    return {"clusters": targets, "replicaRequirements": {"resourceRequest": {"cpu": cpu}}, **extra}


def _frq(name: str, overall: dict[str, str], used: dict[str, str]) -> QuotaView:
    return QuotaView(name, "ns", resource_list(overall), resource_list(used))


def test_gate_off_skips_quota() -> None:
    decision = admit_binding({}, CREATE, [_frq("q", {"cpu": "1"}, {"cpu": "1"})], _rb("5", 1))
    assert decision.allowed and not decision.new_overall_used


def test_accepted_change_is_written_in_integer_units() -> None:
    frq = _frq("q", {"memory": "10"}, {"memory": "3072m"})
    decision = admit_binding(ENFORCING, UPDATE, [frq], {"spec": FLINK | {"clusters": [{"name": "a"}, {"name": "b"}]}},
                             {"spec": FLINK})
    assert decision.allowed
    assert resource_list_json(decision.new_overall_used["q"]) == {"memory": "8"}


def test_an_frq_already_over_a_shrunk_limit_denies_any_change_touching_it() -> None:
    frq = _frq("q", {"cpu": "10", "memory": "1Gi"}, {"memory": "2Gi"})
    decision = admit_binding(ENFORCING, UPDATE, [frq], _rb("2", 1), _rb("1", 1))
    assert not decision.allowed and decision.code == 403 and decision.reason == "QuotaExceeded"
    assert decision.message == ("FederatedResourceQuota(ns/q) exceeded for resource memory: "
                                "requested sum 2Gi, limit 1Gi.")


def test_first_denying_frq_wins_and_nothing_is_written() -> None:
    frqs = [_frq("a", {"cpu": "10"}, {}), _frq("b", {"cpu": "1"}, {}), _frq("c", {"cpu": "1"}, {})]
    decision = admit_binding(ENFORCING, CREATE, frqs, _rb("1500m", 1))
    assert not decision.allowed and "(ns/b)" in decision.message and "requested sum 1500m, limit 1." in decision.message
    assert not decision.new_overall_used


def test_untouched_frqs_are_not_rewritten() -> None:
    frqs = [_frq("cpu-only", {"cpu": "10"}, {}), _frq("mem-only", {"memory": "1Gi"}, {}),
            QuotaView("no-overall", "ns")]
    decision = admit_binding(ENFORCING, CREATE, frqs, _rb("1", 3))
    assert decision.allowed and set(decision.new_overall_used) == {"cpu-only"}
    assert resource_list_json(decision.new_overall_used["cpu-only"]) == {"cpu": "3"}


def test_scale_down_to_zero_removes_the_resource() -> None:
    decision = admit_binding(ENFORCING, UPDATE, [_frq("q", {"cpu": "2"}, {"cpu": "1"})], _rb("1", 0), _rb("1", 1))
    assert decision.allowed and decision.new_overall_used["q"] == {}


def test_updates_that_do_not_touch_quota_fields_are_not_checked() -> None:
    old = _rb("1", 1)
    new = {**_rb("1", 1), "placement": {"clusterAffinity": {"clusterNames": ["m0"]}}}
    assert not quota_relevant_change(old, new)
    frq = _frq("q", {"cpu": "0"}, {"cpu": "5"})
    assert admit_binding(ENFORCING, UPDATE, [frq], new, old).allowed
    components = [{"name": "x", "replicas": 1}]
    moved = {"clusters": [{"name": "m9", "replicas": 1}], "components": components}
    assert quota_relevant_change({"clusters": [{"name": "m0", "replicas": 1}], "components": components}, moved)


def test_component_names_are_checked_with_multiple_pod_templates() -> None:
    gates = FeatureGates.from_mapping({"MultiplePodTemplatesScheduling": True})
    new = {"components": [{"name": ""}, {"name": "a"}, {"name": "a"}]}
    decision = admit_binding(gates, CREATE, [], new)
    assert not decision.allowed and decision.code == 403 and decision.reason == "Forbidden"
    assert decision.message == ('[spec.components[0].name: Invalid value: "": component names must be non-empty, '
                                'spec.components[2].name: Invalid value: "a": component names must be unique]')
    assert admit_binding({}, CREATE, [], new).allowed


def test_component_denial_after_accepted_quota_keeps_the_written_usage() -> None:
    gates = {"FederatedQuotaEnforcement": True, "MultiplePodTemplatesScheduling": True}
    new = {"clusters": [{"name": "m"}], "components": [
        {"name": "a", "replicas": 1, "replicaRequirements": {"resourceRequest": {"cpu": "1"}}},
        {"name": "a", "replicas": 1, "replicaRequirements": {"resourceRequest": {"cpu": "1"}}}]}
    decision = admit_binding(gates, CREATE, [_frq("q", {"cpu": "5"}, {})], new)
    assert not decision.allowed and resource_list_json(decision.new_overall_used["q"]) == {"cpu": "2"}


@pytest.mark.parametrize(("value", "allowed"), [
    ("[]", True), ("null", True), ('[{"apiVersion": "v1", "kind": "ConfigMap", "name": "x"}]', True),
    ("not json", False), ("{}", False), ('[{"name": 1}]', False), ("", False),
])
def test_dependencies_annotation_must_be_a_json_list(value: str, allowed: bool) -> None:
    binding = {"metadata": {"annotations": {DEPENDENCIES_ANNOTATION: value}}, "spec": {}}
    decision = admit_binding({}, CREATE, [], binding)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.message.startswith(f"metadata.annotations.{DEPENDENCIES_ANNOTATION}: Invalid value: ")
        assert decision.message.endswith(": annotation value must be a valid JSON")


def test_quota_view_reads_objects_and_flat_vectors() -> None:
    obj = {"metadata": {"name": "q", "namespace": "team"}, "spec": {"overall": {"cpu": "1"}},
           "status": {"overallUsed": {"cpu": "500m"}}}
    view = QuotaView.from_object(obj)
    assert (view.name, view.namespace, view.overall, view.overall_used) == (
        "q", "team", {"cpu": parse_quantity("1")}, {"cpu": parse_quantity("500m")})
    assert QuotaView.from_object({"name": "f"}, "ns").overall is None


def test_dry_run_is_judged_alike_but_persists_nothing() -> None:
    frq = _frq("q", {"cpu": "2"}, {"cpu": "1"})
    decision = admit_binding(ENFORCING, CREATE, [frq], _rb("500m", 1), dry_run=True)
    assert decision.allowed and resource_list_json(decision.new_overall_used["q"]) == {"cpu": "1500m"}
    assert decision.persisted_overall_used() == {}
    assert not admit_binding(ENFORCING, CREATE, [frq], _rb("2", 1), dry_run=True).allowed
