"""``kpl graph``: the plan graph as DOT and JSON, deterministic."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kpl.cli import main
from kpl.engine.graph_export import graph_edges, graph_nodes, render_dot, render_graph_json
from kpl.engine.plan import Plan, load_plan_inputs

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet"
ARGS = [str(EXAMPLE / "policies"), "--snapshot", str(EXAMPLE / "snapshot")]


def example_plan(*fail: str) -> Plan:
    loaded = load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"])
    return Plan.compile(replace(loaded.inputs, failed_clusters=fail))


def test_nodes_have_kinds_and_labels() -> None:
    nodes = {n.id: n for n in graph_nodes(example_plan())}
    assert nodes["cluster:member1"].kind == "cluster" and nodes["cluster:member1"].label == "member1"
    assert nodes["quota:streaming/streaming"].kind == "quota"
    assert nodes["report"].label == "report"
    assert [n.id for n in graph_nodes(example_plan())] == sorted(nodes)


def test_edges_follow_the_data() -> None:
    edges = set(graph_edges(example_plan("member1")))
    flink = "streaming/fraud-detector-flinkdeployment"
    assert (f"binding:{flink}", f"schedule:{flink}") in edges
    assert (f"schedule:{flink}", f"failover:{flink}") in edges
    assert (f"failover:{flink}", "report") in edges
    assert ("quota:streaming/streaming", "report") in edges
    assert graph_edges(example_plan("member1")) == sorted(edges)


def test_json_and_dot_are_deterministic() -> None:
    text = render_graph_json(example_plan())
    assert text == render_graph_json(example_plan())
    found = json.loads(text)
    assert found["formatVersion"] == 1 and {"id", "kind", "label"} <= set(found["nodes"][0])
    dot = render_dot(example_plan())
    assert dot.startswith("digraph plan {") and dot.rstrip().endswith("}")
    assert '"cluster:member1" [label="cluster\\nmember1", shape=box3d];' in dot
    assert dot == render_dot(example_plan())


def test_cli_graph(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", *ARGS]) == 0
    assert capsys.readouterr().out.startswith("digraph plan {")
    assert main(["graph", *ARGS, "-o", "json", "--fail", "member2"]) == 0
    nodes = {n["id"] for n in json.loads(capsys.readouterr().out)["nodes"]}
    assert "failover:shop/storefront-deployment" in nodes
    assert main(["graph", "--snapshot", str(EXAMPLE / "nope.yaml")]) == 2
