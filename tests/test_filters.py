"""Filter plugins, selectors, taints and the FitError text, plus the affinity/taint conformance vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kpl.engine.conformance.registry import lookup
from kpl.engine.scheduler.affinity import (
    ClusterView,
    Taint,
    cluster_matches,
    compile_label_selector,
    is_label_key,
    is_label_value,
)
from kpl.engine.scheduler.filters import (
    API_ENABLEMENT,
    CLUSTER_AFFINITY,
    CLUSTER_EVICTION,
    TAINT_TOLERATION,
    FilterPlan,
    api_enablement_filter,
    fit_error_message,
    group_version,
)
from kpl.engine.scheduler.taints import Toleration, first_untolerated_taint

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada" / "vectors"
OPS = (
    "cluster_matches",
    "match_zones",
    "taint_filter",
    "cluster_affinity_filter",
    "api_enablement_filter",
    "eviction_filter",
    "locality_score",
)


def _cases(file: str, ops: tuple[str, ...]) -> list[dict[str, Any]]:
    path = VECTORS / file
    if not path.exists():
        return []
    return [
        case
        for case in yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["cases"]
        if case["op"] in ops
    ]


CASES = _cases("affinity_taints.yaml", OPS)


@pytest.mark.skipif(not VECTORS.exists(), reason="shared conformance data not present")
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_vector_case(case: dict[str, Any]) -> None:
    op = lookup(case["op"])
    assert op is not None, case["op"]
    assert op(case["input"], case["expected"]) is None


@pytest.mark.skipif(not VECTORS.exists(), reason="shared conformance data not present")
def test_every_op_has_cases() -> None:
    assert {case["op"] for case in CASES} == set(OPS)


def view(**fields: Any) -> ClusterView:
    return ClusterView.from_object({"name": "c1", **fields})


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {"a": "b"}, True),
        ({"matchLabels": {"a": "b"}}, {"a": "b"}, True),
        ({"matchLabels": {"a": "b"}}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
    ],
)
def test_label_selector(selector: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    compiled = compile_label_selector(selector)
    assert compiled is not None
    assert compiled.matches(labels) is expected


@pytest.mark.parametrize(
    "selector",
    [
        {"matchLabels": {"": "b"}},
        {"matchLabels": {"a": "-bad"}},
        {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
        {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
        {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
        {"matchExpressions": [{"key": "a/b/c", "operator": "Exists"}]},
    ],
)
def test_invalid_label_selector_never_matches(selector: dict[str, Any]) -> None:
    assert compile_label_selector(selector) is None
    assert not cluster_matches(view(labels={"a": "b"}), {"labelSelector": selector})


def test_label_key_and_value_syntax() -> None:
    assert is_label_key("karmada.io/zone") and is_label_key("a") and is_label_key("A_b.c-1")
    assert not is_label_key("Karmada.IO/zone") and not is_label_key("/x") and not is_label_key("x" * 64)
    assert (
        is_label_value("")
        and is_label_value("v1.2")
        and not is_label_value("v1.")
        and not is_label_value("a b")
    )


def test_field_selector_semantics() -> None:
    cluster = view(provider="aws", region="", zones=["z1"])
    assert cluster_matches(cluster, {"fieldSelector": {"matchExpressions": []}})
    not_in_region = {
        "fieldSelector": {"matchExpressions": [{"key": "region", "operator": "NotIn", "values": ["r"]}]}
    }
    in_region = {
        "fieldSelector": {"matchExpressions": [{"key": "region", "operator": "In", "values": ["r"]}]}
    }
    assert cluster_matches(cluster, not_in_region)
    assert not cluster_matches(cluster, in_region)
    by_name = {
        "fieldSelector": {"matchExpressions": [{"key": "metadata.name", "operator": "In", "values": ["c1"]}]}
    }
    assert not cluster_matches(cluster, by_name)
    empty_values = {
        "fieldSelector": {"matchExpressions": [{"key": "provider", "operator": "NotIn", "values": []}]}
    }
    assert not cluster_matches(cluster, empty_values)


def test_exclusion_wins_over_names() -> None:
    assert not cluster_matches(view(), {"clusterNames": ["c1"], "exclude": ["c1"]})
    assert cluster_matches(view(), {"clusterNames": ["c1", "c2"]})


def test_cluster_view_reads_api_object() -> None:
    cluster = ClusterView.from_object(
        {
            "metadata": {
                "name": "m1",
                "labels": {"env": "prod"},
                "deletionTimestamp": "2024-01-01T00:00:00Z",
            },
            "spec": {
                "provider": "p",
                "region": "r",
                "zones": ["z"],
                "taints": [{"key": "k", "effect": "NoSchedule"}],
            },
            "status": {
                "apiEnablements": [
                    {"groupVersion": "apps/v1", "resources": [{"name": "deployments", "kind": "Deployment"}]}
                ],
                "conditions": [{"type": "CompleteAPIEnablements", "status": "True"}],
            },
        }
    )
    assert (cluster.name, cluster.provider, cluster.region, cluster.zones) == ("m1", "p", "r", ("z",))
    assert cluster.deleting and cluster.complete_api_enablements
    assert cluster.taints == (Taint("k", "", "NoSchedule"),)
    assert ("apps/v1", "Deployment") in cluster.api_enablements


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        (Toleration(operator="Exists"), Taint("k", "v", "NoSchedule"), True),
        (Toleration(operator="Equal"), Taint("k", "", "NoSchedule"), True),
        (Toleration(operator="Equal"), Taint("k", "v", "NoSchedule"), False),
        (Toleration(key="k", value="v"), Taint("k", "v", "NoExecute"), True),
        (Toleration(key="k", operator="Exists", effect="NoExecute"), Taint("k", "v", "NoSchedule"), False),
        (Toleration(key="k", operator="Lt", value="5"), Taint("k", "1", "NoSchedule"), False),
        (Toleration(key="k", operator="Bogus"), Taint("k", "", "NoSchedule"), False),
    ],
)
def test_toleration_matching(toleration: Toleration, taint: Taint, expected: bool) -> None:
    assert toleration.tolerates(taint) is expected


def test_first_untolerated_taint_skips_prefer_no_schedule() -> None:
    taints = (
        Taint("soft", "", "PreferNoSchedule"),
        Taint("a", "1", "NoSchedule"),
        Taint("b", "", "NoExecute"),
    )
    assert first_untolerated_taint(taints, ()) == Taint("a", "1", "NoSchedule")
    assert first_untolerated_taint(taints, (Toleration(key="a", operator="Exists"),)) == Taint(
        "b", "", "NoExecute"
    )
    assert str(Taint("b", "", "NoExecute")) == "b:NoExecute"


def test_api_enablement_needs_exact_group_version_and_kind() -> None:
    cluster = view(apiEnablements=[{"groupVersion": "v1", "resources": [{"kind": "ConfigMap"}]}])
    assert api_enablement_filter(cluster, "v1", "ConfigMap", False).passed
    assert api_enablement_filter(cluster, "/v1", "ConfigMap", False).passed
    assert not api_enablement_filter(cluster, "v1", "Secret", False).passed
    assert api_enablement_filter(cluster, "v1", "Secret", True).passed
    assert group_version("apps/v1") == "apps/v1" and group_version("a/b/c") == ""


def test_filter_plan_order_and_bypass() -> None:
    spec = {
        "resource": {"apiVersion": "apps/v1", "kind": "Deployment"},
        "replicas": 2,
        "placement": {"clusterAffinity": {"clusterNames": ["other"]}},
    }
    plan = FilterPlan.compile(spec, "")
    tainted = view(taints=[{"key": "k", "effect": "NoSchedule"}])
    assert plan.check(tainted, False, False).plugin == API_ENABLEMENT
    assert plan.check(tainted, True, False).plugin == CLUSTER_AFFINITY
    enabled = {"apiEnablements": [{"groupVersion": "apps/v1", "resources": [{"kind": "Deployment"}]}]}
    assert plan.check(
        view(**enabled, taints=[{"key": "k", "effect": "NoSchedule"}]), False, False
    ).plugin == (TAINT_TOLERATION)
    open_plan = FilterPlan.compile({**spec, "placement": {}}, "")
    assert open_plan.check(view(**enabled), False, True).plugin == CLUSTER_EVICTION
    assert open_plan.check(view(**enabled), False, False).passed


def test_overflow_affinities_only_for_workloads() -> None:
    placement = {
        "clusterAffinities": [
            {
                "affinityName": "main",
                "clusterNames": ["a"],
                "overflowAffinities": [{"affinityName": "spill", "clusterNames": ["c1"]}],
            }
        ]
    }
    workload = FilterPlan.compile({"replicas": 3, "placement": placement}, "main")
    config = FilterPlan.compile({"placement": placement}, "main")
    unobserved = FilterPlan.compile({"replicas": 3, "placement": placement}, "gone")
    assert workload.check(view(), True, False).passed
    assert config.check(view(), True, False).plugin == CLUSTER_AFFINITY
    assert unobserved.check(view(), True, False).passed


def test_fit_error_message() -> None:
    reasons = ["b reason"] * 2 + ["a reason"] * 10 + ["c reason"]
    assert fit_error_message(13, reasons) == (
        "0/13 clusters are available: 1 c reason, 10 a reason, 2 b reason."
    )
    assert fit_error_message(0, []) == "0/0 clusters are available: no cluster exists."
    assert fit_error_message(3, []) == "0/3 clusters are available: no cluster exists."
