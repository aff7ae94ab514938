"""FederatedResourceQuotas in the plan graph: limits, Karmada's overallUsed, and webhook admission."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.cli import main
from kpl.engine.features import FeatureGates
from kpl.engine.library import Library
from kpl.engine.plan import Plan, PlanInputs, load_plan_inputs
from kpl.engine.plan_quota import QuotaOutcome
from kpl.engine.quantity import parse_quantity
from kpl.engine.report import PlacementReport, render_markdown, render_text, report_to_json

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet"
ENFORCED = FeatureGates.parse("FederatedQuotaEnforcement=true")
NATIVE_ONLY = Library({})


def cluster(name: str, cpu: str = "64") -> dict[str, Any]:
    return {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": name},
        "spec": {}, "status": {
            "apiEnablements": [{"groupVersion": "apps/v1", "resources": [{"name": "d", "kind": "Deployment"}]}],
            "resourceSummary": {"allocatable": {"cpu": cpu, "memory": "256Gi", "pods": "500"}},
        },
    }


def deployment(name: str, replicas: int, cpu: str = "1", namespace: str = "web") -> dict[str, Any]:
    container = {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}}}


def policy(namespace: str = "web", priority: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
        "placement": {"replicaScheduling": {"replicaSchedulingType": "Divided",
                                            "replicaDivisionPreference": "Weighted"}},
    }
    if priority is not None:
        spec["priority"] = priority
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
            "metadata": {"name": "pp", "namespace": namespace}, "spec": spec}


def frq(name: str, overall: Mapping[str, str], namespace: str = "web",
        used: Mapping[str, str] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "FederatedResourceQuota",
                           "metadata": {"name": name, "namespace": namespace}, "spec": {"overall": dict(overall)}}
    if used is not None:
        obj["status"] = {"overallUsed": dict(used)}
    return obj


def run(workloads: Sequence[Mapping[str, Any]], quotas: Sequence[Mapping[str, Any]],
        gates: FeatureGates = ENFORCED, bindings: Sequence[Mapping[str, Any]] = ()) -> PlacementReport:
    inputs = PlanInputs((cluster("m1"), cluster("m2")), tuple(workloads), (policy(),), tuple(bindings),
                        NATIVE_ONLY, gates, quotas=tuple(quotas))
    return Plan.compile(inputs).evaluate()


def only(report: PlacementReport) -> QuotaOutcome:
    assert len(report.quotas) == 1
    return report.quotas[0]


def text(values: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(q) for name, q in values.items()}


# ------------------------------------------------------------------------------------ the example


def example(gates: str) -> PlacementReport:
    loaded = load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"], FeatureGates.parse(gates))
    return Plan.compile(loaded.inputs).evaluate()


def test_example_flink_usage_with_multiple_pod_templates() -> None:
    quota = only(example("MultiplePodTemplatesScheduling=true"))
    assert (quota.namespace, quota.name) == ("streaming", "streaming")
    assert text(quota.used) == {"cpu": "3", "memory": "3072m"}
    assert text(quota.limit) == {"cpu": "10", "memory": "20Gi"}
    assert not quota.enforced and "FederatedQuotaEnforcement" in quota.note()


def test_example_flink_usage_with_interpret_replica() -> None:
    # Without the gate the binding carries replicas 2 of (cpu 2, memory 2048m) instead of components.
    quota = only(example(""))
    assert text(quota.used) == {"cpu": "4", "memory": "4096m"}


def test_example_enforced_webhook_stores_integer_units() -> None:
    quota = only(example("MultiplePodTemplatesScheduling=true,FederatedQuotaEnforcement=true"))
    assert quota.enforced and not quota.denied
    assert text(quota.used) == {"cpu": "3", "memory": "3072m"}
    assert quota.webhook_used is not None and text(quota.webhook_used) == {"cpu": "3", "memory": "4"}


def test_quota_node_depends_on_its_namespace_only() -> None:
    loaded = load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"])
    plan = Plan.compile(loaded.inputs)
    parents = set(plan.graph.predecessors("quota:streaming/streaming"))
    assert parents == {"binding:streaming/fraud-detector-flinkdeployment",
                       "schedule:streaming/fraud-detector-flinkdeployment"}
    assert "quota:streaming/streaming" in set(plan.graph.predecessors("report"))


# ------------------------------------------------------------------------------------ admission


def test_denied_binding_keeps_previous_result_with_quota_exceeded() -> None:
    report = run([deployment("app", 3)], [frq("q", {"cpu": "2"})])
    quota = only(report)
    assert [d.binding for d in quota.denied] == ["web/app-deployment"]
    denied = quota.denied[0]
    assert denied.stage == "scheduler" and denied.reason == "QuotaExceeded"
    assert denied.message == "FederatedResourceQuota(web/q) exceeded for resource cpu: requested sum 3, limit 2."
    binding = report.bindings[0]
    assert binding.clusters is None and binding.error is not None and binding.error.type == "QuotaExceeded"
    assert binding.condition is not None and binding.condition.reason == "QuotaExceeded"
    assert binding.condition.message.startswith('admission webhook "resourcebinding.karmada.io" denied')
    assert quota.used == {}


def test_not_enforced_reports_what_would_exceed() -> None:
    report = run([deployment("app", 3)], [frq("q", {"cpu": "2"})], FeatureGates())
    quota = only(report)
    assert not quota.denied and quota.exceeded() == ["cpu"] and text(quota.used) == {"cpu": "3"}
    assert report.bindings[0].error is None


def test_bindings_admitted_in_order_until_the_limit() -> None:
    report = run([deployment("b", 3), deployment("a", 3), deployment("c", 1)], [frq("q", {"cpu": "4"})])
    quota = only(report)
    assert [d.binding for d in quota.denied] == ["web/b-deployment"]
    assert text(quota.used) == {"cpu": "4"}


def test_status_overall_used_is_the_starting_point() -> None:
    report = run([deployment("app", 2)], [frq("q", {"cpu": "4"}, used={"cpu": "3"})])
    assert [d.binding for d in only(report).denied] == ["web/app-deployment"]
    assert "requested sum 5, limit 4" in only(report).denied[0].message


def test_first_denying_quota_is_named() -> None:
    report = run([deployment("app", 3)], [frq("a", {"memory": "100Gi"}), frq("b", {"cpu": "1"})])
    by_name = {q.name: q for q in report.quotas}
    assert not by_name["a"].denied and [d.quota for d in by_name["b"].denied] == ["b"]


def test_keys_outside_requests_are_never_enforced() -> None:
    report = run([deployment("app", 3)], [frq("q", {"requests.cpu": "1", "pods": "1"})])
    assert not only(report).denied and only(report).used == {}


def test_previous_usage_counts_from_snapshot_bindings() -> None:
    previous = {
        "apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
        "metadata": {"name": "old-deployment", "namespace": "web"},
        "spec": {"replicas": 2, "replicaRequirements": {"resourceRequest": {"cpu": "1"}},
                 "clusters": [{"name": "m1", "replicas": 2}]},
    }
    report = run([deployment("app", 2)], [frq("q", {"cpu": "3"})], bindings=[previous])
    assert [d.binding for d in only(report).denied] == ["web/app-deployment"]


def test_report_renderers_show_quotas() -> None:
    report = run([deployment("app", 3)], [frq("q", {"cpu": "2"})])
    found = report_to_json(report)["quotas"][0]
    assert found["limit"] == {"cpu": "2"} and found["denied"][0]["binding"] == "web/app-deployment"
    assert "FederatedResourceQuota web/q" in render_text(report)
    assert "### quotas" in render_markdown(report)


def test_cli_plan_json_has_quotas(capsys: Any) -> None:
    args = ["plan", str(EXAMPLE / "policies"), "--snapshot", str(EXAMPLE / "snapshot"), "-o", "json",
            "--feature-gates", "MultiplePodTemplatesScheduling=true"]
    assert main(args) == 0
    quota = json.loads(capsys.readouterr().out)["quotas"][0]
    assert quota["used"] == {"cpu": "3", "memory": "3072m"} and quota["enforced"] is False


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=4),
       st.integers(min_value=1, max_value=12))
def test_enforced_usage_never_exceeds_the_limit(replicas: list[int], limit: int) -> None:
    workloads = [deployment(f"w{i}", count) for i, count in enumerate(replicas)]
    quota = only(run(workloads, [frq("q", {"cpu": str(limit)})]))
    used = quota.used.get("cpu", parse_quantity("0"))
    assert used <= parse_quantity(str(limit))
    # the webhook admits in order: a binding is denied exactly when it would not fit after the earlier ones
    total, denied = 0, []
    for i, count in enumerate(replicas):
        if total + count > limit:
            denied.append(f"web/w{i}-deployment")
        else:
            total += count
    assert sorted(d.binding for d in quota.denied) == sorted(denied)
    assert used == parse_quantity(str(total))
    assert copy.deepcopy(quota) == quota


def test_a_snapshot_quota_reads_only_its_spec_and_status(tmp_path: Path, capsys: Any) -> None:
    """A FederatedResourceQuota object is never read flat: a stray top-level `overall` (not a field of the
    kind) is ignored instead of being taken for the limits (it used to crash the plan)."""
    frq = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "FederatedResourceQuota",
           "metadata": {"name": "q", "namespace": "web"}, "overall": True}
    (tmp_path / "s.json").write_text(json.dumps({"kind": "List", "items": [cluster("m1"), frq]}), encoding="utf-8")
    code = main(["plan", "--snapshot", str(tmp_path), "-o", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    assert "internal error" not in err
    quota = json.loads(out)["quotas"][0]
    assert quota["name"] == "q" and not quota.get("overall")
