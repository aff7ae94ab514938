"""Policy selection, claims and preemption, plus the policy conformance vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kpl.engine.conformance.registry import lookup
from kpl.engine.matching import (
    CLUSTER_POLICY,
    POLICY,
    Claim,
    ImplicitPriority,
    PolicyView,
    ResourceView,
    claimed_policy,
    deprioritized_requeue,
    highest_priority_policy,
    preempts,
    select_policy,
    selector_priority,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada" / "vectors"
OPS = ("policy_select", "policy_name_tiebreak")


def _cases() -> list[dict[str, Any]]:
    path = VECTORS / "affinity_taints.yaml"
    if not path.exists():
        return []
    return [
        case
        for case in yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["cases"]
        if case["op"] in OPS
    ]


CASES = _cases()


@pytest.mark.skipif(not VECTORS.exists(), reason="shared conformance data not present")
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_vector_case(case: dict[str, Any]) -> None:
    op = lookup(case["op"])
    assert op is not None
    assert op(case["input"], case["expected"]) is None


@pytest.mark.skipif(not VECTORS.exists(), reason="shared conformance data not present")
def test_every_op_has_cases() -> None:
    assert {case["op"] for case in CASES} == set(OPS)


DEPLOYMENT = ResourceView("apps/v1", "Deployment", "web", "nginx", {"app": "nginx"})


def selector(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", **fields}


def policy(
    name: str,
    *selectors: dict[str, Any],
    priority: int | None = None,
    kind: str = POLICY,
    namespace: str = "web",
    preemption: str = "Never",
    deleting: bool = False,
) -> PolicyView:
    return PolicyView(
        kind, "" if kind == CLUSTER_POLICY else namespace, name, priority, selectors, preemption, deleting
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "nginx", "labelSelector": {"matchLabels": {"app": "other"}}}, ImplicitPriority.MATCH_NAME),
        ({"name": "other"}, ImplicitPriority.MISMATCH),
        ({}, ImplicitPriority.MATCH_ALL),
        ({"namespace": "web"}, ImplicitPriority.MATCH_ALL),
        ({"namespace": "other"}, ImplicitPriority.MISMATCH),
        ({"labelSelector": {"matchLabels": {"app": "nginx"}}}, ImplicitPriority.MATCH_LABEL_SELECTOR),
        ({"labelSelector": {"matchLabels": {"app": "x"}}}, ImplicitPriority.MISMATCH),
        ({"labelSelector": {}}, ImplicitPriority.MATCH_LABEL_SELECTOR),
        ({"apiVersion": "apps/v1beta1"}, ImplicitPriority.MISMATCH),
    ],
)
def test_selector_priority(fields: dict[str, Any], expected: ImplicitPriority) -> None:
    assert selector_priority(DEPLOYMENT, selector(**fields)) is expected


def test_highest_priority_rules() -> None:
    by_name = policy("b", selector(name="nginx"))
    match_all = policy("a", selector())
    assert highest_priority_policy([match_all, by_name], DEPLOYMENT) is by_name
    boosted = policy("z", selector(), priority=1)
    assert highest_priority_policy([by_name, boosted], DEPLOYMENT) is boosted
    assert highest_priority_policy([policy("", selector()), match_all], DEPLOYMENT).name == ""  # type: ignore[union-attr]
    assert highest_priority_policy([policy("x", selector(name="other"))], DEPLOYMENT) is None


def test_select_policy_prefers_namespaced_policies() -> None:
    cluster_wide = policy("cpp", selector(name="nginx"), priority=100, kind=CLUSTER_POLICY)
    local = policy("pp", selector(), priority=-5)
    elsewhere = policy("other-ns", selector(), namespace="other")
    assert select_policy(DEPLOYMENT, [cluster_wide, local, elsewhere]) is local
    assert select_policy(DEPLOYMENT, [cluster_wide, elsewhere]) is cluster_wide
    gone = policy("pp", selector(), deleting=True)
    assert select_policy(DEPLOYMENT, [gone, cluster_wide]) is cluster_wide
    namespace_object = ResourceView("v1", "Namespace", "", "web")
    ns_policy = PolicyView(POLICY, "", "p", None, ({"apiVersion": "v1", "kind": "Namespace"},))
    assert select_policy(namespace_object, [ns_policy]) is None


def test_claims() -> None:
    pp_claim = ResourceView(
        "v1",
        "ConfigMap",
        "web",
        "c",
        {"propagationpolicy.karmada.io/permanent-id": "id"},
        {"propagationpolicy.karmada.io/namespace": "web", "propagationpolicy.karmada.io/name": "p"},
    )
    assert claimed_policy(pp_claim) == Claim(POLICY, "web", "p")
    cpp_claim = ResourceView(
        "v1",
        "ConfigMap",
        "web",
        "c",
        {"clusterpropagationpolicy.karmada.io/permanent-id": "i"},
        {"clusterpropagationpolicy.karmada.io/name": "cp"},
    )
    assert claimed_policy(cpp_claim) == Claim(CLUSTER_POLICY, "", "cp")
    no_id = ResourceView(
        "v1", "ConfigMap", "web", "c", {}, {"clusterpropagationpolicy.karmada.io/name": "cp"}
    )
    assert claimed_policy(no_id) is None


def test_preemption_rules() -> None:
    high = policy("high", selector(name="nginx"), priority=5, preemption="Always")
    low = policy("low", selector(name="nginx"), priority=1)
    cpp = policy("cpp", selector(name="nginx"), priority=50, kind=CLUSTER_POLICY, preemption="Always")
    low_cpp = policy("low-cpp", selector(name="nginx"), priority=1, kind=CLUSTER_POLICY)
    assert preempts(high, low, gate_enabled=True)
    assert not preempts(high, low, gate_enabled=False)
    assert not preempts(high, high, gate_enabled=True)
    assert not preempts(policy("eq", selector(), priority=1, preemption="Always"), low, gate_enabled=True)
    assert preempts(high, cpp, gate_enabled=True)
    assert not preempts(cpp, low, gate_enabled=True)
    assert preempts(cpp, low_cpp, gate_enabled=True)
    assert not preempts(low, low_cpp, gate_enabled=True)


def test_deprioritized_requeue() -> None:
    candidates = [
        policy("a", priority=3, preemption="Always"),
        policy("b", priority=7, preemption="Always"),
        policy("c", priority=5, preemption="Never"),
        policy("d", priority=10, preemption="Always"),
        policy("e", preemption="Always"),
    ]
    assert [p.name for p in deprioritized_requeue(10, 2, candidates)] == ["b", "a"]
