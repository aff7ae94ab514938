"""Graph building in bulk: the per-kind index kept while nodes are added matches the graph, a node added
again (possibly with another kind) rebuilds it, and the schedules' edges come in the order of their bindings."""

from __future__ import annotations

from typing import Any

from kpl.engine.plan import Plan, PlanInputs


def _binding(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": namespace,
                                  "name": name}, "replicas": 1}}


def _rebuilt(plan: Plan, kind: str) -> list[str]:
    return sorted(n for n, data in plan.graph.nodes(data=True) if data["kind"] == kind)


def test_the_index_follows_bulk_and_single_additions() -> None:
    clusters = tuple({"kind": "Cluster", "metadata": {"name": f"m{n}"}} for n in (3, 1, 2))
    bindings = (_binding("b", "x"), _binding("a", "y"), _binding("b", "x"))
    plan = Plan.compile(PlanInputs(clusters=clusters, bindings=bindings, from_policies=False))
    for kind in ("cluster", "binding", "schedule", "fleet", "report"):
        assert plan.nodes_of(kind) == _rebuilt(plan, kind)
    assert plan.nodes_of("binding") == ["binding:a/y", "binding:b/x"]
    assert plan.source("binding:b/x") is bindings[0]
    assert list(plan.graph.predecessors("schedule:a/y")) == ["binding:a/y", "fleet"]
    assert list(plan.graph.successors("fleet")) == ["schedule:a/y", "schedule:b/x"]
    plan.add("cluster:m9", "cluster", {"metadata": {"name": "m9"}})
    assert plan.nodes_of("cluster") == ["cluster:m1", "cluster:m2", "cluster:m3", "cluster:m9"]
    plan.add("cluster:m9", "policy", None)
    assert plan.nodes_of("cluster") == _rebuilt(plan, "cluster") and plan.nodes_of("policy") == ["cluster:m9"]
    plan.add_all("workload", [("w:1", None), ("w:1", None)])
    assert plan.nodes_of("workload") == ["w:1"]
